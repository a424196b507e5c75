"""Vector tiles (OGC API – Tiles, Mapbox Vector Tile) read back by GDAL's MVT driver and checked against the database.

Tiles come from the public service (``/ogc/.../tiles/WebMercatorQuad/{z}/{y}/{x}``) and are decoded
by GDAL (pyogrio, the MVT driver with the tile's X/Y/Z so features come back in EPSG:3857); the ids
and counts are compared with what PostGIS says lies in the tile's envelope.
"""

from __future__ import annotations

import math
from pathlib import Path

import ogc_fixtures
import pyogrio
import pytest
import sqlalchemy as sa
from export_fixtures import ESTABLISHMENTS, OWNER, PERSONAL_VALUES

from geomap import db, layer_reader
from geomap.ogc import api, cache, tiles

# the OGC tests' module fixtures: the test ward, a client of the public service, an internal key
ward, client, internal_key = ogc_fixtures.ward, ogc_fixtures.client, ogc_fixtures.internal_key

MVT_PATH = "/ogc/collections/{c}/tiles/WebMercatorQuad/{z}/{y}/{x}"



def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(column, row) of the WebMercatorQuad tile holding lon/lat at zoom z."""
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def decode(body: bytes, layer: str, z: int, x: int, y: int, tmp_path: Path, name: str = "t"):
    """GDAL's reading of a downloaded tile: a GeoDataFrame in EPSG:3857 (geometries kept in the buffer)."""
    path = tmp_path / f"{name}-{layer}-{z}-{x}-{y}.mvt"
    path.write_bytes(body)
    if layer not in [row[0] for row in pyogrio.list_layers(path)]:
        return None
    return pyogrio.read_dataframe(path, layer=layer, X=str(x), Y=str(y), Z=str(z), CLIP="NO")


def in_envelope(engine, z: int, x: int, y: int, margin: float, where: str = "TRUE") -> set[str]:
    """Codes of establishments (public rows) whose point lies in the tile's envelope grown by ``margin``."""
    return set(db.scalars(engine, f"""
        SELECT code FROM establishment WHERE {where} AND review_status = 'approved'
          AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y, margin => :m))""",
                          {"z": z, "x": x, "y": y, "m": margin}))


