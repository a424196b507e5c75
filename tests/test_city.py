"""The city role and the city-wide view's services, on two small demo wards in the real PostGIS.

The role reads every ward and changes nothing: each family of writes (records, imports, QR codes,
the report workflow) refuses it at the service, whatever a page shows. A ward-bound account is
held to its ward. The tile routes accept a staff session's cookie (the city page's script sends
it) and open the profile the role allows; CORS answers only the staff app's origin.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from geomap import auth, city, config, dashboard, db, demo, importing
from geomap.city import view as cityview
from geomap.dashboard import periods
from geomap.field_reports import workflow
from geomap.records import edit
from geomap.ui import pages
from geomap.wards import data as ward_data
from geomap.web import create_app, session
from qr import issue

PASSWORD = "mat-khau-thu-9"


@pytest.fixture(scope="module")
def wards(engine, demo_ward):
    """Two wards: the session's demo Hòa Cường and a small Thanh Khê."""
    demo.load(engine, ward="thanh-khe", scale=0.05)
    return {s: ward_data.ward_id(engine, s) for s in ("hoa-cuong", "thanh-khe")}


@pytest.fixture(scope="module")
def accounts(engine, wards):
    with db.transaction(engine) as c:
        made = {
            "city": auth.create_user(c, "tp.city", "Cán bộ thành phố", "city", PASSWORD),
            "admin": auth.create_user(c, "tp.admin", "Quản trị", "admin", PASSWORD),
            "ward": auth.create_user(c, "tp.hc", "Cán bộ Hòa Cường", "data_officer", PASSWORD,
                                     ward_id=wards["hoa-cuong"]),
        }
    return made


def _one(engine, ward_id: int, table: str = "establishment") -> int:
    return db.scalar(engine, f"SELECT min(id) FROM {table} WHERE ward_id = :w", {"w": ward_id})


# --- the role -------------------------------------------------------------------------------------


def test_city_role_holds_reading_rights_only():
    changing = {"edit_records", "record_inspection", "import_records", "review_additions", "moderate_reports",
                "manage_users", "survey", "survey_if_ward_allows", "handle_reports", "export_internal",
                "view_personal"}
    held = set(auth.permissions_of("city"))
    assert held == {"view_history", "view_dashboard", "view_city"}
    assert not held & changing


def test_city_page_is_for_city_and_admin_only():
    page = next(p for p in pages.discover() if p.key == "city")
    assert set(page.roles) == {"city", "admin"}
    for role in ("inspector", "data_officer", "ward_manager"):
        assert role not in page.roles
    # what a city user may open: the city page, the dashboard and records (read only)
    assert {p.key for p in pages.discover() if "city" in p.roles} == {"city", "dashboard", "records"}


def test_a_city_account_has_no_ward(engine, wards):
    with db.transaction(engine) as c:
        with pytest.raises(auth.AccountError) as err:
            auth.create_user(c, "tp.bound", "Bị gắn phường", "city", PASSWORD, ward_id=wards["hoa-cuong"])
    assert "không gắn với một phường" in str(err.value)
    with pytest.raises(IntegrityError):  # the database says so too
        with db.transaction(engine) as c:
            c.exec_driver_sql("INSERT INTO app_user (username, full_name, role, password_hash, ward_id) "
                              f"VALUES ('tp.raw', 'x', 'city', 'x', {wards['hoa-cuong']})")


def test_cli_adds_a_city_user(engine, wards, monkeypatch, capsys):
    from geomap import cli

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    assert cli.main(["user", "add", "tp.cli", "--role", "city", "--name", "Cán bộ Sở", "--password-stdin"]) == 0
    assert "tp.cli" in capsys.readouterr().out
    row = db.row(engine, "SELECT role, ward_id FROM app_user WHERE username = 'tp.cli'")
    assert row["role"] == "city" and row["ward_id"] is None


def test_demo_users_include_a_city_officer():
    assert ("thanhpho", "city") in [(u, r) for u, r, _ in auth.DEMO_USERS]


