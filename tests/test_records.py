"""Editing services against the real PostGIS: validation, optimistic locking, audit trail, roles."""

from __future__ import annotations

import datetime as dt
import threading
import time
import unicodedata

import pytest
import sqlalchemy as sa

from geomap import audit, auth, status
from geomap.errors import ConcurrentEdit
from geomap.records import edit, rules

FOOD = "5610"  # restaurants: food safety applies
RETAIL = "4719"  # general retail: it does not
# a 0.01° square ward (about 1.07 km x 1.11 km) split into a west and an east residential group
W, S, E, N = 108.200, 16.000, 108.210, 16.010
INSIDE_WEST = (108.202, 16.005)
INSIDE_EAST = (108.208, 16.005)


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


@pytest.fixture(scope="module")
def ward(engine) -> dict:
    """A small committed ward with two residential groups and one user per role."""
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-records', 'Phường Thử Nghiệm', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(W, S, E, N)}).scalar_one()
        groups = {}
        for code, (x0, x1) in {"west": (W, (W + E) / 2), "east": ((W + E) / 2, E)}.items():
            groups[code] = c.execute(sa.text(
                "INSERT INTO residential_group (ward_id, code, name, geom) VALUES (:w, :c, :n, ST_GeomFromEWKT(:g)) "
                "RETURNING id"), {"w": ward_id, "c": code, "n": f"Tổ {code}", "g": _square(x0, S, x1, N)}).scalar_one()
        other = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-other', 'Phường Khác', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(108.3, 16.1, 108.31, 16.11)}).scalar_one()
        users = {role: auth.create_user(c, f"rec_{role}", f"Cán bộ {role}", role, "mật-khẩu-dài")
                 for role in ("inspector", "data_officer", "ward_manager", "admin")}
        users["other_ward"] = auth.create_user(c, "rec_other", "Cán bộ phường khác", "data_officer", "mật-khẩu-dài",
                                               ward_id=other)
    return {"id": ward_id, "groups": groups, "other": other, "users": users}


def _new(conn, ward, name="Quán Phở Hòa", vsic=FOOD, point=INSIDE_WEST, user=None, **values) -> dict:
    user = user or ward["users"]["data_officer"]
    return edit.create_establishment(conn, ward["id"], {"name": name, "business_type": "household",
                                                           "vsic_code": vsic, **values},
                                        lon=point[0], lat=point[1], user=user)


# --- create and validate -------------------------------------------------------------------


def test_create_normalises_text_assigns_group_code_and_search_key(conn, ward):
    nfd_name = unicodedata.normalize("NFD", "  Quán   Phở Hòa  ")
    made = _new(conn, ward, name=nfd_name, house_number="12", street="Đường Núi Thành", phone="+84 905 123 456")
    row = edit.get_establishment(conn, made["id"])
    assert row["name"] == unicodedata.normalize("NFC", "Quán Phở Hòa")
    assert row["address"] == "12, Đường Núi Thành"
    assert row["phone"] == "0905123456"
    assert row["residential_group_id"] == ward["groups"]["west"]
    assert row["code"] == made["code"] and made["code"].startswith("TR-")
    assert row["version"] == 1
    assert row["food_safety_status"] == "missing" and row["licence_status"] == "missing"
    key = conn.execute(sa.text("SELECT search_key FROM establishment WHERE id = :id"), {"id": made["id"]}).scalar()
    assert "quan pho hoa" in key and "duong nui thanh" in key
    assert [r["id"] for r in edit.search(conn, ward["id"], "pho hoa")] == [made["id"]]
    assert edit.search(conn, ward["id"], "PHỞ")[0]["id"] == made["id"]
    entry = audit.history(conn, "establishment", made["id"])[0]
    assert entry["action"] == "create" and entry["username"] == "rec_data_officer"
    assert entry["after"]["name"] == row["name"]


