"""The public lookup behind a QR sticker: one indexed query, registry-public fields only.

:func:`lookup` resolves a token to a :class:`Lookup` whose ``data`` is the JSON-able view
model the public page and ``/api/q/{code}`` both render. Framework-free (the web route is a
thin adapter), so it is tested and benchmarked without HTTP.

Privacy by construction: the query never reads the layer's ``personal`` columns; the
establishment part of the view model is built by looping over the ``establishments``
layer's ``public_fields`` after the layer's own ``derive`` (licence / food-safety status),
so a field the registry does not mark public cannot reach a phone. Database ids never
leave this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection

import layers
from geomap import status
from qr import codes

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: the layer whose public fields a lookup shows, and the one for a stall's market
ESTABLISHMENT_LAYER = "establishments"
MARKET_LAYER = "markets"
#: tolerance (degrees) used to thin the context polygon of the small map
_SIMPLIFY_DEG = 0.00002


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


_COLUMNS: dict[str, tuple[str, ...]] = {}


def _source_columns(conn: Connection, layer: layers.Layer) -> tuple[str, ...]:
    """The layer's stored, non-personal fields that its source has (checked once per process).

    Exactly what the public page and the status rules read: the registry declares every column
    the rules use (revocation dates included), so a lookup reads no other column. Fewer columns
    is also less per-request work in the driver (about half the view's width).
    """
    if layer.name not in _COLUMNS:
        have = set(conn.execute(sa.text(f'SELECT * FROM "{layer.source}" LIMIT 0')).keys())
        _COLUMNS[layer.name] = tuple(f.name for f in layer.fields
                                     if not f.derived and not f.personal and f.name in have and f.name != "geom")
    return _COLUMNS[layer.name]


@functools.lru_cache(maxsize=8)
def _lookup_sql(columns: tuple[str, ...], source: str, market_fields: tuple[str, ...]) -> str:
    """The lookup query in the driver's parameter style (``%(token)s``): it runs on the raw cursor."""
    est = ", ".join(f'o."{c}" AS "e__{c}"' for c in columns)
    mkt = ", ".join(f'sm."{c}" AS "m__{c}"' for c in market_fields)
    return f"""
SELECT q.token, q.short_code, q.target_type, q.version, q.issued_at, q.revoked_at, q.revoked_reason,
       (o.id IS NOT NULL) AS has_establishment, s.stall_no AS stall_no, {mkt},
       w.name AS ward_name,
       ST_Y(g.pt) AS lat, ST_X(g.pt) AS lon, ST_X(g.pt_l) AS x_m, ST_Y(g.pt_l) AS y_m,
       ST_AsSVG(g.ctx_l, 0, 0) AS ctx_svg, ST_XMin(g.ctx_l) AS ctx_xmin, ST_YMin(g.ctx_l) AS ctx_ymin,
       ST_XMax(g.ctx_l) AS ctx_xmax, ST_YMax(g.ctx_l) AS ctx_ymax, g.ctx_name,
       {est}
FROM qr_code q
LEFT JOIN stall s ON s.id = q.stall_id
LEFT JOIN market sm ON sm.id = s.market_id
LEFT JOIN "{source}" o ON o.id = COALESCE(q.establishment_id, s.establishment_id)
LEFT JOIN LATERAL (SELECT name, local_srid FROM ward
                   WHERE id = COALESCE(o.ward_id, sm.ward_id)) w ON true
LEFT JOIN market om ON om.id = o.market_id
LEFT JOIN residential_group rg ON rg.id = o.residential_group_id
LEFT JOIN LATERAL (
    SELECT p.pt, ST_Transform(p.pt, w.local_srid) AS pt_l,
           ST_Transform(ST_SimplifyPreserveTopology(p.ctx, {_SIMPLIFY_DEG}), w.local_srid) AS ctx_l, p.ctx_name
    FROM (SELECT COALESCE(s.geom, o.geom, sm.geom) AS pt,
                 COALESCE(sm.footprint, om.footprint, rg.geom) AS ctx,
                 CASE WHEN COALESCE(sm.footprint, om.footprint) IS NOT NULL THEN COALESCE(sm.name, om.name)
                      ELSE rg.name END AS ctx_name) p
) g ON true
WHERE q.token = %(token)s
"""


def lookup(conn: Connection, token: str) -> Lookup:
    """Resolve ``token`` (already normalised by :func:`qr.codes.normalize_token`) with one query."""
    layer = establishment_layer()
    market_layer = layers.get(MARKET_LAYER)
    columns = _source_columns(conn, layer)
    market_fields = tuple(f.name for f in market_layer.public_fields)
    # the hottest query of the public service: on the driver's cursor, skipping SQLAlchemy's result set-up
    # (a third of a lookup's CPU); same connection, so same transaction and isolation
    sql, params = _lookup_sql(columns, layer.source, market_fields), {"token": token}
    raw = conn.connection.driver_connection
    try:
        with raw.cursor(row_factory=dict_row) as cursor:
            row = cursor.execute(sql, params).fetchone()
    except psycopg.Error as exc:  # as SQLAlchemy would raise it, a lost connection invalidated (callers retry)
        if raw.broken:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error, connection_invalidated=raw.broken) from exc
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
        derived = STATUSES.derive(layer, [record])[0]
        establishment = {f.name: _plain(derived[f.name] if f.derived else record.get(f.name))
                         for f in layer.public_fields}
        STATUSES.prime_soon(conn.engine, layer, columns)
    stall = None
    if row["target_type"] == "stall":
        stall = {"stall_no": row["stall_no"],
                 "market": {f: _plain(row[f"m__{f}"]) for f in market_fields}}
        if establishment is not None:  # the stall's own number and market, not the trader's first stall
            establishment["stall_no"] = row["stall_no"]
    updated = _data_updated(establishment, row["issued_at"])
    synthetic = bool((establishment or {}).get("is_synthetic")) or bool(
        (stall or {}).get("market", {}).get("is_synthetic"))
    data = {
        "status": "valid",
        "code": code,
        "ward": row["ward_name"],
        "establishment": establishment,
        "stall": stall,
        "location": None if row["lat"] is None else {"lat": round(row["lat"], 6), "lon": round(row["lon"], 6)},
        "data_updated": updated,
        "synthetic": synthetic,
    }
    return Lookup("valid", data, last_modified=updated, map=_map(row))


