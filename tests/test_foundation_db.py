"""The database platform: migrations, indexes, clear errors, backup/restore."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from geomap import db
from geomap.commands import backup
from geomap.errors import DatabaseUnavailable
from geomap.models import Base


def test_migrations_reach_head_and_match_models(engine):
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as c:
        current = set(MigrationContext.configure(c).get_current_heads())
        tables = set(sa.inspect(c).get_table_names())
    # every revision is applied: the heads recorded, and all they stand on (a head another revision
    # ``depends_on``, like 0002_accounts for 0010_web_sessions, is recorded through its dependant)
    applied = {r.revision for r in script.revision_map.iterate_revisions(tuple(current), "base")}
    assert applied == {r.revision for r in script.walk_revisions()}
    assert set(Base.metadata.tables) <= tables


def test_every_geometry_column_has_a_gist_index(engine):
    with engine.connect() as c:
        columns = c.execute(sa.text(
            "SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE f_table_schema = 'public' "
            "AND f_table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = 'public')")).all()
        indexed = {
            (r.tablename, r.column)
            for r in c.execute(sa.text(
                "SELECT t.relname AS tablename, a.attname AS column FROM pg_index i "
                "JOIN pg_class ix ON ix.oid = i.indexrelid JOIN pg_am am ON am.oid = ix.relam "
                "JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) WHERE am.amname = 'gist'"))
        }
    assert len(columns) >= 11  # every table with a geometry (views excluded)
    missing = [tuple(col) for col in columns if tuple(col) not in indexed]
    assert not missing, f"geometry columns without a GiST index: {missing}"


@pytest.fixture
def empty_database_url(database_url):
    """A brand-new database on the test server, with nothing in it (not even the schema)."""
    server = make_url(database_url)
    name = server.database + "_empty"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        db._engine_for.cache_clear()
        with admin.connect() as c:
            c.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_fresh_database_upgrades_and_downgrades(empty_database_url):
    """A brand-new database goes to head, back to base and up again."""
    from alembic import command

    url = empty_database_url
    db.migrate(url)
    cfg = db.alembic_config(url)
    command.downgrade(cfg, "base")
    eng = sa.create_engine(url)
    with eng.connect() as c:
        assert "establishment" not in sa.inspect(c).get_table_names()
    eng.dispose()
    db.migrate(url)


def _cli(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geomap.cli", *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, cwd=cwd)


def test_an_external_server_gets_its_schema_from_db_start(empty_database_url, tmp_path):
    """With GEOMAP_DATABASE_URL set, `geomap db start` starts nothing but migrates that database;
    before it, a command that needs the schema says so in one sentence."""
    env = {"GEOMAP_DATABASE_URL": empty_database_url, "GEOMAP_STATE_DIR": str(tmp_path / "state")}
    before = _cli("demo", "load", "--scale", "0.02", env=env, cwd=tmp_path)
    assert before.returncode == 1 and "Traceback" not in before.stderr
    assert len(before.stderr.strip().splitlines()) == 1 and "geomap db migrate" in before.stderr

    started = _cli("db", "start", env=env, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "starting nothing" in started.stdout
    assert not (tmp_path / "state" / "pgdata").exists()  # no private cluster was created
    with sa.create_engine(empty_database_url).connect() as c:
        assert "establishment" in sa.inspect(c).get_table_names()


def _raised(engine, sql: str, *, timeout_ms: int | None = None) -> sa.exc.DBAPIError:
    with engine.connect() as c:
        if timeout_ms:
            c.execute(sa.text(f"SET statement_timeout = {int(timeout_ms)}"))
        with pytest.raises(sa.exc.DBAPIError) as err:
            c.execute(sa.text(sql))
        c.rollback()
    return err.value


def test_readable_error_sorts_real_database_failures(engine):
    """Each kind of failure a running app meets gets its own sentence; bugs stay bugs."""
    missing = db.readable_error(_raised(engine, "SELECT * FROM no_such_table_here"))
    assert isinstance(missing, DatabaseUnavailable) and "geomap db migrate" in str(missing)
    slow = db.readable_error(_raised(engine, "SELECT pg_sleep(2)", timeout_ms=50))
    assert slow is not None and "try again" in str(slow) and not isinstance(slow, DatabaseUnavailable)
    assert db.readable_error(_raised(engine, "SELECT 1/0")) is None                   # a bug, not the database
    assert db.readable_error(_raised(engine, "SELECT no_such_column FROM ward")) is None  # a typo stays a bug
    assert db.readable_error(ValueError("not a database failure")) is None


def test_readable_error_when_the_server_is_gone():
    with pytest.raises(sa.exc.OperationalError) as err:
        sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing").connect()
    gone = db.readable_error(err.value)
    assert isinstance(gone, DatabaseUnavailable) and "geomap db start" in str(gone) and "\n" not in str(gone)
    empty = sa.exc.OperationalError("SELECT 1", {}, Exception(""))  # a driver error without a message
    assert "stopped answering (Exception)" in str(db.readable_error(empty))


def test_unreachable_database_is_one_clear_sentence():
    with pytest.raises(DatabaseUnavailable) as err:
        db.get_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    message = str(err.value)
    assert "Cannot reach the database" in message and "GEOMAP_DATABASE_URL" in message
    assert "\n" not in message


def test_malformed_url_is_one_clear_sentence():
    with pytest.raises(DatabaseUnavailable, match="not valid"):
        db.get_engine("this is not a url")


def test_cli_prints_one_line_without_traceback(tmp_path):
    out = _cli("db", "status", env={"GEOMAP_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing"},
               cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("geomap: Cannot reach the database")
    assert len(out.stderr.strip().splitlines()) == 1


def test_transaction_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError):
        with db.transaction(engine) as c:
            c.execute(sa.text("INSERT INTO api_key (name, key_hash) VALUES ('rollback-probe', 'x')"))
            raise RuntimeError("boom")
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM api_key WHERE name = 'rollback-probe'")).scalar() == 0


def test_backup_and_restore_round_trip(engine, database_url, tmp_path):
    with db.transaction(engine) as c:
        c.execute(sa.text("INSERT INTO api_key (name, key_hash) VALUES ('Khóa sao lưu', 'backup-probe')"))
    dump = backup.backup(tmp_path / "geomap.dump", database_url)
    assert dump.exists() and dump.stat().st_size > 0
    with db.transaction(engine) as c:
        c.execute(sa.text("DELETE FROM api_key WHERE key_hash = 'backup-probe'"))
    engine.dispose()  # pg_restore --clean needs the tables free
    backup.restore(dump, database_url)
    with engine.connect() as c:
        name = c.execute(sa.text("SELECT name FROM api_key WHERE key_hash = 'backup-probe'")).scalar()
    assert name == "Khóa sao lưu"
    with db.transaction(engine) as c:
        c.execute(sa.text("DELETE FROM api_key WHERE key_hash = 'backup-probe'"))


def test_restore_of_missing_file_is_clear(tmp_path, database_url):
    from geomap.errors import GeomapError

    with pytest.raises(GeomapError, match="no backup file"):
        backup.restore(tmp_path / "nope.dump", database_url)


def test_models_describe_exactly_what_the_migrations_create(engine):
    """geomap/models.py and the Alembic history agree (no table, column or index missing on either side)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from geoalchemy2 import alembic_helpers

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table" and name == "alembic_version":
            return False
        return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)

    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"include_object": include, "compare_type": False,
                                                      "compare_server_default": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _old_ward(c) -> int:
    """A ward 'cu' in a database at revision 0001, for the data migrations' tests."""
    return c.execute(sa.text(
        "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('cu', 'Phường Cũ', 'Đà Nẵng', "
        "5899, ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((108 16,108.01 16,108.01 16.01,108 16)))')) "
        "RETURNING id")).scalar_one()


