"""The ``hotspots`` registry layer: the latest analysis per ward and window, stored, exported (read back by
GDAL), served by the OGC API (items, queryables, vector tiles) in the public profile without report text or
reporter data; a new analysis replaces the old one of the same ward and window, and a failed one changes nothing."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_fixtures import ensure_ward

import layers
from geomap import export, i18n
from geomap.field_reports import hotspot_store
from geomap.web import create_app

WINDOW = 37  # a window length no other test stores
PERMUTATIONS = 199  # enough for the layer's plumbing; the statistics are tested in test_hotspots.py


@pytest.fixture(scope="module")
def stored(request, engine):
    ward = ensure_ward(request, engine)
    now = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    analysis = hotspot_store.run(engine, ward, WINDOW, now=now, permutations=PERMUTATIONS)
    yield {"ward": ward, "analysis": analysis, "now": now}
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM hotspot_cell WHERE window_days IN (:w, :w2, :w3)"),
                  {"w": WINDOW, "w2": WINDOW + 1, "w3": WINDOW + 2})


def _rows(engine, ward: int, window: int) -> list[dict]:
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(sa.text(
            "SELECT cell, report_count, hotspot_class, class_vi, class_en, window_end FROM hotspot_cell "
            "WHERE ward_id = :w AND window_days = :d ORDER BY cell"), {"w": ward, "d": window})]


def test_analysis_is_stored_with_counts_and_plain_words(engine, stored):
    rows = _rows(engine, stored["ward"], WINDOW)
    cells = stored["analysis"].cells
    assert len(rows) == len(cells) > 100
    assert sum(r["report_count"] for r in rows) == stored["analysis"].params["reports"] > 0
    for r in rows:
        assert r["class_vi"] == i18n.code_label("hotspot_class", r["hotspot_class"], "vi")
        assert r["class_en"] == i18n.code_label("hotspot_class", r["hotspot_class"], "en")
    by_cell = dict(zip(cells["cell"], cells["count"], strict=True))
    assert all(by_cell[r["cell"]] == r["report_count"] for r in rows)


def test_new_analysis_replaces_the_old_one_of_that_ward_and_window(engine, stored):
    ward = stored["ward"]
    other = hotspot_store.run(engine, ward, WINDOW + 1, now=stored["now"], permutations=PERMUTATIONS)
    later = stored["now"] + dt.timedelta(days=20)
    again = hotspot_store.run(engine, ward, WINDOW + 1, now=later, permutations=PERMUTATIONS)
    rows = _rows(engine, ward, WINDOW + 1)
    assert len(rows) == len(again.cells)  # not twice: replaced
    assert {r["window_end"] for r in rows} == {later}
    assert sum(r["report_count"] for r in rows) == again.params["reports"]
    assert other.params["reports"] != again.params["reports"] or other.window != again.window
    assert len(_rows(engine, ward, WINDOW)) == len(stored["analysis"].cells)  # the other window is untouched
    # a failed write (a row the table refuses) leaves the stored analysis as it was
    bad = hotspot_store.rows_of(stored["analysis"], ward, WINDOW + 1)
    bad[-1]["hotspot_class"] = "very_hot"
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
        from geomap.field_reports import data

        data.replace_hotspot_cells(c, ward, WINDOW + 1, bad)
    assert _rows(engine, ward, WINDOW + 1) == rows


def test_public_profile_has_no_report_text_or_reporter_fields():
    layer = layers.get("hotspots")
    public = {f.name for f in layer.fields_for("public")}
    assert not layer.personal_fields
    reports = layers.get("field_reports")
    private_report_fields = {f.name for f in reports.fields if not f.public}  # description, reporter...
    assert {"description", "reporter_name", "reporter_contact", "address"} <= private_report_fields
    assert not public & private_report_fields
    assert {"report_count", "class_vi", "class_en", "hotspot_class", "window_days"} <= public


def test_layer_is_exported_and_gdal_reads_it(engine, stored, tmp_path):
    result = export.export(engine, layers=["hotspots"], fmt="gpkg", ward="hoa-cuong", dest=tmp_path / "h.gpkg")
    assert "hotspots" in [row[0] for row in pyogrio.list_layers(result.path)]
    back = pyogrio.read_dataframe(result.path, layer="hotspots")
    mine = back[back["window_days"] == WINDOW]
    rows = _rows(engine, stored["ward"], WINDOW)
    assert sorted(mine["cell"]) == [r["cell"] for r in rows]
    assert int(mine["report_count"].sum()) == sum(r["report_count"] for r in rows)
    assert set(mine.geometry.geom_type) == {"Polygon"}
    assert set(mine["class_vi"]) <= {"Điểm nóng nổi bật", "Điểm lạnh", "Không nổi bật"}
    assert not {"description", "reporter_name", "reporter_contact"} & set(back.columns)
    # the public export holds no text of any report of the ward
    with engine.connect() as c:
        texts = {t for (t,) in c.execute(sa.text(
            "SELECT description FROM field_report WHERE ward_id = :w AND length(description) > 12 LIMIT 200"),
            {"w": stored["ward"]})}
    values = {str(v) for col in back.columns if col != "geometry" for v in back[col]}
    assert texts and not texts & values


@pytest.fixture(scope="module")
def client(database_url, stored):
    with TestClient(create_app(database_url)) as c:
        yield c


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_ogc_serves_items_queryables_and_tiles(client, engine, stored, tmp_path: Path):
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert "hotspots" in ids
    cells = stored["analysis"].cells
    busiest = cells.sort_values("count", ascending=False).iloc[0]
    r = client.get("/ogc/collections/hotspots/items", params={"window_days": WINDOW, "cell": busiest["cell"]})
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert len(features) == 1
    props = features[0]["properties"]
    assert props["report_count"] == int(busiest["count"]) > 0
    assert features[0]["id"] == f"{busiest['cell']}-{WINDOW}d-w{stored['ward']}"
    assert not {"description", "reporter_name", "reporter_contact", "id"} & set(props)
    one = client.get(f"/ogc/collections/hotspots/items/{features[0]['id']}")
    assert one.status_code == 200 and one.json()["properties"]["cell"] == busiest["cell"]
    queryables = client.get("/ogc/collections/hotspots/queryables").json()["properties"]
    assert {"report_count", "hotspot_class", "window_days"} <= set(queryables)
    filtered = client.get("/ogc/collections/hotspots/items", params={
        "filter": f"window_days = {WINDOW} AND report_count >= {int(busiest['count'])}", "limit": 1000}).json()
    assert busiest["cell"] in {f["properties"]["cell"] for f in filtered["features"]}
    centre = busiest.geometry.centroid
    z = 16
    x, y = _tile(centre.x, centre.y, z)
    t = client.get(f"/ogc/collections/hotspots/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert t.status_code == 200, t.text
    path = tmp_path / "h.mvt"
    path.write_bytes(t.content)
    decoded = pyogrio.read_dataframe(path, layer="hotspots", X=str(x), Y=str(y), Z=str(z))
    assert busiest["cell"] in set(decoded["cell"])
    assert not {"description", "reporter_name", "reporter_contact"} & set(decoded.columns)


def test_cli_stores_the_window(engine, stored, database_url):
    env = {"GEOMAP_DATABASE_URL": database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    bad = subprocess.run([sys.executable, "-m", "geomap.cli", "reports", "hotspots", "--ward", "hoa-cuong",
                          "--window", "0"], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert bad.returncode != 0 and "--window" in bad.stderr
    assert len(_rows(engine, stored["ward"], WINDOW)) == len(stored["analysis"].cells)
    try:
        ok = subprocess.run([sys.executable, "-m", "geomap.cli", "reports", "hotspots", "--ward", "hoa-cuong",
                             "--window", str(WINDOW + 2)], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=300)
        assert ok.returncode == 0, ok.stderr
        assert f"window {WINDOW + 2} days" in ok.stdout
        rows = _rows(engine, stored["ward"], WINDOW + 2)
        assert len(rows) > 100 and sum(r["report_count"] for r in rows) > 0
        only_garbage = subprocess.run([sys.executable, "-m", "geomap.cli", "reports", "hotspots", "--ward",
                                       "hoa-cuong", "--window", str(WINDOW + 3), "--category", "garbage"],
                                      capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
        # one category is printed, not stored
        assert only_garbage.returncode == 0 and not _rows(engine, stored["ward"], WINDOW + 3)
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM hotspot_cell WHERE window_days = :d"), {"d": WINDOW + 2})


def test_publishing_is_for_those_who_decide_what_is_published(engine, stored):
    """Viewing the hotspot page publishes nothing; the staff app's "publish" runs the service with the user,
    and roles without ``moderate_reports`` (an inspector, the read-only city officer) are refused."""
    from geomap.auth import PermissionDenied
    from geomap.users import User

    ward = stored["ward"]
    before = hotspot_store.stored(engine, ward)
    for role in ("inspector", "city"):
        with pytest.raises(PermissionDenied):
            hotspot_store.run(engine, ward, WINDOW + 2, now=stored["now"], permutations=PERMUTATIONS,
                              user=User(id=0, username=role, full_name=role, role=role, ward_id=None))
    assert hotspot_store.stored(engine, ward) == before
    officer = User(id=0, username="lan", full_name="Lan", role="data_officer", ward_id=ward)
    hotspot_store.run(engine, ward, WINDOW + 2, now=stored["now"], permutations=PERMUTATIONS, user=officer)
    assert {w["window_days"] for w in hotspot_store.stored(engine, ward)} == \
        {w["window_days"] for w in before} | {WINDOW + 2}
