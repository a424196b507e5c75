"""The export page in headless Chromium: a data officer makes a VN-2000 GeoPackage; an inspector has no such page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from export_fixtures import SLUG
from export_fixtures import loaded as loaded_fixture
from staff_app import browser_page, running_app, sign_in, sign_in_to_page

from geomap import auth

PASSWORD = "mật-khẩu-xuất-dữ-liệu"



@pytest.fixture(scope="module")
def accounts(engine) -> Iterator[dict]:
    """The test ward (deleted after the module) and two accounts."""
    wards = loaded_fixture(engine)
    next(wards)
    with engine.begin() as c:
        exists = c.execute(sa.text("SELECT 1 FROM app_user WHERE username = 'xuat.dulieu'")).first()
        if not exists:
            auth.create_user(c, "xuat.dulieu", "Cán Bộ Xuất Dữ Liệu", "data_officer", PASSWORD)
            auth.create_user(c, "xuat.kiemtra", "Cán Bộ Kiểm Tra Xuất", "inspector", PASSWORD)
    yield {"officer": "xuat.dulieu", "inspector": "xuat.kiemtra"}
    next(wards, None)  # deletes the ward


@pytest.fixture(scope="module")
def app_url(database_url, accounts) -> Iterator[str]:
    with running_app(database_url, SLUG) as url:
        yield url


@pytest.fixture
def page(chromium_path, app_url):
    with browser_page(chromium_path) as pg:
        yield pg


def _sign_in(page, url: str, username: str) -> None:
    sign_in(page, url, username, PASSWORD)
    page.get_by_text("Đang đăng nhập").wait_for()


def test_data_officer_exports_a_vn2000_geopackage(page, app_url, accounts, engine):
    sign_in_to_page(page, app_url, "export", "Xuất dữ liệu cho thành phố", accounts["officer"], PASSWORD)
    page.get_by_text("VN-2000 của phường (EPSG:5899)").wait_for()
    page.get_by_text("Nội bộ (có dữ liệu cá nhân", exact=False).wait_for()  # this role may export internally
    page.get_by_role("button", name="Tạo tệp").click()
    page.get_by_text("Đã tạo geomap_thu-nghiem-xuat_public_epsg5899_", exact=False).wait_for()
    page.get_by_role("button", name="Tải về", exact=True).wait_for()
    page.get_by_text("Phép chuyển đổi tọa độ:", exact=False).wait_for()
    assert "6960" in page.content()
    with engine.connect() as c:
        entry = c.execute(sa.text("SELECT username, after FROM audit_log WHERE action = 'export' "
                                  "ORDER BY id DESC LIMIT 1")).one()
    assert entry.username == accounts["officer"]
    assert entry.after["crs"] == "EPSG:5899" and entry.after["format"] == "gpkg"
    assert entry.after["profile"] == "public"


def test_inspector_has_no_export_page(page, app_url, accounts):
    _sign_in(page, app_url, accounts["inspector"])
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Bản đồ", exact=True).wait_for()
    assert nav.get_by_text("Xuất dữ liệu", exact=True).count() == 0
