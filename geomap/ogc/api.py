"""OGC API – Features documents (landing, conformance, collections, items) over the layer registry.

Framework-free: each function takes plain values (the service's root URL, the request URL
without its query, the query parameters) and returns the JSON document; rows come from
:func:`geomap.layer_reader.read_page`, the app-owned caches (:class:`geomap.ogc.cache.OGCCaches`)
are passed in. :mod:`geomap.web.routes.ogc` adapts these to HTTP (and renders the HTML pages).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy.engine import Engine

import layers as layer_registry
from geomap import crs, layer_reader, profiles
from geomap.ogc import cql2
from geomap.ogc.cache import OGCCaches
from geomap.ogc.params import OGCError, crs_list, crs_param, feature_key, items_params
from geomap.users import Profile
from geomap.wards import data as ward_data
from layers.base import Layer

PREFIX = "/ogc"
SCOPE_INTERNAL = "ogc:internal"
GEOJSON = "application/geo+json"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    # not the OpenAPI 3.0 class: FastAPI describes the service in OpenAPI 3.1 (linked as such)
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
#: OGC API – Tiles 1.0 (vector tiles, :mod:`geomap.ogc.tiles`) and the tile matrix set standard 2.0
TILES_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)


def collections_for(profile: Profile) -> dict[str, Layer]:
    """The registry's layers served to ``profile``: public ones need a public feature id."""
    return {name: layer for name, layer in layer_registry.registry().items()
            if profile == "internal" or (layer.publishable and layer.public_id_field)}


def collection_layer(collection_id: str, profile: Profile) -> Layer:
    found = collections_for(profile).get(collection_id)
    if found is None:
        raise OGCError(404, "NotFound", f"There is no collection '{collection_id}'; see {PREFIX}/collections.")
    return found


def profile_srids() -> list[int]:
    """CRS84/WGS84 and the grid of every shipped ward profile: what the OpenAPI document names (it is
    written before any ward is read); every one of them is also offered (:func:`offered_srids`)."""
    return [crs.WGS84, *sorted({profiles.get(s).local_srid for s in profiles.available()} - {crs.WGS84})]


def offered_srids(engine: Engine) -> list[int]:
    """CRS84/WGS84, the local grid of every loaded ward (EPSG:5899 for Đà Nẵng) and of every shipped
    profile (EPSG:9209 for Thạch Khôi): a city may ask for any ward's layers in any of these grids."""
    return [crs.WGS84, *sorted((set(ward_data.local_srids(engine)) | set(profile_srids())) - {crs.WGS84})]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def self_links(url: str, params: Mapping[str, str], json_type: str = "application/json") -> list[dict[str, str]]:
    """``self`` and ``alternate`` links of a page at ``url`` (no query) asked with ``params``."""
    kept = {k: v for k, v in params.items() if k != "f"}
    as_json = url + "?" + urlencode({**kept, "f": "json"})
    as_html = url + "?" + urlencode({**kept, "f": "html"})
    html_wanted = params.get("f") == "html"
    return [link(as_html if html_wanted else as_json, "self", "text/html" if html_wanted else json_type),
            link(as_json if html_wanted else as_html, "alternate", json_type if html_wanted else "text/html")]


def iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return iso(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def landing(root: str, url: str, params: Mapping[str, str]) -> dict[str, Any]:
    base = root + PREFIX
    return {
        "title": "Bản đồ số kinh doanh — OGC API Features",
        "description": "Các lớp dữ liệu công khai của phường (hồ sơ công khai; không có dữ liệu cá nhân). "
                       "Public layers of the ward (public profile, no personal data).",
        "links": [
            *self_links(url, params),
            link(f"{base}/conformance", "conformance", "application/json", "Conformance"),
            link(f"{base}/collections", "data", "application/json", "Collections"),
            link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "application/json",
                 "Vector tiles (all layers)"),
            link(f"{base}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 "application/json", "Tile matrix sets"),
            link(root + "/api/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.1",
                 "OpenAPI"),
            link(root + "/api/docs", "service-doc", "text/html", "API docs"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": [*CONFORMANCE, *TILES_CONFORMANCE, *cql2.CONFORMANCE]}


def extent(engine: Engine, layer: Layer, caches: OGCCaches) -> dict[str, Any]:
    """The collection's spatial (CRS84) and temporal extent, cached for a few minutes."""
    def load() -> dict[str, Any]:
        box, times = layer_reader.extent(engine, layer)
        out: dict[str, Any] = {}
        if box is not None:
            out["spatial"] = {"bbox": [[round(float(v), 7) for v in box]], "crs": crs.CRS84_URI}
        if times is not None:
            out["temporal"] = {"interval": [[iso(times[0]), iso(times[1])]],
                               "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        return out

    return caches.extents.get_or_load((str(engine.url), layer.name), load)


def collection(root: str, engine: Engine, layer: Layer, srids: Sequence[int], caches: OGCCaches) -> dict[str, Any]:
    base = f"{root}{PREFIX}/collections/{layer.name}"
    return {
        "id": layer.name,
        "title": f"{layer.title_vi} / {layer.title_en}",
        "description": " ".join(x for x in (layer.description_vi, layer.description_en) if x) or layer.title_vi,
        "itemType": "feature",
        "extent": extent(engine, layer, caches),
        "crs": crs_list(srids),
        "storageCrs": crs.CRS84_URI,
        "links": [
            link(base, "self", "application/json"),
            link(f"{base}?f=html", "alternate", "text/html"),
            link(f"{base}/items", "items", GEOJSON, layer.title_vi),
            link(f"{base}/items?f=html", "items", "text/html", layer.title_vi),
            link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "application/json",
                 "Vector tiles"),
            link(f"{base}/queryables", cql2.QUERYABLES_REL, cql2.SCHEMA_JSON, "Queryables"),
            link(f"{base}/queryables", "queryables", cql2.SCHEMA_JSON, "Queryables"),  # GDAL's OAPIF driver
        ],
    }


def collections(root: str, url: str, params: Mapping[str, str], engine: Engine, profile: Profile,
                caches: OGCCaches) -> dict[str, Any]:
    srids = offered_srids(engine)
    return {
        "links": self_links(url, params),
        "collections": [collection(root, engine, layer, srids, caches) for layer in collections_for(profile).values()],
        "crs": crs_list(srids),
    }


def _features(page: layer_reader.Page | pd.DataFrame, layer: Layer, profile: Profile) -> list[dict[str, Any]]:
    frame = page.frame if isinstance(page, layer_reader.Page) else page
    names = [f.name for f in layer_reader.profile_fields(layer, profile)]
    return [{
        "type": "Feature",
        "id": json_value(rec["__fid"]),
        # an establishment not placed yet has no geometry: GeoJSON's null (pandas may hold it as NaN)
        "geometry": json.loads(rec["__geometry"]) if isinstance(rec.get("__geometry"), str) else None,
        "properties": {n: json_value(rec.get(n)) for n in names},
    } for rec in frame.to_dict("records")]


def content_crs(srid: int, lat_lon: bool) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri(srid, crs84=not lat_lon and srid == 4326)}>"}


def items(root: str, url: str, params: Mapping[str, str], engine: Engine, layer: Layer, profile: Profile,
          caches: OGCCaches) -> tuple[dict[str, Any], dict[str, str]]:
    """The items page (a FeatureCollection with ``next``/``prev`` links) and its headers."""
    offered = offered_srids(engine)
    args = items_params(params, layer, profile, offered)
    args["cql"] = cql2.filter_param(params, layer, profile, offered)
    page = layer_reader.read_page(
        engine, layer, profile, **args, counts=caches.counts, count_scope=str(engine.url),
        columns_of=lambda table: caches.columns.get_or_load((str(engine.url), table),
                                                           lambda: layer_reader.table_columns(engine, table)))
    features = _features(page, layer, profile)
    lim, off = args["limit"], args["offset"]
    keep = {k: v for k, v in params.items() if k not in ("offset", "limit", "after")}
    links = self_links(url, params, GEOJSON)
    if page.has_more and features:
        links.append(link(url + "?" + urlencode({**keep, "limit": lim, "after": features[-1]["id"]}), "next",
                          GEOJSON))
    if off > 0 and args["after"] is None:
        links.append(link(url + "?" + urlencode({**keep, "limit": lim, "offset": max(0, off - lim)}), "prev",
                          GEOJSON))
    links.append(link(f"{root}{PREFIX}/collections/{layer.name}", "collection", "application/json"))
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if page.matched is not None:
        body["numberMatched"] = page.matched
    body.update(numberReturned=len(features), timeStamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                links=links)
    return body, content_crs(args["srid"], args["lat_lon"])


def item(root: str, url: str, params: Mapping[str, str], engine: Engine, layer: Layer, profile: Profile,
         raw_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One feature by its public (or, internal, database) id, with its links and headers."""
    srid, lat_lon = crs_param(params, "crs", offered_srids(engine))
    missing = OGCError(404, "NotFound", f"Feature '{raw_id}' does not exist in '{layer.name}'.")
    fid = feature_key(layer, profile, raw_id)
    if fid is None:
        raise missing
    page = layer_reader.read_page(engine, layer, profile, srid=srid, lat_lon=lat_lon, fid=fid, limit=1)
    features = _features(page, layer, profile)
    if not features:
        raise missing
    body = {**features[0], "links": [
        *self_links(url, params, GEOJSON),
        link(f"{root}{PREFIX}/collections/{layer.name}", "collection", "application/json"),
    ]}
    return body, content_crs(srid, lat_lon)
