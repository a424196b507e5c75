"""QR issuance and the public lookup service against the real PostGIS database.

A small committed ward of our own (``qr-test``: hostile names, distinctive personal data,
a market with stalls) covers the edge cases; the demo ward covers "no personal field of
any establishment ever appears". The service is exercised through FastAPI's TestClient on
``create_app(database_url)``; one test drives a real uvicorn server in headless Chromium.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from geomap import db
from geomap.text import with_label
from geomap.web import create_app
from geomap.web.routes import qr as qr_route
from layers import palettes
from qr import codes, issue, lookup

HOSTILE = '<script>alert("x")</script>\u202eNhà hàng <b>Độc</b> & "Quán"'
PERSONAL = {
    "owner_name": "Trần Thị Bímậtchủ",
    "owner_id_number": "048199012345",
    "phone": "0905777888",
    "email": "chu.co.so.bi.mat@example.vn",
}
SQUARE = "SRID=4326;MULTIPOLYGON(((108.215 16.040,108.219 16.040,108.219 16.044,108.215 16.044,108.215 16.040)))"


def _insert(conn: sa.Connection, table: str, **values: object) -> int:
    cols = ", ".join(values)
    params = ", ".join(f"ST_GeomFromEWKT(:{k})" if k in ("geom", "footprint") else f":{k}" for k in values)
    return conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params}) RETURNING id"), values).scalar_one()


@pytest.fixture(scope="module")
def qr_ward(engine: sa.Engine) -> dict:
    """A tiny committed ward with every case the QR page must handle."""
    today = dt.date.today()
    with db.transaction(engine) as conn:
        conn.execute(sa.text("DELETE FROM ward WHERE slug = 'qr-test'"))
        ward = _insert(conn, "ward", slug="qr-test", name="Phường Thử Nghiệm QR", province="Đà Nẵng",
                       local_srid=5899, geom=SQUARE)
        group = _insert(conn, "residential_group", ward_id=ward, code="QT-01", name="Tổ 1 Thử", is_synthetic=True,
                        geom="SRID=4326;MULTIPOLYGON(((108.216 16.041,108.218 16.041,108.218 16.043,108.216 16.043,"
                             "108.216 16.041)))")
        market = _insert(conn, "market", ward_id=ward, code="QT-CHO", name="Chợ Thử Nghiệm", address="1 Đường Chợ",
                         is_synthetic=True, geom="SRID=4326;POINT(108.2175 16.0425)",
                         footprint="SRID=4326;POLYGON((108.2172 16.0422,108.2178 16.0422,108.2178 16.0428,"
                                   "108.2172 16.0428,108.2172 16.0422))")
        ids = {}
        for key, name, vsic, status, extra in [
            ("pho", "Phở Bà Hòa", "5610", "active", {"residential_group_id": group}),
            ("hostile", HOSTILE, "5630", "active", {"residential_group_id": group}),
            ("closed", "Tiệm Đã Đóng", "4711", "closed", {"residential_group_id": group}),
            ("stall", "Sạp Rau Cô Lành", "4721", "active", {"market_id": market, "business_type": "market_stall"}),
        ]:
            ids[key] = _insert(conn, "establishment", ward_id=ward, code=f"QT-{key.upper()}", name=name,
                               business_type=extra.pop("business_type", "household"), vsic_code=vsic,
                               operating_status=status, address=f"12 Lê Thanh Nghị ({key})",
                               geom="SRID=4326;POINT(108.2171 16.0421)", is_synthetic=True,
                               digital_payment=["qr_bank"], **PERSONAL, **extra)
        _insert(conn, "licence", establishment_id=ids["pho"], kind="business_registration", number="32A8-000123",
                issued_on=today - dt.timedelta(days=800))
        _insert(conn, "licence", establishment_id=ids["pho"], kind="food_safety_certificate", number="ATTP-77/2025",
                issued_on=today - dt.timedelta(days=300), expires_on=today + dt.timedelta(days=795))
        _insert(conn, "inspection", establishment_id=ids["pho"], inspected_on=today - dt.timedelta(days=20),
                kind="periodic", result="pass", inspector_name="Cán Bộ Kiểm Tra Bí Mật")
        stall_with = _insert(conn, "stall", market_id=market, stall_no="A-07", establishment_id=ids["stall"],
                             geom="SRID=4326;POINT(108.2174 16.0424)")
        stall_empty = _insert(conn, "stall", market_id=market, stall_no="B-01",
                              geom="SRID=4326;POINT(108.2176 16.0426)")
        counts = issue.issue_missing(conn, ward)
    with engine.connect() as conn:
        tokens = {k: issue.active_for(conn, establishment_id=v) for k, v in ids.items()}
        tokens["stall_with"] = issue.active_for(conn, stall_id=stall_with)
        tokens["stall_empty"] = issue.active_for(conn, stall_id=stall_empty)
    return {"id": ward, "ids": ids, "codes": tokens, "counts": counts, "market": market}


@pytest.fixture(scope="module")
def client(database_url: str, qr_ward: dict):
    app = create_app(database_url)
    app.state.limits.qr.configure(per_minute=1_000_000, burst=1_000_000)  # the limiter has its own tests below
    with TestClient(app) as c:
        yield c


@pytest.fixture
def fresh(database_url: str, client: TestClient):
    """A fresh app: its own state (no page cached, its own lookup engine), for tests that need a clean cache."""
    with TestClient(create_app(database_url)) as c:
        yield c


# --- issuance -------------------------------------------------------------------------------


def test_issue_missing_covers_every_open_establishment_and_stall(engine, qr_ward):
    assert qr_ward["counts"] == {"establishment": 3, "stall": 2}  # the closed one gets none
    assert qr_ward["codes"]["closed"] is None
    with engine.begin() as conn:
        assert issue.issue_missing(conn, qr_ward["id"]) == {"establishment": 0, "stall": 0}  # idempotent
    rec = qr_ward["codes"]["pho"]
    assert codes.normalize_token(rec.token) == rec.token and rec.version == 1
    assert codes.normalize_short_code(rec.short_code) == rec.short_code and rec.short_code.startswith("QT-")


def test_reissue_revokes_old_and_bumps_version(conn, qr_ward):
    old = issue.active_for(conn, establishment_id=qr_ward["ids"]["pho"])
    new = issue.reissue(conn, old.short_code, note="tem cũ bị sao chép")
    assert new.version == old.version + 1 and new.token != old.token and new.short_code != old.short_code
    again = issue.find(conn, old.token)
    assert again.revoked_at is not None and again.revoked_reason == "reissued"
    assert issue.active_for(conn, establishment_id=qr_ward["ids"]["pho"]).token == new.token
    assert lookup.lookup(conn, old.token).status == "revoked"
    assert lookup.lookup(conn, new.token).status == "valid"
    logged = conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE action IN ('qr.revoke', 'qr.issue') "
                                  "AND entity_id IN (:a, :b)"), {"a": old.id, "b": new.id}).scalar()
    assert logged == 2


def test_revoke_and_closed_business(conn, qr_ward):
    rec = qr_ward["codes"]["hostile"]
    issue.revoke(conn, rec.token, reason="damaged")
    assert lookup.lookup(conn, rec.token).status == "revoked"
    with pytest.raises(Exception, match="already revoked"):
        issue.revoke(conn, rec.token, reason="damaged")
    with pytest.raises(Exception, match="Unknown revocation reason"):
        issue.revoke(conn, qr_ward["codes"]["pho"].token, reason="because")
    conn.execute(sa.text("UPDATE establishment SET operating_status = 'closed' WHERE id = :i"),
                 {"i": qr_ward["ids"]["pho"]})
    assert issue.revoke_closed(conn, qr_ward["id"]) == 1
    assert issue.active_for(conn, establishment_id=qr_ward["ids"]["pho"]) is None
    with pytest.raises(Exception, match="closed"):
        issue.issue(conn, establishment_id=qr_ward["ids"]["pho"])


def test_revoking_for_closure_closes_the_record_and_bulk_issue_skips_it(conn, qr_ward):
    pho = qr_ward["ids"]["pho"]
    rec = issue.active_for(conn, establishment_id=pho)
    issue.revoke(conn, rec.short_code, reason="closed", note="đã trả mặt bằng")
    row = conn.execute(sa.text("SELECT operating_status, closed_on, version FROM establishment WHERE id = :i"),
                       {"i": pho}).one()
    assert row.operating_status == "closed" and row.closed_on is not None
    actions = conn.execute(sa.text("SELECT action FROM audit_log WHERE entity_type = 'establishment' "
                                   "AND entity_id = :i ORDER BY id DESC LIMIT 1"), {"i": pho}).scalar()
    assert actions == "close"
    # a stall revoked for closure is left out of bulk issue too; a damaged sticker is replaced
    stalls = conn.execute(sa.text(
        "SELECT q.stall_id FROM qr_code q JOIN stall s ON s.id = q.stall_id JOIN market m ON m.id = s.market_id "
        "WHERE m.ward_id = :w AND q.revoked_at IS NULL ORDER BY q.stall_id"), {"w": qr_ward["id"]}).scalars().all()
    closed_stall, damaged_stall = stalls[:2]
    issue.revoke(conn, issue.active_for(conn, stall_id=closed_stall).token, reason="closed")
    issue.revoke(conn, issue.active_for(conn, stall_id=damaged_stall).token, reason="damaged")
    assert issue.issue_missing(conn, qr_ward["id"]) == {"establishment": 0, "stall": 1}
    assert issue.active_for(conn, establishment_id=pho) is None
    assert issue.active_for(conn, stall_id=closed_stall) is None
    assert issue.active_for(conn, stall_id=damaged_stall) is not None
    # by name the closed stall can get one again (it reopened)
    assert issue.issue(conn, stall_id=closed_stall).version == 2


def test_one_active_code_per_target_is_a_database_rule(conn, qr_ward):
    with pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("INSERT INTO qr_code (token, short_code, target_type, establishment_id) "
                             "VALUES ('aaaaaaaaaaaaaaaa', 'QT-0000-00', 'establishment', :e)"),
                     {"e": qr_ward["ids"]["pho"]})


def test_select_codes_by_scope(engine, qr_ward):
    with engine.connect() as conn:
        everything = issue.select_codes(conn, qr_ward["id"])
        market = issue.select_codes(conn, qr_ward["id"], market="QT-CHO")
        group = issue.select_codes(conn, qr_ward["id"], group="Tổ 1 Thử")
        picked = issue.select_codes(conn, qr_ward["id"], refs=[qr_ward["codes"]["pho"].short_code.lower()])
        with pytest.raises(Exception, match="No market"):
            issue.select_codes(conn, qr_ward["id"], market="Chợ Không Có")
    assert len(everything) == 5
    assert {i.target_type for i in market} == {"establishment", "stall"} and len(market) == 3
    assert {i.name for i in group} == {"Phở Bà Hòa", HOSTILE}
    assert [i.name for i in picked] == ["Phở Bà Hòa"]
    assert all(i.ward_name == "Phường Thử Nghiệm QR" for i in everything)


# --- the public page and JSON -------------------------------------------------------------------


def test_valid_page_shows_public_data(client, qr_ward):
    rec = qr_ward["codes"]["pho"]
    r = client.get(f"/q/{rec.token}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for text in ("Phở Bà Hòa", "Mã QR hợp lệ", "Còn hiệu lực", "Có GCN ATTP", "ATTP-77/2025", "Đạt",
                 "Phản ánh vấn đề", f"/report?establishment={rec.token}", rec.short_code, "Tổ 1 Thử",
                 "Dữ liệu mô phỏng", "<svg"):
        assert text in html, text
    assert "<script" not in html.lower()
    assert len(r.content) <= 20_000
    assert "<dt>Nhóm ngành</dt><dd>Dịch vụ ăn uống</dd>" in html  # the industry group (registry field "sector")
    en = client.get(f"/q/{rec.token}?lang=en")
    assert "Valid QR code" in en.text and "Report a problem" in en.text and 'lang="en"' in en.text
    assert "<dt>Sector</dt><dd>Food service</dd>" in en.text
    by_header = client.get(f"/q/{rec.token}", headers={"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"})
    assert 'lang="en"' in by_header.text


def test_json_has_only_public_fields(client, qr_ward):
    rec = qr_ward["codes"]["pho"]
    r = client.get(f"/api/q/{rec.token}")
    assert r.status_code == 200
    data = r.json()
    public = {f.name for f in lookup.establishment_layer().public_fields}
    assert set(data["establishment"]) <= public
    assert data["establishment"]["licence_status"] == "valid"
    assert data["establishment"]["food_safety_status"] == "certified"
    assert data["labels"]["licence_status"] == "Còn hiệu lực"
    assert data["report_url"] == f"/report?establishment={rec.token}"
    assert "id" not in data["establishment"] and "id" not in data["code"]
    for key in ("residential_group_id", "market_id", "establishment_id", "stall_id"):
        assert key not in r.text


#: public text each code's page shows (its name, or the stall's number), besides the code's short code
PUBLIC_TEXT = {"pho": "Phở Bà Hòa", "hostile": "Nhà hàng", "stall": "Sạp Rau Cô Lành", "stall_with": "A-07",
               "stall_empty": "B-01"}


def test_no_personal_data_in_test_ward(client, qr_ward):
    """Each page answers 200 with the establishment's public content, and none of the personal values."""
    for key, public in PUBLIC_TEXT.items():
        rec = qr_ward["codes"][key]
        for path, valid in ((f"/q/{rec.token}", "Mã QR hợp lệ"), (f"/api/q/{rec.token}", '"status":"valid"'),
                            (f"/q/{rec.token}?lang=en", "Valid QR code")):
            r = client.get(path)
            body = r.text
            assert r.status_code == 200, (path, r.status_code)
            for text in (valid, public, rec.short_code, "Phường Thử Nghiệm QR"):
                assert text in body, (path, text)
            for value in (*PERSONAL.values(), "Cán Bộ Kiểm Tra Bí Mật"):
                assert value not in body, (path, value)


