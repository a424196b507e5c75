"""Addresses without coordinates: the parser (table-driven), placement in order of trust, the street
import, the establishments import placing rows from their addresses, ``geomap places``, the optional
geocoder, and the real OpenStreetMap extract of central Đà Nẵng (skipped when it is absent)."""

from __future__ import annotations

import json
import math
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from import_fixtures import csv_bytes, establishment_row, make_ward
from shapely.geometry import LineString, MultiLineString, Point, box

from geomap import addresses, crs, db
from geomap.addresses.parse import parse, parse_way_name, street_key
from geomap.addresses.place import Gazetteer, Group, Known, Way
from geomap.addresses.streets import plan_streets, read_ways

SHARED = Path(os.environ.get("GEOMAP_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")
STREETS = SHARED / "data" / "danang-central-streets-osm.geojson"
needs_streets = pytest.mark.skipif(not STREETS.exists(), reason=f"the real OSM street extract is not at {STREETS} "
                                   "(copy shared/ beside the project, or set GEOMAP_SHARED_DIR)")

# --- the parser ----------------------------------------------------------------------------------

PARSED = [
    # address, house, alleys, street key, group, ward, former
    ("K12/5 Núi Thành", "5", ("12",), "nui thanh", None, None, False),
    ("K900/3 Nguyễn Hữu Thọ", "3", ("900",), "nguyen huu tho", None, None, False),
    ("45/7/2 Lê Duẩn", "2", ("45", "7"), "le duan", None, None, False),
    ("Kiệt 242 Hoàng Diệu", None, ("242",), "hoang dieu", None, None, False),
    ("kiet 242 hoang dieu", None, ("242",), "hoang dieu", None, None, False),
    ("số 12 kiệt 5 Hoàng Diệu", "12", ("5",), "hoang dieu", None, None, False),
    ("Số nhà 12 Kiệt 5 Đường Hoàng Diệu", "12", ("5",), "hoang dieu", None, None, False),
    ("Hẻm 2 Kiệt 64 Lê Đình Lý", None, ("64", "2"), "le dinh ly", None, None, False),
    ("số 3 ngách 5 ngõ 12 phố Huế", "3", ("12", "5"), "hue", None, None, False),
    ("123A Núi Thành", "123A", (), "nui thanh", None, None, False),
    ("12 Đường 2-9", "12", (), "2 thang 9", None, None, False),
    ("12 Đường 2 Tháng 9", "12", (), "2 thang 9", None, None, False),
    ("K03/07 Phan Thành Tài", "7", ("3",), "phan thanh tai", None, None, False),
    ("K12/5 Núi Thành, Tổ 24", "5", ("12",), "nui thanh", "24", None, False),
    ("K12/5 Núi Thành, tổ dân phố 24", "5", ("12",), "nui thanh", "24", None, False),
    ("Tổ 24, K12/5 Núi Thành", "5", ("12",), "nui thanh", "24", None, False),
    ("K12/5 Núi Thành Tổ 24, P. Hòa Cường Bắc (cũ), Q. Hải Châu, TP Đà Nẵng", "5", ("12",), "nui thanh", "24",
     "Hòa Cường Bắc", True),
    ("K12/5 Núi Thành tổ 5 phường Hòa Cường Nam cũ", "5", ("12",), "nui thanh", "5", "Hòa Cường Nam", True),
    ("12 Núi Thành, phường Hòa Cường, Đà Nẵng", "12", (), "nui thanh", None, "Hòa Cường", False),
    ("Sạp 5, Chợ Hòa Cường, 123 Núi Thành", "123", (), "nui thanh", None, None, False),
    ("tổ dân phố 24", None, (), "", "24", None, False),
    ("", None, (), "", None, None, False),
    # NFD input (a Mac keyboard) reads as NFC
    ("K12/5 Nu\u0301i Tha\u0300nh", "5", ("12",), "nui thanh", None, None, False),
]


@pytest.mark.parametrize(("text", "house", "alleys", "key", "group", "ward", "former"), PARSED)
def test_parser_takes_vietnamese_addresses_apart(text, house, alleys, key, group, ward, former) -> None:
    p = parse(text)
    assert (p.house, p.alleys, p.street_key, p.group, p.ward, p.former_ward) == (house, alleys, key, group, ward,
                                                                                  former)


def test_one_address_written_many_ways_has_one_key() -> None:
    same = ["K12/5 Núi Thành", "k12/5 nui thanh", "Số 5 Kiệt 12 Đường Núi Thành", "K12/5 NÚI THÀNH, Tổ 3",
            "12/5 Núi Thành", "K012/05 Núi Thành"]
    assert len({parse(a).address_key() for a in same}) == 1
    assert parse("K12/6 Núi Thành").address_key() != parse("K12/5 Núi Thành").address_key()


@pytest.mark.parametrize(("name", "street", "alleys", "kind"), [
    ("Kiệt 242 Hoàng Diệu", "Hoàng Diệu", ("242",), "alley"),
    ("Hẻm 2 Kiệt 64 Lê Đình Lý", "Lê Đình Lý", ("64", "2"), "alley"),
    ("Hem 05 Kiệt 38A Nguyễn Hữu Thọ", "Nguyễn Hữu Thọ", ("38A", "5"), "alley"),
    ("Kiệt 101/14 Hoàng Văn Thụ", "Hoàng Văn Thụ", ("101", "14"), "alley"),
    ("K391 Nguyễn Văn Linh", "Nguyễn Văn Linh", ("391",), "alley"),
    ("Kiệt 03 Phan Thành Tài", "Phan Thành Tài", ("3",), "alley"),
    ("Đường Phan Thanh", "Phan Thanh", (), "street"),
    ("Đường Bàu Hạc 8", "Bàu Hạc 8", (), "street"),
    ("Trần Phú", "Trần Phú", (), "street"),
])
def test_way_names_of_a_street_file(name, street, alleys, kind) -> None:
    assert parse_way_name(name) == (street, alleys, kind)


def test_street_keys_fold_prefixes_dates_and_zeros() -> None:
    assert street_key("Đường Hoàng Diệu") == street_key("hoàng diệu") == "hoang dieu"
    assert street_key("Đường 2-9") == street_key("2/9") == street_key("2 Tháng 9") == "2 thang 9"
    assert street_key("Bàu Hạc 08") == "bau hac 8"


# --- placement (pure, local metres) ----------------------------------------------------------------

NUI_THANH = Way("Đường Núi Thành", "nui thanh", "nui thanh", "", "street", LineString([(0, 0), (1000, 0)]))
KIET_12 = Way("Kiệt 12 Núi Thành", "k12 nui thanh", "nui thanh", "12", "alley", LineString([(30, 0), (30, 100)]))
LE_DINH_LY = Way("Đường Lê Đình Lý", "le dinh ly", "le dinh ly", "", "street", LineString([(0, 500), (800, 500)]))
LE_DINH_THAM = Way("Đường Lê Đình Thâm", "le dinh tham", "le dinh tham", "", "street",
                   LineString([(0, 700), (800, 700)]))
GROUPS = [Group(1, "TDP001", "Tổ dân phố 1", box(0, -300, 500, -50), "Hòa Cường Bắc"),
          Group(2, "TDP002", "Tổ dân phố 2", box(500, -300, 1000, -50), "Hòa Cường Bắc"),
          Group(3, "TDP024", "Tổ dân phố 24", box(0, 800, 400, 1000), "Hòa Cường Bắc"),
          Group(4, "HCN24", "Tổ 24 Hòa Cường Nam", box(400, 800, 800, 1000), "Hòa Cường Nam")]


def _gaz(known=()) -> Gazetteer:
    return Gazetteer([NUI_THANH, KIET_12, LE_DINH_LY, LE_DINH_THAM], known, GROUPS)


def test_a_known_address_places_at_its_point() -> None:
    p = _gaz([Known("HC-1", "K12/5 Núi Thành", 35.0, 40.0)]).place("Số 5 kiệt 12 Núi Thành, Tổ 1")
    assert (p.quality, p.x, p.y) == ("address", 35.0, 40.0)
    assert p.notes[0][0] == "addr.at_address"


def test_an_address_known_in_two_places_lists_its_candidates_and_goes_down_a_level() -> None:
    p = _gaz([Known("HC-1", "40 Núi Thành", 200.0, 8.0), Known("HC-2", "40 Núi Thành", 700.0, 8.0)]) \
        .place("40 Núi Thành")
    assert p.quality == "street" and p.candidates == ["HC-1", "HC-2"]
    assert p.notes[0][0] == "addr.address_ambiguous"


def test_house_numbers_interpolate_between_placed_addresses_on_their_side() -> None:
    known = [Known("A", "10 Núi Thành", 100.0, 10.0), Known("B", "30 Núi Thành", 300.0, 10.0),
             Known("C", "11 Núi Thành", 110.0, -10.0), Known("D", "31 Núi Thành", 310.0, -10.0)]
    even = _gaz(known).place("20 Núi Thành")
    assert even.quality == "street" and even.notes[-1][0] == "addr.on_way_interpolated"
    assert (even.x, even.y) == pytest.approx((200.0, 10.0), abs=0.5)
    odd = _gaz(known).place("21 Núi Thành")
    assert (odd.x, odd.y) == pytest.approx((210.0, -10.0), abs=0.5)


def test_without_placed_numbers_a_street_address_lands_near_the_middle_and_stays_put() -> None:
    a, b = _gaz().place("120 Núi Thành", seed="HC-9"), _gaz().place("120 Núi Thành", seed="HC-9")
    assert a.quality == "street" and a.notes[-1][0] == "addr.on_way_middle"
    assert 350 <= a.x <= 650 and a.y == pytest.approx(0, abs=1e-6)
    assert (a.x, a.y) == (b.x, b.y)


def test_without_placed_numbers_the_group_picks_the_stretch_of_the_way() -> None:
    crossing = Group(5, "TDP005", "Tổ dân phố 5", box(600, -50, 900, 50))
    gaz = Gazetteer([NUI_THANH], (), [crossing])
    p = gaz.place("120 Núi Thành", group_id=5, seed="HC-7")
    assert p.quality == "street" and p.notes[-1][0] == "addr.on_way_in_group"
    assert 600 <= p.x <= 900 and p.y == pytest.approx(0, abs=1e-6)
    # an interpolated point on a namesake stretch far from the group gives way to the group's stretch
    far = Gazetteer([NUI_THANH], [Known("A", "100 Núi Thành", 50.0, 0.0), Known("B", "140 Núi Thành", 90.0, 0.0)],
                    [crossing]).place("120 Núi Thành", group_id=5, seed="HC-7")
    assert 600 <= far.x <= 900


def test_an_alley_address_lands_on_its_alley_way() -> None:
    p = _gaz().place("K12/5 Núi Thành")
    assert p.quality == "street" and p.where == "Kiệt 12 Núi Thành"
    assert shapely.distance(Point(p.x, p.y), KIET_12.geom) < 1e-6


def test_an_alley_the_streets_do_not_know_lands_on_the_street_at_the_alley_number() -> None:
    known = [Known("A", "10 Núi Thành", 100.0, 0.0), Known("B", "50 Núi Thành", 500.0, 0.0)]
    p = _gaz(known).place("K40/3 Núi Thành")
    assert p.quality == "street" and p.where == "Đường Núi Thành"
    assert p.x == pytest.approx(400.0, abs=0.5)
    assert [k for k, _ in p.notes] == ["addr.alley_deeper", "addr.on_way_interpolated"]


def test_an_alley_chain_deeper_than_the_streets_know_stops_at_the_deepest_known_level() -> None:
    p = _gaz().place("K12/5/3 Núi Thành")  # alley 5 of kiệt 12 is not a way: on kiệt 12 at number 5
    assert p.quality == "street" and p.where == "Kiệt 12 Núi Thành"
    key, params = p.notes[0]
    assert key == "addr.alley_deeper" and params["alley"] == "12/5" and params["known"] == "12"


def test_an_unknown_street_falls_back_to_the_group_and_says_so() -> None:
    p = _gaz().place("K5/2 Trần Cao Vân, Tổ 2", seed="x")
    assert p.quality == "group" and p.where == "Tổ dân phố 2"
    assert GROUPS[1].geom.contains(Point(p.x, p.y))
    assert [k for k, _ in p.notes] == ["addr.street_unknown", "addr.in_group"]


def test_group_placements_spread_instead_of_stacking() -> None:
    spots = {(_gaz().place("Tổ 1", seed=f"HC-{i}").x, _gaz().place("Tổ 1", seed=f"HC-{i}").y) for i in range(20)}
    assert len(spots) == 20


def test_an_ambiguous_street_name_lists_the_candidates() -> None:
    p = _gaz().place("12 Lê Đình")
    assert p.quality is None
    assert p.candidates == ["Đường Lê Đình Lý", "Đường Lê Đình Thâm"]
    assert p.notes[0][0] == "addr.street_ambiguous" and p.notes[-1][0] == "addr.no_match"


def test_an_ambiguous_group_uses_the_former_ward_or_lists_the_candidates() -> None:
    both = _gaz().place("Tổ 24")
    assert both.quality is None and both.candidates == ["Tổ dân phố 24", "Tổ 24 Hòa Cường Nam"]
    south = _gaz().place("Tổ 24, phường Hòa Cường Nam (cũ)")
    assert south.quality == "group" and south.where == "Tổ 24 Hòa Cường Nam"


def test_an_address_that_matches_nothing_is_kept_unplaced() -> None:
    p = _gaz().place("Lô B7 khu tái định cư")
    assert p.quality is None and p.notes[-1][0] == "addr.no_match"


def test_the_given_group_beats_no_match() -> None:
    p = _gaz().place("99 Đường Không Có", group_id=2, seed="r1")
    assert p.quality == "group" and GROUPS[1].geom.contains(Point(p.x, p.y))


# --- the database: street import, geomap places, the establishments import ------------------------------


def _street_file(tmp_path: Path, ward, extra: list[dict] | None = None) -> tuple[Path, dict]:
    """A GeoJSON of two streets and one alley near the ward's west point, in WGS84; their lon/lat helpers."""
    to_local = crs.transformer(4326, 5899)
    to_wgs = crs.transformer(5899, 4326)
    x0, y0 = to_local.transform(ward.west.x, ward.west.y)

    def ll(dx: float, dy: float) -> list[float]:
        lon, lat = to_wgs.transform(x0 + dx, y0 + dy)
        return [lon, lat]

    def feature(name, coords, osm_id=None):
        return {"type": "Feature", "properties": {"name": name, "highway": "residential", "osm_id": osm_id},
                "geometry": {"type": "LineString", "coordinates": coords}}

    features = [feature("Đường Núi Thành", [ll(-200, 0), ll(0, 0)], 1),
                feature("Núi Thành", [ll(0, 0), ll(200, 0)], 2),  # same street, second way: merged
                feature("Kiệt 12 Núi Thành", [ll(-150, 0), ll(-150, 80)], 3),
                feature("Đường Lê Đình Lý", [ll(-200, -150), ll(200, -150)], 4),
                feature("Đường Lê Đình Thâm", [ll(-200, 150), ll(200, 150)], 5),
                *(extra or [])]
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path, {"ll": ll, "to_local": to_local, "origin": (x0, y0)}


@pytest.fixture
def ward(conn):
    return make_ward(conn, "addr-test")


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    t = crs.transformer(4326, 5899)
    (x1, y1), (x2, y2) = t.transform(*a), t.transform(*b)
    return math.hypot(x1 - x2, y1 - y2)


def test_street_import_merges_ways_dry_run_writes_nothing(conn, ward, tmp_path) -> None:
    path, _ = _street_file(tmp_path, ward)
    plan = addresses.import_streets(conn, path, ward_id=ward.id, dry_run=True)
    assert plan.counts["read"] == 5 and plan.counts["merged"] == 1
    assert plan.counts["streets"] == 3 and plan.counts["alleys"] == 1 and not plan.blocked
    assert conn.execute(sa.text("SELECT count(*) FROM street WHERE ward_id = :w"), {"w": ward.id}).scalar() == 0
    addresses.import_streets(conn, path, ward_id=ward.id)
    rows = conn.execute(sa.text("SELECT name_key, kind, alley, osm_ids, round(length_m) FROM street "
                                "WHERE ward_id = :w ORDER BY name_key"), {"w": ward.id}).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("k12 nui thanh", "alley", "12"), ("le dinh ly", "street", None),
                                                   ("le dinh tham", "street", None), ("nui thanh", "street", None)]
    assert rows[3][3] == [1, 2] and rows[3][4] == pytest.approx(400, abs=2)