class StatusMemo:
    """The layer's ``derive`` (statuses) memoised on the exact record and today's date.

    The status rules are vectorised pandas code: cheap per 10,000 rows, about 10 ms per
    single row. The memo keeps the rules in one place (``layer.derive``) and makes a lookup
    cost a dictionary access: a background thread primes it once per process with one
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

    def prime_soon(self, engine: Any, layer: layers.Layer, columns: tuple[str, ...]) -> None:
        """Once per database and process: derive every record of the source in a background thread."""
        url = engine.url.render_as_string(hide_password=True)
        with self._lock:
            if url in self._primed:
                return
            self._primed.add(url)
        threading.Thread(target=self._prime, args=(engine, layer, columns), daemon=True,
                         name="qr-status-prime").start()

    def _prime(self, engine: Any, layer: layers.Layer, columns: tuple[str, ...]) -> None:
        cols = ", ".join(f'"{c}"' for c in columns)
        try:
            with engine.connect() as conn:
                result = conn.execute(sa.text(f'SELECT {cols} FROM "{layer.source}" LIMIT :n'),
                                      {"n": self.max_entries // 2})
                for chunk in result.mappings().partitions(5000):
                    self.derive(layer, [dict(r) for r in chunk])
        except Exception:  # priming is an optimisation; lookups derive on their own when it fails
            return

    def clear(self) -> None:
        self._memo, self._day = {}, None
        self._primed.clear()


#: the process-wide status memo used by :func:`lookup`
STATUSES = StatusMemo()


def prime(engine: Any) -> None:
    """Fill the status memo for every record of ``engine``'s database now (the service's start-up)."""
    layer = establishment_layer()
    with engine.connect() as conn:
        columns = _source_columns(conn, layer)
    url = engine.url.render_as_string(hide_password=True)
    with STATUSES._lock:
        STATUSES._primed.add(url)
    STATUSES._prime(engine, layer, columns)


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
