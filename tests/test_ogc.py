"""OGC API – Features: the standard's endpoints over the registry, Part 2 CRS, API keys, GDAL's OAPIF driver."""

from __future__ import annotations

import math
import re
import subprocess
from urllib.parse import parse_qs, urlsplit

import ogc_fixtures
import pyogrio
import pytest
import sqlalchemy as sa
from export_fixtures import BBOX, ESTABLISHMENTS, HOSTILE, OWNER, PERSONAL_VALUES
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from staff_app import free_port, public_service
from test_export import assert_same_features

import layers
from geomap import crs, layer_reader
from geomap.accounts import apikeys
from geomap.ogc import api as ogc_api
from geomap.ogc import cache as ogc_cache
from geomap.ogc import params as ogc_params
from geomap.web import create_app

# the OGC tests' module fixtures: the test ward, a client of the public service, an internal key
ward, client, internal_key = ogc_fixtures.ward, ogc_fixtures.client, ogc_fixtures.internal_key

EPSG_5899 = "http://www.opengis.net/def/crs/EPSG/0/5899"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
ITEMS = "/ogc/collections/establishments/items"
HERE = ",".join(map(str, BBOX))  # only the test ward's features



def _ours(features):
    codes = {e[0] for e in ESTABLISHMENTS}
    return [f for f in features if f["properties"]["code"] in codes]


def test_landing_conformance_and_collections(client):
    landing = client.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    cols = client.get("/ogc/collections").json()
    ids = [c["id"] for c in cols["collections"]]
    assert ids == [name for name, layer in layers.registry().items() if layer.publishable]
    est = next(c for c in cols["collections"] if c["id"] == "establishments")
    assert EPSG_5899 in est["crs"] and crs.CRS84_URI in est["crs"]
    minx, miny, maxx, maxy = est["extent"]["spatial"]["bbox"][0]
    assert all(minx <= e[3] <= maxx and miny <= e[4] <= maxy for e in ESTABLISHMENTS)
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in est["links"])
    assert client.get("/ogc/collections/establishments").json()["id"] == "establishments"


def test_items_public_profile_has_only_public_fields(client):
    r = client.get(ITEMS, params={"limit": 100, "bbox": HERE})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    public = {f.name for f in layers.get("establishments").public_fields}
    for feature in body["features"]:
        assert set(feature["properties"]) == public
    assert not any(value in r.text for value in PERSONAL_VALUES)
    assert "Phở Hòa Cường — Bà Tư" in {f["properties"]["name"] for f in body["features"]}
    assert r.headers["content-crs"] == f"<{crs.CRS84_URI}>"


def test_paging_with_next_and_prev_links(client):
    """next links page by key (after=<last id>), prev links by offset; together they visit every feature once."""
    seen, url = [], ITEMS + f"?limit=2&bbox={HERE}"
    first = client.get(url).json()
    assert first["numberReturned"] == 2 and first["numberMatched"] >= len(ESTABLISHMENTS)
    assert not any(link["rel"] == "prev" for link in first["links"])
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        assert body["numberMatched"] == first["numberMatched"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if nxt:
            assert parse_qs(urlsplit(nxt[0]).query)["after"] == [str(body["features"][-1]["id"])]
        url = nxt[0] if nxt else None
    assert len(seen) == len(set(seen)) == first["numberMatched"] and seen == sorted(seen)
    by_offset = client.get(ITEMS, params={"limit": 2, "offset": 2, "bbox": HERE}).json()
    assert [f["id"] for f in by_offset["features"]] == seen[2:4]
    prev = next(link["href"] for link in by_offset["links"] if link["rel"] == "prev")
    assert parse_qs(urlsplit(prev).query)["offset"] == ["0"]
    assert [f["id"] for f in client.get(prev).json()["features"]] == seen[:2]
    past_end = client.get(ITEMS, params={"after": seen[-1], "bbox": HERE}).json()
    assert past_end["features"] == [] and past_end["numberMatched"] == first["numberMatched"]
    assert not any(link["rel"] == "next" for link in past_end["links"])


def test_limit_bounds_give_ogc_exceptions(client):
    assert len(client.get(ITEMS).json()["features"]) <= 100
    for value, status in (("1000000", 400), ("10001", 400), ("0", 400), ("ten", 400), ("10000", 200)):
        r = client.get(ITEMS, params={"limit": value})
        assert r.status_code == status, value
        if status == 400:
            assert r.json()["code"] == "InvalidParameterValue" and "limit" in r.json()["description"]


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"bbox": "1,2,3"}, 400, "bbox"),
    ({"bbox": "a,b,c,d"}, 400, "bbox"),
    ({"bbox": "108.3,16,108.2,16.1"}, 400, "minimum"),
    ({"crs": "EPSG:3405"}, 400, "not offered"),
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/99999"}, 400, "not a coordinate"),
    ({"bbox-crs": EPSG_5899}, 400, "without bbox"),
    ({"datetime": "yesterday"}, 400, "RFC 3339"),
    ({"owner_name": OWNER}, 400, "Unknown parameter"),
    ({"employees": "3"}, 400, "Unknown parameter"),
    ({"f": "xml"}, 400, "f=json"),
    ({"offset": "-1"}, 400, "offset"),
])
def test_bad_parameters(client, params, status, words):
    r = client.get(ITEMS, params=params)
    assert r.status_code == status
    assert r.json()["code"] and words in r.json()["description"]


