"""Every base layer through the one import path, on files the tests write (real PostGIS).

Residential groups (polygons, or points tiled by Voronoi; overlaps and gaps with where and how
much), land parcels (duplicate sheet/parcel), infrastructure (and its condition edited
afterwards), public facilities, markets and stalls (a stall in no market; QR/POS evidence),
pilot commercial streets (their establishments counted), wrong CRS, invalid geometry,
all-or-nothing, the audit, and the Excel template of each layer imported back unchanged.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from import_fixtures import add_establishment, csv_bytes, make_ward
from openpyxl import load_workbook
from shapely.geometry import LineString, Point, Polygon, box

import layers
from geomap.importing import BASE_KINDS, LAYER_COLUMNS, ImportRejected, dry_run, run_import, template

LOCAL = 5899


@pytest.fixture
def ward(conn):
    return make_ward(conn)


def _geojson(rows: list[dict], geoms: list, crs: str | None = "EPSG:4326") -> bytes:
    """A GeoJSON FeatureCollection written by hand (no CRS member: RFC 7946 says WGS84)."""
    feats = [{"type": "Feature", "properties": r, "geometry": shapely.geometry.mapping(g)}
             for r, g in zip(rows, geoms, strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode()


def _local(geom):
    return gpd.GeoSeries([geom], crs=4326).to_crs(LOCAL).iloc[0]


def _wgs(geom):
    return gpd.GeoSeries([geom], crs=LOCAL).to_crs(4326).iloc[0]


def _strips(ward, n: int, overlap_m: float = 0.0, gap_m: float = 0.0) -> list:
    """``n`` vertical strips tiling the ward (WGS84), cut in VN-2000; the first two overlapping by
    ``overlap_m`` metres or parted by ``gap_m`` metres."""
    shape = _local(ward.shape)
    minx, miny, maxx, maxy = shape.bounds
    step = (maxx - minx) / n
    cuts = [minx + k * step for k in range(n + 1)]
    out = []
    for k in range(n):
        left, right = cuts[k], cuts[k + 1]
        if k == 0:
            right += overlap_m - gap_m
        out.append(_wgs(shape.intersection(box(left - (1 if k == 0 else 0), miny - 1, right + (1 if k == n - 1 else 0),
                                               maxy + 1))))
    return out


def _group_rows(n: int) -> list[dict]:
    return [{"Mã tổ": f"T{k + 1:02d}", "Tổ dân phố": f"Tổ {k + 1}", "Dân số": 1000 + k} for k in range(n)]


def _count(conn, table: str, ward_id: int) -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE ward_id = :w"), {"w": ward_id}).scalar()


def _messages(plan, lang: str = "vi") -> str:
    return "\n".join(i.describe(lang) for i in plan.issues())


# --- residential groups ---------------------------------------------------------------------------


def test_residential_groups_update_and_insert_then_reimport_changes_nothing(conn, ward) -> None:
    conn.execute(sa.text("UPDATE residential_group SET is_synthetic = true WHERE ward_id = :w"), {"w": ward.id})
    data = _geojson(_group_rows(3), _strips(ward, 3))
    plan = dry_run(conn, "residential_groups", data, ward_id=ward.id, filename="to.geojson")
    assert plan.counts == {"insert": 1, "update": 2, "unchanged": 0, "reject": 0}, _messages(plan)
    assert _count(conn, "residential_group", ward.id) == 2
    result = run_import(conn, "residential_groups", data, ward_id=ward.id, filename="to.geojson")
    assert (result.inserted, result.updated, result.audit_entries) == (1, 2, 3)
    rows = conn.execute(sa.text(
        "SELECT code, name, population, is_synthetic, ST_Area(ST_Transform(geom, 5899)) AS a FROM residential_group "
        "WHERE ward_id = :w ORDER BY code"), {"w": ward.id}).all()
    assert [(r.code, r.name, r.population, r.is_synthetic) for r in rows] == [
        ("T01", "Tổ 1", 1000, False), ("T02", "Tổ 2", 1001, False), ("T03", "Tổ 3", 1002, False)]
    assert sum(r.a for r in rows) == pytest.approx(_local(ward.shape).area, rel=1e-6)
    audit = conn.execute(sa.text("SELECT entity_type, action, after FROM audit_log WHERE entity_type = "
                                 "'residential_group' AND entity_id = ANY(:ids)"), {"ids": result.ids}).all()
    assert len(audit) == 3 and {a.action for a in audit} == {"import"}
    again = dry_run(conn, "residential_groups", data, ward_id=ward.id)
    assert again.counts == {"insert": 0, "update": 0, "unchanged": 3, "reject": 0}


def test_establishments_without_a_group_get_the_group_covering_their_point(conn, ward) -> None:
    lone = add_establishment(conn, ward, "NG-1", "Chưa có tổ", group=None, lonlat=(ward.west.x, ward.west.y))
    kept = add_establishment(conn, ward, "NG-2", "Đã có tổ", group="T02", lonlat=(ward.west.x, ward.west.y))
    data = _geojson(_group_rows(3), _strips(ward, 3))
    plan = dry_run(conn, "residential_groups", data, ward_id=ward.id)
    note = next(i for i in plan.file_issues if i.key == "geo.groups_assigned")
    assert note.params["n"] == 1 and note.describe("vi").startswith("1 cơ sở chưa có tổ dân phố")
    run_import(conn, "residential_groups", data, ward_id=ward.id)
    got = dict(conn.execute(sa.text(
        "SELECT e.code, g.code FROM establishment e LEFT JOIN residential_group g ON g.id = e.residential_group_id "
        "WHERE e.id IN (:a, :b)"), {"a": lone, "b": kept}).all())
    covering = next(c for c, s in zip(("T01", "T02", "T03"), _strips(ward, 3), strict=True) if s.covers(ward.west))
    assert got == {"NG-1": covering, "NG-2": "T02"}
    entry = conn.execute(sa.text("SELECT before, after FROM audit_log WHERE entity_type = 'establishment' "
                                 "AND entity_id = :e AND action = 'import'"), {"e": lone}).one()
    assert entry.before == {"residential_group_id": None} and entry.after["residential_group_id"] is not None


def test_overlapping_groups_are_refused_with_the_groups_a_coordinate_and_the_area(conn, ward) -> None:
    strips = _strips(ward, 3, overlap_m=20)
    expected = _local(strips[0]).intersection(_local(strips[1])).area
    assert expected > 1000
    data = _geojson(_group_rows(3), strips)
    plan = dry_run(conn, "residential_groups", data, ward_id=ward.id)
    assert plan.blocked and plan.counts["reject"] == 2
    t1 = next(r for r in plan.rows if r.values.get("code") == "T01")
    issue = next(i for i in t1.issues if i.key == "geo.overlap")
    assert issue.params["other"] == "T02" and issue.column == "Tọa độ WKT"
    assert issue.params["area"] == pytest.approx(expected, abs=1.0)
    where = Point(issue.params["lon"], issue.params["lat"])
    assert strips[0].intersection(strips[1]).buffer(1e-6).contains(where)
    text = issue.describe("vi")
    assert text.startswith(f"Dòng {t1.row}, cột 'Tọa độ WKT': Chồng lấn với tổ T02 ") and " m²" in text
    assert "Overlaps group T02 by" in issue.describe("en")
    before = conn.execute(sa.text("SELECT code, ST_AsBinary(geom) FROM residential_group WHERE ward_id = :w "
                                  "ORDER BY code"), {"w": ward.id}).all()
    with pytest.raises(ImportRejected, match="chưa ghi dữ liệu nào"):
        run_import(conn, "residential_groups", data, ward_id=ward.id)
    after = conn.execute(sa.text("SELECT code, ST_AsBinary(geom) FROM residential_group WHERE ward_id = :w "
                                 "ORDER BY code"), {"w": ward.id}).all()
    assert after == before


def test_a_gap_between_groups_is_refused_with_its_neighbours_and_area(conn, ward) -> None:
    strips = _strips(ward, 3, gap_m=15)
    covered = shapely.union_all([_local(s) for s in strips])
    expected = _local(ward.shape).difference(covered).area
    plan = dry_run(conn, "residential_groups", _geojson(_group_rows(3), strips), ward_id=ward.id)
    gaps = [i for i in plan.issues() if i.key == "geo.gap"]
    assert len(gaps) == 1 and plan.blocked
    gap = gaps[0]
    assert gap.params["groups"] == "T01, T02" and gap.level == "error"
    assert gap.params["area"] == pytest.approx(expected, rel=0.01)
    assert ward.shape.contains(Point(gap.params["lon"], gap.params["lat"]))
    assert "Khoảng trống" in gap.describe("vi") and "T01, T02" in gap.describe("vi")


def test_points_become_a_voronoi_tiling_within_the_boundary_and_the_dry_run_says_so(conn, ward) -> None:
    shape = _local(ward.shape)
    inner = shape.buffer(-300)
    minx, miny, maxx, maxy = inner.bounds
    points = [p for p in (Point(minx + (maxx - minx) * fx, miny + (maxy - miny) * fy)
                          for fx, fy in ((0.2, 0.3), (0.7, 0.3), (0.4, 0.7), (0.8, 0.8), (0.5, 0.5)))
              if inner.contains(p)]
    assert len(points) >= 3
    rows = [{"Mã tổ": f"P{k}", "Tên tổ": f"Tổ {k}", "Kinh độ": _wgs(p).x, "Vĩ độ": _wgs(p).y}
            for k, p in enumerate(points)]
    # the ward's own two groups go: one point each as well
    rows += [{"Mã tổ": code, "Tên tổ": code, "Kinh độ": pt.x, "Vĩ độ": pt.y}
             for code, pt in (("T01", ward.west), ("T02", ward.east))]
    plan = dry_run(conn, "residential_groups", csv_bytes(rows), ward_id=ward.id)
    assert not plan.blocked, _messages(plan)
    assert any(i.key == "geo.tiling" for i in plan.file_issues)
    assert all(any(i.key == "geo.tiled" for i in r.issues) for r in plan.rows)
    assert "Voronoi" in plan.file_issues[0].describe("vi")
    run_import(conn, "residential_groups", csv_bytes(rows), ward_id=ward.id)
    stored = conn.execute(sa.text(
        "SELECT code, ST_AsBinary(ST_Transform(geom, 5899)) AS g FROM residential_group WHERE ward_id = :w"),
        {"w": ward.id}).all()
    cells = {r.code: shapely.from_wkb(bytes(r.g)) for r in stored}
    assert sum(c.area for c in cells.values()) == pytest.approx(shape.area, rel=1e-6)
    for k, p in enumerate(points):
        assert cells[f"P{k}"].contains(p)
    codes = list(cells)
    for a in range(len(codes)):
        for b in range(a + 1, len(codes)):
            assert cells[codes[a]].intersection(cells[codes[b]]).area < 1.0


def test_groups_mixing_points_and_polygons_are_refused(conn, ward) -> None:
    strips = _strips(ward, 2)
    rows = [{"Mã tổ": "T01", "Tổ dân phố": "Tổ 1", "wkt": strips[0].wkt},
            {"Mã tổ": "T02", "Tổ dân phố": "Tổ 2", "wkt": ward.east.wkt}]
    plan = dry_run(conn, "residential_groups", csv_bytes(rows), ward_id=ward.id)
    assert plan.rows[1].action == "reject"
    assert any(i.key == "geo.points_mixed" for i in plan.rows[1].issues)


# --- land parcels ------------------------------------------------------------------------------


def _parcel(ward, east_m: float, size_m: float = 10.0):
    c = _local(ward.west)
    return _wgs(box(c.x + east_m, c.y, c.x + east_m + size_m, c.y + size_m))


def _parcel_rows(ward, n: int = 3) -> tuple[list[dict], list]:
    rows = [{"Tờ bản đồ": "12", "Số thửa": str(100 + k), "Mục đích sử dụng": "ODT",
             "Phân khu quy hoạch": "Khu dân cư"} for k in range(n)]
    return rows, [_parcel(ward, 20 * k) for k in range(n)]


def test_land_parcels_import_with_area_from_the_local_grid(conn, ward) -> None:
    rows, shapes = _parcel_rows(ward)
    rows[1]["Mục đích sử dụng"] = "Đất thương mại, dịch vụ"  # the label is accepted as well as the code
    rows[2]["Diện tích (m²)"] = 150  # the shape is 100 m²: said, not refused
    data = _geojson(rows, shapes)
    plan = dry_run(conn, "land_parcels", data, ward_id=ward.id)
    assert plan.counts["insert"] == 3, _messages(plan)
    assert any(i.key == "geo.area_differs" for i in plan.rows[2].issues)
    assert list(plan.frame("vi")["Mã"]) == ["12/100", "12/101", "12/102"]
    run_import(conn, "land_parcels", data, ward_id=ward.id)
    got = conn.execute(sa.text("SELECT parcel_no, land_use_code, area_m2, is_synthetic FROM land_parcel "
                               "WHERE ward_id = :w ORDER BY parcel_no"), {"w": ward.id}).all()
    assert [(g.parcel_no, g.land_use_code, g.is_synthetic) for g in got] == [
        ("100", "ODT", False), ("101", "TMD", False), ("102", "ODT", False)]
    assert got[0].area_m2 == pytest.approx(100.0, abs=0.2) and got[2].area_m2 == 150


def test_a_parcel_number_twice_on_one_sheet_refuses_both_rows_and_writes_nothing(conn, ward) -> None:
    rows, shapes = _parcel_rows(ward, 4)
    rows[3]["Số thửa"] = "101"
    rows[2]["Tờ bản đồ"] = "13"
    rows[2]["Số thửa"] = "101"  # the same number on another sheet is fine
    plan = dry_run(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "reject", "insert", "reject"]
    for r in (plan.rows[1], plan.rows[3]):
        issue = next(i for i in r.issues if i.key == "match.duplicate_parcel")
        assert issue.describe("vi").endswith("Tờ 12, thửa 101 có ở cả dòng 2 và dòng 4 của tệp.")
        assert issue.column == "Số thửa"
    with pytest.raises(ImportRejected):
        run_import(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    assert _count(conn, "land_parcel", ward.id) == 0


def test_unknown_land_use_code_is_refused_with_row_and_column(conn, ward) -> None:
    rows, shapes = _parcel_rows(ward, 2)
    rows[1]["Mục đích sử dụng"] = "XYZ"
    plan = dry_run(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    issue = next(i for i in plan.rows[1].issues if i.level == "error")
    assert (issue.row, issue.column, issue.key) == (2, "Mục đích sử dụng", "cell.code_unknown")


def test_wrong_crs_is_converted_or_refused(conn, ward) -> None:
    rows, shapes = _parcel_rows(ward, 3)
    # row 1: VN-2000 metres of the ward's grid in a GeoJSON with no CRS: converted and said
    shapes[0] = _local(shapes[0])
    # row 2: UTM zone 48N metres: not the ward's grid, lands outside the ward
    shapes[1] = gpd.GeoSeries([shapes[1]], crs=4326).to_crs(32648).iloc[0]
    # row 3: coordinates that are no place at all
    shapes[2] = box(5e6, 5e6, 5e6 + 10, 5e6 + 10)
    plan = dry_run(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "reject", "reject"]
    assert any(i.key == "geo.vn2000" for i in plan.rows[0].issues)
    assert any(i.key in ("geo.shape_outside_ward", "geo.wrong_crs") for i in plan.rows[1].issues)
    assert any(i.key == "geo.wrong_crs" for i in plan.rows[2].issues)
    assert "hệ tọa độ" in _messages(plan)


def test_a_geopackage_in_the_wards_vn2000_grid_is_read_in_its_declared_crs(conn, ward, tmp_path) -> None:
    rows, shapes = _parcel_rows(ward, 2)
    frame = gpd.GeoDataFrame(rows, geometry=shapes, crs=4326).to_crs(LOCAL)
    path = tmp_path / "thua.gpkg"
    frame.to_file(path, layer="thua_dat", driver="GPKG")
    plan = dry_run(conn, "land_parcels", path, ward_id=ward.id)
    assert plan.counts["insert"] == 2 and plan.format == "gpkg", _messages(plan)
    run_import(conn, "land_parcels", path, ward_id=ward.id)
    stored = conn.execute(sa.text("SELECT ST_AsBinary(geom) FROM land_parcel WHERE ward_id = :w ORDER BY parcel_no"),
                          {"w": ward.id}).scalars().all()
    for wkb, shape in zip(stored, shapes, strict=True):
        assert shapely.equals_exact(shapely.from_wkb(bytes(wkb)), shape, tolerance=1e-8)


def test_invalid_and_wrong_type_geometries_are_refused(conn, ward) -> None:
    rows, shapes = _parcel_rows(ward, 3)
    c = shapes[0].centroid
    d = 0.0002
    shapes[0] = Polygon([(c.x, c.y), (c.x + d, c.y + d), (c.x + d, c.y), (c.x, c.y + d)])  # a bow tie
    shapes[1] = LineString([(c.x, c.y), (c.x + d, c.y)])
    plan = dry_run(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["reject", "reject", "insert"]
    invalid = next(i for i in plan.rows[0].issues if i.key == "geo.invalid")
    assert "Self-intersection" in invalid.params["reason"]
    assert next(i for i in plan.rows[1].issues if i.level == "error").key == "geo.wrong_type"


# --- infrastructure, facilities ---------------------------------------------------------------------


def test_infrastructure_with_condition_and_date_checked_then_condition_edited(conn, ward) -> None:
    from conftest import staff_user

    from geomap.records import infrastructure as infra

    rows = [{"Mã thiết bị": "DCS-1", "Loại": "Đèn chiếu sáng", "Tình trạng": "Hư hỏng",
             "Ngày kiểm tra tình trạng": "02/03/2025", "Kinh độ": ward.west.x, "Vĩ độ": ward.west.y},
            {"Mã thiết bị": "CONG-1", "Loại": "drain", "wkt": LineString([ward.west, ward.near(ward.west, 50)]).wkt}]
    result = run_import(conn, "infrastructure", csv_bytes(rows), ward_id=ward.id)
    assert result.inserted == 2
    got = conn.execute(sa.text("SELECT code, kind, condition, checked_on, GeometryType(geom) AS t FROM infrastructure "
                               "WHERE ward_id = :w ORDER BY code"), {"w": ward.id}).all()
    assert [tuple(g) for g in got] == [("CONG-1", "drain", "working", None, "LINESTRING"),
                                       ("DCS-1", "street_light", "faulty", dt.date(2025, 3, 2), "POINT")]
    light = next(i for i in result.ids)
    officer = staff_user("data_officer", id=None, ward_id=ward.id)
    infra.set_condition(conn, light, "working", dt.date(2025, 4, 1), user=officer)
    assert conn.execute(sa.text("SELECT condition, checked_on FROM infrastructure WHERE id = :i"),
                        {"i": light}).one() == ("working", dt.date(2025, 4, 1))
    entry = conn.execute(sa.text("SELECT username, before, after FROM audit_log WHERE entity_type = 'infrastructure' "
                                 "AND entity_id = :i AND action = 'update'"), {"i": light}).one()
    assert entry.username == officer.username and entry.before["condition"] == "faulty"
    assert entry.after == {"condition": "working", "checked_on": "2025-04-01"}
    with pytest.raises(Exception, match="Tình trạng"):
        infra.set_condition(conn, light, "broken", dt.date(2025, 4, 1), user=officer)
    with pytest.raises(Exception, match="tương lai"):
        infra.set_condition(conn, light, "faulty", dt.date.today() + dt.timedelta(days=3), user=officer)
    inspector = staff_user("inspector", id=None, ward_id=ward.id)
    with pytest.raises(Exception):  # noqa: B017 - the permission error's own class is the auth module's
        infra.set_condition(conn, light, "faulty", dt.date(2025, 4, 2), user=inspector)


def test_public_facilities_match_on_kind_and_name(conn, ward) -> None:
    rows = [{"Loại": "Trường học", "Tên": "Trường Tiểu học Lê Lai", "Kinh độ": ward.west.x, "Vĩ độ": ward.west.y},
            {"Loại": "Trạm y tế", "Tên": "Trạm Y tế phường", "Kinh độ": ward.east.x, "Vĩ độ": ward.east.y}]
    assert run_import(conn, "public_facilities", csv_bytes(rows), ward_id=ward.id).inserted == 2
    rows[1]["Địa chỉ"] = "12 Núi Thành"
    plan = dry_run(conn, "public_facilities", csv_bytes(rows), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["unchanged", "update"]
    rows[0]["Tên"] = "trường tiểu học LÊ LAI"  # the same facility, however it is typed: its name is updated
    plan = dry_run(conn, "public_facilities", csv_bytes(rows[:1]), ward_id=ward.id)
    assert plan.rows[0].action == "update" and set(plan.rows[0].changes) == {"name"}
    outside = [{"Loại": "Trường học", "Tên": "Xa", "Kinh độ": 108.0, "Vĩ độ": 16.5}]
    bad = dry_run(conn, "public_facilities", csv_bytes(outside), ward_id=ward.id)
    assert bad.rows[0].issues[-1].key == "geo.shape_outside_ward"


# --- markets and stalls ------------------------------------------------------------------------------


def _market(conn, ward):
    c = _local(ward.east)
    foot = _wgs(box(c.x - 40, c.y - 30, c.x + 40, c.y + 30))
    rows = [{"Mã chợ": "CHO-T1", "Tên chợ": "Chợ Thử", "Chợ thí điểm thông minh": "Có", "wkt": foot.wkt},
            {"Mã chợ": "CHO-T2", "Tên chợ": "Chợ Nhỏ", "Kinh độ": ward.west.x, "Vĩ độ": ward.west.y}]
    plan = dry_run(conn, "markets", csv_bytes(rows), ward_id=ward.id)
    assert any(i.key == "geo.footprint" for i in plan.rows[0].issues)
    run_import(conn, "markets", csv_bytes(rows), ward_id=ward.id)
    return foot


def test_stalls_belong_to_a_market_by_code_or_point_and_a_stall_in_no_market_is_refused(conn, ward) -> None:
    foot = _market(conn, ward)
    inside = foot.centroid
    far = ward.near(ward.east, east_m=600)
    rows = [
        {"Mã chợ": "CHO-T1", "Số quầy/sạp": "A-1", "Ngành hàng": "Rau", "Chủ quầy": "Nguyễn Thị B",
         "Nhận QR/POS": "Có", "Ngày thấy giao dịch QR/POS": "01/03/2025", "Người xác nhận": "Cán bộ C",
         "Hình thức thanh toán thấy": "Mã QR ngân hàng", "Ảnh minh chứng": "a1.jpg"},
        {"Số quầy/sạp": "A-2", "Kinh độ": inside.x, "Vĩ độ": inside.y, "Nhận QR/POS": "Có"},
        {"Mã chợ": "CHO-XX", "Số quầy/sạp": "A-3"},
        {"Số quầy/sạp": "A-4", "Kinh độ": far[0], "Vĩ độ": far[1]},
        {"Số quầy/sạp": "A-5"},
    ]
    plan = dry_run(conn, "stalls", csv_bytes(rows), ward_id=ward.id)
    assert [r.action for r in plan.rows] == ["insert", "insert", "reject", "reject", "reject"]
    assert any(i.key == "match.market_by_point" for i in plan.rows[1].issues)
    assert any(i.key == "match.no_evidence" for i in plan.rows[1].issues)
    unknown = next(i for i in plan.rows[2].issues if i.level == "error")
    assert (unknown.row, unknown.column, unknown.key) == (4, "Mã chợ", "match.market_unknown")
    for r in plan.rows[3:]:
        issue = next(i for i in r.issues if i.level == "error")
        assert (issue.column, issue.key) == ("Mã chợ", "match.no_market")
        assert issue.describe("vi").endswith("Quầy không thuộc chợ nào: ghi Mã chợ, hoặc tọa độ trong khuôn viên chợ.")
    with pytest.raises(ImportRejected):
        run_import(conn, "stalls", csv_bytes(rows), ward_id=ward.id)
    assert conn.execute(sa.text("SELECT count(*) FROM stall s JOIN market m ON m.id = s.market_id "
                                "WHERE m.ward_id = :w"), {"w": ward.id}).scalar() == 0
    result = run_import(conn, "stalls", csv_bytes(rows[:2]), ward_id=ward.id)
    assert result.inserted == 2
    got = conn.execute(sa.text(
        "SELECT stall_no, market_code, trade, holder_name, accepts_qr_pos, last_seen_on, last_seen_by "
        "FROM stall_overview WHERE ward_id = :w ORDER BY stall_no"), {"w": ward.id}).all()
    assert [tuple(g) for g in got] == [("A-1", "CHO-T1", "Rau", "Nguyễn Thị B", True, dt.date(2025, 3, 1), "Cán bộ C"),
                                       ("A-2", "CHO-T1", None, None, True, None, None)]
    photo = conn.execute(sa.text("SELECT method, photo FROM stall_payment_evidence p JOIN stall s ON s.id = "
                                 "p.stall_id WHERE s.stall_no = 'A-1' AND s.id = ANY(:i)"), {"i": result.ids}).one()
    assert tuple(photo) == ("qr_bank", "a1.jpg")
    # the same evidence again is on file; a new date is new evidence
    again = dry_run(conn, "stalls", csv_bytes(rows[:1]), ward_id=ward.id)
    assert again.rows[0].action == "unchanged"
    rows[0]["Ngày thấy giao dịch QR/POS"] = "02/04/2025"
    assert dry_run(conn, "stalls", csv_bytes(rows[:1]), ward_id=ward.id).rows[0].action == "update"


def test_stall_evidence_needs_who_saw_it_and_agrees_with_acceptance(conn, ward) -> None:
    _market(conn, ward)
    rows = [{"Mã chợ": "CHO-T1", "Số quầy/sạp": "B-1", "Ngày thấy giao dịch QR/POS": "01/03/2025"},
            {"Mã chợ": "CHO-T1", "Số quầy/sạp": "B-2", "Nhận QR/POS": "Không",
             "Ngày thấy giao dịch QR/POS": "01/03/2025", "Người xác nhận": "C"}]
    plan = dry_run(conn, "stalls", csv_bytes(rows), ward_id=ward.id)
    assert [next(i.key for i in r.issues if i.level == "error") for r in plan.rows] == [
        "match.evidence_needs_seen_by", "match.evidence_contradicts"]


def test_stall_holder_is_personal_and_never_public() -> None:
    stalls = layers.get("stalls")
    assert {"holder_name", "holder_phone"} <= {f.name for f in stalls.personal_fields}
    assert not {"holder_name", "holder_phone"} & {f.name for f in stalls.public_fields}


# --- pilot commercial streets -----------------------------------------------------------------------


def test_commercial_streets_count_their_establishments(conn, ward) -> None:
    start = ward.west
    end = Point(ward.near(start, east_m=200))
    line = LineString([start, end])
    add_establishment(conn, ward, "CS-1", "Gần phố", lonlat=ward.near(start, east_m=100, north_m=20),
                      payment=["qr_bank"])
    add_establishment(conn, ward, "CS-2", "Sát phố", lonlat=ward.near(start, east_m=50, north_m=-10))
    add_establishment(conn, ward, "CS-3", "Xa phố", lonlat=ward.near(start, east_m=100, north_m=45))
    add_establishment(conn, ward, "CS-4", "Đã đóng", lonlat=ward.near(start, east_m=60, north_m=5), status="closed")
    c = _local(start)
    area = _wgs(box(c.x - 10, c.y + 30, c.x + 150, c.y + 60))  # holds CS-3 only
    rows = [{"Mã tuyến phố": "PTM-1", "Tên tuyến phố": "Phố thí điểm", "wkt": line.wkt},
            {"Mã tuyến phố": "PTM-2", "Tên tuyến phố": "Khu thí điểm", "wkt": area.wkt}]
    run_import(conn, "commercial_streets", csv_bytes(rows), ward_id=ward.id)
    got = conn.execute(sa.text("SELECT code, shape, establishments, establishments_digital FROM "
                               "commercial_street_overview WHERE ward_id = :w ORDER BY code"), {"w": ward.id}).all()
    assert [tuple(g) for g in got] == [("PTM-1", "line", 2, 1), ("PTM-2", "polygon", 1, 0)]
    point = [{"Mã tuyến phố": "PTM-3", "Tên tuyến phố": "Điểm", "wkt": start.wkt}]
    bad = dry_run(conn, "commercial_streets", csv_bytes(point), ward_id=ward.id)
    assert next(i for i in bad.rows[0].issues if i.level == "error").key == "geo.wrong_type"


# --- the template of each layer -------------------------------------------------------------------


def _load_every_layer(conn, ward) -> None:
    run_import(conn, "residential_groups", _geojson(_group_rows(3), _strips(ward, 3)), ward_id=ward.id)
    rows, shapes = _parcel_rows(ward)
    run_import(conn, "land_parcels", _geojson(rows, shapes), ward_id=ward.id)
    test_infrastructure_rows = [
        {"Mã thiết bị": "DCS-9", "Loại": "Camera giám sát", "Tình trạng": "Hư hỏng",
         "Ngày kiểm tra tình trạng": "02/03/2025", "Ngày lắp đặt": "01/01/2020", "Kinh độ": ward.west.x,
         "Vĩ độ": ward.west.y}]
    run_import(conn, "infrastructure", csv_bytes(test_infrastructure_rows), ward_id=ward.id)
    run_import(conn, "public_facilities", csv_bytes([{"Loại": "Nhà văn hóa", "Tên": "Nhà văn hóa tổ 1",
                                                      "Kinh độ": ward.east.x, "Vĩ độ": ward.east.y}]), ward_id=ward.id)
    _market(conn, ward)
    add_establishment(conn, ward, "ST-1", "Sạp Bà Ba", lonlat=ward.near(ward.east))
    run_import(conn, "stalls", csv_bytes([
        {"Mã chợ": "CHO-T1", "Số quầy/sạp": "A-1", "Khu": "Khô", "Ngành hàng": "Gạo", "Chủ quầy": "Bà Ba",
         "Điện thoại chủ quầy": "0905123456", "Mã cơ sở": "ST-1", "Nhận QR/POS": "Có",
         "Ngày thấy giao dịch QR/POS": "01/03/2025", "Người xác nhận": "Cán bộ C",
         "Hình thức thanh toán thấy": "Quẹt thẻ (POS)", "Kinh độ": ward.east.x, "Vĩ độ": ward.east.y}]),
        ward_id=ward.id)
    run_import(conn, "commercial_streets", csv_bytes([
        {"Mã tuyến phố": "PTM-1", "Tên tuyến phố": "Phố", "Ghi chú": "thí điểm",
         "wkt": LineString([ward.west, ward.near(ward.west, 100)]).wkt}]), ward_id=ward.id)


def test_each_layer_template_has_its_sheet_dictionary_and_lists() -> None:
    for kind in BASE_KINDS:
        wb = load_workbook(io.BytesIO(template.to_bytes(template.build_template(kinds=(kind,)))))
        sheet = template.SHEETS[kind][0]
        assert wb.sheetnames == ["Hướng dẫn", sheet, "Từ điển dữ liệu", "Danh mục"], kind
        heads = [c.value for c in wb[sheet][1]]
        cols = LAYER_COLUMNS[kind]
        assert heads == [c.header_vi + (" *" if c.required else "") for c in cols]
        dictionary = [[c.value for c in r] for r in wb["Từ điển dữ liệu"].iter_rows(min_row=2)]
        assert len(dictionary) == len(cols) and {r[0] for r in dictionary} == {sheet}
        layer = layers.get(kind)
        for col in cols:  # the registry names the columns
            if col.name in {f.name for f in layer.fields}:
                assert col.header_en == layer.field(col.name).label_en or col.name == "code", (kind, col.name)
    en = load_workbook(io.BytesIO(template.to_bytes(template.build_template("en", kinds=("land_parcels",)))))
    assert "Land parcels" in en.sheetnames
    lists = [c.value for c in en["Lists"]["A"]]
    assert "Urban residential land" in lists


@pytest.mark.parametrize("kind", BASE_KINDS)
def test_template_round_trip_imports_back_unchanged(conn, ward, kind) -> None:
    _load_every_layer(conn, ward)
    wb = template.fill_from_database(conn, ward.id, kinds=(kind,))
    data = template.to_bytes(wb)
    plan = dry_run(conn, kind, data, ward_id=ward.id, filename="x.xlsx")
    assert plan.rows and not plan.blocked, _messages(plan)
    assert plan.counts["unchanged"] == len(plan.rows), plan.frame("en").to_string()
    assert plan.format == "xlsx"


def test_cli_imports_a_base_layer(monkeypatch, tmp_path, capsys, database_url, engine) -> None:
    from geomap import cli, config, db

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    with db.transaction(engine) as c:
        w = make_ward(c, slug="cli-base-layers")
    try:
        rows, shapes = _parcel_rows(w, 2)
        path = tmp_path / "thua.geojson"
        path.write_bytes(_geojson(rows, shapes))
        assert cli.main(["import", "land_parcels", str(path), "--dry-run", "--ward", "cli-base-layers"]) == 0
        assert "thêm mới 2" in capsys.readouterr().out
        assert cli.main(["import", "land_parcels", str(path), "--ward", "cli-base-layers", "--lang", "en"]) == 0
        assert "Imported: insert 2" in capsys.readouterr().out
        with engine.connect() as c:
            assert _count(c, "land_parcel", w.id) == 2
    finally:
        with db.transaction(engine) as c:
            c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": w.id})


def test_area_helpers_agree_with_geopandas(ward) -> None:
    from geomap.importing import geometry as geo

    shape = ward.shape
    assert geo.to_local(shape, LOCAL).area == pytest.approx(_local(shape).area, rel=1e-9)
    assert math.isclose(geo.to_wgs84(geo.to_local(shape, LOCAL), LOCAL).area, shape.area, rel_tol=1e-8)
