"""Sign-in for the staff app: the form, the session, the sign-out button.

The router calls :func:`require_user` before it builds the navigation. The browser
session (``st.session_state``) holds only an opaque session token; every rerun checks it
against the database (:func:`geomap.auth.session_user`), so expiry, sign-out elsewhere,
a password reset or a disabled account take effect at the next click.

One sign-in serves both apps: Streamlit cannot set a cookie, but it reads the request's cookies
(``st.context.cookies``). Signing in at the public service's ``/field/signin`` sets the
``geomap_session`` cookie (:mod:`geomap.web.session`), which the browser also sends to this app
(cookies are per host, not per port); with no token in ``st.session_state`` the app takes the
cookie's, so a reload keeps the user signed in. The sign-in page offers that link first (it comes
back here after signing in); the form stays for a staff app run without the public service, and
signs in for this browser tab only. Signing out ends the session in the database, so the cookie
stops working in both apps.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit

import streamlit as st

from geomap import auth, config, db, i18n
from geomap.errors import GeomapError, LocalizedError
from geomap.ui import widgets
from geomap.ui.resources import engine
from geomap.users import User

_TOKEN = "geomap.session_token"
#: the cookie the public service sets at sign-in (:data:`geomap.web.session.COOKIE`; not imported: no web here)
COOKIE = "geomap_session"
_SIGNED_OUT = "geomap.signed_out_token"
_DAY_TIME = "%d/%m/%Y %H:%M"

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "auth.title": ("Đăng nhập", "Sign in"),
    "auth.intro": ("Dành cho cán bộ phường. Người dân tra cứu cơ sở bằng mã QR, không cần tài khoản.",
                   "For ward staff. The public looks establishments up by QR code, without an account."),
    "auth.username": ("Tên đăng nhập", "User name"),
    "auth.password": ("Mật khẩu", "Password"),
    "auth.submit": ("Đăng nhập", "Sign in"),
    "auth.expired": ("Phiên làm việc đã hết hạn hoặc đã kết thúc; vui lòng đăng nhập lại.",
                     "Your session expired or was ended; please sign in again."),
    "auth.signed_in_as": ("Đang đăng nhập", "Signed in as"),
    "auth.sign_out": ("Đăng xuất", "Sign out"),
    "auth.change_password": ("Đổi mật khẩu", "Change password"),
    "auth.current_password": ("Mật khẩu hiện tại", "Current password"),
    "auth.new_password": ("Mật khẩu mới", "New password"),
    "auth.repeat_password": ("Nhập lại mật khẩu mới", "Repeat the new password"),
    "auth.passwords_differ": ("Hai mật khẩu mới không giống nhau.", "The two new passwords differ."),
    "auth.password_changed": ("Đã đổi mật khẩu; vui lòng đăng nhập lại.", "Password changed; please sign in again."),
    "auth.via_field": ("Đăng nhập qua ứng dụng hiện trường (dùng chung cho cả hai ứng dụng, giữ đăng nhập khi tải "
                       "lại trang)",
                       "Sign in through the field app (one sign-in for both apps, kept when the page reloads)"),
    "auth.sessions": ("Phiên đăng nhập", "Sign-in sessions"),
    "auth.sessions_none": ("Không có phiên nào đang mở.", "No live session."),
    "auth.sessions_user": ("Tài khoản", "Account"),
    "auth.sessions_started": ("Bắt đầu", "Started"),
    "auth.sessions_seen": ("Hoạt động gần nhất", "Last seen"),
    "auth.sessions_client": ("Địa chỉ máy", "Client"),
    "auth.sessions_end": ("Kết thúc mọi phiên của tài khoản", "End every session of the account"),
    "auth.sessions_ended": ("Đã kết thúc {n} phiên của {user}.", "Ended {n} session(s) of {user}."),
    "auth.form_here": ("Hoặc đăng nhập chỉ cho thẻ trình duyệt này:", "Or sign in for this browser tab only:"),
}


def _lang() -> str:
    return i18n.lang_or_default(st.session_state.get("lang", config.LANGUAGE))


def require_user() -> User:
    """The signed-in user; otherwise shows the form and stops."""
    lang = _lang()
    eng = engine()
    token = st.session_state.get(_TOKEN) or _cookie_token()
    try:
        user = auth.session_user(eng, token) if token else None
    except GeomapError as exc:
        st.error(str(exc))
        st.stop()
    if user is None:
        if token and token != st.session_state.get(_SIGNED_OUT):
            st.session_state["geomap.auth_notice"] = i18n.t("auth.expired", lang)
        if token:
            st.session_state.pop(_TOKEN, None)
            st.session_state[_SIGNED_OUT] = token  # a dead cookie is not taken again in this browser session
        _remember_requested_page()
        _sign_in_form(lang)
        st.stop()
    st.session_state[_TOKEN] = token
    _sidebar(user, token, lang)
    return user


def _cookie_token() -> str | None:
    """The ``geomap_session`` cookie's token, unless this browser session already saw it end."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (a script run outside a browser session)
        return None
    if not token or token == st.session_state.get(_SIGNED_OUT):
        return None
    return token


