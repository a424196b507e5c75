"""The report workflow: status changes (:data:`geomap.field_reports.TRANSITIONS`), assignment,
duplicate marking, notes and moderation.

Moderation (:func:`moderate`, FixMyStreet's practice): what a reporter wrote (description, free-text
address) and the photos are public, on the tracking page and in Open311, only once a member of staff
holding ``moderate_reports`` approves them, possibly with the text edited (a name, a phone number or
an accusation taken out); until then, or when withheld, the public sees the category, the location,
the status and the public notes. Moderation is independent of the status: a report is worked on
whether or not its text is published.

Each function is one :func:`geomap.db.transaction`: it locks the report row, checks the move,
writes the change, its history step(s) and the audit entry, and returns the new state. ``bind``
is an Engine (a unit of work of its own) or a Connection (a savepoint inside the caller's).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from geomap import audit, auth, db
from geomap.accounts import data as accounts_data
from geomap.field_reports import (
    DONE_STATUSES,
    OPEN_STATUSES,
    SET_ASIDE_STATUSES,
    TRANSITIONS,
    NotFound,
    ReportError,
    data,
    mail,
)
from geomap.models import REPORT_STATUSES
from geomap.text import clean_text
from geomap.users import User


def _lock(conn: Connection, report_id: int) -> dict[str, Any]:
    row = data.lock_report(conn, report_id)
    if row is None:
        raise NotFound(f"#{report_id}")
    return row


def _history(conn: Connection, report_id: int, user: User | None, status_from: str | None,
             status_to: str | None, note: str | None, *, public: bool = True, assignee_id: int | None = None) -> None:
    """One step of the report's history; a change of status also writes the reporter's message
    (:mod:`geomap.field_reports.mail`), in the same transaction. The app writes no sentence of its own
    into ``note`` (it is what an officer wrote): a step is told by its status or its assignee, in the
    reader's language (:func:`geomap.field_reports.reads.step_note`)."""
    user_id = user.id if user is not None else None
    data.add_history(conn, report_id, user_id, status_from, status_to, note, public=public, assignee_id=assignee_id)
    if status_to is not None and status_to != status_from:
        mail.queue_status_mail(conn, report_id, status_to, note, public=public)


def _send_mail(bind: db.Bind) -> None:
    """After a change committed on its own (``bind`` an Engine): send its message now. Inside a caller's
    transaction the message waits for that commit and ``geomap reports send-mail``."""
    if not isinstance(bind, Connection):
        mail.send_pending(bind)


def transition(
    bind: db.Bind,
    report_id: int,
    to_status: str,
    *,
    user: User | None,
    note: str | None = None,
    public: bool = True,
) -> dict[str, Any]:
    """Move a report to ``to_status`` if :data:`TRANSITIONS` allows it; returns the new state."""
    auth.require(user, "handle_reports")
    if to_status not in REPORT_STATUSES:
        raise ReportError(f"Trạng thái '{to_status}' không tồn tại.", f"Unknown status '{to_status}'.", "status")
    if to_status == "duplicate":
        raise ReportError("Dùng chức năng 'đánh dấu trùng' để chọn phản ánh gốc.",
                          "Use 'mark duplicate' to name the original report.", "status")
    note = clean_text(note) or None
    with db.transaction(bind) as conn:
        before = _lock(conn, report_id)
        if to_status not in TRANSITIONS[before["status"]]:
            raise ReportError(
                f"Không thể chuyển từ '{before['status']}' sang '{to_status}'.",
                f"A report cannot go from '{before['status']}' to '{to_status}'.", "status", code="transition")
        if to_status == "not_ward" and not note:
            raise ReportError("Hãy ghi lý do (cơ quan nào chịu trách nhiệm).",
                              "Give a reason (which authority is responsible).", "note")
        resolved = None
        if to_status in DONE_STATUSES and before["resolved_at"] is None:
            resolved = True
        elif to_status in OPEN_STATUSES:
            resolved = False
        data.set_status(conn, report_id, to_status, resolved=resolved,
                        clear_duplicate=to_status == "received" and before["status"] in SET_ASIDE_STATUSES)
        _history(conn, report_id, user, before["status"], to_status, note, public=public)
        audit.record(conn, action="status", entity_type="field_report", entity_id=report_id, user=user,
                     before={"status": before["status"]}, after={"status": to_status}, note=note)
        after = _lock(conn, report_id)
    _send_mail(bind)
    return after


