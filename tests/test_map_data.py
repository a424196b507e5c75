"""The staff map against the real PostGIS: layers by ward or view (geomap.map.data, .features), search,
click, detail (geomap.map.detail)."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pytest
import sqlalchemy as sa
from conftest import staff_user

import layers
from geomap import audit, text
from geomap.map import data as mapdata
from geomap.map import detail as mapdetail
from geomap.map import features as mapfeatures
from geomap.map import view as mapview
from geomap.wards import data as ward_data
from layers.base import Field, Layer, Style

EST = layers.get("establishments")
TODAY = dt.date.today()
# a 0.01° square ward near Đà Nẵng; establishments placed by metres east of its south-west corner
W, S = 108.300, 16.200
M_PER_DEG_LON = 111_320 * 0.9613  # cos(16.2°)


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


@pytest.fixture
def ward(conn) -> dict:
    """A small ward inside the rolled-back transaction: two groups, establishments, licences, inspections."""
    ward_id = conn.execute(sa.text(
        "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('test-map', 'Phường Bản Đồ', 'Đà Nẵng', "
        "5899, ST_GeomFromEWKT(:g)) RETURNING id"), {"g": _square(W, S, W + 0.01, S + 0.01)}).scalar_one()
    group = conn.execute(sa.text(
        "INSERT INTO residential_group (ward_id, code, name, is_synthetic, geom) VALUES (:w, 'T1', 'Tổ 1', false, "
        "ST_GeomFromEWKT(:g)) RETURNING id"), {"w": ward_id, "g": _square(W, S, W + 0.01, S + 0.01)}).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO land_parcel (ward_id, map_sheet, parcel_no, land_use_code, area_m2, geom) VALUES "
        "(:w, '1', '1', 'ODT', 100, ST_MakeEnvelope(:x0, :y0, :x0 + 0.0005, :y0 + 0.0005, 4326)), "
        "(:w, '1', '2', 'TMD', 100, ST_MakeEnvelope(:x1, :y1, :x1 + 0.0005, :y1 + 0.0005, 4326))"),
        {"w": ward_id, "x0": W, "y0": S, "x1": W + 0.009, "y1": S + 0.009})

    def est(name: str, address: str, east_m: float, vsic: str = "5610", code: str | None = None,
            owner: str = "Nguyễn Văn Chủ") -> int:
        lon, lat = W + 0.002 + east_m / M_PER_DEG_LON, S + 0.005
        return conn.execute(sa.text(
            "INSERT INTO establishment (ward_id, code, name, search_key, business_type, vsic_code, address, "
            "residential_group_id, owner_name, phone, is_synthetic, geom) VALUES (:w, :code, :n, :k, 'household', "
            ":v, :a, :g, :o, '0905000111', true, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"),
            {"w": ward_id, "code": code or f"TM-{abs(hash(name)) % 10**6:06d}", "n": text.nfc(name),
             "k": text.search_key(name, address), "v": vsic, "a": address, "g": group, "o": owner,
             "x": lon, "y": lat}).scalar_one()

    ids = {
        "pho": est("Phở Hòa", "12 Trưng Nữ Vương", 0, code="TM-000001"),
        "bun": est("Bún chả cá Bà Lữ", "5 Núi Thành", 20, code="TM-000002"),
        "shop": est("Tạp hóa Minh", "7 Phố Chợ", 400, vsic="4719", code="TM-000003"),
        "com": est("Cơm gà Hội An", "Hẻm 3", 800, code="TM-000004"),
    }
    conn.execute(sa.text(
        "INSERT INTO licence (establishment_id, kind, number, issued_on, expires_on) VALUES "
        "(:p, 'business_registration', 'ĐK-1', :old, NULL), (:p, 'business_registration', 'ĐK-2', :new, NULL), "
        "(:p, 'food_safety_certificate', 'ATTP-9', :old, :expired), "
        "(:b, 'business_registration', 'ĐK-3', :new, :soon)"),
        {"p": ids["pho"], "b": ids["bun"], "old": TODAY - dt.timedelta(days=1200), "new": TODAY - dt.timedelta(days=30),
         "expired": TODAY - dt.timedelta(days=5), "soon": TODAY + dt.timedelta(days=10)})
    for days, result in ((400, "pass"), (200, "violation"), (20, "pass")):
        conn.execute(sa.text(
            "INSERT INTO inspection (establishment_id, inspected_on, kind, result, inspector_name, violations) "
            "VALUES (:e, :d, 'periodic', :r, 'Trần Kiểm Tra', CAST(:v AS jsonb))"),
            {"e": ids["pho"], "d": TODAY - dt.timedelta(days=days), "r": result,
             "v": json.dumps([{"code": "ATTP-03", "text": "Không đội mũ"}] if result == "violation" else [])})
    audit.record(conn, action="update", entity_type="establishment", entity_id=ids["pho"],
                 before={"phone": "0905000000", "name": "Pho Hoa"}, after={"phone": "0905000111", "name": "Phở Hòa"})
    return {"id": ward_id, "group": group, **ids}


OFFICER = staff_user("data_officer", "officer")
INSPECTOR = staff_user("inspector", "inspector")


# --- reading layers --------------------------------------------------------------------------


def test_read_map_layer_ward_only_map_columns_no_personal_data(conn, ward):
    frame = mapdata.read_map_layer(conn, EST, ward_id=ward["id"])
    assert len(frame) == 4
    assert set(frame.columns) == {"id", "geometry", *mapfeatures.map_columns(EST)}
    assert not {f.name for f in EST.personal_fields} & set(frame.columns)
    statuses = dict(zip(frame["id"], frame["licence_status"], strict=True))
    assert statuses[ward["pho"]] == "valid" and statuses[ward["bun"]] == "expiring"
    assert statuses[ward["shop"]] == "missing"
    assert mapdata.read_map_layer(conn, EST, ward_id=ward["id"] + 100000).empty


def test_zoom_only_layers_are_read_for_the_view_box(conn, ward):
    parcels = layers.get("land_parcels")
    assert mapfeatures.queried_by_view(parcels) and not mapfeatures.queried_by_view(EST)
    assert not mapfeatures.drawable(parcels, 14) and mapfeatures.drawable(parcels, parcels.min_zoom)
    corner = (W - 0.0002, S - 0.0002, W + 0.001, S + 0.001)
    frame = mapdata.read_map_layer(conn, parcels, ward_id=ward["id"], bbox=corner)
    assert frame["parcel_no"].tolist() == ["1"]
    # the establishment layer ignores the box: the whole ward is read once and panning needs no query
    assert len(mapdata.read_map_layer(conn, EST, ward_id=ward["id"], bbox=corner)) == 4


def test_view_bbox_pads_snaps_and_rejects_bad_bounds():
    bounds = {"_southWest": {"lat": 16.0, "lng": 108.2}, "_northEast": {"lat": 16.01, "lng": 108.21}}
    box = mapfeatures.view_bbox(bounds)
    assert box[0] <= 108.195 and box[1] <= 15.995 and box[2] >= 108.215 and box[3] >= 16.015
    assert all(abs(v / mapfeatures.VIEW_GRID_DEG - round(v / mapfeatures.VIEW_GRID_DEG)) < 1e-6 for v in box)
    nudged = {"_southWest": {"lat": 16.0001, "lng": 108.2001}, "_northEast": {"lat": 16.0101, "lng": 108.2101}}
    assert mapfeatures.view_bbox(nudged) == box  # a small pan shares the cache entry
    assert mapfeatures.view_bbox(None) is None
    assert mapfeatures.view_bbox({"_southWest": {"lat": None, "lng": 1}, "_northEast": {"lat": 2, "lng": 3}}) is None
    assert mapfeatures.view_bbox({"_southWest": {"lat": 16.1, "lng": 108.2}, "_northEast": {"lat": 16.0,
                                                                                         "lng": 108.3}}) is None


def test_filters_on_stored_and_derived_fields_and_search_ids(conn, ward):
    frames = {"establishments": mapdata.read_map_layer(conn, EST, ward_id=ward["id"])}
    options = mapfeatures.filter_options(EST, frames["establishments"])
    assert options["vsic_code"] == ["4719", "5610"]
    assert set(options["licence_status"]) == {"valid", "expiring", "missing"}
    only_food = mapfeatures.select_features(frames, {"establishments": {"vsic_code": ["5610"]}})
    assert len(only_food["establishments"]) == 3
    expiring = mapfeatures.select_features(frames, {"establishments": {"licence_status": ["expiring"],
                                                                   "vsic_code": ["5610"]}})
    assert expiring["establishments"]["id"].tolist() == [ward["bun"]]
    nothing_chosen = mapfeatures.select_features(frames, {"establishments": {"sector": []}})
    assert len(nothing_chosen["establishments"]) == 4
    searched = mapfeatures.select_features(frames, None, {"establishments": [ward["shop"]]})
    assert searched["establishments"]["id"].tolist() == [ward["shop"]]


def test_synthetic_notice_follows_the_data(conn, ward):
    assert ward_data.ward_is_synthetic(conn, ward["id"])
    conn.execute(sa.text("UPDATE establishment SET is_synthetic = false WHERE ward_id = :w"), {"w": ward["id"]})
    assert not ward_data.ward_is_synthetic(conn, ward["id"])


def test_a_new_layer_module_is_read_and_drawn_from_its_declaration(conn, ward):
    shops = Layer(
        name="test_food_shops", title_vi="Quán ăn (thử)", title_en="Food shops (test)", source="establishment",
        geometry_type="Point",
        fields=(Field("name", "Tên", "Name", public=True), Field("vsic_code", "Mã ngành", "VSIC", public=True),
                Field("owner_name", "Chủ", "Owner", personal=True)),
        style=Style(color="#aa00aa", color_by="vsic_code", palettes={"vsic_code": {"5610": "#ff8800"}}),
        popup=("name", "vsic_code"))
    frame = mapdata.read_map_layer(conn, shops, ward_id=ward["id"])
    assert len(frame) == 4 and "owner_name" not in frame
    m = mapview.build_map({shops.name: frame}, layers={**layers.registry(), shops.name: shops})
    page = m.get_root().render()
    assert "Quán ăn (thử)" in page and "#ff8800" in page and "Phở Hòa" in page


# --- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["pho", "PHO HOA", "Phở", "phở hòa", "Pho\u031b\u0309", "trung nu vuong"])
def test_search_ignores_case_and_diacritics(conn, ward, query):
    found = mapdata.search(conn, EST, ward["id"], query)
    assert ward["pho"] in found["id"].tolist()
    assert ward["bun"] not in found["id"].tolist()


def test_search_results_carry_label_and_position_and_escape_like(conn, ward):
    found = mapdata.search(conn, EST, ward["id"], "bun cha")
    assert found["id"].tolist() == [ward["bun"]]
    row = found.iloc[0]
    assert row["label"] == "TM-000002 · Bún chả cá Bà Lữ · 5 Núi Thành"
    assert abs(row["lat"] - (S + 0.005)) < 1e-9
    assert mapdata.search(conn, EST, ward["id"], "%").empty  # LIKE wildcards are plain text
    assert mapdata.search(conn, EST, ward["id"], "   ").empty
    assert [lyr.name for lyr in mapdata.searchable_layers(conn)] == ["establishments"]


# --- click and detail --------------------------------------------------------------------------


def test_click_selects_nearest_establishment_within_a_few_metres(conn, ward):
    lon0, lat = W + 0.002, S + 0.005
    assert mapdata.establishment_at(conn, ward["id"], lat, lon0 + 2 / M_PER_DEG_LON) == ward["pho"]
    assert mapdata.establishment_at(conn, ward["id"], lat, lon0 + 19 / M_PER_DEG_LON) == ward["bun"]
    assert mapdata.establishment_at(conn, ward["id"], lat, lon0 + 10 / M_PER_DEG_LON) is None  # 10 m from both
    # the marker's label names the establishment: it wins when it is close
    assert mapdata.establishment_at(conn, ward["id"], lat, lon0 + 2 / M_PER_DEG_LON, code="TM-000002") == ward["bun"]
    assert mapdata.establishment_at(conn, ward["id"], lat, lon0, code="TM-000003") == ward["pho"]  # 400 m away
    assert mapfeatures.code_from_label("TM-000002 · Bún chả cá") == "TM-000002"
    assert mapfeatures.code_from_label(None) is None


def test_detail_has_all_licences_inspections_and_history_newest_first(conn, ward):
    d = mapdetail.establishment_detail(conn, ward["pho"], user=OFFICER, today=TODAY)
    assert d.record["name"] == "Phở Hòa" and d.record["licence_status"] == "valid"
    assert [lic["number"] for lic in d.licences] == ["ĐK-2", "ATTP-9", "ĐK-1"]
    assert {lic["number"]: lic["state"] for lic in d.licences}["ATTP-9"] == "expired"
    assert [i["result"] for i in d.inspections] == ["pass", "violation", "pass"]
    assert d.inspections[1]["violations"][0]["code"] == "ATTP-03"
    assert len(d.history) == 1 and d.history[0]["after"]["name"] == "Phở Hòa"
    assert d.record["owner_name"] == "Nguyễn Văn Chủ" and d.record["phone"] == "0905000111"
    assert abs(d.lat - (S + 0.005)) < 1e-9
    assert mapdetail.establishment_detail(conn, 10**9, user=OFFICER) is None


def test_personal_fields_only_for_roles_that_may_see_them(conn, ward):
    d = mapdetail.establishment_detail(conn, ward["pho"], user=INSPECTOR)
    names = {f.name for f in d.fields}
    assert not names & {f.name for f in EST.personal_fields}
    assert "owner_name" not in d.record and "phone" not in d.record
    assert d.history and d.history[0]["after"]["phone"] != "0905000111"  # redacted in the history too
    public = mapdetail.establishment_detail(conn, ward["pho"], user=None)
    assert all(f.public for f in public.fields) and public.history == []
    # internal keys never show (their names do), and one language's industry name
    vi = {f.name for f in mapdetail.establishment_detail(conn, ward["pho"], user=OFFICER, lang="vi").fields}
    assert "residential_group_id" not in vi and "market_id" not in vi and "residential_group" in vi
    assert "industry_name_vi" in vi and "industry_name_en" not in vi


def test_map_of_the_loaded_demo_ward_is_small(engine, demo_ward):
    frames = {name: mapdata.read_map_layer(engine, lyr, ward_id=demo_ward["id"])
              for name, lyr in layers.registry().items() if not mapfeatures.queried_by_view(lyr)}
    assert len(frames["establishments"]) >= 5000
    m = mapview.build_map(frames, layers=layers.registry())
    assert mapview.payload_bytes(m) < 2_000_000
    assert isinstance(frames["establishments"], gpd.GeoDataFrame)
