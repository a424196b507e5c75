"""The public report form and tracking page through the ASGI app (real PostGIS)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from language_check import data_values, foreign_words
from reports_fixtures import assert_not_sequential, assert_public_id_hides_row_id, ensure_ward, inside_point
from test_photos import jpeg_with_gps

from geomap import config, i18n, links, profiles
from geomap.field_reports import intake, photos, workflow
from geomap.web import create_app
from qr import issue


@pytest.fixture(scope="module")
def client(request, database_url, engine):
    ensure_ward(request, engine)
    app = create_app(database_url)
    app.state.limits.report.configure(0, 1)  # limiter has its own test below
    with TestClient(app, follow_redirects=False) as c:
        yield c


def form(**kw) -> dict:
    lon, lat = inside_point()
    return {"category": "garbage", "description": "Rác tồn đọng trước hẻm 12", "lat": f"{lat}", "lon": f"{lon}",
            **kw}


def test_form_renders_in_vietnamese_and_english(client):
    r = client.get("/report")
    assert r.status_code == 200 and "Phản ánh hiện trường" in r.text and 'name="lat"' in r.text
    assert "Rác thải" in r.text and "http" not in re.sub(r'href="/[^"]*"|xmlns="[^"]*"', "", r.text).replace(
        "http-equiv", "")
    assert len(r.content) < 12_000
    en = client.get("/report", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Report a problem" in en.text and "Garbage" in en.text
    assert "Report a problem" in client.get("/report?lang=en").text


def test_a_report_keeps_the_language_of_its_form_and_its_history_speaks_the_readers(client, engine):
    """The form's language is stored (the status mails use it); the tracking page tells the first step's
    channel in the reader's language (no stored "Tiếp nhận qua kênh" on an English page)."""
    r = client.post("/report?lang=en", data=form(description="Lamp post broken", category="infrastructure",
                                                 reporter_contact="reader@example.com", consent="1"))
    public_id = re.search(r"/report/track/(PA-[A-Z0-9-]+)", r.headers["location"]).group(1)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT reporter_lang FROM field_report WHERE public_id = :p"),
                         {"p": public_id}).scalar() == "en"
        data = {lang: data_values(c, lang) for lang in ("vi", "en")}
    for lang in ("vi", "en"):
        page = client.get(links.report_track(public_id, lang=lang)).text
        history = re.search(r'<ol id="history">(.*?)</ol>', page, re.S).group(1)
        said = i18n.t("rep.step.received_via", lang).format(channel=i18n.code_label("report_channel", "web", lang))
        assert said in html.unescape(history)
        assert foreign_words(re.sub(r"<[^>]+>", "\n", html.unescape(history)), lang, data[lang]) == []


def test_submit_redirects_to_tracking_page(client, engine):
    r = client.post("/report", data=form(description="Đèn đường hỏng <b>bold</b>", category="infrastructure"))
    assert r.status_code == 303
    track = r.headers["location"]
    public_id = re.search(r"/report/track/(PA-[A-Z0-9-]+)", track).group(1)
    page = client.get(track)
    assert page.status_code == 200 and public_id in page.text and "Mới" in page.text
    assert "bold" not in page.text  # the text is public only once moderated (tests/test_moderation.py)
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT id, channel FROM field_report WHERE public_id = :p"), {"p": public_id}).one()
    workflow.moderate(engine, row.id, "approved", user=None)
    page = client.get(track)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text and "<b>bold</b>" not in page.text
    assert row.channel == "web"
    # the tracking link names the report by its random code only, never by the sequential row id
    assert_public_id_hides_row_id(public_id, row.id)
    assert str(row.id) not in urlsplit(track).path.split("/")
    assert client.get(f"/report/track/{row.id}").status_code == 404
    # the next report's code is unrelated to this one's
    nxt = client.post("/report", data=form(description="Đèn đường hỏng thứ hai", category="infrastructure"))
    next_id = re.search(r"/report/track/(PA-[A-Z0-9-]+)", nxt.headers["location"]).group(1)
    with engine.connect() as c:
        next_row = c.execute(sa.text("SELECT id FROM field_report WHERE public_id = :p"), {"p": next_id}).one()
    assert_public_id_hides_row_id(next_id, next_row.id)
    assert_not_sequential((row.id, public_id), (next_row.id, next_id))


