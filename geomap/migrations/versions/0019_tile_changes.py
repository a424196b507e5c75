"""Tile cache invalidation: every writing statement on a table leaves a row in ``tile_change``

Revision ID: 0019_tile_changes
Revises: 0001

The public service caches vector tiles (``geomap.ogc.tiles``) keyed on the layer's change count:
the sum of ``tile_change.weight`` over the tables the layer's source reads (found through
PostgreSQL's view dependencies). A statement-level trigger on every table of the schema adds
one row per INSERT/UPDATE/DELETE/TRUNCATE statement, in the writer's transaction, so the count
a reader sees changes exactly when a write it can see was committed (an insert-only log: no
counter row that concurrent writers would queue on or deadlock over). Bookkeeping tables no layer reads
(sessions, sign-in failures, the audit log, API keys, rate limits...: :data:`SKIPPED`, and UNLOGGED ones)
are not watched. Tables created later get
the trigger from an event trigger (when the migrating role may create one: a superuser);
the tile service does not cache a layer whose tables are not all watched.

``tile_change_compact()`` folds the rows of each table into one (the sums, hence the cache
keys, unchanged): a maintenance step, e.g. nightly.
"""
from __future__ import annotations

from alembic import op

revision = "0019_tile_changes"
down_revision = "0001"
branch_labels = None
depends_on = None

#: tables no layer reads and written on every request, sign-in or scan: watching them would only grow the log
#: (UNLOGGED tables, e.g. the rate limits' ``rate_hit``, are skipped too). A layer reading a skipped table is
#: simply not cached (the tile service checks every table of a layer's source is watched).
SKIPPED = ("tile_change", "alembic_version", "spatial_ref_sys", "user_session", "sign_in_failure", "audit_log",
           "api_key", "app_user", "qr_code", "qr_scan", "report_mail")


def upgrade() -> None:
    op.execute("CREATE TABLE tile_change (id bigserial PRIMARY KEY, table_name text NOT NULL, "
               "weight bigint NOT NULL DEFAULT 1)")
    op.execute("CREATE INDEX ix_tile_change_table ON tile_change (table_name) INCLUDE (weight)")
    op.execute("""
CREATE FUNCTION tile_change_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tile_change (table_name) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END $$""")
    op.execute(f"""
CREATE FUNCTION tile_change_watch(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT relname IN ({", ".join(f"'{s}'" for s in SKIPPED)}) OR relpersistence <> 'p'
        FROM pg_class WHERE oid = t) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t AND tgname = 'tile_change') THEN
        EXECUTE format('CREATE TRIGGER tile_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION tile_change_note()', t);
    END IF;
END $$""")
    op.execute("""
CREATE FUNCTION tile_change_compact() RETURNS void LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM tile_change RETURNING table_name, weight)
    INSERT INTO tile_change (table_name, weight) SELECT table_name, sum(weight) FROM gone GROUP BY table_name
$$""")
    op.execute("""
CREATE FUNCTION tile_change_on_create() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' AND schema_name = current_schema() LOOP
        PERFORM tile_change_watch(r.objid::regclass);
    END LOOP;
END $$""")
    op.execute("""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') LOOP
        PERFORM tile_change_watch(r.oid::regclass);
    END LOOP;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'CREATE EVENT TRIGGER tile_change_on_create ON ddl_command_end WHEN TAG IN (''CREATE TABLE'') '
                'EXECUTE FUNCTION tile_change_on_create()';
    END IF;
END $$""")


def downgrade() -> None:
    op.execute("DROP EVENT TRIGGER IF EXISTS tile_change_on_create")
    op.execute("DROP FUNCTION IF EXISTS tile_change_on_create()")
    op.execute("""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tgrelid::regclass AS t FROM pg_trigger WHERE tgname = 'tile_change' LOOP
        EXECUTE format('DROP TRIGGER tile_change ON %s', r.t);
    END LOOP;
END $$""")
    op.execute("DROP FUNCTION tile_change_compact()")
    op.execute("DROP FUNCTION tile_change_watch(regclass)")
    op.execute("DROP FUNCTION tile_change_note()")
    op.execute("DROP TABLE tile_change")
