"""Group-level indicators imported from the ward's quarterly assessment (VNeID, Gia đình số, digital skills,
Tổ dân phố số)

Revision ID: 0024_group_indicators
Revises: 0001

``group_indicator_value`` holds one value per residential group, period and indicator, as the ward's
spreadsheet gave it: a numerator and a denominator (people, households), or a share alone when the sheet
gave only a percentage, or 1/1 and 0/1 for "Tổ dân phố số" (the group meets the criteria or not). The
period is kept as written (``2026-Q3``) with its first and last day, so the dashboard of any period finds
the latest assessment ending within it. Re-importing a period replaces that period's values of the ward
(audited); which file, when and by whom stay with each value.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_group_indicators"
down_revision = "0001"
branch_labels = None
depends_on = ("0002_accounts",)

INDICATORS = ("vneid_activation", "digital_skills", "digital_family", "digital_group")


def upgrade() -> None:
    quoted = ", ".join(f"'{k}'" for k in INDICATORS)
    op.create_table(
        "group_indicator_value",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ward_id", sa.Integer, sa.ForeignKey("ward.id", ondelete="CASCADE"), nullable=False),
        sa.Column("residential_group_id", sa.Integer, sa.ForeignKey("residential_group.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("indicator", sa.String(32), nullable=False),
        sa.Column("numerator", sa.Integer),
        sa.Column("denominator", sa.Integer),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("source_file", sa.Text),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("imported_by", sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.Column("imported_by_name", sa.Text, nullable=False, server_default="system"),
        sa.UniqueConstraint("residential_group_id", "period", "indicator", name="uq_group_indicator_value"),
        sa.CheckConstraint(f"indicator IN ({quoted})", name="ck_group_indicator_value_indicator"),
        sa.CheckConstraint("value >= 0 AND value <= 1", name="ck_group_indicator_value_value"),
        sa.CheckConstraint("(numerator IS NULL) = (denominator IS NULL)", name="ck_group_indicator_value_pair"),
        sa.CheckConstraint("numerator >= 0 AND denominator > 0 AND numerator <= denominator",
                           name="ck_group_indicator_value_counts"),
        sa.CheckConstraint("period_start <= period_end", name="ck_group_indicator_value_period"),
    )
    op.create_index("ix_group_indicator_value_ward_end", "group_indicator_value", ["ward_id", "period_end"])


def downgrade() -> None:
    op.drop_index("ix_group_indicator_value_ward_end", table_name="group_indicator_value")
    op.drop_table("group_indicator_value")
