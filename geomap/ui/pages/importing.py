"""Import page: pick what to import (establishments and their records, or a base layer), download its
template, upload a file, see the dry run row by row, then import it.

Reads widgets, calls :func:`geomap.importing.dry_run` / :func:`geomap.importing.run_import`,
renders. The real run is offered only when the dry run found nothing to reject, and it
re-checks the file inside its own transaction (all or nothing).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import streamlit as st

from geomap import i18n
from geomap.errors import GeomapError
from geomap.importing import (
    KINDS,
    MAX_UPLOAD_MB,
    RECORD_KINDS,
    ImportFileError,
    ImportRejected,
    dry_run,
    run_import,
    template,
)
from geomap.ui import widgets
from geomap.ui.context import Context
from geomap.ui.pages import Page

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "import.title": ("Nhập dữ liệu từ tệp", "Import from a file"),
    "import.intro": (
        "Nhận tệp Excel (.xlsx), CSV, GeoJSON hoặc GeoPackage. Luôn kiểm tra thử trước: từng dòng sẽ được thêm "
        "mới, cập nhật, giữ nguyên hay từ chối, kèm lý do. Khi ghi thật, hoặc toàn bộ tệp được ghi, hoặc không ghi gì.",
        "Accepts Excel (.xlsx), CSV, GeoJSON or GeoPackage. Always dry-run first: each row is shown as insert, "
        "update, no change or reject, with reasons. The real run writes the whole file or nothing."),
    "import.template": ("Tải mẫu Excel", "Download the Excel template"),
    "import.template_filled": ("Tạo mẫu kèm dữ liệu hiện có của phường", "Make the template with the ward's data"),
    "import.template_filled_ready": ("Tải mẫu kèm dữ liệu", "Download the filled template"),
    "import.kind": ("Loại dữ liệu", "Kind of records"),
    "import.kind.establishments": ("Cơ sở kinh doanh (kèm giấy phép)", "Establishments (with licences)"),
    "import.kind.licences": ("Giấy phép", "Licences"),
    "import.kind.inspections": ("Kết quả kiểm tra", "Inspections"),
    "import.kind.residential_groups": ("Tổ dân phố (ranh giới hoặc điểm)", "Residential groups (boundaries or points)"),
    "import.kind.land_parcels": ("Thửa đất", "Land parcels"),
    "import.kind.infrastructure": ("Hạ tầng đô thị", "Urban infrastructure"),
    "import.kind.public_facilities": ("Công trình công cộng", "Public facilities"),
    "import.kind.markets": ("Chợ", "Markets"),
    "import.kind.stalls": ("Quầy/sạp chợ (kèm bằng chứng QR/POS)", "Market stalls (with QR/POS evidence)"),
    "import.kind.commercial_streets": ("Tuyến phố thương mại thí điểm", "Pilot commercial streets"),
    "import.file": ("Tệp dữ liệu", "Data file"),
    "import.limit": ("Tối đa {mb} MB.", "At most {mb} MB."),
    "import.check": ("Kiểm tra thử (chưa ghi)", "Dry run (writes nothing)"),
    "import.apply": ("Ghi vào cơ sở dữ liệu", "Write to the database"),
    "import.only_messages": ("Chỉ hiện dòng có ghi chú hoặc thay đổi", "Only rows with messages or changes"),
    "import.done": ("Đã nhập: thêm mới {inserted}, cập nhật {updated}, không đổi {unchanged}; "
                    "{audit} mục nhật ký thay đổi.",
                    "Imported: {inserted} inserted, {updated} updated, {unchanged} unchanged; "
                    "{audit} audit entries."),
    "import.blocked": ("Chưa thể ghi: sửa các dòng bị từ chối trong tệp rồi kiểm tra lại.",
                       "Cannot write yet: fix the rejected rows in the file and dry-run again."),
    "import.nothing_to_do": ("Không có gì thay đổi.", "Nothing to change."),
}

_PLAN = "geomap.import.plan"


@st.cache_data(show_spinner=False)
def _template_bytes(lang: str, kinds: tuple[str, ...]) -> bytes:
    return template.to_bytes(template.build_template(lang, kinds=kinds))


def _template_kinds(kind: str) -> tuple[str, ...]:
    """The kinds of the template offered with ``kind``: the establishments' three sheets, or the one base layer."""
    return RECORD_KINDS if kind in RECORD_KINDS else (kind,)


def _file_error(exc: GeomapError, lang: str) -> str:
    return exc.message(lang) if isinstance(exc, ImportFileError) else str(exc)


