"""The indicator API without the web framework: who may read which ward, and the JSON document of one period.

The ward's operations centre and the city's reporting platform read every indicator for a period, for
the ward and per residential group: geomap's own (:mod:`geomap.dashboard.indicators`) and the group-level
ones the ward imports (:mod:`geomap.dashboard.group_indicators`), each with numerator, denominator, value,
target and definition in Vietnamese and English. ``GET /api/indicators`` (:mod:`geomap.web.routes.indicators`)
is the thin adapter.

Keys (``geomap apikey add NAME --scope ...``): scope ``indicators`` reads every ward (the city's platform);
``indicators:<ward slug>`` reads that ward only (a ward's operations centre).

The frames of a ward are read once and kept :data:`FRAMES_TTL_S` seconds by :class:`IndicatorCache`, which
the app owns (``app.state.indicators``); a call then costs the computation of one period. Past that age,
and up to :data:`STALE_S`, a call gets the frames it has while one background thread reads them again
(stale-while-revalidate), so only a ward's first call, or one after :data:`STALE_S` of silence, waits for
the read: figures are at most :data:`FRAMES_TTL_S` old for a ward asked every minute, and at most
:data:`STALE_S` for one asked rarely.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from geomap import status
from geomap.dashboard import group_indicators, periods
from geomap.dashboard.data import load_frames
from geomap.dashboard.indicators import INDICATORS, Frames, by_group, indicator_parts, summary
from geomap.profiles import WardProfile

SCOPE = "indicators"
#: how long a ward's frames are reused (an edit shows in the API within this time)
FRAMES_TTL_S = 60.0
log = logging.getLogger(__name__)
#: how old frames may be answered while a background read replaces them (older ones are read first)
STALE_S = 600.0
#: the periods the API takes: exactly what :func:`geomap.dashboard.periods.parse` reads, written strictly
PERIOD_PATTERN = r"^(19|20)[0-9]{2}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


def wards_allowed(scopes: Iterable[str]) -> set[str] | None:
    """The ward slugs a key's ``scopes`` may read: None for every ward, an empty set for none."""
    out: set[str] = set()
    for scope in scopes:
        if scope == SCOPE:
            return None
        if scope.startswith(SCOPE + ":"):
            out.add(scope[len(SCOPE) + 1:])
    return out


def period_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is no period the API answers for (vi, en), or None."""
    if not re.fullmatch(PERIOD_PATTERN, text):
        return (f"Kỳ '{text[:20]}' không đúng dạng: dùng YYYY-MM (2026-11), YYYY-Qn (2026-Q3), YYYY-Hn (2026-H1) "
                "hoặc YYYY (2026).",
                f"The period '{text[:20]}' is not understood: use YYYY-MM (2026-11), YYYY-Qn (2026-Q3), "
                "YYYY-Hn (2026-H1) or YYYY (2026).")
    return None


class IndicatorCache:
    """A ward's :class:`Frames` and the documents made from them, kept :data:`FRAMES_TTL_S` seconds (owned by
    the app; ``clear()`` empties it). A document is for the whole ward; one group's is cut from it."""

    def __init__(self, ttl_s: float = FRAMES_TTL_S, stale_s: float = STALE_S) -> None:
        self.ttl_s, self.stale_s = ttl_s, stale_s
        self._frames: dict[tuple[str, int], tuple[float, Frames, dict[tuple, Any]]] = {}
        self._reading: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def _read(self, engine: Any, ward_id: int, key: tuple[str, int]) -> tuple[float, Frames, dict[tuple, Any]]:
        entry = (time.monotonic(), load_frames(engine, ward_id), {})  # its age counts from before the read
        with self._lock:
            self._frames[key] = entry
        return entry

    def _read_in_background(self, engine: Any, ward_id: int, key: tuple[str, int]) -> None:
        with self._lock:
            if key in self._reading:
                return
            self._reading.add(key)

        def read() -> None:
            try:
                self._read(engine, ward_id, key)
            except Exception:  # noqa: BLE001 (the old frames stay; the next call past STALE_S reads itself)
                log.warning("indicator frames of ward %s could not be read again", ward_id, exc_info=True)
            finally:
                with self._lock:
                    self._reading.discard(key)
        threading.Thread(target=read, name=f"indicators-{ward_id}", daemon=True).start()

    def _entry(self, engine: Any, ward_id: int) -> tuple[float, Frames, dict[tuple, Any]]:
        key = (str(getattr(engine, "url", "")), ward_id)
        with self._lock:
            hit = self._frames.get(key)
        age = None if hit is None else time.monotonic() - hit[0]
        if age is not None and age < self.ttl_s:
            return hit
        if age is not None and age < self.stale_s:
            self._read_in_background(engine, ward_id, key)
            return hit
        return self._read(engine, ward_id, key)

    def frames(self, engine: Any, ward_id: int) -> Frames:
        return self._entry(engine, ward_id)[1]

    def document(self, engine: Any, ward_id: int, key: tuple, make: Callable[[Frames], Any]) -> Any:
        """``make(frames)`` for ``key`` (period, day...), made once per frames read."""
        _, frames, made = self._entry(engine, ward_id)
        if key not in made:
            made[key] = make(frames)
        return made[key]

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()