def test_a_street_file_with_a_bad_feature_writes_nothing(conn, ward, tmp_path) -> None:
    bad = {"type": "Feature", "properties": {"name": "Quảng trường"},
           "geometry": {"type": "Point", "coordinates": [ward.west.x, ward.west.y]}}
    path, _ = _street_file(tmp_path, ward, [bad])
    plan = addresses.import_streets(conn, path, ward_id=ward.id)
    assert plan.blocked
    assert "Dòng 6" in plan.issues[0].describe() and "không phải đường" in plan.issues[0].describe()
    assert conn.execute(sa.text("SELECT count(*) FROM street WHERE ward_id = :w"), {"w": ward.id}).scalar() == 0


def test_a_street_file_in_vn2000_metres_without_a_crs_is_read_in_the_ward_grid(conn, ward, tmp_path) -> None:
    _, h = _street_file(tmp_path, ward)
    x0, y0 = h["origin"]
    feature = {"type": "Feature", "properties": {"ten_duong": "Đường Núi Thành"},
               "geometry": {"type": "LineString", "coordinates": [[x0 - 100, y0], [x0 + 100, y0]]}}
    path = tmp_path / "duong.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    plan = addresses.import_streets(conn, path, ward_id=ward.id)
    assert not plan.blocked and [r["name_key"] for r in plan.rows] == ["nui thanh"]
    assert "VN-2000" in plan.issues[0].describe() and plan.rows[0]["length_m"] == pytest.approx(200, abs=0.5)
    lon, lat = plan.rows[0]["geom"].geoms[0].coords[0]
    assert _metres((lon, lat), tuple(h["ll"](-100, 0))) < 0.01


