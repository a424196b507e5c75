"""The staff report work list in headless Chromium: the selection follows the record through an action,
the action confirms visibly, search narrows the list, lateness reads in days (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in_to_page

from geomap import auth, db
from geomap.field_reports import worklist

PASSWORD = "mật-khẩu-phản-ánh-2026"
USERNAME = "wl.dulieu"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward) -> Iterator[str]:
    with db.transaction(db.get_engine(database_url)) as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username = :u"), {"u": USERNAME})
        auth.create_user(c, USERNAME, "Cán Bộ Danh Sách", "data_officer", PASSWORD)
    with running_app(database_url, demo_ward["slug"]) as url:
        yield url


def test_the_selection_follows_the_record_through_an_action(chromium_path, app_url, engine, demo_ward):
    with engine.connect() as c:
        first, second = c.execute(sa.text(
            "SELECT public_id FROM field_report WHERE ward_id = :w AND status = 'new' "
            "ORDER BY reported_at DESC, id DESC LIMIT 2"), {"w": demo_ward["id"]}).scalars().all()
    with browser_page(chromium_path, width=1440, height=1400) as page:
        sign_in_to_page(page, app_url, "reports", "Phản ánh hiện trường", USERNAME, PASSWORD)
        box = page.get_by_label("Tìm theo mã, địa chỉ hoặc nội dung (gõ không dấu cũng được)")
        box.fill(first.lower())  # any case: the search folds it
        box.press("Enter")
        page.get_by_text("1 phản ánh", exact=False).first.wait_for()
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for()
        bb = grid.bounding_box()
        page.mouse.click(bb["x"] + 18, bb["y"] + 35 + 17)  # the first row's selection box
        page.get_by_role("heading", name=first, exact=False).wait_for()
        form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Cập nhật"))
        status = form.get_by_text("Chuyển trạng thái").locator(
            "xpath=ancestor::div[contains(@class,'stSelectbox')]").locator("input")
        status.click()
        page.keyboard.type("Đã xử lý")
        page.keyboard.press("Enter")
        page.get_by_label("Ghi chú (công khai cho người phản ánh)").fill("Đã thu gom xong")
        page.get_by_role("button", name="Cập nhật", exact=True).click()
        # the report left the "open" list: the confirmation names it, and the same report stays selected
        page.get_by_text(f"Đã chuyển {first} sang", exact=False).wait_for()
        page.get_by_text("không còn trong danh sách này", exact=False).wait_for()
        assert page.get_by_role("heading", name=first, exact=False).count() == 1
        assert page.get_by_role("heading", name=second, exact=False).count() == 0
    with engine.connect() as c:
        statuses = dict(c.execute(sa.text("SELECT public_id, status FROM field_report WHERE public_id IN (:a, :b)"),
                                  {"a": first, "b": second}).all())
    assert statuses[second] == "new" and statuses[first] != "new"  # only the selected report changed


def test_lateness_in_days_and_search_without_diacritics():
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    row = {"status": "received", "deadline_at": now - dt.timedelta(days=3, hours=2)}
    assert worklist.overdue_text(row, now) == "quá hạn 3 ngày"
    assert worklist.overdue_text(row, now, "en") == "3 days overdue"
    assert worklist.overdue_text({**row, "deadline_at": now - dt.timedelta(hours=5)}, now) == "quá hạn 5 giờ"
    assert worklist.overdue_text({**row, "status": "resolved"}, now) == ""
    assert worklist.overdue_text({**row, "deadline_at": now + dt.timedelta(hours=5)}, now) == ""
    rows = [{"id": 1, "public_id": "PA-AAAA-BBBB-CCCC", "address": "K242/5 Hoàng Diệu", "description": "Rác ứ đọng",
             "reported_at": now - dt.timedelta(days=2)},
            {"id": 2, "public_id": "PA-DDDD-EEEE-FFFF", "address": None, "description": "Đèn đường hỏng",
             "reported_at": now}]
    assert [r["id"] for r in worklist.newest_first(rows)] == [2, 1]
    assert [r["id"] for r in worklist.search(rows, "hoang dieu rac")] == [1]
    assert [r["id"] for r in worklist.search(rows, "pa-dddd")] == [2]
    assert [r["id"] for r in worklist.search(rows, "DEN duong")] == [2]
    assert len(worklist.search(rows, "  ")) == 2
