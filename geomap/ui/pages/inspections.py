"""Inspection planning page: who is due (ranked, with reasons), the day's routes, downloads.

Reads widgets, calls :mod:`geomap.inspections.planning` (and the pure
:mod:`~geomap.inspections.risk` to filter the cached due list), renders. The plan lives in
the session until the user saves it for the on-site page or plans again.
"""

from __future__ import annotations

import datetime as dt
import html
import tempfile
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import streamlit as st

from geomap import auth, i18n, profiles, status
from geomap.errors import GeomapError
from geomap.inspections import planning, risk, route_files, routing, travel
from geomap.ui import widgets
from geomap.ui.context import Context
from geomap.ui.markdown import plain
from geomap.ui.pages import ALL_ROLES, Page
from geomap.wards import data as ward_data

COLORS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00")
#: the largest street-graph upload read (networkx parses it in the app's own process)
MAX_GRAPH_MB = 50

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "insp.title": ("Kế hoạch kiểm tra", "Inspection planning"),
    "insp.due_header": ("Cơ sở đến hạn / có rủi ro", "Due or at-risk establishments"),
    "insp.date": ("Ngày kiểm tra", "Inspection day"),
    "insp.filter.group": ("Tổ dân phố", "Residential group"),
    "insp.filter.sector": ("Nhóm ngành", "Industry group"),
    "insp.filter.vsic": ("Mã ngành VSIC", "VSIC industry code"),
    "insp.filter.status": ("Tình trạng giấy phép / ATTP", "Licence / food-safety status"),
    "insp.filter.tier": ("Mức ưu tiên", "Priority"),
    "insp.never": ("chưa kiểm tra", "never"),
    "insp.count": ("{n} cơ sở; điểm rủi ro = tổng điểm các lý do (trọng số theo hồ sơ phường).",
                   "{n} establishments; risk score = sum of the reasons' points (weights from the ward profile)."),
    "insp.col.rank": ("Hạng", "Rank"), "insp.col.score": ("Điểm rủi ro", "Risk score"),
    "insp.col.code": ("Mã", "Code"), "insp.col.name": ("Tên cơ sở", "Name"), "insp.col.address": ("Địa chỉ", "Address"),
    "insp.col.reasons": ("Lý do", "Reasons"), "insp.col.last": ("Kiểm tra gần nhất", "Last inspection"),
    "insp.route_header": ("Lập lộ trình trong ngày", "Plan the day's routes"),
    "insp.choose": ("Cơ sở sẽ kiểm tra", "Establishments to visit"),
    "insp.must": ("Bắt buộc kiểm tra (không được bỏ)", "Must visit (never dropped)"),
    "insp.n_inspectors": ("Số cán bộ", "Inspectors"),
    "insp.inspector_n": ("Cán bộ {n}", "Inspector {n}"),
    "insp.start_point": ("Điểm xuất phát (vĩ độ, kinh độ; để trống = trụ sở UBND phường)",
                         "Start point (lat, lon; empty = the ward office)"),
    "insp.end_point": ("Điểm kết thúc (vĩ độ, kinh độ; để trống = điểm xuất phát, nếu không có thì trụ sở UBND "
                       "phường)", "End point (lat, lon; empty = the start point, else the ward office)"),
    "insp.day_start": ("Bắt đầu làm việc", "Work starts"), "insp.day_end": ("Kết thúc làm việc", "Work ends"),
    "insp.lunch_from": ("Nghỉ trưa từ", "Lunch from"), "insp.lunch_to": ("đến", "until"),
    "insp.lunch_min": ("Thời gian nghỉ trưa (phút)", "Lunch break (minutes)"),
    "insp.minutes": ("Số phút mỗi lần kiểm tra theo nhóm ngành", "Minutes per visit by industry group"),
    "insp.speed": ("Tốc độ xe máy (km/h)", "Motorbike speed (km/h)"),
    "insp.detour": ("Hệ số đường vòng (khi không có mạng đường)", "Detour factor (without a street graph)"),
    "insp.graph": ("Mạng đường OSM của phường (GraphML, .osm hoặc GeoJSON, tùy chọn)",
                   "The ward's OSM street graph (GraphML, .osm or GeoJSON, optional)"),
    "insp.graph_limit": ("Tối đa {mb} MB.", "At most {mb} MB."),
    "insp.graph_too_large": ("Tệp mạng đường {file} nặng {size} MB, vượt giới hạn {mb} MB nên không được đọc: lộ "
                             "trình dưới đây tính theo khoảng cách đường thẳng. Hãy cắt tệp theo ranh giới phường "
                             "rồi tải lại.",
                             "The street graph file {file} is {size} MB, over the {mb} MB limit, so it was not "
                             "read: the plan below uses straight-line distances. Clip the file to the ward "
                             "boundary and upload it again."),
    "insp.plan": ("Lập lộ trình", "Plan routes"),
    "insp.bad_point": ("Điểm của {name} không đọc được (cần dạng 16.0450, 108.2230); dùng điểm mặc định (trụ sở "
                       "UBND phường, hoặc điểm xuất phát cho điểm kết thúc).",
                       "{name}'s point is unreadable (use 16.0450, 108.2230); the default is used (the ward office, "
                       "or the start point for the end point)."),
    "insp.result_header": ("Kết quả lộ trình", "Planned routes"),
    "insp.dropped": ("Cơ sở không xếp được ({n})", "Not scheduled ({n})"),
    "insp.totals": ("{stops} điểm · {start}–{end} · {km} km · di chuyển {travel} phút",
                    "{stops} stops · {start}–{end} · {km} km · riding {travel} min"),
    "insp.col.order": ("TT", "No."), "insp.col.time": ("Giờ", "Time"), "insp.col.ride": ("Di chuyển", "Ride"),
    "insp.col.wait": ("Chờ", "Wait"),
    "insp.col.nav": ("Chỉ đường", "Directions"),
    "insp.col.geo": ("Ứng dụng bản đồ", "Map app"),
    "insp.open_map_app": ("Mở ứng dụng bản đồ", "Open in map app"),
    "insp.lunch": ("Nghỉ trưa {start}–{end}", "Lunch {start}–{end}"),
    "insp.gpx": ("Tải GPX", "Download GPX"), "insp.pdf": ("Tải phiếu lộ trình (PDF)", "Download route sheet (PDF)"),
    "insp.save": ("Lưu để cán bộ dùng tại hiện trường", "Save for the on-site page"),
    "insp.saved": ("Đã lưu {n} lộ trình cho ngày {date}.", "Saved {n} routes for {date}."),
    "insp.model": ("Thời gian di chuyển: {model}", "Travel times: {model}"),
    "insp.no_inspector_accounts": ("Chưa có tài khoản cán bộ kiểm tra; lộ trình sẽ dùng tên tạm.",
                                   "No inspector accounts yet; routes use placeholder names."),
}


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(i18n.t("insp.title", lang))
    day = st.date_input(i18n.t("insp.date", lang), value=status.today(), format="DD/MM/YYYY", key="insp.date")
    frame = _due(ctx, day)
    shown = _due_section(ctx, frame)
    _plan_section(ctx, shown, day)
    result = st.session_state.get("insp.plan")
    if result is not None and result.get("ward_id") == ctx.ward_id:
        _result_section(ctx, result["plan"])


