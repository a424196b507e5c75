"""Field reports (phản ánh hiện trường): intake, workflow with deadlines, duplicates, hotspots, Open311.

Where things are:

- :mod:`.deadlines`   working days, Vietnamese holidays, :func:`~.deadlines.deadline_for` (pure)
- :mod:`.intake`      validate and store a submission (public form, staff form, Open311), public
                      ids, duplicate suggestions, the establishment behind a QR code
- :mod:`.workflow`    status changes, assignment, duplicate marking, notes
- :mod:`.reads`       work lists, one report, redaction of personal fields, the public tracking
                      view, overdue / due soon, the hotspot analysis and the reports behind its cells
- :mod:`.open311`     GeoReport v2: the service list, requests as the spec shows them
- :mod:`.hotspots`    Getis-Ord Gi* over grid cells (pure)
- :mod:`.hotspot_links` the links from a hotspot to the report list (pure)
- :mod:`.photos`      photo checks, resizing, EXIF stripping (pure)
- :mod:`.retention`   reporters' personal data: the purpose notice, consent, erasure after the ward's
                      retention period (``geomap reports purge-personal``)
- :mod:`.data`        every SQL statement of the domain

This module holds what they all share: the statuses, the workflow's allowed moves and the
domain's error. Every change is one :func:`geomap.db.transaction`: the report row, its history
row in ``field_report_update`` and the audit entry are written together or not at all.

Workflow::

    new → received → assigned → in_progress → resolved → closed
      ↘ duplicate / not_ward (from any open status; undo goes back to received)
    resolved → in_progress (reopened), closed → received (reopened)
"""

from __future__ import annotations

from geomap.errors import LocalizedError
from geomap.models import REPORT_STATUSES

OPEN_STATUSES: tuple[str, ...] = ("new", "received", "assigned", "in_progress")
DONE_STATUSES: tuple[str, ...] = ("resolved", "closed")
SET_ASIDE_STATUSES: tuple[str, ...] = ("duplicate", "not_ward")

#: allowed status changes (assignment and duplicate marking have their own functions)
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"received", "assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward"}),
    "received": frozenset({"assigned", "in_progress", "resolved", "closed", "duplicate", "not_ward"}),
    "assigned": frozenset({"received", "in_progress", "resolved", "duplicate", "not_ward"}),
    "in_progress": frozenset({"assigned", "resolved", "duplicate", "not_ward"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset({"received"}),
    "duplicate": frozenset({"received"}),
    "not_ward": frozenset({"received"}),
}
assert set(TRANSITIONS) == set(REPORT_STATUSES)

#: the duplicate rule: same ward and category, within this many metres, reported within this many days
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_DAYS = 30


class ReportError(LocalizedError):
    """A report request that cannot be carried out; ``field`` names the form field at fault,
    ``code`` the kind of failure for API clients (``invalid``, ``not_found``, ``transition``...)."""

    def __init__(self, vi: str, en: str, field: str | None = None, code: str = "invalid"):
        super().__init__(vi, en, field)
        self.code = code


class NotFound(ReportError):
    def __init__(self, what: str):
        super().__init__(f"Không tìm thấy phản ánh {what}.", f"Report {what} was not found.", code="not_found")
