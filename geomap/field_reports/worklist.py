"""The staff work list's own rules, pure: search, order, how late a report is, in words.

The page (``geomap.ui.pages.reports``) reads the rows through :mod:`geomap.field_reports.reads` and
applies these; nothing here queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from geomap import i18n
from geomap.field_reports import OPEN_STATUSES
from geomap.text import fold

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "worklist.overdue_days": ("quá hạn {n} ngày", "{n} days overdue"),
    "worklist.overdue_day": ("quá hạn 1 ngày", "1 day overdue"),
    "worklist.overdue_hours": ("quá hạn {n} giờ", "{n} hours overdue"),
}


def newest_first(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Most recently reported first (then the higher id: the later of two at the same second)."""
    return sorted(rows, key=lambda r: (r["reported_at"], r["id"]), reverse=True)


def search(rows: Iterable[Mapping[str, Any]], text: str | None) -> list[Mapping[str, Any]]:
    """The rows whose tracking code, address or description contains every word of ``text``, ignoring case
    and diacritics ("pa-7kq2", "kiet 242 hoang dieu", "rac"). An empty search keeps every row."""
    words = fold(text).split()
    if not words:
        return list(rows)
    out = []
    for r in rows:
        hay = fold(" ".join(str(r.get(k) or "") for k in ("public_id", "address", "description")))
        if all(w in hay for w in words):
            out.append(r)
    return out


def overdue_text(row: Mapping[str, Any], now: dt.datetime, lang: str = "vi") -> str:
    """"quá hạn 3 ngày" for an open report past its deadline (hours under a day), else ""."""
    deadline = row.get("deadline_at")
    if deadline is None or row.get("status") not in OPEN_STATUSES or deadline >= now:
        return ""
    late = now - deadline
    if late < dt.timedelta(days=1):
        return i18n.t("worklist.overdue_hours", lang).format(n=max(1, int(late.total_seconds() // 3600)))
    days = late.days
    return i18n.t("worklist.overdue_day", lang) if days == 1 else i18n.t("worklist.overdue_days", lang).format(n=days)
