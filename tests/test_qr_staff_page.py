"""The staff QR page in headless Chromium: issue missing codes, reissue one, make a sticker sheet."""

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

from geomap import auth, config

PASSWORD = "mật-khẩu-tem-qr"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ward(engine) -> dict:
    square = "MULTIPOLYGON(((108.2 16.0,108.21 16.0,108.21 16.01,108.2 16.01,108.2 16.0)))"
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('qr-staff', 'Phường Tem QR', "
            "'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        for code, name in (("QS-001", "Bánh Xèo Bà Dưỡng"), ("QS-002", "Chè Xuân Trang")):
            c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, geom) VALUES "
                "(:w, :c, :n, 'household', '5610', '1 Hoàng Diệu', ST_SetSRID(ST_MakePoint(108.205, 16.005), 4326))"),
                {"w": ward_id, "c": code, "n": name})
        auth.create_user(c, "qr.dulieu", "Cán Bộ Tem", "data_officer", PASSWORD)
    return {"id": ward_id}


@pytest.fixture(scope="module")
def app_url(database_url, ward) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": "qr-staff", "GEOMAP_LANGUAGE": "vi"}
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


def test_issue_reissue_and_sheet_in_chromium(chromium_path, app_url, engine, ward):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(app_url)
        page.get_by_label("Tên đăng nhập").fill("qr.dulieu")
        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_text("Đang đăng nhập").first.wait_for()
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Mã QR và tem", exact=True).click()
        page.get_by_role("heading", name="Mã QR và tem dán").wait_for()

        page.get_by_role("button", name="Cấp mã cho tất cả cơ sở và quầy chưa có").click()
        page.get_by_text("Đã cấp 2 mã cơ sở và 0 mã quầy.").wait_for()
        with engine.connect() as c:
            first = c.execute(sa.text("SELECT q.short_code FROM qr_code q JOIN establishment e ON "
                                      "e.id = q.establishment_id WHERE e.code = 'QS-001'")).scalar_one()

        box = page.get_by_label("Mã tem, mã cơ sở hoặc token")
        box.fill("QS-001")
        box.press("Enter")
        page.get_by_text("Bánh Xèo Bà Dưỡng").first.wait_for()
        page.get_by_role("button", name="Cấp lại tem (tem cũ mất hiệu lực)").click()
        page.get_by_text("Đã cấp tem mới").wait_for()
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT q.short_code, q.version, q.revoked_reason FROM qr_code q JOIN "
                                     "establishment e ON e.id = q.establishment_id WHERE e.code = 'QS-001' "
                                     "ORDER BY q.version")).all()
        assert [(r.version, r.revoked_reason) for r in rows] == [(1, "reissued"), (2, None)]
        assert rows[0].short_code == first

        page.get_by_role("button", name="Tạo tờ tem PDF (A4, 12 tem/trang)").click()
        page.get_by_role("button", name="Tải tờ tem PDF").wait_for()
        assert not errors, errors
        browser.close()
