"""field reports: replay protection, address, geography index, work-list indexes

Revision ID: 0004_reports
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reports"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # sha256 of (client, category, description, location, establishment, photos): a replayed
    # submission within a minute finds the report it already created (see geomap.field_reports.intake.submit).
    op.add_column("field_report", sa.Column("submission_hash", sa.String(64), nullable=True))
    # free-text address (Open311 address_string, staff intake); the point stays authoritative
    op.add_column("field_report", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("field_report", sa.Column("api_key_id", sa.Integer(),
                                            sa.ForeignKey("api_key.id", ondelete="SET NULL"), nullable=True))
    op.create_index("ix_field_report_submission_hash", "field_report", ["submission_hash", "reported_at"])
    # duplicate suggestions measure in metres on the spheroid: ST_DWithin(geography(geom), ..., 50)
    op.execute("CREATE INDEX ix_field_report_geog ON field_report USING gist (geography(geom))")
    op.create_index("ix_field_report_ward_status_deadline", "field_report", ["ward_id", "status", "deadline_at"])
    op.create_index("ix_field_report_ward_category_reported", "field_report", ["ward_id", "category", "reported_at"])
    op.create_index("ix_field_report_update_report_at", "field_report_update", ["report_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_field_report_update_report_at", table_name="field_report_update")
    op.drop_index("ix_field_report_ward_category_reported", table_name="field_report")
    op.drop_index("ix_field_report_ward_status_deadline", table_name="field_report")
    op.execute("DROP INDEX IF EXISTS ix_field_report_geog")
    op.drop_index("ix_field_report_submission_hash", table_name="field_report")
    op.drop_column("field_report", "api_key_id")
    op.drop_column("field_report", "address")
    op.drop_column("field_report", "submission_hash")
