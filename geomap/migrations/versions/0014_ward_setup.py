"""A ward set up from its own files: its profile (targets, deadlines, risk weights) and its grid

Revision ID: 0014_ward_setup
Revises: 0001

``ward.profile`` holds what ``geomap ward create`` read from the ward's profile file (with the
plan's defaults filled in) and where the boundary came from, so a ward set up without a file in
``data/profiles`` still has its targets (:func:`geomap.profiles.get` falls back to it).

PostGIS 3.3's ``spatial_ref_sys`` predates the EPSG codes of the provincial VN-2000 / TM-3 grids
(EPSG:9205–9218); without a row ``ST_Transform`` refuses them. The rows added here name the EPSG
code (``auth_name``/``auth_srid``), so PostGIS asks its PROJ for the definition by code; the WKT
text comes from PROJ's database through pyproj, never from a hand-written string.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_ward_setup"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ward", sa.Column("profile", postgresql.JSONB))
    from geomap.wards import data as ward_data
    from geomap.wards import grid

    conn = op.get_bind()
    for code in sorted(set(grid.tm3_codes().values())):
        ward_data.ensure_srid(conn, code)


def downgrade() -> None:
    op.drop_column("ward", "profile")
