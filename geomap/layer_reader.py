"""Reading layers and records from PostGIS.

This module and the other I/O modules (``geomap.demo`` loader, importers, exporters) are
where SQL lives. Layer reads are built from the registry declaration, so a new layer
needs no code here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection, Engine

from geomap.errors import GeomapError, UnknownWard
from layers.base import Layer

#: (min_lon, min_lat, max_lon, max_lat) in EPSG:4326
BBox = tuple[float, float, float, float]


def layer_table(layer: Layer) -> sa.TableClause:
    """A lightweight table clause for the layer's source with its stored columns."""
    cols = {layer.id_field, layer.geometry_column, *(f.name for f in layer.stored_fields)}
    if layer.ward_column:
        cols.add(layer.ward_column)
    columns = [sa.column(c, Geometry(srid=4326)) if c == layer.geometry_column else sa.column(c) for c in cols]
    return sa.table(layer.source, *columns)


def layer_select(
    layer: Layer,
    *,
    ward_id: int | None = None,
    bbox: BBox | None = None,
    where: Mapping[str, Iterable[Any]] | None = None,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> sa.Select:
    """The SELECT for a layer: stored fields (or ``columns``), id, geometry, filtered."""
    t = layer_table(layer)
    names = list(columns) if columns is not None else [f.name for f in layer.stored_fields]
    stored = {f.name for f in layer.stored_fields}
    picked = [t.c[n] for n in names if n in stored and n != layer.id_field]
    stmt = sa.select(t.c[layer.id_field], *picked, t.c[layer.geometry_column].label("geometry"))
    if ward_id is not None and layer.ward_column:
        stmt = stmt.where(t.c[layer.ward_column] == ward_id)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        envelope = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
        stmt = stmt.where(t.c[layer.geometry_column].op("&&")(envelope))
    for name, values in (where or {}).items():
        if name not in stored:
            continue  # derived fields are filtered after derivation
        values = list(values)
        if values:
            stmt = stmt.where(t.c[name].in_(values))
    stmt = stmt.order_by(t.c[layer.id_field])
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return stmt


def read_layer(
    conn: Connection | Engine,
    layer: Layer,
    *,
    ward_id: int | None = None,
    bbox: BBox | None = None,
    where: Mapping[str, Iterable[Any]] | None = None,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> gpd.GeoDataFrame:
    """Features of ``layer`` as a GeoDataFrame in EPSG:4326, derived fields added.

    ``where`` filters on any declared field: stored ones in SQL, derived ones (statuses)
    after derivation.
    """
    stmt = layer_select(layer, ward_id=ward_id, bbox=bbox, where=where, columns=columns,
                        limit=limit, offset=offset)
    frame = gpd.read_postgis(stmt, conn, geom_col="geometry", crs="EPSG:4326")
    if layer.derive is not None:
        frame = gpd.GeoDataFrame(layer.derive(frame), geometry="geometry", crs="EPSG:4326")
    derived = {f.name for f in layer.fields if f.derived}
    for name, values in (where or {}).items():
        values = list(values)
        if name in derived and values:
            frame = frame[frame[name].isin(values)]
    return frame


def ward_id(conn: Connection | Engine, slug: str) -> int:
    """The id of the loaded ward ``slug``; a clear error when it is not loaded."""
    with _connect(conn) as c:
        found = c.execute(sa.text("SELECT id FROM ward WHERE slug = :slug"), {"slug": slug}).scalar()
    if found is None:
        raise UnknownWard(f"Ward '{slug}' is not loaded in the database; run 'geomap demo load --ward {slug}'.")
    return int(found)


def loaded_wards(conn: Connection | Engine) -> list[dict[str, Any]]:
    with _connect(conn) as c:
        rows = c.execute(sa.text("SELECT id, slug, name, local_srid FROM ward ORDER BY name")).mappings()
        return [dict(r) for r in rows]


def ward_bounds(conn: Connection | Engine, ward: int) -> BBox:
    with _connect(conn) as c:
        row = c.execute(sa.text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(geom) b FROM ward "
            "WHERE id = :id) s"), {"id": ward}).one()
    if row[0] is None:
        raise GeomapError(f"Ward {ward} has no boundary.")
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


class _connect:
    """Use a Connection as is, or open one from an Engine for the block."""

    def __init__(self, conn: Connection | Engine):
        self._given = conn
        self._opened: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self._given, Engine):
            self._opened = self._given.connect()
            return self._opened
        return self._given

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()
