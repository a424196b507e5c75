"""The public transparency figures (outcomes per month and category, counts per residential group), the
one-tap rating of a resolved report (once per report, resolved only, token-checked) and the dashboard's
"satisfaction with report handling" indicator, on the real PostGIS database."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_fixtures import ensure_ward, inside_point, offset

from geomap import dashboard, i18n, profiles
from geomap.dashboard import indicators
from geomap.field_reports import intake, outcomes, workflow
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.web import create_app
from geomap.web.routes import reports as report_routes

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
MARK = "Kiểm thử minh bạch"


@pytest.fixture(scope="module")
def ward(request, engine) -> int:
    return ensure_ward(request, engine)


def make(bind, ward: int, *, at: dt.datetime, east_m: float = 0.0, category: str = "garbage",
         contact: str | None = None) -> tuple[int, str]:
    lon, lat = offset(inside_point(), east_m)
    data = intake.validate(category=category, description=f"{MARK}: rác tồn đọng", lat=lat, lon=lon,
                           reporter_name="Người Thử Minh Bạch" if contact else None, reporter_contact=contact,
                           consent=bool(contact))
    done = intake.submit(bind, data, ward_id=ward, client=f"outcomes-{at.isoformat()}-{east_m}", at=at)
    return done.id, done.public_id


def resolve(conn, report_id: int, at: dt.datetime | None) -> None:
    workflow.transition(conn, report_id, "resolved", user=None)
    if at is not None:
        conn.execute(sa.text("UPDATE field_report SET resolved_at = :t WHERE id = :r"), {"t": at, "r": report_id})


def _month(months: list[dict], key: str) -> dict:
    return next((m for m in months if m["month"] == key), {"total": dict.fromkeys(
        ("received", "on_time", "overdue", "open"), 0), "rows": []})


def expected_by_hand(conn, ward: int, now: dt.datetime) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """The same figures computed in pandas from the raw rows (not the SQL under test)."""
    frame = pd.read_sql(sa.text("SELECT category, status, reported_at, deadline_at, resolved_at, updated_at "
                                "FROM field_report WHERE ward_id = :w"), conn, params={"w": ward})
    frame = frame[~frame["status"].isin(["duplicate", "not_ward"])]
    start = pd.Timestamp(outcomes.window_start(now))
    t = pd.to_datetime(frame["reported_at"], utc=True)
    frame = frame[(t >= start) & (t < pd.Timestamp(now))]
    out: dict[tuple[str, str], list[int]] = {}
    for r in frame.itertuples():
        month = pd.Timestamp(r.reported_at).tz_convert("Asia/Ho_Chi_Minh").strftime("%Y-%m")
        done = r.status in ("resolved", "closed")
        done_at = r.resolved_at if pd.notna(r.resolved_at) else r.updated_at
        deadline = r.deadline_at if pd.notna(r.deadline_at) else None
        row = out.setdefault((month, r.category), [0, 0, 0, 0])
        row[0] += 1
        if done and (deadline is None or done_at <= deadline):
            row[1] += 1
        elif (done and done_at > deadline) or (not done and deadline is not None and deadline < now):
            row[2] += 1
        else:
            row[3] += 1
    return {k: tuple(v) for k, v in out.items()}


def test_monthly_outcomes_match_a_count_by_hand_and_follow_new_reports(conn, ward):
    got = {(m["month"], r["category"]): (r["received"], r["on_time"], r["overdue"], r["open"])
           for m in outcomes.monthly(conn, ward, now=NOW) for r in m["rows"]}
    assert got == expected_by_hand(conn, ward, NOW)
    before = _month(outcomes.monthly(conn, ward, now=NOW), "2026-10")["total"]
    at = dt.datetime(2026, 10, 6, 2, 0, tzinfo=UTC)  # a Tuesday: deadlines a few working days later
    on_time, _ = make(conn, ward, at=at, east_m=5)
    late, _ = make(conn, ward, at=at, east_m=10)
    make(conn, ward, at=at, east_m=15)  # still open, long past its deadline
    resolve(conn, on_time, at + dt.timedelta(days=1))
    resolve(conn, late, at + dt.timedelta(days=40))
    after = _month(outcomes.monthly(conn, ward, now=NOW), "2026-10")["total"]
    assert {k: after[k] - before[k] for k in after} == {"received": 3, "on_time": 1, "overdue": 2, "open": 0}
    months = outcomes.monthly(conn, ward, now=NOW)
    assert [m["month"] for m in months] == sorted((m["month"] for m in months), reverse=True)
    assert all(m["month"] >= "2025-12" for m in months)  # 12 months: December 2025 to November 2026
    for m in months:
        assert all(m["total"][k] == sum(r[k] for r in m["rows"]) for k in m["total"])


def test_area_map_counts_every_report_once_without_points(conn, ward):
    m = outcomes.area_map(conn, ward, now=NOW)
    months = outcomes.monthly(conn, ward, now=NOW)
    received = sum(mo["total"]["received"] for mo in months)
    counted = sum(a["resolved"] + a["open"] for a in m["areas"]) + m["outside"]["resolved"] + m["outside"]["open"]
    assert counted == received > 0
    with conn.begin_nested():
        n_groups = conn.execute(sa.text("SELECT count(*) FROM residential_group WHERE ward_id = :w"),
                                {"w": ward}).scalar()
    assert len(m["areas"]) == n_groups > 0
    assert all(a["path"].startswith("M") for a in m["areas"])
    assert {a["fill"] for a in m["areas"] if a["resolved"] + a["open"] == 0} <= {outcomes.AREA_COLOURS[0]}
    busiest = max(m["areas"], key=lambda a: a["resolved"] + a["open"])
    assert busiest["fill"] == outcomes.AREA_COLOURS[-1]
    # the paths start in the ward's metric grid (hundreds of thousands of metres), never degrees
    numbers = [abs(float(x)) for x in re.findall(r"-?\d+(?:\.\d+)?", busiest["path"])[:2]]
    assert all(n > 1000 for n in numbers), numbers


def test_rating_once_per_resolved_report_and_counted_in_the_indicator(conn, ward):
    report_id, public_id = make(conn, ward, at=dt.datetime(2026, 11, 2, 2, tzinfo=UTC), east_m=20)
    assert outcomes.rate(conn, public_id, True) == outcomes.NOT_RESOLVED
    assert outcomes.rate(conn, "PA-NONE-NONE-NONE", True) == outcomes.NOT_FOUND
    frames = dashboard.load_frames(conn, ward)
    today = dt.datetime.now(LOCAL_TZ).date()  # the dashboard's days are Vietnam's
    before = indicators.indicator_parts(frames, today)["report_satisfaction"][["num", "den"]].sum()
    resolve(conn, report_id, None)
    assert outcomes.rate(conn, public_id, True) == outcomes.RATED
    assert outcomes.rate(conn, public_id, False) == outcomes.ALREADY_RATED  # a second tap changes nothing
    assert outcomes.rate(conn, public_id, True) == outcomes.ALREADY_RATED
    rows = conn.execute(sa.text("SELECT satisfied FROM report_rating WHERE report_id = :r"), {"r": report_id}).all()
    assert rows == [(True,)]
    other_id, other_public = make(conn, ward, at=dt.datetime(2026, 11, 2, 3, tzinfo=UTC), east_m=25)
    resolve(conn, other_id, None)
    assert outcomes.rate(conn, other_public, False) == outcomes.RATED
    frames = dashboard.load_frames(conn, ward)
    after = indicators.indicator_parts(frames, today)["report_satisfaction"][["num", "den"]].sum()
    assert (after["num"] - before["num"], after["den"] - before["den"]) == (1, 2)
    board = dashboard.compute(frames, profiles.get("hoa-cuong"), today)
    row = board.summary.loc["report_satisfaction"]
    assert row["den"] >= 2 and row["value"] == pytest.approx(row["num"] / row["den"])
    ind = indicators.BY_KEY["report_satisfaction"]
    assert ind.description_vi and ind.description_en and ind.kind == "share"


# --- over HTTP ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed(engine, ward):
    """Two reports committed for the web tests (the app reads with its own connections); deleted after."""
    at = dt.datetime.now(UTC) - dt.timedelta(days=3)
    done_id, done_public = make(engine, ward, at=at, east_m=30, contact="0905 777 888")
    open_id, open_public = make(engine, ward, at=at, east_m=35, contact="mật@example.vn")
    workflow.transition(engine, done_id, "resolved", user=None)
    yield {"done": (done_id, done_public), "open": (open_id, open_public)}
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM field_report WHERE id IN (:a, :b)"), {"a": done_id, "b": open_id})


@pytest.fixture(scope="module")
def client(database_url, committed):
    with TestClient(create_app(database_url)) as c:
        yield c


def test_tracking_page_rates_once_with_its_token(client, engine, committed):
    _, public_id = committed["done"]
    page = client.get(f"/report/track/{public_id}")
    assert page.status_code == 200 and 'id="rating"' in page.text
    token = re.search(r'name="rate_token" value="([^"]+)"', page.text).group(1)
    assert client.cookies.get(report_routes.RATE_COOKIE) == token
    cookie = page.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and f"path=/report/track/{public_id.lower()}" in cookie
    url = f"/report/track/{public_id}/rating"
    forged = client.post(url, data={"satisfied": "yes", "rate_token": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403
    client.cookies.clear()  # another site's form: no cookie with it
    assert client.post(url, data={"satisfied": "yes", "rate_token": token}, follow_redirects=False).status_code == 403
    client.cookies.set(report_routes.RATE_COOKIE, token, path=f"/report/track/{public_id}")
    first = client.post(url, data={"satisfied": "yes", "rate_token": token}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith(f"/report/track/{public_id}")
    again = client.post(url, data={"satisfied": "no", "rate_token": token}, follow_redirects=False)
    assert again.status_code == 303
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT satisfied FROM report_rating WHERE report_id = :r"),
                         {"r": committed["done"][0]}).all() == [(True,)]
    shown = client.get(f"/report/track/{public_id}")
    assert 'id="rated"' in shown.text and 'id="rating"' not in shown.text
    _, open_public = committed["open"]
    assert 'id="rating"' not in client.get(f"/report/track/{open_public}").text  # not resolved: no form
    client.cookies.set(report_routes.RATE_COOKIE, token, path=f"/report/track/{open_public}")
    assert client.post(f"/report/track/{open_public}/rating", data={"satisfied": "yes", "rate_token": token},
                       follow_redirects=False).status_code == 409


def test_transparency_page_is_light_cached_and_has_no_reporter_data(client, engine, ward, committed):
    r = client.get("/report/outcomes", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == f"public, max-age={report_routes.OUTCOMES_TTL_S}"
    assert r.headers["content-encoding"] == "gzip" and "Accept-Language" in r.headers["vary"]
    raw = client.get("/report/outcomes", headers={"Accept-Encoding": "identity"})
    body = raw.text
    wire = len(gzip.compress(raw.content, 6))
    print(f"transparency page: {len(raw.content):,} bytes, {wire:,} gzipped")
    assert wire <= 20_000  # a weak 3G phone: the QR page's discipline (no script, inline SVG)
    assert "<script" not in body and "http://" not in body.replace("http://www.w3.org", "")
    assert i18n.t("report.outcomes_title", "vi") in body and i18n.t("report.outcomes_title", "en") not in body
    for secret in ("0905 777 888", "mật@example.vn", "Người Thử Minh Bạch", MARK, committed["open"][1]):
        assert secret not in body
    lon, lat = offset(inside_point(), 30)
    assert f"{lon:.4f}" not in body and f"{lat:.4f}" not in body
    with engine.connect() as c:
        groups = c.execute(sa.text("SELECT count(*) FROM residential_group WHERE ward_id = :w"), {"w": ward}).scalar()
    svg = body[body.index('<g id="areas"'):body.index("</svg>")]
    assert svg.count("<path ") == groups
    en = client.get("/report/outcomes?lang=en").text
    assert i18n.t("report.outcomes_title", "en") in en and i18n.t("report.by_month", "vi") not in en
    assert client.get("/report/outcomes?ward=khong-co").status_code == 404
    assert client.get("/report/outcomes?ward=../etc").status_code == 404
