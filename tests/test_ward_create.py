"""A real ward from its own files (issue 16): ``geomap ward create`` on files the tests write.

The boundaries here are test shapes near Hải Dương (the part of Hải Phòng Phường Thạch Khôi lies
in), not the ward's real boundary: none is public. The province table is checked row by row
against PROJ's database, each grid against a control point.
"""

from __future__ import annotations

import json
import math
import zipfile

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from pyproj import CRS
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from geomap import cli, config, crs, demo, profiles
from geomap.errors import GeomapError
from geomap.text import fold
from geomap.wards import data as ward_data
from geomap.wards import grid, setup
from geomap.wards.boundary import BoundaryFileError, read_boundary
from geomap.wards.grid import GridError

#: a test ward of about 4.4 × 4.4 km west of Hải Dương city (lon/lat): about 19.6 km²
LON0, LAT0, DLON, DLAT = 106.26, 20.90, 0.042, 0.040
WARD = Polygon([(LON0, LAT0), (LON0 + DLON, LAT0), (LON0 + DLON + 0.004, LAT0 + DLAT / 2), (LON0 + DLON, LAT0 + DLAT),
                (LON0, LAT0 + DLAT)])
HAI_DUONG = 9209   # VN-2000 / TM-3 105-30, read from PROJ by the module under test; pinned here
HAI_PHONG = 9210   # VN-2000 / TM-3 105-45


def _write(frame: gpd.GeoDataFrame, path, driver: str | None = None):
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


def _geojson(tmp_path, geoms, name="ward.geojson", names=None, crs_code="EPSG:4326"):
    frame = gpd.GeoDataFrame({"name": names or [f"f{i}" for i in range(len(geoms))]}, geometry=list(geoms),
                             crs=crs_code)
    return _write(frame, tmp_path / name, "GeoJSON")


def _raw_geojson(tmp_path, coords_list, name="raw.geojson", kind="Polygon"):
    features = [{"type": "Feature", "properties": {}, "geometry": {"type": kind, "coordinates": c}}
                for c in coords_list]
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _shapefile_zip(tmp_path, geom, crs_code, name="ranh-gioi", keep_prj=True):
    folder = tmp_path / f"{name}-shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame({"ten": ["Phường Thử"]}, geometry=[geom], crs=crs_code)
    _write(frame, folder / f"{name}.shp", "ESRI Shapefile")
    path = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in folder.iterdir():
            if keep_prj or f.suffix != ".prj":
                z.write(f, f.name)
    return path


def _in_grid(geom, epsg):
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(f"EPSG:{epsg}").iloc[0]


def _area_km2(geom, epsg=HAI_DUONG):
    return _in_grid(geom, epsg).area / 1e6


def _hd():
    return grid.resolve("Hải Dương")


# --- the province table ----------------------------------------------------------------------------

def test_table_has_the_63_former_and_34_current_provinces_with_one_default_each():
    rows = grid.table()
    assert len(rows) == 63 and len({r["former_province"] for r in rows}) == 63
    current = grid.provinces()
    assert len(current) == 34
    for province in current:
        assert sum(r["default"] == "1" for r in rows if r["province"] == province) == 1, province
    current_keys = {grid._key(p): p for p in current}
    assert len(current_keys) == 34
    for r in rows:  # a former name equal to a current one (Hải Phòng, Hà Nội...) is that same province
        key = grid._key(r["former_province"])
        assert current_keys.get(key, r["province"]) == r["province"], r


@pytest.mark.parametrize("row", grid.table(), ids=lambda r: fold(r["former_province"]))
def test_every_province_row_resolves_to_an_epsg_grid_of_its_meridian_that_passes_its_control_point(row):
    deg = grid.parse_meridian(row["central_meridian"])
    code = grid.epsg_for_meridian(deg)
    definition = CRS.from_epsg(code)  # found in PROJ's database
    assert definition.name.startswith("VN-2000 / TM-3")
    params = {p.name: p.value for p in definition.coordinate_operation.params}
    assert math.isclose(params["Longitude of natural origin"], deg)
    assert params["False easting"] == 500000 and math.isclose(params["Scale factor at natural origin"], 0.9999)
    check = grid.control_check(code)
    assert check["false_easting_error"] < 1e-6
    assert check["roundtrip_error"] < 0.01
    resolved = grid.resolve(row["former_province"])
    assert resolved.province == row["province"] and resolved.epsg == code


