"""Accounts, sessions and who sees what, against the real PostGIS."""

from __future__ import annotations

import dataclasses
import io
import json

import geopandas as gpd
import pytest
import sqlalchemy as sa
from conftest import staff_user
from shapely.geometry import Point

import layers
from geomap import auth, cli, config, layer_reader
from geomap.models import ROLES
from geomap.records import edit
from geomap.users import User

PASSWORD = "đúng-mật-khẩu-9"


@pytest.fixture
def user(conn):
    return auth.create_user(conn, "lan.nguyen", "Nguyễn Thị Lan", "data_officer", PASSWORD)


# --- passwords and sign-in -------------------------------------------------------------------


def test_password_is_hashed_with_argon2id_and_never_stored_in_clear(conn, user):
    stored = conn.execute(sa.text("SELECT password_hash FROM app_user WHERE id = :id"), {"id": user.id}).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    logged = conn.execute(sa.text("SELECT coalesce(string_agg(after::text, ' '), '') FROM audit_log "
                                  "WHERE entity_type = 'user'")).scalar()
    assert PASSWORD not in logged and "password_hash" not in logged and "lan.nguyen" in logged


def test_sign_in_opens_a_session_stored_only_as_a_hash(conn, user):
    signed, token = auth.sign_in(conn, "Lan.Nguyen", PASSWORD)
    assert signed == user
    assert auth.session_user(conn, token) == user
    stored = conn.execute(sa.text("SELECT token_hash FROM user_session WHERE user_id = :id"), {"id": user.id}).all()
    assert len(stored) == 1 and stored[0][0] != token and len(stored[0][0]) == 64
    assert conn.execute(sa.text("SELECT last_login_at IS NOT NULL FROM app_user WHERE id = :id"),
                        {"id": user.id}).scalar()


@pytest.mark.parametrize(("username", "password"), [("lan.nguyen", "sai-mật-khẩu"), ("khong.co", PASSWORD),
                                                    ("lan.nguyen", "")])
def test_wrong_credentials_give_one_vietnamese_message(conn, user, username, password):
    with pytest.raises(auth.SignInError) as err:
        auth.sign_in(conn, username, password)
    assert err.value.message("vi").startswith("Tên đăng nhập hoặc mật khẩu không đúng")
    assert err.value.message("en").startswith("Wrong user name or password")


def test_account_locks_after_repeated_failures_and_reset_unlocks(conn, user):
    for _ in range(auth.MAX_FAILED_SIGN_INS):
        with pytest.raises(auth.SignInError):
            auth.sign_in(conn, "lan.nguyen", "sai-mật-khẩu")
    with pytest.raises(auth.SignInError) as err:
        auth.sign_in(conn, "lan.nguyen", PASSWORD)  # even the right password while locked
    assert "tạm khóa" in err.value.vi
    auth.set_password(conn, "lan.nguyen", "mật-khẩu-mới-1")
    assert auth.sign_in(conn, "lan.nguyen", "mật-khẩu-mới-1")[0].id == user.id


def test_failures_are_counted_even_though_sign_in_raises(engine):
    with engine.begin() as c:
        auth.create_user(c, "count.me", "Đếm Lỗi", "inspector", PASSWORD)
    with pytest.raises(auth.SignInError):
        auth.sign_in(engine, "count.me", "sai-mật-khẩu")
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT failed_logins FROM app_user WHERE username = 'count.me'")).scalar() == 1


def test_sessions_expire_idle_absolute_and_end_at_sign_out(conn, user):
    _, idle = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    _, old = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    _, out = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    conn.execute(sa.text("UPDATE user_session SET expires_at = now() - interval '1 second' WHERE token_hash = :h"),
                 {"h": auth._token_hash(idle)})
    conn.execute(sa.text("UPDATE user_session SET created_at = now() - make_interval(hours => :h + 1) "
                         "WHERE token_hash = :t"), {"h": auth.SESSION_MAX_HOURS, "t": auth._token_hash(old)})
    assert auth.session_user(conn, idle) is None
    assert auth.session_user(conn, old) is None  # active, but past the absolute lifetime
    assert auth.session_user(conn, out) == user
    auth.sign_out(conn, out)
    assert auth.session_user(conn, out) is None
    assert auth.session_user(conn, "forged-token") is None and auth.session_user(conn, None) is None


