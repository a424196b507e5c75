"""The rules of a record's dates, shared by the edit forms and the importer (pure).

:mod:`geomap.records.edit` and :mod:`geomap.importing.validation` both call these, so a
value refused by one is refused by the other; each turns the problem key (``"too_old"``,
``"before_issue"``, ...) into its own message. Also what an editor may change
(:data:`EDITABLE`) and "today" (the ward's date, as the status rules see it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from geomap import status
from geomap.status import CERTIFICATE_YEARS

__all__ = [
    "CERTIFICATE_YEARS", "DEFAULT_SEVERITY", "EARLIEST_DATE", "EDITABLE", "FOLLOW_UP_DAYS", "MAX_FOLLOW_UP_DAYS",
    "MAX_YEARS_AHEAD", "PROPOSED", "SURVEYED", "add_years", "date_problem", "default_follow_up", "expiry_problems",
    "follow_up_problem", "today",
]

#: establishment columns an editor may change (the point moves through :func:`geomap.records.edit.move_point`)
EDITABLE = (
    "code", "name", "business_type", "vsic_code", "operating_status", "house_number", "street", "address",
    "residential_group_id", "market_id", "tax_code", "digital_payment", "digital_platforms",
    "uses_e_invoice", "uses_sales_software", "opening_hours", "employees", "opened_on", "owner_name",
    "owner_id_number", "phone", "email",
)
#: what a survey on site checks and may correct (field app, geomap.survey): never personal data
SURVEYED = ("name", "house_number", "street", "address", "opening_hours", "digital_payment", "digital_platforms",
            "uses_e_invoice", "uses_sales_software")
#: fields an establishment added on site may carry (it waits for a data officer's review)
PROPOSED = ("name", "business_type", "vsic_code", *SURVEYED[1:])

#: earliest date accepted anywhere (older paper records are typed as their renewal)
EARLIEST_DATE = dt.date(1950, 1, 1)
#: a licence expiring further than this many years from today is a typing error
MAX_YEARS_AHEAD = 20
#: days to the follow-up inspection after a violation, by the worst severity found (1 minor .. 3 serious)
FOLLOW_UP_DAYS = {1: 30, 2: 15, 3: 7}
#: a follow-up later than this after the inspection is refused as a typing error
MAX_FOLLOW_UP_DAYS = 180
#: severity of a violation recorded without one (imported violations are plain text)
DEFAULT_SEVERITY = 1


def today() -> dt.date:
    """Today in the ward's time zone (the status rules' "today")."""
    return status.today()


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved ``years`` years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def date_problem(day: dt.date, today: dt.date, *, not_future: bool = True) -> str | None:
    """``"too_old"`` before :data:`EARLIEST_DATE`, ``"future"`` after ``today`` when ``not_future``, else None."""
    if day < EARLIEST_DATE:
        return "too_old"
    if not_future and day > today:
        return "future"
    return None


def expiry_problems(kind: str | None, issued: dt.date | None, expires: dt.date | None, today: dt.date
                    ) -> list[str]:
    """What is wrong with a licence's expiry date: ``"before_issue"``, ``"certificate_too_long"``
    (a food-safety certificate valid more than :data:`CERTIFICATE_YEARS`), ``"too_far_ahead"``
    (more than :data:`MAX_YEARS_AHEAD` years from ``today``)."""
    out: list[str] = []
    if expires is None:
        return out
    if issued is not None:
        if expires < issued:
            out.append("before_issue")
        elif kind == "food_safety_certificate" and expires > add_years(issued, CERTIFICATE_YEARS):
            out.append("certificate_too_long")
    if expires > add_years(today, MAX_YEARS_AHEAD):
        out.append("too_far_ahead")
    return out


def follow_up_problem(result: str | None, inspected_on: dt.date | None, due: dt.date | None) -> str | None:
    """What is wrong with an inspection's follow-up date: ``"not_violation"`` (only a violation has one),
    ``"not_after"`` (not after the inspection), ``"too_late"`` (over :data:`MAX_FOLLOW_UP_DAYS` days)."""
    if due is None:
        return None
    if result != "violation":
        return "not_violation"
    if inspected_on is None:
        return None
    if due <= inspected_on:
        return "not_after"
    if due > inspected_on + dt.timedelta(days=MAX_FOLLOW_UP_DAYS):
        return "too_late"
    return None


def default_follow_up(result: str | None, inspected_on: dt.date | None, severities: Iterable[int] = ()
                      ) -> dt.date | None:
    """The follow-up due after a violation: :data:`FOLLOW_UP_DAYS` of the worst severity found."""
    if result != "violation" or inspected_on is None:
        return None
    worst = max(severities, default=DEFAULT_SEVERITY)
    return inspected_on + dt.timedelta(days=FOLLOW_UP_DAYS[worst])
