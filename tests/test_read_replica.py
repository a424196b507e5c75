"""Read replicas (geomap.replica): the public service reads from a real streaming replica, writes to the primary.

The fixture makes a primary of its own (the demo ward, QR codes issued) and a replica of it with
``pg_basebackup -R`` on loopback (:func:`geomap.cluster.throwaway_pair`), so pausing replay or stopping the
replica never disturbs the cluster the other tests use. Which server answered is shown by pausing the
replica's replay (``pg_wal_replay_pause()``): a change written on the primary is then missing only on the
replica, so a public read that does not show it came from the replica, and a write that succeeds went to the
primary (the replica is read-only).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_fixtures import inside_point

from geomap import cluster, config, db, demo
from geomap.accounts import apikeys
from geomap.errors import DatabaseUnavailable
from geomap.replica import LagMeter, ReadRouter
from geomap.wards import data as ward_data
from geomap.web import create_app
from qr import issue


def _basebackup_missing() -> bool:
    try:
        return not (cluster.find_bindir() / "pg_basebackup").exists() and shutil.which("pg_basebackup") is None
    except DatabaseUnavailable:
        return True


pytestmark = pytest.mark.skipif(_basebackup_missing(), reason="pg_basebackup is not installed: no replica can be made")


def _prepare(url: str) -> None:
    engine = db.get_engine(url)
    demo.load(engine, ward="hoa-cuong")
    with db.transaction(engine) as conn:
        issue.issue_missing(conn, ward_data.ward_id(conn, "hoa-cuong"))


def wait_for(what: str, check: Callable[[], object], timeout_s: float = 20.0) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s} s for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def pair() -> Iterator[SimpleNamespace]:
    folder = Path(tempfile.mkdtemp(prefix="geomap-replica-"))
    folder.chmod(0o755)  # the servers run as 'postgres' under root
    try:
        with cluster.throwaway_pair(folder, _prepare) as (primary, replica):
            found = SimpleNamespace(primary=primary, replica=replica, primary_url=primary.url(),
                                    replica_url=replica.url())
            found.primary_engine = db.get_engine(found.primary_url)
            found.replica_engine = sa.create_engine(found.replica_url, isolation_level="AUTOCOMMIT")
            yield found
            found.replica_engine.dispose()
            for url in (found.primary_url, found.replica_url):
                db.pooled_engine(url).dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def replay_paused(pair) -> Iterator[Callable[[], None]]:
    """Pause the replica's replay; the returned function resumes it (also done at the end, whatever happens)."""
    def run(sql: str) -> None:
        with pair.replica_engine.connect() as c:
            c.execute(sa.text(sql))

    wait_for("the replica to catch up", lambda: _caught_up(pair))  # earlier tests' writes are not left behind
    run("SELECT pg_wal_replay_pause()")
    try:
        yield lambda: run("SELECT pg_wal_replay_resume()")
    finally:
        wait_for("the replica to answer", lambda: cluster.is_running(pair.replica))
        run("SELECT pg_wal_replay_resume()")


def _client(pair, *, max_lag_s: float = 60.0) -> TestClient:
    app = create_app(pair.primary_url, pair.replica_url)
    app.state.reads.max_lag_s, app.state.reads.check_s = max_lag_s, 0.1
    app.state.limits.clear()
    client = TestClient(app, raise_server_exceptions=False)
    return client


def _on_replica(client: TestClient) -> None:
    reads: ReadRouter = client.app.state.reads
    wait_for("reads to go to the replica", lambda: reads.use_replica())


def _active_tokens(pair, n: int) -> list[str]:
    rows = db.rows(pair.primary_engine, "SELECT token FROM qr_code WHERE revoked_at IS NULL AND establishment_id "
                                        "IS NOT NULL ORDER BY random() LIMIT :n", {"n": n})
    return [r["token"] for r in rows]


def _revoke(pair, token: str) -> None:
    with db.transaction(pair.primary_engine) as conn:
        issue.revoke(conn, token, reason="damaged")


def _replica_has(pair, token: str) -> bool:
    """Whether the replica has replayed the revocation of ``token``."""
    with pair.replica_engine.connect() as c:
        return c.execute(sa.text("SELECT revoked_at IS NOT NULL FROM qr_code WHERE token = :t"), {"t": token}).scalar()


