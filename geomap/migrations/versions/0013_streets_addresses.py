"""The ward's named streets and alleys (address placement, the street layer)

Revision ID: 0013_streets_addresses
Revises: 0001

``street``: one row per named street or alley of a ward, the OpenStreetMap ways (or the ward's
own street file) of the same name merged into one MultiLineString. ``street_key`` is the base
street's name folded (lower case, no diacritics, no "Đường"/"Phố" prefix: "hoang dieu"), ``alley``
the alley chain below it ("242" for "Kiệt 242 Hoàng Diệu", "64/2" for "Hẻm 2 Kiệt 64 Lê Đình Lý",
NULL for the street itself) and ``name_key`` both together ("hoang dieu" / "k242 hoang dieu"):
the address placement (geomap/addresses) looks ways up by them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0013_streets_addresses"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "street",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(16), nullable=False, unique=True,
                  server_default=sa.text("left(replace(gen_random_uuid()::text, '-', ''), 16)")),
        sa.Column("ward_id", sa.Integer, sa.ForeignKey("ward.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("street_key", sa.Text, nullable=False),
        sa.Column("alley", sa.Text),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("highway", sa.Text),
        sa.Column("osm_ids", sa.ARRAY(sa.BigInteger), server_default="{}", nullable=False),
        sa.Column("length_m", sa.Float),
        sa.Column("source", sa.Text),
        sa.Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
        sa.UniqueConstraint("ward_id", "name_key", name="uq_street_ward_name_key"),
        sa.CheckConstraint("kind IN ('street', 'alley')", name="ck_street_kind"),
    )
    op.create_index("ix_street_ward_street_key", "street", ["ward_id", "street_key"])
    op.create_index("idx_street_geom", "street", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("street")