def test_point_outside_the_ward_is_refused_with_the_distance(conn, ward):
    with pytest.raises(edit.ValidationError) as err:
        _new(conn, ward, point=(108.22, 16.005))
    assert err.value.field == "point"
    assert "ngoài phường Phường Thử Nghiệm" in err.value.vi and "m" in err.value.vi
    assert "outside ward" in err.value.en


def test_swapped_lat_lon_is_named(conn, ward):
    with pytest.raises(edit.ValidationError) as err:
        _new(conn, ward, point=(INSIDE_WEST[1], INSIDE_WEST[0]))
    assert "đảo ngược" in err.value.vi and "swapped" in err.value.en


def test_bad_fields_are_all_reported_by_field(conn, ward):
    with pytest.raises(edit.ValidationError) as err:
        _new(conn, ward, vsic="9999", phone="12345", owner_id_number="12", tax_code="abc",
             opened_on=rules.today() + dt.timedelta(days=3), digital_payment=["qr_bank", "bitcoin"])
    fields = {f for f, _, _ in err.value.problems}
    assert fields == {"vsic_code", "phone", "owner_id_number", "tax_code", "opened_on", "digital_payment"}
    assert "tương lai" in err.value.vi and "VSIC" in err.value.vi


def test_required_fields(conn, ward):
    with pytest.raises(edit.ValidationError) as err:
        edit.create_establishment(conn, ward["id"], {"name": " "}, user=ward["users"]["admin"])
    assert {f for f, _, _ in err.value.problems} == {"name", "business_type", "vsic_code"}


def test_hostile_text_is_stored_as_text(conn, ward):
    hostile = "<script>alert('x')</script>'; DROP TABLE establishment; --"
    made = _new(conn, ward, name=hostile, street="<b>Lê Duẩn</b>")
    assert edit.get_establishment(conn, made["id"])["name"] == hostile
    assert conn.execute(sa.text("SELECT count(*) FROM establishment")).scalar() >= 1


def test_duplicate_code_refused(conn, ward):
    _new(conn, ward, code="HC-DUP-1")
    with pytest.raises(edit.ValidationError) as err:
        _new(conn, ward, name="Khác", code="HC-DUP-1")
    assert err.value.field == "code"


# --- optimistic locking ---------------------------------------------------------------------


def test_second_save_of_the_same_version_is_refused_and_nothing_overwritten(engine, ward):
    made = _new(engine, ward, name="Cà phê Sáng")
    officer, manager = ward["users"]["data_officer"], ward["users"]["admin"]
    with engine.connect() as c:
        first_loaded = edit.get_establishment(c, made["id"])["version"]
    with engine.connect() as c:
        second_loaded = edit.get_establishment(c, made["id"])["version"]
    assert first_loaded == second_loaded == 1

    v2 = edit.update_establishment(engine, made["id"], {"name": "Cà phê Sáng Mới"},
                                      expected_version=first_loaded, user=officer)
    assert v2 == 2
    with pytest.raises(ConcurrentEdit) as err:
        edit.update_establishment(engine, made["id"], {"name": "Cà phê Chiều", "employees": 3},
                                     expected_version=second_loaded, user=manager)
    assert isinstance(err.value, edit.EditConflict)
    assert "rec_data_officer" in err.value.vi and "tải lại" in err.value.vi.lower()
    assert "Reload" in err.value.en
    with engine.connect() as c:
        row = edit.get_establishment(c, made["id"])
        updates = [h for h in audit.history(c, "establishment", made["id"]) if h["action"] == "update"]
    assert row["name"] == "Cà phê Sáng Mới" and row["employees"] is None and row["version"] == 2
    assert len(updates) == 1 and updates[0]["username"] == "rec_data_officer"


