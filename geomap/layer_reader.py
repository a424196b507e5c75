"""THE reader of a registry layer (the pygeoapi provider idea): one statement builder for every reader.

The staff map (:mod:`geomap.map.data`), the exports (:mod:`geomap.export`) and the OGC API
(:mod:`geomap.ogc`) read a layer's rows here, and nowhere else. A read is described by:

- the layer declaration (``layers/``) and a **profile**: ``"public"`` (public fields only,
  never personal ones; only the rows the layer's ``public_rows`` lets through; the feature id is
  the layer's public code or stored random ``public_id``, never the sequential database id),
  ``"internal"`` (every field, the database id), or None (every stored field, the database id: the
  staff map, which narrows ``columns``);
- the **area**: one ward (``ward_id``) or the whole city (None), a ``bbox`` in ``bbox_srid``
  (``bbox_exact``: also ``ST_Intersects``, not only the index's ``&&``);
- **filters**: ``where`` {field: values} on any declared field (stored ones in SQL, derived
  ones, the statuses, after derivation), a ``datetime_range`` on the layer's time field and a
  CQL2 expression ``cql`` (:func:`compile_filter`: one parameterised clause on the profile's
  queryable fields, see the end of this module);
- the **output**: a ``srid`` (``ST_Transform`` in the database; ``lat_lon`` flips the axes),
  ``repair`` (invalid geometries made valid in the database) and the geometry encoding:
  ``"shapely"`` (a GeoDataFrame with pandas' type inference), ``"bulk"`` (a GeoDataFrame of
  object columns, geometry decoded from WKB by shapely in one vectorised call: exports) or
  ``"geojson"`` (rows with ``__fid`` and ``__geometry`` text: the OGC API);
- **paging**: ``limit``, ``offset``, a keyset cursor ``after`` (the last feature id of the previous
  page), one feature ``fid``, ordered by ``sort`` (default: the profile's feature id, a uniquely
  indexed column, so pages and single items are read through the index).

:func:`read_tile` gives one Mapbox Vector Tile layer of a WebMercatorQuad tile for the same reads (profile,
ward, filters), encoded by PostGIS (``ST_AsMVTGeom``/``ST_AsMVT``), points counted per cell at low zooms;
:func:`source_tables` and :func:`change_count` give the tile cache its key (the ``tile_change`` log).

:func:`read` returns a GeoDataFrame (or rows); :func:`read_page` adds what a web page needs:
the number matched (counted in the same statement, from the layer's ``count_source`` table
when the filters allow) and whether more rows follow. :func:`extent` and :func:`table_columns`
are the helpers the OGC API caches. Statements read with JIT off (short reads; JIT compiling
the view's per-row lookups only costs time) when the reader opened the connection itself.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
import sqlalchemy as sa
from pygeofilter import ast as cql_ast
from pygeofilter import values as cql_values
from sqlalchemy.engine import Connection, Engine

from geomap import crs, db
from geomap.users import Profile
from layers.base import Field, Layer

#: (min_x, min_y, max_x, max_y), lon/lat in EPSG:4326 unless a ``bbox_srid`` says otherwise
BBox = tuple[float, float, float, float]

#: Mapbox Vector Tile grid: tile coordinates 0..MVT_EXTENT, geometry kept MVT_BUFFER units past the edge
MVT_EXTENT = 4096
MVT_BUFFER = 64
#: below this zoom a point layer's tile holds one feature per MVT_CELL × MVT_CELL cell of the tile
#: (``point_count``; ``id`` when the cell holds one point): at most (4096/64)² = 4,096 features a tile
CLUSTER_BELOW_ZOOM = 15
MVT_CELL = 64
#: a point (or mixed-geometry) layer with more features than this in a tile is counted per cell at any zoom
MAX_TILE_FEATURES = 1000
#: half the width of EPSG:3857's square world, metres
WEB_MERCATOR_HALF = 20037508.342789244
Geometry = Literal["shapely", "bulk", "geojson", "mvt", "raw", "none"]


def profile_fields(layer: Layer, profile: Profile) -> tuple[Field, ...]:
    """The registry's fields for ``profile``; personal fields are dropped in public, always."""
    fields = layer.fields_for(profile)
    if profile == "public":
        fields = tuple(f for f in fields if not f.personal)
    return fields


def feature_id(layer: Layer, profile: Profile | None) -> tuple[str, bool]:
    """The column naming a feature for ``profile`` and whether it is text.

    Internal (and None): the database id. Public: the layer's public code or stored random id
    (``public_id_field``, a uniquely indexed column), so the sequential id never shows.
    """
    if profile != "public":
        return layer.id_field, False
    if not layer.public_id_field:
        raise ValueError(f"layer {layer.name!r} has no public_id_field: it is not served in the public profile")
    return layer.public_id_field, True


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class _Statement:
    """One read, as SQL: the SELECT without ORDER/LIMIT, the matching clause (for counting) and its binds."""

    select: str
    matching: str
    binds: dict[str, Any]
    used: set[str]  # the columns the filters read (can the count use ``count_source``?)
    order: str
    derived: dict[str, list[Any]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)


