"""The public transparency page (``/report/outcomes``) and the stored hotspot layer, on the demo ward.

1. The page's figures: outcomes per month and category and counts per residential group, aggregated in
   PostGIS (``geomap.field_reports.outcomes``), against the naive approach (every report row and every
   group polygon read into Python; months counted with pandas, groups by GeoPandas' ``sjoin``, the
   reference tool for a point-in-polygon count). Both must give the same counts.
2. The page over HTTP (FastAPI TestClient, in process): the first request (cold: queries and rendering)
   and the next ones (the app's 5-minute cache), bytes on the wire with and without gzip.
3. The hotspot layer: one ``geomap reports hotspots --window 90`` (analysis with 9,999 permutations, then
   the replacement of the stored cells) and the replacement alone.

Runs in its own database (``geomap_bench_outcomes``, the demo loaded on first use).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import statistics
import time

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from bench._support import demo_database
from geomap import db
from geomap.field_reports import hotspot_store, outcomes
from geomap.wards import data as ward_data

WARD = "hoa-cuong"
DATABASE = "geomap_bench_outcomes"


def _database() -> str:
    return demo_database(DATABASE, WARD)


def _naive(engine, ward_id: int, now: dt.datetime) -> tuple[dict, dict]:
    """Every report and group read into Python, counted with pandas and GeoPandas' sjoin."""
    since = outcomes.window_start(now)
    with engine.connect() as c:
        rep = pd.read_sql(sa.text("SELECT category, status, reported_at, deadline_at, resolved_at, updated_at, "
                                  "ST_AsBinary(geom) wkb FROM field_report WHERE ward_id = :w"), c,
                          params={"w": ward_id})
        groups = pd.read_sql(sa.text("SELECT id, code, ST_AsBinary(geom) wkb FROM residential_group "
                                     "WHERE ward_id = :w"), c, params={"w": ward_id})
    rep = rep[~rep["status"].isin(["duplicate", "not_ward"])]
    t = pd.to_datetime(rep["reported_at"], utc=True)
    rep = rep[(t >= pd.Timestamp(since)) & (t < pd.Timestamp(now))].copy()
    done = rep["status"].isin(["resolved", "closed"])
    done_at = pd.to_datetime(rep["resolved_at"], utc=True).fillna(pd.to_datetime(rep["updated_at"], utc=True))
    deadline = pd.to_datetime(rep["deadline_at"], utc=True)
    rep["month"] = pd.to_datetime(rep["reported_at"], utc=True).dt.tz_convert("Asia/Ho_Chi_Minh").dt.strftime("%Y-%m")
    rep["on_time"] = done & (deadline.isna() | (done_at <= deadline))
    rep["overdue"] = (done & (done_at > deadline)) | (~done & (deadline < pd.Timestamp(now)))
    months = rep.groupby(["month", "category"]).agg(received=("status", "size"), on_time=("on_time", "sum"),
                                                    overdue=("overdue", "sum"))
    points = gpd.GeoDataFrame({"done": done.to_numpy()}, geometry=shapely.from_wkb(rep["wkb"].map(bytes)),
                              crs=4326)
    polys = gpd.GeoDataFrame({"id": groups["id"], "code": groups["code"]},
                             geometry=shapely.from_wkb(groups["wkb"].map(bytes)), crs=4326)
    joined = gpd.sjoin(points, polys, predicate="covered_by", how="inner").sort_values("id")
    joined = joined[~joined.index.duplicated(keep="first")]  # a point on a shared edge: the lowest group id
    per_group = joined.groupby("code")["done"].agg(["sum", "size"])
    return ({(m, c): (int(r.received), int(r.on_time), int(r.overdue)) for (m, c), r in months.iterrows()},
            {code: (int(r["sum"]), int(r["size"] - r["sum"])) for code, r in per_group.iterrows()})


def _timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run() -> dict:
    url = _database()
    engine = db.get_engine(url)
    ward_id = ward_data.ward_id(engine, WARD)
    now = dt.datetime.now(dt.UTC)
    load = os.getloadavg()[0]

    t_sql, (months, area) = _timed(lambda: (outcomes.monthly(engine, ward_id, now=now),
                                            outcomes.area_map(engine, ward_id, now=now)))
    t_naive, (naive_months, naive_groups) = _timed(lambda: _naive(engine, ward_id, now))
    ours_months = {(m["month"], r["category"]): (r["received"], r["on_time"], r["overdue"])
                   for m in months for r in m["rows"]}
    ours_groups = {a["code"]: (a["resolved"], a["open"]) for a in area["areas"] if a["resolved"] + a["open"]}
    same = ours_months == naive_months and ours_groups == naive_groups
    print(f"figures (12 months, {len(area['areas'])} groups): PostGIS {t_sql * 1000:.0f} ms, naive (pandas + "
          f"GeoPandas sjoin) {t_naive * 1000:.0f} ms, x{t_naive / t_sql:.1f}; same counts: {same}")

    from fastapi.testclient import TestClient

    from geomap.web import create_app

    os.environ["GEOMAP_FORM_RATE_PER_MINUTE"] = "0"  # all requests come from one client: no per-client limit
    with TestClient(create_app(url)) as client:
        t0 = time.perf_counter()
        first = client.get("/report/outcomes", headers={"Accept-Encoding": "gzip"})
        t_cold = time.perf_counter() - t0
        t_warm, warm = _timed(lambda: client.get("/report/outcomes", headers={"Accept-Encoding": "gzip"}), 50)
        raw = client.get("/report/outcomes", headers={"Accept-Encoding": "identity"}).content
    wire = len(gzip.compress(raw, 6))
    assert first.status_code == warm.status_code == 200, (first.status_code, warm.status_code)
    print(f"page: first request {t_cold * 1000:.0f} ms, cached {t_warm * 1000:.1f} ms (median of 50); "
          f"{len(raw):,} bytes, {wire:,} gzipped")

    t0 = time.perf_counter()
    analysis = hotspot_store.run(engine, ward_id, 90, now=now)
    t_run = time.perf_counter() - t0
    t_store, cells = _timed(lambda: hotspot_store.store(engine, ward_id, analysis, 90), 3)
    print(f"hotspot layer, 90-day window: analyse + store {t_run:.2f} s; replacing {cells} cells "
          f"{t_store * 1000:.0f} ms")
    print(f"load average at start: {load:.2f}")
    return {"figures_ms": round(t_sql * 1000, 1), "naive_ms": round(t_naive * 1000, 1), "same_counts": same,
            "page_cold_ms": round(t_cold * 1000, 1), "page_cached_ms": round(t_warm * 1000, 2),
            "page_bytes": len(raw), "page_gzip_bytes": wire, "hotspot_run_s": round(t_run, 2),
            "hotspot_store_ms": round(t_store * 1000, 1), "hotspot_cells": cells, "load_avg": round(load, 2)}
