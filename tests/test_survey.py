"""Survey mode against the real PostGIS: worklist order, pin here, checks, additions and their review, rights."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from PIL import Image

import layers
from geomap import auth, layer_reader
from geomap.errors import ConcurrentEdit, LocalizedError
from geomap.field_reports import photos
from geomap.records import edit
from geomap.survey import capture, review, worklist
from geomap.survey.worklist import Position
from qr import issue as qr_issue
from qr import lookup as qr_lookup

FOOD = "5610"
W, S, E, N = 108.400, 16.200, 108.410, 16.210
# positions along the ward's middle latitude, west to east (0.001° of longitude is about 107 m here)
AT = {name: (W + 0.001 * (i + 1), 16.205) for i, name in enumerate("abcdefgh")}


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


@pytest.fixture(scope="module")
def ward(engine) -> dict:
    """A small committed ward (no ward profile: inspectors may not survey it) with one account per role."""
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-survey', 'Phường Khảo Sát', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(W, S, E, N)}).scalar_one()
        for code, (x0, x1) in {"g1-west": (W, (W + E) / 2), "g2-east": ((W + E) / 2, E)}.items():
            c.execute(sa.text("INSERT INTO residential_group (ward_id, code, name, geom) VALUES "
                              "(:w, :c, :n, ST_GeomFromEWKT(:g))"),
                      {"w": ward_id, "c": code, "n": f"Tổ {code}", "g": _square(x0, S, x1, N)})
        other = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-survey-other', 'Phường Bên Cạnh', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(108.5, 16.3, 108.51, 16.31)}).scalar_one()
        users = {role: auth.create_user(c, f"sv_{role}", f"Cán bộ {role}", role, "mật-khẩu-dài", ward_id=ward_id)
                 for role in ("inspector", "data_officer", "ward_manager", "admin")}
        users["other_ward"] = auth.create_user(c, "sv_other", "Cán bộ phường khác", "data_officer", "mật-khẩu-dài",
                                               ward_id=other)
    return {"id": ward_id, "users": users}


def _make(conn, ward, name, point, quality="address", **values) -> dict:
    """An establishment created by the data officer, then marked as placed approximately (``quality``)."""
    made = edit.create_establishment(conn, ward["id"], {"name": name, "business_type": "household", "vsic_code": FOOD,
                                                        "owner_name": "Nguyễn Văn Chủ", "phone": "0905123456",
                                                        **values},
                                     lon=point[0] if point else None, lat=point[1] if point else None,
                                     user=ward["users"]["data_officer"])
    if point is not None and quality != "exact":
        conn.execute(sa.text("UPDATE establishment SET location_quality = :q WHERE id = :i"),
                     {"q": quality, "i": made["id"]})
    return {**made, "version": _version(conn, made["id"])}


def _version(conn, establishment_id) -> int:
    return conn.execute(sa.text("SELECT version FROM establishment WHERE id = :i"), {"i": establishment_id}).scalar()


def _codes(page) -> list[str]:
    return [r["code"] for r in page["items"]]


def _jpeg_with_exif() -> bytes:
    im = Image.new("RGB", (800, 600), (30, 120, 200))
    ex = Image.Exif()
    ex[0x010F] = "SurveyPhoneMaker"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=ex)
    return buf.getvalue()


# --- worklist --------------------------------------------------------------------------------


def test_worklist_is_nearest_first_excludes_exact_and_ends_with_the_unplaced(conn, ward):
    officer = ward["users"]["data_officer"]
    far = _make(conn, ward, "Tiệm Xa", AT["h"], "group")
    near = _make(conn, ward, "Tiệm Gần", AT["b"], "street")
    middle = _make(conn, ward, "Tiệm Giữa", AT["e"], "address")
    exact = _make(conn, ward, "Tiệm Chính Xác", AT["a"], "exact")
    unplaced = _make(conn, ward, "Tiệm Chưa Có Vị Trí", None)
    closed = _make(conn, ward, "Tiệm Đã Đóng", AT["c"])
    edit.close_establishment(conn, closed["id"], expected_version=closed["version"], user=officer)

    page = worklist.worklist(conn, officer, here=Position(*AT["a"], 5))
    assert _codes(page) == [near["code"], middle["code"], far["code"], unplaced["code"]]
    assert exact["code"] not in _codes(page) and closed["code"] not in _codes(page)
    distances = [r["distance_m"] for r in page["items"]]
    assert distances[0] == pytest.approx(107, abs=3) and distances[0] < distances[1] < distances[2]
    assert distances[3] is None and page["total"] == 4 and not page["has_more"]

    # from the east end the order turns round; without a position, by residential group (west, then east)
    assert _codes(worklist.worklist(conn, officer, here=Position(*AT["h"])))[:3] == \
        [far["code"], middle["code"], near["code"]]
    by_group = _codes(worklist.worklist(conn, officer))
    assert sorted(by_group[:2]) == sorted([near["code"], middle["code"]]) and by_group[2:] == [far["code"],
                                                                                              unplaced["code"]]
    # paged
    first = worklist.worklist(conn, officer, here=Position(*AT["a"]), page_size=2)
    second = worklist.worklist(conn, officer, here=Position(*AT["a"]), page=1, page_size=2)
    assert first["has_more"] and not second["has_more"]
    assert _codes(first) + _codes(second) == _codes(page)


def test_worklist_and_form_carry_no_personal_data(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Tiệm Riêng Tư", AT["c"])
    hidden = {f.name for f in layers.get("establishments").personal_fields}
    row = next(r for r in worklist.worklist(conn, officer)["items"] if r["code"] == made["code"])
    assert not hidden & set(row)
    form = capture.form(conn, officer, made["code"])
    assert not hidden & set(form) and "Nguyễn Văn Chủ" not in json.dumps(form, default=str)


def test_bad_positions_are_refused_with_a_sentence():
    assert Position.parse("", "") is None
    with pytest.raises(LocalizedError, match="không phải tọa độ"):
        Position.parse("abc", "16.2")
    with pytest.raises(LocalizedError, match="không phải tọa độ"):
        Position.parse("108.4", "16.2", "-5")


# --- pin here and the check ----------------------------------------------------------------------


def test_pin_worse_than_30_m_needs_a_confirmation_then_leaves_the_worklist(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Quán Cơm Ghim", AT["d"])
    here = Position(AT["d"][0] + 0.0002, AT["d"][1], 45)
    with pytest.raises(LocalizedError, match="45 m") as refused:
        capture.check(conn, officer, made["code"], expected_version=made["version"], here=here)
    assert refused.value.field == "confirm_accuracy"
    assert _version(conn, made["id"]) == made["version"]
    with pytest.raises(LocalizedError, match="độ chính xác"):  # unknown accuracy: confirm too
        capture.check(conn, officer, made["code"], expected_version=made["version"], here=Position(*AT["d"]))

    saved = capture.check(conn, officer, made["code"], expected_version=made["version"], here=here,
                          confirm_accuracy=True)
    row = conn.execute(sa.text("SELECT location_quality, ST_X(geom) x, verified_by, verified_on, version "
                               "FROM establishment WHERE id = :i"), {"i": made["id"]}).mappings().one()
    assert row["location_quality"] == "exact" and row["x"] == pytest.approx(here.lon)
    assert row["verified_by"] == officer.id and row["verified_on"] is not None
    assert saved["pinned"] and row["version"] == saved["version"] == made["version"] + 1
    assert made["code"] not in _codes(worklist.worklist(conn, officer, here=here))
    entry = conn.execute(sa.text("SELECT action, username, before, after, note FROM audit_log WHERE entity_type = "
                                 "'establishment' AND entity_id = :i ORDER BY id DESC LIMIT 1"),
                         {"i": made["id"]}).mappings().one()
    assert entry["action"] == "survey" and entry["username"] == officer.username
    assert entry["before"]["location_quality"] == "address" and entry["after"]["location_quality"] == "exact"
    assert "45 m" in entry["note"] and "xác nhận" in entry["note"]
    assert entry["after"]["moved_m"] == pytest.approx(21.4, abs=1) and saved["moved_m"] == entry["after"]["moved_m"]
    assert not saved["far"]


def test_a_pin_far_from_the_recorded_point_is_saved_with_a_warning(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Tiệm Ghim Xa", AT["a"], "group")
    saved = capture.check(conn, officer, made["code"], expected_version=made["version"], here=Position(*AT["d"], 5))
    assert saved["far"] and saved["moved_m"] == pytest.approx(320, abs=5)


def test_a_good_fix_pins_without_confirmation_and_the_check_saves_the_fields(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Tạp Hóa Cũ", AT["f"])
    changes = {"name": "Tạp Hóa Mới", "opening_hours": "06:00-21:00", "digital_payment": ["qr_bank", "e_wallet"],
               "digital_platforms": ["shopee", "zalo"], "address": "12 Đường Thử", "uses_e_invoice": True,
               "uses_sales_software": False}
    saved = capture.check(conn, officer, made["code"], expected_version=made["version"], changes=changes,
                          here=Position(*AT["f"], 8), photo=_jpeg_with_exif(), photo_name="mat-tien.jpg")
    row = conn.execute(sa.text("SELECT name, opening_hours, digital_payment, digital_platforms, address, search_key, "
                               "uses_e_invoice, uses_sales_software FROM establishment WHERE id = :i"),
                       {"i": made["id"]}).mappings().one()
    assert dict(row) | {"search_key": None} == {**changes, "search_key": None}
    assert "tap hoa moi" in row["search_key"]
    stored = conn.execute(sa.text("SELECT content, taken_by FROM establishment_photo WHERE id = :p"),
                          {"p": saved["photo_id"]}).mappings().one()
    assert stored["taken_by"] == officer.id and not photos.has_metadata(bytes(stored["content"]))
    # the staff app's overview (map, dashboard) sees the platforms at once
    overview = edit.overview(conn, made["id"])
    assert overview["digital_platforms"] == ["shopee", "zalo"] and overview["location_quality"] == "exact"


def test_a_check_without_a_position_verifies_but_does_not_pin(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Tiệm Không GPS", AT["g"])
    saved = capture.check(conn, officer, made["code"], expected_version=made["version"],
                          changes={"opening_hours": "07:00-20:00"})
    row = conn.execute(sa.text("SELECT location_quality, verified_on FROM establishment WHERE id = :i"),
                       {"i": made["id"]}).mappings().one()
    assert not saved["pinned"] and row["location_quality"] == "address" and row["verified_on"] is not None


def test_a_stale_version_is_refused_with_a_clear_sentence_and_nothing_saved(conn, ward):
    officer, manager = ward["users"]["data_officer"], ward["users"]["ward_manager"]
    made = _make(conn, ward, "Quán Bị Sửa", AT["c"])
    edit.update_establishment(conn, made["id"], {"opening_hours": "08:00-17:00"}, expected_version=made["version"],
                              user=manager)
    photos_before = conn.execute(sa.text("SELECT count(*) FROM establishment_photo")).scalar()
    with pytest.raises(ConcurrentEdit) as stale:
        capture.check(conn, officer, made["code"], expected_version=made["version"],
                      changes={"opening_hours": "09:00-22:00"}, here=Position(*AT["c"], 5), photo=_jpeg_with_exif())
    assert "vừa được sv_ward_manager lưu" in stale.value.message("vi") and "chưa được lưu" in stale.value.message("vi")
    row = conn.execute(sa.text("SELECT opening_hours, location_quality FROM establishment WHERE id = :i"),
                       {"i": made["id"]}).mappings().one()
    assert dict(row) == {"opening_hours": "08:00-17:00", "location_quality": "address"}
    assert conn.execute(sa.text("SELECT count(*) FROM establishment_photo")).scalar() == photos_before


def test_bad_input_is_refused_whole(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Quán Sai", AT["b"])
    with pytest.raises(edit.ValidationError, match="Nền tảng số: không rõ: myspace"):
        capture.check(conn, officer, made["code"], expected_version=made["version"],
                      changes={"digital_platforms": ["shopee", "myspace"]}, here=Position(*AT["b"], 5))
    with pytest.raises(edit.ValidationError, match="không nhập được khi khảo sát"):
        capture.check(conn, officer, made["code"], expected_version=made["version"], changes={"phone": "0905000000"})
    with pytest.raises(photos.PhotoError, match="không phải là ảnh"):
        capture.check(conn, officer, made["code"], expected_version=made["version"], photo=b"%PDF-1.4 not an image")
    with pytest.raises(edit.ValidationError, match="nằm ngoài phường"):
        capture.check(conn, officer, made["code"], expected_version=made["version"], here=Position(108.6, 16.4, 5))
    with pytest.raises(edit.NotFound):
        capture.check(conn, officer, "KHONG-CO", expected_version=1)
    assert _version(conn, made["id"]) == made["version"]


# --- found on the street: pending until reviewed, never public before ----------------------------


def _public_codes(conn, ward_id) -> tuple[set[str], set[str], set[str]]:
    """Codes in the public OGC page, the public export read and the internal read."""
    layer = layers.get("establishments")
    page = layer_reader.read_page(conn, layer, "public", limit=1000)
    exported = layer_reader.read(conn, layer, profile="public", ward_id=ward_id, geometry="bulk", sort="id")
    internal = layer_reader.read(conn, layer, profile="internal", ward_id=ward_id, geometry="bulk")
    return set(page.frame["code"]), set(exported["code"]), set(internal["code"])


def test_an_addition_waits_for_review_and_is_not_public_until_approved(conn, ward):
    officer, inspector = ward["users"]["data_officer"], ward["users"]["inspector"]
    made = capture.add(conn, officer, {"name": "Bánh Mì Mới Mở", "vsic_code": FOOD, "street": "Đường Thử",
                                       "house_number": "45", "digital_platforms": ["grabfood"]},
                       here=Position(*AT["e"], 6), photo=_jpeg_with_exif())
    row = conn.execute(sa.text("SELECT review_status, location_quality, address, verified_by FROM establishment "
                               "WHERE id = :i"), {"i": made["id"]}).mappings().one()
    assert dict(row) == {"review_status": "pending", "location_quality": "exact", "address": "45, Đường Thử",
                         "verified_by": officer.id}
    ogc, export, internal = _public_codes(conn, ward["id"])
    assert made["code"] not in ogc and made["code"] not in export and made["code"] in internal
    with pytest.raises(Exception, match="not approved"):
        qr_issue.issue(conn, establishment_id=made["id"])
    assert made["code"] not in {r["code"] for r in qr_issue_missing_codes(conn, ward["id"])}

    pending = review.pending(conn, officer, ward["id"])
    assert [p["code"] for p in pending] == [made["code"]] and pending[0]["photo_id"] == made["photo_id"]
    with pytest.raises(auth.PermissionDenied):
        review.pending(conn, inspector, ward["id"])
    with pytest.raises(auth.PermissionDenied):
        review.decide(conn, ward["users"]["ward_manager"], made["id"], "approved", expected_version=made["version"])

    version = review.decide(conn, officer, made["id"], "approved", expected_version=made["version"])
    assert version == made["version"] + 1 and review.pending(conn, officer, ward["id"]) == []
    ogc, export, _ = _public_codes(conn, ward["id"])
    assert made["code"] in ogc and made["code"] in export
    code = qr_issue.issue(conn, establishment_id=made["id"])
    found = qr_lookup.lookup(conn, code.token)
    assert found.status == "valid" and found.data["establishment"]["name"] == "Bánh Mì Mới Mở"
    with pytest.raises(edit.ValidationError, match="không chờ duyệt"):
        review.decide(conn, officer, made["id"], "rejected", expected_version=version, note="trùng")


def test_the_dashboard_counts_only_reviewed_establishments(conn, ward):
    from geomap.dashboard import data as dashboard_data

    officer = ward["users"]["data_officer"]
    made = capture.add(conn, officer, {"name": "Tiệm Chưa Đếm", "vsic_code": FOOD, "digital_payment": ["qr_bank"]},
                       here=Position(*AT["c"], 5))
    assert made["code"] not in set(dashboard_data.load_frames(conn, ward["id"]).establishments["code"])
    review.decide(conn, officer, made["id"], "approved", expected_version=made["version"])
    assert made["code"] in set(dashboard_data.load_frames(conn, ward["id"]).establishments["code"])


def qr_issue_missing_codes(conn, ward_id):
    from qr import data as qr_data

    ids = [t[1] for t in qr_data.missing_targets(conn, ward_id) if t[1] is not None]
    return conn.execute(sa.text("SELECT code FROM establishment WHERE id = ANY(:i)"), {"i": ids}).mappings().all()


def test_qr_page_of_a_pending_establishment_shows_nothing_of_it(conn, ward):
    officer = ward["users"]["data_officer"]
    made = _make(conn, ward, "Tiệm Có Tem", AT["g"], "exact")
    code = qr_issue.issue(conn, establishment_id=made["id"])
    conn.execute(sa.text("UPDATE establishment SET review_status = 'pending' WHERE id = :i"), {"i": made["id"]})
    found = qr_lookup.lookup(conn, code.token)
    assert found.data["establishment"] is None and "Tiệm Có Tem" not in json.dumps(found.data, default=str)
    del officer


def test_rejection_needs_a_reason_and_keeps_it_out_of_the_public(conn, ward):
    officer = ward["users"]["data_officer"]
    made = capture.add(conn, officer, {"name": "Tiệm Nghi Trùng", "vsic_code": FOOD}, here=Position(*AT["h"], 4))
    with pytest.raises(edit.ValidationError, match="lý do"):
        review.decide(conn, officer, made["id"], "rejected", expected_version=made["version"])
    review.decide(conn, officer, made["id"], "rejected", expected_version=made["version"], note="Trùng với HC-1")
    ogc, export, _ = _public_codes(conn, ward["id"])
    assert made["code"] not in ogc | export
    entry = conn.execute(sa.text("SELECT action, note FROM audit_log WHERE entity_id = :i AND entity_type = "
                                 "'establishment' ORDER BY id DESC LIMIT 1"), {"i": made["id"]}).mappings().one()
    assert dict(entry) == {"action": "review_reject", "note": "Trùng với HC-1"}


def test_an_addition_needs_a_position_and_is_not_a_duplicate(conn, ward):
    officer = ward["users"]["data_officer"]
    with pytest.raises(LocalizedError, match="Chưa có vị trí"):
        capture.add(conn, officer, {"name": "Tiệm Không Vị Trí", "vsic_code": FOOD}, here=None)
    with pytest.raises(LocalizedError, match="50 m"):
        capture.add(conn, officer, {"name": "Tiệm GPS Kém", "vsic_code": FOOD}, here=Position(*AT["a"], 50))
    _make(conn, ward, "Phở Bà Năm", AT["a"], "exact")
    with pytest.raises(edit.ValidationError, match="cùng tên trong vòng 30 m"):
        capture.add(conn, officer, {"name": "PHO BA NAM", "vsic_code": FOOD},
                    here=Position(AT["a"][0] + 0.0001, AT["a"][1], 5))
    with pytest.raises(edit.ValidationError, match="không nhập được khi khảo sát"):
        capture.add(conn, officer, {"name": "Tiệm X", "vsic_code": FOOD, "owner_name": "A"}, here=Position(*AT["b"], 5))


# --- who may ------------------------------------------------------------------------------------


def test_roles_and_wards(conn, ward, monkeypatch):
    users = ward["users"]
    made = _make(conn, ward, "Tiệm Phân Quyền", AT["c"])
    # inspectors only where the ward's profile allows it; this test ward has no profile
    with pytest.raises(auth.PermissionDenied, match="chưa cho phép"):
        worklist.worklist(conn, users["inspector"])
    with pytest.raises(auth.PermissionDenied):
        capture.check(conn, users["inspector"], made["code"], expected_version=made["version"],
                      here=Position(*AT["c"], 5))
    with pytest.raises(auth.PermissionDenied):
        capture.add(conn, users["inspector"], {"name": "Tiệm Y", "vsic_code": FOOD}, here=Position(*AT["d"], 5))
    # another ward's officer never reaches this ward's establishments
    with pytest.raises(edit.NotFound):
        capture.check(conn, users["other_ward"], made["code"], expected_version=made["version"])
    assert made["code"] not in _codes(worklist.worklist(conn, users["other_ward"]))
    # data officers, ward managers and admins survey
    for role in ("data_officer", "ward_manager", "admin"):
        assert made["code"] in _codes(worklist.worklist(conn, users[role]))

    monkeypatch.setattr(edit.profiles, "get", lambda slug=None: SimpleNamespace(survey_by_inspectors=True))
    assert made["code"] in _codes(worklist.worklist(conn, users["inspector"]))
    saved = capture.check(conn, users["inspector"], made["code"], expected_version=made["version"],
                          here=Position(*AT["c"], 5))
    assert saved["pinned"]
    with pytest.raises(auth.PermissionDenied):  # inspectors never review
        review.pending(conn, users["inspector"], ward["id"])


def test_the_demo_profiles_say_whether_inspectors_survey():
    from geomap import profiles

    # off by default: a ward turns it on in its profile (survey_by_inspectors = true)
    assert profiles.get("hoa-cuong").survey_by_inspectors is False
    assert profiles.get("thanh-khe").survey_by_inspectors is False


# --- the pages (/field/survey) through the public service ---------------------------------------------

WX, WY = 108.420, 16.220  # the web tests' own ward, so committed rows never meet the rolled-back tests above
PASSWORD = "mật-khẩu-dài"
PAGE = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
JSON = {"Accept": "application/json", "Sec-Fetch-Mode": "cors"}


@pytest.fixture(scope="module")
def web(engine, database_url):
    from fastapi.testclient import TestClient

    from geomap.web import create_app

    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-survey-web', 'Phường Khảo Sát Web', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(WX, WY, WX + 0.01, WY + 0.01)}).scalar_one()
        users = {role: auth.create_user(c, f"svw_{role}", f"Cán bộ web {role}", role, PASSWORD, ward_id=ward_id)
                 for role in ("inspector", "data_officer")}
    app = create_app(database_url)

    def client():
        return TestClient(app, follow_redirects=False, base_url="http://127.0.0.1", client=("198.51.100.9", 5000))

    def make(name, x, quality="street"):
        made = edit.create_establishment(engine, ward_id, {"name": name, "business_type": "household",
                                                           "vsic_code": FOOD}, lon=x, lat=WY + 0.005,
                                         user=users["data_officer"])
        with engine.begin() as c:
            c.execute(sa.text("UPDATE establishment SET location_quality = :q WHERE id = :i"),
                      {"q": quality, "i": made["id"]})
            made["version"] = _version(c, made["id"])
        return made

    return SimpleNamespace(ward_id=ward_id, users=users, client=client, make=make, engine=engine)


def _signed_in(web, username: str):
    import re

    c = web.client()
    page = c.get("/field/signin", headers=PAGE)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = c.post("/field/signin", data={"username": username, "password": PASSWORD, "csrf_token": token},
                    headers=PAGE)
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', c.get("/field/", headers=PAGE).text).group(1)
    return c, csrf


def _state(web, establishment_id) -> dict:
    with web.engine.connect() as c:
        return dict(c.execute(sa.text("SELECT version, location_quality, opening_hours, review_status FROM "
                                      "establishment WHERE id = :i"), {"i": establishment_id}).mappings().one())


def test_pages_worklist_pin_with_confirmation_csrf_and_conflict(web):
    far_name = "Quán Web Xa"
    near, far = web.make("Quán Web Gần", WX + 0.002), web.make(far_name, WX + 0.008)
    c, csrf = _signed_in(web, "svw_data_officer")
    listing = c.get(f"/field/survey?lon={WX + 0.001}&lat={WY + 0.005}&acc=6", headers=PAGE)
    assert listing.status_code == 200 and listing.text.index(near["code"]) < listing.text.index(far["code"])
    assert "Gần đúng: trên đường/kiệt" in listing.text and "no-store" in listing.headers["cache-control"]
    form = c.get(f"/field/survey/{near['code']}", headers=PAGE)
    assert form.status_code == 200 and f'name="version" value="{near["version"]}"' in form.text
    assert 'name="uses_e_invoice" value="1">' in form.text  # the digital tools are surveyed too, unticked here
    post = {"version": str(near["version"]), "name": "Quán Web Gần", "opening_hours": "06:00-22:00",
            "digital_payment": ["qr_bank"], "digital_platforms": ["grabfood", "zalo"], "lon": str(WX + 0.0021),
            "lat": str(WY + 0.005), "accuracy": "45", "pin": "1"}

    # no CSRF token, a wrong one: refused, nothing changed
    assert c.post(f"/field/survey/{near['code']}", data=post, headers=PAGE).status_code == 403
    assert c.post(f"/field/survey/{near['code']}", data={**post, "csrf_token": "x" * 43},
                  headers=PAGE).status_code == 403
    # accuracy 45 m without the confirmation: the form again, with the sentence
    weak = c.post(f"/field/survey/{near['code']}", data={**post, "csrf_token": csrf}, headers=PAGE)
    assert weak.status_code == 422 and "45 m" in weak.text and 'id="confirm-row"' in weak.text
    assert 'id="confirm-row" hidden' not in weak.text
    assert _state(web, near["id"]) == {"version": near["version"], "location_quality": "street",
                                       "opening_hours": None, "review_status": "approved"}
    done = c.post(f"/field/survey/{near['code']}", data={**post, "csrf_token": csrf, "confirm_accuracy": "1"},
                  headers=PAGE)
    assert done.status_code == 303 and f"done={near['code']}" in done.headers["location"]
    assert _state(web, near["id"])["location_quality"] == "exact"
    after = c.get(done.headers["location"], headers=PAGE)
    assert near["code"] not in after.text.split('id="survey-list"')[-1] and far["code"] in after.text

    # the same (now stale) version again: 409 with the sentence, as a page and as JSON for the outbox
    stale = c.post(f"/field/survey/{near['code']}", data={**post, "csrf_token": csrf, "confirm_accuracy": "1",
                                                          "opening_hours": "01:00-02:00"}, headers=PAGE)
    assert stale.status_code == 409 and "chưa được lưu" in stale.text and 'id="survey-typed"' in stale.text
    fetched = c.post(f"/field/survey/{near['code']}", data={**post, "confirm_accuracy": "1"},
                     headers={**JSON, "X-CSRF-Token": csrf})
    assert fetched.status_code == 409 and fetched.json()["error"] == "conflict"
    assert _state(web, near["id"])["opening_hours"] == "06:00-22:00"
    assert 'id="survey-moved"' not in after.text  # ~10 m: no warning
    # a pin 640 m from the recorded point: saved, and the officer is told to make sure of the shop
    moved = c.post(f"/field/survey/{far['code']}", data={**post, "version": str(far["version"]), "name": far_name,
                                                         "csrf_token": csrf, "accuracy": "5"}, headers=PAGE)
    assert moved.status_code == 303 and "moved=6" in moved.headers["location"]
    assert "cách vị trí cũ 6" in c.get(moved.headers["location"], headers=PAGE).text


def test_pages_refuse_the_signed_out_and_roles_without_the_right(web):
    anonymous = web.client()
    answer = anonymous.get("/field/survey", headers=PAGE)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/field/signin")
    assert anonymous.get("/field/survey", headers=JSON).status_code == 401
    c, csrf = _signed_in(web, "svw_inspector")  # the test ward has no profile: inspectors may not survey
    page = c.get("/field/survey", headers=PAGE)
    assert page.status_code == 403 and "không được khảo sát" in page.text
    made = web.make("Quán Cấm", WX + 0.004)
    refused = c.post(f"/field/survey/{made['code']}", data={"version": str(made["version"]), "csrf_token": csrf,
                                                            "name": "Đổi Tên"}, headers=PAGE)
    assert refused.status_code == 403 and _state(web, made["id"])["version"] == made["version"]
    assert 'id="link-survey"' not in c.get("/field/", headers=PAGE).text


def test_pages_in_english_and_for_inspectors_where_the_ward_allows(web, monkeypatch):
    c, _ = _signed_in(web, "svw_inspector")
    monkeypatch.setattr(edit.profiles, "get", lambda slug=None: SimpleNamespace(survey_by_inspectors=True))
    assert 'id="link-survey"' in c.get("/field/", headers=PAGE).text
    page = c.get("/field/survey?lang=en", headers=PAGE)
    assert page.status_code == 200 and "Survey establishments" in page.text and "Khảo sát cơ sở" not in page.text
    assert "Add an establishment found on the street" in page.text


def test_pages_add_an_establishment_that_waits_for_review(web):
    c, csrf = _signed_in(web, "svw_data_officer")
    assert 'id="link-survey"' in c.get("/field/", headers=PAGE).text
    form = c.get("/field/survey/new", headers=PAGE)
    assert form.status_code == 200 and 'value="5610"' in form.text and 'value="tiktok_shop"' in form.text
    data = {"csrf_token": csrf, "name": "Trà Sữa Mới", "vsic_code": FOOD, "house_number": "7", "street": "Đường Web",
            "digital_platforms": ["shopeefood"], "lon": str(WX + 0.006), "lat": str(WY + 0.006), "accuracy": "9"}
    jpeg = _jpeg_with_exif()
    answer = c.post("/field/survey/new", data=data, files={"photo": ("mat-tien.jpg", jpeg, "image/jpeg")},
                    headers=PAGE)
    assert answer.status_code == 303 and "added=" in answer.headers["location"]
    with web.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT e.id, e.code, e.review_status, p.id AS photo FROM establishment e "
                                   "JOIN establishment_photo p ON p.establishment_id = e.id WHERE e.name = "
                                   "'Trà Sữa Mới'")).mappings().one()
    assert row["review_status"] == "pending"
    # not in the public OGC API until approved
    ogc = c.get(f"/ogc/collections/establishments/items/{row['code']}", headers={"Accept": "application/geo+json"})
    assert ogc.status_code == 404
    shown = c.get(f"/field/survey/photo/{row['photo']}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert not photos.has_metadata(shown.content)
    review.decide(web.engine, web.users["data_officer"], row["id"], "approved",
                  expected_version=_state(web, row["id"])["version"])
    assert c.get(f"/ogc/collections/establishments/items/{row['code']}",
                 headers={"Accept": "application/geo+json"}).status_code == 200
    # not an image: the form again with the sentence, nothing added
    bad = c.post("/field/survey/new", data={**data, "name": "Tiệm Ảnh Hỏng"},
                 files={"photo": ("x.jpg", b"not an image", "image/jpeg")}, headers=PAGE)
    assert bad.status_code == 422 and "không phải là ảnh" in bad.text and 'value="Tiệm Ảnh Hỏng"' in bad.text


def _review_script(url: str, ward_id: int, user_id: int, username: str) -> None:
    from geomap import db
    from geomap.ui.context import Context
    from geomap.ui.pages import quality
    from geomap.users import User

    user = User(id=user_id, username=username, full_name="Cán bộ", role="data_officer", ward_id=ward_id)
    quality._review(Context(engine=db.get_engine(url), lang="vi", ward_slug="test-survey-web", ward_id=ward_id,
                            user=user))


def test_the_staff_app_reviews_additions(web, database_url):
    from streamlit.testing.v1 import AppTest

    officer = web.users["data_officer"]
    first = capture.add(web.engine, officer, {"name": "Tiệm Chờ Duyệt Một", "vsic_code": FOOD},
                        here=Position(WX + 0.003, WY + 0.008, 5), photo=_jpeg_with_exif())
    second = capture.add(web.engine, officer, {"name": "Tiệm Chờ Duyệt Hai", "vsic_code": FOOD},
                         here=Position(WX + 0.007, WY + 0.008, 5))
    at = AppTest.from_function(_review_script, kwargs={"url": database_url, "ward_id": web.ward_id,
                                                       "user_id": officer.id, "username": officer.username},
                               default_timeout=60)
    at.run()
    labels = [e.label for e in at.expander]
    assert any("Tiệm Chờ Duyệt Một" in x for x in labels) and any("Tiệm Chờ Duyệt Hai" in x for x in labels)
    assert len(at.get("image")) == 1  # the storefront photo of the first
    at.button(key=f"reject-{second['id']}").click().run()
    assert "lý do" in at.error[0].value and _state(web, second["id"])["review_status"] == "pending"
    at.text_input(key=f"review-reason-{second['id']}").input("Trùng với cơ sở đã có")
    at.button(key=f"reject-{second['id']}").click().run()
    assert _state(web, second["id"])["review_status"] == "rejected"
    at.button(key=f"approve-{first['id']}").click().run()
    assert _state(web, first["id"])["review_status"] == "approved" and not at.exception
