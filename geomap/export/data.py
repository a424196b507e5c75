"""Reading layers for export: one query per layer, invalid geometries repaired, reprojected by EPSG."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import crs, queries
from geomap.export.selection import read_columns, shape_frame
from layers.base import Layer


def read_for_export(conn: Connection, layer: Layer, *, profile: str, ward_id: int | None, srid: int
                    ) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """The layer's features for ``profile`` in EPSG:``srid`` and counts for the metadata.

    Personal columns are not even read for the public profile. Geometries invalid in the
    database are repaired with ``shapely.make_valid`` (structure method: a bow-tie polygon
    becomes a multipolygon, never a collection with stray lines; counted as ``invalid_geometries_fixed``);
    features without a location are kept with an empty geometry (``without_geometry``).
    """
    frame = _read(conn, layer, ward_id=ward_id, columns=read_columns(layer, profile))
    geoms = frame.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    fixed = int(invalid.sum())
    if fixed:
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    if srid != crs.WGS84:
        geoms = to_srid(np.asarray(geoms), crs.WGS84, srid)
    frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=gpd.GeoSeries(geoms, index=frame.index),
                             crs=f"EPSG:{srid}")
    out = shape_frame(frame, layer, profile)
    return out, {"features": len(out), "invalid_geometries_fixed": fixed,
                 "without_geometry": int((~present).sum())}


def _read(conn: Connection, layer: Layer, *, ward_id: int | None, columns: list[str]) -> gpd.GeoDataFrame:
    """The layer's rows with derived fields, like :func:`geomap.queries.read_layer`, built for bulk.

    Geometry travels as WKB bytes and is decoded by shapely in one vectorised call, instead of
    one Python object per row twice (GeoAlchemy2's result processor, then GeoPandas'):
    at 100,000 rows that is most of the read time.
    """
    t = queries.layer_table(layer)
    stored = {f.name for f in layer.stored_fields}
    picked = [t.c[n] for n in columns if n in stored and n != layer.id_field]
    stmt = sa.select(t.c[layer.id_field], *picked,
                     sa.func.ST_AsBinary(t.c[layer.geometry_column], type_=sa.LargeBinary).label("__wkb"))
    if ward_id is not None and layer.ward_column:
        stmt = stmt.where(t.c[layer.ward_column] == ward_id)
    result = conn.execute(stmt.order_by(t.c[layer.id_field]))
    names, rows = list(result.keys()), result.fetchall()
    columns = zip(*rows, strict=True) if rows else ([] for _ in names)
    # column-wise, as object arrays: pandas' row-wise construction with type inference is far slower
    frame = pd.DataFrame({name: np.fromiter(col, dtype=object, count=len(rows))
                          for name, col in zip(names, columns, strict=True)}, dtype=object, copy=False)
    wkb = frame.pop("__wkb").map(lambda b: bytes(b) if b is not None else None).to_numpy()
    frame = gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs="EPSG:4326")
    if layer.derive is not None:
        frame = gpd.GeoDataFrame(layer.derive(frame), geometry="geometry", crs="EPSG:4326")
    return frame


def to_srid(geoms: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Geometries transformed with the EPSG operation of :func:`geomap.crs.transformer`."""
    t = crs.transformer(src, dst)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, apply)
