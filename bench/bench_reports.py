"""Field reports: Gi* hotspots over 100,000 reports, and report submission on loopback.

1. Gi*: 100,000 synthetic report points in Hòa Cường (background + street-scale clusters)
   aggregated to H3 resolution-10 cells covering the ward, weights built, Gi* with 9,999
   conditional permutations and BH FDR (``geomap.field_reports.hotspots``). Timed end to end, including
   aggregation; then esda ``G_Local(transform="B", star=True)`` on the same cells and weights
   (timed alone, without aggregation), with 999 permutations (esda without numba is slow) and
   our own run at 999 for a like-for-like ratio. Target: ≤ 2 s.
2. Submission: ``geomap.web`` under uvicorn in a separate process with 2 workers (one per core,
   as ``geomap serve`` starts it; one worker saturates at about 230–250/s), load from
   this process over raw keep-alive HTTP/1.1 (asyncio streams: a cheap load generator).
   Each request is a browser-like multipart POST /report
   (empty photo part) with a different description and position, so replay protection
   never short-circuits it. The per-client rate limiter is switched off for the run
   (GEOMAP_REPORT_RATE_PER_MINUTE=0): all load comes from one address. Closed loop (16
   concurrent clients) for the capacity figure, then open loop offering a fixed 220/s for 20 s
   (somewhat more than the target, so "sustained" is not decided by rounding) for the achieved
   rate and latency percentiles. Target met when the open loop achieves ≥ 200/s with p99 ≤ 100 ms
   and no errors.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import sqlalchemy as sa

from bench._support import bench_database, drop_database
from geomap import db, profiles
from geomap.field_reports import hotspots


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    area = profiles.get("hoa-cuong").boundary()
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = area.bounds
    n_bg = n // 2
    lon = rng.uniform(minx, maxx, n_bg * 2)
    lat = rng.uniform(miny, maxy, n_bg * 2)
    keep = shapely.contains_xy(area, lon, lat)
    lon, lat = lon[keep][:n_bg], lat[keep][:n_bg]
    centres = [area.representative_point()] + [area.centroid]
    centres += [shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(10)]
    centres = [c for c in centres if area.contains(c)]
    per = (n - len(lon)) // len(centres)
    for c in centres:
        lon = np.r_[lon, rng.normal(c.x, 0.0012, per)]
        lat = np.r_[lat, rng.normal(c.y, 0.0012, per)]
    return lon, lat


def bench_gi(n: int = 100_000) -> dict:
    import esda
    from libpysal.weights import W

    lon, lat = _points(n)
    area = profiles.get("hoa-cuong").boundary()
    grid = hotspots.Grid("h3", resolution=10)
    grid.cover(area)  # warm up h3/pyproj imports outside the timing

    t0 = time.perf_counter()
    cells, y = hotspots.aggregate(grid.assign(lon, lat), grid.cover(area))
    w = grid.weights(cells)
    t_agg = time.perf_counter() - t0
    gi = hotspots.gi_star(y, w, permutations=9999, seed=1)
    t_total = time.perf_counter() - t0
    t1 = time.perf_counter()
    gi999 = hotspots.gi_star(y, w, permutations=999, seed=1)
    t_ours_999 = time.perf_counter() - t1

    neigh = {i: [int(j) for j in w[i].indices] for i in range(len(cells))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw = W(neigh, silence_warnings=True)
        t2 = time.perf_counter()
        ref = esda.G_Local(y, lw, transform="B", star=True, permutations=999, seed=1)
        t_esda = time.perf_counter() - t2
    max_dz = float(np.nanmax(np.abs(gi.Zs - ref.Zs)))
    figures = {
        "reports": int(len(lon)), "cells": int(len(cells)), "grid": grid.label,
        "aggregation_s": round(t_agg, 3), "gi_total_9999perm_s": round(t_total, 3),
        "gi_ours_999perm_s": round(t_ours_999, 3), "esda_999perm_s": round(t_esda, 3),
        "ratio_esda_over_ours_999": round(t_esda / t_ours_999, 1),
        "hot_cells": int((gi.classes == "hot").sum()), "hot_cells_999": int((gi999.classes == "hot").sum()),
        "max_abs_z_diff_vs_esda": max_dz, "target_s": 2.0, "meets_target": t_total <= 2.0,
    }
    print(f"Gi*: {figures['reports']:,} reports -> {figures['cells']} cells ({grid.label}); aggregation "
          f"{t_agg:.3f} s; total with 9,999 permutations {t_total:.3f} s (target ≤ 2 s)")
    print(f"     999 permutations: ours {t_ours_999:.3f} s, esda {t_esda:.3f} s on the same cells "
          f"(esda/ours {figures['ratio_esda_over_ours_999']}×); max |Δz| vs esda {max_dz:.2e}; "
          f"hot cells {figures['hot_cells']}")
    return figures


# --- submission load test ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bench_database() -> str:
    """A scratch database with the schema and the Hòa Cường boundary (dropped and recreated each run)."""
    url = bench_database("geomap_bench_reports", fresh=True)
    prof = profiles.get("hoa-cuong")
    with db.get_engine(url).begin() as c:
        c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('hoa-cuong', :n, :p, 5899, "
            "ST_Multi(ST_GeomFromText(:g, 4326)))"), {"n": prof.name, "p": prof.province, "g": prof.boundary().wkt})
    return url


def _request_bytes(host: str, i: int, lon: float, lat: float) -> bytes:
    """A browser-like multipart POST /report (with the empty file part a browser sends)."""
    boundary = f"----geomapbench{i:012d}"
    fields = {"category": ("garbage", "sanitation", "infrastructure")[i % 3],
              "description": f"Phản ánh thử tải số {i}: rác tồn đọng trước nhà",
              "lat": f"{lat + (i % 97) * 1e-5:.6f}", "lon": f"{lon + (i % 89) * 1e-5:.6f}",
              "reporter_name": "", "reporter_contact": ""}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename=""\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n")
    body = "".join(parts).encode()
    head = (f"POST /report HTTP/1.1\r\nHost: {host}\r\nUser-Agent: geomap-bench\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _drop_database(url: str) -> None:
    db.get_engine(url).dispose()
    db._engine_for.cache_clear()
    drop_database(url)


async def _load(host: str, port: int, *, seconds: float, concurrency: int | None = None, rate: float | None = None,
                offset: int = 0) -> dict:
    """Raw keep-alive HTTP/1.1 over asyncio streams: a load generator that costs little CPU."""
    c = profiles.get("hoa-cuong").boundary().representative_point()
    latencies: list[float] = []
    errors = 0
    counter = offset
    idle: asyncio.Queue = asyncio.Queue()

    async def connection():
        return await asyncio.open_connection(host, port)

    async def one() -> None:
        nonlocal counter, errors
        counter += 1
        payload = _request_bytes(host, counter, c.x, c.y)
        conn = idle.get_nowait() if not idle.empty() else await connection()
        reader, writer = conn
        t = time.perf_counter()
        try:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            ok = head.startswith(b"HTTP/1.1 303")
            idle.put_nowait(conn)
        except (OSError, asyncio.IncompleteReadError):
            ok = False
            writer.close()
        latencies.append(time.perf_counter() - t)
        if not ok:
            errors += 1

    start = time.perf_counter()
    if rate:  # open loop: requests leave at a fixed rate whatever the answers
        tasks = []
        k = 0
        while (now := time.perf_counter() - start) < seconds:
            due = k / rate
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one()))
            k += 1
        await asyncio.gather(*tasks)
    else:
        async def worker() -> None:
            while time.perf_counter() - start < seconds:
                await one()
        await asyncio.gather(*(worker() for _ in range(concurrency or 8)))
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    lat_ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors, "per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat_ms, 50)), 1), "p95_ms": round(float(np.percentile(lat_ms, 95)), 1),
            "p99_ms": round(float(np.percentile(lat_ms, 99)), 1)}


#: what the open loop offers, and what it must achieve (requests per second), and its p99 limit
OFFERED_PER_S = 220.0
TARGET_PER_S = 200.0
TARGET_P99_MS = 100.0


def bench_submit(workers: int = 2, offered: float = OFFERED_PER_S) -> dict:
    url = _bench_database()
    port = _free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": url, "GEOMAP_REPORT_RATE_PER_MINUTE": "0"}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geomap.web:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        asyncio.run(_load("127.0.0.1", port, seconds=3, concurrency=8, offset=10_000_000))  # warm-up
        closed = asyncio.run(_load("127.0.0.1", port, seconds=15, concurrency=16, offset=20_000_000))
        opened = asyncio.run(_load("127.0.0.1", port, seconds=20, rate=offered, offset=30_000_000))
    finally:
        server.terminate()
        server.wait(timeout=20)
    with db.get_engine(url).connect() as c:
        stored = c.execute(sa.text("SELECT count(*) FROM field_report")).scalar()
        histories = c.execute(sa.text("SELECT count(*) FROM field_report_update")).scalar()
    _drop_database(url)
    figures = {"workers": workers, "closed_loop_16": closed, "open_loop_offered_per_s": offered,
               "open_loop": opened, "stored_reports": stored, "history_rows": histories,
               "target_per_s": TARGET_PER_S, "target_p99_ms": TARGET_P99_MS,
               "meets_target": (opened["per_s"] >= TARGET_PER_S and opened["p99_ms"] <= TARGET_P99_MS
                                and opened["errors"] == 0)}
    print(f"submit, closed loop (16 clients): {closed['per_s']}/s, p50 {closed['p50_ms']} ms, "
          f"p99 {closed['p99_ms']} ms, errors {closed['errors']}")
    print(f"submit, open loop offering {offered:g}/s for 20 s: achieved {opened['per_s']}/s, "
          f"p50 {opened['p50_ms']} ms, p95 {opened['p95_ms']} ms, p99 {opened['p99_ms']} ms, "
          f"errors {opened['errors']} (target ≥ {TARGET_PER_S:g}/s, p99 ≤ {TARGET_P99_MS:g} ms): "
          f"{'met' if figures['meets_target'] else 'MISSED'}")
    print(f"stored {stored} reports, {histories} history rows (one each: nothing half-stored)")
    return figures


def run() -> dict:
    return {"gi_star": bench_gi(), "submit": bench_submit()}


if __name__ == "__main__":
    run()