def test_replayed_submission_gives_the_same_report(client, engine):
    data = form(description="Replay: cống nghẹt ở kiệt 45")
    first = client.post("/report", data=data).headers["location"]
    second = client.post("/report", data=data).headers["location"]
    assert first.split("?")[0] == second.split("?")[0]
    with engine.connect() as c:
        assert c.execute(sa.text(
            "SELECT count(*) FROM field_report WHERE description = 'Replay: cống nghẹt ở kiệt 45'")).scalar() == 1


@pytest.mark.parametrize("data, status, words", [
    ({"description": ""}, 422, "nội dung đang trống"),
    ({"description": "x" * 10_000}, 422, "10,000"),
    ({"lat": "0", "lon": "0"}, 422, "(0, 0)"),
    ({"lat": "21.03", "lon": "105.85"}, 422, "nằm ngoài Phường Hòa Cường"),
    ({"category": ""}, 422, "lĩnh vực"),
])
def test_bad_input_rerenders_form_with_message(client, engine, data, status, words):
    with engine.connect() as c:
        before = c.execute(sa.text("SELECT count(*) FROM field_report")).scalar()
    r = client.post("/report", data=form(**data))
    assert r.status_code == status and words in r.text and 'role="alert"' in r.text
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM field_report")).scalar() == before


def test_photo_with_gps_exif_is_stripped_and_locates_report(client, engine):
    """No lat/lon typed: the photo's GPS places the report; the stored bytes carry no EXIF."""
    lon, lat = inside_point()
    def dms(v):
        d = int(v)
        m = int((v - d) * 60)
        return (d, m, round(((v - d) * 60 - m) * 60, 2))
    data = jpeg_with_gps(lat=dms(lat), lon=dms(lon))
    r = client.post("/report", data={"category": "garbage", "description": "Ảnh có GPS", "lat": "", "lon": ""},
                    files=[("photos", ("phone.jpg", data, "image/jpeg"))])
    assert r.status_code == 303, r.text[:500]
    public_id = re.search(r"(PA-[A-Z0-9-]+)", r.headers["location"]).group(1)
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT ST_X(f.geom) lon, ST_Y(f.geom) lat, p.content FROM field_report f "
            "JOIN field_report_photo p ON p.report_id = f.id WHERE f.public_id = :p"), {"p": public_id}).one()
    assert abs(row.lat - lat) < 1e-4 and abs(row.lon - lon) < 1e-4
    assert not photos.has_metadata(bytes(row.content)) and b"TestPhoneMaker" not in bytes(row.content)
    assert client.get(f"/report/track/{public_id}/photo/1").status_code == 404  # not yet moderated
    with engine.connect() as c:
        report_id = c.execute(sa.text("SELECT id FROM field_report WHERE public_id = :p"), {"p": public_id}).scalar()
    workflow.moderate(engine, report_id, "approved", user=None)
    served = client.get(f"/report/track/{public_id}/photo/1")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"TestPhoneMaker" not in served.content


def test_not_an_image_and_huge_photo(client, engine):
    r = client.post("/report", data=form(description="bad photo"),
                    files=[("photos", ("virus.jpg", b"MZ\x90\x00 this is an exe", "image/jpeg"))])
    assert r.status_code == 422 and "virus.jpg" in r.text and "không phải là ảnh" in r.text
    big = b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024)
    r = client.post("/report", data=form(description="huge photo"),
                    files=[("photos", ("huge.jpg", big, "image/jpeg"))])
    assert r.status_code == 422 and "huge.jpg" in r.text and "10 MB" in r.text
    with engine.connect() as c:
        assert c.execute(sa.text(
            "SELECT count(*) FROM field_report WHERE description IN ('bad photo', 'huge photo')")).scalar() == 0


