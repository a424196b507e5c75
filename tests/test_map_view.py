"""The map builder (pure): compact layers, legend, escaping, registry-driven drawing, payload size."""

from __future__ import annotations

import datetime as dt
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import layers
from geomap import config
from geomap.map import view as mapview
from layers.base import Field, Layer, Style

ESTABLISHMENTS = layers.get("establishments")
STATUSES = ["valid", "expiring", "expired", "missing"]


def _establishments(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame({
        "id": np.arange(1, n + 1),
        "code": [f"HC-{i:06d}" for i in range(1, n + 1)],
        "name": [f"Phở Hòa {i}" for i in range(1, n + 1)],
        "industry_name_vi": "Nhà hàng, quán ăn",
        "address": "12 Trưng Nữ Vương",
        "licence_status": rng.choice(STATUSES, n),
        "food_safety_status": rng.choice(["certified", "committed", "violation", "not_applicable"], n),
        "last_inspected_on": dt.date(2026, 3, 1),
    }, geometry=shapely.points(108.21 + rng.random(n) * 0.03, 16.03 + rng.random(n) * 0.03), crs="EPSG:4326")


def _point_elements(m: folium.Map) -> list[mapview.PointLayer]:
    found = []

    def walk(el):
        for child in el._children.values():
            if isinstance(child, mapview.PointLayer):
                found.append(child)
            walk(child)
    walk(m)
    return found


def test_points_are_one_compact_array_not_one_marker_each():
    frame = _establishments(3000)
    m = mapview.build_map({"establishments": frame})
    page = m.get_root().render()
    points = _point_elements(m)
    assert len(points) == 1 and points[0].count == 3000
    assert points[0].cluster  # declared cluster=True
    assert "L.marker(" not in page  # no per-feature Leaflet objects in the page
    assert page.count("L.circleMarker(") == 1  # one loop in the browser builds them all
    rows = json.loads(points[0].rows_json)
    assert len(rows) == 3000 and rows[0][3] == "HC-000001 · Phở Hòa 1"  # a short hover label, not the whole popup
    assert len(page.encode()) / 3000 < 120  # bytes per establishment, all included


def test_payload_far_smaller_than_one_folium_marker_per_feature():
    frame = _establishments(1000)
    compact = mapview.payload_bytes(mapview.build_map({"establishments": frame}))
    naive = folium.Map(location=[16.04, 108.22], zoom_start=14)
    for row in frame.itertuples():
        folium.Marker([row.geometry.y, row.geometry.x], popup=row.name).add_to(naive)
    assert mapview.payload_bytes(naive) > 5 * compact


def test_coordinates_rounded_to_six_decimals_and_polygons_simplified():
    circle = shapely.Point(108.22, 16.05).buffer(0.005, quad_segs=512)  # 2,049 vertices, ~550 m radius
    frame = gpd.GeoDataFrame({"id": [1], "name": ["Tổ 1"], "population": [100], "households": [30]},
                             geometry=[circle], crs="EPSG:4326")
    m = mapview.build_map({"residential_groups": frame})
    page = m.get_root().render()
    geojson = re.search(r"L\.geoJSON\((\{.*?\}), \{", page, re.S).group(1)
    coords = json.loads(geojson)["features"][0]["geometry"]["coordinates"][0]
    assert len(coords) < 2049 / 2  # simplified (1 m tolerance)
    assert all(len(str(v).split(".")[1]) <= 6 for xy in coords for v in xy)
    assert shapely.Polygon(coords).symmetric_difference(circle).area / circle.area < 0.01


def test_colour_by_status_and_legend_counts_in_vietnamese_and_english():
    frame = _establishments(200)
    entries = mapview.legend_entries(ESTABLISHMENTS, frame, "licence_status", "vi")
    assert [e.value for e in entries] == STATUSES
    assert sum(e.count for e in entries) == 200
    assert entries[0].label == "Còn hiệu lực" and entries[0].color == ESTABLISHMENTS.style.palettes[
        "licence_status"]["valid"]
    expected = frame["licence_status"].value_counts()
    assert {e.value: e.count for e in entries} == {s: int(expected.get(s, 0)) for s in STATUSES}
    en = mapview.legend_html(ESTABLISHMENTS, frame, "food_safety_status", "en")
    assert "Food-safety status" in en and "Violation pending follow-up" in en
    point = _point_elements(mapview.build_map({"establishments": frame}, color_by={
        "establishments": "food_safety_status"}))[0]
    palette = json.loads(point.palette_json)
    rows = json.loads(point.rows_json)
    fs = ESTABLISHMENTS.style.palettes["food_safety_status"]
    assert [palette[r[2]] for r in rows] == [fs[v] for v in frame["food_safety_status"]]


def test_unknown_status_gets_layer_colour_and_other_entry():
    frame = _establishments(10)
    frame.loc[0, "licence_status"] = "strange"
    entries = mapview.legend_entries(ESTABLISHMENTS, frame, lang="en")
    assert entries[-1].label == "Other" and entries[-1].count == 1 and entries[-1].color == ESTABLISHMENTS.style.color


def test_hostile_text_is_escaped():
    frame = _establishments(3)
    frame.loc[0, "name"] = "<script>alert('x')</script></script>"
    page = mapview.build_map({"establishments": frame}).get_root().render()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_small_layers_get_full_popups_with_labels_and_dates():
    frame = _establishments(5)
    point = _point_elements(mapview.build_map({"establishments": frame}, lang="en"))[0]
    assert point.with_popup
    popup = json.loads(point.rows_json)[0][3]
    assert "<b>Licence status</b>" in popup and "<b>Last inspection</b>: 01/03/2026" in popup


def test_format_column_codes_dates_bools_and_missing():
    markets = layers.get("markets")
    assert mapview.format_value(markets, "is_pilot_smart_market", True, "vi") == "Có"
    assert mapview.format_value(markets, "is_pilot_smart_market", False, "en") == "No"
    assert mapview.format_value(ESTABLISHMENTS, "licence_status", "expired", "vi") == "Hết hạn"
    assert mapview.format_value(ESTABLISHMENTS, "last_inspected_on", dt.date(2026, 1, 9)) == "09/01/2026"
    assert mapview.format_value(ESTABLISHMENTS, "digital_payment", ["qr_bank", "e_wallet"], "vi") == \
        "Mã QR ngân hàng, Ví điện tử"
    assert mapview.format_value(ESTABLISHMENTS, "name", None) == ""
    assert mapview.format_value(ESTABLISHMENTS, "name", float("nan")) == ""


def test_a_new_layer_declaration_is_drawn_without_code_changes():
    kiosks = Layer(
        name="test_kiosks", title_vi="Ki-ốt thử", title_en="Test kiosks", source="market", geometry_type="Point",
        fields=(Field("name", "Tên", "Name", public=True), Field("kind", "Loại", "Kind")),
        style=Style(color="#123456", color_by="kind", palettes={"kind": {"a": "#ff0000", "b": "#00ff00"}}),
        popup=("name", "kind"))
    frame = gpd.GeoDataFrame({"id": [1, 2, 3], "name": ["K1", "K2", "K3"], "kind": ["a", "b", "a"]},
                             geometry=shapely.points([108.2, 108.21, 108.22], [16.0, 16.01, 16.02]), crs=4326)
    registry = {**layers.registry(), kiosks.name: kiosks}
    m = mapview.build_map({"test_kiosks": frame}, layers=registry)
    page = m.get_root().render()
    point = _point_elements(m)[0]
    assert point.count == 3
    assert "Ki-ốt thử" in page and "#ff0000" in page and "#00ff00" in page


def test_min_zoom_layers_only_when_zoomed_in():
    parcels = layers.get("land_parcels")
    frame = gpd.GeoDataFrame({"id": [1], "map_sheet": ["12"], "parcel_no": ["5"], "land_use_code": ["ODT"],
                              "area_m2": [80.0], "planning_zone": ["A"]},
                             geometry=[shapely.box(108.2, 16.0, 108.2001, 16.0001)], crs=4326)
    assert mapview.layer_groups([parcels], {"land_parcels": frame}, zoom=14) == []
    assert len(mapview.layer_groups([parcels], {"land_parcels": frame}, zoom=parcels.min_zoom)) == 1


def test_mixed_geometry_layer_draws_points_and_lines():
    infra = layers.get("infrastructure")
    frame = gpd.GeoDataFrame({"id": [1, 2], "code": ["L1", "D1"], "kind": ["street_light", "drain"],
                              "condition": ["working", "faulty"], "installed_on": [None, None]},
                             geometry=[shapely.Point(108.2, 16.0), shapely.LineString([(108.2, 16.0), (108.21, 16.0)])],
                             crs=4326)
    group = mapview.layer_group(infra, frame)
    kinds = {type(c).__name__ for c in group._children.values()}
    assert {"PointLayer", "ShapeLayer", "Legend"} <= kinds


def test_local_assets_replace_every_cdn_link():
    m = mapview.build_map({"establishments": _establishments(3)}, assets_url="../../app/static")
    page = m.get_root().render()
    sources = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)
    assert sources and all(s.startswith("../../app/static/vendor/") for s in sources)
    assert "markercluster" in " ".join(sources)


