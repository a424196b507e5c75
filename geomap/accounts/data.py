"""Every SQL statement of accounts: staff users (``app_user``), sign-in sessions (``user_session``),
failed sign-ins per client (``sign_in_failure``), API keys (``api_key``) and the audit log (``audit_log``).

Writes take the Connection of the caller's :func:`geomap.db.transaction` (the services in
:mod:`geomap.auth`, :mod:`geomap.accounts.apikeys` and :mod:`geomap.audit` decide and open it);
reads take a :data:`geomap.db.Bind`. No rule lives here: hashing, lock-out and session lengths are
:mod:`geomap.auth`'s, passed in as values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db

#: the columns of a user as the services take it (:meth:`geomap.users.User.from_row` builds it)
USER_COLUMNS = "id, username, full_name, role, ward_id"

# --- users ------------------------------------------------------------------------------------------


def user_by_name(conn: Connection, username: str) -> dict[str, Any] | None:
    """The account ``username`` (its :data:`USER_COLUMNS` and ``is_active``), active or not."""
    return db.row(conn, f"SELECT {USER_COLUMNS}, is_active FROM app_user WHERE username = :u", {"u": username})


def username_taken(conn: Connection, username: str) -> bool:
    return db.scalar(conn, "SELECT 1 FROM app_user WHERE username = :u", {"u": username}) is not None


def insert_user(conn: Connection, *, username: str, full_name: str, role: str, password_hash: str,
                ward_id: int | None) -> dict[str, Any]:
    """Insert an account; returns its :data:`USER_COLUMNS`."""
    return dict(conn.execute(
        sa.text(
            "INSERT INTO app_user (username, full_name, role, password_hash, ward_id, password_changed_at) "
            f"VALUES (:u, :n, :r, :h, :w, now()) RETURNING {USER_COLUMNS}"
        ),
        {"u": username, "n": full_name, "r": role, "h": password_hash, "w": ward_id},
    ).mappings().one())


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """A new password: also unlocks the account (failed sign-ins reset, from every client)."""
    conn.execute(
        sa.text("UPDATE app_user SET password_hash = :h, failed_logins = 0, locked_until = NULL, "
                "password_changed_at = now(), updated_at = now() WHERE id = :id"),
        {"h": password_hash, "id": user_id},
    )
    clear_sign_in_failures(conn, user_id)


def active_password_hash(conn: Connection, user_id: int) -> str | None:
    """The stored hash of an active account (None: no such account, or disabled)."""
    return db.scalar(conn, "SELECT password_hash FROM app_user WHERE id = :id AND is_active", {"id": user_id})


def set_active(conn: Connection, user_id: int, active: bool) -> None:
    conn.execute(sa.text("UPDATE app_user SET is_active = :a, updated_at = now() WHERE id = :id"),
                 {"a": active, "id": user_id})


def list_users(bind: db.Bind) -> list[dict[str, Any]]:
    """Every account (no hashes), by user name."""
    return db.rows(bind, f"SELECT {USER_COLUMNS}, is_active, last_login_at, locked_until FROM app_user "
                         "ORDER BY username")


def any_user(conn: Connection) -> bool:
    return db.scalar(conn, "SELECT 1 FROM app_user LIMIT 1") is not None


def active_user(bind: db.Bind, user_id: int) -> dict[str, Any] | None:
    """An active account by id (id, full_name, username); None: unknown or disabled."""
    return db.row(bind, "SELECT id, full_name, username FROM app_user WHERE id = :u AND is_active", {"u": user_id})


def active_staff(bind: db.Bind, ward_id: int | None = None) -> list[dict[str, Any]]:
    """Active accounts of ``ward_id`` (and those of no ward), by full name."""
    return db.rows(bind, "SELECT id, username, full_name, role FROM app_user WHERE is_active "
                         "AND (:w IS NULL OR ward_id IS NULL OR ward_id = :w) ORDER BY full_name", {"w": ward_id})


# --- sign-in and lock-out ---------------------------------------------------------------------------


def user_for_sign_in(conn: Connection, username: str) -> dict[str, Any] | None:
    """The account with its hash and lock state, locked FOR UPDATE (failures are counted on it)."""
    return db.row(conn, f"SELECT {USER_COLUMNS}, password_hash, is_active, locked_until, "
                        "locked_until > now() AS locked FROM app_user WHERE username = :u FOR UPDATE",
                  {"u": username})


def count_failed_sign_in(conn: Connection, user_id: int, *, max_failures: int, lock_minutes: int) -> None:
    """One more wrong password; the ``max_failures``-th in a row locks the account for ``lock_minutes``."""
    conn.execute(sa.text(
        "UPDATE app_user SET failed_logins = failed_logins + 1, locked_until = CASE "
        "WHEN failed_logins + 1 >= :max THEN now() + make_interval(mins => :lock) END WHERE id = :id"),
        {"max": max_failures, "lock": lock_minutes, "id": user_id})


def record_sign_in(conn: Connection, user_id: int, password_hash: str) -> None:
    """A successful sign-in: failures reset, lock lifted, time noted, hash stored (maybe rehashed)."""
    conn.execute(sa.text(
        "UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = now(), "
        "password_hash = :h WHERE id = :id"), {"id": user_id, "h": password_hash})


# --- sessions -----------------------------------------------------------------------------------------

#: the columns of a live session as :func:`touch_session` returns it (the user's and the session's)
SESSION_COLUMNS = "u.id, u.username, u.full_name, u.role, u.ward_id, s.id AS session_id, s.csrf_secret"


def insert_session(conn: Connection, token_hash: str, user_id: int, *, idle_minutes: int, csrf_secret: str,
                   client: str | None = None) -> None:
    conn.execute(sa.text(
        "INSERT INTO user_session (token_hash, user_id, expires_at, csrf_secret, client) VALUES "
        "(:t, :u, now() + make_interval(mins => :idle), :c, :cl)"),
        {"t": token_hash, "u": user_id, "idle": idle_minutes, "c": csrf_secret, "cl": client})


#: a session's idle expiry is slid forward at most this often (seconds): a map's dozens of tile requests a
#: second, each carrying the cookie, then write the session row about once a minute, not once each
TOUCH_EVERY_S = 60


def touch_session(conn: Connection, token_hash: str, *, max_hours: int, idle_minutes: int) -> dict[str, Any] | None:
    """The user of a live session with its id and CSRF secret, its idle expiry slid forward when it was
    last slid more than :data:`TOUCH_EVERY_S` ago (so idle expiry may come up to that much early); None when
    it ended or expired."""
    row = conn.execute(
        sa.text(
            f"WITH live AS (SELECT {SESSION_COLUMNS}, s.last_seen_at FROM user_session s "
            "JOIN app_user u ON u.id = s.user_id WHERE s.token_hash = :t AND s.ended_at IS NULL "
            "AND s.expires_at > now() AND s.created_at + make_interval(hours => :max_h) > now() AND u.is_active), "
            "touched AS (UPDATE user_session s SET last_seen_at = now(), expires_at = LEAST("
            "s.created_at + make_interval(hours => :max_h), now() + make_interval(mins => :idle)) "
            "FROM live WHERE s.id = live.session_id AND live.last_seen_at < now() - make_interval(secs => :every)) "
            "SELECT id, username, full_name, role, ward_id, session_id, csrf_secret FROM live"
        ),
        {"t": token_hash, "max_h": max_hours, "idle": idle_minutes, "every": TOUCH_EVERY_S},
    ).mappings().first()
    return dict(row) if row else None


def end_session(conn: Connection, token_hash: str) -> None:
    conn.execute(sa.text("UPDATE user_session SET ended_at = now() WHERE token_hash = :t AND ended_at IS NULL"),
                 {"t": token_hash})


def end_sessions_of(conn: Connection, user_id: int) -> int:
    """End every open session of the account; how many were open."""
    return conn.execute(sa.text("UPDATE user_session SET ended_at = now() WHERE user_id = :u AND ended_at IS NULL"),
                        {"u": user_id}).rowcount


def live_sessions(bind: db.Bind, username: str | None, *, max_hours: int) -> list[dict[str, Any]]:
    """Sessions neither ended nor expired (of ``username``, or of everyone), newest first."""
    return db.rows(bind, "SELECT s.id, u.username, u.full_name, s.created_at, s.last_seen_at, s.expires_at, s.client "
                         "FROM user_session s JOIN app_user u ON u.id = s.user_id "
                         "WHERE s.ended_at IS NULL AND s.expires_at > now() "
                         "AND s.created_at + make_interval(hours => :max_h) > now() "
                         "AND (CAST(:u AS text) IS NULL OR u.username = :u) ORDER BY s.created_at DESC, s.id DESC",
                   {"u": username, "max_h": max_hours})


def purge_sessions(conn: Connection, older_than: dt.timedelta) -> int:
    """Delete sessions that ended or expired more than ``older_than`` ago; how many."""
    return conn.execute(
        sa.text("DELETE FROM user_session WHERE COALESCE(ended_at, expires_at) < now() - :age"), {"age": older_than}
    ).rowcount


# --- sign-in failures per client ----------------------------------------------------------------------


def database_now(conn: Connection) -> dt.datetime:
    """The database's clock (the one every expiry and failure time is written with)."""
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def lock_client(conn: Connection, client: str) -> None:
    """Serialise the sign-ins of one client until the transaction ends (its counts stay exact across workers)."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('geomap.sign_in'), hashtext(:c))"), {"c": client})


def client_failure_times(conn: Connection, client: str, minutes: int) -> list[dt.datetime]:
    """When the failed sign-ins of ``client`` within the last ``minutes`` happened, oldest first."""
    return list(conn.execute(sa.text(
        "SELECT at FROM sign_in_failure WHERE client = :c AND at > now() - make_interval(mins => :m) ORDER BY at"),
        {"c": client, "m": minutes}).scalars())


def account_client_failures(conn: Connection, user_id: int, client: str,
                            minutes: int) -> tuple[int, dt.datetime | None]:
    """Failed sign-ins to one account from one client within ``minutes``: (count, the newest one's time)."""
    row = conn.execute(sa.text(
        "SELECT count(*) AS n, max(at) AS last FROM sign_in_failure WHERE user_id = :u AND client = :c "
        "AND at > now() - make_interval(mins => :m)"), {"u": user_id, "c": client, "m": minutes}).mappings().one()
    return int(row["n"]), row["last"]


def insert_sign_in_failure(conn: Connection, client: str, user_id: int | None) -> None:
    """One failed sign-in of ``client`` (against the account ``user_id`` when the name exists)."""
    conn.execute(sa.text("INSERT INTO sign_in_failure (client, user_id) VALUES (:c, :u)"), {"c": client, "u": user_id})


def clear_sign_in_failures(conn: Connection, user_id: int, client: str | None = None) -> None:
    """Forget the failures against one account (from one client, or from all: a new password)."""
    conn.execute(sa.text("DELETE FROM sign_in_failure WHERE user_id = :u AND (CAST(:c AS text) IS NULL "
                         "OR client = :c)"), {"u": user_id, "c": client})


def purge_sign_in_failures(conn: Connection, older_than: dt.timedelta) -> int:
    return conn.execute(sa.text("DELETE FROM sign_in_failure WHERE at < now() - :age"), {"age": older_than}).rowcount


# --- API keys -----------------------------------------------------------------------------------------


def insert_api_key(conn: Connection, name: str, key_hash: str, scopes: Sequence[str]) -> int:
    return int(conn.execute(sa.text(
        "INSERT INTO api_key (name, key_hash, scopes) VALUES (:n, :h, :s) RETURNING id"),
        {"n": name, "h": key_hash, "s": list(scopes)}).scalar_one())


def api_key_id(bind: db.Bind, key_hash: str, scope: str) -> int | None:
    """The id of the unrevoked key with ``key_hash`` holding ``scope``."""
    found = db.scalar(bind, "SELECT id FROM api_key WHERE key_hash = :h AND revoked_at IS NULL AND :s = ANY(scopes)",
                      {"h": key_hash, "s": scope})
    return int(found) if found is not None else None


def api_key_scopes(bind: db.Bind, key_hash: str) -> list[str] | None:
    """The scopes of the unrevoked key with ``key_hash``; None when there is none."""
    found = db.row(bind, "SELECT scopes FROM api_key WHERE key_hash = :h AND revoked_at IS NULL", {"h": key_hash})
    return None if found is None else list(found["scopes"] or [])


def revoke_api_key(conn: Connection, key_id: int) -> bool:
    """Revoke the active key ``key_id``; False when there is none."""
    return bool(conn.execute(sa.text(
        "UPDATE api_key SET revoked_at = now() WHERE id = :i AND revoked_at IS NULL"), {"i": key_id}).rowcount)


def list_api_keys(bind: db.Bind) -> list[dict[str, Any]]:
    return db.rows(bind, "SELECT id, name, scopes, created_at, revoked_at FROM api_key ORDER BY id")


# --- audit log ------------------------------------------------------------------------------------------


def insert_audit(conn: Connection, entry: dict[str, Any]) -> None:
    """Append one audit entry (``before``/``after`` already JSON text)."""
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (user_id, username, action, entity_type, entity_id, before, after, note) "
            "VALUES (:user_id, :username, :action, :entity_type, :entity_id, "
            "CAST(:before AS jsonb), CAST(:after AS jsonb), :note)"
        ),
        entry,
    )


def audit_history(bind: db.Bind, entity_type: str, entity_id: int, limit: int) -> list[dict[str, Any]]:
    """An entity's audit entries, newest first."""
    return db.rows(bind, "SELECT at, username, action, before, after, note FROM audit_log "
                         "WHERE entity_type = :t AND entity_id = :id ORDER BY at DESC, id DESC LIMIT :n",
                   {"t": entity_type, "id": entity_id, "n": limit})
