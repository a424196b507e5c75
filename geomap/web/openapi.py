"""The public service's OpenAPI document (``/api/openapi.json``), true to what each operation answers.

FastAPI describes a route from its signature: a 200 and a 422 that the service never sends (the edge
guard answers parameter errors 400, :mod:`geomap.web.guard`). :func:`build` starts from that and makes
it true, from one place, so a new route gets the common answers without repeating them:

- **every operation** can answer **400** (the guard: a control character in the path or the query, a
  parameter of the wrong type or outside its declared constraint) and **413** (a body over
  :data:`geomap.web.guard.MAX_BODY_BYTES`, refused before it is read), in its family's error shape;
- an operation that reads the **database** (it depends on :func:`geomap.web.deps.get_engine`, or says
  so with ``openapi_extra={"x-database": True}``) can answer **503** with ``Retry-After`` while the
  database is down (:mod:`geomap.web.outage`);
- a plain Starlette route (kept out of FastAPI for speed: the QR page) is described by its module's
  ``OPENAPI_PATHS`` (path -> path item), written with the same family helpers;
- what only some operations answer (404, 410, 429, 401, 403, 303...) each route declares in its
  decorator with its family's :meth:`Family.responses`; a status the route declares with content
  replaces FastAPI's guess (``application/json``) by the real content types (HTML pages,
  JavaScript, images, XML, GeoJSON).

A **family** is a route module's error shape (:class:`Family`: OGC's exception document, Open311's
error list in JSON or XML, the QR notice, the report pages' HTML message page); a module sets
``OPENAPI_FAMILY`` beside its ``PREFIXES``/``refuse``, and routes of a module without one get
``{"detail": ...}``, which is what :class:`geomap.web.guard.Refusals` answers for them.

**Methods**: :func:`install` also answers a method a path does not offer with **405** and an ``Allow``
header listing every method of every route on that path (Starlette lists only the first matching
route's, so ``PUT /open311/v2/requests.json`` said ``Allow: POST``), in the family's shape; answers
``HEAD`` wherever ``GET`` is (:class:`HeadAsGet`; FastAPI's GET routes answered HEAD 405); and a body
the framework cannot parse (a multipart form without its boundary: 400) in the family's shape too.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from geomap.errors import LocalizedError
from geomap.web import guard
from geomap.web.deps import get_engine, get_read_engine

TITLE = "geomap — dịch vụ công khai / public service"
VERSION = "1.0"
DESCRIPTION = (
    "Tra cứu tem QR, phản ánh của người dân, Open311 GeoReport v2 và OGC API – Features của phường. "
    "QR lookup, citizen reports, Open311 GeoReport v2 and OGC API – Features of the ward.\n\n"
    "Every operation may answer 400 (a refused parameter: a control character such as NUL, a value outside "
    "its declared constraint) and 413 (a body over the limit), each in its family's error shape; one that "
    "reads the database answers 503 with Retry-After while the database is unreachable. A method a path does "
    "not offer is answered 405 with an Allow header."
)

#: why each status is answered (the description of a response the family declares)
REASONS: dict[int, str] = {
    400: "Refused input: a control character (such as NUL) in the path, the query or a form field, or a "
         "parameter that is malformed or outside its declared constraint.",
    401: "The X-API-Key is unknown, revoked or lacks the scope.",
    403: "The api_key is missing or invalid.",
    404: "Not found.",
    405: "Method not allowed (see the Allow header).",
    410: "Gone: the code was revoked.",
    413: "The request body is larger than the service accepts (refused before it is read).",
    422: "The form was refused; the page names the field at fault.",
    429: "Too many requests from this client; retry after Retry-After seconds.",
    503: "The database is unreachable; retry after Retry-After seconds (nothing was saved).",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                               "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}}}
#: an HTML page and an XML document (their bytes are not described by a JSON Schema)
HTML = {"text/html": {"schema": {"type": "string"}}}
XML = {"text/xml": {"schema": {"type": "string"}}}

DETAIL_SCHEMA = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}


@dataclass(frozen=True)
class Family:
    """A route family's error answers: the content of an error response and the schemas it refers to."""

    name: str
    #: media type -> schema of an error body (``$ref`` to a schema in ``schemas``)
    error_content: Mapping[str, Mapping[str, Any]]
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def response(self, status: int, description: str | None = None) -> dict[str, Any]:
        """One error response: ``description`` (else :data:`REASONS`), this family's body, ``Retry-After``."""
        out: dict[str, Any] = {"description": description or REASONS.get(status, "Error."),
                               "content": {k: dict(v) for k, v in self.error_content.items()}}
        if status in (429, 503):
            out["headers"] = dict(RETRY_AFTER)
        return out

    def responses(self, *statuses: int, **overrides: Mapping[str, Any]) -> dict[int | str, dict[str, Any]]:
        """``responses=`` for a route decorator: each of ``statuses`` with this family's error body, and each
        ``s<status>={...}`` as given (a success, or an answer with its own body: ``s404={"description": ...,
        "content": ...}``)."""
        return {status: self.response(status) for status in statuses} | {
            int(k.removeprefix("s")): dict(v) for k, v in overrides.items()}


