"""Establishments counted per vector-tile cell at every clustered zoom, kept by a trigger

Revision ID: 0027_tile_cells
Revises: 0001

Below zoom 15 a tile of the establishments layer holds one feature per 64 × 64-unit cell of the tile
(``geomap.layer_reader``: ``point_count``, the member's id when alone, the point at the members' mean
position). Counting those cells from the rows reads every point of the tile (100,000+ at zoom 12 in a
city of a million). ``establishment_cell`` keeps, for each zoom ``z`` 0..14 and each cell of that zoom's
global grid (64·2^z cells a side: ``gx``, ``gy``, from the top-left of the Web Mercator world), and for
published (``public``: ``review_status = 'approved'``, the layer's ``public_rows``) and other rows
separately: the number of rows ``n``, the sums of their longitudes ``sx`` and of their Mercator
ordinates ``sy`` = ln tan(π/4 + φ/2), and of their ids ``sid`` (the id of a lone member). A tile then
reads at most 66 × 66 rows whatever the number of points.

Statement-level triggers with transition tables (one per INSERT / UPDATE / DELETE; TRUNCATE empties
it) add each statement's rows to their cells in the writer's transaction, so the counts a reader sees
are always those of the rows it sees (no refresh, nothing stale). The cost: a write to
``establishment`` updates the cells of every zoom it touches, the coarsest ones shared by all writes,
so writing transactions on ``establishment`` queue on those rows until they commit (cells are updated
in one order, zoom 0 first: no deadlock). ``tile_cell_x`` / ``tile_cell_y`` give a longitude's / latitude's
cell at zoom 14 (coarser zooms: shift right by 14 − z).
"""
from __future__ import annotations

from alembic import op

revision = "0027_tile_cells"
down_revision = "0001"
branch_labels = None
depends_on = ("0012_survey",)

#: the finest zoom kept (geomap.layer_reader.CLUSTER_BELOW_ZOOM - 1); cells a side at that zoom: 64·2^14
FINEST = 14
_SIDE = 64 * 2**FINEST

#: one statement's rows (transition table ``{rows}``) with their sign, summed into every zoom's cells
_APPLY = f"""
WITH d AS (
    SELECT review_status = 'approved' AS public, tile_cell_x(ST_X(geom)) AS gx, tile_cell_y(ST_Y(geom)) AS gy,
           %s AS s, ST_X(geom) AS lon, ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) AS t, id
    FROM %s WHERE geom IS NOT NULL
), f AS (
    SELECT public, gx, gy, sum(s) AS n, sum(s * lon) AS sx, sum(s * t) AS sy, sum(s * id) AS sid
    FROM d GROUP BY public, gx, gy
)
INSERT INTO establishment_cell AS e (z, gx, gy, public, n, sx, sy, sid)
SELECT z, gx >> ({FINEST} - z), gy >> ({FINEST} - z), public, sum(n), sum(sx), sum(sy), sum(sid)
FROM f, generate_series(0, {FINEST}) AS z
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (z, gx, gy, public) DO UPDATE SET
    n = e.n + excluded.n,
    sx = CASE WHEN e.n + excluded.n = 0 THEN 0 ELSE e.sx + excluded.sx END,
    sy = CASE WHEN e.n + excluded.n = 0 THEN 0 ELSE e.sy + excluded.sy END,
    sid = e.sid + excluded.sid"""


def upgrade() -> None:
    op.execute(f"""
CREATE FUNCTION tile_cell_x(lon double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT floor((lon / 360 + 0.5) * {_SIDE})::integer $$""")
    op.execute(f"""
CREATE FUNCTION tile_cell_y(lat double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT floor((0.5 - ln(tan(pi() / 4 + radians(lat) / 2)) / (2 * pi())) * {_SIDE})::integer $$""")
    op.execute("""
CREATE TABLE establishment_cell (
    z smallint NOT NULL, gx integer NOT NULL, gy integer NOT NULL, public boolean NOT NULL,
    n integer NOT NULL, sx double precision NOT NULL, sy double precision NOT NULL, sid bigint NOT NULL,
    PRIMARY KEY (z, gx, gy, public))""")
    # written with establishment, read by no layer's source: not watched by the tile cache's change log
    op.execute("DROP TRIGGER IF EXISTS tile_change ON establishment_cell")
    op.execute(f"""
CREATE OR REPLACE FUNCTION establishment_cell_note() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM establishment_cell;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format($q${_APPLY}$q$, '1', 'new_rows');
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format($q${_APPLY}$q$, '-1', 'old_rows');
    ELSE  -- only the rows whose place or publication changed
        EXECUTE format($q${_APPLY}$q$, 's', $s$(
            SELECT n.*, 1 AS s FROM new_rows n JOIN old_rows o USING (id)
            WHERE n.geom IS DISTINCT FROM o.geom OR n.review_status <> o.review_status
            UNION ALL
            SELECT o.*, -1 FROM old_rows o JOIN new_rows n USING (id)
            WHERE n.geom IS DISTINCT FROM o.geom OR n.review_status <> o.review_status) r$s$);
    END IF;
    RETURN NULL;
END $f$""")
    for event, clause in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                          ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"CREATE TRIGGER establishment_cell_{event.lower()} AFTER {event} ON establishment "
                   f"REFERENCING {clause} FOR EACH STATEMENT EXECUTE FUNCTION establishment_cell_note()")
    op.execute("CREATE TRIGGER establishment_cell_truncate AFTER TRUNCATE ON establishment "
               "FOR EACH STATEMENT EXECUTE FUNCTION establishment_cell_note()")
    op.execute(_APPLY % ("1", "establishment"))  # the rows already there

def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER establishment_cell_{event} ON establishment")
    op.execute("DROP FUNCTION establishment_cell_note()")
    op.execute("DROP TABLE establishment_cell")
    op.execute("DROP FUNCTION tile_cell_y(double precision)")
    op.execute("DROP FUNCTION tile_cell_x(double precision)")
