"""Shared fixtures: a real PostGIS database for the test run, rolled-back connections.

As in GeoAlchemy2's suite, tests run against a real database: ``GEOMAP_TEST_DATABASE_URL``
when set (a server the tests may create databases on), else the server of
``GEOMAP_DATABASE_URL`` (the same rights needed), otherwise geomap's private cluster.
Each test run gets a fresh database ``geomap_test_<pid>`` migrated to head, dropped at the
end, so parallel runs never meet. Tests that need no database never touch these fixtures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from geomap import cluster, config, db
from geomap.users import User

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _server_url() -> str:
    """The server the run creates its database on: the test URL, the configured one, or the private cluster."""
    url = os.environ.get("GEOMAP_TEST_DATABASE_URL") or config.DATABASE_URL
    if url:
        return url
    return cluster.ensure_running().url("postgres")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a fresh, migrated database for this test run."""
    server = make_url(_server_url())
    name = f"geomap_test_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    db.migrate(url)
    yield url
    db._engine_for.cache_clear()
    with admin.connect() as c:
        c.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name})
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Engine:
    return db.get_engine(database_url)


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture(scope="session")
def demo_ward(engine: Engine) -> dict:
    """The default demo ward, loaded once per test run into the test database."""
    from geomap import demo
    from geomap.wards import data as ward_data

    demo.load(engine, ward="hoa-cuong")
    return {"slug": "hoa-cuong", "id": ward_data.ward_id(engine, "hoa-cuong")}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: run 'make test' (it installs Debian's chromium package).")
    return CHROMIUM


def staff_user(role: str, username: str = "test.staff", *, id: int | None = None, full_name: str = "Cán Bộ Thử",
          ward_id: int | None = None) -> User:
    """A staff :class:`User` for a test (``from conftest import staff_user``); ``id`` None: not stored in
    ``app_user`` (the audit log then names it by ``username`` only)."""
    return User(id=id, username=username, full_name=full_name, role=role, ward_id=ward_id)
