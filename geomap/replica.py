"""Read replicas: where the public service reads, and when it reads from the primary instead.

With ``GEOMAP_READ_DATABASE_URL`` set (a PostgreSQL streaming replica of the primary, made with
``pg_basebackup -R``; :func:`geomap.cluster.start_replica` makes one on this machine), the public service
reads its QR pages, Open311 requests and OGC features, tiles and documents there
(:func:`geomap.web.deps.get_read_engine`); every write (reports, Open311 requests, sign-in and sessions,
rate-limit counters, QR scan counts) and every read that must see the visitor's own write (a report's
tracking page right after sending it, the field app) stays on the primary (:func:`geomap.web.deps.get_engine`).

One :class:`ReadRouter` per app (``app.state.reads``) decides, from a check its background thread makes
every ``GEOMAP_READ_CHECK_SECONDS`` (1 s; never a query per request):

- the replica answers and is at most ``GEOMAP_READ_MAX_LAG_S`` (5 s) behind: reads go there;
- it does not answer, or a read on it lost its connection (:meth:`ReadRouter.failed`): reads go to the
  primary; one warning when the outage starts, one line when the replica answers again;
- it is further behind than the bound: reads go to the primary; one warning, one line when it caught up.

A read that fails on the replica because it went away, or because the replica cancelled it to replay the
primary's changes ("conflict with recovery"), runs once more on the primary (:func:`fallback_reason`;
the QR lookup in its adapter, OGC and Open311 reads through :func:`geomap.web.deps.replica_fallback`).
Until the first check has answered, reads go to the primary.

**Lag** is measured against the primary's own progress, not a clock: each check notes the primary's
transaction horizon (the first transaction id not yet completed, ``pg_current_snapshot()``'s xmax) with the
time it was first seen, and the replica's horizon (which moves as it replays commits); the lag is the age of
the oldest noted primary horizon the replica has not reached (0 when it has replayed every transaction the
primary had completed at the last check). So a replica whose replay is paused, or whose stream broke while
the primary still takes writes, is seen falling behind, and a quiet primary raises no false alarm: neither
``now() - pg_last_xact_replay_timestamp()`` (after a quiet hour) nor WAL positions (an idle primary's last
record may sit half-sent until the next flush) would do. The resolution is one check interval; a long
transaction that commits after later ones does not move the horizon, so its own delay is not seen. While the
primary cannot be reached the lag is unknown: the replica keeps serving reads (the primary's writes fail
anyway) and the log says so.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geomap import config, db

log = logging.getLogger(__name__)

#: horizons remembered while the replica is behind (one per check: hours at one check a second)
MAX_SAMPLES = 20_000


def probe_engine(url: str | sa.URL) -> Engine:
    """A one-connection engine for the checks: autocommit, a 2 s connect timeout, statements cut at 1 s, so a
    server that hangs delays the next check, never a request."""
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=1, max_overflow=0,
                            pool_timeout=2, pool_reset_on_return=None,
                            connect_args={"options": "-c statement_timeout=1000", "connect_timeout": 2})


def where(url: str | sa.URL) -> str:
    """The server of ``url`` for a log line (host, port, database; never the password)."""
    u = make_url(url)
    return f"{u.host or 'localhost'}:{u.port or 5432}/{u.database}"


@dataclass(frozen=True)
class Check:
    """One check's finding: ``state`` is ``replica`` (read there), ``down``, ``behind`` or ``unchecked`` (before the
    first check: read from the primary)."""

    state: str
    lag_s: float | None
    reason: str = ""


def _kind(found: Check) -> tuple[str, str]:
    """What a log line is about: the state, and for the replica why it is read (the lag unknown, not a standby)."""
    return found.state, found.reason if found.state == "replica" else ""


class LagMeter:
    """The replica's lag in seconds from transaction horizons: see the module's **Lag**."""

    def __init__(self) -> None:
        self._seen: collections.deque[tuple[float, int]] = collections.deque(maxlen=MAX_SAMPLES)

    def note_primary(self, now: float, horizon: int) -> None:
        if not self._seen or horizon > self._seen[-1][1]:
            self._seen.append((now, horizon))

    def lag(self, now: float, replayed: int) -> float:
        while self._seen and self._seen[0][1] <= replayed:
            self._seen.popleft()
        return now - self._seen[0][0] if self._seen else 0.0


class ReadRouter:
    """Which server the public service reads from now (the primary when no replica is configured)."""

    def __init__(self, replica_url: str | None, primary_url: Callable[[], str], *,
                 max_lag_s: float | None = None, check_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.replica_url = replica_url
        self._primary_url = primary_url
        self.max_lag_s = config.READ_MAX_LAG_S if max_lag_s is None else max_lag_s
        self.check_s = config.READ_CHECK_S if check_s is None else check_s
        self.clock = clock
        self.last = Check("unchecked", None)
        self._meter = LagMeter()
        self._probes: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, replica_url: str | None, primary_url: Callable[[], str]) -> ReadRouter:
        return cls(replica_url or config.READ_DATABASE_URL, primary_url)

    # --- the decision, per request: no I/O --------------------------------------------------

    def use_replica(self) -> bool:
        """Whether reads go to the replica now (starts the checks on first use)."""
        if self.replica_url is None:
            return False
        if self._thread is None:
            self.start()
        return self.last.state == "replica"

    def replica_engine(self) -> Engine:
        """The replica's shared pool (:func:`geomap.db.pooled_engine`)."""
        assert self.replica_url is not None
        return db.pooled_engine(self.replica_url)

    def failed(self, exc: BaseException) -> None:
        """A read on the replica lost its connection: read from the primary until a check finds it answering."""
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        self._settle(Check("down", None, lines[0][:300] if lines else type(exc).__name__))

    def status(self) -> dict[str, object]:
        """For ``/health``: where reads go and why."""
        if self.replica_url is None:
            return {}
        self.use_replica()  # starts the checks if nothing has yet
        found = self.last
        out: dict[str, object] = {"reads": "replica" if found.state == "replica" else "primary",
                                  "replica": found.state}
        if found.lag_s is not None:
            out["replica_lag_s"] = round(found.lag_s, 3)
        return out

    # --- the checks: a background thread ----------------------------------------------------

    def check(self) -> Check:
        """Check the replica once (and the primary's position), settle where reads go, and return the finding."""
        now = self.clock()
        try:
            self._meter.note_primary(now, db.transactions_done(self._probe(self._primary_url())))
            primary_known = True
        except Exception:  # the primary is down: the replica's lag cannot be told
            primary_known = False
        try:
            with self._probe(self.replica_url).connect() as conn:
                in_recovery, replayed = db.is_standby(conn), db.transactions_done(conn)
        except Exception as exc:
            lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            return self._settle(Check("down", None, lines[0][:300] if lines else type(exc).__name__))
        if not in_recovery:
            return self._settle(Check("replica", 0.0, "not a standby: it takes no replicated writes"))
        if not primary_known:
            return self._settle(Check("replica", None, "the primary does not answer: lag unknown"))
        lag = self._meter.lag(now, replayed)
        if lag > self.max_lag_s:
            return self._settle(Check("behind", lag, f"{lag:.1f} s behind the primary (bound {self.max_lag_s:g} s)"))
        return self._settle(Check("replica", lag))

    def _probe(self, url: str | None) -> Engine:
        assert url is not None
        engine = self._probes.get(url)
        if engine is None:
            engine = self._probes[url] = probe_engine(url)
        return engine

    def _settle(self, found: Check) -> Check:
        with self._lock:
            before, self.last = self.last, found
        if _kind(found) != _kind(before):  # once per change: an outage is one line, not one per check or request
            self._log(before, found)
        return found

    def _log(self, before: Check, found: Check) -> None:
        server = where(self.replica_url or "")
        if found.state == "down":
            if before.state == "unchecked":
                log.warning("read replica %s does not answer (%s): reading from the primary until it does",
                            server, found.reason)
            else:
                log.warning("read replica %s stopped answering (%s): reading from the primary until it answers",
                            server, found.reason)
        elif found.state == "behind":
            log.warning("read replica %s is %s: reading from the primary until it catches up", server, found.reason)
        elif before.state == "replica":  # still read there; only whether its lag can be told changed
            log.warning("read replica %s: %s; reading from it", server,
                        found.reason or "the primary answers again, the lag is measured again")
        elif before.state == "unchecked":
            log.info("read replica %s answers: reading from it%s", server,
                     f" ({found.reason})" if found.reason else "")
        else:
            log.warning("read replica %s %s: reading from it again%s", server,
                        "caught up" if before.state == "behind" else "answers again",
                        f" ({found.reason})" if found.reason else "")

    def start(self) -> None:
        """Check now and then every ``check_s`` seconds in a daemon thread."""
        with self._lock:
            if self._thread is not None or self.replica_url is None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="read-replica-check")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a check must never end the loop (a bug is logged with its traceback)
                log.exception("read replica check failed")
            self._stop.wait(self.check_s)

    def close(self) -> None:
        """Stop the checks and close their connections (the app's shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for engine in self._probes.values():
            engine.dispose()
        self._probes.clear()


def fallback_reason(exc: BaseException) -> str | None:
    """Why a read that failed on the replica should run again on the primary, or None when it should not.

    ``lost``: the replica went away (the connection dropped or cannot open); ``conflict``: the replica cancelled
    the query to replay the primary's changes (SQLSTATE 40001, "conflict with recovery"). Any other error
    would fail on the primary too.
    """
    if isinstance(exc, sa.exc.DBAPIError) and getattr(exc.orig, "sqlstate", None) == "40001" \
            and "recovery" in str(exc.orig):
        return "conflict"
    from geomap.errors import DatabaseUnavailable

    return "lost" if isinstance(db.readable_error(exc), DatabaseUnavailable) else None
