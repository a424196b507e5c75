"""The edge guard of the public service: text the database cannot hold is refused before any route runs.

PostgreSQL refuses a NUL byte in ``text`` (and no public input needs a control character), so
one ASGI middleware, :class:`EdgeGuard`, reads every request's decoded path, every query
parameter and, for a form POST (URL-encoded or multipart), every text field, and answers
**400** when one holds a character of :data:`CONTROL` (form fields may hold tab, line feed and
carriage return: a description has lines). Files of a multipart form are not text and are not
checked. FastAPI's own parameter errors (a path or query value that is not the declared type)
are answered the same way, 400 rather than FastAPI's 422 document (:func:`install`).

The refusal keeps the message shape of the family the path belongs to: each route module may
define ``PREFIXES`` (the paths it serves) and ``refuse(request, error, status) -> Response``
(an OGC exception document for ``/ogc``, Open311's error list for ``/open311``, the
Vietnamese/English HTML page for ``/report`` and ``/q``...); :func:`geomap.web.create_app`
collects them, the longest matching prefix wins, and other paths get ``{"detail": ...}``.

Bodies: a request whose ``Content-Length`` exceeds :data:`MAX_BODY_BYTES` (three photos of the
report form's largest size plus 1 MiB of fields) is answered **413** before its body is read; a form
body sent without a length is counted as it arrives and refused the same way once past the limit.

Ranges (integers beyond their column, dates beyond the calendar, coordinates outside a CRS's
domain) are checked where each parameter is parsed: :mod:`geomap.ogc.params` and the routes.
A value that still gets past them and that the database refuses as data (``DataError``: a number
out of range, a malformed value; never a lost connection) is answered the same way, 400 in the
family's shape, with one warning line in the log instead of a traceback: the net under the checks,
not a substitute for them (a new instance means a check is missing where that parameter is read).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geomap.errors import LocalizedError
from geomap.field_reports import photos

#: control characters refused in a path segment or a query parameter (all of C0, and DEL)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: control characters refused in a form's text field (tab, line feed and carriage return allowed)
FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: the largest request body accepted: the report form's photos at their largest, plus 1 MiB of text fields
MAX_BODY_BYTES = photos.MAX_PHOTOS * photos.MAX_BYTES + 1024 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

log = logging.getLogger(__name__)

Refuse = Callable[[Request, LocalizedError, int], Response]


class BadInput(LocalizedError):
    """A request value the service refuses at the edge (bilingual; ``field`` names the parameter)."""


def control_error(where: str, name: str) -> BadInput:
    label = {"path": "đường dẫn", "query": "tham số", "form": "trường"}[where]
    en_label = {"path": "the path", "query": "parameter", "form": "field"}[where]
    shown = "" if where == "path" else f" {name[:40]!r}"
    return BadInput(f"Yêu cầu bị từ chối: {label}{shown} chứa ký tự điều khiển (như NUL), không được phép.",
                    f"Request refused: {en_label}{shown} contains a control character (such as NUL), which is "
                    f"not allowed.", name)


def too_large() -> BadInput:
    mb = MAX_BODY_BYTES / 1048576
    return BadInput(f"Yêu cầu quá lớn (tối đa {mb:.0f} MB).", f"Request too large (at most {mb:.0f} MB).", "body")


def check_text(pairs: Iterable[tuple[str, Any]], where: str, pattern: re.Pattern[str] = CONTROL) -> BadInput | None:
    """The first (name, value) pair whose name or text value holds a refused character, as an error."""
    for name, value in pairs:
        if pattern.search(name) or (isinstance(value, str) and pattern.search(value)):
            return control_error(where, name if not pattern.search(name) else repr(name)[1:-1])
    return None


class Refusals:
    """Path prefix → the family's ``refuse``; the longest matching prefix wins."""

    def __init__(self) -> None:
        self._by_prefix: list[tuple[str, Refuse]] = []

    def add(self, prefixes: Iterable[str], refuse: Refuse) -> None:
        self._by_prefix.extend((p, refuse) for p in prefixes)
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def response(self, request: Request, error: LocalizedError, status: int = 400) -> Response:
        path = request.url.path
        for prefix, refuse in self._by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/") or path.startswith(prefix + "."):
                return refuse(request, error, status)
        return JSONResponse({"detail": error.en}, status_code=status)


