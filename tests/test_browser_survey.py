"""Survey mode on a phone in headless Chromium: geolocation emulated, the worklist shrinks when an
approximate establishment is pinned (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import CHROMIUM_ARGS, public_service

from geomap import auth
from geomap.records import edit

FOOD = "5610"
X0, Y0 = 108.440, 16.240  # the test's own 0.01° ward
PASSWORD = "mật-khẩu-khảo-sát"
PHONE_AT = (X0 + 0.001, Y0 + 0.005)


@pytest.fixture(scope="module")
def ward(engine) -> dict:
    square = (f"SRID=4326;MULTIPOLYGON((({X0} {Y0},{X0 + 0.01} {Y0},{X0 + 0.01} {Y0 + 0.01},{X0} {Y0 + 0.01},"
              f"{X0} {Y0})))")
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-survey-phone', 'Phường Điện Thoại', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": square}).scalar_one()
        officer = auth.create_user(c, "svb_dulieu", "Cán Bộ Khảo Sát", "data_officer", PASSWORD, ward_id=ward_id)
    made = []
    for i, name in enumerate(("Quán Một", "Quán Hai", "Quán Ba")):
        row = edit.create_establishment(engine, ward_id, {"name": name, "business_type": "household",
                                                          "vsic_code": FOOD},
                                        lon=X0 + 0.002 + 0.002 * i, lat=Y0 + 0.005, user=officer)
        made.append(row)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE establishment SET location_quality = 'street' WHERE ward_id = :w"), {"w": ward_id})
    return {"id": ward_id, "made": made}


@pytest.fixture(scope="module")
def service(database_url, ward) -> Iterator[str]:
    with public_service({"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": "hoa-cuong"}) as url:
        yield url


@pytest.fixture
def phone(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="vi-VN",
                                      geolocation={"latitude": PHONE_AT[1], "longitude": PHONE_AT[0], "accuracy": 6},
                                      permissions=["geolocation"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
        yield page, external
        browser.close()


def _items(page) -> list[str]:
    return page.locator("#survey-list a.survey-item").evaluate_all("els => els.map(e => e.dataset.code)")


def test_the_worklist_shrinks_when_an_approximate_establishment_is_pinned(service, phone, ward, engine):
    page, external = phone
    codes = [m["code"] for m in ward["made"]]
    page.goto(f"{service}/field/signin?next=/field/survey")
    page.get_by_label("Tên đăng nhập").fill("svb_dulieu")
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    # the worklist asks the phone where it is and sorts from there, nearest first
    page.wait_for_url("**/field/survey?*lon=*")
    assert _items(page) == codes and page.locator("#survey-left").inner_text() == "3"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360  # one column at 360 px

    page.locator(f"a.survey-item[data-code='{codes[0]}']").click()
    page.get_by_role("heading", name="Quán Một").wait_for()
    page.wait_for_function("document.getElementById('position-status').textContent.includes('±6 m')")
    assert page.locator("#confirm-row").is_hidden()  # 6 m: no confirmation needed
    page.get_by_label("Giờ mở cửa (ví dụ 06:00-22:00)").fill("06:00-21:00")
    page.get_by_label("GrabFood").check()
    page.locator("#survey-save").click()
    page.wait_for_url(f"**/field/survey?done={codes[0]}*")
    assert _items(page) == codes[1:] and page.locator("#survey-left").inner_text() == "2"
    assert "Đã lưu khảo sát" in page.locator("#survey-done").inner_text()
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT location_quality, opening_hours, digital_platforms, ST_X(geom) AS x "
                                "FROM establishment WHERE code = :c"), {"c": codes[0]}).mappings().one()
    assert row["location_quality"] == "exact" and row["opening_hours"] == "06:00-21:00"
    assert row["digital_platforms"] == ["grabfood"] and row["x"] == pytest.approx(PHONE_AT[0], abs=1e-6)
    assert external == []  # everything from geomap itself