def test_a_file_that_is_not_a_street_file_is_one_clear_sentence(conn, ward, tmp_path) -> None:
    from geomap.addresses.streets import StreetFileError

    path = tmp_path / "ward.osm.pbf"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(StreetFileError, match="Không đọc được tệp đường ward.osm.pbf"):
        addresses.import_streets(conn, path, ward_id=ward.id)


def test_osm_xml_is_read_through_gdal(conn, ward, tmp_path) -> None:
    path, helpers = _street_file(tmp_path, ward)
    ll = helpers["ll"]
    nodes = {1: ll(-100, 0), 2: ll(100, 0), 3: ll(-50, 0), 4: ll(-50, 60)}
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    xml += [f'<node id="{k}" version="1" lat="{lat}" lon="{lon}"/>' for k, (lon, lat) in nodes.items()]
    xml += ['<way id="10" version="1"><nd ref="1"/><nd ref="3"/><nd ref="2"/><tag k="highway" v="primary"/>'
            '<tag k="name" v="Đường Núi Thành"/></way>',
            '<way id="11" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="service"/>'
            '<tag k="name" v="Kiệt 12 Núi Thành"/></way>', "</osm>"]
    osm = tmp_path / "ward.osm"
    osm.write_text("\n".join(xml), encoding="utf-8")
    plan = addresses.import_streets(conn, osm, ward_id=ward.id)
    assert sorted(r["name_key"] for r in plan.rows) == ["k12 nui thanh", "nui thanh"]
    assert {r["highway"] for r in plan.rows} == {"primary", "service"}


