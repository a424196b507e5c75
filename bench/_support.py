"""Shared by the benchmarks: their databases in the private cluster (or GEOMAP_BENCH_SERVER_URL)."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa

from geomap import cluster, db, demo


def bench_database(name: str, fresh: bool = False) -> str:
    """URL of database ``name`` migrated to head; created if missing (dropped first when ``fresh``)."""
    server = sa.engine.make_url(os.environ.get("GEOMAP_BENCH_SERVER_URL") or cluster.ensure_running().url("postgres"))
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if fresh:
            c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                      {"n": name})
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        if not c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            try:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            except sa.exc.ProgrammingError:  # another benchmark created it a moment ago
                pass
    admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    db.migrate(url)
    return url


def demo_database(name: str, ward: str, scale: float = 1) -> str:
    """URL of bench database ``name`` with the demo loaded at ``scale`` (created and loaded once)."""
    url = bench_database(name)
    engine = db.get_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM establishment")).scalar()
        loaded = c.execute(sa.text("SELECT 1 FROM ward WHERE slug = :s"), {"s": ward}).first()
    expected = 100_000 if scale > 1 else 5_000
    if not loaded or n < expected or (scale > 1 and n > 130_000):  # a larger, older city load is replaced
        started = time.perf_counter()
        demo.load(engine, ward=ward, scale=scale)
        print(f"  loaded the demo (scale {scale}) into {name} in {time.perf_counter() - started:.0f} s")
    return url


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (scratch databases, after a run)."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                  {"n": target.database})
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
    admin.dispose()
