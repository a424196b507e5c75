"""Exports: round trips through GDAL for every format, no personal data in public, atomic writes."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from test_export_fixtures import ESTABLISHMENTS, PERSONAL_VALUES, SLUG
from test_export_fixtures import load as load_fixture

import layers
from geomap import crs, export
from geomap.export import lives, selection, writers
from geomap.export.selection import ExportError

FORMATS = list(export.FORMATS)
PERSONAL_FIELDS = {f.name for layer in layers.registry().values() for f in layer.personal_fields}


@pytest.fixture(scope="module")
def ward(engine):
    return load_fixture(engine)


def read_layer_back(path: Path, fmt: str, layer: str) -> pd.DataFrame:
    """Read one layer of an export back with GDAL (pyogrio); GeoParquet with pyarrow (no GDAL driver here)."""
    if fmt == "gpkg":
        return pyogrio.read_dataframe(path, layer=layer)
    if fmt == "xlsx":  # GDAL reads the sheet; geometry from its WKT column, as a user would
        frame = pyogrio.read_dataframe(path, layer=layer, HEADERS="FORCE")
        if "wkt" not in frame:  # GDAL cannot see the header of a sheet without data rows
            frame = pd.read_excel(path, sheet_name=layer, engine="openpyxl")
            assert frame.empty
        return gpd.GeoDataFrame(frame.drop(columns="wkt"), geometry=shapely.from_wkt(frame["wkt"]))
    if fmt == "geojson":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.geojson")
    if fmt == "csv":
        return pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.csv", GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO")
    if fmt == "parquet":
        with zipfile.ZipFile(path) as zf, zf.open(f"{layer}.parquet") as fh:
            return gpd.read_parquet(fh)
    if fmt == "shp":
        with zipfile.ZipFile(path) as zf:
            mapping = pd.read_csv(zf.open("field_names.csv"), encoding="utf-8-sig")
            stems = [n[:-4] for n in zf.namelist() if n.endswith(".shp") and n.startswith(layer)]
        frames = [pyogrio.read_dataframe(f"/vsizip/{path}/{stem}.shp") for stem in stems]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        mine = mapping[mapping.layer == layer]
        names = dict(zip(mine.shapefile_field, mine.field, strict=True))
        return frame.rename(columns=names)
    raise AssertionError(fmt)


def layer_names(path: Path, fmt: str) -> list[str]:
    if fmt in ("gpkg", "xlsx"):
        return [n for n, _ in pyogrio.list_layers(path) if n not in ("data_dictionary", "export_metadata", "metadata")]
    with zipfile.ZipFile(path) as zf:
        suffix = {"geojson": ".geojson", "csv": ".csv", "parquet": ".parquet", "shp": ".shp"}[fmt]
        stems = {n[: -len(suffix)] for n in zf.namelist() if n.endswith(suffix) and n != "data_dictionary.csv"
                 and n != "field_names.csv"}
    if fmt == "shp":
        stems = {s.rsplit("_", 1)[0] if s.endswith(("_point", "_line", "_polygon")) else s for s in stems}
    return sorted(stems)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_each_format(engine, ward, tmp_path, fmt):
    """Export, read back with GDAL: same features, same attributes, Vietnamese text intact (NFC)."""
    result = export.export(engine, layers=["establishments", "land_parcels"], fmt=fmt, ward=SLUG, dest=tmp_path)
    assert result.path.exists() and result.path.suffix in (".gpkg", ".zip", ".xlsx")
    back = read_layer_back(result.path, fmt, "establishments").sort_values("code").reset_index(drop=True)
    with engine.connect() as c:
        db = pd.read_sql(sa.text(
            "SELECT e.code, e.name, e.address, ST_X(e.geom) lon, ST_Y(e.geom) lat FROM establishment e JOIN ward w "
            "ON w.id = e.ward_id WHERE w.slug = :s ORDER BY e.code"), c, params={"s": SLUG})
    assert list(back["code"]) == list(db["code"])
    assert list(back["name"]) == list(db["name"])
    assert all(unicodedata.is_normalized("NFC", n) for n in back["name"])
    assert "Phở Hòa Cường — Bà Tư" in set(back["name"])
    assert list(back["address"]) == list(db["address"])
    assert set(back["digital_payment"]) == {"qr_bank;e_wallet"}
    assert set(back["licence_status"]) <= {"valid", "expiring", "expired", "missing"}
    geoms = gpd.GeoSeries(back.geometry) if "geometry" in back else None
    assert geoms is not None
    np.testing.assert_allclose(geoms.x, db["lon"], atol=1e-7)
    np.testing.assert_allclose(geoms.y, db["lat"], atol=1e-7)
    parcels = read_layer_back(result.path, fmt, "land_parcels")
    zones = {z for z in parcels["planning_zone"].dropna() if z != ""}  # CSV/XLSX cannot tell null from ""
    assert len(parcels) == 2 and zones == {"Phân khu Đông"}


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv", "xlsx", "parquet"])
def test_vn2000_export_matches_epsg_transformation(engine, ward, tmp_path, fmt):
    result = export.export(engine, layers=["establishments"], fmt=fmt, srid=5899, ward=SLUG, dest=tmp_path)
    back = read_layer_back(result.path, fmt, "establishments").sort_values("code")
    lon = np.array([e[3] for e in ESTABLISHMENTS])
    lat = np.array([e[4] for e in ESTABLISHMENTS])
    x, y = crs.transformer(4326, 5899).transform(lon, lat)
    geoms = gpd.GeoSeries(back.geometry)
    np.testing.assert_allclose(geoms.x, x, atol=1e-3)  # 1 mm
    np.testing.assert_allclose(geoms.y, y, atol=1e-3)
    assert 570_000 < geoms.x.min() < 590_000 and 1_725_000 < geoms.y.min() < 1_735_000
    assert result.metadata["crs"] == "EPSG:5899"
    steps = result.metadata["transformation"]["steps"]
    assert any("6960" in s.get("id", "") for s in steps), steps  # EPSG: VN-2000 to WGS 84 (2)


def _texts(path: Path, fmt: str) -> list[pd.DataFrame]:
    return [read_layer_back(path, fmt, name) for name in layer_names(path, fmt)]


def _personal_found(frames: list[pd.DataFrame]) -> set[str]:
    found = set()
    for frame in frames:
        found |= PERSONAL_FIELDS & set(frame.columns)
        text = [str(v) for v in frame.drop(columns=[c for c in frame.columns if c == "geometry"]).to_numpy().ravel()]
        for value in PERSONAL_VALUES:
            if any(value in cell for cell in text):
                found.add(value)
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_profile_has_no_personal_data(engine, ward, tmp_path, fmt):
    result = export.export(engine, fmt=fmt, ward=SLUG, dest=tmp_path, profile="public")
    frames = _texts(result.path, fmt)
    assert len(frames) == len([x for x in layers.registry().values() if x.publishable])
    assert _personal_found(frames) == set()
    assert not set(result.dictionary["field"]) & PERSONAL_FIELDS
    if fmt != "parquet" and fmt != "xlsx":  # compressed containers aside, not even a byte of it
        raw = result.path.read_bytes() if fmt == "gpkg" else b"".join(
            zipfile.ZipFile(result.path).read(n) for n in zipfile.ZipFile(result.path).namelist())
        for value in PERSONAL_VALUES:
            assert value.encode("utf-8") not in raw


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_internal_profile_keeps_personal_data(engine, ward, tmp_path, fmt):
    """The checker above does find personal data when it is there (so it can fail)."""
    result = export.export(engine, fmt=fmt, ward=SLUG, dest=tmp_path, profile="internal")
    found = _personal_found(_texts(result.path, fmt))
    assert {"owner_name", "phone", "reporter_name"} <= found
    assert "Nguyễn Thị Bí Mật" in found
    assert "Sử dụng nội bộ" in result.metadata["licence"]


def test_geopackage_carries_dictionary_metadata_and_descriptions(engine, ward, tmp_path):
    result = export.export(engine, fmt="gpkg", srid=5899, ward=SLUG, dest=tmp_path / "city.gpkg")
    names = [n for n, _ in pyogrio.list_layers(result.path)]
    assert {"data_dictionary", "export_metadata", "establishments", "ward_boundary"} <= set(names)
    dictionary = pyogrio.read_dataframe(result.path, layer="data_dictionary", read_geometry=False)
    row = dictionary[(dictionary.layer == "establishments") & (dictionary.field == "code")].iloc[0]
    assert row.label_vi == "Mã cơ sở" and row.description_en == "Identifier issued by the ward"
    assert "valid = Còn hiệu lực / Valid" in dictionary[dictionary.field == "licence_status"].iloc[0].code_values
    meta = dict(pyogrio.read_dataframe(result.path, layer="export_metadata", read_geometry=False)
                .set_index("key")["value"])
    assert meta["crs"] == "EPSG:5899" and meta["profile"] == "public"
    assert meta["layers.establishments.features"] == str(len(ESTABLISHMENTS))
    assert "VN-2000 to WGS 84" in json.loads(meta["transformation"])["operation"]
    assert "OpenStreetMap" in meta["layers.ward_boundary.licence"] and "ODbL" in meta["attribution"]
    assert meta["extracted_at"] and "establishment_overview" in meta["source"]
    con = sqlite3.connect(result.path)
    title = con.execute("SELECT title FROM gpkg_data_columns WHERE table_name = 'establishments' AND "
                        "column_name = 'fs_certificate_number'").fetchone()[0]
    con.close()
    assert title == "Số GCN ATTP / Food-safety certificate number"
    info = pyogrio.read_info(result.path, layer="establishments")
    assert info["crs"] == "EPSG:5899"


def test_shapefile_encoding_and_field_names(engine, ward, tmp_path):
    result = export.export(engine, fmt="shp", ward=SLUG, dest=tmp_path, profile="internal")
    with zipfile.ZipFile(result.path) as zf:
        assert zf.read("establishments.cpg").decode() == "UTF-8"
        mapping = pd.read_csv(zf.open("field_names.csv"), encoding="utf-8-sig")
        names = set(zf.namelist())
    assert {"infrastructure_point.shp", "infrastructure_line.shp"} <= names  # one file per geometry type
    assert mapping.shapefile_field.map(lambda n: len(n.encode())).max() <= 10
    est = mapping[mapping.layer == "establishments"]
    assert est.shapefile_field.is_unique
    assert "fs_certificate_expires_on" in set(est.field)
    frame = pyogrio.read_dataframe(f"/vsizip/{result.path}/establishments.shp")  # GDAL reads the .cpg
    assert "Phở Hòa Cường — Bà Tư" in set(frame["name"])
    assert pyogrio.read_info(f"/vsizip/{result.path}/establishments.shp")["encoding"] == "UTF-8"


def test_geojson_is_rfc7946_and_refuses_vn2000(engine, ward, tmp_path):
    with pytest.raises(ExportError, match="WGS84 only"):
        export.export(engine, fmt="geojson", srid=5899, ward=SLUG, dest=tmp_path)
    assert list(tmp_path.iterdir()) == []
    result = export.export(engine, fmt="geojson", layers=["establishments"], ward=SLUG, dest=tmp_path)
    doc = json.loads(zipfile.ZipFile(result.path).read("establishments.geojson"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946: no crs member, WGS84 lon/lat
    assert doc["features"][0]["geometry"]["coordinates"][0] > 100


def test_invalid_geometry_is_repaired_and_counted(engine, ward, tmp_path):
    result = export.export(engine, layers=["land_parcels"], fmt="gpkg", ward=SLUG, dest=tmp_path)
    counts = result.metadata["layers"][0]
    assert counts["invalid_geometries_fixed"] == 1
    back = pyogrio.read_dataframe(result.path, layer="land_parcels")
    assert shapely.is_valid(back.geometry.values).all()
    assert back.to_crs(5899).geometry.area.sum() > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"layers": ["nope"]}, "Unknown layer"),
    ({"layers": []}, "No layer chosen"),
    ({"fmt": "dwg"}, "Unknown format"),
    ({"srid": "EPSG:99999"}, "not a coordinate reference system"),
    ({"srid": "3405"}, "not offered"),
    ({"srid": "VN2000"}, "not a CRS code"),
    ({"profile": "secret"}, "Unknown profile"),
    ({"ward": "no-such-ward"}, "not loaded"),
])
def test_bad_requests_are_refused_clearly(engine, ward, tmp_path, kwargs, message):
    args = {"ward": SLUG, "dest": tmp_path, **kwargs}
    with pytest.raises(ExportError, match=message):
        export.export(engine, **args)
    assert list(tmp_path.iterdir()) == []


def test_unpublishable_layer_refused_in_public_profile():
    from layers.base import Field, Layer

    closed = Layer(name="secret", title_vi="Mật", title_en="Secret", source="x", geometry_type="Point",
                   fields=(Field("a", "A", "A"),), publishable=False)
    with pytest.raises(ExportError, match="may not be published"):
        selection.choose_layers({"secret": closed}, ["secret"], "public")
    assert selection.choose_layers({"secret": closed}, ["secret"], "internal") == [closed]
    with pytest.raises(ExportError, match="empty"):
        selection.choose_layers({"secret": closed}, None, "public")


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "xlsx"])
def test_failed_export_leaves_no_file(engine, ward, tmp_path, monkeypatch, fmt):
    real = writers.WRITERS[fmt]

    def half_then_fail(path, bundle):
        real(path, bundle)  # a complete-looking file at the temporary name...
        raise OSError("disk full")  # ...then the failure

    monkeypatch.setitem(writers.WRITERS, fmt, half_then_fail)
    dest = tmp_path / f"out{export.FORMATS[fmt][1]}"
    with pytest.raises(OSError, match="disk full"):
        export.export(engine, fmt=fmt, ward=SLUG, dest=dest)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_export(engine, ward, tmp_path, monkeypatch):
    dest = tmp_path / "city.gpkg"
    export.export(engine, fmt="gpkg", ward=SLUG, dest=dest, layers=["markets"])
    before = dest.read_bytes()

    def fail(path, bundle):
        path.write_bytes(b"partial")
        raise RuntimeError("boom")

    monkeypatch.setitem(writers.WRITERS, "gpkg", fail)
    with pytest.raises(RuntimeError):
        export.export(engine, fmt="gpkg", ward=SLUG, dest=dest)
    assert dest.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["city.gpkg"]


def test_shapefile_names_are_unique_and_short():
    names = selection.shapefile_names(["fs_certificate_number", "fs_certificate_issued_on",
                                       "fs_certificate_expires_on", "name", "NAME_LONGER_X"])
    assert len(set(n.lower() for n in names.values())) == 5
    assert all(len(n) <= 10 for n in names.values())
    assert names["name"] == "name"


def test_lives_feed_public_only(engine, ward, tmp_path):
    path = lives.export_lives(engine, SLUG, tmp_path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["businesses.csv", "feed_info.csv", "inspections.csv", "violations.csv"]
        tables = {n[:-4]: pd.read_csv(zf.open(n), dtype=str) for n in zf.namelist()}
        raw = b"".join(zf.read(n) for n in zf.namelist())
    b = tables["businesses"]
    assert list(b.columns[:4]) == ["business_id", "name", "address", "city"]
    assert "phone_number" not in b.columns
    for value in PERSONAL_VALUES:
        assert value.encode() not in raw
    assert "Cán bộ Kiểm Tra".encode() not in raw  # the inspector's name stays internal
    assert "Phở Hòa Cường — Bà Tư" in set(b["name"])
    assert set(tables["inspections"]["date"]) == {"20260504"}
    assert set(tables["inspections"]["type"]) <= {"initial", "routine", "followup", "complaint"}
    v = tables["violations"]
    assert list(v.columns) == ["business_id", "date", "code", "description"]
    assert (v["code"] == "ATTP-03").any()
    assert tables["feed_info"].iloc[0]["municipality_name"] == "Phường Thử Nghiệm Xuất"


def test_command_line_export(engine, database_url, ward, tmp_path, monkeypatch, capsys):
    from geomap import cli, config

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    assert cli.main(["export", "--ward", SLUG, "--crs", "EPSG:5899", "--layers", "establishments,land_parcels",
                     "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 invalid geometries repaired" in out and "6960" in out
    assert len(list(tmp_path.glob("*.gpkg"))) == 1
    assert cli.main(["export", "--ward", SLUG, "--layers", "nope", "--out", str(tmp_path)]) == 1
    assert "Unknown layer(s) nope" in capsys.readouterr().err


def test_internal_export_needs_the_permission_and_is_audited(engine, ward, tmp_path):
    from geomap.auth import PermissionDenied

    inspector = {"id": None, "username": "kt.test", "role": "inspector"}
    with pytest.raises(PermissionDenied):
        export.export(engine, fmt="gpkg", ward=SLUG, dest=tmp_path, profile="internal", user=inspector)
    assert list(tmp_path.iterdir()) == []
    officer = {"id": None, "username": "dl.test", "role": "data_officer"}
    result = export.export(engine, fmt="csv", ward=SLUG, dest=tmp_path, profile="internal", user=officer,
                           layers=["establishments"])
    with engine.connect() as c:
        entry = c.execute(sa.text("SELECT username, after FROM audit_log WHERE action = 'export' "
                                  "ORDER BY id DESC LIMIT 1")).one()
    assert entry.username == "dl.test"
    assert entry.after["file"] == result.path.name and entry.after["profile"] == "internal"
    assert entry.after["layers"] == {"establishments": len(ESTABLISHMENTS)}


def test_errors_are_in_vietnamese_and_english(engine, ward, tmp_path):
    with pytest.raises(ExportError) as info:
        export.export(engine, fmt="geojson", srid=5899, ward=SLUG, dest=tmp_path)
    assert "chỉ dùng WGS84" in info.value.message("vi") and "WGS84 only" in info.value.message("en")
