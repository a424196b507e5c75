"""Base layers in the staff app, in headless Chromium: the import page's layer choice (dry run, then the
real run) and the infrastructure page recording a checked condition."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import box, mapping
from staff_app import browser_page, running_app, sign_in_to_page

from geomap import auth, db, profiles

PASSWORD = "mật-khẩu-nền-2026"
USERNAME = "nen.canbo"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signed_user(engine, demo_ward) -> dict:
    with db.transaction(engine) as c:
        return auth.create_user(c, USERNAME, "Cán Bộ Nền", "data_officer", PASSWORD)


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward, signed_user) -> Iterator[str]:
    with running_app(database_url, demo_ward["slug"]) as url:
        yield url


@pytest.fixture
def page(chromium_path, app_url):
    with browser_page(chromium_path, width=1440, height=1100, timeout_ms=90_000) as pg:
        yield pg


def _parcels() -> bytes:
    p = profiles.get("hoa-cuong").boundary().representative_point()
    d = 0.0001
    feats = [{"type": "Feature", "properties": {"Tờ bản đồ": "BR", "Số thửa": str(k), "Mục đích sử dụng": "ODT"},
              "geometry": mapping(box(p.x + k * 2 * d, p.y, p.x + k * 2 * d + d, p.y + d))} for k in (1, 2)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_import_page_offers_the_base_layers_and_imports_parcels(page, app_url, engine) -> None:
    sign_in_to_page(page, app_url, "import", "Nhập dữ liệu từ tệp", USERNAME, PASSWORD)
    page.get_by_role("combobox", name="Loại dữ liệu").click()
    page.get_by_role("option", name="Thửa đất").click()
    page.locator("input[type=file]").set_input_files(
        {"name": "thua.geojson", "mimeType": "application/geo+json", "buffer": _parcels()})
    page.get_by_role("button", name="Kiểm tra thử (chưa ghi)").click()
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.first.wait_for()
    values = {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
              m.locator('[data-testid="stMetricValue"]').inner_text().strip() for m in metrics.all()}
    assert values == {"Thêm mới": "2", "Cập nhật": "0", "Không đổi": "0", "Từ chối": "0"}
    try:
        page.get_by_role("button", name="Ghi vào cơ sở dữ liệu").click()
        page.get_by_text("Đã nhập: thêm mới 2").wait_for()
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM land_parcel WHERE map_sheet = 'BR'")).scalar() == 2
    finally:
        with db.transaction(engine) as c:
            c.execute(sa.text("DELETE FROM land_parcel WHERE map_sheet = 'BR'"))


def test_infrastructure_page_records_a_checked_condition(page, app_url, engine, demo_ward) -> None:
    with engine.connect() as c:
        asset = c.execute(sa.text("SELECT id, code, condition, checked_on FROM infrastructure WHERE ward_id = :w "
                                  "ORDER BY code LIMIT 1"), {"w": demo_ward["id"]}).one()
    sign_in_to_page(page, app_url, "infrastructure", "Hạ tầng đô thị", USERNAME, PASSWORD)
    page.locator('[data-testid="stDataFrame"]').wait_for()
    form = page.locator('[data-testid="stForm"]')
    new = "Hư hỏng" if asset.condition == "working" else "Hoạt động tốt"
    form.get_by_text(new, exact=True).click()
    try:
        form.get_by_role("button", name="Lưu tình trạng").click()
        page.get_by_text(f"Đã lưu tình trạng của {asset.code}.").wait_for()
        with engine.connect() as c:
            got = c.execute(sa.text("SELECT condition FROM infrastructure WHERE id = :i"), {"i": asset.id}).scalar()
            audit = c.execute(sa.text("SELECT username FROM audit_log WHERE entity_type = 'infrastructure' "
                                      "AND entity_id = :i ORDER BY at DESC LIMIT 1"), {"i": asset.id}).scalar()
        assert got != asset.condition and audit == USERNAME
    finally:
        with db.transaction(engine) as c:
            c.execute(sa.text("UPDATE infrastructure SET condition = :c, checked_on = :d WHERE id = :i"),
                      {"c": asset.condition, "d": asset.checked_on, "i": asset.id})


def test_parcels_file_is_inside_the_demo_ward() -> None:
    shape = profiles.get("hoa-cuong").boundary()
    feats = json.loads(_parcels())["features"]
    assert all(shape.contains(shapely.geometry.shape(f["geometry"])) for f in feats)
