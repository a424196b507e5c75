"""The Excel import template: Vietnamese headers, drop-down lists, a data dictionary and a guide.

:func:`build_template` makes the empty workbook a data officer downloads;
:func:`fill_from_database` makes the same workbook filled with a ward's records, so the
ward's data can be edited in Excel and imported back (a round trip that must change
nothing when nothing was edited). Column headers, descriptions and code lists come from
:mod:`geomap.importing.columns`, which draws them from the layer registry and
:mod:`geomap.i18n`; the rows and the industry list are read by :mod:`geomap.importing.data`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from geomap import config, db, i18n
from geomap.importing import data
from geomap.importing.columns import ALL_COLUMNS, RECORD_KINDS, SHEETS, Column

#: the sheets around the data sheets, named in the template's language (the importer reads only data sheets)
GUIDE_SHEET = {"vi": "Hướng dẫn", "en": "Guide"}
DICTIONARY_SHEET = {"vi": "Từ điển dữ liệu", "en": "Data dictionary"}
LISTS_SHEET = {"vi": "Danh mục", "en": "Lists"}
#: rows that carry drop-down lists and formats (Excel applies them lazily, so this costs nothing)
VALIDATED_ROWS = 20_000

_HEADER_FILL = PatternFill("solid", fgColor="1565C0")
_REQUIRED_FILL = PatternFill("solid", fgColor="B71C1C")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_KIND_LABEL = {
    "text": ("Văn bản", "Text"), "date": ("Ngày (dd/mm/yyyy)", "Date (dd/mm/yyyy)"),
    "int": ("Số nguyên", "Whole number"), "float": ("Số thập phân", "Decimal number"),
    "code": ("Chọn trong danh sách", "Pick from the list"), "list": ("Danh sách, cách nhau dấu phẩy", "Comma list"),
    "vsic": ("Mã VSIC 2018", "VSIC 2018 code"), "wkt": ("WKT", "WKT"), "tax": ("Mã số thuế", "Tax code"),
    "phone": ("Số điện thoại", "Phone number"), "id_number": ("Số CCCD", "ID number"),
    "email": ("Thư điện tử", "E-mail"), "bool": ("Có/Không", "Yes/No"),
}
#: the code lists of the establishments' template, in this order (base layers add their own)
_RECORD_CODES = ("business_type", "operating_status", "payment", "licence_kind", "inspection_kind",
                 "inspection_result")
_YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
#: Excel's limit of characters in one cell: a longer WKT is left empty (the shape on file is kept)
EXCEL_CELL_MAX = 32_767

GUIDE_VI = (
    "MẪU NHẬP DỮ LIỆU — BẢN ĐỒ SỐ KINH DOANH",
    "",
    "1. Mỗi trang 'Cơ sở kinh doanh', 'Giấy phép', 'Kiểm tra' là một loại dữ liệu; nhập riêng từng loại.",
    "2. Giữ nguyên dòng tiêu đề (dòng 1). Cột có dấu * là bắt buộc. Rê chuột lên tiêu đề để xem mô tả.",
    "3. Ngày ghi dạng dd/mm/yyyy (ví dụ 05/03/2025). Mã số thuế, điện thoại nhập dạng văn bản để giữ số 0 đầu.",
    "4. Tọa độ: Kinh độ/Vĩ độ WGS84 (độ thập phân), hoặc cột 'Tọa độ WKT' dạng POINT(kinh_độ vĩ_độ). "
    "Tọa độ VN-2000 (mét) và kinh/vĩ độ bị đảo được tự nhận ra và sửa, có ghi chú từng dòng.",
    "5. Không có tọa độ: hệ thống định vị theo địa chỉ trùng với cơ sở đã có; nếu không khớp, cơ sở vẫn được "
    "nhập và hiện trong trang 'Chất lượng dữ liệu'.",
    "6. Nhập lại cùng một tệp sẽ CẬP NHẬT, không tạo bản trùng: khớp theo Mã cơ sở, rồi Mã số thuế, rồi cùng tên "
    "trong phạm vi 30 m. Ô để trống giữ nguyên giá trị đang có.",
    "7. Luôn chạy 'Kiểm tra thử' trước: xem từng dòng sẽ thêm mới / cập nhật / từ chối và lý do. Khi ghi thật, "
    "hoặc toàn bộ tệp được ghi, hoặc không ghi gì.",
    "8. Chủ cơ sở, số CCCD, điện thoại, thư điện tử là dữ liệu cá nhân: không bao giờ công khai.",
    "",
    "Trang 'Từ điển dữ liệu' mô tả từng cột; trang 'Danh mục' liệt kê mã ngành VSIC và các giá trị cho phép.",
)
GUIDE_LAYER_VI = (
    "MẪU NHẬP DỮ LIỆU NỀN — {title}",
    "",
    "1. Giữ nguyên dòng tiêu đề (dòng 1). Cột có dấu * là bắt buộc. Rê chuột lên tiêu đề để xem mô tả.",
    "2. Hình học: cột 'Tọa độ WKT' (ví dụ POLYGON((108.22 16.04, ...)) hoặc POINT(108.22 16.04)), WGS84 hoặc mét "
    "VN-2000 của phường; với điểm có thể dùng Kinh độ/Vĩ độ. Cũng nhận tệp GeoJSON, GeoPackage có cùng tên cột.",
    "3. Nhập lại cùng một tệp sẽ CẬP NHẬT, không tạo bản trùng. Ô để trống giữ nguyên giá trị đang có.",
    "4. Luôn chạy 'Kiểm tra thử' trước: xem từng dòng sẽ thêm mới / cập nhật / từ chối và lý do. Khi ghi thật, "
    "hoặc toàn bộ tệp được ghi, hoặc không ghi gì.",
    "",
    "Trang 'Từ điển dữ liệu' mô tả từng cột; trang 'Danh mục' liệt kê các giá trị cho phép.",
)
GUIDE_LAYER_EN = (
    "BASE DATA IMPORT TEMPLATE — {title}",
    "",
    "1. Keep the header row. Columns marked * are required. Hover a header for its description.",
    "2. Geometry: the WKT column (e.g. POLYGON((108.22 16.04, ...)) or POINT(108.22 16.04)), in WGS84 or the ward's "
    "VN-2000 metres; a point may be given as longitude/latitude. GeoJSON and GeoPackage files with the same columns "
    "are accepted too.",
    "3. Importing the same file again updates, never duplicates. Empty cells keep the value on record.",
    "4. Always run the dry run first. The real run writes the whole file or nothing.",
    "",
    "The 'Data dictionary' sheet describes each column; the 'Lists' sheet lists the allowed values.",
)
GUIDE_EN = (
    "IMPORT TEMPLATE — BUSINESS DIGITAL MAP",
    "",
    "1. Each of the sheets 'Establishments', 'Licences', 'Inspections' is one kind of record, imported on its own.",
    "2. Keep the header row. Columns marked * are required. Hover a header for its description.",
    "3. Dates as dd/mm/yyyy. Enter tax codes and phone numbers as text to keep leading zeros.",
    "4. Coordinates: WGS84 longitude/latitude, or POINT(lon lat) in the WKT column. VN-2000 metres and swapped "
    "lon/lat are detected and fixed, with a note on the row.",
    "5. Without coordinates the point is taken from a matching address; otherwise the establishment is listed on "
    "the Data quality page.",
    "6. Importing the same file again updates, never duplicates (code, then tax code, then same name within 30 m). "
    "Empty cells keep the value on record.",
    "7. Always run the dry run first. The real run writes the whole file or nothing.",
    "8. Owners, ID numbers, phone numbers and e-mail addresses are personal data: never published.",
    "",
    "The 'Data dictionary' sheet describes each column; the 'Lists' sheet lists the VSIC industry codes and the "
    "allowed values.",
)


def _labels(codes: str, lang: str = "vi") -> list[str]:
    return [pair[1] if lang == "en" else pair[0] for pair in i18n.CODES.get(codes, {}).values()]


def _industries(bind: db.Bind | None) -> list[tuple[str, str, str]]:
    if bind is not None:
        return data.industries(bind)
    import csv

    with open(config.DATA_DIR / "vsic2018.csv", encoding="utf-8") as fh:
        return [(r["vsic_code"], r["name_vi"], r["name_en"]) for r in csv.DictReader(fh)]


def _example(col: Column, lang: str) -> object:
    """The column's example in ``lang``: a code list's label or yes/no in the user's words (written in
    Vietnamese in :mod:`geomap.importing.columns`); a name stays as it is (data)."""
    if col.kind == "bool":
        return _YES_NO["en" if lang == "en" else "vi"][0 if col.example == _YES_NO["vi"][0] else 1]
    if col.codes:
        labels = dict(i18n.CODES.get(col.codes, {}).values())  # Vietnamese label -> English label
        if lang != "en" or col.kind != "list":
            return labels.get(col.example, col.example) if lang == "en" else col.example
        text = str(col.example)  # a comma list of labels (a label may hold a comma itself)
        for vi in sorted(labels, key=len, reverse=True):
            text = text.replace(vi, labels[vi])
        return text
    return col.example


def _header_text(col: Column, lang: str) -> str:
    return col.header(lang) + (" *" if col.required else "")


def _data_sheet(wb: Workbook, kind: str, lang: str, lists: dict[str, str]) -> Any:
    ws = wb.create_sheet(SHEETS[kind][1 if lang == "en" else 0])
    cols = ALL_COLUMNS[kind]
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j, value=_header_text(col, lang))
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if col.required else _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        text = col.description_en if lang == "en" else col.description_vi
        if text or col.example is not None:
            example = (f"\n{'Example' if lang == 'en' else 'Ví dụ'}: {_example(col, lang)}"
                       if col.example is not None else "")
            cell.comment = Comment(f"{text}{example}".strip(), "geomap", width=300, height=120)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = col.width
        rng = f"{letter}2:{letter}{VALIDATED_ROWS}"
        if col.kind == "date":
            dv = DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)", formula2="DATE(2100,12,31)",
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="Invalid date" if lang == "en" else "Ngày không hợp lệ",
                                error="Nhập ngày dạng dd/mm/yyyy." if lang != "en" else "Enter a date dd/mm/yyyy.")
            dv.add(rng)
            ws.add_data_validation(dv)
        elif col.kind == "bool" and "bool" in lists:
            dv = DataValidation(type="list", formula1=lists["bool"], allow_blank=True)
            dv.add(rng)
            ws.add_data_validation(dv)
        elif col.kind in ("code", "vsic") and (col.codes or col.kind) in lists:
            dv = DataValidation(type="list", formula1=lists[col.codes or col.kind], allow_blank=True,
                                showErrorMessage=col.kind == "code",
                                errorTitle="Invalid value" if lang == "en" else "Giá trị không hợp lệ",
                                error="Chọn một giá trị trong danh sách." if lang != "en" else "Pick from the list.")
            dv.add(rng)
            ws.add_data_validation(dv)
    ws.freeze_panes = "C2" if kind == "establishments" else "B2"
    ws.row_dimensions[1].height = 32
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}1"
    return ws


def _lists_sheet(wb: Workbook, bind: db.Bind | None, lang: str,
                 kinds: Sequence[str] = RECORD_KINDS) -> dict[str, str]:
    """The lists sheet ('Danh mục'); returns code list -> range formula for drop-downs. Each list is headed by
    the header of the column it serves, in the template's language."""
    sheet = LISTS_SHEET["en" if lang == "en" else "vi"]
    ws = wb.create_sheet(sheet)
    refs: dict[str, str] = {}
    cols = [c for k in kinds for c in ALL_COLUMNS[k]]
    codes = list(_RECORD_CODES) if set(kinds) & set(RECORD_KINDS) else []
    codes += [c.codes for c in cols if c.codes and c.codes not in codes]
    col = 4
    if any(c.kind == "bool" for c in cols):
        codes.append("bool")
    if not any(c.kind == "vsic" for c in cols):
        col = 1
    for codes_name in codes:
        labels = list(_YES_NO[lang if lang == "en" else "vi"]) if codes_name == "bool" else _labels(codes_name, lang)
        letter = get_column_letter(col)
        ws.cell(row=1, column=col, value=_list_title(codes_name, cols, lang)).font = Font(bold=True)
        for i, label in enumerate(labels, start=2):
            ws.cell(row=i, column=col, value=label)
        refs[codes_name] = f"'{sheet}'!${letter}$2:${letter}${len(labels) + 1}"
        ws.column_dimensions[letter].width = 34
        col += 1
    if not any(c.kind == "vsic" for c in cols):
        return refs
    col = 1
    industries = _industries(bind)
    ws.cell(row=1, column=col, value="Mã ngành VSIC" if lang != "en" else "VSIC code").font = Font(bold=True)
    ws.cell(row=1, column=col + 1, value="Tên ngành" if lang != "en" else "Industry").font = Font(bold=True)
    for i, (code, vi, en) in enumerate(industries, start=2):
        ws.cell(row=i, column=col, value=code)
        ws.cell(row=i, column=col + 1, value=en if lang == "en" else vi)
    refs["vsic"] = f"'{sheet}'!$A$2:$A${len(industries) + 1}"
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 60
    return refs


