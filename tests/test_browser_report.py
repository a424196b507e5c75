"""The public report form in headless Chromium: geolocation button, tap on the ward map, submit, tracking page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from reports_fixtures import ensure_ward, inside_point
from staff_app import free_port, public_service

from geomap.field_reports import retention, workflow

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("GEOMAP_SCREENSHOTS", "/tmp/geomap-screenshots"))


@pytest.fixture(scope="module")
def service(request, database_url, engine) -> Iterator[str]:
    ensure_ward(request, engine)
    port = free_port()
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": "hoa-cuong"}
    with public_service(env, port=port) as url:  # the one launcher (tests/staff_app.py)
        yield url


@pytest.fixture
def phone(chromium_path):
    from playwright.sync_api import sync_playwright

    lon, lat = inside_point()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                      locale="vi-VN", geolocation={"latitude": lat, "longitude": lon},
                                      permissions=["geolocation"])
        page = context.new_page()
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
        yield page, external
        browser.close()


def test_submit_report_from_phone(service, phone, engine):
    page, external = phone
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{service}/report")
    assert page.title() == "Phản ánh hiện trường"
    page.select_option("#category", "garbage")
    page.fill("#description", "Rác tồn đọng <script>alert(1)</script> ở kiệt 27 — thử trình duyệt")
    page.click("#gps")  # the phone's position fills latitude/longitude
    page.wait_for_function("document.getElementById('lat').value !== ''")
    lon, lat = inside_point()
    assert abs(float(page.input_value("#lat")) - lat) < 1e-5
    page.fill('input[name="reporter_contact"]', "0905 000 111")
    assert "12 tháng" in page.locator("#privacy").inner_text()  # the purpose notice, beside the contact fields
    page.click("#send")  # a contact without consent: refused, nothing stored, what was typed kept
    page.wait_for_selector("#error")
    assert "chưa đánh dấu ô đồng ý" in page.locator("#error").inner_text()
    assert page.input_value('input[name="reporter_contact"]') == "0905 000 111"
    page.check("#consent")
    page.screenshot(path=str(SHOTS / "report-form.png"), full_page=True)
    page.click("#send")
    page.wait_for_url("**/report/track/PA-*")
    assert page.locator("#status").inner_text().startswith("Mới")
    assert "chờ phường xem xét" in page.locator("#description-hidden").inner_text()  # public once moderated
    public_id = page.locator("#public-id").inner_text()
    with engine.connect() as c:
        report_id = c.execute(sa.text("SELECT id FROM field_report WHERE public_id = :p"), {"p": public_id}).scalar()
    workflow.moderate(engine, report_id, "approved", user=None)
    page.reload()
    assert "<script>alert(1)</script>" in page.locator("#description").inner_text()  # shown as text
    page.screenshot(path=str(SHOTS / "report-track.png"), full_page=True)
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT channel, reporter_contact, consent_notice, ST_Y(geom) lat FROM field_report "
                                "WHERE public_id = :p"), {"p": public_id}).one()
    assert row.channel == "web" and row.reporter_contact == "0905 000 111" and abs(row.lat - lat) < 1e-5
    assert row.consent_notice == retention.NOTICE_VERSION
    assert "0905" not in page.content()  # contact never shown publicly
    assert external == []  # no request leaves the service


def test_tap_on_ward_map_sets_location_and_errors_are_shown(service, phone):
    page, _ = phone
    page.goto(f"{service}/report?lang=en")
    assert page.locator("h1").inner_text() == "Report a problem"
    box = page.locator("#wardmap").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.input_value("#lat") != "" and page.input_value("#lon") != ""
    page.select_option("#category", "sanitation")
    page.click("#send")  # empty description: refused with a clear message, values kept
    page.wait_for_selector("#error")
    assert "description is empty" in page.locator("#error").inner_text()
    assert page.input_value("#lat") != ""
    page.fill("#lat", "21.0285")
    page.fill("#lon", "105.8542")
    page.fill("#description", "Outside the ward")
    page.click("#send")
    page.wait_for_selector("#error")
    assert "outside" in page.locator("#error").inner_text()
    page.screenshot(path=str(SHOTS / "report-error.png"), full_page=True)


def test_form_works_without_javascript(service, chromium_path):
    from playwright.sync_api import sync_playwright

    lon, lat = inside_point()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_context(java_script_enabled=False, locale="vi-VN").new_page()
        page.goto(f"{service}/report")
        assert not page.locator("#wardmap").is_visible()  # the map needs JS; the inputs do not
        page.select_option("#category", "urban_order")
        page.fill("#description", "Lấn chiếm vỉa hè — không JavaScript")
        page.fill("#lat", f"{lat:.6f}")
        page.fill("#lon", f"{lon:.6f}")
        page.click("#send")
        page.wait_for_url("**/report/track/PA-*")
        assert "Trật tự đô thị" in page.content()
        browser.close()
