"""Sign-in for the staff app: the form, the session, the sign-out button.

The router calls :func:`require_user` before it builds the navigation. The browser
session (``st.session_state``) holds only an opaque session token; every rerun checks it
against the database (:func:`geomap.auth.session_user`), so expiry, sign-out elsewhere,
a password reset or a disabled account take effect at the next click.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from geomap import auth, config, i18n
from geomap.errors import GeomapError, LocalizedError
from geomap.ui.resources import engine
from geomap.users import User

_TOKEN = "geomap.session_token"

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
}


def _lang() -> str:
    return i18n.lang_or_default(st.session_state.get("lang", config.LANGUAGE))


def require_user() -> User:
    """The signed-in user; otherwise shows the form and stops."""
    lang = _lang()
    eng = engine()
    token = st.session_state.get(_TOKEN)
    try:
        user = auth.session_user(eng, token) if token else None
    except GeomapError as exc:
        st.error(str(exc))
        st.stop()
    if user is None:
        if token:
            st.session_state.pop(_TOKEN, None)
            st.session_state["geomap.auth_notice"] = i18n.t("auth.expired", lang)
        _remember_requested_page()
        _sign_in_form(lang)
        st.stop()
    _sidebar(user, token, lang)
    return user


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
    with st.form("geomap.sign_in", clear_on_submit=False):
        username = st.text_input(i18n.t("auth.username", lang), key="geomap.sign_in.username",
                                 autocomplete="username")
        password = st.text_input(i18n.t("auth.password", lang), type="password", key="geomap.sign_in.password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(i18n.t("auth.submit", lang), type="primary")
    if not submitted:
        return
    try:
        _, token = auth.sign_in(engine(), username, password)
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
            auth.sign_out(engine(), token)
            st.session_state.pop(_TOKEN, None)
            st.rerun()
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
                            st.session_state["geomap.auth_notice"] = i18n.t("auth.password_changed", lang)
                            st.rerun()
