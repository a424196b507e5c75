"""Which layers, which area and which features the staff map draws (pure).

Layers drawn only when zoomed in (``Layer.min_zoom``, e.g. land parcels) and layers not split
by ward are read for the padded view box (:func:`view_bbox`); the others for the whole
selected ward, once, so panning needs no new query. Filtering happens on the cached ward
frames in memory (:func:`select_features`): a filter change costs a pandas mask, not a
database round trip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd

import layers as layer_registry
from geomap.layer_reader import BBox
from geomap.text import fold
from layers.base import Layer

#: the layer whose features are establishments (detail panel: licences, inspections, history)
ESTABLISHMENT_LAYER = "establishments"
#: view boxes are padded by this share of their size on each side, then snapped to this grid
VIEW_PAD = 0.5
VIEW_GRID_DEG = 0.002


def drawable(layer: Layer, zoom: float | None) -> bool:
    """Is ``layer`` drawn at ``zoom``? (unknown zoom: only layers without a minimum)."""
    return layer.min_zoom <= 0 or (zoom is not None and zoom >= layer.min_zoom)


def queried_by_view(layer: Layer) -> bool:
    """Read for the view box rather than for the whole ward (zoom-only layers, sources not split by ward)."""
    return layer.min_zoom > 0 or layer.ward_column is None


def view_bbox(bounds: Mapping[str, Any] | None, pad: float = VIEW_PAD, grid: float = VIEW_GRID_DEG) -> BBox | None:
    """The box to query for a Leaflet view (``{"_southWest": {lat, lng}, "_northEast": ...}``).

    Padded so small pans need no new query, and snapped outwards to a grid so nearby views
    share one cache entry. None when the bounds are missing or malformed.
    """
    try:
        sw, ne = bounds["_southWest"], bounds["_northEast"]  # type: ignore[index]
        minx, miny, maxx, maxy = float(sw["lng"]), float(sw["lat"]), float(ne["lng"]), float(ne["lat"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or maxx <= minx or maxy <= miny:
        return None
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad

    def snap(v: float, up: bool) -> float:
        return round((math.ceil(v / grid) if up else math.floor(v / grid)) * grid, 6)

    return (max(-180.0, snap(minx - dx, False)), max(-90.0, snap(miny - dy, False)),
            min(180.0, snap(maxx + dx, True)), min(90.0, snap(maxy + dy, True)))


def map_columns(layer: Layer) -> list[str]:
    """Columns the map needs of ``layer``: popup, colouring, filters and the synthetic flag."""
    names = [*layer.popup, *layer.style.palettes, *([layer.style.color_by] if layer.style.color_by else []),
             *(f.field for f in layer.filters), *([layer.style.hollow_field] if layer.style.hollow_field else [])]
    if any(f.name == "is_synthetic" for f in layer.fields):
        names.append("is_synthetic")
    return list(dict.fromkeys(names))


def filter_options(layer: Layer, frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Values offered by each ``choice`` filter of ``layer``: those present in ``frame`` (its ward)."""
    out: dict[str, list[Any]] = {}
    for flt in layer.filters:
        if flt.kind != "choice" or flt.field not in frame:
            continue
        values = frame[flt.field].dropna().unique().tolist()
        out[flt.field] = sorted(values, key=natural_key)
    return out


def natural_key(value: Any) -> tuple:
    """Sort key putting "Tổ dân phố 2" before "Tổ dân phố 10" (numbers compared as numbers)."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, fold(p)) for p in parts if p)


def select_features(
    frames: Mapping[str, gpd.GeoDataFrame],
    filters: Mapping[str, Mapping[str, Collection[Any]]] | None = None,
    only_ids: Mapping[str, Collection[int]] | None = None,
    layers: Mapping[str, Layer] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """The features to draw: each frame masked by its layer's chosen filter values and id lists.

    ``filters``: {layer: {field: values}}, an empty selection means "all". ``only_ids``:
    {layer: ids} (search results), applied when given.
    """
    reg = layers or layer_registry.registry()
    out = {}
    for name, frame in frames.items():
        mask = pd.Series(True, index=frame.index)
        for fld, values in (filters or {}).get(name, {}).items():
            values = list(values)
            if values and fld in frame:
                mask &= frame[fld].isin(values)
        if only_ids is not None and name in only_ids:
            mask &= frame[reg[name].id_field].isin(list(only_ids[name]))
        out[name] = frame[mask] if not mask.all() else frame
    return out


def code_from_label(label: str | None) -> str | None:
    """The establishment code at the start of a marker label ("HC-000123 · Phở Hòa")."""
    if not label:
        return None
    head = label.split("·", 1)[0].strip()
    return head or None
