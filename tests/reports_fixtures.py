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


def assert_public_id_hides_row_id(public_id: str, row_id: int) -> None:
    """The tracking code is the random ``PA-XXXX-XXXX-XXXX`` form and carries no trace of the
    sequential database id (neither the id nor a zero-padded form of it appears in it)."""
    import re

    from geomap.field_reports import intake

    alphabet = re.escape(intake._PUBLIC_ALPHABET)
    assert re.fullmatch(rf"PA-[{alphabet}]{{4}}-[{alphabet}]{{4}}-[{alphabet}]{{4}}", public_id), public_id
    compact = public_id[3:].replace("-", "")
    for form in {str(row_id), f"{row_id:04d}", f"{row_id:012d}"}:
        assert form not in compact and form not in public_id.split("-"), (public_id, row_id)


def assert_not_sequential(first: tuple[int, str], second: tuple[int, str]) -> None:
    """Two reports stored one after the other (``(row id, public id)``): the later row id is larger,
    but the public codes share no structure: a code derived from a counter would differ in its last
    character or two, random 12-character codes differ in about 11.6 of 12 positions (fewer than 6:
    probability below 1e-7)."""
    (id_a, pub_a), (id_b, pub_b) = first, second
    assert id_b > id_a
    a, b = pub_a[3:].replace("-", ""), pub_b[3:].replace("-", "")
    assert len(a) == len(b) == 12
    differing = sum(x != y for x, y in zip(a, b, strict=True))
    assert differing >= 6, (pub_a, pub_b)
