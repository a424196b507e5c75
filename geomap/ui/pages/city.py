"""City-wide page ("Toàn thành phố"): every loaded ward on one map, the wards' indicators side by side.

For the read-only city role and administrators (the ``view_city`` right). The map's points and
parcels come from the public service's vector tiles, fetched by the browser with the user's own
sign-in (:mod:`geomap.city.view`, :mod:`geomap.web.staff_reads`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from geomap import city, config, dashboard, status
from geomap.dashboard import periods
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "city.title": ("Toàn thành phố", "Whole city"),
    "city.intro": ("Tất cả các phường đã nạp trên một bản đồ (chỉ xem). Phóng to để thấy từng cơ sở; từ mức "
                   "phóng 17 thấy các thửa đất. Bấm vào một cơ sở để xem thông tin và mở hồ sơ.",
                   "Every loaded ward on one map (read only). Zoom in to see each establishment; parcels show "
                   "from zoom 17. Click an establishment for its details and a link to its record."),
    "city.indicator": ("Chỉ tiêu tô màu các phường", "Indicator colouring the wards"),
    "city.period": ("Kỳ", "Period"),
    "city.table": ("Các chỉ tiêu của từng phường so với mục tiêu", "Each ward's indicators against the targets"),
    "city.target_of": ("{label} — mục tiêu", "{label} — target"),
    "city.met": ("Số chỉ tiêu đạt", "Targets met"),
    "city.computed": ("Tính cho {n} phường trong {s:.1f} giây (kỳ {period}, đến {date}).",
                      "Computed for {n} wards in {s:.1f} s (period {period}, up to {date})."),
    "city.no_wards": ("Chưa có phường nào được nạp.", "No ward loaded yet."),
}


@st.cache_data(ttl=300, show_spinner=False)
def _indicators(db_key: str, today: dt.date, period: str, lang: str) -> city.WardIndicators:
    return city.ward_indicators(resources.engine(), today, period, lang)


@st.cache_data(ttl=300, show_spinner=False)
def _outlines(db_key: str):
    return city.ward_outlines(resources.engine())


def ward_table(figures: city.WardIndicators, lang: str, t) -> tuple[pd.DataFrame, dict]:
    """One row per ward: each indicator's figure beside its target, and how many targets are met."""
    values, targets = figures.values(), figures.targets()
    names = figures.long.drop_duplicates("slug").set_index("slug")["ward"]
    met = figures.long.groupby("slug")["met"].apply(lambda s: int((s == True).sum()))  # noqa: E712
    table = pd.DataFrame({t("citymap.ward"): names})
    formats = {}
    for ind in dashboard.INDICATORS:
        fmt = "percent" if ind.kind == "share" else "%d"
        label = ind.label(lang)
        table[label] = values.get(ind.key)
        formats[label] = fmt
        if ind.target_key:
            target_label = t("city.target_of").format(label=label)
            table[target_label] = targets.get(ind.key)
            formats[target_label] = fmt
    table[t("city.met")] = met
    return table.reset_index(drop=True), formats


def render(ctx: Context) -> None:
    lang, today = ctx.lang, status.today()
    st.title(ctx.t("city.title"))
    st.caption(ctx.t("city.intro"))
    db_key = ctx.engine.url.render_as_string(hide_password=True)
    outlines = _outlines(db_key)
    if outlines.empty:
        st.info(ctx.t("city.no_wards"))
        return
    left, right = st.columns(2)
    choices = periods.choices(today)
    default = str(periods.containing(today, "quarter"))
    period = left.selectbox(ctx.t("city.period"), choices, index=choices.index(default), key="city.period")
    choice = right.selectbox(ctx.t("city.indicator"), [i.key for i in dashboard.INDICATORS],
                             format_func=lambda k: dashboard.BY_KEY[k].label(lang), key="city.indicator")
    figures = _indicators(db_key, today, period, lang)
    values = figures.values()
    shown = {slug: (None if pd.isna(v) else float(v)) for slug, v in values[choice].items()} \
        if choice in values else {}
    fmap = city.city_map(outlines, shown, dashboard.BY_KEY[choice], tiles_base=config.PUBLIC_BASE_URL,
                         staff_base=config.STAFF_BASE_URL, lang=lang, assets_url=resources.page_assets_url(),
                         height="600px")
    components.html(fmap.get_root().render(), height=610)

    st.subheader(ctx.t("city.table"))
    table, formats = ward_table(figures, lang, ctx.t)
    widgets.dataframe(table, hide_index=True, use_container_width=True,
                 column_config={c: st.column_config.NumberColumn(format=f) for c, f in formats.items()})
    st.caption(ctx.t("city.computed").format(n=len(table), s=figures.seconds, period=period,
                                             date=f"{figures.as_of:%d/%m/%Y}"))


PAGE = Page("city", "Toàn thành phố", "Whole city", render, icon=":material/location_city:",
            permission="view_city", order=5)