def test_hostile_name_is_escaped(client, qr_ward):
    token = qr_ward["codes"]["hostile"].token
    html = client.get(f"/q/{token}").text
    assert "<script>" not in html and "<b>Độc</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<bdi>&lt;script&gt;" in html  # the RTL override is isolated in <bdi>
    data = client.get(f"/api/q/{token}").json()
    assert data["establishment"]["name"] == HOSTILE  # stored as text, returned as text


def test_stall_codes(client, qr_ward):
    with_trader = client.get(f"/api/q/{qr_ward['codes']['stall_with'].token}").json()
    assert with_trader["stall"]["stall_no"] == "A-07" and with_trader["stall"]["market"]["name"] == "Chợ Thử Nghiệm"
    assert with_trader["establishment"]["name"] == "Sạp Rau Cô Lành"
    empty = client.get(f"/q/{qr_ward['codes']['stall_empty'].token}")
    assert empty.status_code == 200 and "Quầy chưa có tiểu thương" in empty.text and "B-01" in empty.text


def test_unknown_and_revoked(fresh, engine, qr_ward):
    forged = codes.new_token()
    r = fresh.get(f"/q/{forged}")
    assert r.status_code == 404 and "Mã QR không hợp lệ — tem có thể là giả" in r.text
    assert fresh.get(f"/api/q/{forged}").json()["status"] == "unknown"
    with engine.begin() as conn:
        rec = issue.issue(conn, stall_id=_new_stall(conn, qr_ward["market"]))
        issue.revoke(conn, rec, reason="misused")
    r = fresh.get(f"/q/{rec.token}")
    assert r.status_code == 410 and "Mã đã bị thu hồi" in r.text and "Tem bị sử dụng sai" in r.text
    assert fresh.get(f"/api/q/{rec.token}").status_code == 410
    assert "Tem có thể là giả hoặc đã hết hiệu lực" in r.text and "Báo cho phường về tem này" in r.text
    en = fresh.get(f"/q/{rec.token}?lang=en")
    assert en.status_code == 410 and "It may be fake or out of date" in en.text
    assert "Report this sticker to the ward" in en.text and f"/report?establishment={rec.token}" in en.text


