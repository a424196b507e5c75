"""OGC API – Features (Part 1 core, GeoJSON, HTML; Part 2 CRS) over the layer registry, at ``/ogc``.

Why not pygeoapi: its PostgreSQL provider maps one table to one collection with all its
columns, and knows neither our registry profiles (public vs internal fields, personal data)
nor derived fields (licence and food-safety statuses computed in Python); wrapping it
would mean a YAML file repeating the registry and a second web framework in the service.
The standard's surface is small, so it is implemented here directly on the registry:
collections are the registry's layers, properties a profile's fields.

Every items page is one SQL statement: filters (bbox, datetime, properties), ``ST_Transform``
to the requested CRS, validity repair, ``LIMIT``/``OFFSET`` and the matched count all run
in the database. The public profile needs no sign-in; an ``X-API-Key`` whose scopes include
``ogc:internal`` (table ``api_key``, SHA-256 of the key) opens the internal profile.

Feature ids: the internal profile uses the database id; the public profile never shows it
(public file exports drop it too: sequential ids tell how many records exist and in which
order they were made). It uses the layer's public code instead (``Layer.public_id_field``:
establishment code, report id, ward slug...) or, for a layer without a code of its own, a
stored random ``public_id`` (16 hex digits drawn by the database, not derived from the id);
a layer without a public id is not served in the public profile. Every such column has a
unique index: pages are ordered by it, ``next`` links page by it (keyset) and single items
are read through it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import html
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine

import layers as layer_registry
from geomap import crs
from geomap.accounts import apikeys
from geomap.export.selection import profile_fields
from geomap.web.deps import get_engine
from layers.base import Field, Layer

PREFIX = "/ogc"
router = APIRouter(prefix=PREFIX, tags=["OGC API – Features"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
SCOPE_INTERNAL = "ogc:internal"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    # not the OpenAPI 3.0 class: FastAPI describes the service in OpenAPI 3.1 (linked as such)
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
STANDARD_PARAMS = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "after"}
GEOJSON = "application/geo+json"
_EXTENT_TTL_S = 300.0
_extent_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_COUNT_TTL_S = 300.0
_count_cache: dict[tuple[Any, ...], tuple[float, int]] = {}
_columns_cache: dict[tuple[str, str], frozenset[str]] = {}


class OGCError(Exception):
    """An OGC API exception: HTTP status, a code and one sentence for the caller."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "description": self.description}, status_code=self.status)


# --- access, formats, links ---------------------------------------------------------------------


def profile_for(request: Request, engine: Engine) -> str:
    """``internal`` for a valid ``X-API-Key`` with scope ogc:internal, ``public`` without a key."""
    key = request.headers.get("x-api-key")
    if not key:
        return "public"
    if apikeys.check(engine, key, SCOPE_INTERNAL) is None:
        raise OGCError(401, "InvalidApiKey", "The X-API-Key is unknown, revoked or lacks the ogc:internal scope; "
                                             "leave it out for the public profile.")
    return "internal"


def collections_for(profile: str) -> dict[str, Layer]:
    return {name: layer for name, layer in layer_registry.registry().items()
            if profile == "internal" or (layer.publishable and layer.public_id_field)}


def _layer(collection_id: str, profile: str) -> Layer:
    found = collections_for(profile).get(collection_id)
    if found is None:
        raise OGCError(404, "NotFound", f"There is no collection '{collection_id}'; see {PREFIX}/collections.")
    return found


