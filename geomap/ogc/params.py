"""OGC API – Features request parameters, parsed and checked without a web framework.

Each function takes the query string as a plain mapping and raises :class:`OGCError` (an HTTP
status, an OGC exception code and one sentence for the caller) on a malformed or out-of-range
value, so a bad request is an OGC exception document (400), never FastAPI's 422.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from geomap import crs
from geomap.layer_reader import feature_id, profile_fields
from geomap.users import Profile
from layers.base import Field, Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
STANDARD_PARAMS = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "after"}


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
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
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


def datetime_param(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
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


def property_value(f: Field, raw: str) -> Any:
    """A property filter's text as the field's type (derived fields stay text: compared as text)."""
    if f.derived:
        return raw
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


def feature_key(layer: Layer, profile: Profile, raw: str) -> int | str | None:
    """A feature id from a URL as the profile's id column holds it; None when it cannot be one."""
    if feature_id(layer, profile)[1]:
        return raw
    try:
        return int(raw)
    except ValueError:
        return None


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
