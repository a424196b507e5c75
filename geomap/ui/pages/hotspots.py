"""Staff page: field-report hotspots (điểm nóng) for a time window and categories.

Density heatmap (folium.plugins.HeatMap), report counts on H3 cells (or 250 m squares in the
ward's own VN-2000 grid, ``ward.local_srid``), Getis-Ord Gi* classes after FDR, and the ranked hotspot list with the
trend against the previous window; picking a hotspot lists its reports. Hotspot rows and the
popups of map cells holding reports link to the report list (:func:`geomap.links.report_cells`,
naming the ward so the link opens on it in a new tab too).
Report text (descriptions) is shown only inside data frames, never as Markdown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json

import folium
import pandas as pd
import streamlit as st
from folium.plugins import HeatMap

from geomap import auth, i18n, links, status
from geomap.field_reports import hotspot_store, hotspots, reads
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.map import view as mapview
from geomap.models import REPORT_CATEGORIES
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page
from geomap.wards import data as ward_data

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "hot.title": ("Điểm nóng phản ánh", "Report hotspots"),
    "hot.window": ("Khoảng thời gian", "Time window"),
    "hot.categories": ("Lĩnh vực (để trống: tất cả)", "Categories (empty: all)"),
    "hot.grid": ("Lưới", "Grid"),
    "hot.layers": ("Lớp hiển thị", "Layers"),
    "hot.heat": ("Mật độ (heatmap)", "Density (heatmap)"),
    "hot.counts": ("Số phản ánh theo ô", "Reports per cell"),
    "hot.gi": ("Điểm nóng / điểm lạnh", "Hot and cold spots"),
    "hot.summary": ("{n} phản ánh trong {cells} ô ({grid}); cùng độ dài kỳ trước: {prev} phản ánh.",
                    "{n} reports in {cells} cells ({grid}); the same length of time before: {prev} reports."),
    "hot.method": ("Cách xác định điểm nóng", "How hotspots are found"),
    "hot.method.text": (
        "Khu vực được chia thành các ô đều nhau. Một ô là **điểm nóng nổi bật** khi nó và các ô quanh nó có nhiều "
        "phản ánh hơn hẳn mức trung bình của phường, nhiều đến mức khó xảy ra do ngẫu nhiên; **điểm lạnh** là "
        "ngược lại. Các ô nóng liền nhau gộp thành một điểm nóng, xếp theo số phản ánh.\n\n"
        "Chi tiết kỹ thuật: thống kê Getis–Ord Gi\\* (chỉ số z), so với {perm} lần xáo trộn ngẫu nhiên số phản ánh "
        "giữa các ô; ngưỡng sai sót toàn bảng (FDR, giá trị q) {alpha}.",
        "The area is split into equal cells. A cell is a **notable hotspot** when it and the cells around it hold "
        "clearly more reports than the ward's average, more than chance would easily give; a **cold spot** is the "
        "opposite. Neighbouring hot cells make one hotspot, ranked by its reports.\n\n"
        "Technical detail: the Getis–Ord Gi\\* statistic (z score), compared with {perm} random shuffles of the "
        "counts between cells; false discovery rate over the whole map (FDR, q value) {alpha}."),
    "hot.ranked": ("Các điểm nóng nổi bật (xếp theo số phản ánh)", "Notable hotspots (ranked by reports)"),
    "hot.none": ("Không có điểm nóng nổi bật trong khoảng thời gian này.",
                 "No notable hotspot in this time window."),
    "hot.place": ("Vị trí", "Where"),
    "hot.around": ("quanh {address}", "around {address}"),
    "hot.on_map": ("Xem trên bản đồ", "Show on the map"),
    "hot.strength": ("Mức nổi bật", "How notable"),
    "hot.col.status": ("Trạng thái", "Status"),
    "hot.col.at": ("Ngày phản ánh", "Reported on"),
    "hot.col.text": ("Nội dung", "Description"),
    "hot.rank": ("Hạng", "Rank"),
    "hot.count": ("Số phản ánh", "Reports"),
    "hot.prev": ("Kỳ trước", "Previous"),
    "hot.trend": ("Xu hướng", "Trend"),
    "hot.published": ("Lớp “Điểm nóng phản ánh” mà phường công bố (xuất dữ liệu, API cho thành phố): {days} ngày "
                      "gần nhất, phân tích lúc {at}.",
                      "The ward's published “Report hotspots” layer (exports, the city's API): the last {days} "
                      "days, analysed at {at}."),
    "hot.never": ("chưa có", "never"),
    "hot.publish": ("Phân tích và công bố lại ({days} ngày gần nhất)", "Analyse and publish again (last {days} days)"),
    "hot.cells": ("Số ô", "Cells"),
    "hot.link": ("Danh sách phản ánh", "Reports list"),
    "hot.reports_of": ("Phản ánh thuộc điểm nóng #{rank}", "Reports in hotspot #{rank}"),
    "hot.pick": ("Chọn một điểm nóng để xem các phản ánh.", "Select a hotspot to see its reports."),
}

_GRIDS = {"h3-10": hotspots.Grid("h3", resolution=10), "h3-9": hotspots.Grid("h3", resolution=9),
          "sq-250": hotspots.Grid("square", cell_m=250)}
_CLASS_COLORS = {"hot": "#d7191c", "cold": "#2c7bb6", "not_significant": "#bdbdbd"}


@st.cache_data(ttl=300, show_spinner=False)
def _analysis(ward_id: int, start: dt.date, end: dt.date, categories: tuple[str, ...], grid_key: str):
    tz = LOCAL_TZ
    start_at = dt.datetime.combine(start, dt.time(0), tz)
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tz)
    analysis, points = reads.hotspot_layers(resources.engine(), ward_id, start=start_at, end=end_at,
                                            categories=list(categories) or None, grid=_GRIDS[grid_key])
    return analysis, points


def _cell_link(url: str, lang: str) -> str:
    """A popup's link to the report list: a new tab, since the map lives in a component's iframe."""
    return (f'<a href="{html.escape(url)}" target="_blank" rel="noopener">'
            f'{html.escape(i18n.t("hot.link", lang))}</a>')


def _grid_label(key: str, srid: int) -> str:
    """The picker's name of grid ``key``: squares are laid in the ward's own CRS (``srid``), as the analysis does."""
    return dataclasses.replace(_GRIDS[key], srid=srid).label


@st.cache_data(ttl=300, show_spinner=False)
def _ward_srid(ward_id: int) -> int:
    return next(int(w["local_srid"]) for w in ward_data.loaded_wards(resources.engine()) if w["id"] == ward_id)


def _cells_geojson(cells, lang: str, window=None, categories=(), ward: str | None = None) -> dict:
    frame = cells[["cell", "count", "prev_count", "z", "p_sim", "q", "hotspot_class", "geometry"]].copy()
    frame["label"] = [i18n.code_label("hotspot_class", c, lang) for c in frame["hotspot_class"]]
    if window is not None:  # cells holding reports link to them (as the ranked list does), in ward ``ward``
        frame["link"] = [_cell_link(links.report_cells([c], ward=ward, since=window[0], until=window[1],
                                                       categories=categories), lang) if n else
                         html.escape(f"{i18n.t('hot.count', lang)}: 0")
                         for c, n in zip(frame["cell"], frame["count"], strict=True)]
    for col in ("z", "p_sim", "q"):
        frame[col] = frame[col].astype(float).round(4)
    return json.loads(frame.to_json(na="null"))


def build_map(analysis: hotspots.HotspotAnalysis, points: pd.DataFrame, bounds, lang: str,
              show: set[str], categories: tuple[str, ...] = (), ward: str | None = None,
              assets_url: str | None = None) -> folium.Map:
    """Heatmap, cell counts and Gi* classes as toggleable layers; a cell's popup links to its reports
    (in ward ``ward``, its slug). ``assets_url``: where the pinned Leaflet and Leaflet.heat are served
    (see :func:`geomap.map.view.base_map`)."""
    m = mapview.base_map(bounds, assets_url=assets_url)
    if "heat" in show and len(points):
        HeatMap(hotspots.heat_points(points), name=i18n.t("hot.heat", lang), radius=14, blur=18,
                min_opacity=0.3).add_to(m)
    geo = _cells_geojson(analysis.cells, lang, analysis.window, categories, ward)
    tooltip = folium.GeoJsonTooltip(fields=["count", "prev_count", "label"],
                                    aliases=[i18n.t("hot.count", lang), i18n.t("hot.prev", lang),
                                             i18n.t("hot.strength", lang)])
    if "counts" in show:
        top = max(1, int(analysis.cells["count"].max()))
        folium.GeoJson(geo, name=i18n.t("hot.counts", lang), tooltip=tooltip,
                       popup=folium.GeoJsonPopup(fields=["link"], labels=False, localize=False),
                       style_function=lambda f: {
            "color": "#555", "weight": 0.3, "fillColor": "#e65100",
            "fillOpacity": 0.05 + 0.75 * (f["properties"]["count"] / top) ** 0.5}).add_to(m)
    if "gi" in show:
        folium.GeoJson(geo, name=i18n.t("hot.gi", lang), tooltip=folium.GeoJsonTooltip(
            fields=["label", "count"], aliases=[i18n.t("hot.strength", lang), i18n.t("hot.count", lang)]),
            popup=folium.GeoJsonPopup(fields=["link"], labels=False, localize=False),
            style_function=lambda f: {
                "color": _CLASS_COLORS[f["properties"]["hotspot_class"]], "weight": 0.6,
                "fillColor": _CLASS_COLORS[f["properties"]["hotspot_class"]],
                "fillOpacity": 0.0 if f["properties"]["hotspot_class"] == "not_significant" else 0.55}).add_to(m)
    for h in analysis.hotspots.itertuples():
        folium.Marker([h.lat, h.lon], tooltip=f"#{h.rank}: {h.count}",
                      icon=folium.DivIcon(html=f'<b style="color:#b71c1c;font-size:15px">#{h.rank}</b>')).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _place_text(place: dict, lang: str) -> str:
    """"quanh K300 Nguyễn Văn Linh, Tổ 74": the nearest address and the residential group."""
    parts = [i18n.t("hot.around", lang).format(address=place["near_address"]) if place["near_address"] else None,
             place["residential_group"]]
    return ", ".join(x for x in parts if x) or "—"


def _publish(ctx: Context, lang: str) -> None:
    """What the ward publishes as its ``hotspots`` layer (:mod:`geomap.field_reports.hotspot_store`): the stored
    windows, and for those who decide what of the reports is published, a button that analyses the default
    window up to now on the default grid (as ``geomap reports hotspots`` does), whatever this page shows."""
    days = hotspot_store.DEFAULT_WINDOW_DAYS
    stored = {w["window_days"]: w for w in hotspot_store.stored(resources.engine(), ctx.ward_id)}
    when = stored.get(days, {}).get("analysed_at")
    st.caption(i18n.t("hot.published", lang).format(
        days=days, at=when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if when else i18n.t("hot.never", lang)))
    if auth.can(ctx.user, "moderate_reports") and st.button(i18n.t("hot.publish", lang).format(days=days),
                                                           key="hot.publish"):
        with st.spinner("…"):
            hotspot_store.run(resources.engine(), ctx.ward_id, days, user=ctx.user)
        st.rerun()


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(i18n.t("hot.title", lang))
    today = status.today()
    c1, c2, c3 = st.columns([2, 3, 1])
    window = c1.date_input(i18n.t("hot.window", lang), (today - dt.timedelta(days=89), today), max_value=today,
                           format="DD/MM/YYYY", key="hot.window")
    cats = c2.multiselect(i18n.t("hot.categories", lang), REPORT_CATEGORIES, key="hot.cats",
                          format_func=lambda c: i18n.code_label("report_category", c, lang))
    srid = _ward_srid(ctx.ward_id)
    grid_key = c3.selectbox(i18n.t("hot.grid", lang), list(_GRIDS), key="hot.grid",
                            format_func=lambda k: _grid_label(k, srid))
    if not isinstance(window, tuple) or len(window) != 2:
        st.stop()
    start, end = window
    show = set(st.multiselect(i18n.t("hot.layers", lang), ["heat", "counts", "gi"], default=["heat", "gi"],
                              format_func=lambda k: i18n.t(f"hot.{k}", lang), key="hot.layers"))
    with st.spinner("…"):
        analysis, points = _analysis(ctx.ward_id, start, end, tuple(cats), grid_key)
    p = analysis.params
    st.caption(i18n.t("hot.summary", lang).format(n=p["reports"], cells=p["cells"], grid=p["grid"],
                                                  prev=p["previous_reports"]))
    with st.expander(i18n.t("hot.method", lang)):
        st.markdown(i18n.t("hot.method.text", lang).format(perm=p["permutations"], alpha=p["alpha"]))
    _publish(ctx, lang)
    from streamlit_folium import st_folium

    bounds = ward_data.ward_bounds(resources.engine(), ctx.ward_id)
    st_folium(build_map(analysis, points, bounds, lang, show, tuple(cats), ctx.ward_slug,
                        assets_url=resources.map_assets_url()), height=520,
              use_container_width=True, returned_objects=[], key=f"hot.map.{grid_key}")

    st.subheader(i18n.t("hot.ranked", lang))
    ranked = analysis.hotspots
    if ranked.empty:
        st.info(i18n.t("hot.none", lang))
        return
    since, until = analysis.window
    table = pd.DataFrame({
        i18n.t("hot.rank", lang): ranked["rank"],
        i18n.t("hot.place", lang): [_place_text(p, lang) for p in
                                    reads.hotspot_places(resources.engine(), ctx.ward_id, ranked)],
        i18n.t("hot.count", lang): ranked["count"],
        i18n.t("hot.prev", lang): ranked["prev_count"],
        i18n.t("hot.trend", lang): [i18n.code_label("hotspot_trend", t, lang) for t in ranked["trend"]],
        i18n.t("hot.cells", lang): ranked["n_cells"],
        i18n.t("hot.link", lang): [links.report_cells(c, ward=ctx.ward_slug, since=since, until=until,
                                                      categories=cats) for c in ranked["cells"]],
        i18n.t("hot.on_map", lang): [links.map_at(lat, lon, ctx.ward_slug)
                                     for lat, lon in zip(ranked["lat"], ranked["lon"], strict=True)],
    })
    picked = widgets.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                          selection_mode="single-row", key="hot.table",
                          column_config={i18n.t("hot.link", lang): st.column_config.LinkColumn(
                              display_text=i18n.t("hot.link", lang)),
                              i18n.t("hot.on_map", lang): st.column_config.LinkColumn(
                              display_text=i18n.t("hot.on_map", lang))})
    sel = picked.selection.rows if picked and picked.selection else []
    if not sel:
        st.caption(i18n.t("hot.pick", lang))
        return
    row = ranked.iloc[sel[0]]
    st.markdown(f"**{i18n.t('hot.reports_of', lang).format(rank=int(row['rank']))}**")
    rows = reads.reports_in_cells(resources.engine(), ctx.ward_id, list(row["cells"]), since=since, until=until,
                                  categories=list(cats) or None)
    widgets.dataframe(pd.DataFrame({
        "": [r["public_id"] for r in rows],
        i18n.t("hot.categories", lang).split(" (")[0]: [i18n.code_label("report_category", r["category"], lang)
                                                         for r in rows],
        i18n.t("hot.col.status", lang): [i18n.code_label("report_status", r["status"], lang) for r in rows],
        i18n.t("hot.col.at", lang): [r["reported_at"].astimezone(LOCAL_TZ).strftime("%d/%m/%Y") for r in rows],
        i18n.t("hot.col.text", lang): [r["description"][:120] for r in rows],
    }), hide_index=True, width="stretch")


PAGE = Page("hotspots", "Điểm nóng phản ánh", "Report hotspots", render, icon=":material/local_fire_department:",
            order=45)
