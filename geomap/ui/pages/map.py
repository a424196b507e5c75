"""The staff map: registry layers of the ward, filters, search, colours by status, detail panel.

Widgets → services (:mod:`geomap.map.data`, :mod:`geomap.map.detail`, cached here) → pure map
building (:mod:`geomap.map.features`, :mod:`geomap.map.view`) → render. The base map (tiles, ward
extent) stays the same while the user works, so streamlit-folium keeps its view; layers travel as feature groups that
are swapped in place when a filter changes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import layers
from geomap import i18n, links
from geomap.inspections import planning
from geomap.map import data as mapdata
from geomap.map import detail as mapdetail
from geomap.map import features as mapfeatures
from geomap.map import view as mapview
from geomap.text import fold
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.markdown import plain
from geomap.ui.pages import ALL_ROLES, Page
from geomap.wards import data as ward_data
from layers.base import Layer

#: seconds a read of a layer stays cached (edits elsewhere show after at most this long, or on "refresh")
CACHE_TTL_S = 120
MAP_HEIGHT = 640
RETURNED = ["last_object_clicked", "last_object_clicked_count", "last_object_clicked_tooltip", "bounds", "zoom"]

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "map.title": ("Bản đồ", "Map"),
    "map.layers": ("Lớp bản đồ", "Map layers"),
    "map.color_by": ("Tô màu {layer} theo", "Colour {layer} by"),
    "map.search": ("Tìm {layer} theo tên hoặc địa chỉ (gõ không dấu cũng được)",
                   "Find {layer} by name or address (diacritics optional)"),
    "map.search_results": ("Kết quả tìm kiếm ({n})", "Search results ({n})"),
    "map.search_none": ("Không tìm thấy kết quả nào cho “{q}”.", "Nothing found for “{q}”."),
    "map.filters": ("Lọc: {layer}", "Filter: {layer}"),
    "map.choose": ("Chọn (để trống: tất cả)", "Choose (empty: all)"),
    "map.filter_search": ("{field} có chứa", "{field} contains"),
    "map.zoom_in": ("{layer}: phóng to tới mức {zoom} để hiển thị.", "{layer}: zoom in to level {zoom} to show it."),
    "map.shown": ("Đang hiển thị", "Shown"),
    "map.of_total": ("{shown:,} / {total:,}", "{shown:,} of {total:,}"),
    "map.refresh": ("Làm mới dữ liệu", "Refresh data"),
    "map.search_count": ("Hiện {shown:,}/{total:,} kết quả trên bản đồ",
                         "{shown:,} of {total:,} results shown on the map"),
    "map.search_all": ("Hiện tất cả {total:,} kết quả", "Show all {total:,} results"),
    "map.pick_hint": ("Bấm vào một cơ sở trên bản đồ hoặc chọn trong kết quả tìm kiếm để xem chi tiết.",
                      "Click an establishment on the map or pick a search result to see its details."),
    "map.detail.info": ("Thông tin", "Details"),
    "map.detail.licences": ("Giấy phép ({n})", "Licences ({n})"),
    "map.detail.inspections": ("Kiểm tra ({n})", "Inspections ({n})"),
    "map.detail.history": ("Lịch sử ({n})", "History ({n})"),
    "map.detail.none": ("Không có.", "None."),
    "map.detail.close": ("Đóng", "Close"),
    "map.detail.open_record": ("Mở hồ sơ cơ sở", "Open the record"),
    "map.detail.photos": ("Ảnh kiểm tra ngày {date}", "Inspection photos of {date}"),
    "map.detail.gone": ("Cơ sở này không còn trong dữ liệu.", "This establishment is no longer in the data."),
    "map.col.field": ("Trường", "Field"),
    "map.col.value": ("Giá trị", "Value"),
    "map.col.kind": ("Loại", "Kind"),
    "map.col.number": ("Số", "Number"),
    "map.col.issuer": ("Cơ quan cấp", "Issuer"),
    "map.col.issued": ("Ngày cấp", "Issued"),
    "map.col.expires": ("Hết hạn", "Expires"),
    "map.col.revoked": ("Thu hồi", "Revoked"),
    "map.col.state": ("Hiệu lực", "State"),
    "map.col.date": ("Ngày", "Date"),
    "map.col.result": ("Kết quả", "Result"),
    "map.col.inspector": ("Cán bộ kiểm tra", "Inspector"),
    "map.col.violations": ("Vi phạm", "Violations"),
    "map.col.follow_up": ("Hạn tái kiểm tra", "Follow-up due"),
    "map.col.at": ("Thời điểm", "When"),
    "map.col.user": ("Người thực hiện", "By"),
    "map.col.action": ("Thao tác", "Action"),
    "map.col.changes": ("Thay đổi", "Changes"),
}


# --- cached services (the only caching of the page) ------------------------------------------


def _db_key() -> str:
    return resources.engine().url.render_as_string(hide_password=True)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=128)
def _layer_frame(db_key: str, ward_id: int, layer_name: str, bbox: tuple | None) -> pd.DataFrame:
    return mapdata.read_map_layer(resources.engine(), layers.get(layer_name), ward_id=ward_id, bbox=bbox)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=256)
def _search(db_key: str, ward_id: int, layer_name: str, query: str, everything: bool = False) -> pd.DataFrame:
    return mapdata.search(resources.engine(), layers.get(layer_name), ward_id, query,
                          limit=mapdata.SEARCH_ALL_LIMIT if everything else mapdata.SEARCH_LIMIT)


@st.cache_data(ttl=600, show_spinner=False)
def _ward_facts(db_key: str, ward_id: int) -> tuple[tuple[float, float, float, float], list[str]]:
    eng = resources.engine()
    searchable = [lyr.name for lyr in mapdata.searchable_layers(eng)]
    return ward_data.ward_bounds(eng, ward_id), searchable


# --- the page ------------------------------------------------------------------------------------


def _centre_from_link(ctx: Context) -> None:
    """A link such as a hotspot's ``./?at=lat,lon`` centres the map there once, then leaves the URL."""
    at = st.query_params.get(links.AT_PARAM)
    if not at:
        return
    try:
        lat, lon = (float(v) for v in str(at).split(","))
    except ValueError:
        lat = lon = None
    if lat is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        st.session_state[_state(ctx, "center")] = (lat, lon)
    del st.query_params[links.AT_PARAM]


