"""The dry run: what an import would insert, update, leave unchanged or reject, row by row.

Rows are matched to records already on file so that importing the same file again updates
and never duplicates: an establishment by its code, then its tax code, then the same
folded name within :data:`MATCH_DISTANCE_M` metres (measured in the ward's VN-2000 grid);
a licence by establishment, kind and number (or issue date); an inspection by
establishment, date and kind. Empty cells keep what is on record. The database is read here
(through :mod:`geomap.importing.data`); the checks themselves are the pure
:mod:`geomap.importing.validation`.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geomap import db, i18n, status
from geomap.errors import UnknownWard
from geomap.importing import data
from geomap.importing.columns import (
    ALL_COLUMNS,
    ESTABLISHMENT_FIELDS,
    ESTABLISHMENT_LICENCES,
    INSPECTION_FIELDS,
    LICENCE_FIELDS,
    RECORD_KINDS,
    ColumnMapping,
    header_key,
    map_columns,
)
from geomap.importing.reading import RawTable
from geomap.importing.validation import Issue, Refs, RowCheck, validate
from geomap.records.rules import default_follow_up
from geomap.text import fold
from geomap.wards import data as ward_data

#: two rows with the same folded name closer than this are the same establishment
MATCH_DISTANCE_M = 30.0

ACTIONS = ("insert", "update", "unchanged", "reject")
STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "import.action.insert": ("Thêm mới", "Insert"),
    "import.action.update": ("Cập nhật", "Update"),
    "import.action.unchanged": ("Không đổi", "No change"),
    "import.action.reject": ("Từ chối", "Reject"),
    # the "Changes" column names each changed field by its column header; these fields have none of their own
    "import.change.geom": ("Vị trí", "Location"),
    "import.change.footprint": ("Hình dạng", "Shape"),
    "import.change.licence_new": ("{kind} (mới)", "{kind} (new)"),
    "import.change.licence_edit": ("{kind} (sửa)", "{kind} (edited)"),
}
#: changed fields shown under another column's header (the column the value was read from)
_CHANGE_COLUMN = {"residential_group_id": "residential_group", "evidence": "seen_on"}


def change_label(kind: str, name: str, lang: str = "vi") -> str:
    """A changed field of a ``kind`` row in the user's words: the header of its column in the template."""
    column = _CHANGE_COLUMN.get(name, name)
    for col in ALL_COLUMNS[kind]:
        if col.name == column:
            return col.header(lang)
    return i18n.t(f"import.change.{name}", lang)


@dataclass
class PlannedLicence:
    kind: str
    action: str  # insert | update | unchanged
    values: dict[str, Any]
    licence_id: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class PlannedRow:
    """What will happen to one row of the file."""

    row: int
    action: str
    values: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    #: the record updated (establishment, licence or inspection id)
    target_id: int | None = None
    #: the establishment the row belongs to (licences, inspections)
    establishment_id: int | None = None
    version: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    licences: list[PlannedLicence] = field(default_factory=list)
    #: the matched record as it is on file (updates), for the audit's "before"
    existing: dict[str, Any] | None = None
    #: how a base-layer row is named in the dry run (a code, "sheet/parcel", "market/stall")
    label: str | None = None

    @property
    def code(self) -> str | None:
        return self.label or self.values.get("code") or self.values.get("establishment_code")


