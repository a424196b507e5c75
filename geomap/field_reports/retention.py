"""Reporters' personal data: the purpose notice, consent, and erasure after the retention period.

Decree 13/2023/NĐ-CP on personal data protection asks for a stated purpose, the person's consent
and a limit on how long the data is kept. For a field report the personal data are the reporter's
name and contact (optional), the photos they sent, and the addresses in the mail outbox
(:mod:`geomap.field_reports.mail`).

- **Notice.** :func:`notice` is the plain-words text (what we collect, why, who sees it, how long,
  how to ask for deletion) shown on the public form and at ``/report/privacy``, where Open311
  clients show it too. :data:`NOTICE_VERSION` is derived from its wording, so a changed notice is a
  new version by construction.
- **Consent.** Needed only when a name or contact is given (:func:`check_consent`, called by
  :func:`geomap.field_reports.intake.validate` for every channel); the report then records when and
  to which notice version (``contact_consent_at``, ``consent_notice``).
- **Retention.** :func:`purge_personal` (``geomap reports purge-personal --ward X``, for a
  scheduler) erases the name and contact, deletes the photos and blanks the outbox addresses of the
  ward's reports closed more than ``retention_months`` (ward profile, default 12) months ago; in one
  transaction, one audit entry per report (which fields, never their values) and one for the run.
  A report is closed when its status is not open (resolved, closed, duplicate, not the ward's) and
  its closing time is its latest status change. Re-running finds nothing left to erase.

Photos are stored in PostgreSQL (``field_report_photo.content``), not as files. Deleted rows stay
in the table's files until the table is rewritten, so after deleting photos the run compacts the
photo table (``VACUUM FULL``, which locks it for the seconds a rewrite takes); the bytes may remain
in WAL segments until they are recycled and in backups made before the run.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from geomap import audit, auth, db, profiles
from geomap.field_reports import OPEN_STATUSES, ReportError, data
from geomap.users import User
from geomap.wards import data as ward_data

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "privacy.title": ("Thông tin cá nhân của bạn", "Your personal details"),
    "privacy.what": ("Chúng tôi thu gì: họ tên và số điện thoại hoặc thư điện tử, nếu bạn ghi (không bắt buộc), "
                     "và ảnh bạn gửi kèm.",
                     "What we collect: your name and phone number or e-mail, if you give them (optional), and the "
                     "photos you send."),
    "privacy.why": ("Để làm gì: để cán bộ phường hỏi thêm khi cần và báo cho bạn kết quả xử lý phản ánh này. "
                    "Không dùng vào việc khác, không chuyển cho ai khác.",
                    "Why: so ward staff can ask you more when needed and tell you how this report was handled. "
                    "Nothing else, and it is not passed on to anyone."),
    "privacy.who": ("Ai được xem: chỉ cán bộ {ward} xử lý phản ánh. Họ tên và liên hệ không bao giờ công khai; "
                    "ảnh chỉ công khai sau khi cán bộ xem xét.",
                    "Who sees it: only the staff of {ward} who handle reports. Your name and contact are never "
                    "published; photos are published only after staff review them."),
    "privacy.how_long": ("Giữ bao lâu: đến khi phản ánh được xử lý xong, rồi thêm {months} tháng. Sau đó họ tên, "
                         "liên hệ và ảnh bị xoá hẳn.",
                         "How long: until the report is dealt with, then {months} more months. After that your "
                         "name, contact and photos are erased."),
    "privacy.delete": ("Muốn xoá sớm hơn hoặc hỏi phường đang giữ gì về bạn: liên hệ Ủy ban nhân dân {ward} và nêu "
                       "mã phản ánh (PA-…).",
                       "To have them erased sooner, or to ask what the ward holds about you: contact the People's "
                       "Committee of {ward} and give your report code (PA-…)."),
    "privacy.no_contact": ("Không ghi họ tên và liên hệ thì không cần đồng ý; phản ánh vẫn được xử lý và bạn theo "
                           "dõi bằng đường dẫn riêng.",
                           "Without a name or contact no consent is needed; the report is still handled and you "
                           "follow it with its own link."),
    "privacy.consent": ("Tôi đồng ý để phường dùng họ tên và liên hệ của tôi như trên.",
                        "I agree that the ward uses my name and contact as described above."),
    "privacy.missing": ("Bạn đã ghi họ tên hoặc liên hệ nhưng chưa đánh dấu ô đồng ý. Hãy đánh dấu ô đồng ý, hoặc "
                        "xoá họ tên và liên hệ để gửi mà không để lại liên hệ.",
                        "You gave a name or contact but did not tick the consent box. Tick it, or clear your name "
                        "and contact to report without them."),
    "privacy.version": ("Phiên bản thông báo: {version}", "Notice version: {version}"),
    "privacy.erased.retention": ("đã xoá theo thời hạn lưu trữ", "erased after the retention period"),
    "privacy.erased.request": ("đã xoá theo yêu cầu của người phản ánh", "erased at the reporter's request"),
}

#: the notice's paragraphs, in the order shown
NOTICE_KEYS = ("privacy.what", "privacy.why", "privacy.who", "privacy.how_long", "privacy.delete",
               "privacy.no_contact")
#: the notice's version, derived from its wording (both languages and the consent sentence): recorded with
#: each consent, so a changed notice is a new version without anyone remembering to bump a number
NOTICE_VERSION = "tb-" + hashlib.sha256(json.dumps(
    [STRINGS[k] for k in (*NOTICE_KEYS, "privacy.consent")], ensure_ascii=False).encode()).hexdigest()[:10]


def notice(lang: str, ward_name: str, months: int) -> list[str]:
    """The notice's paragraphs in ``lang`` for a ward keeping data ``months`` months after closure."""
    from geomap import i18n

    return [i18n.t(k, lang).format(ward=ward_name, months=months) for k in NOTICE_KEYS]


