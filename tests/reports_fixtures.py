"""Shared set-up for the field-report tests: the Hòa Cường ward and points inside it."""

from __future__ import annotations

import importlib
import importlib.util
import math

import pytest
import sqlalchemy as sa

from geomap import profiles


def ensure_ward(request: pytest.FixtureRequest, engine) -> int:
    """The Hòa Cường ward: the demo ward when the demo loader exists, else the boundary alone."""
    if importlib.util.find_spec("geomap.demo") is not None and hasattr(importlib.import_module("geomap.demo"), "load"):
        return request.getfixturevalue("demo_ward")["id"]
    prof = profiles.get("hoa-cuong")
    with engine.begin() as c:
        found = c.execute(sa.text("SELECT id FROM ward WHERE slug = 'hoa-cuong'")).scalar()
        if found:
            return found
        return c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('hoa-cuong', :n, :p, 5899, "
            "ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"),
            {"n": prof.name, "p": prof.province, "g": prof.boundary().wkt}).scalar()


def inside_point() -> tuple[float, float]:
    """(lon, lat) of a point well inside the ward."""
    p = profiles.get("hoa-cuong").boundary().representative_point()
    return p.x, p.y


def offset(lonlat: tuple[float, float], metres_east: float) -> tuple[float, float]:
    return lonlat[0] + metres_east / (111_320 * math.cos(math.radians(lonlat[1]))), lonlat[1]
