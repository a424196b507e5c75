"""QR scan statistics (issue 17): counted in memory per app, added to PostgreSQL in aggregate.

Scans go through the real public route (``create_app`` + TestClient) against the real PostGIS
database; counts reach ``qr_scan_day`` only when the app's counter flushes (explicitly here, or
at the app's shutdown), never in the lookup itself. Each test uses codes of its own, so counts of
other tests in the same database never mix in.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from geomap import db
from geomap.web import create_app
from qr import codes, issue, scans

SQUARE = "SRID=4326;MULTIPOLYGON(((108.225 16.050,108.229 16.050,108.229 16.054,108.225 16.054,108.225 16.050)))"
GROUP = "SRID=4326;MULTIPOLYGON(((108.226 16.051,108.228 16.051,108.228 16.053,108.226 16.053,108.226 16.051)))"


def _insert(conn: sa.Connection, table: str, **values: object) -> int:
    cols = ", ".join(values)
    params = ", ".join(f"ST_GeomFromEWKT(:{k})" if k == "geom" else f":{k}" for k in values)
    return conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params}) RETURNING id"), values).scalar_one()


@pytest.fixture(scope="module")
def ward(engine: sa.Engine) -> dict:
    """A tiny committed ward: one residential group, establishments with active codes."""
    with db.transaction(engine) as conn:
        conn.execute(sa.text("DELETE FROM ward WHERE slug = 'qr-scan-test'"))
        ward_id = _insert(conn, "ward", slug="qr-scan-test", name="Phường Thử Quét QR", province="Đà Nẵng",
                          local_srid=5899, geom=SQUARE)
        group = _insert(conn, "residential_group", ward_id=ward_id, code="QS-01", name="Tổ Quét 1",
                        is_synthetic=True, geom=GROUP)
        ids = [_insert(conn, "establishment", ward_id=ward_id, code=f"QS-{i}", name=f"Quán Quét {i}",
                       business_type="household", vsic_code="5610", operating_status="active",
                       address=f"{i} Đường Quét", geom="SRID=4326;POINT(108.227 16.052)", is_synthetic=True,
                       residential_group_id=group)
               for i in range(1, 9)]
        issue.issue_missing(conn, ward_id)
    with engine.connect() as conn:
        tokens = [issue.active_for(conn, establishment_id=i) for i in ids]
    return {"id": ward_id, "ids": ids, "codes": tokens, "group": group}


def _app(database_url: str, flush_seconds: float = 3600.0):
    app = create_app(database_url)
    app.state.limits.qr.configure(per_minute=1_000_000, burst=1_000_000)
    app.state.qr.scans.flush_seconds = flush_seconds  # no periodic flush during a test: explicit or at shutdown
    app.state.qr.scans.enabled = True
    return app


def _stored(engine: sa.Engine, code: str) -> dict[str, int]:
    """Today's stored counts of ``code`` by outcome."""
    return {r["outcome"]: r["count"] for r in db.rows(
        engine, "SELECT outcome, count FROM qr_scan_day WHERE code = :c AND day = :d",
        {"c": code, "d": dt.datetime.now(scans.LOCAL_TZ).date()})}


def _malformed_today(engine: sa.Engine) -> int:
    return db.scalar(engine, "SELECT COALESCE(sum(count), 0) FROM qr_scan_day WHERE code = '' "
                     "AND outcome = 'malformed' AND day = :d", {"d": dt.datetime.now(scans.LOCAL_TZ).date()})


def test_scans_are_counted_by_outcome_after_a_flush_not_in_the_lookup(engine, database_url, ward):
    valid = ward["codes"][0]
    with engine.begin() as conn:
        revoked = issue.revoke(conn, ward["codes"][1], reason="damaged")
    forged = codes.new_token()
    malformed_before = _malformed_today(engine)
    app = _app(database_url)
    with TestClient(app) as c:
        for _ in range(3):
            assert c.get(f"/q/{valid.token}").status_code == 200  # the second and third from the page cache
        assert c.get(f"/api/q/{valid.token.upper()}").status_code == 200  # normalised: the same code
        for _ in range(2):
            assert c.get(f"/q/{revoked.token}").status_code == 410
        assert c.get(f"/q/{forged}").status_code == 404
        assert c.get("/q/short").status_code == 400 and c.get("/api/q/" + "0" * 16).status_code == 400
        assert c.get("/q/" + "a" * 15 + "%01").status_code == 400  # refused by the edge guard: counted too
        # counted in memory only: nothing in the table yet
        assert _stored(engine, valid.token) == {} and _stored(engine, forged) == {}
        assert app.state.qr.scans.flush(engine) >= 4
        assert app.state.qr.scans.flush(engine) == 0  # nothing twice
        assert _stored(engine, valid.token) == {"valid": 4}
        assert _stored(engine, revoked.token) == {"revoked": 2}
        assert _stored(engine, forged) == {"unknown": 1}
        assert _malformed_today(engine) - malformed_before == 3
        # the staff reads: per day, per establishment, per residential group
        today = {(r["outcome"]): r["scans"] for r in scans.per_day(engine, ward["id"], 30)
                 if r["day"] == dt.datetime.now(scans.LOCAL_TZ).date()}
        assert today["valid"] >= 4 and today["revoked"] >= 2 and today["unknown"] >= 1 and today["malformed"] >= 3
        top = {r["establishment_code"]: r for r in scans.top_establishments(engine, ward["id"], 30)}
        assert top["QS-1"]["scans"] >= 4 and top["QS-1"]["residential_group"] == "Tổ Quét 1"
        assert top["QS-2"]["revoked"] >= 2
        groups = {r["residential_group"]: r["scans"] for r in scans.per_group(engine, ward["id"], 30)}
        assert groups["Tổ Quét 1"] >= 6
        # another ward sees none of this ward's codes
        assert not [r for r in scans.top_establishments(engine, ward["id"] + 100_000, 30)]


