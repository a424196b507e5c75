"""Geometry of base-layer rows: reading, CRS fixes, validity, and the tiling of residential groups.

Pure (no database). Shapes are stored in EPSG:4326 and measured in the ward's local VN-2000
grid (``ward.local_srid``, EPSG:5899 for Đà Nẵng): every area, overlap and gap is in square
metres of that grid. A shape given in VN-2000 metres, or with longitude and latitude swapped, is
recognised from its first coordinate (the same rule as an establishment's point,
:func:`geomap.importing.validation.fix_point`), converted as a whole and said on its row.

Residential groups must tile the ward: :func:`topology` finds where they overlap and where they
leave gaps, with the groups involved, a coordinate and the area. :func:`voronoi_tiling` turns
one point per group into such a tiling within the ward boundary.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: overlaps and gaps smaller than this are digitising noise, never reported (m²)
TOLERANCE_M2 = 1.0
#: an overlap or gap thinner than this on average (2·area / perimeter) is a sliver along a shared
#: edge, drawn from two sources: reported as a warning, not a rejection (metres)
SLIVER_WIDTH_M = 0.5

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")


@functools.lru_cache(maxsize=16)
def _transformer(srid: int, inverse: bool):
    from pyproj import Transformer

    a, b = (f"EPSG:{srid}", "EPSG:4326") if inverse else ("EPSG:4326", f"EPSG:{srid}")
    return Transformer.from_crs(a, b, always_xy=True)


def _apply(geoms, srid: int, inverse: bool):
    tr = _transformer(srid, inverse)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def to_local(geoms, srid: int):
    """``geoms`` (one or an array, EPSG:4326) in the local grid ``srid`` (metres), vectorised."""
    return _apply(geoms, srid, inverse=False)


def to_wgs84(geoms, srid: int):
    """``geoms`` from the local grid ``srid`` back to EPSG:4326."""
    return _apply(geoms, srid, inverse=True)


def lonlat(geom_local: BaseGeometry, srid: int) -> tuple[float, float]:
    """A point well inside ``geom_local`` (local grid), as (lon, lat) rounded for a message."""
    p = to_wgs84(shapely.point_on_surface(geom_local), srid)
    return round(p.x, 6), round(p.y, 6)


def swap_axes(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: c[:, ::-1].copy())


def normalise(geom: BaseGeometry, allowed: tuple[str, ...]) -> BaseGeometry:
    """A one-part Multi* as its single part when only the single type is allowed (parcels are Polygons)."""
    if geom.geom_type.startswith("Multi") and geom.geom_type not in allowed and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


def invalid_reason(geom: BaseGeometry) -> str | None:
    """Why ``geom`` is not a valid shape (GEOS's reason, with its location), or None."""
    if geom.geom_type == "Point" or geom.is_valid:
        return None
    return shapely.is_valid_reason(geom)


@dataclass(frozen=True)
class Overlap:
    a: int
    b: int
    area_m2: float
    lon: float
    lat: float
    sliver: bool


@dataclass(frozen=True)
class Gap:
    neighbours: tuple[int, ...]
    area_m2: float
    lon: float
    lat: float
    sliver: bool


def _is_sliver(geom: BaseGeometry) -> bool:
    length = geom.length
    return length > 0 and 2 * geom.area / length < SLIVER_WIDTH_M


def _parts(geom: BaseGeometry) -> list[BaseGeometry]:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return [p for p in polys if p.area >= TOLERANCE_M2]


def topology(shapes_local: list[BaseGeometry], boundary_local: BaseGeometry | None,
             srid: int) -> tuple[list[Overlap], list[Gap]]:
    """Where ``shapes_local`` (local grid) overlap each other, and the gaps they leave in the boundary.

    Each overlap names the two shapes (their indexes), each gap the shapes bordering it (within
    1 m); both give a point inside (lon, lat) and the area in m² of the local grid.
    """
    geoms = np.asarray(shapes_local, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    overlaps: list[Overlap] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        inter = shapely.intersection(geoms[i], geoms[j])
        for part in _parts(inter):
            lon, lat = lonlat(part, srid)
            overlaps.append(Overlap(i, j, round(part.area, 1), lon, lat, _is_sliver(part)))
    gaps: list[Gap] = []
    if boundary_local is not None:
        covered = shapely.union_all(geoms)
        for part in _parts(shapely.difference(boundary_local, covered)):
            near = sorted(tree.query(part, predicate="dwithin", distance=1.0).tolist())
            lon, lat = lonlat(part, srid)
            gaps.append(Gap(tuple(near), round(part.area, 1), lon, lat, _is_sliver(part)))
    return overlaps, gaps


def voronoi_tiling(points_local: list[BaseGeometry], boundary_local: BaseGeometry) -> list[BaseGeometry]:
    """One cell per point: the Voronoi diagram of ``points_local`` clipped to the boundary (local grid)."""
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points_local), extend_to=boundary_local, ordered=True)
    out = []
    for cell in shapely.get_parts(cells):
        clipped = shapely.intersection(cell, boundary_local)
        polys = [g for g in shapely.get_parts(clipped) if g.geom_type == "Polygon"]
        out.append(shapely.MultiPolygon(polys))
    return out