def _unplaced(conn, ward, code: str, address: str, group: str | None = None) -> int:
    return conn.execute(sa.text(
        "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, residential_group_id) "
        "VALUES (:w, :c, :n, 'household', '5610', :a, :g) RETURNING id"),
        {"w": ward.id, "c": code, "n": f"Quán {code}", "a": address,
         "g": ward.groups.get(group) if group else None}).scalar_one()


def _placed(conn, ward, code: str, address: str, lonlat) -> int:
    return conn.execute(sa.text(
        "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, geom) "
        "VALUES (:w, :c, :n, 'household', '5610', :a, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"),
        {"w": ward.id, "c": code, "n": f"Quán {code}", "a": address, "x": lonlat[0], "y": lonlat[1]}).scalar_one()


def test_places_puts_each_record_at_its_level_and_the_dry_run_writes_nothing(conn, ward, tmp_path) -> None:
    path, h = _street_file(tmp_path, ward)
    addresses.import_streets(conn, path, ward_id=ward.id)
    ll = h["ll"]
    _placed(conn, ward, "P-10", "10 Núi Thành", ll(-100, 5))
    _placed(conn, ward, "P-30", "30 Núi Thành", ll(100, 5))
    ids = {c: _unplaced(conn, ward, c, a, g) for c, a, g in [
        ("U-ADDR", "Số 10 Núi Thành", None), ("U-STREET", "20 Núi Thành, Tổ 01", None),
        ("U-ALLEY", "K12/5 Núi Thành", None), ("U-DEEP", "K12/5/3 Núi Thành", None),
        ("U-GROUP", "K7/2 Trần Cao Vân", "T02"), ("U-AMBIG", "12 Lê Đình", None), ("U-NONE", "Lô B7", None)]}
    dry = addresses.place_ward(conn, ward.id, dry_run=True)
    quality = {r["code"]: p.quality for r, p in dry.rows}
    assert quality == {"U-ADDR": "address", "U-STREET": "street", "U-ALLEY": "street", "U-DEEP": "street",
                       "U-GROUP": "group", "U-AMBIG": None, "U-NONE": None}
    assert dry.counts == {"address": 1, "street": 3, "group": 1, "none": 2}
    assert conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w AND geom IS NULL"),
                        {"w": ward.id}).scalar() == 7
    lines = "\n".join(dry.lines("vi"))
    assert "Lê Đình Lý, Đường Lê Đình Thâm" in lines and "Kiệt/hẻm 12/5 sâu hơn" in lines
    report = addresses.place_ward(conn, ward.id)
    assert report.written == 5
    got = {r[0]: r[1:] for r in conn.execute(sa.text(
        "SELECT code, location_quality, ST_X(geom), ST_Y(geom), residential_group_id FROM establishment "
        "WHERE ward_id = :w"), {"w": ward.id})}
    assert got["P-10"][0] == "exact" and got["U-NONE"][0] is None and got["U-AMBIG"][1] is None
    assert got["U-ADDR"][0] == "address" and _metres(got["U-ADDR"][1:3], ll(-100, 5)) < 0.5
    assert got["U-STREET"][0] == "street" and _metres(got["U-STREET"][1:3], ll(0, 5)) < 1.0
    assert got["U-ALLEY"][0] == "street" and abs(h["to_local"].transform(*got["U-ALLEY"][1:3])[0]
                                                 - (h["origin"][0] - 150)) < 1.0
    assert got["U-GROUP"][0] == "group" and got["U-GROUP"][3] == ward.groups["T02"]
    audit = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE entity_type = 'establishment' AND "
                                 "entity_id = :e AND action = 'move'"), {"e": ids["U-ALLEY"]}).scalar()
    assert audit == 1
    # the overview (map, QR page, exports) carries the quality
    assert conn.execute(sa.text("SELECT location_quality FROM establishment_overview WHERE code = 'U-GROUP'")) \
        .scalar() == "group"
    # a point placed from an address is no known address for the next one
    _unplaced(conn, ward, "U-AGAIN", "K12/5 Núi Thành")
    again = addresses.place_ward(conn, ward.id, dry_run=True)
    assert {r["code"]: p.quality for r, p in again.rows}["U-AGAIN"] == "street"