def test_not_found(client):
    assert client.get("/ogc/collections/nope").status_code == 404
    assert client.get("/ogc/collections/nope/items").json()["code"] == "NotFound"
    assert client.get(ITEMS + "/999999").status_code == 404
    assert client.get(ITEMS + "/abc").status_code == 404


def test_single_item_and_its_crs(client):
    first = _ours(client.get(ITEMS, params={"limit": 100, "bbox": HERE}).json()["features"])[0]
    r = client.get(f"{ITEMS}/{first['id']}", params={"crs": EPSG_5899})
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{EPSG_5899}>"
    feature = r.json()
    x, y = crs.transformer(4326, 5899).transform(*first["geometry"]["coordinates"])
    assert math.hypot(feature["geometry"]["coordinates"][0] - x, feature["geometry"]["coordinates"][1] - y) < 2e-3
    assert "crs" not in feature["geometry"]


def test_crs_5899_and_epsg_4326_axis_order(client):
    lonlat = {f["properties"]["code"]: f["geometry"]["coordinates"]
              for f in _ours(client.get(ITEMS, params={"limit": 100, "bbox": HERE}).json()["features"])}
    vn = client.get(ITEMS, params={"limit": 100, "crs": EPSG_5899, "bbox": HERE})
    assert vn.headers["content-crs"] == f"<{EPSG_5899}>"
    for f in _ours(vn.json()["features"]):
        x, y = crs.transformer(4326, 5899).transform(*lonlat[f["properties"]["code"]])
        assert math.hypot(f["geometry"]["coordinates"][0] - x, f["geometry"]["coordinates"][1] - y) < 2e-3
    latlon = client.get(ITEMS, params={"limit": 100, "crs": EPSG_4326, "bbox": HERE})
    for f in _ours(latlon.json()["features"]):
        assert f["geometry"]["coordinates"] == pytest.approx(lonlat[f["properties"]["code"]][::-1])


def test_bbox_in_each_crs(client):
    code, _, _, lon, lat, _ = ESTABLISHMENTS[0]
    d = 0.0005
    boxes = [
        {"bbox": f"{lon - d},{lat - d},{lon + d},{lat + d}"},
        {"bbox": f"{lat - d},{lon - d},{lat + d},{lon + d}", "bbox-crs": EPSG_4326},
    ]
    x, y = crs.transformer(4326, 5899).transform(lon, lat)
    boxes.append({"bbox": f"{x - 30},{y - 30},{x + 30},{y + 30}", "bbox-crs": EPSG_5899})
    for params in boxes:
        body = client.get(ITEMS, params=params).json()
        assert [f["properties"]["code"] for f in body["features"]] == [code], params
        assert body["numberMatched"] == 1


