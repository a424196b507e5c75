"""Import and dashboard pages in headless Chromium: sign in, upload, dry-run table, dashboard indicators."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from staff_app import browser_page, open_from_sidebar, running_app, sign_in

from geomap import auth, db, profiles

PASSWORD = "mật-khẩu-nhập-liệu-2026"
USERNAME = "import.canbo"

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def signed_user(engine, demo_ward) -> dict:
    with db.transaction(engine) as c:
        return auth.create_user(c, USERNAME, "Cán Bộ Dữ Liệu", "data_officer", PASSWORD)


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward, signed_user) -> Iterator[str]:
    with running_app(database_url, demo_ward["slug"]) as url:
        yield url


@pytest.fixture
def page(chromium_path, app_url, signed_user):
    with browser_page(chromium_path, width=1440, height=1100, timeout_ms=90_000) as pg:
        sign_in(pg, app_url, USERNAME, PASSWORD)
        yield pg


def _csv() -> bytes:
    inside = profiles.get("hoa-cuong").boundary().representative_point()
    return (
        "Mã cơ sở,Tên cơ sở,Loại hình,Mã ngành VSIC,Kinh độ,Vĩ độ,Ngày cấp\n"
        f"BT-0001,Quán <b>Thử</b> Nghiệm,Hộ kinh doanh,5610,{inside.x},{inside.y},01/02/2025\n"
        f"BT-0002,Sai ngày,Hộ kinh doanh,5610,{inside.x},{inside.y + 0.001},31/02/2025\n"
    ).encode()


def test_upload_shows_the_dry_run_row_by_row(page) -> None:
    open_from_sidebar(page, "Nhập dữ liệu", "Nhập dữ liệu từ tệp")
    page.locator("input[type=file]").set_input_files(
        {"name": "thu.csv", "mimeType": "text/csv", "buffer": _csv()})
    page.get_by_role("button", name="Kiểm tra thử (chưa ghi)").click()
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.first.wait_for()
    values = {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
              m.locator('[data-testid="stMetricValue"]').inner_text().strip() for m in metrics.all()}
    assert values == {"Thêm mới": "1", "Cập nhật": "0", "Không đổi": "0", "Từ chối": "1"}
    page.locator('[data-testid="stDataFrame"]').wait_for()
    assert page.get_by_text("Chưa thể ghi: sửa các dòng bị từ chối").is_visible()
    assert page.get_by_role("button", name="Ghi vào cơ sở dữ liệu").count() == 0
    assert page.locator("b", has_text="Thử").count() == 0  # the name is never rendered as markup
    page.screenshot(path="/tmp/geomap_import.png", full_page=True)


def test_a_too_large_upload_is_refused_in_vietnamese_with_the_real_limit(page) -> None:
    """The uploader says the app's real limit and refuses a larger file at once, in Vietnamese."""
    from geomap.importing import MAX_UPLOAD_MB

    size_mb = int(MAX_UPLOAD_MB) + 1
    open_from_sidebar(page, "Nhập dữ liệu", "Nhập dữ liệu từ tệp")
    page.get_by_text(f"tối đa {int(MAX_UPLOAD_MB)}MB mỗi tệp").wait_for()
    page.locator("input[type=file]").set_input_files(
        {"name": "lon.csv", "mimeType": "text/csv", "buffer": b"Ten co so\n" + b"x" * (size_mb * 1024 * 1024)})
    page.get_by_text(re.compile(rf"Tệp vượt giới hạn {int(MAX_UPLOAD_MB)}(\.0)?\s?MB")).wait_for()
    assert page.get_by_text("or smaller", exact=False).count() == 0  # not Streamlit's English refusal
    assert page.get_by_role("button", name="Kiểm tra thử (chưa ghi)").count() == 0


def test_dashboard_renders_its_indicators(page) -> None:
    open_from_sidebar(page, "Bảng điều hành", "Bảng điều hành phường")
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.nth(5).wait_for()
    labels = [m.locator('[data-testid="stMetricLabel"]').inner_text().strip() for m in metrics.all()]
    from geomap import dashboard

    expected = [i.label("vi") for i in dashboard.INDICATORS]
    assert "Cơ sở sử dụng nền tảng số" in expected and "Cơ sở sử dụng thanh toán số" in expected
    assert sorted(labels[:len(expected)]) == sorted(expected)
    share = metrics.filter(has_text="thanh toán số").locator('[data-testid="stMetricValue"]').inner_text()
    assert re.fullmatch(r"\d{1,3}%", share.strip())
    assert page.get_by_text("Mục tiêu 2026: 50%").count() >= 1
    frame = next(f for f in _wait_frames(page) if "streamlit_folium" in f.url)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for()  # the residential groups (canvas renderer)
    # the map shows the first indicator by default: the plan's digital-platform share
    assert dashboard.INDICATORS[0].label("vi") in frame.locator(".geomap-legend").inner_text()
    page.screenshot(path="/tmp/geomap_dashboard.png", full_page=True)


def _wait_frames(page, timeout_s: float = 180):
    end = time.time() + timeout_s
    while time.time() < end:
        frames = [f for f in page.frames if "streamlit_folium" in f.url]
        if frames:
            return frames
        time.sleep(0.5)
    pytest.fail("the dashboard map did not load")
