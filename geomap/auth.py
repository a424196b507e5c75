"""Staff accounts, sign-in sessions, and who may do what.

Roles and permissions live in ONE table, :data:`PERMISSIONS`; every page, service and
export asks :func:`can` (or :func:`require`) and never compares role names itself. Which
fields of a layer a user may see is :func:`visible_fields`: the map, the detail panel,
the records page and the exports all use it, so personal data (``Field.personal``:
owner name, ID number, phone, e-mail, reporter contact) reaches only roles holding
``view_personal``.

Decision on inspectors: they do **not** hold ``view_personal``. An inspector meets the
operator in person and reads the owner's name from the licence on the wall; carrying the
ID and phone numbers of thousands of household owners on a field phone is exactly the
exposure Decree 13/2023/NĐ-CP (personal data protection) asks to minimise. Data officers,
ward managers and administrators keep the records and hold the right.

Passwords are hashed with Argon2id (argon2-cffi) and never logged or stored in clear.
A sign-in session is a random token kept by the browser session; the database keeps only
its SHA-256 (table ``user_session``, migration ``0002_accounts``). Sessions end after
:data:`SESSION_IDLE_MINUTES` without activity, after :data:`SESSION_MAX_HOURS` in all, at
sign-out, when the account is disabled or its password reset, and when an administrator ends
them (:func:`end_sessions`). Each session also holds a CSRF secret (:class:`Session`) and the client
address that opened it. The browser keeps the token in the ``geomap_session`` cookie
(:mod:`geomap.web.session`), which the staff app reads too: one sign-in serves both apps.

Sign-in answers ONE message for an unknown name, a wrong password and a locked account (no
account enumeration); failures are held per client in PostgreSQL: a client that fails too often
is not heard for a while (a neutral "thử lại sau HH:MM", Vietnam time), an account is locked for
the client that guessed wrong :data:`MAX_FAILED_SIGN_INS` times in a row, and for everyone only
after :data:`ACCOUNT_LOCK_FAILURES` (so one client cannot keep ``admin`` locked). See :func:`sign_in`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import argon2
import pandas as pd
from sqlalchemy.engine import Connection

from geomap import audit, db
from geomap.accounts import data
from geomap.errors import LocalizedError
from geomap.models import ROLES
from geomap.status import ZONE
from geomap.text import nfc
from geomap.users import User

#: permission -> roles holding it. The one place roles are given rights.
PERMISSIONS: dict[str, frozenset[str]] = {
    # see owner name, ID number, phone, e-mail, reporter contact (Field.personal)
    "view_personal": frozenset({"data_officer", "ward_manager", "admin"}),
    # create / update / close / reopen establishments, add / renew / revoke licences, move points
    # (ward managers keep the records current with the data officers)
    "edit_records": frozenset({"data_officer", "ward_manager", "admin"}),
    # record an inspection result (on site or from the paper form)
    "record_inspection": frozenset({"inspector", "data_officer", "admin"}),
    # import files of establishments, licences and inspections
    "import_records": frozenset({"data_officer", "admin"}),
    # export layers with internal (non-public) fields
    "export_internal": frozenset({"data_officer", "ward_manager", "admin"}),
    # read an establishment's change history
    "view_history": frozenset({"inspector", "data_officer", "ward_manager", "admin", "city"}),
    # the data-quality worklist
    "view_quality": frozenset({"data_officer", "ward_manager", "admin"}),
    # the ward dashboard
    "view_dashboard": frozenset({"inspector", "data_officer", "ward_manager", "admin", "city"}),
    # the city-wide view: every loaded ward on one map, the wards' indicators side by side
    # (the "city" role holds only reading rights: it is named in no right that changes anything)
    "view_city": frozenset({"city", "admin"}),
    # survey mode of the field app: check and pin establishments on site, add ones found on the street
    "survey": frozenset({"data_officer", "ward_manager", "admin"}),
    # ... the same for inspectors, where the ward's profile allows it (``survey_by_inspectors``)
    "survey_if_ward_allows": frozenset({"inspector"}),
    # approve or reject establishments added on site before they are published
    "review_additions": frozenset({"data_officer", "admin"}),
    # work a field report: change its status, assign it, mark it a duplicate, add a note
    "handle_reports": frozenset({"inspector", "data_officer", "ward_manager", "admin"}),
    # decide what of a public report is published: its text (possibly edited), address and photos
    "moderate_reports": frozenset({"data_officer", "ward_manager", "admin"}),
    # erase a reporter's name, contact and photos now, when the reporter asks (Decree 13/2023; the retention
    # period erases them anyway: geomap reports purge-personal)
    "erase_personal": frozenset({"ward_manager", "admin"}),
    # add, reset, disable staff accounts
    "manage_users": frozenset({"admin"}),
}

#: the demo accounts made by :func:`ensure_demo_users` (username, role, full name)
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("quanly", "ward_manager", "Lãnh đạo phường (demo)"),
    ("dulieu", "data_officer", "Cán bộ dữ liệu (demo)"),
    ("kiemtra", "inspector", "Cán bộ kiểm tra (demo)"),
    ("admin", "admin", "Quản trị hệ thống (demo)"),
    ("thanhpho", "city", "Cán bộ thành phố (demo)"),
)
#: the documented password of the demo accounts (demo data only; change it on a real ward)
DEMO_PASSWORD = "geomap-demo"

#: a session ends after this many minutes without activity
SESSION_IDLE_MINUTES: int = int(os.environ.get("GEOMAP_SESSION_IDLE_MINUTES", "60"))
#: ... and after this many hours whatever the activity
SESSION_MAX_HOURS: int = int(os.environ.get("GEOMAP_SESSION_MAX_HOURS", "12"))
#: wrong passwords in a row before the account is locked
MAX_FAILED_SIGN_INS: int = 5
#: how long a locked account stays locked
LOCK_MINUTES: int = 15
#: wrong passwords in a row, from any clients, before the account is locked for everyone
ACCOUNT_LOCK_FAILURES: int = int(os.environ.get("GEOMAP_ACCOUNT_LOCK_FAILURES", "50"))
#: failed sign-ins from one client (any names) within :data:`CLIENT_WINDOW_MINUTES` before it is not heard
CLIENT_MAX_FAILURES: int = int(os.environ.get("GEOMAP_SIGN_IN_CLIENT_FAILURES", "10"))
CLIENT_WINDOW_MINUTES: int = int(os.environ.get("GEOMAP_SIGN_IN_CLIENT_MINUTES", "15"))
#: shortest password accepted
MIN_PASSWORD_LENGTH: int = 8

#: what replaces a personal value in histories shown to roles without ``view_personal``
HIDDEN = "•••"

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = argon2.PasswordHasher()  # Argon2id with the library's current recommended parameters


class PermissionDenied(LocalizedError):
    """The signed-in user's role does not allow the action."""

    both_in_str = True


