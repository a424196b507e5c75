"""Survey mode of the field app: verification, review of establishments found on the street, storefront photos

Revision ID: 0012_survey
Revises: 0001

- ``establishment.verified_on`` / ``verified_by``: when and by whom the record was last checked on
  site (name, address, opening hours, digital payment and platforms, position);
- ``establishment.review_status``: ``approved`` (every existing row, and what staff create),
  ``pending`` (added on the street in survey mode, waiting for a data officer) or ``rejected``.
  Only ``approved`` rows are public (QR page, public exports, public OGC API: the establishments
  layer's ``public_rows``); ``reviewed_by`` / ``reviewed_at`` say who decided;
- ``establishment_photo``: storefront photos taken in survey mode, EXIF stripped
  (:func:`geomap.field_reports.photos.process`) before they are stored.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_survey"
down_revision = "0001"
branch_labels = None
depends_on = None

REVIEW_STATUSES = ("pending", "approved", "rejected")


def upgrade() -> None:
    op.add_column("establishment", sa.Column("verified_on", sa.DateTime(timezone=True)))
    op.add_column("establishment", sa.Column("verified_by", sa.Integer(),
                                             sa.ForeignKey("app_user.id", ondelete="SET NULL")))
    op.add_column("establishment", sa.Column("review_status", sa.String(16), server_default="approved",
                                             nullable=False))
    op.add_column("establishment", sa.Column("reviewed_by", sa.Integer(),
                                             sa.ForeignKey("app_user.id", ondelete="SET NULL")))
    op.add_column("establishment", sa.Column("reviewed_at", sa.DateTime(timezone=True)))
    op.create_check_constraint("ck_establishment_review_status", "establishment",
                               "review_status IN ('pending', 'approved', 'rejected')")
    # the few rows not yet published: the public readers' anti-join and the review list read this
    op.create_index("ix_establishment_unpublished", "establishment", ["ward_id", "id"],
                    postgresql_where=sa.text("review_status <> 'approved'"))
    op.create_table(
        "establishment_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("establishment_id", sa.Integer(), sa.ForeignKey("establishment.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(16), server_default="storefront", nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("taken_by", sa.Integer(), sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_establishment_photo_establishment_id", "establishment_photo", ["establishment_id"])


def downgrade() -> None:
    op.drop_index("ix_establishment_photo_establishment_id", table_name="establishment_photo")
    op.drop_table("establishment_photo")
    op.drop_index("ix_establishment_unpublished", table_name="establishment")
    op.drop_constraint("ck_establishment_review_status", "establishment")
    for column in ("reviewed_at", "reviewed_by", "review_status", "verified_by", "verified_on"):
        op.drop_column("establishment", column)
