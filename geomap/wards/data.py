"""Every read of the ``ward`` table: ids by slug, a ward by id or slug (with its boundary when
asked), the loaded wards, their extents and grids.

Each function takes a :data:`geomap.db.Bind` (an Engine, or a Connection the caller holds)
and caches nothing: a ward reloaded by ``geomap demo load`` gets a new id, so callers that
keep an id keep it with a TTL they own. Queries that join the ward with a domain's own table
in one statement (the report intake's lock-and-find-ward, the QR lookup) stay in that domain.
"""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa

import layers as layer_registry
from geomap import db
from geomap.errors import GeomapError, UnknownWard
from geomap.layer_reader import no_jit

#: (min_lon, min_lat, max_lon, max_lat) in EPSG:4326
BBox = tuple[float, float, float, float]


def ward_id(bind: db.Bind, slug: str) -> int:
    """The id of the loaded ward ``slug``; a clear error when it is not loaded."""
    found = db.scalar(bind, "SELECT id FROM ward WHERE slug = :slug", {"slug": slug})
    if found is None:
        raise UnknownWard(f"Ward '{slug}' is not loaded in the database; run 'geomap demo load --ward {slug}'.")
    return int(found)


def ward_by_slug(bind: db.Bind, slug: str) -> dict[str, Any] | None:
    """The loaded ward ``slug`` (id, slug, name, province, local_srid), None when it is not loaded."""
    return db.row(bind, "SELECT id, slug, name, province, local_srid FROM ward WHERE slug = :s", {"s": slug})


def ward_by_id(bind: db.Bind, ward_id: int, *, boundary: bool = False) -> dict[str, Any] | None:
    """The ward ``ward_id`` (id, slug, name, province, local_srid; with ``boundary``, also its boundary
    as a shapely geometry in EPSG:4326, None when it has none), None when there is no such ward."""
    extra = ", ST_AsBinary(geom) AS boundary" if boundary else ""
    row = db.row(bind, f"SELECT id, slug, name, province, local_srid{extra} FROM ward WHERE id = :w", {"w": ward_id})
    if row is not None and boundary:
        row["boundary"] = shapely.from_wkb(bytes(row["boundary"])) if row["boundary"] is not None else None
    return row


def loaded_wards(bind: db.Bind) -> list[dict[str, Any]]:
    """Every loaded ward (id, slug, name, local_srid), by name."""
    return db.rows(bind, "SELECT id, slug, name, local_srid FROM ward ORDER BY name")


def local_srids(bind: db.Bind) -> set[int]:
    """The local grids (EPSG codes) of the loaded wards."""
    return {int(s) for s in db.scalars(bind, "SELECT DISTINCT local_srid FROM ward")}


def ward_bounds(bind: db.Bind, ward: int) -> BBox:
    """The ward's boundary extent in EPSG:4326."""
    with db.read(bind) as conn:
        row = conn.execute(sa.text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(geom) b FROM ward "
            "WHERE id = :id) s"), {"id": ward}).one()
    if row[0] is None:
        raise GeomapError(f"Ward {ward} has no boundary.")
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def ward_outlines(bind: db.Bind, tolerance_deg: float = 0.0001) -> list[dict[str, Any]]:
    """Every loaded ward (id, slug, name) with its boundary simplified to ``tolerance_deg`` (about 10 m
    at the default) as WKB in EPSG:4326, by name: the city map's choropleth and its ward look-up."""
    return db.rows(bind, "SELECT id, slug, name, ST_AsBinary(ST_SimplifyPreserveTopology(geom, :tol)) AS wkb "
                   "FROM ward WHERE geom IS NOT NULL ORDER BY name", {"tol": float(tolerance_deg)})


def ward_is_synthetic(bind: db.Bind, ward_id: int) -> bool:
    """Does any registry layer of the ward hold synthetic rows? (pages then say so)."""
    with db.read(bind) as conn:
        no_jit(bind, conn)
        for layer in layer_registry.registry().values():
            if not layer.ward_column or not any(f.name == "is_synthetic" for f in layer.fields):
                continue
            hit = conn.execute(sa.text(
                f'SELECT EXISTS (SELECT 1 FROM "{layer.source}" WHERE "{layer.ward_column}" = :w AND is_synthetic)'),
                {"w": ward_id}).scalar()
            if hit:
                return True
    return False


# --- Setting up a ward from its own files (geomap.wards.setup) ---------------------------------

#: the tables whose rows ``geomap ward show`` counts (each has a ``ward_id``)
COUNTED_TABLES = ("residential_group", "land_parcel", "infrastructure", "public_facility", "market",
                  "establishment", "field_report")


