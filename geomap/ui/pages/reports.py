"""Staff page: field-report work lists (overdue, due soon, by status), one report's workflow, intake.

Reads widgets, calls the services of :mod:`geomap.field_reports`, renders.
``?ward=&cell=<id>[,<id>]&since=&until=&category=`` (the hotspot page's links, built by
:func:`geomap.links.report_cells` and read by
:func:`geomap.field_reports.hotspot_links.parse_cells_link`) narrows the list to the reports behind those cells.

Text typed by the public or staff (descriptions, reporter name and contact, notes) is shown
with ``st.text`` or inside data frames, never as Markdown. Reporter name and contact reach only
roles holding ``view_personal`` (:func:`geomap.field_reports.reads.redact_for`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from geomap import auth, field_reports, i18n, links, profiles
from geomap.field_reports import hotspot_links, intake, photos, reads, retention, workflow, worklist
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.models import REPORT_CATEGORIES, REPORT_STATUSES
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.markdown import plain
from geomap.ui.pages import Page
from layers.palettes import REPORT_STATUS as REPORT_STATUS_COLOURS

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "rep.title": ("Phản ánh hiện trường", "Field reports"),
    "rep.tab_list": ("Danh sách xử lý", "Work list"),
    "rep.tab_intake": ("Tiếp nhận phản ánh", "Take a report"),
    "rep.view": ("Hiển thị", "Show"),
    "rep.view_open": ("Đang mở", "Open"),
    "rep.view_overdue": ("Quá hạn", "Overdue"),
    "rep.view_due": ("Sắp đến hạn (24 giờ)", "Due within 24 h"),
    "rep.view_mine": ("Được giao cho tôi", "Assigned to me"),
    "rep.view_all": ("Tất cả", "All"),
    "rep.view_moderate": ("Chờ kiểm duyệt", "To moderate"),
    "rep.moderation": ("Công khai", "Published"),
    "rep.mod_pending": ("chờ duyệt", "to review"),
    "rep.mod_approved": ("đã công khai", "published"),
    "rep.mod_withheld": ("không công khai", "withheld"),
    "rep.mod_title": ("Kiểm duyệt nội dung công khai", "Moderate what is public"),
    "rep.mod_help": ("Nội dung, địa chỉ và ảnh của người phản ánh chỉ hiện trên trang theo dõi và Open311 sau khi "
                     "được duyệt. Hãy lược bỏ họ tên, số điện thoại, biển số xe hay lời buộc tội cá nhân trước khi "
                     "công khai.",
                     "The reporter's description, address and photos appear on the tracking page and in Open311 "
                     "only once approved. Take out names, phone numbers, number plates or personal accusations "
                     "before publishing."),
    "rep.mod_text": ("Nội dung công khai", "Public text"),
    "rep.mod_photos": ("Công khai ảnh", "Publish the photos"),
    "rep.mod_approve": ("Duyệt công khai", "Publish"),
    "rep.mod_withhold": ("Không công khai", "Withhold"),
    "rep.mod_state": ("Trạng thái công khai: {state}", "Publication: {state}"),
    "rep.categories": ("Lĩnh vực", "Categories"),
    "rep.cells": ("Đang lọc theo điểm nóng ({n} ô lưới).", "Filtered to a hotspot ({n} grid cells)."),
    "rep.clear_cells": ("Bỏ lọc điểm nóng", "Clear the hotspot filter"),
    "rep.count": ("{n} phản ánh", "{n} reports"),
    "rep.none": ("Không có phản ánh nào.", "No reports."),
    "rep.pick": ("Chọn một dòng để xử lý.", "Select a row to work on it."),
    "rep.code": ("Mã", "Code"),
    "rep.category": ("Lĩnh vực", "Category"),
    "rep.status": ("Trạng thái", "Status"),
    "rep.reported": ("Phản ánh lúc", "Reported"),
    "rep.deadline": ("Hạn xử lý", "Deadline"),
    "rep.assignee": ("Người xử lý", "Assignee"),
    "rep.description": ("Nội dung", "Description"),
    "rep.overdue_by": ("Quá hạn", "Overdue"),
    "rep.history": ("Lịch sử xử lý", "History"),
    "rep.internal": ("nội bộ", "internal"),
    "rep.move": ("Chuyển trạng thái", "Change status"),
    "rep.note": ("Ghi chú (công khai cho người phản ánh)", "Note (shown to the reporter)"),
    "rep.apply": ("Cập nhật", "Update"),
    "rep.assign": ("Phân công", "Assign"),
    "rep.assign_to": ("Giao cho", "Assign to"),
    "rep.no_staff": ("Chưa có tài khoản cán bộ để phân công.", "No staff accounts to assign to."),
    "rep.dups": ("Có thể trùng (cùng lĩnh vực, trong 50 m, 30 ngày)",
                 "Possible duplicates (same category, 50 m, 30 days)"),
    "rep.no_dups": ("Không có phản ánh tương tự gần đây.", "No similar report nearby."),
    "rep.mark_dup": ("Đánh dấu trùng với", "Mark as duplicate of"),
    "rep.done": ("Đã cập nhật.", "Updated."),
    "rep.moved": ("Đã chuyển {code} sang “{status}”.", "{code} moved to “{status}”."),
    "rep.assigned": ("Đã giao {code} cho {name}.", "{code} assigned to {name}."),
    "rep.search": ("Tìm theo mã, địa chỉ hoặc nội dung (gõ không dấu cũng được)",
                   "Search by code, address or text (diacritics optional)"),
    "rep.left_list": ("Phản ánh đang chọn không còn trong danh sách này (đã đổi trạng thái hoặc bộ lọc); "
                      "vẫn hiển thị bên dưới.",
                      "The selected report is no longer in this list (its status or the filter changed); "
                      "it stays shown below."),
    "rep.map": ("Bản đồ danh sách ({n} điểm)", "Map of the list ({n} points)"),
    "rep.track": ("Trang theo dõi công khai", "Public tracking page"),
    "rep.intake_help": ("Ghi nhận phản ánh qua điện thoại, trực tiếp hoặc do cán bộ phát hiện.",
                        "Record a report taken by phone, in person or found by an officer."),
    "rep.channel": ("Kênh tiếp nhận", "Channel"),
    "rep.lat": ("Vĩ độ", "Latitude"),
    "rep.lon": ("Kinh độ", "Longitude"),
    "rep.address": ("Địa chỉ (nếu có)", "Address (optional)"),
    "rep.photos": ("Ảnh (tối đa 3)", "Photos (up to 3)"),
    "rep.reporter": ("Người phản ánh", "Reporter"),
    "rep.contact": ("Liên hệ", "Contact"),
    "rep.consent": ("Người phản ánh đã nghe thông báo về thông tin cá nhân (dưới đây) và đồng ý; chỉ cần khi ghi họ "
                    "tên hoặc liên hệ",
                    "The reporter heard the notice on personal details (below) and agreed; needed only with a name "
                    "or contact"),
    "rep.consent_at": ("Đồng ý với thông báo {version} lúc {at}", "Agreed to notice {version} at {at}"),
    "rep.no_consent": ("Không ghi nhận sự đồng ý (phản ánh trước khi có thông báo)",
                       "No consent recorded (reported before the notice)"),
    "rep.photos_erased": ("Ảnh ({n}): {erased} ({at})", "Photos ({n}): {erased} ({at})"),
    "rep.erase_title": ("Xoá thông tin cá nhân theo yêu cầu của người phản ánh",
                        "Erase personal details at the reporter's request"),
    "rep.erase_help": ("Xoá ngay họ tên, liên hệ, ảnh và địa chỉ thư của phản ánh này (không khôi phục được); "
                       "việc xoá được ghi nhật ký. Nội dung và tiến độ xử lý vẫn giữ.",
                       "Erases this report's reporter name, contact, photos and mail addresses now (cannot be "
                       "undone); the erasure is logged. The description and the handling stay."),
    "rep.erase_confirm": ("Người phản ánh đã yêu cầu xoá", "The reporter asked for erasure"),
    "rep.erase": ("Xoá thông tin cá nhân", "Erase personal details"),
    "rep.erased_now": ("Đã xoá thông tin cá nhân của phản ánh {code}.",
                       "Erased the personal details of report {code}."),
    "rep.save": ("Lưu phản ánh", "Save the report"),
    "rep.saved": ("Đã lưu phản ánh {code}; hạn xử lý {deadline}.", "Saved report {code}; deadline {deadline}."),
    "rep.replayed": ("Phản ánh này vừa được lưu ({code}).", "This report was just saved ({code})."),
    "rep.likely_dup": ("Có thể trùng", "Likely duplicate"),
    "rep.bad_link": ("Liên kết điểm nóng không dùng được", "The hotspot link cannot be used"),
    "rep.other_ward": ("Liên kết điểm nóng này thuộc phường '{link}', đang xem phường '{current}': hãy chọn "
                       "phường '{link}' ở thanh bên.",
                       "This hotspot link is for ward '{link}' but ward '{current}' is shown: pick ward "
                       "'{link}' in the sidebar."),
}

_VIEWS = ("open", "overdue", "due", "mine", "moderate", "all")


def _fmt(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


@st.cache_data(ttl=30, show_spinner=False)
def _list(ward_id: int, view: str, categories: tuple[str, ...], user_id: int | None,
          link: tuple[tuple[str, str | None], ...] = ()) -> list[dict[str, Any]]:
    """The rows to show. ``link``: a hotspot link's own ``cell``/``since``/``until`` text, parsed here so
    that an open ``until`` ("now") is resolved inside the cache: the key stays the same across reruns."""
    engine = resources.engine()
    window = hotspot_links.parse_cells_link(dict(link)) if link else None
    if window is not None:
        return reads.reports_in_cells(engine, ward_id, list(window.cells), since=window.since,
                                      until=window.until, categories=list(categories) or None,
                                      with_duplicates=True)
    kwargs: dict[str, Any] = {"categories": list(categories) or None, "with_duplicates": True}
    if view == "open":
        kwargs["statuses"] = field_reports.OPEN_STATUSES
    elif view == "overdue":
        kwargs["overdue_only"] = True
    elif view == "due":
        kwargs["due_within_hours"] = 24
    elif view == "mine":
        kwargs["assignee_id"] = user_id if user_id is not None else -1
        kwargs["statuses"] = field_reports.OPEN_STATUSES
    elif view == "moderate":
        kwargs["moderation"] = ["pending"]
    return reads.work_list(engine, ward_id, **kwargs)


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(i18n.t("rep.title", lang))
    tab_list, tab_intake = st.tabs([i18n.t("rep.tab_list", lang), i18n.t("rep.tab_intake", lang)])
    with tab_list:
        _work_list(ctx)
    with tab_intake:
        _intake(ctx)


_LINK_PARAMS = links.REPORT_LINK_PARAMS
#: the link parameters the list itself depends on (categories reach it through the picker)
_WINDOW_PARAMS = (links.CELL_PARAM, links.SINCE_PARAM, links.UNTIL_PARAM)


def _link_filter(lang: str, params: dict[str, str | None]) -> hotspot_links.CellFilter | None:
    """The hotspot link's filter; a bad link says why and offers to drop it (never a traceback)."""
    try:
        return hotspot_links.parse_cells_link(params)
    except field_reports.ReportError as exc:
        st.error(f"{i18n.t('rep.bad_link', lang)}: {plain(exc.message(lang))}")
        if st.button(i18n.t("rep.clear_cells", lang), key="rep.clear_bad_link"):
            st.query_params.clear()
            st.rerun()
        return None


