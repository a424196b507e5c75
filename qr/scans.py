"""QR scan statistics: scans counted in memory per worker, added to PostgreSQL in aggregate.

Counting (:class:`ScanCounter`, one per app on ``app.state.qr.scans``): the public route calls
:meth:`ScanCounter.count` with the normalised token (None for a malformed code) and the outcome
(``valid``, ``revoked``, ``unknown``, ``malformed``). That is a dictionary increment under a lock:
no database write in a lookup. A background thread adds the aggregated counts to ``qr_scan_day``
every ``GEOMAP_QR_SCAN_FLUSH_SECONDS`` (default 60) and at shutdown (:func:`qr.data.add_scans`, an
UPSERT adding counts, so any number of workers add up). ``GEOMAP_QR_SCAN_COUNT=0`` turns counting off.

Privacy: what is kept is (local day, code, outcome, count). ``code`` is the normalised token of a
well-formed code (16 characters of ``a-z2-7``: an issued code or a forged one), never the raw
path; a malformed code is counted under ``''``, so no text a user typed is stored. No IP address,
user agent, time of day or anything else about the person scanning is ever kept, in memory or in
the table. Past :data:`MAX_KEYS` distinct codes between two flushes (a flood of random forged
codes), further new codes are counted under ``''`` with their outcome: memory and rows stay bounded.

Reading (for the staff page and ``geomap qr scans``): :func:`per_day`, :func:`top_establishments`,
:func:`per_group` and :func:`alerts` (unknown or revoked codes scanned at least ``min_scans`` times in
the last ``days`` days, with the citizen reports that named them and where they were made).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from geomap import db
from qr import codes, data

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OUTCOMES = ("valid", "revoked", "unknown", "malformed")
#: distinct (day, code, outcome) keys kept between two flushes; past it new codes count under ''
MAX_KEYS = 20_000
#: the alert list: codes scanned at least this many times within ALERT_DAYS days
ALERT_MIN_SCANS = 5
ALERT_DAYS = 7


class ScanCounter:
    """Scans of one app (one worker) not yet added to the database; see the module's docstring."""

    def __init__(self, *, enabled: bool = True, flush_seconds: float = 60.0, max_keys: int = MAX_KEYS) -> None:
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.max_keys = max_keys
        self._counts: dict[tuple[dt.date, str, str], int] = {}
        self._lock = threading.Lock()
        self._day: dt.date = dt.date.min
        self._day_ends = 0.0  # epoch seconds at which self._day ends (local midnight)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls) -> ScanCounter:
        return cls(enabled=os.environ.get("GEOMAP_QR_SCAN_COUNT", "1") != "0",
                   flush_seconds=float(os.environ.get("GEOMAP_QR_SCAN_FLUSH_SECONDS", "60")))

    def _today(self) -> dt.date:
        now = time.time()
        if now >= self._day_ends:
            local = dt.datetime.fromtimestamp(now, LOCAL_TZ)
            self._day = local.date()
            midnight = dt.datetime.combine(self._day + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
            self._day_ends = midnight.timestamp()
        return self._day

    def count(self, token: str | None, outcome: str) -> None:
        """One scan of ``token`` (normalised; None when malformed) with its ``outcome``."""
        if not self.enabled:
            return
        code = token if token is not None and codes.normalize_token(token) == token else ""
        key = (self._today(), code, outcome)
        with self._lock:
            counts = self._counts
            if key not in counts and len(counts) >= self.max_keys:
                key = (key[0], "", outcome)
            counts[key] = counts.get(key, 0) + 1

    def pending(self) -> dict[tuple[dt.date, str, str], int]:
        """A copy of the counts not yet flushed."""
        with self._lock:
            return dict(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def flush(self, bind: db.Bind) -> int:
        """Add the pending counts to ``qr_scan_day`` (one UPSERT); rows written. On failure the counts are
        kept for the next flush and the error raised."""
        with self._lock:
            taken, self._counts = self._counts, {}
        if not taken:
            return 0
        try:
            data.add_scans(bind, sorted((day, code, outcome, n) for (day, code, outcome), n in taken.items()))
        except Exception:
            with self._lock:
                for key, n in taken.items():
                    self._counts[key] = self._counts.get(key, 0) + n
            raise
        return len(taken)

    def start(self, bind: Callable[[], db.Bind]) -> None:
        """Flush every ``flush_seconds`` in a daemon thread (``bind()`` gives the engine to write with)."""
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.flush_seconds):
                try:
                    self.flush(bind())
                except Exception:  # the database may be down: the counts wait for the next flush
                    pass

        self._thread = threading.Thread(target=loop, daemon=True, name="qr-scan-flush")
        self._thread.start()

    def stop(self, bind: Callable[[], db.Bind]) -> None:
        """Stop the flushing thread and flush what is left (the app's shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._counts:
            try:
                self.flush(bind())
            except Exception:  # the database is down at shutdown: these counts are lost, nothing else
                pass


# --- reading ------------------------------------------------------------------------------------


def _since(days: int, today: dt.date | None = None) -> dt.date:
    today = today or dt.datetime.now(LOCAL_TZ).date()
    return today - dt.timedelta(days=max(int(days), 1) - 1)


def per_day(bind: db.Bind, ward_id: int, days: int = 30, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Scans per day and outcome over the last ``days`` days: valid and revoked codes of the ward's
    establishments and stalls, and every unknown or malformed code (they belong to no ward)."""
    return data.scans_per_day(bind, ward_id, _since(days, today))


def top_establishments(bind: db.Bind, ward_id: int, days: int = 30, *, limit: int = 20,
                       today: dt.date | None = None) -> list[dict[str, Any]]:
    """The ward's establishments (and stalls) by scans over the last ``days`` days, most scanned first."""
    return data.scans_per_establishment(bind, ward_id, _since(days, today), limit)


def per_group(bind: db.Bind, ward_id: int, days: int = 30, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Scans of the ward's codes per residential group over the last ``days`` days (group of the
    establishment, or of the stall's trader; ``None`` when it has none)."""
    return data.scans_per_group(bind, ward_id, _since(days, today))


def alerts(bind: db.Bind, ward_id: int, *, min_scans: int = ALERT_MIN_SCANS, days: int = ALERT_DAYS,
           today: dt.date | None = None) -> list[dict[str, Any]]:
    """Codes that do not exist (forged) or were revoked (the ward's) but were scanned at least
    ``min_scans`` times in the last ``days`` days, most scanned first; each with ``reports``: the
    citizen reports naming the code (its token or short code in the text, as the revoked page's
    report and the fake-sticker report write it), each with its place (lat/lon rounded to 4 decimals,
    about 10 m) and residential group."""
    rows = data.scan_alerts(bind, ward_id, _since(days, today), max(int(min_scans), 1))
    found = data.reports_naming_codes(bind, [r["code"] for r in rows], [r["short_code"] for r in rows])
    for r in rows:
        r["reports"] = [p for p in found if p["named"] in (r["code"], r["short_code"])]
    return rows


def overview(bind: db.Bind, ward_id: int, days: int = 30, *, min_scans: int = ALERT_MIN_SCANS,
             today: dt.date | None = None) -> dict[str, list[dict[str, Any]]]:
    """Everything the staff page and ``geomap qr scans`` show: ``per_day``, ``establishments``,
    ``groups`` (over the last ``days`` days) and ``alerts`` (the last :data:`ALERT_DAYS` days)."""
    return {"per_day": per_day(bind, ward_id, days, today=today),
            "establishments": top_establishments(bind, ward_id, days, today=today),
            "groups": per_group(bind, ward_id, days, today=today),
            "alerts": alerts(bind, ward_id, min_scans=min_scans, today=today)}
