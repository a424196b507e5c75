"""CQL2 filtering of the OGC API at city scale: the filter run by the server vs paging everything to the client.

The city (15 wards, ~102,000 establishments: the same ``geomap_bench_city`` database as
``bench_export``, created and loaded only if missing) is served by a real uvicorn. One
filter, an industry (the VSIC code nearest 3 % of the establishments) in the south-west
quarter of the city's extent, is answered two ways in the same run, timed from the client:

- pushed down: ``filter=vsic_code = '…' AND S_INTERSECTS(geometry, BBOX(…))`` (cql2-text),
  every page of 10,000 followed by its next link;
- on the client: every establishment paged (10,000 a page, next links), then the same test
  applied in Python (what QGIS or GDAL do when the server advertises no filtering).

Both must return the same features; the ratio client/pushed is printed. ``GEOMAP_BENCH_CQL2_URL``
points the benchmark at another loaded database (a smaller city, for a quick run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
ITEMS = "/ogc/collections/establishments/items"
PAGE = 10_000
ROUNDS = 3


def _features(client, url: str, params: dict) -> tuple[list[dict], int]:
    """Every feature of a query, following next links; and the bytes received."""
    features, size = [], 0
    r = client.get(url, params={**params, "limit": PAGE})
    while True:
        assert r.status_code == 200, r.text[:300]
        size += len(r.content)
        body = r.json()
        features += body["features"]
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        if not nxt:
            return features, size
        r = client.get(nxt[0])


def _choose_filter(url: str) -> tuple[str, tuple[float, float, float, float], int]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        total = c.execute(sa.text("SELECT count(*) FROM establishment")).scalar()
        counts = c.execute(sa.text("SELECT vsic_code, count(*) FROM establishment GROUP BY 1")).all()
        x1, y1, x2, y2 = c.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM establishment) s")).one()
    engine.dispose()
    code = min(counts, key=lambda row: abs(row[1] - 0.03 * total))[0]
    quarter = (x1, y1, (x1 + x2) / 2, (y1 + y2) / 2)
    return code, quarter, total


def run() -> dict:
    import httpx

    from bench.bench_export import _free_port, _wait_until_idle, city_database

    url = os.environ.get("GEOMAP_BENCH_CQL2_URL") or city_database()
    code, box, total = _choose_filter(url)
    expression = f"vsic_code = '{code}' AND S_INTERSECTS(geometry, BBOX({box[0]}, {box[1]}, {box[2]}, {box[3]}))"
    port = _free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": url, "GEOMAP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "geomap.web:create_app", "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env, cwd=PROJECT)
    base = f"http://127.0.0.1:{port}{ITEMS}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        _wait_until_idle(server.pid)
        pushed_s, client_s = [], []
        with httpx.Client(timeout=300) as client:
            _features(client, base, {"filter": expression})  # warm-up, untimed
            for _ in range(ROUNDS):
                started = time.perf_counter()
                pushed, pushed_bytes = _features(client, base, {"filter": expression})
                pushed_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                every, every_bytes = _features(client, base, {})
                local = [f for f in every if f["properties"]["vsic_code"] == code and f["geometry"] is not None
                         and box[0] <= f["geometry"]["coordinates"][0] <= box[2]
                         and box[1] <= f["geometry"]["coordinates"][1] <= box[3]]
                client_s.append(time.perf_counter() - started)
                assert {f["id"] for f in local} == {f["id"] for f in pushed}, "the two ways disagree"
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures = {
        "establishments": total, "filter": expression, "matched": len(pushed),
        "pushed_median_s": round(statistics.median(pushed_s), 3),
        "client_side_median_s": round(statistics.median(client_s), 3),
        "pushed_kb": round(pushed_bytes / 1024), "client_side_kb": round(every_bytes / 1024),
    }
    figures["ratio_client_vs_pushed"] = round(figures["client_side_median_s"] / figures["pushed_median_s"], 1)
    print(f"CQL2 filter over {total} establishments ({len(pushed)} match: {expression}): pushed to the server "
          f"median {figures['pushed_median_s']} s, {figures['pushed_kb']} kB; paging everything and filtering on "
          f"the client median {figures['client_side_median_s']} s, {figures['client_side_kb']} kB; "
          f"ratio {figures['ratio_client_vs_pushed']}×")
    return figures


if __name__ == "__main__":
    print(run())
