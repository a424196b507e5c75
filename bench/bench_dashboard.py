"""Dashboard benchmark on the demo ward: cold (queries + computation + map) and warm (cached frames).

Cold: a fresh engine, :func:`geomap.dashboard.data.load_frames` (a handful of set-based queries),
:func:`~geomap.dashboard.indicators.compute` and the choropleth rendered to HTML. Warm: what a rerun of
the staff page costs when ``st.cache_data`` holds the frames and board — a pickle round trip
of the cached objects plus rendering the map. The reference is the naive way: one query per
residential group and indicator source (312 groups), as a per-group loop would do.

Targets: ≤ 1 s warm, ≤ 3 s cold.
"""

from __future__ import annotations

import datetime as dt
import pickle
import time

import sqlalchemy as sa

from bench.bench_import import _database
from geomap import dashboard, db, profiles, status
from geomap.wards import data as ward_data

WARD = "hoa-cuong"
TARGET_WARM_S, TARGET_COLD_S = 1.0, 3.0


def _naive(engine: sa.Engine, ward_id: int, today: dt.date) -> float:
    """Per-group queries: the loop a first version would write."""
    started = time.perf_counter()
    with engine.connect() as conn:
        groups = conn.execute(sa.text("SELECT id FROM residential_group WHERE ward_id = :w"), {"w": ward_id}).scalars()
        for gid in list(groups):
            res = conn.execute(sa.text("SELECT * FROM establishment_overview WHERE residential_group_id = :g"),
                               {"g": gid})
            import pandas as pd

            frame = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
            if len(frame):
                status.with_statuses(frame, today)
            conn.execute(sa.text(
                "SELECT count(*) FILTER (WHERE resolved_at <= deadline_at), count(*) FROM field_report r "
                "JOIN residential_group g ON ST_Covers(g.geom, r.geom) WHERE g.id = :g"), {"g": gid}).one()
    return time.perf_counter() - started


def run() -> dict:
    url = _database()
    db._engine_for.cache_clear()
    today = dt.date.today()
    profile = profiles.get(WARD)

    started = time.perf_counter()
    engine = db.get_engine(url)
    ward_id = ward_data.ward_id(engine, WARD)
    t_load = time.perf_counter()
    frames = dashboard.load_frames(engine, ward_id)
    load_s = time.perf_counter() - t_load
    board = dashboard.compute(frames, profile, today)
    html = dashboard.choropleth(board, "digital_payment_share").get_root().render()
    cold_s = time.perf_counter() - started

    warm = []
    cached = pickle.dumps((frames, board))
    for key in ("digital_payment_share", "licensed_share", "inspections_overdue"):
        t = time.perf_counter()
        _, board2 = pickle.loads(cached)  # st.cache_data hands back a copy of the cached value
        dashboard.choropleth(board2, key).get_root().render()
        warm.append(time.perf_counter() - t)
    warm_s = max(warm)
    t = time.perf_counter()
    dashboard.compute(frames, profile, today)
    compute_s = time.perf_counter() - t
    naive_s = _naive(engine, ward_id, today)
    figures = {
        "establishments": int(len(frames.establishments)), "groups": int(len(frames.groups)),
        "cold_s": round(cold_s, 3), "cold_queries_s": round(load_s, 3), "compute_only_s": round(compute_s, 3),
        "warm_s": round(warm_s, 3), "map_html_kb": round(len(html.encode()) / 1024),
        "naive_per_group_queries_s": round(naive_s, 2), "ratio_naive_vs_cold": round(naive_s / cold_s, 1),
        "targets": {"warm_s": TARGET_WARM_S, "cold_s": TARGET_COLD_S},
        "meets_targets": warm_s <= TARGET_WARM_S and cold_s <= TARGET_COLD_S,
    }
    print(f"  demo ward: {figures['establishments']} establishments, {figures['groups']} residential groups")
    print(f"  cold: {cold_s:.2f} s (queries {load_s:.2f} s, compute {compute_s:.2f} s, "
          f"map {figures['map_html_kb']} KB)")
    print(f"  warm (cached frames, map re-rendered): {warm_s:.2f} s")
    print(f"  naive per-group queries: {naive_s:.2f} s = {naive_s / cold_s:.1f}x the cold dashboard")
    print(f"  targets (warm ≤{TARGET_WARM_S:.0f} s, cold ≤{TARGET_COLD_S:.0f} s): "
          f"{'met' if figures['meets_targets'] else 'MISSED'}")
    return figures
