"""Mail to reporters when their report changes status (an outbox)

Revision ID: 0020_report_mail
Revises: 0001

A reporter who left an e-mail address is told when the report's status changes. The message is
written in the same transaction as the change (so a change is never lost without its message, and a
rolled-back change sends nothing) and sent after the commit; a message the SMTP server did not take
stays here (``sent_at`` NULL, ``attempts``, ``last_error``) for ``geomap reports send-mail``.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_report_mail"
down_revision = "0001"
branch_labels = None
depends_on = ("0004_reports",)


def upgrade() -> None:
    op.create_table(
        "report_mail",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("field_report.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("to_address", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_report_mail_pending", "report_mail", ["id"], postgresql_where=sa.text("sent_at IS NULL"))


def downgrade() -> None:
    op.drop_table("report_mail")
