"""How reports were handled, as the public may see it, and citizens' ratings of resolved reports.

:func:`monthly` gives the transparency page's table: per month of receipt and category, the reports received,
resolved on time, overdue (resolved after the deadline, or still open past it) and still open within the
deadline; duplicates and reports for another authority are not counted. :func:`area_map` gives its map: the
ward's residential groups as an inline SVG (the ward's local metric grid, simplified), each with its counts of
resolved and open reports; no report point, no text, nothing about a reporter leaves the database.

:func:`rate` stores a citizen's one-tap rating of a resolved report: one per report, so a replay or a second
tap changes nothing; the dashboard counts them (``geomap.dashboard.indicators``, ``report_satisfaction``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from geomap import db
from geomap.field_reports import DONE_STATUSES, data
from geomap.field_reports.deadlines import LOCAL_TZ

#: months the page looks back over (the current month included)
MONTHS = 12
#: fill colours of the map's areas, by class of reports per area (0: none)
AREA_COLOURS = ("#f4f4f4", "#fde0c5", "#f9b384", "#ef7d4f", "#c8412a")
#: what :func:`rate` says happened
RATED, ALREADY_RATED, NOT_RESOLVED, NOT_FOUND = "stored", "already", "not_resolved", "not_found"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def window_start(now: dt.datetime, months: int = MONTHS) -> dt.datetime:
    """The first moment (local midnight of a month's first day) of the ``months`` months up to ``now``."""
    local = now.astimezone(LOCAL_TZ)
    index = local.year * 12 + local.month - 1 - (months - 1)
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=LOCAL_TZ)


def monthly(bind: db.Bind, ward_id: int, *, months: int = MONTHS, now: dt.datetime | None = None
            ) -> list[dict[str, Any]]:
    """One entry per month with reports, newest first: ``month`` (``YYYY-MM``), ``rows`` (one per category:
    ``category``, ``received``, ``on_time``, ``overdue``, ``open``) and ``total`` (the same counts summed).
    ``overdue`` = resolved after the deadline + still open past it (as of ``now``)."""
    now = now or _now()
    found = data.outcomes_by_month(bind, ward_id, since=window_start(now, months), now=now)
    out: dict[str, dict[str, Any]] = {}
    keys = ("received", "on_time", "overdue", "open")
    for r in found:
        row = {"category": r["category"], "received": r["received"], "on_time": r["on_time"],
               "overdue": r["late"] + r["overdue"], "open": r["open"]}
        month = out.setdefault(r["month"], {"month": r["month"], "rows": [], "total": dict.fromkeys(keys, 0)})
        month["rows"].append(row)
        for k in keys:
            month["total"][k] += row[k]
    return list(out.values())


def _area_class(total: int, top: int) -> int:
    """0 for no report, else 1..4 on a square-root scale of ``total / top`` (a few busy groups would
    otherwise leave every other group in the palest class)."""
    if total <= 0:
        return 0
    steps = len(AREA_COLOURS) - 1
    return 1 + min(steps - 1, int(math.sqrt(total / max(top, 1)) * steps))


def area_map(bind: db.Bind, ward_id: int, *, months: int = MONTHS, now: dt.datetime | None = None
             ) -> dict[str, Any] | None:
    """The page's map: ``viewbox``, ``outline`` (the ward), ``areas`` (``name``, ``path``, ``resolved``,
    ``open``, ``fill``), ``outside`` (reports in no residential group), ``stroke``; None without a ward."""
    now = now or _now()
    found = data.outcomes_by_area(bind, ward_id, since=window_start(now, months), now=now)
    ward = found["ward"]
    if ward is None:
        return None
    xmin, ymin, xmax, ymax = (float(ward[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    width, height = xmax - xmin, ymax - ymin
    pad = 0.02 * max(width, height)
    top = max((a["resolved"] + a["open"] for a in found["areas"]), default=0)
    areas = [{"name": a["name"], "code": a["code"], "path": a["path"], "resolved": a["resolved"], "open": a["open"],
              "fill": AREA_COLOURS[_area_class(a["resolved"] + a["open"], top)]} for a in found["areas"]]
    return {"viewbox": f"{xmin - pad:.0f} {-(ymax + pad):.0f} {width + 2 * pad:.0f} {height + 2 * pad:.0f}",
            "outline": ward["path"], "areas": areas, "outside": found["outside"],
            "stroke": f"{max(width, height) / 600:.1f}", "legend": AREA_COLOURS[1:], "top": top}


def rate(bind: db.Bind, public_id: str, satisfied: bool) -> str:
    """Store the rating of the report with tracking code ``public_id``: :data:`RATED`, or :data:`ALREADY_RATED`
    (nothing changed), :data:`NOT_RESOLVED` (only a resolved or closed report is rated) or :data:`NOT_FOUND`."""
    with db.transaction(bind) as conn:
        report = data.lock_report_for_rating(conn, public_id)
        if report is None:
            return NOT_FOUND
        if report["status"] not in DONE_STATUSES:
            return NOT_RESOLVED
        if report["rated"]:
            return ALREADY_RATED
        return RATED if data.insert_rating(conn, report["id"], satisfied) else ALREADY_RATED