def test_the_import_places_rows_without_coordinates_in_the_same_run(conn, ward, tmp_path) -> None:
    from geomap.importing import dry_run, run_import

    path, h = _street_file(tmp_path, ward)
    addresses.import_streets(conn, path, ward_id=ward.id)
    rows = [establishment_row("HC-A1", "Quán Một", h["ll"](-100, 5), **{"Địa chỉ": "10 Núi Thành"}),
            establishment_row("HC-A2", "Quán Hai", None, **{"Địa chỉ": "K12/5 Núi Thành", "Tổ dân phố": "T01"}),
            establishment_row("HC-A3", "Quán Ba", None, **{"Địa chỉ": "K9/1 Hùng Vương", "Tổ dân phố": "T02"}),
            establishment_row("HC-A4", "Quán Bốn", None, **{"Địa chỉ": "Lô B7"}),
            establishment_row("HC-A5", "Quán Năm", None, **{"Địa chỉ": "Số 10 Núi Thành"})]
    plan = dry_run(conn, "establishments", csv_bytes(rows), ward_id=ward.id, filename="x.csv")
    frame = plan.frame("vi")
    assert list(frame["Vị trí"]) == ["Chính xác", "Gần đúng: trên đường/kiệt", "Gần đúng: trong tổ dân phố", "",
                                     "Gần đúng: theo địa chỉ đã biết"]
    assert "Không tìm thấy đường \"Hùng Vương\"" in frame["Ghi chú"].iloc[2]
    assert "Chưa có tọa độ" in frame["Ghi chú"].iloc[3] or "không định vị" in frame["Ghi chú"].iloc[3].lower()
    assert conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w"), {"w": ward.id}).scalar() == 0
    run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id, filename="x.csv")
    got = dict(conn.execute(sa.text("SELECT code, location_quality FROM establishment WHERE ward_id = :w"),
                            {"w": ward.id}).all())
    # HC-A5 is at the address HC-A1 of the same file gives exactly
    assert got == {"HC-A1": "exact", "HC-A2": "street", "HC-A3": "group", "HC-A4": None, "HC-A5": "address"}


