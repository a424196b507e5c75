"""Open311 GeoReport v2: ``/open311/v2/services``, ``/requests`` (JSON and XML), and discovery.

Services are the report categories. ``service_request_id`` is the report's public id (never
the sequential one). Internal statuses map onto the spec's ``open``/``closed``; the
internal status and the latest public note go in ``status_notes``, as FixMyStreet does.
POST needs an ``api_key`` with scope ``open311`` (``geomap apikey add NAME --scope open311``).
Errors are ``[{"code": ..., "description": ...}]`` (``<errors><error>`` in XML) with the
HTTP status in ``code``. Lat/long are required: this server does not geocode addresses.

Personal data (Decree 13/2023): ``email``, ``phone``, ``first_name`` and ``last_name`` are kept only
with ``consent=true``, by which the client says it showed the reporter the purpose notice
(``GET /report/privacy``, the same text as the public form, its version named there) and the reporter
agreed. Given without it, the request is refused (400, nothing stored); the report records the time and
the notice version, and the data is erased after the ward's retention period
(:mod:`geomap.field_reports.retention`).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from geomap import config, links
from geomap.accounts import apikeys
from geomap.errors import LocalizedError
from geomap.field_reports import ReportError, intake
from geomap.field_reports import open311 as service_requests
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.models import REPORT_CATEGORIES
from geomap.ogc.params import DATETIME_PATTERN
from geomap.web import openapi
from geomap.web.deps import get_engine, get_read_engine, replica_fallback
from geomap.web.ratelimit import client_key, retry_after_header
from geomap.web.routes.reports import request_lang

router = APIRouter()

PREFIX = "/open311/v2"
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_DAYS = service_requests.DEFAULT_DAYS
MAX_RESULTS = service_requests.MAX_RESULTS
#: the answer to contact details sent without the reporter's consent
CONSENT_REQUIRED = ("consent: email, phone, first_name and last_name are kept only with consent=true, sent once the "
                    "reporter was shown the purpose notice (GET /report/privacy) and agreed; nothing was stored")

# --- output -----------------------------------------------------------------------------------


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        el = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(el, key)
            if isinstance(value, list):
                for v in value:
                    sub = ET.SubElement(child, "keyword" if key == "keywords" else "value")
                    sub.text = str(v)
            elif isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _respond(fmt: str, root: str, item: str, payload: Any, status_code: int = 200) -> Response:
    if fmt == "xml":
        rows = payload if isinstance(payload, list) else [payload]
        return Response(_xml(root, item, rows), status_code=status_code, media_type=FORMATS["xml"])
    return JSONResponse(payload, status_code=status_code, media_type=FORMATS["json"])


def error(fmt: str, status_code: int, description: str) -> Response:
    """The spec's error document: a list of {code, description}."""
    return _respond(fmt if fmt in FORMATS else "json", "errors", "error",
                    [{"code": status_code, "description": description}], status_code)


#: the paths whose refused input (:mod:`geomap.web.guard`) is answered by :func:`refuse`
PREFIXES = ("/open311",)

_REF = "#/components/schemas/"
#: Open311's error list (JSON, or ``<errors><error>`` in XML) for the OpenAPI document (:mod:`geomap.web.openapi`)
OPENAPI_FAMILY = openapi.Family("open311", {"application/json": {"schema": {"$ref": _REF + "Open311Errors"}},
                                            **openapi.XML}, {
    "Open311Errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["code", "description"], "additionalProperties": False,
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}},
    "Open311Requests": {"type": "array", "items": {"type": "object", "required": ["service_request_id"]}},
})


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    return {200: {"description": description,
                  "content": {"application/json": {"schema": schema or {}}, **openapi.XML}}}


_CODES = "|".join(REPORT_CATEGORIES)
#: ``.json`` or ``.xml`` (another extension: 404 in Open311's error list); the path without it answers JSON
_FORMAT = {"parameters": [{"name": "fmt", "in": "path", "required": True, "description": "Response format.",
                           "schema": {"type": "string", "enum": list(FORMATS)}}]}
