"""Import against real PostGIS: dry run, all-or-nothing real run, matching, audit, formats."""

from __future__ import annotations

import datetime as dt
import io

import geopandas as gpd
import pytest
import sqlalchemy as sa
from conftest import staff_user
from import_fixtures import csv_bytes, establishment_row, make_ward
from language_check import data_values, foreign_words
from shapely.geometry import Point

from geomap import auth, i18n
from geomap.errors import ConcurrentEdit
from geomap.importing import ImportRejected, dry_run, read, run_import
from geomap.importing.apply import apply_plan
from geomap.importing.plan import build_plan
from geomap.map import detail as mapdetail
from geomap.records import edit, rules


def _count(conn, ward_id: int, table: str = "establishment") -> int:
    if table == "establishment":
        return conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w"), {"w": ward_id}).scalar()
    return conn.execute(sa.text(
        f"SELECT count(*) FROM {table} t JOIN establishment e ON e.id = t.establishment_id WHERE e.ward_id = :w"),
        {"w": ward_id}).scalar()


@pytest.fixture
def ward(conn):
    return make_ward(conn)


def _rows(ward):
    return [
        establishment_row(None, "Phở Hòa", ward.near(ward.west), **{
            "Mã số thuế": "0401234567", "Thanh toán số": "Mã QR ngân hàng", "Số GCN ĐKKD": "32A8000001",
            "Ngày cấp": "01/02/2024", "Số GCN ATTP": "ATTP-01", "Ngày cấp GCN ATTP": "01/03/2024",
            "Ngày hết hạn GCN ATTP": "01/03/2027"}),
        establishment_row("X-0002", "Tạp hóa Bình", ward.near(ward.west, east_m=300), **{
            "Mã ngành VSIC": "4719", "Loại hình": "Doanh nghiệp", "Ngày cấp": "05/05/2023"}),
        establishment_row("X-0003", "Cà phê Sông Hàn", ward.near(ward.east), **{"Mã ngành VSIC": "5630"}),
    ]


def test_dry_run_reports_every_row_and_writes_nothing(conn, ward) -> None:
    before = _count(conn, ward.id)
    plan = dry_run(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id, filename="a.csv")
    assert plan.counts == {"insert": 3, "update": 0, "unchanged": 0, "reject": 0}
    assert _count(conn, ward.id) == before == 0
    frame = plan.frame("vi")
    assert list(frame["Thao tác"]) == ["Thêm mới"] * 3 and list(frame["Dòng"]) == [2, 3, 4]
    assert list(plan.frame("en")["Action"]) == ["Insert"] * 3


