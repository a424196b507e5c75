"""Importing the ward's assessment of its residential groups for one period (VNeID, digital skills, Gia đình
số, Tổ dân phố số): :mod:`geomap.dashboard.group_indicators` says what each indicator is.

The same steps as every import (:mod:`geomap.importing`): the file is read by the importer's reader (type
from the bytes, size limit, headers matched without case or diacritics), cells are checked by its
validation, every problem names the row and the column in Vietnamese and English, :func:`dry_run` writes
nothing, and :func:`run_import` writes all of it or nothing. One row per residential group, matched on the
group's code. Re-importing a period **replaces** the ward's values of that period (a group left out of
the new file loses its old values), with one audit entry holding what was replaced.

Shares: a count pair (numerator and denominator) is preferred; a share alone is read as **0–100** ("75" or
"75%"); a column whose every value lies between 0 and 1 is read as 0–1 (Excel percentage cells hold
0.75 for 75%) and said so. A count pair and a share that disagree by more than one percentage point are
refused.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geomap import audit, auth, db, status
from geomap.dashboard import data, periods
from geomap.dashboard.group_indicators import COLUMNS, GROUP_FLAG
from geomap.errors import GeomapError, LocalizedError
from geomap.importing.columns import GROUP_INDICATOR_KIND, ColumnMapping, column, header_key, map_columns
from geomap.importing.reading import RawTable, read_bytes, read_path
from geomap.importing.validation import Issue, Refs, RowCheck, validate
from geomap.records import edit
from geomap.text import clean_text
from geomap.users import User

KIND = GROUP_INDICATOR_KIND
#: a stated share and the counts' share may differ by this many percentage points (rounding in the sheet)
PCT_TOLERANCE = 1.0


@dataclass
class GroupImportPlan:
    """What importing the file would do: the values per group and indicator, and every issue."""

    period: periods.Period
    filename: str
    rows: list[RowCheck]
    #: (group id, indicator, numerator, denominator, share 0–1) of the rows without errors
    values: list[tuple[int, str, int | None, int | None, float]] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)
    #: values of the period already on file (replaced by the real run)
    replaced: int = 0

    def issues(self) -> list[Issue]:
        return [*self.file_issues, *(i for r in self.rows for i in r.issues)]

    @property
    def blocked(self) -> bool:
        return any(i.level == "error" for i in self.issues())

    @property
    def counts(self) -> dict[str, int]:
        rejected = sum(1 for r in self.rows if not r.ok)
        return {"rows": len(self.rows), "reject": rejected, "groups": len({v[0] for v in self.values}),
                "values": len(self.values), "replaced": self.replaced}


class GroupImportRejected(LocalizedError):
    """The real run refused the file: nothing was written."""

    def __init__(self, plan: GroupImportPlan):
        self.plan = plan
        errors = [i for i in plan.issues() if i.level == "error"]

        def text(lang: str) -> str:
            head = (f"{plan.counts['reject']} dòng bị từ chối, chưa ghi dữ liệu nào" if lang == "vi"
                    else f"{plan.counts['reject']} rows rejected, nothing was written")
            if not plan.counts["reject"]:
                head = "Tệp không nhập được, chưa ghi dữ liệu nào" if lang == "vi" else "The file cannot be imported"
            more = f" (+{len(errors) - 5})" if len(errors) > 5 else ""
            return f"{head}: " + "; ".join(i.describe(lang).rstrip(".") for i in errors[:5]) + more + "."

        super().__init__(text("vi"), text("en"))


def _percent_cells(table: RawTable, mapping: ColumnMapping) -> set[tuple[int, str]]:
    """Strip a trailing "%" from share cells (the cell then reads 0–100 whatever its column); their positions."""
    marked: set[tuple[int, str]] = set()
    shares = {c[2] for c in COLUMNS.values()}
    for header, name in mapping.by_header.items():
        if name not in shares:
            continue
        col = table.frame[header]
        for i, v in enumerate(col):
            if isinstance(v, str) and v.strip().endswith("%"):
                table.frame.iat[i, table.frame.columns.get_loc(header)] = v.strip()[:-1].strip()
                marked.add((i, name))
    return marked


def check(table: RawTable, groups: dict[str, tuple[int, str, str]], period: periods.Period,
          today: dt.date, filename: str = "") -> GroupImportPlan:
    """Check ``table`` (pure): ``groups`` maps a folded group code to (id, code, name)."""
    plan = GroupImportPlan(period, filename, [])
    mapping = map_columns(KIND, list(table.frame.columns))
    if mapping.missing:
        plan.file_issues.append(Issue(None, None, "error", "file.missing_columns",
                                      {"columns": ", ".join(c.header_vi for c in mapping.missing)}))
        return plan
    present = set(mapping.by_header.values())
    if not present & ({c for cols in COLUMNS.values() for c in cols} | {GROUP_FLAG[0]}):
        plan.file_issues.append(Issue(None, None, "error", "group.no_indicator_columns"))
        return plan
    if mapping.duplicated:
        plan.file_issues.append(Issue(None, None, "warning", "file.duplicated_columns",
                                      {"columns": ", ".join(mapping.duplicated)}))
    if mapping.unknown:
        plan.file_issues.append(Issue(None, None, "warning", "file.unknown_columns",
                                      {"columns": ", ".join(mapping.unknown)}))
    marked = _percent_cells(table, mapping)
    plan.rows = validate(KIND, table, mapping, Refs(today=today, vsic_codes=frozenset()))
    fraction = _fraction_columns(plan.rows, marked)
    for name in sorted(fraction):
        plan.file_issues.append(Issue(None, mapping.header_of(name), "warning", "group.pct_fraction",
                                      {"column": mapping.header_of(name)}))
    seen: dict[int, int] = {}
    empty = [rc.row for rc in plan.rows if not _check_row(rc, mapping, groups, period, fraction, marked, seen, plan)]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (", …" if len(empty) > 10 else "")
        plan.file_issues.append(Issue(None, None, "warning", "group.rows_empty", {"n": len(empty), "rows": shown}))
    if not plan.values and not plan.blocked:
        plan.file_issues.append(Issue(None, None, "error", "group.no_values"))
    return plan


def _fraction_columns(rows: list[RowCheck], marked: set[tuple[int, str]]) -> set[str]:
    """Share columns whose every value (without a "%") lies in [0, 1] and one is above 0: written 0–1."""
    out = set()
    for *_counts, share in COLUMNS.values():
        given = [rc.values[share] for rc in rows if rc.values.get(share) is not None
                 and (rc.index, share) not in marked]
        if given and all(0 <= v <= 1 for v in given) and any(v > 0 for v in given):
            out.add(share)
    return out


def _check_row(rc: RowCheck, mapping: ColumnMapping, groups: dict[str, tuple[int, str, str]],
               period: periods.Period, fraction: set[str], marked: set[tuple[int, str]], seen: dict[int, int],
               plan: GroupImportPlan) -> bool:
    """Check one row, adding its values to ``plan``; False when the row holds no figure at all."""
    def error(name: str, key: str, **params: Any) -> None:
        rc.issues.append(Issue(rc.row, mapping.header_of(name), "error", key, params))

    v = rc.values
    found = groups.get(header_key(v.get("group_code") or ""))
    if v.get("group_code") and found is None:
        error("group_code", "group.unknown", value=str(v["group_code"])[:60])
    if found is not None:
        gid, code, name = found
        if gid in seen:
            error("group_code", "group.duplicate", code=code, first=seen[gid], second=rc.row)
        else:
            seen[gid] = rc.row
        if v.get("group_name") and header_key(v["group_name"]) != header_key(name):
            rc.issues.append(Issue(rc.row, mapping.header_of("group_name"), "warning", "group.name_differs",
                                   {"value": str(v["group_name"])[:60], "name": name, "code": code}))
    if v.get("period"):
        try:
            given = periods.parse(v["period"])
        except GeomapError:
            given = None
        if given != period:
            error("period", "group.period_differs", value=str(v["period"])[:20], period=str(period))
    out: list[tuple[str, int | None, int | None, float]] = []
    for key, (num_name, den_name, share_name) in COLUMNS.items():
        num, den, share = v.get(num_name), v.get(den_name), v.get(share_name)
        if share is not None:
            if share_name in fraction and (rc.index, share_name) not in marked:
                share = share * 100
            elif 0 < share < 1 and (rc.index, share_name) not in marked:
                rc.issues.append(Issue(rc.row, mapping.header_of(share_name), "warning", "group.pct_small",
                                       {"value": f"{share:g}", "pct": f"{share * 100:g}"}))
            if not 0 <= share <= 100:
                error(share_name, "group.pct_range", value=f"{v.get(share_name):g}")
                continue
        if num is not None and den is None:
            error(num_name, "group.num_without_den", column=mapping.header_of(num_name),
                  den_column=column(KIND, den_name).header_vi)
            continue
        if num is not None and den is not None:
            if den == 0:
                error(den_name, "group.zero_den", column=mapping.header_of(den_name),
                      num_column=mapping.header_of(num_name))
                continue
            if num > den:
                error(num_name, "group.num_over_den", num=num, den=den,
                      what=f"{mapping.header_of(num_name)} / {mapping.header_of(den_name)}")
                continue
            if share is not None and abs(share - 100 * num / den) > PCT_TOLERANCE:
                error(share_name, "group.pct_mismatch", given=f"{share:.1f}", computed=f"{100 * num / den:.1f}",
                      num=num, den=den)
                continue
            out.append((key, num, den, num / den))
        elif share is not None:
            out.append((key, None, None, share / 100))
    if v.get(GROUP_FLAG[0]) is not None:
        met = bool(v[GROUP_FLAG[0]])
        out.append(("digital_group", int(met), 1, float(met)))
    if rc.ok and found is not None:
        plan.values += [(found[0], key, num, den, share) for key, num, den, share in out]
    return bool(out) or not rc.ok


def _read(source: bytes | str | Path, filename: str, max_mb: float | None) -> tuple[RawTable, str]:
    if isinstance(source, bytes):
        return read_bytes(source, KIND, filename, max_mb), filename
    return read_path(source, KIND, max_mb), filename or Path(source).name


def _plan(conn: Any, table: RawTable, ward_id: int, period: periods.Period, filename: str,
          today: dt.date) -> GroupImportPlan:
    if period.start > today:
        plan = GroupImportPlan(period, filename, [])
        plan.file_issues.append(Issue(None, None, "error", "group.period_future", {"period": str(period)}))
        return plan
    groups = {header_key(r["code"]): (int(r["id"]), r["code"], r["name"]) for r in data.group_codes(conn, ward_id)}
    plan = check(table, groups, period, today, filename)
    plan.replaced = data.count_group_values(conn, ward_id, str(period))
    return plan


def _require(user: User | None, ward_id: int) -> None:
    auth.require(user, "import_records")
    edit.check_scope(user, ward_id)


def dry_run(bind: db.Bind, source: bytes | str | Path, *, ward_id: int, period: str, filename: str = "",
            user: User | None = None, today: dt.date | None = None, max_mb: float | None = None) -> GroupImportPlan:
    """What importing ``source`` for ``period`` would do; nothing is written."""
    _require(user, ward_id)
    chosen = periods.parse(period)
    table, filename = _read(source, filename, max_mb)
    with db.read(bind) as conn:
        return _plan(conn, table, ward_id, chosen, clean_text(filename)[:200], today or status.today())


def run_import(bind: db.Bind, source: bytes | str | Path, *, ward_id: int, period: str, filename: str = "",
               user: User | None = None, today: dt.date | None = None, max_mb: float | None = None) -> dict[str, int]:
    """Import ``source`` for ``period`` all-or-nothing, replacing the period's values (one audit entry)."""
    _require(user, ward_id)
    chosen = periods.parse(period)
    table, filename = _read(source, filename, max_mb)
    filename = clean_text(filename)[:200]
    with db.transaction(bind) as conn:
        plan = _plan(conn, table, ward_id, chosen, filename, today or status.today())
        if plan.blocked:
            raise GroupImportRejected(plan)
        before = data.group_values_of_period(conn, ward_id, str(chosen))
        data.replace_group_values(conn, ward_id, chosen, plan.values, filename, user)
        audit.record(conn, action="import", entity_type="group_indicators", entity_id=ward_id, user=user,
                     before={"period": str(chosen), "values": before} if before else None,
                     after={"period": str(chosen), "source_file": filename, "values": [
                         {"group_id": g, "indicator": k, "numerator": n, "denominator": d,
                          "value": None if math.isnan(s) else round(s, 6)} for g, k, n, d, s in plan.values]},
                     note=f"{len(plan.values)} values for {chosen} from {filename}")
    return plan.counts


def template(bind: db.Bind, ward_id: int, period: str, lang: str = "vi") -> bytes:
    """The Excel template for ``period``: one row per residential group of the ward, code and name filled in."""
    from geomap.importing import template as tpl

    chosen = periods.parse(period)
    wb = tpl.build_template(lang, None, (KIND,))
    with db.read(bind) as conn:
        rows = [{"group_code": r["code"], "group_name": r["name"], "period": str(chosen)}
                for r in data.group_codes(conn, ward_id)]
    tpl.fill_rows(wb, KIND, rows, lang)
    return tpl.to_bytes(wb)
