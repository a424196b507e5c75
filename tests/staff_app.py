"""Shared by the browser tests: the staff app on a free port, headless Chromium, signing in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from geomap.ui.launch import staff_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def running_app(database_url: str, ward_slug: str) -> Iterator[str]:
    """The staff app against the test database, Vietnamese, ``ward_slug`` selected; yields its URL."""
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": ward_slug, "GEOMAP_LANGUAGE": "vi"}
    with staff_app(env) as (url, _pid):
        yield url


@contextmanager
def browser_page(chromium_path: str, width: int = 1400, height: int = 1000, timeout_ms: int = 60_000,
                 **page_options):
    """A page in headless Debian Chromium (Playwright drives it; no browser download).

    ``page_options`` go to ``new_page`` (e.g. ``is_mobile=True, has_touch=True``).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, **page_options)
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()


def sign_in(page, url: str, username: str, password: str) -> None:
    """Open the app and sign in through its form."""
    page.goto(url)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
