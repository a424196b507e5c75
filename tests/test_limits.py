"""Rate limits of the public service: one limit per client across workers (apps sharing the database),
forwarded headers believed only from configured proxies, tracking pages and code guesses limited.

Every app here counts in the database explicitly (``limits.share``) with its own fixed clock, so a test
owns its window of ``rate_hit`` and never crosses a minute boundary.
"""

from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_fixtures import ensure_ward, inside_point
from starlette.requests import Request

from geomap.web import create_app
from geomap.web.ratelimit import RateLimits, SharedCounter, TrustedProxies, client_key

_windows = itertools.count(1)


def shared_clock() -> SharedCounter:
    """A counter whose clock sits 10 s into a window no other test uses."""
    start = 1_700_000_000 // 60 * 60 + 600 * next(_windows) + 10.0
    return SharedCounter(clock=lambda: start)


def app_with(database_url, counter: SharedCounter | None, **limits: tuple[float, int]):
    app = create_app(database_url)
    for limiter in app.state.limits.limiters():
        limiter.configure(0, 1)  # off unless the test sets it
    for name, (per_minute, burst) in limits.items():
        getattr(app.state.limits, name).configure(per_minute, burst)
    if counter is not None:
        app.state.limits.share(counter)
    return app


@pytest.fixture(scope="module")
def report_id(request, database_url, engine) -> str:
    """A real tracking id (made through the form)."""
    ensure_ward(request, engine)
    lon, lat = inside_point()
    with TestClient(app_with(database_url, None), follow_redirects=False) as c:
        r = c.post("/report", data={"category": "garbage", "description": "Giới hạn tốc độ", "lat": f"{lat}",
                                    "lon": f"{lon}"})
    assert r.status_code == 303
    return re.search(r"/report/track/(PA-[A-Z0-9-]+)", r.headers["location"]).group(1)


