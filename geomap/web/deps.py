"""Shared dependencies of the public service: the database engine."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.engine import Engine

from geomap import db


def get_engine(request: Request) -> Engine:
    """The engine for this app (its ``database_url`` or the configured database)."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        engine = db.get_engine(request.app.state.database_url)
        request.app.state.engine = engine
    return engine
