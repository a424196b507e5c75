"""Telling reporters when their report changes status, by e-mail (issue 13).

A reporter who left an e-mail address as contact gets one message per status change, in the
language they used on the form (``field_report.reporter_lang``; a report from another channel, or
from before that was recorded, has none: the configured language, ``GEOMAP_LANGUAGE``, Vietnamese by
default, is assumed): the new status, the ward's public note when there is one (the officer's words,
as written), and the tracking link in that language (:func:`geomap.links.report_track`). Never a
staff member's name, never another report's data, never an internal note.

The message is written to ``report_mail`` in the transaction that changes the status
(:func:`queue_status_mail`, called by the workflow), and sent after the commit
(:func:`send_pending`): a change rolled back sends nothing, and a message the mail server did not
take is kept and retried (``geomap reports send-mail``, from a scheduler). Without ``GEOMAP_SMTP_HOST``
nothing is sent and messages wait.

Settings (read here, the one module using them): ``GEOMAP_SMTP_HOST``, ``GEOMAP_SMTP_PORT`` (25),
``GEOMAP_SMTP_FROM`` (``phan-anh@localhost``), ``GEOMAP_SMTP_USER`` / ``GEOMAP_SMTP_PASSWORD`` (login
when set), ``GEOMAP_SMTP_STARTTLS`` (1 to upgrade the connection).
"""

from __future__ import annotations

import os
import re
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy.engine import Connection

from geomap import db, i18n, links
from geomap.field_reports import data

SMTP_HOST = os.environ.get("GEOMAP_SMTP_HOST") or None
SMTP_PORT = int(os.environ.get("GEOMAP_SMTP_PORT", "25"))
SMTP_FROM = os.environ.get("GEOMAP_SMTP_FROM", "phan-anh@localhost")
SMTP_USER = os.environ.get("GEOMAP_SMTP_USER") or None
SMTP_PASSWORD = os.environ.get("GEOMAP_SMTP_PASSWORD") or None
SMTP_STARTTLS = os.environ.get("GEOMAP_SMTP_STARTTLS", "0") == "1"
SMTP_TIMEOUT_S = 10

#: a plain address (what the form's contact field holds when it is an e-mail, not a phone number)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "mail.subject": ("Phản ánh {code}: {status}", "Report {code}: {status}"),
    "mail.body": ("Phản ánh {code} ({category}) của bạn đã chuyển sang trạng thái: {status}.",
                  "Your report {code} ({category}) is now: {status}."),
    "mail.note": ("Phường ghi chú: {note}", "The ward's note: {note}"),
    "mail.track": ("Theo dõi phản ánh: {url}", "Follow your report: {url}"),
    "mail.sender": ("Phường — phản ánh hiện trường", "Ward — field reports"),
    "mail.why": ("Bạn nhận thư này vì đã để lại địa chỉ thư khi gửi phản ánh. Đây là thư tự động, xin đừng trả lời.",
                 "You receive this because you left this address with your report. Automatic message: "
                 "please do not reply."),
}


def email_address(contact: str | None) -> str | None:
    """``contact`` when it is one e-mail address (a phone number or free text is not mailed)."""
    value = (contact or "").strip()
    return value if _EMAIL.match(value) else None


def compose(public_id: str, category: str, status: str, note: str | None,
            lang: str | None = None) -> tuple[str, str]:
    """(subject, body) in ``lang`` alone (default: the configured language); only what the tracking page
    also shows, whose link opens in that language."""
    lang = i18n.lang_or_default(lang)
    label = i18n.code_label("report_status", status, lang)
    lines = [i18n.t("mail.body", lang).format(code=public_id, status=label,
                                               category=i18n.code_label("report_category", category, lang))]
    if note:
        lines.append(i18n.t("mail.note", lang).format(note=note))
    track = links.public_url(links.report_track(public_id, lang=lang))
    lines.append(i18n.t("mail.track", lang).format(url=track))
    lines.append(i18n.t("mail.why", lang))
    subject = i18n.t("mail.subject", lang).format(code=public_id, status=label)
    return subject, "\n\n".join(lines) + "\n"


def queue_status_mail(conn: Connection, report_id: int, status: str, note: str | None, *, public: bool) -> bool:
    """Write the message of a status change, inside the change's transaction; False when the reporter left
    no e-mail address. An internal note (``public`` False) is not in the message."""
    report = data.reporter_of(conn, report_id)
    to = email_address(report and report["reporter_contact"])
    if to is None:
        return False
    subject, body = compose(report["public_id"], report["category"], status, note if public else None,
                            report["reporter_lang"])
    data.queue_mail(conn, report_id, to, subject, body)
    return True


def send_pending(bind: db.Bind | None = None, *, limit: int = 50) -> tuple[int, int]:
    """Send the waiting messages (oldest first): (sent, failed). Without ``GEOMAP_SMTP_HOST``: (0, 0).

    Each message is marked in its own transaction, so one the server refuses does not hold back the others."""
    if not SMTP_HOST:
        return 0, 0
    sent = failed = 0
    with db.transaction(bind) as conn:
        pending = data.pending_mail(conn, limit)
        if not pending:
            return 0, 0
        try:
            server = smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=SMTP_TIMEOUT_S)
        except OSError as exc:
            for m in pending:
                data.mark_mail(conn, m["id"], f"connect: {exc}"[:500])
            return 0, len(pending)
        with server:
            if SMTP_STARTTLS:
                server.starttls()
            if SMTP_USER:
                server.login(SMTP_USER, SMTP_PASSWORD or "")
            for m in pending:
                msg = EmailMessage()
                msg["From"] = formataddr((i18n.t("mail.sender", i18n.lang_or_default(m["reporter_lang"])), SMTP_FROM))
                msg["To"] = m["to_address"]
                msg["Subject"] = m["subject"]
                msg["Message-ID"] = make_msgid(domain=SMTP_FROM.rsplit("@", 1)[-1])
                msg.set_content(m["body"])
                try:
                    server.send_message(msg)
                    data.mark_mail(conn, m["id"], None)
                    sent += 1
                except smtplib.SMTPException as exc:
                    # the server's refusal names the recipient: the log keeps the reason, not the address
                    data.mark_mail(conn, m["id"], str(exc).replace(m["to_address"], "<người nhận>")[:500])
                    failed += 1
    return sent, failed
