"""The public service while its database cannot answer, and its answer to a bug.

**Database down** (:func:`install`): a route that meets a database failure :func:`geomap.db.readable_error`
classifies as an outage (the server is unreachable or restarting, the pool timed out, the schema
is missing) or as a busy database (a lost race, a statement timeout) answers **503** with
``Retry-After`` (:data:`RETRY_AFTER_S`) and ``Cache-Control: no-store``, in the message shape of
its family (the same ``PREFIXES``/``refuse`` the edge guard uses, :mod:`geomap.web.guard`): an OGC
exception document, Open311's error list (JSON or XML), the report pages' message page, the QR
notice, ``{"detail": ...}`` elsewhere. Any other database error is a bug and stays a 500.

**Logging**: an outage hits every request, so it is logged as one warning line per failure class
(exception type and SQLSTATE) per :data:`LOG_INTERVAL_S`, with the number of repeats not logged
since, never a traceback (:class:`OutageLog`, on ``app.state.outage_log``). Real bugs keep
their traceback.

**A 500** (a bug) is answered ``Connection: close``: the server closes the connection after an
unhandled exception, and a kept-alive client that was not told so would send its next request
into the closed socket (the exception still reaches the server's log with its traceback).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from geomap import db
from geomap.errors import DatabaseUnavailable, LocalizedError

#: seconds a client is asked to wait before trying again while the database cannot answer
RETRY_AFTER_S = 30
#: one log line per failure class per this many seconds
LOG_INTERVAL_S = 60.0

log = logging.getLogger(__name__)


def unavailable_error() -> LocalizedError:
    return LocalizedError(
        "Dịch vụ tạm thời chưa kết nối được cơ sở dữ liệu. Vui lòng thử lại sau ít phút; "
        "chưa có gì được lưu từ yêu cầu này.",
        "The service temporarily cannot reach its database. Please try again in a few minutes; "
        "nothing from this request was saved.")


@dataclass
class OutageLog:
    """Throttled warnings: the first failure of a class is logged, repeats within ``interval`` are counted."""

    interval: float = LOG_INTERVAL_S
    clock: object = time.monotonic
    _seen: dict[str, tuple[float, int]] = field(default_factory=dict)  # class -> (last logged, suppressed)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, reason: str, where: str) -> bool:
        """Log ``reason`` unless ``kind`` was logged less than ``interval`` ago; True when logged."""
        now = self.clock()  # type: ignore[operator]
        with self._lock:
            last, suppressed = self._seen.get(kind, (None, 0))
            if last is not None and now - last < self.interval:
                self._seen[kind] = (last, suppressed + 1)
                return False
            self._seen[kind] = (now, 0)
        extra = f" ({suppressed} more since the last line)" if suppressed else ""
        log.warning("database unavailable [%s] at %s: %s; answering 503%s", kind, where, reason.rstrip("."), extra)
        return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def failure_class(exc: BaseException) -> str:
    """A failure's class for the log: the driver exception's type and SQLSTATE."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or ""
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{name}:{code}" if code else name


def note(request: Request, exc: BaseException, reason: str | None = None) -> None:
    """Log a database outage met by ``request`` (throttled by the app's :class:`OutageLog`)."""
    if reason is None:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0][:300] if lines else type(exc).__name__
    request.app.state.outage_log.record(failure_class(exc), reason, f"{request.method} {request.url.path}")


def install(app: FastAPI) -> None:
    """Answer database outages as 503 in each family's shape (``app.state.refusals``); a 500 ``Connection: close``."""
    app.state.outage_log = OutageLog()

    async def database_down(request: Request, exc: Exception) -> Response:
        readable = db.readable_error(exc) if not isinstance(exc, sa.exc.TimeoutError) else DatabaseUnavailable(str(exc))
        if readable is None:  # a database error that is not an outage: a bug, answered 500 by the server
            raise exc
        note(request, exc, str(readable).splitlines()[0][:300] if str(readable) else type(exc).__name__)
        response = request.app.state.refusals.response(request, unavailable_error(), 503)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Internal Server Error", status_code=500, headers={"Connection": "close"})

    for cls in (sa.exc.DBAPIError, sa.exc.TimeoutError, DatabaseUnavailable):
        app.add_exception_handler(cls, database_down)
    app.add_exception_handler(Exception, server_error)