def _due(ctx: Context, day: dt.date) -> pd.DataFrame:
    return _cached_due(ctx.engine.url.render_as_string(hide_password=False), ctx.ward_id, ctx.ward_slug, day)


@st.cache_data(ttl=60, show_spinner=False)
def _cached_due(_url: str, ward_id: int, ward_slug: str, day: dt.date) -> pd.DataFrame:
    from geomap.ui.resources import engine

    return planning.due_list(engine(), ward_id, ward_slug, day)


def _due_section(ctx: Context, frame: pd.DataFrame) -> pd.DataFrame:
    lang = ctx.lang
    st.subheader(i18n.t("insp.due_header", lang))
    c1, c2, c3, c4, c5 = st.columns(5)
    groups = c1.multiselect(i18n.t("insp.filter.group", lang), sorted(frame["residential_group"].dropna().unique()))
    sectors = c2.multiselect(i18n.t("insp.filter.sector", lang), sorted(frame["sector"].dropna().unique()),
                             format_func=lambda s: ctx.label("sector", s))
    industries = _vsic_options(frame, lang)
    vsic_codes = c3.multiselect(i18n.t("insp.filter.vsic", lang), list(industries),
                                format_func=lambda code: industries.get(code, code))
    statuses = sorted(set(frame["licence_status"]) | set(frame["food_safety_status"]))
    picked = c4.multiselect(i18n.t("insp.filter.status", lang), statuses,
                            format_func=lambda s: _status_label(ctx, s))
    # tiers with their counts (the other filters applied): the week's work, not 4,791 of 6,005 rows
    filtered = risk.select(frame, residential_groups=groups, sectors=sectors, vsic_codes=vsic_codes, statuses=picked)
    counts = risk.tier_counts(filtered)
    for col, tier in zip(st.columns(len(risk.TIERS)), risk.TIERS, strict=True):
        col.metric(i18n.t(f"risk.tier.{tier}", lang), f"{counts[tier]:,}".replace(",", "."),
                   help=i18n.t(f"risk.tier.{tier}.help", lang))
    tiers = c5.multiselect(i18n.t("insp.filter.tier", lang), list(risk.TIERS), default=["required", "high_risk"],
                           format_func=lambda t: f"{i18n.t(f'risk.tier.{t}', lang)} ({counts[t]})",
                           key="insp.tiers")
    shown = risk.select(filtered, tiers=tiers)
    st.caption(i18n.t("insp.count", lang).format(n=len(shown)))
    table = pd.DataFrame({
        i18n.t("insp.filter.tier", lang): [i18n.t(f"risk.tier.{t}", lang) for t in shown["tier"]],
        i18n.t("insp.col.rank", lang): shown["risk_rank"],
        i18n.t("insp.col.score", lang): shown["risk_score"],
        i18n.t("insp.col.code", lang): shown["code"],
        i18n.t("insp.col.name", lang): shown["name"],
        # no "None" cells: an empty value is blank, a missing inspection says so
        i18n.t("insp.col.address", lang): shown["address"].fillna(""),
        i18n.t("insp.filter.group", lang): shown["residential_group"].fillna(""),
        i18n.t("insp.filter.sector", lang): [ctx.label("sector", s) for s in shown["sector"]],
        i18n.t("insp.col.last", lang): [f"{d:%d/%m/%Y}" if pd.notna(d) else i18n.t("insp.never", lang)
                                         for d in pd.to_datetime(shown["last_inspected_on"])],
        i18n.t("insp.col.reasons", lang): [risk.reasons_text(r, lang) for r in shown["risk_reasons"]],
    })
    widgets.dataframe(table, hide_index=True, use_container_width=True, height=min(360, 38 + 35 * max(1, len(table))),
                 column_config={i18n.t("insp.col.reasons", lang): st.column_config.TextColumn(width="large")})
    return shown