def _work_list(ctx: Context) -> None:
    lang = ctx.lang
    flash = st.session_state.pop("rep.flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    params = {k: st.query_params.get(k) for k in _LINK_PARAMS}
    link = _link_filter(lang, params)
    cells = link.cells if link else ()
    applied = tuple((k, v) for k, v in params.items() if v) if link else None
    if st.session_state.get("rep.link") != applied:
        # a new hotspot link (not a rerun of the same one): its categories replace the picker's, which
        # stay editable until the next link
        if link is not None:
            st.session_state["rep.cats"] = list(link.categories)
        st.session_state["rep.link"] = applied
    if link and link.ward and link.ward != ctx.ward_slug:
        st.warning(i18n.t("rep.other_ward", lang).format(link=plain(link.ward), current=plain(ctx.ward_slug)))
    c1, c2 = st.columns([2, 3])
    view = c1.radio(i18n.t("rep.view", lang), _VIEWS, horizontal=True, key="rep.view",
                    format_func=lambda v: i18n.t(f"rep.view_{v}", lang))
    cats = c2.multiselect(i18n.t("rep.categories", lang), REPORT_CATEGORIES, key="rep.cats",
                          format_func=lambda c: i18n.code_label("report_category", c, lang))
    if cells:
        st.info(i18n.t("rep.cells", lang).format(n=len(cells)))
        if st.button(i18n.t("rep.clear_cells", lang)):
            st.query_params.clear()
            st.rerun()
    user_id = ctx.user_id
    window = tuple((k, params[k]) for k in _WINDOW_PARAMS) if link else ()
    rows = [reads.redact_for(r, ctx.user) for r in _list(ctx.ward_id, view, tuple(cats), user_id, window)]
    query = st.text_input(i18n.t("rep.search", lang), key="rep.q", max_chars=120)
    rows = worklist.search(worklist.newest_first(rows), query)
    st.caption(i18n.t("rep.count", lang).format(n=len(rows)))
    if not rows:
        st.info(i18n.t("rep.none", lang))
    else:
        _list_map(ctx, rows)
    now = dt.datetime.now(dt.UTC)
    table = pd.DataFrame({
        i18n.t("rep.code", lang): [r["public_id"] for r in rows],
        i18n.t("rep.category", lang): [i18n.code_label("report_category", r["category"], lang) for r in rows],
        i18n.t("rep.status", lang): [i18n.code_label("report_status", r["status"], lang) for r in rows],
        i18n.t("rep.reported", lang): [_fmt(r["reported_at"]) for r in rows],
        i18n.t("rep.deadline", lang): [_fmt(r["deadline_at"]) for r in rows],
        i18n.t("rep.overdue_by", lang): [worklist.overdue_text(r, now, lang) for r in rows],
        i18n.t("rep.likely_dup", lang): ["⚑" if r.get("likely_duplicate") else "" for r in rows],
        i18n.t("rep.moderation", lang): [i18n.t(f"rep.mod_{r['moderation']}", lang) for r in rows],
        i18n.t("rep.assignee", lang): [r["assignee_name"] or "" for r in rows],
        i18n.t("rep.description", lang): [r["description"][:120] for r in rows],
    })
    ids = [r["id"] for r in rows]
    # the table's key names the rows it shows: when the list changes (a report left it after an action) the
    # row selection starts afresh instead of pointing, by row number, at another report
    table_key = "rep.table." + hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
    picked = widgets.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                          selection_mode="single-row", key=table_key) if rows else None
    sel = picked.selection.rows if picked and picked.selection else []
    if sel:
        st.session_state["rep.selected"] = ids[sel[0]]
    elif st.session_state.get("rep.table_key") == table_key:
        st.session_state.pop("rep.selected", None)  # the same list, the row unticked: nothing selected
    st.session_state["rep.table_key"] = table_key
    selected = st.session_state.get("rep.selected")  # the selection follows the record, not the row
    if selected is None:
        if rows:
            st.caption(i18n.t("rep.pick", lang))
        return
    if selected not in ids:
        st.info(i18n.t("rep.left_list", lang))
    _detail(ctx, selected)