def render(ctx: Context) -> None:
    reg = layers.registry()
    db_key = _db_key()
    _centre_from_link(ctx)
    bounds, searchable = _ward_facts(db_key, ctx.ward_id)
    map_key = f"geomap.map.{ctx.ward_slug}"
    view = st.session_state.get(map_key) or {}
    zoom = view.get("zoom")
    bbox = mapfeatures.view_bbox(view.get("bounds"))

    # widgets: layers and colours
    with st.sidebar:
        st.subheader(ctx.t("map.layers"))
        toggled = [lyr for lyr in reg.values()
                   if st.checkbox(lyr.title(ctx.lang), value=lyr.default_visible, key=f"map.layer.{lyr.name}")]
        color_by = {}
        for lyr in toggled:
            if len(lyr.style.palettes) > 1:
                fields = list(lyr.style.palettes)
                color_by[lyr.name] = st.radio(
                    ctx.t("map.color_by").format(layer=lyr.title(ctx.lang).lower()), fields,
                    index=fields.index(lyr.style.color_by) if lyr.style.color_by in fields else 0,
                    format_func=lambda f, lyr=lyr: lyr.field(f).label(ctx.lang), key=f"map.color.{lyr.name}")
        if st.button(ctx.t("map.refresh"), icon=":material/refresh:"):
            _layer_frame.clear()
            _search.clear()
            _ward_facts.clear()

    # one service call per layer (cached): the ward's features, or the view's for zoom-only layers
    drawn = [lyr for lyr in toggled if mapfeatures.drawable(lyr, zoom)]
    frames = {}
    for lyr in drawn:
        if mapfeatures.queried_by_view(lyr) and bbox is None:
            continue
        frames[lyr.name] = _layer_frame(db_key, ctx.ward_id, lyr.name,
                                        bbox if mapfeatures.queried_by_view(lyr) else None)
    for lyr in toggled:
        if lyr not in drawn:
            st.caption(ctx.t("map.zoom_in").format(layer=lyr.title(ctx.lang), zoom=lyr.min_zoom))

    # widgets: search and filters
    only_ids: dict[str, list[int]] = {}
    results: dict[str, pd.DataFrame] = {}
    filters: dict[str, dict[str, Any]] = {}
    with st.sidebar:
        for name in searchable:
            if name not in frames:
                continue
            lyr = reg[name]
            query = st.text_input(ctx.t("map.search").format(layer=lyr.title(ctx.lang).lower()),
                                  key=f"map.search.{name}", max_chars=120)
            if query.strip():
                everything = st.session_state.get(f"map.search_all.{name}") == query.strip()
                found = _search(db_key, ctx.ward_id, name, query.strip(), everything)
                results[name] = found
                only_ids[name] = found["id"].tolist()
                if found.empty:
                    st.warning(ctx.t("map.search_none").format(q=query.strip()))
                else:
                    total = int(found["total"].iloc[0])
                    st.caption(ctx.t("map.search_count").format(shown=len(found), total=total))
                    if len(found) < total and st.button(ctx.t("map.search_all").format(total=total),
                                                        key=f"map.search_all_btn.{name}"):
                        st.session_state[f"map.search_all.{name}"] = query.strip()
                        st.rerun()
        for lyr in drawn:
            if lyr.name in frames and lyr.filters:
                filters[lyr.name] = _filter_widgets(ctx, lyr, frames[lyr.name])

    shown = mapfeatures.select_features(frames, filters, only_ids, reg)
    groups = mapview.layer_groups(drawn, shown, lang=ctx.lang, color_by=color_by, zoom=zoom)

    # render: counts, map, detail panel
    _counts(ctx, drawn, frames, shown)
    above, below = st.container(), st.container()  # the map the page's width; what it selected under it
    with below:
        for name, found in results.items():
            _search_results(ctx, name, found)
        selected = _selected_from_click(ctx, view)
        detail = mapdetail.establishment_detail(ctx.engine, selected, user=ctx.user, lang=ctx.lang) \
            if selected else None
        if selected is None:
            st.caption(ctx.t("map.pick_hint"))
        elif detail is None:
            st.warning(ctx.t("map.detail.gone"))
            st.session_state.pop(_state(ctx, "selected"), None)
        else:
            _detail_panel(ctx, detail)
            if detail.lat is not None:
                groups.append(mapview.highlight_group(detail.lat, detail.lng))
    with above:
        center, center_zoom = st.session_state.get(_state(ctx, "center")), None
        if center:
            center_zoom = 18
        st_folium(mapview.base_map(bounds, assets_url=resources.map_assets_url()), key=map_key,
                  feature_group_to_add=groups, returned_objects=RETURNED, height=MAP_HEIGHT,
                  use_container_width=True, center=center, zoom=center_zoom)