@pytest.mark.parametrize("bounds", [(108.19, 16.01, 108.24, 16.06), None])
def test_empty_frames_still_make_a_map(bounds):
    empty = _establishments(1).iloc[0:0]
    m = mapview.build_map({"establishments": empty}, bounds=bounds)
    assert "L.map(" in m.get_root().render()
    assert mapview.status_counts(pd.DataFrame({"x": []}), "x") == {}


def test_every_map_pins_plugin_and_default_links():
    """A plugin added to any map (the hotspot heatmap) loads geomap's vendored copy, never its CDN."""
    from folium.plugins import HeatMap

    m = mapview.base_map((108.19, 16.01, 108.24, 16.06), assets_url="../../app/static")
    HeatMap([[16.03, 108.21, 1.0]]).add_to(m)
    folium.Marker([16.03, 108.21]).add_to(m)
    page = m.get_root().render()
    sources = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)
    assert sources and all(s.startswith("../../app/static/vendor/") for s in sources)
    assert "../../app/static/vendor/leaflet.heat-0.2.0/leaflet-heat.js" in sources
    # what streamlit-folium reads from the elements themselves is pinned too
    links = [url for el in (m, *m._children.values()) for _, url in getattr(el, "default_js", [])]
    assert links and all(u.startswith("../../app/static/vendor/") for u in links)
    for path in mapview.vendored_files():
        assert (config.PROJECT_DIR / "static" / path).is_file()