def assign(
    bind: db.Bind, report_id: int, assignee_id: int, *, user: User | None, note: str | None = None,
) -> dict[str, Any]:
    """Give a report to a staff member; an unassigned open report becomes ``assigned``."""
    auth.require(user, "handle_reports")
    note = clean_text(note) or None
    with db.transaction(bind) as conn:
        before = _lock(conn, report_id)
        if before["status"] not in OPEN_STATUSES:
            raise ReportError(f"Phản ánh đang ở trạng thái '{before['status']}', không thể phân công.",
                              f"The report is '{before['status']}' and cannot be assigned.", "assignee")
        person = accounts_data.active_user(conn, assignee_id)
        if person is None:
            raise ReportError(f"Cán bộ #{assignee_id} không tồn tại hoặc đã bị khóa.",
                              f"Staff user #{assignee_id} does not exist or is disabled.", "assignee")
        to_status = "assigned" if before["status"] in ("new", "received") else before["status"]
        data.set_assignee(conn, report_id, assignee_id, to_status)
        _history(conn, report_id, user, None, None, note, public=False, assignee_id=assignee_id)
        if to_status != before["status"]:
            _history(conn, report_id, user, before["status"], to_status, None, public=True)
        audit.record(conn, action="assign", entity_type="field_report", entity_id=report_id, user=user,
                     before={"assignee_id": before["assignee_id"], "status": before["status"]},
                     after={"assignee_id": assignee_id, "status": to_status}, note=note)
        after = _lock(conn, report_id)
    _send_mail(bind)
    return after


def mark_duplicate(
    bind: db.Bind, report_id: int, original_id: int, *, user: User | None, note: str | None = None,
) -> dict[str, Any]:
    """Mark ``report_id`` a duplicate of ``original_id`` (followed to the root of its own chain)."""
    auth.require(user, "handle_reports")
    note = clean_text(note) or None
    with db.transaction(bind) as conn:
        before = _lock(conn, report_id)
        if "duplicate" not in TRANSITIONS[before["status"]]:
            raise ReportError(f"Phản ánh ở trạng thái '{before['status']}' không thể đánh dấu trùng.",
                              f"A '{before['status']}' report cannot be marked duplicate.", "status",
                              code="transition")
        root = data.duplicate_root(conn, original_id)
        if root is None:
            raise NotFound(f"#{original_id}")
        if root["id"] == report_id:
            raise ReportError("Không thể đánh dấu phản ánh trùng với chính nó.",
                              "A report cannot be a duplicate of itself.", "duplicate_of")
        if root["ward_id"] != before["ward_id"]:
            raise ReportError("Phản ánh gốc thuộc phường khác.", "The original report is in another ward.",
                              "duplicate_of")
        data.set_duplicate(conn, report_id, root["id"])
        # the page shows "duplicate of <report>" in its reader's language (track.html); the history keeps
        # only what the officer wrote, never a sentence of one language
        _history(conn, report_id, user, before["status"], "duplicate", note)
        audit.record(conn, action="duplicate", entity_type="field_report", entity_id=report_id, user=user,
                     before={"status": before["status"], "duplicate_of_id": before["duplicate_of_id"]},
                     after={"status": "duplicate", "duplicate_of_id": root["id"]}, note=note)
        after = _lock(conn, report_id)
    _send_mail(bind)
    return after


def add_note(bind: db.Bind, report_id: int, note: str, *, user: User | None,
             public: bool = False) -> None:
    """A history entry without a status change (internal by default)."""
    auth.require(user, "handle_reports")
    note = clean_text(note)
    if not note:
        raise ReportError("Ghi chú đang trống.", "The note is empty.", "note")
    with db.transaction(bind) as conn:
        _lock(conn, report_id)
        _history(conn, report_id, user, None, None, note, public=public)
        audit.record(conn, action="note", entity_type="field_report", entity_id=report_id, user=user, note=note)


def moderate(
    bind: db.Bind,
    report_id: int,
    decision: str,
    *,
    user: User | None,
    public_text: str | None = None,
    photos: bool = True,
) -> dict[str, Any]:
    """Publish (``decision="approved"``) or withhold (``"withheld"``) a report's text and photos.

    Approved: ``public_text`` (default: the reporter's description as it is) becomes the public text,
    the free-text address is published, and its photos when ``photos``. Withheld: nothing of them is
    public. A decision can be changed later (a withheld report approved, an approved one withheld).
    Returns the new moderation state."""
    auth.require(user, "moderate_reports")
    if decision not in ("approved", "withheld"):
        raise ReportError(f"Quyết định kiểm duyệt '{decision}' không hợp lệ (approved hoặc withheld).",
                          f"Unknown moderation decision '{decision}' (approved or withheld).", "moderation")
    with db.transaction(bind) as conn:
        before = data.lock_moderation(conn, report_id)
        if before is None:
            raise NotFound(f"#{report_id}")
        text = None
        if decision == "approved":
            text = clean_text(public_text if public_text is not None else before["description"])
            if not text:
                raise ReportError("Nội dung công khai đang trống; hãy nhập nội dung hoặc chọn 'không công khai'.",
                                  "The public text is empty; write one or choose 'withhold'.", "public_text")
        shown = decision == "approved" and photos
        data.set_moderation(conn, report_id, decision, text, shown, user.id if user is not None else None)
        after = {"moderation": decision, "public_description": text, "photos_public": shown}
        audit.record(conn, action="moderate", entity_type="field_report", entity_id=report_id, user=user,
                     before={k: before[k] for k in after}, after=after)
        return {"id": report_id, **after}