def test_known_grids_and_the_merger():
    assert grid.resolve("Thành phố Đà Nẵng").epsg == 5899   # the project's existing grid
    assert grid.resolve("Đà Nẵng").epsg == 5899
    assert grid.resolve("Quảng Nam").province == "Thành phố Đà Nẵng"
    hp = grid.resolve("Hải Phòng")
    assert (hp.province, hp.meridian, hp.epsg) == ("Thành phố Hải Phòng", "105°45'", HAI_PHONG)
    assert ("Hải Dương", "105°30'") in hp.others
    hd = grid.resolve("hai duong")
    assert (hd.province, hd.meridian, hd.epsg) == ("Thành phố Hải Phòng", "105°30'", HAI_DUONG)
    assert grid.resolve("TP Hồ Chí Minh").meridian == "105°45'"
    assert grid.resolve("Hà Nội").meridian == "105°00'"
    assert grid.resolve("Thừa Thiên Huế").province == "Thành phố Huế"


def test_an_unknown_province_and_a_meridian_without_an_epsg_code_are_refused():
    with pytest.raises(GridError, match="Không nhận ra tỉnh"):
        grid.resolve("Atlantis")
    with pytest.raises(GridError, match="không có lưới VN-2000"):
        grid.epsg_for_meridian(109.25)


def test_a_known_point_goes_through_the_haiphong_grid_and_back_within_a_centimetre():
    lon, lat = 106.6881, 20.8449  # Hải Phòng city centre (WGS84)
    x, y = crs.transformer(4326, HAI_PHONG).transform(lon, lat)
    assert 550000 < x < 600000 and 2300000 < y < 2310000
    blon, blat = crs.transformer(HAI_PHONG, 4326).transform(x, y)
    assert math.hypot((blon - lon) * 104000, (blat - lat) * 110700) < 0.01


# --- reading boundary files ------------------------------------------------------------------------

def test_geojson_in_wgs84(tmp_path):
    b = read_boundary(_geojson(tmp_path, [WARD]), _hd())
    assert b.source_crs == 4326 and not b.crs_guessed and b.features == 1
    assert isinstance(b.geom, MultiPolygon)
    assert _area_km2(b.geom) == pytest.approx(_area_km2(WARD), rel=1e-6)


def test_geopackage_in_vn2000_haiduong_grid(tmp_path):
    local = _in_grid(WARD, HAI_DUONG)
    path = _write(gpd.GeoDataFrame({"name": ["Phường Thử"]}, geometry=[local], crs=f"EPSG:{HAI_DUONG}"),
                  tmp_path / "ward.gpkg", "GPKG")
    b = read_boundary(path, _hd())
    assert b.source_crs == HAI_DUONG and not b.crs_guessed
    assert _area_km2(b.geom) == pytest.approx(local.area / 1e6, rel=1e-4)
    assert shapely.hausdorff_distance(b.geom, WARD) < 1e-6  # back where it was (degrees: ~0.1 m)


def test_geopackage_in_danang_grid_5899_is_taken_to_wgs84(tmp_path):
    local = _in_grid(WARD, 5899)
    path = _write(gpd.GeoDataFrame({"name": ["x"]}, geometry=[local], crs="EPSG:5899"), tmp_path / "w.gpkg", "GPKG")
    b = read_boundary(path, _hd())
    assert b.source_crs == 5899
    assert shapely.hausdorff_distance(b.geom, WARD) < 1e-6


def test_shapefile_zip_and_shp_with_siblings(tmp_path):
    path = _shapefile_zip(tmp_path, _in_grid(WARD, HAI_PHONG), f"EPSG:{HAI_PHONG}")
    b = read_boundary(path, _hd())
    assert b.source_crs == HAI_PHONG
    assert shapely.hausdorff_distance(b.geom, WARD) < 1e-6
    shp = tmp_path / "ranh-gioi-shp" / "ranh-gioi.shp"
    assert read_boundary(shp, _hd()).source_crs == HAI_PHONG
    (tmp_path / "ranh-gioi-shp" / "ranh-gioi.dbf").unlink()
    with pytest.raises(BoundaryFileError, match=r"thiếu tệp đi kèm \.dbf"):
        read_boundary(shp, _hd())