def _state(ctx: Context, name: str) -> str:
    """Session key of the page's own state, per ward (a selection never leaks into another ward)."""
    return f"map.{name}.{ctx.ward_slug}"


def _filter_widgets(ctx: Context, layer: Layer, frame: pd.DataFrame) -> dict[str, Any]:
    """Multi-selects (and text boxes for ``search`` filters) for every declared filter of ``layer``."""
    chosen: dict[str, Any] = {}
    options = mapfeatures.filter_options(layer, frame)
    with st.expander(ctx.t("map.filters").format(layer=layer.title(ctx.lang))):
        for flt in layer.filters:
            fld = layer.field(flt.field)
            key = f"map.filter.{layer.name}.{flt.field}"
            if flt.kind == "search":
                text = st.text_input(ctx.t("map.filter_search").format(field=fld.label(ctx.lang)), key=key)
                if text.strip():
                    chosen[flt.field] = _matching(frame, flt.field, text)
                continue
            if flt.field not in options:
                continue
            chosen[flt.field] = st.multiselect(
                fld.label(ctx.lang), options[flt.field], key=key, placeholder=ctx.t("map.choose"),
                format_func=lambda v, fld=fld: i18n.code_label(fld.codes, v, ctx.lang) if fld.codes else str(v))
    return chosen


def _matching(frame: pd.DataFrame, field: str, text: str) -> list[Any]:
    """Values of ``field`` containing ``text`` ignoring case and diacritics."""
    needle = fold(text)
    values = frame[field].dropna().unique().tolist()
    return [v for v in values if needle in fold(str(v))] or ["\x00no match"]


def _counts(ctx: Context, drawn: list[Layer], frames: dict, shown: dict) -> None:
    """One line: how many features of each drawn layer are shown, of how many in the ward/view."""
    parts = [f"**{plain(lyr.title(ctx.lang))}**: " + ctx.t("map.of_total").format(
        shown=len(shown[lyr.name]), total=len(frames[lyr.name])) for lyr in drawn if lyr.name in shown]
    if parts:
        st.markdown(f"{ctx.t('map.shown')} — " + " · ".join(parts))


def _search_results(ctx: Context, name: str, found: pd.DataFrame) -> None:
    if found.empty:
        return
    ids = found["id"].tolist()
    labels = dict(zip(ids, found["label"], strict=True))
    picked = st.selectbox(ctx.t("map.search_results").format(n=len(found)), ids, index=None,
                          format_func=lambda i: labels.get(i, str(i)), key=f"map.pick.{name}")
    if picked is not None and picked != st.session_state.get(_state(ctx, "picked")):
        row = found[found["id"] == picked].iloc[0]
        st.session_state[_state(ctx, "picked")] = picked
        st.session_state[_state(ctx, "selected")] = int(picked)
        st.session_state[_state(ctx, "center")] = (float(row["lat"]), float(row["lng"]))
        st.rerun()


