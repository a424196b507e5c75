"""The code's shape, checked: SQL lives only in the data modules (README, "Architecture").

A newcomer looking for "the query for X" opens the domain's ``data.py``; pages, routes, commands
and pure modules never hold SQL. Walks every module of geomap/, qr/ and layers/ (and app.py) and
fails on a SQLAlchemy ``text(...)`` or an ``execute(...)``/``exec_driver_sql(...)`` call anywhere else.
"""

from __future__ import annotations

import ast
from pathlib import Path

from geomap import config

ROOT = config.PROJECT_DIR
#: the only places SQL may be written, besides every domain's data.py and the migrations
ALLOWED = {"geomap/db.py", "geomap/cluster.py", "geomap/models.py", "geomap/layer_reader.py"}
_EXECUTE = {"execute", "executemany", "exec_driver_sql"}


def _modules() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in ("geomap", "qr", "layers"):
        files += sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if "migrations" not in f.relative_to(ROOT).parts]


def _sql_allowed(rel: str) -> bool:
    return rel in ALLOWED or rel.endswith("/data.py")


def _sql_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Lines of SQL text and execute calls (``text`` counts when it is SQLAlchemy's)."""
    text_names = {"text"} if any(
        isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sqlalchemy")
        and any(a.name == "text" for a in n.names) for n in ast.walk(tree)) else set()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in _EXECUTE:
            found.append((node.lineno, f.attr))
        elif isinstance(f, ast.Attribute) and f.attr == "text" and isinstance(f.value, ast.Name) \
                and f.value.id in {"sa", "sqlalchemy"}:
            found.append((node.lineno, f"{f.value.id}.text"))
        elif isinstance(f, ast.Name) and f.id in text_names:
            found.append((node.lineno, "text"))
    return found


def test_the_walker_sees_sql_where_it_is():
    """The check itself can fail: it finds the SQL of a known data module and of a snippet."""
    snippet = ast.parse("import sqlalchemy as sa\nconn.execute(sa.text('SELECT 1'))\n")
    assert {what for _, what in _sql_calls(snippet)} == {"execute", "sa.text"}
    assert _sql_calls(ast.parse((ROOT / "geomap" / "db.py").read_text()))
    assert not _sql_allowed("geomap/ui/pages/map.py") and _sql_allowed("geomap/map/data.py")


def test_sql_lives_only_in_data_modules():
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if _sql_allowed(rel):
            continue
        for line, what in _sql_calls(ast.parse(path.read_text(), filename=rel)):
            offenders.append(f"{rel}:{line} {what}(")
    assert not offenders, "SQL outside the data modules:\n" + "\n".join(offenders)
