"""Hotspots as a registry layer, and citizens' satisfaction ratings of handled reports

Revision ID: 0025_hotspot_layer_ratings
Revises: 0001

``hotspot_cell`` holds the latest hotspot analysis of each ward and window length (``window_days``):
every cell of the ward's grid as a polygon with its report counts, its class (code and plain words in
Vietnamese and English) and trend. A new analysis of the same ward and window replaces the old rows in one
transaction (:func:`geomap.field_reports.hotspot_store.store`), so the ``hotspots`` layer (``layers/hotspots.py``)
always shows one analysis per ward and window. No report text and nothing about a reporter is stored here.

``report_rating`` holds at most one rating per report (the primary key): a citizen's one tap on the tracking
page of a resolved report, "satisfied" or not; a replay or a second tap finds the row and changes nothing.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0025_hotspot_layer_ratings"
down_revision = "0001"
branch_labels = None
depends_on = ("0004_reports",)  # report_rating refers to field_report


def upgrade() -> None:
    op.create_table(
        "hotspot_cell",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(64), nullable=False, unique=True),
        sa.Column("ward_id", sa.Integer, sa.ForeignKey("ward.id", ondelete="CASCADE"), nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("grid", sa.Text, nullable=False),
        sa.Column("cell", sa.String(40), nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False),
        sa.Column("previous_count", sa.Integer, nullable=False),
        sa.Column("hotspot_class", sa.String(16), nullable=False),
        sa.Column("class_vi", sa.Text, nullable=False),
        sa.Column("class_en", sa.Text, nullable=False),
        sa.Column("trend", sa.String(8), nullable=False),
        sa.Column("z_score", sa.Float),
        sa.Column("q_value", sa.Float),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("hotspot_class IN ('hot', 'cold', 'not_significant')", name="ck_hotspot_cell_class"),
        sa.CheckConstraint("trend IN ('rising', 'falling', 'stable', 'new')", name="ck_hotspot_cell_trend"),
        sa.CheckConstraint("window_days > 0", name="ck_hotspot_cell_window"),
    )
    op.create_index("ix_hotspot_cell_ward_window", "hotspot_cell", ["ward_id", "window_days"])
    op.create_index("idx_hotspot_cell_geom", "hotspot_cell", ["geom"], postgresql_using="gist")
    # the tile cache's change log (0019_tile_changes): watched now if 0019 ran first, else 0019 watches it
    op.execute("DO $$ BEGIN IF to_regprocedure('tile_change_watch(regclass)') IS NOT NULL THEN "
               "PERFORM tile_change_watch('hotspot_cell'::regclass); END IF; END $$")
    op.create_table(
        "report_rating",
        sa.Column("report_id", sa.Integer, sa.ForeignKey("field_report.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("satisfied", sa.Boolean, nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_report_rating_rated_at", "report_rating", ["rated_at"])


def downgrade() -> None:
    op.drop_table("report_rating")
    op.drop_table("hotspot_cell")
