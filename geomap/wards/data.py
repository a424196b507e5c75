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
