"""The staff app in headless Chromium: sign-in (wrong password, then right), the records page, a refused stale save."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from staff_app import browser_page, open_from_sidebar, running_app, sign_in

from geomap import auth, links
from geomap.records import edit, quality
from geomap.ui import pages as page_registry

PASSWORD = "mật-khẩu-trình-duyệt"



@pytest.fixture(scope="module")
def staff(engine) -> Iterator[dict]:
    """A committed ward with one establishment and two accounts."""
    square = "MULTIPOLYGON(((108.1 16.1,108.11 16.1,108.11 16.11,108.1 16.11,108.1 16.1)))"
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('browser-ward', 'Phường Trình Duyệt', "
            "'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        officer = auth.create_user(c, "br.dulieu", "Cán Bộ Dữ Liệu", "data_officer", PASSWORD)
        inspector = auth.create_user(c, "br.kiemtra", "Cán Bộ Kiểm Tra", "inspector", PASSWORD)
        made = edit.create_establishment(
            c, ward_id, {"name": "Bún Chả Cá Bà Lữ", "business_type": "household", "vsic_code": "5610",
                         "phone": "0905111222", "owner_name": "Lữ Thị Bí Mật"}, lon=108.105, lat=16.105)
    yield {"ward_id": ward_id, "officer": officer, "inspector": inspector, "establishment": made}
    with engine.begin() as c:  # the database is shared by the whole run: take the ward (and, by cascade, its rows) away
        c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


@pytest.fixture(scope="module")
def app_url(database_url, staff) -> Iterator[str]:
    with running_app(database_url, "browser-ward") as url:
        yield url


@pytest.fixture
def page(chromium_path, app_url):
    with browser_page(chromium_path) as pg:
        yield pg


def test_wrong_password_then_sign_in_shows_the_pages_of_the_role(page, app_url, staff):
    sign_in(page, app_url, "br.dulieu", "không-phải-mật-khẩu")
    page.get_by_text("Tên đăng nhập hoặc mật khẩu không đúng (sai").wait_for()  # one answer, locked or not
    assert page.get_by_text("Đang đăng nhập").count() == 0

    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Đang đăng nhập: Cán Bộ Dữ Liệu (Cán bộ dữ liệu)").wait_for()
    page.get_by_label("Mật khẩu", exact=True).wait_for(state="detached")  # the form is gone
    allowed = [p for p in page_registry.discover() if "data_officer" in p.roles]
    nav = page.locator('[data-testid="stSidebarNav"]')
    if len(allowed) > 1:
        for p in allowed:
            expect(nav.get_by_text(p.title_vi, exact=True), p.key).to_have_count(1)
    default = next((p for p in allowed if p.default), allowed[0])
    if default.key == "map":  # the map page appears first after sign-in
        page.locator("iframe").first.wait_for()
    page.get_by_role("button", name="Đăng xuất").click()
    page.get_by_label("Tên đăng nhập").wait_for()


def _open_records(page, name: str) -> None:
    open_from_sidebar(page, "Hồ sơ cơ sở", "Hồ sơ cơ sở kinh doanh")
    search = page.get_by_label("Tìm theo tên, địa chỉ hoặc mã (gõ không dấu cũng được)")
    search.fill(name)
    search.press("Enter")


def test_records_page_saves_an_edit_and_refuses_a_stale_one(page, app_url, staff, engine):
    made = staff["establishment"]
    sign_in(page, app_url, "br.dulieu", PASSWORD)
    page.get_by_text("Đang đăng nhập").wait_for()
    _open_records(page, "bun cha ca")  # folded search finds "Bún Chả Cá"
    page.get_by_role("tab", name="Thông tin").wait_for()
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Lưu thay đổi"))
    name_box = form.get_by_label("Tên cơ sở *")
    assert name_box.input_value() == "Bún Chả Cá Bà Lữ"
    assert form.get_by_label("Điện thoại").input_value() == "0905111222"  # a data officer sees personal data
    name_box.fill("Bún Chả Cá Bà Lữ <b>2</b>")
    form.get_by_role("button", name="Lưu thay đổi").click()
    page.get_by_text("Đã lưu (phiên bản 2).").wait_for()
    with engine.connect() as c:
        assert edit.get_establishment(c, made["id"])["name"] == "Bún Chả Cá Bà Lữ <b>2</b>"

    # someone else saves while this page still shows version 2
    edit.update_establishment(engine, made["id"], {"employees": 4}, expected_version=2, user=staff["officer"])
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Lưu thay đổi"))
    form.get_by_label("Tên cơ sở *").fill("Tên ghi đè")
    form.get_by_role("button", name="Lưu thay đổi").click()
    page.get_by_text("thay đổi của bạn chưa được lưu", exact=False).first.wait_for()
    with engine.connect() as c:
        row = edit.get_establishment(c, made["id"])
    assert row["name"] == "Bún Chả Cá Bà Lữ <b>2</b>" and row["employees"] == 4 and row["version"] == 3

    page.get_by_role("tab", name="Lịch sử thay đổi").click()
    page.get_by_text("Sửa thông tin").first.wait_for(state="attached")  # a cell of the history grid


def test_inspector_sees_no_personal_data_and_no_edit_form(page, app_url, staff):
    sign_in(page, app_url, "br.kiemtra", PASSWORD)
    page.get_by_text("Đang đăng nhập").wait_for()
    _open_records(page, "bun cha")
    page.get_by_text("Vai trò của bạn chỉ được xem hồ sơ này.").wait_for()
    # the read-only details are there (so the absence of personal values below means something)
    page.get_by_text("Nhà hàng và các dịch vụ ăn uống phục vụ lưu động").first.wait_for(state="attached")
    assert page.get_by_role("button", name="Lưu thay đổi").count() == 0
    page.get_by_role("tab", name="Kiểm tra").click()
    page.get_by_role("button", name="Ghi kết quả kiểm tra").wait_for()
    content = page.content()
    assert "0905111222" not in content and "Lữ Thị Bí Mật" not in content


def test_a_data_quality_fix_link_opens_its_record(page, app_url, staff):
    """The link the data-quality page gives (quality.fix_link) selects the record on the records page."""
    made = staff["establishment"]
    sign_in(page, f"{app_url}/{quality.fix_link(made['id'])}", "br.dulieu", PASSWORD)
    page.get_by_text("Đang đăng nhập").wait_for()
    page.get_by_role("heading", name="Hồ sơ cơ sở kinh doanh").wait_for(timeout=30_000)
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Lưu thay đổi"))
    expect(form.get_by_label("Tên cơ sở *")).to_have_value(re.compile("^Bún Chả Cá Bà Lữ"), timeout=30_000)
    assert f"{links.RECORD_PARAM}={made['id']}" in page.url


def test_a_fix_link_names_its_ward_and_opens_there(page, app_url, engine):
    """A link into another ward than the app's default selects that ward, then the record."""
    square = "MULTIPOLYGON(((108.2 16.2,108.21 16.2,108.21 16.21,108.2 16.21,108.2 16.2)))"
    with engine.begin() as c:
        other = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('browser-ward-2', 'Phường Thứ Hai', "
            "'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        made = edit.create_establishment(
            c, other, {"name": "Phở Lụa Phường Hai", "business_type": "household", "vsic_code": "5610"},
            lon=108.205, lat=16.205)
    sign_in(page, f"{app_url}/{quality.fix_link(made['id'], 'browser-ward-2')}", "br.dulieu", PASSWORD)
    page.get_by_role("heading", name="Hồ sơ cơ sở kinh doanh").wait_for(timeout=30_000)
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Lưu thay đổi"))
    expect(form.get_by_label("Tên cơ sở *")).to_have_value("Phở Lụa Phường Hai", timeout=30_000)
    ward_picker = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Phường", exact=True)
    expect(ward_picker).to_have_value("Phường Thứ Hai")