def _list_map(ctx: Context, rows: list[dict[str, Any]]) -> None:
    """The listed reports on a map (in a fold: the list is the work, the map its where)."""
    with st.expander(i18n.t("rep.map", lang := ctx.lang).format(n=sum(r["lat"] is not None for r in rows))):
        import folium
        from streamlit_folium import st_folium

        from geomap.map import view as mapview
        from geomap.wards import data as ward_data

        bounds = ward_data.ward_bounds(resources.engine(), ctx.ward_id)
        m = mapview.base_map(bounds, assets_url=resources.map_assets_url())
        for r in rows:
            if r["lat"] is None:
                continue
            folium.CircleMarker([r["lat"], r["lon"]], radius=6, weight=1, fill=True, fill_opacity=0.8,
                                color=REPORT_STATUS_COLOURS.get(r["status"], "#616161"),
                                tooltip=f"{r['public_id']} · {i18n.code_label('report_status', r['status'], lang)}"
                                ).add_to(m)
        st_folium(m, height=380, use_container_width=True, returned_objects=[], key="rep.map")


def _detail(ctx: Context, report_id: int) -> None:
    lang = ctx.lang
    engine = resources.engine()
    r = reads.redact_for(reads.get(engine, report_id), ctx.user)  # reporter name/contact: view_personal only
    st.subheader(f"{r['public_id']} — {i18n.code_label('report_category', r['category'], lang)}")
    st.markdown(f"**{i18n.t('rep.status', lang)}:** {i18n.code_label('report_status', r['status'], lang)} · "
                f"**{i18n.t('rep.deadline', lang)}:** {_fmt(r['deadline_at'])} · "
                f"[{i18n.t('rep.track', lang)}]({links.report_track_url(r['public_id'])})")
    st.text(r["description"])  # st.text: shown as text, never as markdown/HTML
    _personal(ctx, r)
    for pid in range(1, len(r["photo_ids"]) + 1):
        found = reads.staff_photo(engine, r["public_id"], pid)
        if found:
            st.image(found[0], width=320)
    with st.expander(i18n.t("rep.history", lang), expanded=False):
        widgets.dataframe(pd.DataFrame([{
            "": _fmt(h["at"]), i18n.t("rep.status", lang): i18n.code_label("report_status", h["status_to"], lang),
            i18n.t("rep.note", lang): reads.step_note(h, lang)
            + ("" if h["is_public"] else f" ({i18n.t('rep.internal', lang)})"),
            i18n.t("rep.assignee", lang): h["by_name"] or "",
        } for h in r["history"]]), hide_index=True, width="stretch")

    _moderation(ctx, engine, r)

    col1, col2 = st.columns(2)
    with col1.form(f"rep.move.{report_id}"):
        targets = sorted(field_reports.TRANSITIONS[r["status"]] - {"duplicate"}, key=REPORT_STATUSES.index)
        to = st.selectbox(i18n.t("rep.move", lang), targets,
                          format_func=lambda s: i18n.code_label("report_status", s, lang))
        note = st.text_area(i18n.t("rep.note", lang), max_chars=2000)
        if st.form_submit_button(i18n.t("rep.apply", lang)) and to:
            _act(lambda: workflow.transition(engine, report_id, to, user=ctx.user, note=note), lang,
                 i18n.t("rep.moved", lang).format(code=r["public_id"],
                                                  status=i18n.code_label("report_status", to, lang)))
    with col2.form(f"rep.assign.{report_id}"):
        people = reads.staff(engine, ctx.ward_id)
        if people:
            names = {p["id"]: f"{p['full_name']} ({i18n.code_label('role', p['role'], lang)})" for p in people}
            who = st.selectbox(i18n.t("rep.assign_to", lang), list(names), format_func=names.get)
            if st.form_submit_button(i18n.t("rep.assign", lang)):
                _act(lambda: workflow.assign(engine, report_id, who, user=ctx.user), lang,
                     i18n.t("rep.assigned", lang).format(code=r["public_id"], name=names.get(who, "")))
        else:
            st.caption(i18n.t("rep.no_staff", lang))
            st.form_submit_button(i18n.t("rep.assign", lang), disabled=True)

    dups = _duplicates(engine, report_id, lang)
    if not dups:
        return
    if "duplicate" in field_reports.TRANSITIONS[r["status"]]:
        with st.form(f"rep.dup.{report_id}"):
            original = st.selectbox(i18n.t("rep.mark_dup", lang), [d["id"] for d in dups],
                                    format_func=lambda i: next(d["public_id"] for d in dups if d["id"] == i))
            if st.form_submit_button(i18n.t("rep.mark_dup", lang)):
                _act(lambda: workflow.mark_duplicate(engine, report_id, original, user=ctx.user), lang)


