"""Signed-in staff on the public service: the session cookie, who is signed in, CSRF, refusals.

One session serves both apps. Signing in (``/field/signin``, :mod:`geomap.web.routes.field`)
opens a row of the server-side session table (:func:`geomap.auth.sign_in`) and hands the browser
its opaque token in the ``geomap_session`` cookie: ``HttpOnly``, ``SameSite=Lax``, ``Path=/``,
``Secure`` when the configured public base URL is https, kept :data:`geomap.auth.SESSION_MAX_HOURS`
(``Domain`` only when ``GEOMAP_SESSION_COOKIE_DOMAIN`` is set).
The staff app (Streamlit) reads the same cookie (:mod:`geomap.ui.auth`); cookies are per host, not
per port, so both apps on one host see it. The database stays the judge: idle and absolute expiry,
sign-out in either app, a disabled account, a password reset or an admin's ``geomap user
end-sessions`` end it at the next request.

The interface the field routes use (FastAPI dependencies: ``user: User = Depends(require_user)``):

- :func:`current_user` → ``User | None``; :func:`current_session` → :class:`geomap.auth.Session` or None
  (looked up once per request, kept on ``request.state``).
- :func:`require_user` → ``User``. Without a live session an HTML page request is redirected (303)
  to ``/field/signin?next=<path>``; a fetch or JSON request gets **401**
  ``{"error": "session_expired", "message": ..., "signin": "/field/signin?next=..."}`` so a phone's
  outbox keeps its items and sends them after signing in again.
- :func:`require_permission` ``("record_inspection")`` → a dependency returning the ``User`` when
  their role holds the permission; otherwise **403** (an HTML page or ``{"error": "forbidden"}``).
- :func:`csrf_token` ``(request)`` → the session's CSRF secret, for templates (``csrf_token`` in the
  field pages' context; forms carry it in a hidden ``csrf_token`` field, fetches in the
  ``X-CSRF-Token`` header). :func:`require_csrf` (async dependency) checks it on a POST: a missing
  or wrong token is **403** with one Vietnamese sentence and nothing is changed; no live session is
  the 401/redirect above (checked first, so an expired session never looks like a forged form).
- :func:`wants_json` tells a fetch from a page request; :func:`safe_next` keeps ``next=`` local
  (or exactly the configured staff app's origin: no open redirect).

The sign-in form itself has no session yet: it carries a pre-session token that must match the
``geomap_presession`` cookie (double submit), which stops another site signing a visitor in as
someone else. :func:`install` adds the exception handlers that turn :class:`SessionRequired`,
:class:`Forbidden` and :class:`CsrfRefused` into those answers (called by
:func:`geomap.web.create_app`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from geomap import auth, config, i18n
from geomap.users import User
from geomap.web.deps import get_engine

#: the cookie holding the opaque session token (shared with the staff app)
COOKIE = "geomap_session"
#: the double-submit cookie of the sign-in form (before there is a session)
PRESESSION_COOKIE = "geomap_presession"
#: the form field and the header that carry the CSRF token back
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: where a page request without a session is sent
SIGNIN_PATH = "/field/signin"
#: where a signed-in user lands by default
HOME_PATH = "/field/"

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "session.expired": ("Phiên đăng nhập đã hết hạn hoặc đã kết thúc; hãy đăng nhập lại (dữ liệu chưa gửi vẫn "
                        "được giữ).", "Your session expired or was ended; sign in again (unsent data is kept)."),
    "session.csrf": ("Biểu mẫu đã cũ hoặc không hợp lệ; hãy tải lại trang rồi thử lại.",
                     "The form is out of date or not valid; reload the page and try again."),
    "session.forbidden": ("Vai trò của bạn không được phép thực hiện thao tác này.",
                          "Your role may not do this."),
}


class SessionRequired(Exception):
    """No live session: a page request is sent to sign in, a fetch gets 401 JSON."""


class Forbidden(Exception):
    """The signed-in user's role does not hold the permission (403)."""

    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfRefused(Exception):
    """A POST without the right CSRF token (403; nothing was changed)."""


# --- the cookie ---------------------------------------------------------------------------------------


def secure_cookies() -> bool:
    """Cookies are ``Secure`` when the configured public base URL is https."""
    return config.PUBLIC_BASE_URL.lower().startswith("https://")


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=auth.SESSION_MAX_HOURS * 3600, path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(), domain=config.SESSION_COOKIE_DOMAIN)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(),
                           domain=config.SESSION_COOKIE_DOMAIN)


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


# --- who is signed in ---------------------------------------------------------------------------------


def current_session(request: Request) -> auth.Session | None:
    """The live session of this request's cookie (looked up once per request), or None."""
    state = request.state
    if not hasattr(state, "geomap_session"):
        token = session_token(request)
        state.geomap_session = auth.session(get_engine(request), token) if token else None
    return state.geomap_session


def current_user(request: Request) -> User | None:
    """The signed-in user, or None (a dependency: ``Depends(current_user)``)."""
    found = current_session(request)
    return found.user if found is not None else None