def test_an_asset_without_a_vendored_copy_is_refused():
    from folium.plugins import Fullscreen

    m = mapview.base_map(None, assets_url="../../app/static")
    Fullscreen().add_to(m)
    with pytest.raises(mapview.UnpinnedAsset, match="Control.Fullscreen|fullscreen"):
        m.get_root().render()


def test_tiles_come_from_the_configured_source(monkeypatch):
    page = mapview.base_map(None).get_root().render()
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "openstreetmap.org/copyright" in page  # the OSM tile usage policy's attribution
    monkeypatch.setattr(config, "TILE_URL", "http://tiles.phuong.local/{z}/{x}/{y}.png")
    monkeypatch.setattr(config, "TILE_ATTRIBUTION", "Ward tile server of Phuong 7")
    page = mapview.base_map(None).get_root().render()
    assert "http://tiles.phuong.local/{z}/{x}/{y}.png" in page and "Ward tile server of Phuong 7" in page
    assert "tile.openstreetmap.org" not in page


def test_base_map_is_the_only_way_a_map_is_made():
    """A map made with folium.Map directly would load folium's CDN links (offline: no map)."""
    made_elsewhere, without_assets = [], []
    for path in sorted((config.PROJECT_DIR / "geomap").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "view.py" and re.search(r"folium\.(Map|Figure)\(|\bMap\(location", text):
            made_elsewhere.append(path.name)
        if "/ui/" in path.as_posix():  # the staff app's maps load the copies the app serves
            without_assets += [f"{path.name}: {line.strip()}" for line in text.splitlines()
                               if "base_map(" in line and "assets_url=" not in line]
    assert made_elsewhere == []
    assert without_assets == []