def test_old_import_audit_entries_move_to_their_establishments_history(empty_database_url):
    """0008_import_audit: licence and inspection entries an import filed under themselves are re-filed."""
    import json

    from geomap import audit

    url = empty_database_url
    db.migrate(url, "0001")  # the tables the old importer wrote; the data migration has not run yet
    eng = sa.create_engine(url)
    try:
        with eng.begin() as c:
            ward = _old_ward(c)
            vsic = c.execute(sa.text("SELECT vsic_code FROM industry ORDER BY vsic_code LIMIT 1")).scalar_one()
            est = c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code) "
                "VALUES (:w, 'CU-1', 'Quán Cũ', 'household', :v) RETURNING id"), {"w": ward, "v": vsic}).scalar_one()
            lic = c.execute(sa.text(
                "INSERT INTO licence (establishment_id, kind, number, issued_on) "
                "VALUES (:e, 'business_registration', 'GP-1', '2024-01-02') RETURNING id"), {"e": est}).scalar_one()
            ins = c.execute(sa.text(
                "INSERT INTO inspection (establishment_id, inspected_on, kind, result) "
                "VALUES (:e, '2025-10-15', 'periodic', 'pass') RETURNING id"), {"e": est}).scalar_one()
            old = [  # (entity_type, entity_id, before, after), as the importer wrote them before the change
                ("licence", lic, None, {"establishment_id": est, "kind": "business_registration", "number": "GP-1"}),
                ("licence", lic, {"issuer": None}, {"issuer": "UBND quận"}),
                ("inspection", ins, None, {"establishment_id": est, "result": "violation"}),
                ("inspection", ins, {"result": "violation"}, {"result": "pass"}),
                ("licence", 987654, {"issuer": None}, {"issuer": "?"}),  # deleted since: nothing names its owner
            ]
            for etype, eid, before, after in old:
                c.execute(sa.text(
                    "INSERT INTO audit_log (username, action, entity_type, entity_id, before, after, note) VALUES "
                    "('system', 'import', :t, :i, CAST(:b AS jsonb), CAST(:a AS jsonb), 'import: cu.xlsx, row 2')"),
                    {"t": etype, "i": eid, "b": None if before is None else json.dumps(before),
                     "a": json.dumps(after, ensure_ascii=False)})
            c.execute(sa.text("INSERT INTO audit_log (username, action, entity_type, entity_id, after) "
                              "VALUES ('system', 'other', 'licence', :i, '{}')"), {"i": lic})
            assert audit.history(c, "establishment", est) == []

        db.migrate(url)

        with eng.connect() as c:
            history = audit.history(c, "establishment", est)
            left = c.execute(sa.text("SELECT action, entity_type, entity_id FROM audit_log "
                                     "WHERE entity_type <> 'establishment' ORDER BY id")).all()
    finally:
        eng.dispose()
    by_change = {(("licence_id" in h["after"]), h["before"] is None): h for h in history}
    assert len(history) == 4 and len(by_change) == 4
    assert all(h["action"] == "import" and h["note"] == "import: cu.xlsx, row 2" for h in history)
    assert by_change[True, True]["after"] == {"licence_id": lic, "establishment_id": est,
                                              "kind": "business_registration", "number": "GP-1"}
    assert by_change[True, False]["before"] == {"licence_id": lic, "issuer": None}
    assert by_change[True, False]["after"] == {"licence_id": lic, "issuer": "UBND quận"}
    assert by_change[False, True]["after"] == {"inspection_id": ins, "establishment_id": est, "result": "violation"}
    assert by_change[False, False]["before"] == {"inspection_id": ins, "result": "violation"}
    assert by_change[False, False]["after"] == {"inspection_id": ins, "result": "pass"}
    # the orphan keeps its old place; entries other than imports are not touched
    assert [tuple(r) for r in left] == [("import", "licence", 987654), ("other", "licence", lic)]


