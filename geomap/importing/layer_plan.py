"""The one import path of the base layers: shapes, layer checks, matching and writing.

Every base layer (:data:`geomap.importing.specs.SPECS`) goes through the same steps as
establishments: cells are parsed by :func:`geomap.importing.validation.validate`; here each
row's shape is read (WKT, a GeoJSON/GeoPackage feature, or longitude/latitude), its CRS fixed
or refused, its validity and place in the ward checked; the layer's own check runs over the
whole file; then each row is matched on the spec's key with what is on file (insert, update,
no change) and, in the real run, everything is written with one ``COPY`` and one
``INSERT``/``UPDATE`` pair per table, with one audit entry per changed record.

Layer checks:

- **residential groups** tile the ward: overlaps between groups and gaps left in the ward are
  refused with the groups involved, a coordinate and the area in m² of the ward's VN-2000
  grid (thin slivers along shared edges are warnings). When every row is a point, the groups
  are drawn as a Voronoi tiling within the ward boundary, and the dry run says so. Establishments
  with a point and no group get the group covering it (said in the dry run, audited).
- **land parcels**: a (map sheet, parcel number) twice in the file refuses both rows; the area
  is computed in the local grid when empty, and a stated area far from the shape's is said.
- **markets**: a polygon is the market's footprint; its point is placed inside.
- **stalls** belong to a market (by code, or by a point inside its footprint or within
  :data:`MARKET_REACH_M` of it): a stall in no market is refused. QR/POS acceptance counts with
  evidence (date seen, by whom, optional photo), stored in ``stall_payment_evidence``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from geomap import db
from geomap.audit import _jsonable
from geomap.importing import data
from geomap.importing import geometry as geo
from geomap.importing.columns import ColumnMapping, column
from geomap.importing.plan import ImportPlan, PlannedRow, WardInfo, diff, pr_ok
from geomap.importing.specs import SPECS, LayerSpec
from geomap.importing.validation import VN_LAT, VN_LON, Issue, RowCheck, _Bad, _display, fix_point
from geomap.text import fold
from geomap.users import User

#: a stall's point this close to a market (outside its footprint) belongs to it (metres)
MARKET_REACH_M = 150.0
#: a shape whose every vertex moved less than this is unchanged (degrees; about 1 cm)
SAME_SHAPE_DEG = 1e-7
#: a stated parcel area further than this from the shape's is said on the row (per cent)
AREA_TOLERANCE_PCT = 10


def _geom_column(mapping: ColumnMapping) -> str:
    """The file's header of the shape (a GeoJSON/GeoPackage feature's geometry is the template's WKT column)."""
    present = set(mapping.by_header.values())
    header = mapping.header_of("lon" if "wkt" not in present and "lon" in present else "wkt")
    return column(mapping.kind, "wkt").header_vi if header == "wkt" else header