def get_tile(client, collection: str, z: int, x: int, y: int, **headers):
    r = client.get(MVT_PATH.format(c=collection, z=z, y=y, x=x), headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == tiles.MVT
    return r


def test_metadata_conformance_and_links(client):
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conf
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core" in conf
    rels = {lk["rel"] for lk in client.get("/ogc").json()["links"]}
    assert {tiles.REL_TILESETS, tiles.REL_SCHEMES} <= rels
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == tiles.MAX_ZOOM + 1
    assert tms["tileMatrices"][3]["matrixWidth"] == 8
    assert client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    sets = client.get("/ogc/collections/establishments/tiles").json()["tilesets"]
    item = next(lk for lk in sets[0]["links"] if lk["rel"] == "item")
    assert item["href"].endswith(
        "/ogc/collections/establishments/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    one = client.get("/ogc/collections/establishments/tiles/WebMercatorQuad").json()
    props = one["layers"][0]["propertiesSchema"]["properties"]
    assert "licence_status" in props and "owner_name" not in props
    dataset = client.get("/ogc/tiles/WebMercatorQuad").json()
    assert {lyr["id"] for lyr in dataset["layers"]} == set(api.collections_for("public"))
    coll = client.get("/ogc/collections/establishments").json()
    assert any(lk["rel"] == tiles.REL_TILESETS for lk in coll["links"])


def test_gdal_reads_tiles_and_their_features_are_the_databases(client, engine, ward, tmp_path):
    lon, lat = ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4]
    for z in (15, 16, 17, 18):
        x, y = tile_of(lon, lat, z)
        body = get_tile(client, "establishments", z, x, y).content
        frame = decode(body, "establishments", z, x, y, tmp_path)
        assert frame is not None
        got = set(frame["id"])
        assert got == set(frame["code"])  # the public feature id is the establishment code
        inside = in_envelope(engine, z, x, y, 0.0)
        assert "TX-0001" in got and inside <= got <= in_envelope(engine, z, x, y, 0.02)
        # positions: within two tile cells of the stored point
        cell = 2 * layer_reader.WEB_MERCATOR_HALF / (1 << z) / layer_reader.MVT_EXTENT
        stored = {r["code"]: (r["x"], r["y"]) for r in db.rows(engine, """
            SELECT code, ST_X(ST_Transform(geom, 3857)) x, ST_Y(ST_Transform(geom, 3857)) y FROM establishment
            WHERE code = ANY(:c)""", {"c": sorted(got)})}
        for code, point in zip(frame["id"], frame.geometry, strict=True):
            sx, sy = stored[code]
            assert math.hypot(point.x - sx, point.y - sy) <= 2 * cell, (z, code)


def test_statuses_and_fields_match_the_features_api(client, ward, tmp_path):
    z = 16
    x, y = tile_of(ESTABLISHMENTS[1][3], ESTABLISHMENTS[1][4], z)
    frame = decode(get_tile(client, "establishments", z, x, y).content, "establishments", z, x, y, tmp_path)
    items = client.get("/ogc/collections/establishments/items",
                       params={"limit": 1000, "bbox": "108.51,15.63,108.54,15.66"})
    by_code = {f["id"]: f["properties"] for f in items.json()["features"]}
    assert len(frame) >= 1
    for rec in frame.to_dict("records"):
        want = by_code[rec["id"]]
        for name in ("name", "licence_status", "food_safety_status", "vsic_code", "address"):
            assert rec[name] == want[name], (rec["id"], name)


def test_public_tiles_hold_no_personal_field_and_internal_ones_do(client, ward, internal_key, tmp_path):
    z = 15
    x, y = tile_of(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4], z)
    for path in (MVT_PATH.format(c="establishments", z=z, y=y, x=x), f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}"):
        body = client.get(path).content
        assert body
        for value in PERSONAL_VALUES:
            assert value.encode() not in body, (path, value)
        frame = decode(body, "establishments", z, x, y, tmp_path, "public")
        assert not {"owner_name", "owner_id_number", "phone", "email", "tax_code"} & set(frame.columns)
    r = get_tile(client, "establishments", z, x, y, **{"X-API-Key": internal_key})
    assert r.headers["cache-control"].startswith("private")
    frame = decode(r.content, "establishments", z, x, y, tmp_path, "internal")
    ours = frame[frame["code"].isin([e[0] for e in ESTABLISHMENTS])]
    assert set(ours["owner_name"]) == {OWNER}
    assert all(isinstance(v, int) for v in ours["id"])  # the database id in the internal profile
    assert client.get(MVT_PATH.format(c="establishments", z=z, y=y, x=x),
                      headers={"X-API-Key": "not-a-key"}).status_code == 401
    # a layer not published (stalls) has no public tiles
    assert client.get(MVT_PATH.format(c="stalls", z=z, y=y, x=x)).status_code == 404


def test_dataset_tile_holds_every_layer_with_features_there(client, ward, tmp_path):
    z = 15
    x, y = tile_of(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4], z)
    body = client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}").content
    path = tmp_path / "dataset.mvt"
    path.write_bytes(body)
    names = {row[0] for row in pyogrio.list_layers(path)}
    assert {"establishments", "residential_groups", "field_reports", "infrastructure"} <= names
    assert "land_parcels" not in names  # drawn from zoom 17 on
    for name in names:
        alone = client.get(MVT_PATH.format(c=name, z=z, y=y, x=x)).content
        assert alone in body


