"""Shared dependencies of the public service: the database engines.

:func:`get_engine` is the primary: every write, and every read that must see the visitor's own write.
:func:`get_read_engine` is where the public reads go (QR pages, Open311 reads, OGC features and tiles): the
read replica while :mod:`geomap.replica` finds it up and close enough behind, else the primary. A read route
wrapped in :func:`replica_fallback` runs once more on the primary when its read on the replica fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine

from geomap import db, replica


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


def get_read_engine(request: Request) -> Engine:
    """Where this request's reads go: the replica (``GEOMAP_READ_DATABASE_URL``) when usable, else the primary."""
    return app_read_engine(request.app)


def app_read_engine(app: Any) -> Engine:
    """Where ``app``'s public reads go now: the replica when usable, else the primary (:func:`app_engine`)."""
    reads: replica.ReadRouter = app.state.reads
    return reads.replica_engine() if reads.use_replica() else app_engine(app)


def replica_fallback(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run a read route (a plain function taking ``request`` and ``engine``) once more on the primary when its
    read on the replica failed because the replica went away (reads then go to the primary until it answers
    again) or cancelled the query to replay changes (:func:`geomap.replica.fallback_reason`)."""
    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            request, engine = kwargs.get("request"), kwargs.get("engine")
            reads = getattr(getattr(request, "app", None), "state", None)
            reads = getattr(reads, "reads", None)
            if reads is None or reads.replica_url is None or engine is not reads.replica_engine():
                raise
            why = replica.fallback_reason(exc)
            if why is None:
                raise
            if why == "lost":
                reads.failed(exc)
            kwargs["engine"] = get_engine(request)
            return handler(*args, **kwargs)
    return wrapper