def test_two_apps_on_one_database_share_one_limit(database_url, engine):
    """Two workers (two apps, each its own buckets) count one client together: 3 a window in all."""
    clock = shared_clock()
    one = app_with(database_url, clock, track=(3, 3))
    two = app_with(database_url, SharedCounter(clock=clock.clock), track=(3, 3))
    with TestClient(one) as a, TestClient(two) as b:
        assert [a.get("/report/track/PA-NONE-0000-0001").status_code for _ in range(2)] == [404, 404]
        assert b.get("/report/track/PA-NONE-0000-0002").status_code == 404  # the third of the window
        refused = b.get("/report/track/PA-NONE-0000-0003")  # b's own bucket still holds 2 tokens
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 50  # the window ends in 50 s
        assert a.get("/report/track/PA-NONE-0000-0004").status_code == 429
    with engine.connect() as c:
        hits = c.execute(sa.text("SELECT hits FROM rate_hit WHERE limiter = 'track' AND client = 'testclient' "
                                 "AND win = :w"), {"w": int(clock.clock() // 60)}).scalar_one()
    assert hits == 5  # 3 allowed, 2 refused (attempts count)

    # the same two apps without the shared counter: each worker allows its own 3 (what issue 18 measured)
    one, two = app_with(database_url, None, track=(3, 3)), app_with(database_url, None, track=(3, 3))
    with TestClient(one) as a, TestClient(two) as b:
        codes = [a.get("/report/track/PA-NONE-0000-0005").status_code for _ in range(3)] + \
                [b.get("/report/track/PA-NONE-0000-0006").status_code for _ in range(3)]
    assert codes == [404] * 6


def test_a_worker_asks_the_database_only_every_few_hits(database_url, engine):
    """One UPSERT per ``sync_every`` hits of a client (6 for the QR page's 60 a minute); a client seen
    once costs none; a client known to be over the limit costs none."""
    counter = shared_clock()
    app = app_with(database_url, counter, track=(60, 30))
    with TestClient(app) as c:
        for _ in range(5):
            assert c.get("/report/track/PA-NONE-0000-0007").status_code == 404
        assert counter.queries == 0 and counter.sync_every(60) == 6
        assert c.get("/report/track/PA-NONE-0000-0007").status_code == 404
        assert counter.queries == 1
    other = app_with(database_url, SharedCounter(clock=counter.clock), track=(60, 30))
    with engine.begin() as conn:  # other workers have used up this client's window
        conn.execute(sa.text("UPDATE rate_hit SET hits = 60 WHERE limiter = 'track' AND client = 'testclient' "
                             "AND win = :w"), {"w": int(counter.clock() // 60)})
    with TestClient(other) as c:
        codes = [c.get("/report/track/PA-NONE-0000-0008").status_code for _ in range(8)]
    assert codes == [404] * 5 + [429] * 3  # the 6th hit syncs, learns 66 > 60, and refuses from then on
    assert other.state.limits.shared.queries == 1  # no query for the refused ones


def test_database_unreachable_the_worker_bucket_decides(database_url):
    """The shared counter cannot be written: its hits stay unsent, the worker's bucket still limits."""
    limits = RateLimits.from_env()
    counter = limits.share(shared_clock())
    counter.sync_every_setting = 1
    limits.track.configure(60, 2)
    app = create_app("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app.state.limits = limits
    request = Request({"type": "http", "app": app, "client": ("192.0.2.5", 1), "headers": [], "method": "GET",
                       "path": "/", "query_string": b""})
    assert [limits.hit(request, "track") for _ in range(2)] == [0.0, 0.0]
    assert limits.hit(request, "track") > 0  # the bucket (2) is empty
    assert counter._seen[("track", "192.0.2.5")].pending == 2  # kept, to be sent once the database answers


def _request(peer: str, headers: dict[str, str] | list[tuple[str, str]], proxies: str) -> Request:
    app = create_app("postgresql://unused/none")
    app.state.limits.proxies = TrustedProxies.parse(proxies)
    items = headers.items() if isinstance(headers, dict) else headers
    return Request({"type": "http", "app": app, "client": (peer, 40000), "method": "GET", "path": "/",
                    "query_string": b"", "headers": [(k.lower().encode(), v.encode()) for k, v in items]})


@pytest.mark.parametrize(("peer", "headers", "proxies", "expected"), [
    # no proxy configured: the headers are anyone's to write, never believed
    ("198.51.100.9", {"X-Forwarded-For": "203.0.113.1"}, "", "198.51.100.9"),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.1"}, "", "127.0.0.1"),
    # a peer that is not the configured proxy: ignored too
    ("198.51.100.9", {"X-Forwarded-For": "203.0.113.1"}, "127.0.0.1", "198.51.100.9"),
    # the proxy: the right-most address it did not itself append... is the client's
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.1"}, "127.0.0.1", "203.0.113.1"),
    # ...whatever the client wrote to its left
    ("127.0.0.1", {"X-Forwarded-For": "1.1.1.1, 2.2.2.2, 203.0.113.1"}, "127.0.0.1", "203.0.113.1"),
    # two proxies (a CDN's edge, then ours): both trusted, the hop before them is the client
    ("10.0.0.2", {"X-Forwarded-For": "6.6.6.6, 203.0.113.1, 10.0.0.7"}, "10.0.0.0/8", "203.0.113.1"),
    # several header lines read in order
    ("127.0.0.1", [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.2")], "127.0.0.1",
     "203.0.113.2"),
    # RFC 7239 Forwarded, IPv6 with a port, quoted
    ("127.0.0.1", {"Forwarded": 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https'}, "127.0.0.1", "2001:db8::7"),
    ("::1", {"Forwarded": "for=203.0.113.3:5555"}, "::1", "203.0.113.3"),
    # garbage where the proxy's hop should be: the proxy itself, never the garbage
    ("127.0.0.1", {"X-Forwarded-For": "not-an-ip"}, "127.0.0.1", "127.0.0.1"),
    ("127.0.0.1", {}, "127.0.0.1", "127.0.0.1"),
])
def test_client_identity(peer, headers, proxies, expected):
    assert client_key(_request(peer, headers, proxies)) == expected


def test_forwarded_for_from_an_untrusted_peer_does_not_pick_a_bucket(database_url):
    """A client that writes a new X-Forwarded-For each time still meets its own limit; behind the
    configured proxy, two clients are two buckets."""
    app = app_with(database_url, None, track=(60, 2))
    with TestClient(app, client=("198.51.100.20", 1234)) as c:
        codes = [c.get("/report/track/PA-NONE-0000-0009", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(3)]
    assert codes == [404, 404, 429]

    app = app_with(database_url, None, track=(60, 2))
    app.state.limits.proxies = TrustedProxies.parse("127.0.0.1")
    with TestClient(app, client=("127.0.0.1", 1234)) as c:
        codes = [c.get("/report/track/PA-NONE-0000-0010", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in (1, 1, 2, 2)]
        assert codes == [404, 404, 404, 404]  # two clients, two tokens each
        assert c.get("/report/track/PA-NONE-0000-0010", headers={"X-Forwarded-For": "203.0.113.1"}).status_code \
            == 429
        assert c.get("/report/track/PA-NONE-0000-0010").status_code == 404  # the proxy's own bucket is untouched


def test_tracking_guesses_are_limited_and_then_tell_nothing(database_url, report_id):
    """Codes that do not exist use up the guess allowance; then every tracking page and photo and every
    form naming a code answers 429 with Retry-After, the real report's page too (no oracle)."""
    app = app_with(database_url, None, track=(600, 600), form=(600, 600), guess=(10, 4))
    with TestClient(app, follow_redirects=False) as c:
        assert c.get(f"/report/track/{report_id}").status_code == 200  # a found report is no guess
        misses = [c.get(f"/report/track/PA-GUES-SXXX-{i:04d}").status_code for i in range(3)]
        misses.append(c.get("/report", params={"establishment": "NOSUCHCODE1"}).status_code)  # a sticker guess
        assert misses == [404, 404, 404, 200]
        for path in (f"/report/track/{report_id}", "/report/track/PA-GUES-SXXX-9999",
                     f"/report/track/{report_id}/photo/1"):
            r = c.get(path)
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            assert r.headers["Cache-Control"] == "no-store"
        busy = c.get("/report", params={"establishment": "ANOTHERCODE"})
        assert busy.status_code == 429 and "thử lại sau" in busy.text and int(busy.headers["Retry-After"]) >= 1
        assert c.get("/report").status_code == 200  # the plain form names no code: still served
        assert c.get(f"/report/track/{report_id}", headers={"Accept-Language": "en"}).status_code == 429


def test_the_report_form_itself_is_limited(database_url, request, engine):
    ensure_ward(request, engine)
    app = app_with(database_url, None, form=(30, 3))
    with TestClient(app) as c:
        codes = [c.get("/report").status_code for _ in range(4)]
        last = c.get("/report", params={"lang": "en"})
    assert codes == [200, 200, 200, 429]
    assert last.status_code == 429 and "Too many requests" in last.text and last.headers["Retry-After"] == "2"


def test_defaults_and_the_shared_switch(monkeypatch):
    monkeypatch.delenv("GEOMAP_RATE_SHARED", raising=False)
    monkeypatch.delenv("GEOMAP_WORKERS", raising=False)
    limits = RateLimits.from_env()
    assert limits.shared is None and limits.proxies.networks == ()
    assert [(round(lim.per_second * 60), lim.burst) for lim in (limits.form, limits.track, limits.guess)] == \
        [(30, 20), (60, 30), (10, 20)]
    assert limits.qr.per_window == 60 and limits.report.per_window == 6
    monkeypatch.setenv("GEOMAP_WORKERS", "2")  # what `geomap serve --workers 2` sets
    assert RateLimits.from_env().shared is not None
    monkeypatch.setenv("GEOMAP_RATE_SHARED", "off")
    assert RateLimits.from_env().shared is None
    monkeypatch.setenv("GEOMAP_RATE_SHARED", "on")
    monkeypatch.setenv("GEOMAP_WORKERS", "1")
    monkeypatch.setenv("GEOMAP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")
    limits = RateLimits.from_env()
    assert limits.shared is not None and limits.proxies.trusts("10.1.2.3") and limits.proxies.trusts("::1")
    assert not limits.proxies.trusts("11.0.0.1") and not limits.proxies.trusts("testclient")
