"""Staff pages reading the OGC API (tiles) with their own sign-in, never with a key in the page.

The staff app's city-wide map (``geomap/ui/pages/city.py``) is HTML the staff app sends to the
browser; its script fetches vector tiles from this service. An API key written into that page would
be readable by anyone who saves it, and would outlive the user's session. Instead the browser sends
the ``geomap_session`` cookie it already holds (``HttpOnly``, ``SameSite=Lax``, set at sign-in by
:mod:`geomap.web.session`): the staff app and this service are the same site (one host, two ports),
so a ``fetch(..., {credentials: "include"})`` from the staff page carries it, and the script itself
never sees the token. The session's rules apply to every tile: idle and total expiry, sign-out,
a disabled account or an administrator ending the sessions stop the tiles at the next request.

Which profile a session opens (:func:`session_profile`): the internal profile holds every field of
every ward, personal data included, so only a city-wide account that may see personal data of
every ward gets it (an administrator); every other signed-in user, a read-only city officer or an
account bound to one ward, gets the public profile, exactly what the same request without a cookie
gets. No one learns more with a cookie than their role allows anywhere else.

Reading a cross-origin response needs CORS: :class:`StaffOrigin` answers ``/ogc`` requests from the
configured staff app (``GEOMAP_STAFF_BASE_URL``'s origin, and only that origin) with
``Access-Control-Allow-Origin`` and ``-Allow-Credentials``; ``Vary: Origin, Cookie`` keeps a shared
cache from handing one user's answer to another.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geomap import auth, db
from geomap.errors import DatabaseUnavailable
from geomap.users import Profile
from geomap.web import session

#: the paths whose answers the staff app's pages may read with the user's cookie
PREFIX = "/ogc"


def session_profile(request: Request) -> Profile:
    """``internal`` for a live session of a city-wide account holding ``view_personal`` and
    ``view_city``; ``public`` for any other session and without one."""
    if not session.session_token(request):
        return "public"
    try:
        user = session.current_user(request)
    except Exception as exc:
        if not isinstance(db.readable_error(exc), DatabaseUnavailable):
            raise
        # the sessions live on the primary: while it is down a cookie opens what no cookie opens, and the
        # route's read (on the replica, when one is in use) goes on; the replica is not blamed for it
        return "public"
    if user is not None and user.ward_id is None and auth.can(user, "view_personal") and auth.can(user, "view_city"):
        return "internal"
    return "public"


class StaffOrigin:
    """ASGI middleware: CORS with credentials on ``/ogc`` for the staff app's origin only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"origin"), None)
        allowed = origin is not None and origin.lower() == session.staff_origin()

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                headers.add_vary_header("Cookie")
                if allowed:
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, send_with_cors)


def install(app) -> None:
    app.add_middleware(StaffOrigin)
