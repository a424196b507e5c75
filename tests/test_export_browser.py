"""The export page in headless Chromium: a data officer makes a VN-2000 GeoPackage; an inspector has no such page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from test_export_fixtures import SLUG
from test_export_fixtures import load as load_fixture

from geomap import auth, config

PASSWORD = "mật-khẩu-xuất-dữ-liệu"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def accounts(engine) -> dict:
    load_fixture(engine)
    with engine.begin() as c:
        exists = c.execute(sa.text("SELECT 1 FROM app_user WHERE username = 'xuat.dulieu'")).first()
        if not exists:
            auth.create_user(c, "xuat.dulieu", "Cán Bộ Xuất Dữ Liệu", "data_officer", PASSWORD)
            auth.create_user(c, "xuat.kiemtra", "Cán Bộ Kiểm Tra Xuất", "inspector", PASSWORD)
    return {"officer": "xuat.dulieu", "inspector": "xuat.kiemtra"}


@pytest.fixture(scope="module")
def app_url(database_url, accounts) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": SLUG, "GEOMAP_LANGUAGE": "vi"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(config.PROJECT_DIR / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=config.PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def page(chromium_path, app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Đang đăng nhập").wait_for()


def test_data_officer_exports_a_vn2000_geopackage(page, app_url, accounts, engine):
    _sign_in(page, app_url, accounts["officer"])
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Xuất dữ liệu", exact=True).click()
    page.get_by_role("heading", name="Xuất dữ liệu cho thành phố").wait_for()
    page.get_by_text("VN-2000 của phường (EPSG:5899)").wait_for()
    page.get_by_text("Nội bộ (có dữ liệu cá nhân", exact=False).wait_for()  # this role may export internally
    page.get_by_role("button", name="Tạo tệp").click()
    page.get_by_text("Đã tạo geomap_thu-nghiem-xuat_public_epsg5899_", exact=False).wait_for()
    page.get_by_role("button", name="Tải về").wait_for()
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
