"""Writing a checked import plan: all rows in one transaction, in bulk.

Rows are streamed with ``COPY`` into temporary tables and merged with one
``INSERT ... SELECT`` and one ``UPDATE ... FROM`` per table (:mod:`geomap.importing.data`), so a
10,000-row file costs a handful of statements instead of tens of thousands of round trips.
This module decides what to write (ids, codes, staged rows, audit entries). Updates carry the
version read during planning: a record changed by someone else in between makes the whole
import fail (:class:`~geomap.errors.ConcurrentEdit`) rather than overwrite it. One audit
entry per changed record is copied into ``audit_log`` in the same transaction. As with an
edit (:mod:`geomap.records`), entries about licences and inspections are filed under their
establishment (``entity_type="establishment"``, naming ``licence_id`` / ``inspection_id``,
with the derived statuses before and after), so its history shows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from geomap.audit import _jsonable
from geomap.errors import ConcurrentEdit
from geomap.importing import data
from geomap.importing.columns import ESTABLISHMENT_FIELDS, INSPECTION_FIELDS, LICENCE_FIELDS, RECORD_KINDS
from geomap.importing.plan import ImportPlan, PlannedLicence
from geomap.records.edit import statuses
from geomap.text import search_key
from geomap.users import User


@dataclass
class ImportResult:
    """What the real run wrote."""

    plan: ImportPlan
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    licences_inserted: int = 0
    licences_updated: int = 0
    audit_entries: int = 0
    ids: list[int] = field(default_factory=list)


def _prefix(slug: str) -> str:
    """The establishment-code prefix of a ward, as records are numbered by hand ("hoa-cuong" -> "HC")."""
    return "".join(part[0] for part in slug.split("-") if part).upper() or "CS"


def _with_statuses(audits: list[tuple], before: Mapping[int, dict], after: Mapping[int, dict]) -> list[tuple]:
    """Licence and inspection entries (flagged ``child``) get the establishment's statuses before and after."""
    out = []
    for etype, eid, old, new, where, child in audits:
        if child:
            old = {**(old or {}), **before.get(eid, {})} or None
            new = {**(new or {}), **after.get(eid, {})}
        out.append((etype, eid, old, new, where))
    return out


def apply_plan(conn: Connection, plan: ImportPlan, user: User | None = None, note: str | None = None) -> ImportResult:
    """Write ``plan`` (its accepted rows) on ``conn``, inside the caller's transaction."""
    result = ImportResult(plan)
    audits: list[tuple] = []
    note = note or f"import {plan.kind}: {plan.filename}".strip()
    if plan.kind not in RECORD_KINDS:  # a base layer (geomap/importing/layer_plan.py)
        from geomap.importing.layer_plan import apply_layer

        apply_layer(conn, plan, user, note, result)
        return result
    writer = {"establishments": _apply_establishments, "licences": _apply_licences,
              "inspections": _apply_inspections}[plan.kind]
    statuses_before = statuses(conn, (r.establishment_id for r in plan.rows
                                      if r.action in ("insert", "update") and r.establishment_id is not None))
    writer(conn, plan, result, audits, note)
    statuses_after = statuses(conn, (eid for _, eid, _, _, _, child in audits if child))
    audits = _with_statuses(audits, statuses_before, statuses_after)
    result.unchanged = sum(1 for r in plan.rows if r.action == "unchanged")
    uid, uname = (user.id, user.username) if user is not None else (None, "system")
    result.audit_entries = data.copy_audit(
        conn, ((uid, uname, "import", etype, eid, _json(before), _json(after), f"{note}, {where}")
               for etype, eid, before, after, where in audits))
    return result


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(_jsonable(value), ensure_ascii=False)


def _licence_rows(result: ImportResult, audits: list, planned: list[tuple[int, PlannedLicence, str]],
                  new_ids: list[int]) -> list[tuple]:
    rows, ids = [], iter(new_ids)
    for est_id, lic, where in planned:
        if lic.action == "insert":
            lic.licence_id = next(ids)
            rows.append((lic.licence_id, True, est_id, lic.kind, *(lic.values.get(f) for f in LICENCE_FIELDS)))
            audits.append(("establishment", est_id, None, {"licence_id": lic.licence_id, "kind": lic.kind,
                                                            **lic.values}, where, True))
            result.licences_inserted += 1
        elif lic.action == "update":
            rows.append((lic.licence_id, False, est_id, lic.kind,
                         *(lic.changes[f][1] if f in lic.changes else None for f in LICENCE_FIELDS)))
            audits.append(("establishment", est_id,
                           {"licence_id": lic.licence_id, **{k: o for k, (o, _) in lic.changes.items()}},
                           {"licence_id": lic.licence_id, "kind": lic.kind,
                            **{k: n for k, (_, n) in lic.changes.items()}}, where, True))
            result.licences_updated += 1
    return rows