def test_a_file_without_crs_is_read_as_wgs84_or_the_province_grid_and_says_so(tmp_path):
    b = read_boundary(_shapefile_zip(tmp_path, WARD, "EPSG:4326", name="lonlat", keep_prj=False), _hd())
    assert b.crs_guessed and b.source_crs == 4326
    assert any("không ghi hệ tọa độ" in vi for vi, _ in b.notes)
    local = _in_grid(WARD, HAI_DUONG)
    b = read_boundary(_shapefile_zip(tmp_path, local, f"EPSG:{HAI_DUONG}", name="vn2000", keep_prj=False), _hd())
    assert b.crs_guessed and b.source_crs == HAI_DUONG
    assert shapely.hausdorff_distance(b.geom, WARD) < 1e-6
    nowhere = box(5_000_000, 5_000_000, 5_004_000, 5_004_000)
    with pytest.raises(BoundaryFileError, match="không ghi hệ tọa độ và tọa độ"):
        read_boundary(_shapefile_zip(tmp_path, nowhere, "EPSG:3857", name="nowhere", keep_prj=False), _hd())


def test_swapped_axes_are_detected_and_not_fixed(tmp_path):
    swapped = shapely.transform(WARD, lambda xy: xy[:, ::-1])
    with pytest.raises(BoundaryFileError, match="bị đảo trục") as exc:
        read_boundary(_geojson(tmp_path, [swapped]), _hd())
    assert "swapped" in exc.value.en
    grid_swapped = shapely.transform(_in_grid(WARD, HAI_DUONG), lambda xy: xy[:, ::-1])
    with pytest.raises(BoundaryFileError, match="bị đảo trục"):
        read_boundary(_shapefile_zip(tmp_path, grid_swapped, f"EPSG:{HAI_DUONG}", name="sw"), _hd())
    with pytest.raises(BoundaryFileError, match="bị đảo trục"):
        read_boundary(_shapefile_zip(tmp_path, grid_swapped, f"EPSG:{HAI_DUONG}", name="sw2", keep_prj=False), _hd())


def test_a_wrong_crs_in_the_file_is_named(tmp_path):
    metres = _in_grid(WARD, HAI_DUONG)
    with pytest.raises(BoundaryFileError, match="ghi hệ tọa độ EPSG:4326 .* là tọa độ lưới VN-2000"):
        read_boundary(_geojson(tmp_path, [metres]), _hd())
    with pytest.raises(BoundaryFileError, match="ghi hệ tọa độ EPSG:9209 .* là kinh độ/vĩ độ WGS84"):
        read_boundary(_write(gpd.GeoDataFrame({"name": ["x"]}, geometry=[WARD], crs=f"EPSG:{HAI_DUONG}"),
                             tmp_path / "w.gpkg", "GPKG"), _hd())


def test_self_intersection_names_the_coordinate(tmp_path):
    bowtie = [[[LON0, LAT0], [LON0 + 0.04, LAT0 + 0.04], [LON0 + 0.04, LAT0], [LON0, LAT0 + 0.04], [LON0, LAT0]]]
    with pytest.raises(BoundaryFileError, match="tự cắt nhau") as exc:
        read_boundary(_raw_geojson(tmp_path, [bowtie]), _hd())
    assert f"({LON0 + 0.02:.6f}, {LAT0 + 0.02:.6f})" in exc.value.vi
    assert exc.value.row == 1 and "raw.geojson" in exc.value.vi


def test_far_from_vietnam_and_outside_the_province_zone(tmp_path):
    paris = box(2.33, 48.85, 2.36, 48.87)
    with pytest.raises(BoundaryFileError, match="nằm ngoài Việt Nam") as exc:
        read_boundary(_geojson(tmp_path, [paris]), _hd())
    assert "km" in exc.value.vi
    danang = box(108.20, 16.03, 108.23, 16.06)
    with pytest.raises(BoundaryFileError, match="ngoài múi 3°") as exc:
        read_boundary(_geojson(tmp_path, [danang], name="dn.geojson"), _hd())
    assert exc.value.field == "province"