#: a service code (another: 404)
ServiceCode = Annotated[str, Path(json_schema_extra={"enum": list(REPORT_CATEGORIES)})]
#: a W3C (RFC 3339) date-time with its offset, as the spec's examples
Instant = Annotated[str | None, Query(pattern=f"^{DATETIME_PATTERN}$")]
ServiceCodes = Annotated[str | None, Query(pattern=f"^(({_CODES})(,({_CODES}))*)?$",
                                           description="One or more service codes, comma-separated.")]
Statuses = Annotated[str | None, Query(pattern="^((open|closed)(,(open|closed))*)?$",
                                       description="open, closed or both, comma-separated.")]
#: each at most 200 characters, and so first_name + last_name, and email + phone, together
_TEXT = {"type": "string", "maxLength": intake.CONTACT_MAX,
         "description": f"With its pair (first_name/last_name, email/phone) at most {intake.CONTACT_MAX} characters."}
_POST_BODY = {"required": True, "content": {media: {"schema": {
    "type": "object", "required": ["api_key", "service_code", "lat", "long", "description"],
    "properties": {
        "api_key": {"type": "string", "description": "A key with scope open311 (geomap apikey add NAME --scope "
                                                     "open311)."},
        "service_code": {"enum": list(REPORT_CATEGORIES)},
        "lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "Inside the ward."},
        "long": {"type": "number", "minimum": -180, "maximum": 180, "description": "Inside the ward."},
        "description": {"type": "string", "pattern": openapi.non_blank(), "maxLength": intake.DESCRIPTION_MAX},
        "address_string": {"type": "string", "maxLength": intake.CONTACT_MAX},
        "jurisdiction_id": {"type": "string",
                            "description": "A ward served here (its slug); default: the ward of the location."},
        "email": _TEXT, "phone": _TEXT, "first_name": _TEXT, "last_name": _TEXT,
        "consent": {"type": "string", "enum": ["true", "false"], "description": (
            "true: the reporter was shown the purpose notice (GET /report/privacy) and agreed; required when "
            "email, phone, first_name or last_name is given (400 otherwise, nothing stored)")},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"}}}}
    for media in ("application/x-www-form-urlencoded", "multipart/form-data")}}


def refuse(request: Request, problem: LocalizedError, status: int) -> Response:
    """Input the edge guard refuses, as the spec's error list (XML for a ``.xml`` path)."""
    return error("xml" if request.url.path.endswith(".xml") else "json", status, problem.en)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _parse_date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} '{value[:40]}' is not a W3C date/time such as 2026-03-01T00:00:00+07:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL_TZ)


def _fmt(fmt: str) -> str | None:
    return fmt if fmt in FORMATS else None


# --- endpoints ----------------------------------------------------------------------------------


@router.get("/open311/discovery.{fmt}", responses=_ok("Where the endpoints are.") | OPENAPI_FAMILY.responses(404),
            openapi_extra=_FORMAT)
def discovery(fmt: str) -> Response:
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    doc = {
        "changeset": "2026-11-22T00:00:00+07:00",
        "contact": "UBND phường — bộ phận tiếp nhận phản ánh",
        "key_service": "geomap apikey add NAME --scope open311",
        "endpoints": [{"specification": SPEC_URL, "url": links.public_url(PREFIX),
                       "changeset": "2026-11-22T00:00:00+07:00", "type": "production",
                       "formats": ["application/json", "text/xml"]}],
    }
    if fmt == "xml":
        return Response(_xml("discovery", "endpoint", doc["endpoints"]), media_type=FORMATS["xml"])
    return JSONResponse(doc)


@router.get(PREFIX + "/services.{fmt}", responses=_ok("The services.") | OPENAPI_FAMILY.responses(404),
            openapi_extra=_FORMAT)
@router.get(PREFIX + "/services", include_in_schema=False)
@replica_fallback
def services(request: Request, fmt: str = "json", jurisdiction_id: str | None = None,
             engine: Engine = Depends(get_read_engine)) -> Response:
    """The list of services (report categories)."""
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    _, problem = service_requests.ward_for_jurisdiction(engine, jurisdiction_id)
    if problem:
        return error(fmt, 404, problem)
    lang = request_lang(request)
    return _respond(fmt, "services", "service", [service_requests.service(c, lang) for c in REPORT_CATEGORIES])


@router.get(PREFIX + "/services/{code}", include_in_schema=False)
@router.get(PREFIX + "/services/{code}.{fmt}",  # registered first (bottom decorator)
            responses=_ok("The service definition.") | OPENAPI_FAMILY.responses(404), openapi_extra=_FORMAT)
def service_definition(code: ServiceCode, fmt: str = "json") -> Response:
    """A service definition; no service has extra attributes (metadata is false)."""
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    if code not in REPORT_CATEGORIES:
        return error(fmt, 404, f"service_code '{code[:64]}' not found; known: {', '.join(REPORT_CATEGORIES)}")
    doc = {"service_code": code, "attributes": []}
    if fmt == "xml":
        top = ET.Element("service_definition")
        ET.SubElement(top, "service_code").text = code
        ET.SubElement(top, "attributes")
        return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True), media_type=FORMATS["xml"])
    return JSONResponse(doc)