def test_datetime_and_property_filters(client):
    after = client.get(ITEMS, params={"datetime": "2026-05-01T00:00:00Z/..", "limit": 100, "bbox": HERE}).json()
    assert {f["properties"]["code"] for f in _ours(after["features"])} == {"TX-0003", "TX-0004", "TX-0005"}
    day = client.get(ITEMS, params={"datetime": "2026-03-01", "bbox": HERE}).json()
    assert [f["properties"]["code"] for f in _ours(day["features"])] == ["TX-0002"]
    by_name = client.get(ITEMS, params={"name": "Cà phê Đường Sắt", "bbox": HERE}).json()
    assert [f["properties"]["code"] for f in by_name["features"]] == ["TX-0002"]
    by_list = client.get(ITEMS, params={"digital_payment": "qr_bank", "limit": 100, "bbox": HERE}).json()
    assert len(_ours(by_list["features"])) == len(ESTABLISHMENTS)
    derived = client.get(ITEMS, params={"food_safety_status": "violation", "limit": 100, "bbox": HERE}).json()
    assert [f["properties"]["code"] for f in _ours(derived["features"])] == ["TX-0002"]
    assert derived["numberMatched"] == derived["numberReturned"]
    assert client.get("/ogc/collections/markets/items", params={"datetime": "2026-01-01"}).status_code == 400


def test_internal_profile_needs_a_valid_api_key(client, internal_key, engine):
    r = client.get(ITEMS, params={"limit": 100, "bbox": HERE}, headers={"X-API-Key": internal_key})
    assert r.status_code == 200
    assert OWNER in {f["properties"].get("owner_name") for f in r.json()["features"]}
    bad = client.get(ITEMS, headers={"X-API-Key": "gm_not-a-key"})
    assert bad.status_code == 401 and bad.json()["code"] == "InvalidApiKey"
    other = apikeys.create(engine, "Open311 app", ["open311"])
    assert client.get(ITEMS, headers={"X-API-Key": other}).status_code == 401


def test_html_pages_escape_hostile_text(client):
    page = client.get(ITEMS, params={"f": "html", "limit": 100, "bbox": HERE})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert HOSTILE.startswith("<script>")
    for url in ("/ogc?f=html", "/ogc/collections?f=html", "/ogc/collections/establishments?f=html"):
        assert client.get(url).headers["content-type"].startswith("text/html")