def field_signin_url() -> str:
    """The public service's sign-in, coming back to this page of the staff app afterwards."""
    here = st.context.url or config.STAFF_BASE_URL
    return f"{config.PUBLIC_BASE_URL}/field/signin?next={quote(here, safe='')}"


_REQUESTED = "geomap.requested_page"


def _remember_requested_page() -> None:
    """Keep the page and query a link asked for (a new browser session must sign in first)."""
    if _REQUESTED in st.session_state:
        return
    path = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    st.session_state[_REQUESTED] = (path, st.query_params.to_dict())


def requested_page() -> tuple[str, dict[str, str]] | None:
    """The page key and query asked for before sign-in, once (the router then goes there)."""
    return st.session_state.pop(_REQUESTED, None)


def _sign_in_form(lang: str) -> None:
    st.title(f"{i18n.t('app.title', lang)} — {i18n.t('auth.title', lang)}")
    st.caption(i18n.t("auth.intro", lang))
    notice = st.session_state.pop("geomap.auth_notice", None)
    if notice:
        st.info(notice)
    # same tab (Streamlit opens markdown links in a new one): the field sign-in comes back here
    st.markdown(f'<a href="{html.escape(field_signin_url())}" target="_self" id="geomap-field-signin">'
                f"<strong>{html.escape(i18n.t('auth.via_field', lang))}</strong></a>", unsafe_allow_html=True)
    st.caption(i18n.t("auth.form_here", lang))
    with st.form("geomap.sign_in", clear_on_submit=False):
        username = st.text_input(i18n.t("auth.username", lang), key="geomap.sign_in.username",
                                 autocomplete="username")
        password = st.text_input(i18n.t("auth.password", lang), type="password", key="geomap.sign_in.password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(i18n.t("auth.submit", lang), type="primary")
    if not submitted:
        return
    try:
        _, token = auth.sign_in(engine(), username, password, client=st.context.ip_address or None)
    except auth.SignInError as exc:
        st.error(exc.message(lang))
        return
    except GeomapError as exc:
        st.error(str(exc))
        return
    st.session_state[_TOKEN] = token
    st.session_state.pop("geomap.sign_in.password", None)
    st.rerun()


def _sidebar(user: User, token: str, lang: str) -> None:
    with st.sidebar:
        st.caption(f"{i18n.t('auth.signed_in_as', lang)}: {user.full_name} "
                   f"({i18n.code_label('role', user.role, lang)})")
        if st.button(i18n.t("auth.sign_out", lang), key="geomap.sign_out", icon=":material/logout:"):
            auth.sign_out(engine(), token)  # in the database: the shared cookie stops working in both apps
            st.session_state.pop(_TOKEN, None)
            st.session_state[_SIGNED_OUT] = token
            st.rerun()
        if auth.can(user, "manage_users"):
            with st.popover(i18n.t("auth.sessions", lang)):
                _sessions_admin(user, lang)
        with st.popover(i18n.t("auth.change_password", lang)):
            with st.form("geomap.change_password", clear_on_submit=True):
                current = st.text_input(i18n.t("auth.current_password", lang), type="password")
                new = st.text_input(i18n.t("auth.new_password", lang), type="password")
                repeat = st.text_input(i18n.t("auth.repeat_password", lang), type="password")
                if st.form_submit_button(i18n.t("auth.change_password", lang)):
                    if new != repeat:
                        st.error(i18n.t("auth.passwords_differ", lang))
                    else:
                        try:
                            auth.change_password(engine(), user, current, new)
                        except LocalizedError as exc:
                            st.error(exc.message(lang))
                        else:
                            st.session_state.pop(_TOKEN, None)
                            st.session_state[_SIGNED_OUT] = token
                            st.session_state["geomap.auth_notice"] = i18n.t("auth.password_changed", lang)
                            st.rerun()


def _sessions_admin(admin: User, lang: str) -> None:
    """Live sessions (Vietnam time) and ending an account's sessions: its cookie stops working in both apps."""
    rows = auth.live_sessions(engine())
    if not rows:
        st.caption(i18n.t("auth.sessions_none", lang))
        return
    widgets.table([{i18n.t("auth.sessions_user", lang): r["username"],
                   i18n.t("auth.sessions_started", lang): auth.local_time(r["created_at"], _DAY_TIME),
                   i18n.t("auth.sessions_seen", lang): auth.local_time(r["last_seen_at"], _DAY_TIME),
                   i18n.t("auth.sessions_client", lang): r["client"] or "—"} for r in rows])
    with st.form("geomap.end_sessions"):
        name = st.selectbox(i18n.t("auth.sessions_user", lang), sorted({r["username"] for r in rows}))
        if st.form_submit_button(i18n.t("auth.sessions_end", lang)) and name:
            try:
                with db.transaction(engine()) as conn:
                    ended = auth.end_sessions(conn, name, actor=admin)
            except LocalizedError as exc:
                st.error(exc.message(lang))
            else:
                st.success(i18n.t("auth.sessions_ended", lang).format(n=ended, user=name))
