"""``GET /health``: is the service up and does the database answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from geomap import db
from geomap.web import outage
from geomap.web.deps import get_engine

router = APIRouter()


@router.get("/health")
def health(request: Request) -> JSONResponse:
    try:
        db.check(get_engine(request))  # PostGIS answers
    except Exception:  # the health check reports, it never raises
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(outage.RETRY_AFTER_S), "Cache-Control": "no-store"})
    return JSONResponse({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})