def _caught_up(pair) -> bool:
    """Whether the replica has replayed every transaction the primary has completed (both changes here)."""
    return db.transactions_done(pair.replica_engine) >= db.transactions_done(pair.primary_engine)


def test_public_reads_come_from_the_replica_and_writes_land_on_the_primary(pair, replay_paused):
    token = _active_tokens(pair, 1)[0]
    key = apikeys.create(pair.primary_engine, "Thử bản sao đọc", ["open311"])
    with _client(pair) as client:
        _on_replica(client)
        assert client.get("/health").json()["reads"] == "replica"
        assert client.get(f"/api/q/{token}").json()["status"] == "valid"
        _revoke(pair, token)  # on the primary, while the replica's replay is paused
        assert db.scalar(pair.primary_engine, "SELECT revoked_at IS NOT NULL FROM qr_code WHERE token = :t",
                         {"t": token})
        # the public page still reads the replica: not revoked yet there
        r = client.get(f"/api/q/{token}")
        assert r.status_code == 200 and r.json()["status"] == "valid"
        assert client.get(f"/q/{token}").status_code == 200
        # a write route: the Open311 request is stored (on the primary: the replica is read-only and paused) ...
        lon, lat = inside_point()
        made = client.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "garbage", "lat": str(lat), "long": str(lon),
            "description": "Rác đổ trộm cạnh chợ, thử bản sao đọc"})
        assert made.status_code == 201, made.text
        rid = made.json()[0]["service_request_id"]
        assert db.scalar(pair.primary_engine, "SELECT count(*) FROM field_report WHERE public_id = :p", {"p": rid}) == 1
        # ... and the Open311 read does not see it yet (the replica has not replayed it)
        assert client.get(f"/open311/v2/requests/{rid}.json").status_code == 404
        replay_paused()  # resume: the replica catches up and the public reads show both changes
        wait_for("the replica to catch up", lambda: _caught_up(pair))
        assert _replica_has(pair, token)
        r = client.get(f"/api/q/{token}")
        assert r.status_code == 410 and r.json()["status"] == "revoked"
        assert client.get(f"/q/{token}").status_code == 410
        got = client.get(f"/open311/v2/requests/{rid}.json")
        assert got.status_code == 200 and got.json()[0]["service_request_id"] == rid


def test_a_replica_far_behind_is_left_for_the_primary_logged_once(pair, replay_paused, caplog):
    token = _active_tokens(pair, 1)[0]
    caplog.set_level(logging.INFO, logger="geomap.replica")
    with _client(pair, max_lag_s=0.5) as client:
        _on_replica(client)
        reads: ReadRouter = client.app.state.reads
        _revoke(pair, token)
        wait_for("the replica to be seen behind", lambda: reads.last.state == "behind")
        for _ in range(5):  # read from the primary: the revocation shows although the replica has not replayed it
            r = client.get(f"/api/q/{token}")
            assert r.status_code == 410, r.text
            time.sleep(0.1)
        assert not _replica_has(pair, token)
        assert client.get("/health").json()["reads"] == "primary"
        behind = [r.getMessage() for r in caplog.records if "behind the primary" in r.getMessage()]
        assert len(behind) == 1 and "reading from the primary" in behind[0], behind  # once, however many checks
        replay_paused()
        wait_for("reads to go back to the replica", lambda: reads.last.state == "replica")
        assert any("caught up" in r.getMessage() for r in caplog.records)
        assert client.get(f"/api/q/{token}").status_code == 410


def test_a_replica_down_leaves_every_read_to_the_primary(pair, caplog):
    tokens = _active_tokens(pair, 3)
    caplog.set_level(logging.INFO, logger="geomap.replica")
    with _client(pair) as client:
        _on_replica(client)
        assert client.get(f"/api/q/{tokens[0]}").status_code == 200  # a pooled connection to the replica
        assert client.get("/ogc/collections/establishments/items?limit=2").status_code == 200
        cluster.stop(pair.replica)
        try:
            # the very next requests answer (read again on the primary), and later ones go there directly
            for _ in range(3):
                for token in tokens:
                    assert client.get(f"/api/q/{token}").status_code == 200
                    assert client.get(f"/q/{token}").status_code == 200
                assert client.get("/ogc/collections/establishments/items?limit=2").status_code == 200
                assert client.get("/ogc/collections/establishments/tiles/WebMercatorQuad/14/7638/13100").status_code \
                    in (200, 204)
                assert client.get("/open311/v2/requests.json").status_code == 200
                time.sleep(0.15)  # a few checks meanwhile
            assert client.get("/health").json()["reads"] == "primary"
            down = [r.getMessage() for r in caplog.records
                    if r.name == "geomap.replica" and "reading from the primary" in r.getMessage()]
            assert len(down) == 1 and "answer" in down[0], down  # one line per outage, not per request or check
        finally:
            cluster.start_replica(pair.primary, pair.replica)
        wait_for("reads to go back to the replica", lambda: client.app.state.reads.last.state == "replica")
        assert any("answers again" in r.getMessage() for r in caplog.records)
        assert client.get(f"/api/q/{tokens[0]}").status_code == 200