def test_simultaneous_saves_wait_for_the_lock_then_the_second_is_refused(engine, ward):
    """The first save holds the row lock; the second waits, then sees the new version and is refused."""
    made = _new(engine, ward, name="Tiệm Bánh Mì")
    outcome: dict = {}

    def second_editor():
        try:
            edit.update_establishment(engine, made["id"], {"name": "Bánh Mì B"}, expected_version=1,
                                         user=ward["users"]["admin"])
            outcome["result"] = "saved"
        except ConcurrentEdit:
            outcome["result"] = "refused"
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["result"] = repr(exc)

    with engine.connect() as first:
        tx = first.begin()
        edit.update_establishment(first, made["id"], {"name": "Bánh Mì A"}, expected_version=1,
                                     user=ward["users"]["data_officer"])
        thread = threading.Thread(target=second_editor)
        thread.start()
        # wait (synchronisation, not timing) until the second editor is queued on the row lock
        with engine.connect() as watcher:
            for _ in range(600):
                waiting = watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar()
                watcher.rollback()  # pg_stat_activity is read once per transaction: a new one each time
                if waiting or not thread.is_alive():
                    break
                time.sleep(0.05)
        assert (waiting, outcome) == (1, {})  # it waits for the first editor
        tx.commit()
    thread.join()
    assert outcome["result"] == "refused"
    with engine.connect() as c:
        assert edit.get_establishment(c, made["id"])["name"] == "Bánh Mì A"


def test_close_and_reopen_need_the_current_version(conn, ward):
    made = _new(conn, ward)
    officer = ward["users"]["data_officer"]
    v = edit.close_establishment(conn, made["id"], expected_version=1, reason="Chủ nghỉ kinh doanh", user=officer)
    row = edit.get_establishment(conn, made["id"])
    assert row["operating_status"] == "closed" and row["closed_on"] == rules.today()
    with pytest.raises(ConcurrentEdit):
        edit.reopen_establishment(conn, made["id"], expected_version=1, user=officer)
    v = edit.reopen_establishment(conn, made["id"], expected_version=v, user=officer)
    row = edit.get_establishment(conn, made["id"])
    assert row["operating_status"] == "active" and row["closed_on"] is None and row["version"] == v == 3
    assert [h["action"] for h in audit.history(conn, "establishment", made["id"])][:2] == ["reopen", "close"]


def test_move_point_stays_in_ward_and_changes_group(conn, ward):
    made = _new(conn, ward)
    officer = ward["users"]["data_officer"]
    with pytest.raises(edit.ValidationError):
        edit.move_point(conn, made["id"], 108.5, 16.5, expected_version=1, user=officer)
    v = edit.move_point(conn, made["id"], *INSIDE_EAST, expected_version=1, user=officer)
    row = edit.get_establishment(conn, made["id"])
    assert (round(row["lon"], 6), round(row["lat"], 6)) == INSIDE_EAST and v == 2
    assert row["residential_group_id"] == ward["groups"]["east"]
    entry = audit.history(conn, "establishment", made["id"])[0]
    assert entry["action"] == "move" and entry["before"]["lon"] == pytest.approx(INSIDE_WEST[0])
    assert entry["after"]["residential_group_id"] == ward["groups"]["east"]


# --- audit trail ---------------------------------------------------------------------------


def test_an_edit_writes_who_before_and_after(conn, ward):
    made = _new(conn, ward, phone="0905000111", employees=2)
    officer = ward["users"]["data_officer"]
    edit.update_establishment(conn, made["id"], {"name": "Quán Phở Hòa 2", "phone": "0905000222",
                                                    "employees": 2, "digital_payment": ["qr_bank"]},
                                 expected_version=1, user=officer)
    entry = audit.history(conn, "establishment", made["id"])[0]
    assert entry["action"] == "update" and entry["username"] == "rec_data_officer"
    assert entry["before"] == {"name": "Quán Phở Hòa", "phone": "0905000111", "digital_payment": [], "version": 1}
    assert entry["after"] == {"name": "Quán Phở Hòa 2", "phone": "0905000222", "digital_payment": ["qr_bank"],
                              "version": 2}
    user_id = conn.execute(sa.text("SELECT user_id FROM audit_log WHERE entity_id = :id ORDER BY id DESC LIMIT 1"),
                           {"id": made["id"]}).scalar()
    assert user_id == officer.id
    # an unchanged save writes nothing and keeps the version
    assert edit.update_establishment(conn, made["id"], {"employees": 2}, expected_version=2, user=officer) == 2
    assert len(audit.history(conn, "establishment", made["id"])) == 2