# --- every family of writes refuses the city role ---------------------------------------------------


def test_records_refuse_the_city_role(engine, wards, accounts):
    user = accounts["city"]
    est = _one(engine, wards["hoa-cuong"])
    before = db.row(engine, "SELECT version, name FROM establishment WHERE id = :i", {"i": est})
    with pytest.raises(auth.PermissionDenied):
        edit.update_establishment(engine, est, {"name": "Đổi tên"}, expected_version=before["version"], user=user)
    with pytest.raises(auth.PermissionDenied):
        edit.close_establishment(engine, est, expected_version=before["version"], user=user)
    with pytest.raises(auth.PermissionDenied):
        edit.record_inspection(engine, est, "2026-01-05", "periodic", "pass", user=user)
    with pytest.raises(auth.PermissionDenied):
        edit.create_establishment(engine, wards["hoa-cuong"], {"name": "Quán Mới"}, lon=108.22, lat=16.04, user=user)
    after = db.row(engine, "SELECT version, name FROM establishment WHERE id = :i", {"i": est})
    assert after == before


def test_imports_refuse_the_city_role(engine, wards, accounts):
    n = db.scalar(engine, "SELECT count(*) FROM establishment")
    csv = "Tên cơ sở,Địa chỉ,Vĩ độ,Kinh độ\nQuán Thử,1 Núi Thành,16.04,108.22\n".encode()
    with pytest.raises(auth.PermissionDenied):
        importing.dry_run(engine, "establishments", csv, ward_id=wards["hoa-cuong"],
                          filename="co-so.csv", user=accounts["city"])
    with pytest.raises(auth.PermissionDenied):
        importing.run_import(engine, "establishments", csv, ward_id=wards["hoa-cuong"],
                             filename="co-so.csv", user=accounts["city"])
    assert db.scalar(engine, "SELECT count(*) FROM establishment") == n


def test_qr_codes_refuse_the_city_role(engine, wards, accounts):
    user = accounts["city"]
    n = db.scalar(engine, "SELECT count(*) FROM qr_code")
    est = _one(engine, wards["hoa-cuong"])
    with pytest.raises(auth.PermissionDenied):
        with db.transaction(engine) as c:
            issue.issue_missing(c, wards["hoa-cuong"], user=user)
    with pytest.raises(auth.PermissionDenied):
        with db.transaction(engine) as c:
            issue.issue(c, establishment_id=est, user=user)
    with db.transaction(engine) as c:  # the command line (no user) may
        made = issue.issue(c, establishment_id=est)
    for write in (lambda c: issue.revoke(c, made.token, reason="damaged", user=user),
                  lambda c: issue.reissue(c, made.token, user=user),
                  lambda c: issue.revoke_closed(c, wards["hoa-cuong"], user=user)):
        with pytest.raises(auth.PermissionDenied):
            with db.transaction(engine) as c:
                write(c)
    assert db.scalar(engine, "SELECT count(*) FROM qr_code") == n + 1
    assert db.scalar(engine, "SELECT revoked_at FROM qr_code WHERE token = :t", {"t": made.token}) is None


def test_report_workflow_refuses_the_city_role(engine, wards, accounts):
    user = accounts["city"]
    report = db.row(engine, "SELECT id, status, assignee_id FROM field_report WHERE ward_id = :w ORDER BY id "
                            "LIMIT 1", {"w": wards["hoa-cuong"]})
    other = db.scalar(engine, "SELECT max(id) FROM field_report WHERE ward_id = :w", {"w": wards["hoa-cuong"]})
    history = db.scalar(engine, "SELECT count(*) FROM field_report_update")
    for write in (lambda: workflow.transition(engine, report["id"], "received", user=user),
                  lambda: workflow.assign(engine, report["id"], accounts["admin"].id, user=user),
                  lambda: workflow.mark_duplicate(engine, report["id"], other, user=user),
                  lambda: workflow.add_note(engine, report["id"], "ghi chú", user=user),
                  lambda: workflow.moderate(engine, report["id"], "approved", user=user)):
        with pytest.raises(auth.PermissionDenied):
            write()
    after = db.row(engine, "SELECT id, status, assignee_id FROM field_report WHERE id = :i", {"i": report["id"]})
    assert after == report
    assert db.scalar(engine, "SELECT count(*) FROM field_report_update") == history
    workflow.add_note(engine, report["id"], "ghi chú", user=accounts["ward"])  # ward staff still work reports
    assert db.scalar(engine, "SELECT count(*) FROM field_report_update") == history + 1


