"""Infrastructure page: the ward's assets by kind and condition; a checked condition recorded with its date.

Reads widgets, calls :mod:`geomap.records.infrastructure` (the list, and ``set_condition`` with its
audit entry), renders.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from geomap.errors import GeomapError
from geomap.models import CONDITIONS, INFRASTRUCTURE_KINDS
from geomap.records import infrastructure
from geomap.status import today
from geomap.ui import widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "infra.title": ("Hạ tầng đô thị", "Urban infrastructure"),
    "infra.intro": ("Tình trạng từng thiết bị (đèn, cống, camera, ...). Ghi tình trạng sau mỗi lần kiểm tra: "
                    "mỗi thay đổi được lưu vào nhật ký.",
                    "The condition of each asset (lights, drains, cameras, ...). Record the condition after each "
                    "check: every change goes to the audit log."),
    "infra.kind": ("Loại", "Kind"),
    "infra.condition": ("Tình trạng", "Condition"),
    "infra.all": ("Tất cả", "All"),
    "infra.search": ("Tìm theo mã thiết bị", "Search by asset code"),
    "infra.none": ("Không có thiết bị nào.", "No assets."),
    "infra.pick": ("Thiết bị", "Asset"),
    "infra.checked_on": ("Ngày kiểm tra", "Checked on"),
    "infra.save": ("Lưu tình trạng", "Save the condition"),
    "infra.saved": ("Đã lưu tình trạng của {code}.", "Saved the condition of {code}."),
    "infra.col.code": ("Mã thiết bị", "Asset code"),
    "infra.col.installed_on": ("Ngày lắp đặt", "Installed on"),
}


def render(ctx: Context) -> None:
    st.title(ctx.t("infra.title"))
    st.caption(ctx.t("infra.intro"))
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(ctx.t("infra.kind"), [None, *INFRASTRUCTURE_KINDS],
                        format_func=lambda k: ctx.t("infra.all") if k is None else ctx.label("infrastructure_kind", k),
                        key="infra.kind")
    condition = c2.selectbox(ctx.t("infra.condition"), [None, *CONDITIONS],
                             format_func=lambda c: ctx.t("infra.all") if c is None else ctx.label("condition", c),
                             key="infra.condition")
    query = c3.text_input(ctx.t("infra.search"), max_chars=32, key="infra.q")
    assets = infrastructure.list_assets(ctx.engine, ctx.ward_id, kind=kind, condition=condition, query=query)
    if not assets:
        st.info(ctx.t("infra.none"))
        return
    frame = pd.DataFrame(assets)
    frame["kind"] = [ctx.label("infrastructure_kind", k) for k in frame["kind"]]
    frame["condition"] = [ctx.label("condition", c) for c in frame["condition"]]
    widgets.dataframe(frame.drop(columns="id"), hide_index=True, use_container_width=True, column_config={
        "code": ctx.t("infra.col.code"), "kind": ctx.t("infra.kind"), "condition": ctx.t("infra.condition"),
        "checked_on": ctx.t("infra.checked_on"), "installed_on": ctx.t("infra.col.installed_on")})
    by_id = {a["id"]: a for a in assets}
    with st.form("infra.edit"):
        picked = st.selectbox(ctx.t("infra.pick"), list(by_id), format_func=lambda i: by_id[i]["code"])
        new = st.radio(ctx.t("infra.condition"), CONDITIONS, horizontal=True,
                       format_func=lambda c: ctx.label("condition", c))
        day = st.date_input(ctx.t("infra.checked_on"), value=today(), max_value=today(),
                            min_value=dt.date(2000, 1, 1), format="DD/MM/YYYY")
        if st.form_submit_button(ctx.t("infra.save"), type="primary", icon=":material/save:"):
            try:
                infrastructure.set_condition(ctx.engine, picked, new, day, user=ctx.user)
            except GeomapError as exc:
                st.error(exc.message(ctx.lang) if hasattr(exc, "message") else str(exc))
                return
            st.success(ctx.t("infra.saved").format(code=by_id[picked]["code"]))


PAGE = Page("infrastructure", "Hạ tầng đô thị", "Infrastructure", render, icon=":material/lightbulb:",
            permission="edit_records", order=55)