def _statement(
    layer: Layer,
    *,
    profile: Profile | None,
    columns: Sequence[str] | None,
    ward_id: int | None,
    bbox: BBox | None,
    bbox_srid: int,
    bbox_exact: bool,
    where: Mapping[str, Iterable[Any]] | None,
    datetime_range: tuple[dt.datetime | None, dt.datetime | None] | None,
    srid: int,
    lat_lon: bool,
    repair: bool,
    cql: Filter | None = None,
    geometry: Geometry,
    after: Any,
    fid: Any,
    sort: str | None,
    source: str | None = None,
) -> _Statement:
    fields = profile_fields(layer, profile) if profile is not None else layer.fields
    stored = [f.name for f in fields if not f.derived]
    if columns is not None:
        allowed = set(stored)
        stored = [n for n in columns if n in allowed]
    names = list(dict.fromkeys([layer.id_field, *[n for n in stored if n != layer.id_field]]))
    kinds = {f.name: f for f in layer.fields}
    g = _q(layer.geometry_column)
    geom = f"CASE WHEN ST_IsValid({g}) THEN {g} ELSE ST_MakeValid({g}) END" if repair else g
    if srid != crs.WGS84:
        geom = f"ST_Transform({geom}, {int(srid)})"
    if lat_lon:
        geom = f"ST_FlipCoordinates({geom})"
    where_sql, binds, used = ["TRUE"], {}, set()
    # the feature id is needed only to name, page or order by it (a public read sorted by the
    # database id, e.g. an export, works for a layer without a public id)
    if sort and fid is None and after is None:
        ident, text_id = sort, False
    else:
        ident, text_id = feature_id(layer, profile)
    ident_sql = _q(ident)
    if profile == "public" and layer.public_rows:
        where_sql.append(layer.public_condition(_q(layer.id_field)))
        used.add(layer.id_field)
    if fid is not None:
        where_sql.append(f"{ident_sql} = :fid")
        binds["fid"] = str(fid) if text_id else int(fid)
    if ward_id is not None and layer.ward_column:
        where_sql.append(f"{_q(layer.ward_column)} = :ward")
        binds["ward"] = int(ward_id)
        used.add(layer.ward_column)
    if bbox is not None:
        x1, y1, x2, y2 = bbox  # x = lon/easting (axis order already normalised by the caller)
        env = "ST_MakeEnvelope(:bx1, :by1, :bx2, :by2, :bsrid)"
        if bbox_srid != crs.WGS84:
            env = f"ST_Transform({env}, 4326)"
        where_sql.append(f"{g} && {env} AND ST_Intersects({g}, {env})" if bbox_exact else f"{g} && {env}")
        binds.update(bx1=x1, by1=y1, bx2=x2, by2=y2, bsrid=int(bbox_srid))
        used.add(layer.geometry_column)
    if datetime_range is not None:
        if not layer.temporal_field:
            raise ValueError(f"layer {layer.name!r} has no time field")
        lo, hi = datetime_range
        t = _q(layer.temporal_field)
        used.add(layer.temporal_field)
        if lo is not None:
            where_sql.append(f"{t} >= :t0")
            binds["t0"] = lo
        if hi is not None:
            where_sql.append(f"{t} <= :t1")
            binds["t1"] = hi
    if cql is not None:  # a CQL2 filter, compiled by :func:`compile_filter` (binds c0, c1...)
        where_sql.append(f"({cql.sql})")
        binds.update(cql.binds)
        used.update(cql.used)
    derived: dict[str, list[Any]] = {}
    for i, (name, values) in enumerate((where or {}).items()):
        values = list(values)
        f = kinds.get(name)
        if not values or f is None:
            continue
        if f.derived:  # statuses are computed in Python: filtered after derivation
            derived[name] = values
            continue
        keys = [f"p{i}" if len(values) == 1 else f"p{i}_{j}" for j in range(len(values))]
        binds.update(zip(keys, values, strict=True))
        if f.kind == "list":
            clause = " OR ".join(f":{k} = ANY({_q(name)})" for k in keys)
            where_sql.append(clause if len(keys) == 1 else f"({clause})")
        elif len(keys) == 1:
            where_sql.append(f"{_q(name)} = :{keys[0]}")
        else:
            where_sql.append(f"{_q(name)} IN ({', '.join(':' + k for k in keys)})")
        used.add(name)
    matching = " AND ".join(where_sql)
    if after is not None:
        where_sql.append(f"{ident_sql} > :after")
        binds["after"] = str(after) if text_id else int(after)
    cols = ", ".join(_q(c) for c in names)
    if geometry == "geojson":
        digits = 7 if srid == crs.WGS84 else 3
        shape = f"{ident_sql} AS __fid, ST_AsGeoJSON({geom}, {digits}, 0) AS __geometry"
    elif geometry == "mvt":  # tile coordinates of tile :tz/:tx/:ty (binds added by read_tile)
        shape = (f"{ident_sql} AS __fid, ST_AsMVTGeom(ST_Transform({geom}, {crs.WEB_MERCATOR}), "
                 f"ST_TileEnvelope(:tz, :tx, :ty), {MVT_EXTENT}, {MVT_BUFFER}, true) AS __mvt")
    elif geometry == "raw":  # the stored geometry itself (tile cells computed from its coordinates)
        shape = f"{ident_sql} AS __fid, {g} AS __geom"
    elif geometry == "none":
        shape = f"{ident_sql} AS __fid"
    else:
        shape = f"ST_AsBinary({geom}) AS __wkb"
    select = f"SELECT {cols}, {shape} FROM {_q(source or layer.source)} WHERE {' AND '.join(where_sql)}"
    return _Statement(select=select, matching=matching, binds=binds, used=used,
                      order=_q(sort) if sort else ident_sql, derived=derived, columns=names)


def no_jit(bind: db.Bind, conn: Connection) -> None:
    """Short reads on a connection the reader opened: JIT compilation only costs time (ends with it)."""
    if isinstance(bind, Engine):
        conn.execute(sa.text("SET LOCAL jit = off"))


def _wkb_geometries(wkb: pd.Series | np.ndarray) -> np.ndarray:
    values = np.asarray([bytes(b) if b is not None else None for b in wkb], dtype=object)
    return shapely.from_wkb(values)


def _bulk_frame(result: sa.CursorResult) -> pd.DataFrame:
    """Rows as object columns, built column-wise: pandas' row-wise construction with type inference is
    far slower, and geometry decoded later in one call instead of one Python object per row twice."""
    names, rows = list(result.keys()), result.fetchall()
    columns = zip(*rows, strict=True) if rows else ([] for _ in names)
    return pd.DataFrame({name: np.fromiter(col, dtype=object, count=len(rows))
                         for name, col in zip(names, columns, strict=True)}, dtype=object, copy=False)


def _filter_derived(frame: pd.DataFrame, derived: Mapping[str, list[Any]]) -> pd.DataFrame:
    for name, values in derived.items():
        frame = frame[frame[name].astype(str).isin([str(v) for v in values])]
    return frame