def test_without_a_replica_reads_go_to_the_primary(pair):
    with TestClient(create_app(pair.primary_url)) as client:
        assert not client.app.state.reads.use_replica()
        assert "reads" not in client.get("/health").json()
        assert client.get(f"/api/q/{_active_tokens(pair, 1)[0]}").status_code == 200


def test_the_lag_is_the_age_of_the_oldest_transaction_not_replayed():
    meter = LagMeter()
    meter.note_primary(0.0, 100)
    assert meter.lag(0.5, 100) == 0.0  # replayed everything the primary had completed
    meter.note_primary(1.0, 101)
    meter.note_primary(2.0, 101)  # no new transaction: the first time it was seen counts
    meter.note_primary(3.0, 105)
    assert meter.lag(3.5, 100) == 2.5  # transaction 100 done on the primary at 1.0, not yet on the replica
    assert meter.lag(3.6, 101) == pytest.approx(0.6)  # it has 100, not yet 101..104
    assert meter.lag(4.0, 105) == 0.0


def test_a_configured_replica_that_never_answers_is_not_read(pair, caplog):
    caplog.set_level(logging.INFO, logger="geomap.replica")
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{cluster._free_port()}/geomap"
    with TestClient(create_app(pair.primary_url, dead)) as client:
        client.app.state.reads.check_s = 0.1
        assert client.get(f"/api/q/{_active_tokens(pair, 1)[0]}").status_code == 200
        wait_for("the check", lambda: client.app.state.reads.last.state != "unchecked")
        assert client.get("/health").json() | {"database": "ok"} == {
            "status": "ok", "database": "ok", "reads": "primary", "replica": "down"}
    assert sum("does not answer" in r.getMessage() for r in caplog.records) == 1


def test_geomap_db_replica_makes_a_replica_of_the_private_database(pair):
    """``geomap db replica`` (here with the fixture's primary as the private database): a running standby."""
    env = {**os.environ, "GEOMAP_STATE_DIR": str(pair.primary.state_dir), "PYTHONPATH": str(config.PROJECT_DIR)}
    env.pop("GEOMAP_DATABASE_URL", None)
    made = cluster.Cluster(pair.primary.state_dir / "replica")
    try:
        out = subprocess.run([sys.executable, "-m", "geomap.cli", "db", "replica"], env=env, capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 0, out.stderr
        assert f"GEOMAP_READ_DATABASE_URL={made.url()}" in out.stdout
        engine = sa.create_engine(made.url())
        try:
            assert db.is_standby(engine)
            assert db.scalar(engine, "SELECT count(*) FROM qr_code") == db.scalar(pair.primary_engine,
                                                                                 "SELECT count(*) FROM qr_code")
        finally:
            engine.dispose()
    finally:
        if made.info_file.exists():
            cluster.stop(made)
        shutil.rmtree(made.server_dir, ignore_errors=True)


def test_while_the_primary_is_down_the_replica_keeps_serving_reads(pair, caplog):
    """The lag cannot be told without the primary: reads stay on the replica (writes fail on the primary anyway)."""
    caplog.set_level(logging.INFO, logger="geomap.replica")
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{cluster._free_port()}/geomap"
    reads = ReadRouter(pair.replica_url, lambda: dead, max_lag_s=0.5)
    try:
        found = reads.check()
        assert found.state == "replica" and found.lag_s is None and "lag unknown" in found.reason
        assert reads.use_replica() and reads.status() == {"reads": "replica", "replica": "replica"}
        reads.check()
        assert sum("lag unknown" in r.getMessage() for r in caplog.records) == 1
    finally:
        reads.close()