GENERIC = Family("generic", {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}},
                 {"Detail": DETAIL_SCHEMA})


def family_of(route: Any) -> Family:
    """The family of a route: its module's ``OPENAPI_FAMILY``, else :data:`GENERIC`."""
    module = sys.modules.get(getattr(route.endpoint, "__module__", ""), None)
    found = getattr(module, "OPENAPI_FAMILY", None)
    return found if isinstance(found, Family) else GENERIC


def uses_database(route: Any) -> bool:
    """Does the route read the database (a ``get_engine`` or ``get_read_engine`` dependency, or ``x-database``)?"""
    if (route.openapi_extra or {}).get("x-database"):
        return True
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call in (get_engine, get_read_engine):
            return True
        stack.extend(dep.dependencies)
    return False


def _without(characters: re.Pattern[str]) -> str:
    """A JSON Schema pattern for text holding none of the characters of a ``[...]`` class."""
    return f"^[^{characters.pattern[1:-1]}]*$"


#: what the edge guard lets through (:data:`geomap.web.guard.CONTROL`, :data:`~geomap.web.guard.FORM_CONTROL`)
TEXT_PATTERN = _without(guard.CONTROL)
FORM_TEXT_PATTERN = _without(guard.FORM_CONTROL)


def non_blank(characters: re.Pattern[str] = guard.FORM_CONTROL) -> str:
    """Like :data:`FORM_TEXT_PATTERN`, with at least one character that is not white space."""
    refused = characters.pattern[1:-1]
    return f"^[^{refused}]*[^{refused}\\s][^{refused}]*$"