def test_real_run_then_reimport_updates_and_never_duplicates(conn, ward) -> None:
    data = csv_bytes(_rows(ward))
    result = run_import(conn, "establishments", data, ward_id=ward.id, filename="a.csv")
    assert (result.inserted, result.licences_inserted) == (3, 3)
    rows = conn.execute(sa.text(
        "SELECT code, name, digital_payment, residential_group_id, version FROM establishment "
        "WHERE ward_id = :w ORDER BY name"), {"w": ward.id}).all()
    assert [r.name for r in rows] == ["Cà phê Sông Hàn", "Phở Hòa", "Tạp hóa Bình"]
    pho = next(r for r in rows if r.name == "Phở Hòa")
    assert pho.code.startswith("TW-") and pho.digital_payment == ["qr_bank"]
    assert pho.residential_group_id == ward.groups["T01"]
    assert next(r for r in rows if r.name.startswith("Cà")).residential_group_id == ward.groups["T02"]

    again = dry_run(conn, "establishments", data, ward_id=ward.id)
    assert again.counts == {"insert": 0, "update": 0, "unchanged": 3, "reject": 0}
    run_import(conn, "establishments", data, ward_id=ward.id)
    assert _count(conn, ward.id) == 3 and _count(conn, ward.id, "licence") == 3

    edited = _rows(ward)
    edited[1]["Tên cơ sở"] = "Tạp hóa Bình An"
    edited[0]["Ngày hết hạn GCN ATTP"] = "01/02/2027"  # within the certificate's 3 years
    result = run_import(conn, "establishments", csv_bytes(edited), ward_id=ward.id)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 1)
    assert result.licences_updated == 1
    assert _count(conn, ward.id) == 3 and _count(conn, ward.id, "licence") == 3
    binh = conn.execute(sa.text("SELECT name, version, search_key FROM establishment WHERE code = 'X-0002'")).one()
    assert binh.name == "Tạp hóa Bình An" and binh.version == 2 and "binh an" in binh.search_key


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_dry_run_names_changes_in_the_users_words(conn, ward, lang) -> None:
    """The "Changes" column names each changed field by its template header and a licence by its kind,
    never by an internal name ("food_safety_certificate:+")."""
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id)
    edited = _rows(ward)
    edited[1]["Tên cơ sở"] = "Tạp hóa Bình An"
    edited[1]["Mã ngành VSIC"] = "4711"
    edited[0]["Ngày hết hạn GCN ATTP"] = "01/02/2027"
    edited[2].update({"Số GCN ATTP": "ATTP-09", "Ngày cấp GCN ATTP": "01/03/2024",
                      "Ngày hết hạn GCN ATTP": "01/03/2027"})
    frame = dry_run(conn, "establishments", csv_bytes(edited), ward_id=ward.id).frame(lang)
    changes = list(frame["Changes" if lang == "en" else "Thay đổi"])
    text = "\n".join([*frame.columns, *changes])
    assert foreign_words(text, lang, data_values(conn, lang)) == []
    assert ("Name" if lang == "en" else "Tên cơ sở") in changes[1]
    certificate = i18n.code_label("licence_kind", "food_safety_certificate", lang)
    assert certificate in changes[0] and certificate in changes[2], changes


