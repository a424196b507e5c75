"""``GET /api/indicators``: the ward's indicators for a period, for the ward and per residential group (JSON).

For the ward's operations centre and the city's reporting platform; needs an ``X-API-Key`` with scope
``indicators`` (every ward) or ``indicators:<ward slug>`` (that ward only). The document and the rules
are :mod:`geomap.dashboard.api`'s; this module reads the request and answers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from geomap import config, profiles, status
from geomap.accounts import apikeys
from geomap.dashboard import api, periods
from geomap.wards import data as ward_data
from geomap.web import openapi
from geomap.web.deps import get_engine

router = APIRouter()

_FIGURE = {"type": "object", "required": ["numerator", "denominator", "value"], "properties": {
    "numerator": {"type": ["number", "null"]}, "denominator": {"type": ["number", "null"]},
    "value": {"type": ["number", "null"]}}}
_TEXT = {"type": "object", "required": ["vi", "en"], "properties": {"vi": {"type": "string"}, "en": {"type": "string"}}}
SCHEMA = {"type": "object", "required": ["ward", "period", "indicators", "groups"], "properties": {
    "ward": {"type": "object", "required": ["slug", "name"]},
    "period": {"type": "object", "required": ["id", "start", "end", "as_of", "complete"], "properties": {
        "id": {"type": "string"}, "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"}, "as_of": {"type": "string", "format": "date"},
        "complete": {"type": "boolean"}}},
    "indicators": {"type": "array", "items": {"type": "object", "required": [
        "key", "source", "label", "definition", "numerator", "denominator", "value", "target"], "properties": {
        "key": {"type": "string"}, "source": {"enum": ["geomap", "imported"]}, "label": _TEXT, "definition": _TEXT,
        "kind": {"enum": ["share", "count"]}, "numerator": {"type": ["number", "null"]},
        "denominator": {"type": ["number", "null"]}, "value": {"type": ["number", "null"]},
        "target": {"type": ["number", "null"]}, "target_year": {"type": "integer"},
        "met": {"type": ["boolean", "null"]}, "groups_reported": {"type": "integer"},
        "assessments": {"type": "array", "items": {"type": "string"}}}}},
    "groups": {"type": "array", "items": {"type": "object", "required": ["code", "name", "indicators"],
                                          "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                         "indicators": {"type": "object",
                                                                        "additionalProperties": _FIGURE}}}},
}}

_PARAMETERS = [
    {"name": "X-API-Key", "in": "header", "required": True, "schema": {"type": "string", "maxLength": 200},
     "description": "A key with scope `indicators` (every ward) or `indicators:<ward slug>` (that ward): "
                    "`geomap apikey add NAME --scope indicators:hoa-cuong`. Missing, unknown or revoked: 401; "
                    "another ward's key: 403."},
    {"name": "period", "in": "query", "required": False, "schema": {"type": "string", "pattern": api.PERIOD_PATTERN},
     "description": "Month 2026-11, quarter 2026-Q3, half-year 2026-H1 or year 2026; default: the current quarter. "
                    "A period that has not started: 404. Figures are taken at the period's end (or today)."},
    {"name": "ward", "in": "query", "required": False, "schema": {"type": "string", "pattern": api.SLUG_PATTERN},
     "description": "The ward's slug; default: the key's ward (or the service's default ward)."},
    {"name": "group", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 32},
     "description": "One residential group's code: only that group in `groups` (unknown: 404)."},
]


def _error(status_code: int, vi: str, en: str) -> JSONResponse:
    return JSONResponse({"detail": f"{vi} / {en}"}, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.get("/api/indicators", summary="Indicators for a period, for the ward and per residential group",
            openapi_extra={"parameters": _PARAMETERS}, responses={
                200: {"description": "Every indicator (geomap's own and the imported group-level ones) with "
                                     "numerator, denominator, value, target and definition (vi/en), and per group.",
                      "content": {"application/json": {"schema": SCHEMA}}},
                **openapi.GENERIC.responses(401, 403, 404)})
def indicators(request: Request, engine: Engine = Depends(get_engine)) -> Any:
    q = request.query_params
    scopes = apikeys.scopes(engine, request.headers.get("x-api-key"))
    if scopes is None:
        return _error(401, "Cần X-API-Key hợp lệ (phạm vi indicators).",
                      "A valid X-API-Key with scope indicators is required.")
    allowed = api.wards_allowed(scopes)
    if allowed is not None and not allowed:
        return _error(403, "Khóa API này không có quyền đọc chỉ tiêu.", "This API key may not read indicators.")
    default = next(iter(allowed)) if allowed and len(allowed) == 1 else config.DEFAULT_WARD
    slug = q["ward"] if "ward" in q else default
    today = status.today()
    text = q["period"] if "period" in q else str(periods.containing(today, "quarter"))
    problem = api.period_problem(text)
    if problem:
        return _error(400, *problem)
    if not re.fullmatch(api.SLUG_PATTERN, slug):
        return _error(400, f"Mã phường '{slug[:64]}' không hợp lệ.", f"The ward slug '{slug[:64]}' is not valid.")
    if allowed is not None and slug not in allowed:
        return _error(403, f"Khóa API này chỉ đọc được phường {', '.join(sorted(allowed))}.",
                      f"This API key reads only the ward {', '.join(sorted(allowed))}.")
    ward = ward_data.ward_by_slug(engine, slug)
    if ward is None:
        return _error(404, f"Không có phường '{slug}'.", f"There is no ward '{slug}'.")
    period = periods.parse(text)
    if period.start > today:
        return _error(404, f"Kỳ {period} chưa bắt đầu: chưa có số liệu.", f"The period {period} has not started: "
                      "there are no figures yet.")
    headers = {"Cache-Control": "private, max-age=60"}
    cache = request.app.state.indicators

    def whole(frames: api.Frames) -> tuple[dict, bytes]:
        doc = api.document(frames, profiles.find(slug, engine), ward, period, today)
        return doc, JSONResponse(doc).body  # the ward's document, encoded once

    doc, body = cache.document(engine, int(ward["id"]), (str(period), today), whole)
    if "group" not in q:
        return Response(body, media_type="application/json", headers=headers)
    one = api.for_group(doc, q["group"])
    if one is None:
        return _error(404, f"Không có tổ dân phố '{q['group'][:32]}' trong phường.",
                      f"There is no residential group '{q['group'][:32]}' in the ward.")
    return JSONResponse(one, headers=headers)