def test_history_hides_personal_values_from_roles_without_the_right(conn, ward):
    made = _new(conn, ward, phone="0905000111", owner_name="Nguyễn Văn A")
    edit.update_establishment(conn, made["id"], {"phone": "0905999888"}, expected_version=1,
                                 user=ward["users"]["data_officer"])
    seen_by_inspector = edit.history(conn, made["id"], ward["users"]["inspector"])
    seen_by_manager = edit.history(conn, made["id"], ward["users"]["ward_manager"])
    text = repr(seen_by_inspector)
    assert "0905999888" not in text and "0905000111" not in text and "Nguyễn Văn A" not in text
    assert seen_by_inspector[0]["after"]["phone"] == auth.HIDDEN
    assert seen_by_manager[0]["after"]["phone"] == "0905999888"


# --- licences and inspections ------------------------------------------------------------------


def test_licence_dates_are_checked(conn, ward):
    made = _new(conn, ward)
    officer = ward["users"]["data_officer"]
    today = rules.today()
    cases = {
        "expires_on": dict(issued_on=today - dt.timedelta(days=10), expires_on=today - dt.timedelta(days=20)),
        "issued_on": dict(issued_on=today + dt.timedelta(days=1)),
    }
    for field, dates in cases.items():
        with pytest.raises(edit.ValidationError) as err:
            edit.add_licence(conn, made["id"], "business_registration", user=officer, **dates)
        assert err.value.field == field
    with pytest.raises(edit.ValidationError) as err:
        edit.add_licence(conn, made["id"], "business_registration", today, expires_on=dt.date(2090, 1, 1),
                            user=officer)
    assert "quá xa" in err.value.vi
    with pytest.raises(edit.ValidationError) as err:
        edit.add_licence(conn, made["id"], "food_safety_certificate", today,
                            expires_on=today + dt.timedelta(days=4 * 365), user=officer)
    assert "3 năm" in err.value.vi


def test_licence_add_renew_revoke_drive_the_derived_status(conn, ward):
    made = _new(conn, ward, vsic=RETAIL)
    officer = ward["users"]["data_officer"]
    today = rules.today()
    lic = edit.add_licence(conn, made["id"], "business_registration", today - dt.timedelta(days=700),
                              expires_on=today + dt.timedelta(days=5), number="32A8001234", user=officer)
    assert edit.get_establishment(conn, made["id"])["licence_status"] == "expiring"
    new = edit.renew_licence(conn, lic, today, expires_on=today + dt.timedelta(days=5 * 365), user=officer)
    assert edit.get_establishment(conn, made["id"])["licence_status"] == "valid"
    assert edit.get_establishment(conn, made["id"])["food_safety_status"] == "not_applicable"
    edit.revoke_licence(conn, new, today, reason="Thu hồi theo quyết định 12/QĐ", user=officer)
    assert edit.get_establishment(conn, made["id"])["licence_status"] == "expired"
    actions = [h["action"] for h in audit.history(conn, "establishment", made["id"])]
    assert actions[:3] == ["revoke_licence", "renew_licence", "add_licence"]
    renewed = next(h for h in audit.history(conn, "establishment", made["id"]) if h["action"] == "renew_licence")
    assert renewed["before"]["licence_status"] == "expiring" and renewed["after"]["licence_status"] == "valid"
    assert renewed["after"]["number"] == "32A8001234"  # the number carries over when not given


