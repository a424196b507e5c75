"""The fast path for cached vector tiles: a public tile already in the cache is answered before any routing.

A map pans and zooms through hundreds of tiles a second, most of them already made; FastAPI's routing,
dependency injection, thread pool and response classes cost several times the cache lookup itself. So
a plain ASGI middleware, outermost, answers exactly one kind of request itself:

- ``GET`` or ``HEAD`` of ``/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}`` or
  ``/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`` (digits only, within the matrix),
- with no query string, no ``X-API-Key`` and no session cookie (the public profile: nothing to check; a
  signed-in staff page's request goes to the route, which reads its session, :mod:`geomap.web.staff_reads`),
- for a public collection (or the dataset) whose tile :func:`geomap.ogc.tiles.cached` finds in the cache
  under the layers' current change count,

with the same headers and bodies as the route (``ETag``, ``Cache-Control``, ``Vary``; 304 on a matching
``If-None-Match``). Everything else, a miss included, goes down the app's ordinary stack unchanged: the
edge guard, the route (which makes the tile and keeps it) and the error and outage handlers. The fast
path never answers an error: when the change count cannot be read it steps aside and the route answers
(503 while the database is down).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from geomap.ogc import api, tiles
from geomap.web import deps, session

_TILE_PATH = re.compile(
    rf"^{re.escape(api.PREFIX)}(?:/collections/(?P<collection>[A-Za-z0-9_]+))?/tiles/{tiles.TMS_ID}"
    r"/(?P<z>[0-9]{1,2})/(?P<y>[0-9]{1,9})/(?P<x>[0-9]{1,9})$")


class CachedTiles:
    """ASGI middleware answering public tile requests from the tile cache (see the module's docstring)."""

    def __init__(self, app: ASGIApp, api_app: Any) -> None:
        self.app, self.api_app = app, api_app
        public = api.collections_for("public")
        #: collection (None: the dataset) -> the layers of its public tiles
        self.chosen = {None: list(public.values()), **{name: [layer] for name, layer in public.items()}}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._answer(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = found
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})

    def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        if scope["method"] not in ("GET", "HEAD") or scope.get("query_string"):
            return None
        match = _TILE_PATH.match(scope["path"])
        if match is None:
            return None
        chosen = self.chosen.get(match["collection"])
        if chosen is None:
            return None
        headers = dict(scope["headers"])
        if b"x-api-key" in headers or session.COOKIE.encode() in headers.get(b"cookie", b""):
            return None
        z, y, x = int(match["z"]), int(match["y"]), int(match["x"])
        if z > tiles.MAX_ZOOM or y >= 1 << z or x >= 1 << z:
            return None
        try:
            engine = deps.app_read_engine(self.api_app)  # where the route would read it: the replica when usable
            hit = tiles.cached(engine, chosen, "public", z, y, x, self.api_app.state.ogc)
        except Exception:  # noqa: BLE001 (the database cannot be asked: the route answers, 503 included)
            return None
        if hit is None:
            return None
        body, etag = hit
        out = [(k.lower().encode(), v.encode()) for k, v in tiles.headers(etag, "public").items()]
        if tiles.not_modified(headers.get(b"if-none-match", b"").decode("latin-1"), etag):
            return 304, out, b""
        return 200, [(b"content-type", tiles.MVT.encode()), (b"content-length", str(len(body)).encode()), *out], body
