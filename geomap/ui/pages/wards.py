"""Ward setup (admins only): set up a real ward from its boundary file, with a dry-run preview, and list them.

Reads the form, writes the uploads to a temporary folder, calls :func:`geomap.wards.setup.plan_ward`
(the preview: the checks, the grid, the area in the local grid against the official one, the outline
on the base map) and then :func:`geomap.wards.setup.create_ward` (all or nothing).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from geomap.errors import GeomapError
from geomap.ui import resources, widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page
from geomap.wards import grid, setup

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "wardpage.title": ("Thiết lập phường", "Ward setup"),
    "wardpage.intro": (
        "Tạo một phường thật từ tệp ranh giới của phường (GeoJSON, GeoPackage hoặc Shapefile nén .zip; WGS84 "
        "hoặc VN-2000), không cần dữ liệu mô phỏng. Luôn kiểm tra thử trước; phường chỉ được tạo khi mọi kiểm tra "
        "đều đạt.",
        "Set up a real ward from its boundary file (GeoJSON, GeoPackage or a zipped Shapefile; WGS84 or VN-2000), "
        "without the demo data. Always dry-run first; the ward is created only when every check passes."),
    "wardpage.name": ("Tên phường", "Ward name"),
    "wardpage.province": ("Tỉnh/thành phố", "Province/city"),
    "wardpage.province_help": (
        "34 tỉnh, thành phố từ 1/7/2025; chọn tỉnh cũ (trước sáp nhập) nếu phường nằm trong phần đó, để dùng đúng "
        "kinh tuyến trục VN-2000 của bản đồ địa chính.",
        "The 34 provinces and cities since 1 July 2025; pick a former province (before the merger) when the ward "
        "lies in it, to use the VN-2000 meridian of its cadastral maps."),
    "wardpage.former": ("{former} (cũ) → {province}, kinh tuyến trục {meridian}",
                        "{former} (former) → {province}, meridian {meridian}"),
    "wardpage.slug": ("Mã phường (để trống: tự tạo từ tên)", "Slug (empty: made from the name)"),
    "wardpage.boundary": ("Tệp ranh giới", "Boundary file"),
    "wardpage.profile": ("Tệp hồ sơ phường (TOML, không bắt buộc)", "Ward profile file (TOML, optional)"),
    "wardpage.check": ("Kiểm tra thử (chưa ghi)", "Dry run (writes nothing)"),
    "wardpage.create": ("Tạo phường", "Create the ward"),
    "wardpage.created": ("Đã tạo {name} (mã {slug}). Chọn phường ở thanh bên để làm việc với phường này.",
                         "{name} created (slug {slug}). Pick it in the sidebar to work on it."),
    "wardpage.loaded": ("Các phường đã có", "Loaded wards"),
    "wardpage.col.slug": ("Mã", "Slug"), "wardpage.col.name": ("Tên", "Name"),
    "wardpage.col.province": ("Tỉnh/thành phố", "Province"), "wardpage.col.grid": ("Lưới", "Grid"),
    "wardpage.col.area": ("Diện tích đo (km²)", "Measured area (km²)"),
    "wardpage.col.official": ("Diện tích chính thức (km²)", "Official area (km²)"),
    "wardpage.col.source": ("Tạo từ tệp", "From files"),
}

_PLAN = "geomap.wards.plan"
_MAX_MB = 50


def _province_options(lang: str) -> list[str]:
    current = grid.provinces()
    formers = [r for r in grid.table() if r["default"] != "1"]
    return current + [r["former_province"] for r in formers]


def _province_label(option: str, lang: str) -> str:
    from geomap import i18n

    for r in grid.table():
        if r["former_province"] == option and r["default"] != "1":
            return i18n.t("wardpage.former", lang).format(former=option, province=r["province"],
                                                          meridian=r["central_meridian"])
    return option


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(ctx.t("wardpage.title"))
    st.caption(ctx.t("wardpage.intro"))
    name = st.text_input(ctx.t("wardpage.name"), key="wardpage.name")
    province = st.selectbox(ctx.t("wardpage.province"), _province_options(lang), index=None,
                            format_func=lambda o: _province_label(o, lang), help=ctx.t("wardpage.province_help"),
                            key="wardpage.province")
    slug = st.text_input(ctx.t("wardpage.slug"), key="wardpage.slug")
    boundary = st.file_uploader(ctx.t("wardpage.boundary"), type=["geojson", "json", "gpkg", "zip", "osm", "pbf"],
                                key="wardpage.boundary")
    profile = st.file_uploader(ctx.t("wardpage.profile"), type=["toml"], key="wardpage.profile")
    if boundary is not None and boundary.size <= _MAX_MB * 1024 * 1024:
        data = boundary.getvalue()
        prof = profile.getvalue() if profile is not None else b""
        key = hashlib.sha256(b"\0".join([data, prof, (name or "").encode(), (province or "").encode(),
                                         (slug or "").encode()])).hexdigest()
        if st.button(ctx.t("wardpage.check"), type="primary", icon=":material/fact_check:"):
            try:
                plan = _plan(ctx, name, province, slug, boundary.name, data,
                             profile.name if profile is not None else None, prof)
                st.session_state[_PLAN] = (key, plan)
            except GeomapError as exc:
                st.session_state.pop(_PLAN, None)
                st.error(exc.message(lang) if hasattr(exc, "message") else str(exc))
        held = st.session_state.get(_PLAN)
        if held and held[0] == key:
            _preview(ctx, held[1])
    _loaded(ctx)


def _plan(ctx: Context, name: str, province: str | None, slug: str, boundary_name: str, data: bytes,
          profile_name: str | None, profile_data: bytes) -> setup.WardPlan:
    with st.spinner(), tempfile.TemporaryDirectory() as folder:
        path = setup.upload_to_file(Path(folder), boundary_name, data)
        profile_path = setup.upload_to_file(Path(folder), profile_name, profile_data) if profile_name else None
        return setup.plan_ward(ctx.engine, name=name, province=province, boundary_path=path,
                               profile_path=profile_path, slug=slug or None, boundary_name=boundary_name,
                               profile_name=profile_name)


def _preview(ctx: Context, plan: setup.WardPlan) -> None:
    from streamlit_folium import st_folium

    for line in plan.lines(ctx.lang):
        st.markdown(f"- {line}")
    st_folium(setup.preview_map(plan, assets_url=resources.map_assets_url()), key="wardpage.map", height=420,
              use_container_width=True, returned_objects=[])
    if st.button(ctx.t("wardpage.create"), type="primary", icon=":material/add_location_alt:"):
        try:
            setup.create_ward(ctx.engine, plan, user=ctx.user)
        except GeomapError as exc:
            st.error(exc.message(ctx.lang) if hasattr(exc, "message") else str(exc))
            return
        st.session_state.pop(_PLAN, None)
        st.cache_data.clear()
        st.success(ctx.t("wardpage.created").format(name=plan.name, slug=plan.slug))


def _loaded(ctx: Context) -> None:
    st.subheader(ctx.t("wardpage.loaded"))
    wards = setup.list_wards(ctx.engine)
    if not wards:
        return
    frame = pd.DataFrame(wards)
    frame["grid"] = "EPSG:" + frame["local_srid"].astype(str)
    cols = {"slug": "wardpage.col.slug", "name": "wardpage.col.name", "province": "wardpage.col.province",
            "grid": "wardpage.col.grid", "area_km2": "wardpage.col.area", "official_area_km2": "wardpage.col.official",
            "from_files": "wardpage.col.source"}
    widgets.dataframe(frame[list(cols)].rename(columns={k: ctx.t(v) for k, v in cols.items()}).round(2),
                      hide_index=True, use_container_width=True)


PAGE = Page("wards", "Thiết lập phường", "Ward setup", render, icon=":material/add_location_alt:", roles=("admin",),
            order=90)