def test_matching_by_tax_code_then_name_within_30_m(conn, ward) -> None:
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id)
    rows = [
        establishment_row(None, "Quán Phở Hòa (mới)", ward.near(ward.east), **{"Mã số thuế": "0401234567"}),
        establishment_row(None, "tap hoa binh", ward.near(ward.west, east_m=320)),   # 20 m from X-0002
        establishment_row(None, "Cà phê Sông Hàn", ward.near(ward.east, north_m=60)),  # 60 m: a new one
    ]
    plan = dry_run(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["update", "update", "insert"]
    assert plan.rows[1].values["code"] == "X-0002"
    assert {i.key for i in plan.rows[0].issues} == {"match.by_tax"}
    assert {i.key for i in plan.rows[1].issues} == {"match.by_name"}
    assert set(plan.rows[0].changes) == {"name", "geom"}


def test_one_bad_row_rejects_the_file_and_nothing_is_half_written(conn, ward) -> None:
    rows = _rows(ward)
    rows.append(establishment_row("X-0004", "Ngoài phường", (108.30, 16.10)))  # in Đà Nẵng, not in the ward
    rows.append(establishment_row("X-0005", "Mã ngành lạ", ward.near(ward.east, east_m=100),
                                  **{"Mã ngành VSIC": "0000", "Ngày cấp": "01/01/2099"}))
    audited = _import_entries(conn)  # other modules' imports may have committed entries before this test
    with pytest.raises(ImportRejected) as err:
        run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    plan = err.value.plan
    assert plan.counts == {"insert": 3, "update": 0, "unchanged": 0, "reject": 2}
    assert _count(conn, ward.id) == 0 and _count(conn, ward.id, "licence") == 0
    assert _import_entries(conn) == audited
    msgs = {(i.row, i.column, i.key) for i in plan.issues() if i.level == "error"}
    assert msgs == {(5, "Kinh độ", "geo.outside_ward"), (6, "Mã ngành VSIC", "cell.vsic_unknown"),
                    (6, "Ngày cấp", "cell.date_future")}
    assert "Dòng 5" in str(err.value) and "Phường Thử nghiệm" in str(err.value)


def test_missing_required_columns_are_named_in_vietnamese(conn, ward) -> None:
    data = csv_bytes([{"Tên cơ sở": "A", "Kinh độ": 108.2}])
    plan = dry_run(conn, "establishments", data, ward_id=ward.id)
    assert plan.blocked and not plan.rows
    text = plan.file_issues[0].message("vi")
    assert "'Loại hình'" in text and "'Mã ngành VSIC'" in text
    assert "Required columns are missing" in plan.file_issues[0].message("en")


def test_swapped_and_vn2000_coordinates_are_fixed_per_row(conn, ward) -> None:
    from pyproj import Transformer

    lon, lat = ward.near(ward.east)
    x, y = Transformer.from_crs(4326, 5899, always_xy=True).transform(lon, lat)
    rows = [establishment_row("S1", "Đảo", (lat, lon)), establishment_row("S2", "Mét", (x, y))]
    result = run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    notes = [[i.key for i in r.issues] for r in result.plan.rows]
    assert notes == [["geo.swapped"], ["geo.vn2000"]]
    got = conn.execute(sa.text("SELECT code, ST_X(geom), ST_Y(geom) FROM establishment WHERE ward_id = :w "
                               "ORDER BY code"), {"w": ward.id}).all()
    for _, gx, gy in got:
        assert abs(gx - lon) < 1e-6 and abs(gy - lat) < 1e-6


def test_address_matching_places_a_point_and_hostile_text_stays_text(conn, ward) -> None:
    hostile = "<img src=x onerror=alert(1)>'); DROP TABLE establishment;--"
    run_import(conn, "establishments", csv_bytes([establishment_row("A1", "Một", ward.near(ward.west),
                                                                    **{"Địa chỉ": "12 Núi Thành, Hòa Cường"})]),
               ward_id=ward.id)
    rows = [establishment_row("A2", hostile, None, **{"Địa chỉ": "12 NUI THANH"}),
            establishment_row("A3", "Không rõ", None, **{"Địa chỉ": "99 Không Có"})]
    plan = run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id).plan
    assert [[i.key for i in r.issues] for r in plan.rows] == [["geo.from_address"], ["geo.missing"]]
    got = dict(conn.execute(sa.text("SELECT code, name FROM establishment WHERE code IN ('A2', 'A3')")).all())
    assert got["A2"] == hostile
    assert conn.execute(sa.text("SELECT geom IS NULL FROM establishment WHERE code = 'A3'")).scalar()


def _import_entries(conn, where: str = "true") -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM audit_log WHERE action = 'import' AND {where}")).scalar()


def test_one_audit_entry_per_changed_record(conn, ward) -> None:
    user = staff_user("data_officer", "can-bo-du-lieu")
    audited, licence_audited = _import_entries(conn), _import_entries(conn, "after ? 'licence_id'")
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id, user=user, filename="a.csv")
    entries = conn.execute(sa.text("SELECT entity_type, count(*) FROM audit_log WHERE action = 'import' "
                                   "AND username = 'can-bo-du-lieu' GROUP BY 1")).all()
    # the licences are filed under their establishment, as an edit files them (one history query)
    assert dict(entries) == {"establishment": 6}
    assert _import_entries(conn, "after ? 'licence_id'") - licence_audited == 3
    edited = _rows(ward)
    edited[2]["Tên cơ sở"] = "Cà phê Sông Hàn 2"
    run_import(conn, "establishments", csv_bytes(edited), ward_id=ward.id, user=user)
    last = conn.execute(sa.text("SELECT before, after, note FROM audit_log WHERE action = 'import' "
                                "ORDER BY id DESC LIMIT 1")).one()
    assert last.before == {"name": "Cà phê Sông Hàn"} and last.after == {"name": "Cà phê Sông Hàn 2"}
    assert "row 4" in last.note
    assert _import_entries(conn) - audited == 7


