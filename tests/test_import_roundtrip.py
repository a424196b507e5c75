"""Round trip: the template filled from the database imports back with no change and no duplicate."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from import_fixtures import csv_bytes, establishment_row, make_ward
from language_check import DataValues, data_values, foreign_words
from openpyxl import load_workbook

from geomap.importing import BASE_KINDS, COLUMNS, RECORD_KINDS, SHEETS, dry_run, run_import, template
from geomap.importing.columns import ALL_COLUMNS

#: the dictionary sheet's column giving each header in the other language, on purpose (a file may use either)
_OTHER_LANGUAGE_HEADER = {"vi": "Tên cột (tiếng Anh)", "en": "Header (Vietnamese)"}


def _workbook_text(wb, lang: str) -> str:
    """Every text of the workbook a user reads: sheet names, cells, header notes, drop-down error messages."""
    lines = list(wb.sheetnames)
    for ws in wb.worksheets:
        heads = [c.value for c in ws[1]]
        skip = heads.index(_OTHER_LANGUAGE_HEADER[lang]) if _OTHER_LANGUAGE_HEADER[lang] in heads else None
        for row in ws.iter_rows():
            lines += [str(c.value) for j, c in enumerate(row) if c.value is not None and j != skip]
            lines += [c.comment.text for c in row if c.comment]
        for dv in ws.data_validations.dataValidation:
            lines += [dv.errorTitle or "", dv.error or ""]
    return "\n".join(lines)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_template_speaks_the_users_language(conn, lang) -> None:
    """No Vietnamese word of the template's own in the English template (sheet names, headers, the lists'
    headings, notes, error messages) and no English one or raw code list name in the Vietnamese template;
    the data it quotes (industry names in that language, example names of streets, markets, people) may stay."""
    examples = [str(c.example) for cols in ALL_COLUMNS.values() for c in cols
                if c.example is not None and c.kind == "text"]  # names: data, never translated
    data = data_values(conn, lang)
    found = []
    for kinds in (RECORD_KINDS, *((k,) for k in BASE_KINDS)):
        wb = load_workbook(io.BytesIO(template.to_bytes(template.build_template(lang, conn, kinds))))
        # the template's own examples first: a stored value inside one ("2 Núi Thành" in "12 Núi Thành, Hòa
        # Cường", left by another test) must not cut the example in two
        text = data.blank(DataValues(examples).blank(_workbook_text(wb, lang)))
        found += [f"{kinds[0]}: {line}" for line in foreign_words(text, lang, DataValues(examples))]
    assert found == []


def test_empty_template_has_vietnamese_headers_lists_dictionary_and_guide() -> None:
    wb = load_workbook(io.BytesIO(template.to_bytes(template.build_template())))
    assert wb.sheetnames == ["Hướng dẫn", "Cơ sở kinh doanh", "Giấy phép", "Kiểm tra", "Từ điển dữ liệu", "Danh mục"]
    heads = [c.value for c in wb["Cơ sở kinh doanh"][1]]
    for expected in ("Mã cơ sở", "Tên cơ sở *", "Loại hình *", "Mã ngành VSIC *", "Địa chỉ", "Kinh độ", "Vĩ độ",
                     "Mã số thuế", "Chủ cơ sở", "Điện thoại", "Số GCN ĐKKD", "Ngày cấp"):
        assert expected in heads
    lists = {dv.formula1 for dv in wb["Cơ sở kinh doanh"].data_validations.dataValidation if dv.type == "list"}
    assert any("Danh mục" in f for f in lists)
    dictionary = [[c.value for c in r] for r in wb["Từ điển dữ liệu"].iter_rows(min_row=2)]
    assert len(dictionary) == sum(len(c) for c in COLUMNS.values())
    name_row = next(r for r in dictionary if r[1] == "Tên cơ sở")
    assert name_row[3] == "Có" and name_row[0] == SHEETS["establishments"][0]
    assert "Hướng dẫn" in wb.sheetnames and "30 m" in " ".join(str(c.value) for c in wb["Hướng dẫn"]["A"])
    en = load_workbook(io.BytesIO(template.to_bytes(template.build_template("en"))))
    assert "Establishments" in en.sheetnames and "Name *" in [c.value for c in en["Establishments"][1]]


def _fill(conn, ward) -> None:
    rows = [
        establishment_row("R1", "Bún chả Cá", ward.near(ward.west), **{
            "Mã số thuế": "0401234567", "Thanh toán số": "Mã QR ngân hàng, Ví điện tử", "Điện thoại": "0905123456",
            "Số GCN ĐKKD": "32A8000001", "Ngày cấp": "01/02/2024", "Số GCN ATTP": "ATTP-01",
            "Ngày cấp GCN ATTP": "01/03/2024", "Ngày hết hạn GCN ATTP": "01/03/2027", "Ngày ký cam kết ATTP": "",
            "Tổ dân phố": "T01", "Số lao động": 4, "Ngày bắt đầu hoạt động": "01/01/2020"}),
        establishment_row("R2", "Quầy thuốc <An>", ward.near(ward.east), **{
            "Mã ngành VSIC": "4719", "Tình trạng hoạt động": "Đã đóng cửa", "Ngày ký cam kết ATTP": "02/02/2025"}),
        establishment_row("R3", "Chưa định vị", None),
    ]
    run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    run_import(conn, "inspections", csv_bytes([
        {"Mã cơ sở": "R1", "Ngày kiểm tra": "15/10/2025", "Hình thức kiểm tra": "Định kỳ", "Kết quả": "Vi phạm",
         "Nội dung vi phạm": "Thiếu sổ kiểm thực", "Hạn tái kiểm tra": "15/11/2025"}]), ward_id=ward.id)


def _round_trip(conn, ward_id: int) -> dict[str, dict[str, int]]:
    data = template.to_bytes(template.fill_from_database(conn, ward_id))
    before = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("establishment", "licence",
                                                                                          "inspection")}
    counts = {}
    for kind in ("establishments", "licences", "inspections"):
        plan = dry_run(conn, kind, data, ward_id=ward_id, filename="roundtrip.xlsx")
        assert not plan.blocked, plan.frame("en").query("Action != 'No change'").head().to_string()
        counts[kind] = plan.counts
        run_import(conn, kind, data, ward_id=ward_id, filename="roundtrip.xlsx")
    after = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in before}
    assert after == before
    return counts


def test_round_trip_on_a_small_ward(conn) -> None:
    ward = make_ward(conn)
    _fill(conn, ward)
    counts = _round_trip(conn, ward.id)
    assert counts == {"establishments": {"insert": 0, "update": 0, "unchanged": 3, "reject": 0},
                      "licences": {"insert": 0, "update": 0, "unchanged": 3, "reject": 0},
                      "inspections": {"insert": 0, "update": 0, "unchanged": 1, "reject": 0}}


def test_round_trip_on_the_demo_ward(conn, demo_ward) -> None:
    counts = _round_trip(conn, demo_ward["id"])
    n = conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w"), {"w": demo_ward["id"]}).scalar()
    assert counts["establishments"]["unchanged"] + counts["establishments"]["update"] == n
    assert all(c["insert"] == 0 and c["reject"] == 0 for c in counts.values())
