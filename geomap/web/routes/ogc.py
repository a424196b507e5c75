"""OGC API – Features (Part 1 core, GeoJSON, HTML; Part 2 CRS) over the layer registry, at ``/ogc``.

Why not pygeoapi: its PostgreSQL provider maps one table to one collection with all its
columns, and knows neither our registry profiles (public vs internal fields, personal data)
nor derived fields (licence and food-safety statuses computed in Python); wrapping it
would mean a YAML file repeating the registry and a second web framework in the service.
The standard's surface is small, so it is implemented here directly on the registry:
collections are the registry's layers, properties a profile's fields.

This module is the HTTP adapter only: parameters are parsed in :mod:`geomap.ogc.params`,
documents built in :mod:`geomap.ogc.api`, rows read by :func:`geomap.layer_reader.read_page`
(every items page is one SQL statement: filters, ``ST_Transform`` to the requested CRS,
validity repair, ``LIMIT``/``OFFSET`` and the matched count all run in the database), HTML
rendered from ``geomap/web/templates/ogc/``; the caches are the app's (``app.state.ogc``).

Every link (self, alternate, next, prev, collection, service-desc) is built on the configured public
base URL (``GEOMAP_PUBLIC_BASE_URL``, :func:`geomap.links.public_url`), never on the request's
``Host`` header.

The public profile needs no sign-in; an ``X-API-Key`` whose scopes include ``ogc:internal``
(table ``api_key``, SHA-256 of the key) opens the internal profile.

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

import functools
import json
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine

from geomap import links
from geomap.accounts import apikeys
from geomap.errors import LocalizedError
from geomap.ogc import api, cql2, tiles
from geomap.ogc.cache import OGCCaches
from geomap.ogc.params import OGCError, items_parameters, output_format_parameter, wants_html
from geomap.users import Profile
from geomap.web import openapi, staff_reads
from geomap.web.deps import get_read_engine, replica_fallback

PREFIX = api.PREFIX
router = APIRouter(prefix=PREFIX, tags=["OGC API – Features"])

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
)


def caches(request: Request) -> OGCCaches:
    """The app's OGC caches (built by :func:`geomap.web.create_app`)."""
    return request.app.state.ogc


def profile_for(request: Request, engine: Engine) -> Profile:
    """``internal`` for a valid ``X-API-Key`` with scope ogc:internal; without a key, what the staff
    session's cookie opens (:func:`geomap.web.staff_reads.session_profile`: ``public`` without one)."""
    key = request.headers.get("x-api-key")
    if not key:
        return staff_reads.session_profile(request)
    if apikeys.check(engine, key, api.SCOPE_INTERNAL) is None:
        raise OGCError(401, "InvalidApiKey", "The X-API-Key is unknown, revoked or lacks the ogc:internal scope; "
                                             "leave it out for the public profile.")
    return "internal"


def _root(request: Request) -> str:
    """The service's root as the public knows it (``GEOMAP_PUBLIC_BASE_URL``), never the client's ``Host``:
    links built from a header the client chooses would poison a shared cache in front of the service."""
    return links.public_url("")


def _url(request: Request) -> str:
    """This page's URL (no query) on the configured public base URL."""
    path, root_path = request.url.path, request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path):]
    return links.public_url(path)


def _html(page: str, body: dict[str, Any]) -> str:
    context: dict[str, Any] = {"page": page, "body": body}
    if page in ("items", "item"):
        features = body["features"] if page == "items" else [body]
        context["features"] = features
        context["names"] = list(features[0]["properties"]) if features else []
        context["pager"] = [
            {"rel": lk["rel"],
             "href": lk["href"].replace("f=json", "f=html") if "f=" in lk["href"] else lk["href"] + "&f=html"}
            for lk in body["links"] if lk["rel"] in ("prev", "next")]
    name = "items" if page == "item" else page
    return _TEMPLATES.get_template(f"ogc/{name}.html").render(context)


def _respond(request: Request, body: dict[str, Any], page: str, *, media: str = "application/json",
             headers: dict[str, str] | None = None) -> Response:
    if wants_html(request.query_params, request.headers.get("accept", "")):
        return HTMLResponse(_html(page, body), headers=headers)
    return Response(json.dumps(body, ensure_ascii=False), media_type=media, headers=headers)


#: the paths whose refused input (:mod:`geomap.web.guard`) is answered by :func:`refuse`
PREFIXES = (PREFIX,)

