"""How the field app's pages are drawn: one Jinja environment, one base template, the shell's strings.

Every page of ``/field`` renders through :func:`render` (templates in
``geomap/web/templates/field/``, each extending ``field/base.html``). The context every template
gets: ``lang``, ``t(key)`` (:func:`geomap.i18n.t` in the page's language), ``label(code, value)``,
``user`` (the signed-in :class:`geomap.users.User` or None), ``csrf_token`` (for a hidden
``<input name="csrf_token">``; the base template also puts it in ``<meta name="csrf-token">`` for
fetches), ``static(name)`` (the URL of a file in ``geomap/web/static/field/``), ``fmt_time(value)``
(Vietnam time), ``request`` and ``path`` (for the language switch).

Blocks of ``field/base.html`` for the pages built on it: ``title``, ``head`` (extra ``<link>``s),
``header_extra``, ``content``, ``scripts`` (extra ``<script src>``; no inline script: the CSP is
``script-src 'self'``), ``sw`` (the service-worker registration: ``field.js`` registers
``/field/sw.js`` with scope ``/field/`` when ``<html data-sw="on">``; a page may set
``sw_enabled=False``). ``#outbox-count`` in the header is the outbox counter's place (hidden
until a script fills it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from geomap import auth, config, i18n
from geomap.web import session

#: the field app's own files (CSS, JS, icons), served at ``/field/static/<name>``
STATIC_DIR = Path(__file__).resolve().parent / "static" / "field"
STATIC_URL = "/field/static/"

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "field.app": ("Hiện trường", "Field"),
    "field.app_long": ("geomap — ứng dụng hiện trường", "geomap — field app"),
    "field.signin.title": ("Đăng nhập", "Sign in"),
    "field.signin.intro": ("Dành cho cán bộ phường: một lần đăng nhập dùng cho cả ứng dụng hiện trường và "
                           "ứng dụng cán bộ.",
                           "For ward staff: one sign-in serves both the field app and the staff app."),
    "field.signin.username": ("Tên đăng nhập", "User name"),
    "field.signin.password": ("Mật khẩu", "Password"),
    "field.signin.submit": ("Đăng nhập", "Sign in"),
    "field.signin.error": ("Chưa đăng nhập được", "Not signed in"),
    "field.signed_in_as": ("Đang đăng nhập", "Signed in as"),
    "field.signout": ("Đăng xuất", "Sign out"),
    "field.signed_out": ("Đã đăng xuất.", "Signed out."),
    "field.today": ("Hôm nay", "Today"),
    "field.today_hint": ("Các điểm kiểm tra theo lịch trong ngày", "Today's planned inspection stops"),
    "field.survey": ("Khảo sát", "Survey"),
    "field.survey_hint": ("Ghim vị trí và kiểm tra thông tin cơ sở", "Pin locations and check establishment details"),
    "field.staff_app": ("Ứng dụng cán bộ", "Staff app"),
    "field.staff_app_hint": ("Bản đồ, hồ sơ, báo cáo (màn hình lớn)", "Map, records, reports (large screen)"),
    "field.outbox": ("kết quả chưa gửi", "results not sent yet"),
    "field.language": ("Ngôn ngữ", "Language"),
    "field.message": ("Thông báo", "Notice"),
    "field.home": ("Trang đầu", "Home"),
    "field.nothing": ("Vai trò của bạn chưa có việc nào trong ứng dụng hiện trường; hãy dùng ứng dụng cán bộ.",
                      "Your role has nothing to do in the field app yet; use the staff app."),
}

#: the answers of every field page: nothing cached by shared caches, nothing loaded from elsewhere
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: the one Jinja environment of the field pages (templates shipped with the code; no data kept)
ENV = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                  lstrip_blocks=True)


def content_security_policy() -> str:
    """Everything from geomap itself; a form may also post on to the staff app (sign-in's ``next``)."""
    staff = session.staff_origin()
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
            f"form-action 'self' {staff}; base-uri 'none'; frame-ancestors 'none'")


def static(name: str) -> str:
    """The URL of a field asset (``field.css`` → ``/field/static/field.css``)."""
    return STATIC_URL + name


def fmt_time(value: dt.datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A time as shown to staff: Vietnam time (Asia/Ho_Chi_Minh), never the server's zone."""
    return auth.local_time(value, fmt, empty="")


def _lang_url(request: Request, code: str) -> str:
    """This page's path and query with ``lang=code`` (the language switch keeps ``next=`` and the rest)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", code)]
    return f"{request.url.path}?{urlencode(query)}"


def render(request: Request, template: str, *, status: int = 200, headers: dict[str, str] | None = None,
           **ctx: Any) -> HTMLResponse:
    """Render ``field/<template>`` with the shared context (see module doc) into a response."""
    language = session.lang(request)
    user = ctx.pop("user", None) or session.current_user(request)
    html = ENV.get_template(f"field/{template}").render(
        lang=language, t=lambda k: i18n.t(k, language), label=lambda c, v: i18n.code_label(c, v, language),
        user=user, csrf_token=session.csrf_token(request), static=static, fmt_time=fmt_time, request=request,
        path=request.url.path, lang_url=lambda code: _lang_url(request, code),
        role_label=i18n.code_label("role", user.role, language) if user else "",
        sw_enabled=ctx.pop("sw_enabled", True), staff_url=config.STAFF_BASE_URL, **ctx)
    response = HTMLResponse(html, status_code=status,
                            headers={**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(),
                                     **(headers or {})})
    if request.query_params.get("lang") in i18n.LANGUAGES:  # the language switch: remembered for a year
        response.set_cookie("geomap_lang", request.query_params["lang"], max_age=365 * 86400, path="/",
                            samesite="lax", secure=session.secure_cookies())
    return session.finish(request, response)


def message(request: Request, text: str, *, status: int = 200, title_key: str = "field.message") -> HTMLResponse:
    """A one-sentence page (refusals, notices) in the field app's frame."""
    return render(request, "message.html", status=status, title_key=title_key, message=text)
