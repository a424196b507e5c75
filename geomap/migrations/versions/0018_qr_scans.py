"""QR scan statistics: scans counted per day, code and outcome, with nothing about who scanned

Revision ID: 0018_qr_scans
Revises: 0001

``qr_scan_day`` holds one row per (local day, code, outcome) with a count; the public service
counts in memory per worker and adds its counts here periodically and at shutdown (an UPSERT
adding counts, :func:`qr.data.add_scans`), so a lookup itself writes nothing. ``code`` is the
normalised token for a well-formed code (16 characters of ``a-z2-7``, issued or not) and the
empty string for a malformed one (no user text is ever stored); there is no column for an IP
address, a user agent or a time of day. Establishment and residential group come from joining
``qr_code`` on the token when read.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_qr_scans"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qr_scan_day",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("code", sa.String(16), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", "code", "outcome"),
        sa.CheckConstraint("outcome IN ('valid', 'revoked', 'unknown', 'malformed')", name="ck_qr_scan_day_outcome"),
        sa.CheckConstraint("code ~ '^[a-z2-7]{0,16}$'", name="ck_qr_scan_day_code"),
        sa.CheckConstraint("count >= 0", name="ck_qr_scan_day_count"),
    )
    op.create_index("ix_qr_scan_day_code", "qr_scan_day", ["code", "day"])


def downgrade() -> None:
    op.drop_index("ix_qr_scan_day_code", table_name="qr_scan_day")
    op.drop_table("qr_scan_day")