def test_activity_slides_the_idle_expiry(conn, user):
    _, token = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    left_of = lambda: conn.execute(sa.text("SELECT expires_at - now() FROM user_session WHERE token_hash = :h"),  # noqa: E731
                                   {"h": auth._token_hash(token)}).scalar().total_seconds()
    # seen within the last minute: still valid, its row not written again (a map's many tile requests)
    conn.execute(sa.text("UPDATE user_session SET expires_at = now() + interval '1 minute'"))
    assert auth.session_user(conn, token) is not None
    assert left_of() == 60
    # last seen longer ago: the idle expiry slides forward
    conn.execute(sa.text("UPDATE user_session SET last_seen_at = now() - interval '2 minutes'"))
    auth.session_user(conn, token)
    assert left_of() > 60 * (auth.SESSION_IDLE_MINUTES - 1)


def test_disable_and_reset_end_open_sessions(conn, user):
    _, token = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    auth.set_password(conn, "lan.nguyen", "mật-khẩu-mới-2")
    assert auth.session_user(conn, token) is None
    _, token = auth.sign_in(conn, "lan.nguyen", "mật-khẩu-mới-2")
    auth.set_active(conn, "lan.nguyen", False)
    assert auth.session_user(conn, token) is None
    with pytest.raises(auth.SignInError) as err:
        auth.sign_in(conn, "lan.nguyen", "mật-khẩu-mới-2")
    assert "vô hiệu hóa" in err.value.vi
    actions = conn.execute(sa.text("SELECT action FROM audit_log WHERE entity_type = 'user' AND entity_id = :id "
                                   "ORDER BY id"), {"id": user.id}).scalars().all()
    assert actions == ["create", "reset_password", "disable"]


def test_account_input_checks(conn, user):
    with pytest.raises(auth.AccountError) as err:
        auth.create_user(conn, "lan.nguyen", "Trùng", "inspector", PASSWORD)
    assert err.value.field == "username"
    with pytest.raises(auth.AccountError) as err:
        auth.create_user(conn, "ngan", "Ngắn", "inspector", "1234567")
    assert err.value.field == "password"
    with pytest.raises(auth.AccountError) as err:
        auth.create_user(conn, "x y", "Sai tên", "inspector", PASSWORD)
    assert err.value.field == "username"
    with pytest.raises(auth.AccountError):
        auth.create_user(conn, "boss", "Sếp", "mayor", PASSWORD)
    with pytest.raises(auth.PermissionDenied):
        auth.create_user(conn, "new.one", "Mới", "inspector", PASSWORD, actor=user)  # a data officer
    admin = auth.create_user(conn, "root2", "Quản trị", "admin", PASSWORD)
    assert auth.create_user(conn, "new.one", "Mới", "inspector", PASSWORD, actor=admin).role == "inspector"


def test_a_user_is_a_frozen_value_and_the_audit_records_it_as_before(conn, user):
    admin = auth.create_user(conn, "root3", "Quản trị", "admin", PASSWORD)
    made = auth.create_user(conn, "moi.vao", "Người Mới", "inspector", PASSWORD, actor=admin)
    assert isinstance(made, User) and auth.get_user(conn, "moi.vao") == made and made.ward_id is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.role = "admin"  # type: ignore[misc]
    entry = conn.execute(sa.text("SELECT user_id, username, after FROM audit_log WHERE entity_type = 'user' "
                                 "AND entity_id = :id AND action = 'create'"), {"id": made.id}).one()
    assert (entry.user_id, entry.username) == (admin.id, "root3")
    assert entry.after == {"id": made.id, "username": "moi.vao", "full_name": "Người Mới", "role": "inspector",
                           "ward_id": None, "is_active": True}