def read(
    bind: db.Bind,
    layer: Layer,
    *,
    profile: Profile | None = None,
    columns: Sequence[str] | None = None,
    ward_id: int | None = None,
    bbox: BBox | None = None,
    bbox_srid: int = crs.WGS84,
    bbox_exact: bool = False,
    where: Mapping[str, Iterable[Any]] | None = None,
    datetime_range: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    srid: int = crs.WGS84,
    lat_lon: bool = False,
    repair: bool = False,
    geometry: Geometry = "shapely",
    limit: int | None = None,
    offset: int = 0,
    after: Any = None,
    fid: Any = None,
    sort: str | None = None,
    cql: Filter | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Features of ``layer`` (see the module's docstring for each argument), derived fields added.

    ``"shapely"`` and ``"bulk"`` give a GeoDataFrame in EPSG:``srid`` whose columns are the id,
    the stored fields read and the derived ones, then ``geometry``; ``"geojson"`` a DataFrame of
    the same columns with ``__fid`` and ``__geometry`` (GeoJSON text). Derived filters apply
    before ``limit``/``offset`` (the whole match is read, then paged).
    """
    inputs: list[str] = []
    if layer.derive is not None and columns is not None:
        # derived fields (statuses) need their inputs, which a caller asking for a few columns does not
        # list, and the rules raise without them: read the layer's non-personal stored fields too, and
        # drop them again after deriving
        inputs = [f.name for f in layer.stored_fields if not f.personal and f.name not in columns]
        columns = [*columns, *inputs]
    st = _statement(layer, profile=profile, columns=columns, ward_id=ward_id, bbox=bbox, bbox_srid=bbox_srid,
                    bbox_exact=bbox_exact, where=where, datetime_range=datetime_range, srid=srid, lat_lon=lat_lon,
                    repair=repair, geometry=geometry, after=after, fid=fid, sort=sort, cql=cql)
    sql, binds = f"{st.select} ORDER BY {st.order}", dict(st.binds)
    if not st.derived and (limit is not None or offset):
        if limit is not None:
            sql += " LIMIT :limit"
            binds["limit"] = int(limit)
        if offset:
            sql += " OFFSET :offset"
            binds["offset"] = int(offset)
    with db.read(bind) as conn:
        no_jit(bind, conn)
        if geometry == "geojson":
            frame = pd.DataFrame([dict(r) for r in conn.execute(sa.text(sql), binds).mappings()])
            if frame.empty:
                frame = pd.DataFrame(columns=[*st.columns, "__fid", "__geometry"])
        elif geometry == "bulk":
            frame = _bulk_frame(conn.execute(sa.text(sql), binds))
        else:
            frame = pd.read_sql(sa.text(sql), conn, params=binds)
    if geometry != "geojson":
        geoms = _wkb_geometries(frame.pop("__wkb").to_numpy())
        frame = gpd.GeoDataFrame(frame, geometry=geoms, crs=f"EPSG:{srid}")
    if layer.derive is not None and (geometry != "geojson" or len(frame)):
        derived = layer.derive(frame)
        frame = derived if geometry == "geojson" else gpd.GeoDataFrame(derived, geometry="geometry",
                                                                        crs=f"EPSG:{srid}")
    if inputs:
        frame = frame.drop(columns=[c for c in inputs if c in frame.columns])
    if st.derived:
        frame = _filter_derived(frame, st.derived)
        if limit is not None or offset:
            frame = frame.iloc[offset: None if limit is None else offset + limit]
    return frame


class CountStore(Protocol):
    """Where :func:`read_page` keeps the counts of filters (the OGC API's app-owned cache)."""

    def get(self, key: Any) -> int | None: ...

    def put(self, key: Any, value: int) -> None: ...


@dataclass
class Page:
    """One page of :func:`read_page`: rows (``__fid``, ``__geometry``, fields), the number matched
    (None: not counted) and whether more rows follow."""

    frame: pd.DataFrame
    matched: int | None
    has_more: bool


def read_page(
    bind: db.Bind,
    layer: Layer,
    profile: Profile,
    *,
    srid: int = crs.WGS84,
    lat_lon: bool = False,
    bbox: BBox | None = None,
    bbox_srid: int = crs.WGS84,
    datetime_range: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    where: Mapping[str, Iterable[Any]] | None = None,
    limit: int,
    offset: int = 0,
    after: Any = None,
    fid: Any = None,
    counts: CountStore | None = None,
    columns_of: Callable[[str], frozenset[str]] | None = None,
    count_scope: Any = None,
    cql: Filter | None = None,
) -> Page:
    """A page of GeoJSON rows of ``layer`` for ``profile`` in one statement, with the number matched.

    Pages are ordered by the profile's feature id; ``after`` (keyset) stays fast at any depth
    while a deep ``offset`` walks every row before it. The count rides along in the same
    statement (one round trip, also for an empty page); it comes from the layer's
    ``count_source`` table when every filtered column is one of its columns (``columns_of``
    tells them): counting ``establishment_overview`` (per-row licence and inspection lookups)
    at city scale takes over a second, the table a few milliseconds. ``counts`` keeps the
    count of a filter (keyed by ``count_scope``, e.g. the database URL, and the filter) so the
    following pages skip it. Statuses (derived fields) are computed in Python: with a filter on
    one the whole match is read, filtered, then paged, still one statement.
    """
    st = _statement(layer, profile=profile, columns=None, ward_id=None, bbox=bbox, bbox_srid=bbox_srid,
                    bbox_exact=True, where=where, datetime_range=datetime_range, srid=srid, lat_lon=lat_lon,
                    repair=True, geometry="geojson", after=after, fid=fid, sort=None, cql=cql)
    binds = dict(st.binds)
    count_key = (count_scope, layer.source, st.matching,
                 tuple(sorted((k, repr(v)) for k, v in binds.items() if k != "after")))
    matched: int | None = None
    if st.derived:
        sql = f"{st.select} ORDER BY {st.order}"
    else:
        matched = None if fid is not None or counts is None else counts.get(count_key)
        sql = f"{st.select} ORDER BY {st.order} LIMIT :limit_plus_one OFFSET :offset"
        binds.update(limit_plus_one=limit + 1, offset=offset)
        if matched is None and fid is None:
            counted = _q(layer.source)
            if layer.count_source and columns_of is not None and st.used <= columns_of(layer.count_source):
                counted = _q(layer.count_source)
            sql = (f"SELECT page.*, m.__matched FROM (SELECT count(*) AS __matched FROM {counted} "
                   f"WHERE {st.matching}) m LEFT JOIN ({sql}) page ON true ORDER BY page.__fid")
    with db.read(bind) as conn:
        no_jit(bind, conn)
        rows = conn.execute(sa.text(sql), binds).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows])
    if "__matched" in frame:
        matched = int(frame["__matched"].iloc[0])
        if counts is not None:
            counts.put(count_key, matched)
        frame = frame[frame["__fid"].notna()]
    if frame.empty:
        frame = pd.DataFrame(columns=[*st.columns, "__fid", "__geometry"])
    if layer.derive is not None and len(frame):
        frame = layer.derive(frame)
    if st.derived:
        frame = _filter_derived(frame, st.derived)
        if after is None:
            matched = len(frame)
        frame = frame.iloc[offset: offset + limit + 1]
    has_more = len(frame) > limit
    return Page(frame=frame.iloc[:limit], matched=matched, has_more=has_more)


def extent(bind: db.Bind, layer: Layer) -> tuple[BBox | None, tuple[Any, Any] | None]:
    """The layer's spatial extent (EPSG:4326) and, with a time field, its first and last time."""
    g = _q(layer.geometry_column)
    times = ""
    if layer.temporal_field:
        t = _q(layer.temporal_field)
        times = f", min({t}) t0, max({t}) t1"
    with db.read(bind) as conn:
        no_jit(bind, conn)
        row = conn.execute(sa.text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e){', t0, t1' if layer.temporal_field else ''} "
            f"FROM (SELECT ST_Extent({g}) e{times} FROM {_q(layer.source)}) s")).one()
    box = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    return box, ((row[4], row[5]) if layer.temporal_field else None)