@dataclass
class ImportPlan:
    """The dry run of one file: nothing has been written."""

    kind: str
    ward_id: int
    ward_slug: str
    filename: str
    format: str
    mapping: ColumnMapping
    rows: list[PlannedRow]
    file_issues: list[Issue] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ACTIONS, 0)
        for r in self.rows:
            out[r.action] += 1
        return out

    @property
    def blocked(self) -> bool:
        """True when the file cannot be imported as a whole (file errors or rejected rows)."""
        return any(i.level == "error" for i in self.file_issues) or any(r.action == "reject" for r in self.rows)

    def issues(self) -> list[Issue]:
        return [*self.file_issues, *(i for r in self.rows for i in r.issues)]

    def frame(self, lang: str = "vi") -> pd.DataFrame:
        """One line per row: row number, action, code, name, changes and messages (plain text)."""
        en = lang == "en"
        records_kind = self.kind in RECORD_KINDS
        records = []
        for r in self.rows:
            changed = [change_label(self.kind, k, lang) for k in r.changes] + [
                i18n.t("import.change.licence_new" if lic.action == "insert" else "import.change.licence_edit",
                       lang).format(kind=i18n.code_label("licence_kind", lic.kind, lang))
                for lic in r.licences if lic.action != "unchanged"]
            records.append({
                ("Row" if en else "Dòng"): r.row,
                ("Action" if en else "Thao tác"): i18n.t(f"import.action.{r.action}", lang),
                ("Code" if en else ("Mã cơ sở" if records_kind else "Mã")): r.code or "",
                ("Name" if en else "Tên"): r.values.get("name") or "",
                ("Changes" if en else "Thay đổi"): ", ".join(changed),
                ("Messages" if en else "Ghi chú"): "\n".join(
                    (("⛔ " if i.level == "error" else "⚠ ") + (f"[{i.column}] " if i.column else "") + i.message(lang))
                    for i in r.issues),
                ("Location" if en else "Vị trí"): i18n.code_label("location_quality", r.values.get(
                    "location_quality") or ("exact" if r.values.get("lon") is not None else None), lang),
            })
        return pd.DataFrame.from_records(records)


# --- reference data ---------------------------------------------------------------------------


@dataclass
class WardInfo:
    id: int
    slug: str
    name: str
    local_srid: int
    shape: Any


def ward_info(bind: db.Bind, ward_id: int) -> WardInfo:
    row = ward_data.ward_by_id(bind, ward_id, boundary=True)
    if row is None:
        raise UnknownWard(f"Ward {ward_id} is not loaded in the database.")
    return WardInfo(row["id"], row["slug"], row["name"], row["local_srid"], row["boundary"])


def load_refs(bind: db.Bind, ward: WardInfo, today: dt.date) -> Refs:
    groups: dict[str, int] = {}
    for gid, code, name in data.residential_groups(bind, ward.id):
        groups.setdefault(header_key(code), gid)
        groups.setdefault(header_key(name), gid)
    addresses: dict[str, tuple[float, float, str]] = {}
    for address, number, street, code, lon, lat in data.placed_addresses(bind, ward.id):
        for key in (fold(address), fold((address or "").split(",")[0]), fold(f"{number or ''} {street or ''}")):
            if key and key not in addresses:
                addresses[key] = (lon, lat, code)
    return Refs(today=today, vsic_codes=data.vsic_codes(bind), ward_name=ward.name, ward_shape=ward.shape,
                local_srid=ward.local_srid, groups=groups, addresses=addresses)


def _existing_licences(bind: db.Bind, ward_id: int) -> dict[tuple[int, str], list[dict]]:
    out: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in data.licences(bind, ward_id):
        out[(r["establishment_id"], r["kind"])].append(r)
    return out


# --- comparing ---------------------------------------------------------------------------------


def _texts(violations: Any) -> list[str]:
    return [str(v.get("text", "")) if isinstance(v, dict) else str(v) for v in violations or []]


def _same(old: Any, new: Any) -> bool:
    if isinstance(new, list) and new and isinstance(new[0], dict):  # inspection violations: compare the texts
        return _texts(old) == _texts(new)
    if isinstance(new, list) or isinstance(old, (list, tuple, np.ndarray)):
        return sorted(old if old is not None else []) == sorted(new or [])
    if isinstance(old, dt.datetime):
        old = old.date()
    if hasattr(old, "to_pydatetime"):
        old = old.to_pydatetime().date()
    if isinstance(old, (float, np.floating)) and isinstance(new, (int, float)):
        return abs(float(old) - float(new)) < 1e-9
    return old == new


