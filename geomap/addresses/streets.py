"""Reading a ward's named streets from an OpenStreetMap extract or the ward's own street file (pure).

``.osm`` and ``.osm.pbf`` go through GDAL's OSM driver (its ``lines`` layer), GeoJSON, GeoPackage
and Shapefile through GDAL as well (pyogrio). Ways are kept when they have a name and touch the
ward (its boundary grown by :data:`EDGE_M` metres: a street on the boundary serves both sides);
ways of the same street or alley (same folded name, "Đường" dropped) become one MultiLineString.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiLineString
from shapely.geometry.base import BaseGeometry

from geomap import crs
from geomap.addresses.parse import alley_key, parse_way_name, street_key, way_key
from geomap.errors import LocalizedError
from geomap.text import fold, nfc

#: a way this close to the ward (metres) belongs to its streets
EDGE_M = 100.0
NAME_COLUMNS = ("name", "ten_duong", "ten", "ten duong", "street", "street_name", "name:vi")


class StreetFileError(LocalizedError):
    """The street file cannot be used at all; nothing was written."""


@dataclass
class StreetIssue:
    row: int | None
    level: str  # error | warning
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self, lang: str = "vi") -> str:
        from geomap.addresses.messages import render

        where = "" if self.row is None else ((f"Dòng {self.row}: ") if lang != "en" else f"Row {self.row}: ")
        return where + render(self.key, self.params, lang)


@dataclass
class StreetPlan:
    """What importing a street file would write: one row per street or alley, and the counts."""

    filename: str
    rows: list[dict[str, Any]]
    counts: dict[str, int]
    issues: list[StreetIssue]

    @property
    def blocked(self) -> bool:
        return any(i.level == "error" for i in self.issues)


def _error(key: str, **params: Any) -> StreetFileError:
    from geomap.addresses.messages import render

    return StreetFileError(render(key, params, "vi"), render(key, params, "en"))


def read_ways(path: str | Path) -> list[dict[str, Any]]:
    """Every feature of the file as {row, name, highway, osm_id, geom (EPSG:4326)}."""
    import pyogrio

    path = Path(path)
    name = path.name
    lower = name.lower()
    try:
        if lower.endswith((".osm", ".osm.pbf", ".pbf")):
            frame = pyogrio.read_dataframe(path, layer="lines")
        else:
            frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends: the file is not readable
        raise _error("addr.streets.file_unreadable", file=name, error=str(exc).splitlines()[0][:200]) from exc
    if frame.crs is not None and frame.crs.to_epsg() not in (4326, None):
        frame = frame.to_crs(4326)
    columns = {fold(c): c for c in frame.columns}
    name_col = next((columns[c] for c in NAME_COLUMNS if c in columns), None)
    if name_col is None:
        raise _error("addr.streets.no_name_column", file=name)
    highway = columns.get("highway")
    osm_id = columns.get("osm_id") or columns.get("id")
    out = []
    for i, (geom, nm) in enumerate(zip(frame.geometry, frame[name_col], strict=True)):
        out.append({"row": i + 1, "name": nfc(nm) if isinstance(nm, str) else None,
                    "highway": frame[highway].iat[i] if highway else None,
                    "osm_id": _int(frame[osm_id].iat[i]) if osm_id else None, "geom": geom})
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def plan_streets(ways: list[dict[str, Any]], boundary: BaseGeometry, local_srid: int,
                 filename: str = "", ward_name: str = "") -> StreetPlan:
    """Merge the named ways touching the ward into streets and alleys (see the module's docstring)."""
    issues: list[StreetIssue] = []
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    counts = Counter(read=len(ways))
    to_local = crs.transformer(4326, local_srid)
    to_wgs = crs.transformer(local_srid, 4326)
    area = shapely.transform(shapely.transform(boundary, lambda xy: _xy(to_local, xy)).buffer(EDGE_M),
                             lambda xy: _xy(to_wgs, xy))
    shapely.prepare(area)
    in_metres = 0
    for w in ways:
        geom = w["geom"]
        if geom is not None and not geom.is_empty and max(abs(v) for v in geom.bounds) > 1000:
            # metres without a stated CRS: the ward's own VN-2000 grid (a Shapefile without its .prj)
            geom = w["geom"] = shapely.transform(geom, lambda xy: _xy(to_wgs, xy))
            in_metres += 1
        if geom is None or geom.is_empty or geom.geom_type not in ("LineString", "MultiLineString"):
            issues.append(StreetIssue(w["row"], "error", "addr.streets.not_line",
                                      {"found": "EMPTY" if geom is None or geom.is_empty else geom.geom_type}))
            continue
        if not w["name"]:
            counts["unnamed"] += 1
            continue
        counts["named"] += 1
        if not area.intersects(geom):
            counts["outside"] += 1
            continue
        counts["inside"] += 1
        street, alleys, kind = parse_way_name(w["name"])
        key = way_key(street_key(street), alley_key(alleys))
        if not key:
            counts["unnamed"] += 1
            continue
        groups[key].append({**w, "street": street, "alleys": alleys, "kind": kind})
    rows = []
    for key, members in sorted(groups.items()):
        lines = [g for m in members for g in shapely.get_parts(m["geom"])]
        merged = shapely.line_merge(shapely.union_all(lines)) if len(lines) > 1 else lines[0]
        parts = [p for p in shapely.get_parts(merged) if p.geom_type == "LineString"]
        geom = MultiLineString(parts)
        first = members[0]
        local = shapely.transform(geom, lambda xy: _xy(to_local, xy))
        names = Counter(m["name"] for m in members)
        highways = Counter(m["highway"] for m in members if m["highway"])
        rows.append({"name": names.most_common(1)[0][0], "name_key": key,
                     "street_key": street_key(first["street"]), "alley": alley_key(first["alleys"]) or None,
                     "kind": first["kind"], "highway": highways.most_common(1)[0][0] if highways else None,
                     "osm_ids": sorted({m["osm_id"] for m in members if m["osm_id"] is not None}),
                     "length_m": round(float(local.length), 1), "geom": geom})
        counts["merged"] += len(members) - 1
    counts["streets"] = sum(r["kind"] == "street" for r in rows)
    counts["alleys"] = sum(r["kind"] == "alley" for r in rows)
    if in_metres:
        issues.append(StreetIssue(None, "warning", "addr.streets.vn2000", {"n": in_metres, "srid": local_srid}))
    if not rows and not any(i.level == "error" for i in issues):
        issues.append(StreetIssue(None, "error", "addr.streets.none_in_ward", {"file": filename, "ward": ward_name}))
    for k in ("named", "outside", "inside", "merged", "unnamed"):
        counts.setdefault(k, 0)
    return StreetPlan(filename, rows, dict(counts), issues)


def _xy(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])
