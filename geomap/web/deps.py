"""Shared dependencies of the public service: the database engine."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine

from geomap import db


def get_engine(request: Request) -> Engine:
    """The engine for this app (its ``database_url`` or the configured database)."""
    return app_engine(request.app)


def app_engine(app: Any) -> Engine:
    """The engine of ``app`` (made on first use from its ``database_url`` or the configured database)."""
    engine = getattr(app.state, "engine", None)
    if engine is None:
        engine = db.get_engine(app.state.database_url)
        app.state.engine = engine
    return engine
