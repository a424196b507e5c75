"""Report intake: check a submission, store it with its photos, history and audit entry.

One service for every channel (the public form, the staff form, Open311, a QR sticker's link):
:func:`validate` checks the fields (the first problem raises :class:`~geomap.field_reports.ReportError`
naming the field), :func:`submit` stores the report in one transaction. Also here: the tracking codes
(:func:`new_public_id`), the duplicate suggestions shown while triaging, and
:func:`establishment_for_token`, the establishment a QR sticker's report is about.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geomap import audit, db, profiles
from geomap.errors import GeomapError
from geomap.field_reports import DUPLICATE_DAYS, DUPLICATE_RADIUS_M, NotFound, ReportError, data, retention
from geomap.field_reports.deadlines import deadline_for
from geomap.field_reports.photos import MAX_PHOTOS, Photo
from geomap.models import REPORT_CATEGORIES, REPORT_CHANNELS
from geomap.text import clean_text
from geomap.users import User
from geomap.wards import data as ward_data

DESCRIPTION_MAX = 2000
CONTACT_MAX = 200
#: a replayed submission within this many seconds returns the report it already created
REPLAY_WINDOW_S = 60
_PUBLIC_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read over the phone


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_public_id(choice: Callable[[str], str] = secrets.choice) -> str:
    """An unguessable tracking code such as ``PA-7KQ2-M9XD-R4TB`` (60 bits).

    ``choice`` picks one character of the alphabet: :func:`secrets.choice` for real reports; the
    demo passes its seeded generator so its reports have ids of the very same shape.
    """
    raw = "".join(choice(_PUBLIC_ALPHABET) for _ in range(12))
    return f"PA-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


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
    #: the reporter agreed to the purpose notice (:mod:`.retention`); only when a name or contact is given
    consent: bool = False
    #: the language the reporter used on the form (``vi``/``en``); None from other channels (the staff form,
    #: Open311): their status mails are then in the configured language
    lang: str | None = None


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
    consent: bool = False,
    lang: str | None = None,
) -> ReportInput:
    """Check a submission field by field; the first problem raises :class:`ReportError`.

    A reporter name or contact needs ``consent`` (the reporter agreed to the purpose notice,
    :func:`geomap.field_reports.retention.check_consent`); without either no consent is asked or kept."""
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
    agreed = retention.check_consent(contact_fields["reporter_name"], contact_fields["reporter_contact"], consent)
    return ReportInput(category=category, description=text, lat=lat_f, lon=lon_f, channel=channel,
                       establishment_id=establishment_id, photos=tuple(photos), consent=agreed,
                       lang=lang if lang in ("vi", "en") else None, **contact_fields)


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


def submit(
    bind: db.Bind,
    report: ReportInput,
    *,
    ward_id: int | None = None,
    ward_slug: str | None = None,
    client: str | None = None,
    user: User | None = None,
    api_key_id: int | None = None,
    at: dt.datetime | None = None,
) -> Submitted:
    """Store a validated report with its photos, first history step and audit entry.

    The location must lie inside ``ward_id``, or inside the ward ``ward_slug`` when that ward is
    loaded (the public form names its ward by slug: the id changes when the ward is reloaded), or,
    with neither, inside some loaded ward. The same content from the same ``client`` within
    :data:`REPLAY_WINDOW_S` returns the first report instead of a second one (an advisory lock on
    the fingerprint makes this hold for concurrent replays too).
    """
    at = at or _now()
    digest = submission_hash(report, client)
    since = at - dt.timedelta(seconds=REPLAY_WINDOW_S)
    with db.transaction(bind) as conn:
        # few round trips: this is the public hot path (lock + ward in one, report + history in one)
        first = data.lock_submission_and_find_ward(conn, digest, ward_id=ward_id, ward_slug=ward_slug,
                                                   lon=report.lon, lat=report.lat)
        found = first.id
        deadline = None
        if found is not None:
            try:
                deadline = deadline_for(report.category, at, profiles.get(first.slug).report_deadline_days)
            except GeomapError:
                deadline = None
        public_id = new_public_id()
        report_id = data.insert_report(conn, {
            "ward_id": found, "public_id": public_id, "category": report.category, "description": report.description,
            "channel": report.channel, "at": at, "deadline": deadline, "establishment_id": report.establishment_id,
            "reporter_name": report.reporter_name, "reporter_contact": report.reporter_contact,
            "address": report.address, "consent_at": at if report.consent else None,
            "notice": retention.NOTICE_VERSION if report.consent else None, "h": digest, "api_key_id": api_key_id,
            "lon": report.lon, "lat": report.lat, "lang": report.lang,
            "since": since, "user_id": user.id if user is not None else None,
            "note": None})  # the channel is told from the report's own column, in the reader's language
        if report_id is None:
            earlier = data.earlier_submission(conn, digest, since)
            if earlier is not None:
                return Submitted(earlier.id, earlier.public_id, False, earlier.deadline_at, earlier.ward_id)
            found = (ward_data.ward_by_id(conn, ward_id) if ward_id is not None
                     else ward_data.ward_by_slug(conn, ward_slug) if ward_slug is not None else None)
            name = found["name"] if found else None
            where = name or "phường"
            raise ReportError(
                f"Vị trí ({report.lat:.5f}, {report.lon:.5f}) nằm ngoài {where}; hãy chọn điểm trong phường.",
                f"The location ({report.lat:.5f}, {report.lon:.5f}) is outside {name or 'the ward'}; "
                "choose a point inside the ward.", "location", code="outside_ward")
        if report.photos:
            data.insert_photos(conn, report_id, report.photos)
        audit.record(conn, action="create", entity_type="field_report", entity_id=report_id, user=user,
                     after={"public_id": public_id, "category": report.category, "channel": report.channel,
                            "consent_notice": retention.NOTICE_VERSION if report.consent else None,
                            "lat": report.lat, "lon": report.lon, "photos": len(report.photos),
                            "deadline_at": deadline, "api_key_id": api_key_id})
    return Submitted(report_id, public_id, True, deadline, found)


# --- duplicate suggestions ----------------------------------------------------------------------


def nearby_similar(
    bind: db.Bind,
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
    return data.nearby_similar(bind, ward_id=ward_id, category=category, lon=lon, lat=lat, at=at or _now(),
                               exclude_id=exclude_id, radius_m=radius_m, days=days)


def suggest_duplicates(bind: db.Bind, report_id: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Possible duplicates of a stored report (see :func:`nearby_similar`)."""
    r = data.report_place(bind, report_id)
    if r is None:
        raise NotFound(f"#{report_id}")
    return nearby_similar(bind, ward_id=r["ward_id"], category=r["category"], lon=r["lon"], lat=r["lat"],
                          at=r["reported_at"], exclude_id=report_id, **kwargs)