def _apply_establishments(conn: Connection, plan: ImportPlan, result: ImportResult, audits: list, note: str) -> None:
    inserts = [r for r in plan.rows if r.action == "insert"]
    updates = [r for r in plan.rows if r.action == "update" and r.changes]
    new_ids = data.new_ids(conn, "establishment", len(inserts))
    prefix = _prefix(plan.ward_slug)
    wanted = [f"{prefix}-{i:06d}" for i, r in zip(new_ids, inserts, strict=True) if not r.values.get("code")]
    taken = data.taken_codes(conn, wanted)
    taken |= {r.values["code"] for r in plan.rows if r.values.get("code")}
    rows = []
    for new_id, r in zip(new_ids, inserts, strict=True):
        v = r.values
        if not v.get("code"):
            code, n = f"{prefix}-{new_id:06d}", 1
            while code in taken:
                n += 1
                code = f"{prefix}-{new_id:06d}-{n}"
            v["code"] = code
            taken.add(code)
        if not v.get("address") and (v.get("house_number") or v.get("street")):
            v["address"] = " ".join(x for x in (v.get("house_number"), v.get("street")) if x)
        r.target_id = r.establishment_id = new_id
        key = search_key(v.get("name"), v.get("address"), v["code"])
        rows.append((new_id, True, None, *(v.get(f) for f in ESTABLISHMENT_FIELDS), key, v.get("lon"), v.get("lat")))
        after = {f: v.get(f) for f in (*ESTABLISHMENT_FIELDS, "lon", "lat") if v.get(f) is not None}
        audits.append(("establishment", new_id, None, after, f"row {r.row}", False))
    for r in updates:
        merged = {**(r.existing or {}), **{k: n for k, (_, n) in r.changes.items()}}
        key = search_key(merged.get("name"), merged.get("address"), merged.get("code"))
        staged = [r.changes[f][1] if f in r.changes else None for f in ESTABLISHMENT_FIELDS]
        lon, lat = (r.values.get("lon"), r.values.get("lat")) if "geom" in r.changes else (None, None)
        rows.append((r.target_id, False, r.version, *staged, key, lon, lat))
        before = {k: o for k, (o, _) in r.changes.items()}
        after = {k: n for k, (_, n) in r.changes.items()}
        audits.append(("establishment", r.target_id, before, after, f"row {r.row}", False))
    done = data.merge_establishments(conn, plan.ward_id, rows)
    if done != len(updates):
        raise ConcurrentEdit(
            f"{len(updates) - done} establishments were changed by someone else since the file was checked; "
            "nothing was imported: run the import again.")
    # rows placed from their address (geomap.addresses) carry how: the point written above is not exact
    approximate = [(r.target_id, r.values["location_quality"]) for r in (*inserts, *updates)
                   if r.values.get("location_quality") and r.values.get("lon") is not None]
    if approximate:
        from geomap.addresses import data as address_data

        address_data.set_quality(conn, [i for i, _ in approximate], [q for _, q in approximate])
    planned = [(r.establishment_id, lic, f"row {r.row}") for r in plan.rows if r.action in ("insert", "update")
               for lic in r.licences]
    lic_ids = data.new_ids(conn, "licence", sum(1 for _, lic, _ in planned if lic.action == "insert"))
    data.merge_licences(conn, _licence_rows(result, audits, planned, lic_ids))
    result.inserted, result.updated = len(inserts), sum(1 for r in plan.rows if r.action == "update")
    result.ids = [r.establishment_id for r in plan.rows if r.action in ("insert", "update")]


def _apply_licences(conn: Connection, plan: ImportPlan, result: ImportResult, audits: list, note: str) -> None:
    planned = [(r.establishment_id, r.licences[0], f"row {r.row}") for r in plan.rows
               if r.action in ("insert", "update")]
    lic_ids = data.new_ids(conn, "licence", sum(1 for _, lic, _ in planned if lic.action == "insert"))
    data.merge_licences(conn, _licence_rows(result, audits, planned, lic_ids))
    result.inserted, result.updated = result.licences_inserted, result.licences_updated
    result.ids = [lic.licence_id for _, lic, _ in planned]


def _apply_inspections(conn: Connection, plan: ImportPlan, result: ImportResult, audits: list, note: str) -> None:
    inserts = [r for r in plan.rows if r.action == "insert"]
    updates = [r for r in plan.rows if r.action == "update"]
    new_ids = data.new_ids(conn, "inspection", len(inserts))
    fields = INSPECTION_FIELDS
    rows = []
    for new_id, r in zip(new_ids, inserts, strict=True):
        r.target_id = new_id
        vals = [r.values.get(f) for f in fields]
        vals[fields.index("violations")] = _json(r.values.get("violations") or [])
        rows.append((new_id, True, r.establishment_id, *vals, False))
        audits.append(("establishment", r.establishment_id, None,
                       {"inspection_id": new_id, **{f: r.values.get(f) for f in fields}}, f"row {r.row}", True))
    for r in updates:
        vals = [r.changes[f][1] if f in r.changes else None for f in fields]
        if "violations" in r.changes:
            vals[fields.index("violations")] = _json(r.changes["violations"][1])
        cleared = "follow_up_due" in r.changes and r.changes["follow_up_due"][1] is None
        rows.append((r.target_id, False, r.establishment_id, *vals, cleared))
        audits.append(("establishment", r.establishment_id,
                       {"inspection_id": r.target_id, **{k: o for k, (o, _) in r.changes.items()}},
                       {"inspection_id": r.target_id, **{k: n for k, (_, n) in r.changes.items()}},
                       f"row {r.row}", True))
    data.merge_inspections(conn, rows)
    result.inserted, result.updated = len(inserts), len(updates)
    result.ids = [r.target_id for r in (*inserts, *updates)]
