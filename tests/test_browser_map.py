"""The staff map in headless Chromium: clusters drawn, Vietnamese page, search → detail, click → detail, English."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from geomap import auth, config, db

PASSWORD = "mật-khẩu-bản-đồ-2026"
USERNAME = "map.canbo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOT = "/tmp/geomap_map.png"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def map_user(engine, demo_ward) -> dict:
    with db.transaction(engine) as c:
        return auth.create_user(c, USERNAME, "Cán Bộ Bản Đồ", "data_officer", PASSWORD)


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward, map_user) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": demo_ward["slug"],
           "GEOMAP_LANGUAGE": "vi"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(config.PROJECT_DIR / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--server.enableStaticServing", "true"],
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
        pg = browser.new_page(viewport={"width": 1440, "height": 1000})
        pg.set_default_timeout(60_000)
        pg.goto(app_url)
        pg.get_by_label("Tên đăng nhập").fill(USERNAME)
        pg.get_by_label("Mật khẩu").fill(PASSWORD)
        pg.get_by_role("button", name="Đăng nhập").click()
        yield pg
        browser.close()


def _map_frame(pg, selector: str = ".marker-cluster", timeout_s: float = 90):
    """The streamlit-folium iframe once ``selector`` is drawn inside it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in pg.frames:
            if "streamlit_folium" in frame.url and frame.locator(selector).count() > 0:
                return frame
        pg.wait_for_timeout(500)
    pytest.fail(f"the map never drew {selector}")


def test_staff_map_draws_clusters_in_vietnamese(page):
    frame = _map_frame(page)
    assert frame.locator(".marker-cluster").count() >= 10
    # the clusters add up to the ward's establishments (plus any unclustered points)
    total = sum(int(t) for t in frame.locator(".marker-cluster span").all_inner_texts() if t.strip().isdigit())
    assert total >= 5000
    assert frame.locator(".leaflet-control-scale").count() == 1
    legend = frame.locator(".geomap-legend").first.inner_text()
    assert "Tình trạng giấy phép" in legend and "Còn hiệu lực" in legend
    body = page.inner_text("body")
    for text in ("Lớp bản đồ", "Cơ sở kinh doanh", "Tổ dân phố", "Dữ liệu mô phỏng", "Đang hiển thị",
                 "Tô màu cơ sở kinh doanh theo"):
        assert text in body
    assert "Map layers" not in body
    page.wait_for_timeout(1500)
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_search_pick_and_click_open_the_detail_panel(page):
    _map_frame(page)
    box = page.get_by_label("Tìm cơ sở kinh doanh theo tên hoặc địa chỉ (gõ không dấu cũng được)")
    box.fill("pho")
    box.press("Enter")
    page.get_by_text("Kết quả tìm kiếm").wait_for()
    page.get_by_text("Kết quả tìm kiếm").locator("xpath=ancestor::div[contains(@class,'stSelectbox')]").locator(
        "input").click()
    option = page.get_by_role("option").first
    picked = option.inner_text()
    assert "Phở" in picked or "Phố" in picked or "pho" in picked.lower()
    option.click()
    page.get_by_role("tab", name="Giấy phép", exact=False).wait_for()
    name = picked.split(" · ")[1]
    assert name in page.inner_text("body")
    page.get_by_role("tab", name="Giấy phép", exact=False).click()
    page.get_by_role("tab", name="Kiểm tra", exact=False).click()
    page.screenshot(path="/tmp/geomap_map_detail.png", full_page=True)

    # close the panel, then click the establishment itself: the map is centred on it at zoom 18
    page.get_by_role("button", name="✕").click()
    page.get_by_text("Bấm vào một cơ sở trên bản đồ").wait_for()
    frame = _map_frame(page, ".leaflet-overlay-pane canvas")
    page.wait_for_timeout(1500)
    box = frame.locator("#map_div").bounding_box()
    frame.locator("#map_div").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.get_by_role("tab", name="Giấy phép", exact=False).wait_for()
    assert name in page.inner_text("body")


def test_language_switch_to_english(page):
    _map_frame(page)
    page.get_by_text("English", exact=True).click()
    page.get_by_text("Map layers").wait_for()
    body = page.inner_text("body")
    assert "Business establishments" in body and "Synthetic demonstration data" in body
