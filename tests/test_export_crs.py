"""VN-2000: EPSG operation, independent check of the datum shift, round trip within 1 mm, PostGIS agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geomap import crs

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


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(107.8, 108.6), lat=st.floats(15.8, 16.3))
def test_round_trip_to_wgs84_within_1mm(lon, lat):
    x, y = crs.transformer(4326, 5899).transform(lon, lat)
    lon2, lat2 = crs.transformer(5899, 4326).transform(x, y)
    dy = (lat2 - lat) * 111_320
    dx = (lon2 - lon) * 111_320 * math.cos(math.radians(lat))
    assert math.hypot(dx, dy) < 1e-3


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