def _vsic_options(frame: pd.DataFrame, lang: str) -> dict[str, str]:
    """VSIC codes present in the due list, each labelled "5610 — Nhà hàng..." in the page language."""
    name_col = "industry_name_en" if lang == "en" and "industry_name_en" in frame else "industry_name_vi"
    out: dict[str, str] = {}
    for row in frame.drop_duplicates("vsic_code").to_dict("records"):
        code = row.get("vsic_code")
        if code is None or pd.isna(code):
            continue
        name = row.get(name_col)
        out[str(code)] = f"{code} — {name}" if name is not None and not pd.isna(name) else str(code)
    return dict(sorted(out.items()))


def _status_label(ctx: Context, value: str) -> str:
    for codes in ("licence_status", "food_safety_status"):
        label = ctx.label(codes, value)
        if label != value:
            return label
    return value


def _plan_section(ctx: Context, candidates: pd.DataFrame, day: dt.date) -> None:
    """The planning form over the filtered list; anyone on the page may plan, saving needs ``record_inspection``."""
    lang = ctx.lang
    st.subheader(i18n.t("insp.route_header", lang))
    options = {int(r.id): f"{r.code} — {r.name} ({r.risk_score:g})" for r in candidates.itertuples()}
    # outside the form: the inspector rows follow the number as soon as it changes
    n = st.number_input(i18n.t("insp.n_inspectors", lang), 1, routing.MAX_INSPECTORS, 1, step=1, key="insp.n")
    staff = planning.inspectors(ctx.engine, ctx.ward_id)
    # the signed-in inspector plans their own day first
    staff = sorted(staff, key=lambda s: s["id"] != ctx.user.id)
    with st.form("insp.plan_form"):
        default = list(options)[:12]
        chosen = st.multiselect(i18n.t("insp.choose", lang), list(options), default=default,
                                format_func=lambda i: options.get(i, str(i)))
        must = st.multiselect(i18n.t("insp.must", lang), list(options), format_func=lambda i: options.get(i, str(i)))
        crew_rows = []
        for k in range(routing.MAX_INSPECTORS):
            if k >= n:
                break
            c1, c2, c3 = st.columns([2, 3, 3])
            names = [s["full_name"] for s in staff] or [i18n.t("insp.inspector_n", lang).format(n=k + 1)]
            who = c1.selectbox(i18n.t("insp.inspector_n", lang).format(n=k + 1), names,
                               index=min(k, len(names) - 1), key=f"insp.who.{k}")
            point = c2.text_input(i18n.t("insp.start_point", lang), key=f"insp.point.{k}")
            end_point = c3.text_input(i18n.t("insp.end_point", lang), key=f"insp.end.{k}")
            crew_rows.append((who, point, end_point))
        c1, c2, c3, c4, c5 = st.columns(5)
        day_start = c1.time_input(i18n.t("insp.day_start", lang), dt.time(7, 30))
        day_end = c2.time_input(i18n.t("insp.day_end", lang), dt.time(17, 0))
        lunch_from = c3.time_input(i18n.t("insp.lunch_from", lang), dt.time(11, 30))
        lunch_to = c4.time_input(i18n.t("insp.lunch_to", lang), dt.time(13, 30))
        lunch_min = c5.number_input(i18n.t("insp.lunch_min", lang), 0, 180, 60, step=15)
        minutes = st.data_editor(
            pd.DataFrame({"sector": list(routing.DEFAULT_SERVICE_MIN),
                          "label": [ctx.label("sector", s) for s in routing.DEFAULT_SERVICE_MIN],
                          "minutes": list(routing.DEFAULT_SERVICE_MIN.values())}),
            column_config={"sector": None, "label": st.column_config.TextColumn(i18n.t("insp.filter.sector", lang),
                                                                               disabled=True),
                           "minutes": st.column_config.NumberColumn(i18n.t("insp.minutes", lang), min_value=5,
                                                                    max_value=240, step=5)},
            hide_index=True, key="insp.minutes")
        c1, c2 = st.columns(2)
        speed = c1.number_input(i18n.t("insp.speed", lang), 3.0, 60.0, travel.DEFAULT_SPEED_KMH, step=1.0)
        detour = c2.number_input(i18n.t("insp.detour", lang), 1.0, 3.0, travel.DEFAULT_DETOUR_FACTOR, step=0.05)
        graph_file = st.file_uploader(i18n.t("insp.graph", lang), type=["graphml", "osm", "xml", "geojson", "json"],
                                      help=i18n.t("insp.graph_limit", lang).format(mb=MAX_GRAPH_MB))
        submitted = st.form_submit_button(i18n.t("insp.plan", lang), type="primary")
    if not submitted:
        return
    st.session_state.pop("insp.plan", None)  # never show an earlier plan under this request's messages
    if not staff:
        st.info(i18n.t("insp.no_inspector_accounts", lang))
    by_name = {s["full_name"]: s for s in staff}
    crew = []
    for who, point, end_point in crew_rows:
        start, end = _parse_point(point), _parse_point(end_point)
        if (point.strip() and start is None) or (end_point.strip() and end is None):
            st.warning(i18n.t("insp.bad_point", lang).format(name=who))
        # an empty (or unreadable) start is the ward office; an empty end is the inspector's start (else the office)
        crew.append(routing.Inspector(who, start=start, end=end if end is not None else start,
                                      user_id=(by_name.get(who) or {}).get("id")))
    settings = routing.DaySettings(
        day_start=day_start.strftime("%H:%M"), day_end=day_end.strftime("%H:%M"),
        lunch_from=lunch_from.strftime("%H:%M"), lunch_to=lunch_to.strftime("%H:%M"), lunch_min=int(lunch_min),
        detour_factor=float(detour), speed_kmh=float(speed),
        local_srid=getattr(profiles.find(ctx.ward_slug), "local_srid", travel.DEFAULT_LOCAL_SRID),
        service_min_by_sector={r.sector: int(r.minutes) for r in minutes.itertuples() if pd.notna(r.minutes)})
    graph_path = None
    if graph_file is not None and graph_file.size > MAX_GRAPH_MB * 1024 * 1024:  # before reading a byte of it
        st.warning(i18n.t("insp.graph_too_large", lang).format(
            file=graph_file.name, size=f"{graph_file.size / 1024 / 1024:.1f}", mb=MAX_GRAPH_MB))
        graph_file = None  # a plan all the same, on the stated straight-line model
    if graph_file is not None:
        suffix = Path(graph_file.name).suffix.lower()
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
            tmp.write(graph_file.getvalue())
            graph_path = tmp.name
    try:
        with st.spinner("…"):
            result = planning.plan(ctx.engine, ctx.ward_id, ctx.ward_slug, list(dict.fromkeys([*must, *chosen])),
                                   crew, settings, date=day, must_visit=must, street_graph=graph_path,
                                   street_graph_name=graph_file.name if graph_file is not None else None)
    except GeomapError as exc:
        st.error(str(exc))
        return
    finally:
        if graph_path:
            Path(graph_path).unlink(missing_ok=True)
    st.session_state["insp.plan"] = {"ward_id": ctx.ward_id, "plan": result}


