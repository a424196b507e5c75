"""``GET /health``: is the service up and does the database answer."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from geomap import db
from geomap.web.deps import get_engine

router = APIRouter()


@router.get("/health")
def health(engine: Engine = Depends(get_engine)) -> JSONResponse:
    try:
        db.check(engine)  # PostGIS answers
    except Exception:  # the health check reports, it never raises
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})