# --- ward scope -----------------------------------------------------------------------------------


def test_a_ward_account_cannot_write_in_another_ward(engine, wards, accounts):
    with pytest.raises(auth.PermissionDenied):
        edit.check_scope(accounts["ward"], wards["thanh-khe"])
    edit.check_scope(accounts["ward"], wards["hoa-cuong"])
    edit.check_scope(accounts["city"], wards["thanh-khe"])  # city-wide reads pass the scope (and hold no write)


# --- the city view's figures and map ----------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-Q4", "2026-Q2"])  # this quarter (as of today), a past one (as of its end)
def test_ward_indicators_match_each_wards_dashboard(engine, wards, period):
    today = pd.Timestamp("2026-11-20").date()
    figures = city.ward_indicators(engine, today, period)
    assert set(figures.long["slug"]) >= set(wards)
    assert len(figures.long) == len(set(figures.long["slug"])) * len(dashboard.INDICATORS)
    for slug, ward_id in wards.items():
        board = dashboard.compute(dashboard.load_frames(engine, ward_id), None, today, period=period,
                                  trend_periods=0)
        mine = figures.long[figures.long["slug"] == slug].set_index("key")
        assert (mine["den"] > 0).sum() >= 5, slug
        for ind in dashboard.INDICATORS:
            assert mine.loc[ind.key, "num"] == board.summary.loc[ind.key, "num"]
            assert mine.loc[ind.key, "den"] == board.summary.loc[ind.key, "den"]
    # the plan's 2026 digital-platform target (50 %) holds every ward to it
    assert set(figures.targets().loc[list(wards), "digital_platform_share"]) == {0.5}
    assert figures.period == periods.parse(period)


def _missing(v) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def test_wards_read_in_one_pass_get_the_frames_each_ward_reads_alone(engine, wards):
    """The city's one read per table, split by ward, gives each ward exactly its own frames (a ward without
    any rows gets empty frames with the same columns)."""
    from geomap.dashboard.data import load_wards_frames

    nowhere = int(db.scalar(engine, "SELECT max(id) FROM ward")) + 1000
    together = load_wards_frames(engine, [*wards.values(), nowhere])
    assert set(together) == {*wards.values(), nowhere}
    for slug, ward_id in wards.items():
        alone = dashboard.load_frames(engine, ward_id)
        assert len(alone.establishments) > 100 and len(alone.licences) > 100, slug
        for name in ("establishments", "reports", "stalls", "licences", "inspections", "groups", "stall_evidence",
                     "changes", "group_values"):
            a, b = getattr(together[ward_id], name), getattr(alone, name)
            assert list(a.columns) == list(b.columns), (slug, name)
            key = [c for c in ("id", "stall_id", "seen_on", "entity_id", "at", "key") if c in a.columns]
            key = key or list(a.columns)[:3]
            a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
            assert len(a) == len(b), (slug, name)
            for col in a.columns:  # the same values (a column's dtype may differ: more wards, other missing values)
                assert all(_missing(u) and _missing(v) or u == v for u, v in zip(a[col], b[col], strict=True)), \
                    (slug, name, col)
        assert together[ward_id].tracking_since == alone.tracking_since
    empty = together[nowhere]
    assert empty.establishments.empty and list(empty.establishments.columns) == list(alone.establishments.columns)
    assert empty.groups.empty and empty.tracking_since is None


