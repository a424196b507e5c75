"""Reading layers for export: one query per layer, invalid geometries repaired, reprojected by EPSG."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
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
    frame = queries.read_layer(conn, layer, ward_id=ward_id, columns=read_columns(layer, profile))
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


def to_srid(geoms: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Geometries transformed with the EPSG operation of :func:`geomap.crs.transformer`."""
    t = crs.transformer(src, dst)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, apply)