def test_demo_users_only_when_no_account_exists(conn):
    conn.execute(sa.text("DELETE FROM app_user"))
    assert auth.ensure_demo_users(conn) == ["quanly", "dulieu", "kiemtra", "admin", "thanhpho"]
    assert auth.ensure_demo_users(conn) == []
    roles = {u["username"]: u["role"] for u in auth.list_users(conn)}
    assert roles == {"quanly": "ward_manager", "dulieu": "data_officer", "kiemtra": "inspector", "admin": "admin",
                     "thanhpho": "city"}
    assert auth.sign_in(conn, "kiemtra", auth.DEMO_PASSWORD)[0].role == "inspector"


# --- permissions and visibility --------------------------------------------------------------


def test_permission_table_covers_known_roles_only():
    for permission, roles in auth.PERMISSIONS.items():
        assert roles <= set(ROLES), permission
    assert auth.can(staff_user("admin"), "manage_users")
    assert not auth.can(staff_user("ward_manager"), "manage_users")
    assert auth.can(staff_user("ward_manager"), "edit_records")  # managers keep the records current (README)
    assert not auth.can(None, "view_dashboard")  # the public has no account
    assert not auth.can(staff_user("inspector"), "view_personal")
    assert auth.can(staff_user("inspector"), "record_inspection")
    with pytest.raises(KeyError):
        auth.can(staff_user("admin"), "fly")


def test_page_roles_come_from_the_permission_table(monkeypatch):
    """The import, data-quality, dashboard, export and QR pages open to exactly the roles holding their right."""
    from geomap.ui import pages

    by_key = {p.key: p for p in pages.discover()}
    for key, permission in {"import": "import_records", "quality": "view_quality",
                            "dashboard": "view_dashboard", "export": "export_internal",
                            "qr": "edit_records"}.items():
        assert by_key[key].permission == permission
        assert set(by_key[key].roles) == auth.PERMISSIONS[permission], key
    assert "inspector" not in by_key["import"].roles and "inspector" in by_key["dashboard"].roles
    # and any other page tied to a right
    for page in by_key.values():
        if page.permission is not None:
            assert set(page.roles) == auth.PERMISSIONS[page.permission], page.key
    # derived, not copied: a change to the table is a change to the page
    monkeypatch.setitem(auth.PERMISSIONS, "view_quality", frozenset({"admin"}))
    page = pages.Page("q", "Q", "Q", lambda ctx: None, permission="view_quality")
    assert page.roles == ("admin",)
    # a page names its roles or its right, never both: no silent override
    with pytest.raises(ValueError, match="both roles and permission"):
        pages.Page("q", "Q", "Q", lambda ctx: None, roles=("admin",), permission="view_quality")
    assert pages.Page("q", "Q", "Q", lambda ctx: None).roles == pages.ALL_ROLES


@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_role_sees_only_the_fields_it_may_in_every_layer(role):
    user = None if role is None else staff_user(role, id=1)
    for layer in layers.registry().values():
        names = {f.name for f in auth.visible_fields(layer, user)}
        personal = {f.name for f in layer.personal_fields}
        if role is None:
            assert names == ({f.name for f in layer.public_fields} if layer.publishable else set()), layer.name
        elif auth.can(user, "view_personal"):
            assert names == {f.name for f in layer.fields}, layer.name
        else:
            assert not names & personal, layer.name
            assert names == {f.name for f in layer.fields} - personal, layer.name