def test_a_record_changed_after_the_check_makes_the_import_fail_whole(conn, ward) -> None:
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id)
    edited = _rows(ward)
    edited[1]["Tên cơ sở"] = "Đổi tên"
    edited[2]["Tên cơ sở"] = "Đổi tên nữa"
    plan = build_plan(conn, "establishments", read("establishments", csv_bytes(edited)), ward.id)
    conn.execute(sa.text("UPDATE establishment SET version = version + 1 WHERE code = 'X-0003'"))
    with pytest.raises(ConcurrentEdit), conn.begin_nested():
        apply_plan(conn, plan)
    assert conn.execute(sa.text("SELECT name FROM establishment WHERE code = 'X-0002'")).scalar() == "Tạp hóa Bình"


def test_licence_and_inspection_files(conn, ward) -> None:
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id)
    licences = csv_bytes([
        {"Mã cơ sở": "X-0003", "Loại giấy phép": "Bản cam kết bảo đảm ATTP", "Số giấy phép": "CK-1",
         "Ngày cấp": "10/10/2025"},
        {"Mã số thuế": "0401234567", "Loại giấy phép": "food_safety_certificate", "Số giấy phép": "ATTP-01",
         "Ngày cấp": "01/03/2024", "Ngày hết hạn": "01/03/2027", "Cơ quan cấp": "Sở Y tế Đà Nẵng"},
        {"Mã cơ sở": "KHONG-CO", "Loại giấy phép": "other", "Ngày cấp": "01/01/2025"},
    ])
    plan = dry_run(conn, "licences", licences, ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "update", "reject"]
    assert plan.rows[1].changes == {"issuer": (None, "Sở Y tế Đà Nẵng")}
    assert plan.rows[2].issues[0].key == "match.no_establishment"
    ok = b"\n".join(licences.split(b"\n")[:3])
    result = run_import(conn, "licences", ok, ward_id=ward.id)
    assert (result.inserted, result.updated) == (1, 1)

    inspections = csv_bytes([
        {"Mã cơ sở": "X-0003", "Ngày kiểm tra": "15/10/2025", "Hình thức kiểm tra": "Định kỳ",
         "Kết quả": "Vi phạm", "Nội dung vi phạm": "Không đeo găng tay; Thiếu sổ kiểm thực",
         "Hạn tái kiểm tra": "15/11/2025"},
        {"Mã cơ sở": "X-0002", "Ngày kiểm tra": "16/10/2025", "Hình thức kiểm tra": "unannounced", "Kết quả": "Đạt",
         "Hạn tái kiểm tra": "01/10/2025"},
    ])
    plan = dry_run(conn, "inspections", inspections, ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "reject"]
    assert plan.rows[1].issues[0].key == "cell.follow_up_not_violation"  # a pass has no follow-up (as edited)
    run_import(conn, "inspections", b"\n".join(inspections.split(b"\n")[:2]), ward_id=ward.id)
    v = conn.execute(sa.text("SELECT violations, result FROM inspection i JOIN establishment e "
                             "ON e.id = i.establishment_id WHERE e.code = 'X-0003'")).one()
    assert v.result == "violation" and [x["text"] for x in v.violations] == ["Không đeo găng tay",
                                                                            "Thiếu sổ kiểm thực"]
    again = dry_run(conn, "inspections", b"\n".join(inspections.split(b"\n")[:2]), ward_id=ward.id)
    assert again.counts["unchanged"] == 1


