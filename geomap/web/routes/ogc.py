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
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine

from geomap import links
from geomap.accounts import apikeys
from geomap.errors import LocalizedError
from geomap.ogc import api, cql2
from geomap.ogc.cache import OGCCaches
from geomap.ogc.params import DEFAULT_LIMIT, INT64_MAX, MAX_LIMIT, OGCError, wants_html
from geomap.users import Profile
from geomap.web.deps import get_engine

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
    """``internal`` for a valid ``X-API-Key`` with scope ogc:internal, ``public`` without a key."""
    key = request.headers.get("x-api-key")
    if not key:
        return "public"
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


def refuse(request: Request, problem: LocalizedError, status: int) -> Response:
    """Input the edge guard refuses, as an OGC exception document."""
    return JSONResponse(OGCError(status, "InvalidParameterValue", problem.en).document(), status_code=status)


def _guard(handler):
    """Turn :class:`OGCError` into an OGC exception document."""
    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except OGCError as exc:
            return JSONResponse(exc.document(), status_code=exc.status)
    return wrapper


@router.get("", include_in_schema=False)
@router.get("/", summary="Landing page")
@_guard
def landing(request: Request, f: str | None = None) -> Response:
    return _respond(request, api.landing(_root(request), _url(request), request.query_params), "landing")


@router.get("/conformance", summary="Conformance classes")
@_guard
def conformance(request: Request, f: str | None = None) -> Response:
    return _respond(request, api.conformance(), "conformance")


@router.get("/collections", summary="Collections (the registry's layers)")
@_guard
def collections(request: Request, f: str | None = None, engine: Engine = Depends(get_engine)) -> Response:
    profile = profile_for(request, engine)
    body = api.collections(_root(request), _url(request), request.query_params, engine, profile, caches(request))
    return _respond(request, body, "collections")


@router.get("/collections/{collection_id}", summary="One collection")
@_guard
def collection(collection_id: str, request: Request, f: str | None = None,
               engine: Engine = Depends(get_engine)) -> Response:
    layer = api.collection_layer(collection_id, profile_for(request, engine))
    body = api.collection(_root(request), engine, layer, api.offered_srids(engine), caches(request))
    return _respond(request, body, "collection")


#: ``limit`` and ``offset`` as OpenAPI 3.0 integers with the service's bounds (OGC API – Features
#: Part 1, 7.15.3). They are read from the query string by :func:`geomap.ogc.params.items_params`,
#: which answers an out-of-range or malformed value with an OGC exception (400), not FastAPI's 422.
_PAGING_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
     "description": f"Number of features a page holds: 1..{MAX_LIMIT}, default {DEFAULT_LIMIT}.",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "Features to skip (prev links); next links page by key with 'after', fast at any depth.",
     "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0}},
]


@router.get("/collections/{collection_id}/items", summary="Features of a collection",
            openapi_extra={"parameters": _PAGING_PARAMETERS + cql2.OPENAPI_PARAMETERS})
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
    layer = api.collection_layer(collection_id, profile)
    body, headers = api.items(_root(request), _url(request), request.query_params, engine, layer, profile,
                              caches(request))
    return _respond(request, body, "items", media=api.GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
@_guard
def item(collection_id: str, feature_id: str, request: Request, f: str | None = None,
         crs_: str | None = Query(None, alias="crs"), engine: Engine = Depends(get_engine)) -> Response:
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    body, headers = api.item(_root(request), _url(request), request.query_params, engine, layer, profile, feature_id)
    return _respond(request, body, "item", media=api.GEOJSON, headers=headers)



@router.get("/collections/{collection_id}/queryables", summary="What a filter may name (JSON Schema)")
@_guard
def queryables(collection_id: str, request: Request, f: str | None = None,
               engine: Engine = Depends(get_engine)) -> Response:
    """OGC API – Features Part 3: the collection's queryables for the caller's profile."""
    profile = profile_for(request, engine)
    layer = api.collection_layer(collection_id, profile)
    body = cql2.queryables(_url(request), layer, profile)
    return Response(json.dumps(body, ensure_ascii=False),
                    media_type=cql2.queryables_media_type(request.headers.get("accept", "")))