class SignInError(LocalizedError):
    """Wrong user name or password, disabled or locked account."""

    both_in_str = True


class AccountError(LocalizedError):
    """Bad input to an account change (user name taken, weak password, unknown role...)."""

    both_in_str = True


# --- permissions and visibility ----------------------------------------------------------


def can(user: User | None, permission: str) -> bool:
    """Does ``user`` hold ``permission``? The public (``None``) holds none."""
    return role_can(user.role if user is not None else None, permission)


def role_can(role: str | None, permission: str) -> bool:
    """Does ``role`` hold ``permission`` (for a list of accounts; a signed-in user asks :func:`can`)?"""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
    return role is not None and role in PERMISSIONS[permission]


def require(user: User | None, permission: str, *, system_ok: bool = True) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may; ``None`` is the command line when ``system_ok``."""
    if user is None and system_ok:
        return
    if not can(user, permission):
        role = user.role if user is not None else "public"
        raise PermissionDenied(
            f"Vai trò '{role}' không được phép thực hiện thao tác này ({permission}).",
            f"The role '{role}' may not do this ({permission}).",
        )


def permissions_of(role: str) -> list[str]:
    """The permissions a role holds, for the user list and the docs."""
    return [p for p, roles in PERMISSIONS.items() if role in roles]


def visible_fields(layer: Any, user: User | None) -> tuple[Any, ...]:
    """The fields of ``layer`` that ``user`` may see (``None``: the public, public fields only)."""
    if user is None:
        return layer.public_fields if layer.publishable else ()
    if can(user, "view_personal"):
        return tuple(layer.fields)
    return tuple(f for f in layer.fields if not f.personal)


def visible_columns(layer: Any, user: User | None) -> list[str]:
    """Column names a frame of ``layer`` may keep for ``user``: the id, geometry and visible fields."""
    keep = [layer.id_field, "geometry", layer.geometry_column]
    keep += [f.name for f in visible_fields(layer, user)]
    return list(dict.fromkeys(keep))


def redact(frame: pd.DataFrame, layer: Any, user: User | None) -> pd.DataFrame:
    """``frame`` keeping only what ``user`` may see: a whitelist, so undeclared columns go too."""
    keep = [c for c in visible_columns(layer, user) if c in frame.columns]
    return frame[keep]


def redact_record(record: Mapping[str, Any], layer: Any, user: User | None) -> dict[str, Any]:
    """One record (a mapping) keeping only what ``user`` may see."""
    keep = set(visible_columns(layer, user))
    return {k: v for k, v in record.items() if k in keep}


def personal_names() -> frozenset[str]:
    """Names of every personal field of every layer (for redacting audit before/after)."""
    import layers

    return frozenset(f.name for layer in layers.registry().values() for f in layer.personal_fields)


def redact_history(entries: Iterable[Mapping[str, Any]], user: User | None) -> list[dict[str, Any]]:
    """Audit entries with personal values hidden from roles without ``view_personal``."""
    out = [dict(e) for e in entries]
    if can(user, "view_personal"):
        return out
    hidden = personal_names()
    for entry in out:
        for side in ("before", "after"):
            values = entry.get(side)
            if isinstance(values, Mapping):
                entry[side] = {k: (HIDDEN if k in hidden and v not in (None, "") else v) for k, v in values.items()}
    return out


# --- passwords and accounts --------------------------------------------------------------


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (after checking it is acceptable)."""
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    """Refuse passwords too short to be safe."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            "password",
        )


def _check_username(username: str) -> str:
    name = (nfc(username) or "").lower()
    if not _USERNAME.match(name):
        raise AccountError(
            f"Tên đăng nhập '{username}' không hợp lệ: 2–64 ký tự, chữ thường không dấu, số, dấu chấm, gạch.",
            f"User name '{username}' is not valid: 2-64 characters, lower-case letters, digits, '.', '_', '-'.",
            "username",
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(
            f"Vai trò '{role}' không tồn tại; dùng một trong: {', '.join(ROLES)}.",
            f"Unknown role '{role}'; use one of: {', '.join(ROLES)}.",
            "role",
        )
    return role


def _user_row(conn: Connection, username: str) -> dict[str, Any]:
    row = data.user_by_name(conn, username.lower())
    if row is None:
        raise AccountError(f"Không có tài khoản '{username}'.", f"There is no account '{username}'.", "username")
    return row


def get_user(conn: Connection, username: str) -> User:
    """The active account ``username`` as the services take it."""
    row = _user_row(conn, username)
    if not row["is_active"]:
        raise AccountError(f"Tài khoản '{username}' đã bị khóa.", f"The account '{username}' is disabled.", "username")
    return User.from_row(row)


def create_user(
    conn: Connection,
    username: str,
    full_name: str,
    role: str,
    password: str,
    *,
    ward_id: int | None = None,
    actor: User | None = None,
) -> User:
    """Add a staff account."""
    require(actor, "manage_users")
    username = _check_username(username)
    role = _check_role(role)
    if role == "city" and ward_id is not None:
        raise AccountError("Tài khoản cấp thành phố xem mọi phường: không gắn với một phường (bỏ --ward).",
                           "A city account sees every ward: it is bound to no ward (leave out --ward).", "ward")
    full_name = nfc(full_name) or ""
    if not full_name:
        raise AccountError("Họ tên không được để trống.", "The full name must not be empty.", "full_name")
    password_hash = hash_password(password)
    if data.username_taken(conn, username):
        raise AccountError(f"Tên đăng nhập '{username}' đã có người dùng.", f"User name '{username}' is taken.",
                           "username")
    row = data.insert_user(conn, username=username, full_name=full_name, role=role, password_hash=password_hash,
                           ward_id=ward_id)
    user = User.from_row(row)
    audit.record(conn, action="create", entity_type="user", entity_id=user.id, user=actor,
                 after={**user.as_dict(), "is_active": True})
    return user


def set_password(conn: Connection, username: str, password: str, *, actor: User | None = None) -> None:
    """Reset a password: unlocks the account and ends its open sessions."""
    if not (actor is not None and actor.username == username.lower()):
        require(actor, "manage_users")
    row = _user_row(conn, username)
    password_hash = hash_password(password)
    data.set_password_hash(conn, row["id"], password_hash)
    data.end_sessions_of(conn, row["id"])
    audit.record(conn, action="reset_password", entity_type="user", entity_id=row["id"], user=actor,
                 after={"password": "changed"})


def change_password(bind: db.Bind, user: User, current: str, new: str) -> None:
    """A signed-in user changes their own password (the current one is checked first)."""
    with db.transaction(bind) as conn:
        stored = data.active_password_hash(conn, user.id)
        try:
            ok = stored is not None and _hasher.verify(stored, current or "")
        except argon2.exceptions.VerificationError:
            ok = False
        if not ok:
            raise AccountError("Mật khẩu hiện tại không đúng.", "The current password is wrong.", "password")
        if new == current:
            raise AccountError("Mật khẩu mới phải khác mật khẩu hiện tại.",
                               "The new password must differ from the current one.", "password")
        set_password(conn, user.username, new, actor=user)


def set_active(conn: Connection, username: str, active: bool, *, actor: User | None = None) -> None:
    """Disable (ending its sessions) or re-enable an account; accounts are never deleted (the audit keeps names)."""
    require(actor, "manage_users")
    row = _user_row(conn, username)
    data.set_active(conn, row["id"], active)
    if not active:
        data.end_sessions_of(conn, row["id"])
    audit.record(conn, action="enable" if active else "disable", entity_type="user", entity_id=row["id"],
                 user=actor, before={"is_active": row["is_active"]}, after={"is_active": active})


def list_users(bind: db.Bind) -> list[dict[str, Any]]:
    """Every account (no hashes), by user name."""
    return data.list_users(bind)


def ensure_demo_users(conn: Connection) -> list[str]:
    """One demo account per role (password :data:`DEMO_PASSWORD`), only when no account exists yet."""
    if data.any_user(conn):
        return []
    for username, role, full_name in DEMO_USERS:
        create_user(conn, username, full_name, role, DEMO_PASSWORD)
    return [u for u, _, _ in DEMO_USERS]


# --- sign-in and sessions -------------------------------------------------------------------


_DUMMY_HASH: str | None = None


def _burn_time(password: str) -> None:
    """Verify against a dummy hash so an unknown user name takes as long as a wrong password."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except argon2.exceptions.VerificationError:
        pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: the one answer to an unknown name, a wrong password and a locked account (nothing tells which)