def test_points_are_counted_per_cell_below_zoom_15(client, engine, ward, tmp_path):
    for z in (10, 12, 14):
        x, y = tile_of(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4], z)
        frame = decode(get_tile(client, "establishments", z, x, y).content, "establishments", z, x, y, tmp_path)
        assert set(frame.columns) <= {"mvt_id", "point_count", "id", "geometry"}
        counted = frame["point_count"].sum()
        assert len(in_envelope(engine, z, x, y, 0.0)) <= counted <= len(in_envelope(engine, z, x, y, 0.02))
        assert len(frame) <= (layer_reader.MVT_EXTENT // layer_reader.MVT_CELL + 2) ** 2
        singles = frame[frame["point_count"] == 1]
        assert singles["id"].notna().all()


@pytest.fixture
def clock(client):
    """The app's OGC caches on a clock the test moves (``clock.now += seconds``); the app's own ones after."""
    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

        def past_the_bound(self) -> None:
            self.now += cache.CHANGE_POLL_S + 0.001

    moved = Clock()
    kept = client.app.state.ogc
    client.app.state.ogc = cache.OGCCaches(clock=moved)
    yield moved
    client.app.state.ogc = kept


def test_etag_304_and_an_edit_shows_once_the_change_count_is_read_again(client, engine, ward, clock, tmp_path):
    z = 17
    x, y = tile_of(ESTABLISHMENTS[3][3], ESTABLISHMENTS[3][4], z)
    code = ESTABLISHMENTS[3][0]
    first = get_tile(client, "establishments", z, x, y)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == f"public, max-age={tiles.MAX_AGE_S}"
    again = get_tile(client, "establishments", z, x, y)
    assert again.headers["etag"] == etag and again.content == first.content
    assert client.get(MVT_PATH.format(c="establishments", z=z, y=y, x=x),
                      headers={"If-None-Match": etag}).status_code == 304
    assert len(client.app.state.ogc.tiles) >= 1  # kept in the app's cache

    def record(body: bytes, name: str) -> dict:
        frame = decode(body, "establishments", z, x, y, tmp_path, name)
        return frame[frame["id"] == code].iloc[0].to_dict()

    before = record(first.content, "before")
    with engine.begin() as c:
        old_name = c.execute(sa.text("SELECT name FROM establishment WHERE code = :c"), {"c": code}).scalar_one()
        c.execute(sa.text("UPDATE establishment SET name = 'Bánh mì Ông Sáu (mới)' WHERE code = :c"), {"c": code})
    try:
        # within the bound the change count is not read again: the cached tile is served, no query made
        assert get_tile(client, "establishments", z, x, y).headers["etag"] == etag
        clock.past_the_bound()
        edited = get_tile(client, "establishments", z, x, y)
        assert edited.headers["etag"] != etag
        assert record(edited.content, "edited")["name"] == "Bánh mì Ông Sáu (mới)"
        assert client.get(MVT_PATH.format(c="establishments", z=z, y=y, x=x),
                          headers={"If-None-Match": etag}).status_code == 200
        # a revocation (another table: licence) changes the derived status in the next tile past the bound
        with engine.begin() as c:
            c.execute(sa.text(
                "UPDATE licence SET revoked_on = DATE '2026-01-10' WHERE kind = 'business_registration' "
                "AND establishment_id = (SELECT id FROM establishment WHERE code = :c)"), {"c": code})
        clock.past_the_bound()
        revoked = record(get_tile(client, "establishments", z, x, y).content, "revoked")
        assert revoked["licence_status"] != before["licence_status"]
        items = client.get(f"/ogc/collections/establishments/items/{code}").json()
        assert revoked["licence_status"] == items["properties"]["licence_status"]
        # the dataset tile (every layer) is invalidated by the same write
        dataset = client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}")
        frame = decode(dataset.content, "establishments", z, x, y, tmp_path, "dataset")
        assert frame[frame["id"] == code].iloc[0]["licence_status"] == revoked["licence_status"]
    finally:
        with engine.begin() as c:
            c.execute(sa.text("UPDATE establishment SET name = :n WHERE code = :c"), {"n": old_name, "c": code})
            c.execute(sa.text(
                "UPDATE licence SET revoked_on = NULL WHERE kind = 'business_registration' "
                "AND establishment_id = (SELECT id FROM establishment WHERE code = :c)"), {"c": code})
    clock.past_the_bound()
    assert record(get_tile(client, "establishments", z, x, y).content, "restored")["name"] == old_name