def _parse_point(text: str) -> tuple[float, float] | None:
    """"16.0450, 108.2230" (lat, lon as Google Maps copies it) → (lon, lat)."""
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if abs(lat) > 90 and abs(lon) <= 90:
        lat, lon = lon, lat  # typed the other way round
    return (lon, lat)


def _wait_text(route: routing.Route, visit: routing.Visit, lang: str) -> str:
    reason = routing.wait_reason(route, visit)
    return reason.text(lang) if reason else ""


def _result_section(ctx: Context, plan: routing.Plan) -> None:
    lang = ctx.lang
    st.subheader(i18n.t("insp.result_header", lang))
    st.caption(i18n.t("insp.model", lang).format(model=travel.describe(plan.travel_model, lang)))
    for notice in plan.notices:
        st.warning(notice.text(lang))
    if plan.dropped:
        with st.expander(i18n.t("insp.dropped", lang).format(n=len(plan.dropped)), expanded=True):
            for d in plan.dropped:
                st.markdown("- " + plain(d.reason.text(lang)))
    cols = st.columns(len(plan.routes))
    for col, route, color in zip(cols, plan.routes, COLORS, strict=False):
        col.markdown(f"**<span style='color:{color}'>●</span> {plain(route.inspector.name)}**", unsafe_allow_html=True)
        col.caption(i18n.t("insp.totals", lang).format(
            stops=len(route.visits), start=routing.hhmm(route.start_s), end=routing.hhmm(route.end_s),
            km=f"{route.distance_m / 1000:.1f}", travel=round(route.travel_s / 60)))
    from streamlit_folium import st_folium

    st_folium(route_map(plan.routes, lang), height=480, use_container_width=True, returned_objects=[],
              key="insp.map")
    for route in plan.routes:
        st.markdown(f"**{plain(route.inspector.name)}**")
        if route.lunch:
            st.caption(i18n.t("insp.lunch", lang).format(start=routing.hhmm(route.lunch[0]),
                                                         end=routing.hhmm(route.lunch[1])))
        # every leg, the return to the end point included: Google Maps directions and a geo: pin (the on-site
        # page's links, built by the same function)
        links = route_files.leg_links(route, lang=lang)
        widgets.dataframe(pd.DataFrame({
            i18n.t("insp.col.order", lang): [str(v.order) for v in route.visits] + ["↩"],
            i18n.t("insp.col.time", lang): [f"{routing.hhmm(v.start_s)}–{routing.hhmm(v.end_s)}"
                                             for v in route.visits] + [routing.hhmm(route.end_s)],
            i18n.t("insp.col.name", lang): [leg["to"] for leg in links],
            i18n.t("insp.col.address", lang): [v.stop.address for v in route.visits] + [None],
            i18n.t("insp.col.ride", lang): [f"{v.travel_s / 60:.0f}′ · {v.distance_m / 1000:.1f} km"
                                             for v in route.visits]
            + [f"{route.return_travel_s / 60:.0f}′ · {route.return_distance_m / 1000:.1f} km"],
            # a wait longer than 30 minutes says why ("chờ mở cửa 16:00")
            i18n.t("insp.col.wait", lang): [_wait_text(route, v, lang) for v in route.visits] + [""],
            i18n.t("insp.col.nav", lang): [leg["google_maps"] for leg in links],
            i18n.t("insp.col.geo", lang): [leg["geo"] for leg in links],
        }), hide_index=True, use_container_width=True,
            column_config={i18n.t("insp.col.nav", lang): st.column_config.LinkColumn(display_text="Google Maps"),
                           i18n.t("insp.col.geo", lang): st.column_config.LinkColumn(
                               display_text=i18n.t("insp.open_map_app", lang))})
    name = f"lo-trinh-{plan.date.isoformat() if plan.date else 'ngay'}"
    c1, c2, c3 = st.columns(3)
    c1.download_button(i18n.t("insp.gpx", lang), route_files.to_gpx(plan, lang=lang), file_name=f"{name}.gpx",
                       mime="application/gpx+xml")
    ward_name = getattr(profiles.find(ctx.ward_slug), "name", "")
    c2.download_button(i18n.t("insp.pdf", lang), route_files.to_pdf(
        plan, ward_name=ward_name, lang=lang, synthetic=ward_data.ward_is_synthetic(ctx.engine, ctx.ward_id)),
                       file_name=f"{name}.pdf", mime="application/pdf")
    if auth.can(ctx.user, "record_inspection") and c3.button(i18n.t("insp.save", lang)):
        try:
            ids = planning.save_plan(ctx.engine, ctx.ward_id, plan, user=ctx.user)
        except GeomapError as exc:
            st.error(str(exc))
        else:
            st.success(i18n.t("insp.saved", lang).format(n=len(ids), date=plan.date.strftime("%d/%m/%Y")))