def test_old_report_steps_written_as_vietnamese_sentences_become_structured(empty_database_url):
    """0028_report_update_assignee: "Phân công cho <name>" becomes the assignee's id, the stored "Đã phân công
    cán bộ xử lý" and "Tiếp nhận qua kênh: …" go (the status and the channel say them in the reader's
    language); an officer's own note and a sentence naming no user stay as written."""
    url = empty_database_url
    db.migrate(url, "0001")
    eng = sa.create_engine(url)
    try:
        with eng.begin() as c:
            ward = _old_ward(c)
            officer = c.execute(sa.text(
                "INSERT INTO app_user (username, full_name, role, password_hash) "
                "VALUES ('cu.xu.ly', 'Trần Thị Xử Lý', 'inspector', 'x') RETURNING id")).scalar_one()
            report = c.execute(sa.text(
                "INSERT INTO field_report (ward_id, public_id, category, description, channel, geom) "
                "VALUES (:w, 'PA-CU', 'garbage', 'rác', 'web', ST_SetSRID(ST_MakePoint(108.005, 16.005), 4326)) "
                "RETURNING id"), {"w": ward}).scalar_one()
            steps = [(None, "new", "Tiếp nhận qua kênh: Trang web", True),
                     (None, None, "Phân công cho Trần Thị Xử Lý", False),
                     ("new", "assigned", "Đã phân công cán bộ xử lý", True),
                     (None, None, "Phân công cho Người Đã Xóa", False),
                     ("assigned", "in_progress", "Đang xử lý tại chỗ", True)]
            for status_from, status_to, note, public in steps:
                c.execute(sa.text(
                    "INSERT INTO field_report_update (report_id, status_from, status_to, note, is_public) "
                    "VALUES (:r, :f, :t, :n, :p)"), {"r": report, "f": status_from, "t": status_to, "n": note,
                                                      "p": public})
        db.migrate(url)
        with eng.connect() as c:
            after = c.execute(sa.text("SELECT assignee_id, note FROM field_report_update WHERE report_id = :r "
                                      "ORDER BY id"), {"r": report}).all()
    finally:
        eng.dispose()
    assert [tuple(r) for r in after] == [(None, None), (officer, None), (None, None),
                                         (None, "Phân công cho Người Đã Xóa"), (None, "Đang xử lý tại chỗ")]
