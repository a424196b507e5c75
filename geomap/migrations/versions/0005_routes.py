"""inspection planning: saved day routes and on-site inspection photos

Revision ID: 0005_routes
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_routes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One inspector's planned day. The stops (order, planned times, establishment id, name,
    # position) are a JSON list: the plan is a document the phone reads whole, and whether a
    # stop is done is derived from the inspection table (same establishment, same day).
    op.create_table(
        "inspection_route",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id", ondelete="CASCADE"), nullable=False),
        sa.Column("route_date", sa.Date(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("inspector_name", sa.Text(), nullable=False),
        sa.Column("stops", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("summary", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_inspection_route_ward_date", "inspection_route", ["ward_id", "route_date"])
    op.create_index("ix_inspection_route_inspector_date", "inspection_route", ["inspector_id", "route_date"])
    # Photos taken on site, EXIF stripped (geomap.field_reports.photos.process) before they are stored.
    op.create_table(
        "inspection_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inspection_id", sa.Integer(), sa.ForeignKey("inspection.id", ondelete="CASCADE"), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_inspection_photo_inspection_id", "inspection_photo", ["inspection_id"])


def downgrade() -> None:
    op.drop_index("ix_inspection_photo_inspection_id", table_name="inspection_photo")
    op.drop_table("inspection_photo")
    op.drop_index("ix_inspection_route_inspector_date", table_name="inspection_route")
    op.drop_index("ix_inspection_route_ward_date", table_name="inspection_route")
    op.drop_table("inspection_route")
