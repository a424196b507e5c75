"""On-site page for the phone: today's stops in order, and a result form per stop.

Saving calls :func:`geomap.inspections.planning.record_visit` (which goes through
:func:`geomap.records.edit.record_inspection`: validation, follow-up date after a violation,
audit), then clears the cached query results so the map, the due list and the statuses
show the new result on the next screen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from geomap import auth, i18n, status
from geomap.errors import GeomapError, LocalizedError
from geomap.inspections import planning, route_files, routing
from geomap.models import INSPECTION_KINDS, INSPECTION_RESULTS
from geomap.ui.context import Context
from geomap.ui.markdown import plain
from geomap.ui.pages import ALL_ROLES, Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "onsite.title": ("Kiểm tra tại hiện trường", "On-site inspection"),
    "onsite.day": ("Ngày", "Day"),
    "onsite.route_of": ("Lộ trình của", "Route of"),
    "onsite.none": ("Chưa có lộ trình nào được lưu cho ngày này. Lập lộ trình ở trang \u201cKế hoạch kiểm tra\u201d "
                    "rồi bấm \u201cLưu\u201d.", "No route saved for this day. Plan one on the \u201cInspection "
                    "planning\u201d page and press \u201cSave\u201d."),
    "onsite.progress": ("Đã ghi {done}/{total} điểm", "{done} of {total} stops recorded"),
    "onsite.recorded": ("Đã ghi: {result}", "Recorded: {result}"),
    "onsite.follow_up": ("tái kiểm tra trước {date}", "follow-up by {date}"),
    "onsite.navigate": ("Chỉ đường (Google Maps)", "Directions (Google Maps)"),
    "onsite.open_map_app": ("Mở ứng dụng bản đồ", "Open in map app"),
    "onsite.result": ("Kết quả", "Result"),
    "onsite.kind": ("Hình thức kiểm tra", "Kind of inspection"),
    "onsite.violations": ("Lỗi vi phạm", "Violations"),
    "onsite.v.code": ("Mã lỗi", "Code"), "onsite.v.severity": ("Mức độ (1–3)", "Severity (1–3)"),
    "onsite.v.text": ("Nội dung", "Description"),
    "onsite.notes": ("Ghi chú", "Notes"),
    "onsite.photos": ("Ảnh chụp (JPEG/PNG/WebP)", "Photos (JPEG/PNG/WebP)"),
    "onsite.save": ("Lưu kết quả", "Save the result"),
    "onsite.saved": ("Đã lưu kết quả cho {name}.", "Saved the result for {name}."),
    "onsite.saved_follow_up": ("Đã lưu; lịch tái kiểm tra: {date}.", "Saved; follow-up scheduled for {date}."),
    "onsite.no_right": ("Vai trò của bạn chỉ được xem lộ trình, không được ghi kết quả.",
                        "Your role may view routes but not record results."),
}


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.markdown("<style>.stButton button, .stFormSubmitButton button {width:100%; min-height:3rem}</style>",
                unsafe_allow_html=True)
    st.title(i18n.t("onsite.title", lang))
    day = st.date_input(i18n.t("onsite.day", lang), value=status.today(), format="DD/MM/YYYY", key="onsite.day")
    flash = st.session_state.pop("onsite.flash", None)
    if flash:
        st.success(flash)
    mine = planning.routes_on(ctx.engine, ctx.ward_id, day, inspector_id=ctx.user_id)
    routes = mine or planning.routes_on(ctx.engine, ctx.ward_id, day)
    if not routes:
        st.info(i18n.t("onsite.none", lang))
        return
    if len(routes) > 1 or not mine:
        names = [r["inspector_name"] for r in routes]
        pick = st.selectbox(i18n.t("onsite.route_of", lang), range(len(routes)), format_func=lambda i: names[i])
        route = routes[pick]
    else:
        route = routes[0]
    stops = route["stops"]
    done = sum(1 for s in stops if s["recorded"])
    st.progress(done / len(stops) if stops else 1.0, text=i18n.t("onsite.progress", lang).format(
        done=done, total=len(stops)))
    with st.expander("🗺", expanded=False):
        from streamlit_folium import st_folium

        from geomap.ui.pages.inspections import route_map

        st_folium(route_map([route]), height=320, use_container_width=True, returned_objects=[], key="onsite.map")
    can_record = auth.can(ctx.user, "record_inspection") or ctx.user is None
    if not can_record:
        st.info(i18n.t("onsite.no_right", lang))
    previous = tuple(route["summary"]["start"])
    for stop in stops:
        _stop(ctx, stop, previous, day, can_record)
        if stop.get("lon") is not None:
            previous = (stop["lon"], stop["lat"])


def _stop(ctx: Context, stop: dict[str, Any], previous: tuple[float, float], day: dt.date, can_record: bool) -> None:
    lang = ctx.lang
    recorded = stop.get("recorded")
    mark = "✅" if recorded else "⬜"
    title = f"{mark} {stop['order']}. {routing.hhmm(stop['start_s'])} — {plain(stop['name'])}"
    with st.expander(title, expanded=not recorded):
        if stop.get("address"):
            st.caption(plain(stop["address"]))
        if recorded:
            text = i18n.t("onsite.recorded", lang).format(result=ctx.label("inspection_result", recorded["result"]))
            if recorded.get("follow_up_due"):
                text += " — " + i18n.t("onsite.follow_up", lang).format(
                    date=recorded["follow_up_due"].strftime("%d/%m/%Y"))
            st.markdown(text)
        here = (stop["lon"], stop["lat"])
        c1, c2 = st.columns(2)
        c1.link_button(i18n.t("onsite.navigate", lang), route_files.google_maps_url(previous, here))
        c2.link_button(i18n.t("onsite.open_map_app", lang), route_files.geo_uri(here, stop["name"]))
        if not can_record:
            return
        key = f"onsite.{stop['establishment_id']}"
        with st.form(key, clear_on_submit=True):
            result = st.radio(i18n.t("onsite.result", lang), INSPECTION_RESULTS, horizontal=True,
                              format_func=lambda r: ctx.label("inspection_result", r), key=f"{key}.result")
            kind = st.selectbox(i18n.t("onsite.kind", lang), INSPECTION_KINDS,
                                format_func=lambda k: ctx.label("inspection_kind", k), key=f"{key}.kind")
            st.caption(i18n.t("onsite.violations", lang))
            violations = st.data_editor(
                pd.DataFrame({"code": pd.Series(dtype="str"), "severity": pd.Series(dtype="Int64"),
                              "text": pd.Series(dtype="str")}),
                num_rows="dynamic", hide_index=True, use_container_width=True, key=f"{key}.violations",
                column_config={
                    "code": st.column_config.TextColumn(i18n.t("onsite.v.code", lang), max_chars=32),
                    "severity": st.column_config.SelectboxColumn(i18n.t("onsite.v.severity", lang),
                                                                 options=[1, 2, 3], default=1),
                    "text": st.column_config.TextColumn(i18n.t("onsite.v.text", lang), max_chars=500)})
            notes = st.text_area(i18n.t("onsite.notes", lang), key=f"{key}.notes")
            files = st.file_uploader(i18n.t("onsite.photos", lang), type=["jpg", "jpeg", "png", "webp"],
                                     accept_multiple_files=True, key=f"{key}.photos")
            submitted = st.form_submit_button(i18n.t("onsite.save", lang), type="primary")
        if submitted:
            items = [{"code": r.code if pd.notna(r.code) else None,
                      "severity": int(r.severity) if pd.notna(r.severity) else 1,
                      "text": r.text if pd.notna(r.text) else None}
                     for r in violations.itertuples() if pd.notna(r.code) or pd.notna(r.text)]
            try:
                inspection_id = planning.record_visit(
                    ctx.engine, int(stop["establishment_id"]), result, day=day, kind=kind,
                    violations=items if result == "violation" else None, notes=notes or None,
                    photo_files=[(f.name, f.getvalue()) for f in files or []], user=ctx.user)
            except LocalizedError as exc:
                st.error(exc.message(lang))
                return
            except GeomapError as exc:
                st.error(str(exc))
                return
            st.cache_data.clear()  # the map, due list and dashboard read the new result
            follow = planning.follow_up_of(ctx.engine, inspection_id)
            st.session_state["onsite.flash"] = (
                i18n.t("onsite.saved_follow_up", lang).format(date=follow.strftime("%d/%m/%Y")) if follow
                else i18n.t("onsite.saved", lang).format(name=plain(stop["name"])))  # st.success reads Markdown
            st.rerun()


PAGE = Page("onsite", "Kiểm tra tại chỗ", "On site", render, icon=":material/fact_check:", roles=ALL_ROLES, order=41)