def test_no_ip_address_user_agent_or_typed_text_is_stored(engine, database_url, ward):
    columns = db.scalars(engine, "SELECT column_name FROM information_schema.columns "
                                 "WHERE table_name = 'qr_scan_day' ORDER BY ordinal_position")
    assert columns == ["day", "code", "outcome", "count"]
    app = _app(database_url)
    headers = {"X-Forwarded-For": "203.0.113.77", "User-Agent": "AgentBiMat/9.9"}
    with TestClient(app) as c:
        c.get(f"/q/{ward['codes'][2].token}", headers=headers)
        c.get("/q/evilpayloadtext-xyz", headers=headers)
        c.get("/q/" + "zz" * 30, headers=headers)
        pending = repr(app.state.qr.scans.pending())
        assert "203.0.113" not in pending and "AgentBiMat" not in pending and "evilpayload" not in pending
        app.state.qr.scans.flush(engine)
    everything = " ".join(str(v) for r in db.rows(engine, "SELECT * FROM qr_scan_day") for v in r.values())
    assert ward["codes"][2].token in everything  # the sticker's code is what is counted
    for secret in ("203.0.113", "AgentBiMat", "evilpayload", "zz" * 9):
        assert secret not in everything
    with pytest.raises(sa.exc.IntegrityError):  # the table itself refuses text that is not a code
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO qr_scan_day (day, code, outcome, count) "
                                 "VALUES (current_date, '203.0.113.77', 'unknown', 1)"))


def test_a_burst_of_scans_of_a_forged_code_is_on_the_alert_list_with_its_report(engine, database_url, ward):
    forged, once = codes.new_token(), codes.new_token()
    app = _app(database_url)
    with TestClient(app) as c:
        for _ in range(scans.ALERT_MIN_SCANS + 1):
            assert c.get(f"/q/{forged}").status_code == 404
        c.get(f"/q/{once}")
        page = c.get(f"/q/{forged}")
        assert f"/report?establishment={forged}" in page.text  # the fake-sticker button carries the code
        form = c.get(f"/report?establishment={forged}")
        assert f'value="{forged}"' in form.text
        sent = c.post("/report", data={"category": "other", "description": "Tem lạ dán ở quầy",
                                       "lat": "16.05213", "lon": "108.22731", "establishment": forged},
                      follow_redirects=False)
        assert sent.status_code == 303
        app.state.qr.scans.flush(engine)
    found = {a["code"]: a for a in scans.alerts(engine, ward["id"])}
    assert once not in found  # one scan is no alert
    alert = found[forged]
    assert alert["outcome"] == "unknown" and alert["scans"] == scans.ALERT_MIN_SCANS + 2 and alert["short_code"] is None
    [report] = alert["reports"]
    assert (report["lat"], report["lon"]) == (16.0521, 108.2273)  # where it was reported from, rounded
    # the group the report lies in, within the report's ward (the default ward's when the demo ward is loaded)
    expected = db.scalar(engine, "SELECT g.name FROM field_report f JOIN residential_group g ON g.ward_id = f.ward_id "
                                 "AND ST_Covers(g.geom, f.geom) WHERE f.public_id = :p", {"p": report["public_id"]})
    assert expected is not None and report["residential_group"] == expected
    assert "reporter" not in " ".join(report)  # no reporter data
    stored = db.row(engine, "SELECT channel, description FROM field_report WHERE public_id = :p",
                    {"p": report["public_id"]})
    assert stored["channel"] == "qr" and forged in stored["description"]
    # the threshold is the staff's: 100 scans hides it
    assert forged not in {a["code"] for a in scans.alerts(engine, ward["id"], min_scans=100)}


