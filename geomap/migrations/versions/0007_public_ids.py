"""Stored random public ids for layers without a natural public code

Revision ID: 0007_public_ids
Revises: 0001

The public OGC API never shows sequential database ids. Land parcels, residential groups,
public facilities and former-ward zones have no public code of their own, so they get a
``public_id``: 16 random hex digits (from ``gen_random_uuid()``, built into PostgreSQL 13+;
not derived from the id, so the ids tell nothing about how many rows exist or their order),
filled for existing rows, defaulted by the database for new ones, with a unique index that
ordering, keyset paging and single-item reads use.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_public_ids"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("land_parcel", "residential_group", "public_facility", "former_ward_zone")
#: mirrored in geomap.models.PUBLIC_ID_DEFAULT
PUBLIC_ID_DEFAULT = "left(replace(gen_random_uuid()::text, '-', ''), 16)"


def upgrade() -> None:
    for table in TABLES:
        # a volatile default is evaluated once per existing row: every row gets its own value
        op.add_column(table, sa.Column("public_id", sa.String(16), server_default=sa.text(PUBLIC_ID_DEFAULT),
                                       nullable=False))
        # 60 random bits: a collision is very unlikely, but redraw any before the unique index
        op.execute(f"""
            DO $$
            BEGIN
                WHILE EXISTS (SELECT 1 FROM {table} GROUP BY public_id HAVING count(*) > 1) LOOP
                    UPDATE {table} SET public_id = DEFAULT WHERE public_id IN (
                        SELECT public_id FROM {table} GROUP BY public_id HAVING count(*) > 1);
                END LOOP;
            END $$""")
        op.create_index(f"ix_{table}_public_id", table, ["public_id"], unique=True)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_public_id", table_name=table)
        op.drop_column(table, "public_id")