def _number(v: Any) -> float | int | None:
    """A JSON number: whole numbers as integers, NaN and None as null."""
    if v is None or pd.isna(v):
        return None
    f = float(v)
    return int(f) if f.is_integer() else f


def _indicator(ind: Any, row: pd.Series, source: str, year: int) -> dict[str, Any]:
    out = {"key": ind.key, "source": source, "label": {"vi": ind.label_vi, "en": ind.label_en},
           "definition": {"vi": ind.description_vi, "en": ind.description_en},
           "kind": ind.kind, "higher_is_better": ind.higher_is_better,
           "numerator": _number(row["num"]), "denominator": _number(row["den"]),
           "value": None if row["value"] is None or pd.isna(row["value"]) else round(float(row["value"]), 6),
           "target": None if row["target"] is None or pd.isna(row["target"]) else float(row["target"]),
           "target_year": year, "met": None if row["met"] is None or pd.isna(row["met"]) else bool(row["met"])}
    if source == "imported":
        out["groups_reported"] = int(row["groups_reported"])
        out["assessments"] = list(row["periods"])
    return out


def _group_figures(table: pd.DataFrame, keys: list[str], gid: int) -> dict[str, Any]:
    row = table.loc[gid]
    return {k: {"numerator": _number(row.get(f"{k}_num")), "denominator": _number(row.get(f"{k}_den")),
                "value": None if pd.isna(row.get(k)) else round(float(row[k]), 6)} for k in keys}


def for_group(doc: dict[str, Any], code: str) -> dict[str, Any] | None:
    """``doc`` with only the residential group ``code`` in ``groups``; None when the ward has no such group."""
    found = [g for g in doc["groups"] if g["code"] == code]
    return {**doc, "groups": found} if found else None


def document(frames: Frames, profile: WardProfile | None, ward: dict[str, Any], period: periods.Period,
             today: dt.date | None = None) -> dict[str, Any]:
    """The indicators of ``ward`` for ``period``, for the ward and per residential group (:func:`for_group`
    cuts one group's)."""
    today = today or status.today()
    as_of = min(period.end, today)
    parts = indicator_parts(frames, as_of, period.start)
    own = summary(parts, profile, as_of.year)
    imported, imported_groups = group_indicators.compute(frames.group_values, frames.groups, period.start,
                                                         period.end, profile, as_of.year)
    table = by_group(parts, frames.groups).join(imported_groups)
    ids = [int(i) for i in frames.groups["id"]]
    keys = [i.key for i in INDICATORS] + [i.key for i in group_indicators.GROUP_INDICATORS]
    return {
        "ward": {"slug": ward["slug"], "name": ward["name"]},
        "period": {"id": str(period), "start": period.start.isoformat(), "end": period.end.isoformat(),
                   "as_of": as_of.isoformat(), "complete": period.end <= today},
        "indicators": [_indicator(i, own.loc[i.key], "geomap", as_of.year) for i in INDICATORS]
        + [_indicator(i, imported.loc[i.key], "imported", as_of.year) for i in group_indicators.GROUP_INDICATORS],
        "groups": [{"code": str(table.at[gid, "code"]), "name": str(table.at[gid, "name"]),
                    "indicators": _group_figures(table, keys, gid)} for gid in ids],
    }
