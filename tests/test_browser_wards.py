"""The admins' "Phường" page in headless Chromium: upload a boundary, dry-run preview with the map, create."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in, sign_in_to_page

from geomap import auth
from geomap.wards import data as ward_data

PASSWORD = "mật-khẩu-quản-trị-phường"
pytestmark = pytest.mark.browser

#: a test shape near Hải Dương (not a real ward's boundary), lon/lat
OUTLINE = [[106.26, 20.90], [106.302, 20.90], [106.306, 20.92], [106.302, 20.94], [106.26, 20.94], [106.26, 20.90]]


@pytest.fixture(scope="module")
def ward(engine) -> dict:
    square = "MULTIPOLYGON(((108.2 16.0,108.21 16.0,108.21 16.01,108.2 16.01,108.2 16.0)))"
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('wards-admin', 'Phường Quản Trị', "
            "'Thành phố Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        auth.create_user(c, "ward.admin", "Quản Trị Viên", "admin", PASSWORD)
        auth.create_user(c, "ward.dulieu", "Cán Bộ Dữ Liệu", "data_officer", PASSWORD)
    return {"id": ward_id}


@pytest.fixture(scope="module")
def app_url(database_url, ward) -> Iterator[str]:
    with running_app(database_url, "wards-admin") as url:
        yield url


def test_admin_previews_then_creates_a_ward_from_a_geojson(chromium_path, app_url, engine, ward):
    geojson = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Phường Thử Tải Lên"},
         "geometry": {"type": "Polygon", "coordinates": [OUTLINE]}}]}).encode()
    with browser_page(chromium_path, height=1400) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_to_page(page, app_url, "wards", "Thiết lập phường", "ward.admin", PASSWORD)
        page.get_by_label("Tên phường").fill("Phường Thử Tải Lên")
        page.get_by_label("Tên phường").press("Enter")
        province = page.get_by_role("combobox", name="Tỉnh/thành phố")
        province.click()
        province.press_sequentially("Hải Dương")
        page.get_by_role("option", name="Hải Dương (cũ) → Thành phố Hải Phòng, kinh tuyến trục 105°30'").click()
        page.locator("input[type=file]").first.set_input_files(
            {"name": "ranh-gioi.geojson", "mimeType": "application/geo+json", "buffer": geojson})
        page.get_by_role("button", name="Kiểm tra thử (chưa ghi)").click()
        page.get_by_text("EPSG:9209").first.wait_for()
        assert page.get_by_text("Diện tích đo trong lưới VN-2000").count() == 1
        frame = None
        for _ in range(120):
            frame = next((f for f in page.frames if "streamlit_folium" in f.url), None)
            if frame is not None:
                break
            page.wait_for_timeout(500)
        assert frame is not None
        frame.locator(".leaflet-overlay-pane path, .leaflet-overlay-pane canvas").first.wait_for()
        assert ward_data.ward_by_slug(engine, "thu-tai-len") is None  # the dry run wrote nothing
        page.get_by_role("button", name="Tạo phường").click()
        page.get_by_text("Đã tạo Phường Thử Tải Lên (mã thu-tai-len)").wait_for()
        page.screenshot(path="/tmp/geomap_wards_page.png", full_page=True)
        assert not errors
    try:
        made = ward_data.ward_by_slug(engine, "thu-tai-len")
        assert made is not None and made["local_srid"] == 9209 and made["province"] == "Thành phố Hải Phòng"
        with engine.connect() as c:
            entry = c.execute(sa.text("SELECT username FROM audit_log WHERE entity_type = 'ward' AND entity_id = :w"),
                              {"w": made["id"]}).scalar()
        assert entry == "ward.admin"
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM ward WHERE slug = 'thu-tai-len'"))


def test_the_page_is_for_admins_only(chromium_path, app_url, ward):
    from geomap.ui.pages import discover

    assert next(p for p in discover() if p.key == "wards").roles == ("admin",)
    with browser_page(chromium_path) as page:
        sign_in(page, f"{app_url}/wards", "ward.dulieu", PASSWORD)
        page.locator('[data-testid="stSidebar"]').wait_for()
        page.wait_for_timeout(3000)
        assert page.get_by_text("Tạo một phường thật từ tệp ranh giới").count() == 0
        assert page.get_by_role("button", name="Kiểm tra thử (chưa ghi)").count() == 0
