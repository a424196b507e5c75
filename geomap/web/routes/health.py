"""``GET /health``: is the service up and does the database answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from geomap import db
from geomap.web import openapi, outage
from geomap.web.deps import get_engine

router = APIRouter()


@router.get("/health", openapi_extra={"x-database": True}, responses={
    200: {"description": "The service and its database answer.", "content": {"application/json": {"schema": {
        "type": "object", "required": ["status", "database"], "properties": {"status": {"const": "ok"}}}}}},
    503: {"description": "The database does not answer.", "headers": openapi.RETRY_AFTER,
          "content": {"application/json": {"schema": {
              "type": "object", "required": ["status", "database"], "properties": {"status": {"const": "error"}}}}}}})
def health(request: Request) -> JSONResponse:
    try:
        db.check(get_engine(request))  # PostGIS answers
    except Exception:  # the health check reports, it never raises
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(outage.RETRY_AFTER_S), "Cache-Control": "no-store"})
    return JSONResponse({"status": "ok", "database": "ok", **request.app.state.reads.status()},
                        headers={"Cache-Control": "no-store"})
