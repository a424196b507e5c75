"""Engine, transactions and migrations.

:func:`get_engine` returns one engine per URL. With ``GEOMAP_DATABASE_URL`` unset it
first makes sure the private cluster (:mod:`geomap.cluster`) runs. :func:`transaction`
is the one place a unit of work begins and commits: every write in geomap runs inside
it, so a failure leaves the database as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

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


def connect_args(url: str) -> dict[str, Any]:
    """What every connection is opened with: a connect timeout (``GEOMAP_DB_CONNECT_TIMEOUT``, seconds), so a
    request meets an unreachable database within seconds instead of the system's TCP timeout (minutes),
    unless the URL names its own ``connect_timeout``."""
    if "connect_timeout" in url or config.DB_CONNECT_TIMEOUT_S <= 0:
        return {}
    return {"connect_timeout": config.DB_CONNECT_TIMEOUT_S}


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                                pool_timeout=config.DB_POOL_TIMEOUT_S, connect_args=connect_args(url))
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(
            f"The database URL is not valid ({exc}); use the form "
            "postgresql+psycopg://user:password@host:5432/dbname."
        ) from exc


def pooled_engine(url: str) -> Engine:
    """The shared engine (pool) for ``url``, not checked: for a caller that watches that server its own way
    (:mod:`geomap.replica`)."""
    return _engine_for(url)


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


#: SQLSTATEs of a server that is gone or going (class 08: connection exceptions; 57P01-03: shutdown, crash, start-up)
_GONE = ("57P01", "57P02", "57P03")
#: SQLSTATEs of a change that lost a race or waited too long: serialization failure, deadlock, lock or statement timeout
_BUSY = ("40001", "40P01", "55P03", "57014")


def readable_error(exc: BaseException) -> GeomapError | None:
    """The one sentence for a database failure met after start-up, or None when it is not one.

    The server went away (or restarts), a change lost a race or waited too long, or the schema is
    older than the code: each happens to a running app or a command and has a plain remedy. Any
    other database error is a bug and stays one (None).
    """
    if isinstance(exc, GeomapError):
        return exc
    if not isinstance(exc, DBAPIError):
        return None
    code = getattr(exc.orig, "sqlstate", None) or ""
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    reason = lines[0] if lines else type(exc.orig or exc).__name__
    if exc.connection_invalidated or code.startswith("08") or code in _GONE or (
            isinstance(exc, OperationalError) and not code):
        return DatabaseUnavailable(
            f"The database stopped answering ({reason}); start it again ('geomap db start') "
            "or check GEOMAP_DATABASE_URL, then reload."
        )
    if code in _BUSY:
        return GeomapError(f"The database was busy with other work ({reason}); nothing was saved, please try again.")
    if isinstance(exc, ProgrammingError) and code == "42P01":
        return DatabaseUnavailable(
            "The database schema is missing or older than this version of geomap; "
            "run 'geomap db migrate' (or 'make run'), then reload."
        )
    return None


#: what a service takes to reach the database: an Engine, or a Connection the caller already holds
Bind = Engine | Connection


@contextmanager
def read(bind: Bind | None = None) -> Iterator[Connection]:
    """A connection to read on: ``bind`` itself when it is a Connection, else a new one of the engine.

    The one read helper: a service that only reads takes a :data:`Bind` and opens it here, so a
    caller inside a transaction (or a test whose connection is rolled back) reads its own writes.
    """
    if isinstance(bind, Connection):
        yield bind
        return
    with (bind or get_engine()).connect() as conn:
        yield conn


#: what :func:`rows`, :func:`row`, :func:`scalar` and :func:`scalars` take: SQL text or a SQLAlchemy statement
Statement = str | sa.Executable


@contextmanager
def _result(bind: Bind | None, statement: Statement, params: Mapping[str, Any] | None) -> Iterator[sa.CursorResult]:
    stmt = sa.text(statement) if isinstance(statement, str) else statement
    with read(bind) as conn:
        yield conn.execute(stmt, dict(params or {}))


def rows(bind: Bind | None, statement: Statement, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every row of ``statement`` as a dict, read through :func:`read`."""
    with _result(bind, statement, params) as res:
        return [dict(r) for r in res.mappings()]


def row(bind: Bind | None, statement: Statement, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The first row of ``statement`` as a dict (None when there is none), read through :func:`read`."""
    with _result(bind, statement, params) as res:
        found = res.mappings().first()
    return dict(found) if found is not None else None


def scalar(bind: Bind | None, statement: Statement, params: Mapping[str, Any] | None = None) -> Any:
    """The first column of the first row of ``statement`` (None when there is no row), read through :func:`read`."""
    with _result(bind, statement, params) as res:
        return res.scalar()


def scalars(bind: Bind | None, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
    """The first column of every row of ``statement``, read through :func:`read`."""
    with _result(bind, statement, params) as res:
        return list(res.scalars())


def transactions_done(bind: Bind) -> int:
    """The first transaction id not yet completed as this server sees it (``pg_current_snapshot()``'s xmax; on a
    standby, as far as it has replayed): every transaction below it has committed or aborted there."""
    return int(scalar(bind, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))


def is_standby(bind: Bind) -> bool:
    """Whether the server is a standby (replaying another server's WAL)."""
    return bool(scalar(bind, "SELECT pg_is_in_recovery()"))


def commit_synchronously(conn: Connection) -> None:
    """Make the current transaction's commit wait until its WAL is flushed (so also sent to read replicas), even
    where the server runs ``synchronous_commit = off`` (geomap's private cluster does: most changes may lose
    their last fraction of a second in a crash). For changes that must survive a crash and reach the replicas
    at once: a QR revocation (measured in ``bench_replica``: about 0.4 s to the replica's page without, a few ms
    with)."""
    conn.execute(sa.text("SET LOCAL synchronous_commit = on"))


@contextmanager
def transaction(bind: Bind | None = None) -> Iterator[Connection]:
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