_LINKS = {"type": "array", "items": {"type": "object", "required": ["href", "rel"],
                                     "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                                                    "type": {"type": "string"}, "title": {"type": "string"}}}}
_FEATURE = {"type": "object", "required": ["type", "id", "geometry", "properties"],
            "properties": {"type": {"const": "Feature"}, "id": {"type": ["string", "integer"]},
                           "geometry": {"type": ["object", "null"]}, "properties": {"type": "object"},
                           "links": _LINKS}}
_REF = "#/components/schemas/"
#: the OGC family's error document (``{"code", "description"}``) and its documents, for the OpenAPI document
OPENAPI_FAMILY = openapi.Family("ogc", {"application/json": {"schema": {"$ref": _REF + "OGCException"}}}, {
    "OGCException": {"type": "object", "required": ["code", "description"], "additionalProperties": False,
                     "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
    "OGCLanding": {"type": "object", "required": ["title", "links"], "properties": {"links": _LINKS}},
    "OGCConformance": {"type": "object", "required": ["conformsTo"],
                       "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "OGCCollection": {"type": "object", "required": ["id", "title", "links", "crs"],
                      "properties": {"id": {"type": "string"}, "links": _LINKS,
                                     "crs": {"type": "array", "items": {"type": "string"}}}},
    "OGCCollections": {"type": "object", "required": ["collections", "links"],
                       "properties": {"collections": {"type": "array", "items": {"$ref": _REF + "OGCCollection"}},
                                      "links": _LINKS}},
    "GeoJSONFeature": _FEATURE,
    "GeoJSONFeatureCollection": {
        "type": "object", "required": ["type", "features", "numberReturned", "links"],
        "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array", "items": _FEATURE},
                       "numberMatched": {"type": "integer", "minimum": 0},
                       "numberReturned": {"type": "integer", "minimum": 0}, "links": _LINKS}},
})


def _ok(schema: str, media: str = "application/json") -> dict[int, dict[str, Any]]:
    """A 200 in JSON (``media``) or HTML (``f=html`` or a browser's Accept)."""
    return {200: {"description": "The document (HTML with f=html).",
                  "content": {media: {"schema": {"$ref": _REF + schema}}, **openapi.HTML}}}


#: CRSs named in the document: CRS84, WGS 84 and every ward profile's grid (what a loaded ward offers)
_SRIDS = api.profile_srids()
_API_KEY = {"name": "X-API-Key", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "A key with scope ogc:internal opens the internal profile; leave it out for the public "
                           "one (an unknown or revoked key: 401)."}
_COLLECTION_ID = {"name": "collection_id", "in": "path", "required": True,
                  "description": "A layer of the registry (the public profile serves the publishable ones).",
                  "schema": {"type": "string", "enum": sorted(api.collections_for("internal"))}}


def _params(*extra: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` naming the parameters a route reads from the query string itself."""
    return {"parameters": [output_format_parameter(), *extra]}


def refuse(request: Request, problem: LocalizedError, status: int) -> Response:
    """Input the edge guard refuses, as an OGC exception document."""
    return JSONResponse(OGCError(status, "InvalidParameterValue", problem.en).document(), status_code=status)


def _guard(handler):
    """Turn :class:`OGCError` into an OGC exception document; a read the replica failed runs on the primary."""
    handler = replica_fallback(handler)

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except OGCError as exc:
            return JSONResponse(exc.document(), status_code=exc.status)
    return wrapper


@router.get("", include_in_schema=False)
@router.get("/", summary="Landing page", responses=_ok("OGCLanding"), openapi_extra=_params())
@_guard
def landing(request: Request) -> Response:
    return _respond(request, api.landing(_root(request), _url(request), request.query_params), "landing")


@router.get("/conformance", summary="Conformance classes", responses=_ok("OGCConformance"),
            openapi_extra=_params())
@_guard
def conformance(request: Request) -> Response:
    return _respond(request, api.conformance(), "conformance")


@router.get("/collections", summary="Collections (the registry's layers)",
            responses=_ok("OGCCollections") | OPENAPI_FAMILY.responses(401), openapi_extra=_params(_API_KEY))
@_guard
def collections(request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    profile = profile_for(request, engine)
    body = api.collections(_root(request), _url(request), request.query_params, engine, profile, caches(request))
    return _respond(request, body, "collections")


@router.get("/collections/{collection_id}", summary="One collection",
            responses=_ok("OGCCollection") | OPENAPI_FAMILY.responses(401, 404),
            openapi_extra=_params(_API_KEY, _COLLECTION_ID))
@_guard
def collection(collection_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    layer = api.collection_layer(collection_id, profile_for(request, engine))
    body = api.collection(_root(request), engine, layer, api.offered_srids(engine), caches(request))
    return _respond(request, body, "collection")


@router.get("/collections/{collection_id}/items", summary="Features of a collection",
            responses=_ok("GeoJSONFeatureCollection", api.GEOJSON) | OPENAPI_FAMILY.responses(401, 404),
            openapi_extra=_params(_API_KEY, _COLLECTION_ID, *items_parameters(_SRIDS), *cql2.OPENAPI_PARAMETERS))
@_guard
def items(collection_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    """Property filters (``name=value`` for a field of the collection's profile) go with the parameters below."""
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    body, headers = api.items(_root(request), _url(request), request.query_params, engine, layer, profile,
                              caches(request))
    return _respond(request, body, "items", media=api.GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            responses=_ok("GeoJSONFeature", api.GEOJSON) | OPENAPI_FAMILY.responses(401, 404),
            openapi_extra=_params(_API_KEY, _COLLECTION_ID, items_parameters(_SRIDS)[2]))
@_guard
def item(collection_id: str, feature_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    body, headers = api.item(_root(request), _url(request), request.query_params, engine, layer, profile, feature_id)
    return _respond(request, body, "item", media=api.GEOJSON, headers=headers)


# --- OGC API – Tiles (vector tiles: geomap.ogc.tiles; documents and tiles built there) ----------------------

_JSON_ONLY = {"name": "f", "in": "query", "required": False, "description": "Output format: json (the default).",
              "schema": {"type": "string", "enum": ["json"]}}
_TMS_ID = {"name": "tile_matrix_set_id", "in": "path", "required": True, "description": "The tile matrix set.",
           "schema": {"type": "string", "enum": [tiles.TMS_ID]}}
_TILE_COORDS = [
    {"name": "tile_matrix", "in": "path", "required": True, "description": f"Zoom level, 0..{tiles.MAX_ZOOM}.",
     "schema": {"type": "integer", "minimum": 0, "maximum": tiles.MAX_ZOOM}},
    {"name": "tile_row", "in": "path", "required": True,
     "description": "Row from the top, below 2^tile_matrix (a row or column outside the matrix: 404).",
     "schema": {"type": "integer", "minimum": 0, "maximum": (1 << tiles.MAX_ZOOM) - 1}},
    {"name": "tile_col", "in": "path", "required": True,
     "description": "Column from the left, below 2^tile_matrix (a row or column outside the matrix: 404).",
     "schema": {"type": "integer", "minimum": 0, "maximum": (1 << tiles.MAX_ZOOM) - 1}},
]
_DOC = {"type": "object"}
_TILE_OK = {200: {"description": "A Mapbox Vector Tile (an empty body: nothing in the tile).",
                  "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}},
                  "content": {tiles.MVT: {"schema": {"type": "string", "format": "binary"}}}},
            304: {"description": "Not modified: If-None-Match matched the tile's ETag."}}


def _json_ok(description: str) -> dict[int, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": _DOC}}}}


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


def _tile_response(request: Request, engine: Engine, chosen: list, profile: Profile,
                   tms: str, z: str, y: str, x: str) -> Response:
    zi, yi, xi = tiles.tile_coords(tms, z, y, x)
    body, etag = tiles.tile(engine, chosen, profile, zi, yi, xi, caches(request))
    headers = tiles.headers(etag, profile)
    if tiles.not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=tiles.MVT, headers=headers)


@router.get("/tileMatrixSets", summary="Tile matrix sets (WebMercatorQuad)", tags=["OGC API – Tiles"],
            responses=_json_ok("The tile matrix sets.") | OPENAPI_FAMILY.responses(400),
            openapi_extra={"parameters": [_JSON_ONLY]})
@_guard
def tile_matrix_sets(request: Request) -> Response:
    tiles.params_checked(request.query_params)
    return _json(tiles.tile_matrix_sets(_root(request)))


@router.get("/tileMatrixSets/{tile_matrix_set_id}", summary="One tile matrix set", tags=["OGC API – Tiles"],
            responses=_json_ok("The tile matrix set (OGC TMS 2.0).") | OPENAPI_FAMILY.responses(400, 404),
            openapi_extra={"parameters": [_JSON_ONLY, _TMS_ID]})
@_guard
def tile_matrix_set(tile_matrix_set_id: str, request: Request) -> Response:
    tiles.params_checked(request.query_params)
    tiles.matrix_set(tile_matrix_set_id)
    return _json(tiles.tile_matrix_set(_root(request)))


@router.get("/tiles", summary="Vector tilesets of the dataset (all layers)", tags=["OGC API – Tiles"],
            responses=_json_ok("The tilesets list.") | OPENAPI_FAMILY.responses(400, 401),
            openapi_extra={"parameters": [_JSON_ONLY, _API_KEY]})
@_guard
def dataset_tilesets(request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    tiles.params_checked(request.query_params)
    profile = profile_for(request, engine)
    return _json(tiles.tilesets(_root(request), tiles.dataset_layers(profile), profile, None))


@router.get("/tiles/{tile_matrix_set_id}", summary="The dataset's vector tileset", tags=["OGC API – Tiles"],
            responses=_json_ok("The tileset.") | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_JSON_ONLY, _API_KEY, _TMS_ID]})
@_guard
def dataset_tileset(tile_matrix_set_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    tiles.params_checked(request.query_params)
    tiles.matrix_set(tile_matrix_set_id)
    profile = profile_for(request, engine)
    return _json(tiles.tileset(_root(request), tiles.dataset_layers(profile), profile, None))


@router.get("/tiles/{tile_matrix_set_id}/{tile_matrix}/{tile_row}/{tile_col}",
            summary="A vector tile of every layer", tags=["OGC API – Tiles"], response_class=Response,
            responses=_TILE_OK | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_API_KEY, _TMS_ID, *_TILE_COORDS]})
@_guard
def dataset_tile(tile_matrix_set_id: str, tile_matrix: str, tile_row: str, tile_col: str, request: Request,
                 engine: Engine = Depends(get_read_engine)) -> Response:
    profile = profile_for(request, engine)
    return _tile_response(request, engine, tiles.dataset_layers(profile), profile,
                          tile_matrix_set_id, tile_matrix, tile_row, tile_col)


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection",
            tags=["OGC API – Tiles"],
            responses=_json_ok("The tilesets list.") | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_JSON_ONLY, _API_KEY, _COLLECTION_ID]})
@_guard
def collection_tilesets(collection_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    tiles.params_checked(request.query_params)
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    return _json(tiles.tilesets(_root(request), [layer], profile, layer.name))


@router.get("/collections/{collection_id}/tiles/{tile_matrix_set_id}", summary="A collection's vector tileset",
            tags=["OGC API – Tiles"], responses=_json_ok("The tileset.") | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_JSON_ONLY, _API_KEY, _COLLECTION_ID, _TMS_ID]})
@_guard
def collection_tileset(collection_id: str, tile_matrix_set_id: str, request: Request,
                       engine: Engine = Depends(get_read_engine)) -> Response:
    tiles.params_checked(request.query_params)
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    tiles.matrix_set(tile_matrix_set_id)
    return _json(tiles.tileset(_root(request), [layer], profile, layer.name))


@router.get("/collections/{collection_id}/tiles/{tile_matrix_set_id}/{tile_matrix}/{tile_row}/{tile_col}",
            summary="A vector tile of a collection", tags=["OGC API – Tiles"], response_class=Response,
            responses=_TILE_OK | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_API_KEY, _COLLECTION_ID, _TMS_ID, *_TILE_COORDS]})
@_guard
def collection_tile(collection_id: str, tile_matrix_set_id: str, tile_matrix: str, tile_row: str, tile_col: str,
                    request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    return _tile_response(request, engine, [layer], profile, tile_matrix_set_id, tile_matrix, tile_row, tile_col)

@router.get("/collections/{collection_id}/queryables", summary="What a filter may name (JSON Schema)",
            responses={200: {"description": "The collection's queryables for the caller's profile (JSON Schema).",
                             "content": {cql2.SCHEMA_JSON: {"schema": _DOC}, "application/json": {"schema": _DOC}}}}
            | OPENAPI_FAMILY.responses(400, 401, 404),
            openapi_extra={"parameters": [_JSON_ONLY, _API_KEY, _COLLECTION_ID]})
@_guard
def queryables(collection_id: str, request: Request, engine: Engine = Depends(get_read_engine)) -> Response:
    """OGC API – Features Part 3: the collection's queryables for the caller's profile."""
    tiles.params_checked(request.query_params)  # f=json or nothing, as for the tile documents
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    body = cql2.queryables(_url(request), layer, profile)
    return Response(json.dumps(body, ensure_ascii=False),
                    media_type=cql2.queryables_media_type(request.headers.get("accept", "")))
