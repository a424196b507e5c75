"""The on-site page in headless Chromium at phone size: sign in as an inspector, record a violation.

A committed ward with a ward office, two food businesses and a saved route for today; the
inspector signs in on /onsite, records a violation at the first stop, and the page, the
inspection history, the derived food-safety status and the map layer all show it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import browser_page, running_app, sign_in, sign_in_to_page

import layers
from geomap import auth, layer_reader
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


def test_inspector_records_a_violation_on_a_phone(chromium_path, app_url, site, engine):
    with browser_page(chromium_path, width=390, height=844, is_mobile=True, has_touch=True) as page:
        sign_in(page, f"{app_url}/onsite", "os.kiemtra", PASSWORD)
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        if not page.get_by_role("heading", name="Kiểm tra tại hiện trường").count():
            # signed in on the default page: open the collapsed sidebar and pick the on-site page
            page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button') \
                .first.click()
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Kiểm tra tại chỗ", exact=True).click()
            sidebar = page.locator('[data-testid="stSidebar"]')
            if sidebar.get_attribute("aria-expanded") == "true" or sidebar.get_attribute("data-collapsed") == "false":
                page.locator('[data-testid="stSidebarCollapseButton"] button').first.click()
        page.get_by_role("heading", name="Kiểm tra tại hiện trường").wait_for()
        page.get_by_text("Đã ghi 0/2 điểm").wait_for()
        first = site["first"]
        page.get_by_text(first.name, exact=False).first.wait_for()
        links = page.locator('a[href^="https://www.google.com/maps/dir/?api=1"]')
        links.first.wait_for()
        assert links.count() >= 2
        assert "travelmode=two-wheeler" in links.first.get_attribute("href")

        form = page.locator('[data-testid="stForm"]').first
        form.get_by_text("Vi phạm", exact=True).click()
        form.get_by_label("Ghi chú").fill("Không có GCN ATTP; bếp <chưa> sạch")
        form.get_by_role("button", name="Lưu kết quả").click()
        follow = dt.date.today() + dt.timedelta(days=30)
        page.get_by_text(f"Đã lưu; lịch tái kiểm tra: {follow.strftime('%d/%m/%Y')}.").wait_for()
        page.get_by_text("Đã ghi 1/2 điểm").wait_for()

    with engine.connect() as c:
        row = c.execute(sa.text("SELECT result, notes, inspector_id, follow_up_due FROM inspection "
                                "WHERE establishment_id = :e"), {"e": first.id}).mappings().one()
        assert row["result"] == "violation" and row["inspector_id"] == site["inspector"].id
        assert row["notes"] == "Không có GCN ATTP; bếp <chưa> sạch" and row["follow_up_due"] == follow
        mapped = layer_reader.read(c, layers.registry()["establishments"], ward_id=site["ward_id"]).set_index("id")
        assert mapped.loc[first.id, "food_safety_status"] == "violation"
        assert mapped.loc[first.id, "last_inspection_result"] == "violation"


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