def table_columns(bind: db.Bind, table: str) -> frozenset[str]:
    """The column names of ``table`` (what a ``count_source`` can filter on)."""
    return frozenset(db.scalars(bind, "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t) "
                                "AND attnum > 0 AND NOT attisdropped", {"t": table}))




def tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> BBox:
    """The EPSG:3857 bounds of WebMercatorQuad tile ``z/x/y`` (column x, row y from the top), grown by
    ``margin`` of its width on each side."""
    size = 2 * WEB_MERCATOR_HALF / (1 << z)
    pad = size * margin
    x0, y1 = -WEB_MERCATOR_HALF + x * size, WEB_MERCATOR_HALF - y * size
    return (x0 - pad, y1 - size - pad, x0 + size + pad, y1 + pad)


def read_tile(
    bind: db.Bind,
    layer: Layer,
    profile: Profile,
    z: int,
    x: int,
    y: int,
    *,
    ward_id: int | None = None,
    where: Mapping[str, Iterable[Any]] | None = None,
    columns_of: Callable[[str], frozenset[str]] | None = None,
) -> bytes:
    """One Mapbox Vector Tile layer (named as the layer) of WebMercatorQuad tile ``z/x/y``, encoded by
    PostGIS (``ST_AsMVTGeom`` / ``ST_AsMVT``); empty bytes when nothing is in the tile.

    The same read as :func:`read`: ``profile``'s fields only (public: never personal fields, only
    public rows), one ward or the city, ``where`` filters. Rows are found through the geometry's GiST
    index: the tile's envelope (grown by the MVT buffer) is transformed to the layer's EPSG:4326 once,
    never each row's geometry to the tile's CRS. Each feature carries an ``id`` property (the profile's
    feature id, as in the OGC items) and the profile's fields, derived ones (statuses) included: they are
    computed in Python by the layer's ``derive`` (:func:`_derived_values`: one read of the tile's rows,
    no geometry) and joined to the tile's statement by id as arrays, so only the statuses travel back.

    Below :data:`CLUSTER_BELOW_ZOOM` a point layer gives one feature per :data:`MVT_CELL` cell
    (``point_count``, and ``id`` when alone); so does a point or mixed layer (lines at their centroid)
    with over :data:`MAX_TILE_FEATURES` features in the tile at any zoom, which bounds a tile's size (at
    most (4096/64)² cells). Cells are a plain grid (:func:`_cells_sql`), read from the layer's
    ``count_source`` table when it holds every column the read needs (``columns_of``); below zoom 15, for the
    whole city with no filter, a layer declaring :attr:`Layer.cells` reads its per-cell counts kept by triggers
    instead (:func:`_stored_cells_sql`: the same features, at most 66 × 66 rows whatever the number of points).
    Below the layer's ``min_zoom`` the tile is empty.
    """
    return read_tiles(bind, [layer], profile, z, x, y, ward_id=ward_id, where=where, columns_of=columns_of)


def read_tiles(bind: db.Bind, chosen: Sequence[Layer], profile: Profile, z: int, x: int, y: int, *,
               ward_id: int | None = None, where: Mapping[str, Iterable[Any]] | None = None,
               columns_of: Callable[[str], frozenset[str]] | None = None) -> bytes:
    """One tile holding every ``chosen`` layer (:func:`read_tile` each; MVT layers concatenate).

    Few round trips whatever the number of layers: on one connection, the rows of a layer with derived
    fields are read first (one statement, which also tells whether its tile is crowded), then one
    statement makes every layer's MVT and concatenates them (whether a plain point layer's tile is
    crowded is found inside that statement, and only the branch it needs runs).
    """
    with db.read(bind) as conn:
        no_jit(bind, conn)
        parts: list[str] = []
        binds: dict[str, Any] = {}
        for i, layer in enumerate(chosen):
            part = _tile_part(conn, layer, profile, z, x, y, ward_id=ward_id, where=where, columns_of=columns_of)
            if part is not None:
                sql, found = _prefixed(*part, prefix=f"l{i}_")
                parts.append(f"coalesce(({sql}), ''::bytea)")
                binds.update(found)
        if not parts:
            return b""
        return bytes(conn.execute(sa.text(f"SELECT {' || '.join(parts)}"), binds).scalar() or b"")


#: a bind parameter as ``sqlalchemy.text()`` finds them (``:name``, not ``::type``)
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


