"""Loading the demo ward (``python -m bench demo``).

Target: ``geomap demo load`` for the default ward (6,000 establishments and everything
around them) in ≤ 60 s. Measured in a scratch database on the same server:

* generation alone (pure, no database), then the whole ``demo.load`` into an empty ward and
  a reload that replaces it (the delete cascades through every table);
* the establishment table written the way the loader does it (COPY, ids reserved up
  front) against the naive way: one ORM object per row, flushed one by one. The naive path
  is timed on a sample of 500 rows and extrapolated linearly to all establishments (and,
  for scale, to all rows of the load); both run inside transactions that are rolled back.
"""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from sqlalchemy.orm import Session

from bench._support import bench_database, drop_database
from geomap import db, demo, models, profiles
from geomap.demo import data as demo_data
from geomap.demo.synthesis import WardData

WARD = "hoa-cuong"
NAIVE_SAMPLE = 500
SCRATCH_DB = "geomap_bench_demo"


def _subset(data: WardData, keep: tuple[str, ...]) -> WardData:
    tables = {k: (v if k in keep else v.iloc[0:0]) for k, v in data.tables.items()}
    return WardData(profile=data.profile, ward={**data.ward, "slug": data.ward["slug"] + "-bench"}, tables=tables)


def _time_write(engine: sa.Engine, data: WardData) -> float:
    with engine.connect() as conn:
        trans = conn.begin()
        start = time.perf_counter()
        demo_data.write_ward(conn, data)
        elapsed = time.perf_counter() - start
        trans.rollback()
    return elapsed


def _naive_orm(engine: sa.Engine, data: WardData, ward_id: int, n: int) -> float:
    est = data.tables["establishment"].head(n)
    with engine.connect() as conn:
        trans = conn.begin()
        group_ids = [r[0] for r in conn.execute(sa.text(
            "SELECT id FROM residential_group WHERE ward_id = :w ORDER BY id"), {"w": ward_id})]
        session = Session(bind=conn)
        start = time.perf_counter()
        for i, row in enumerate(est.itertuples(index=False)):
            session.add(models.Establishment(
                ward_id=ward_id, code=f"NAIVE-{i:06d}", name=row.name, search_key=row.search_key,
                business_type=row.business_type, vsic_code=row.vsic_code, operating_status=row.operating_status,
                house_number=row.house_number, street=row.street, address=row.address,
                residential_group_id=group_ids[int(row.residential_group_idx)], tax_code=row.tax_code,
                digital_payment=list(row.digital_payment), opening_hours=row.opening_hours,
                employees=int(row.employees), opened_on=row.opened_on, closed_on=row.closed_on,
                owner_name=row.owner_name, owner_id_number=row.owner_id_number, phone=row.phone, email=row.email,
                is_synthetic=True, geom=from_shape(row.geom, srid=4326)))
            session.flush()
        elapsed = time.perf_counter() - start
        session.close()
        trans.rollback()
    return elapsed


def run() -> dict:
    url = bench_database(SCRATCH_DB, fresh=True)
    try:
        engine = db.get_engine(url)
        profile = profiles.get(WARD)
        today = dt.date.today()

        start = time.perf_counter()
        data = demo.generate(profile, scale=1.0, today=today)
        generate_s = time.perf_counter() - start

        # the loader's way for the establishment table alone, on the empty database (rolled back)
        parents = ("residential_group", "former_ward_zone", "market")
        bulk_parents = _time_write(engine, _subset(data, parents))
        bulk_with_est = _time_write(engine, _subset(data, (*parents, "establishment")))
        bulk_est_s = max(bulk_with_est - bulk_parents, 1e-6)

        start = time.perf_counter()
        counts = demo.load(engine, ward=WARD, today=today)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        demo.load(engine, ward=WARD, today=today)
        reload_s = time.perf_counter() - start
        rows = sum(counts.values())

        with engine.connect() as c:
            ward_id = c.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": WARD}).scalar_one()
        naive_sample_s = _naive_orm(engine, data, ward_id, NAIVE_SAMPLE)
        n_est = len(data.tables["establishment"])
        naive_est_s = naive_sample_s * n_est / NAIVE_SAMPLE
        naive_all_s = naive_sample_s * rows / NAIVE_SAMPLE
        engine.dispose()
        db._engine_for.cache_clear()
    finally:
        drop_database(url)

    figures = {
        "ward": WARD, "rows": rows, "establishments": n_est, "generate_s": round(generate_s, 2),
        "load_s": round(load_s, 2), "reload_s": round(reload_s, 2), "target_s": 60,
        "meets_target": load_s <= 60 and reload_s <= 60,
        "bulk_establishments_s": round(bulk_est_s, 3),
        "naive_sample_rows": NAIVE_SAMPLE, "naive_sample_s": round(naive_sample_s, 2),
        "naive_establishments_extrapolated_s": round(naive_est_s, 1),
        "naive_all_rows_extrapolated_s": round(naive_all_s, 1),
        "ratio_naive_vs_bulk_establishments": round(naive_est_s / bulk_est_s, 1),
        "ratio_naive_all_rows_vs_load": round(naive_all_s / load_s, 1),
    }
    print(f"demo load {WARD}: {rows} rows ({n_est} establishments)")
    print(f"  generation only       {generate_s:6.2f} s")
    verdict = "met" if figures["meets_target"] else "MISSED"
    print(f"  load into empty ward  {load_s:6.2f} s   (target ≤ 60 s: {verdict})")
    print(f"  reload (replace)      {reload_s:6.2f} s")
    print(f"  establishments, COPY  {bulk_est_s:6.3f} s")
    print(f"  establishments, naive ORM row by row: {naive_sample_s:.2f} s for {NAIVE_SAMPLE} rows, "
          f"extrapolated {naive_est_s:.1f} s for {n_est} -> {figures['ratio_naive_vs_bulk_establishments']}x slower")
    print(f"  every row naive (extrapolated): {naive_all_s:.1f} s -> "
          f"{figures['ratio_naive_all_rows_vs_load']}x the whole bulk load")
    return figures