def _selected_from_click(ctx: Context, view: dict) -> int | None:
    """The establishment of the latest map click (nearest within a few metres), else the previous choice."""
    click, count = view.get("last_object_clicked"), view.get("last_object_clicked_count")
    if click and count != st.session_state.get(_state(ctx, "last_click")):
        st.session_state[_state(ctx, "last_click")] = count  # the same marker clicked again counts too
        code = mapfeatures.code_from_label(view.get("last_object_clicked_tooltip"))
        hit = mapdata.establishment_at(ctx.engine, ctx.ward_id, click["lat"], click["lng"], code=code)
        if hit is not None:
            st.session_state[_state(ctx, "selected")] = hit
    return st.session_state.get(_state(ctx, "selected"))


def _detail_panel(ctx: Context, detail: mapdetail.EstablishmentDetail) -> None:
    layer = layers.get(mapfeatures.ESTABLISHMENT_LAYER)
    rec = detail.record
    head, close = st.columns([5, 1])
    head.markdown(f"**{plain(rec.get('name') or '')}**")
    head.caption(plain(rec.get("code") or ""))
    head.markdown(f"[{ctx.t('map.detail.open_record')}]({links.record(detail.id, ctx.ward_slug)})")
    if close.button("✕", key="map.detail.close", help=ctx.t("map.detail.close")):
        st.session_state.pop(_state(ctx, "selected"), None)
        st.rerun()
    tabs = st.tabs([ctx.t("map.detail.info"), ctx.t("map.detail.licences").format(n=len(detail.licences)),
                    ctx.t("map.detail.inspections").format(n=len(detail.inspections)),
                    ctx.t("map.detail.history").format(n=len(detail.history))])
    with tabs[0]:
        rows = [(f.label(ctx.lang), mapview.format_value(layer, f.name, rec.get(f.name), ctx.lang))
                for f in detail.fields]
        _table(ctx, pd.DataFrame([r for r in rows if r[1]], columns=[ctx.t("map.col.field"), ctx.t("map.col.value")]))
    with tabs[1]:
        _table(ctx, pd.DataFrame([{
            ctx.t("map.col.kind"): ctx.label("licence_kind", lic["kind"]),
            ctx.t("map.col.number"): lic["number"], ctx.t("map.col.issuer"): lic["issuer"],
            ctx.t("map.col.issued"): _date(lic["issued_on"]), ctx.t("map.col.expires"): _date(lic["expires_on"]),
            ctx.t("map.col.revoked"): _date(lic["revoked_on"]),
            ctx.t("map.col.state"): ctx.label("licence_state", lic["state"]),
        } for lic in detail.licences]))
    with tabs[2]:
        _table(ctx, pd.DataFrame([{
            ctx.t("map.col.date"): _date(i["inspected_on"]),
            ctx.t("map.col.kind"): ctx.label("inspection_kind", i["kind"]),
            ctx.t("map.col.result"): ctx.label("inspection_result", i["result"]),
            ctx.t("map.col.inspector"): i["inspector_name"],
            ctx.t("map.col.violations"): "; ".join(str(v.get("text") or v.get("code") or v)
                                                   for v in (i["violations"] or [])),
            ctx.t("map.col.follow_up"): _date(i["follow_up_due"]),
        } for i in detail.inspections]))
        for i in detail.inspections[:5]:  # the latest inspections' photos, as the inspector took them
            photos = planning.inspection_photos(ctx.engine, i["id"])
            if photos:
                st.caption(ctx.t("map.detail.photos").format(date=_date(i["inspected_on"])))
                st.image([p["content"] for p in photos], width=160)
    with tabs[3]:
        _table(ctx, pd.DataFrame([{
            ctx.t("map.col.at"): h["at"].strftime("%d/%m/%Y %H:%M") if h.get("at") else "",
            ctx.t("map.col.user"): h.get("username"), ctx.t("map.col.action"): h.get("action"),
            ctx.t("map.col.changes"): _changes(h),
        } for h in detail.history]))


def _table(ctx: Context, frame: pd.DataFrame) -> None:
    if frame.empty:
        st.caption(ctx.t("map.detail.none"))
    else:
        widgets.dataframe(frame, hide_index=True, use_container_width=True)


def _changes(entry: dict) -> str:
    before, after = entry.get("before") or {}, entry.get("after") or {}
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return "; ".join(f"{k}: {before.get(k, '')} → {after.get(k, '')}" for k in keys[:8])


def _date(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


PAGE = Page("map", "Bản đồ", "Map", render, icon=":material/map:", roles=ALL_ROLES, order=10, default=True)
