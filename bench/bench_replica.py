"""Read replicas: how long a revocation takes to reach the QR page served from the replica, and QR throughput.

Method
------
- A primary and its streaming replica of their own (:func:`geomap.cluster.throwaway_pair`: ``initdb``,
  the demo ward with every QR code issued, ``pg_basebackup -R`` on loopback), so the other benchmarks'
  writes on the shared cluster are not replayed into the figures.
- The public service (``uvicorn geomap.web:create_app``, one worker) with ``GEOMAP_DATABASE_URL`` on the
  primary and ``GEOMAP_READ_DATABASE_URL`` on the replica; it is waited for until ``/health`` says reads go
  to the replica.
- **Revocation delay**: for each of ``GEOMAP_BENCH_REPLICA_N`` (default 40) codes, its JSON page is read once
  (valid, and in the service's page cache), the code is revoked through the real code path
  (:func:`qr.issue.revoke` in :func:`geomap.db.transaction`, on the primary), then the page is polled over one
  kept-alive connection until it answers 410; the delay is from the revoking transaction's commit to that
  410. Two ways: as geomap revokes (a synchronous commit, :func:`geomap.db.commit_synchronously`: the WAL is
  flushed, so streamed, before the commit returns), and the naive way, an asynchronous commit as the private
  cluster's ``synchronous_commit = off`` makes every other change (the commit returns before its WAL is
  flushed; the replica receives it when the WAL writer next flushes, rounds of ``wal_writer_delay`` = 200 ms).
  The baseline in the same run: a second service reading from the primary only.
- **Throughput**: ``wrk`` (8 connections, random active codes of the ~6,000, the default 30 s page cache) for
  ``GEOMAP_BENCH_REPLICA_SECONDS`` (default 5) against the service reading from the replica, then against the
  one reading from the primary. On one machine both servers share the same 2 cores, so this shows only that
  reading from a replica costs the service nothing; the gain of a replica is the primary's CPU and I/O it
  takes away, on a machine of its own.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.bench_qr import CONNECTIONS, _free_port, _load_httpx, _load_wrk, _prepare, _Server, _wait_http
from geomap import cluster, db
from qr import issue

N = int(os.environ.get("GEOMAP_BENCH_REPLICA_N", "40"))
SECONDS = int(os.environ.get("GEOMAP_BENCH_REPLICA_SECONDS", "5"))
#: a page not showing the revocation after this long counts as a failure (the replica's lag bound is 5 s)
GIVE_UP_S = 10.0


def _serve(primary_url: str, replica_url: str | None) -> tuple[_Server, str]:
    port = _free_port()
    env = {"GEOMAP_DATABASE_URL": primary_url, "FORWARDED_ALLOW_IPS": "127.0.0.1",
           "GEOMAP_QR_RATE_PER_MINUTE": "0"}  # no per-client limit: the load is the benchmark's own
    if replica_url:
        env["GEOMAP_READ_DATABASE_URL"] = replica_url
    server = _Server([sys.executable, "-m", "uvicorn", "geomap.web:create_app", "--factory", "--host",
                      "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
                      "--no-access-log"], env)
    base = f"http://127.0.0.1:{port}"
    _wait_http(f"{base}/health")
    if replica_url:
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/health").json().get("reads") != "replica":
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("the service never read from the replica (see /health)")
            time.sleep(0.1)
    return server, base


def _revoke(engine: sa.Engine, token: str, asynchronous: bool) -> float:
    """Revoke ``token`` on the primary through the real code path; the time its commit returned.
    ``asynchronous``: as before the revocation committed synchronously (the naive way, for comparison)."""
    with db.transaction(engine) as conn:
        issue.revoke(conn, token, reason="damaged")
        if asynchronous:  # after revoke's own SET LOCAL: the last one wins
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
    return time.perf_counter()


def _delays(base: str, engine: sa.Engine, tokens: list[str], asynchronous: bool = False) -> dict:
    delays: list[float] = []
    polls: list[int] = []
    failed = 0
    with httpx.Client(base_url=base, headers={"X-Forwarded-For": "10.9.9.9"}) as client:
        for token in tokens:
            assert client.get(f"/api/q/{token}").status_code == 200
            committed = _revoke(engine, token, asynchronous)
            n = 0
            while True:
                n += 1
                status = client.get(f"/api/q/{token}").status_code
                seen = time.perf_counter()
                if status == 410:
                    delays.append((seen - committed) * 1000)
                    polls.append(n)
                    break
                if seen - committed > GIVE_UP_S:
                    failed += 1
                    break
    delays.sort()
    return {"n": len(delays), "not_seen_within_s": {"s": GIVE_UP_S, "count": failed},
            "median_ms": round(statistics.median(delays), 1), "p90_ms": round(delays[int(0.9 * (len(delays) - 1))], 1),
            "max_ms": round(delays[-1], 1), "min_ms": round(delays[0], 1),
            "polls_median": statistics.median(polls)}


def _throughput(base: str, tokens: list[str], tokens_file: Path) -> dict:
    _load_httpx(base, tokens, 1)  # connections and templates warm
    load0 = os.getloadavg()[0]
    out = _load_wrk(base, tokens_file, SECONDS) if shutil.which("wrk") else _load_httpx(base, tokens, SECONDS)
    return {**out, "load_average_before": round(load0, 1)}


def run() -> dict:
    folder = Path(tempfile.mkdtemp(prefix="geomap-bench-replica-"))
    folder.chmod(0o755)  # the servers run as 'postgres' under root
    found: dict = {}
    try:
        with cluster.throwaway_pair(folder, _prepare) as (primary, replica):
            engine = db.get_engine(primary.url())
            tokens = db.scalars(engine, "SELECT token FROM qr_code WHERE revoked_at IS NULL ORDER BY random()")
            print(f"primary on port {primary.port}, replica on port {replica.port}; {len(tokens)} active codes",
                  flush=True)
            load = tokens[4 * N:]
            tokens_file = folder / "tokens.txt"
            tokens_file.write_text("\n".join(load) + "\n")
            on_replica, base = _serve(primary.url(), replica.url())
            try:
                found["replica"] = _delays(base, engine, tokens[:N])
                found["replica_asynchronous_commit"] = _delays(base, engine, tokens[N:2 * N], asynchronous=True)
                found["throughput_replica"] = _throughput(base, load, tokens_file)
            finally:
                on_replica.stop()
            on_primary, base = _serve(primary.url(), None)
            try:
                found["primary"] = _delays(base, engine, tokens[2 * N:3 * N])
                found["throughput_primary"] = _throughput(base, load, tokens_file)
            finally:
                on_primary.stop()
            db.pooled_engine(primary.url()).dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    found["uptime_load_average"] = [round(x, 2) for x in os.getloadavg()]
    for key, what in (("replica", "page from the replica (geomap's revocation: a synchronous commit)"),
                      ("replica_asynchronous_commit", "page from the replica, had the revocation committed "
                                                      "asynchronously (the cluster's synchronous_commit = off)"),
                      ("primary", "page from the primary (baseline: no replica)")):
        d = found[key]
        print(f"revocation -> 410 on the {what}: median {d['median_ms']} ms, p90 {d['p90_ms']} ms, "
              f"max {d['max_ms']} ms over {d['n']} revocations ({d['not_seen_within_s']['count']} not seen within "
              f"{GIVE_UP_S:g} s)", flush=True)
    for key in ("throughput_replica", "throughput_primary"):
        t = found[key]
        print(f"QR pages, random codes, reads on the {key.split('_')[1]} ({t['tool']}, {CONNECTIONS} "
              f"connections, 1 worker): {t['rps']} req/s, p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms, "
              f"non-2xx {t['non_2xx']} (load average before {t['load_average_before']})", flush=True)
    print(f"load average at the end (uptime): {found['uptime_load_average']}", flush=True)
    return found


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
