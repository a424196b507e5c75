"""VN-2000: EPSG operation, independent check of the datum shift, round trip within 1 mm, PostGIS agreement."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from export_fixtures import SLUG
from export_fixtures import loaded as loaded_fixture
from pyproj import Geod, Transformer

from geomap import crs, export

# Published parameters of "VN-2000 to WGS 84" (Decision 05/2007/QĐ-BTNMT; EPSG:6960), coordinate-frame
# convention. Test reference data only: the product takes them from PROJ's EPSG database.
TX, TY, TZ = -191.90441429, -39.30318279, -111.45032835
RX, RY, RZ = -0.00928836, 0.01975479, -0.00427372  # arc-seconds
DS_PPM = 0.252906278
A, F = 6378137.0, 1 / 298.257223563  # VN-2000 uses the WGS 84 ellipsoid
E2 = F * (2 - F)
ARCSEC = math.pi / (180 * 3600)

# points around Đà Nẵng (lon, lat)
POINTS = np.array([(108.2208, 16.0471), (108.15, 16.0), (108.30, 16.12), (107.9, 15.9), (108.24, 16.06)])


def _geodetic_to_ecef(lon, lat, h=0.0):
    lon, lat = np.radians(lon), np.radians(lat)
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.stack([(n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon),
                     (n * (1 - E2) + h) * np.sin(lat)])


def _ecef_to_geodetic(xyz):
    x, y, z = xyz
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - E2))
    for _ in range(10):
        n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1 - E2 * n / (n + h)))
    return np.degrees(lon), np.degrees(lat)


def _wgs84_to_vn2000_geographic(lon, lat, position_vector=False):
    """Inverse of the 7-parameter Helmert, written out independently of PROJ."""
    rx, ry, rz = RX * ARCSEC, RY * ARCSEC, RZ * ARCSEC
    r = np.array([[1, rz, -ry], [-rz, 1, rx], [ry, -rx, 1]])  # coordinate frame
    if position_vector:  # the sign mistake public code often makes
        r = r.T
    wgs = _geodetic_to_ecef(lon, lat)
    vn = np.linalg.solve((1 + DS_PPM * 1e-6) * r, wgs - np.array([[TX], [TY], [TZ]]))
    return _ecef_to_geodetic(vn)


def _vn2000_geographic_to_wgs84(lon, lat):
    """The 7-parameter Helmert forward (VN-2000 → WGS 84, coordinate frame), written out independently of PROJ."""
    rx, ry, rz = RX * ARCSEC, RY * ARCSEC, RZ * ARCSEC
    r = np.array([[1, rz, -ry], [-rz, 1, rx], [ry, -rx, 1]])
    vn = _geodetic_to_ecef(lon, lat)
    return _ecef_to_geodetic((1 + DS_PPM * 1e-6) * (r @ vn) + np.array([[TX], [TY], [TZ]]))


def _independent_from_5899(x, y):
    """EPSG:5899 grid → WGS 84: PROJ only for the map projection, the datum shift by hand."""
    projection = Transformer.from_crs("EPSG:5899", "EPSG:4756", always_xy=True)  # a conversion: no datum step
    return _vn2000_geographic_to_wgs84(*projection.transform(x, y))


def _independent_to_5899(lon, lat, position_vector=False):
    vlon, vlat = _wgs84_to_vn2000_geographic(lon, lat, position_vector)
    projection = Transformer.from_crs("EPSG:4756", "EPSG:5899", always_xy=True)  # a conversion: no datum step
    return projection.transform(vlon, vlat)


def test_operation_is_the_epsg_vn2000_helmert():
    info = crs.transformation_info(4326, 5899)
    assert "VN-2000 to WGS 84" in info["operation"]
    helmert = next(s for s in info["steps"] if "X-axis translation" in s.get("parameters", {}))
    assert helmert["id"].endswith("6960")
    assert "Coordinate Frame" in helmert["method"]
    assert helmert["parameters"]["Y-axis rotation"].startswith("0.01975479")
    projection = next(s for s in info["steps"] if s.get("method") == "Transverse Mercator")
    assert projection["parameters"]["Longitude of natural origin"].startswith("107.75")
    assert projection["parameters"]["Scale factor at natural origin"].startswith("0.9999")
    assert "6960" in crs.summary(4326, 5899)


def test_agrees_with_an_independent_pipeline_within_1mm():
    x, y = crs.transformer(4326, 5899).transform(POINTS[:, 0], POINTS[:, 1])
    ix, iy = _independent_to_5899(POINTS[:, 0], POINTS[:, 1])
    assert np.max(np.hypot(x - ix, y - iy)) < 1e-3


def test_the_rotation_sign_matters():
    """The independent check would catch a sign error: flipped rotations move points by decimetres."""
    x, y = crs.transformer(4326, 5899).transform(POINTS[:, 0], POINTS[:, 1])
    wx, wy = _independent_to_5899(POINTS[:, 0], POINTS[:, 1], position_vector=True)
    assert np.min(np.hypot(x - wx, y - wy)) > 0.2


def test_regression_pin_for_hoa_cuong():
    """A pinned value, not an external control point (none published was found): Hòa Cường centre
    (108.2208 E, 16.0471 N) as EPSG:6960 + TM-3 107-45 gave it and the independent pipeline confirmed;
    a change of PROJ data or of the chosen operation shows up here."""
    x, y = crs.transformer(4326, 5899).transform(108.2208, 16.0471)
    assert x == pytest.approx(550_180.287, abs=0.01)
    assert y == pytest.approx(1_774_847.841, abs=0.01)


@pytest.fixture(scope="module")
def ward(engine):
    yield from loaded_fixture(engine)


def _read_vertices(path, fmt: str, layer: str) -> dict[str, np.ndarray]:
    """Every vertex of every feature of an exported file, read back with GDAL, by feature code."""
    if fmt == "gpkg":
        frames = [pyogrio.read_dataframe(path, layer=layer)]
    else:  # zipped Shapefiles, one per geometry type
        with zipfile.ZipFile(path) as zf:
            stems = [n[:-4] for n in zf.namelist() if n.endswith(".shp") and n.startswith(layer)]
        frames = [pyogrio.read_dataframe(f"/vsizip/{path}/{stem}.shp") for stem in stems]
    out = {}
    for frame in frames:
        assert frame.crs.to_epsg() == 5899
        out.update({code: shapely.get_coordinates(g) for code, g in zip(frame["code"], frame.geometry, strict=True)})
    return out


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_round_trip_to_wgs84_within_1mm(engine, ward, tmp_path, fmt):
    """An exported EPSG:5899 file, read back with GDAL and taken to WGS 84 by PostGIS's ST_Transform and
    by the independent Helmert above, lands within 1 mm of the WGS 84 coordinates stored in the database.

    Unlike pyproj forward-then-inverse (an inverse undoes its own forward even with wrong rotation
    signs), this checks the file against two other implementations of the way back.
    """
    result = export.export(engine, layers=["establishments", "infrastructure"], fmt=fmt, srid=5899, ward=SLUG,
                           dest=tmp_path)
    geod = Geod(ellps="WGS84")
    checked = 0
    with engine.connect() as c:
        for layer, table in (("establishments", "establishment"), ("infrastructure", "infrastructure")):
            back = _read_vertices(result.path, fmt, layer)
            stored = {code: shapely.get_coordinates(shapely.from_wkb(bytes(wkb))) for code, wkb in c.execute(sa.text(
                f"SELECT code, ST_AsBinary(geom) FROM {table} WHERE ward_id = :w"), {"w": ward["id"]})}
            assert set(back) == set(stored) and stored, layer
            file_xy = np.concatenate([back[code] for code in sorted(stored)])
            db_lonlat = np.concatenate([stored[code] for code in sorted(stored)])
            assert file_xy.shape == db_lonlat.shape and file_xy[:, 0].min() > 500_000  # grid metres, not degrees
            postgis = np.array(c.execute(sa.text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT n, ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 5899), 4326) g "
                "FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, n)) s "
                "ORDER BY n"), {"xs": file_xy[:, 0].tolist(), "ys": file_xy[:, 1].tolist()}).all())
            ilon, ilat = _independent_from_5899(file_xy[:, 0], file_xy[:, 1])
            for lon, lat in ((postgis[:, 0], postgis[:, 1]), (ilon, ilat)):
                _, _, metres = geod.inv(lon, lat, db_lonlat[:, 0], db_lonlat[:, 1])
                assert np.max(np.abs(metres)) < 1e-3, (layer, np.max(np.abs(metres)))
            checked += len(file_xy)
    assert checked >= 7  # five establishments, a street light, a two-vertex drain


def test_independent_way_back_would_catch_a_wrong_file():
    """The comparison above can fail: grid coordinates made with flipped rotation signs miss by decimetres."""
    lon, lat = POINTS[:, 0], POINTS[:, 1]
    wx, wy = _independent_to_5899(lon, lat, position_vector=True)
    blon, blat = _independent_from_5899(wx, wy)
    _, _, metres = Geod(ellps="WGS84").inv(blon, blat, lon, lat)
    assert np.min(np.abs(metres)) > 0.2
    ok_lon, ok_lat = _independent_from_5899(*crs.transformer(4326, 5899).transform(lon, lat))
    assert np.max(np.abs(Geod(ellps="WGS84").inv(ok_lon, ok_lat, lon, lat)[2])) < 1e-3


def test_postgis_st_transform_agrees_within_1mm(conn):
    """The OGC API transforms in the database; files with pyproj: both give the same coordinates."""
    x, y = crs.transformer(4326, 5899).transform(POINTS[:, 0], POINTS[:, 1])
    for (lon, lat), ex, ey in zip(POINTS, x, y, strict=True):
        px, py = conn.execute(sa.text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 5899) g) s"),
            {"x": float(lon), "y": float(lat)}).one()
        assert math.hypot(px - ex, py - ey) < 1e-3


@pytest.mark.parametrize(("code", "srid"), [
    ("EPSG:5899", 5899), ("5899", 5899), (5899, 5899), ("http://www.opengis.net/def/crs/EPSG/0/5899", 5899),
    ("urn:ogc:def:crs:EPSG::4326", 4326), (crs.CRS84_URI, 4326), ("epsg:4326", 4326),
])
def test_parse_accepts_the_usual_spellings(code, srid):
    assert crs.parse(code, {4326, 5899}) == srid


@pytest.mark.parametrize(("code", "message"), [
    ("EPSG:99999", "not a coordinate reference system"), ("VN-2000", "not a CRS code"), ("", "not a CRS code"),
    ("EPSG:3405", "not offered"),
])
def test_parse_refuses_clearly(code, message):
    with pytest.raises(crs.InvalidCRS, match=message):
        crs.parse(code, {4326, 5899})


def test_axis_order_from_epsg():
    assert crs.is_lat_lon(4326) and not crs.is_lat_lon(5899)