def _wants_html(request: Request) -> bool:
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise OGCError(400, "InvalidParameterValue", f"f={f} is not offered; use f=json or f=html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept.split(",")[0]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _self_links(request: Request, json_type: str = "application/json") -> list[dict[str, str]]:
    params = {k: v for k, v in request.query_params.items() if k != "f"}
    url = str(request.url.replace(query=""))
    as_json = url + "?" + urlencode({**params, "f": "json"})
    as_html = url + "?" + urlencode({**params, "f": "html"})
    html_wanted = request.query_params.get("f") == "html"
    return [_link(as_html if html_wanted else as_json, "self", "text/html" if html_wanted else json_type),
            _link(as_json if html_wanted else as_html, "alternate", json_type if html_wanted else "text/html")]


def offered_srids(engine: Engine) -> list[int]:
    """CRS84/WGS84 and the local grid of every loaded ward (EPSG:5899 for Đà Nẵng)."""
    with engine.connect() as c:
        local = {int(s) for s in c.execute(sa.text("SELECT DISTINCT local_srid FROM ward")).scalars()}
    return [crs.WGS84, *sorted(local - {crs.WGS84})]


def _crs_list(srids: Sequence[int]) -> list[str]:
    return [crs.CRS84_URI, *(crs.uri(s) for s in srids)]


def _extent(engine: Engine, layer: Layer) -> dict[str, Any]:
    """The collection's spatial (CRS84) and temporal extent, cached for a few minutes."""
    key = (str(engine.url), layer.name)
    hit = _extent_cache.get(key)
    if hit and time.monotonic() - hit[0] < _EXTENT_TTL_S:
        return hit[1]
    g = _q(layer.geometry_column)
    with engine.connect() as c, c.begin():
        c.execute(sa.text("SET LOCAL jit = off"))
        row = c.execute(sa.text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e){', t0, t1' if layer.temporal_field else ''} "
            f"FROM (SELECT ST_Extent({g}) e{_temporal_cols(layer)} FROM {_q(layer.source)}) s")).one()
    extent: dict[str, Any] = {}
    if row[0] is not None:
        extent["spatial"] = {"bbox": [[round(float(v), 7) for v in row[:4]]], "crs": crs.CRS84_URI}
    if layer.temporal_field:
        extent["temporal"] = {"interval": [[_iso(row[4]), _iso(row[5])]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    _extent_cache[key] = (time.monotonic(), extent)
    return extent


def _temporal_cols(layer: Layer) -> str:
    if not layer.temporal_field:
        return ""
    t = _q(layer.temporal_field)
    return f", min({t}) t0, max({t}) t1"


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return _iso(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


# --- parameters --------------------------------------------------------------------------------


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OGCError(400, "InvalidParameterValue", f"{name}={raw!r} is not a whole number.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise OGCError(400, "InvalidParameterValue", f"{name}={value} is out of range; it must be {bound}.")
    return value


def _crs_param(params: Mapping[str, str], name: str, offered: Sequence[int]) -> tuple[int, bool]:
    """(srid, lat/lon axis order?) of a ``crs``/``bbox-crs`` value; CRS84 by default (lon/lat)."""
    raw = params.get(name)
    if not raw:
        return crs.WGS84, False
    try:
        srid = crs.parse(raw, set(offered))
    except crs.InvalidCRS as exc:
        offered_uris = ", ".join(_crs_list(offered))
        raise OGCError(400, "InvalidParameterValue", f"{name}: {exc.en} Offered: {offered_uris}.") from None
    is_crs84 = raw.strip() in (crs.CRS84_URI, "OGC:CRS84", "CRS84")
    return srid, (not is_crs84) and crs.is_lat_lon(srid)


def _bbox_param(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise OGCError(400, "InvalidParameterValue",
                       f"bbox={raw!r} is malformed; give four numbers: minx,miny,maxx,maxy.") from None
    if len(values) == 6:  # with heights: keep x/y
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise OGCError(400, "InvalidParameterValue",
                       f"bbox={raw!r} is malformed; give four numbers: minx,miny,maxx,maxy.")
    if values[1] > values[3] or values[0] > values[2]:
        raise OGCError(400, "InvalidParameterValue", f"bbox={raw!r}: the minimum is larger than the maximum.")
    return values[0], values[1], values[2], values[3]


def _instant(text: str, end: bool) -> dt.datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:  # a date: the whole day
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), tzinfo=dt.UTC)
            return moment - dt.timedelta(microseconds=1) if end else moment
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise OGCError(400, "InvalidParameterValue",
                       f"datetime: {text!r} is not an RFC 3339 date-time (e.g. 2026-01-31T08:00:00Z).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _datetime_param(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    if raw is None:
        return None
    if "/" in raw:
        start, _, end = raw.partition("/")
        lo, hi = _instant(start, False), _instant(end, True)
        if lo is None and hi is None:
            raise OGCError(400, "InvalidParameterValue", "datetime=../.. does not restrict anything; give one end.")
        if lo and hi and lo > hi:
            raise OGCError(400, "InvalidParameterValue", f"datetime={raw}: the start is after the end.")
        return lo, hi
    if len(raw.strip()) == 10:
        return _instant(raw, False), _instant(raw, True)
    moment = _instant(raw, False)
    return moment, moment


def _property_value(f: Field, raw: str) -> Any:
    try:
        if f.kind == "int":
            return int(raw)
        if f.kind == "float":
            return float(raw)
        if f.kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return raw.lower() in ("true", "1")
        if f.kind == "date":
            return dt.date.fromisoformat(raw)
        if f.kind == "datetime":
            return _instant(raw, False)
    except ValueError:
        raise OGCError(400, "InvalidParameterValue", f"{f.name}={raw!r} is not a valid {f.kind}.") from None
    return raw


# --- the items query --------------------------------------------------------------------------


def feature_id_sql(layer: Layer, profile: str) -> tuple[str, bool]:
    """The SQL expression of the feature id for ``profile`` and whether it is text.

    Internal: the database id. Public: the layer's public code or stored random id
    (``public_id_field``, a uniquely indexed column), so the sequential id never shows.
    """
    if profile == "internal":
        return _q(layer.id_field), False
    if not layer.public_id_field:
        raise ValueError(f"layer {layer.name!r} has no public_id_field: it is not served in the public profile")
    return _q(layer.public_id_field), True


def _columns_of(engine: Engine, table: str) -> frozenset[str]:
    """The column names of ``table`` (cached for the life of the process)."""
    key = (str(engine.url), table)
    if key not in _columns_cache:
        with engine.connect() as c:
            _columns_cache[key] = frozenset(c.execute(sa.text(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attnum > 0 "
                "AND NOT attisdropped"), {"t": table}).scalars())
    return _columns_cache[key]


def _count_source(engine: Engine, layer: Layer, used: set[str]) -> str:
    """What to count ``numberMatched`` from: the layer's ``count_source`` table when every filtered
    column is one of its columns (one row per feature, same values), else the source itself.

    ``establishment_overview`` joins four per-row lookups (licences, last inspection, stall):
    counting 100,000 rows through it takes over a second, counting the table a few milliseconds.
    """
    if layer.count_source and used <= _columns_of(engine, layer.count_source):
        return _q(layer.count_source)
    return _q(layer.source)


def query_items(
    engine: Engine,
    layer: Layer,
    profile: str,
    *,
    srid: int = crs.WGS84,
    lat_lon: bool = False,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_srid: int = crs.WGS84,
    datetime_range: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    properties: Mapping[str, str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    after: int | str | None = None,
    fid: int | str | None = None,
) -> tuple[list[dict[str, Any]], int | None, bool]:
    """GeoJSON features of ``layer`` for ``profile``, the number matched (None: not counted) and
    whether more follow, in one statement.

    Pages are ordered by the feature id of ``profile`` (:func:`feature_id_sql`); ``after``
    (the last id of the previous page, what the ``next`` links carry) is keyset paging, which
    stays fast at any depth, while a deep ``offset`` makes the database walk all the rows
    before it. Counting a view with per-row lookups (establishment_overview) is slow at city
    scale, so the count comes from the layer's ``count_source`` table when the filters allow
    (:func:`_count_source`), and the count of a filter is kept for a few minutes so the
    following pages skip it.
    """
    fields = profile_fields(layer, profile)
    by_name = {f.name: f for f in fields}
    stored = [f.name for f in fields if not f.derived]
    g = _q(layer.geometry_column)
    geom = f"CASE WHEN ST_IsValid({g}) THEN {g} ELSE ST_MakeValid({g}) END"
    if srid != crs.WGS84:
        geom = f"ST_Transform({geom}, {int(srid)})"
    if lat_lon:
        geom = f"ST_FlipCoordinates({geom})"
    digits = 7 if srid == crs.WGS84 else 3
    where, binds = ["TRUE"], {}
    used: set[str] = set()  # the columns the filters read (for the count)
    ident, text_id = feature_id_sql(layer, profile)
    if fid is not None:
        where.append(f"{ident} = :fid")
        binds["fid"] = str(fid) if text_id else int(fid)
    if bbox is not None:
        x1, y1, x2, y2 = bbox  # x = lon/easting (axis order already normalised by the caller)
        env = "ST_MakeEnvelope(:bx1, :by1, :bx2, :by2, :bsrid)"
        if bbox_srid != crs.WGS84:
            env = f"ST_Transform({env}, 4326)"
        where.append(f"{g} && {env} AND ST_Intersects({g}, {env})")
        binds.update(bx1=x1, by1=y1, bx2=x2, by2=y2, bsrid=int(bbox_srid))
        used.add(layer.geometry_column)
    if datetime_range is not None:
        if not layer.temporal_field:
            raise OGCError(400, "InvalidParameterValue", f"Collection '{layer.name}' has no time field for datetime.")
        lo, hi = datetime_range
        t = _q(layer.temporal_field)
        used.add(layer.temporal_field)
        if lo is not None:
            where.append(f"{t} >= :t0")
            binds["t0"] = lo
        if hi is not None:
            where.append(f"{t} <= :t1")
            binds["t1"] = hi
    derived_filters = {}
    for i, (name, raw) in enumerate((properties or {}).items()):
        f = by_name[name]
        if f.derived:
            derived_filters[name] = raw
            continue
        binds[f"p{i}"] = _property_value(f, raw)
        where.append(f":p{i} = ANY({_q(name)})" if f.kind == "list" else f"{_q(name)} = :p{i}")
        used.add(name)
    source = _q(layer.source)
    matching = " AND ".join(where)
    count_key = (str(engine.url), layer.source, matching, tuple(sorted((k, repr(v)) for k, v in binds.items())))
    if after is not None:
        where.append(f"{ident} > :after")
        binds["after"] = str(after) if text_id else int(after)
    cols = ", ".join(_q(c) for c in [layer.id_field, *[s for s in stored if s != layer.id_field]])
    base = f"SELECT {cols}, {ident} AS __fid, ST_AsGeoJSON({geom}, {digits}, 0) AS __geometry FROM {source} " \
           f"WHERE {' AND '.join(where)}"
    matched: int | None = None
    if derived_filters:
        # statuses are computed in Python: filter the whole match, then page (still one statement)
        sql = f"{base} ORDER BY {ident}"
    else:
        matched = None if fid is not None else _cached_count(count_key)
        sql = f"{base} ORDER BY {ident} LIMIT :limit_plus_one OFFSET :offset"
        binds.update(limit_plus_one=limit + 1, offset=offset)
        if matched is None and fid is None:
            # the count rides along in the same statement (one round trip), also for an empty page
            counted = _count_source(engine, layer, used)
            sql = (f"SELECT page.*, m.__matched FROM (SELECT count(*) AS __matched FROM {counted} WHERE {matching}) m "
                   f"LEFT JOIN ({sql}) page ON true ORDER BY page.__fid")
    with engine.connect() as c, c.begin():
        c.execute(sa.text("SET LOCAL jit = off"))  # short OLTP statements: JIT compilation only costs time
        rows = c.execute(sa.text(sql), binds).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows])
    if "__matched" in frame:
        matched = int(frame["__matched"].iloc[0])
        _count_cache[count_key] = (time.monotonic(), matched)
        frame = frame[frame["__fid"].notna()]
    if frame.empty:
        frame = pd.DataFrame(columns=[layer.id_field, *stored, "__fid", "__geometry"])
    if layer.derive is not None and len(frame):
        frame = layer.derive(frame)
    if derived_filters:
        for name, raw in derived_filters.items():
            frame = frame[frame[name].astype(str) == raw]
        if after is None:
            matched = len(frame)
        frame = frame.iloc[offset: offset + limit + 1]
    has_more = len(frame) > limit
    frame = frame.iloc[:limit]
    names = [f.name for f in fields]
    features = []
    for rec in frame.to_dict("records"):
        geometry = rec.get("__geometry")
        features.append({
            "type": "Feature",
            "id": _json_value(rec["__fid"]),
            "geometry": json.loads(geometry) if geometry else None,
            "properties": {n: _json_value(rec.get(n)) for n in names},
        })
    return features, matched, has_more


def _cached_count(key: tuple[Any, ...]) -> int | None:
    hit = _count_cache.get(key)
    if hit and time.monotonic() - hit[0] < _COUNT_TTL_S:
        return hit[1]
    if len(_count_cache) > 512:
        _count_cache.clear()
    return None


def _items_params(request: Request, layer: Layer, profile: str, offered: Sequence[int]) -> dict[str, Any]:
    params = request.query_params
    fields = {f.name for f in profile_fields(layer, profile)}
    unknown = [k for k in params if k not in STANDARD_PARAMS and k not in fields]
    if unknown:
        raise OGCError(400, "InvalidParameterValue",
                       f"Unknown parameter(s) {', '.join(unknown)}; the properties of '{layer.name}' you may filter "
                       f"on are: {', '.join(sorted(fields))}.")
    srid, lat_lon = _crs_param(params, "crs", offered)
    bbox_srid, bbox_lat_lon = _crs_param(params, "bbox-crs", offered)
    if "bbox-crs" in params and "bbox" not in params:
        raise OGCError(400, "InvalidParameterValue", "bbox-crs was given without bbox.")
    bbox = _bbox_param(params.get("bbox"))
    if bbox is not None and bbox_lat_lon:
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    after: int | str | None = params.get("after") or None
    if after is not None and not feature_id_sql(layer, profile)[1]:
        after = _int_param(params, "after", 0, 0, None)
    return {
        "srid": srid, "lat_lon": lat_lon, "bbox": bbox, "bbox_srid": bbox_srid,
        "datetime_range": _datetime_param(params.get("datetime")),
        "properties": {k: v for k, v in params.items() if k in fields},
        "limit": _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        "offset": _int_param(params, "offset", 0, 0, None),
        "after": after,
    }


# --- endpoints ---------------------------------------------------------------------------------


def _respond(request: Request, body: dict[str, Any], page: str, *, media: str = "application/json",
             headers: dict[str, str] | None = None) -> Response:
    if _wants_html(request):
        return HTMLResponse(_html(page, body), headers=headers)
    return Response(json.dumps(body, ensure_ascii=False), media_type=media, headers=headers)


def _guard(handler):
    """Turn :class:`OGCError` into an OGC exception document."""
    import functools

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except OGCError as exc:
            return exc.response()
    return wrapper


@router.get("", include_in_schema=False)
@router.get("/", summary="Landing page")
@_guard
def landing(request: Request, f: str | None = None) -> Response:
    base = _base(request)
    body = {
        "title": "Bản đồ số kinh doanh — OGC API Features",
        "description": "Các lớp dữ liệu công khai của phường (hồ sơ công khai; không có dữ liệu cá nhân). "
                       "Public layers of the ward (public profile, no personal data).",
        "links": [
            *_self_links(request),
            _link(f"{base}/conformance", "conformance", "application/json", "Conformance"),
            _link(f"{base}/collections", "data", "application/json", "Collections"),
            _link(str(request.base_url).rstrip("/") + "/api/openapi.json", "service-desc",
                  "application/vnd.oai.openapi+json;version=3.1", "OpenAPI"),
            _link(str(request.base_url).rstrip("/") + "/api/docs", "service-doc", "text/html", "API docs"),
        ],
    }
    return _respond(request, body, "landing")


@router.get("/conformance", summary="Conformance classes")
@_guard
def conformance(request: Request, f: str | None = None) -> Response:
    return _respond(request, {"conformsTo": list(CONFORMANCE)}, "conformance")


def _collection_doc(request: Request, engine: Engine, layer: Layer, srids: Sequence[int]) -> dict[str, Any]:
    base = f"{_base(request)}/collections/{layer.name}"
    return {
        "id": layer.name,
        "title": f"{layer.title_vi} / {layer.title_en}",
        "description": " ".join(x for x in (layer.description_vi, layer.description_en) if x) or layer.title_vi,
        "itemType": "feature",
        "extent": _extent(engine, layer),
        "crs": _crs_list(srids),
        "storageCrs": crs.CRS84_URI,
        "links": [
            _link(base, "self", "application/json"),
            _link(f"{base}?f=html", "alternate", "text/html"),
            _link(f"{base}/items", "items", GEOJSON, layer.title_vi),
            _link(f"{base}/items?f=html", "items", "text/html", layer.title_vi),
        ],
    }


@router.get("/collections", summary="Collections (the registry's layers)")
@_guard
def collections(request: Request, f: str | None = None, engine: Engine = Depends(get_engine)) -> Response:
    profile = profile_for(request, engine)
    srids = offered_srids(engine)
    body = {
        "links": _self_links(request),
        "collections": [_collection_doc(request, engine, layer, srids) for layer in collections_for(profile).values()],
        "crs": _crs_list(srids),
    }
    return _respond(request, body, "collections")


@router.get("/collections/{collection_id}", summary="One collection")
@_guard
def collection(collection_id: str, request: Request, f: str | None = None,
               engine: Engine = Depends(get_engine)) -> Response:
    layer = _layer(collection_id, profile_for(request, engine))
    return _respond(request, _collection_doc(request, engine, layer, offered_srids(engine)), "collection")


#: ``limit`` and ``offset`` as OpenAPI 3.0 integers with the service's bounds (OGC API – Features
#: Part 1, 7.15.3). They are read from the query string by :func:`_items_params`, which answers
#: an out-of-range or malformed value with an OGC exception (400), not FastAPI's 422.
_PAGING_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
     "description": f"Number of features a page holds: 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}.",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "Features to skip (prev links); next links page by key with 'after', fast at any depth.",
     "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


@router.get("/collections/{collection_id}/items", summary="Features of a collection",
            openapi_extra={"parameters": _PAGING_PARAMETERS})
@_guard
def items(
    collection_id: str,
    request: Request,
    engine: Engine = Depends(get_engine),
    f: str | None = None,
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs (default CRS84)"),
    bbox_crs: str | None = Query(None, alias="bbox-crs"),
    crs_: str | None = Query(None, alias="crs", description="output CRS, e.g. EPSG/0/5899"),
    after: str | None = Query(None, description="keyset paging: the last feature id of the previous page "
                                                "(next links)"),
    datetime: str | None = Query(None, description="RFC 3339 instant or interval a/b (open: ..)"),
) -> Response:
    profile = profile_for(request, engine)
    layer = _layer(collection_id, profile)
    srids = offered_srids(engine)
    args = _items_params(request, layer, profile, srids)
    features, matched, has_more = query_items(engine, layer, profile, **args)
    lim, off = args["limit"], args["offset"]
    url = str(request.url.replace(query=""))
    keep = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit", "after")}
    links = _self_links(request, GEOJSON)
    if has_more and features:
        links.append(_link(url + "?" + urlencode({**keep, "limit": lim, "after": features[-1]["id"]}), "next",
                           GEOJSON))
    if off > 0 and args["after"] is None:
        links.append(_link(url + "?" + urlencode({**keep, "limit": lim, "offset": max(0, off - lim)}), "prev",
                           GEOJSON))
    links.append(_link(f"{_base(request)}/collections/{layer.name}", "collection", "application/json"))
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if matched is not None:
        body["numberMatched"] = matched
    body.update(numberReturned=len(features), timeStamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                links=links)
    headers = {"Content-Crs": f"<{crs.uri(args['srid'], crs84=not args['lat_lon'] and args['srid'] == 4326)}>"}
    return _respond(request, body, "items", media=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
@_guard
def item(collection_id: str, feature_id: str, request: Request, f: str | None = None,
         crs_: str | None = Query(None, alias="crs"), engine: Engine = Depends(get_engine)) -> Response:
    profile = profile_for(request, engine)
    layer = _layer(collection_id, profile)
    srid, lat_lon = _crs_param(request.query_params, "crs", offered_srids(engine))
    fid: int | str = feature_id
    if not feature_id_sql(layer, profile)[1]:
        try:
            fid = int(feature_id)
        except ValueError:
            raise OGCError(404, "NotFound", f"Feature '{feature_id}' does not exist in '{layer.name}'.") from None
    features, _, _ = query_items(engine, layer, profile, srid=srid, lat_lon=lat_lon, fid=fid, limit=1)
    if not features:
        raise OGCError(404, "NotFound", f"Feature '{feature_id}' does not exist in '{layer.name}'.")
    body = {**features[0], "links": [
        *_self_links(request, GEOJSON),
        _link(f"{_base(request)}/collections/{layer.name}", "collection", "application/json"),
    ]}
    headers = {"Content-Crs": f"<{crs.uri(srid, crs84=not lat_lon and srid == 4326)}>"}
    return _respond(request, body, "item", media=GEOJSON, headers=headers)


# --- HTML ---------------------------------------------------------------------------------------


def _html(page: str, body: dict[str, Any]) -> str:
    e = html.escape
    parts: list[str] = []
    if page == "landing":
        parts.append(f"<h1>{e(body['title'])}</h1><p>{e(body['description'])}</p><ul>")
        parts += [f'<li><a href="{e(lk["href"])}">{e(lk.get("title") or lk["rel"])}</a></li>' for lk in body["links"]
                  if lk["rel"] not in ("self", "alternate")]
        parts.append("</ul>")
    elif page == "conformance":
        parts.append("<h1>Conformance</h1><ul>" + "".join(f"<li>{e(c)}</li>" for c in body["conformsTo"]) + "</ul>")
    elif page == "collections":
        parts.append("<h1>Lớp dữ liệu / Collections</h1><ul>")
        for col in body["collections"]:
            href = next(lk["href"] for lk in col["links"] if lk["rel"] == "items" and lk["type"] == "text/html")
            parts.append(f'<li><a href="{e(href)}">{e(col["title"])}</a> — {e(col["description"])}</li>')
        parts.append("</ul>")
    elif page == "collection":
        parts.append(f"<h1>{e(body['title'])}</h1><p>{e(body['description'])}</p>")
        parts.append(f'<p><a href="{e(body["links"][3]["href"])}">Xem đối tượng / Browse items</a></p>')
        parts.append("<p>CRS: " + ", ".join(e(c) for c in body["crs"]) + "</p>")
    elif page in ("items", "item"):
        features = body["features"] if page == "items" else [body]
        names = list(features[0]["properties"]) if features else []
        parts.append("<h1>Đối tượng / Features</h1>")
        if page == "items":  # numberMatched is optional (not counted after a derived-field filter + after)
            matched = body.get("numberMatched")
            parts.append(f"<p>{body['numberReturned']}" + (f" / {matched}" if matched is not None else "") + "</p>")
        parts.append("<table><tr><th>id</th>" + "".join(f"<th>{e(n)}</th>" for n in names) + "</tr>")
        for feat in features:
            cells = "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in feat["properties"].values())
            parts.append(f"<tr><td>{e(str(feat['id']))}</td>{cells}</tr>")
        parts.append("</table>")
        for lk in body["links"]:
            if lk["rel"] in ("prev", "next"):
                href = lk["href"].replace("f=json", "f=html") if "f=" in lk["href"] else lk["href"] + "&f=html"
                parts.append(f'<a href="{e(href)}">{e(lk["rel"])}</a> ')
    return ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            "content=\"width=device-width\"><title>OGC API — geomap</title><style>body{font-family:sans-serif;"
            "margin:1rem}table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:2px 4px}"
            "</style></head><body>" + "".join(parts) + "</body></html>")
