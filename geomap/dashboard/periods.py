"""Reporting periods (pure): month ``2026-11``, quarter ``2026-Q3``, half-year ``2026-H1``, year ``2026``.

The ward reports to the Party committee every quarter, half-year and year (issue 17); the staff
page, ``geomap dashboard report --period`` and the Excel report all take a period in these forms.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from geomap.errors import GeomapError

KINDS = ("month", "quarter", "half", "year")
_HELP = "use YYYY-MM (2026-11), YYYY-Qn (2026-Q3), YYYY-Hn (2026-H1) or YYYY (2026)"


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period: ``kind`` and its first month, e.g. Period("quarter", 2026, 7) is 2026-Q3."""

    year: int
    month: int
    kind: str

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "half": 6, "year": 12}[self.kind]

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def end(self) -> dt.date:
        last = self.month + self.months - 1
        return dt.date(self.year, last, calendar.monthrange(self.year, last)[1])

    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.month:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{(self.month - 1) // 3 + 1}"
        if self.kind == "half":
            return f"{self.year}-H{(self.month - 1) // 6 + 1}"
        return f"{self.year}"

    def shift(self, n: int) -> Period:
        """The period ``n`` periods of the same kind later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + n * self.months
        return Period(index // 12, index % 12 + 1, self.kind)

    def back(self, n: int) -> list[Period]:
        """The ``n`` periods ending with this one, oldest first."""
        return [self.shift(-k) for k in range(n - 1, -1, -1)]


def parse(text: str) -> Period:
    """``2026-11``, ``2026-Q3``, ``2026-H1`` or ``2026`` -> :class:`Period` (GeomapError otherwise)."""
    s = str(text).strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise GeomapError(f"The period '{text}' has no month {mo}; {_HELP}.")
        return Period(y, mo, "month")
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", s):
        return Period(int(m[1]), 3 * int(m[2]) - 2, "quarter")
    if m := re.fullmatch(r"(\d{4})-H([12])", s):
        return Period(int(m[1]), 6 * int(m[2]) - 5, "half")
    if m := re.fullmatch(r"(\d{4})", s):
        return Period(int(m[1]), 1, "year")
    raise GeomapError(f"The period '{text}' is not understood; {_HELP}.")


def containing(day: dt.date, kind: str) -> Period:
    """The period of ``kind`` that ``day`` falls in."""
    size = {"month": 1, "quarter": 3, "half": 6, "year": 12}[kind]
    return Period(day.year, (day.month - 1) // size * size + 1, kind)


def parse_period(period: str) -> tuple[dt.date, dt.date]:
    """A period's (first day, last day)."""
    p = parse(period)
    return p.start, p.end


def choices(today: dt.date) -> list[str]:
    """Periods offered on the staff page, newest first: 6 months, 4 quarters, 2 half-years, 2 years."""
    out: list[str] = []
    for kind, n in (("month", 6), ("quarter", 4), ("half", 2), ("year", 2)):
        out += [str(p) for p in containing(today, kind).back(n)][::-1]
    return out