def _prefixed(sql: str, binds: Mapping[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """``sql`` and ``binds`` with every bind renamed ``prefix`` + name (several layers in one statement)."""
    return _BIND.sub(lambda m: f":{prefix}{m.group(1)}", sql), {prefix + k: v for k, v in binds.items()}


def _tile_part(conn: Connection, layer: Layer, profile: Profile, z: int, x: int, y: int, *,
               ward_id: int | None, where: Mapping[str, Iterable[Any]] | None,
               columns_of: Callable[[str], frozenset[str]] | None) -> tuple[str, dict[str, Any]] | None:
    """A scalar SQL expression giving ``layer``'s MVT bytes in tile ``z/x/y``, and its binds (None: nothing)."""
    if z < layer.min_zoom:
        return None
    if layer.cells and layer.geometry_type == "Point" and z < CLUSTER_BELOW_ZOOM and ward_id is None and not where:
        return _stored_cells_sql(layer, profile, z, x, y)
    fields = profile_fields(layer, profile)
    derived_names = [f.name for f in fields if f.derived]
    stored_names = [f.name for f in fields if not f.derived]
    common = dict(profile=profile, ward_id=ward_id, bbox=tile_bounds(z, x, y, MVT_BUFFER / MVT_EXTENT),
                  bbox_srid=crs.WEB_MERCATOR, bbox_exact=False, where=where, datetime_range=None, srid=crs.WGS84,
                  lat_lon=False, repair=False, after=None, fid=None, sort=None)
    full = _statement(layer, columns=stored_names, geometry="mvt", **common)
    binds: dict[str, Any] = {"tz": int(z), "tx": int(x), "ty": int(y), "layer_name": layer.name, **full.binds}
    light = None
    if layer.geometry_type in ("Point", "Geometry"):  # id and geometry, from count_source when it has the columns
        light = _statement(layer, columns=[], geometry="raw", **common)
        ident = feature_id(layer, profile)[0]
        if layer.count_source and columns_of is not None \
                and light.used | {ident, layer.id_field} <= columns_of(layer.count_source):
            light = _statement(layer, columns=[], geometry="raw", source=layer.count_source, **common)
    # True: cells; False: every feature; None (a plain point layer): decided by the statement
    clustered: bool | None = None if light is not None else False
    if layer.geometry_type == "Point" and z < CLUSTER_BELOW_ZOOM:
        clustered = True
    joined: list[str] = []
    ids: list[str] | None = None
    values: list[list[str | None]] = []
    if layer.derive is not None and derived_names and not clustered:
        # the rows' statuses; more rows than MAX_TILE_FEATURES: a crowded tile, counted per cell
        read_n, ids, values = _derived_values(conn, layer, derived_names, common, crowd=light)
        clustered = light is not None and read_n > MAX_TILE_FEATURES
        if clustered:
            ids = None
        else:
            joined = derived_names
    if layer.derive is not None and full.derived and ids is None:  # cells of the rows a status filter keeps
        _, ids, values = _derived_values(conn, layer, [], common)
    if ids is not None and not ids:
        return None
    join = ""
    if ids is not None:
        arrays = ["CAST(:d_id AS text[])", *(f"CAST(:d_{i} AS text[])" for i in range(len(joined)))]
        binds["d_id"] = ids
        binds.update({f"d_{i}": column for i, column in enumerate(values[:len(joined)])})
        names = ", ".join(["__id", *(_q(n) for n in joined)])
        join = f" JOIN unnest({', '.join(arrays)}) AS d({names}) ON d.__id = s.{_q(layer.id_field)}::text"
    mvt = f"SELECT ST_AsMVT(t, :layer_name, {MVT_EXTENT}, '__mvt') FROM ({{}}) t"
    props = ["s.__fid AS id", *(f"s.{_q(n)}" for n in stored_names if n != "id"), *(f"d.{_q(n)}" for n in joined)]
    whole = mvt.format(f"SELECT {', '.join(props)}, s.__mvt FROM ({full.select}) s{join} WHERE s.__mvt IS NOT NULL")
    if light is None or clustered is False:
        return whole, binds
    binds.update(light.binds)
    cells = mvt.format(_cells_sql(layer, light.select, join, z, x, y, binds))
    if clustered:
        return cells, binds
    binds["cap"] = MAX_TILE_FEATURES + 1
    return (f"CASE WHEN (SELECT count(*) FROM ({light.select} LIMIT :cap) c) > {MAX_TILE_FEATURES} "
            f"THEN ({cells}) ELSE ({whole}) END"), binds


def _tile_scale(z: int, x: int, y: int) -> dict[str, float]:
    """Binds turning a longitude λ (degrees) and a Mercator ordinate t = ln tan(π/4 + φ/2) into tile ``z/x/y``'s
    coordinates: px = λ·ckx + cox, py = coy − t·cky (Web Mercator, EPSG:3857: x = R·λ, y = R·t)."""
    size = 2 * WEB_MERCATOR_HALF / (1 << z)
    scale = MVT_EXTENT / size
    radius = WEB_MERCATOR_HALF / np.pi
    x0, y1 = -WEB_MERCATOR_HALF + x * size, WEB_MERCATOR_HALF - y * size
    return {"ckx": radius * np.pi / 180 * scale, "cox": -x0 * scale, "cky": radius * scale, "coy": y1 * scale}


def _stored_cells_sql(layer: Layer, profile: Profile, z: int, x: int, y: int) -> tuple[str, dict[str, Any]]:
    """A clustered tile from the layer's per-cell counts (:attr:`Layer.cells`, kept by triggers, migration 0027):
    the same features as :func:`_cells_sql` (``point_count``, the ``id`` of a lone member, the point at the
    members' mean) from at most 66 × 66 stored cells (the tile's 64 a side and one cell of buffer around:
    :data:`MVT_BUFFER` is one :data:`MVT_CELL`), whatever the number of points. A lone member's id is the
    stored sum of ids, turned into the profile's feature id by one primary-key lookup."""
    per_tile = MVT_EXTENT // MVT_CELL
    ident = _q(feature_id(layer, profile)[0])
    table = _q(layer.count_source or layer.source)
    public = " AND public" if profile == "public" else ""
    binds: dict[str, Any] = {"layer_name": layer.name, "cz": int(z), **_tile_scale(z, x, y),
                             "cgx": list(range(x * per_tile - 1, (x + 1) * per_tile + 1)),
                             "cgy0": y * per_tile - 1, "cgy1": (y + 1) * per_tile}
    sql = (f"SELECT ST_AsMVT(t, :layer_name, {MVT_EXTENT}, '__mvt') FROM ("
           f"SELECT g.n AS point_count, CASE WHEN g.n = 1 THEN (SELECT {ident} FROM {table} "
           f"WHERE {_q(layer.id_field)} = g.sid) END AS id, "
           f"ST_MakePoint(round(g.sx / g.n * :ckx + :cox), round(:coy - g.sy / g.n * :cky)) AS __mvt FROM ("
           f"SELECT sum(n)::int AS n, sum(sx) AS sx, sum(sy) AS sy, sum(sid)::bigint AS sid FROM {_q(layer.cells)} "
           f"WHERE z = :cz AND gx = ANY(:cgx) AND gy BETWEEN :cgy0 AND :cgy1{public} GROUP BY gx, gy) g "
           f"WHERE g.n > 0) t")
    return sql, binds


def _cells_sql(layer: Layer, select: str, join: str, z: int, x: int, y: int, binds: dict[str, Any]) -> str:
    """The cells of a crowded or low-zoom tile: each row's tile coordinates from its lon/lat (Web Mercator,
    EPSG:3857: x = R·λ, y = R·ln tan(π/4 + φ/2)) within the buffered envelope (:data:`MVT_BUFFER` units past
    each edge, no further: the cells −1..64 a side that :func:`_stored_cells_sql` reads too), one point per
    :data:`MVT_CELL` cell at its members' mean, ``point_count`` and the ``id`` of a lone member."""
    binds.update(_tile_scale(z, x, y))
    lo, hi = -MVT_BUFFER, MVT_EXTENT + MVT_BUFFER  # the index's boxes (float4, rounded outwards) let a few more in
    point = "s.__geom" if layer.geometry_type == "Point" else "ST_Centroid(s.__geom)"
    # OFFSET 0 keeps the subquery: each row's coordinates computed once, not again in GROUP BY and avg()
    return (f"SELECT count(*)::int AS point_count, CASE WHEN count(*) = 1 THEN min(c.__fid) END AS id, "
            f"ST_MakePoint(round(avg(c.__px)), round(avg(c.__py))) AS __mvt FROM ("
            f"SELECT s.__fid, ST_X({point}) * :ckx + :cox AS __px, "
            f":coy - ln(tan(pi() / 4 + radians(ST_Y({point})) / 2)) * :cky AS __py "
            f"FROM ({select}) s{join} OFFSET 0) c "
            f"WHERE c.__px >= {lo} AND c.__px < {hi} AND c.__py >= {lo} AND c.__py < {hi} "
            f"GROUP BY floor(c.__px / {MVT_CELL}), floor(c.__py / {MVT_CELL})")


def _derived_values(conn: Connection, layer: Layer, names: Sequence[str], common: Mapping[str, Any],
                    crowd: _Statement | None = None) -> tuple[int, list[str], list[list[str | None]]]:
    """The ids of the tile's rows that pass its filters on derived fields and their derived ``names`` (as
    text), computed by the layer's ``derive`` from one read of the rows' ``derive_inputs`` (no geometry; dates
    as ``datetime64`` columns, which the status rules read without parsing each value).

    With ``crowd`` (the layer's light statement) the same statement first counts the tile's rows, up to
    :data:`MAX_TILE_FEATURES` + 1, and reads them only when there are no more than that: the count comes
    first, then the ids and values (none for a crowded tile, whose rows are never read). Without it the
    count is the number of rows read."""
    inputs = layer.derive_inputs or [f.name for f in layer.stored_fields if not f.personal]
    st = _statement(layer, columns=inputs, geometry="none", **common)
    sql, binds = st.select, dict(st.binds)
    if crowd is not None:  # the rows are read only when the count (a one-time filter) lets them
        binds.update(crowd.binds, cap=MAX_TILE_FEATURES + 1)
        sql = (f"WITH c AS MATERIALIZED (SELECT count(*) AS n FROM ({crowd.select} LIMIT :cap) x) "
               f"SELECT r.*, (SELECT n FROM c) AS __crowd FROM (SELECT 1) one LEFT JOIN "
               f"(SELECT * FROM ({sql}) q WHERE (SELECT n FROM c) <= {MAX_TILE_FEATURES}) r ON true")
    frame = _bulk_frame(conn.execute(sa.text(sql), binds))
    read_n = len(frame)
    if crowd is not None:
        read_n = int(frame["__crowd"].iloc[0])
        frame = frame[frame["__fid"].notna()].drop(columns="__crowd")
    if frame.empty:
        return read_n, [], []
    for f in layer.stored_fields:
        if f.kind == "date" and f.name in frame:
            frame[f.name] = np.asarray(frame[f.name].to_numpy(), dtype="datetime64[D]")
    frame = _filter_derived(layer.derive(frame), st.derived)
    ids = [str(v) for v in frame[layer.id_field]]
    return read_n, ids, [[None if v is None or v != v else str(v) for v in frame[n]] for n in names]


def source_tables(bind: db.Bind, source: str) -> tuple[frozenset[str], bool]:
    """The tables ``source`` (a table or a view) reads, through views' dependencies, and whether every one
    of them is watched by the ``tile_change`` trigger (migration 0019)."""
    rows = db.rows(bind, """
WITH RECURSIVE deps(oid) AS (
    SELECT to_regclass(:source)::oid
    UNION
    SELECT d.refobjid FROM deps JOIN pg_rewrite r ON r.ev_class = deps.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> deps.oid
)
SELECT c.relname AS name,
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'tile_change') AS watched
FROM deps JOIN pg_class c ON c.oid = deps.oid WHERE c.relkind IN ('r', 'p')""", {"source": source})
    return frozenset(r["name"] for r in rows), all(r["watched"] for r in rows) and bool(rows)


def change_count(bind: db.Bind, tables: Iterable[str]) -> int:
    """The number of writing statements committed on ``tables`` (the ``tile_change`` log): it changes
    whenever a write to one of them becomes visible, the tile cache's key."""
    return int(db.scalar(bind, "SELECT coalesce(sum(weight), 0) FROM tile_change WHERE table_name = ANY(:t)",
                         {"t": sorted(tables)}) or 0)
# --------------------------------------------------------------------------------------------------
# CQL2 filters (OGC API – Features Part 3): a parsed expression (pygeofilter's AST, parsed and
# bounded in :mod:`geomap.ogc.cql2`) as one parameterised WHERE clause. Only the profile's stored
# fields and the layer's geometry can be named; every identifier in the SQL comes from the layer
# declaration, never from the filter's text, and every value is a bound parameter.

class FilterError(ValueError):
    """A filter the reader refuses (unknown or personal field, wrong type, unsupported operator)."""


@dataclass(frozen=True)
class Filter:
    """A compiled filter: the clause, its binds (named ``c0``, ``c1``...) and the columns it reads."""

    sql: str
    binds: dict[str, Any]
    used: frozenset[str]


#: the names a filter may give the layer's geometry (besides its column's own name)
GEOMETRY_NAMES = ("geometry", "geom", "the_geom", "shape")
_COMPARISONS = {"Equal": "=", "NotEqual": "<>", "LessThan": "<", "LessEqual": "<=", "GreaterThan": ">",
                "GreaterEqual": ">="}
_MIRRORED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL = {"GeometryIntersects": "ST_Intersects({g}, {x})", "GeometryDisjoint": "ST_Disjoint({g}, {x})",
            "GeometryContains": "ST_Contains({g}, {x})", "GeometryWithin": "ST_Within({g}, {x})",
            "GeometryTouches": "ST_Touches({g}, {x})", "GeometryCrosses": "ST_Crosses({g}, {x})",
            "GeometryOverlaps": "ST_Overlaps({g}, {x})", "GeometryEquals": "ST_Equals({g}, {x})"}


def queryable_fields(layer: Layer, profile: Profile) -> tuple[Field, ...]:
    """The fields a filter may name for ``profile``: its stored fields (statuses are computed in Python)."""
    return tuple(f for f in profile_fields(layer, profile) if not f.derived)


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().strip('"').strip().casefold()


class _Compiler:
    """Walks a pygeofilter AST (depth already bounded by the caller) into SQL with bound parameters."""

    def __init__(self, layer: Layer, profile: Profile, srid: int, lat_lon: bool):
        self.layer, self.profile, self.srid, self.lat_lon = layer, profile, int(srid), lat_lon
        self.binds: dict[str, Any] = {}
        self.used: set[str] = set()
        self.allowed = {f.name: f for f in queryable_fields(layer, profile)}
        self.every = {_folded(f.name): f for f in layer.fields}

    # -- names and values --------------------------------------------------------------------------
    def bind(self, value: Any) -> str:
        key = f"c{len(self.binds)}"
        self.binds[key] = value
        return f":{key}"

    def is_geometry(self, node: Any) -> bool:
        return isinstance(node, cql_ast.Attribute) and _folded(node.name) in {
            *GEOMETRY_NAMES, _folded(self.layer.geometry_column)}

    def field(self, node: Any) -> Field:
        if not isinstance(node, cql_ast.Attribute):
            raise FilterError(f"expected a property name, found {_show(node)}.")
        f = self.every.get(_folded(node.name))
        if f is not None and f.personal and self.profile == "public":
            raise FilterError(f"'{node.name}' is personal data: the public profile cannot filter on it.")
        if f is None or f.name not in self.allowed:
            if f is not None and f.derived and f.name in {g.name for g in profile_fields(self.layer, self.profile)}:
                raise FilterError(f"'{node.name}' is computed, not stored: filter on it with {f.name}=value "
                                  f"(a property filter) instead of CQL2.")
            raise FilterError(f"'{node.name}' is not a queryable of '{self.layer.name}'; see its /queryables: "
                              f"{', '.join(sorted(self.allowed))}.")
        self.used.add(f.name)
        return f

    def value(self, f: Field, raw: Any) -> Any:
        """A literal as ``f``'s type (refused when it cannot be one)."""
        if isinstance(raw, cql_ast.Node) or isinstance(raw, list):
            raise FilterError(f"{f.name}: expected a literal value, found {_show(raw)}.")
        kind = "text" if f.kind == "list" else f.kind
        try:
            if kind == "text":
                if not isinstance(raw, str):
                    raise TypeError
                return raw
            if kind in ("int", "float"):
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    raise TypeError
                if isinstance(raw, float) and not np.isfinite(raw):
                    raise TypeError
                if kind == "int" and isinstance(raw, int) and abs(raw) > 2**63 - 1:
                    raise FilterError(f"{f.name}: {raw} is beyond a 64-bit whole number.")
                return raw
            if kind == "bool":
                if not isinstance(raw, bool):
                    raise TypeError
                return raw
            if kind == "date":
                if isinstance(raw, dt.datetime):
                    return raw.date()
                if isinstance(raw, dt.date):
                    return raw
                return dt.date.fromisoformat(str(raw))
            if kind == "datetime":
                return _cql_instant(raw)
        except (TypeError, ValueError, OverflowError):
            pass
        raise FilterError(f"{f.name}: {_show(raw)} is not a {f.kind} value.")

    def operand(self, node: Any) -> tuple[str, Field]:
        """A property (or CASEI of one) as SQL, with its field."""
        if isinstance(node, cql_ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            f = self.field(node.arguments[0])
            if f.kind != "text":
                raise FilterError(f"CASEI applies to text; {f.name} is {f.kind}.")
            return f"lower({_q(f.name)})", f
        return _q(self.field(node).name), self.field(node)

    def literal(self, f: Field, node: Any, casei: bool) -> str:
        if isinstance(node, cql_ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            return f"lower({self.bind(self.value(f, node.arguments[0]))})"
        return f"lower({self.bind(self.value(f, node))})" if casei else self.bind(self.value(f, node))

    def geometry(self, node: Any) -> str:
        """A geometry literal (GeoJSON/WKT, BBOX or ENVELOPE) in the filter's CRS, as SQL in EPSG:4326."""
        try:
            if isinstance(node, cql_ast.Function) and node.name == "bbox" and len(node.arguments) in (4, 6):
                nums = [float(v) for v in node.arguments]
                x1, y1, x2, y2 = nums if len(nums) == 4 else (nums[0], nums[1], nums[3], nums[4])
                shape = shapely.box(x1, y1, x2, y2)
            elif isinstance(node, (cql_values.Geometry, cql_values.Envelope)):
                shape = shapely.geometry.shape(node.__geo_interface__)
            else:
                raise FilterError(f"expected a geometry, found {_show(node)}.")
        except (TypeError, ValueError, KeyError, IndexError, shapely.errors.ShapelyError) as exc:
            raise FilterError(f"the geometry cannot be read ({exc}).") from None
        if shape.is_empty or not np.isfinite(shapely.get_coordinates(shape)).all():
            raise FilterError("the geometry is empty or has coordinates that are not finite numbers.")
        if self.lat_lon:
            shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
        if self.srid != crs.WGS84:  # inside the projection's domain, or PostGIS's ST_Transform would fail
            xy = shapely.get_coordinates(shape)
            try:
                lons, lats = crs.transformer(self.srid, crs.WGS84).transform(xy[:, 0], xy[:, 1], errcheck=True)
                inside = bool(np.isfinite(lons).all() and np.isfinite(lats).all() and (np.abs(lats) <= 90).all())
            except Exception:  # noqa: BLE001 (pyproj's ProjError, or a transformation PROJ cannot build)
                inside = False
            if not inside:
                raise FilterError(f"the geometry lies outside the domain of {crs.uri(self.srid)}.")
        sql = f"ST_GeomFromText({self.bind(shape.wkt)}, {self.srid})"
        return sql if self.srid == crs.WGS84 else f"ST_Transform({sql}, {crs.WGS84})"

    # -- the walk ----------------------------------------------------------------------------------
    def sql(self, node: Any) -> str:  # noqa: C901 (one branch per operator family)
        kind = type(node).__name__
        if isinstance(node, (cql_ast.And, cql_ast.Or)):
            return f"({self.sql(node.lhs)} {'AND' if isinstance(node, cql_ast.And) else 'OR'} {self.sql(node.rhs)})"
        if isinstance(node, cql_ast.Not):
            return f"(NOT {self.sql(node.sub_node)})"
        if isinstance(node, cql_ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if kind in _COMPARISONS:
            op, lhs, rhs = _COMPARISONS[kind], node.lhs, node.rhs
            if not _is_property(lhs) and _is_property(rhs):
                op, lhs, rhs = _MIRRORED[op], rhs, lhs
            col, f = self.operand(lhs)
            if _is_property(rhs):  # property against property: same kind only
                other, g = self.operand(rhs)
                if {f.kind, g.kind} - {"int", "float"} and f.kind != g.kind or "list" in (f.kind, g.kind):
                    raise FilterError(f"{f.name} ({f.kind}) and {g.name} ({g.kind}) cannot be compared.")
                return f"{col} {op} {other}"
            if f.kind == "list":
                if op not in ("=", "<>"):
                    raise FilterError(f"{f.name} is a list: compare it with = or <> (holds / does not hold).")
                held = f"{self.bind(self.value(f, rhs))} = ANY({col})"
                return held if op == "=" else f"NOT coalesce({held}, FALSE)"
            return f"{col} {op} {self.literal(f, rhs, col.startswith('lower('))}"
        if isinstance(node, cql_ast.Between):
            col, f = self.operand(node.lhs)
            self.scalar(f)
            return (f"{col} {'NOT ' if node.not_ else ''}BETWEEN {self.literal(f, node.low, False)} "
                    f"AND {self.literal(f, node.high, False)}")
        if isinstance(node, cql_ast.Like):
            col, f = self.operand(node.lhs)
            if f.kind != "text":
                raise FilterError(f"LIKE applies to text; {f.name} is {f.kind}.")
            pattern = node.pattern
            if isinstance(pattern, cql_ast.Function) and pattern.name == "lower" and len(pattern.arguments) == 1:
                pattern = pattern.arguments[0]  # CASEI('%phở%')
            if not isinstance(pattern, str):
                raise FilterError(f"LIKE needs a text pattern, found {_show(node.pattern)}.")
            op = "ILIKE" if node.nocase else "LIKE"
            return f"{col} {'NOT ' if node.not_ else ''}{op} {self.literal(f, pattern, col.startswith('lower('))}"
        if isinstance(node, cql_ast.In):
            col, f = self.operand(node.lhs)
            self.scalar(f)
            if not node.sub_nodes:
                raise FilterError("IN needs at least one value.")
            items = ", ".join(self.literal(f, v, col.startswith("lower(")) for v in node.sub_nodes)
            return f"{col} {'NOT ' if node.not_ else ''}IN ({items})"
        if isinstance(node, cql_ast.IsNull):
            if self.is_geometry(node.lhs):
                self.used.add(self.layer.geometry_column)
                return f"{_q(self.layer.geometry_column)} IS {'NOT ' if node.not_ else ''}NULL"
            col, _ = self.operand(node.lhs)
            return f"{col} IS {'NOT ' if node.not_ else ''}NULL"
        if kind in _SPATIAL or isinstance(node, cql_ast.BBox):
            lhs, rhs = (node.lhs, node.rhs) if kind in _SPATIAL else (node.lhs, None)
            if rhs is not None and not self.is_geometry(lhs) and self.is_geometry(rhs):
                lhs, rhs = rhs, lhs
                kind = {"GeometryContains": "GeometryWithin", "GeometryWithin": "GeometryContains"}.get(kind, kind)
            if not self.is_geometry(lhs):
                raise FilterError(f"spatial operators compare the layer's geometry ('geometry'), found {_show(lhs)}.")
            if isinstance(node, cql_ast.BBox):
                rhs = cql_ast.Function("bbox", [node.minx, node.miny, node.maxx, node.maxy])
            self.used.add(self.layer.geometry_column)
            template = _SPATIAL.get(kind, _SPATIAL["GeometryIntersects"])
            return template.format(g=_q(self.layer.geometry_column), x=self.geometry(rhs))
        if isinstance(node, cql_ast.TemporalPredicate):
            return f"({self.temporal(node)})"
        if not isinstance(node, cql_ast.Node) or isinstance(node, cql_ast.Attribute):
            raise FilterError(f"expected a condition, found {_show(node)}.")
        raise FilterError(f"{kind} is not offered by this service (see /ogc/conformance).")

    def scalar(self, f: Field) -> None:
        if f.kind == "list":
            raise FilterError(f"{f.name} is a list: use = (holds) or IS NULL.")

    def temporal(self, node: Any) -> str:
        """Temporal operators on an instant field (date or date-time) against an instant or an interval."""
        lhs, rhs = node.lhs, node.rhs
        if not _is_property(lhs) and _is_property(rhs):
            raise FilterError("put the property first in a temporal comparison.")
        col, f = self.operand(lhs)
        if f.kind not in ("date", "datetime"):
            raise FilterError(f"temporal operators apply to dates and times; {f.name} is {f.kind}.")
        if isinstance(rhs, cql_values.Interval):
            lo, hi = rhs.start, rhs.end
            if isinstance(lo, dt.timedelta) or isinstance(hi, dt.timedelta):
                raise FilterError("intervals with durations are not offered; give both ends (or '..').")
        elif isinstance(rhs, list) and len(rhs) == 2:
            lo, hi = rhs
        else:
            lo = hi = rhs
        start = None if lo in (None, "..") else self.bind(self.value(f, lo))
        end = None if hi in (None, "..") else self.bind(self.value(f, hi))
        inside = " AND ".join([*([f"{col} >= {start}"] if start else []), *([f"{col} <= {end}"] if end else [])])
        inside = inside or f"{col} IS NOT NULL"
        if isinstance(node, cql_ast.TimeBefore):
            return f"{col} < {start}" if start else "FALSE"
        if isinstance(node, cql_ast.TimeAfter):
            return f"{col} > {end}" if end else "FALSE"
        if isinstance(node, cql_ast.TimeEquals):
            if lo is not hi:
                raise FilterError(f"T_EQUALS compares {f.name}, an instant, with an instant, not an interval.")
            return f"{col} = {start}"
        # T_INTERSECTS (pygeofilter reads it as its overlaps) and T_DURING
        if isinstance(node, (cql_ast.TimeOverlaps, cql_ast.TimeDuring)):
            if isinstance(node, cql_ast.TimeDuring):
                return " AND ".join([*([f"{col} > {start}"] if start else []), *([f"{col} < {end}"] if end else [])]) \
                    or f"{col} IS NOT NULL"
            return f"({inside})"
        if isinstance(node, cql_ast.TimeDisjoint):
            return f"NOT coalesce(({inside}), TRUE)"
        raise FilterError(f"{node.op.value} does not apply to an instant such as {f.name}; use T_BEFORE, "
                          f"T_AFTER, T_EQUALS, T_DURING, T_INTERSECTS or T_DISJOINT.")


def _cql_instant(raw: Any) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        moment = raw
    elif isinstance(raw, dt.date):
        moment = dt.datetime.combine(raw, dt.time())
    elif isinstance(raw, str):
        # a date alone (GDAL's OAPIF driver sends one as '2026-08-01T') is its first instant
        moment = dt.datetime.fromisoformat(raw.strip().rstrip("Tt").replace("Z", "+00:00"))
    else:
        raise TypeError
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _is_property(node: Any) -> bool:
    return isinstance(node, cql_ast.Attribute) or (isinstance(node, cql_ast.Function) and node.name == "lower"
                                                  and len(node.arguments) == 1
                                                  and isinstance(node.arguments[0], cql_ast.Attribute))


def _show(node: Any) -> str:
    text = repr(node)
    return text if len(text) <= 60 else text[:57] + "..."


def compile_filter(layer: Layer, profile: Profile, node: Any, *, srid: int = crs.WGS84,
                   lat_lon: bool = False) -> Filter:
    """A parsed CQL2 expression as a WHERE clause on ``layer``'s queryable fields for ``profile``.

    ``srid``/``lat_lon``: the CRS of the filter's geometries (``filter-crs``). Raises
    :class:`FilterError` for a personal field in the public profile (whatever its spelling: quotes,
    case, Unicode compatibility forms), a field that is not queryable, a value of the wrong type or
    an operator the service does not offer.
    """
    compiler = _Compiler(layer, profile, srid, lat_lon)
    return Filter(sql=compiler.sql(node), binds=compiler.binds, used=frozenset(compiler.used))