_WRONG = (f"Tên đăng nhập hoặc mật khẩu không đúng (sai {MAX_FAILED_SIGN_INS} lần liên tiếp thì tài khoản tạm khóa "
          f"{LOCK_MINUTES} phút).",
          f"Wrong user name or password (after {MAX_FAILED_SIGN_INS} wrong passwords in a row the account is locked "
          f"for {LOCK_MINUTES} minutes).")


@dataclass(frozen=True, slots=True)
class Session:
    """A live sign-in session: its user, its id and the CSRF secret its forms carry back."""

    user: User
    id: int
    csrf_secret: str


class SignInThrottled(SignInError):
    """Too many failed sign-ins from one client: ``retry_after`` seconds until the next attempt is heard."""

    def __init__(self, vi: str, en: str, retry_after: float) -> None:
        super().__init__(vi, en, "username")
        self.retry_after = retry_after


def local_time(value: dt.datetime | None, fmt: str = "%H:%M", empty: str = "-") -> str:
    """``value`` in Vietnam time (Asia/Ho_Chi_Minh), whatever the server's zone: every time shown to staff."""
    return value.astimezone(ZONE).strftime(fmt) if value is not None else empty


def _throttled(times: list[dt.datetime], now: dt.datetime) -> SignInThrottled:
    # the attempt is heard again once enough of the window's failures have aged out of it
    free_at = times[len(times) - CLIENT_MAX_FAILURES] + dt.timedelta(minutes=CLIENT_WINDOW_MINUTES)
    until = local_time(free_at)
    return SignInThrottled(
        f"Có quá nhiều lần đăng nhập không thành công từ thiết bị này; hãy thử lại sau {until} (giờ Việt Nam).",
        f"Too many failed sign-ins from this device; try again after {until} (Vietnam time).",
        max(1.0, (free_at - now).total_seconds()))


