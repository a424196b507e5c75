"""Shared by the benchmarks: their databases in the private cluster (or GEOMAP_BENCH_SERVER_URL)."""

from __future__ import annotations

import os

import sqlalchemy as sa

from geomap import cluster, db


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


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (scratch databases, after a run)."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                  {"n": target.database})
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
    admin.dispose()