def _personal(ctx: Context, r: dict[str, Any]) -> None:
    """The reporter's name and contact with the consent recorded (only for roles holding ``view_personal``:
    the fields are absent otherwise), or that they and the photos were erased, and why."""
    lang = ctx.lang
    if r.get("personal_erased_at"):
        erased = i18n.t(f"privacy.erased.{r['personal_erased_why'] or 'retention'}", lang)
        if "reporter_name" in r:
            st.text(f"{i18n.t('rep.reporter', lang)}: {erased} ({_fmt(r['personal_erased_at'])})")
        if r["photos_erased"]:
            st.text(i18n.t("rep.photos_erased", lang).format(n=r["photos_erased"], erased=erased,
                                                             at=_fmt(r["personal_erased_at"])))
        return
    if r.get("reporter_name") or r.get("reporter_contact"):
        st.text(f"{i18n.t('rep.reporter', lang)}: {r.get('reporter_name') or ''} {r.get('reporter_contact') or ''}")
        st.caption(i18n.t("rep.consent_at", lang).format(version=r["consent_notice"], at=_fmt(r["contact_consent_at"]))
                   if r.get("contact_consent_at") else i18n.t("rep.no_consent", lang))
    if auth.can(ctx.user, "erase_personal") and (r.get("reporter_name") or r.get("reporter_contact")
                                                 or r.get("photo_ids")):
        _erase_on_request(ctx, r)


