"""Ward dashboard page: indicators against targets, by residential group, map, trends, Excel report."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geomap import auth, dashboard, i18n, profiles, status
from geomap.dashboard import group_import, periods
from geomap.dashboard.group_indicators import GROUP_INDICATORS
from geomap.errors import GeomapError
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page
from geomap.wards import data as ward_data

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "dash.title": ("Bảng điều hành phường", "Ward dashboard"),
    "dash.target": ("Mục tiêu {year}: {target}", "Target {year}: {target}"),
    "dash.no_target": ("Chưa đặt mục tiêu", "No target set"),
    "dash.of": ("{num}/{den}", "{num} of {den}"),
    "dash.map": ("Bản đồ theo tổ dân phố", "Map by residential group"),
    "dash.map_indicator": ("Chỉ số tô màu", "Indicator shown"),
    "dash.groups": ("Theo tổ dân phố", "By residential group"),
    "dash.trends": ("Xu hướng theo tháng", "Monthly trends"),
    "dash.payment_trend": ("Tỷ lệ cơ sở thanh toán số", "Share using digital payment"),
    "dash.tracking_since": ("Theo dõi thanh toán số từ {date}.", "Digital payment tracked since {date}."),
    "dash.no_tracking": ("Chưa có lịch sử thay đổi: xu hướng thanh toán số bắt đầu khi bắt đầu theo dõi.",
                         "No change history yet: the digital-payment trend starts when tracking starts."),
    "dash.report": ("Báo cáo Excel", "Excel report"),
    "dash.period": ("Kỳ báo cáo", "Period"),
    "dash.month": ("Tháng", "Month"),
    "dash.count": ("Số lượng", "Count"),
    "dash.make_report": ("Tạo báo cáo", "Make the report"),
    "dash.download_report": ("Tải báo cáo", "Download the report"),
    "dash.group": ("Tổ dân phố", "Residential group"),
    "dash.points": ("{delta:+.0f} điểm % so với mục tiêu", "{delta:+.0f} points against the target"),
    "dash.partial_month": ("Tháng {month} chưa hết nên chưa đưa vào biểu đồ (các tháng tính đủ đến {end}).",
                           "{month} is not over yet, so it is left out of the charts (full months up to {end})."),
    "dash.report_for": ("Báo cáo kỳ {period} đã sẵn sàng.", "The report for {period} is ready."),
    "dash.period_caption": ("Kỳ {period}: từ {start} đến {end}.", "Period {period}: {start} to {end}."),
    "dash.indicator_trend": ("Chỉ tiêu qua các kỳ", "Indicators by period"),
    "dash.definitions": ("Cách tính các chỉ tiêu", "How each indicator is computed"),
    "dash.imported": ("Chỉ tiêu tổ dân phố (phường nhập theo kỳ)",
                      "Residential-group indicators (imported per period)"),
    "dash.imported_from": ("Số liệu kỳ {periods}, {n} tổ báo cáo", "Figures of {periods}, {n} groups reporting"),
    "dash.imported_none": ("Chưa nhập số liệu cho kỳ này", "No figures imported for this period"),
    "dash.group_import": ("Nhập số liệu tổ dân phố", "Import residential-group figures"),
    "dash.group_import_help": (
        "Một dòng cho mỗi tổ (mã tổ). Có thể ghi cặp số đếm (tử số, mẫu số) hoặc tỷ lệ 0–100 (75 hoặc 75%); cả cột "
        "ghi 0–1 được hiểu là 0–100% và được báo lại. Nhập lại cùng kỳ sẽ thay toàn bộ số liệu kỳ đó.",
        "One row per group (its code). Give the two counts (numerator, denominator) or a share 0–100 (75 or 75%); "
        "a whole column written 0–1 is read as 0–100% and said so. Importing a period again replaces all of its "
        "figures."),
    "dash.group_period": ("Kỳ của số liệu", "Period of the figures"),
    "dash.group_template": ("Tải tệp mẫu (các tổ của phường)", "Download the template (the ward's groups)"),
    "dash.group_file": ("Tệp XLSX hoặc CSV", "XLSX or CSV file"),
    "dash.group_check": ("Kiểm tra tệp", "Check the file"),
    "dash.group_apply": ("Nhập số liệu", "Import the figures"),
    "dash.group_checked": ("{values} số liệu của {groups} tổ; {reject} dòng bị từ chối; thay {replaced} số liệu đã có "
                           "của kỳ {period}.",
                           "{values} figures of {groups} groups; {reject} rows rejected; replaces {replaced} figures "
                           "on file for {period}."),
    "dash.group_done": ("Đã nhập {values} số liệu của {groups} tổ cho kỳ {period}.",
                        "Imported {values} figures of {groups} groups for {period}."),
}


@st.cache_data(ttl=300, show_spinner=False)
def _frames(db_key: str, ward_id: int) -> dashboard.Frames:
    return dashboard.load_frames(resources.engine(), ward_id)


@st.cache_data(ttl=300, show_spinner=False)
def _board(db_key: str, ward_id: int, slug: str, today: dt.date, lang: str, period: str) -> dashboard.Dashboard:
    return dashboard.compute(_frames(db_key, ward_id), _profile(slug), today, lang, period=period)


def _profile(slug: str) -> profiles.WardProfile | None:
    try:
        return profiles.get(slug)
    except GeomapError:
        return None


def _fmt(ind: dashboard.Indicator, value: float | None) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.0%}" if ind.kind == "share" else f"{value:.0f}"


def _full_months(frame: pd.DataFrame | pd.Series, current: pd.Period) -> pd.DataFrame | pd.Series:
    """Complete months only (the running month would look like a drop), indexed "2026-11": a label
    that reads the same in both languages and sorts in time (the chart's own month names are English)."""
    kept = frame[frame.index < current]
    kept.index = [str(p) for p in kept.index]
    return kept


def render(ctx: Context) -> None:
    lang, today = ctx.lang, status.today()
    st.title(ctx.t("dash.title"))
    db_key = ctx.engine.url.render_as_string(hide_password=True)
    choices = periods.choices(today)
    default = str(periods.containing(today, "quarter"))
    period = st.selectbox(ctx.t("dash.period"), choices, index=choices.index(default), key="dash.period")
    board = _board(db_key, ctx.ward_id, ctx.ward_slug, today, lang, period)
    chosen = periods.parse(period)
    st.caption(ctx.t("dash.period_caption").format(period=period, start=f"{chosen.start:%d/%m/%Y}",
                                                   end=f"{board.today:%d/%m/%Y}"))

    cols = st.columns(3)
    for i, ind in enumerate(dashboard.INDICATORS):
        row = board.summary.loc[ind.key]
        target = row["target"]
        caption = (ctx.t("dash.target").format(year=board.today.year, target=f"{target:.0%}")
                   if target is not None and not pd.isna(target) else ctx.t("dash.no_target"))
        delta = None
        if target is not None and not pd.isna(target) and row["value"] is not None and not pd.isna(row["value"]):
            # a change of a percentage is in percentage points ("điểm %"), not a percentage of it
            delta = ctx.t("dash.points").format(delta=(row["value"] - target) * 100)
        with cols[i % 3]:
            st.metric(ind.label(lang), _fmt(ind, row["value"]), delta=delta,
                      help=ind.description_en if lang == "en" else ind.description_vi)
            st.caption(f"{caption} · " + ctx.t("dash.of").format(num=int(row["num"]), den=int(row["den"])))

    st.subheader(ctx.t("dash.imported"))
    cols = st.columns(4)
    for i, ind in enumerate(GROUP_INDICATORS):
        row = board.imported.loc[ind.key]
        with cols[i % 4]:
            st.metric(ind.label(lang), _fmt(ind, row["value"]),
                      help=ind.description_en if lang == "en" else ind.description_vi)
            st.caption(ctx.t("dash.imported_from").format(periods=", ".join(row["periods"]), n=row["groups_reported"])
                       if row["periods"] else ctx.t("dash.imported_none"))

    st.subheader(ctx.t("dash.map"))
    shown = {i.key: i for i in (*dashboard.INDICATORS, *GROUP_INDICATORS)}
    choice = st.selectbox(ctx.t("dash.map_indicator"), list(shown),
                          format_func=lambda k: shown[k].label(lang), key="dash.indicator")
    fmap = dashboard.choropleth(board, choice, lang, assets_url=resources.map_assets_url())
    st_folium(fmap, key=f"dash.map.{choice}", height=460, use_container_width=True, returned_objects=[])

    st.subheader(ctx.t("dash.groups"))
    table = board.by_group[["name", *shown]].rename(
        columns={"name": ctx.t("dash.group"), **{k: i.label(lang) for k, i in shown.items()}})
    widgets.dataframe(table, hide_index=True, use_container_width=True, column_config={
        i.label(lang): st.column_config.NumberColumn(format="percent" if i.kind == "share" else "%d")
        for i in shown.values()})

    st.subheader(ctx.t("dash.indicator_trend"))
    shares = [i.label(lang) for i in dashboard.INDICATORS if i.kind == "share"]
    wide = dashboard.trend_table(board.trend, lang)
    if not wide.empty:
        widgets.chart(wide[shares], lang, x_title=ctx.t("dash.period"), y_format=".0%")
        widgets.dataframe(wide, use_container_width=True, column_config={
            i.label(lang): st.column_config.NumberColumn(format="percent" if i.kind == "share" else "%d")
            for i in dashboard.INDICATORS})
    with st.expander(ctx.t("dash.definitions")):
        st.markdown("\n".join(f"- **{i.label(lang)}**: {i.description_en if lang == 'en' else i.description_vi}"
                               for i in dashboard.INDICATORS))

    st.subheader(ctx.t("dash.trends"))
    current = pd.Period(today, "M")
    activity = _full_months(board.activity, current)
    activity = activity.rename(columns={c: i18n.t(f"dashboard.activity.{c}", lang) for c in activity.columns})
    widgets.chart(activity, lang, x_title=ctx.t("dash.month"), y_title=ctx.t("dash.count"))
    trend = _full_months(board.payment_trend.dropna(), current)
    if trend.empty:
        st.info(ctx.t("dash.no_tracking"))
    else:
        widgets.chart(trend.rename(ctx.t("dash.payment_trend")).to_frame(), lang, x_title=ctx.t("dash.month"),
                      y_title=ctx.t("dash.payment_trend"), y_format=".0%")
        st.caption(ctx.t("dash.tracking_since").format(date=f"{board.tracking_since:%d/%m/%Y}"))
    st.caption(ctx.t("dash.partial_month").format(month=f"{current:%m/%Y}", end=f"{current - 1:%m/%Y}"))

    if auth.can(ctx.user, "import_records"):
        _group_import(ctx, today)

    st.subheader(ctx.t("dash.report"))
    if st.button(ctx.t("dash.make_report"), icon=":material/summarize:"):
        profile = _profile(ctx.ward_slug)
        if profile is None:
            st.error(f"No ward profile '{ctx.ward_slug}'.")
            return
        buf = io.BytesIO()
        dashboard.write_report(_frames(db_key, ctx.ward_id), profile, profile.name, period, buf, lang,
                               synthetic=ward_data.ward_is_synthetic(ctx.engine, ctx.ward_id))
        st.session_state["dash.report"] = (period, buf.getvalue())
    made = st.session_state.get("dash.report")
    if made and made[0] == period:  # the file offered is always the chosen period's
        st.caption(ctx.t("dash.report_for").format(period=period))
        st.download_button(ctx.t("dash.download_report"), made[1], file_name=f"bao-cao-{ctx.ward_slug}-{made[0]}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:")


def _group_import(ctx: Context, today: dt.date) -> None:
    """Upload the ward's assessment of its residential groups for a period: template, check, import."""
    done = st.session_state.pop("dash.group_done", None)
    with st.expander(ctx.t("dash.group_import"), icon=":material/upload_file:", expanded=done is not None):
        if done:
            st.success(done)
        st.caption(ctx.t("dash.group_import_help"))
        choices = [str(p) for p in periods.containing(today, "quarter").back(8)][::-1]
        period = st.selectbox(ctx.t("dash.group_period"), choices, key="dash.group_period")
        def made() -> bytes:  # made when clicked, not on every run of the page
            return group_import.template(ctx.engine, ctx.ward_id, period, ctx.lang)

        st.download_button(ctx.t("dash.group_template"), made,
                           file_name=f"chi-tieu-to-dan-pho-{ctx.ward_slug}-{period}.xlsx", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        upload = st.file_uploader(ctx.t("dash.group_file"), type=["xlsx", "csv", "txt"], key="dash.group_file")
        if upload is None:
            return
        data = upload.getvalue()
        try:
            plan = group_import.dry_run(ctx.engine, data, ward_id=ctx.ward_id, period=period,
                                        filename=upload.name, user=ctx.user)
        except GeomapError as exc:
            st.error(exc.message(ctx.lang) if hasattr(exc, "message") else str(exc))
            return
        st.info(ctx.t("dash.group_checked").format(period=period, **plan.counts))
        issues = plan.issues()
        # plain text, never markdown: a cell of the file is quoted in the messages
        st.text("\n".join(f"{'⛔' if i.level == 'error' else '⚠️'} {i.describe(ctx.lang)}" for i in issues[:100])
                + (f"\n… +{len(issues) - 100}" if len(issues) > 100 else ""))
        if plan.blocked or not st.button(ctx.t("dash.group_apply"), type="primary", icon=":material/save:"):
            return
        try:
            counts = group_import.run_import(ctx.engine, data, ward_id=ctx.ward_id, period=period,
                                             filename=upload.name, user=ctx.user)
        except GeomapError as exc:
            st.error(exc.message(ctx.lang) if hasattr(exc, "message") else str(exc))
            return
        st.cache_data.clear()  # the figures above are read again
        st.session_state["dash.group_done"] = ctx.t("dash.group_done").format(period=period, **counts)
        st.session_state.pop("dash.group_file", None)
        st.rerun()


PAGE = Page("dashboard", "Bảng điều hành", "Dashboard", render, icon=":material/monitoring:",
            permission="view_dashboard", order=20)