@pytest.mark.parametrize("driver", ["GeoJSON", "GPKG"])
def test_geojson_and_geopackage(conn, ward, driver: str) -> None:
    from pyproj import Transformer

    lon, lat = ward.near(ward.west)
    x, y = Transformer.from_crs(4326, 5899, always_xy=True).transform(lon, lat)
    gdf = gpd.GeoDataFrame({"Tên cơ sở": ["Nhà hàng Biển"], "Loại hình": ["Doanh nghiệp"], "Mã ngành VSIC": ["5610"]},
                           geometry=[Point(x, y)], crs="EPSG:5899")
    buf = io.BytesIO()
    gdf.to_file(buf, driver=driver, layer="co_so")
    plan = dry_run(conn, "establishments", buf.getvalue(), ward_id=ward.id, filename=f"x.{driver.lower()}")
    assert plan.format == ("gpkg" if driver == "GPKG" else "geojson")
    assert plan.counts["insert"] == 1, plan.frame().to_string()
    assert abs(plan.rows[0].values["lon"] - lon) < 1e-6 and abs(plan.rows[0].values["lat"] - lat) < 1e-6


def test_duplicate_rows_inside_one_file(conn, ward) -> None:
    rows = _rows(ward) + [establishment_row("X-0003", "Lặp mã", ward.near(ward.east, east_m=200)),
                          establishment_row(None, "Phở  HÒA", ward.near(ward.west, north_m=10))]
    plan = dry_run(conn, "establishments", csv_bytes(rows), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "insert", "insert", "reject", "reject"]
    assert plan.rows[3].issues[-1].params == {"other": 4} and plan.rows[4].issues[-1].params == {"other": 2}


@pytest.mark.slow
def test_a_100000_row_file_is_checked_within_memory(conn, ward) -> None:
    import tracemalloc

    lon, lat = ward.near(ward.west)
    lines = ["Mã cơ sở,Tên cơ sở,Loại hình,Mã ngành VSIC,Kinh độ,Vĩ độ,Số GCN ĐKKD,Ngày cấp"]
    for i in range(100_000):
        lines.append(f"B{i:06d},Cơ sở {i},Hộ kinh doanh,5610,{lon + (i % 300) * 1e-5:.6f},"
                     f"{lat + (i // 300) * 1e-5:.6f},GP{i},01/0{1 + i % 9}/2024")
    data = ("\n".join(lines) + "\n").encode()
    tracemalloc.start()
    plan = dry_run(conn, "establishments", data, ward_id=ward.id, today=dt.date(2026, 11, 22))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert plan.counts["insert"] == 100_000 and not plan.blocked
    assert peak < 1024 ** 3, f"peak {peak / 1024 ** 2:.0f} MB"


def test_imported_licences_and_inspections_show_in_the_establishments_history(conn, ward) -> None:
    officer = auth.create_user(conn, "nhap.lieu", "Cán Bộ Nhập Liệu", "data_officer", "mật-khẩu-dài-đủ")
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id, user=officer)
    est = conn.execute(sa.text("SELECT id FROM establishment WHERE code = 'X-0003'")).scalar_one()
    inspections = csv_bytes([{"Mã cơ sở": "X-0003", "Ngày kiểm tra": "15/10/2025", "Hình thức kiểm tra": "Định kỳ",
                              "Kết quả": "Vi phạm", "Nội dung vi phạm": "Không đeo găng tay"}])
    plan = dry_run(conn, "inspections", inspections, ward_id=ward.id, user=officer)
    # no follow-up date in the file: one by severity, as an edit sets it, and said on the row
    note = next(i for i in plan.rows[0].issues if i.key == "cell.follow_up_default")
    assert (note.row, note.column, note.level) == (2, "Hạn tái kiểm tra", "warning")
    run_import(conn, "inspections", inspections, ward_id=ward.id, user=officer)
    inspection_id, due = conn.execute(sa.text(
        "SELECT id, follow_up_due FROM inspection WHERE establishment_id = :e"), {"e": est}).one()
    assert due == dt.date(2025, 10, 15) + dt.timedelta(days=rules.FOLLOW_UP_DAYS[rules.DEFAULT_SEVERITY])

    detail = mapdetail.establishment_detail(conn, est, user=officer)
    imported = [h for h in detail.history if h["action"] == "import"]
    inspection = next(h for h in imported if (h["after"] or {}).get("inspection_id") == inspection_id)
    assert inspection["username"] == "nhap.lieu" and inspection["after"]["result"] == "violation"
    assert inspection["after"]["food_safety_status"] == "violation"  # the status it turned, as an edit records
    assert inspection["before"]["food_safety_status"] == "missing"
    food = conn.execute(sa.text("SELECT id FROM establishment WHERE ward_id = :w AND code <> 'X-0003' "
                                "AND tax_code IS NOT NULL"), {"w": ward.id}).scalar_one()
    licence = next(h for h in edit.history(conn, food, officer) if "licence_id" in (h["after"] or {}))
    assert licence["after"]["kind"] in ("business_registration", "food_safety_certificate")


