"""Field reports (phản ánh hiện trường): intake, workflow with deadlines, duplicates, API keys.

Every change is one :func:`geomap.db.transaction`: the report row, its history row in
``field_report_update`` and the audit entry are written together or not at all. Functions
take either an :class:`~sqlalchemy.engine.Engine` (they open and commit their own unit of
work) or a :class:`~sqlalchemy.engine.Connection` (a savepoint inside the caller's transaction).

Workflow::

    new → received → assigned → in_progress → resolved → closed
      ↘ duplicate / not_ward (from any open status; undo goes back to received)
    resolved → in_progress (reopened), closed → received (reopened)

Deadlines count working days (Monday–Friday, Vietnamese public holidays excluded, from the
``holidays`` package) per category from the ward profile's ``report_deadline_days``, and
end at 17:00 Đà Nẵng time on the last working day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geomap import audit, db, links, profiles
from geomap.errors import GeomapError
from geomap.i18n import code_label
from geomap.models import REPORT_CATEGORIES, REPORT_CHANNELS, REPORT_STATUSES
from geomap.photos import MAX_PHOTOS, Photo
from geomap.text import nfc

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: end of the working day a deadline falls on (local time)
DEADLINE_HOUR = 17

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

DESCRIPTION_MAX = 2000
CONTACT_MAX = 200
#: a replayed submission within this many seconds returns the report it already created
REPLAY_WINDOW_S = 60
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_DAYS = 30
_PUBLIC_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read over the phone
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Bind = Engine | Connection


class ReportError(GeomapError):
    """A report request that cannot be carried out; ``field`` names the form field at fault."""

    def __init__(self, message_vi: str, message_en: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message_vi)
        self.message_vi, self.message_en, self.field, self.code = message_vi, message_en, field, code

    def message(self, lang: str = "vi") -> str:
        return self.message_en if lang == "en" else self.message_vi


class NotFound(ReportError):
    def __init__(self, what: str):
        super().__init__(f"Không tìm thấy phản ánh {what}.", f"Report {what} was not found.", code="not_found")


# --- small helpers ------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_public_id() -> str:
    """An unguessable tracking code such as ``PA-7KQ2-M9XD-R4TB`` (60 bits)."""
    raw = "".join(secrets.choice(_PUBLIC_ALPHABET) for _ in range(12))
    return f"PA-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


def clean_text(value: str | None) -> str:
    """NFC, trimmed, control characters (NUL included: PostgreSQL refuses it) removed."""
    return _CONTROL.sub("", nfc(value or "") or "")


# --- deadlines (pure) -------------------------------------------------------------------


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


# --- intake --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInput:
    """A validated report, ready to store."""

    category: str
    description: str
    lat: float
    lon: float
    channel: str = "web"
    establishment_id: int | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    address: str | None = None
    photos: tuple[Photo, ...] = field(default_factory=tuple)


def validate(
    *,
    category: str | None,
    description: str | None,
    lat: float | str | None,
    lon: float | str | None,
    channel: str = "web",
    establishment_id: int | None = None,
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    address: str | None = None,
    photos: Sequence[Photo] = (),
) -> ReportInput:
    """Check a submission field by field; the first problem raises :class:`ReportError`."""
    category = (category or "").strip()
    if category not in REPORT_CATEGORIES:
        raise ReportError("Hãy chọn lĩnh vực phản ánh.", "Choose a report category.", "category")
    if channel not in REPORT_CHANNELS:
        raise ReportError(f"Kênh '{channel}' không hợp lệ.", f"Unknown channel '{channel}'.", "channel")
    text = clean_text(description)
    if not text:
        raise ReportError("Hãy mô tả sự việc (nội dung đang trống).",
                          "Describe the problem (the description is empty).", "description")
    if len(text) > DESCRIPTION_MAX:
        raise ReportError(
            f"Nội dung dài {len(text):,} ký tự; tối đa {DESCRIPTION_MAX:,} ký tự.",
            f"The description is {len(text):,} characters long; at most {DESCRIPTION_MAX:,} are allowed.",
            "description")
    gps = next((p.gps for p in photos if p.gps), None)
    if (lat in (None, "") or lon in (None, "")) and gps:
        lat, lon = gps
    try:
        lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReportError("Chưa có vị trí: bật định vị, chạm vào bản đồ hoặc nhập vĩ độ/kinh độ.",
                          "No location: allow location access, tap the map or enter latitude/longitude.",
                          "location") from None
    if not (np.isfinite(lat_f) and np.isfinite(lon_f)) or not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise ReportError("Vị trí không hợp lệ (vĩ độ −90…90, kinh độ −180…180).",
                          "Invalid location (latitude −90…90, longitude −180…180).", "location")
    if abs(lat_f) < 1e-6 and abs(lon_f) < 1e-6:
        raise ReportError("Vị trí (0, 0) không hợp lệ: điện thoại chưa xác định được vị trí.",
                          "Location (0, 0) is not valid: the phone has no position fix.", "location")
    if len(photos) > MAX_PHOTOS:
        raise ReportError(f"Tối đa {MAX_PHOTOS} ảnh.", f"At most {MAX_PHOTOS} photos.", "photos")
    contact_fields = {}
    for name, value in (("reporter_name", reporter_name), ("reporter_contact", reporter_contact),
                        ("address", address)):
        value = clean_text(value) or None
        if value and len(value) > CONTACT_MAX:
            raise ReportError(f"Trường '{name}' dài quá {CONTACT_MAX} ký tự.",
                              f"Field '{name}' is longer than {CONTACT_MAX} characters.", name)
        contact_fields[name] = value
    return ReportInput(category=category, description=text, lat=lat_f, lon=lon_f, channel=channel,
                       establishment_id=establishment_id, photos=tuple(photos), **contact_fields)


def submission_hash(data: ReportInput, client: str | None) -> str:
    """Fingerprint of a submission from one client: equal for a replay, different for a new report."""
    payload = [client or "", data.category, data.description, round(data.lat, 5), round(data.lon, 5),
               data.establishment_id, data.channel, [hashlib.sha256(p.content).hexdigest() for p in data.photos]]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Submitted:
    """The outcome of :func:`submit`."""

    id: int
    public_id: str
    created: bool  # False: a replay, the earlier report is returned
    deadline_at: dt.datetime | None
    ward_id: int


def ward_covering(conn: Connection, lon: float, lat: float, ward_id: int | None = None) -> int | None:
    """The loaded ward whose boundary covers the point (restricted to ``ward_id`` when given)."""
    sql = "SELECT id FROM ward WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
    params: dict[str, Any] = {"lon": lon, "lat": lat}
    if ward_id is not None:
        sql += " AND id = :w"
        params["w"] = ward_id
    found = conn.execute(sa.text(sql + " ORDER BY id LIMIT 1"), params).scalar()
    return int(found) if found is not None else None


def submit(
    bind: Bind,
    data: ReportInput,
    *,
    ward_id: int | None = None,
    client: str | None = None,
    user: Mapping[str, Any] | None = None,
    api_key_id: int | None = None,
    at: dt.datetime | None = None,
) -> Submitted:
    """Store a validated report with its photos, first history step and audit entry.

    The location must lie inside ``ward_id`` (or, without it, inside some loaded ward). The
    same content from the same ``client`` within :data:`REPLAY_WINDOW_S` returns the first
    report instead of a second one (an advisory lock on the fingerprint makes this hold for
    concurrent replays too).
    """
    at = at or _now()
    digest = submission_hash(data, client)
    since = at - dt.timedelta(seconds=REPLAY_WINDOW_S)
    with db.transaction(bind) as conn:
        # few round trips: this is the public hot path (lock + ward in one, report + history in one)
        first = conn.execute(sa.text(
            "SELECT pg_advisory_xact_lock(hashtextextended(:h, 5)) AS locked, w.id, w.slug FROM "
            "(SELECT 1) one LEFT JOIN LATERAL (SELECT id, slug FROM ward WHERE (CAST(:w AS int) IS NULL OR id = :w) "
            " AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY id LIMIT 1) w ON TRUE"),
            {"h": digest, "w": ward_id, "lon": data.lon, "lat": data.lat}).one()
        found = first.id
        deadline = None
        if found is not None:
            try:
                deadline = deadline_for(data.category, at, profiles.get(first.slug).report_deadline_days)
            except GeomapError:
                deadline = None
        public_id = new_public_id()
        row = conn.execute(sa.text(
            "WITH ins AS (INSERT INTO field_report (ward_id, public_id, category, description, channel, status, "
            " reported_at, deadline_at, establishment_id, reporter_name, reporter_contact, address, submission_hash, "
            " api_key_id, geom) SELECT CAST(:ward_id AS int), :public_id, :category, :description, :channel, 'new', "
            " CAST(:at AS timestamptz), CAST(:deadline AS timestamptz), CAST(:establishment_id AS int), "
            " :reporter_name, :reporter_contact, :address, CAST(:h AS varchar), CAST(:api_key_id AS int), "
            " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) WHERE CAST(:ward_id AS int) IS NOT NULL AND NOT EXISTS ("
            " SELECT 1 FROM field_report WHERE submission_hash = CAST(:h AS varchar) "
            " AND reported_at > CAST(:since AS timestamptz)) RETURNING id), "
            "hist AS (INSERT INTO field_report_update (report_id, at, user_id, status_from, status_to, note, "
            " is_public) SELECT id, CAST(:at AS timestamptz), CAST(:user_id AS int), NULL, 'new', :note, TRUE "
            " FROM ins) "
            "SELECT id FROM ins"),
            {"ward_id": found, "public_id": public_id, "category": data.category, "description": data.description,
             "channel": data.channel, "at": at, "deadline": deadline, "establishment_id": data.establishment_id,
             "reporter_name": data.reporter_name, "reporter_contact": data.reporter_contact,
             "address": data.address, "h": digest, "api_key_id": api_key_id, "lon": data.lon, "lat": data.lat,
             "since": since, "user_id": (user or {}).get("id"),
             "note": f"Tiếp nhận qua kênh: {code_label('report_channel', data.channel, 'vi')}"},
        ).first()
        if row is None:
            earlier = conn.execute(sa.text(
                "SELECT id, public_id, deadline_at, ward_id FROM field_report WHERE submission_hash = :h "
                "AND reported_at > :since ORDER BY id LIMIT 1"), {"h": digest, "since": since}).first()
            if earlier is not None:
                return Submitted(earlier.id, earlier.public_id, False, earlier.deadline_at, earlier.ward_id)
            name = None
            if ward_id is not None:
                name = conn.execute(sa.text("SELECT name FROM ward WHERE id = :w"), {"w": ward_id}).scalar()
            where = name or "phường"
            raise ReportError(
                f"Vị trí ({data.lat:.5f}, {data.lon:.5f}) nằm ngoài {where}; hãy chọn điểm trong phường.",
                f"The location ({data.lat:.5f}, {data.lon:.5f}) is outside {name or 'the ward'}; "
                "choose a point inside the ward.", "location", code="outside_ward")
        report_id = int(row.id)
        if data.photos:
            conn.execute(sa.text(
                "INSERT INTO field_report_photo (report_id, media_type, width, height, content) "
                "VALUES (:r, :m, :w, :h, :c)"),
                [{"r": report_id, "m": p.media_type, "w": p.width, "h": p.height, "c": p.content}
                 for p in data.photos])
        audit.record(conn, action="create", entity_type="field_report", entity_id=report_id, user=user,
                     after={"public_id": public_id, "category": data.category, "channel": data.channel,
                            "lat": data.lat, "lon": data.lon, "photos": len(data.photos),
                            "deadline_at": deadline, "api_key_id": api_key_id})
    return Submitted(report_id, public_id, True, deadline, found)


def _history(conn: Connection, report_id: int, user: Mapping[str, Any] | None, status_from: str | None,
             status_to: str | None, note: str | None, *, public: bool = True, at: dt.datetime | None = None) -> None:
    conn.execute(sa.text(
        "INSERT INTO field_report_update (report_id, at, user_id, status_from, status_to, note, is_public) "
        "VALUES (:r, COALESCE(:at, clock_timestamp()), :u, :f, :t, :n, :p)"),
        {"r": report_id, "at": at, "u": (user or {}).get("id"), "f": status_from, "t": status_to,
         "n": note, "p": public})


# --- workflow -----------------------------------------------------------------------------


def _lock(conn: Connection, report_id: int) -> Mapping[str, Any]:
    row = conn.execute(sa.text(
        "SELECT id, public_id, ward_id, status, assignee_id, duplicate_of_id, deadline_at, resolved_at "
        "FROM field_report WHERE id = :id FOR UPDATE"), {"id": report_id}).mappings().first()
    if row is None:
        raise NotFound(f"#{report_id}")
    return row


def transition(
    bind: Bind,
    report_id: int,
    to_status: str,
    *,
    user: Mapping[str, Any] | None,
    note: str | None = None,
    public: bool = True,
) -> dict[str, Any]:
    """Move a report to ``to_status`` if :data:`TRANSITIONS` allows it; returns the new state."""
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
        extra = ", updated_at = now()"
        if to_status in DONE_STATUSES and before["resolved_at"] is None:
            extra += ", resolved_at = now()"
        elif to_status in OPEN_STATUSES:
            extra += ", resolved_at = NULL"
        if to_status == "received" and before["status"] in SET_ASIDE_STATUSES:
            extra += ", duplicate_of_id = NULL"
        conn.execute(sa.text(f"UPDATE field_report SET status = :status{extra} WHERE id = :id"),
                     {"status": to_status, "id": report_id})
        _history(conn, report_id, user, before["status"], to_status, note, public=public)
        audit.record(conn, action="status", entity_type="field_report", entity_id=report_id, user=user,
                     before={"status": before["status"]}, after={"status": to_status}, note=note)
        return dict(_lock(conn, report_id))


def assign(
    bind: Bind, report_id: int, assignee_id: int, *, user: Mapping[str, Any] | None, note: str | None = None,
) -> dict[str, Any]:
    """Give a report to a staff member; an unassigned open report becomes ``assigned``."""
    note = clean_text(note) or None
    with db.transaction(bind) as conn:
        before = _lock(conn, report_id)
        if before["status"] not in OPEN_STATUSES:
            raise ReportError(f"Phản ánh đang ở trạng thái '{before['status']}', không thể phân công.",
                              f"The report is '{before['status']}' and cannot be assigned.", "assignee")
        person = conn.execute(sa.text(
            "SELECT id, full_name, username FROM app_user WHERE id = :u AND is_active"),
            {"u": assignee_id}).mappings().first()
        if person is None:
            raise ReportError(f"Cán bộ #{assignee_id} không tồn tại hoặc đã bị khóa.",
                              f"Staff user #{assignee_id} does not exist or is disabled.", "assignee")
        to_status = "assigned" if before["status"] in ("new", "received") else before["status"]
        conn.execute(sa.text(
            "UPDATE field_report SET assignee_id = :a, status = :s, updated_at = now() WHERE id = :id"),
            {"a": assignee_id, "s": to_status, "id": report_id})
        _history(conn, report_id, user, None, None, note or f"Phân công cho {person['full_name']}", public=False)
        if to_status != before["status"]:
            _history(conn, report_id, user, before["status"], to_status, "Đã phân công cán bộ xử lý", public=True)
        audit.record(conn, action="assign", entity_type="field_report", entity_id=report_id, user=user,
                     before={"assignee_id": before["assignee_id"], "status": before["status"]},
                     after={"assignee_id": assignee_id, "status": to_status}, note=note)
        return dict(_lock(conn, report_id))


def mark_duplicate(
    bind: Bind, report_id: int, original_id: int, *, user: Mapping[str, Any] | None, note: str | None = None,
) -> dict[str, Any]:
    """Mark ``report_id`` a duplicate of ``original_id`` (followed to the root of its own chain)."""
    note = clean_text(note) or None
    with db.transaction(bind) as conn:
        before = _lock(conn, report_id)
        if "duplicate" not in TRANSITIONS[before["status"]]:
            raise ReportError(f"Phản ánh ở trạng thái '{before['status']}' không thể đánh dấu trùng.",
                              f"A '{before['status']}' report cannot be marked duplicate.", "status",
                              code="transition")
        root = conn.execute(sa.text(
            "WITH RECURSIVE chain(id, dup, depth) AS ("
            " SELECT id, duplicate_of_id, 0 FROM field_report WHERE id = :o"
            " UNION ALL SELECT f.id, f.duplicate_of_id, c.depth + 1 FROM field_report f JOIN chain c ON f.id = c.dup"
            " WHERE c.depth < 50) "
            "SELECT c.id, f.public_id, f.ward_id FROM chain c JOIN field_report f USING (id) "
            "WHERE c.dup IS NULL LIMIT 1"), {"o": original_id}).mappings().first()
        if root is None:
            raise NotFound(f"#{original_id}")
        if root["id"] == report_id:
            raise ReportError("Không thể đánh dấu phản ánh trùng với chính nó.",
                              "A report cannot be a duplicate of itself.", "duplicate_of")
        if root["ward_id"] != before["ward_id"]:
            raise ReportError("Phản ánh gốc thuộc phường khác.", "The original report is in another ward.",
                              "duplicate_of")
        conn.execute(sa.text(
            "UPDATE field_report SET status = 'duplicate', duplicate_of_id = :o, resolved_at = now(), "
            "updated_at = now() WHERE id = :id"), {"o": root["id"], "id": report_id})
        # reports that pointed at this one now point at the root
        conn.execute(sa.text("UPDATE field_report SET duplicate_of_id = :o WHERE duplicate_of_id = :id"),
                     {"o": root["id"], "id": report_id})
        _history(conn, report_id, user, before["status"], "duplicate",
                 f"Trùng với phản ánh {root['public_id']}" + (f" — {note}" if note else ""))
        audit.record(conn, action="duplicate", entity_type="field_report", entity_id=report_id, user=user,
                     before={"status": before["status"], "duplicate_of_id": before["duplicate_of_id"]},
                     after={"status": "duplicate", "duplicate_of_id": root["id"]}, note=note)
        return dict(_lock(conn, report_id))


def add_note(bind: Bind, report_id: int, note: str, *, user: Mapping[str, Any] | None, public: bool = False) -> None:
    """A history entry without a status change (internal by default)."""
    note = clean_text(note)
    if not note:
        raise ReportError("Ghi chú đang trống.", "The note is empty.", "note")
    with db.transaction(bind) as conn:
        _lock(conn, report_id)
        _history(conn, report_id, user, None, None, note, public=public)
        audit.record(conn, action="note", entity_type="field_report", entity_id=report_id, user=user, note=note)


# --- reading ------------------------------------------------------------------------------


def nearby_similar(
    conn: Connection,
    *,
    ward_id: int,
    category: str,
    lon: float,
    lat: float,
    at: dt.datetime | None = None,
    exclude_id: int | None = None,
    radius_m: float = DUPLICATE_RADIUS_M,
    days: int = DUPLICATE_DAYS,
) -> list[dict[str, Any]]:
    """Possible duplicates: same category within ``radius_m`` reported in the ``days`` before ``at``,
    still open or closed within those days; nearest first."""
    at = at or _now()
    rows = conn.execute(sa.text(
        "SELECT o.id, o.public_id, o.status, o.reported_at, o.resolved_at, o.description, "
        " ST_Distance(geography(o.geom), geography(p.g)) AS distance_m "
        "FROM field_report o, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p "
        "WHERE " + _similar_where("o", ward=":w", category=":c", geog="geography(p.g)", at="CAST(:at AS timestamptz)",
                                  exclude="CAST(:x AS int)")
        + " ORDER BY distance_m, o.reported_at DESC LIMIT 20"),
        {"lon": lon, "lat": lat, "w": ward_id, "c": category, "x": exclude_id, "at": at,
         **_similar_params(radius_m, days)}).mappings()
    return [dict(r) for r in rows]


def _similar_where(o: str, *, ward: str, category: str, geog: str, at: str, exclude: str) -> str:
    """The one duplicate rule as SQL over alias ``o`` (the possible original), for a report given by
    SQL expressions (bind parameters or another row's columns): same ward and category, within
    ``:dup_r`` metres, reported in the ``:dup_days`` days up to ``at``, still open or closed within
    those days. :func:`nearby_similar` and the work list's flag share it."""
    since = f"({at} - make_interval(days => CAST(:dup_days AS int)))"
    return (f"{o}.ward_id = {ward} AND {o}.category = {category} AND {o}.id IS DISTINCT FROM {exclude} "
            f"AND ST_DWithin(geography({o}.geom), {geog}, :dup_r) "
            f"AND {o}.reported_at BETWEEN {since} AND ({at} + interval '1 second') "
            f"AND ({o}.status = ANY(:dup_open) OR ({o}.status = ANY(:dup_done) "
            f"AND COALESCE({o}.resolved_at, {o}.updated_at) >= {since}))")


def _similar_params(radius_m: float = DUPLICATE_RADIUS_M, days: int = DUPLICATE_DAYS) -> dict[str, Any]:
    return {"dup_r": float(radius_m), "dup_days": int(days), "dup_open": list(OPEN_STATUSES),
            "dup_done": list(DONE_STATUSES)}


def suggest_duplicates(conn: Connection, report_id: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Possible duplicates of a stored report (see :func:`nearby_similar`)."""
    r = conn.execute(sa.text(
        "SELECT ward_id, category, ST_X(geom) lon, ST_Y(geom) lat, reported_at FROM field_report WHERE id = :id"),
        {"id": report_id}).mappings().first()
    if r is None:
        raise NotFound(f"#{report_id}")
    return nearby_similar(conn, ward_id=r["ward_id"], category=r["category"], lon=r["lon"], lat=r["lat"],
                          at=r["reported_at"], exclude_id=report_id, **kwargs)


_LIST_COLUMNS = (
    "f.id, f.public_id, f.category, f.status, f.channel, f.description, f.reported_at, f.deadline_at, "
    "f.resolved_at, f.assignee_id, u.full_name AS assignee_name, f.duplicate_of_id, f.establishment_id, "
    "f.address, f.reporter_name, f.reporter_contact, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, f.updated_at"
)


def work_list(
    conn: Connection | Engine,
    ward_id: int,
    *,
    statuses: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    assignee_id: int | None = None,
    overdue_only: bool = False,
    due_within_hours: float | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    ids: Sequence[int] | None = None,
    now: dt.datetime | None = None,
    limit: int = 1000,
    with_duplicates: bool = False,
) -> list[dict[str, Any]]:
    """Reports of a ward for the staff work lists, most urgent deadline first.

    ``with_duplicates``: each row also gets ``likely_duplicate``, True when the report is open and
    :func:`suggest_duplicates` would find something for it (an EXISTS in the same query, not one
    query per row)."""
    now = now or _now()
    where = ["f.ward_id = :w"]
    params: dict[str, Any] = {"w": ward_id, "now": now, "n": limit}
    columns = _LIST_COLUMNS
    if with_duplicates:
        columns += (", (f.status = ANY(:dup_open) AND EXISTS (SELECT 1 FROM field_report o WHERE "
                    + _similar_where("o", ward="f.ward_id", category="f.category", geog="geography(f.geom)",
                                     at="f.reported_at", exclude="f.id")
                    + ")) AS likely_duplicate")
        params.update(_similar_params())
    if statuses:
        where.append("f.status = ANY(:st)")
        params["st"] = list(statuses)
    if categories:
        where.append("f.category = ANY(:cat)")
        params["cat"] = list(categories)
    if assignee_id is not None:
        where.append("f.assignee_id = :a")
        params["a"] = assignee_id
    if overdue_only or due_within_hours is not None:
        where.append("f.status = ANY(:open) AND f.deadline_at IS NOT NULL")
        params["open"] = list(OPEN_STATUSES)
    if overdue_only:
        where.append("f.deadline_at < :now")
    if due_within_hours is not None:
        where.append("f.deadline_at >= :now AND f.deadline_at < :soon")
        params["soon"] = now + dt.timedelta(hours=due_within_hours)
    if since is not None:
        where.append("f.reported_at >= :since")
        params["since"] = since
    if until is not None:
        where.append("f.reported_at < :until")
        params["until"] = until
    if ids is not None:
        where.append("f.id = ANY(:ids)")
        params["ids"] = [int(i) for i in ids]
    sql = (f"SELECT {columns} FROM field_report f LEFT JOIN app_user u ON u.id = f.assignee_id "
           f"WHERE {' AND '.join(where)} ORDER BY f.deadline_at NULLS LAST, f.reported_at LIMIT :n")
    with _read(conn) as c:
        return [dict(r) for r in c.execute(sa.text(sql), params).mappings()]


def overdue(conn: Connection | Engine, ward_id: int, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open reports whose deadline has passed."""
    return work_list(conn, ward_id, overdue_only=True, now=now)


def due_soon(conn: Connection | Engine, ward_id: int, *, hours: float = 24,
             now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open reports due within ``hours``."""
    return work_list(conn, ward_id, due_within_hours=hours, now=now)


@contextmanager
def _read(bind: Connection | Engine) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as c:
            yield c


def get(conn: Connection | Engine, report_id: int) -> dict[str, Any]:
    """One report with its full (internal) history and photo ids."""
    with _read(conn) as c:
        rows = work_list(c, _ward_of(c, report_id), ids=[report_id])
        if not rows:
            raise NotFound(f"#{report_id}")
        report = rows[0]
        report["history"] = [dict(r) for r in c.execute(sa.text(
            "SELECT h.at, h.status_from, h.status_to, h.note, h.is_public, u.full_name AS by_name "
            "FROM field_report_update h LEFT JOIN app_user u ON u.id = h.user_id "
            "WHERE h.report_id = :r ORDER BY h.id"), {"r": report_id}).mappings()]
        report["photo_ids"] = list(c.execute(sa.text(
            "SELECT id FROM field_report_photo WHERE report_id = :r ORDER BY id"), {"r": report_id}).scalars())
        if report["duplicate_of_id"]:
            report["duplicate_of_public_id"] = c.execute(sa.text(
                "SELECT public_id FROM field_report WHERE id = :d"), {"d": report["duplicate_of_id"]}).scalar()
        return report


def hidden_fields(user: Mapping[str, Any] | None) -> frozenset[str]:
    """Personal fields of a report (reporter name, contact: ``Field.personal`` on the ``field_reports``
    layer) that ``user`` may not see, by the project's one rule, :func:`geomap.auth.visible_fields`
    (only roles holding ``view_personal``; not inspectors, not the public)."""
    import layers
    from geomap import auth

    layer = layers.get("field_reports")
    visible = {f.name for f in auth.visible_fields(layer, user)}
    return frozenset(f.name for f in layer.personal_fields if f.name not in visible)


def redact_for(report: Mapping[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
    """A report (from :func:`get` or :func:`work_list`) without the personal fields ``user`` may not see."""
    hide = hidden_fields(user)
    return {k: v for k, v in report.items() if k not in hide}


def _ward_of(conn: Connection, report_id: int) -> int:
    w = conn.execute(sa.text("SELECT ward_id FROM field_report WHERE id = :id"), {"id": report_id}).scalar()
    if w is None:
        raise NotFound(f"#{report_id}")
    return int(w)


def public_view(conn: Connection | Engine, public_id: str) -> dict[str, Any] | None:
    """What the tracking page may show: status, deadline, public history; no personal data."""
    with _read(conn) as c:
        r = c.execute(sa.text(
            "SELECT f.id, f.public_id, f.category, f.status, f.channel, f.description, f.reported_at, f.deadline_at, "
            "f.resolved_at, f.updated_at, ST_X(f.geom) lon, ST_Y(f.geom) lat, w.name AS ward_name, "
            "d.public_id AS duplicate_of_public_id, e.name AS establishment_name, "
            "(SELECT count(*) FROM field_report_photo p WHERE p.report_id = f.id) AS photos "
            "FROM field_report f JOIN ward w ON w.id = f.ward_id "
            "LEFT JOIN field_report d ON d.id = f.duplicate_of_id "
            "LEFT JOIN establishment e ON e.id = f.establishment_id WHERE f.public_id = :p"),
            {"p": public_id}).mappings().first()
        if r is None:
            return None
        view = dict(r)
        view["history"] = [dict(h) for h in c.execute(sa.text(
            "SELECT at, status_from, status_to, note FROM field_report_update "
            "WHERE report_id = :r AND is_public ORDER BY id"), {"r": view["id"]}).mappings()]
        del view["id"]
        return view


def photo(conn: Connection | Engine, public_id: str, n: int) -> tuple[bytes, str] | None:
    """The ``n``-th (1-based) photo of a report, EXIF already stripped at intake."""
    with _read(conn) as c:
        row = c.execute(sa.text(
            "SELECT p.content, p.media_type FROM field_report_photo p JOIN field_report f ON f.id = p.report_id "
            "WHERE f.public_id = :p ORDER BY p.id OFFSET :o LIMIT 1"), {"p": public_id, "o": max(n - 1, 0)}).first()
    return (bytes(row.content), row.media_type) if row else None


def staff(conn: Connection | Engine, ward_id: int | None = None) -> list[dict[str, Any]]:
    """Active staff users a report can be assigned to."""
    with _read(conn) as c:
        rows = c.execute(sa.text(
            "SELECT id, username, full_name, role FROM app_user WHERE is_active "
            "AND (:w IS NULL OR ward_id IS NULL OR ward_id = :w) ORDER BY full_name"), {"w": ward_id}).mappings()
        return [dict(r) for r in rows]


def establishment_for_token(conn: Connection | Engine, token: str, *,
                            include_revoked: bool = False) -> dict[str, Any] | None:
    """The establishment behind a QR token or short code (a stall's code leads to its trader).

    None if unknown, or revoked (reissued codes included) unless ``include_revoked``: the revoked
    page's "report this sticker" link needs the ward and establishment the sticker was issued
    for. The mapping carries the sticker's ``short_code`` and ``revoked`` (True for such a code)."""
    if not token or len(token) > 64:
        return None
    with _read(conn) as c:
        row = c.execute(sa.text(
            "SELECT e.id, e.name, e.address, e.ward_id, ST_X(COALESCE(e.geom, s.geom)) lon, "
            "ST_Y(COALESCE(e.geom, s.geom)) lat, q.short_code, q.revoked_at IS NOT NULL AS revoked FROM qr_code q "
            "LEFT JOIN stall s ON s.id = q.stall_id "
            "JOIN establishment e ON e.id = COALESCE(q.establishment_id, s.establishment_id) "
            "WHERE (q.token = :t OR q.short_code = :t) AND (:rev OR q.revoked_at IS NULL) LIMIT 1"),
            {"t": token, "rev": include_revoked}).mappings().first()
    return dict(row) if row else None


def revoked_sticker_note(short_code: str) -> str:
    """The line that opens a report sent from a revoked sticker's page, naming the sticker for the ward."""
    return f"[Phản ánh từ tem QR đã thu hồi {short_code} / reported from revoked QR sticker {short_code}]"


# --- API keys (Open311 and other third-party clients) -------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(bind: Bind, name: str, scopes: Sequence[str], *, user: Mapping[str, Any] | None = None) -> str:
    """A new key; only its sha256 is stored, so the returned plaintext is shown once."""
    name = clean_text(name)
    if not name:
        raise ReportError("Hãy đặt tên cho khóa API.", "Give the API key a name.", "name")
    key = "gm_" + secrets.token_urlsafe(32)
    with db.transaction(bind) as conn:
        key_id = conn.execute(sa.text(
            "INSERT INTO api_key (name, key_hash, scopes) VALUES (:n, :h, :s) RETURNING id"),
            {"n": name, "h": _key_hash(key), "s": list(scopes)}).scalar_one()
        audit.record(conn, action="create", entity_type="api_key", entity_id=key_id, user=user,
                     after={"name": name, "scopes": list(scopes)})
    return key


def check_api_key(conn: Connection | Engine, key: str | None, scope: str) -> int | None:
    """The id of an unrevoked key holding ``scope``; None otherwise."""
    if not key or len(key) > 200:
        return None
    with _read(conn) as c:
        found = c.execute(sa.text(
            "SELECT id FROM api_key WHERE key_hash = :h AND revoked_at IS NULL AND :s = ANY(scopes)"),
            {"h": _key_hash(key), "s": scope}).scalar()
    return int(found) if found is not None else None


def revoke_api_key(bind: Bind, key_id: int, *, user: Mapping[str, Any] | None = None) -> None:
    with db.transaction(bind) as conn:
        n = conn.execute(sa.text(
            "UPDATE api_key SET revoked_at = now() WHERE id = :i AND revoked_at IS NULL"), {"i": key_id}).rowcount
        if not n:
            raise ReportError(f"Không có khóa API #{key_id} đang hoạt động.", f"No active API key #{key_id}.", "id")
        audit.record(conn, action="revoke", entity_type="api_key", entity_id=key_id, user=user)


def list_api_keys(conn: Connection | Engine) -> list[dict[str, Any]]:
    with _read(conn) as c:
        return [dict(r) for r in c.execute(sa.text(
            "SELECT id, name, scopes, created_at, revoked_at FROM api_key ORDER BY id")).mappings()]


# --- Open311 reads ---------------------------------------------------------------------------


def requests_for_open311(
    conn: Connection | Engine,
    *,
    public_ids: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: Sequence[str] | None = None,
    ward_id: int | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Reports with what GeoReport v2 shows (no personal data), newest first.

    ``public_ids`` given: only those, other filters ignored (as the spec says).
    """
    where = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    if public_ids:
        where.append("f.public_id = ANY(:ids)")
        params["ids"] = list(public_ids)
    else:
        if categories:
            where.append("f.category = ANY(:cat)")
            params["cat"] = list(categories)
        if start is not None:
            where.append("f.reported_at >= :start")
            params["start"] = start
        if end is not None:
            where.append("f.reported_at <= :end")
            params["end"] = end
        if statuses:
            where.append("f.status = ANY(:st)")
            params["st"] = list(statuses)
    if ward_id is not None:
        where.append("f.ward_id = :w")
        params["w"] = ward_id
    sql = (
        "SELECT f.public_id, f.category, f.status, f.description, f.reported_at, f.updated_at, f.deadline_at, "
        "f.resolved_at, f.address, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, w.name AS ward_name, "
        "d.public_id AS duplicate_of_public_id, "
        "(SELECT count(*) FROM field_report_photo p WHERE p.report_id = f.id) AS photos, "
        "(SELECT u.note FROM field_report_update u WHERE u.report_id = f.id AND u.is_public AND u.note IS NOT NULL "
        " ORDER BY u.id DESC LIMIT 1) AS last_note, "
        "(SELECT max(u.at) FROM field_report_update u WHERE u.report_id = f.id) AS last_update "
        "FROM field_report f JOIN ward w ON w.id = f.ward_id LEFT JOIN field_report d ON d.id = f.duplicate_of_id "
        f"WHERE {' AND '.join(where)} ORDER BY f.reported_at DESC, f.id DESC LIMIT :n")
    with _read(conn) as c:
        return [dict(r) for r in c.execute(sa.text(sql), params).mappings()]


def report_points(
    conn: Connection | Engine,
    ward_id: int,
    *,
    since: dt.datetime,
    until: dt.datetime,
    categories: Sequence[str] | None = None,
    include_set_aside: bool = False,
) -> Any:
    """Report points (id, lon, lat, reported_at, category, status) of a ward for the hotspot layers.

    Duplicates and not-the-ward's reports are left out by default: a duplicate would count one
    problem twice."""
    import pandas as pd

    where = ["ward_id = :w", "reported_at >= :since", "reported_at < :until"]
    params: dict[str, Any] = {"w": ward_id, "since": since, "until": until}
    if categories:
        where.append("category = ANY(:cat)")
        params["cat"] = list(categories)
    if not include_set_aside:
        where.append("status <> ALL(:aside)")
        params["aside"] = list(SET_ASIDE_STATUSES)
    sql = ("SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, reported_at, category, status FROM field_report "
           f"WHERE {' AND '.join(where)}")
    with _read(conn) as c:
        return pd.DataFrame(c.execute(sa.text(sql), params).mappings().all(),
                            columns=["id", "lon", "lat", "reported_at", "category", "status"])


def hotspot_layers(
    conn: Connection | Engine,
    ward_id: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    categories: Sequence[str] | None = None,
    grid: Any = None,
    permutations: int | None = None,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> tuple[Any, Any]:
    """Hotspot analysis of a ward's reports in [start, end) (and the window before, for the trend).

    Returns ``(analysis, points)``: a :class:`geomap.hotspots.HotspotAnalysis` and the current
    window's points for the heatmap."""
    from shapely import wkb

    from geomap import hotspots

    prev_start = start - (end - start)
    points = report_points(conn, ward_id, since=prev_start, until=end, categories=categories)
    with _read(conn) as c:
        row = c.execute(sa.text("SELECT ST_AsBinary(geom) AS g, local_srid FROM ward WHERE id = :w"),
                        {"w": ward_id}).one()
    area = wkb.loads(bytes(row.g))
    grid = grid or hotspots.Grid()
    if grid.kind == "square":  # squares in the ward's own local CRS: the ids its links carry mean the same squares
        grid = dataclasses.replace(grid, srid=int(row.local_srid))
    analysis = hotspots.analyse(points, area=area, start=start, end=end, grid=grid,
                                permutations=hotspots.PERMUTATIONS if permutations is None else permutations,
                                alpha=alpha, seed=seed)
    current = points[pd_between(points["reported_at"], start, end)]
    return analysis, current


def pd_between(values: Any, start: dt.datetime, end: dt.datetime) -> Any:
    import pandas as pd

    t = pd.to_datetime(values, utc=True)
    return (t >= pd.Timestamp(start)) & (t < pd.Timestamp(end))


def reports_in_cells(
    conn: Connection | Engine,
    ward_id: int,
    cells: Sequence[str],
    *,
    since: dt.datetime,
    until: dt.datetime,
    categories: Sequence[str] | None = None,
    with_duplicates: bool = False,
) -> list[dict[str, Any]]:
    """The reports behind hotspot cells (what a hotspot links to), most urgent first.

    Square cell ids are read in the ward's local CRS, as :func:`hotspot_layers` lays them. The
    cells must all be of one grid (:class:`ReportError` otherwise: the others would match nothing)."""
    if not cells:
        return []
    with _read(conn) as c:
        srid = c.execute(sa.text("SELECT local_srid FROM ward WHERE id = :w"), {"w": ward_id}).scalar()
    if srid is None:
        return []
    grid = one_grid(cells, srid=int(srid))
    points = report_points(conn, ward_id, since=since, until=until, categories=categories)
    if points.empty:
        return []
    inside = set(cells)
    mask = [c in inside for c in grid.assign(points["lon"].to_numpy(), points["lat"].to_numpy())]
    ids = points.loc[mask, "id"].tolist()
    return work_list(conn, ward_id, ids=ids, with_duplicates=with_duplicates) if ids else []


def one_grid(cells: Sequence[str], *, srid: int) -> Any:
    """The one :class:`geomap.hotspots.Grid` all ``cells`` belong to (squares laid in ``srid``).

    Cells of different grids (H3 and squares, two H3 resolutions, two square sizes) raise
    :class:`ReportError` (field ``cell``): a cell list is matched against one grid only."""
    from geomap import hotspots

    grids: dict[Any, str] = {}
    for cell in cells:
        grids.setdefault(hotspots.grid_of(cell, srid=srid), cell)
    if len(grids) > 1:
        kinds = ", ".join(f"{_grid_name(g)} ('{c[:20]}')" for g, c in grids.items())
        raise ReportError(f"Liên kết trộn ô của nhiều lưới khác nhau: {kinds}; mọi ô phải cùng một lưới.",
                          f"The link mixes cells of different grids: {kinds}; all cells must be of one grid.",
                          "cell")
    return next(iter(grids))


def _grid_name(grid: Any) -> str:
    return f"H3 r{grid.resolution}" if grid.kind == "h3" else f"{grid.cell_m:g} m"


# --- hotspot -> report list links ---------------------------------------------------------------

#: the staff page listing reports (``geomap.ui.pages.reports``)
REPORTS_PAGE = "/reports"
#: most cells a link may name (a hotspot is a few dozen cells)
MAX_LINK_CELLS = 2000
#: ``ward``: the query parameter naming a link's ward by its slug (:mod:`geomap.links`); the staff app's
#: router selects that ward, so a link opened in a new tab (a new session) lists the right ward's reports
WARD_PARAM = links.WARD_PARAM
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class CellFilter:
    """What a hotspot link asks the report list for: reports in ``cells`` in [since, until), in
    ward ``ward`` (its slug; None for a link that does not say)."""

    cells: tuple[str, ...]
    since: dt.datetime
    until: dt.datetime
    categories: tuple[str, ...] = ()
    ward: str | None = None


def cells_link(cells: Sequence[str], *, ward: str | None, since: dt.datetime, until: dt.datetime,
               categories: Sequence[str] | None = None, page: str = REPORTS_PAGE) -> str:
    """``/reports?ward=…&cell=…&since=…&until=…[&category=…]``, URL-encoded: the ``+`` of a ``+07:00``
    offset becomes ``%2B`` (unencoded, query parsing would turn it into a space). ``ward``, the
    ward's slug, has no default: a caller must say it (a square cell id means nothing without its
    ward; None leaves the parameter out). :func:`parse_cells_link` reads it back."""
    from urllib.parse import urlencode

    query: dict[str, str] = {WARD_PARAM: ward} if ward else {}
    query.update({"cell": ",".join(cells), "since": since.isoformat(), "until": until.isoformat()})
    if categories:
        query["category"] = ",".join(categories)
    return f"{page}?{urlencode(query, safe=',:')}"


_OFFSET_LOST_PLUS = re.compile(r"^(.*\d)\s(\d{2}:?\d{2})$")


def _link_time(value: str, name: str) -> dt.datetime:
    text = value.strip()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        # an old, unencoded link: "…T00:00:00+07:00" arrives as "…T00:00:00 07:00"
        m = _OFFSET_LOST_PLUS.match(text)
        try:
            when = dt.datetime.fromisoformat(f"{m.group(1)}+{m.group(2)}") if m else None
        except ValueError:
            when = None
        if when is None:
            shown = value[:40]
            raise ReportError(
                f"Liên kết có '{name}' không phải ngày giờ hợp lệ ('{shown}'); dùng dạng 2026-03-01T00:00:00+07:00.",
                f"The link's '{name}' is not a valid date and time ('{shown}'); use e.g. 2026-03-01T00:00:00+07:00.",
                name) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL_TZ)


def parse_cells_link(params: Mapping[str, str | None], *, now: dt.datetime | None = None,
                     default_days: int = 90) -> CellFilter | None:
    """The :class:`CellFilter` in a page's query parameters (None: the link names no cell).

    Bad cells (or cells of more than one grid), dates, categories or ward slug raise
    :class:`ReportError` with a message for the page; a missing ``until`` is now, a missing
    ``since`` ``default_days`` before ``until``."""
    from geomap import hotspots

    cells = tuple(dict.fromkeys(c.strip() for c in (params.get("cell") or "").split(",") if c.strip()))
    if not cells:
        return None
    if len(cells) > MAX_LINK_CELLS:
        raise ReportError(f"Liên kết có quá nhiều ô lưới ({len(cells):,}; tối đa {MAX_LINK_CELLS:,}).",
                          f"The link names too many grid cells ({len(cells):,}; at most {MAX_LINK_CELLS:,}).",
                          "cell")
    bad = next((c for c in cells if not hotspots.is_cell_id(c)), None)
    if bad is not None:
        raise ReportError(f"Liên kết có mã ô lưới không hợp lệ ('{bad[:40]}').",
                          f"The link has an invalid grid cell id ('{bad[:40]}').", "cell")
    one_grid(cells, srid=hotspots.Grid().srid)  # any CRS: only the kind, resolution and size are compared
    ward = (params.get(WARD_PARAM) or "").strip() or None
    if ward is not None and not _SLUG.fullmatch(ward):
        raise ReportError(f"Liên kết có mã phường không hợp lệ ('{ward[:40]}').",
                          f"The link has an invalid ward slug ('{ward[:40]}').", WARD_PARAM)
    until = _link_time(params["until"], "until") if params.get("until") else (now or _now())
    since = (_link_time(params["since"], "since") if params.get("since")
             else until - dt.timedelta(days=default_days))
    if since >= until:
        raise ReportError("Trong liên kết, 'since' phải trước 'until'.",
                          "In the link, 'since' must come before 'until'.", "since")
    categories = tuple(c.strip() for c in (params.get("category") or "").split(",") if c.strip())
    unknown = [c for c in categories if c not in REPORT_CATEGORIES]
    if unknown:
        raise ReportError(f"Liên kết có lĩnh vực không tồn tại: {', '.join(unknown)[:80]}.",
                          f"The link names unknown categories: {', '.join(unknown)[:80]}.", "category")
    return CellFilter(cells=cells, since=since, until=until, categories=categories, ward=ward)
