"""Pure import checks: file types, cells, dates, coordinates, text (no database)."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata

import pytest
from openpyxl import Workbook
from pyproj import Transformer

from geomap.importing import ImportFileError, map_columns, read
from geomap.importing.reading import sniff
from geomap.importing.validation import Refs, _Bad, fix_point, parse_date, validate

TODAY = dt.date(2026, 11, 22)
REFS = Refs(today=TODAY, vsic_codes=frozenset({"5610", "4719"}))


def _check(rows: list[dict], kind: str = "establishments"):
    from import_fixtures import csv_bytes

    table = read(kind, csv_bytes(rows), "t.csv")
    mapping = map_columns(kind, list(table.frame.columns))
    return validate(kind, table, mapping, REFS)


@pytest.mark.parametrize(("data", "key"), [
    (b"%PDF-1.7\n...", "file.wrong_type"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "file.xls"),
    (b"", "file.empty"),
    (b"   \n\n", "file.empty"),
    (b"<!DOCTYPE html><html></html>", "file.wrong_type"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "file.wrong_type"),
])
def test_file_type_comes_from_the_bytes_not_the_name(data: bytes, key: str) -> None:
    with pytest.raises(ImportFileError) as err:
        read("establishments", data, "danh-sach.xlsx")
    assert err.value.key == key
    assert "danh-sach.xlsx" in err.value.message("vi") or key == "file.empty"
    assert err.value.message("en") != err.value.message("vi")


def test_a_real_xlsx_named_csv_is_read_as_xlsx() -> None:
    wb = Workbook()
    wb.active.append(["Tên cơ sở", "Loại hình", "Mã ngành VSIC"])
    wb.active.append(["Phở Hòa", "Hộ kinh doanh", "5610"])
    buf = io.BytesIO()
    wb.save(buf)
    assert sniff(buf.getvalue(), "x.csv") == "xlsx"
    table = read("establishments", buf.getvalue(), "x.csv")
    assert table.format == "xlsx" and table.row_numbers == [2]


def test_header_only_file_is_refused() -> None:
    with pytest.raises(ImportFileError) as err:
        read("establishments", "Tên cơ sở,Loại hình\n".encode(), "t.csv")
    assert err.value.key == "file.no_rows"


def test_a_50_mb_upload_is_refused_before_parsing() -> None:
    data = b"PK\x03\x04" + b"\x00" * (50 * 1024 * 1024)  # not even a valid zip: never opened
    with pytest.raises(ImportFileError) as err:
        read("establishments", data, "big.xlsx", max_mb=30)
    assert err.value.key == "file.too_large"
    assert "50.0 MB" in err.value.message("en") and "30" in err.value.message("en")


def test_missing_required_columns_are_listed() -> None:
    m = map_columns("establishments", ["Mã cơ sở", "Tên cơ sở"])
    assert [c.header_vi for c in m.missing] == ["Loại hình", "Mã ngành VSIC"]
    m = map_columns("licences", ["Loại giấy phép", "Ngày cấp"])
    assert m.missing[0].header_vi == "Mã cơ sở"


def test_headers_match_without_diacritics_case_or_required_mark() -> None:
    m = map_columns("establishments", ["TEN CO SO *", "loai hinh", "VSIC", "Kinh Do", "vi do", "Ghi chú riêng"])
    assert set(m.by_header.values()) == {"name", "business_type", "vsic_code", "lon", "lat"}
    assert m.unknown == ["Ghi chú riêng"]


@pytest.mark.parametrize(("text", "expected"), [
    ("05/03/2025", dt.date(2025, 3, 5)), ("5-3-2025", dt.date(2025, 3, 5)), ("2025-03-05", dt.date(2025, 3, 5)),
    (dt.datetime(2025, 3, 5, 0, 0), dt.date(2025, 3, 5)),
])
def test_dates_in_vietnamese_order(text, expected) -> None:
    assert parse_date(text) == expected


def test_impossible_future_and_reversed_dates_are_rejected_with_row_and_column() -> None:
    base = {"Tên cơ sở": "A", "Loại hình": "household", "Mã ngành VSIC": "5610"}
    checks = _check([
        {**base, "Ngày cấp": "31/02/2024"},
        {**base, "Ngày cấp": "01/01/2027"},
        {**base, "Ngày cấp": "01/06/2025", "Ngày hết hạn": "01/01/2025"},
        {**base, "Ngày cấp": "hôm qua"},
        {**base, "Số GCN ĐKKD": "32A1"},
    ])
    msgs = [[(i.row, i.column, i.key) for i in c.issues if i.level == "error"] for c in checks]
    assert msgs[0] == [(2, "Ngày cấp", "cell.date_impossible")]
    assert msgs[1] == [(3, "Ngày cấp", "cell.date_future")]
    assert msgs[2] == [(4, "Ngày hết hạn", "cell.expiry_before_issue")]
    assert msgs[3] == [(5, "Ngày cấp", "cell.date_invalid")]
    assert msgs[4] == [(6, "Ngày cấp", "cell.licence_no_issue_date")]
    assert "31/02/2024" in checks[0].issues[0].describe("vi") and "Dòng 2" in checks[0].issues[0].describe("vi")
    assert checks[0].issues[0].describe("en").startswith("Row 2, column 'Ngày cấp'")


def test_unknown_vsic_and_code_values() -> None:
    checks = _check([{"Tên cơ sở": "A", "Loại hình": "Xe đẩy", "Mã ngành VSIC": "9999",
                      "Thanh toán số": "Mã QR ngân hàng, tiền vàng"}])
    keys = {(i.column, i.key) for i in checks[0].issues if i.level == "error"}
    assert keys == {("Loại hình", "cell.code_unknown"), ("Mã ngành VSIC", "cell.vsic_unknown"),
                    ("Thanh toán số", "cell.code_unknown")}
    assert "Hộ kinh doanh" in next(i for i in checks[0].issues if i.column == "Loại hình").message("vi")


def test_labels_codes_and_payment_lists_are_understood() -> None:
    checks = _check([{"Tên cơ sở": "A", "Loại hình": "DOANH NGHIEP", "Mã ngành VSIC": "5610",
                      "Tình trạng hoạt động": "Tạm ngừng", "Thanh toán số": "ví điện tử; POS_card, e_wallet"},
                     {"Tên cơ sở": "B", "Loại hình": "enterprise", "Mã ngành VSIC": "5610", "Thanh toán số": "Không"}])
    assert checks[0].ok and checks[0].values["business_type"] == "enterprise"
    assert checks[0].values["operating_status"] == "suspended"
    assert checks[0].values["digital_payment"] == ["e_wallet", "pos_card"]
    assert checks[1].values["digital_payment"] == []


def test_text_is_nfc_and_hostile_text_is_kept_as_text() -> None:
    nfd = unicodedata.normalize("NFD", "Phở Hòa")
    hostile = "<script>alert(1)</script>'; DROP TABLE establishment;--"
    checks = _check([{"Tên cơ sở": nfd, "Loại hình": "household", "Mã ngành VSIC": "5610", "Địa chỉ": hostile}])
    assert checks[0].ok
    assert checks[0].values["name"] == "Phở Hòa" and unicodedata.is_normalized("NFC", checks[0].values["name"])
    assert checks[0].values["address"] == hostile


def test_leading_zero_lost_in_number_cells_is_restored_with_a_warning() -> None:
    wb = Workbook()
    wb.active.append(["Tên cơ sở", "Loại hình", "Mã ngành VSIC", "Mã số thuế", "Điện thoại"])
    wb.active.append(["A", "household", 5610, 401234567, 905123456])
    buf = io.BytesIO()
    wb.save(buf)
    table = read("establishments", buf.getvalue(), "t.xlsx")
    rc = validate("establishments", table, map_columns("establishments", list(table.frame.columns)), REFS)[0]
    assert rc.ok, rc.issues
    assert rc.values["tax_code"] == "0401234567" and rc.values["phone"] == "0905123456"
    assert {i.key for i in rc.issues} == {"cell.tax_padded", "cell.phone_padded", "geo.missing"}


def test_degrees_swapped_and_vn2000_metres_are_fixed_and_said() -> None:
    assert fix_point(108.22, 16.05, 5899) == (108.22, 16.05, [])
    lon, lat, notes = fix_point(16.05, 108.22, 5899)
    assert (lon, lat) == (108.22, 16.05) and notes[0][0] == "geo.swapped"
    to_vn2000 = Transformer.from_crs("EPSG:4326", "EPSG:5899", always_xy=True)
    x, y = to_vn2000.transform(108.22, 16.05)
    assert 500_000 < x < 600_000 and 1_700_000 < y < 1_800_000
    lon, lat, notes = fix_point(x, y, 5899)
    assert abs(lon - 108.22) < 1e-7 and abs(lat - 16.05) < 1e-7
    assert [k for k, _ in notes] == ["geo.vn2000"]
    lon, lat, notes = fix_point(y, x, 5899)  # X/Y swapped as well
    assert abs(lon - 108.22) < 1e-7 and [k for k, _ in notes] == ["geo.vn2000_swapped", "geo.vn2000"]
    # a point on the zone's central meridian (107°45') has an easting of 500 km, give or take the datum shift
    cx, _ = to_vn2000.transform(107.75, 16.0)
    assert abs(cx - 500_000) < 500
    with pytest.raises(_Bad):
        fix_point(2.35, 48.85, 5899)


def test_half_coordinates_bad_wkt_and_non_points_are_rejected() -> None:
    base = {"Tên cơ sở": "A", "Loại hình": "household", "Mã ngành VSIC": "5610"}
    checks = _check([{**base, "Kinh độ": "108.2", "Vĩ độ": ""}, {**base, "Tọa độ WKT": "POINT(108.2"},
                     {**base, "Tọa độ WKT": "LINESTRING(108.2 16, 108.3 16.1)"},
                     {**base, "Tọa độ WKT": "POINT(108.2 16.05)"}])
    assert [next(i.key for i in c.issues) if c.issues else None for c in checks] == \
        ["geo.half", "geo.wkt_invalid", "geo.not_point", None]
    assert checks[3].values["lon"] == 108.2


def test_import_applies_the_edit_forms_date_rules_with_row_and_column() -> None:
    """One set of rules (geomap.records) for import and editing: each broken rule names its row and column."""
    base = {"Tên cơ sở": "A", "Loại hình": "household", "Mã ngành VSIC": "5610"}
    checks = _check([
        {**base, "Ngày cấp": "01/02/2024", "Ngày hết hạn": "31/12/9999"},  # editing caps expiry at 20 years
        {**base, "Ngày cấp GCN ATTP": "01/03/2024", "Ngày hết hạn GCN ATTP": "02/03/2027"},  # > 3 years
        {**base, "Ngày cấp GCN ATTP": "01/03/2024", "Ngày hết hạn GCN ATTP": "01/03/2027"},  # exactly 3: fine
        {**base, "Ngày bắt đầu hoạt động": "31/12/1949"},  # before 1950
        {**base, "Ngày bắt đầu hoạt động": "01/01/1950"},
    ])
    errors = [[(i.row, i.column, i.key) for i in c.issues if i.level == "error"] for c in checks]
    assert errors == [
        [(2, "Ngày hết hạn", "cell.date_too_far_ahead")],
        [(3, "Ngày hết hạn GCN ATTP", "cell.certificate_too_long")],
        [],
        [(5, "Ngày bắt đầu hoạt động", "cell.date_too_old")],
        [],
    ]
    assert checks[1].issues[0].describe("vi").startswith("Dòng 3, cột 'Ngày hết hạn GCN ATTP': GCN ATTP chỉ có")

    licences = _check([
        {"Mã cơ sở": "X1", "Loại giấy phép": "food_safety_certificate", "Ngày cấp": "01/03/2024",
         "Ngày hết hạn": "01/03/2028"},
        {"Mã cơ sở": "X1", "Loại giấy phép": "business_registration", "Ngày cấp": "01/03/2024",
         "Ngày hết hạn": "01/01/2050"},
        {"Mã cơ sở": "X1", "Loại giấy phép": "business_registration", "Ngày cấp": "01/03/2024",
         "Ngày hết hạn": "01/03/2028"},
    ], "licences")
    assert [[(i.row, i.column, i.key) for i in c.issues if i.level == "error"] for c in licences] == [
        [(2, "Ngày hết hạn", "cell.certificate_too_long")],
        [(3, "Ngày hết hạn", "cell.date_too_far_ahead")],
        [],
    ]


def test_import_applies_the_edit_forms_follow_up_rules() -> None:
    row = {"Mã cơ sở": "X1", "Ngày kiểm tra": "01/10/2026", "Hình thức kiểm tra": "Định kỳ"}
    checks = _check([
        {**row, "Kết quả": "Đạt", "Hạn tái kiểm tra": "01/11/2026"},  # a pass has no follow-up
        {**row, "Kết quả": "Vi phạm", "Nội dung vi phạm": "Bẩn", "Hạn tái kiểm tra": "01/10/2026"},  # same day
        {**row, "Kết quả": "Vi phạm", "Nội dung vi phạm": "Bẩn", "Hạn tái kiểm tra": "01/05/2027"},  # > 180 days
        {**row, "Kết quả": "Vi phạm", "Nội dung vi phạm": "Bẩn; Thiếu sổ", "Hạn tái kiểm tra": "15/10/2026"},
    ], "inspections")
    errors = [[(i.row, i.column, i.key) for i in c.issues if i.level == "error"] for c in checks]
    assert errors == [
        [(2, "Hạn tái kiểm tra", "cell.follow_up_not_violation")],
        [(3, "Hạn tái kiểm tra", "cell.follow_up_not_after")],
        [(4, "Hạn tái kiểm tra", "cell.follow_up_too_late")],
        [],
    ]
    assert "180" in checks[2].issues[0].message("en")
    # violations are stored as an edit stores them: text with the default severity
    assert checks[3].values["violations"] == [{"code": None, "severity": 1, "text": "Bẩn"},
                                              {"code": None, "severity": 1, "text": "Thiếu sổ"}]


def test_the_uploader_says_the_real_limit_and_the_app_keeps_its_own_check() -> None:
    """Streamlit's upload limit is the app's (the uploader shows the true "30MB"); the app still refuses a
    larger file with its own message (the CLI, or a limit set by GEOMAP_IMPORT_MAX_MB below it)."""
    import math
    import tomllib
    from pathlib import Path

    from geomap.importing import MAX_UPLOAD_MB

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == math.ceil(MAX_UPLOAD_MB)
    size_mb = int(MAX_UPLOAD_MB) + 1
    with pytest.raises(ImportFileError) as err:
        read("establishments", b"PK\x03\x04" + b"\x00" * (size_mb * 1024 * 1024), "lon.xlsx")
    assert err.value.key == "file.too_large" and "vượt giới hạn" in err.value.message("vi")
