"""The public service keeps no process-wide state: what it keeps between requests is the app's.

``geomap.web.create_app`` builds every cache and limiter on ``app.state`` (README, "Architecture"),
so a fresh app starts fresh and nothing caches a database value forever. This walks the modules
of ``geomap/web``, ``geomap/ogc`` and ``qr`` and fails on a module-level ``functools.lru_cache`` /
``functools.cache`` function or a module-level dict/list/set (or OrderedDict, defaultdict…) whose name
says it is a cache; the few pure caches of what ships with the code are allowed below, with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

from geomap import config
from geomap.web import create_app
from geomap.web.ratelimit import RateLimits

ROOT = config.PROJECT_DIR
PACKAGES = ("geomap/web", "geomap/ogc", "qr")
#: (module, name) -> why it may stay process-wide
ALLOWED = {
    ("geomap/web/routes/reports.py", "_ward_svg"):
        "the ward's outline drawn from its boundary file in data/ (shipped with the code, never the database)",
    ("qr/data.py", "_lookup_sql"):
        "pure SQL text built from its arguments; the source's columns are part of the key, no database value kept",
}
_CACHE_DECORATORS = {"lru_cache", "cache"}
_CONTAINERS = {"dict", "list", "set", "OrderedDict", "defaultdict", "Counter", "WeakValueDictionary",
               "WeakKeyDictionary"}


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "functools":
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _is_container(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        f = value.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        return name in _CONTAINERS
    return False


def module_state(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(line, name, what) of every module-level cache in ``tree`` (top-level statements only)."""
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if _decorator_name(dec) in _CACHE_DECORATORS:
                    found.append((node.lineno, node.name, f"@{_decorator_name(dec)}"))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and "cache" in target.id.lower() and _is_container(node.value):
                    found.append((node.lineno, target.id, "cache container"))
    return found


def _modules() -> list[Path]:
    return [f for package in PACKAGES for f in sorted((ROOT / package).rglob("*.py"))]


def test_the_walker_finds_module_caches():
    """The check itself can fail: it finds each kind of module-level cache in a snippet, and not the rest."""
    snippet = ast.parse(
        "import functools\nfrom functools import lru_cache, cache\nfrom collections import OrderedDict\n"
        "@functools.lru_cache(maxsize=8)\ndef a(slug): ...\n"
        "@functools.cache\ndef b(): ...\n"
        "@lru_cache\ndef c(): ...\n"
        "@cache\ndef d(): ...\n"
        "_cache = {}\n_ward_cache: dict[str, int] = dict()\n_CACHE = OrderedDict()\n_page_cache = []\n"
        "HEADERS = {'x': 'y'}\n_memo_value = 3\n"
        "@functools.wraps(a)\ndef e(): ...\n"
        "class K:\n    @functools.lru_cache\n    def m(self): ...\n"
        "def f():\n    _cache = {}\n")
    assert sorted(name for _, name, _ in module_state(snippet)) == \
        ["_CACHE", "_cache", "_page_cache", "_ward_cache", "a", "b", "c", "d"]
    assert any(name == "_ward_svg" for _, name, _ in
               module_state(ast.parse((ROOT / "geomap/web/routes/reports.py").read_text())))


def test_no_module_level_cache_in_the_public_service():
    found, seen = [], set()
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, name, what in module_state(ast.parse(path.read_text(), filename=rel)):
            if (rel, name) in ALLOWED:
                seen.add((rel, name))
            else:
                found.append(f"{rel}:{line} {name} ({what})")
    assert not found, ("module-level state in the public service; build it in create_app on app.state "
                       "(with a size, a TTL and clear()) or allow it in ALLOWED with the reason:\n"
                       + "\n".join(found))
    assert seen == set(ALLOWED), f"stale ALLOWED entries: {set(ALLOWED) - seen}"


def test_the_app_owns_its_rate_limits(monkeypatch):
    """Same limits as always (per minute, burst), one set per app: a fresh app starts with empty buckets."""
    for name in ("QR", "REPORT", "OPEN311"):
        monkeypatch.delenv(f"GEOMAP_{name}_RATE_PER_MINUTE", raising=False)
        monkeypatch.delenv(f"GEOMAP_{name}_RATE_BURST", raising=False)
    one, two = create_app("postgresql://unused/none"), create_app("postgresql://unused/none")
    limits = one.state.limits
    assert isinstance(limits, RateLimits) and limits is not two.state.limits
    assert [(round(lim.per_second * 60), lim.burst) for lim in (limits.qr, limits.report, limits.open311)] == \
        [(60, 30), (6, 5), (120, 60)]
    for _ in range(5):
        assert limits.report.hit("198.51.100.1", now=0.0) == 0.0
    assert limits.report.hit("198.51.100.1", now=0.0) == 10.0  # empty: one token per 10 s
    assert two.state.limits.report.hit("198.51.100.1", now=0.0) == 0.0  # the other app's buckets are its own
    limits.clear()
    assert len(limits.report) == 0 and limits.report.hit("198.51.100.1", now=0.0) == 0.0
    monkeypatch.setenv("GEOMAP_QR_RATE_PER_MINUTE", "0")
    assert not create_app("postgresql://unused/none").state.limits.qr.enabled  # read when the app is built
