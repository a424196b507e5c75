"""Shared by the browser tests: the staff app on a free port, headless Chromium, signing in."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from geomap.ui.launch import free_port, served, staff_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def running_app(database_url: str, ward_slug: str) -> Iterator[str]:
    """The staff app against the test database, Vietnamese, ``ward_slug`` selected; yields its URL."""
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": ward_slug, "GEOMAP_LANGUAGE": "vi"}
    with staff_app(env) as (url, _pid):
        yield url


@contextmanager
def public_service(env: Mapping[str, str], port: int | None = None, timeout_s: float = 120) -> Iterator[str]:
    """The public service (uvicorn, one worker) with ``env`` added to the environment; yields its URL."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geomap.web:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    with served(cmd, "/health", "public service", env, port, timeout_s) as (url, _pid):
        yield url


@contextmanager
def both_apps(database_url: str, ward_slug: str,
              extra_env: Mapping[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """The public service and the staff app, each told the other's URL (one sign-in serves both);
    yields (public URL, staff URL), both on 127.0.0.1 so the browser sends them the same cookies.
    ``extra_env`` goes to both (e.g. ``GEOMAP_TILE_MBTILES``)."""
    public_port, staff_port = free_port(), free_port()
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": ward_slug, "GEOMAP_LANGUAGE": "vi",
           "GEOMAP_PUBLIC_BASE_URL": f"http://127.0.0.1:{public_port}",
           "GEOMAP_STAFF_BASE_URL": f"http://127.0.0.1:{staff_port}", **(extra_env or {})}
    with public_service(env, port=public_port) as public, staff_app(env, port=staff_port) as (staff, _pid):
        yield public, staff


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


def sign_in_to_page(page, url: str, page_key: str, heading: str, username: str, password: str) -> None:
    """Sign in through the link of one page (``{url}/{page_key}``) and wait for its heading.

    The app opens the page a link asked for once the user has signed in, so no sidebar click
    races the default page's first run.
    """
    sign_in(page, f"{url}/{page_key}", username, password)
    page.get_by_role("heading", name=heading).wait_for()


def open_from_sidebar(page, title: str, heading: str, tries: int = 4) -> None:
    """Click the sidebar link ``title`` until the page's ``heading`` shows and stays.

    A click that lands while the previous page's script is still running can be swallowed
    by Streamlit's rerun, and a late event of the previous page (the map's) can rerun it after
    the new page appeared; the user would click again, and so does this.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    target = page.get_by_role("heading", name=heading)
    running = page.locator('[data-testid="stStatusWidget"]')
    for attempt in range(tries):
        page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
        try:
            target.wait_for(timeout=20_000)
            running.wait_for(state="hidden", timeout=20_000)  # the run finished...
            page.wait_for_timeout(300)
            running.wait_for(state="hidden", timeout=20_000)
            if target.is_visible():                          # ...and left this page showing
                return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
    target.wait_for(timeout=1)