def route_map(routes: Any, lang: str = "vi") -> folium.Map:
    """A folium map of routes: numbered stops with their times, the legs as lines, the start as a ring
    (its tooltip in ``lang``).

    ``routes``: :class:`geomap.inspections.routing.Route` objects, or saved routes (dicts with ``stops``
    and ``summary``) from :func:`geomap.inspections.planning.routes_on`. Built on the staff map's base
    (Leaflet from the app's own copies when served), with core Leaflet objects only.
    """
    from geomap.map import view as mapview
    from geomap.ui import resources

    fmap = mapview.base_map(None, assets_url=resources.map_assets_url())
    bounds = []
    for k, route in enumerate(routes):
        color = COLORS[k % len(COLORS)]
        if isinstance(route, routing.Route):
            start, end = route.start, route.end
            stops = [(v.order, v.stop.lon, v.stop.lat, v.stop.name, v.start_s, v.end_s) for v in route.visits]
            who = route.inspector.name
        else:
            summary = route["summary"]
            start, end = tuple(summary["start"]), tuple(summary["end"])
            stops = [(s["order"], s["lon"], s["lat"], s["name"], s["start_s"], s["end_s"]) for s in route["stops"]]
            who = route["inspector_name"]
        line = [(start[1], start[0])] + [(lat, lon) for _, lon, lat, *_ in stops] + [(end[1], end[0])]
        folium.PolyLine(line, color=color, weight=3, opacity=0.8, tooltip=html.escape(who)).add_to(fmap)
        folium.CircleMarker((start[1], start[0]), radius=9, color=color, weight=4, fill=True, fill_color="#fff",
                            fill_opacity=1, tooltip=html.escape(f"{who}: {i18n.t('route.start', lang)}")).add_to(fmap)
        if tuple(end) != tuple(start):
            folium.CircleMarker((end[1], end[0]), radius=7, color=color, weight=4, fill=True, fill_color=color,
                                fill_opacity=1, tooltip=html.escape(f"{who}: {i18n.t('route.end', lang)}")).add_to(fmap)
        for order, lon, lat, name, begin, finish in stops:
            icon = folium.DivIcon(html=(
                f"<div style='background:{color};color:#fff;border-radius:50%;width:22px;height:22px;"
                f"text-align:center;font:bold 12px/22px sans-serif;border:2px solid #fff'>{order}</div>"),
                icon_size=(22, 22), icon_anchor=(11, 11))
            label = f"{order}. {name} — {routing.hhmm(begin)}–{routing.hhmm(finish)}"
            folium.Marker((lat, lon), icon=icon, tooltip=html.escape(label)).add_to(fmap)
        bounds.extend(line)
    if bounds:
        fmap.fit_bounds([[min(p[0] for p in bounds), min(p[1] for p in bounds)],
                         [max(p[0] for p in bounds), max(p[1] for p in bounds)]], padding=(20, 20))
    return fmap


PAGE = Page("inspections", "Kế hoạch kiểm tra", "Inspection planning", render, icon=":material/route:",
            roles=ALL_ROLES, order=40)
