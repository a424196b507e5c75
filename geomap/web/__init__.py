"""The public service (ASGI, FastAPI): QR lookup pages, report intake, Open311, OGC API.

:func:`create_app` builds the app from the routers in ``geomap.web.routes``: every module
there exposes ``router`` (a ``fastapi.APIRouter``); adding an endpoint family is one new
module. Run with ``geomap serve`` (uvicorn).

The app owns what its routes keep between requests, on ``app.state`` (each with explicit
lifetimes and a ``clear()``; nothing is process-wide, so a fresh app starts fresh):

- ``app.state.qr``: the QR lookup's :class:`qr.lookup.LookupState` (rendered pages kept
  ``GEOMAP_QR_CACHE_SECONDS``, the status memo, the source's columns, the lookup engine).
- ``app.state.ogc``: the OGC API's caches (:class:`geomap.ogc.cache.OGCCaches`: extents, counts,
  table columns, vector tiles and their layers' change counts, each with its TTL). A public tile
  already cached is answered by :mod:`geomap.web.fast_tiles` before any routing.
- ``app.state.reads``: where public reads go (:class:`geomap.replica.ReadRouter`: the read replica of
  ``GEOMAP_READ_DATABASE_URL`` while it answers and keeps up, else the primary; its checks run in a thread
  stopped at shutdown).
- ``app.state.indicators``: the indicator API's frames per ward (:class:`geomap.dashboard.api.IndicatorCache`,
  60 s).
- ``app.state.limits``: the rate limiters (:class:`geomap.web.ratelimit.RateLimits`: ``qr``,
  ``report``, ``open311``; token buckets, at most 100,000 clients each, ``clear()`` empties them).

Every request passes the edge guard first (:mod:`geomap.web.guard`): control characters in the
path, the query string or a form's text fields are refused (400) before any route or query runs,
in the message shape of the route family (each routes module's ``PREFIXES`` and ``refuse``).
While the database cannot answer, every route answers 503 with ``Retry-After`` in that same shape,
logged once per failure class per minute (:mod:`geomap.web.outage`, ``app.state.outage_log``); a
bug's 500 is sent ``Connection: close``.

The OpenAPI document (``/api/openapi.json``) is built by :mod:`geomap.web.openapi` from the routes and
their families (``OPENAPI_FAMILY``): every status each operation can answer, in its family's error shape,
the real content types and the parameters' constraints. The same module answers HEAD wherever GET is and a
method a path does not offer with 405 and the path's whole ``Allow``.

Left process-wide on purpose: ``db.get_engine``'s engine per database URL (a connection pool, no
data) and pure caches of files shipped with the code (a ward's outline from its boundary file).
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from geomap import db
from geomap.dashboard.api import IndicatorCache
from geomap.ogc.cache import OGCCaches
from geomap.replica import ReadRouter
from geomap.web import fast_tiles, guard, openapi, outage, session, staff_reads
from geomap.web.ratelimit import RateLimits
from qr.lookup import LookupState


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.reads.start()  # the read replica's checks run while the app does (nothing without a replica)
    yield
    app.state.reads.close()


def create_app(database_url: str | None = None, read_database_url: str | None = None) -> FastAPI:
    """The public ASGI app. ``database_url`` overrides the configured database (tests), ``read_database_url``
    the configured read replica (``GEOMAP_READ_DATABASE_URL``)."""
    app = FastAPI(title="geomap — dịch vụ công khai", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  lifespan=_lifespan)
    app.state.database_url = database_url
    app.state.reads = ReadRouter.from_config(read_database_url, lambda: database_url or db.database_url())
    app.state.ogc = OGCCaches()
    app.state.qr = LookupState.from_env()
    app.state.limits = RateLimits.from_env()
    app.state.indicators = IndicatorCache()
    refusals = guard.Refusals()
    routes = Path(__file__).parent / "routes"
    for info in sorted(pkgutil.iter_modules([str(routes)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.routes.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
        if hasattr(module, "refuse"):
            refusals.add(module.PREFIXES, module.refuse)
    guard.install(app, refusals)
    openapi.install(app)
    outage.install(app)
    session.install(app)  # sign-in required (303 / 401 JSON), role refused and CSRF refused (403)
    app.add_middleware(fast_tiles.CachedTiles, api_app=app)  # before the guard: cached public tiles, no cookie
    staff_reads.install(app)  # outermost: the staff app's pages read /ogc with the user's cookie (CORS for its origin)
    return app
