"""While the database cannot be reached, every public endpoint answers 503 + Retry-After in its own shape.

No traceback in a body, at most one log line per failure class (geomap.web.outage), and a bug's
500 is sent ``Connection: close`` so a kept-alive client's next request is not lost.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter
from fastapi.testclient import TestClient

from geomap.web import create_app, outage

TOKEN = "ABCDEFGHJKMNPQRS"  # the shape of a sticker's token; the database is never reached to check it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DOWN_URL = f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/nothing"

#: (name, method, path, data, expected content type)
CASES = [
    ("ogc items", "GET", "/ogc/collections/establishments/items", None, "application/json"),
    ("open311 services", "GET", "/open311/v2/services.json", None, "application/json"),
    ("open311 requests", "GET", "/open311/v2/requests.json", None, "application/json"),
    ("open311 requests xml", "GET", "/open311/v2/requests.xml", None, "xml"),
    ("open311 post", "POST", "/open311/v2/requests.json",
     {"api_key": "not-a-real-key", "service_code": "food_safety", "lat": "10.77", "long": "106.70",
      "description": "Thử khi mất kết nối"},
     "application/json"),
    ("report form", "GET", "/report", None, "text/html"),
    ("report post", "POST", "/report",
     {"category": "food_safety", "description": "Thử khi mất kết nối cơ sở dữ liệu", "lat": "10.77",
      "lon": "106.70"}, "text/html"),
    ("tracking page", "GET", "/report/track/PA-ABCD-EFGH-JKMN", None, "text/html"),
    ("qr page", "GET", f"/q/{TOKEN}", None, "text/html"),
    ("qr api", "GET", f"/api/q/{TOKEN}", None, "application/json"),
    ("health", "GET", "/health", None, "application/json"),
]


def _down_app(mode: str):
    """``unreachable``: never reached since start (the engine's check fails each request);
    ``gone``: the app's engines were made, then the server went away (queries raise OperationalError)."""
    app = create_app(DOWN_URL)
    if mode == "gone":
        app.state.engine = sa.create_engine(DOWN_URL, connect_args={"connect_timeout": 2})
        app.state.qr.engine = app.state.engine
    return app


@pytest.fixture(scope="module", params=["unreachable", "gone"])
def down(request):
    with TestClient(_down_app(request.param), raise_server_exceptions=False) as client:
        client.mode = request.param
        yield client


#: endpoints that need no database once the app's engine exists (the service list is the code's)
STATIC = {"open311 services"}


@pytest.mark.parametrize("name,method,path,data,ctype", CASES, ids=[c[0] for c in CASES])
def test_every_family_answers_503_in_its_shape(down, name, method, path, data, ctype):
    r = down.request(method, path, data=data, follow_redirects=False)
    if down.mode == "gone" and name in STATIC:
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        return
    assert r.status_code == 503, (name, r.status_code, r.text[:300])
    assert int(r.headers["retry-after"]) > 0 and r.headers["cache-control"] == "no-store"
    assert ctype in r.headers["content-type"], r.headers["content-type"]
    assert "Traceback" not in r.text and "psycopg" not in r.text.lower()


def test_family_shapes(down):
    ogc = down.get("/ogc/collections/establishments/items").json()
    assert ogc["code"] and "temporarily" in ogc["description"]
    o311 = down.get("/open311/v2/requests.json").json()
    assert isinstance(o311, list) and o311[0]["code"] == 503 and "temporarily" in o311[0]["description"]
    assert "<errors>" in down.get("/open311/v2/requests.xml").text
    assert "tạm thời chưa" in down.get("/report").text
    assert "temporarily" in down.get("/report?lang=en").text
    assert "Tạm thời chưa tra cứu được" in down.get(f"/q/{TOKEN}").text
    assert down.get(f"/api/q/{TOKEN}").json()["status"] == "unavailable"
    assert down.get("/health").json() == {"status": "error", "database": "unreachable"}


@pytest.mark.parametrize("mode", ["unreachable", "gone"])
def test_one_log_line_per_failure_class(caplog, mode):
    with TestClient(_down_app(mode), raise_server_exceptions=False) as client:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                for name, method, path, data, _ctype in CASES:
                    expected = 200 if mode == "gone" and name in STATIC else 503
                    assert client.request(method, path, data=data, follow_redirects=False).status_code == expected
    outage_lines = [r for r in caplog.records if r.name == outage.log.name]
    kinds = [r.args[0] for r in outage_lines]
    assert outage_lines and len(kinds) == len(set(kinds)), [r.getMessage() for r in outage_lines]
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in outage_lines)
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
    assert "Traceback" not in caplog.text


def test_outage_log_counts_repeats_and_logs_again_after_the_interval(caplog):
    now = [100.0]
    throttle = outage.OutageLog(interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger=outage.log.name):
        assert throttle.record("OperationalError", "refused", "GET /x")
        assert not throttle.record("OperationalError", "refused", "GET /y")
        assert not throttle.record("OperationalError", "refused", "GET /z")
        assert throttle.record("PoolTimeout", "timeout", "GET /x")  # another class: its own line
        now[0] += 61
        assert throttle.record("OperationalError", "refused", "GET /x")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and "2 more since the last line" in lines[2]


def _buggy_app():
    app = create_app(DOWN_URL)
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @router.get("/sql-bug")
    def sql_bug() -> None:  # a database error that is not an outage: a bug, not a 503
        raise sa.exc.ProgrammingError("SELECT nope", {}, Exception('column "nope" does not exist'))

    @router.get("/fine")
    def fine() -> dict:
        return {"ok": True}

    app.include_router(router)
    return app


def test_a_bug_is_a_500_with_connection_close():
    with TestClient(_buggy_app(), raise_server_exceptions=False) as client:
        r = client.get("/boom")
        sql = client.get("/sql-bug")
    assert r.status_code == 500 and r.headers["connection"] == "close" and "Traceback" not in r.text
    assert sql.status_code == 500 and sql.headers["connection"] == "close"
    with TestClient(_buggy_app()) as client, pytest.raises(sa.exc.ProgrammingError):
        client.get("/sql-bug")  # the bug reaches the server (and its traceback the log)


def test_a_500_does_not_break_the_next_request_on_a_kept_alive_connection():
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(_buggy_app(), host="127.0.0.1", port=port, log_level="critical",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        statuses = []
        for _ in range(10):
            for path in ("/boom", "/fine"):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                statuses.append(resp.status)
        conn.close()
        assert statuses == [500, 200] * 10
    finally:
        server.should_exit = True
        thread.join(timeout=10)