def refuse_controls(schema: Any, pattern: str, components: Mapping[str, Any], seen: set[str] | None = None) -> None:
    """Give every text ``schema`` declares without a pattern of its own the guard's rule as its ``pattern``."""
    seen = set() if seen is None else seen
    if isinstance(schema, list):
        for item in schema:
            refuse_controls(item, pattern, components, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/") and ref not in seen:
        seen.add(ref)
        refuse_controls(components.get(ref.rsplit("/", 1)[1]), pattern, components, seen)
    if (schema.get("type") == "string" and not {"pattern", "enum", "const"} & set(schema)
            and schema.get("format") != "binary" and "contentMediaType" not in schema):
        schema["pattern"] = pattern
    if schema.get("type") == "object" and "properties" in schema:  # a form's field names too
        schema.setdefault("propertyNames", {"pattern": pattern})
        schema.setdefault("additionalProperties", {"type": "string", "pattern": pattern})
    for key in ("anyOf", "oneOf", "allOf", "items"):
        refuse_controls(schema.get(key), pattern, components, seen)
    for sub in (schema.get("properties") or {}).values():
        refuse_controls(sub, pattern, components, seen)


def _require(op: dict[str, Any], names: list[str] | None, components: Mapping[str, Any]) -> None:
    """Mark form fields required that FastAPI reads with a default (an absent field is refused like an empty one)."""
    if not names or "requestBody" not in op:
        return
    op["requestBody"]["required"] = True
    for body in op["requestBody"].get("content", {}).values():
        schema = body.get("schema", {})
        ref = schema.get("$ref", "")
        target = components.get(ref.rsplit("/", 1)[1], {}) if ref else schema
        target["required"] = sorted({*target.get("required", []), *names})
        for name in names:
            target.get("properties", {}).get(name, {}).pop("default", None)


def _routes(app: FastAPI) -> list[Any]:
    """Every route of ``app`` as served (with its router's prefix), included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept as such
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def _api_routes(app: FastAPI) -> list[Any]:
    return [r for r in _routes(app) if isinstance(getattr(r, "original_route", r), APIRoute)]


def _operations(schema: dict[str, Any], route: Any) -> Iterable[dict[str, Any]]:
    item = schema.get("paths", {}).get(route.path_format, {})
    for method in sorted(route.methods or ()):
        op = item.get(method.lower())
        if op is not None:
            yield op


def build(app: FastAPI) -> dict[str, Any]:
    """The document of ``app`` (made once, then kept on ``app.openapi_schema``)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=TITLE, version=VERSION, description=DESCRIPTION, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        family = family_of(route)
        components.update(family.schemas)
        declared = {str(k): v for k, v in (route.responses or {}).items()}
        for op in _operations(schema, route):
            op.pop("x-database", None)
            _require(op, op.pop("x-required", None), components)
            if "parameters" in op:  # openapi_extra's declaration of a parameter replaces the signature's
                by_key = {(p["name"], p["in"]): p for p in op["parameters"]}
                op["parameters"] = [by_key[k] for k in dict.fromkeys((p["name"], p["in"]) for p in op["parameters"])]
            responses = op.setdefault("responses", {})
            if "422" not in declared:  # FastAPI's validation document: the guard answers 400 instead
                responses.pop("422", None)
            for status, given in declared.items():  # the route's own content replaces FastAPI's guess
                if "content" in given:
                    responses[status]["content"] = {k: dict(v) for k, v in given["content"].items()}
            for param in op.get("parameters", []):
                if param["in"] in ("path", "query"):
                    refuse_controls(param.get("schema"), TEXT_PATTERN, components)
            for media, body in op.get("requestBody", {}).get("content", {}).items():
                text = FORM_TEXT_PATTERN if media in guard.FORM_TYPES else TEXT_PATTERN
                refuse_controls(body.get("schema"), text, components)
            responses.setdefault("400", family.response(400))
            responses.setdefault("413", family.response(413))
            if uses_database(route):
                responses.setdefault("503", family.response(503))
            for status in responses:  # declared without a body: the family's error body
                if status.startswith(("4", "5")) and "content" not in responses[status]:
                    responses[status].update(family.response(int(status), responses[status].get("description")))
            op["responses"] = dict(sorted(responses.items()))
    for route in _routes(app):  # plain Starlette routes a module describes itself (the QR page)
        if isinstance(getattr(route, "original_route", route), APIRoute):
            continue
        module = sys.modules.get(getattr(getattr(route, "endpoint", None), "__module__", ""), None)
        for path, item in (getattr(module, "OPENAPI_PATHS", None) or {}).items():
            if path in schema["paths"]:
                continue
            schema["paths"][path] = item = copy.deepcopy(item)
            components.update(family_of(route).schemas)
            for op in item.values():
                for param in op.get("parameters", []):
                    refuse_controls(param.get("schema"), TEXT_PATTERN, components)
                op["responses"] = dict(sorted(op["responses"].items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    schema["paths"] = dict(sorted(schema["paths"].items()))
    app.openapi_schema = schema
    return schema


def allowed_methods(app: FastAPI, path: str, *, implicit_head: bool = True) -> list[str]:
    """Every method some route of ``app`` offers on ``path`` (with HEAD wherever GET is: :class:`HeadAsGet`)."""
    methods: set[str] = set()
    for route in _routes(app):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    if implicit_head and "GET" in methods:
        methods.add("HEAD")
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: order.index(m) if m in order else len(order))


class HeadAsGet:
    """ASGI middleware: ``HEAD`` wherever ``GET`` is served (RFC 9110 9.3.2), the same headers and no body.

    Starlette's plain routes answer HEAD by themselves; FastAPI's ``@router.get`` routes do not (405), so
    a HEAD to a path that offers GET and no HEAD of its own is run as GET and its body dropped.
    """

    def __init__(self, app: Any, api: FastAPI) -> None:
        self.app, self.api = app, api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        methods = allowed_methods(self.api, scope.get("path", ""), implicit_head=False)
        if "HEAD" in methods or "GET" not in methods:
            await self.app(scope, receive, send)
            return

        async def without_body(message: Any) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


_HTTP_ERRORS = {
    400: ("Yêu cầu bị từ chối: nội dung gửi lên không đọc được (biểu mẫu hỏng).",
          "Request refused: the body cannot be read (a malformed form)."),
    413: ("Yêu cầu quá lớn.", "Request too large."),
    415: ("Kiểu nội dung không được hỗ trợ.", "Unsupported content type."),
}


def install(app: FastAPI) -> None:
    """Serve :func:`build` at ``app.openapi_url``; answer 405 with the path's whole ``Allow``, HEAD wherever
    GET is, and a malformed body (400) in the family's shape rather than FastAPI's ``{"detail": ...}``."""
    app.openapi = lambda: build(app)  # type: ignore[method-assign]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        if status == 405:
            allow = ", ".join(allowed_methods(app, request.url.path)) or "GET"
            error = LocalizedError(f"Phương thức {request.method} không được hỗ trợ ở đường dẫn này (chỉ {allow}).",
                                   f"Method {request.method} is not allowed here (only {allow}).")
            response = request.app.state.refusals.response(request, error, 405)
            response.headers["Allow"] = allow
            return response
        if status in _HTTP_ERRORS:
            return request.app.state.refusals.response(request, LocalizedError(*_HTTP_ERRORS[status]), status)
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(HeadAsGet, api=app)