def test_certificate_without_expiry_gets_three_years(conn, ward):
    made = _new(conn, ward)
    issued = dt.date(2025, 2, 28)
    lic = edit.add_licence(conn, made["id"], "food_safety_certificate", issued, user=ward["users"]["admin"])
    assert edit.licences_of(conn, made["id"])[0]["expires_on"] == dt.date(2028, 2, 28)
    assert lic > 0


def test_violation_sets_follow_up_and_turns_status_until_follow_up_passes(conn, ward):
    made = _new(conn, ward)
    officer, inspector = ward["users"]["data_officer"], ward["users"]["inspector"]
    today = rules.today()
    edit.add_licence(conn, made["id"], "food_safety_certificate", today - dt.timedelta(days=100), user=officer)
    assert edit.get_establishment(conn, made["id"])["food_safety_status"] == "certified"

    day = today - dt.timedelta(days=1)
    edit.record_inspection(conn, made["id"], day, "unannounced", "violation", user=inspector,
                              violations=[{"code": "ATTP-03", "severity": 3, "text": "Không có dụng cụ che đậy"},
                                          {"text": "Thiếu sổ kiểm thực", "severity": 1}])
    row = edit.get_establishment(conn, made["id"])
    assert row["food_safety_status"] == "violation"
    inspection = edit.inspections_of(conn, made["id"])[0]
    assert inspection["follow_up_due"] == day + dt.timedelta(days=rules.FOLLOW_UP_DAYS[3])
    assert inspection["inspector_name"] == inspector.full_name
    entry = audit.history(conn, "establishment", made["id"])[0]
    assert entry["action"] == "record_inspection" and entry["username"] == "rec_inspector"
    assert entry["before"]["food_safety_status"] == "certified"
    assert entry["after"]["food_safety_status"] == "violation"
    assert entry["note"] == "ATTP: certified → violation"

    edit.record_inspection(conn, made["id"], today, "follow_up", "pass", user=inspector)
    assert edit.get_establishment(conn, made["id"])["food_safety_status"] == "certified"


def test_inspection_input_checks(conn, ward):
    made = _new(conn, ward)
    inspector = ward["users"]["inspector"]
    today = rules.today()
    with pytest.raises(edit.ValidationError) as err:
        edit.record_inspection(conn, made["id"], today, "periodic", "violation", user=inspector)
    assert err.value.field == "violations"
    with pytest.raises(edit.ValidationError) as err:
        edit.record_inspection(conn, made["id"], today + dt.timedelta(days=2), "periodic", "pass", user=inspector)
    assert err.value.field == "inspected_on"
    with pytest.raises(edit.ValidationError) as err:
        edit.record_inspection(conn, made["id"], today, "periodic", "violation", violations=["Bẩn"],
                                  follow_up_due=today, user=inspector)
    assert err.value.field == "follow_up_due"
    with pytest.raises(edit.ValidationError):
        edit.record_inspection(conn, made["id"], today, "weekly", "great", user=inspector)


# --- roles --------------------------------------------------------------------------------------


def test_each_action_checks_the_role(conn, ward):
    made = _new(conn, ward)
    inspector, manager = ward["users"]["inspector"], ward["users"]["ward_manager"]
    with pytest.raises(auth.PermissionDenied):
        edit.update_establishment(conn, made["id"], {"name": "X"}, expected_version=1, user=inspector)
    with pytest.raises(auth.PermissionDenied):
        edit.add_licence(conn, made["id"], "business_registration", rules.today(), user=inspector)
    with pytest.raises(auth.PermissionDenied):
        _new(conn, ward, user=inspector)
    with pytest.raises(auth.PermissionDenied):
        edit.record_inspection(conn, made["id"], rules.today(), "periodic", "pass", user=manager)
    # ward managers keep the records current with the data officers (README, PERMISSIONS)
    by_manager = _new(conn, ward, name="Tạp hóa Quản Lý", point=INSIDE_EAST, user=manager)
    assert edit.update_establishment(conn, by_manager["id"], {"employees": 2}, expected_version=1,
                                        user=manager) == 2
    # the inspector may record inspections
    assert edit.record_inspection(conn, made["id"], rules.today(), "periodic", "pass", user=inspector) > 0
    assert edit.get_establishment(conn, made["id"])["name"] == "Quán Phở Hòa"


