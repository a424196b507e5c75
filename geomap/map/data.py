"""What the staff map reads (the SQL of :mod:`geomap.map`): layers of a ward or a view, search,
the clicked establishment and its records.

The map page calls these and caches their results (``st.cache_data``); nothing here knows
about Streamlit. Layers are read through :func:`geomap.layer_reader.read` from their registry
declaration, so a new layer needs no code here. Every read takes a :data:`geomap.db.Bind`;
on a connection of its own it runs with JIT off (short OLTP reads).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

import layers as layer_registry
from geomap import audit, db, layer_reader
from geomap.layer_reader import BBox, no_jit
from geomap.map.features import map_columns, queried_by_view
from geomap.records import data as records_data
from geomap.text import fold
from layers.base import Layer

#: entity type of establishments in the audit log
ESTABLISHMENT_ENTITY = "establishment"
#: a click selects the nearest establishment within this distance
CLICK_TOLERANCE_M = 5.0
SEARCH_LIMIT = 50
#: "show all" still stops here (a search matching more is better narrowed with the filters)
SEARCH_ALL_LIMIT = 5000


def read_map_layer(bind: db.Bind, layer: Layer, *, ward_id: int, bbox: BBox | None = None) -> gpd.GeoDataFrame:
    """One layer for the map: the ward's features (or those in ``bbox``), only the columns the map uses.

    Personal fields are never read here: the map does not show them.
    """
    if layer.derive is None:
        read = [f.name for f in layer.stored_fields if f.name in set(map_columns(layer))]
    else:  # derived fields (statuses) need their inputs, which the declaration does not list
        read = [f.name for f in layer.stored_fields if not f.personal]
    frame = layer_reader.read(bind, layer, ward_id=ward_id, bbox=bbox if queried_by_view(layer) else None,
                              columns=read)
    keep = [layer.id_field, *[c for c in map_columns(layer) if c in frame.columns], "geometry"]
    return frame[list(dict.fromkeys(keep))].reset_index(drop=True)


# --- search -----------------------------------------------------------------------------------------


def searchable_layers(bind: db.Bind) -> list[Layer]:
    """Layers whose source carries a folded ``search_key`` column (see :func:`geomap.text.search_key`)."""
    with db.read(bind) as conn:
        no_jit(bind, conn)
        found = {r[0] for r in conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'search_key' "
            "AND table_schema = current_schema()"))}
    return [lyr for lyr in layer_registry.registry().values() if lyr.source in found]


def search(bind: db.Bind, layer: Layer, ward_id: int, query: str, limit: int = SEARCH_LIMIT
           ) -> pd.DataFrame:
    """Features of ``layer`` whose name or address contains ``query``, ignoring case and diacritics.

    "pho" finds "Phở", "PHO" and "phố". Uses the trigram index on ``search_key``; best
    matches first. Columns: id, the layer's first popup fields, address when declared, lat, lng, and
    ``total``: how many features match in all (the page says "50 of 246").
    """
    folded = fold(query)
    if not folded:
        return pd.DataFrame(columns=["id", "label", "lat", "lng", "total"])
    shown = [n for n in (*layer.popup[:2], "address") if any(f.name == n for f in layer.stored_fields)]
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys(shown))
    pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = sa.text(
        f'SELECT "{layer.id_field}" AS id, {cols}, ST_Y("{layer.geometry_column}") AS lat, '
        f'ST_X("{layer.geometry_column}") AS lng, count(*) OVER () AS total FROM "{layer.source}" '
        f'WHERE "{layer.ward_column}" = :w AND search_key ILIKE :p '
        f'ORDER BY similarity(search_key, :q) DESC, "{layer.id_field}" LIMIT :n')
    with db.read(bind) as conn:
        no_jit(bind, conn)
        frame = pd.read_sql(sql, conn, params={"w": ward_id, "p": pattern, "q": folded, "n": int(limit)})
    parts = frame[list(dict.fromkeys(shown))].astype(object).where(frame.notna(), "").astype(str)
    frame["label"] = [" · ".join(p for p in row if p) for row in parts.itertuples(index=False)]
    return frame


# --- the clicked establishment ----------------------------------------------------------------


def establishment_at(bind: db.Bind, ward_id: int, lat: float, lng: float, *,
                     tolerance_m: float = CLICK_TOLERANCE_M, code: str | None = None) -> int | None:
    """The establishment clicked at (``lat``, ``lng``): nearest within ``tolerance_m`` metres (KNN).

    ``code`` (read from the marker's label) wins when that establishment is close by, so two
    stalls at one spot are told apart.
    """
    params = {"w": ward_id, "lat": float(lat), "lng": float(lng), "tol": float(tolerance_m), "code": code}
    point = "ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)"
    with db.read(bind) as conn:
        no_jit(bind, conn)
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




@dataclass
class EstablishmentRows:
    """The rows of one establishment's panel: its layer record (derived fields added), licences,
    inspections (newest first) and, when asked, its change history (not yet redacted)."""

    record: pd.Series
    licences: list[dict[str, Any]]
    inspections: list[dict[str, Any]]
    history: list[dict[str, Any]]


def establishment_rows(bind: db.Bind, layer: Layer, establishment_id: int, *, with_history: bool
                       ) -> EstablishmentRows | None:
    """Everything the detail panel may show of one establishment, read on one connection; None if absent."""
    with db.read(bind) as conn:
        no_jit(bind, conn)
        frame = layer_reader.read(conn, layer, fid=int(establishment_id))
        if frame.empty:
            return None
        # the records domain owns its tables' SQL: the panel reads them through it, on this connection
        licences = records_data.licences_of(conn, establishment_id, by_kind=False)
        inspections = records_data.inspections_of(conn, establishment_id)
        history = audit.history(conn, ESTABLISHMENT_ENTITY, int(establishment_id)) if with_history else []
    return EstablishmentRows(record=frame.iloc[0], licences=licences, inspections=inspections, history=history)


# --- the base map from a local MBTiles file (GEOMAP_TILE_MBTILES) ----------------------------------

#: the tile formats an MBTiles file may declare, with the media type they are served as
MBTILES_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def mbtiles_tile(path: str, z: int, x: int, y: int) -> bytes | None:
    """The raster tile (z, x, y) of an MBTiles file (XYZ numbering; MBTiles stores TMS rows), or None.

    Opened read-only for each call: SQLite opens in microseconds, and nothing is held between requests."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        row = con.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                          (z, x, (1 << z) - 1 - y)).fetchone()
    return bytes(row[0]) if row else None


def mbtiles_metadata(path: str) -> dict[str, str]:
    """The ``metadata`` table of an MBTiles file (name, format, attribution, bounds, minzoom, maxzoom...)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return dict(con.execute("SELECT name, value FROM metadata").fetchall())
