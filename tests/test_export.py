"""Exports: round trips through GDAL for every format, no personal data in public, atomic writes."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import sqlite3
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from conftest import staff_user
from export_fixtures import ESTABLISHMENTS, PERSONAL_VALUES, SLUG
from export_fixtures import loaded as loaded_fixture
from pyproj import CRS

import layers
from geomap import crs, export, layer_reader
from geomap.export import lives, selection, writers
from geomap.export.selection import ExportError

FORMATS = list(export.FORMATS)
PERSONAL_FIELDS = {f.name for layer in layers.registry().values() for f in layer.personal_fields}


@pytest.fixture(scope="module")
def ward(engine):
    yield from loaded_fixture(engine)


def read_geoparquet(path: Path, layer: str) -> gpd.GeoDataFrame:
    """One GeoParquet file of a zipped export, read with pyarrow and decoded by hand from its ``geo``
    metadata (GeoParquet 1.x: primary column, WKB encoding, CRS as PROJJSON), not by geopandas."""
    with zipfile.ZipFile(path) as zf:
        table = pq.read_table(io.BytesIO(zf.read(f"{layer}.parquet")))
    geo = json.loads(table.schema.metadata[b"geo"])
    column = geo["primary_column"]
    assert geo["columns"][column]["encoding"] == "WKB"
    geometry = shapely.from_wkb(table.column(column).to_numpy(zero_copy_only=False))
    frame = table.drop_columns([column]).to_pandas()
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS.from_json_dict(geo["columns"][column]["crs"]))


def read_layer_back(path: Path, fmt: str, layer: str) -> pd.DataFrame:
    """Read one layer of an export back with GDAL (pyogrio); GeoParquet with pyarrow (see
    :func:`read_geoparquet`; GDAL too when it has the Parquet driver)."""
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
        return read_geoparquet(path, layer)
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


PUBLIC_LAYERS = [layer for layer in layers.registry().values() if layer.publishable]
#: formats where an empty text cannot be told from a missing one (CSV, XLSX cells; DBF has no null)
EMPTY_IS_NULL = {"csv", "xlsx", "shp"}
#: formats that carry time stamps as ISO 8601 text with the offset (DBF, CSV and Excel have no time zones)
DATETIME_AS_TEXT = {"csv", "xlsx", "shp"}


def _missing(value) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _expected_value(value, kind: str, fmt: str):
    """A database value (read by :func:`geomap.layer_reader.read`) as the export should carry it."""
    if kind == "list" and isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    if _missing(value):
        return None
    if kind in ("text", "list"):
        return None if value == "" and fmt in EMPTY_IS_NULL else str(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return round(float(value), 9)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        return value if type(value) is dt.date else pd.Timestamp(value).date()
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        assert stamp.tzinfo is not None
        return stamp.tz_convert("UTC").floor("ms")
    raise AssertionError(kind)


def _back_value(value, kind: str, fmt: str):
    """A value read back from ``fmt``, checked to have the type the format carries, canonicalised.

    CSV (GDAL's driver, no type guessing): every value is text, "" for null. Time stamps are
    ISO text with the offset in DBF/CSV/Excel. Otherwise the native type must come back:
    integers as integers, booleans as booleans, dates as dates (midnight time stamps in GDAL).
    """
    if fmt == "csv":
        assert isinstance(value, str), (kind, value)
        if value == "":
            return None
        if kind == "int":
            assert re.fullmatch(r"-?\d+", value), value
            return int(value)
        if kind == "float":
            return round(float(value), 9)
        if kind == "bool":
            assert value in ("True", "False"), value
            return value == "True"
        if kind == "date":
            return dt.date.fromisoformat(value)
    if kind == "list" and isinstance(value, (list, tuple, np.ndarray)):  # a JSON array (OGC API, through GDAL)
        value = ";".join(str(v) for v in value)
    if _missing(value):
        return None
    if kind in ("text", "list"):
        assert isinstance(value, str), (kind, value)
        return None if value == "" and fmt in EMPTY_IS_NULL else value
    if kind == "int":
        assert isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) or \
            isinstance(value, (float, np.floating)) and float(value).is_integer(), (kind, value)  # NaN upcast
        return int(value)
    if kind == "float":
        assert isinstance(value, (float, np.floating, int, np.integer)), (kind, value)
        return round(float(value), 9)
    if kind == "bool":
        assert isinstance(value, (bool, np.bool_)), (kind, value)
        return bool(value)
    if kind == "date":
        if type(value) is dt.date:
            return value
        stamp = pd.Timestamp(value)
        assert isinstance(value, (pd.Timestamp, np.datetime64, dt.datetime)) and stamp == stamp.normalize(), value
        return stamp.date()
    if kind == "datetime":
        assert isinstance(value, str) if fmt in DATETIME_AS_TEXT else isinstance(value, pd.Timestamp), (kind, value)
        stamp = pd.Timestamp(value)
        assert stamp.tzinfo is not None, value  # never a local time without its offset
        return stamp.tz_convert("UTC").floor("ms")
    raise AssertionError(kind)


def _rows(frame: pd.DataFrame, fields, convert, fmt: str) -> list[tuple]:
    """(canonical attribute values..., geometry) per feature, sorted by the attributes."""
    geoms = list(frame.geometry.values) if "geometry" in frame else [None] * len(frame)
    rows = [(*(convert(rec[f.name], f.kind, fmt) for f in fields), geom)
            for rec, geom in zip(frame.to_dict("records"), geoms, strict=True)]
    return sorted(rows, key=lambda r: repr(r[:-1]))


def assert_same_features(back: pd.DataFrame, expected: gpd.GeoDataFrame, layer, fmt: str) -> None:
    """Every public field of every feature, with the coercions ``fmt`` implies, and the geometry."""
    fields = [f for f in layer.public_fields if not f.personal]
    helpers = {"lon", "lat"} if fmt in ("csv", "xlsx") and layer.geometry_type == "Point" else set()
    if len(expected) or fmt != "geojson":  # an empty GeoJSON FeatureCollection has no field schema
        assert set(back.columns) - {"geometry"} == {f.name for f in fields} | helpers, layer.name
    got, want = _rows(back, fields, _back_value, fmt), _rows(expected, fields, _expected_value, fmt)
    assert len(got) == len(want), layer.name
    for g, w in zip(got, want, strict=True):
        assert dict(zip([f.name for f in fields], g[:-1], strict=True)) == \
            dict(zip([f.name for f in fields], w[:-1], strict=True)), layer.name
        if w[-1] is None or shapely.is_empty(w[-1]):
            assert g[-1] is None or shapely.is_empty(g[-1]), layer.name
        else:  # 7 decimals in GeoJSON (RFC 7946), CSV and Excel WKT: 1e-7 degrees is about 1 cm
            assert shapely.hausdorff_distance(g[-1], w[-1]) <= 1e-7, (layer.name, g[-1].wkt, w[-1].wkt)
    if helpers:
        points = shapely.get_coordinates(np.asarray(back.geometry.values))
        np.testing.assert_allclose(pd.to_numeric(back["lon"]), points[:, 0], atol=1e-7)
        np.testing.assert_allclose(pd.to_numeric(back["lat"]), points[:, 1], atol=1e-7)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_each_format(engine, ward, tmp_path, fmt):
    """Export every public layer, read each back with GDAL: same features, all public attributes with
    the types the format carries (dates, booleans, integers, floats, time stamps), Vietnamese text
    intact (NFC), same geometries; GeoParquet with pyarrow (and GDAL when it has the driver)."""
    result = export.export(engine, fmt=fmt, ward=SLUG, dest=tmp_path)
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
    assert sorted(layer_names(result.path, fmt)) == sorted(layer.name for layer in PUBLIC_LAYERS)
    gdal_parquet = fmt == "parquet" and "Parquet" in pyogrio.list_drivers()
    for layer in PUBLIC_LAYERS:
        with engine.connect() as c:
            expected = layer_reader.read(c, layer, ward_id=ward["id"],
                                          columns=[f.name for f in layer.public_fields if not f.derived])
        assert_same_features(read_layer_back(result.path, fmt, layer.name), expected, layer, fmt)
        if gdal_parquet:
            assert_same_features(pyogrio.read_dataframe(f"/vsizip/{result.path}/{layer.name}.parquet"), expected,
                                 layer, fmt)
    populated = {x["name"] for x in result.metadata["layers"] if x["features"]}
    assert {"establishments", "infrastructure", "land_parcels", "residential_groups", "field_reports",
            "ward_boundary"} <= populated  # the fixture gives every field kind rows to compare


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


LIVES_FILES = ["businesses.csv", "feed_info.csv", "inspections.csv", "violations.csv"]


def test_lives_feed_public_only(engine, ward, tmp_path):
    path = lives.export_lives(engine, SLUG, tmp_path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted([*LIVES_FILES, "data_dictionary.csv", "metadata.json"])
        tables = {n[:-4]: pd.read_csv(zf.open(n), dtype=str) for n in LIVES_FILES}
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


def test_lives_feed_carries_dictionary_metadata_and_is_audited(engine, ward, tmp_path):
    """Like every export: a vi/en description of every column of every file, metadata, an audit-log entry."""
    now = dt.datetime(2026, 6, 30, 1, 2, 3, tzinfo=dt.UTC)
    officer = staff_user("data_officer", "lives.test")
    path = lives.export_lives(engine, SLUG, tmp_path / "feed.zip", user=officer, now=now)
    assert path == tmp_path / "feed.zip"
    with zipfile.ZipFile(path) as zf:
        columns = {(n[:-4], c) for n in LIVES_FILES for c in pd.read_csv(zf.open(n), dtype=str, nrows=0).columns}
        rows = {n[:-4]: len(pd.read_csv(zf.open(n), dtype=str)) for n in LIVES_FILES}
        dictionary = pd.read_csv(zf.open("data_dictionary.csv"), encoding="utf-8-sig", dtype=str,
                                 keep_default_na=False)
        meta = json.loads(zf.read("metadata.json"))
    assert set(zip(dictionary["layer"], dictionary["field"], strict=True)) == columns
    assert len(dictionary) == len(columns)
    for col in ("label_vi", "label_en", "description_vi", "description_en"):
        assert (dictionary[col].str.strip() != "").all(), col
    by_field = dictionary.set_index(["layer", "field"])
    assert by_field.loc[("businesses", "business_id"), "label_vi"] == "Mã cơ sở"
    assert "YYYYMMDD" in by_field.loc[("inspections", "date"), "description_en"]
    assert "routine = Kiểm tra định kỳ hoặc đột xuất / Routine" in by_field.loc[("inspections", "type"), "code_values"]
    # a column's code list names codes the file holds; "description" holds "vi / en" labels, so it has none
    assert by_field.loc[("inspections", "description"), "code_values"] == ""
    with zipfile.ZipFile(path) as zf:
        for (layer, field), listed in by_field["code_values"].items():
            if listed:
                codes = {item.split(" = ")[0] for item in listed.split("; ")}
                values = set(pd.read_csv(zf.open(f"{layer}.csv"), dtype=str)[field].dropna())
                assert values <= codes, (layer, field, values - codes)
    assert meta["ward"] == {"slug": SLUG, "name": "Phường Thử Nghiệm Xuất", "province": "Thành phố Đà Nẵng"}
    assert meta["format"] == "lives" and meta["profile"] == "public" and meta["crs"] == "EPSG:4326"
    assert meta["extracted_at"] == "2026-06-30T01:02:03+00:00"
    assert meta["licence"] == selection.PUBLIC_LICENCE and "inspection" in meta["source"]
    assert {x["name"]: x["features"] for x in meta["layers"]} == rows
    with engine.connect() as c:
        food = c.execute(sa.text("SELECT count(*) FROM establishment e JOIN ward w ON w.id = e.ward_id JOIN industry i "
                                 "ON i.vsic_code = e.vsic_code WHERE w.slug = :s AND i.food_safety_applicable"),
                         {"s": SLUG}).scalar()
    assert rows["businesses"] == rows["inspections"] == food > 0 and rows["violations"] == 1
    with engine.connect() as c:
        entry = c.execute(sa.text("SELECT username, after FROM audit_log WHERE action = 'export' "
                                  "ORDER BY id DESC LIMIT 1")).one()
    assert entry.username == "lives.test"
    assert entry.after["file"] == "feed.zip" and entry.after["format"] == "lives" and entry.after["ward"] == SLUG
    assert entry.after["layers"] == rows


@pytest.mark.parametrize("out", ["feed/", "feed", "nested/feed/"])
def test_lives_destination_folder_is_created_not_a_file(engine, database_url, ward, tmp_path, monkeypatch, capsys,
                                                         out):
    """``geomap export lives --out feed/`` (or ``feed``) writes lives_<ward>_<date>.zip into a new folder."""
    from geomap import cli, config

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", "lives", "--ward", SLUG, "--out", out]) == 0
    folder = tmp_path / out.rstrip("/")
    assert folder.is_dir()
    written = list(folder.iterdir())
    assert len(written) == 1 and written[0].name.startswith(f"lives_{SLUG}_") and written[0].suffix == ".zip"
    assert f"written: {written[0].relative_to(tmp_path)}\n" in capsys.readouterr().out
    with zipfile.ZipFile(written[0]) as zf:
        assert set(LIVES_FILES) <= set(zf.namelist())


def test_destination_resolution():
    assert export.resolve_dest("out/feed.zip", "x.zip", (".zip",)) == Path("out/feed.zip")
    assert export.resolve_dest("out/feed.ZIP", "x.zip", (".zip",)) == Path("out/feed.ZIP")
    assert export.resolve_dest("out/feed", "x.zip", (".zip",)) == Path("out/feed/x.zip")
    assert export.resolve_dest("out/feed.d/", "x.zip", (".zip",)) == Path("out/feed.d/x.zip")
    assert export.resolve_dest("city.gpkg", "x.gpkg") == Path("city.gpkg")
    assert export.resolve_dest("exports", "x.gpkg") == Path("exports/x.gpkg")
    assert export.resolve_dest("exports.v2/", "x.gpkg") == Path("exports.v2/x.gpkg")
    assert export.resolve_dest(".", "x.gpkg") == Path("x.gpkg")


def test_existing_file_without_suffix_is_the_target_not_a_folder(engine, ward, tmp_path):
    """``--out feed`` where ``feed`` is already a file: that file is replaced (it used to raise
    FileExistsError from mkdir); ``feed/`` says clearly that it is a file; a file in the way of a
    folder to create is an ExportError, not a traceback."""
    existing = tmp_path / "feed"
    existing.write_bytes(b"old")
    assert export.resolve_dest(existing, "x.zip", (".zip",)) == existing
    assert export.resolve_dest(str(existing), "x.gpkg") == existing
    path = lives.export_lives(engine, SLUG, existing)
    assert path == existing and zipfile.is_zipfile(existing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed"]  # no partial file left over
    with pytest.raises(ExportError) as err:
        export.resolve_dest(f"{existing}/", "x.zip", (".zip",))
    assert "is a file, not a folder" in err.value.message("en") and "là một tệp" in err.value.message("vi")
    with pytest.raises(ExportError) as err:
        lives.export_lives(engine, SLUG, existing / "sub" / "feed.zip")
    assert "a file of that name is in the way" in err.value.message("en")


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

    inspector = staff_user("inspector", "kt.test")
    with pytest.raises(PermissionDenied):
        export.export(engine, fmt="gpkg", ward=SLUG, dest=tmp_path, profile="internal", user=inspector)
    assert list(tmp_path.iterdir()) == []
    officer = staff_user("data_officer", "dl.test")
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