def test_html_items_page_without_number_matched(client):
    """A derived-field filter with ``after`` is not counted; the HTML page must still render (it used to 500)."""
    params = {"food_safety_status": "certified", "bbox": HERE}
    matched = client.get(ITEMS, params=params).json()["features"]
    assert len(matched) >= 2
    body = client.get(ITEMS, params={**params, "after": matched[0]["id"]}).json()
    assert "numberMatched" not in body and body["numberReturned"] == len(matched) - 1
    page = client.get(ITEMS, params={**params, "after": matched[0]["id"], "f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"<p>{len(matched) - 1}</p>" in page.text and page.text.count("<tr><td>") == len(matched) - 1
    counted = client.get(ITEMS, params={**params, "f": "html"})
    assert f"<p>{len(matched)} / {len(matched)}</p>" in counted.text


def test_openapi_declares_limit_and_offset_as_bounded_integers(client):
    doc = client.get("/api/openapi.json").json()
    params = doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    names = [p["name"] for p in params]
    assert names.count("limit") == 1 and names.count("offset") == 1
    by_name = {p["name"]: p for p in params}
    assert by_name["limit"]["in"] == "query" and by_name["offset"]["in"] == "query"
    assert by_name["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": ogc_params.MAX_LIMIT,
                                          "default": ogc_params.DEFAULT_LIMIT}
    assert by_name["offset"]["schema"] == {"type": "integer", "minimum": 0, "maximum": ogc_params.INT64_MAX,
                                           "default": 0}
    # the declared bounds are the ones the service enforces
    assert client.get(ITEMS, params={"limit": ogc_params.MAX_LIMIT}).status_code == 200
    assert client.get(ITEMS, params={"limit": ogc_params.MAX_LIMIT + 1}).status_code == 400
    assert client.get(ITEMS, params={"limit": 0}).status_code == 400
    assert client.get(ITEMS, params={"offset": ogc_params.INT64_MAX + 1}).status_code == 400


def test_public_feature_ids_are_public_codes_not_database_ids(client, engine, ward, internal_key):
    """Public exports drop the sequential database id; the public API does not show it either."""
    with engine.connect() as c:
        db_ids = dict(c.execute(sa.text("SELECT code, id FROM establishment WHERE ward_id = :w"),
                                {"w": ward["id"]}).all())
    public = _ours(client.get(ITEMS, params={"limit": 100, "bbox": HERE}).json()["features"])
    assert [f["id"] for f in public] == [f["properties"]["code"] for f in public] == sorted(db_ids)
    code = public[1]["id"]
    one = client.get(f"{ITEMS}/{code}")
    assert one.status_code == 200 and one.json()["id"] == code and one.json()["properties"] == public[1]["properties"]
    assert client.get(f"{ITEMS}/{db_ids[code]}").status_code == 404  # the database id is no public address
    assert str(db_ids[code]) not in {str(f["id"]) for f in public}
    # the internal profile (staff systems) keeps the database id
    key = {"X-API-Key": internal_key}
    internal = _ours(client.get(ITEMS, params={"limit": 100, "bbox": HERE}, headers=key).json()["features"])
    assert {f["properties"]["code"]: f["id"] for f in internal} == db_ids
    assert client.get(f"{ITEMS}/{db_ids[code]}", headers=key).json()["properties"]["owner_name"] == OWNER


PARCELS = "/ogc/collections/land_parcels/items"
#: the layers whose public feature id is a stored random ``public_id`` (no public code of their own)
RANDOM_ID_TABLES = {"land_parcels": "land_parcel", "residential_groups": "residential_group",
                    "public_facilities": "public_facility", "former_wards": "former_ward_zone"}


def test_layers_without_a_public_code_serve_their_stored_random_public_id(client, engine, ward):
    first = client.get(PARCELS, params={"bbox": HERE}).json()["features"]
    again = client.get(PARCELS, params={"bbox": HERE}).json()["features"]
    ids = [f["id"] for f in first]
    assert len(ids) == 2 and ids == [f["id"] for f in again] == sorted(ids)
    assert all(isinstance(i, str) and re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    with engine.connect() as c:
        stored = dict(c.execute(sa.text("SELECT public_id, id FROM land_parcel WHERE ward_id = :w"),
                                {"w": ward["id"]}).all())
        # what the old ids were: a public function of the sequential id, recoverable by hashing 1..N
        hashed = set(c.execute(sa.text("SELECT substr(md5('land_parcels:' || id), 1, 16) FROM land_parcel "
                                       "WHERE ward_id = :w"), {"w": ward["id"]}).scalars())
    assert sorted(stored) == ids
    assert [f["properties"]["public_id"] for f in first] == ids
    assert not set(ids) & hashed
    for feature in first:
        one = client.get(f"{PARCELS}/{feature['id']}")
        assert one.status_code == 200
        assert one.json()["id"] == feature["id"] and one.json()["properties"] == feature["properties"]
        assert client.get(f"{PARCELS}/{stored[feature['id']]}").status_code == 404  # no address by database id
    for old in hashed:
        assert client.get(f"{PARCELS}/{old}").status_code == 404


def test_public_ids_are_random_not_a_function_of_the_row(engine, ward):
    """Drawing the default again for the same row gives another id; new rows get one from the database."""
    with engine.connect() as c, c.begin() as tx:
        for table in RANDOM_ID_TABLES.values():
            row = c.execute(sa.text(f"SELECT id, public_id FROM {table} WHERE ward_id = :w ORDER BY id LIMIT 1"),
                            {"w": ward["id"]}).one_or_none()
            if row is None:  # the test ward has no facility nor former-ward zone
                continue
            row_id, original = row
            redrawn = {c.execute(sa.text(f"UPDATE {table} SET public_id = DEFAULT WHERE id = :i RETURNING public_id"),
                                 {"i": row_id}).scalar() for _ in range(3)}
            assert len(redrawn) == 3 and original not in redrawn, table
            assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in redrawn), table
        new = c.execute(sa.text(
            "INSERT INTO land_parcel (ward_id, map_sheet, parcel_no, land_use_code, area_m2, geom) VALUES "
            "(:w, '99', '1', 'ODT', 1, ST_MakeEnvelope(108.5, 15.6, 108.5001, 15.6001, 4326)), "
            "(:w, '99', '2', 'ODT', 1, ST_MakeEnvelope(108.5, 15.6, 108.5001, 15.6001, 4326)) RETURNING public_id"),
            {"w": ward["id"]}).scalars().all()
        assert len(set(new)) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in new)
        tx.rollback()


def _walk(client, url, params):
    """Every feature id met by following the ``next`` links from the first page."""
    seen: list[str] = []
    page = client.get(url, params=params).json()
    while True:
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            return seen
        assert "after=" in nxt[0]
        page = client.get(nxt[0]).json()


def test_keyset_paging_walks_every_public_feature_exactly_once(client, engine, ward):
    walked = 0
    for name in ogc_api.collections_for("public"):
        layer = layers.get(name)
        with engine.connect() as c:
            expected = layer_reader.read(c, layer, ward_id=ward["id"], columns=[layer.public_id_field])
        ids = _walk(client, f"/ogc/collections/{name}/items", {"bbox": HERE, "limit": 1})
        assert ids == sorted(expected[layer.public_id_field]), name
        walked += len(ids)
    assert walked >= 11


def test_single_parcel_is_read_through_the_unique_index(client, engine, ward):
    """items/{id} filters and orders on the indexed public_id column, not on an expression of the id."""
    fid = client.get(PARCELS, params={"bbox": HERE}).json()["features"][0]["id"]
    statements: list[tuple[str, object]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        if "__fid" in statement:
            statements.append((statement, parameters))

    sa.event.listen(Engine, "before_cursor_execute", spy)
    try:
        assert client.get(f"{PARCELS}/{fid}").status_code == 200
    finally:
        sa.event.remove(Engine, "before_cursor_execute", spy)
    (statement, parameters), = statements
    assert "md5" not in statement
    with engine.connect() as c, c.begin():
        c.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show what it can use
        plan = "\n".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_land_parcel_public_id" in plan, plan


def _counted(database_url, params):
    """The response to ``params`` and the statement that counted numberMatched (a fresh app: a fresh count)."""
    statements: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(Engine, "before_cursor_execute", spy)
    try:
        with TestClient(create_app(database_url)) as client:
            body = client.get(ITEMS, params=params).json()
    finally:
        sa.event.remove(Engine, "before_cursor_execute", spy)
    counts = [s for s in statements if "AS __matched FROM" in s]
    assert len(counts) == 1
    return body, counts[0]


def test_number_matched_counts_the_table_unless_a_filter_needs_the_view(database_url, engine, ward):
    """Counting establishment_overview (per-row licence and inspection lookups) is what made the first page
    slow at city scale; filters on the establishment's own columns count the table, with the same answer."""
    body, sql = _counted(database_url, {"bbox": HERE, "datetime": "2026-05-01T00:00:00Z/..", "limit": 1})
    assert 'FROM "establishment" WHERE' in sql and "establishment_overview" not in sql.split("LEFT JOIN")[0]
    assert body["numberMatched"] == 3 and body["numberReturned"] == 1
    body, sql = _counted(database_url, {"bbox": HERE, "digital_payment": "qr_bank", "name": "Cà phê Đường Sắt"})
    assert 'FROM "establishment" WHERE' in sql and body["numberMatched"] == 1
    # sector comes from the industry table: only the view has it
    with engine.connect() as c:
        food = c.execute(sa.text("SELECT count(*) FROM establishment_overview WHERE ward_id = :w "
                                 "AND sector = 'food_service'"), {"w": ward["id"]}).scalar()
    body, sql = _counted(database_url, {"bbox": HERE, "sector": "food_service", "limit": 1})
    assert 'FROM "establishment_overview" WHERE' in sql.split("LEFT JOIN")[0]
    assert body["numberMatched"] == food >= 2


def test_caches_belong_to_the_app_and_every_entry_expires():
    """The extent, count and column caches live on app.state (a new app starts empty) and all expire."""
    one, two = create_app(), create_app()
    assert isinstance(one.state.ogc, ogc_cache.OGCCaches) and one.state.ogc is not two.state.ogc
    caches = one.state.ogc
    assert all(0 < c.ttl_s < float("inf") for c in (caches.extents, caches.counts, caches.columns))
    now = [0.0]
    cache = ogc_cache.TTLCache(10.0, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 9.9
    assert cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None
    loads = []
    assert cache.get_or_load("b", lambda: loads.append(1) or 7) == 7 == cache.get_or_load("b", lambda: 8)
    assert loads == [1]
    cache.put("c", 3)
    cache.put("d", 4)  # past max_entries: emptied, never grows without bound
    assert len(cache) == 1 and cache.get("b") is None and cache.get("d") == 4
    cache.clear()
    assert cache.get("d") is None


@pytest.fixture(scope="module")
def server(database_url, ward):
    """A real uvicorn serving the test database, for GDAL (the one launcher of the tests)."""
    port = free_port()
    # links are built on the configured public base URL, which is this server here
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with public_service(env, port=port) as base:
        yield base


def test_gdal_oapif_lists_and_reads_collections(server):
    """GDAL's OAPIF driver (through pyogrio's bundled GDAL, built with curl) reads the service."""
    assert "OAPIF" in pyogrio.list_drivers()
    listed = dict(pyogrio.list_layers(f"OAPIF:{server}/ogc"))
    assert set(listed) == {n for n, layer in layers.registry().items() if layer.publishable}
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="establishments")
    ours = frame[frame["code"].isin([e[0] for e in ESTABLISHMENTS])].sort_values("code")
    assert list(ours["name"]) == [e[1] for e in ESTABLISHMENTS]
    assert not set(frame.columns) & {f.name for f in layers.get("establishments").personal_fields}
    assert ours.geometry.x.iloc[0] == pytest.approx(ESTABLISHMENTS[0][3])
    vn = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="establishments", CRS="EPSG:5899")
    assert vn.crs.to_epsg() == 5899
    x, _ = crs.transformer(4326, 5899).transform(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4])
    got = vn[vn["code"] == ESTABLISHMENTS[0][0]].geometry.x.iloc[0]
    assert got == pytest.approx(x, abs=2e-3)