def _erase_on_request(ctx: Context, r: dict[str, Any]) -> None:
    """Erase the report's personal data now because the reporter asked (confirmed, audited as a request)."""
    lang = ctx.lang
    with st.expander(i18n.t("rep.erase_title", lang)), st.form(f"rep.erase.{r['id']}"):
        st.caption(i18n.t("rep.erase_help", lang))
        sure = st.checkbox(i18n.t("rep.erase_confirm", lang))
        if st.form_submit_button(i18n.t("rep.erase", lang)) and sure:
            _act(lambda: retention.purge_personal(ctx.engine, ctx.ward_slug, public_ids=[r["public_id"]],
                                                  user=ctx.user), lang,
                 i18n.t("rep.erased_now", lang).format(code=r["public_id"]))


def _moderation(ctx: Context, engine: Any, r: dict[str, Any]) -> None:
    """What of the report is public: approve (the text as edited here, photos or not) or withhold."""
    lang = ctx.lang
    state = i18n.t(f"rep.mod_{r['moderation']}", lang)
    with st.expander(f"{i18n.t('rep.mod_title', lang)} — {state}", expanded=r["moderation"] == "pending"):
        st.caption(i18n.t("rep.mod_help", lang))
        if not auth.can(ctx.user, "moderate_reports"):
            st.text(i18n.t("rep.mod_state", lang).format(state=state))
            return
        with st.form(f"rep.moderate.{r['id']}"):
            text = st.text_area(i18n.t("rep.mod_text", lang), value=r["public_description"] or r["description"],
                                max_chars=intake.DESCRIPTION_MAX)
            show = st.checkbox(i18n.t("rep.mod_photos", lang), value=bool(r["photos_public"]) or
                               r["moderation"] == "pending", disabled=not r["photo_ids"])
            c1, c2 = st.columns(2)
            if c1.form_submit_button(i18n.t("rep.mod_approve", lang), type="primary"):
                _act(lambda: workflow.moderate(engine, r["id"], "approved", user=ctx.user, public_text=text,
                                               photos=show), lang)
            if c2.form_submit_button(i18n.t("rep.mod_withhold", lang)):
                _act(lambda: workflow.moderate(engine, r["id"], "withheld", user=ctx.user), lang)