def test_no_personal_value_reaches_a_role_without_the_right(conn):
    """A real read of the establishments layer, redacted per role: the personal values vanish."""
    ward_id = conn.execute(sa.text(
        "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('auth-w', 'Phường A', 'Đà Nẵng', 5899, "
        "ST_GeomFromText('MULTIPOLYGON(((108 16,108.01 16,108.01 16.01,108 16.01,108 16)))', 4326)) RETURNING id"
    )).scalar_one()
    secrets_ = {"owner_name": "Trần Bí Mật", "owner_id_number": "048090001234", "phone": "0905777666",
                "email": "bimat@example.vn"}
    made = edit.create_establishment(conn, ward_id, {"name": "Quán Cơm Bà Ba", "business_type": "household",
                                                        "vsic_code": "5610", **secrets_}, lon=108.005, lat=16.005)
    layer = layers.get("establishments")
    frame = layer_reader.read(conn, layer, ward_id=ward_id)
    frame["undeclared_extra"] = "x"  # a column the registry does not know must not leak either
    assert set(secrets_.values()) <= set(frame.iloc[0].astype(str))  # the raw read has them
    row = edit.get_establishment(conn, made["id"])
    for role in (*ROLES, None):
        user = None if role is None else staff_user(role, id=1)
        shown = auth.redact(frame, layer, user)
        shown_record = auth.redact_record(row, layer, user)
        text = shown.drop(columns="geometry").to_json(force_ascii=False, date_format="iso")
        text += json.dumps(shown_record, default=str, ensure_ascii=False)
        leaked = [v for v in secrets_.values() if v in text]
        if auth.can(user, "view_personal"):
            assert [v for v in secrets_.values() if v not in text] == [], role
        else:
            assert leaked == [], role
            assert "undeclared_extra" not in shown.columns
        assert isinstance(shown, gpd.GeoDataFrame) and shown.geometry.iloc[0].equals(Point(108.005, 16.005))
        if role is None:
            assert set(shown.columns) - {"id", "geometry"} <= {f.name for f in layer.public_fields}


# --- the command line --------------------------------------------------------------------------


def test_cli_add_list_reset_disable(database_url, monkeypatch, capsys):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-cli-1\n"))
    assert cli.main(["user", "add", "cli.user", "--role", "inspector", "--name", "Cán Bộ CLI",
                     "--password-stdin"]) == 0
    assert cli.main(["user", "list"]) == 0
    out = capsys.readouterr().out
    assert "cli.user" in out and "inspector" in out and "mật-khẩu-cli-1" not in out
    assert cli.main(["user", "reset", "cli.user"]) == 0
    new_password = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    engine = sa.create_engine(database_url)
    try:
        assert auth.sign_in(engine, "cli.user", new_password)[0].username == "cli.user"
        assert cli.main(["user", "disable", "cli.user"]) == 0
        with pytest.raises(auth.SignInError):
            auth.sign_in(engine, "cli.user", new_password)
    finally:
        engine.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("mật-khẩu-cli-2\n"))
    assert cli.main(["user", "add", "cli.user", "--role", "inspector", "--name", "X", "--password-stdin"]) == 1
    assert "is taken" in capsys.readouterr().err


def test_change_own_password_checks_the_current_one(conn, user):
    with pytest.raises(auth.AccountError):
        auth.change_password(conn, user, "sai-mật-khẩu", "mật-khẩu-mới-3")
    _, token = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    auth.change_password(conn, user, PASSWORD, "mật-khẩu-mới-3")
    assert auth.session_user(conn, token) is None
    assert auth.sign_in(conn, "lan.nguyen", "mật-khẩu-mới-3")[0].id == user.id
    entry = conn.execute(sa.text("SELECT username, action FROM audit_log WHERE entity_type = 'user' "
                                 "ORDER BY id DESC LIMIT 1")).one()
    assert tuple(entry) == ("lan.nguyen", "reset_password")


def test_old_sessions_are_purged_at_sign_in(conn, user):
    _, old = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    conn.execute(sa.text("UPDATE user_session SET ended_at = now() - interval '31 days' WHERE token_hash = :h"),
                 {"h": auth._token_hash(old)})
    _, fresh = auth.sign_in(conn, "lan.nguyen", PASSWORD)
    hashes = conn.execute(sa.text("SELECT token_hash FROM user_session WHERE user_id = :id"),
                          {"id": user.id}).scalars().all()
    assert hashes == [auth._token_hash(fresh)]