def test_gdal_oapif_reads_every_collection(server, engine, ward):
    """Every public collection through GDAL's OAPIF driver: the test ward's features with all their public
    properties (typed as GDAL reads GeoJSON: dates, time stamps, booleans, integers), public feature ids."""
    read = 0
    for name, layer in layers.registry().items():
        if not layer.publishable:
            continue
        frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer=name, bbox=BBOX)
        with engine.connect() as c:
            expected = layer_reader.read(c, layer, ward_id=ward["id"],
                                          columns=[f.name for f in layer.public_fields if not f.derived])
        assert len(frame) == len(expected), name
        if len(frame):
            ids = frame.pop("id")
            assert ids.is_unique, name
            assert list(ids) == list(frame[layer.public_id_field]), name
            read += len(frame)
        assert_same_features(frame, expected, layer, "geojson")
    assert read >= 11  # establishments, parcels, infrastructure, the group, the report, the ward


def test_gdal_ogrinfo_reads_the_service(server):
    """Debian's ogrinfo (another GDAL build) too."""
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{server}/ogc", "establishments"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Geometry: Point" in out.stdout and "Feature Count:" in out.stdout


def test_an_establishment_without_a_location_is_a_feature_with_null_geometry(client, engine, ward):
    """An establishment accepted without coordinates (the "Chưa có tọa độ" list) is still served:
    GeoJSON's ``"geometry": null``, never a 500 (it once was one, NaN reaching json.loads)."""
    with engine.begin() as c:
        eid = c.execute(sa.text(
            "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, geom) "
            "SELECT :w, 'TX-9999', 'Cà phê Đường Sắt', 'household', min(vsic_code), 'K9/9 Núi Thành', NULL "
            "FROM industry RETURNING id"), {"w": ward["id"]}).scalar()
    try:
        # a page holding a placed establishment (TX-0002, same name) and the one not placed
        answer = client.get(ITEMS, params={"name": "Cà phê Đường Sắt", "limit": 50})
        assert answer.status_code == 200, answer.text
        by_code = {f["properties"]["code"]: f for f in answer.json()["features"]}
        assert by_code["TX-9999"]["geometry"] is None and by_code["TX-0002"]["geometry"]["type"] == "Point"
        assert client.get(f"{ITEMS}/TX-9999").json()["geometry"] is None
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM establishment WHERE id = :e"), {"e": eid})