def ensure_srid(bind: db.Bind, srid: int) -> bool:
    """Give PostGIS the EPSG grid ``srid`` when its ``spatial_ref_sys`` lacks it; True when a row was added.

    The row names the EPSG code (PostGIS then takes the definition from its PROJ by code); its WKT
    comes from pyproj's copy of PROJ's database, and it carries no PROJ string.
    """
    from pyproj import CRS

    with db.transaction(bind) as conn:
        if conn.execute(sa.text("SELECT 1 FROM spatial_ref_sys WHERE srid = :s"), {"s": srid}).first():
            return False
        definition = CRS.from_epsg(srid)
        conn.execute(sa.text(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (:s, 'EPSG', :s, :wkt, '') ON CONFLICT (srid) DO NOTHING"),
            {"s": srid, "wkt": definition.to_wkt("WKT1_GDAL")})
        return True


def slug_taken(bind: db.Bind, slug: str) -> str | None:
    """The name of the loaded ward with ``slug``, None when the slug is free."""
    return db.scalar(bind, "SELECT name FROM ward WHERE slug = :s", {"s": slug})


def overlapping_wards(bind: db.Bind, boundary_wkb: bytes, min_share: float) -> list[dict[str, Any]]:
    """Loaded wards covering at least ``min_share`` of the boundary (WGS84 WKB), with that share."""
    return db.rows(bind, """
        WITH b AS (SELECT ST_GeomFromWKB(:g, 4326) AS g)
        SELECT w.slug, w.name, ST_Area(ST_Intersection(w.geom, b.g)::geography) / ST_Area(b.g::geography) AS share
        FROM ward w, b
        WHERE ST_Intersects(w.geom, b.g)
          AND ST_Area(ST_Intersection(w.geom, b.g)::geography) / ST_Area(b.g::geography) >= :m
        ORDER BY share DESC""", {"g": boundary_wkb, "m": min_share})


def insert_ward(bind: db.Bind, values: dict[str, Any]) -> int:
    """Write one ward (boundary as WGS84 WKB, profile as a dict); its id."""
    return int(db.scalar(bind, """
        INSERT INTO ward (slug, name, province, local_srid, official_area_km2, population, profile, geom)
        VALUES (:slug, :name, :province, :local_srid, :official_area_km2, :population, CAST(:profile AS jsonb),
                ST_Multi(ST_GeomFromWKB(:geom, 4326)))
        RETURNING id""", values))


def ward_profile(bind: db.Bind, slug: str) -> dict[str, Any] | None:
    """The stored profile of a ward set up by ``geomap ward create`` (with its row's fields and its
    boundary as WGS84 WKB); None when the ward is not loaded or has no stored profile."""
    row = db.row(bind, """
        SELECT slug, name, province, local_srid, official_area_km2, population, profile,
               ST_AsBinary(geom) AS boundary
        FROM ward WHERE slug = :s AND profile IS NOT NULL""", {"s": slug})
    if row is not None:
        row["boundary"] = bytes(row["boundary"])
    return row


def stored_boundary(bind: db.Bind, slug: str) -> bytes | None:
    """The boundary of the loaded ward ``slug`` as WGS84 WKB, None when it is not loaded."""
    found = db.scalar(bind, "SELECT ST_AsBinary(geom) FROM ward WHERE slug = :s", {"s": slug})
    return bytes(found) if found is not None else None


def set_up_from_files(bind: db.Bind, slugs: list[str]) -> list[str]:
    """The names of the wards among ``slugs`` set up by ``geomap ward create`` (the demo never replaces them)."""
    return list(db.scalars(bind, "SELECT name FROM ward WHERE slug = ANY(:s) AND profile IS NOT NULL ORDER BY name",
                          {"s": list(slugs)}))


def ward_summaries(bind: db.Bind) -> list[dict[str, Any]]:
    """Every loaded ward with its area measured in its own grid (km²) and whether it was set up from files."""
    return db.rows(bind, """
        SELECT id, slug, name, province, local_srid, official_area_km2, population,
               ST_Area(ST_Transform(geom, local_srid)) / 1e6 AS area_km2, profile IS NOT NULL AS from_files
        FROM ward ORDER BY name""")


def ward_details(bind: db.Bind, slug: str) -> dict[str, Any] | None:
    """One loaded ward: its row, area in its grid, extent (WGS84), stored profile and rows per layer table."""
    row = db.row(bind, """
        SELECT id, slug, name, province, local_srid, official_area_km2, population, osm_relation_id, profile,
               ST_Area(ST_Transform(geom, local_srid)) / 1e6 AS area_km2,
               ST_XMin(geom) AS min_lon, ST_YMin(geom) AS min_lat, ST_XMax(geom) AS max_lon, ST_YMax(geom) AS max_lat
        FROM ward WHERE slug = :s""", {"s": slug})
    if row is None:
        return None
    counts = ", ".join(f"(SELECT count(*) FROM {t} WHERE ward_id = :w) AS {t}" for t in COUNTED_TABLES)
    row["counts"] = db.row(bind, f"SELECT {counts}", {"w": row["id"]}) or {}
    return row
