"""The public service's own SQL: the rate-limit counter shared by every worker (table ``rate_hit``,
UNLOGGED, migration 0016_edge_limits). The policy is :mod:`geomap.web.ratelimit`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geomap import db


def counter_engine(url: str | sa.URL) -> Engine:
    """The counter's own small engine: autocommit and no pre-ping, so a sync is one round trip (the shared
    engine's ping, BEGIN and COMMIT would make it four); a statement over 1 s is cancelled, a connection
    that cannot open within 2 s fails (the worker's bucket then decides alone)."""
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=2, max_overflow=2,
                            pool_timeout=1, pool_reset_on_return=None,
                            connect_args={"options": "-c statement_timeout=1000", "connect_timeout": 2})


def add_hits(bind: db.Bind, limiter: str, client: str, window: int, hits: int, *,
             forget_before: int | None = None) -> int:
    """Add ``hits`` to the client's count in ``window`` and return the total across workers (one UPSERT,
    one statement; ``forget_before``: first drop the windows older than that one, a second statement)."""
    with db.read(bind) as conn:
        if forget_before is not None:
            conn.execute(sa.text("DELETE FROM rate_hit WHERE win < :w"), {"w": forget_before})
        return int(conn.execute(sa.text(
            "INSERT INTO rate_hit AS r (limiter, client, win, hits) VALUES (:l, :c, :w, :n) "
            "ON CONFLICT (limiter, client, win) DO UPDATE SET hits = r.hits + EXCLUDED.hits RETURNING r.hits"),
            {"l": limiter, "c": client, "w": window, "n": hits}).scalar_one())