class EdgeGuard:
    """ASGI middleware: refuses control characters in the path, the query string and form text fields."""

    def __init__(self, app: ASGIApp, refusals: Refusals) -> None:
        self.app, self.refusals = app, refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        problem, status = None, 400
        length = request.headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY_BYTES):
            problem, status = too_large(), 413
        if problem is None and CONTROL.search(scope.get("path", "")):
            problem = control_error("path", "path")
        if problem is None:
            problem = check_text(request.query_params.multi_items(), "query")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if problem is None and scope.get("method") in ("POST", "PUT", "PATCH") and ctype in FORM_TYPES:
            receive, problem, status = await self._check_form(scope, receive)
        if problem is not None:
            await self.refusals.response(request, problem, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check_form(self, scope: Scope, receive: Receive) -> tuple[Receive, BadInput | None, int]:
        """Read the body once (at most :data:`MAX_BODY_BYTES`, spooled to disk past 1 MiB as Starlette
        spools uploads), check its text fields, and hand the app a ``receive`` that replays it."""
        spool = _Spool()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                spool.tail.append(message)
                break
            spool.write(message.get("body", b""))
            if spool.size > MAX_BODY_BYTES:
                spool.close()
                return receive, too_large(), 413
            if not message.get("more_body", False):
                break
        try:
            form = await Request(scope, spool.reader()).form()
        except Exception:  # a malformed body: the route answers it as it always has
            return spool.reader(receive), None, 400
        try:
            problem = check_text(form.multi_items(), "form", FORM_CONTROL)
        finally:
            await form.close()
        return spool.reader(receive), problem, 400


class _Spool:
    """A request body kept once (in memory up to 1 MiB, then in a temporary file) and read again in chunks."""

    CHUNK = 64 * 1024

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
        self.size = 0
        self.tail: list[Message] = []

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def close(self) -> None:
        self.file.close()

    def reader(self, then: Receive | None = None) -> Receive:
        """A ``receive`` giving the body from its start; after it, the messages that followed, then ``then``."""
        position, done = 0, False
        tail = list(self.tail)

        async def receive() -> Message:
            nonlocal position, done
            if not done:
                self.file.seek(position)
                data = self.file.read(self.CHUNK)
                position += len(data)
                done = position >= self.size
                if done and then is not None:
                    self.close()  # the app's copy is the last reader
                return {"type": "http.request", "body": data, "more_body": not done}
            if tail:
                return tail.pop(0)
            if then is None:
                return {"type": "http.disconnect"}
            return await then()

        return receive


def install(app: FastAPI, refusals: Refusals) -> None:
    """Add the guard; answer FastAPI's parameter errors (422) and the database's data errors as the family's 400."""
    app.state.refusals = refusals

    async def invalid(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        where = ".".join(str(p) for p in errors[0].get("loc", ())[1:]) if errors else "request"
        error = BadInput(f"Yêu cầu bị từ chối: giá trị của {where!r} không hợp lệ.",
                         f"Request refused: the value of {where!r} is not valid.", where)
        return refusals.response(request, error, 400)

    async def refused_by_database(request: Request, exc: Exception) -> Response:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        log.warning("database refused a value of %s %s: %s", request.method, request.url.path, reason)
        error = BadInput("Yêu cầu bị từ chối: một giá trị nằm ngoài phạm vi cơ sở dữ liệu chấp nhận.",
                         "Request refused: a value is outside what the database accepts.")
        return refusals.response(request, error, 400)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(DataError, refused_by_database)
    app.add_middleware(EdgeGuard, refusals=refusals)
