"""The field app's shell: ``/field/`` (landing), ``/field/signin``, ``/field/signout``, the web app
manifest and the field assets (``/field/static/<name>``).

Thin: the session rules are :mod:`geomap.web.session` (cookie, CSRF, refusals) and
:mod:`geomap.auth` (sign-in, throttle, lock-out); pages are drawn by :mod:`geomap.web.field_pages`.
Other parts of the field app live in sibling modules (``field_*.py``, each with its own ``router``),
using ``Depends(session.require_user)`` / ``session.require_csrf`` and ``field_pages.render``.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from geomap import auth, i18n
from geomap.errors import LocalizedError
from geomap.users import User
from geomap.web import field_pages, session
from geomap.web.deps import get_engine
from geomap.web.ratelimit import client_key

router = APIRouter()

#: the paths whose refused input (:mod:`geomap.web.guard`) is answered by :func:`refuse`
PREFIXES = ("/field",)

_ASSET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png",
          ".svg": "image/svg+xml", ".json": "application/json", ".webmanifest": "application/manifest+json"}


def refuse(request: Request, problem: LocalizedError, status: int) -> Response:
    """Input the edge guard refuses: JSON for a fetch, the message page otherwise."""
    if session.wants_json(request):
        return JSONResponse({"error": "bad_request", "message": problem.message(session.lang(request))},
                            status_code=status)
    return field_pages.message(request, problem.message(session.lang(request)), status=status)


def survey_allowed(user: User) -> bool:
    """May ``user`` open survey mode (the landing's link)? Data officers and whoever edits records."""
    return auth.can(user, "edit_records")


@router.get("/field", include_in_schema=False)
def field_root() -> RedirectResponse:
    return RedirectResponse(session.HOME_PATH, status_code=308)


@router.get("/field/", include_in_schema=False)
def landing(request: Request, user: User = Depends(session.require_user)) -> Response:
    return field_pages.render(request, "landing.html", today=auth.can(user, "record_inspection"),
                              survey=survey_allowed(user))


@router.get("/field/signin", include_in_schema=False)
def signin_form(request: Request, next: str = "") -> Response:
    target = session.safe_next(next)
    if session.current_user(request) is not None:  # signed in already (here or in the staff app)
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    return field_pages.render(request, "signin.html", next=target, sw_enabled=False)


@router.post("/field/signin", include_in_schema=False)
async def signin(request: Request, username: str = Form(""), password: str = Form(""),
                 next: str = Form("")) -> Response:
    target = session.safe_next(next)
    await session.check_presession_csrf(request)
    lang = session.lang(request)
    try:
        _, token = auth.sign_in(get_engine(request), username, password, client=client_key(request))
    except auth.SignInThrottled as exc:
        return field_pages.render(request, "signin.html", status=429, next=target, username=username,
                                  error=exc.message(lang), sw_enabled=False,
                                  headers={"Retry-After": str(max(1, int(exc.retry_after)))})
    except auth.SignInError as exc:
        return field_pages.render(request, "signin.html", status=401, next=target, username=username,
                                  error=exc.message(lang), sw_enabled=False)
    auth.sign_out(get_engine(request), session.session_token(request))  # a session this browser had ends
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    session.set_session_cookie(response, token)
    response.delete_cookie(session.PRESESSION_COOKIE, path=session.SIGNIN_PATH)
    return response


@router.post("/field/signout", include_in_schema=False)
async def signout(request: Request) -> Response:
    if session.current_session(request) is not None:
        await session.require_csrf(request)
        auth.sign_out(get_engine(request), session.session_token(request))
    response = RedirectResponse(f"{session.SIGNIN_PATH}?signed_out=1", status_code=303)
    session.clear_session_cookie(response)
    return response


@router.get("/field/manifest.webmanifest", include_in_schema=False)
def manifest(request: Request) -> Response:
    lang = session.lang(request)
    body = {
        "name": i18n.t("field.app_long", lang), "short_name": i18n.t("field.app", lang), "lang": lang,
        "start_url": session.HOME_PATH, "scope": session.HOME_PATH, "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0b5394",
        "icons": [{"src": field_pages.static(f"icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png",
                   "purpose": "any maskable"} for n in (192, 512)],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


@router.get("/field/static/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    path = field_pages.STATIC_DIR / name
    if not _ASSET.match(name) or ".." in name or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
