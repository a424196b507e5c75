"""Report deadlines (pure): working days, Vietnamese public holidays, the due time of a report.

Deadlines count working days (Monday–Friday, Vietnamese public holidays excluded, from the
``holidays`` package) per category from the ward profile's ``report_deadline_days``, and
end at 17:00 Đà Nẵng time on the last working day.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import numpy as np

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: end of the working day a deadline falls on (local time)
DEADLINE_HOUR = 17


# process-wide on purpose: the public holidays come from the installed ``holidays`` package, not the database
@functools.lru_cache(maxsize=8)
def _holidays(years: tuple[int, ...]) -> tuple[np.datetime64, ...]:
    import holidays

    return tuple(np.datetime64(d) for d in sorted(holidays.country_holidays("VN", years=list(years))))


def add_working_days(day: dt.date, n: int) -> dt.date:
    """``day`` + ``n`` working days; a report made on a day off counts from the next working day."""
    hol = _holidays(tuple(range(day.year, day.year + 2)))
    return np.busday_offset(np.datetime64(day), n, roll="forward", holidays=list(hol)).astype(dt.date)


def deadline_for(category: str, reported_at: dt.datetime, deadline_days: Mapping[str, int]) -> dt.datetime | None:
    """When a report of ``category`` made at ``reported_at`` must be answered (None: no deadline set)."""
    days = deadline_days.get(category, deadline_days.get("other"))
    if days is None:
        return None
    local_day = reported_at.astimezone(LOCAL_TZ).date()
    due = add_working_days(local_day, int(days))
    return dt.datetime.combine(due, dt.time(DEADLINE_HOUR), tzinfo=LOCAL_TZ).astimezone(dt.UTC)