# Each reaches the route (the client sends the percent-encoded path as is; the server decodes it
# into the code) and is refused by the shape check: 400 with the malformed warning, never echoed.
MALFORMED = {
    "too short": "short",
    "bad character": "a" * 15 + "!",
    "outside the alphabet": "0" * 16,
    "encoded slashes": "..%2F..%2Fetc%2Fpasswd",
    "encoded dots and slashes": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "encoded dots": "%2e%2e/%2e%2e/etc/passwd",
    "double encoding": "..%252F..%252Fetc%252Fpasswd",
    "backslashes": "a%5C..%5C..%5Cetc",
    "NUL in a 16-character code": "a" * 15 + "%00",
    "markup": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "RTL override": "%E2%80%AE" + "a" * 15,
    "token plus a segment": "a" * 16 + "/x",
    "fullwidth letters": "ａ" * 16,
    "long": "x" * 5000,
    "very long URL": "a" * 16 + "%2F" * 20_000,  # 60 KB (httpx refuses over 64 KB)
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_codes_get_400_and_the_warning(client, bad):
    r = client.get(f"/q/{bad}")
    assert r.status_code == 400, bad
    assert "Mã QR không đúng định dạng" in r.text and "Tem có thể là giả hoặc bị hỏng" in r.text
    assert "<script" not in r.text.lower() and "etc/passwd" not in r.text and "\u202e" not in r.text
    assert r.headers["content-type"].startswith("text/html")
    en = client.get(f"/q/{bad}?lang=en")
    assert en.status_code == 400 and "The sticker may be fake or damaged" in en.text
    js = client.get(f"/api/q/{bad}")
    assert js.status_code == 400 and js.json()["status"] == "malformed"
    assert js.json()["message"] == "Mã QR không đúng định dạng"


def _new_stall(conn: sa.Connection, market: int) -> int:
    return _insert(conn, "stall", market_id=market, stall_no=f"Z-{time.monotonic_ns() % 10**6}")


def test_malformed_codes_never_reach_the_database(client, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("database touched")

    monkeypatch.setattr(qr_route, "lookup", boom)
    assert client.get("/q/" + "z" * 300).status_code == 400
    assert client.get("/q/..%2F..%2Fetc").status_code == 400


def test_cache_headers_and_304(client, qr_ward):
    token = qr_ward["codes"]["pho"].token
    r = client.get(f"/q/{token}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    directives = _cache_directives(r.headers["cache-control"])
    assert "public" in directives and 0 < int(directives["max-age"]) <= 60
    assert "must-revalidate" in directives and "stale-while-revalidate" not in directives
    assert "stale-if-error" not in directives and "immutable" not in directives
    assert r.headers["etag"] and r.headers["last-modified"]
    assert "Accept-Language" in r.headers["vary"]
    plain = {"Accept-Encoding": "identity"}
    assert client.get(f"/q/{token}", headers={**plain, "If-None-Match": r.headers["etag"]}).status_code == 304
    assert client.get(f"/q/{token}", headers={"If-Modified-Since": r.headers["last-modified"]}).status_code == 304
    assert client.get(f"/q/{token}", headers={"If-None-Match": '"other"'}).status_code == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(f"/q/{token}", headers={"If-Modified-Since": old}).status_code == 200
    gz = client.get(f"/q/{token}", headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("content-encoding") == "gzip" and gz.text == r.text
    assert gz.headers["etag"] != r.headers["etag"]


def _cache_directives(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        out[name.lower()] = arg
    return out


def _served_from_cache(client: TestClient, token: str) -> bool:
    return (token, "html", "vi") in client.app.state.qr.pages


def test_reissue_fails_the_old_sticker_on_the_next_fetch(client, engine, qr_ward):
    """The old code's page is 410 on the very next request, although its 200 page sits in the
    in-process cache and the client revalidates with the old ETag."""
    assert client.app.state.qr.pages.ttl > 0  # the cache is on, as in production
    with engine.begin() as conn:
        rec = issue.issue(conn, stall_id=_new_stall(conn, qr_ward["market"]))
    first = client.get(f"/q/{rec.token}")
    assert first.status_code == 200 and "Mã QR hợp lệ" in first.text
    assert client.get(f"/api/q/{rec.token}").json()["status"] == "valid"
    assert _served_from_cache(client, rec.token)
    again = client.get(f"/q/{rec.token}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304  # the cached page is in use
    with engine.begin() as conn:
        new = issue.reissue(conn, rec.token)
    old = client.get(f"/q/{rec.token}", headers={"If-None-Match": first.headers["etag"]})
    assert old.status_code == 410, old.status_code
    assert "Mã đã bị thu hồi" in old.text and "Đã cấp tem mới thay thế" in old.text
    assert "Tem có thể là giả" in old.text and "Mã QR hợp lệ" not in old.text
    assert client.get(f"/api/q/{rec.token}").status_code == 410
    fresh = client.get(f"/q/{new.token}")
    assert fresh.status_code == 200 and "Mã QR hợp lệ" in fresh.text and new.short_code in fresh.text


def test_revoke_fails_the_sticker_on_the_next_fetch(client, engine, qr_ward):
    with engine.begin() as conn:
        rec = issue.issue(conn, stall_id=_new_stall(conn, qr_ward["market"]))
    for _ in range(2):
        assert client.get(f"/q/{rec.token}").status_code == 200
        assert client.get(f"/api/q/{rec.token}").status_code == 200
    assert _served_from_cache(client, rec.token)
    with engine.begin() as conn:
        issue.revoke(conn, rec.token, reason="misused")
    r = client.get(f"/q/{rec.token}")
    assert r.status_code == 410 and "Tem bị sử dụng sai" in r.text and "Mã QR hợp lệ" not in r.text
    js = client.get(f"/api/q/{rec.token}")
    assert js.status_code == 410 and js.json()["status"] == "revoked"
    assert _cache_directives(r.headers["cache-control"]).get("max-age") == "60"
    assert "stale-while-revalidate" not in r.headers["cache-control"]


@contextlib.contextmanager
def _statements(engine: sa.Engine):
    """The SQL statements run on ``engine`` inside the block (after the one-off background priming of
    the establishment statuses, which would otherwise interleave its own query)."""
    for t in threading.enumerate():
        if t.name in ("qr-status-prime", "qr-prime"):
            t.join(timeout=60)
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _is_state_check(statement: str) -> bool:
    return statement.startswith("SELECT revoked_at IS NULL FROM qr_code WHERE token")


def test_cache_hit_runs_exactly_the_state_check(fresh, qr_ward):
    """A page served from the in-process cache costs one SQL statement: the code's state re-check."""
    pages = fresh.app.state.qr.pages
    assert pages.ttl > 0
    token = qr_ward["codes"]["pho"].token
    first = fresh.get(f"/q/{token}")
    assert first.status_code == 200 and _served_from_cache(fresh, token)
    cached = pages.get((token, "html", "vi"))
    with _statements(fresh.app.state.qr.engine) as seen:
        hit = fresh.get(f"/q/{token}")
    assert hit.status_code == 200 and hit.text == first.text
    assert pages.get((token, "html", "vi")) is cached  # served from the cache, not rendered again
    assert len(seen) == 1 and _is_state_check(seen[0]), seen


def test_cache_off_runs_no_state_check(fresh, qr_ward, monkeypatch):
    """GEOMAP_QR_CACHE_SECONDS=0: every request is a fresh lookup, never a re-check (nor a cached page,
    even one kept from before the cache was turned off)."""
    token = qr_ward["codes"]["pho"].token
    assert fresh.get(f"/q/{token}").status_code == 200 and _served_from_cache(fresh, token)
    monkeypatch.setattr(fresh.app.state.qr.pages, "ttl", 0)
    lookups = []
    monkeypatch.setattr(qr_route, "lookup",
                        lambda conn, t, state: lookups.append(t) or lookup.lookup(conn, t, state))
    with _statements(fresh.app.state.qr.engine) as seen:  # the lookup itself runs on the driver's cursor
        pages = [fresh.get(f"/q/{token}") for _ in range(3)]
    assert all(p.status_code == 200 and "Phở Bà Hòa" in p.text for p in pages)
    assert not any(_is_state_check(s) for s in seen), seen
    assert lookups == [token] * 3  # one lookup per request: nothing came from the cache


def test_database_down_answers_a_clear_503_not_the_cached_page(fresh, qr_ward):
    """With the database unreachable the cached page's validity cannot be checked: 503 with a plain
    message (not a 500, not the cached 200), for cached and uncached codes, HTML and JSON."""
    token = qr_ward["codes"]["pho"].token
    client = fresh
    assert client.get(f"/q/{token}").status_code == 200 and _served_from_cache(client, token)
    assert client.get(f"/api/q/{token}").status_code == 200
    live = client.app.state.qr.engine
    dead = sa.create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none",
                            connect_args={"connect_timeout": 2})
    client.app.state.qr.engine = dead
    try:
        page = client.get(f"/q/{token}")
        en = client.get(f"/q/{token}?lang=en")
        js = client.get(f"/api/q/{token}")
        uncached = client.get(f"/q/{codes.new_token()}")
    finally:
        client.app.state.qr.engine = live
        dead.dispose()
    for r in (page, en, js, uncached):
        assert r.status_code == 503, (r.status_code, r.text[:200])
        assert r.headers["cache-control"] == "no-store" and int(r.headers["retry-after"]) > 0
    assert "Tạm thời chưa tra cứu được" in page.text and "đừng coi tem là hợp lệ" in page.text
    assert "Phở Bà Hòa" not in page.text and "Mã QR hợp lệ" not in page.text
    assert page.headers["content-type"].startswith("text/html") and "Lookup temporarily unavailable" in en.text
    assert js.json()["status"] == "unavailable" and js.json()["message"] == "Tạm thời chưa tra cứu được"
    assert client.get(f"/q/{token}").status_code == 200  # back as soon as the database answers


def test_flood_from_one_client_leaves_the_service_up(database_url, qr_ward):
    """One address floods past the 60/min limit (burst 30) while, at the same time, /health answers
    (also to the flooding address) and another address's lookups pass."""
    token = qr_ward["codes"]["stall_with"].token
    flooder = ("203.0.113.66", 5000)
    app = create_app(database_url)  # a fresh app: empty buckets
    app.state.limits.qr.configure(per_minute=60, burst=30)
    flood_statuses: list[int] = []
    stop = threading.Event()
    with TestClient(app, client=flooder) as flood:

        def hammer() -> None:
            while not stop.is_set() or len(flood_statuses) < 150:
                flood_statuses.append(flood.get(f"/q/{token}").status_code)

        t0 = time.monotonic()
        worker = threading.Thread(target=hammer, daemon=True)
        worker.start()
        while len(flood_statuses) < 40 and worker.is_alive() and time.monotonic() < t0 + 30:
            time.sleep(0.01)  # the flood is past its burst before we check
        assert len(flood_statuses) >= 40
        same_address, other = TestClient(app, client=flooder), TestClient(app, client=("198.51.100.23", 5000))
        for _ in range(5):
            health = same_address.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            r = other.get(f"/q/{token}")
            assert r.status_code == 200 and "Sạp Rau Cô Lành" in r.text
            assert other.get(f"/api/q/{token}").status_code == 200
        stop.set()
        worker.join(timeout=60)
        elapsed = time.monotonic() - t0
        assert not worker.is_alive() and len(flood_statuses) >= 150
        assert set(flood_statuses) == {200, 429}
        assert flood_statuses[:30] == [200] * 30
        # no more got through than the burst plus the refill (one a second) over the flood
        assert flood_statuses.count(200) <= 30 + elapsed + 1, (flood_statuses.count(200), elapsed)
        throttled = same_address.get(f"/q/{token}")
        assert throttled.status_code == 429 and "Quá nhiều yêu cầu" in throttled.text


def test_rate_limit_per_client(database_url, qr_ward):
    app = create_app(database_url)  # a fresh app: empty buckets
    app.state.limits.qr.configure(per_minute=60, burst=5)
    token = qr_ward["codes"]["pho"].token
    with TestClient(app, client=("203.0.113.7", 5000)) as flood:
        statuses = [flood.get(f"/q/{token}").status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
        last = flood.get(f"/api/q/{token}")
        assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
        other = TestClient(app, client=("198.51.100.9", 5000))  # same app, same limiter
        assert other.get(f"/q/{token}").status_code == 200  # another address is unaffected
        assert flood.get(f"/q/{token}").status_code == 429  # while the flooder is still refused


def test_generated_image_urls_open_the_right_page(client, qr_ward):
    """The URL a sticker encodes (decoded from the PNG by OpenCV) opens this establishment's page."""
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    from qr import images

    rec = qr_ward["codes"]["pho"]
    png = images.png(rec.token, base_url="https://bando.hoacuong.danang.gov.vn")
    decoded, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(cv2.imdecode(np.frombuffer(png, np.uint8), 0))
    assert decoded == f"https://bando.hoacuong.danang.gov.vn/q/{rec.token}"
    path = decoded.removeprefix("https://bando.hoacuong.danang.gov.vn")
    assert "Phở Bà Hòa" in client.get(path).text


# --- the demo ward: no personal data for ANY establishment ----------------------------------


def test_no_personal_field_for_any_demo_establishment(engine, database_url, demo_ward, monkeypatch, capsys):
    """Every demo establishment's page and JSON, as rendered by the route's own functions (all of them),
    and through HTTP for a random sample: no personal value appears, statuses match geomap.status."""
    import random

    from geomap import config, status
    from geomap.cli import main as cli_main

    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    assert cli_main(["qr", "issue", "--missing", "--ward", demo_ward["slug"]]) == 0
    assert "issued" in capsys.readouterr().out
    layer = lookup.establishment_layer()
    personal = [f.name for f in layer.personal_fields]
    state = lookup.LookupState()  # what the service keeps: statuses derived in one vectorised pass
    state.prime(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT q.token, o.* FROM qr_code q JOIN establishment_overview o ON o.id = q.establishment_id "
            "WHERE q.revoked_at IS NULL AND o.ward_id = :w"), {"w": demo_ward["id"]}).mappings().all()
        n_est = conn.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w AND "
                                     "operating_status <> 'closed'"), {"w": demo_ward["id"]}).scalar()
        assert len(rows) == n_est > 1000
        import pandas as pd

        expected = status.with_statuses(pd.DataFrame([dict(r) for r in rows]))

        def check(token: str, row, html: str, js: str) -> None:
            for p in personal:
                value = row[p]
                if not value or (p == "owner_name" and value in row["name"]):
                    continue  # a household business may legally carry its owner's name
                assert value not in html and json.dumps(value, ensure_ascii=False)[1:-1] not in js, (token, p)

        for k, row in enumerate(rows):
            result = lookup.lookup(conn, row["token"], state)
            assert result.status == "valid"
            est = result.data["establishment"]
            assert set(est) <= {f.name for f in layer.public_fields}
            assert est["licence_status"] == expected["licence_status"].iloc[k]
            assert est["food_safety_status"] == expected["food_safety_status"].iloc[k]
            html = qr_route.render(result, row["token"], "html", "vi")[1].decode()
            js = qr_route.render(result, row["token"], "json", "en")[1].decode()
            check(row["token"], row, html, js)
    app = create_app(database_url)
    app.state.limits.qr.configure(per_minute=1_000_000, burst=1_000_000)
    with TestClient(app) as c:
        for row in random.Random(4).sample(list(rows), 200):
            html = c.get(f"/q/{row['token']}").text
            assert "Mã QR hợp lệ" in html
            check(row["token"], row, html, c.get(f"/api/q/{row['token']}").text)


# --- a real browser on a real server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hex(css: str) -> str:
    """``rgb(r, g, b)`` as computed by the browser → ``#rrggbb``."""
    r, g, b = (int(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def test_every_status_colour_has_readable_text():
    for palette in (palettes.LICENCE_STATUS, palettes.FOOD_SAFETY_STATUS, palettes.REPORT_STATUS):
        for status, colour in palette.items():
            assert palettes.contrast(palettes.text_on(colour), colour) >= 4.5, (status, colour)
    assert palettes.text_on("#7cb342") == "#000000"  # the light green that white text could not be read on
    assert round(palettes.contrast("#000000", "#ffffff"), 1) == 21.0


def test_group_label_is_not_repeated(client, qr_ward):
    assert with_label("Tổ dân phố", "Tổ dân phố 74") == "Tổ dân phố 74"
    assert with_label("Tổ dân phố", "TO 74") == "TO 74"
    assert with_label("Residential group", "Tổ 74") == "Tổ 74"
    assert with_label("Tổ dân phố", "Khu vực chợ") == "Tổ dân phố Khu vực chợ"
    html = client.get(f"/q/{qr_ward['codes']['pho'].token}").text
    assert "(<bdi>Tổ 1 Thử</bdi>)" in html and "Tổ dân phố Tổ" not in html


def test_page_in_headless_chromium(database_url, qr_ward, chromium_path, tmp_path):
    import uvicorn
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(database_url), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    token = qr_ward["codes"]["pho"].token
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 360, "height": 740}, locale="vi-VN")
            errors, external, own_status = [], [], []

            def on_console(m) -> None:
                # Chromium reports a document's own 4xx status as a console error; the fake code's 404 is
                # the status we mean to send, so only that exact message for that exact URL is set aside
                if m.type == "error" and m.location.get("url") == fake_url and m.text == (
                        "Failed to load resource: the server responded with a status of 404 (Not Found)"):
                    own_status.append(m.text)
                elif m.type == "error":
                    errors.append(f"{m.text} at {m.location}")

            fake_url = f"http://127.0.0.1:{port}/q/{codes.new_token()}"
            page.on("console", on_console)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
                f"http://127.0.0.1:{port}/") else None)
            response = page.goto(f"http://127.0.0.1:{port}/q/{token}")
            assert response.status == 200
            text = page.inner_text("body")
            assert "Phở Bà Hòa" in text and "Còn hiệu lực" in text and "Phản ánh vấn đề" in text
            assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
            # what a reader sees: each status badge's computed text and background colours, WCAG AA
            badges = page.eval_on_selector_all(".badge", """els => els.map(e => {
                const s = getComputedStyle(e); return [e.textContent, s.color, s.backgroundColor]; })""")
            assert len(badges) == 2, badges
            for label, ink, paper in badges:
                assert palettes.contrast(_hex(ink), _hex(paper)) >= 4.5, (label, ink, paper)
            shot = tmp_path / "qr_page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert not errors, errors
            fake = page.goto(fake_url)
            assert fake.status == 404
            assert "tem có thể là giả" in page.inner_text("body") and "Báo tem giả" in page.inner_text("body")
            page.wait_for_load_state("load")
            assert not errors, errors  # no script, CSP or resource error on the fake-code page either
            assert len(own_status) <= 1, own_status
            browser.close()
        assert not external, external
        import cv2

        img = cv2.imread(str(shot))
        assert img.shape[1] == 360 and 500 < img.shape[0] < 3000  # phone-width, not a blank or endless page
        (db.config.STATE_DIR / "screenshots").mkdir(parents=True, exist_ok=True)
        (db.config.STATE_DIR / "screenshots" / "qr_page.png").write_bytes(shot.read_bytes())
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_connection_the_server_dropped_is_replaced_not_a_500(client, qr_ward, engine, monkeypatch):
    """The lookup runs on the driver's cursor; a connection the server closed is invalidated and the
    lookup retried on a fresh one, as for any other query."""
    token = qr_ward["codes"]["pho"].token
    monkeypatch.setattr(client.app.state.qr.pages, "ttl", 0)
    assert client.get(f"/q/{token}").status_code == 200
    lookup_engine = client.app.state.qr.engine
    lookup_engine.dispose()
    assert client.get(f"/q/{token}").status_code == 200  # the pool now holds exactly one connection
    with lookup_engine.connect() as c:
        pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with engine.connect() as admin:
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    page = client.get(f"/q/{token}")
    assert page.status_code == 200 and "Phở Bà Hòa" in page.text
