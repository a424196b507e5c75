"""Index field_report.duplicate_of_id

Revision ID: 0006_demo
Revises: 0001

Deleting a ward cascades to its field reports; each deleted report makes PostgreSQL look
for reports that name it as ``duplicate_of`` (ON DELETE SET NULL). Without an index that
lookup scans the whole table once per deleted report, which turns reloading a ward with
tens of thousands of reports into minutes.
"""
from __future__ import annotations

from alembic import op

revision = "0006_demo"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_field_report_duplicate_of_id", "field_report", ["duplicate_of_id"])


def downgrade() -> None:
    op.drop_index("ix_field_report_duplicate_of_id", table_name="field_report")
