"""What the shared rate limit costs the QR page (issue 18: one limit per client across workers).

Method: the QR lookup load of :mod:`bench.bench_qr` (uvicorn, 2 workers, ``wrk`` with 8 connections, no
response cache: every request is one indexed query and a render), in its own database, with the
limits raised so nothing is refused (the cost of counting, not of refusing), in five set-ups:

- ``before``: the code of another checkout (``GEOMAP_BENCH_BEFORE_DIR``, default /work/main: the
  limiter before this change, per worker), a random client address per request;
- ``local``: this code, counting in the worker only (``GEOMAP_RATE_SHARED=off``);
- ``shared, many clients``: counting in the database, a random address per request (a client seen
  once or twice a minute, the real QR load: phones scanning stalls) behind a trusted proxy;
- ``shared, 50 busy clients``: 50 addresses sharing the load (each ~30 requests/s), the default
  sync (a worker sends a client's hits every 6, as for the QR page's 60/min);
- ``shared, 50 busy clients, every hit``: ``GEOMAP_RATE_SYNC_EVERY=1``, one UPSERT per request
  (the worst case, what a naive shared counter would cost).

Reports req/s (noisy on a shared machine) and the service's CPU ms per request (steadier).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import bench_qr
from bench._support import bench_database

BEFORE_DIR = Path(os.environ.get("GEOMAP_BENCH_BEFORE_DIR", "/work/main"))
SECONDS = int(os.environ.get("GEOMAP_BENCH_QR_SECONDS", "10"))
HIGH = "100000000"
ROUNDS = int(os.environ.get("GEOMAP_BENCH_LIMITS_ROUNDS", "2"))

_LUA = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  local t = tokens[math.random(#tokens)]
  local ip
  if %d > 0 then ip = "10.0.0." .. math.random(1, %d)
  else ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254) end
  return wrk.format("GET", "/q/" .. t, {["X-Forwarded-For"] = ip, ["Accept-Language"] = "vi"})
end
"""


def _backend_cpu_s(url: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to the bench database (root reads /proc)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        pids = c.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).scalars().all()
    engine.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _micro(url: str) -> dict:
    """In-process microseconds per ``limits.hit`` (no HTTP): the worker's bucket alone, shared with a
    client seen once (no query), one busy client synced every 6 hits, and synced on every hit."""
    from fastapi import FastAPI
    from starlette.requests import Request

    from geomap.web.ratelimit import RateLimits, SharedCounter

    def per_hit(shared: SharedCounter | None, n: int, clients: int) -> float:
        limits = RateLimits.from_env()
        limits.qr.configure(1e9, 10**9)
        limits.shared = shared
        app = FastAPI()
        app.state.database_url, app.state.limits = url, limits
        requests = [Request({"type": "http", "app": app, "client": (f"10.{i // 65536 % 256}.{i // 256 % 256}."
                                                                     f"{i % 256}", 1), "headers": [],
                             "method": "GET", "path": "/", "query_string": b""}) for i in range(clients)]
        limits.hit(requests[0], "qr")  # the engine made, the pool warm
        t0, c0, d0 = time.perf_counter(), time.process_time(), _backend_cpu_s(url)
        for i in range(n):
            limits.hit(requests[i % clients], "qr")
        wall, cpu, db_cpu = time.perf_counter() - t0, time.process_time() - c0, _backend_cpu_s(url) - d0
        return {"wall_us": round(wall / n * 1e6, 1), "cpu_us": round(cpu / n * 1e6, 1),
                "db_cpu_us": round(db_cpu / n * 1e6, 1)}

    return {"local": per_hit(None, 50_000, 5_000),
            "shared_new_clients": per_hit(SharedCounter(), 50_000, 50_000),
            "shared_busy_sync_every_6": per_hit(SharedCounter(sync_every=6), 6_000, 50),
            "shared_busy_sync_every_1": per_hit(SharedCounter(sync_every=1), 3_000, 50)}