def test_not_a_polygon_and_empty(tmp_path):
    line = LineString(WARD.exterior.coords)
    with pytest.raises(BoundaryFileError, match="là LineString, không phải vùng") as exc:
        read_boundary(_geojson(tmp_path, [WARD, line], names=["Phường Thử", "Phường Thử"]), _hd())
    assert exc.value.row == 2
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(BoundaryFileError, match="không có đối tượng nào"):
        read_boundary(empty, _hd())
    (tmp_path / "note.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BoundaryFileError, match="không phải GeoJSON"):
        read_boundary(tmp_path / "note.txt", _hd())


def test_several_features_merged_picked_by_name_or_refused(tmp_path):
    west = box(LON0, LAT0, LON0 + 0.02, LAT0 + 0.04)
    east = box(LON0 + 0.02, LAT0, LON0 + 0.04, LAT0 + 0.04)
    rings = [[[list(p) for p in g.exterior.coords]] for g in (west, east)]
    merged = read_boundary(_raw_geojson(tmp_path, rings), _hd())
    assert merged.merged == 2 and len(merged.geom.geoms) == 1
    assert merged.geom.area == pytest.approx(west.area + east.area)
    assert any("hợp nhất" in vi for vi, _ in merged.notes)
    named = _geojson(tmp_path, [west, east], name="named.geojson", names=["Phường Tây", "Phường Đông"])
    with pytest.raises(BoundaryFileError, match="2 tên khác nhau"):
        read_boundary(named, _hd(), ward_name="Phường Thử")
    picked = read_boundary(named, _hd(), ward_name="phuong dong")
    assert picked.feature_name == "phuong dong" and picked.geom.area == pytest.approx(east.area)


OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 {nodes}
 <way id="10">{refs}</way>
 <way id="11"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>
 <relation id="100">
  <member type="way" ref="10" role="outer"/>
  <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="6"/>
  <tag k="name" v="Phường Thạch Khôi"/>
 </relation>
</osm>
"""


def test_an_openstreetmap_relation_export(tmp_path):
    """What openstreetmap.org or JOSM exports for a ward's boundary relation (GDAL's OSM driver)."""
    coords = list(WARD.exterior.coords)[:-1]
    nodes = "\n ".join(f'<node id="{i + 1}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in enumerate(coords))
    refs = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(coords))) + '<nd ref="1"/>'
    path = tmp_path / "thach-khoi.osm"
    path.write_text(OSM.format(nodes=nodes, refs=refs), encoding="utf-8")
    b = read_boundary(path, _hd(), ward_name="Phường Thạch Khôi")
    assert b.features == 1 and b.source_crs == 4326  # the building is not a boundary
    assert b.geom.equals_exact(MultiPolygon([WARD]), 1e-7) or shapely.hausdorff_distance(b.geom, WARD) < 1e-7


# --- profiles ----------------------------------------------------------------------------------------

def test_thach_khoi_profile_ships_with_the_plan_figures():
    p = profiles.get("thach-khoi")
    assert (p.name, p.province, p.official_area_km2, p.population, p.residential_groups) == (
        "Phường Thạch Khôi", "Thành phố Hải Phòng", 19.94, 35000, 18)
    assert p.local_srid == grid.resolve(p.former_province).epsg == HAI_DUONG
    assert p.boundary_file == ""
    raw = profiles.read_profile_file(config.DATA_DIR / "profiles" / "thach-khoi.toml")
    assert raw["targets"]["digital_payment_share"] == {2027: 0.5, 2030: 1.0}


def test_profile_file_defaults_and_errors(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('population = 1000\n[targets.digital_payment_share]\n2027 = 0.4\n', encoding="utf-8")
    raw = profiles.read_profile_file(path)
    assert raw["targets"]["digital_payment_share"] == {2027: 0.4}
    assert raw["targets"]["stall_qr_pos_share"] == profiles.PLAN_DEFAULTS["targets"]["stall_qr_pos_share"]
    assert raw["report_deadline_days"]["garbage"] == 2
    path.write_text('[targets.digital_payment_share]\n2027 = 40\n', encoding="utf-8")
    with pytest.raises(profiles.ProfileFileError, match="từ 0 đến 1"):
        profiles.read_profile_file(path)
    path.write_text('taget = 1\n', encoding="utf-8")
    with pytest.raises(profiles.ProfileFileError, match="taget"):
        profiles.read_profile_file(path)
    path.write_text('[risk_weights]\nfs_missing_typo = 3\n', encoding="utf-8")
    with pytest.raises(profiles.ProfileFileError, match="risk_weights"):
        profiles.read_profile_file(path)


# --- creating wards in the database --------------------------------------------------------------------

def _counts(engine, ward_id):
    tables = ("residential_group", "establishment", "licence", "market", "land_parcel", "field_report")
    with engine.connect() as c:
        out = {}
        for t in tables:
            if t == "licence":
                q = ("SELECT count(*) FROM licence l JOIN establishment e ON e.id = l.establishment_id "
                     "WHERE e.ward_id = :w")
            else:
                q = f"SELECT count(*) FROM {t} WHERE ward_id = :w"
            out[t] = c.execute(sa.text(q), {"w": ward_id}).scalar()
        out["ward"] = c.execute(sa.text("SELECT md5(ST_AsBinary(geom)::text) || name || local_srid FROM ward "
                                        "WHERE id = :w"), {"w": ward_id}).scalar()
    return out


def test_create_a_ward_then_read_it_back_without_disturbing_the_demo_ward(engine, demo_ward, tmp_path, monkeypatch,
                                                                          database_url):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)  # profiles read stored wards from the default engine
    before = _counts(engine, demo_ward["id"])
    wards_before = len(ward_data.loaded_wards(engine))
    local = _in_grid(WARD, HAI_DUONG)
    path = _write(gpd.GeoDataFrame({"name": ["Phường Thạch Khôi"]}, geometry=[local], crs=f"EPSG:{HAI_DUONG}"),
                  tmp_path / "thach-khoi.gpkg", "GPKG")
    plan = setup.plan_ward(engine, name="Phường Thạch Khôi", province="Hải Phòng", boundary_path=path,
                           profile_path=config.DATA_DIR / "profiles" / "thach-khoi.toml")
    assert plan.slug == "thach-khoi" and plan.grid.epsg == HAI_DUONG  # the profile's former province
    assert plan.area_km2 == pytest.approx(local.area / 1e6, rel=1e-6)
    lines = plan.lines("vi")
    assert any("19.94 km²" in line and "lệch" in line for line in lines)
    assert any("EPSG:9209" in line and "105°30'" in line for line in lines)
    assert len(ward_data.loaded_wards(engine)) == wards_before  # the dry run wrote nothing
    ward_id = setup.create_ward(engine, plan)
    try:
        row = ward_data.ward_by_id(engine, ward_id, boundary=True)
        assert (row["slug"], row["name"], row["province"], row["local_srid"]) == (
            "thach-khoi", "Phường Thạch Khôi", "Thành phố Hải Phòng", HAI_DUONG)
        assert shapely.hausdorff_distance(row["boundary"], WARD) < 1e-6
        assert ward_data.ward_id(engine, "thach-khoi") == ward_id
        assert HAI_DUONG in ward_data.local_srids(engine)
        # PostGIS measures in the new grid (its spatial_ref_sys row) as PROJ does
        summary = next(w for w in setup.list_wards(engine) if w["slug"] == "thach-khoi")
        assert summary["area_km2"] == pytest.approx(plan.area_km2, rel=1e-6) and summary["from_files"]
        shown = setup.show_ward(engine, "thach-khoi")
        assert shown["profile"]["boundary_source"]["epsg"] == HAI_DUONG
        assert shown["counts"]["establishment"] == 0
        stored = profiles.get("thach-khoi", bind=engine)   # the shipped file: its boundary comes from the database
        assert stored.boundary().equals_exact(row["boundary"], 1e-9)
        assert _counts(engine, demo_ward["id"]) == before
        with pytest.raises(GeomapError, match="set up from its own files"):  # the demo never replaces a real ward
            demo.load(engine, ward="thach-khoi")
        assert ward_data.ward_id(engine, "thach-khoi") == ward_id
        # the same boundary again: refused, as is the same slug
        with pytest.raises(setup.WardSetupError, match="Đã có phường mang mã .thach-khoi."):
            setup.plan_ward(engine, name="Phường Thạch Khôi", province="Hải Dương", boundary_path=path)
        with pytest.raises(setup.WardSetupError, match="trùng 100%"):
            setup.plan_ward(engine, name="Phường Khác", province="Hải Dương", boundary_path=path)
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


def test_a_ward_without_profile_file_gets_the_plan_defaults_from_the_database(engine, tmp_path):
    path = _geojson(tmp_path, [WARD], names=["Phường Thử Nghiệm"])
    plan = setup.plan_ward(engine, name="Phường Thử Nghiệm", province="Thành phố Hải Phòng", boundary_path=path,
                           slug="thu-nghiem-hp")
    assert plan.grid.epsg == HAI_PHONG and any("Hải Dương" in vi for vi, _ in plan.notes)
    ward_id = setup.create_ward(engine, plan)
    try:
        p = profiles.get("thu-nghiem-hp", bind=engine)
        assert p.local_srid == HAI_PHONG and p.province == "Thành phố Hải Phòng"
        assert p.target("digital_payment_share", 2026) == 0.50 and p.report_deadline_days["other"] == 10
        assert p.boundary().area == pytest.approx(WARD.area)
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


def test_a_failure_writes_nothing(engine, tmp_path):
    """The slug is checked again inside the transaction: a plan that became stale leaves no row."""
    plan = setup.plan_ward(engine, name="Phường Hai Lần", province="Hải Dương",
                           boundary_path=_geojson(tmp_path, [WARD]), slug="hai-lan")
    first = setup.create_ward(engine, plan)
    try:
        with pytest.raises(setup.WardSetupError, match="Đã có phường mang mã .hai-lan."):
            setup.create_ward(engine, plan)
        assert [w["slug"] for w in ward_data.loaded_wards(engine)].count("hai-lan") == 1
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": first})


# --- "Setting up your ward", the ward-creation part (the lead adds base layers and establishments) ----------

@pytest.fixture
def cli_db(monkeypatch, database_url):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)


def test_setting_up_your_ward_from_the_boundary_file(cli_db, engine, tmp_path, capsys):
    boundary = _shapefile_zip(tmp_path, _in_grid(WARD, HAI_DUONG), f"EPSG:{HAI_DUONG}", name="thach-khoi")
    profile = str(config.DATA_DIR / "profiles" / "thach-khoi.toml")
    args = ["ward", "create", "--name", "Phường Thạch Khôi", "--province", "Hải Phòng", "--boundary", str(boundary),
            "--profile", profile]
    assert cli.main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Chạy thử" in out and "EPSG:9209" in out and "km²" in out
    assert ward_data.ward_by_slug(engine, "thach-khoi") is None
    assert cli.main(args) == 0
    try:
        assert "Đã tạo phường Phường Thạch Khôi" in capsys.readouterr().out
        assert cli.main(["ward", "list"]) == 0
        assert "thach-khoi" in capsys.readouterr().out
        assert cli.main(["ward", "show", "thach-khoi", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["local_srid"] == HAI_DUONG and shown["official_area_km2"] == 19.94
        # a bad file: one clear sentence, exit 1, nothing written
        bad = _geojson(tmp_path, [box(2.33, 48.85, 2.36, 48.87)], name="paris.geojson")
        assert cli.main(["ward", "create", "--name", "Phường Xa", "--province", "Hải Phòng", "--boundary",
                         str(bad)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "paris.geojson" in err
        assert ward_data.ward_by_slug(engine, "xa") is None
        _then_base_layers_establishments_and_the_first_map(engine, tmp_path, capsys)
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM establishment WHERE ward_id IN "
                              "(SELECT id FROM ward WHERE slug = 'thach-khoi')"))
            c.execute(sa.text("DELETE FROM ward WHERE slug = 'thach-khoi'"))


def _then_base_layers_establishments_and_the_first_map(engine, tmp_path, capsys):
    """Steps 3–5 of "Setting up your ward" on files written here (not the demo generator): residential groups
    as points (tiled inside the boundary), the ward's streets, establishments with addresses and no
    coordinates, then the map's layer reads show them, each with its location quality."""
    import csv

    import layers
    from geomap import layer_reader

    ward_id = ward_data.ward_id(engine, "thach-khoi")
    # 3a. residential groups: one point each; geomap tiles the boundary between them
    points = [(LON0 + DLON * fx, LAT0 + DLAT * fy) for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75),
                                                                  (0.75, 0.75))]
    groups = tmp_path / "to-dan-pho.csv"
    with groups.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Mã tổ", "Tên tổ", "Kinh độ", "Vĩ độ"])
        for k, (x, y) in enumerate(points, 1):
            w.writerow([f"TK{k:02d}", f"Tổ {k}", x, y])
    assert cli.main(["import", "residential_groups", str(groups), "--ward", "thach-khoi", "--dry-run"]) == 0
    assert cli.main(["import", "residential_groups", str(groups), "--ward", "thach-khoi"]) == 0
    with engine.connect() as c:
        tiled = c.execute(sa.text("SELECT count(*), sum(ST_Area(geom::geography)) FROM residential_group "
                                  "WHERE ward_id = :w"), {"w": ward_id}).one()
    assert tiled[0] == 4 and tiled[1] == pytest.approx(WARD.area * 111_000 ** 2 * math.cos(math.radians(20.92)),
                                                       rel=0.02)  # the tiling covers the ward
    # 3b. the ward's named streets (here a GeoJSON the ward drew; an OSM extract works the same)
    main_street = LineString([(LON0 + 0.002, LAT0 + DLAT * 0.5), (LON0 + DLON - 0.002, LAT0 + DLAT * 0.5)])
    alley = LineString([(LON0 + DLON * 0.4, LAT0 + DLAT * 0.5), (LON0 + DLON * 0.4, LAT0 + DLAT * 0.6)])
    streets = _write(gpd.GeoDataFrame({"name": ["Nguyễn Lương Bằng", "Kiệt 90 Nguyễn Lương Bằng"]},
                                      geometry=[main_street, alley], crs="EPSG:4326"),
                     tmp_path / "duong-pho.geojson", "GeoJSON")
    assert cli.main(["import", "streets", str(streets), "--ward", "thach-khoi"]) == 0
    # 4. establishments from the ward's own list: addresses, no coordinates
    shops = tmp_path / "co-so.csv"
    with shops.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Mã cơ sở", "Tên cơ sở", "Loại hình", "Mã ngành VSIC", "Địa chỉ", "Tổ dân phố"])
        w.writerow(["TKH-1", "Quán Bánh Đa Cua", "Hộ kinh doanh", "5610", "K90/3 Nguyễn Lương Bằng", "Tổ 1"])
        w.writerow(["TKH-2", "Tạp hóa Hương", "Hộ kinh doanh", "4711", "25 Nguyễn Lương Bằng", "Tổ 2"])
        w.writerow(["TKH-3", "Sửa xe Minh", "Hộ kinh doanh", "4520", "Ngõ vắng không tên", "Tổ 4"])
    capsys.readouterr()
    assert cli.main(["import", "establishments", str(shops), "--ward", "thach-khoi", "--dry-run"]) == 0
    said = capsys.readouterr().out  # the dry run says how each row will be placed
    assert "Đặt trên Kiệt 90 Nguyễn Lương Bằng" in said and "Đặt trong Tổ 4 (vị trí gần đúng)" in said
    assert cli.main(["import", "establishments", str(shops), "--ward", "thach-khoi"]) == 0
    with engine.connect() as c:
        placed = dict(c.execute(sa.text("SELECT code, location_quality FROM establishment WHERE ward_id = :w"),
                                {"w": ward_id}).all())
    assert placed == {"TKH-1": "street", "TKH-2": "street", "TKH-3": "group"}
    # 5. the first map: the layers read what was imported, with the quality shown as a public field
    shown = layer_reader.read(engine, layers.get("establishments"), ward_id=ward_id, profile="public")
    assert sorted(shown["code"]) == ["TKH-1", "TKH-2", "TKH-3"] and shown.geometry.notna().all()
    assert set(shown["location_quality"]) == {"street", "group"}
    assert shown.geometry.within(WARD).all()
    groups_shown = layer_reader.read(engine, layers.get("residential_groups"), ward_id=ward_id, profile="public")
    assert len(groups_shown) == 4


def test_the_real_osm_boundaries_of_danang(engine, demo_ward):
    """The shipped OSM file of 15 Đà Nẵng wards: a ward is picked by name and measured in EPSG:5899; the demo
    ward's own boundary is refused as a second ward."""
    path = config.DATA_DIR / "boundaries" / "danang-wards-2025-osm.geojson"
    plan = setup.plan_ward(engine, name="Phường Hải Châu", province="Đà Nẵng", boundary_path=path)
    assert plan.boundary.features == 15 and plan.boundary.feature_name == "Phường Hải Châu"
    assert plan.grid.epsg == 5899 and plan.slug == "hai-chau"
    with pytest.raises(setup.WardSetupError, match=r"trùng 100% diện tích với Phường Hòa Cường \(mã hoa-cuong\)"):
        setup.plan_ward(engine, name="Phường Hòa Cường", province="Đà Nẵng", boundary_path=path, slug="hc-lan-hai")
