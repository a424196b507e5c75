"""The on-site page, retired: recording results on site moved to the field app (``/field/today``).

The field app (served by the public service) does what this Streamlit page did and more: one stop at
a time, the phone's position and time, photos shrunk on the phone, and it works offline with an
outbox (:mod:`geomap.web.routes.field_visits`). This page stays in the menu so inspectors who
bookmarked it find the way: it links to the field app and says why.
"""

from __future__ import annotations

import streamlit as st

from geomap import config, i18n
from geomap.ui.context import Context
from geomap.ui.pages import ALL_ROLES, Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "onsite.title": ("Kiểm tra tại hiện trường", "On-site inspection"),
    "onsite.moved": ("Việc ghi kết quả tại hiện trường đã chuyển sang **ứng dụng hiện trường** trên điện thoại: "
                     "từng điểm một, ghi vị trí và giờ, ảnh thu nhỏ ngay trên máy, dùng được khi mất mạng "
                     "(kết quả chờ gửi khi có mạng lại).",
                     "Recording results on site moved to the **field app** on the phone: one stop at a time, "
                     "with the phone's position and time, photos shrunk on the phone, and it works offline "
                     "(results wait and are sent when the network returns)."),
    "onsite.open": ("Mở ứng dụng hiện trường", "Open the field app"),
    "onsite.same_account": ("Đăng nhập bằng cùng tài khoản; lộ trình lập ở trang “Kế hoạch kiểm tra” hiện ở mục "
                            "“Hôm nay”.", "Sign in with the same account; routes saved on the “Inspection "
                            "planning” page show under “Today”."),
}


def field_app_url() -> str:
    """Where the inspector's day lives in the field app."""
    return f"{config.PUBLIC_BASE_URL}/field/today"


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(i18n.t("onsite.title", lang))
    st.markdown(i18n.t("onsite.moved", lang))
    st.link_button(i18n.t("onsite.open", lang), field_app_url(), type="primary", use_container_width=True)
    st.caption(i18n.t("onsite.same_account", lang))


PAGE = Page("onsite", "Kiểm tra tại chỗ", "On site", render, icon=":material/fact_check:", roles=ALL_ROLES, order=41)
