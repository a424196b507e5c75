"""The retired on-site page and the planning page in headless Chromium.

A committed ward with a ward office, two food businesses and a saved route for today; the
inspector signs in on /onsite and is sent to the field app (recording results on site is
tests/test_browser_field.py); the planning page ranks and plans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in, sign_in_to_page

from geomap import auth, config
from geomap.inspections import planning, routing

PASSWORD = "mật-khẩu-hiện-trường"
OFFICE = (108.305, 16.205)



@pytest.fixture(scope="module")
def site(engine) -> Iterator[dict]:
    square = "MULTIPOLYGON(((108.30 16.20,108.31 16.20,108.31 16.21,108.30 16.21,108.30 16.20)))"
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES ('onsite-ward', 'Phường Hiện Trường', "
            "'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"g": square}).scalar_one()
        c.execute(sa.text("INSERT INTO public_facility (ward_id, kind, name, geom) VALUES "
                          "(:w, 'ward_office', 'UBND', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                  {"w": ward_id, "x": OFFICE[0], "y": OFFICE[1]})
        ids = []
        for code, name, x in (("OS-1", "Quán Cơm Bà Năm", 108.302), ("OS-2", "Bánh Xèo Cô Ba", 108.308)):
            ids.append(c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, geom) VALUES "
                "(:w, :c, :n, 'household', '5610', :a, ST_SetSRID(ST_MakePoint(:x, 16.207), 4326)) RETURNING id"),
                {"w": ward_id, "c": code, "n": name, "a": f"{code} Lê Duẩn", "x": x}).scalar_one())
        inspector = auth.create_user(c, "os.kiemtra", "Cán Bộ Hiện Trường", "inspector", PASSWORD, ward_id=ward_id)
    plan = planning.plan(engine, ward_id, "hoa-cuong", ids,
                         [routing.Inspector(inspector.full_name, user_id=inspector.id)],
                         routing.DaySettings(day_start="00:00", day_end="23:59", lunch_min=0, time_limit_s=0.2),
                         date=dt.date.today())
    assert plan.kept == 2, [d.reason.text("en") for d in plan.dropped]
    planning.save_plan(engine, ward_id, plan, user=inspector)
    first = plan.routes[0].visits[0].stop
    yield {"ward_id": ward_id, "ids": ids, "inspector": inspector, "first": first}
    with engine.begin() as c:  # the database is shared by the whole run: take the ward (and, by cascade, its rows) away
        c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


@pytest.fixture(scope="module")
def app_url(database_url, site) -> Iterator[str]:
    with running_app(database_url, "onsite-ward") as url:
        yield url


def test_onsite_page_links_to_the_field_app(chromium_path, app_url, site):
    """The Streamlit on-site page is retired: it sends the inspector to the field app's "Today"."""
    with browser_page(chromium_path, width=390, height=844, is_mobile=True, has_touch=True) as page:
        sign_in(page, f"{app_url}/onsite", "os.kiemtra", PASSWORD)
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        if not page.get_by_role("heading", name="Kiểm tra tại hiện trường").count():
            # signed in on the default page: open the collapsed sidebar and pick the on-site page
            page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button') \
                .first.click()
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Kiểm tra tại chỗ", exact=True).click()
        page.get_by_role("heading", name="Kiểm tra tại hiện trường").wait_for()
        page.get_by_text("ứng dụng hiện trường", exact=False).first.wait_for()
        link = page.locator('a[href$="/field/today"]')
        link.first.wait_for()
        assert link.first.get_attribute("href") == f"{config.PUBLIC_BASE_URL}/field/today"
        assert page.locator('[data-testid="stForm"]').count() == 0  # no forms left on this page


def test_planning_page_ranks_plans_and_offers_downloads(chromium_path, app_url, site):
    with browser_page(chromium_path) as page:
        sign_in_to_page(page, app_url, "inspections", "Kế hoạch kiểm tra", "os.kiemtra", PASSWORD)
        try:
            page.get_by_text("điểm rủi ro = tổng điểm các lý do", exact=False).wait_for()
            # the due list comes in tiers with their counts
            for tier in ("Bắt buộc theo quy định", "Rủi ro cao", "Định kỳ", "Chưa đến hạn"):
                page.get_by_text(tier, exact=True).first.wait_for()
        except Exception:
            page.screenshot(path="/tmp/insp_fail.png", full_page=True)
            raise
        page.get_by_role("button", name="Lập lộ trình").click()
        page.get_by_role("heading", name="Kết quả lộ trình").wait_for()
        page.get_by_role("button", name="Tải GPX").wait_for()
        page.get_by_role("button", name="Tải phiếu lộ trình (PDF)").wait_for()
        page.locator("iframe").first.wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0

