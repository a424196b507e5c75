"""How exactly each establishment is placed on the map; the digital platforms it sells on

Revision ID: 0009_location_quality
Revises: 0001

``establishment.location_quality`` says how the point was obtained, most trusted first:

- ``exact``: pinned on the map or by GPS, or given as coordinates in an import;
- ``address``: placed at a known address (another record at the same house number);
- ``street``: placed on the named alley or street (interpolated by house number, or along the way);
- ``group``: placed inside the residential group only.

NULL while the establishment has no point at all. Existing points are ``exact`` (they came as
coordinates or were pinned). A trigger keeps the two together for every writer: a point written
without a quality (an edit that moves the point, an import with coordinates, the demo loader) is
``exact``; a point removed clears the quality. A writer that places approximately sets the
quality in the same statement. The field app's survey worklist is every active establishment
whose quality is not ``exact``; the map, the QR page ("vị trí gần đúng") and exports show it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_location_quality"
down_revision = "0001"
branch_labels = None
depends_on = None

QUALITIES = ("exact", "address", "street", "group")


def upgrade() -> None:
    op.add_column("establishment", sa.Column("location_quality", sa.String(16)))
    op.execute("UPDATE establishment SET location_quality = 'exact' WHERE geom IS NOT NULL")
    op.create_check_constraint(
        "ck_establishment_location_quality", "establishment",
        "location_quality IS NULL OR location_quality IN ('exact', 'address', 'street', 'group')")
    op.add_column("establishment", sa.Column("digital_platforms", sa.ARRAY(sa.Text), server_default="{}",
                                             nullable=False))
    op.execute(TRIGGER)
    op.execute(_overview(", e.location_quality, e.digital_platforms"))


def _overview(extra: str) -> str:
    """establishment_overview as migration 0001 made it, with ``extra`` columns appended."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("geomap_migration_0001", Path(__file__).with_name("0001_initial_schema.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = module.ESTABLISHMENT_OVERVIEW
    head, tail = base.split("\n       e.geom\n", 1)
    return (head.replace("CREATE VIEW", "CREATE OR REPLACE VIEW") + "\n       e.geom" + extra + "\n" + tail)


TRIGGER = """
CREATE FUNCTION establishment_location_quality() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.geom IS NULL THEN
        NEW.location_quality := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.location_quality := coalesce(NEW.location_quality, 'exact');
    ELSIF NEW.geom IS DISTINCT FROM OLD.geom
          AND NEW.location_quality IS NOT DISTINCT FROM OLD.location_quality THEN
        -- the point moved and the writer said nothing of its quality: pinned by hand
        NEW.location_quality := 'exact';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER establishment_location_quality BEFORE INSERT OR UPDATE ON establishment
    FOR EACH ROW EXECUTE FUNCTION establishment_location_quality();
"""


def downgrade() -> None:
    op.execute("DROP VIEW establishment_overview")
    op.execute(_overview("").replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    op.drop_column("establishment", "digital_platforms")
    op.execute("DROP TRIGGER establishment_location_quality ON establishment")
    op.execute("DROP FUNCTION establishment_location_quality()")
    op.drop_constraint("ck_establishment_location_quality", "establishment")
    op.drop_column("establishment", "location_quality")