def _run(url: str, tokens_file: Path, code_dir: Path, env: dict[str, str], clients: int) -> dict:
    port = bench_qr._free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": url, "GEOMAP_QR_CACHE_SECONDS": "0", "PYTHONPATH": str(code_dir),
           "GEOMAP_QR_RATE_PER_MINUTE": HIGH, "GEOMAP_QR_RATE_BURST": HIGH, **env}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "geomap.web:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "warning",
                             "--no-access-log"], env=env, cwd=code_dir, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = bench_qr._Server.__new__(bench_qr._Server)
    server.proc = proc
    try:
        base = f"http://127.0.0.1:{port}"
        bench_qr._wait_http(f"{base}/health")
        script = tokens_file.with_name(f"load-{clients}.lua")
        script.write_text(_LUA % (tokens_file, clients, clients))
        subprocess.run(["wrk", "-t1", "-c8", "-d3s", "-s", str(script), base], capture_output=True, check=True)
        time.sleep(1)
        cpu0, db0 = bench_qr._group_cpu_s(proc.pid), _backend_cpu_s(url)
        out = subprocess.run(["wrk", "-t1", "-c8", f"-d{SECONDS}s", "--latency", "-s", str(script), base],
                             capture_output=True, text=True, check=True).stdout
        cpu, db_cpu = bench_qr._group_cpu_s(proc.pid) - cpu0, _backend_cpu_s(url) - db0
        import re

        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        total = int(re.search(r"(\d+) requests in", out).group(1))
        lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        return {"rps": round(rps), "requests": total, "p50_ms": bench_qr._parse_ms(lat.get("50", "")),
                "p99_ms": bench_qr._parse_ms(lat.get("99", "")), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
                "server_cpu_ms_per_request": round(1000 * cpu / max(total, 1), 3),
                "db_cpu_ms_per_request": round(1000 * db_cpu / max(total, 1), 3),
                "load_average": round(os.getloadavg()[0], 1)}
    finally:
        server.stop()


def run() -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    url = bench_database("geomap_bench_limits")
    _, tokens = bench_qr._prepare(url)
    here = Path(__file__).resolve().parent.parent
    shared = {"GEOMAP_RATE_SHARED": "on", "GEOMAP_TRUSTED_PROXIES": "127.0.0.1", "FORWARDED_ALLOW_IPS": ""}
    setups = [
        ("before", BEFORE_DIR, {"FORWARDED_ALLOW_IPS": "127.0.0.1"}, 0),
        ("local", here, {"GEOMAP_RATE_SHARED": "off", "GEOMAP_TRUSTED_PROXIES": "127.0.0.1"}, 0),
        ("shared, many clients", here, shared, 0),
        ("shared, 50 busy clients", here, {**shared, "GEOMAP_RATE_SYNC_EVERY": "6"}, 50),
        ("shared, 50 busy clients, every hit", here, {**shared, "GEOMAP_RATE_SYNC_EVERY": "1"}, 50),
    ]
    results: dict = {"micro": _micro(url)}
    print("limits.hit in process (per hit): " + "; ".join(
        f"{k} {v['wall_us']} us wall, {v['cpu_us']} us CPU, database {v['db_cpu_us']} us CPU"
        for k, v in results["micro"].items()), flush=True)
    if os.environ.get("GEOMAP_BENCH_LIMITS_MICRO_ONLY"):
        return results
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        for round_no in range(ROUNDS):  # interleaved: a change in the machine's load hits every set-up alike
            for name, code_dir, env, clients in setups:
                r = _run(url, tokens_file, code_dir, env, clients)
                results.setdefault(name, []).append(r)
                print(f"[{round_no + 1}] {name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                      f"non-2xx {r['non_2xx']}, service CPU {r['server_cpu_ms_per_request']} ms/request, database "
                      f"CPU {r['db_cpu_ms_per_request']} ms/request (load {r['load_average']})", flush=True)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
