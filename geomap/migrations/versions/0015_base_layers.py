"""Every base layer importable: infrastructure checked date, stall trade and holder, QR/POS evidence,
pilot commercial streets

Revision ID: 0015_base_layers
Revises: 0001

- ``infrastructure.checked_on``: the date the condition was last checked (imports and the
  condition edit set it).
- ``stall.trade`` (what the stall sells), ``stall.holder_name`` and ``stall.holder_phone``
  (personal data: the layer registry never marks them public).
- ``stall_payment_evidence``: a stall seen accepting and transacting by QR or card, with the
  date seen, by whom and an optional photo. The plan's pilot target counts stalls
  "accepting and transacting": a stall counts when it has evidence within a period
  (``stall_overview.last_seen_on``), not because ``accepts_qr_pos`` was ticked.
- ``commercial_street``: the ward's pilot cashless streets, a line or a polygon.
- ``commercial_street_overview``: each street with its establishments counted: active
  establishments within 30 m of a line (measured on the spheroid), or inside a polygon.
- ``stall_overview``: each stall with its market, ward and latest evidence (the ``stalls`` layer).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0015_base_layers"
down_revision = "0001"
branch_labels = None
depends_on = None

PUBLIC_ID_DEFAULT = "left(replace(gen_random_uuid()::text, '-', ''), 16)"
#: an establishment this close to a pilot street's line belongs to it (metres)
STREET_REACH_M = 30

COMMERCIAL_STREET_OVERVIEW = f"""
CREATE VIEW commercial_street_overview AS
SELECT c.id, c.public_id, c.ward_id, c.code, c.name, c.note, c.is_synthetic,
       CASE WHEN GeometryType(c.geom) IN ('POLYGON', 'MULTIPOLYGON') THEN 'polygon' ELSE 'line' END AS shape,
       coalesce(n.establishments, 0) AS establishments,
       coalesce(n.digital, 0) AS establishments_digital,
       c.geom
FROM commercial_street c
LEFT JOIN LATERAL (
    SELECT count(*) AS establishments,
           count(*) FILTER (WHERE cardinality(e.digital_payment) > 0) AS digital
    FROM establishment e
    WHERE e.ward_id = c.ward_id AND e.geom IS NOT NULL AND e.operating_status <> 'closed'
      AND CASE WHEN GeometryType(c.geom) IN ('POLYGON', 'MULTIPOLYGON') THEN ST_Covers(c.geom, e.geom)
               ELSE ST_DWithin(c.geom::geography, e.geom::geography, {STREET_REACH_M}) END
) n ON true
"""

STALL_OVERVIEW = """
CREATE VIEW stall_overview AS
SELECT s.id, m.ward_id, s.market_id, m.code AS market_code, m.name AS market, s.stall_no, s.zone, s.trade,
       s.holder_name, s.holder_phone, s.accepts_qr_pos, ev.seen_on AS last_seen_on, ev.seen_by AS last_seen_by,
       m.is_pilot_smart_market, m.is_synthetic, COALESCE(s.geom, m.geom) AS geom
FROM stall s
JOIN market m ON m.id = s.market_id
LEFT JOIN LATERAL (
    SELECT p.seen_on, p.seen_by FROM stall_payment_evidence p WHERE p.stall_id = s.id
    ORDER BY p.seen_on DESC, p.id DESC LIMIT 1
) ev ON true
"""


def upgrade() -> None:
    op.add_column("infrastructure", sa.Column("checked_on", sa.Date()))
    op.create_check_constraint("ck_infrastructure_condition", "infrastructure",
                               "condition IN ('working', 'faulty')")
    op.add_column("stall", sa.Column("trade", sa.Text()))
    op.add_column("stall", sa.Column("holder_name", sa.Text()))
    op.add_column("stall", sa.Column("holder_phone", sa.Text()))
    op.create_table(
        "stall_payment_evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stall_id", sa.Integer(), sa.ForeignKey("stall.id", ondelete="CASCADE"), nullable=False),
        sa.Column("method", sa.String(16)),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("seen_by", sa.Text(), nullable=False),
        sa.Column("photo", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("method IS NULL OR method IN ('qr_bank', 'pos_card', 'e_wallet', 'bank_transfer')",
                           name="ck_stall_payment_evidence_method"),
        sa.UniqueConstraint("stall_id", "seen_on", name="uq_stall_payment_evidence_stall_seen"),
    )
    op.create_index("ix_stall_payment_evidence_seen", "stall_payment_evidence", ["stall_id", "seen_on"])
    op.create_table(
        "commercial_street",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(16), nullable=False, unique=True,
                  server_default=sa.text(PUBLIC_ID_DEFAULT)),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("is_synthetic", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.UniqueConstraint("ward_id", "code", name="uq_commercial_street_ward_code"),
        sa.CheckConstraint("GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON')",
                           name="ck_commercial_street_geom"),
    )
    op.create_index("idx_commercial_street_geom", "commercial_street", ["geom"], postgresql_using="gist")
    op.execute(COMMERCIAL_STREET_OVERVIEW)
    op.execute(STALL_OVERVIEW)


def downgrade() -> None:
    op.execute("DROP VIEW stall_overview")
    op.execute("DROP VIEW commercial_street_overview")
    op.drop_table("commercial_street")
    op.drop_table("stall_payment_evidence")
    op.drop_column("stall", "holder_phone")
    op.drop_column("stall", "holder_name")
    op.drop_column("stall", "trade")
    op.drop_constraint("ck_infrastructure_condition", "infrastructure")
    op.drop_column("infrastructure", "checked_on")
