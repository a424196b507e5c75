"""CQL2 filtering of the OGC API (Features Part 3): text and JSON forms, personal and unknown fields
refused, injection harmless, bounds, queryables, conformance, and GDAL pushing its filter down."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import ogc_fixtures
import pyogrio
import pyproj
import pytest
import sqlalchemy as sa
from export_fixtures import BBOX, ESTABLISHMENTS, OWNER, PERSONAL_VALUES
from staff_app import free_port

from geomap import crs, layer_reader
from geomap.ogc import cql2

# the OGC tests' module fixtures: the test ward, a client of the public service, an internal key
ward, client, internal_key = ogc_fixtures.ward, ogc_fixtures.client, ogc_fixtures.internal_key

ITEMS = "/ogc/collections/establishments/items"
HERE = ",".join(map(str, BBOX))  # only the test ward's features
ALL = {e[0] for e in ESTABLISHMENTS}
EPSG_5899 = "http://www.opengis.net/def/crs/EPSG/0/5899"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
BOX = (108.5225, 15.6425, 108.5255, 15.6455)  # holds TX-0003 and TX-0004


def _prop(name):
    return {"property": name}


def _ts(text):
    return {"timestamp": text}


def _box_polygon(x1, y1, x2, y2):
    return f"POLYGON(({x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}))"


#: (cql2-text, cql2-json, the codes of the test ward it selects)
TABLE = [
    ("vsic_code = '5610'", {"op": "=", "args": [_prop("vsic_code"), "5610"]}, {"TX-0001", "TX-0004"}),
    ("vsic_code <> '5610'", {"op": "<>", "args": [_prop("vsic_code"), "5610"]}, {"TX-0002", "TX-0003", "TX-0005"}),
    ("updated_at > TIMESTAMP('2026-05-01T00:00:00Z')",
     {"op": ">", "args": [_prop("updated_at"), _ts("2026-05-01T00:00:00Z")]}, {"TX-0003", "TX-0004", "TX-0005"}),
    ("updated_at <= TIMESTAMP('2026-03-01T08:00:00Z')",
     {"op": "<=", "args": [_prop("updated_at"), _ts("2026-03-01T08:00:00Z")]}, {"TX-0001", "TX-0002"}),
    ("vsic_code IN ('4711', '5630')", {"op": "in", "args": [_prop("vsic_code"), ["4711", "5630"]]},
     {"TX-0002", "TX-0003", "TX-0005"}),
    ("vsic_code NOT IN ('4711', '5630')",
     {"op": "not", "args": [{"op": "in", "args": [_prop("vsic_code"), ["4711", "5630"]]}]}, {"TX-0001", "TX-0004"}),
    ("name LIKE 'Bánh%'", {"op": "like", "args": [_prop("name"), "Bánh%"]}, {"TX-0004"}),
    ("name LIKE '%\"Ốc\"%'", {"op": "like", "args": [_prop("name"), '%"Ốc"%']}, {"TX-0005"}),
    ("CASEI(code) = CASEI('tx-0003')", {"op": "=", "args": [{"op": "casei", "args": [_prop("code")]},
                                                           {"op": "casei", "args": ["tx-0003"]}]}, {"TX-0003"}),
    ("updated_at BETWEEN TIMESTAMP('2026-02-01T00:00:00Z') AND TIMESTAMP('2026-07-01T00:00:00Z')",
     {"op": "between", "args": [_prop("updated_at"), _ts("2026-02-01T00:00:00Z"), _ts("2026-07-01T00:00:00Z")]},
     {"TX-0002", "TX-0003"}),
    ("last_inspection_result = 'violation'", {"op": "=", "args": [_prop("last_inspection_result"), "violation"]},
     {"TX-0002"}),
    ("fs_certificate_revoked_on IS NULL", {"op": "isNull", "args": [_prop("fs_certificate_revoked_on")]}, ALL),
    ("fs_certificate_number IS NOT NULL AND code = 'TX-0001'",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "isNull", "args": [_prop("fs_certificate_number")]}]},
                            {"op": "=", "args": [_prop("code"), "TX-0001"]}]}, {"TX-0001"}),
    ("S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))".format(*BOX),
     {"op": "s_intersects", "args": [_prop("geometry"), {"bbox": list(BOX)}]}, {"TX-0003", "TX-0004"}),
    (f"S_WITHIN(geometry, {_box_polygon(108.52, 15.64, 108.5235, 15.6435)})",
     {"op": "s_within", "args": [_prop("geometry"), {"type": "Polygon", "coordinates": [[
         [108.52, 15.64], [108.5235, 15.64], [108.5235, 15.6435], [108.52, 15.6435], [108.52, 15.64]]]}]},
     {"TX-0001", "TX-0002", "TX-0003"}),
    ("S_DISJOINT(geometry, BBOX({}, {}, {}, {}))".format(*BOX),
     {"op": "s_disjoint", "args": [_prop("geometry"), {"bbox": list(BOX)}]}, {"TX-0001", "TX-0002", "TX-0005"}),
    ("S_EQUALS(geometry, POINT(108.5262 15.646))",
     {"op": "s_equals", "args": [_prop("geometry"), {"type": "Point", "coordinates": [108.5262, 15.646]}]},
     {"TX-0005"}),
    ("T_AFTER(updated_at, TIMESTAMP('2026-08-01T00:00:00Z'))",
     {"op": "t_after", "args": [_prop("updated_at"), _ts("2026-08-01T00:00:00Z")]}, {"TX-0004", "TX-0005"}),
    ("T_BEFORE(updated_at, TIMESTAMP('2026-02-01T00:00:00Z'))",
     {"op": "t_before", "args": [_prop("updated_at"), _ts("2026-02-01T00:00:00Z")]}, {"TX-0001"}),
    ("T_DURING(updated_at, INTERVAL('2026-02-01T00:00:00Z', '2026-06-15T00:00:00Z'))",
     {"op": "t_during", "args": [_prop("updated_at"), {"interval": ["2026-02-01T00:00:00Z", "2026-06-15T00:00:00Z"]}]},
     {"TX-0002", "TX-0003"}),
    ("T_INTERSECTS(updated_at, INTERVAL('2026-09-01T08:00:00Z', '2026-12-31T00:00:00Z'))",
     {"op": "t_intersects", "args": [_prop("updated_at"), {"interval": ["2026-09-01T08:00:00Z", ".."]}]},
     {"TX-0004", "TX-0005"}),
    ("NOT (vsic_code = '5610') AND updated_at < TIMESTAMP('2026-07-01T00:00:00Z')",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "=", "args": [_prop("vsic_code"), "5610"]}]},
                            {"op": "<", "args": [_prop("updated_at"), _ts("2026-07-01T00:00:00Z")]}]},
     {"TX-0002", "TX-0003"}),
    ("(vsic_code = '5630' OR code = 'TX-0005') AND S_INTERSECTS(geometry, POINT(108.5262 15.646))",
     {"op": "and", "args": [{"op": "or", "args": [{"op": "=", "args": [_prop("vsic_code"), "5630"]},
                                                  {"op": "=", "args": [_prop("code"), "TX-0005"]}]},
                            {"op": "s_intersects", "args": [_prop("geometry"),
                                                            {"type": "Point", "coordinates": [108.5262, 15.646]}]}]},
     {"TX-0005"}),
    ("digital_payment = 'qr_bank' AND code = 'TX-0002'",
     {"op": "and", "args": [{"op": "=", "args": [_prop("digital_payment"), "qr_bank"]},
                            {"op": "=", "args": [_prop("code"), "TX-0002"]}]}, {"TX-0002"}),
]



def _codes(client, params, headers=None):
    r = client.get(ITEMS, params={"bbox": HERE, "limit": 1000, **params}, headers=headers or {})
    assert r.status_code == 200, r.text
    body = r.json()
    codes = {f["properties"]["code"] for f in body["features"]}
    assert body["numberMatched"] == len(codes)
    return codes


@pytest.mark.parametrize(("text", "as_json", "expected"), TABLE, ids=[row[0][:50] for row in TABLE])
def test_cql2_table_text_and_json(client, text, as_json, expected):
    """Each row selects the same features written as cql2-text and as cql2-json, and exactly the expected ones."""
    assert _codes(client, {"filter": text}) == expected
    assert _codes(client, {"filter": json.dumps(as_json), "filter-lang": "cql2-json"}) == expected
    assert _codes(client, {"filter": text, "filter-lang": "cql2-text"}) == expected


def test_filter_combines_with_bbox_property_filters_datetime_and_paging(client):
    assert _codes(client, {"filter": "vsic_code IN ('4711', '5610')", "vsic_code": "4711"}) == {"TX-0003", "TX-0005"}
    assert _codes(client, {"filter": "vsic_code = '4711'", "datetime": "2026-09-15T00:00:00Z/.."}) == {"TX-0005"}
    # the next link keeps the filter: paging one by one visits exactly the match
    url, seen = ITEMS, []
    params = {"filter": "vsic_code <> '5610'", "limit": 1, "bbox": HERE}
    while url:
        body = client.get(url, params=params).json()
        seen += [f["properties"]["code"] for f in body["features"]]
        assert body["numberMatched"] == 3
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        url, params = (nxt[0], None) if nxt else (None, None)
    assert sorted(seen) == ["TX-0002", "TX-0003", "TX-0005"]


def test_filter_crs_carries_geometries_in_the_local_grid_and_lat_lon_order(client):
    to_vn = pyproj.Transformer.from_crs(4326, 5899, always_xy=True)
    (x1, x2), (y1, y2) = to_vn.transform([BOX[0], BOX[2]], [BOX[1], BOX[3]])
    local = f"S_INTERSECTS(geometry, {_box_polygon(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))})"
    assert _codes(client, {"filter": local, "filter-crs": EPSG_5899}) == {"TX-0003", "TX-0004"}
    # without filter-crs the same numbers are read as longitudes/latitudes: nothing there
    assert _codes(client, {"filter": local}) == set()
    lat_lon = f"S_INTERSECTS(geometry, {_box_polygon(BOX[1], BOX[0], BOX[3], BOX[2])})"
    assert _codes(client, {"filter": lat_lon, "filter-crs": EPSG_4326}) == {"TX-0003", "TX-0004"}
    assert _codes(client, {"filter": lat_lon, "filter-crs": crs.CRS84_URI}) == set()
    far = "S_INTERSECTS(geometry, POINT(1e30 1e30))"
    r = client.get(ITEMS, params={"filter": far, "filter-crs": EPSG_5899})
    assert r.status_code == 400 and "outside the domain" in r.json()["description"]
    r = client.get(ITEMS, params={"filter": local, "filter-crs": "EPSG:3405"})
    assert r.status_code == 400 and "filter-crs" in r.json()["description"]


PERSONAL_SPELLINGS = [
    ("owner_name = 'x'", None),
    ("OWNER_NAME LIKE '%'", None),
    ('"Owner_Name" IS NOT NULL', None),
    ("phone IN ('0905123456')", None),
    ("CASEI(Email) = CASEI('bi.mat@example.vn')", None),
    ('"owner_id_number" = \'048199001234\'', None),
    ({"op": "=", "args": [_prop("owner_name"), OWNER]}, "cql2-json"),
    ({"op": "isNull", "args": [_prop(" PHONE ")]}, "cql2-json"),
    ({"op": "like", "args": [_prop("ｏｗｎｅｒ_ｎａｍｅ"), "%"]}, "cql2-json"),  # full-width letters
    ({"op": "=", "args": ["x", _prop("Owner_Id_Number")]}, "cql2-json"),
]


@pytest.mark.parametrize(("expression", "lang"), PERSONAL_SPELLINGS, ids=[str(p[0])[:40] for p in PERSONAL_SPELLINGS])
def test_personal_fields_are_refused_in_the_public_profile_whatever_the_spelling(client, expression, lang):
    params = {"filter": expression if isinstance(expression, str) else json.dumps(expression, ensure_ascii=False)}
    if lang:
        params["filter-lang"] = lang
    r = client.get(ITEMS, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue" and "personal" in r.json()["description"]
    assert not any(v in r.text for v in PERSONAL_VALUES)


def test_the_internal_profile_filters_on_personal_and_internal_fields(client, internal_key):
    key = {"X-API-Key": internal_key}
    assert _codes(client, {"filter": f"owner_name = '{OWNER}' AND code = 'TX-0004'"}, key) == {"TX-0004"}
    assert _codes(client, {"filter": "tax_code IS NULL AND code = 'TX-0001'"}, key) == {"TX-0001"}


@pytest.mark.parametrize("expression", [
    "tax_code = '1'",  # an internal field, not public
    "employees > 3",
    "nosuch = 'x'",
    "licence_status = 'valid'",  # computed (a status): name=value instead
    "vsic_code.x = 1",
    '"name) OR (1=1" = \'x\'',
])
def test_unknown_fields_are_refused(client, expression):
    r = client.get(ITEMS, params={"filter": expression})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue"
    assert "queryable" in r.json()["description"] or "computed" in r.json()["description"]


@pytest.mark.parametrize(("params", "words"), [
    ({"filter": "name = "}, "character 6"),
    ({"filter": "name == 'x'"}, "character"),
    ({"filter": "name = 'x"}, "character"),
    ({"filter": "name = 1"}, "not a text"),
    ({"filter": "updated_at > 'soon'"}, "not a datetime"),
    ({"filter": "S_INTERSECTS(name, POINT(1 2))"}, "geometry"),
    ({"filter": "S_INTERSECTS(geometry, POINT(1 2)) OR"}, "character"),
    ({"filter": "T_AFTER(name, TIMESTAMP('2026-01-01T00:00:00Z'))"}, "temporal"),
    ({"filter": "T_MEETS(updated_at, TIMESTAMP('2026-01-01T00:00:00Z'))"}, "instant"),
    ({"filter": "name LIKE 3"}, "pattern"),
    ({"filter": '{"op": "=", "args": [{"property": "name"}', "filter-lang": "cql2-json"}, "not JSON at character"),
    ({"filter": '{"op": "frobnicate", "args": []}', "filter-lang": "cql2-json"}, "cannot be read"),
    ({"filter": '{"op": "=", "args": "name"}', "filter-lang": "cql2-json"}, "args"),
    ({"filter": '"just a string"', "filter-lang": "cql2-json"}, "not a condition"),
    ({"filter": "name = 'x'", "filter-lang": "ecql"}, "filter-lang"),
    ({"filter-lang": "cql2-text"}, "without filter"),
    ({"filter-crs": EPSG_5899}, "without filter"),
    ({"filter": "   "}, "empty"),
])
def test_malformed_filters_say_where_they_fail(client, params, words):
    r = client.get(ITEMS, params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and words in body["description"], body


def test_quotes_inside_text_literals_are_doubled(client):
    """CQL2 writes a quote inside a string as two (as GDAL and QGIS send it): read as one quote, bound as a value."""
    assert _codes(client, {"filter": "name = 'O''Brien' OR name = 'Phở Hòa Cường — Bà Tư'"}) == {"TX-0001"}
    assert _codes(client, {"filter": "name = 'x'' OR ''1''=''1'"}) == set()


def test_injection_attempts_are_harmless(client, engine):
    with engine.connect() as c:
        before = c.execute(sa.text("SELECT count(*) FROM establishment")).scalar()
    for text in ["name = 'x''; DROP TABLE establishment; --'", "name = 'a; DROP TABLE establishment; --'",
                 "name = '/* comment */ x' OR code = 'TX-0001'", "name LIKE '%'')--'",
                 "name = '\\' OR 1=1 --'", "code = 'TX-0001' -- AND 1=1"]:
        r = client.get(ITEMS, params={"filter": text, "bbox": HERE})
        assert r.status_code in (200, 400), (text, r.text)
        if r.status_code == 200:  # read as one string: matched nothing (or only what the rest says)
            assert {f["properties"]["code"] for f in r.json()["features"]} <= {"TX-0001"}, text
    for payload in [{"op": "=", "args": [_prop('name" = name OR "1'), "x"]},
                    {"op": "=", "args": [_prop("name"), "x'; DELETE FROM establishment; --"]},
                    {"op": "s_intersects",
                     "args": [_prop("geometry"), {"type": "Point", "coordinates": ["1); --", 2]}]}]:
        r = client.get(ITEMS, params={"filter": json.dumps(payload), "filter-lang": "cql2-json", "bbox": HERE})
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200:
            assert r.json()["features"] == []
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM establishment")).scalar() == before


def test_long_and_deep_filters_are_refused_with_the_limits_stated(client):
    long_text = "name = '" + "x" * cql2.MAX_LENGTH + "'"
    r = client.get(ITEMS, params={"filter": long_text})
    assert r.status_code == 400 and "4,000" in r.json()["description"]
    deep = "(" * (cql2.MAX_DEPTH + 1) + "name = 'x'" + ")" * (cql2.MAX_DEPTH + 1)
    r = client.get(ITEMS, params={"filter": deep})
    assert r.status_code == 400 and f"{cql2.MAX_DEPTH} levels" in r.json()["description"]
    # no parentheses, yet deep: AND and OR alternate (left to right, so each one nests the previous)
    mixed = "code = 'a'" + "".join(f" {'AND' if i % 2 else 'OR'} code = 'b{i}'" for i in range(cql2.MAX_DEPTH + 2))
    r = client.get(ITEMS, params={"filter": mixed})
    assert r.status_code == 400 and f"deeper than {cql2.MAX_DEPTH} levels" in r.json()["description"]
    node: dict = {"op": "=", "args": [_prop("name"), "x"]}
    for _ in range(cql2.MAX_DEPTH + 1):
        node = {"op": "not", "args": [node]}
    r = client.get(ITEMS, params={"filter": json.dumps(node), "filter-lang": "cql2-json"})
    assert r.status_code == 400 and f"{cql2.MAX_DEPTH} levels" in r.json()["description"]
    # a long chain of ORs is not deep: QGIS sends selections that way
    chain = " OR ".join(f"code = 'TX-{i:04d}'" for i in range(1, 120))
    assert len(chain) < cql2.MAX_LENGTH
    assert _codes(client, {"filter": chain}) == ALL
    # just inside the depth limit is read
    ok = "(" * (cql2.MAX_DEPTH - 2) + "code = 'TX-0001'" + ")" * (cql2.MAX_DEPTH - 2)
    assert _codes(client, {"filter": ok}) == {"TX-0001"}


def test_queryables_per_collection_and_profile(client, internal_key):
    est = client.get("/ogc/collections/establishments").json()
    link = next(lk for lk in est["links"] if lk["rel"] == cql2.QUERYABLES_REL)
    assert link["href"].endswith("/ogc/collections/establishments/queryables")
    r = client.get("/ogc/collections/establishments/queryables")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema" and schema["type"] == "object"
    props = schema["properties"]
    assert props["geometry"]["format"] == "geometry-point" and props["geometry"]["x-ogc-role"] == "primary-geometry"
    assert props["updated_at"] == {**props["updated_at"], "type": "string", "format": "date-time",
                                   "x-ogc-role": "primary-instant"}
    assert props["registration_issued_on"]["format"] == "date" and props["name"]["type"] == "string"
    assert props["digital_payment"]["type"] == "array"
    assert not {"owner_name", "owner_id_number", "phone", "email", "tax_code", "employees",
                "licence_status"} & set(props)
    import layers
    layer = layers.get("establishments")
    assert set(props) - {"geometry"} == {f.name for f in layer_reader.queryable_fields(layer, "public")}
    internal = client.get("/ogc/collections/establishments/queryables",
                          headers={"X-API-Key": internal_key}).json()["properties"]
    assert {"owner_name", "tax_code", "employees"} <= set(internal)
    for name in ("field_reports", "land_parcels", "streets"):
        other = client.get(f"/ogc/collections/{name}/queryables").json()["properties"]
        assert "geometry" in other and "reporter_name" not in other and "description" not in other
    assert {q["id"] for q in schema["queryables"]} == set(props) - {"geometry"}  # the drafts' list (GDAL)
    as_json = client.get("/ogc/collections/establishments/queryables", headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json") and as_json.json() == schema
    assert any(lk["rel"] == "queryables" for lk in est["links"])
    assert client.get("/ogc/collections/stalls/queryables").status_code == 404  # not published
    assert client.get("/ogc/collections/nosuch/queryables").status_code == 404


def test_conformance_lists_the_filter_classes(client):
    conf = set(client.get("/ogc/conformance").json()["conformsTo"])
    for needed in ("http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
                   "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
                   "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
                   "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
                   "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
                   "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
                   "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
                   "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
                   "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions"):
        assert needed in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf


@pytest.fixture(scope="module")
def logged_server(database_url, ward, tmp_path_factory):
    """A real uvicorn with its access log in a file: which requests did GDAL send?"""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("cql2") / "access.log"
    env = {**os.environ, "GEOMAP_DATABASE_URL": database_url, "GEOMAP_PUBLIC_BASE_URL": base}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "geomap.web:create_app", "--host",
                                 "127.0.0.1", "--port", str(port), "--log-level", "info"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/ogc", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("uvicorn did not start")
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _item_requests(log) -> list[str]:
    return [line for line in log.read_text().splitlines() if "/items" in line and "GET" in line]


def test_qgis_style_discovery_pushes_the_filter_to_the_server(logged_server):
    """What QGIS's OAPIF provider does (QGIS 3.32+): it sends a layer's filter as CQL2 text only when
    /conformance lists filter, features-filter, cql2-text and basic-cql2, and reads the collection's
    /queryables to know which properties it may name (quoted, as QGIS writes them). The server then returns
    the match only, instead of QGIS paging through everything and filtering itself."""
    base, log = logged_server
    conf = httpx.get(f"{base}/ogc/conformance").json()["conformsTo"]
    assert all(any(c.endswith(suffix) for c in conf) for suffix in (
        "/ogcapi-features-3/1.0/conf/filter", "/ogcapi-features-3/1.0/conf/features-filter",
        "/cql2/1.0/conf/cql2-text", "/cql2/1.0/conf/basic-cql2"))
    collection = httpx.get(f"{base}/ogc/collections/establishments").json()
    queryables_url = next(lk["href"] for lk in collection["links"] if lk["rel"].endswith("/queryables"))
    queryables = httpx.get(queryables_url).json()["properties"]
    assert "vsic_code" in queryables and "updated_at" in queryables
    every = httpx.get(f"{base}{ITEMS}", params={"bbox": HERE, "limit": 1000}).json()
    expression = ("\"vsic_code\" IN ('4711','5630') AND \"updated_at\" >= TIMESTAMP('2026-03-01T00:00:00Z') "
                  "AND S_INTERSECTS(\"geometry\", POLYGON((108.514 15.634, 108.531 15.634, 108.531 15.651, "
                  "108.514 15.651, 108.514 15.634)))")
    pushed = httpx.get(f"{base}{ITEMS}", params={"filter": expression, "filter-lang": "cql2-text",
                                                "limit": 1000}).json()
    codes = {f["properties"]["code"] for f in pushed["features"]}
    assert codes == {"TX-0002", "TX-0003", "TX-0005"}
    assert pushed["numberReturned"] == 3 < every["numberReturned"]
    assert any("filter=" in line for line in _item_requests(log))


def test_gdal_pushes_its_where_clause_down(logged_server):
    """GDAL's OAPIF driver (pyogrio's GDAL 3.12 and Debian's ogrinfo 3.6) sends ``-where`` to the server as
    ``filter=…&filter-lang=cql-text`` (the drafts' name, read as cql2-text), having read the collection's
    ``queryables`` link. GDAL looks for the filter parameters in the OpenAPI document under paths relative to
    the landing page, which ours does not have yet (it describes ``/ogc/...`` paths): its
    ``OGR_OAPIF_ALLOW_CQL_TEXT`` option skips that look-up. Without the option GDAL filters on its side,
    with the same answer."""
    base, log = logged_server

    def pushed() -> list[str]:
        return [line for line in _item_requests(log) if "filter-lang=cql-text" in line]

    plain = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="establishments", bbox=BBOX, where="vsic_code = '5610'")
    assert set(plain["code"]) == {"TX-0001", "TX-0004"} and not pushed()
    try:
        pyogrio.set_gdal_config_options({"OGR_OAPIF_ALLOW_CQL_TEXT": "YES"})
        frame = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="establishments", bbox=BBOX,
                                       where="vsic_code = '5610' AND updated_at < '2026-08-01'")
    finally:
        pyogrio.set_gdal_config_options({"OGR_OAPIF_ALLOW_CQL_TEXT": None})
    assert set(frame["code"]) == {"TX-0001"}
    assert len(pushed()) == 1 and "filter=" in pushed()[0]
    out = subprocess.run(["ogrinfo", "-ro", "-q", "--config", "OGR_OAPIF_ALLOW_CQL_TEXT", "YES", f"OAPIF:{base}/ogc",
                          "establishments", "-spat", *map(str, BBOX), "-where", "name = 'Cà phê Đường Sắt'"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert set(re.findall(r"code \(String\) = (TX-\d{4})", out.stdout)) == {"TX-0002"}
    assert len(pushed()) == 2