def test_an_import_shows_in_the_cached_dataset_tile_past_the_bound(client, engine, ward, clock, tmp_path):
    """A new row (as an import writes it) appears in a tile that was cached empty of it."""
    z = 18
    x, y = tile_of(ESTABLISHMENTS[1][3], ESTABLISHMENTS[1][4], z)
    before = get_tile(client, "establishments", z, x, y)
    codes = set(decode(before.content, "establishments", z, x, y, tmp_path, "b")["id"])
    with engine.begin() as c:
        c.execute(sa.text("""
            INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, operating_status, geom,
                                       review_status)
            SELECT ward_id, 'TILE-NEW-1', 'Cơ sở mới (nhập)', business_type, vsic_code, operating_status,
                   ST_Translate(geom, 0.00001, 0), 'approved' FROM establishment WHERE code = :c"""),
                  {"c": ESTABLISHMENTS[1][0]})
    try:
        assert get_tile(client, "establishments", z, x, y).content == before.content  # within the bound
        clock.past_the_bound()
        after = set(decode(get_tile(client, "establishments", z, x, y).content, "establishments", z, x, y,
                           tmp_path, "a")["id"])
        assert after == codes | {"TILE-NEW-1"}
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM establishment WHERE code = 'TILE-NEW-1'"))
    clock.past_the_bound()
    gone = set(decode(get_tile(client, "establishments", z, x, y).content, "establishments", z, x, y, tmp_path,
                      "g")["id"])
    assert gone == codes


def test_the_fast_path_answers_a_cached_tile_as_the_route_does(client, ward, clock, monkeypatch):
    """The first request is made by the route, the next ones answered from the cache before routing: same
    status, headers and body, HEAD and 304 included; a key, a query string or a miss go to the route."""
    z = 17
    x, y = tile_of(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4], z)
    path = MVT_PATH.format(c="establishments", z=z, y=y, x=x)
    routed = client.get(path)
    made = tiles.tile

    def route_not_expected(*args, **kwargs):
        raise AssertionError("the route made a tile the fast path had in its cache")
    monkeypatch.setattr(tiles, "tile", route_not_expected)
    fast = client.get(path)
    keep = ("content-type", "content-length", "etag", "cache-control", "vary")
    assert fast.status_code == routed.status_code == 200 and fast.content == routed.content
    assert {k: fast.headers.get(k) for k in keep} == {k: routed.headers.get(k) for k in keep}
    head = client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == routed.headers["etag"]
    assert head.headers["content-length"] == routed.headers["content-length"]
    not_modified = client.get(path, headers={"If-None-Match": routed.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == routed.headers["etag"]
    # a change count older than the bound is never read on the event loop: the fast path steps aside and
    # the route (in a thread) reads it again, then answers the same cached tile
    routed_again = []

    def route_spy(*args, **kwargs):
        routed_again.append(args[3:7])
        return made(*args, **kwargs)
    monkeypatch.setattr(tiles, "tile", route_spy)
    clock.past_the_bound()
    again = client.get(path)
    assert routed_again and again.status_code == 200 and again.content == routed.content
    # the route's own checks still apply to what the fast path leaves to it
    monkeypatch.setattr(tiles, "tile", made)
    assert client.get(path + "?f=xml").status_code == 200  # tile routes ignore other parameters
    assert client.get(path, headers={"X-API-Key": "not-a-key"}).status_code == 401


def test_every_watched_source_and_the_change_count(engine, ward):
    for layer in api.collections_for("internal").values():
        tables, watched = layer_reader.source_tables(engine, layer.source)
        assert tables and watched, layer.name
    tables, _ = layer_reader.source_tables(engine, "establishment_overview")
    assert {"establishment", "licence", "inspection"} <= tables
    # bookkeeping written on every sign-in or request is not watched (the log would only grow)
    watched = set(db.scalars(engine, "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'tile_change'"))
    assert {"establishment", "licence", "field_report"} <= watched
    assert not {"user_session", "sign_in_failure", "audit_log", "rate_hit", "tile_change"} & watched
    before = layer_reader.change_count(engine, tables)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE establishment SET updated_at = updated_at WHERE false"))
    assert layer_reader.change_count(engine, tables) == before + 1
    with engine.connect() as c:  # not committed: not seen
        tx = c.begin()
        c.execute(sa.text("UPDATE licence SET number = number WHERE false"))
        assert layer_reader.change_count(engine, tables) == before + 1
        tx.rollback()
    assert layer_reader.change_count(engine, tables) == before + 1


@pytest.mark.parametrize(("path", "status"), [
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/25/0/0", 404),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/99999999999999/0/0", 400),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/-1/0/0", 400),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/3/-2/0", 400),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/3/8/0", 404),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/3/0/8", 404),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/3/1.5/0", 400),
    ("/ogc/collections/establishments/tiles/WebMercatorQuad/3/0/x", 400),
    ("/ogc/collections/establishments/tiles/GoogleCRS84Quad/3/0/0", 404),
    ("/ogc/collections/establishments/tiles/GoogleCRS84Quad", 404),
    ("/ogc/tiles/WebMercatorQuad/0/1/0", 404),
    ("/ogc/tiles/NoSuchSet/0/0/0", 404),
    ("/ogc/tileMatrixSets/NoSuchSet", 404),
    ("/ogc/collections/no_such_layer/tiles/WebMercatorQuad/0/0/0", 404),
    ("/ogc/collections/no_such_layer/tiles", 404),
    ("/ogc/tiles?f=xml", 400),
])
def test_bad_tile_requests_are_refused_in_the_ogc_shape(client, path, status):
    r = client.get(path)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "description"} and body["code"] in ("NotFound", "InvalidParameterValue")


