"""The ``hotspots`` layer's rows: the latest hotspot analysis of a ward and window length, stored.

:func:`run` analyses the last ``window_days`` days of a ward's reports (all categories: the published layer
is the whole picture) and :func:`store` writes an analysis in place of the previous one of the same ward and
window, in one transaction. ``geomap reports hotspots --window 90`` (a scheduler's job) and the staff
hotspot page call them; the layer (``layers/hotspots.py``) is then exported and served like any other.
Only counts, classes and the cell outlines are kept: nothing of a report's text or reporter.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from geomap import auth, db, i18n
from geomap.field_reports import data, reads

if TYPE_CHECKING:
    from geomap.field_reports import hotspots
    from geomap.users import User

#: the window lengths a ward usually publishes (the page's default and the plan's quarterly look)
DEFAULT_WINDOW_DAYS = 90


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def rows_of(analysis: hotspots.HotspotAnalysis, ward_id: int, window_days: int) -> list[dict[str, Any]]:
    """The ``hotspot_cell`` rows of ``analysis`` (one per cell of the grid, empty ones included)."""
    from geomap.field_reports import hotspots

    start, end = analysis.window
    cells = analysis.cells
    return [{
        "public_id": f"{cell}-{window_days}d-w{ward_id}", "ward_id": int(ward_id), "window_days": int(window_days),
        "window_start": start, "window_end": end, "grid": analysis.grid.label, "cell": cell,
        "report_count": int(count), "previous_count": int(prev), "hotspot_class": klass,
        "class_vi": i18n.code_label("hotspot_class", klass, "vi"),
        "class_en": i18n.code_label("hotspot_class", klass, "en"),
        "trend": hotspots.trend_label(count, prev), "z_score": _number(z), "q_value": _number(q), "wkt": geom.wkt,
    } for cell, count, prev, klass, z, q, geom in zip(
        cells["cell"], cells["count"], cells["prev_count"], cells["hotspot_class"], cells["z"], cells["q"],
        cells.geometry, strict=True)]


def store(bind: db.Bind, ward_id: int, analysis: hotspots.HotspotAnalysis, window_days: int) -> int:
    """Replace the stored analysis of ``ward_id`` and ``window_days`` by ``analysis``; the number of cells."""
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    rows = rows_of(analysis, ward_id, window_days)
    with db.transaction(bind) as conn:
        return data.replace_hotspot_cells(conn, ward_id, window_days, rows)


def run(bind: db.Bind, ward_id: int, window_days: int = DEFAULT_WINDOW_DAYS, *, now: dt.datetime | None = None,
        permutations: int | None = None, seed: int | None = 0, user: User | None = None) -> hotspots.HotspotAnalysis:
    """Analyse the ``window_days`` days up to ``now`` (all categories, the default grid) and store it: the
    ward's published layer. ``user`` (None: the command line) needs ``moderate_reports``, the right to decide
    what of the reports is published."""
    auth.require(user, "moderate_reports")
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    end = now or dt.datetime.now(dt.UTC)
    analysis, _ = reads.hotspot_layers(bind, ward_id, start=end - dt.timedelta(days=window_days), end=end,
                                       permutations=permutations, seed=seed)
    store(bind, ward_id, analysis, window_days)
    return analysis


def stored(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """What the layer holds for a ward: one row per window length (cells, hot cells, when analysed)."""
    return data.stored_hotspot_windows(bind, ward_id)