def sign_in(bind: db.Bind, username: str, password: str, *, client: str | None = None) -> tuple[User, str]:
    """Check the password and open a session: returns (user, session token).

    ``client`` is the address the web layer sees (None: the command line or a test, not throttled).
    Raises :class:`SignInError` with ONE message for an unknown user name, a wrong password and a
    locked account, so the answer never tells which accounts exist; failures are counted (and
    committed) before the error is raised. Locks, all held in PostgreSQL (every worker sees them):

    - a client with :data:`CLIENT_MAX_FAILURES` failures within :data:`CLIENT_WINDOW_MINUTES`,
      whatever the names tried, is not heard until the oldest of them ages out
      (:class:`SignInThrottled`, a neutral "thử lại sau HH:MM", Vietnam time);
    - an account with :data:`MAX_FAILED_SIGN_INS` wrong passwords in a row from one client is locked
      for that client for :data:`LOCK_MINUTES` (others can still sign in: one client cannot keep
      ``admin`` locked for everyone);
    - an account with :data:`ACCOUNT_LOCK_FAILURES` wrong passwords in a row from any clients is
      locked for everyone for :data:`LOCK_MINUTES` (a guessing attack spread over many addresses).
    """
    username = (nfc(username) or "").lower()
    key = client or ""
    error: SignInError | None = None
    result: tuple[User, str] | None = None
    with db.transaction(bind) as conn:
        if client:
            data.lock_client(conn, key)
            times = data.client_failure_times(conn, key, CLIENT_WINDOW_MINUTES)
            if len(times) >= CLIENT_MAX_FAILURES:
                error = _throttled(times, data.database_now(conn))
        if error is None:
            error, result = _check_credentials(conn, username, password, key, client)
        data.purge_sign_in_failures(conn, dt.timedelta(days=1))
    if error is not None:
        raise error
    assert result is not None
    return result


