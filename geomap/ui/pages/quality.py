"""Data-quality page: what needs attention in the ward's records, each row linked to its fix."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geomap import auth, i18n
from geomap.errors import LocalizedError
from geomap.records import quality
from geomap.survey import capture, review
from geomap.ui import resources, widgets
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
    "survey.review.title": ("Cơ sở mới từ khảo sát thực địa, chờ duyệt", "New establishments from the field survey, "
                            "waiting for review"),
    "survey.review.intro": ("Cán bộ đã thêm các cơ sở này ngoài thực địa; chúng chưa được công bố (trang QR, dữ liệu "
                            "mở, OGC API) cho đến khi được duyệt.",
                            "Officers added these on the street; they are not published (QR page, open data, "
                            "OGC API) until approved."),
    "survey.review.none": ("Không có cơ sở nào chờ duyệt.", "Nothing is waiting for review."),
    "survey.review.added_by": ("Người thêm", "Added by"),
    "survey.review.approve": ("Duyệt và công bố", "Approve and publish"),
    "survey.review.reject": ("Không duyệt", "Reject"),
    "survey.review.reason": ("Lý do không duyệt (bắt buộc khi không duyệt)", "Reason for rejecting (required)"),
    "survey.review.approved": ("Đã duyệt", "Approved"),
    "survey.review.rejected": ("Đã không duyệt", "Rejected"),
}


@st.cache_data(ttl=120, show_spinner=False)
def _frame(db_key: str, ward_id: int) -> pd.DataFrame:
    return quality.load(resources.engine(), ward_id)


def _review(ctx: Context) -> None:
    """Establishments added on site, waiting for a data officer: approve (publish) or reject with a reason."""
    st.subheader(ctx.t("survey.review.title"))
    st.caption(ctx.t("survey.review.intro"))
    waiting = review.pending(ctx.engine, ctx.user, ctx.ward_id)
    if not waiting:
        st.success(ctx.t("survey.review.none"))
        return
    for item in waiting:
        industry = item["industry_name_vi"] if ctx.lang == "vi" else item["industry_name_en"]
        with st.expander(f"{item['name']} · {item['code']} · {industry}"):
            left, right = st.columns([2, 1])
            left.write(f"{item['address'] or ''} · {item['residential_group'] or ''}")
            left.write(f"{ctx.t('survey.review.added_by')}: {item['added_by'] or '?'} · "
                       f"{item['created_at']:%d/%m/%Y %H:%M} · {item['lat']:.6f}, {item['lon']:.6f}")
            codes = [i18n.code_label("payment", m, ctx.lang) for m in item["digital_payment"] or []] + \
                [i18n.code_label("platform", p, ctx.lang) for p in item["digital_platforms"] or []]
            if codes or item["opening_hours"]:
                left.write(" · ".join([item["opening_hours"] or "", *codes]).strip(" ·"))
            if item["photo_id"]:
                right.image(bytes(capture.photo(ctx.engine, ctx.user, item["photo_id"])["content"]))
            reason = left.text_input(ctx.t("survey.review.reason"), key=f"review-reason-{item['id']}")
            approve, reject = left.columns(2)
            decision = ("approved" if approve.button(ctx.t("survey.review.approve"), key=f"approve-{item['id']}",
                                                     type="primary") else
                        "rejected" if reject.button(ctx.t("survey.review.reject"), key=f"reject-{item['id']}")
                        else None)
            if decision:
                try:
                    review.decide(ctx.engine, ctx.user, item["id"], decision, expected_version=item["version"],
                                  note=reason)
                except LocalizedError as exc:
                    left.error(exc.message(ctx.lang))
                else:
                    left.success(ctx.t(f"survey.review.{decision}"))


def render(ctx: Context) -> None:
    st.title(ctx.t("quality.title"))
    if auth.can(ctx.user, "review_additions"):
        _review(ctx)
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
            widgets.dataframe(
                rows[["code", "name", "address", "detail", "link"]], hide_index=True, use_container_width=True,
                column_config={
                    "code": ctx.t("quality.col.code"), "name": ctx.t("quality.col.name"),
                    "address": ctx.t("quality.col.address"), "detail": ctx.t("quality.col.detail"),
                    "link": st.column_config.LinkColumn(ctx.t("quality.fix"), display_text=ctx.t("quality.fix")),
                })


PAGE = Page("quality", "Chất lượng dữ liệu", "Data quality", render, icon=":material/rule:",
            permission="view_quality", order=65)
