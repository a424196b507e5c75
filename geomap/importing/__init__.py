"""Importing establishments, licences, inspections and every base layer from XLSX, CSV, GeoJSON and GeoPackage.

Two steps, as a data officer expects: :func:`dry_run` reads, checks and matches every row
and says, row by row, what would be inserted, updated, left unchanged or rejected (and
why), writing nothing; :func:`run_import` does the same inside one transaction and writes
all of it, or nothing when any row is rejected.

- :mod:`~geomap.importing.columns` — the columns of each kind, Vietnamese headers
- :mod:`~geomap.importing.reading` — file type from the bytes, size limit, raw cells
- :mod:`~geomap.importing.validation` — pure cell and row checks, coordinate fixes
- :mod:`~geomap.importing.plan` — matching against the records on file (the dry run)
- :mod:`~geomap.importing.apply` — bulk writing (COPY + INSERT/UPDATE) and the audit
- :mod:`~geomap.importing.template` — the Excel template, empty or filled with a ward's records
- :mod:`~geomap.importing.specs`, :mod:`~geomap.importing.layer_plan`, :mod:`~geomap.importing.geometry` — the
  base layers (residential groups, land parcels, infrastructure, public facilities, markets, stalls, pilot
  commercial streets): what each is, and their one path through the same dry run and all-or-nothing run
- :mod:`~geomap.importing.data` — all of the importer's SQL

Both steps check the acting user's right (``import_records``, and an account bound to a
ward imports only into that ward), as the edit services do; ``user=None`` is the command
line (:func:`geomap.auth.require`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.engine import Connection

from geomap import auth, db
from geomap.errors import GeomapError
from geomap.importing.apply import ImportResult, apply_plan
from geomap.importing.columns import (
    BASE_KINDS,
    COLUMNS,
    KINDS,
    LAYER_COLUMNS,
    RECORD_KINDS,
    SHEETS,
    Column,
    map_columns,
)
from geomap.importing.plan import ImportPlan, build_plan
from geomap.importing.reading import MAX_UPLOAD_MB, ImportFileError, RawTable, read_bytes, read_path
from geomap.importing.validation import Issue
from geomap.records import edit
from geomap.users import User

__all__ = [
    "BASE_KINDS", "COLUMNS", "KINDS", "LAYER_COLUMNS", "RECORD_KINDS",
    "MAX_UPLOAD_MB", "SHEETS", "Column", "ImportFileError", "ImportPlan", "ImportRejected",
    "ImportResult", "Issue", "dry_run", "map_columns", "read", "run_import",
]

Source = bytes | str | Path


class ImportRejected(GeomapError):
    """The real run refused a file with rejected rows or missing columns: nothing was written."""

    def __init__(self, plan: ImportPlan, lang: str = "vi"):
        self.plan = plan
        errors = [i for i in plan.issues() if i.level == "error"]
        first = "; ".join(i.describe(lang) for i in errors[:5])
        rejected = plan.counts["reject"]
        if rejected:
            head = (f"{rejected} dòng bị từ chối, chưa ghi dữ liệu nào" if lang != "en"
                    else f"{rejected} rows rejected, nothing was written")
        else:
            head = "Tệp không nhập được, chưa ghi dữ liệu nào" if lang != "en" else "The file cannot be imported"
        more = f" (+{len(errors) - 5})" if len(errors) > 5 else ""
        super().__init__(f"{head}: {first}{more}.")


def read(kind: str, source: Source, filename: str = "", max_mb: float | None = None) -> RawTable:
    """The raw table of ``kind`` in ``source`` (bytes of an upload, or a path)."""
    if kind not in KINDS:
        raise GeomapError(f"Unknown import kind '{kind}'; use one of: {', '.join(KINDS)}.")
    if isinstance(source, bytes):
        return read_bytes(source, kind, filename, max_mb)
    return read_path(source, kind, max_mb)


def _require(user: User | None, ward_id: int) -> None:
    """Refuse a user without ``import_records``, or bound to another ward (None: the command line)."""
    auth.require(user, "import_records")
    edit.check_scope(user, ward_id)


def dry_run(bind: db.Bind, kind: str, source: Source, *, ward_id: int, filename: str = "",
            today: dt.date | None = None, max_mb: float | None = None, user: User | None = None) -> ImportPlan:
    """What importing ``source`` would do, row by row; nothing is written."""
    _require(user, ward_id)
    filename = filename or (Path(source).name if not isinstance(source, bytes) else "")
    table = read(kind, source, filename, max_mb)
    with db.read(bind) as conn:
        return build_plan(conn, kind, table, ward_id, filename, today)


def run_import(bind: db.Bind, kind: str, source: Source, *, ward_id: int, filename: str = "",
               user: User | None = None, today: dt.date | None = None, max_mb: float | None = None,
               lang: str = "vi") -> ImportResult:
    """Import ``source`` all-or-nothing: plan and write in one transaction, or raise and write nothing.

    With an Engine the transaction is :func:`geomap.db.transaction`'s; with a Connection the
    caller's transaction is used (and the caller commits or rolls back).
    """
    _require(user, ward_id)
    filename = filename or (Path(source).name if not isinstance(source, bytes) else "")
    table = read(kind, source, filename, max_mb)

    def _run(conn: Connection) -> ImportResult:
        plan = build_plan(conn, kind, table, ward_id, filename, today)
        if plan.blocked:
            raise ImportRejected(plan, lang)
        return apply_plan(conn, plan, user)

    with db.transaction(bind) as conn:
        return _run(conn)
