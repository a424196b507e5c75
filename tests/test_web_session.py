"""One session for the field app and the staff app: cookie, CSRF, expiry, sign-in rules (issues 12, 18).

Against the real PostGIS through the public service's ASGI app (``TestClient``): the cookie's
flags, CSRF refused with nothing changed, an expired session answered as a redirect for a page
and 401 JSON for a fetch, the same answer for an unknown and a locked account, the per-client
throttle (with its time in Vietnam time), no open redirect, and an admin ending a session.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.testclient import TestClient

from geomap import auth, cli, config
from geomap.status import ZONE
from geomap.users import User
from geomap.web import create_app, session

PASSWORD = "mật-khẩu-phiên-1"
JSON = {"Accept": "application/json", "Sec-Fetch-Mode": "cors"}
PAGE = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}


@pytest.fixture(scope="module")
def accounts(engine) -> Iterator[dict[str, User]]:
    with engine.begin() as c:
        made = {
            "inspector": auth.create_user(c, "phien.kiemtra", "Cán Bộ Phiên", "inspector", PASSWORD),
            "officer": auth.create_user(c, "phien.dulieu", "Cán Bộ Dữ Liệu", "data_officer", PASSWORD),
            "manager": auth.create_user(c, "phien.quanly", "Lãnh Đạo Phiên", "ward_manager", PASSWORD),
            "locked": auth.create_user(c, "phien.khoa", "Tài Khoản Khóa", "inspector", PASSWORD),
            "admin": auth.create_user(c, "phien.admin", "Quản Trị Phiên", "admin", PASSWORD),
        }
    yield made
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username LIKE 'phien.%'"))
        c.execute(sa.text("DELETE FROM sign_in_failure"))


@pytest.fixture(scope="module")
def app(database_url, accounts):
    app = create_app(database_url)

    # two probe endpoints, as the field pages use the dependencies
    @app.post("/field/_probe/write")
    async def probe_write(request: Request, user: User = Depends(session.require_csrf)):
        with session.get_engine(request).begin() as c:
            c.execute(sa.text("UPDATE app_user SET full_name = full_name || '!' WHERE id = :id"), {"id": user.id})
        return {"ok": True}

    @app.get("/field/_probe/officer")
    def probe_officer(user: User = Depends(session.require_permission("edit_records"))):
        return {"user": user.username}

    return app


def _client(app, ip: str = "203.0.113.7", base_url: str = "http://127.0.0.1") -> TestClient:
    return TestClient(app, follow_redirects=False, base_url=base_url, client=(ip, 50000))


def _form_token(client: TestClient, path: str = "/field/signin") -> str:
    page = client.get(path, headers=PAGE)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next: str = "") -> object:
    token = _form_token(client)
    return client.post("/field/signin", data={"username": username, "password": password, "csrf_token": token,
                                              "next": next}, headers=PAGE)


def _csrf(client: TestClient) -> str:
    page = client.get("/field/", headers=PAGE)
    assert page.status_code == 200, page.text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def _full_name(engine, user: User) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT full_name FROM app_user WHERE id = :id"), {"id": user.id}).scalar_one()


# --- the cookie ------------------------------------------------------------------------------------------


def test_sign_in_sets_an_httponly_samesite_cookie_and_opens_the_landing(app, accounts):
    with _client(app) as c:
        answer = sign_in(c, "phien.kiemtra")
        assert answer.status_code == 303 and answer.headers["location"] == "/field/"
        cookie = next(v for k, v in answer.headers.multi_items()
                      if k == "set-cookie" and v.startswith(f"{session.COOKIE}="))
        flags = cookie.lower()
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "; secure" not in flags  # the public base URL is http here: not Secure
        landing = c.get("/field/", headers=PAGE)
        assert landing.status_code == 200
        assert "Cán Bộ Phiên" in landing.text and 'id="link-today"' in landing.text
        assert 'id="link-survey"' not in landing.text  # inspectors do not survey (by default)
        assert 'id="outbox-count"' in landing.text and "/field/manifest.webmanifest" in landing.text
        assert "default-src 'none'" in landing.headers["content-security-policy"]


def test_cookie_is_secure_when_the_public_base_url_is_https(app, accounts, monkeypatch):
    monkeypatch.setattr(config, "PUBLIC_BASE_URL", "https://geomap.example.vn")
    with _client(app, base_url="https://geomap.example.vn") as c:
        answer = sign_in(c, "phien.kiemtra")
        cookie = next(v for k, v in answer.headers.multi_items()
                      if k == "set-cookie" and v.startswith(f"{session.COOKIE}="))
        assert "; secure" in cookie.lower()


def test_the_cookie_holds_only_the_opaque_token_of_the_session_table(app, accounts, engine):
    with _client(app) as c:
        sign_in(c, "phien.quanly")
        token = c.cookies.get(session.COOKIE)
        assert len(token) >= 40 and "phien" not in token
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT s.client, length(s.csrf_secret) FROM user_session s "
                                       "WHERE s.token_hash = :h"), {"h": auth._token_hash(token)}).one()
        assert row == ("203.0.113.7", 64)


# --- CSRF -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [None, "", "wrong-token-0123456789abcdef0123456789abcdef"])
def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(app, accounts, engine, sent):
    user = accounts["officer"]
    with _client(app) as c:
        sign_in(c, "phien.dulieu")
        before = _full_name(engine, user)
        data = {} if sent is None else {"csrf_token": sent}
        page = c.post("/field/_probe/write", data=data, headers=PAGE)
        assert page.status_code == 403
        assert "Biểu mẫu đã cũ hoặc không hợp lệ" in page.text
        fetch = c.post("/field/_probe/write", json={}, headers={**JSON, **({"X-CSRF-Token": sent} if sent else {})})
        assert fetch.status_code == 403 and fetch.json()["error"] == "csrf"
        assert _full_name(engine, user) == before


def test_the_right_csrf_token_in_a_field_or_header_is_accepted(app, accounts, engine):
    user = accounts["officer"]
    with _client(app) as c:
        sign_in(c, "phien.dulieu")
        token = _csrf(c)
        before = _full_name(engine, user)
        assert c.post("/field/_probe/write", data={"csrf_token": token}, headers=PAGE).status_code == 200
        assert c.post("/field/_probe/write", json={}, headers={**JSON, "X-CSRF-Token": token}).status_code == 200
        assert _full_name(engine, user) == before + "!!"


def test_the_sign_in_form_needs_its_pre_session_token(app, accounts):
    with _client(app) as c:
        c.get("/field/signin", headers=PAGE)
        answer = c.post("/field/signin", data={"username": "phien.kiemtra", "password": PASSWORD,
                                               "csrf_token": "forged"}, headers=PAGE)
        assert answer.status_code == 403 and session.COOKIE not in c.cookies


def test_sign_out_needs_the_token_and_ends_the_session(app, accounts):
    with _client(app) as c:
        sign_in(c, "phien.kiemtra")
        token = c.cookies.get(session.COOKIE)
        assert c.post("/field/signout", data={"csrf_token": "nope"}, headers=PAGE).status_code == 403
        assert c.get("/field/", headers=PAGE).status_code == 200
        csrf = _csrf(c)
        out = c.post("/field/signout", data={"csrf_token": csrf}, headers=PAGE)
        assert out.status_code == 303 and out.headers["location"].startswith("/field/signin")
    with _client(app) as other:  # the old cookie, replayed, is dead
        other.cookies.set(session.COOKIE, token)
        assert other.get("/field/", headers=PAGE).status_code == 303


# --- expiry and refusals fit an offline outbox --------------------------------------------------------------


def test_an_expired_session_redirects_a_page_and_answers_a_fetch_401_json(app, accounts, engine):
    with _client(app) as c:
        sign_in(c, "phien.kiemtra")
        token = c.cookies.get(session.COOKIE)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE user_session SET expires_at = now() - interval '1 minute' "
                                 "WHERE token_hash = :h"), {"h": auth._token_hash(token)})
        page = c.get("/field/?x=1", headers=PAGE)
        assert page.status_code == 303 and page.headers["location"] == "/field/signin?next=/field/%3Fx%3D1"
        c.cookies.set(session.COOKIE, token)
        fetch = c.post("/field/_probe/write", json={}, headers={**JSON, "X-CSRF-Token": "whatever"})
        assert fetch.status_code == 401
        body = fetch.json()
        assert body["error"] == "session_expired" and body["message"].startswith("Phiên đăng nhập đã hết hạn")
        assert body["signin"].startswith("/field/signin?next=")


def test_no_session_at_all_is_the_same_401_for_a_fetch(app, accounts):
    with _client(app) as c:
        fetch = c.get("/field/_probe/officer", headers=JSON)
        assert fetch.status_code == 401 and fetch.json()["error"] == "session_expired"


def test_a_role_without_the_permission_is_refused_403(app, accounts):
    with _client(app) as c:
        sign_in(c, "phien.kiemtra")
        fetch = c.get("/field/_probe/officer", headers=JSON)
        assert fetch.status_code == 403 and fetch.json()["error"] == "forbidden"
        page = c.get("/field/_probe/officer", headers=PAGE)
        assert page.status_code == 403 and "không được phép" in page.text
    with _client(app) as c:
        sign_in(c, "phien.dulieu")
        assert c.get("/field/_probe/officer", headers=JSON).json() == {"user": "phien.dulieu"}


# --- next= stays local (or the staff app) -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "\\\\evil",
                                    "http://127.0.0.1:9/elsewhere", "javascript:alert(1)",
                                    "http://user@127.0.0.1:8501/"])
def test_next_refuses_other_sites(app, accounts, target, monkeypatch):
    monkeypatch.setattr(config, "STAFF_BASE_URL", "http://127.0.0.1:8501")
    with _client(app) as c:
        answer = sign_in(c, "phien.kiemtra", next=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/field/"


@pytest.mark.parametrize("target", ["/field/today?d=1", "http://127.0.0.1:8501/records?id=3"])
def test_next_goes_to_a_local_path_or_the_staff_app(app, accounts, target, monkeypatch):
    monkeypatch.setattr(config, "STAFF_BASE_URL", "http://127.0.0.1:8501")
    with _client(app) as c:
        answer = sign_in(c, "phien.kiemtra", next=target)
        assert answer.status_code == 303 and answer.headers["location"] == target


# --- issue 18: no account enumeration, a per-client throttle, Vietnam time --------------------------------


def _failed(client: TestClient, username: str, password: str = "sai-mật-khẩu") -> object:
    answer = sign_in(client, username, password)
    assert answer.status_code in (401, 429), answer.status_code
    return answer


def _error_text(answer) -> str:
    return re.search(r'id="signin-error">([^<]+)<', answer.text).group(1)


def test_unknown_and_locked_accounts_get_the_same_answer(app, accounts, engine):
    with _client(app, ip="198.51.100.20") as c:
        for _ in range(auth.MAX_FAILED_SIGN_INS):
            _failed(c, "phien.khoa")
    with _client(app, ip="198.51.100.20") as c:
        locked = _failed(c, "phien.khoa", PASSWORD)  # the right password, while locked
        unknown = _failed(c, "phien.khong-co", PASSWORD)
        wrong = _failed(c, "phien.kiemtra", "sai-mật-khẩu")
        assert locked.status_code == unknown.status_code == wrong.status_code == 401
        assert _error_text(locked) == _error_text(unknown) == _error_text(wrong)
    with _client(app, ip="198.51.100.21") as other:  # another client is not locked out of that account
        assert sign_in(other, "phien.khoa").status_code == 303
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sign_in_failure"))


def test_a_client_failing_too_often_is_throttled_across_names_with_vietnam_time(app, accounts, engine):
    names = ["phien.khong-a", "phien.khong-b", "phien.kiemtra", "phien.dulieu"]
    with _client(app, ip="192.0.2.99") as c:
        for i in range(auth.CLIENT_MAX_FAILURES):
            assert _failed(c, names[i % len(names)]).status_code == 401
        throttled = _failed(c, "phien.quanly", PASSWORD)  # even a right password is not heard now
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        text = _error_text(throttled)
        assert "thử lại sau" in text and "giờ Việt Nam" in text
        with engine.connect() as conn:
            first = conn.execute(sa.text("SELECT min(at) FROM sign_in_failure WHERE client = '192.0.2.99'")).scalar()
        expected = (first + dt.timedelta(minutes=auth.CLIENT_WINDOW_MINUTES)).astimezone(ZONE).strftime("%H:%M")
        assert expected in text
        utc = (first + dt.timedelta(minutes=auth.CLIENT_WINDOW_MINUTES)).astimezone(dt.UTC).strftime("%H:%M")
        assert utc not in text  # Vietnam is UTC+7: the two never coincide
    with _client(app, ip="192.0.2.100") as other:  # another client signs in as usual
        assert sign_in(other, "phien.quanly").status_code == 303
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sign_in_failure"))


def test_the_throttle_is_held_in_the_database_so_every_worker_sees_it(database_url, app, accounts, engine):
    with _client(app, ip="192.0.2.150") as c:
        for _ in range(auth.CLIENT_MAX_FAILURES):
            _failed(c, "phien.khong-c")
    with _client(create_app(database_url), ip="192.0.2.150") as second_worker:
        assert _failed(second_worker, "phien.kiemtra", PASSWORD).status_code == 429
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sign_in_failure"))


# --- an admin ends sessions -------------------------------------------------------------------------------------


def test_admin_lists_and_ends_sessions_and_the_cookie_stops_working(app, accounts, engine, database_url, capsys,
                                                                   monkeypatch):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    with _client(app, ip="198.51.100.77") as c:
        sign_in(c, "phien.dulieu")
        assert c.get("/field/", headers=PAGE).status_code == 200
        rows = auth.live_sessions(engine, "phien.dulieu")
        assert rows and rows[0]["client"] == "198.51.100.77"
        assert cli.main(["user", "sessions", "phien.dulieu"]) == 0
        listed = capsys.readouterr().out
        assert "198.51.100.77" in listed and "phien.dulieu" in listed
        assert cli.main(["user", "end-sessions", "phien.dulieu"]) == 0
        assert "ended" in capsys.readouterr().out
        assert c.get("/field/", headers=PAGE).status_code == 303
        assert c.get("/field/_probe/officer", headers=JSON).status_code == 401
    assert auth.live_sessions(engine, "phien.dulieu") == []
    with engine.connect() as conn:
        entry = conn.execute(sa.text("SELECT action, after FROM audit_log WHERE entity_type = 'user' "
                                     "AND entity_id = :id ORDER BY id DESC LIMIT 1"),
                             {"id": accounts["officer"].id}).one()
    assert entry.action == "end_sessions" and entry.after["sessions_ended"] >= 1


def test_only_an_admin_may_end_sessions(engine, accounts):
    with engine.connect() as conn, pytest.raises(auth.PermissionDenied):
        auth.end_sessions(conn, "phien.dulieu", actor=accounts["manager"])


# --- the shell ----------------------------------------------------------------------------------------------------


def test_manifest_and_assets_are_served_locally(app, accounts):
    with _client(app) as c:
        manifest = c.get("/field/manifest.webmanifest")
        assert manifest.status_code == 200 and manifest.headers["content-type"].startswith("application/manifest+json")
        body = manifest.json()
        assert body["start_url"] == "/field/" and body["display"] == "standalone"
        for icon in body["icons"]:
            assert icon["src"].startswith("/field/static/")
            png = c.get(icon["src"])
            assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        for name in ("field.css", "field.js", "icon.svg"):
            assert c.get(f"/field/static/{name}").status_code == 200
        assert c.get("/field/static/..%2f..%2fauth.py").status_code == 404
        assert c.get("/field/static/nothing.js").status_code == 404


def test_english_by_switch_and_remembered(app, accounts):
    with _client(app) as c:
        page = c.get("/field/signin?lang=en", headers=PAGE)
        assert "Sign in" in page.text and c.cookies.get("geomap_lang") == "en"
        assert "Sign in" in c.get("/field/signin", headers=PAGE).text
        assert "Đăng nhập" in c.get("/field/signin?lang=vi", headers=PAGE).text


def test_cli_sessions_show_vietnam_time(engine, database_url, accounts, capsys, monkeypatch):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    auth.sign_in(engine, "phien.admin", PASSWORD, client="198.51.100.5")
    started = auth.live_sessions(engine, "phien.admin")[0]["created_at"]
    assert cli.main(["user", "sessions", "phien.admin"]) == 0
    out = capsys.readouterr().out
    assert started.astimezone(ZONE).strftime("%d/%m/%Y %H:%M") in out