@router.post(PREFIX + "/requests.{fmt}", openapi_extra={"requestBody": _POST_BODY, **_FORMAT}, responses={
    **_ok("A replay of a request already made: its id.", {"$ref": _REF + "Open311Requests"}),
    201: {"description": "Created: the new request's id.",
          "content": {"application/json": {"schema": {"$ref": _REF + "Open311Requests"}}, **openapi.XML}},
    **OPENAPI_FAMILY.responses(403, 404, 429)})
@router.post(PREFIX + "/requests", include_in_schema=False)
async def create_request(request: Request, fmt: str = "json", engine: Engine = Depends(get_engine)) -> Response:
    """Create a service request (form-encoded, as the spec says; multipart accepted too)."""
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    form = await request.form()
    args = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_create, request, fmt, args, engine)


def _create(request: Request, fmt: str, args: dict[str, str], engine: Engine) -> Response:
    key_id = apikeys.check(engine, args.get("api_key"), "open311")
    if key_id is None:
        return error(fmt, 403, "api_key is missing or invalid" if args.get("api_key") else "api_key is required")
    retry = request.app.state.limits.hit(request, "open311", f"key:{key_id}")  # default 120/min, burst 60 per key
    if retry > 0:
        resp = error(fmt, 429, "too many requests for this api_key; retry later")
        resp.headers["Retry-After"] = retry_after_header(retry)
        return resp
    code = args.get("service_code", "")
    if not code:
        return error(fmt, 400, "service_code is required")
    if code not in REPORT_CATEGORIES:
        return error(fmt, 400, f"service_code '{code[:64]}' is not a known service")
    ward_id, problem = service_requests.ward_for_jurisdiction(engine, args.get("jurisdiction_id"))
    if problem:
        return error(fmt, 400, problem)
    if not args.get("lat") or not args.get("long"):
        return error(fmt, 400, "lat and long are required (this server does not geocode address_string or "
                               "address_id)")
    name = " ".join(p for p in (args.get("first_name"), args.get("last_name")) if p) or None
    contact = ", ".join(p for p in (args.get("email"), args.get("phone")) if p) or None
    try:
        data = intake.validate(category=code, description=args.get("description"), lat=args.get("lat"),
                               lon=args.get("long"), channel="open311", reporter_name=name,
                               reporter_contact=contact, address=args.get("address_string"),
                               consent=args.get("consent", "").strip().lower() == "true")
        client = f"open311:{key_id}:{args.get('device_id') or args.get('account_id') or client_key(request)}"
        done = intake.submit(engine, data, ward_id=ward_id, client=client, api_key_id=key_id)
    except ReportError as exc:
        if exc.field == "consent":
            return error(fmt, 400, CONSENT_REQUIRED)
        field = {"location": "lat/long", "category": "service_code"}.get(exc.field or "", exc.field or "request")
        return error(fmt, 400, f"{field}: {exc.message('en')}")
    notice = (f"Expected by {service_requests.iso(done.deadline_at)}" if done.deadline_at else None)
    body = [{"service_request_id": done.public_id, "service_notice": notice, "account_id": None}]
    return _respond(fmt, "service_requests", "request", body, 201 if done.created else 200)