def test_a_tile_over_the_demo_ward_matches_the_database(client, engine, demo_ward, tmp_path):
    """Thousands of points: a zoom-16 tile at the ward's densest place, read by GDAL, against PostGIS."""
    row = db.row(engine, """
        SELECT ST_X(c) x, ST_Y(c) y FROM (SELECT ST_Centroid(ST_Collect(geom)) c FROM establishment
        WHERE ward_id = :w AND geom IS NOT NULL) s""", {"w": demo_ward["id"]})
    z = 16
    x, y = tile_of(row["x"], row["y"], z)
    frame = decode(get_tile(client, "establishments", z, x, y).content, "establishments", z, x, y, tmp_path)
    got = set(frame["id"])
    inside = in_envelope(engine, z, x, y, 0.0)
    assert len(inside) > 50
    assert inside <= got <= in_envelope(engine, z, x, y, 0.02)
    assert len(got) == len(frame)  # each point once



def test_a_crowded_tile_is_counted_per_cell_at_any_zoom(engine, ward, tmp_path, monkeypatch):
    """Past MAX_TILE_FEATURES points in a tile, even at zoom 18, a tile holds cells (its size stays bounded)."""
    import layers

    z = 16
    x, y = tile_of(ESTABLISHMENTS[0][3], ESTABLISHMENTS[0][4], z)
    layer = layers.get("establishments")
    full = decode(layer_reader.read_tile(engine, layer, "public", z, x, y), "establishments", z, x, y, tmp_path, "a")
    assert "name" in full.columns and len(full) >= 2
    monkeypatch.setattr(layer_reader, "MAX_TILE_FEATURES", len(full) - 1)
    cells = decode(layer_reader.read_tile(engine, layer, "public", z, x, y), "establishments", z, x, y, tmp_path, "b")
    assert "name" not in cells.columns and cells["point_count"].sum() == len(full)


def cell_features(bind, layer, profile: str, z: int, x: int, y: int, tmp_path: Path, name: str) -> list[tuple]:
    """A clustered tile as GDAL reads it: sorted (column, row in tile units, point_count, id) of each cell."""
    frame = decode(layer_reader.read_tile(bind, layer, profile, z, x, y), "establishments", z, x, y, tmp_path, name)
    if frame is None:
        return []
    size = 2 * layer_reader.WEB_MERCATOR_HALF / (1 << z)
    x0, y1 = -layer_reader.WEB_MERCATOR_HALF + x * size, layer_reader.WEB_MERCATOR_HALF - y * size
    ids = frame["id"] if "id" in frame else [None] * len(frame)
    unit = layer_reader.MVT_EXTENT / size
    return sorted((round((p.x - x0) * unit), round((y1 - p.y) * unit), int(n), None if i is None or i != i else str(i))
                  for p, n, i in zip(frame.geometry, frame["point_count"], ids, strict=True))


