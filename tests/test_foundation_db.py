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
    assert current == set(script.get_heads())
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


def test_readable_error_leaves_other_failures_alone():
    assert db.readable_error(ValueError("not a database failure")) is None


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
