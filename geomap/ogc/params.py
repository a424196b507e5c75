"""OGC API – Features request parameters, parsed and checked without a web framework.

Each function takes the query string as a plain mapping and raises :class:`OGCError` (an HTTP
status, an OGC exception code and one sentence for the caller) on a malformed or out-of-range
value, so a bad request is an OGC exception document (400), never FastAPI's 422.

What the database cannot hold is refused here, before any query (control characters are refused
earlier, by :mod:`geomap.web.guard`): whole numbers beyond 64 bits (``offset``, ``after``, integer
filters; a feature id beyond them cannot exist: 404), non-finite numbers, instants outside years
1..9999 (the calendar Python and PostgreSQL share; ``9999-12-31`` as a whole day is inside it; a
valid RFC 3339 instant whose offset carries it past either end in UTC counts as that end), and a
``bbox`` whose corners the ``bbox-crs`` cannot carry to WGS 84 (outside the projection's domain,
where PostGIS's ``ST_Transform`` would fail). The same rules are declared in the OpenAPI document
(:func:`items_parameters`, :data:`DATETIME_PARAM_PATTERN`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from geomap import crs
from geomap.layer_reader import feature_id, profile_fields
from geomap.users import Profile
from layers.base import Field, Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: the largest value of a PostgreSQL ``bigint`` (ids, ``OFFSET``)
INT64_MAX = 2**63 - 1
STANDARD_PARAMS = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "after",
                   "filter", "filter-lang", "filter-crs"}  # the CQL2 ones: geomap.ogc.cql2


class OGCError(Exception):
    """An OGC API exception: HTTP status, a code and one sentence for the caller."""

    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def document(self) -> dict[str, str]:
        return {"code": self.code, "description": self.description}


def crs_list(srids: Sequence[int]) -> list[str]:
    """The CRS URIs offered for ``srids``: CRS84 first."""
    return [crs.CRS84_URI, *(crs.uri(s) for s in srids)]


def wants_html(params: Mapping[str, str], accept: str) -> bool:
    """``f=html``, or a browser's ``Accept`` without ``f``; ``f`` other than json/html is refused."""
    f = params.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise OGCError(400, "InvalidParameterValue", f"f={f} is not offered; use f=json or f=html.")
        return f == "html"
    return "text/html" in accept and "json" not in accept.split(",")[0]


def int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OGCError(400, "InvalidParameterValue", f"{name}={raw!r} is not a whole number.") from None
    if value < low or value > (INT64_MAX if high is None else high):
        bound = f"between {low} and {high if high is not None else INT64_MAX}"
        raise OGCError(400, "InvalidParameterValue", f"{name}={value} is out of range; it must be {bound}.")
    return value


def crs_param(params: Mapping[str, str], name: str, offered: Sequence[int]) -> tuple[int, bool]:
    """(srid, lat/lon axis order?) of a ``crs``/``bbox-crs`` value; CRS84 by default (lon/lat)."""
    raw = params.get(name)
    if not raw:
        return crs.WGS84, False
    try:
        srid = crs.parse(raw, set(offered))
    except crs.InvalidCRS as exc:
        offered_uris = ", ".join(crs_list(offered))
        raise OGCError(400, "InvalidParameterValue", f"{name}: {exc.en} Offered: {offered_uris}.") from None
    is_crs84 = raw.strip() in (crs.CRS84_URI, "OGC:CRS84", "CRS84")
    return srid, (not is_crs84) and crs.is_lat_lon(srid)


def bbox_param(raw: str | None) -> tuple[float, float, float, float] | None:
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


def check_domain(bbox: tuple[float, float, float, float], srid: int, raw: str) -> None:
    """Refuse a ``bbox`` whose corners EPSG:``srid`` cannot carry to WGS 84 (outside its projection's domain)."""
    x1, y1, x2, y2 = bbox
    try:
        lons, lats = crs.transformer(srid, crs.WGS84).transform([x1, x1, x2, x2], [y1, y2, y1, y2], errcheck=True)
        inside = all(math.isfinite(v) for v in (*lons, *lats)) and all(abs(v) <= 90 for v in lats)
    except Exception:  # pyproj.exceptions.ProjError, or a transformation PROJ cannot build
        inside = False
    if not inside:
        raise OGCError(400, "InvalidParameterValue",
                       f"bbox={raw!r} lies outside the domain of {crs.uri(srid)}; give coordinates inside it.")


def _instant(text: str, end: bool) -> dt.datetime | None:
    """An instant in UTC (a date: its first or, for an ``end``, its last microsecond)."""
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:  # a date: the whole day
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max if end else dt.time(), tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except ValueError:
        raise OGCError(400, "InvalidParameterValue",
                       f"datetime: {text!r} is not an RFC 3339 date-time (e.g. 2026-01-31T08:00:00Z).") from None
    except OverflowError:  # a valid RFC 3339 instant whose UTC time falls before year 1 or after 9999
        return dt.datetime.max.replace(tzinfo=dt.UTC) if moment.year > 1 else dt.datetime.min.replace(tzinfo=dt.UTC)