def _in_vietnam(geom: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return VN_LON[0] <= minx and maxx <= VN_LON[1] and VN_LAT[0] <= miny and maxy <= VN_LAT[1]


def read_shapes(rows: list[PlannedRow], spec: LayerSpec, mapping: ColumnMapping, srid: int) -> list:
    """Each row's shape in EPSG:4326 (None when it has none, or an error was added to the row).

    WKT is parsed and shapes are checked for validity in one vectorised call each; the CRS of each
    shape is told from its first coordinate.
    """
    wkts = [r.values.pop("wkt", None) if pr_ok(r) else None for r in rows]
    texts = np.asarray([None if w is None else str(w) for w in wkts], dtype=object)
    parsed = shapely.from_wkt(texts, on_invalid="ignore")
    return [read_shape(r, spec, mapping, srid, w, g) if pr_ok(r) else None
            for r, w, g in zip(rows, wkts, parsed, strict=True)]


def read_shape(pr: PlannedRow, spec: LayerSpec, mapping: ColumnMapping, srid: int, wkt: Any = None,
               parsed: BaseGeometry | None = None) -> BaseGeometry | None:
    """One row's shape (``wkt`` as given, ``parsed`` its shape or None when it could not be read)."""
    v = pr.values
    lon, lat = v.pop("lon", None), v.pop("lat", None)
    col = _geom_column(mapping)
    geom = None
    if wkt is not None:
        if parsed is None:
            pr.issues.append(Issue(pr.row, col, "error", "geo.wkt_invalid", {"value": _display(wkt)}))
            return None
        geom = parsed
    elif lon is not None or lat is not None:
        if lon is None or lat is None:
            pr.issues.append(Issue(pr.row, col, "error", "geo.half"))
            return None
        geom = Point(float(lon), float(lat))
    if geom is None or geom.is_empty:  # kept as on file; a new row without one is refused when matched
        return None
    first = shapely.get_coordinates(geom)[0]
    try:
        _, _, notes = fix_point(float(first[0]), float(first[1]), srid)
    except _Bad:
        pr.issues.append(Issue(pr.row, col, "error", "geo.wrong_crs",
                               {"x": round(float(first[0]), 3), "y": round(float(first[1]), 3), "srid": srid}))
        return None
    if notes:
        keys = [k for k, _ in notes]
        if "geo.swapped" in keys or "geo.vn2000_swapped" in keys:
            geom = geo.swap_axes(geom)
        if "geo.vn2000" in keys:
            geom = geo.to_wgs84(geom, srid)
        for key, params in notes:
            pr.issues.append(Issue(pr.row, col, "warning", key, params))
    if not _in_vietnam(geom):
        pr.issues.append(Issue(pr.row, col, "error", "geo.wrong_crs",
                               {"x": round(float(first[0]), 3), "y": round(float(first[1]), 3), "srid": srid}))
        return None
    geom = geo.normalise(geom, spec.shapes)
    if geom.geom_type not in spec.shapes:
        allowed = ", ".join(s.upper() for s in spec.shapes)
        pr.issues.append(Issue(pr.row, col, "error", "geo.wrong_type", {"found": geom.geom_type.upper(),
                                                                          "allowed": allowed}))
        return None
    reason = geo.invalid_reason(geom)
    if reason:
        pr.issues.append(Issue(pr.row, col, "error", "geo.invalid", {"reason": reason}))
        return None
    return geom


def _check_in_ward(rows: list[PlannedRow], shapes: list, ward: WardInfo, mapping: ColumnMapping) -> None:
    """Refuse shapes outside the ward (a point must lie in it, a line or polygon must touch it), vectorised."""
    placed = [i for i, g in enumerate(shapes) if g is not None]
    if not placed or ward.shape is None:
        return
    boundary = ward.shape
    shapely.prepare(boundary)
    arr = np.asarray([shapes[i] for i in placed], dtype=object)
    ok = shapely.intersects(boundary, arr)
    col = _geom_column(mapping)
    for i, inside in zip(placed, ok.tolist(), strict=True):
        if not inside:
            p = shapely.point_on_surface(shapes[i])
            rows[i].issues.append(Issue(rows[i].row, col, "error", "geo.shape_outside_ward",
                                        {"ward": ward.name or "phường", "lon": round(p.x, 6), "lat": round(p.y, 6)}))
            shapes[i] = None


@functools.lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    return fold(text)


def _key(spec: LayerSpec, values: dict[str, Any]) -> tuple | None:
    parts = tuple(values.get(k) for k in spec.key)
    if any(p is None or p == "" for p in parts):
        return None
    return tuple(_fold(str(p)) for p in parts)


# --- the layers' own checks ----------------------------------------------------------------------


class Context:
    """What a layer check works on: the rows, their shapes (EPSG:4326), the records on file."""

    def __init__(self, bind: db.Bind, spec: LayerSpec, ward: WardInfo, rows: list[PlannedRow], shapes: list,
                 mapping: ColumnMapping, plan: ImportPlan, on_file: list[dict[str, Any]]):
        self.bind, self.spec, self.ward, self.rows, self.shapes = bind, spec, ward, rows, shapes
        self.mapping, self.plan, self.on_file = mapping, plan, on_file

    def ok(self) -> list[int]:
        return [i for i, r in enumerate(self.rows) if pr_ok(r)]

    def header(self, column: str | None) -> str | None:
        if column is None:
            return None
        return _geom_column(self.mapping) if column == "wkt" else self.mapping.header_of(column)

    def error(self, i: int, column: str | None, key: str, **params: Any) -> None:
        self.rows[i].issues.append(Issue(self.rows[i].row, self.header(column), "error", key, params))

    def warn(self, i: int, column: str | None, key: str, **params: Any) -> None:
        self.rows[i].issues.append(Issue(self.rows[i].row, self.header(column), "warning", key, params))


def _residential_groups(ctx: Context) -> None:
    srid, ward = ctx.ward.local_srid, ctx.ward
    idx = [i for i in ctx.ok() if ctx.shapes[i] is not None]
    points = [i for i in idx if ctx.shapes[i].geom_type == "Point"]
    boundary = geo.to_local(ward.shape, srid) if ward.shape is not None else None
    if points and len(points) < len(idx):
        for i in points:
            ctx.error(i, "wkt", "geo.points_mixed")
        return
    if points and boundary is not None:
        seen: dict[tuple[float, float], int] = {}
        for i in points:
            xy = (round(ctx.shapes[i].x, 7), round(ctx.shapes[i].y, 7))
            if xy in seen:
                ctx.error(i, "wkt", "geo.same_point", other=ctx.rows[seen[xy]].row)
            seen.setdefault(xy, i)
        points = [i for i in points if pr_ok(ctx.rows[i])]
        if not points:
            return
        local = geo.to_local(np.asarray([ctx.shapes[i] for i in points], dtype=object), srid)
        cells = geo.voronoi_tiling(list(local), boundary)
        back = geo.to_wgs84(np.asarray(cells, dtype=object), srid)
        for i, cell, shape in zip(points, cells, back, strict=True):
            ctx.shapes[i] = shape
            ctx.warn(i, "wkt", "geo.tiled", area=f"{cell.area:,.0f}".replace(",", "."))
        ctx.plan.file_issues.append(Issue(None, None, "warning", "geo.tiling"))
    idx = [i for i in ctx.ok() if ctx.shapes[i] is not None]
    # the ward as it will be: the file's groups, and those on file that the file leaves as they are
    in_file = {fold(str(ctx.rows[i].values.get("code"))) for i in idx}
    kept = [r for r in ctx.on_file if fold(str(r["code"])) not in in_file and r["geom"] is not None]
    labels = [str(ctx.rows[i].values.get("code")) for i in idx] + [str(r["code"]) for r in kept]
    shapes = [ctx.shapes[i] for i in idx] + list(shapely.from_wkb([bytes(r["geom"]) for r in kept]))
    if not shapes:
        return
    local = list(geo.to_local(np.asarray(shapes, dtype=object), srid))
    overlaps, gaps = geo.topology(local, boundary, srid)
    n = len(idx)
    for o in overlaps:
        key = "geo.overlap_sliver" if o.sliver else "geo.overlap"
        for me, other in ((o.a, o.b), (o.b, o.a)):
            if me < n:
                add = ctx.warn if o.sliver else ctx.error
                add(idx[me], "wkt", key, other=labels[other], area=o.area_m2, lon=o.lon, lat=o.lat)
    for g in gaps:
        key = "geo.gap_sliver" if g.sliver else "geo.gap"
        params = {"groups": ", ".join(labels[k] for k in g.neighbours) or "-", "area": g.area_m2,
                  "lon": g.lon, "lat": g.lat}
        mine = [k for k in g.neighbours if k < n]
        if mine:
            (ctx.warn if g.sliver else ctx.error)(idx[min(mine, key=lambda k: ctx.rows[idx[k]].row)], "wkt", key,
                                                  **params)
        else:
            ctx.plan.file_issues.append(Issue(None, None, "warning" if g.sliver else "error", key, params))
    ungrouped = data.ungrouped_points(ctx.bind, ward.id)
    if ungrouped:
        tree = shapely.STRtree(np.asarray(shapes, dtype=object))
        pts = shapely.points([p[1] for p in ungrouped], [p[2] for p in ungrouped])
        hits = tree.query(pts, predicate="covered_by")
        n_grouped = len(set(hits[0].tolist()))
        if n_grouped:
            ctx.plan.file_issues.append(Issue(None, None, "warning", "geo.groups_assigned", {"n": n_grouped}))
    if boundary is not None:
        for k, i in enumerate(idx):
            outside = shapely.difference(local[k], boundary)
            if outside.area >= geo.TOLERANCE_M2 and not geo._is_sliver(outside):
                lon, lat = geo.lonlat(outside, srid)
                ctx.warn(i, "wkt", "geo.partly_outside_ward", area=round(outside.area, 1),
                         ward=ward.name or "phường", lon=lon, lat=lat)


def _land_parcels(ctx: Context) -> None:
    first: dict[tuple, int] = {}
    for i in ctx.ok():
        key = _key(ctx.spec, ctx.rows[i].values)
        if key is None:
            continue
        if key in first:
            j = first[key]
            v = ctx.rows[i].values
            params = {"sheet": v["map_sheet"], "parcel": v["parcel_no"], "first": ctx.rows[j].row,
                      "second": ctx.rows[i].row}
            for k in (j, i):
                ctx.error(k, "parcel_no", "match.duplicate_parcel", **params)
        else:
            first[key] = i
    idx = [i for i in ctx.ok() if ctx.shapes[i] is not None]
    if not idx:
        return
    areas = shapely.area(geo.to_local(np.asarray([ctx.shapes[i] for i in idx], dtype=object), ctx.ward.local_srid))
    for i, area in zip(idx, areas.tolist(), strict=True):
        v = ctx.rows[i].values
        given = v.get("area_m2")
        if given is None:
            v["area_m2"] = round(area, 1)
        elif area > 0 and abs(given - area) / area * 100 > AREA_TOLERANCE_PCT:
            ctx.warn(i, "area_m2", "geo.area_differs", given=given, area=round(area, 1), pct=AREA_TOLERANCE_PCT)


def _markets(ctx: Context) -> None:
    for i in ctx.ok():
        shape = ctx.shapes[i]
        if shape is not None and shape.geom_type == "Polygon":
            ctx.rows[i].values["footprint"] = shape
            ctx.shapes[i] = shapely.point_on_surface(shape)
            ctx.warn(i, "wkt", "geo.footprint")


def _stalls(ctx: Context) -> None:
    markets = data.markets(ctx.bind, ctx.ward.id)
    by_code = {fold(m["code"]): m for m in markets}
    srid = ctx.ward.local_srid
    reach = []
    if markets:
        points = geo.to_local(shapely.from_wkb([bytes(m["geom"]) for m in markets]), srid)
        feet = [None if m["footprint"] is None else geo.to_local(shapely.from_wkb(bytes(m["footprint"])), srid)
                for m in markets]
        reach = [(m, p, f) for m, p, f in zip(markets, points, feet, strict=True)]
    codes = [str(ctx.rows[i].values["establishment_code"]) for i in ctx.ok()
             if ctx.rows[i].values.get("establishment_code")]
    establishments = data.establishment_codes(ctx.bind, ctx.ward.id, codes)
    for i in ctx.ok():
        v = ctx.rows[i].values
        code = v.pop("market_code", None)
        market = None
        if code:
            market = by_code.get(fold(str(code)))
            if market is None:
                ctx.error(i, "market_code", "match.market_unknown", value=code)
                continue
        elif ctx.shapes[i] is not None:
            p = geo.to_local(ctx.shapes[i], srid)
            inside = [m for m, _, f in reach if f is not None and f.covers(p)]
            near = sorted((pt.distance(p), m["id"], m) for m, pt, _ in reach if pt.distance(p) <= MARKET_REACH_M)
            market = inside[0] if inside else (near[0][2] if near else None)
            if market is not None:
                ctx.warn(i, "wkt", "match.market_by_point", code=market["code"])
        if market is None:
            ctx.error(i, "market_code", "match.no_market")
            continue
        v["market_id"] = market["id"]
        v["_market_code"] = market["code"]
        est = v.pop("establishment_code", None)
        if est:
            if est not in establishments:
                ctx.error(i, "establishment_code", "match.no_establishment", value=est)
                continue
            v["establishment_id"] = establishments[est]
        evidence = {k: v.pop(k, None) for k in ("seen_on", "seen_by", "payment_method", "photo")}
        if evidence["seen_on"] is not None:
            if not evidence["seen_by"]:
                ctx.error(i, "seen_by", "match.evidence_needs_seen_by")
                continue
            if v.get("accepts_qr_pos") is False:
                ctx.error(i, "accepts_qr_pos", "match.evidence_contradicts")
                continue
            v["accepts_qr_pos"] = True
            v["_evidence"] = evidence
        elif v.get("accepts_qr_pos"):
            ctx.warn(i, "seen_on", "match.no_evidence")


_CHECKS = {
    "residential_groups": _residential_groups,
    "land_parcels": _land_parcels,
    "markets": _markets,
    "stalls": _stalls,
}


# --- planning ------------------------------------------------------------------------------------


def _same_shape(old: bytes | None, new: BaseGeometry | None) -> bool:
    if new is None:
        return True
    if old is None:
        return False
    stored = shapely.from_wkb(bytes(old))
    if stored.geom_type == f"Multi{new.geom_type}":  # stored as Multi* (residential groups): one part is the same
        stored = stored.geoms[0] if len(stored.geoms) == 1 else stored
    return bool(shapely.equals_exact(stored, new, tolerance=SAME_SHAPE_DEG))


def plan_rows(bind: db.Bind, ward: WardInfo, checks: list[RowCheck], mapping: ColumnMapping,
              plan: ImportPlan) -> list[PlannedRow]:
    """Plan every row of a base-layer file (``plan.kind``): reads the database, writes nothing."""
    spec = SPECS[plan.kind]
    rows = [PlannedRow(c.row, "reject", c.values, list(c.issues)) for c in checks]
    shapes: list[BaseGeometry | None] = read_shapes(rows, spec, mapping, ward.local_srid)
    _check_in_ward(rows, shapes, ward, mapping)
    on_file = data.layer_records(bind, spec, ward.id)
    check = _CHECKS.get(spec.kind)
    if check is not None:
        check(Context(bind, spec, ward, rows, shapes, mapping, plan, on_file))
    by_key = {}
    for rec in on_file:
        key = _key(spec, rec)
        if key is not None:
            by_key.setdefault(key, rec)
    elsewhere: set[str] = set()
    if spec.global_code:
        codes = [str(r.values["code"]) for r in rows if pr_ok(r) and r.values.get("code")]
        elsewhere = data.codes_elsewhere(bind, spec.table, ward.id, codes)
    seen: dict[tuple, int] = {}
    for pr, shape in zip(rows, shapes, strict=True):
        v = pr.values
        pr.label = _label(spec, v)
        if not pr_ok(pr):
            continue
        if spec.global_code and v.get("code") in elsewhere:
            pr.issues.append(Issue(pr.row, mapping.header_of("code"), "error", "match.code_other_ward",
                                   {"value": v["code"]}))
            continue
        key = _key(spec, v)
        if key in seen:
            pr.issues.append(Issue(pr.row, mapping.header_of(spec.key[-1]), "error", "match.duplicate_row",
                                   {"other": seen[key]}))
            continue
        seen[key] = pr.row
        v["geom"] = shape
        found = by_key.get(key)
        if found is None:
            if shape is None and spec.geometry_required:
                pr.issues.append(Issue(pr.row, _geom_column(mapping), "error", "geo.required"))
                continue
            pr.action = "insert"
            continue
        pr.target_id, pr.existing = found["id"], found
        plain = tuple(f for f in spec.fields if f not in spec.geometry_fields)
        pr.changes = diff(found, v, plain)
        for f in ("geom", *spec.geometry_fields):
            if not _same_shape(found.get(f), v.get(f)):
                old = found.get(f)
                pr.changes[f] = (None if old is None else shapely.from_wkb(bytes(old)).wkt, v[f].wkt)
        pr.action = "update" if pr.changes else "unchanged"
    if spec.kind == "stalls":
        _plan_evidence(bind, rows)
    return rows


def _label(spec: LayerSpec, v: dict[str, Any]) -> str:
    if spec.kind == "land_parcels":
        return f"{v.get('map_sheet') or '?'}/{v.get('parcel_no') or '?'}"
    if spec.kind == "stalls":
        return f"{v.get('_market_code') or '?'}/{v.get('stall_no') or '?'}"
    if spec.kind == "public_facilities":
        return str(v.get("kind") or "")
    return str(v.get("code") or "")


def _plan_evidence(bind: db.Bind, rows: list[PlannedRow]) -> None:
    on_file = data.evidence_on_file(bind, [r.target_id for r in rows if r.target_id is not None])
    for r in rows:
        ev = r.values.get("_evidence")
        if not ev or r.action == "reject":
            continue
        if r.target_id is not None and (r.target_id, ev["seen_on"]) in on_file:
            r.issues.append(Issue(r.row, None, "warning", "match.evidence_on_file",
                                  {"day": ev["seen_on"].strftime("%d/%m/%Y")}))
            r.values.pop("_evidence")
            continue
        r.changes["evidence"] = (None, ev["seen_on"])
        if r.action == "unchanged":
            r.action = "update"


# --- writing -------------------------------------------------------------------------------------


def _hex(value: Any) -> Any:
    return shapely.to_wkb(value, hex=True) if isinstance(value, BaseGeometry) else value


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(_jsonable(value), ensure_ascii=False)


def _audit_value(value: Any) -> Any:
    return value.wkt if isinstance(value, BaseGeometry) else value


def apply_layer(conn: Connection, plan: ImportPlan, user: User | None, note: str, result: Any) -> None:
    """Write ``plan`` (a base layer's accepted rows) on ``conn``, in the caller's transaction."""
    spec = SPECS[plan.kind]
    inserts = [r for r in plan.rows if r.action == "insert"]
    updates = [r for r in plan.rows if r.action == "update"]
    new_ids = data.new_ids(conn, spec.table, len(inserts))
    staged, audits = [], []
    for new_id, r in zip(new_ids, inserts, strict=True):
        r.target_id = new_id
        v = r.values
        staged.append((new_id, True, *(_hex(v.get(f)) for f in spec.fields), _hex(v.get("geom"))))
        after = {f: _audit_value(v.get(f)) for f in (*spec.fields, "geom") if v.get(f) is not None}
        audits.append((r.target_id, None, after, r.row))
    for r in updates:
        ch = r.changes
        staged.append((r.target_id, False, *(_hex(r.values.get(f)) if f in ch else None for f in spec.fields),
                       _hex(r.values.get("geom")) if "geom" in ch else None))
        before = {k: _audit_value(o) for k, (o, _) in ch.items()}
        after = {k: _audit_value(n) for k, (_, n) in ch.items()}
        audits.append((r.target_id, before, after, r.row))
    data.merge_layer(conn, spec, plan.ward_id, staged)
    evidence = [(r.target_id, *(r.values["_evidence"].get(k) for k in ("payment_method", "seen_on", "seen_by",
                                                                          "photo")))
                for r in (*inserts, *updates) if r.values.get("_evidence")]
    data.copy_evidence(conn, evidence)
    for (_, _, after, _), r in zip(audits, (*inserts, *updates), strict=True):
        if r.values.get("_evidence"):
            after["evidence"] = {k: v for k, v in r.values["_evidence"].items() if v is not None}
    uid, uname = (user.id, user.username) if user is not None else (None, "system")
    entries = [(uid, uname, "import", spec.table, eid, _json(before), _json(after), f"{note}, row {row}")
               for eid, before, after, row in audits]
    if spec.kind == "residential_groups":  # establishments without a group get the one covering their point
        entries += [(uid, uname, "import", "establishment", eid, _json({"residential_group_id": None}),
                     _json({"residential_group_id": gid}), f"{note}: residential group from the point")
                    for eid, gid in data.assign_groups(conn, plan.ward_id)]
    result.audit_entries = data.copy_audit(conn, entries)
    result.inserted, result.updated = len(inserts), len(updates)
    result.unchanged = sum(1 for r in plan.rows if r.action == "unchanged")
    result.ids = [r.target_id for r in (*inserts, *updates)]
