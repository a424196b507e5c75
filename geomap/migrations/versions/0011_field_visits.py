"""field app visits: how an inspection was made, the phone's position and clock, field submissions

Revision ID: 0011_field_visits
Revises: 0001

``inspection.made_via`` says how an inspection was recorded, for the city's digital-inspection
target (50% → 70%): ``field_app`` (the inspector's phone, /field), ``staff_app`` (the Streamlit
records or on-site page) or ``paper`` (entered later from a paper form, e.g. by an import). Rows
that existed before are ``staff_app``.

A visit made on the phone also keeps ``client_id`` (the id the phone made for the submission;
unique, so a replay is applied once), the phone's position (``phone_geom``) with its accuracy,
the distance from it to the establishment and the phone's clock (``phone_time``; the server's
``created_at`` is the record, the phone's time is kept for the audit).

``field_submission`` keeps every submission the field app sent, whatever became of it:
``applied`` (with its inspection), ``conflict`` (the establishment changed on the server after the
phone downloaded it: kept, never applied) or ``refused`` (not on the officer's plan, another ward,
bad input), with the raw payload and the reasons, so the officer sees them and a replay gets the
first answer.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0011_field_visits"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # made_via is also added by 0017_indicators (which depends on this one): guarded, so a database that
    # received 0017 first (a development copy) still upgrades
    op.execute("ALTER TABLE inspection ADD COLUMN IF NOT EXISTS made_via varchar(16) NOT NULL DEFAULT 'staff_app'")
    op.execute("""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck_inspection_made_via') THEN
            ALTER TABLE inspection ADD CONSTRAINT ck_inspection_made_via
              CHECK (made_via IN ('field_app', 'staff_app', 'paper'));
          END IF;
        END $$""")
    op.add_column("inspection", sa.Column("client_id", postgresql.UUID(as_uuid=True)))
    op.create_unique_constraint("uq_inspection_client_id", "inspection", ["client_id"])
    op.add_column("inspection", sa.Column("phone_geom", Geometry("POINT", srid=4326, spatial_index=False)))
    op.add_column("inspection", sa.Column("phone_accuracy_m", sa.Float()))
    op.add_column("inspection", sa.Column("distance_m", sa.Float()))
    op.add_column("inspection", sa.Column("phone_time", sa.DateTime(timezone=True)))
    op.create_table(
        "field_submission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id", ondelete="CASCADE")),
        sa.Column("establishment_id", sa.Integer(), sa.ForeignKey("establishment.id", ondelete="SET NULL")),
        sa.Column("route_date", sa.Date()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("inspection_id", sa.Integer(), sa.ForeignKey("inspection.id", ondelete="SET NULL")),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("warnings", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'applied', 'conflict', 'refused')",
                           name="ck_field_submission_status"),
    )
    op.create_index("ix_field_submission_user_date", "field_submission", ["user_id", "route_date"])


def downgrade() -> None:
    op.drop_table("field_submission")
    for column in ("phone_time", "distance_m", "phone_accuracy_m", "phone_geom"):
        op.drop_column("inspection", column)
    op.drop_constraint("uq_inspection_client_id", "inspection")
    op.drop_column("inspection", "client_id")
    op.drop_constraint("ck_inspection_made_via", "inspection")
    op.drop_column("inspection", "made_via")