def diff(existing: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    """The fields of ``new`` (given, non-empty) that differ from ``existing``: name -> (old, new)."""
    return {k: (existing.get(k), new[k]) for k in fields
            if k in new and new[k] is not None and not _same(existing.get(k), new[k])}


def _point_changed(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    if new.get("lon") is None:
        return False
    if existing.get("lon") is None:
        return True
    return abs(existing["lon"] - new["lon"]) > 1e-7 or abs(existing["lat"] - new["lat"]) > 1e-7


def _plan_licence(kind: str, values: dict[str, Any], on_file: list[dict]) -> PlannedLicence:
    match = None
    if values.get("number"):
        match = next((x for x in on_file if fold(x["number"]) == fold(values["number"])), None)
    if match is None and values.get("issued_on"):
        match = next((x for x in on_file if x["issued_on"] == values["issued_on"]
                      and (not x["number"] or not values.get("number"))), None)
    if match is None:
        return PlannedLicence(kind, "insert", values)
    changes = diff(match, values, LICENCE_FIELDS)
    return PlannedLicence(kind, "update" if changes else "unchanged", values, match["id"], changes)


# --- planning ----------------------------------------------------------------------------------


def _local_xy(srid: int, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    from geomap.importing.validation import _to_wgs84

    inverse = _to_wgs84(srid)
    x, y = inverse.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float),
                             direction="INVERSE")
    return np.atleast_1d(x), np.atleast_1d(y)


def build_plan(bind: db.Bind, kind: str, table: RawTable, ward_id: int, filename: str = "",
               today: dt.date | None = None) -> ImportPlan:
    """Validate and match every row of ``table``; reads the database, writes nothing."""
    today = today or status.today()
    ward = ward_info(bind, ward_id)
    mapping = map_columns(kind, list(table.frame.columns))
    plan = ImportPlan(kind, ward.id, ward.slug, filename, table.format, mapping, rows=[])
    if mapping.missing:
        names = ", ".join(f"'{c.header_vi}' ({c.header_en})" for c in mapping.missing)
        plan.file_issues.append(Issue(None, None, "error", "file.missing_columns", {"columns": names}))
        return plan
    if mapping.duplicated:
        plan.file_issues.append(Issue(None, None, "warning", "file.duplicated_columns",
                                      {"columns": ", ".join(mapping.duplicated)}))
    unknown = [u for u in mapping.unknown if not u.startswith("__col")]
    if unknown:
        plan.file_issues.append(Issue(None, None, "warning", "file.unknown_columns",
                                      {"columns": ", ".join(unknown)}))
    if kind not in RECORD_KINDS:  # a base layer: one path for all of them (geomap/importing/layer_plan.py)
        from geomap.importing import layer_plan

        refs = Refs(today=today, vsic_codes=frozenset(), ward_name=ward.name, ward_shape=None,
                    local_srid=ward.local_srid)
        plan.rows = layer_plan.plan_rows(bind, ward, validate(kind, table, mapping, refs), mapping, plan)
        return plan
    refs = load_refs(bind, ward, today)
    planner = {"establishments": _plan_establishments, "licences": _plan_licences,
               "inspections": _plan_inspections}[kind]
    # Millions of small objects and no cycles: the cyclic collector would rescan them over and over.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        checks = validate(kind, table, mapping, refs)
        plan.rows = planner(bind, ward, checks, mapping)
        if kind == "establishments":
            _place_from_addresses(bind, ward, plan.rows, mapping)
    finally:
        if was_enabled:
            gc.enable()
    return plan


def _plan_establishments(bind: db.Bind, ward: WardInfo, checks: list[RowCheck],
                         mapping: ColumnMapping) -> list[PlannedRow]:
    records = data.establishments(bind, ward.id, full=True)
    by_code = {r["code"]: r for r in records}
    by_tax: dict[str, list[dict]] = defaultdict(list)
    by_name: dict[str, list[tuple[dict, float, float]]] = defaultdict(list)
    by_name_address: dict[tuple[str, str], dict] = {}
    placed = [r for r in records if r["lon"] is not None]
    if placed:
        xs, ys = _local_xy(ward.local_srid, [r["lon"] for r in placed], [r["lat"] for r in placed])
        for rec, x, y in zip(placed, xs, ys, strict=True):
            by_name[fold(rec["name"])].append((rec, float(x), float(y)))
    for r in records:
        if r["tax_code"]:
            by_tax[r["tax_code"]].append(r)
        by_name_address.setdefault((fold(r["name"]), fold(r["address"])), r)
    licences = _existing_licences(bind, ward.id)
    other = data.codes_in_other_wards(bind, ward.id, [c.values["code"] for c in checks if c.values.get("code")])

    rows_xy: dict[int, tuple[float, float]] = {}
    with_point = [c for c in checks if c.values.get("lon") is not None]
    if with_point:
        xs, ys = _local_xy(ward.local_srid, [c.values["lon"] for c in with_point],
                           [c.values["lat"] for c in with_point])
        rows_xy = {c.index: (float(x), float(y)) for c, x, y in zip(with_point, xs, ys, strict=True)}

    seen_target: dict[int, int] = {}
    seen_code: dict[str, int] = {}
    seen_tax: dict[str, int] = {}
    new_by_name: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    out: list[PlannedRow] = []
    for c in checks:
        v = c.values
        pr = PlannedRow(c.row, "reject", v, list(c.issues))
        out.append(pr)
        if not c.ok:
            continue
        code, tax = v.get("code"), v.get("tax_code")
        if code and code in other:
            pr.issues.append(Issue(c.row, mapping.header_of("code"), "error", "match.code_other_ward", {"value": code}))
            continue
        for key, seen, col in ((code, seen_code, "code"), (tax, seen_tax, "tax_code")):
            if key and key in seen:
                pr.issues.append(Issue(c.row, mapping.header_of(col), "error", "match.duplicate_row",
                                       {"other": seen[key]}))
        if not pr_ok(pr):
            continue
        target: dict | None = by_code.get(code) if code else None
        if target is None and tax:
            candidates = by_tax.get(tax, [])
            if len(candidates) > 1:
                pr.issues.append(Issue(c.row, mapping.header_of("tax_code"), "error", "match.tax_ambiguous",
                                       {"n": len(candidates), "value": tax}))
                continue
            if candidates:
                target = candidates[0]
                pr.issues.append(Issue(c.row, mapping.header_of("tax_code"), "warning", "match.by_tax",
                                       {"code": target["code"]}))
        name_key = fold(v.get("name"))
        xy = rows_xy.get(c.index)
        if target is None and xy is not None:
            best = None
            for rec, x, y in by_name.get(name_key, []):
                d = float(np.hypot(x - xy[0], y - xy[1]))
                if d <= MATCH_DISTANCE_M and (best is None or d < best[1]):
                    best = (rec, d)
            if best is not None:
                target = best[0]
                pr.issues.append(Issue(c.row, mapping.header_of("name"), "warning", "match.by_name",
                                       {"distance_m": best[1], "code": target["code"]}))
        if target is None and xy is None and v.get("address"):
            target = by_name_address.get((name_key, fold(v["address"])))
        if target is not None:
            if target["id"] in seen_target:
                pr.issues.append(Issue(c.row, None, "error", "match.duplicate_row",
                                       {"other": seen_target[target["id"]]}))
                continue
            seen_target[target["id"]] = c.row
            if code and code != target["code"]:
                pr.issues.append(Issue(c.row, mapping.header_of("code"), "warning", "match.code_kept",
                                       {"code": target["code"], "value": code}))
            v["code"] = target["code"]
            pr.target_id, pr.establishment_id, pr.version = target["id"], target["id"], target["version"]
            pr.existing = target
            pr.changes = diff(target, v, ESTABLISHMENT_FIELDS)
            if _point_changed(target, v):
                old = None if target["lon"] is None else f"{target['lon']:.7f}, {target['lat']:.7f}"
                pr.changes["geom"] = (old, f"{v['lon']:.7f}, {v['lat']:.7f}")
        elif xy is not None:
            for other_row, x, y in new_by_name.get(name_key, []):
                if float(np.hypot(x - xy[0], y - xy[1])) <= MATCH_DISTANCE_M:
                    pr.issues.append(Issue(c.row, mapping.header_of("name"), "error", "match.duplicate_row",
                                           {"other": other_row}))
                    break
            if not pr_ok(pr):
                continue
            new_by_name[name_key].append((c.row, *xy))
        if code:
            seen_code[code] = c.row
        if tax:
            seen_tax[tax] = c.row
        for lkind, (number_col, issued_col, expires_col) in ESTABLISHMENT_LICENCES.items():
            if not v.get(issued_col):
                continue
            lvalues = {"issued_on": v[issued_col]}
            if number_col and v.get(number_col):
                lvalues["number"] = v[number_col]
            if expires_col and v.get(expires_col):
                lvalues["expires_on"] = v[expires_col]
            on_file = licences.get((target["id"], lkind), []) if target is not None else []
            pr.licences.append(_plan_licence(lkind, lvalues, on_file))
        if target is None:
            pr.action = "insert"
        elif pr.changes or any(lic.action != "unchanged" for lic in pr.licences):
            pr.action = "update"
        else:
            pr.action = "unchanged"
    return out


def _place_from_addresses(bind: db.Bind, ward: WardInfo, rows: list[PlannedRow], mapping: ColumnMapping) -> None:
    """Rows without coordinates (new, or matching a record without a point) placed from their address:
    at a known address, on the street or alley, or in the residential group (:mod:`geomap.addresses`).
    The placement and its quality are said on the row; a row placed nowhere keeps no point, as before."""
    todo = [pr for pr in rows if pr.action != "reject" and pr.values.get("lon") is None
            and (pr.existing is None or pr.existing.get("lon") is None)
            and (pr.values.get("address") or pr.values.get("street") or pr.values.get("residential_group_id"))]
    if not todo:
        return
    from geomap import addresses

    wg = addresses.gazetteer(bind, ward.id)
    addresses.learn(wg, [pr.values for pr in rows if pr.action != "reject" and pr.values.get("lon") is not None
                         and not pr.values.get("location_quality")])  # the file's own exact points count too
    seeds = [{**pr.values, "code": pr.values.get("code") or f"{pr.values.get('name')}|{pr.values.get('address')}"}
             for pr in todo]
    column = mapping.header_of("address") or mapping.header_of("street") or mapping.header_of("residential_group")
    for pr, p in zip(todo, addresses.place_rows(wg, seeds, addresses.configured_geocoder()), strict=True):
        if p.placed:
            pr.issues = [i for i in pr.issues if i.key != "geo.missing"]
        pr.issues.extend(Issue(pr.row, column, "warning", key, params) for key, params in p.notes
                         if p.placed or key != "addr.no_match")  # "geo.missing" already says it stays off the map
        if not p.placed:
            continue
        pr.values["lon"], pr.values["lat"], pr.values["location_quality"] = p.lon, p.lat, p.quality
        if pr.action != "insert":
            pr.changes["geom"] = (None, f"{p.lon:.7f}, {p.lat:.7f}")
            pr.action = "update"


def pr_ok(pr: PlannedRow) -> bool:
    return not any(i.level == "error" for i in pr.issues)


def _resolve_establishment(pr: PlannedRow, mapping: ColumnMapping, by_code: dict, by_tax: dict) -> dict | None:
    code, tax = pr.values.get("establishment_code"), pr.values.get("tax_code")
    if code:
        found = by_code.get(code)
        if found is None:
            pr.issues.append(Issue(pr.row, mapping.header_of("establishment_code"), "error", "match.no_establishment",
                                   {"value": code}))
        return found
    candidates = by_tax.get(tax, [])
    if len(candidates) > 1:
        pr.issues.append(Issue(pr.row, mapping.header_of("tax_code"), "error", "match.tax_ambiguous",
                               {"n": len(candidates), "value": tax}))
        return None
    if not candidates:
        pr.issues.append(Issue(pr.row, mapping.header_of("tax_code"), "error", "match.no_establishment",
                               {"value": tax}))
        return None
    return candidates[0]


def _establishment_index(bind: db.Bind, ward_id: int) -> tuple[dict, dict]:
    existing = data.establishments(bind, ward_id, full=False)
    by_tax: dict[str, list[dict]] = defaultdict(list)
    for r in existing:
        if r["tax_code"]:
            by_tax[r["tax_code"]].append(r)
    return {r["code"]: r for r in existing}, by_tax


def _plan_licences(bind: db.Bind, ward: WardInfo, checks: list[RowCheck],
                   mapping: ColumnMapping) -> list[PlannedRow]:
    by_code, by_tax = _establishment_index(bind, ward.id)
    licences = _existing_licences(bind, ward.id)
    seen: dict[tuple, int] = {}
    out = []
    for c, pr, est, v in _each_matched(checks, out, mapping, by_code, by_tax):
        key = (est["id"], v["kind"], fold(v.get("number")) or v["issued_on"])
        if key in seen:
            pr.issues.append(Issue(c.row, None, "error", "match.duplicate_row", {"other": seen[key]}))
            continue
        seen[key] = c.row
        lic = _plan_licence(v["kind"], {k: v[k] for k in LICENCE_FIELDS if k in v},
                            licences.get((est["id"], v["kind"]), []))
        pr.establishment_id, pr.target_id, pr.changes = est["id"], lic.licence_id, lic.changes
        pr.licences = [lic]
        pr.action = lic.action
    return out


def _each_matched(checks: list[RowCheck], out: list[PlannedRow], mapping: ColumnMapping,
                  by_code: dict, by_tax: dict) -> Iterator[tuple[RowCheck, PlannedRow, dict, dict]]:
    """Plan every row as rejected (appended to ``out``); yield those that passed and name an establishment."""
    for c in checks:
        pr = PlannedRow(c.row, "reject", c.values, list(c.issues))
        out.append(pr)
        if not c.ok:
            continue
        est = _resolve_establishment(pr, mapping, by_code, by_tax)
        if est is None:
            continue
        v = c.values
        v["establishment_code"] = est["code"]
        v.setdefault("name", est["name"])
        yield c, pr, est, v


def _plan_inspections(bind: db.Bind, ward: WardInfo, checks: list[RowCheck],
                      mapping: ColumnMapping) -> list[PlannedRow]:
    by_code, by_tax = _establishment_index(bind, ward.id)
    existing: dict[tuple, dict] = {}
    for r in data.inspections(bind, ward.id):
        existing.setdefault((r["establishment_id"], r["inspected_on"], r["kind"]), r)
    seen: dict[tuple, int] = {}
    out = []
    for c, pr, est, v in _each_matched(checks, out, mapping, by_code, by_tax):
        key = (est["id"], v["inspected_on"], v["kind"])
        if key in seen:
            pr.issues.append(Issue(c.row, None, "error", "match.duplicate_row", {"other": seen[key]}))
            continue
        seen[key] = c.row
        pr.establishment_id = est["id"]
        match = existing.get(key)
        if not v.get("follow_up_due") and (match is None or match["follow_up_due"] is None):
            # a violation without a follow-up gets one by severity, as an edit does (an empty cell keeps one on file)
            due = default_follow_up(v["result"], v["inspected_on"],
                                    (i["severity"] for i in v.get("violations") or []))
            if due is not None:
                v["follow_up_due"] = due
                pr.issues.append(Issue(c.row, mapping.header_of("follow_up_due"), "warning", "cell.follow_up_default",
                                       {"due": due.strftime("%d/%m/%Y"), "days": (due - v["inspected_on"]).days}))
        if match is None:
            pr.action = "insert"
            continue
        pr.target_id, pr.existing = match["id"], match
        pr.changes = diff(match, v, INSPECTION_FIELDS)
        if v["result"] != "violation" and match["follow_up_due"] is not None:
            # only a violation has a follow-up (as an edit): the one on file is cleared, not kept, and said on the row
            pr.changes["follow_up_due"] = (match["follow_up_due"], None)
            pr.issues.append(Issue(c.row, mapping.header_of("follow_up_due"), "warning", "cell.follow_up_cleared",
                                   {"due": match["follow_up_due"].strftime("%d/%m/%Y")}))
        pr.action = "update" if pr.changes else "unchanged"
    return out