# --- reports from a QR sticker -------------------------------------------------------------------


def establishment_for_token(bind: db.Bind, token: str | None, *,
                            include_revoked: bool = False) -> dict[str, Any] | None:
    """The establishment behind a QR token or short code (a stall's code leads to its trader).

    None if unknown, or revoked (reissued codes included) unless ``include_revoked``: the revoked
    page's "report this sticker" link needs the ward and establishment the sticker was issued
    for. The mapping carries the sticker's ``short_code`` and ``revoked`` (True for such a code)."""
    if not token or len(token) > 64:
        return None
    return data.establishment_for_token(bind, token, include_revoked=include_revoked)


def form_ward(bind: db.Bind, establishment: Mapping[str, Any] | None, *, default_slug: str) -> tuple[str, str]:
    """(name, slug) of the public form's ward: the establishment's ward, else the ward ``default_slug``
    (named from its profile when it is not loaded). Read on every call: a ward's row is replaced when
    the ward is reloaded, so nothing about it is kept."""
    row = ward_data.ward_by_id(bind, establishment["ward_id"]) if establishment else None
    row = row or ward_data.ward_by_slug(bind, default_slug)
    if row is not None:
        return row["name"], row["slug"]
    return profiles.get(default_slug).name, default_slug


def revoked_sticker_note(short_code: str) -> str:
    """The line that opens a report sent from a revoked sticker's page, naming the sticker for the ward."""
    return f"[Phản ánh từ tem QR đã thu hồi {short_code} / reported from revoked QR sticker {short_code}]"


def forged_sticker_note(token: str) -> str:
    """The line that opens a report sent from the page of a code the ward never issued (a forged sticker),
    naming the code (well-formed: :func:`qr.codes.normalize_token`) for the QR scan alert list."""
    return f"[Phản ánh từ tem QR không hợp lệ {token} / reported from invalid QR sticker {token}]"
