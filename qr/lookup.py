"""The public lookup behind a QR sticker: one indexed query, registry-public fields only.

:func:`lookup` resolves a token to a :class:`Lookup` whose ``data`` is the JSON-able view
model the public page and ``/api/q/{code}`` both render. Framework-free (the web route is a
thin adapter), so it is tested and benchmarked without HTTP. Its SQL is in :mod:`qr.data`.

What a lookup keeps between requests is a :class:`LookupState`, owned by the app that serves
the lookups (``geomap.web.create_app`` keeps one on ``app.state.qr``): the status memo, the
source's columns and the rendered pages, each with an explicit lifetime and a ``clear()``.
Nothing here is process-wide.

Privacy by construction: the query never reads the layer's ``personal`` columns; the
establishment part of the view model is built by looping over the ``establishments``
layer's ``public_fields`` after the layer's own ``derive`` (licence / food-safety status),
so a field the registry does not mark public cannot reach a phone. Database ids never
leave this module.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.engine import Connection, Engine

import layers
from geomap import db, status
from qr import codes, data
from qr.scans import ScanCounter

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: the layer whose public fields a lookup shows, and the one for a stall's market
ESTABLISHMENT_LAYER = "establishments"
MARKET_LAYER = "markets"


@dataclass(frozen=True)
class Lookup:
    """Outcome of one lookup: ``valid`` (200), ``revoked`` (410) or ``unknown`` (404)."""

    status: str
    data: dict[str, Any] = field(default_factory=dict)
    #: the latest change of what the page shows (HTTP Last-Modified)
    last_modified: dt.datetime | None = None
    #: drawing of the small map (pure data; the template turns it into inline SVG)
    map: dict[str, Any] | None = None

    @property
    def http_status(self) -> int:
        return {"valid": 200, "revoked": 410}.get(self.status, 404)


def establishment_layer() -> layers.Layer:
    return layers.get(ESTABLISHMENT_LAYER)


def stored_public_columns(layer: layers.Layer, have: set[str] | list[str]) -> tuple[str, ...]:
    """The layer's stored, non-personal fields that its source has (``have``: the source's columns).

    Exactly what the public page and the status rules read: the registry declares every column
    the rules use (revocation dates included), so a lookup reads no other column. Fewer columns
    is also less per-request work in the driver (about half the view's width).
    """
    have = set(have)
    return tuple(f.name for f in layer.fields
                 if not f.derived and not f.personal and f.name in have and f.name != "geom")


def lookup(conn: Connection, token: str, state: LookupState | None = None) -> Lookup:
    """Resolve ``token`` (already normalised by :func:`qr.codes.normalize_token`) with one query.

    ``state``: the serving app's :class:`LookupState` (memoised statuses, known columns); without
    one the lookup reads the source's columns and derives the statuses afresh (a few ms more).
    """
    layer = establishment_layer()
    market_layer = layers.get(MARKET_LAYER)
    columns = state.columns(conn, layer) if state is not None else \
        stored_public_columns(layer, data.source_columns(conn, layer.source))
    market_fields = tuple(f.name for f in market_layer.public_fields)
    row = data.lookup_row(conn, token, layer.source, columns, market_fields, layer.public_condition('o."id"'))
    if row is None:
        return Lookup("unknown")
    code = {"short_code": row["short_code"], "version": row["version"], "target_type": row["target_type"],
            "issued_at": row["issued_at"]}
    if row["revoked_at"] is not None:
        code.update(revoked_at=row["revoked_at"], revoked_reason=row["revoked_reason"])
        return Lookup("revoked", {"status": "revoked", "code": code}, last_modified=row["revoked_at"])

    establishment = None
    if row["has_establishment"]:
        record = {c: row[f"e__{c}"] for c in columns}
        memo = state.statuses if state is not None else StatusMemo()
        derived = memo.derive(layer, [record])[0]
        establishment = {f.name: _plain(derived[f.name] if f.derived else record.get(f.name))
                         for f in layer.public_fields}
        if state is not None:
            memo.prime_soon(conn.engine, layer, columns)
    stall = None
    if row["target_type"] == "stall":
        stall = {"stall_no": row["stall_no"],
                 "market": {f: _plain(row[f"m__{f}"]) for f in market_fields}}
        if establishment is not None:  # the stall's own number and market, not the trader's first stall
            establishment["stall_no"] = row["stall_no"]
    updated = _data_updated(establishment, row["issued_at"])
    synthetic = bool((establishment or {}).get("is_synthetic")) or bool(
        (stall or {}).get("market", {}).get("is_synthetic"))
    view = {
        "status": "valid",
        "code": code,
        "ward": row["ward_name"],
        "establishment": establishment,
        "stall": stall,
        "location": None if row["lat"] is None else {"lat": round(row["lat"], 6), "lon": round(row["lon"], 6)},
        "data_updated": updated,
        "synthetic": synthetic,
    }
    return Lookup("valid", view, last_modified=updated, map=_map(row))


class StatusMemo:
    """The layer's ``derive`` (statuses) memoised on the exact record and today's date.

    The status rules are vectorised pandas code: cheap per 10,000 rows, about 10 ms per
    single row. The memo keeps the rules in one place (``layer.derive``) and makes a lookup
    cost a dictionary access: a background thread primes it once per database with one
    vectorised pass over the source, and any record that changed since (different values,
    so a different key) or a new day is derived on its own and remembered. A stale status
    can therefore never be shown: the key is the whole non-personal record plus the date.
    """

    def __init__(self, max_entries: int = 250_000) -> None:
        self.max_entries = max_entries
        self._memo: dict[tuple, dict[str, Any]] = {}
        self._day: dt.date | None = None
        self._primed: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _key(day: dt.date, record: dict[str, Any]) -> tuple:
        return (day, *(tuple(v) if isinstance(v, list) else v for v in record.values()))

    def derive(self, layer: layers.Layer, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Derived fields of each record (``{name: value}``), from the memo or by ``layer.derive``."""
        names = [f.name for f in layer.fields if f.derived]
        if layer.derive is None or not names:
            return [{} for _ in records]
        day = status.today()  # the date geomap.status uses by default
        if day != self._day:
            self._memo, self._day = {}, day
        memo = self._memo  # a snapshot: other threads may replace the dict meanwhile
        keys = [self._key(day, r) for r in records]
        found = {k: memo[k] for k in keys if k in memo}
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            frame = layer.derive(pd.DataFrame([records[i] for i in missing]))
            for i, value in zip(missing, frame[names].to_dict("records"), strict=True):
                found[keys[i]] = value
            if len(memo) + len(missing) > self.max_entries:
                memo = self._memo = {}
            memo.update((keys[i], found[keys[i]]) for i in missing)
        return [found[k] for k in keys]

    def mark_primed(self, engine: Any) -> bool:
        """Note that ``engine``'s database is (being) primed; False when it already was."""
        url = engine.url.render_as_string(hide_password=True)
        with self._lock:
            if url in self._primed:
                return False
            self._primed.add(url)
            return True

    def prime_soon(self, engine: Any, layer: layers.Layer, columns: tuple[str, ...]) -> None:
        """Once per database and memo: derive every record of the source in a background thread."""
        if not self.mark_primed(engine):
            return
        threading.Thread(target=self.prime_now, args=(engine, layer, columns), daemon=True,
                         name="qr-status-prime").start()

    def prime_now(self, engine: Any, layer: layers.Layer, columns: tuple[str, ...]) -> None:
        """Derive every record of the source (up to half the memo's size) now, in this thread."""
        try:
            for chunk in data.source_records(engine, layer.source, columns, self.max_entries // 2):
                self.derive(layer, chunk)
        except Exception:  # priming is an optimisation; lookups derive on their own when it fails
            return

    def clear(self) -> None:
        self._memo, self._day = {}, None
        self._primed.clear()


class PageCache:
    """Rendered lookups kept ``ttl`` seconds (least recently used dropped past ``max_entries``).

    Values are whatever the adapter renders; the adapter re-checks a code's state
    (:func:`qr.data.code_state`) before reusing its page, so only the establishment's data can
    be up to ``ttl`` old, never the code's validity. ``ttl`` 0 turns the cache off.
    """

    def __init__(self, ttl: float, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable, now: float | None = None) -> Any | None:
        """The value under ``key`` while it is fresh, else None (an expired value is dropped)."""
        if self.ttl <= 0:
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] < (time.monotonic() if now is None else now):
            self._entries.pop(key, None)
            return None
        return found[1]

    def put(self, key: Hashable, value: Any, now: float | None = None) -> None:
        if self.ttl <= 0:
            return
        self._entries[key] = ((time.monotonic() if now is None else now) + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


class LookupState:
    """What the public lookup keeps between requests, owned by the app that serves it.

    - ``statuses``: the :class:`StatusMemo` (keyed on the whole record and the day, so never stale;
      primed once per database in the background);
    - the source's columns (:meth:`columns`), re-read every ``columns_ttl`` seconds (a migration
      that adds a public column shows without a restart);
    - ``pages``: the rendered responses (:class:`PageCache`, ``GEOMAP_QR_CACHE_SECONDS``);
    - ``engine``: the lookup engine (:func:`qr.data.lookup_engine`), built by the adapter on first use;
      ``replica_engine`` the same on the read replica (:mod:`geomap.replica`) when reads go there;
    - ``scans``: the scans counted and not yet added to the database (:class:`qr.scans.ScanCounter`,
      ``GEOMAP_QR_SCAN_COUNT``, ``GEOMAP_QR_SCAN_FLUSH_SECONDS``; flushed by the app's lifespan).

    :meth:`clear` forgets the caches (the engine is disposed by :meth:`close`; counts are not a cache).
    """

    def __init__(self, page_ttl: float = 30.0, *, max_pages: int = 50_000, columns_ttl: float = 600.0,
                 max_statuses: int = 250_000, scans: ScanCounter | None = None) -> None:
        self.scans = scans if scans is not None else ScanCounter()
        self.statuses = StatusMemo(max_statuses)
        self.pages = PageCache(page_ttl, max_pages)
        self.columns_ttl = columns_ttl
        self._columns: dict[str, tuple[float, tuple[str, ...]]] = {}
        self.engine: Engine | None = None
        self.replica_engine: Engine | None = None

    @classmethod
    def from_env(cls) -> LookupState:
        """Settings from the environment: ``GEOMAP_QR_CACHE_SECONDS`` (default 30; 0 disables the page cache)."""
        return cls(float(os.environ.get("GEOMAP_QR_CACHE_SECONDS", "30")), scans=ScanCounter.from_env())

    def columns(self, bind: db.Bind, layer: layers.Layer) -> tuple[str, ...]:
        """:func:`stored_public_columns` of ``layer``, read at most once every ``columns_ttl`` seconds."""
        now = time.monotonic()
        found = self._columns.get(layer.name)
        if found is None or found[0] < now:
            found = (now + self.columns_ttl, stored_public_columns(layer, data.source_columns(bind, layer.source)))
            self._columns[layer.name] = found
        return found[1]

    def prime(self, engine: Engine) -> None:
        """Fill the status memo for every record of ``engine``'s database now (the service's start-up)."""
        layer = establishment_layer()
        columns = self.columns(engine, layer)
        self.statuses.mark_primed(engine)
        self.statuses.prime_now(engine, layer, columns)

    def clear(self) -> None:
        self.pages.clear()
        self._columns.clear()
        self.statuses.clear()

    def close(self) -> None:
        """Dispose of the lookup engines (the app's shutdown)."""
        for engine in (self.engine, self.replica_engine):
            if engine is not None:
                engine.dispose()


def _plain(value: Any) -> Any:
    """Plain JSON-able Python values (no numpy / pandas scalars, NaN/NaT as None)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
        if isinstance(value, list):
            return [_plain(v) for v in value]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _data_updated(establishment: dict[str, Any] | None, issued_at: dt.datetime) -> dt.datetime:
    """The latest date among the record's change, its licences, its last inspection and the code."""
    moments: list[dt.datetime] = [issued_at]
    for f in establishment_layer().public_fields:
        value = (establishment or {}).get(f.name)
        if f.kind == "datetime" and isinstance(value, dt.datetime):
            moments.append(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
        elif f.kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            today = dt.datetime.now(LOCAL_TZ).date()
            if value <= today:  # expiry dates lie ahead; they are not changes
                moments.append(dt.datetime.combine(value, dt.time(), LOCAL_TZ))
    return max(moments)


def _map(row: Any) -> dict[str, Any] | None:
    """Coordinates (local metric grid, y up) for a small inline-SVG map of the point in its context."""
    if row["x_m"] is None:
        return None
    x, y = float(row["x_m"]), float(row["y_m"])
    if row["ctx_svg"]:
        xmin, ymin = min(float(row["ctx_xmin"]), x), min(float(row["ctx_ymin"]), y)
        xmax, ymax = max(float(row["ctx_xmax"]), x), max(float(row["ctx_ymax"]), y)
    else:
        xmin, ymin, xmax, ymax = x - 150, y - 100, x + 150, y + 100
    width, height = max(xmax - xmin, 60.0), max(ymax - ymin, 40.0)
    pad = 0.08 * max(width, height)
    return {
        "viewbox": f"{xmin - pad:.0f} {-(ymax + pad):.0f} {width + 2 * pad:.0f} {height + 2 * pad:.0f}",
        "path": row["ctx_svg"],
        "cx": f"{x:.0f}", "cy": f"{-y:.0f}",
        "r": f"{max(width, height) / 40:.1f}",
        "stroke": f"{max(width, height) / 200:.1f}",
        "context_name": row["ctx_name"],
    }


def is_wellformed(code: str) -> str | None:
    """The canonical token or None; no I/O (the route rejects malformed codes before the pool)."""
    return codes.normalize_token(code)