def require_user(request: Request) -> User:
    """The signed-in user; otherwise :class:`SessionRequired` (redirect for a page, 401 JSON for a fetch)."""
    user = current_user(request)
    if user is None:
        raise SessionRequired()
    return user


def require_permission(permission: str):
    """A dependency: the signed-in user when their role holds ``permission``, else 403 (:class:`Forbidden`)."""
    if permission not in auth.PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> User:
        user = require_user(request)
        if not auth.can(user, permission):
            raise Forbidden(permission)
        return user

    return dependency


# --- CSRF ---------------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token a form or fetch of this page must send back: the session's secret, or (before sign-in) the
    pre-session token, made on first use and set as a cookie by :func:`finish`."""
    found = current_session(request)
    if found is not None:
        return found.csrf_secret
    token = getattr(request.state, "geomap_presession", None) or request.cookies.get(PRESESSION_COOKIE) or ""
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    request.state.geomap_presession = token
    return token


def finish(request: Request, response: Response) -> Response:
    """Set the pre-session cookie when this request made one (the page renderer calls this)."""
    made = getattr(request.state, "geomap_presession", None)
    if made and made != request.cookies.get(PRESESSION_COOKIE):
        response.set_cookie(PRESESSION_COOKIE, made, path=SIGNIN_PATH, httponly=True, samesite="lax",
                            secure=secure_cookies())
    return response


async def _sent_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _same(sent: str, expected: str | None) -> bool:
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


async def require_csrf(request: Request) -> User:
    """A dependency for every POST of a signed-in page: the user, once the CSRF token matches the session's.

    No live session → :class:`SessionRequired` (checked first: an expired session is not a forgery);
    a missing or wrong token → :class:`CsrfRefused` (403).
    """
    found = current_session(request)
    if found is None:
        raise SessionRequired()
    if not _same(await _sent_token(request), found.csrf_secret):
        raise CsrfRefused()
    return found.user


async def check_presession_csrf(request: Request) -> None:
    """The sign-in form's check: the sent token must match the ``geomap_presession`` cookie."""
    if not _same(await _sent_token(request), request.cookies.get(PRESESSION_COOKIE)):
        raise CsrfRefused()


# --- requests and redirects ---------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    """A fetch or API call (answer JSON), rather than a page the browser navigates to (answer HTML)."""
    if request.headers.get("sec-fetch-mode", "navigate") != "navigate":
        return True
    accept = request.headers.get("accept", "")
    if "application/json" in accept or request.headers.get("content-type", "").startswith("application/json"):
        return True
    if request.headers.get("x-requested-with"):
        return True
    return "text/html" not in accept


def staff_origin() -> str:
    parts = urlsplit(config.STAFF_BASE_URL)
    return f"{parts.scheme}://{parts.netloc}".lower()


def safe_next(value: str | None, default: str = HOME_PATH) -> str:
    """``value`` when it is a local path (``/…``, not ``//…``) or a URL of the configured staff app, else
    ``default``."""
    if not value or any(ord(c) < 32 or c == "\\" for c in value):
        return default
    parts = urlsplit(value)
    if not parts.scheme and not parts.netloc and value.startswith("/") and not value.startswith("//"):
        return value
    if parts.scheme in ("http", "https") and parts.netloc and f"{parts.scheme}://{parts.netloc}".lower() == \
            staff_origin() and not parts.username and not parts.password:
        return value
    return default


def signin_url(request: Request) -> str:
    """``/field/signin?next=<this request's path and query>``."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGNIN_PATH}?next={quote(here, safe='/')}"


def lang(request: Request) -> str:
    """``?lang=`` first, then the ``geomap_lang`` cookie (the switch remembers it), then the configured language
    (Vietnamese): staff phones set to English still open the ward's app in Vietnamese until they switch."""
    for value in (request.query_params.get("lang"), request.cookies.get("geomap_lang")):
        if value in i18n.LANGUAGES:
            return value
    return i18n.lang_or_default(config.LANGUAGE)


def _problem(request: Request, status: int, error: str, key: str, page: Any, **extra: Any) -> Response:
    language = lang(request)
    message = i18n.t(key, language)
    if wants_json(request):
        return JSONResponse({"error": error, "message": message, **extra}, status_code=status,
                            headers={"Cache-Control": "no-store"})
    return page(request, status, message)


def install(app: FastAPI) -> None:
    """Answer the session's refusals: 303 to sign in / 401 JSON, 403 forbidden, 403 CSRF."""
    from geomap.web import field_pages

    def message_page(request: Request, status: int, message: str) -> Response:
        return field_pages.message(request, message, status=status)

    @app.exception_handler(SessionRequired)
    async def _session_required(request: Request, exc: SessionRequired) -> Response:
        target = signin_url(request)
        if wants_json(request):
            return _problem(request, 401, "session_expired", "session.expired", message_page, signin=target)
        # the dead cookie is left alone: the session already ended in the database, and an answer to a
        # request sent before a new sign-in (a service worker's background refresh) must not delete the new one
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _problem(request, 403, "forbidden", "session.forbidden", message_page, permission=exc.permission)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return _problem(request, 403, "csrf", "session.csrf", message_page)
