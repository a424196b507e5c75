"""All of the address placement's and the street import's SQL.

Reads take a :data:`geomap.db.Bind`; writes take the ``Connection`` of the caller's one transaction
(:func:`geomap.db.transaction`), so a failed run leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db


def streets(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The ward's streets and alleys: name, keys, kind and the geometry (shapely, EPSG:4326)."""
    rows = db.rows(bind, "SELECT id, name, name_key, street_key, coalesce(alley, '') AS alley, kind, "
                         "ST_AsBinary(geom) AS wkb FROM street WHERE ward_id = :w ORDER BY id", {"w": ward_id})
    for r in rows:
        r["geom"] = shapely.from_wkb(bytes(r.pop("wkb")))
    return rows


def street_count(bind: db.Bind, ward_id: int) -> int:
    return int(db.scalar(bind, "SELECT count(*) FROM street WHERE ward_id = :w", {"w": ward_id}) or 0)


def replace_streets(conn: Connection, ward_id: int, rows: Sequence[dict[str, Any]], source: str) -> int:
    """The ward's streets become ``rows`` (inside the caller's transaction); the number written."""
    conn.execute(sa.text("DELETE FROM street WHERE ward_id = :w"), {"w": ward_id})
    if not rows:
        return 0
    conn.execute(sa.text(
        "INSERT INTO street (ward_id, name, name_key, street_key, alley, kind, highway, osm_ids, length_m, source, "
        "geom) VALUES (:w, :name, :name_key, :street_key, :alley, :kind, :highway, :osm_ids, :length_m, :source, "
        "ST_Multi(ST_GeomFromWKB(:wkb, 4326)))"),
        [{"w": ward_id, "source": source, **{k: r[k] for k in ("name", "name_key", "street_key", "alley", "kind",
                                                                "highway", "osm_ids", "length_m")},
          "wkb": shapely.to_wkb(r["geom"])} for r in rows])
    return len(rows)


def placed_exactly(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """Establishments pinned exactly (location_quality 'exact'): code, address, lon, lat."""
    return db.rows(bind, "SELECT code, coalesce(nullif(address, ''), concat_ws(' ', house_number, street)) AS address, "
                         "ST_X(geom) AS lon, ST_Y(geom) AS lat FROM establishment "
                         "WHERE ward_id = :w AND geom IS NOT NULL AND location_quality = 'exact' ORDER BY id",
                   {"w": ward_id})


def groups(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The ward's residential groups with their geometry and the former ward whose zone holds them."""
    rows = db.rows(bind, """
        SELECT g.id, g.code, g.name, ST_AsBinary(g.geom) AS wkb,
               coalesce((SELECT z.name FROM former_ward_zone z WHERE z.ward_id = g.ward_id
                          AND ST_Covers(z.geom, ST_PointOnSurface(g.geom)) ORDER BY z.id LIMIT 1), '') AS former_ward
        FROM residential_group g WHERE g.ward_id = :w ORDER BY g.id""", {"w": ward_id})
    for r in rows:
        r["geom"] = shapely.from_wkb(bytes(r.pop("wkb")))
    return rows


def unplaced(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The ward's establishments without a point: id, code, name, version, address parts, group."""
    return db.rows(bind, "SELECT id, code, name, version, address, house_number, street, residential_group_id "
                         "FROM establishment WHERE ward_id = :w AND geom IS NULL ORDER BY id", {"w": ward_id})


def write_placements(conn: Connection, rows: Sequence[tuple[int, int, float, float, str]]) -> int:
    """Set the point and its quality of each (id, version, lon, lat, quality) still without a point at that
    version; the number written. The group covering the point is filled in where none was given."""
    if not rows:
        return 0
    ids, versions, lons, lats, qualities = (list(c) for c in zip(*rows, strict=True))
    return conn.execute(sa.text("""
        UPDATE establishment e SET geom = ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326), location_quality = t.q,
               residential_group_id = coalesce(e.residential_group_id,
                   (SELECT g.id FROM residential_group g WHERE g.ward_id = e.ward_id
                     AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)) ORDER BY g.id LIMIT 1)),
               version = e.version + 1, updated_at = now()
        FROM unnest(CAST(:ids AS int[]), CAST(:versions AS int[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
                    CAST(:qs AS text[])) AS t(id, version, lon, lat, q)
        WHERE e.id = t.id AND e.version = t.version AND e.geom IS NULL"""),
        {"ids": ids, "versions": versions, "lons": lons, "lats": lats, "qs": qualities}).rowcount


def set_quality(conn: Connection, ids: Sequence[int], qualities: Sequence[str]) -> None:
    """Set the location quality of establishments just written with a point (the import's placed rows)."""
    if not ids:
        return
    conn.execute(sa.text(
        "UPDATE establishment e SET location_quality = t.q FROM unnest(CAST(:ids AS int[]), CAST(:qs AS text[])) "
        "AS t(id, q) WHERE e.id = t.id AND e.geom IS NOT NULL"), {"ids": list(ids), "qs": list(qualities)})