def test_an_account_bound_to_another_ward_cannot_edit_here(conn, ward):
    made = _new(conn, ward)
    with pytest.raises(auth.PermissionDenied):
        edit.update_establishment(conn, made["id"], {"name": "X"}, expected_version=1,
                                     user=ward["users"]["other_ward"])


def test_dates_are_checked_against_the_wards_today(conn, ward, monkeypatch):
    """"Today" for the edit checks is the status rules' today (Vietnam), looked up at each call."""
    made = _new(conn, ward)
    officer = ward["users"]["data_officer"]
    monkeypatch.setattr(status, "today", lambda: dt.date(2021, 6, 30))
    with pytest.raises(edit.ValidationError) as err:
        edit.add_licence(conn, made["id"], "business_registration", "2021-07-01", user=officer)
    assert err.value.field == "issued_on" and "tương lai" in err.value.vi
    assert edit.add_licence(conn, made["id"], "business_registration", "2021-06-30", user=officer) > 0


def test_shared_rules_at_their_boundaries():
    """The pure rules the edit services and the importer share (geomap.records.rules)."""
    today = dt.date(2026, 11, 22)
    assert rules.date_problem(rules.EARLIEST_DATE, today) is None
    assert rules.date_problem(rules.EARLIEST_DATE - dt.timedelta(days=1), today) == "too_old"
    assert rules.date_problem(today, today) is None
    assert rules.date_problem(today + dt.timedelta(days=1), today) == "future"
    assert rules.date_problem(today + dt.timedelta(days=1), today, not_future=False) is None
    issued = dt.date(2024, 2, 29)
    cert = "food_safety_certificate"
    assert rules.expiry_problems(cert, issued, dt.date(2027, 2, 28), today) == []
    assert rules.expiry_problems(cert, issued, dt.date(2027, 3, 1), today) == ["certificate_too_long"]
    assert rules.expiry_problems("business_registration", issued, dt.date(2027, 3, 1), today) == []
    assert rules.expiry_problems("business_registration", issued, issued - dt.timedelta(days=1), today) == \
        ["before_issue"]
    limit = dt.date(2026 + rules.MAX_YEARS_AHEAD, 11, 22)
    assert rules.expiry_problems("business_registration", issued, limit, today) == []
    assert rules.expiry_problems("business_registration", issued, limit + dt.timedelta(days=1), today) == \
        ["too_far_ahead"]
    day = dt.date(2026, 11, 1)
    assert rules.follow_up_problem("pass", day, day + dt.timedelta(days=5)) == "not_violation"
    assert rules.follow_up_problem("violation", day, day) == "not_after"
    assert rules.follow_up_problem("violation", day, day + dt.timedelta(days=1)) is None
    assert rules.follow_up_problem("violation", day, day + dt.timedelta(days=rules.MAX_FOLLOW_UP_DAYS)) is None
    assert rules.follow_up_problem("violation", day,
                                     day + dt.timedelta(days=rules.MAX_FOLLOW_UP_DAYS + 1)) == "too_late"
    assert rules.follow_up_problem("pass", day, None) is None
    assert rules.default_follow_up("pass", day, [3]) is None
    assert rules.default_follow_up("violation", day) == day + dt.timedelta(days=rules.FOLLOW_UP_DAYS[1])
    assert rules.default_follow_up("violation", day, [1, 3, 2]) == day + dt.timedelta(days=7)
