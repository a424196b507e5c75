"""The field app's visit service on a real PostGIS: applied once, conflicts kept, refusals, warnings, photos.

Every submission goes through :func:`geomap.inspections.field.submit_visit` (the route is a thin
adapter, checked at the end with CSRF); each test reads the rows back to see what was (and was
not) written.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest
import sqlalchemy as sa
from field_fixtures import drop_site, make_site
from PIL import Image
from test_photos import jpeg_with_gps

from geomap.field_reports import photos
from geomap.inspections import field, sketch
from geomap.records import edit


@pytest.fixture(scope="module")
def site(engine):
    s = make_site(engine, "fv-unit", 4)
    yield s
    drop_site(engine, s)


def version(engine, est_id: int) -> int:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT version FROM establishment WHERE id = :e"), {"e": est_id}).scalar_one()


def payload(engine, site, est_id=None, **over):
    est_id = est_id or site["ids"][0]
    body = {"client_id": str(uuid.uuid4()), "establishment_id": est_id, "day": site["day"].isoformat(),
            "version": version(engine, est_id), "result": "pass", "kind": "periodic", "violations": [],
            "note": None, "position": {"lat": 16.2021, "lon": 108.3017, "accuracy": 12.5}, "position_error": None,
            "phone_time": dt.datetime.now(dt.UTC).isoformat(), "sent_at": dt.datetime.now(dt.UTC).isoformat()}
    body.update(over)
    return body


def counts(engine, client_id: str) -> tuple[int, int, int]:
    """(inspections, submissions, audit entries) of ``client_id``."""
    with engine.connect() as c:
        return (c.execute(sa.text("SELECT count(*) FROM inspection WHERE client_id = CAST(:c AS uuid)"),
                          {"c": client_id}).scalar_one(),
                c.execute(sa.text("SELECT count(*) FROM field_submission WHERE client_id = CAST(:c AS uuid)"),
                          {"c": client_id}).scalar_one(),
                c.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'record_inspection' "
                                  "AND after->>'client_id' = :c"), {"c": client_id}).scalar_one())


def test_a_visit_is_recorded_through_the_records_service(engine, site):
    body = payload(engine, site, site["ids"][1], result="violation",
                   violations=[{"code": "ATTP-03", "severity": 2, "note": "bếp bẩn"}, {"code": "KD-02"}],
                   note="Nhắc chủ cơ sở")
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "applied" and not out.replay and out.inspection_id
    assert out.follow_up_due == site["day"] + dt.timedelta(days=15)  # worst severity 2 → 15 days
    assert "Đã ghi kết quả cho Quán Số 2." in out.message("vi")
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT made_via, inspected_on, result, violations, inspector_id, ST_X(phone_geom) AS lon, "
            "phone_accuracy_m, distance_m, phone_time FROM inspection WHERE id = :i"),
            {"i": out.inspection_id}).mappings().one()
        last = c.execute(sa.text("SELECT last_inspection_result FROM establishment_overview WHERE id = :e"),
                         {"e": site["ids"][1]}).scalar_one()
    assert row["made_via"] == "field_app" and row["inspected_on"] == site["day"]
    assert row["inspector_id"] == site["inspector"].id
    assert [v["code"] for v in row["violations"]] == ["ATTP-03", "KD-02"]
    assert row["violations"][0]["text"].endswith("— bếp bẩn") and row["violations"][1]["severity"] == 1
    assert row["lon"] == pytest.approx(108.3017) and row["phone_accuracy_m"] == 12.5
    assert row["distance_m"] is not None and row["distance_m"] < 200 and row["phone_time"] is not None
    assert counts(engine, body["client_id"]) == (1, 1, 1)
    assert last == "violation"
    assert edit.statuses(engine, [site["ids"][1]])[site["ids"][1]]["food_safety_status"] == "violation"


def test_a_replay_is_applied_once_and_answers_the_first_result(engine, site):
    body = payload(engine, site)
    first = field.submit_visit(engine, site["inspector"], body)
    again = field.submit_visit(engine, site["inspector"], dict(body, result="violation"))  # same id, other content
    assert first.status == again.status == "applied"
    assert again.replay and again.inspection_id == first.inspection_id
    assert counts(engine, body["client_id"]) == (1, 1, 1)


def test_a_stale_version_is_kept_as_a_conflict_not_applied(engine, site):
    est = site["ids"][2]
    body = payload(engine, site, est)
    edit.update_establishment(engine, est, {"opening_hours": "07:00-21:00"}, expected_version=body["version"])
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "conflict" and out.inspection_id is None
    assert "đã được sửa trên máy chủ" in out.message("vi") and "chưa ghi" in out.message("vi")
    assert counts(engine, body["client_id"]) == (0, 1, 0)
    with engine.connect() as c:
        kept = c.execute(sa.text("SELECT status, payload, reasons FROM field_submission "
                                 "WHERE client_id = CAST(:c AS uuid)"), {"c": body["client_id"]}).mappings().one()
    assert kept["payload"]["result"] == "pass" and kept["reasons"][0]["code"] == "conflict"
    sheet = field.day_sheet(engine, site["inspector"], site["day"])
    assert any(o["client_id"] == body["client_id"] and o["status"] == "conflict" for o in sheet["open"])
    # the replay of the conflict is still a conflict, and still not applied
    assert field.submit_visit(engine, site["inspector"], body).status == "conflict"
    assert counts(engine, body["client_id"]) == (0, 1, 0)


def test_a_stop_not_on_the_plan_is_refused(engine, site):
    body = payload(engine, site, site["off_plan_id"])
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "refused"
    assert "không có trong lộ trình đã lưu của bạn" in out.message("vi")
    assert counts(engine, body["client_id"]) == (0, 1, 0)


def test_another_ward_is_refused(engine, site):
    body = payload(engine, site, site["other_id"])
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "refused" and out.reasons[0]["code"] == "other_ward"
    assert "thuộc phường khác" in out.message("vi")
    assert counts(engine, body["client_id"]) == (0, 1, 0)


def test_far_from_the_establishment_is_warned_with_the_distance(engine, site):
    body = payload(engine, site, position={"lat": 16.2080, "lon": 108.3017, "accuracy": 8})
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "applied" and [w["code"] for w in out.warnings] == ["far"]
    with engine.connect() as c:
        distance = c.execute(sa.text("SELECT distance_m FROM inspection WHERE id = :i"),
                             {"i": out.inspection_id}).scalar_one()
    assert distance > 200 and f"{distance:.0f} m" in out.message("vi")


def test_a_missing_position_is_saved_without_it_and_said(engine, site):
    body = payload(engine, site, position=None, position_error="denied")
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "applied" and [w["code"] for w in out.warnings] == ["no_position"]
    assert "không kèm vị trí" in out.message("vi") and "không cho phép" in out.message("vi")
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT phone_geom, distance_m FROM inspection WHERE id = :i"),
                        {"i": out.inspection_id}).mappings().one()
    assert row["phone_geom"] is None and row["distance_m"] is None


def test_a_phone_clock_far_off_keeps_the_servers_time(engine, site):
    off = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    body = payload(engine, site, phone_time=off.isoformat(), sent_at=off.isoformat())
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "applied" and [w["code"] for w in out.warnings] == ["clock"]
    assert "nhanh 180 phút" in out.message("vi")
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT inspected_on, phone_time, created_at FROM inspection WHERE id = :i"),
                        {"i": out.inspection_id}).mappings().one()
    assert row["inspected_on"] == site["day"]
    assert abs((row["phone_time"] - off).total_seconds()) < 1  # kept for the audit
    assert abs((row["created_at"] - dt.datetime.now(dt.UTC)).total_seconds()) < 3600  # the server's time


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize("name, content, words", [
    ("to.jpg", b"\xff\xd8" + b"0" * (photos.MAX_BYTES + 1), "quá lớn"),
    ("anh.gif", _gif(), "chỉ nhận JPEG, PNG hoặc WebP"),
    ("hoa-don.pdf", b"%PDF-1.4 not an image", "không phải là ảnh hợp lệ"),
])
def test_bad_photos_refuse_the_whole_visit(engine, site, name, content, words):
    body = payload(engine, site, result="violation", violations=[{"code": "ATTP-01"}])
    out = field.submit_visit(engine, site["inspector"], body, [("ok.jpg", jpeg_with_gps(size=(300, 200))),
                                                              (name, content)])
    assert out.status == "refused" and words in out.message("vi") and name in out.message("vi")
    assert counts(engine, body["client_id"]) == (0, 1, 0)  # nothing half-applied: no inspection, no audit


def test_more_than_five_photos_are_refused(engine, site):
    body = payload(engine, site)
    small = jpeg_with_gps(size=(40, 30))
    out = field.submit_visit(engine, site["inspector"], body, [(f"{i}.jpg", small) for i in range(6)])
    assert out.status == "refused" and "Tối đa 5 ảnh" in out.message("vi")
    assert counts(engine, body["client_id"]) == (0, 1, 0)


def test_photos_are_stored_without_exif(engine, site):
    body = payload(engine, site)
    original = jpeg_with_gps(size=(2400, 1600))
    assert photos.has_metadata(original)
    out = field.submit_visit(engine, site["inspector"], body, [("a.jpg", original), ("b.jpg", original)])
    assert out.status == "applied"
    with engine.connect() as c:
        stored = c.execute(sa.text("SELECT content, width, height FROM inspection_photo WHERE inspection_id = :i "
                                   "ORDER BY id"), {"i": out.inspection_id}).mappings().all()
    assert len(stored) == 2
    for p in stored:
        assert not photos.has_metadata(bytes(p["content"])) and b"TestPhoneMaker" not in bytes(p["content"])
        assert max(p["width"], p["height"]) <= photos.MAX_SIDE_PX


@pytest.mark.parametrize("over, words", [
    ({"result": "maybe"}, "Hãy chọn kết quả"),
    ({"result": "violation", "violations": []}, "ít nhất một lỗi"),
    ({"result": "violation", "violations": [{"code": "XX-99"}]}, "không có trong danh mục"),
    ({"result": "violation", "violations": [{"code": "KD-01", "severity": 7}]}, "phải là 1, 2 hoặc 3"),
    ({"version": "abc"}, "phiên bản hồ sơ"),
    ({"day": (dt.date.today() - dt.timedelta(days=30)).isoformat()}, "không còn nhận kết quả"),
])
def test_bad_input_is_refused_with_one_sentence(engine, site, over, words):
    body = payload(engine, site, **over)
    out = field.submit_visit(engine, site["inspector"], body)
    assert out.status == "refused" and words in out.message("vi")
    assert counts(engine, body["client_id"])[0] == 0


def test_no_client_id_is_refused_before_anything_is_stored(engine, site):
    with pytest.raises(field.VisitRefused, match="mã gửi"):
        field.submit_visit(engine, site["inspector"], payload(engine, site, client_id="not-a-uuid"))


def test_the_day_sheet_shows_the_plan_without_personal_data(engine, site):
    sheet = field.day_sheet(engine, site["inspector"], site["day"])
    assert [s["establishment_id"] for s in sheet["stops"]] == site["ids"]
    first = sheet["stops"][0]
    assert first["time"] == "08:20" and first["version"] == version(engine, site["ids"][0])
    assert first["nav_google"].startswith("https://www.google.com/maps/dir/?api=1")
    assert first["nav_geo"].startswith("geo:")
    text = repr(sheet)
    assert "Chủ Bí Mật" not in text and "0905123456" not in text
    assert sheet["sketch"]["outline"].startswith("M") and len(sheet["sketch"]["stops"]) == len(site["ids"])
    assert any(c["code"] == "ATTP-01" and c["severity"] == 3 for c in sheet["codes"])


def test_sketch_scales_points_inside_the_drawing():
    out = sketch.route_svg(None, [(108.30, 16.20), (108.31, 16.21)], (108.305, 16.205))
    xs = [p[0] for p in out["stops"]]
    assert min(xs) >= 0 and max(xs) <= out["w"] and out["line"].count(",") == 4


# --- the routes: thin adapters over the service, behind the session and CSRF ---------------------------------

JSON_FETCH = {"Accept": "application/json", "Sec-Fetch-Mode": "cors"}
PAGE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}


@pytest.fixture(scope="module")
def client(database_url, site):
    from fastapi.testclient import TestClient

    from geomap.web import create_app

    c = TestClient(create_app(database_url), follow_redirects=False, base_url="http://127.0.0.1",
                   client=("203.0.113.50", 50000))
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/field/signin", headers=PAGE).text).group(1)
    r = c.post("/field/signin", data={"username": site["inspector"].username, "password": site["password"],
                                      "csrf_token": token, "next": "/field/today"}, headers=PAGE)
    assert r.status_code == 303, r.text
    return c


def _csrf(client) -> str:
    return client.get("/field/visits/token", headers=JSON_FETCH).json()["csrf_token"]


def _post(client, body, token: str | None, files=()):
    headers = dict(JSON_FETCH, **({"X-CSRF-Token": token} if token else {}))
    import json as _json
    return client.post("/field/visits", data={"payload": _json.dumps(body)},
                       files=[("photos", f) for f in files] or None, headers=headers)


def test_today_page_lists_the_stops_without_personal_data(client, site):
    r = client.get("/field/today", headers=PAGE)
    assert r.status_code == 200
    html = r.text
    assert html.count('class="stop') >= len(site["ids"]) and 'id="visit-form"' in html
    assert html.count('id="visit-form"') == 1  # one form, moved into the open stop
    assert "Chủ Bí Mật" not in html and "0905123456" not in html
    assert '<svg id="route-sketch"' in html and "/field/static/visit.js" in html
    english = client.get("/field/today?lang=en", headers=PAGE).text
    assert "Save the result" in english and "Lưu kết quả" not in english
    client.cookies.delete("geomap_lang")
    stop = client.get("/field/stop/2", headers=PAGE)
    assert stop.status_code == 200 and "Quán Số 2" in stop.text
    assert client.get("/field/stop/99", headers=PAGE).status_code == 404


def test_the_service_worker_is_served_for_the_field_scope(client):
    r = client.get("/field/sw.js")
    assert r.status_code == 200 and r.headers["service-worker-allowed"] == "/field/"
    assert "text/javascript" in r.headers["content-type"] and "geomap-field-v1" not in r.text
    assert re.search(r'var CACHE = "geomap-field-[0-9a-f]{12}"', r.text)  # named after the assets' hash
    assert client.get("/field/static/visit.js").status_code == 200


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(client, engine, site):
    body = payload(engine, site)
    for token in (None, "not-the-token"):
        r = _post(client, body, token)
        assert r.status_code == 403, r.text
        assert r.json()["message"]
    assert counts(engine, body["client_id"]) == (0, 0, 0)
    ok = _post(client, body, _csrf(client))
    assert ok.status_code == 200 and ok.json()["status"] == "applied"
    again = _post(client, body, _csrf(client))
    assert again.json()["replay"] and again.json()["inspection_id"] == ok.json()["inspection_id"]
    assert counts(engine, body["client_id"]) == (1, 1, 1)


def test_a_photo_posted_through_the_route_is_stored_clean(client, engine, site):
    body = payload(engine, site)
    r = _post(client, body, _csrf(client), files=[("a.jpg", jpeg_with_gps(size=(800, 600)), "image/jpeg")])
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    with engine.connect() as c:
        content = c.execute(sa.text("SELECT content FROM inspection_photo WHERE inspection_id = :i"),
                            {"i": r.json()["inspection_id"]}).scalar_one()
    assert not photos.has_metadata(bytes(content))


def test_without_a_session_a_fetch_gets_401_json_and_a_page_a_redirect(database_url, engine, site):
    from fastapi.testclient import TestClient

    from geomap.web import create_app

    anon = TestClient(create_app(database_url), follow_redirects=False, base_url="http://127.0.0.1")
    body = payload(engine, site)
    r = _post(anon, body, "whatever")
    assert r.status_code == 401 and r.json()["error"] == "session_expired"
    assert anon.get("/field/visits/token", headers=JSON_FETCH).status_code == 401
    page = anon.get("/field/today", headers=PAGE)
    assert page.status_code == 303 and page.headers["location"].startswith("/field/signin")
    assert counts(engine, body["client_id"]) == (0, 0, 0)


def test_a_payload_without_client_id_is_422(client, engine, site):
    r = _post(client, payload(engine, site, client_id=None), _csrf(client))
    assert r.status_code == 422 and "mã gửi" in r.json()["message"]


# --- how an inspection was made, for the city's digital-inspection target -------------------------------------


def test_imports_are_paper_unless_a_column_says_otherwise_and_staff_forms_are_staff_app(conn):
    from import_fixtures import add_establishment, csv_bytes, make_ward

    from geomap.importing import run_import

    ward = make_ward(conn, "fv-made-via")
    add_establishment(conn, ward, "MV-1", "Quán Giấy")
    est = add_establishment(conn, ward, "MV-2", "Quán Máy")
    rows = csv_bytes([
        {"Mã cơ sở": "MV-1", "Ngày kiểm tra": "15/10/2025", "Hình thức kiểm tra": "Định kỳ", "Kết quả": "Đạt"},
        {"Mã cơ sở": "MV-2", "Ngày kiểm tra": "16/10/2025", "Hình thức kiểm tra": "Định kỳ", "Kết quả": "Đạt",
         "Hình thức ghi": "Ứng dụng cán bộ"},
    ])
    run_import(conn, "inspections", rows, ward_id=ward.id)
    edit.record_inspection(conn, est, dt.date.today(), "periodic", "pass")
    got = conn.execute(sa.text("SELECT e.code, n.made_via FROM inspection n JOIN establishment e ON e.id = "
                               "n.establishment_id WHERE e.ward_id = :w ORDER BY n.inspected_on"),
                       {"w": ward.id}).all()
    assert [tuple(r) for r in got] == [("MV-1", "paper"), ("MV-2", "staff_app"), ("MV-2", "staff_app")]
    with pytest.raises(edit.ValidationError, match="made_via|Hình thức ghi"):
        edit.record_inspection(conn, est, dt.date.today(), "periodic", "pass", made_via="fax")