def _duplicates(engine: Any, report_id: int, lang: str) -> list[dict[str, Any]]:
    """Show the possible duplicates of a stored report (a table: descriptions stay plain text)."""
    st.markdown(f"**{i18n.t('rep.dups', lang)}**")
    dups = intake.suggest_duplicates(engine, report_id)
    if not dups:
        st.caption(i18n.t("rep.no_dups", lang))
        return dups
    widgets.dataframe(pd.DataFrame({
        i18n.t("rep.code", lang): [d["public_id"] for d in dups],
        "m": [round(d["distance_m"]) for d in dups],
        i18n.t("rep.status", lang): [i18n.code_label("report_status", d["status"], lang) for d in dups],
        i18n.t("rep.reported", lang): [_fmt(d["reported_at"]) for d in dups],
        i18n.t("rep.description", lang): [d["description"][:100] for d in dups],
    }), hide_index=True, width="stretch")
    return dups


def _act(action, lang: str, done: str | None = None) -> None:
    """Run one workflow action; its confirmation is shown after the rerun (a message shown just before
    ``st.rerun()`` flashes and disappears), at the top of the list, until the next action."""
    try:
        action()
    except field_reports.ReportError as exc:
        st.error(plain(exc.message(lang)))
        return
    _list.clear()
    st.session_state["rep.flash"] = done or i18n.t("rep.done", lang)
    st.rerun()