def _list_title(codes: str, cols: Sequence[Column], lang: str) -> str:
    """A code list's heading: the header of the first column using it (the record codes' own columns
    are in the establishments, licences and inspections sheets)."""
    if codes == "bool":
        return "/".join(_YES_NO["en" if lang == "en" else "vi"])
    for col in (*cols, *(c for k in RECORD_KINDS for c in ALL_COLUMNS[k])):
        if col.codes == codes:
            return col.header(lang)
    return codes


def _dictionary_sheet(wb: Workbook, lang: str, kinds: Sequence[str] = RECORD_KINDS) -> None:
    en = lang == "en"
    ws = wb.create_sheet(DICTIONARY_SHEET["en" if en else "vi"])
    heads = (("Sheet", "Header", "Header (Vietnamese)", "Required", "Type", "Description", "Allowed values",
              "Example") if en else
             ("Trang", "Tên cột", "Tên cột (tiếng Anh)", "Bắt buộc", "Kiểu dữ liệu", "Mô tả", "Giá trị cho phép",
              "Ví dụ"))
    for j, h in enumerate(heads, start=1):
        c = ws.cell(row=1, column=j, value=h)
        c.font, c.fill = _HEADER_FONT, _HEADER_FILL
    r = 2
    for kind in kinds:
        for col in ALL_COLUMNS[kind]:
            allowed = ", ".join(_labels(col.codes, lang)) if col.codes else ""
            if col.kind == "bool":
                allowed = ", ".join(_YES_NO["en" if en else "vi"])
            if col.kind == "vsic":
                allowed = f"'{LISTS_SHEET['en' if en else 'vi']}'"
            ws.append((SHEETS[kind][1 if en else 0], col.header(lang), col.header("vi" if en else "en"),
                       ("Yes" if en else "Có") if col.required else "", _KIND_LABEL[col.kind][1 if en else 0],
                       col.description_en if en else col.description_vi, allowed,
                       "" if col.example is None else str(_example(col, lang))))
            r += 1
    for letter, width in zip("ABCDEFGH", (18, 24, 26, 9, 22, 70, 50, 24), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def build_template(lang: str = "vi", bind: db.Bind | None = None,
                   kinds: Sequence[str] = RECORD_KINDS) -> Workbook:
    """The empty import template of ``kinds`` (establishments with their licences and inspections, or one
    base layer); the industry list from the database ``bind`` when given, else from data/."""
    wb = Workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET["en" if lang == "en" else "vi"]
    if set(kinds) <= set(RECORD_KINDS):
        lines = GUIDE_EN if lang == "en" else GUIDE_VI
    else:
        title = ", ".join(SHEETS[k][1 if lang == "en" else 0] for k in kinds).upper()
        lines = [line.format(title=title) for line in (GUIDE_LAYER_EN if lang == "en" else GUIDE_LAYER_VI)]
    for i, line in enumerate(lines, start=1):
        guide.cell(row=i, column=1, value=line).alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 130
    lists = _lists_sheet(wb, bind, lang, kinds)
    for kind in kinds:
        _data_sheet(wb, kind, lang, lists)
    _dictionary_sheet(wb, lang, kinds)
    wb.move_sheet(LISTS_SHEET["en" if lang == "en" else "vi"], offset=len(wb.sheetnames))
    return wb


def fill_rows(wb: Workbook, kind: str, rows: Iterable[Mapping[str, Any]], lang: str = "vi") -> int:
    """Append ``rows`` (mappings of column name -> value) to ``kind``'s sheet, formatted for import."""
    ws = wb[SHEETS[kind][1 if lang == "en" else 0]]
    cols = ALL_COLUMNS[kind]
    n = 0
    for rec in rows:
        ws.append([_cell(col, rec.get(col.name), lang) for col in cols])
        n += 1
    for j, col in enumerate(cols, start=1):
        if col.kind in ("date",):
            for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell[0].number_format = "DD/MM/YYYY"
        elif col.kind in ("tax", "phone", "id_number", "vsic"):
            for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell[0].number_format = "@"
    return n


def _cell(col: Column, value: Any, lang: str) -> Any:
    if value is None:
        return None
    if col.kind == "bool":
        return _YES_NO["en" if lang == "en" else "vi"][0 if value else 1]
    if col.kind == "wkt" and len(str(value)) > EXCEL_CELL_MAX:
        return None
    if col.kind == "code" and col.codes:
        return i18n.code_label(col.codes, value, lang)
    if col.kind == "list" and col.codes:
        return ", ".join(i18n.code_label(col.codes, v, lang) for v in value)
    if isinstance(value, dt.datetime):
        return value.date()
    if col.name == "violations" and isinstance(value, list):
        return "; ".join(str(v.get("text", "")) for v in value if isinstance(v, Mapping))
    return value


def fill_from_database(bind: db.Bind, ward_id: int, lang: str = "vi",
                       kinds: Sequence[str] = RECORD_KINDS) -> Workbook:
    """The template filled with the ward's records (of ``kinds``), ready to edit and import back."""
    with db.read(bind) as conn:
        wb = build_template(lang, conn, kinds)
        rows = data.template_rows(conn, ward_id) if set(kinds) & set(RECORD_KINDS) else {}
        for kind in kinds:
            if kind not in RECORD_KINDS:
                rows[kind] = data.layer_template_rows(conn, kind, ward_id)
    for kind in kinds:
        fill_rows(wb, kind, rows[kind], lang)
    return wb


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def save(wb: Workbook, path: str | Path) -> Path:
    path = Path(path)
    wb.save(path)
    return path
