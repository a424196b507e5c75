"""Reporters who left an e-mail address are told when their report changes status: a real SMTP
server (aiosmtpd) started by the test receives the messages (issue 13)."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from language_check import data_values, foreign_words
from reports_fixtures import ensure_ward, inside_point

from geomap import i18n, links
from geomap.field_reports import intake, mail, workflow
from geomap.users import User


class _Inbox(Message):
    """What the SMTP server received, addressed to this module's reporters (other modules' reports may have
    messages waiting in the shared test database; the first send delivers them too)."""

    ours = ("hoa.nguyen@example.vn", "ban.khac@example.vn")

    def __init__(self) -> None:
        super().__init__(email.message.EmailMessage)
        self.received: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:
        self.received.append(email.message_from_bytes(message.as_bytes(), policy=email.policy.default))

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [m for m in self.received if m["To"] in self.ours]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(monkeypatch):
    handler = _Inbox()
    port = _free_port()
    handler.port = port
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(mail, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setattr(mail, "SMTP_PORT", port)
    yield handler
    controller.stop()


MANAGER = User(id=None, username="quan.ly", full_name="Trần Văn Quản Lý", role="ward_manager", ward_id=None)


def _report(engine, contact: str | None, text: str = "Đèn đường hỏng trước nhà văn hóa",
            lang: str | None = None) -> int:
    lon, lat = inside_point()
    data = intake.validate(category="infrastructure", description=text, lat=f"{lat}", lon=f"{lon + 0.0007}",
                           channel="web", reporter_name="Nguyễn Thị Hoa", reporter_contact=contact,
                           consent=True, lang=lang)
    return intake.submit(engine, data, ward_slug="hoa-cuong", client=f"mail-test-{contact}").id


@pytest.fixture
def reports(request, engine):
    ensure_ward(request, engine)
    made: list[int] = []
    yield made
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM field_report WHERE id = ANY(:i)"), {"i": made})


def test_a_status_change_mails_the_reporter_with_the_tracking_link(engine, inbox, reports):
    rid = _report(engine, "hoa.nguyen@example.vn")
    other = _report(engine, "ban.khac@example.vn", "Rác ứ đọng ở chợ")
    reports += [rid, other]
    public_id = workflow.transition(engine, rid, "resolved", user=MANAGER, note="Đã thay bóng đèn")["public_id"]
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["To"] == "hoa.nguyen@example.vn" and public_id in msg["Subject"]
    body = msg.get_content()
    # the report records no language (not sent from the form in a language): Vietnamese, the configured one
    assert "Đã xử lý" in body and "Resolved" not in body
    assert "Đã thay bóng đèn" in body and links.report_track_url(public_id) in body
    # never a staff member's name, never the reporter's own details back, never another report
    for absent in ("Trần Văn Quản Lý", "quan.ly", "Nguyễn Thị Hoa", "ban.khac@example.vn", "Rác ứ đọng"):
        assert absent not in body
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT sent_at, attempts FROM report_mail WHERE report_id = :r"), {"r": rid}).one()
    assert row.sent_at is not None and row.attempts == 1


def test_an_internal_note_is_not_mailed_and_a_phone_number_gets_no_mail(engine, inbox, reports):
    rid = _report(engine, "hoa.nguyen@example.vn")
    phone = _report(engine, "0905 111 222")
    reports += [rid, phone]
    workflow.transition(engine, rid, "in_progress", user=MANAGER, note="Gọi đội điện lực anh Bình", public=False)
    workflow.transition(engine, phone, "in_progress", user=MANAGER)
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_content()
    assert "anh Bình" not in body and "Đang xử lý" in body


def test_a_change_rolled_back_sends_nothing_and_a_refused_message_waits(engine, inbox, reports, monkeypatch):
    rid = _report(engine, "hoa.nguyen@example.vn")
    reports.append(rid)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        workflow.transition(conn, rid, "resolved", user=MANAGER)  # inside a caller's transaction...
        raise RuntimeError("the caller's later step failed")  # ...that is rolled back
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM report_mail WHERE report_id = :r"), {"r": rid}).scalar() == 0
    # the mail server is down: the change stands, its message waits, and the next run sends it
    monkeypatch.setattr(mail, "SMTP_PORT", _free_port())
    workflow.transition(engine, rid, "in_progress", user=MANAGER)
    with engine.connect() as c:
        waiting = c.execute(sa.text("SELECT attempts, sent_at, last_error FROM report_mail WHERE report_id = :r"),
                            {"r": rid}).one()
    assert waiting.sent_at is None and waiting.attempts == 1 and waiting.last_error
    assert inbox.messages == []
    monkeypatch.setattr(mail, "SMTP_PORT", inbox.port)
    assert mail.send_pending(engine) == (1, 0)
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_mail_speaks_the_language_the_reporter_used_on_the_form(engine, inbox, reports, lang):
    rid = _report(engine, "hoa.nguyen@example.vn", "Cây đổ chắn lối đi", lang=lang)
    reports.append(rid)
    public_id = workflow.transition(engine, rid, "in_progress", user=MANAGER, note="Đã báo đội cây xanh")["public_id"]
    msg = inbox.messages[-1]
    text = "\n".join([msg["Subject"], str(msg["From"]), msg.get_content()])
    with engine.connect() as c:
        found = foreign_words(text, lang, data_values(c, lang))
    assert found == []
    status = i18n.code_label("report_status", "in_progress", lang)
    assert status in msg["Subject"] and links.report_track(public_id, lang=lang) in text
    assert i18n.t("mail.sender", lang) in str(msg["From"])
    assert "Đã báo đội cây xanh" in text  # the officer's words, as written


def test_compose_and_address_rules():
    assert mail.email_address(" hoa@example.vn ") == "hoa@example.vn"
    assert mail.email_address("0905111222") is None and mail.email_address("a@b") is None
    assert mail.email_address("x@y.vn\nBcc: evil@example.com") is None  # no header injection
    subject, body = mail.compose("PA-7KQ2-M9XD-R4TB", "garbage", "closed", None)
    assert subject == f"Phản ánh PA-7KQ2-M9XD-R4TB: {i18n.code_label('report_status', 'closed', 'vi')}"
    assert "Phường ghi chú" not in body
