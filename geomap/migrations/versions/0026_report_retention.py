"""Reporter consent and the retention limit of reporters' personal data

Revision ID: 0026_report_retention
Revises: 0001

Decree 13/2023/NĐ-CP asks for a stated purpose, consent and a retention limit. A report whose
reporter left a name or contact records when they agreed to the purpose notice and which notice
it was (``contact_consent_at``, ``consent_notice``: :mod:`geomap.field_reports.retention`).
``geomap reports purge-personal`` erases the reporter's name and contact, the report's photos and
the addresses in the mail outbox once a closed report is older than the ward's retention period;
``personal_erased_at``, ``personal_erased_why`` (``retention``, or ``request``: the reporter asked)
and ``photos_erased`` say so on the staff pages. An erased outbox message
keeps its text (the status change it told) with no address, so ``report_mail.to_address`` may be
NULL. Existing reports keep their data and have no consent recorded (they predate the notice).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_report_retention"
down_revision = "0001"
branch_labels = None
depends_on = ("0004_reports", "0020_report_mail")


def upgrade() -> None:
    op.add_column("field_report", sa.Column("contact_consent_at", sa.DateTime(timezone=True)))
    op.add_column("field_report", sa.Column("consent_notice", sa.String(32)))
    op.add_column("field_report", sa.Column("personal_erased_at", sa.DateTime(timezone=True)))
    op.add_column("field_report", sa.Column("photos_erased", sa.SmallInteger, server_default="0", nullable=False))
    op.add_column("field_report", sa.Column("personal_erased_why", sa.String(16)))
    op.create_check_constraint("ck_field_report_personal_erased_why", "field_report",
                               "personal_erased_why IN ('retention', 'request')")
    op.alter_column("report_mail", "to_address", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM report_mail WHERE to_address IS NULL")
    op.alter_column("report_mail", "to_address", nullable=False)
    for column in ("personal_erased_why", "photos_erased", "personal_erased_at", "consent_notice",
                   "contact_consent_at"):
        op.drop_column("field_report", column)