def test_a_revoked_code_still_scanned_is_on_the_alert_list(engine, database_url, ward):
    with engine.begin() as conn:
        old = issue.reissue(conn, ward["codes"][3])  # the old sticker keeps hanging somewhere
        old = issue.find(conn, ward["codes"][3].short_code)
    assert old.revoked_at is not None
    app = _app(database_url)
    with TestClient(app) as c:
        for _ in range(scans.ALERT_MIN_SCANS):
            assert c.get(f"/q/{old.token}").status_code == 410
        sent = c.post("/report", data={"category": "other", "description": "Tem cũ vẫn dán",
                                       "lat": "16.0522", "lon": "108.2272", "establishment": old.token},
                      follow_redirects=False)
        assert sent.status_code == 303
        app.state.qr.scans.flush(engine)
    found = {a["code"]: a for a in scans.alerts(engine, ward["id"])}
    alert = found[old.token]
    assert alert["outcome"] == "revoked" and alert["scans"] == scans.ALERT_MIN_SCANS
    assert alert["short_code"] == old.short_code and alert["name"] == "Quán Quét 4"
    assert alert["revoked_reason"] == "reissued"
    assert [r["residential_group"] for r in alert["reports"]] == ["Tổ Quét 1"]
    # the revoked code belongs to this ward: another ward's list does not show it
    assert old.token not in {a["code"] for a in scans.alerts(engine, ward["id"] + 100_000)}


def test_two_workers_add_up(engine, database_url, ward):
    """Two apps (two uvicorn workers) count on their own; their shutdown flushes add up in the table."""
    token = ward["codes"][4].token
    one, two = _app(database_url), _app(database_url)
    with TestClient(one) as a, TestClient(two) as b:
        for _ in range(3):
            a.get(f"/q/{token}")
        for _ in range(4):
            b.get(f"/q/{token}")
        a.get("/health")
        assert one.state.qr.scans is not two.state.qr.scans
        one.state.qr.scans.flush(engine)  # one flushes now, the other at shutdown
        assert _stored(engine, token) == {"valid": 3}
    assert _stored(engine, token) == {"valid": 7}
    with TestClient(_app(database_url)) as a:  # a later app adds to the same row
        a.get(f"/q/{token}")
    assert _stored(engine, token) == {"valid": 8}


def test_counting_off_counts_nothing(engine, database_url, ward, monkeypatch):
    monkeypatch.setenv("GEOMAP_QR_SCAN_COUNT", "0")
    app = create_app(database_url)
    token = ward["codes"][5].token
    with TestClient(app) as c:
        assert c.get(f"/q/{token}").status_code == 200
        assert len(app.state.qr.scans) == 0
    assert _stored(engine, token) == {}


def test_the_counter_stays_bounded_under_a_flood_of_forged_codes(engine):
    counter = scans.ScanCounter(max_keys=3)
    flood = [codes.new_token() for _ in range(10)]
    for token in flood:
        counter.count(token, "unknown")
    counter.count(None, "malformed")
    pending = counter.pending()
    assert len(pending) <= 3 + len(scans.OUTCOMES) and sum(pending.values()) == 11  # nothing lost; later codes under ''
    assert sum(n for (_, code, outcome), n in pending.items() if code == "" and outcome == "unknown") == 7
    counter.count("not a token", "unknown")  # only a well-formed code is kept as text
    assert all(code in flood or code == "" for _, code, _ in counter.pending())


def test_a_failed_flush_keeps_the_counts(engine, ward):
    counter = scans.ScanCounter()
    counter.count(ward["codes"][6].token, "valid")
    broken = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    with pytest.raises(sa.exc.OperationalError):
        counter.flush(broken)
    assert sum(counter.pending().values()) == 1
    counter.flush(engine)
    assert _stored(engine, ward["codes"][6].token) == {"valid": 1}


def test_the_command_line_prints_the_statistics_and_the_alert_list(engine, ward, monkeypatch, capsys):
    from geomap import cli, config

    monkeypatch.setattr(config, "DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    counter, forged = scans.ScanCounter(), codes.new_token()
    for _ in range(scans.ALERT_MIN_SCANS):
        counter.count(forged, "unknown")
    counter.count(ward["codes"][7].token, "valid")
    counter.flush(engine)
    assert cli.main(["qr", "scans", "--ward", "qr-scan-test", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert "QS-8" in out and "Quán Quét 8" in out and "Tổ Quét 1" in out
    alert_lines = out.split("alert list")[1]
    assert forged in alert_lines and "unknown code" in alert_lines
    assert cli.main(["qr", "scans", "--ward", "qr-scan-test", "--min-scans", "1000"]) == 0
    assert forged not in capsys.readouterr().out.split("alert list")[1]


def test_the_background_thread_adds_the_counts_while_the_app_runs(engine):
    """The periodic flush (every GEOMAP_QR_SCAN_FLUSH_SECONDS; here a twentieth of a second), before any shutdown."""
    import time

    counter, forged = scans.ScanCounter(flush_seconds=0.05), codes.new_token()
    counter.start(lambda: engine)
    try:
        counter.count(forged, "unknown")
        for _ in range(400):  # a wait for the thread, not a timing assertion
            if _stored(engine, forged):
                break
            time.sleep(0.05)
        assert _stored(engine, forged) == {"unknown": 1} and len(counter) == 0
        counter.count(forged, "unknown")
    finally:
        counter.stop(lambda: engine)
    assert _stored(engine, forged) == {"unknown": 2}  # and the rest at the stop
