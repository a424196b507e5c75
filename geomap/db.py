"""Engine, transactions and migrations.

:func:`get_engine` returns one engine per URL. With ``GEOMAP_DATABASE_URL`` unset it
first makes sure the private cluster (:mod:`geomap.cluster`) runs. :func:`transaction`
is the one place a unit of work begins and commits: every write in geomap runs inside
it, so a failure leaves the database as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, ProgrammingError

from geomap import config
from geomap.errors import DatabaseUnavailable, GeomapError


def database_url() -> str:
    """The configured URL, or the private cluster's (started if needed)."""
    if config.DATABASE_URL:
        return config.DATABASE_URL
    from geomap import cluster

    return cluster.ensure_running().url()


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(
            f"The database URL is not valid ({exc}); use the form "
            "postgresql+psycopg://user:password@host:5432/dbname."
        ) from exc


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url`` (default: :func:`database_url`), checked to answer."""
    engine = _engine_for(url or database_url())
    check(engine)
    return engine


def check(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` with one clear sentence unless PostGIS answers."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            has_postgis = conn.execute(
                sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            ).first()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {where} ({reason}); check GEOMAP_DATABASE_URL, "
            "or unset it to use geomap's own database."
        ) from exc
    if not has_postgis:
        raise DatabaseUnavailable(
            f"The database at {where} has no PostGIS; install it on that server "
            "(Debian: apt-get install postgresql-15-postgis-3)."
        )


def readable_error(exc: BaseException) -> GeomapError | None:
    """The one sentence for a database failure met after start-up, or None when it is not one.

    The server went away (or restarts), or the schema is older than the code: both happen to
    a running app or a command, and both have a plain remedy the user can follow.
    """
    if isinstance(exc, GeomapError):
        return exc
    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        return DatabaseUnavailable(
            f"The database stopped answering ({reason}); start it again ('geomap db start') "
            "or check GEOMAP_DATABASE_URL, then reload."
        )
    if isinstance(exc, ProgrammingError) and getattr(exc.orig, "sqlstate", None) in ("42P01", "42703"):
        return DatabaseUnavailable(
            "The database schema is missing or older than this version of geomap; "
            "run 'geomap db migrate' (or 'make run'), then reload."
        )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable("The connection to the database was lost; reload the page or run the command again.")
    return None


@contextmanager
def transaction(bind: Engine | Connection | None = None) -> Iterator[Connection]:
    """One all-or-nothing unit of work: commits on success, rolls back on any error.

    ``bind`` is an Engine (default: :func:`get_engine`), or a Connection: inside the caller's
    open transaction the unit is a savepoint, so callers (and tests whose connection is
    rolled back) can compose several units into one.
    """
    if bind is None or isinstance(bind, Engine):
        with (bind or get_engine()).begin() as conn:
            yield conn
    elif bind.in_transaction():
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin():
            yield bind


def alembic_config(url: str):
    """Alembic configuration for ``url``, independent of the working directory."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(config.PROJECT_DIR / "geomap" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "heads") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: all heads)."""
    from alembic import command

    url = url or database_url()
    get_engine(url)  # fail early with a readable message
    command.upgrade(alembic_config(url), revision)