def test_clustered_tiles_from_the_stored_cells_are_the_counted_ones_after_every_kind_of_write(conn, ward, tmp_path):
    """Zoom < 15 tiles read ``establishment_cell`` (kept by triggers, migration 0027); counting the rows as before
    gives the same features (GDAL-decoded: place, count, lone member's id), public and internal, before and after
    inserts, moves, (un)publishing and deletes; the stored cells equal a recount of the table at every zoom."""
    import dataclasses

    import layers

    stored = layers.get("establishments")
    counted = dataclasses.replace(stored, cells=None)
    assert stored.cells == "establishment_cell"
    conn.execute(sa.text("SELECT setseed(0.14)"))
    conn.execute(sa.text("""
        INSERT INTO establishment SELECT (jsonb_populate_record(NULL::establishment, to_jsonb(t) || jsonb_build_object(
            'id', nextval(pg_get_serial_sequence('establishment', 'id')), 'code', 'LZ-' || g,
            'geom', format('SRID=4326;POINT(%s %s)', 108.50 + random() * 0.05, 15.62 + random() * 0.05),
            'review_status', CASE WHEN random() < 0.1 THEN 'pending' ELSE 'approved' END))).*
        FROM establishment t, generate_series(1, 3000) g WHERE t.code = 'TX-0001'"""))

    def same_everywhere(step: str) -> None:
        recount = conn.execute(sa.text("""
            WITH r AS (SELECT review_status = 'approved' AS public, tile_cell_x(ST_X(geom)) gx,
                              tile_cell_y(ST_Y(geom)) gy, id FROM establishment WHERE geom IS NOT NULL),
            f AS (SELECT z, gx >> (14 - z) gx, gy >> (14 - z) gy, public, count(*) n, sum(id) sid
                  FROM r, generate_series(0, 14) z GROUP BY 1, 2, 3, 4),
            c AS (SELECT z::int z, gx, gy, public, n, sid FROM establishment_cell WHERE n > 0)
            SELECT count(*) FROM f FULL JOIN c USING (z, gx, gy, public)
            WHERE f.n IS DISTINCT FROM c.n OR f.sid IS DISTINCT FROM c.sid""")).scalar()
        assert recount == 0, step
        compared = 0
        for lon, lat in ((108.5201, 15.6402), (108.51, 15.63), (108.545, 15.665)):
            for z in (9, 11, 12, 13, 14):
                x, y = tile_of(lon, lat, z)
                for profile in ("public", "internal"):
                    new = cell_features(conn, stored, profile, z, x, y, tmp_path, f"s{step}")
                    old = cell_features(conn, counted, profile, z, x, y, tmp_path, f"c{step}")
                    assert new == old, (step, z, x, y, profile)
                    compared += len(new)
        assert compared > 1000, step

    same_everywhere("insert")
    conn.execute(sa.text("""UPDATE establishment SET geom = ST_Translate(geom, 0.003, -0.002)
                            WHERE code LIKE 'LZ-%' AND id % 7 = 0"""))
    conn.execute(sa.text("""UPDATE establishment SET review_status = CASE review_status WHEN 'approved' THEN 'pending'
                            ELSE 'approved' END WHERE code LIKE 'LZ-%' AND id % 11 = 0"""))
    conn.execute(sa.text("UPDATE establishment SET name = name || ' (sửa)' WHERE code LIKE 'LZ-%' AND id % 5 = 0"))
    conn.execute(sa.text("UPDATE establishment SET geom = NULL WHERE code LIKE 'LZ-%' AND id % 13 = 0"))  # unplaced
    same_everywhere("update")
    conn.execute(sa.text("DELETE FROM establishment WHERE code LIKE 'LZ-%' AND id % 3 = 0"))
    same_everywhere("delete")