def test_import_checks_the_role_and_the_ward(conn, ward) -> None:
    inspector = auth.create_user(conn, "kiem.tra", "Cán Bộ Kiểm Tra", "inspector", "mật-khẩu-dài-đủ")
    elsewhere = auth.create_user(conn, "phuong.khac", "Cán Bộ Phường Khác", "data_officer", "mật-khẩu-dài-đủ",
                                 ward_id=make_ward(conn, "other-ward").id)
    data = csv_bytes(_rows(ward))
    for user in (inspector, elsewhere):
        with pytest.raises(auth.PermissionDenied):
            dry_run(conn, "establishments", data, ward_id=ward.id, user=user)
        with pytest.raises(auth.PermissionDenied):
            run_import(conn, "establishments", data, ward_id=ward.id, user=user)
    assert _count(conn, ward.id) == 0
    officer = auth.create_user(conn, "du.lieu", "Cán Bộ Dữ Liệu", "data_officer", "mật-khẩu-dài-đủ")
    assert run_import(conn, "establishments", data, ward_id=ward.id, user=officer).inserted == 3


def test_reimporting_a_violation_as_a_pass_clears_its_follow_up(conn, ward) -> None:
    run_import(conn, "establishments", csv_bytes(_rows(ward)), ward_id=ward.id)
    row = {"Mã cơ sở": "X-0003", "Ngày kiểm tra": "15/10/2025", "Hình thức kiểm tra": "Định kỳ",
           "Kết quả": "Vi phạm", "Nội dung vi phạm": "Không đeo găng tay", "Hạn tái kiểm tra": "15/11/2025"}
    run_import(conn, "inspections", csv_bytes([row]), ward_id=ward.id)
    passed = csv_bytes([{**row, "Kết quả": "Đạt", "Nội dung vi phạm": "", "Hạn tái kiểm tra": ""}])

    plan = dry_run(conn, "inspections", passed, ward_id=ward.id)
    assert plan.counts["update"] == 1 and not plan.blocked
    assert plan.rows[0].changes["follow_up_due"] == (dt.date(2025, 11, 15), None)
    note = next(i for i in plan.rows[0].issues if i.key == "cell.follow_up_cleared")
    assert (note.column, note.level) == ("Hạn tái kiểm tra", "warning")
    assert "15/11/2025" in note.message("vi") and "15/11/2025" in note.message("en")
    assert "Hạn tái kiểm tra" in plan.frame("vi").iloc[0]["Thay đổi"]

    run_import(conn, "inspections", passed, ward_id=ward.id)
    stored = conn.execute(sa.text(
        "SELECT i.id, i.result, i.follow_up_due FROM inspection i JOIN establishment e ON e.id = i.establishment_id "
        "WHERE e.code = 'X-0003'")).one()
    assert stored.result == "pass" and stored.follow_up_due is None  # not kept from the violation
    entry = conn.execute(sa.text(
        "SELECT before, after FROM audit_log WHERE action = 'import' AND entity_type = 'establishment' "
        "AND after->>'inspection_id' = :i AND after->>'result' = 'pass'"), {"i": str(stored.id)}).one()
    assert entry.before["follow_up_due"] == "2025-11-15" and entry.after["follow_up_due"] is None
    assert "follow_up_due" in entry.after
    assert dry_run(conn, "inspections", passed, ward_id=ward.id).counts["unchanged"] == 1