def check_consent(reporter_name: str | None, reporter_contact: str | None, consent: bool) -> bool:
    """Whether consent is to be recorded: True when a name or contact is given with consent, False when
    neither is given; a name or contact without consent raises :class:`ReportError` (field ``consent``)."""
    if not (reporter_name or reporter_contact):
        return False
    if not consent:
        from geomap import i18n

        raise ReportError(i18n.t("privacy.missing", "vi"), i18n.t("privacy.missing", "en"), "consent",
                          code="consent")
    return True


# --- retention --------------------------------------------------------------------------------------


def months_before(at: dt.datetime, months: int) -> dt.datetime:
    """``at`` moved back ``months`` calendar months (the 31st becomes the month's last day)."""
    total = at.year * 12 + (at.month - 1) - months
    year, month = divmod(total, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Erased:
    """One report whose personal data a run erased (or, in a dry run, would erase)."""

    public_id: str
    status: str
    closed_at: dt.datetime | None
    name: bool
    contact: bool
    photos: int
    mail_addresses: int


@dataclass(frozen=True)
class PurgeResult:
    """What :func:`purge_personal` did."""

    ward: str
    retention_months: int
    cutoff: dt.datetime
    dry_run: bool
    reports: tuple[Erased, ...]
    #: the photo table was rewritten so the deleted photos left its files
    compacted: bool = False

    @property
    def photos(self) -> int:
        return sum(r.photos for r in self.reports)

    @property
    def mail_addresses(self) -> int:
        return sum(r.mail_addresses for r in self.reports)


def purge_personal(
    bind: db.Bind,
    ward_slug: str,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    compact: bool = True,
    public_ids: Sequence[str] | None = None,
    user: User | None = None,
) -> PurgeResult:
    """Erase the reporter's name and contact, the photos and the outbox addresses of ward ``ward_slug``'s
    reports closed before the retention cutoff (``now`` minus the ward profile's ``retention_months``).

    ``public_ids`` given: erase those reports of the ward now, whatever their status (a reporter who asked
    for deletion). ``dry_run``: list what would be erased and change nothing. All or nothing: one
    transaction for the run; then, when photos were deleted, ``compact`` rewrites the photo table (needs
    ``bind`` to be an Engine: inside a caller's transaction the table cannot be rewritten).
    """
    if public_ids is not None:  # an erasure asked for now; the scheduled run (no ids) is the command line's
        auth.require(user, "erase_personal")
    now = now or dt.datetime.now(dt.UTC)
    months = profiles.get(ward_slug, bind).retention_months
    cutoff = months_before(now, months)
    ward_id = ward_data.ward_id(bind, ward_slug)
    with db.transaction(bind) as conn:
        due = data.personal_data_due(conn, ward_id, cutoff=None if public_ids else cutoff,
                                     open_statuses=OPEN_STATUSES, public_ids=public_ids)
        if public_ids:
            missing = sorted(set(public_ids) - {r["public_id"] for r in due}
                             - set(data.public_ids_in_ward(conn, ward_id, public_ids)))
            if missing:
                raise ReportError(f"Không có phản ánh {', '.join(missing)} ở phường {ward_slug}.",
                                  f"Ward {ward_slug} has no report {', '.join(missing)}.", "report",
                                  code="not_found")
        erased = tuple(Erased(r["public_id"], r["status"], r["closed_at"], r["has_name"], r["has_contact"],
                              int(r["photos"]), int(r["mail_addresses"])) for r in due)
        if not dry_run and due:
            _erase(conn, due, erased, now=now, months=months, requested=bool(public_ids), user=user,
                   ward_id=ward_id, ward_slug=ward_slug)
    compacted = False
    if compact and not dry_run and any(e.photos for e in erased) and not isinstance(bind, Connection):
        data.compact_photos(bind)
        compacted = True
    return PurgeResult(ward_slug, months, cutoff, dry_run, erased, compacted)


def _erase(conn: Connection, due: list[dict], erased: tuple[Erased, ...], *, now: dt.datetime, months: int,
           requested: bool, user: User | None, ward_id: int, ward_slug: str) -> None:
    ids = [int(r["id"]) for r in due]
    data.erase_personal(conn, ids, at=now, why="request" if requested else "retention")
    why = "theo yêu cầu của người phản ánh" if requested else f"theo thời hạn lưu trữ ({months} tháng)"
    for row, e in zip(due, erased, strict=True):
        audit.record(conn, action="erase_personal", entity_type="field_report", entity_id=int(row["id"]),
                     user=user, before={"reporter_name": e.name, "reporter_contact": e.contact, "photos": e.photos,
                                        "mail_addresses": e.mail_addresses},
                     after={"personal_erased_at": now, "closed_at": e.closed_at}, note=f"Đã xoá {why}")
    audit.record(conn, action="purge_personal", entity_type="ward", entity_id=ward_id, user=user,
                 after={"ward": ward_slug, "reports": len(erased), "photos": sum(e.photos for e in erased),
                        "mail_addresses": sum(e.mail_addresses for e in erased), "retention_months": months,
                        "requested": requested},
                 note=f"Xoá thông tin cá nhân của người phản ánh {why}")