def datetime_param(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    if raw is None:
        return None
    if not re.fullmatch(DATETIME_PARAM_PATTERN, raw):
        raise OGCError(400, "InvalidParameterValue",
                       f"datetime={raw[:60]!r} is not an RFC 3339 date-time, date or interval with one end at "
                       f"least (e.g. 2026-01-31T08:00:00Z, 2026-01-01, 2026-01-01/..).")
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


def property_value(f: Field, raw: str) -> Any:
    """A property filter's text as the field's type (derived fields stay text: compared as text)."""
    if f.derived:
        return raw
    try:
        if f.kind == "int":
            value = int(raw)
            if abs(value) > INT64_MAX:
                raise OGCError(400, "InvalidParameterValue", f"{f.name}={raw!r} is beyond a 64-bit whole number.")
            return value
        if f.kind == "float":
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError
            return number
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


def feature_key(layer: Layer, profile: Profile, raw: str) -> int | str | None:
    """A feature id from a URL as the profile's id column holds it; None when it cannot be one."""
    if feature_id(layer, profile)[1]:
        return raw
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 <= value <= INT64_MAX else None


def items_params(params: Mapping[str, str], layer: Layer, profile: Profile, offered: Sequence[int]) -> dict[str, Any]:
    """The items request as :func:`geomap.layer_reader.read_page` arguments (plus ``srid``/``lat_lon``)."""
    fields = {f.name: f for f in profile_fields(layer, profile)}
    unknown = [k for k in params if k not in STANDARD_PARAMS and k not in fields]
    if unknown:
        raise OGCError(400, "InvalidParameterValue",
                       f"Unknown parameter(s) {', '.join(unknown)}; the properties of '{layer.name}' you may filter "
                       f"on are: {', '.join(sorted(fields))}.")
    srid, lat_lon = crs_param(params, "crs", offered)
    bbox_srid, bbox_lat_lon = crs_param(params, "bbox-crs", offered)
    if "bbox-crs" in params and "bbox" not in params:
        raise OGCError(400, "InvalidParameterValue", "bbox-crs was given without bbox.")
    bbox = bbox_param(params.get("bbox"))
    if bbox is not None and bbox_lat_lon:
        bbox = (bbox[1], bbox[0], bbox[3], bbox[2])
    if bbox is not None and bbox_srid != crs.WGS84:
        check_domain(bbox, bbox_srid, params.get("bbox", ""))
    after: int | str | None = params.get("after") or None
    if after is not None and not feature_id(layer, profile)[1]:
        after = int_param(params, "after", 0, 0, None)
    datetime_range = datetime_param(params.get("datetime"))
    limit = int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_param(params, "offset", 0, 0, None)
    if datetime_range is not None and not layer.temporal_field:
        raise OGCError(400, "InvalidParameterValue", f"Collection '{layer.name}' has no time field for datetime.")
    return {
        "srid": srid, "lat_lon": lat_lon, "bbox": bbox, "bbox_srid": bbox_srid,
        "datetime_range": datetime_range,
        "where": {k: [property_value(fields[k], v)] for k, v in params.items() if k in fields},
        "limit": limit, "offset": offset, "after": after,
    }


# --- the same rules as OpenAPI parameters (geomap.web.openapi; the document shows what is enforced above) ------

#: a year Python and PostgreSQL share (0001..9999)
_YEAR = r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
#: a calendar date: days each month has, 29 February only in leap years
DATE_PATTERN = (
    rf"({_YEAR}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
    r"|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29)"
)
#: an RFC 3339 date-time (with its offset; fractions of a second allowed)
DATETIME_PATTERN = (
    rf"{DATE_PATTERN}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,9}})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
_INSTANT = rf"({DATETIME_PATTERN}|{DATE_PATTERN})"
#: ``datetime``: an instant, a date, or an interval with at least one end (``..`` or empty: open)
DATETIME_PARAM_PATTERN = rf"^({_INSTANT}|{_INSTANT}/({_INSTANT}|\.\.)?|(\.\.)?/{_INSTANT})$"
#: ``bbox``: four numbers, or six with heights (OGC API – Features Part 1, 7.15.3)
BBOX_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"},
    "not": {"minItems": 5, "maxItems": 5},
}


def crs_schema(srids: Sequence[int]) -> dict[str, Any]:
    return {"type": "string", "format": "uri", "enum": crs_list(srids)}


def output_format_parameter() -> dict[str, Any]:
    return {"name": "f", "in": "query", "required": False,
            "description": "Output format: json (default) or html (also chosen by a browser's Accept).",
            "schema": {"type": "string", "enum": ["json", "html"]}}


def items_parameters(srids: Sequence[int]) -> list[dict[str, Any]]:
    """The standard parameters of ``/items`` as :func:`items_params` enforces them (``srids``: the CRSs offered)."""
    return [
        {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "minx,miny,maxx,maxy (or six numbers with heights) in bbox-crs (default CRS84); the "
                        "minimum of each axis at most its maximum, and every corner inside the domain of "
                        "bbox-crs.", "schema": BBOX_SCHEMA},
        {"name": "bbox-crs", "in": "query", "required": False,
         "description": "CRS of bbox (only with bbox).", "schema": crs_schema(srids)},
        {"name": "crs", "in": "query", "required": False,
         "description": "CRS of the geometries in the answer (OGC API – Features Part 2).",
         "schema": crs_schema(srids)},
        {"name": "datetime", "in": "query", "required": False,
         "description": "An RFC 3339 date-time or date, or an interval start/end (open end: .. or empty), the "
                        "start not after the end; only for collections with a time field. Instants beyond the "
                        "years 1..9999 in UTC count as the calendar's first or last instant.",
         "schema": {"type": "string", "pattern": DATETIME_PARAM_PATTERN}},
        {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
         "description": f"Number of features a page holds: 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        {"name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "Features to skip (prev links); next links page by key with 'after', fast at any depth.",
         "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0}},
        {"name": "after", "in": "query", "required": False,
         "description": "Keyset paging: the last feature id of the previous page (next links).",
         "schema": {"type": "string"}},
    ]