def _check_credentials(conn: Connection, username: str, password: str, key: str,
                       client: str | None) -> tuple[SignInError | None, tuple[User, str] | None]:
    row = data.user_for_sign_in(conn, username)
    if row is None or not password:
        _burn_time(password or "")
        data.insert_sign_in_failure(conn, key, row["id"] if row is not None else None)
        return SignInError(*_WRONG, "password"), None
    failures, _ = data.account_client_failures(conn, row["id"], key, LOCK_MINUTES)
    if row["locked"] or failures >= MAX_FAILED_SIGN_INS:
        # locked: the same answer, after the same work, as a wrong password (the hash is not even checked)
        _burn_time(password)
        return SignInError(*_WRONG, "password"), None
    try:
        _hasher.verify(row["password_hash"], password)
        ok = True
    except argon2.exceptions.VerificationError:
        ok = False
    if not ok:
        data.count_failed_sign_in(conn, row["id"], max_failures=ACCOUNT_LOCK_FAILURES, lock_minutes=LOCK_MINUTES)
        data.insert_sign_in_failure(conn, key, row["id"])
        return SignInError(*_WRONG, "password"), None
    if not row["is_active"]:
        return SignInError("Tài khoản đã bị vô hiệu hóa; liên hệ quản trị hệ thống.",
                           "The account is disabled; ask the administrator.", "username"), None
    stored = row["password_hash"]
    if _hasher.check_needs_rehash(stored):
        stored = _hasher.hash(password)
    data.record_sign_in(conn, row["id"], stored)
    data.clear_sign_in_failures(conn, row["id"], key)
    token = secrets.token_urlsafe(32)
    data.insert_session(conn, _token_hash(token), row["id"],
                        idle_minutes=min(SESSION_IDLE_MINUTES, SESSION_MAX_HOURS * 60),
                        csrf_secret=secrets.token_hex(32), client=client)
    purge_sessions(conn)  # housekeeping: the table never grows without bound
    return None, (User.from_row(row), token)


def session(bind: db.Bind, token: str | None) -> Session | None:
    """The live session of ``token`` (sliding its idle expiry), or None when it ended or expired."""
    if not token:
        return None
    with db.transaction(bind) as conn:
        row = data.touch_session(conn, _token_hash(token), max_hours=SESSION_MAX_HOURS,
                                 idle_minutes=SESSION_IDLE_MINUTES)
    if row is None:
        return None
    return Session(user=User.from_row(row), id=int(row["session_id"]), csrf_secret=row["csrf_secret"])


def session_user(bind: db.Bind, token: str | None) -> User | None:
    """The user of a live session (sliding its idle expiry), or None when it ended or expired."""
    found = session(bind, token)
    return found.user if found is not None else None


def sign_out(bind: db.Bind, token: str | None) -> None:
    """End the session of ``token`` (no error if it already ended)."""
    if not token:
        return
    with db.transaction(bind) as conn:
        data.end_session(conn, _token_hash(token))


def live_sessions(bind: db.Bind, username: str | None = None) -> list[dict[str, Any]]:
    """Live sessions (of ``username``, or everyone's), newest first: id, username, full_name, created_at,
    last_seen_at, expires_at, client."""
    return data.live_sessions(bind, (nfc(username) or "").lower() or None, max_hours=SESSION_MAX_HOURS)


def end_sessions(conn: Connection, username: str, *, actor: User | None = None) -> int:
    """End every open session of ``username`` (an admin's action, audit logged); how many were open."""
    require(actor, "manage_users")
    row = _user_row(conn, username)
    ended = data.end_sessions_of(conn, row["id"])
    audit.record(conn, action="end_sessions", entity_type="user", entity_id=row["id"], user=actor,
                 after={"sessions_ended": ended})
    return ended


def purge_sessions(conn: Connection, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Delete sessions that ended or expired more than ``older_than`` ago (housekeeping)."""
    return data.purge_sessions(conn, older_than)
