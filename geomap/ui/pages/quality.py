"""Data-quality page: what needs attention in the ward's records, each row linked to its fix."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geomap.records import quality
from geomap.ui import resources
from geomap.ui.context import Context
from geomap.ui.pages import Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "quality.title": ("Chất lượng dữ liệu", "Data quality"),
    "quality.intro": ("Dữ liệu cần “đúng – đủ – sạch – sống”: danh sách dưới đây là các hồ sơ cần xử lý. "
                      "Bấm “Sửa” để mở hồ sơ.",
                      "Records must be correct, complete, clean and current: these need attention. "
                      "Click “Fix” to open the record."),
    "quality.none": ("Không có hồ sơ nào cần xử lý.", "Nothing needs attention."),
    "quality.fix": ("Sửa", "Fix"),
    "quality.col.code": ("Mã cơ sở", "Code"),
    "quality.col.name": ("Tên cơ sở", "Name"),
    "quality.col.address": ("Địa chỉ", "Address"),
    "quality.col.detail": ("Chi tiết", "Detail"),
}


@st.cache_data(ttl=120, show_spinner=False)
def _frame(db_key: str, ward_id: int) -> pd.DataFrame:
    return quality.load(resources.engine(), ward_id)


def render(ctx: Context) -> None:
    st.title(ctx.t("quality.title"))
    st.caption(ctx.t("quality.intro"))
    db_key = ctx.engine.url.render_as_string(hide_password=True)
    found = quality.find(_frame(db_key, ctx.ward_id), lang=ctx.lang, ward_slug=ctx.ward_slug)
    cols = st.columns(len(quality.CHECKS))
    for col, check in zip(cols, quality.CHECKS, strict=True):
        col.metric(check.title(ctx.lang), len(found[check.key]))
    tabs = st.tabs([f"{c.title(ctx.lang)} ({len(found[c.key])})" for c in quality.CHECKS])
    for tab, check in zip(tabs, quality.CHECKS, strict=True):
        with tab:
            st.caption(check.hint(ctx.lang))
            rows = found[check.key]
            if rows.empty:
                st.success(ctx.t("quality.none"))
                continue
            st.dataframe(
                rows[["code", "name", "address", "detail", "link"]], hide_index=True, use_container_width=True,
                column_config={
                    "code": ctx.t("quality.col.code"), "name": ctx.t("quality.col.name"),
                    "address": ctx.t("quality.col.address"), "detail": ctx.t("quality.col.detail"),
                    "link": st.column_config.LinkColumn(ctx.t("quality.fix"), display_text=ctx.t("quality.fix")),
                })


PAGE = Page("quality", "Chất lượng dữ liệu", "Data quality", render, icon=":material/rule:",
            permission="view_quality", order=65)