def test_too_many_photos(client):
    files = [("photos", (f"p{i}.jpg", jpeg_with_gps(size=(20, 20)), "image/jpeg")) for i in range(4)]
    r = client.post("/report", data=form(description="four photos"), files=files)
    assert r.status_code == 422 and "Tối đa 3 ảnh" in r.text


def test_establishment_prefill_from_qr_token(client, engine):
    lon, lat = inside_point()
    with engine.begin() as c:
        est = c.execute(sa.text(
            "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, geom) "
            "SELECT id, 'R5-QR-1', 'Quán <Bún> Chả Cá', 'household', (SELECT vsic_code FROM industry LIMIT 1), "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) FROM ward WHERE slug = 'hoa-cuong' "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id"), {"lon": lon, "lat": lat}).scalar()
        c.execute(sa.text(
            "INSERT INTO qr_code (token, short_code, target_type, establishment_id) "
            "VALUES ('r5tokenabc', 'R5SHORT', 'establishment', :e) ON CONFLICT (token) DO NOTHING"), {"e": est})
    page = client.get("/report?establishment=r5tokenabc")
    assert "Quán &lt;Bún&gt; Chả Cá" in page.text and 'value="r5tokenabc"' in page.text
    assert f"{lat:.6f}" in page.text
    r = client.post("/report", data={**form(description="QR report"), "establishment": "r5tokenabc"})
    assert r.status_code == 303
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT channel, establishment_id FROM field_report WHERE description = 'QR report'")
                        ).one()
    assert tuple(row) == ("qr", est)
    assert "Quán &lt;Bún&gt; Chả Cá" in client.get(r.headers["location"]).text


@pytest.fixture
def other_ward(engine):
    """Phường Thanh Khê (not the default ward), loaded for the test when no other test loaded it."""
    prof = profiles.get("thanh-khe")
    assert config.DEFAULT_WARD != prof.slug  # else the report would land there even without the fix
    with engine.begin() as c:
        found = c.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": prof.slug}).scalar()
        ward_id = found or c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES (:s, :n, :p, :srid, "
            "ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"),
            {"s": prof.slug, "n": prof.name, "p": prof.province, "srid": prof.local_srid,
             "g": prof.boundary().wkt}).scalar()
    point = prof.boundary().representative_point()
    yield {"id": ward_id, "lon": point.x, "lat": point.y}
    if not found:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


