"""The public service's own SQL: the rate-limit counter shared by every worker (table ``rate_hit``,
UNLOGGED, migration 0016_edge_limits). The policy is :mod:`geomap.web.ratelimit`."""

from __future__ import annotations

import sqlalchemy as sa

from geomap import db


def add_hits(bind: db.Bind, limiter: str, client: str, window: int, hits: int, *,
             forget_before: int | None = None) -> int:
    """Add ``hits`` to the client's count in ``window`` and return the total across workers (one UPSERT;
    ``forget_before``: also drop the windows older than that one, in the same transaction)."""
    with db.transaction(bind) as conn:
        if forget_before is not None:
            conn.execute(sa.text("DELETE FROM rate_hit WHERE win < :w"), {"w": forget_before})
        return int(db.scalar(conn, "INSERT INTO rate_hit AS r (limiter, client, win, hits) VALUES (:l, :c, :w, :n) "
                                   "ON CONFLICT (limiter, client, win) DO UPDATE SET hits = r.hits + EXCLUDED.hits "
                                   "RETURNING r.hits", {"l": limiter, "c": client, "w": window, "n": hits}))