def _intake(ctx: Context) -> None:
    lang = ctx.lang
    st.caption(i18n.t("rep.intake_help", lang))
    with st.form("rep.intake", clear_on_submit=False):
        category = st.selectbox(i18n.t("rep.category", lang), REPORT_CATEGORIES,
                                format_func=lambda c: i18n.code_label("report_category", c, lang))
        channel = st.selectbox(i18n.t("rep.channel", lang), ("hotline", "officer", "app", "web"),
                               format_func=lambda c: i18n.code_label("report_channel", c, lang))
        description = st.text_area(i18n.t("rep.description", lang), max_chars=intake.DESCRIPTION_MAX)
        c1, c2 = st.columns(2)
        lat = c1.text_input(i18n.t("rep.lat", lang))
        lon = c2.text_input(i18n.t("rep.lon", lang))
        address = st.text_input(i18n.t("rep.address", lang))
        files = st.file_uploader(i18n.t("rep.photos", lang), type=["jpg", "jpeg", "png", "webp"],
                                 accept_multiple_files=True)
        c3, c4 = st.columns(2)
        name = c3.text_input(i18n.t("rep.reporter", lang))
        contact = c4.text_input(i18n.t("rep.contact", lang))
        consent = st.checkbox(i18n.t("rep.consent", lang))
        profile = profiles.get(ctx.ward_slug)
        st.caption(" ".join(retention.notice(lang, profile.name, profile.retention_months)))
        if not st.form_submit_button(i18n.t("rep.save", lang)):
            return
    try:
        cleaned = [photos.process(f.getvalue(), name=f.name) for f in (files or [])]
        data = intake.validate(category=category, description=description, lat=lat.replace(",", "."),
                               lon=lon.replace(",", "."), channel=channel, reporter_name=name,
                               reporter_contact=contact, address=address, photos=cleaned, consent=consent)
        done = intake.submit(resources.engine(), data, ward_id=ctx.ward_id, user=ctx.user,
                             client=f"staff:{ctx.user_id}")
    except field_reports.ReportError as exc:
        st.error(plain(exc.message(lang)))
        return
    except photos.PhotoError as exc:
        st.error(plain(str(exc)))  # names the uploaded file: the name is not ours
        return
    _list.clear()
    key = "rep.saved" if done.created else "rep.replayed"
    st.success(i18n.t(key, lang).format(code=done.public_id, deadline=_fmt(done.deadline_at)))
    _duplicates(resources.engine(), done.id, lang)  # "when a report comes in": possible duplicates at once


PAGE = Page("reports", "Phản ánh hiện trường", "Field reports", render, icon=":material/report:", order=40)
