"""A report's assignment step names its assignee by id, not in a Vietnamese sentence; the reporter's language

``field_report.reporter_lang`` (``vi``/``en``) keeps the language the reporter used on the public form,
so the status mails (:mod:`geomap.field_reports.mail`) are written in it alone; reports from other
channels and existing reports have none, and are written to in the configured language (Vietnamese).

Revision ID: 0028_report_update_assignee
Revises: 0001

Assigning a report wrote the internal history note "Phân công cho <full name>" and, when the status
moved, the public note "Đã phân công cán bộ xử lý": Vietnamese sentences stored as if an officer had
written them, shown as such on English pages (and the name frozen as it was then). The assignment
step now records ``field_report_update.assignee_id`` and the pages say "Phân công cho …" / "Assigned
to …" in the reader's language, with the assignee's current name (staff pages only: the step is
internal). Existing rows: a note that is exactly "Phân công cho <a user's full name>" becomes that
user's id with no note; the public "Đã phân công cán bộ xử lý" is dropped (the status "assigned" says
it in the reader's language). A note naming no known user is kept as it was (still readable).

The same for a report's first step, which said "Tiếp nhận qua kênh: <channel>" in Vietnamese: the
report's ``channel`` column says it, and the pages tell it in the reader's language; the stored sentence
is dropped (a downgrade does not write it back: the pages of that version show the step without it).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_report_update_assignee"
down_revision = "0001"
branch_labels = None
depends_on = ("0004_reports",)

ASSIGNED_NOTE = "Phân công cho "
ASSIGNED_PUBLIC_NOTE = "Đã phân công cán bộ xử lý"
RECEIVED_VIA = "Tiếp nhận qua kênh: "


def upgrade() -> None:
    op.add_column("field_report", sa.Column("reporter_lang", sa.String(2)))
    op.add_column("field_report_update", sa.Column(
        "assignee_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL",
                                                 name="fk_field_report_update_assignee_id")))
    op.execute(sa.text(
        "UPDATE field_report_update h SET assignee_id = u.id, note = NULL FROM app_user u "
        "WHERE h.status_to IS NULL AND NOT h.is_public AND h.note = :p || u.full_name").bindparams(p=ASSIGNED_NOTE))
    op.execute(sa.text("UPDATE field_report_update SET note = NULL WHERE status_to = 'assigned' AND note = :n")
               .bindparams(n=ASSIGNED_PUBLIC_NOTE))
    op.execute(sa.text("UPDATE field_report_update SET note = NULL WHERE status_from IS NULL AND status_to = 'new' "
                       "AND starts_with(note, :n)").bindparams(n=RECEIVED_VIA))


def downgrade() -> None:
    op.execute(sa.text(
        "UPDATE field_report_update h SET note = :p || u.full_name FROM app_user u "
        "WHERE h.assignee_id = u.id AND h.note IS NULL").bindparams(p=ASSIGNED_NOTE))
    op.drop_column("field_report_update", "assignee_id")
    op.drop_column("field_report", "reporter_lang")
