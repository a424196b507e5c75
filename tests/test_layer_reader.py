"""The one reader of a registry layer: profiles, filters, paging and counting, on the export test ward."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from export_fixtures import BBOX, ESTABLISHMENTS, PERSONAL_VALUES
from export_fixtures import loaded as loaded_fixture
from sqlalchemy.engine import Engine

import layers
from geomap import layer_reader

EST = layers.get("establishments")
CODES = sorted(e[0] for e in ESTABLISHMENTS)


@pytest.fixture(scope="module")
def ward(engine):
    yield from loaded_fixture(engine)


class _Counts(dict):
    def put(self, key, value):
        self[key] = value


def test_public_profile_reads_no_personal_column(engine, ward):
    frame = layer_reader.read(engine, EST, profile="public", ward_id=ward["id"])
    personal = {f.name for f in EST.personal_fields}
    assert not personal & set(frame.columns)
    assert set(frame.columns) == {EST.id_field, "geometry", *(f.name for f in EST.public_fields)}
    assert not any(v in frame.astype(str).to_numpy() for v in PERSONAL_VALUES)
    assert sorted(frame["code"]) == CODES


def test_filters_on_stored_list_and_derived_fields(engine, ward):
    def codes(**where):
        return sorted(layer_reader.read(engine, EST, ward_id=ward["id"], where=where)["code"])

    assert codes(code=["TX-0001", "TX-0003"]) == ["TX-0001", "TX-0003"]
    assert codes(code=["TX-0004"]) == ["TX-0004"]
    assert codes(digital_payment=["cash", "e_wallet"]) == CODES  # a list field: any of the values
    assert codes(digital_payment=["cash"]) == []
    assert codes(food_safety_status=["violation"]) == ["TX-0002"]  # derived: after derivation
    assert codes(code=[]) == CODES  # nothing chosen: no filter


def test_the_three_geometry_encodings_agree(engine, ward):
    shapely_frame = layer_reader.read(engine, EST, profile="public", ward_id=ward["id"], sort="id")
    bulk = layer_reader.read(engine, EST, profile="public", ward_id=ward["id"], geometry="bulk", sort="id")
    rows = layer_reader.read(engine, EST, profile="public", ward_id=ward["id"], geometry="geojson", sort="id")
    assert list(shapely_frame["code"]) == list(bulk["code"]) == list(rows["code"])
    assert shapely_frame.geometry.equals(bulk.geometry)
    assert all('"Point"' in g for g in rows["__geometry"])


def test_pages_by_public_id_with_a_count_kept_by_the_caller(engine, ward):
    counts, statements = _Counts(), []

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    seen, after = [], None

    def columns(table):
        return layer_reader.table_columns(engine, table)

    sa.event.listen(Engine, "before_cursor_execute", spy)
    try:
        while True:
            page = layer_reader.read_page(engine, EST, "public", bbox=BBOX, limit=2, after=after, counts=counts,
                                          count_scope="test", columns_of=columns)
            assert page.matched == len(ESTABLISHMENTS)
            seen += list(page.frame["__fid"])
            if not page.has_more:
                break
            after = seen[-1]
    finally:
        sa.event.remove(Engine, "before_cursor_execute", spy)
    assert seen == CODES
    assert sum("AS __matched FROM" in s for s in statements) == 1  # counted once, from the table
    assert any('count(*) AS __matched FROM "establishment" WHERE' in s for s in statements)