@router.get(PREFIX + "/requests.{fmt}", responses=_ok("The requests, newest first (at most 1000).", {
    "$ref": _REF + "Open311Requests"}) | OPENAPI_FAMILY.responses(404), openapi_extra=_FORMAT)
@router.get(PREFIX + "/requests", include_in_schema=False)
@replica_fallback
def list_requests(
    request: Request,
    fmt: str = "json",
    service_request_id: str | None = None,
    service_code: ServiceCodes = None,
    start_date: Instant = None,
    end_date: Instant = None,
    status: Statuses = None,
    jurisdiction_id: str | None = None,
    engine: Engine = Depends(get_read_engine),
) -> Response:
    """Service requests with the spec's filters; without dates, the last 90 days; at most 1000."""
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    lang = request_lang(request)
    ward_id, problem = service_requests.ward_for_jurisdiction(engine, jurisdiction_id)
    if problem:
        return error(fmt, 404, problem)
    try:
        start = _parse_date(start_date, "start_date")
        end = _parse_date(end_date, "end_date")
    except ValueError as exc:
        return error(fmt, 400, str(exc))
    codes = _split(service_code)
    unknown = [c for c in codes if c not in REPORT_CATEGORIES]
    if unknown:
        return error(fmt, 400, f"service_code '{unknown[0][:64]}' is not a known service")
    wanted = _split(status)
    if any(s not in ("open", "closed") for s in wanted):
        return error(fmt, 400, "status must be open, closed or both (comma-separated)")
    statuses = service_requests.statuses_for(wanted)
    if start is None and end is None:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=DEFAULT_DAYS)
    elif start is not None and end is not None and end < start:
        return error(fmt, 400, "end_date is before start_date")
    rows = service_requests.requests(engine, public_ids=_split(service_request_id)[:MAX_RESULTS],
                                     categories=codes, start=start, end=end, statuses=statuses,
                                     ward_id=ward_id, limit=MAX_RESULTS)
    base = config.PUBLIC_BASE_URL
    return _respond(fmt, "service_requests", "request", [service_requests.service_request(r, lang, base) for r in rows])


@router.get(PREFIX + "/requests/{request_id}", include_in_schema=False)
@router.get(PREFIX + "/requests/{request_id}.{fmt}",  # registered first (bottom decorator)
            responses=_ok("The request (a list of one).", {"$ref": _REF + "Open311Requests"})
            | OPENAPI_FAMILY.responses(404), openapi_extra=_FORMAT)
@replica_fallback
def get_request(request: Request, request_id: str, fmt: str = "json",
                engine: Engine = Depends(get_read_engine)) -> Response:
    """One service request (a list of one, as the spec says)."""
    if not _fmt(fmt):
        return error("json", 404, f"format '{fmt}' is not supported; use json or xml")
    rows = service_requests.requests(engine, public_ids=[request_id[:32]])
    if not rows:
        return error(fmt, 404, f"service_request_id '{request_id[:32]}' not found")
    return _respond(fmt, "service_requests", "request",
                    [service_requests.service_request(rows[0], request_lang(request), config.PUBLIC_BASE_URL)])