def test_city_map_page_is_small_and_pinned(engine, wards):
    outlines = city.ward_outlines(engine)
    assert list(outlines["slug"]) == sorted(outlines["slug"], key=lambda s: outlines.set_index("slug").loc[s, "name"])
    ind = dashboard.BY_KEY["digital_platform_share"]
    fmap = city.city_map(outlines, {"hoa-cuong": 0.62, "thanh-khe": None}, ind, tiles_base="http://127.0.0.1:8000",
                         staff_base="http://127.0.0.1:8501", assets_url="/app/static")
    page = fmap.get_root().render()
    assert len(page.encode()) < 300_000
    assert "/app/static/vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js" in page
    assert "http://127.0.0.1:8000/ogc/collections/establishments/tiles/WebMercatorQuad/{z}/{y}/{x}" in page
    assert "credentials:'include'" in page.replace(" ", "").replace('"', "'")
    scripts = [s for s in page.split("<script src=")[1:]]
    assert all(s.startswith('"/app/static/') for s in scripts), scripts  # nothing from a CDN
    assert "X-API-Key" not in page and "api_key" not in page.lower()
    assert cityview.CITY_LAYERS == ("land_parcels", "establishments")


# --- tiles with the staff session ---------------------------------------------------------------------


def _tile_path(z=14, x=13050, y=7591) -> str:
    return f"/ogc/collections/establishments/tiles/WebMercatorQuad/{z}/{y}/{x}"


def test_tile_routes_answer_the_staff_origin_with_the_sessions_profile(engine, database_url, wards, accounts):
    signed = {}
    for key in ("city", "admin", "ward"):
        _user, token = auth.sign_in(engine, accounts[key].username, PASSWORD, client=f"test-{key}")
        signed[key] = token
    staff = session.staff_origin()
    with TestClient(create_app(database_url)) as client:
        url = "/ogc/collections/establishments/items?limit=1&f=json"
        public = client.get(url)
        assert public.status_code == 200
        assert "access-control-allow-origin" not in public.headers
        assert "Origin" in public.headers["vary"] and "Cookie" in public.headers["vary"]
        public_id = public.json()["features"][0]["id"]
        assert isinstance(public_id, str)  # the public code

        for key, expected in (("city", "public"), ("ward", "public"), ("admin", "internal")):
            client.cookies.set(session.COOKIE, signed[key])
            got = client.get(url, headers={"Origin": staff})
            client.cookies.clear()
            assert got.status_code == 200
            assert got.headers["access-control-allow-origin"] == staff
            assert got.headers["access-control-allow-credentials"] == "true"
            feature = got.json()["features"][0]
            assert isinstance(feature["id"], int if expected == "internal" else str), key
            has_personal = "owner_name" in feature["properties"]
            assert has_personal == (expected == "internal"), key

        other = client.get(url, headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers

        client.cookies.set(session.COOKIE, "not-a-session")
        assert isinstance(client.get(url).json()["features"][0]["id"], str)
        client.cookies.clear()

        tile = client.get(_tile_path(), headers={"Origin": staff})
        assert tile.status_code == 200 and tile.headers["access-control-allow-origin"] == staff

        # a public tile already in the cache (answered before routing the second time) is never handed to a
        # signed-in administrator, whose session opens the internal profile
        lon, lat = public.json()["features"][0]["geometry"]["coordinates"]
        z = 16
        col = int((lon + 180) / 360 * (1 << z))
        row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
        path = _tile_path(z, col, row)
        first, cached = client.get(path), client.get(path)
        assert len(first.content) > 0  # the tile holds that establishment
        assert first.status_code == cached.status_code == 200 and first.headers["etag"] == cached.headers["etag"]
        client.cookies.set(session.COOKIE, signed["admin"])
        internal = client.get(path, headers={"Origin": staff})
        client.cookies.clear()
        assert internal.status_code == 200 and internal.headers["etag"] != cached.headers["etag"]
        assert internal.headers["cache-control"].startswith("private")
    assert staff == config.STAFF_BASE_URL.rstrip("/").lower()
