"""What the staff map reads: registry layers of a ward or a view, search, establishment detail.

The map page calls these services and caches their results (``st.cache_data``); nothing
here knows about Streamlit. Layers are read through :func:`geomap.queries.read_layer`
from their registry declaration, so a new layer needs no code here. Filtering happens on
the cached ward frames in memory (:func:`select_features`): a filter change costs a
pandas mask, not a database round trip.

What is queried: layers drawn only when zoomed in (``Layer.min_zoom``, e.g. land parcels)
and layers not split by ward are read for the padded view box (:func:`view_bbox`); the
others for the whole selected ward, once, so panning needs no new query.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import layers as layer_registry
from geomap import audit, auth, queries, status
from geomap.queries import BBox
from geomap.text import fold
from layers.base import Layer

#: the layer whose features are establishments (detail panel: licences, inspections, history)
ESTABLISHMENT_LAYER = "establishments"
#: entity type of establishments in the audit log
ESTABLISHMENT_ENTITY = "establishment"
#: a click selects the nearest establishment within this distance
CLICK_TOLERANCE_M = 5.0
#: view boxes are padded by this share of their size on each side, then snapped to this grid
VIEW_PAD = 0.5
VIEW_GRID_DEG = 0.002
SEARCH_LIMIT = 50


# --- which layers, which area ----------------------------------------------------------------


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


# --- reading layers -----------------------------------------------------------------------------


def map_columns(layer: Layer) -> list[str]:
    """Columns the map needs of ``layer``: popup, colouring, filters and the synthetic flag."""
    names = [*layer.popup, *layer.style.palettes, *([layer.style.color_by] if layer.style.color_by else []),
             *(f.field for f in layer.filters)]
    if any(f.name == "is_synthetic" for f in layer.fields):
        names.append("is_synthetic")
    return list(dict.fromkeys(names))


def read_map_layer(bind: Connection | Engine, layer: Layer, *, ward_id: int, bbox: BBox | None = None
                   ) -> gpd.GeoDataFrame:
    """One layer for the map: the ward's features (or those in ``bbox``), only the columns the map uses.

    Personal fields are never read here: the map does not show them.
    """
    if layer.derive is None:
        read = [f.name for f in layer.stored_fields if f.name in set(map_columns(layer))]
    else:  # derived fields (statuses) need their inputs, which the declaration does not list
        read = [f.name for f in layer.stored_fields if not f.personal]
    with _connection(bind) as conn:
        frame = queries.read_layer(conn, layer, ward_id=ward_id, bbox=bbox if queried_by_view(layer) else None,
                                   columns=read)
    keep = [layer.id_field, *[c for c in map_columns(layer) if c in frame.columns], "geometry"]
    return frame[list(dict.fromkeys(keep))].reset_index(drop=True)


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


def ward_is_synthetic(bind: Connection | Engine, ward_id: int) -> bool:
    """Does any layer of the ward hold synthetic rows? (the page then says so)."""
    with _connection(bind) as conn:
        for layer in layer_registry.registry().values():
            if not layer.ward_column or not any(f.name == "is_synthetic" for f in layer.fields):
                continue
            hit = conn.execute(sa.text(
                f'SELECT EXISTS (SELECT 1 FROM "{layer.source}" WHERE "{layer.ward_column}" = :w AND is_synthetic)'),
                {"w": ward_id}).scalar()
            if hit:
                return True
    return False


# --- search -----------------------------------------------------------------------------------------


def searchable_layers(bind: Connection | Engine) -> list[Layer]:
    """Layers whose source carries a folded ``search_key`` column (see :func:`geomap.text.search_key`)."""
    with _connection(bind) as conn:
        found = {r[0] for r in conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'search_key' "
            "AND table_schema = current_schema()"))}
    return [lyr for lyr in layer_registry.registry().values() if lyr.source in found]


def search(bind: Connection | Engine, layer: Layer, ward_id: int, query: str, limit: int = SEARCH_LIMIT
           ) -> pd.DataFrame:
    """Features of ``layer`` whose name or address contains ``query``, ignoring case and diacritics.

    "pho" finds "Phở", "PHO" and "phố". Uses the trigram index on ``search_key``; best
    matches first. Columns: id, the layer's first popup fields, address when declared, lat, lng.
    """
    folded = fold(query)
    if not folded:
        return pd.DataFrame(columns=["id", "label", "lat", "lng"])
    shown = [n for n in (*layer.popup[:2], "address") if any(f.name == n for f in layer.stored_fields)]
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys(shown))
    pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = sa.text(
        f'SELECT "{layer.id_field}" AS id, {cols}, ST_Y("{layer.geometry_column}") AS lat, '
        f'ST_X("{layer.geometry_column}") AS lng FROM "{layer.source}" '
        f'WHERE "{layer.ward_column}" = :w AND search_key ILIKE :p '
        f'ORDER BY similarity(search_key, :q) DESC, "{layer.id_field}" LIMIT :n')
    with _connection(bind) as conn:
        frame = pd.read_sql(sql, conn, params={"w": ward_id, "p": pattern, "q": folded, "n": int(limit)})
    parts = frame[list(dict.fromkeys(shown))].astype(object).where(frame.notna(), "").astype(str)
    frame["label"] = [" · ".join(p for p in row if p) for row in parts.itertuples(index=False)]
    return frame


# --- the clicked establishment ----------------------------------------------------------------


def establishment_at(bind: Connection | Engine, ward_id: int, lat: float, lng: float, *,
                     tolerance_m: float = CLICK_TOLERANCE_M, code: str | None = None) -> int | None:
    """The establishment clicked at (``lat``, ``lng``): nearest within ``tolerance_m`` metres (KNN).

    ``code`` (read from the marker's label) wins when that establishment is close by, so two
    stalls at one spot are told apart.
    """
    params = {"w": ward_id, "lat": float(lat), "lng": float(lng), "tol": float(tolerance_m), "code": code}
    point = "ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
    with _connection(bind) as conn:
        if code:
            hit = conn.execute(sa.text(
                f"SELECT id FROM establishment WHERE ward_id = :w AND code = :code "
                f"AND ST_DWithin(geom::geography, {point}::geography, GREATEST(:tol, 50))"), params).scalar()
            if hit is not None:
                return int(hit)
        row = conn.execute(sa.text(
            f"SELECT id, ST_Distance(geom::geography, {point}::geography) AS d FROM establishment "
            f"WHERE ward_id = :w AND geom IS NOT NULL ORDER BY geom <-> {point} LIMIT 1"), params).first()
    if row is None or row.d > tolerance_m:
        return None
    return int(row.id)


def code_from_label(label: str | None) -> str | None:
    """The establishment code at the start of a marker label ("HC-000123 · Phở Hòa")."""
    if not label:
        return None
    head = label.split("·", 1)[0].strip()
    return head or None


@dataclass
class EstablishmentDetail:
    """Everything the detail panel shows, already limited to what the user may see."""

    id: int
    record: dict[str, Any]
    fields: tuple  # the visible layer fields, in declaration order
    licences: list[dict[str, Any]] = field(default_factory=list)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None


def detail_fields(layer: Layer, user: Mapping[str, Any] | None) -> tuple:
    """The one check of which fields the detail panel shows to ``user`` (personal data by role).

    Staff without ``view_personal`` (see :mod:`geomap.auth`) see every field but the personal
    ones; the public (``user`` None) only public fields.
    """
    return tuple(auth.visible_fields(layer, user))


def establishment_detail(bind: Connection | Engine, establishment_id: int, *, user: Mapping[str, Any] | None,
                         today: dt.date | None = None) -> EstablishmentDetail | None:
    """The establishment's record, all its licences and inspections, and its change history."""
    layer = layer_registry.get(ESTABLISHMENT_LAYER)
    visible = detail_fields(layer, user)
    with _connection(bind) as conn:
        stmt = queries.layer_select(layer)
        stmt = stmt.where(stmt.selected_columns[layer.id_field] == int(establishment_id))
        frame = gpd.read_postgis(stmt, conn, geom_col="geometry", crs="EPSG:4326")
        if frame.empty:
            return None
        if layer.derive is not None:
            frame = layer.derive(frame)
        row = frame.iloc[0]
        record = {f.name: _plain(row.get(f.name)) for f in visible}
        licences = [dict(r) for r in conn.execute(sa.text(
            "SELECT id, kind, number, issuer, issued_on, expires_on, revoked_on, note FROM licence "
            "WHERE establishment_id = :id ORDER BY issued_on DESC, id DESC"), {"id": int(establishment_id)}).mappings()]
        inspections = [dict(r) for r in conn.execute(sa.text(
            "SELECT id, inspected_on, kind, result, inspector_name, violations, notes, follow_up_due FROM inspection "
            "WHERE establishment_id = :id ORDER BY inspected_on DESC, id DESC"), {"id": int(establishment_id)}
        ).mappings()]
        history = (auth.redact_history(audit.history(conn, ESTABLISHMENT_ENTITY, int(establishment_id)), user)
                   if auth.can(user, "view_history") else [])
    today = today or status.today()
    for lic in licences:
        lic["state"] = licence_state(lic, today)
    geom = row.geometry
    return EstablishmentDetail(
        id=int(establishment_id), record=record, fields=visible, licences=licences, inspections=inspections,
        history=history, lat=None if geom is None else float(geom.y), lng=None if geom is None else float(geom.x))


def licence_state(licence: Mapping[str, Any], today: dt.date) -> str:
    """One licence's own state: ``revoked``, ``expired`` or ``in_force`` on ``today``."""
    if licence.get("revoked_on") and licence["revoked_on"] <= today:
        return "revoked"
    if licence.get("expires_on") and licence["expires_on"] < today:
        return "expired"
    return "in_force"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


class _connection:
    """Use a Connection as is, or open one from an Engine for the block (JIT off: short OLTP reads)."""

    def __init__(self, bind: Connection | Engine):
        self._bind = bind
        self._opened: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self._bind, Engine):
            self._opened = self._bind.connect()
            self._opened.execute(sa.text("SET LOCAL jit = off"))
            return self._opened
        return self._bind

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.rollback()  # read only; also ends SET LOCAL
            self._opened.close()
