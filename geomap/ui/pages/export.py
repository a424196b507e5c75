"""Export page: download the ward's layers as GIS files, or the LIVES food-safety feed.

Reads widgets, calls :func:`geomap.export.export` (or :func:`geomap.export.lives.export_lives`)
into a temporary folder and offers the finished file for download. The internal profile
(with personal data) is offered only to roles holding ``export_internal``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import layers
from geomap import auth, crs, export
from geomap.errors import GeomapError, LocalizedError
from geomap.export import lives
from geomap.ui import widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "export.title": ("Xuất dữ liệu cho thành phố", "Export for the city"),
    "export.intro": ("Tệp GIS theo chuẩn chung (GeoPackage là tệp trao đổi chính), kèm từ điển dữ liệu và siêu dữ "
                     "liệu. Hồ sơ công khai không có dữ liệu cá nhân.",
                     "Standard GIS files (GeoPackage is the main exchange file) with a data dictionary and "
                     "metadata. The public profile carries no personal data."),
    "export.layers": ("Lớp dữ liệu", "Layers"),
    "export.format": ("Định dạng", "Format"),
    "export.crs": ("Hệ tọa độ", "Coordinate system"),
    "export.crs.wgs84": ("WGS84 (EPSG:4326)", "WGS84 (EPSG:4326)"),
    "export.crs.local": ("VN-2000 của phường (EPSG:{srid})", "The ward's VN-2000 (EPSG:{srid})"),
    "export.profile": ("Hồ sơ", "Profile"),
    "export.profile.public": ("Công khai (không có dữ liệu cá nhân)", "Public (no personal data)"),
    "export.profile.internal": ("Nội bộ (có dữ liệu cá nhân — chỉ dùng trong cơ quan)",
                                "Internal (personal data — for authorised staff only)"),
    "export.make": ("Tạo tệp", "Make the file"),
    "export.ready": ("Đã tạo {name}.", "Made {name}."),
    "export.download": ("Tải về", "Download"),
    "export.counts": ("Số đối tượng theo lớp", "Features per layer"),
    "export.col.layer": ("Lớp", "Layer"), "export.col.features": ("Số đối tượng", "Features"),
    "export.col.fixed": ("Hình học lỗi đã sửa", "Invalid geometries repaired"),
    "export.col.nogeom": ("Không có vị trí", "Without a location"),
    "export.transformation": ("Phép chuyển đổi tọa độ: {text}", "Coordinate transformation: {text}"),
    "export.geojson_note": ("GeoJSON (RFC 7946) chỉ dùng WGS84.", "GeoJSON (RFC 7946) is WGS84 only."),
    "export.lives.header": ("Dữ liệu mở ATTP (định dạng LIVES)", "Food-safety open data (LIVES layout)"),
    "export.lives.intro": ("Cơ sở, kết quả kiểm tra, vi phạm và thông tin nguồn dữ liệu; chỉ các trường công khai.",
                           "Businesses, inspections, violations and feed info; public fields only."),
    "export.lives.make": ("Tạo dữ liệu LIVES", "Make the LIVES feed"),
    "export.nothing": ("Hãy chọn ít nhất một lớp.", "Choose at least one layer."),
}

_STATE = "geomap.export.file"


def _message(exc: GeomapError, lang: str) -> str:
    return exc.message(lang) if isinstance(exc, LocalizedError) else str(exc)


def _offer(ctx: Context, path: Path, key: str) -> None:
    st.session_state[f"{_STATE}.{key}"] = {"name": path.name, "data": path.read_bytes()}


def _show(ctx: Context, key: str, mime: str) -> None:
    made = st.session_state.get(f"{_STATE}.{key}")
    if made:
        st.success(ctx.t("export.ready").format(name=made["name"]))
        st.download_button(ctx.t("export.download"), data=made["data"], file_name=made["name"], mime=mime,
                           icon=":material/download:", key=f"export.download.{key}")


def render(ctx: Context) -> None:
    st.title(ctx.t("export.title"))
    st.caption(ctx.t("export.intro"))
    registry = layers.registry()
    may_internal = ctx.user is None or auth.can(ctx.user, "export_internal")
    profiles = ["public", "internal"] if may_internal else ["public"]
    with ctx.engine.connect() as c:
        ward = export.resolve_ward(c, ctx.ward_slug)
    local = int(ward["local_srid"]) if ward else crs.WGS84

    with st.form("export.form"):
        profile = st.radio(ctx.t("export.profile"), profiles, format_func=lambda p: ctx.t(f"export.profile.{p}"),
                           horizontal=True)
        # chosen by default: what may be published (the default profile is the public one); a layer kept
        # for internal use (market stalls and their holders) is added by hand with the internal profile
        names = st.multiselect(ctx.t("export.layers"), list(registry),
                               default=[n for n, layer in registry.items() if layer.publishable],
                               format_func=lambda n: registry[n].title(ctx.lang))
        left, right = st.columns(2)
        fmt = left.selectbox(ctx.t("export.format"), list(export.FORMATS),
                             format_func=lambda f: export.FORMATS[f][0])
        srids = [local, crs.WGS84] if local != crs.WGS84 else [crs.WGS84]
        srid = right.radio(ctx.t("export.crs"), srids, format_func=lambda s: ctx.t("export.crs.wgs84")
                           if s == crs.WGS84 else ctx.t("export.crs.local").format(srid=s))
        st.caption(ctx.t("export.geojson_note"))
        submitted = st.form_submit_button(ctx.t("export.make"), icon=":material/file_export:")
    if submitted:
        if not names:
            st.warning(ctx.t("export.nothing"))
        else:
            with st.spinner("…"), tempfile.TemporaryDirectory() as folder:
                try:
                    result = export.export(ctx.engine, layers=names, fmt=fmt, profile=profile, srid=srid,
                                           ward=ctx.ward_slug, dest=Path(folder), user=ctx.user)
                except GeomapError as exc:
                    st.session_state.pop(f"{_STATE}.files", None)
                    st.error(_message(exc, ctx.lang))
                else:
                    _offer(ctx, result.path, "files")
                    st.session_state[f"{_STATE}.meta"] = result.metadata
    meta = st.session_state.get(f"{_STATE}.meta")
    if st.session_state.get(f"{_STATE}.files") and meta:
        _show(ctx, "files", "application/octet-stream")
        rows = [{ctx.t("export.col.layer"): registry[x["name"]].title(ctx.lang) if x["name"] in registry
                 else x["name"], ctx.t("export.col.features"): x["features"],
                 ctx.t("export.col.fixed"): x["invalid_geometries_fixed"],
                 ctx.t("export.col.nogeom"): x["without_geometry"]} for x in meta["layers"]]
        st.caption(ctx.t("export.counts"))
        widgets.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
        if meta["crs"] != "EPSG:4326":
            st.caption(ctx.t("export.transformation").format(
                text=crs.summary(crs.WGS84, int(meta["crs"].split(":")[1]))))

    st.subheader(ctx.t("export.lives.header"))
    st.caption(ctx.t("export.lives.intro"))
    if st.button(ctx.t("export.lives.make"), icon=":material/restaurant:"):
        with tempfile.TemporaryDirectory() as folder:
            try:
                _offer(ctx, lives.export_lives(ctx.engine, ctx.ward_slug, Path(folder), user=ctx.user), "lives")
            except GeomapError as exc:
                st.error(_message(exc, ctx.lang))
    _show(ctx, "lives", "application/zip")


# the staff who may take the internal profile open the page (the public profile is the public site's data)
PAGE = Page(
    key="export", title_vi="Xuất dữ liệu", title_en="Export", render=render, icon=":material/download:",
    permission="export_internal", order=80,
)
