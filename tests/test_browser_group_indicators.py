"""The dashboard's residential-group indicators in headless Chromium: a data officer uploads the ward's
assessment for a quarter, sees a bad row named in Vietnamese, uploads the fixed file, imports, and the
figures show beside geomap's own (issue 17); every message is tested in tests/test_group_indicators.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in

from geomap import auth, db, status
from geomap.dashboard import periods

PASSWORD = "mật-khẩu-tổ-dân-phố-2026"
USERNAME = "tdp.canbo"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def officer(engine, demo_ward) -> dict:
    with db.transaction(engine) as c:
        return auth.create_user(c, USERNAME, "Cán Bộ Tổ Dân Phố", "data_officer", PASSWORD)


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward, officer, engine) -> Iterator[str]:
    with running_app(database_url, demo_ward["slug"]) as url:
        yield url
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM group_indicator_value WHERE ward_id = :w"), {"w": demo_ward["id"]})


def _csv(vneid_second: int) -> bytes:
    return ("Mã tổ,Số nhân khẩu,Số người đã kích hoạt VNeID,Số hộ,Số hộ đạt Gia đình số,Đạt Tổ dân phố số\n"
            f"TDP001,1000,700,300,240,Có\nTDP002,1000,{vneid_second},200,100,Không\n").encode()


def test_a_quarter_of_group_figures_is_checked_imported_and_shown(chromium_path, app_url) -> None:
    quarter = str(periods.containing(status.today(), "quarter"))
    with browser_page(chromium_path, width=1440, height=1400, timeout_ms=90_000) as page:
        sign_in(page, f"{app_url}/dashboard", USERNAME, PASSWORD)
        page.get_by_role("heading", name="Bảng điều hành phường").wait_for()
        page.get_by_text("Chỉ tiêu tổ dân phố (phường nhập theo kỳ)").wait_for()
        assert page.get_by_text("Chưa nhập số liệu cho kỳ này").count() >= 1
        page.get_by_text("Nhập số liệu tổ dân phố").click()
        page.get_by_text("Tải tệp mẫu (các tổ của phường)").wait_for()
        page.locator("input[type=file]").set_input_files(
            {"name": "tdp.csv", "mimeType": "text/csv", "buffer": _csv(1200)})
        page.get_by_text("1200 lớn hơn 1000").wait_for(timeout=240_000)  # named before anything is written
        assert page.get_by_role("button", name="Nhập số liệu").count() == 0
        page.locator("input[type=file]").set_input_files(
            {"name": "tdp-sua.csv", "mimeType": "text/csv", "buffer": _csv(800)})
        page.get_by_text("6 số liệu của 2 tổ").wait_for(timeout=240_000)  # a loaded 2-core machine runs slowly
        page.get_by_role("button", name="Nhập số liệu").click()
        page.get_by_text(f"Đã nhập 6 số liệu của 2 tổ cho kỳ {quarter}").wait_for(timeout=240_000)
        # the page runs again with the new figures: the ward's VNeID share (1500 of 2000) beside geomap's own
        page.get_by_text(f"Số liệu kỳ {quarter}, 2 tổ báo cáo").first.wait_for()
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Dân số đã kích hoạt VNeID")
        assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == "75%"