def test_report_from_a_revoked_sticker_reaches_its_ward_and_names_it(client, engine, other_ward, database_url):
    """The revoked QR page's "report this sticker" button: the report goes to the ward and establishment
    the sticker was issued for (not the default ward) and opens by naming the sticker's code."""
    with engine.begin() as c:
        est = c.execute(sa.text(
            "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, geom) "
            "VALUES (:w, 'R5-TK-REVOKED', 'Tiệm Tem Cũ', 'household', (SELECT vsic_code FROM industry LIMIT 1), "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"),
            {"w": other_ward["id"], "lon": other_ward["lon"], "lat": other_ward["lat"]}).scalar()
        old = issue.issue(c, establishment_id=est)
        current = issue.reissue(c, old)  # the first sticker is superseded
        issue.revoke(c, current, reason="misused")  # and the second revoked
    try:
        with engine.connect() as c:
            for rec in (old, current):
                assert intake.establishment_for_token(c, rec.token) is None  # not for a valid-code lookup
                found = intake.establishment_for_token(c, rec.token, include_revoked=True)
                assert (found["id"], found["ward_id"], found["short_code"], found["revoked"]) == (
                    est, other_ward["id"], rec.short_code, True)
        with TestClient(create_app(database_url)) as fresh:  # a fresh app: no page of this code in its cache
            page = fresh.get(f"/q/{current.token}")
        assert page.status_code == 410
        link = html.unescape(re.search(r'href="(/report\?establishment=[^"]+)"', page.text).group(1))
        form_page = client.get(link)
        assert form_page.status_code == 200 and current.short_code in form_page.text
        assert f'value="{current.token}"' in form_page.text and "Tem QR đã thu hồi".lower() in form_page.text.lower()
        r = client.post("/report", data={"category": "urban_order", "description": "Tem vẫn dán ở quầy",
                                         "lat": f"{other_ward['lat']}", "lon": f"{other_ward['lon']}",
                                         "establishment": current.token})
        assert r.status_code == 303, r.text
        with engine.connect() as c:
            row = c.execute(sa.text("SELECT ward_id, establishment_id, channel, description FROM field_report "
                                    "WHERE establishment_id = :e"), {"e": est}).one()
        assert (row.ward_id, row.establishment_id, row.channel) == (other_ward["id"], est, "qr")
        assert row.description.startswith(intake.revoked_sticker_note(current.short_code))
        assert f"revoked QR sticker {current.short_code}" in row.description
        assert row.description.endswith("Tem vẫn dán ở quầy")
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM field_report WHERE establishment_id = :e"), {"e": est})
            c.execute(sa.text("DELETE FROM establishment WHERE id = :e"), {"e": est})


def test_report_accepted_after_the_ward_is_reloaded(client, engine, monkeypatch):
    """``geomap demo load`` replaces a ward (a new row, a new id): a valid report made afterwards, in the
    same running service, reaches the new ward. (The route once kept the ward's id by slug for the life
    of the process, and refused every report with 422 "outside the ward" until a restart.)"""
    from geomap import demo
    from geomap.demo import data as demo_data

    slug = "thanh-khe"
    prof = profiles.get(slug)
    with engine.connect() as c:
        was_loaded = c.execute(sa.text("SELECT 1 FROM ward WHERE slug = :s"), {"s": slug}).first() is not None
    monkeypatch.setattr(config, "DEFAULT_WARD", slug)  # the form's ward: the one this test reloads
    point = prof.boundary().representative_point()
    values = {"category": "garbage", "lat": f"{point.y}", "lon": f"{point.x}"}
    try:
        demo.load(engine, ward=slug, scale=0.02)
        first = client.post("/report", data={**values, "description": "Trước khi nạp lại phường"})
        assert first.status_code == 303, first.text[:300]
        with engine.connect() as c:
            old_id = c.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": slug}).scalar()
        demo.load(engine, ward=slug, scale=0.02)  # what `geomap demo load` does: delete the ward, insert it anew
        with engine.connect() as c:
            new_id = c.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": slug}).scalar()
        assert new_id != old_id
        after = client.post("/report", data={**values, "description": "Sau khi nạp lại phường"})
        assert after.status_code == 303, re.sub(r"\s+", " ", html.unescape(
            re.search(r'id="error">(.*?)</div>', after.text, re.S).group(1) if 'id="error"' in after.text
            else after.text[:300]))
        with engine.connect() as c:
            stored = c.execute(sa.text("SELECT ward_id FROM field_report WHERE description = :d"),
                               {"d": "Sau khi nạp lại phường"}).scalar()
        assert stored == new_id
    finally:
        if not was_loaded:  # leave the shared test database as it was found
            with engine.begin() as c:
                demo_data.delete_wards(c, [slug])


def test_unknown_tracking_code(client):
    r = client.get("/report/track/PA-NOPE-NOPE-NOPE")
    assert r.status_code == 404 and "Không tìm thấy" in r.text


def test_rate_limit_answers_429(client, database_url):
    app = create_app(database_url)  # a fresh app: empty buckets (the module's client has limiting off)
    app.state.limits.report.configure(60, 2)
    with TestClient(app, follow_redirects=False) as flood:
        codes = [flood.post("/report", data=form(description=f"flood {i}")).status_code for i in range(4)]
    assert codes[:2] == [303, 303] and codes[2] == 429


def test_the_staff_app_links_to_the_public_tracking_page_absolutely(monkeypatch):
    from geomap import config, links

    monkeypatch.setattr(config, "PUBLIC_BASE_URL", "https://phananh.hoacuong.danang.gov.vn/")
    assert links.report_track_url("PA-7KQ2-M9XD-R4TB") == \
        "https://phananh.hoacuong.danang.gov.vn/report/track/PA-7KQ2-M9XD-R4TB"
    assert links.report_track("PA-7KQ2-M9XD-R4TB") == "/report/track/PA-7KQ2-M9XD-R4TB"  # the service's own redirect