def render(ctx: Context) -> None:
    lang = ctx.lang
    st.title(ctx.t("import.title"))
    st.caption(ctx.t("import.intro"))
    kind = st.selectbox(ctx.t("import.kind"), KINDS, format_func=lambda k: ctx.t(f"import.kind.{k}"),
                        key="import.kind")
    kinds = _template_kinds(kind)
    suffix = "" if kinds == RECORD_KINDS else f"-{kind.replace('_', '-')}"
    c1, c2 = st.columns(2)
    c1.download_button(ctx.t("import.template"), _template_bytes(lang, kinds),
                       file_name=f"mau-nhap-du-lieu{suffix}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:")
    filled_key = f"geomap.import.filled{suffix}"
    if c2.button(ctx.t("import.template_filled"), icon=":material/table_view:"):
        with st.spinner():
            data = template.to_bytes(template.fill_from_database(ctx.engine, ctx.ward_id, lang, kinds))
        st.session_state[filled_key] = data
    if st.session_state.get(filled_key):
        c2.download_button(ctx.t("import.template_filled_ready"), st.session_state[filled_key],
                           file_name=f"du-lieu-{ctx.ward_slug}{suffix}.xlsx", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    upload = st.file_uploader(ctx.t("import.file"), type=["xlsx", "csv", "txt", "geojson", "json", "gpkg"],
                              help=ctx.t("import.limit").format(mb=f"{MAX_UPLOAD_MB:g}"), key="import.file",
                              max_upload_size=max(1, math.ceil(MAX_UPLOAD_MB)))  # the uploader says the real limit
    if upload is None:
        st.session_state.pop(_PLAN, None)
        return
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:  # before reading a byte of it
        st.error(ImportFileError("file.too_large", file=upload.name, size_mb=round(upload.size / 1048576, 1),
                                 limit_mb=MAX_UPLOAD_MB).message(lang))
        return
    data = upload.getvalue()
    key = (hashlib.sha256(data).hexdigest(), kind, ctx.ward_id)
    if st.button(ctx.t("import.check"), type="primary", icon=":material/fact_check:"):
        try:
            with st.spinner():
                plan = dry_run(ctx.engine, kind, data, ward_id=ctx.ward_id, filename=upload.name, user=ctx.user)
            st.session_state[_PLAN] = (key, plan)
        except GeomapError as exc:
            st.session_state.pop(_PLAN, None)
            st.error(_file_error(exc, lang))
            return
    held = st.session_state.get(_PLAN)
    if not held or held[0] != key:
        return
    plan = held[1]
    _show_plan(ctx, plan)
    if plan.blocked:
        st.warning(ctx.t("import.blocked"))
        return
    counts = plan.counts
    if counts["insert"] + counts["update"] == 0:
        st.info(ctx.t("import.nothing_to_do"))
        return
    if st.button(ctx.t("import.apply"), type="primary", icon=":material/save:"):
        try:
            with st.spinner():
                result = run_import(ctx.engine, kind, data, ward_id=ctx.ward_id, filename=upload.name,
                                    user=ctx.user, lang=lang)
        except ImportRejected as exc:
            st.session_state[_PLAN] = (key, exc.plan)
            st.error(str(exc))
            return
        except GeomapError as exc:
            st.error(_file_error(exc, lang))
            return
        st.session_state.pop(_PLAN, None)
        st.cache_data.clear()  # the map, dashboard and quality pages must see the new records
        st.success(ctx.t("import.done").format(inserted=result.inserted, updated=result.updated,
                                               unchanged=result.unchanged, audit=result.audit_entries))


def _show_plan(ctx: Context, plan: Any) -> None:
    counts = plan.counts
    cols = st.columns(4)
    for col, action in zip(cols, ("insert", "update", "unchanged", "reject"), strict=True):
        col.metric(i18n.t(f"import.action.{action}", ctx.lang), counts[action])
    for issue in plan.file_issues:
        (st.error if issue.level == "error" else st.warning)(issue.describe(ctx.lang))
    frame = plan.frame(ctx.lang)
    if frame.empty:
        return
    if st.toggle(ctx.t("import.only_messages"), value=len(frame) > 200, key="import.only"):
        frame = frame[(frame.iloc[:, 4] != "") | (frame.iloc[:, 5] != "")]
    widgets.dataframe(frame, hide_index=True, use_container_width=True,
                 height=min(600, 38 + 35 * max(1, len(frame))))


PAGE = Page("import", "Nhập dữ liệu", "Import", render, icon=":material/upload_file:",
            permission="import_records", order=60)
