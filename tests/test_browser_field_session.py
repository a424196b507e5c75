"""One sign-in for both apps, in headless Chromium at phone size (issue 12).

Sign in at the field app's /field/signin; reload: still signed in. Open the staff app in the same
browser: signed in there too (it reads the same cookie); reload it: still signed in. Sign out in
the staff app: the session ends in the database, so the field app asks to sign in again. An
admin ends another account's sessions from the staff app's sidebar: that account's cookie dies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from staff_app import both_apps, browser_page

from geomap import auth

pytestmark = pytest.mark.browser

PASSWORD = "mật-khẩu-hai-ứng-dụng"


@pytest.fixture(scope="module")
def apps(database_url, engine, demo_ward) -> Iterator[tuple[str, str]]:
    with engine.begin() as c:
        auth.create_user(c, "hai.ungdung", "Cán Bộ Hai Ứng Dụng", "inspector", PASSWORD, ward_id=demo_ward["id"])
        auth.create_user(c, "hai.quantri", "Quản Trị Hai Ứng Dụng", "admin", PASSWORD)
    with both_apps(database_url, demo_ward["slug"]) as urls:
        yield urls
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username IN ('hai.ungdung', 'hai.quantri')"))


def test_one_sign_in_serves_the_field_app_and_the_staff_app_across_reloads(chromium_path, apps, engine):
    public, staff = apps
    with browser_page(chromium_path, width=360, height=740, is_mobile=True, has_touch=True) as page:
        page.goto(f"{public}/field/")
        assert page.url.startswith(f"{public}/field/signin?next=")  # not signed in: sent to sign in
        page.get_by_label("Tên đăng nhập").fill("hai.ungdung")
        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.locator("#signed-in-as").wait_for()
        assert page.url == f"{public}/field/"
        assert page.locator("#signed-in-as").inner_text() == "Cán Bộ Hai Ứng Dụng"
        assert page.get_by_role("link", name="Hôm nay").count() == 1
        page.reload()
        page.locator("#signed-in-as").wait_for()  # a reload keeps the session
        # the manifest and the icons come from geomap itself
        manifest = page.request.get(f"{public}/field/manifest.webmanifest")
        assert manifest.ok and manifest.json()["start_url"] == "/field/"
        cookie = next(c for c in page.context.cookies() if c["name"] == "geomap_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        page.goto(staff)  # the staff app on another port of the same host: the same cookie
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        assert page.get_by_label("Tên đăng nhập").count() == 0
        page.reload()
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        assert page.get_by_text("Cán Bộ Hai Ứng Dụng", exact=False).count() >= 1

        # signing out in the staff app ends the session in the database: the field app asks again
        sidebar_open = page.locator('[data-testid="stExpandSidebarButton"], '
                                    '[data-testid="stSidebarCollapsedControl"] button')
        if sidebar_open.count() and sidebar_open.first.is_visible():
            sidebar_open.first.click()
        page.get_by_role("button", name="Đăng xuất").click()
        page.get_by_label("Tên đăng nhập").wait_for()
        page.goto(f"{public}/field/")
        assert page.url.startswith(f"{public}/field/signin")
    with engine.connect() as c:
        live = c.execute(sa.text("SELECT count(*) FROM user_session s JOIN app_user u ON u.id = s.user_id "
                                 "WHERE u.username = 'hai.ungdung' AND s.ended_at IS NULL")).scalar()
    assert live == 0


def test_the_staff_app_offers_the_shared_sign_in_and_comes_back(chromium_path, apps):
    public, staff = apps
    with browser_page(chromium_path, width=360, height=740, is_mobile=True, has_touch=True) as page:
        page.goto(staff)
        link = page.locator("#geomap-field-signin")
        link.wait_for()
        assert link.get_attribute("href").startswith(f"{public}/field/signin?next=")
        link.click()
        page.get_by_label("Tên đăng nhập").fill("hai.ungdung")
        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{staff}/**")
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        page.reload()
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")


def _open_sidebar(page) -> None:
    opener = page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button')
    if opener.count() and opener.first.is_visible():
        opener.first.click()


def test_an_admin_ends_an_accounts_sessions_from_the_staff_app(chromium_path, apps, engine):
    public, staff = apps
    _, victim = auth.sign_in(engine, "hai.ungdung", PASSWORD, client="198.51.100.9")
    with browser_page(chromium_path, width=1200, height=900) as page:
        page.goto(f"{public}/field/signin?next={staff}/")
        page.get_by_label("Tên đăng nhập").fill("hai.quantri")
        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{staff}/**")
        page.get_by_text("Đang đăng nhập", exact=False).first.wait_for(state="attached")
        _open_sidebar(page)
        page.get_by_role("button", name="Phiên đăng nhập").click()
        page.get_by_text("198.51.100.9").first.wait_for()  # the list shows the client address
        page.get_by_role("combobox").last.click()
        page.get_by_role("option", name="hai.ungdung").click()
        page.get_by_role("button", name="Kết thúc mọi phiên của tài khoản").click()
        page.get_by_text("Đã kết thúc", exact=False).wait_for()
    assert auth.session_user(engine, victim) is None
    with engine.connect() as c:
        action = c.execute(sa.text("SELECT a.action FROM audit_log a JOIN app_user u ON u.id = a.entity_id "
                                   "WHERE a.entity_type = 'user' AND u.username = 'hai.ungdung' "
                                   "ORDER BY a.id DESC LIMIT 1")).scalar()
    assert action == "end_sessions"