def test_an_import_with_a_bad_row_places_nothing(conn, ward, tmp_path) -> None:
    from geomap.importing import ImportRejected, run_import

    path, _ = _street_file(tmp_path, ward)
    addresses.import_streets(conn, path, ward_id=ward.id)
    rows = [establishment_row("HC-B1", "Quán Một", None, **{"Địa chỉ": "K12/5 Núi Thành"}),
            establishment_row("HC-B2", "Quán Hai", None, **{"Địa chỉ": "20 Núi Thành", "Mã ngành VSIC": "0000"})]
    with pytest.raises(ImportRejected):
        run_import(conn, "establishments", csv_bytes(rows), ward_id=ward.id, filename="x.csv")
    assert conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w"), {"w": ward.id}).scalar() == 0


class _Nominatim(BaseHTTPRequestHandler):
    hits: list[dict] = []
    queries: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        from urllib.parse import parse_qs, urlparse

        q = parse_qs(urlparse(self.path).query)
        type(self).queries.append(q.get("q", [""])[0])
        body = json.dumps(self.hits).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_optional_geocoder_is_asked_only_when_configured(conn, ward, tmp_path, monkeypatch) -> None:
    from geomap import config
    from geomap.addresses.geocoder import Geocoder

    path, h = _street_file(tmp_path, ward)
    addresses.import_streets(conn, path, ward_id=ward.id)
    _unplaced(conn, ward, "G-1", "K7/2 Trần Cao Vân")
    _unplaced(conn, ward, "G-2", "K12/5 Núi Thành")
    server = HTTPServer(("127.0.0.1", 0), _Nominatim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lon, lat = h["ll"](50, 50)
    _Nominatim.hits = [{"lon": str(lon), "lat": str(lat), "category": "building", "type": "house",
                        "display_name": "7/2 Trần Cao Vân"}]
    _Nominatim.queries = []
    try:
        monkeypatch.setattr(config, "GEOCODER_URL", None)
        off = addresses.place_ward(conn, ward.id, dry_run=True)
        assert {r["code"]: p.quality for r, p in off.rows}["G-1"] is None and _Nominatim.queries == []
        monkeypatch.setattr(config, "GEOCODER_URL", f"http://127.0.0.1:{server.server_port}")
        on = addresses.place_ward(conn, ward.id, dry_run=True)
        placed = {r["code"]: p for r, p in on.rows}
        assert placed["G-1"].quality == "address" and _metres((placed["G-1"].lon, placed["G-1"].lat), (lon, lat)) < 0.5
        assert placed["G-2"].quality == "street"  # the ward's own alley: the geocoder is not asked
        assert len(_Nominatim.queries) == 1 and _Nominatim.queries[0].startswith("K7/2 Trần Cao Vân")
        down = Geocoder("http://127.0.0.1:9/search", timeout_s=0.5)
        report = addresses.place_ward(conn, ward.id, dry_run=True, geocoder=down)
        notes = {r["code"]: [k for k, _ in p.notes] for r, p in report.rows}
        assert "addr.geocoder_failed" in notes["G-1"]
    finally:
        server.shutdown()


# --- the real OpenStreetMap extract ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_gazetteer():
    ways = read_ways(STREETS)
    area = box(108.19, 16.03, 108.24, 16.08)
    plan = plan_streets(ways, area, 5899, STREETS.name, "trung tâm")
    to_local = crs.transformer(4326, 5899)

    def local(g):
        return shapely.transform(g, lambda xy: __import__("numpy").column_stack(to_local.transform(xy[:, 0],
                                                                                                   xy[:, 1])))
    gaz = Gazetteer([Way(r["name"], r["name_key"], r["street_key"], r["alley"] or "", r["kind"], local(r["geom"]))
                     for r in plan.rows])
    return plan, gaz


@needs_streets
def test_the_real_extract_merges_into_streets_and_alleys(real_gazetteer) -> None:
    plan, _ = real_gazetteer
    assert plan.counts["read"] == 560 and not plan.blocked
    keys = {r["name_key"]: r for r in plan.rows}
    assert keys["k242 hoang dieu"]["kind"] == "alley" and keys["hoang dieu"]["kind"] == "street"
    assert len(keys["hoang dieu"]["osm_ids"]) > 1  # several OSM ways, one street
    assert "k64/2 le dinh ly" in keys and "k132 2 thang 9" in keys
    assert isinstance(keys["hoang dieu"]["geom"], MultiLineString)


@needs_streets
@pytest.mark.parametrize(("address", "way"), [
    ("K242/5 Hoàng Diệu", "Kiệt 242 Hoàng Diệu"),
    ("kiet 242/5 hoang dieu, to 12", "Kiệt 242 Hoàng Diệu"),
    ("Hẻm 2 Kiệt 64 Lê Đình Lý", "Hẻm 2 Kiệt 64 Lê Đình Lý"),
    ("K64/2/7 Lê Đình Lý", "Hẻm 2 Kiệt 64 Lê Đình Lý"),
    ("K132/4 Đường 2 Tháng 9", "Kiệt 132 Đường 2-9"),
    ("K3/9 Phan Thành Tài", "Kiệt 03 Phan Thành Tài"),
    ("120 Hoàng Diệu", "Đường Hoàng Diệu"),
])
def test_real_addresses_land_on_their_real_ways(real_gazetteer, address, way) -> None:
    _, gaz = real_gazetteer
    p = gaz.place(address)
    assert p.quality == "street" and p.where == way
    found = next(w for w in gaz.ways.values() if w.name == way)
    assert shapely.distance(Point(p.x, p.y), found.geom) < 1e-6


# --- showing the quality: map, QR page, exports ---------------------------------------------------------


def test_approximate_points_are_drawn_hollow_with_a_legend_entry() -> None:
    import geopandas as gpd

    import layers
    from geomap.map import view

    layer = layers.get("establishments")
    assert layer.field("location_quality").public  # exports and the public API carry it
    frame = gpd.GeoDataFrame({"id": [1, 2, 3], "licence_status": ["valid"] * 3,
                              "location_quality": ["exact", "street", "group"]},
                             geometry=[Point(108.22, 16.04), Point(108.221, 16.04), Point(108.222, 16.04)],
                             crs=4326)
    rows = json.loads(view.point_layer(layer, frame).rows_json.replace("<\\/", "</"))
    assert [len(r) for r in rows] == [4, 5, 5] and rows[1][4] == 1
    legend = view.legend_html(layer, frame, lang="vi")
    assert "Vị trí gần đúng" in legend and "(2)" in legend and "dashed" in legend
    assert "gần đúng" not in view.legend_html(layer, frame.iloc[:1], lang="vi")


def test_the_qr_page_says_approximate_location(conn, ward) -> None:
    from geomap.web.routes import qr as qr_route
    from qr import issue
    from qr.lookup import lookup

    exact = _placed(conn, ward, "QX-1", "10 Núi Thành", (ward.west.x, ward.west.y))
    approx = _placed(conn, ward, "QX-2", "K12/5 Núi Thành", (ward.west.x + 0.001, ward.west.y))
    conn.execute(sa.text("UPDATE establishment SET location_quality = 'street' WHERE id = :i"), {"i": approx})
    pages = {}
    for eid in (exact, approx):
        token = issue.issue(conn, establishment_id=eid).token
        result = lookup(conn, token)
        assert result.data["establishment"]["location_quality"] == ("exact" if eid == exact else "street")
        pages[eid] = {lang: qr_route.render(result, token, "html", lang)[1].decode() for lang in ("vi", "en")}
    assert "Vị trí gần đúng" in pages[approx]["vi"] and "Approximate location" in pages[approx]["en"]
    assert "gần đúng" not in pages[exact]["vi"]


# --- the command line, on the demo ward (which loads its synthetic streets and kiệt) ---------------------------


@pytest.fixture
def cli_db(monkeypatch, database_url, demo_ward):
    from geomap import config

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    return demo_ward


def test_places_and_import_streets_on_the_command_line(cli_db, tmp_path, capsys, engine) -> None:
    from geomap import cli

    ward = cli_db["id"]
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM street WHERE ward_id = :w AND kind = 'alley'"),
                         {"w": ward}).scalar() > 100  # the demo's kiệt
        picked = c.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM establishment WHERE ward_id = :w AND market_id IS NULL "
            "AND geom IS NOT NULL ORDER BY id LIMIT 3"), {"w": ward}).all()
    ids = [p[0] for p in picked]
    with db.transaction(engine) as c:
        c.execute(sa.text("UPDATE establishment SET geom = NULL WHERE id = ANY(:ids)"), {"ids": ids})
    try:
        assert cli.main(["places", "--ward", "hoa-cuong", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "Kiểm tra thử (chưa ghi gì)" in out and "chưa định vị được 0" in out
        assert cli.main(["places", "--ward", "hoa-cuong", "--lang", "en"]) == 0
        assert "Placed 3" in capsys.readouterr().out
        with engine.connect() as c:
            got = c.execute(sa.text("SELECT location_quality FROM establishment WHERE id = ANY(:ids)"),
                            {"ids": ids}).scalars().all()
        assert len(got) == 3 and set(got) <= {"address", "street"}
    finally:
        with db.transaction(engine) as c:
            for eid, x, y in picked:
                c.execute(sa.text("UPDATE establishment SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
                                  "location_quality = 'exact' WHERE id = :i"), {"i": eid, "x": x, "y": y})
            c.execute(sa.text("DELETE FROM audit_log WHERE action = 'move' AND entity_id = ANY(:ids)"), {"ids": ids})
    inside = Point(*picked[0][1:])
    line = {"type": "Feature", "properties": {"name": "Đường Thử Nghiệm"},
            "geometry": {"type": "LineString", "coordinates": [[inside.x, inside.y], [inside.x + 0.001, inside.y]]}}
    path = tmp_path / "duong.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [line]}), encoding="utf-8")
    assert cli.main(["import", "streets", str(path), "--ward", "hoa-cuong", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 đoạn đường đọc được" in out and "Kiểm tra thử" in out
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM street WHERE name = 'Đường Thử Nghiệm'")).scalar() == 0
