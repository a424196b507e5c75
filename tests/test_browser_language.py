"""Every word in the user's language: headless Chromium walks every page in Vietnamese and in English.

The staff app's pages come from its page registry (``geomap.ui.pages.discover``), so a new page is
walked without naming it here; the walker signs in as an admin (who sees every page) on the demo
ward. On each page it opens every expander and every tab, opens the first multiselect's list and
searches the first table (Streamlit's own words live there), and reads what a user sees or hears:
the text of the page and of its frames (maps), placeholders, accessible names and tooltips, and the
text canvases draw (chart axes, table headers and cells). The public service's pages (QR page,
report form, tracking page, field app sign-in, today, a stop, survey) are read the same way.

:func:`language_check.foreign_words` decides: on an English page, no Vietnamese word that is not the
ward's data; on a Vietnamese page, no English interface word; on either, no raw column name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from field_fixtures import drop_site, make_site
from language_check import RECORD_CANVAS_TEXT, data_values, foreign_words, forget_canvas_text, page_text
from staff_app import CHROMIUM_ARGS, both_apps

from geomap import auth, links
from geomap.ui import pages as page_registry

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "ngon.ngu.quantri", "mật-khẩu-ngôn-ngữ-2026"
SURVEYOR = "ngon.ngu.dulieu"
LANGS = ("vi", "en")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def site(engine, demo_ward) -> Iterator[dict]:
    """A saved route for today (the field app's "today" and a stop), in a small ward of its own."""
    s = make_site(engine, "ngon-ngu", 2)
    yield s
    drop_site(engine, s)


@pytest.fixture(scope="module")
def qr_token(engine, demo_ward) -> Iterator[str]:
    """One sticker of an active establishment in the demo ward (removed afterwards, with its scans)."""
    from qr import issue

    with engine.begin() as c:
        est = c.execute(sa.text(
            "SELECT e.id FROM establishment e WHERE e.ward_id = :w AND e.operating_status = 'active' AND NOT EXISTS "
            "(SELECT 1 FROM qr_code q WHERE q.establishment_id = e.id AND q.revoked_at IS NULL) ORDER BY e.id LIMIT 1"),
            {"w": demo_ward["id"]}).scalar_one()
        rec = issue.issue(c, establishment_id=est)
    yield rec.token
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM qr_scan_day WHERE code IN (:t, :s)"), {"t": rec.token, "s": rec.short_code})
        c.execute(sa.text("DELETE FROM qr_code WHERE id = :i"), {"i": rec.id})


@pytest.fixture(scope="module")
def apps(database_url, engine, demo_ward, site) -> Iterator[tuple[str, str]]:
    with engine.begin() as c:
        auth.create_user(c, ADMIN, "Quản Trị Ngôn Ngữ", "admin", PASSWORD)
        auth.create_user(c, SURVEYOR, "Cán Bộ Dữ Liệu Ngôn Ngữ", "data_officer", PASSWORD, ward_id=demo_ward["id"])
    with both_apps(database_url, demo_ward["slug"]) as urls:
        yield urls
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username IN (:a, :b)"), {"a": ADMIN, "b": SURVEYOR})


@pytest.fixture(scope="module")
def data(engine, apps) -> dict[str, object]:
    """The stored values pages may show in either language, per language."""
    with engine.connect() as c:
        return {lang: data_values(c, lang) for lang in LANGS}


@pytest.fixture(scope="module")
def browser(chromium_path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _new_page(browser, **options):
    """A page whose requests stay on this machine (tiles of the public OSM servers are aborted) and
    which keeps what canvases draw."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **options)
    context.add_init_script(RECORD_CANVAS_TEXT)
    context.route("**/*", lambda route: route.continue_() if (urlsplit(route.request.url).hostname or "") in LOOPBACK
                  or not route.request.url.startswith("http") else route.abort("internetdisconnected"))
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def _sign_in(page, public: str, username: str, password: str, next_url: str) -> None:
    page.goto(f"{public}/field/signin?next={quote(next_url, safe='')}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form[action='/field/signin'] button[type=submit]").click()


def _settle(page, timeout_s: float = 60) -> None:
    """Wait until the script run is over and has stayed over for a moment (maps rerun once drawn)."""
    running = page.locator('[data-testid="stStatusWidget"]')
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if running.count() and running.is_visible():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        page.wait_for_timeout(200)


def _walk_staff_page(page, probed: dict[str, int]) -> str:
    """The text of the page as it opens, with every expander and tab opened, the first multiselect's list
    open and the first table searched (``probed`` counts the lists and searches read)."""
    from playwright.sync_api import Error as PlaywrightError

    main = page.locator('[data-testid="stMain"]')
    texts = []
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    texts.append(page_text(page))
    tabs = main.locator('[role="tab"]')
    for i in range(tabs.count()):
        if tabs.nth(i).is_visible():
            tabs.nth(i).click(timeout=5000)
            page.wait_for_timeout(150)
            texts.append(page_text(page))
    for box in main.locator('[data-testid="stMultiSelect"] input').all():
        if not box.is_visible() or box.evaluate("e => !!e.closest('[inert]') || e.disabled"):
            continue  # in a closed fold, or a form that is not active yet
        try:
            box.click(timeout=2000)
        except PlaywrightError:
            continue
        page.locator('[role="listbox"], [role="option"]').first.wait_for(timeout=5000)
        texts.append(page_text(page))
        page.keyboard.press("Escape")
        probed["list"] += 1
        break
    grid = main.locator('[data-testid="stDataFrame"]').first
    if grid.count() and grid.is_visible():
        grid.hover(timeout=5000)
        grid.locator("canvas").first.focus(timeout=5000)
        page.keyboard.press("Control+f")  # the table's own search: "N results"
        page.keyboard.type("a")
        page.wait_for_timeout(400)
        texts.append(page_text(page))
        page.keyboard.press("Escape")
        probed["search"] += 1
    return "\n".join(texts)


def test_every_staff_page_speaks_one_language(apps, data, browser):
    public, staff = apps
    pages = [p for p in page_registry.discover() if "admin" in p.roles]
    assert len(pages) >= 12, [p.key for p in pages]
    page = _new_page(browser)
    _sign_in(page, public, ADMIN, PASSWORD, f"{staff}/")
    page.wait_for_url(f"{staff}/**")
    problems: dict[str, list[str]] = {}
    timings = []
    probed = {"list": 0, "search": 0}
    for lang in LANGS:
        for p in pages:
            started = time.monotonic()
            forget_canvas_text(page)
            page.goto(f"{staff}/{'' if p.default else p.key}?{links.LANG_PARAM}={lang}")
            page.locator('[data-testid="stSidebarNav"]').wait_for()
            page.get_by_role("heading").first.wait_for()
            _settle(page)
            for line in foreign_words(_walk_staff_page(page, probed), lang, data[lang]):
                problems.setdefault(f"{lang}: {line}", []).append(p.key)
            timings.append((lang, p.key, round(time.monotonic() - started, 1)))
    # switching in the sidebar, in the same session: Streamlit's words said in Vietnamese go back to English
    page.goto(f"{staff}/{pages[-1].key}?{links.LANG_PARAM}=vi")
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    _settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.locator('[data-testid="stSidebarNav"]').get_by_text(pages[0].title("en"), exact=True).wait_for()
    _settle(page)
    forget_canvas_text(page)  # what canvases drew while the old page faded out; a new size redraws them now
    page.set_viewport_size({"width": 1360, "height": 1000})
    page.wait_for_timeout(500)
    for line in foreign_words(_walk_staff_page(page, probed), "en", data["en"]):
        problems.setdefault(f"en after switching: {line}", []).append(pages[-1].key)
    print(timings)
    report = "\n".join(f"{line}   [{', '.join(dict.fromkeys(where))}]" for line, where in problems.items())
    print(report, probed)
    assert probed["list"] >= 2 and probed["search"] >= 2, probed  # both families read in both languages
    assert not problems, report


def _public_pages(engine, demo_ward, qr_token: str) -> dict[str, str]:
    """The public pages to read, by name: path (a QR code, a report with a history, a survey record)."""
    with engine.connect() as c:
        report = c.execute(sa.text(
            "SELECT r.public_id FROM field_report r JOIN field_report_update u ON u.report_id = r.id "
            "WHERE r.ward_id = :w GROUP BY r.public_id ORDER BY count(*) DESC, r.public_id LIMIT 1"),
            {"w": demo_ward["id"]}).scalar_one()
        code = c.execute(sa.text(
            "SELECT code FROM establishment WHERE ward_id = :w AND operating_status = 'active' "
            "ORDER BY (location_quality = 'exact'), id LIMIT 1"), {"w": demo_ward["id"]}).scalar_one()
    return {"qr": f"{links.QR_PATH}{qr_token}",
            "report form": links.report_form(), "tracking": links.report_track(report),
            "survey list": "/field/survey", "survey record": f"/field/survey/{quote(code)}",
            "survey new": "/field/survey/new"}


def _read(page, url: str, lang: str) -> str:
    """The text of a server-rendered page in ``lang`` (its ``?lang=``), folds opened."""
    page.goto(f"{url}{'&' if '?' in url else '?'}{links.LANG_PARAM}={lang}")
    page.wait_for_load_state("networkidle")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page_text(page)


def test_every_public_page_speaks_one_language(apps, data, browser, engine, demo_ward, site, qr_token):
    """The QR page, the report form and its tracking page, and the field app (sign-in, today, a stop, survey)."""
    public, _ = apps
    pages = _public_pages(engine, demo_ward, qr_token)
    problems: dict[str, list[str]] = {}
    for lang in LANGS:
        page = _new_page(browser, is_mobile=True, has_touch=True)
        read = {name: _read(page, public + pages[name], lang) for name in ("qr", "report form", "tracking")}
        read["field sign-in"] = _read(page, f"{public}/field/signin", lang)
        _sign_in(page, public, site["inspector"].username, site["password"], "/field/today")
        page.wait_for_url("**/field/today")
        read["field today"] = _read(page, f"{public}/field/today", lang)
        read["field stop"] = _read(page, f"{public}/field/stop/1", lang)
        page.context.clear_cookies()
        _sign_in(page, public, SURVEYOR, PASSWORD, "/field/survey")
        page.wait_for_url("**/field/survey**")
        read |= {name: _read(page, public + pages[name], lang) for name in ("survey list", "survey record",
                                                                            "survey new")}
        page.context.close()
        for name, text in read.items():
            for line in foreign_words(text, lang, data[lang]):
                problems.setdefault(f"{lang}: {line}", []).append(name)
    report = "\n".join(f"{line}   [{', '.join(dict.fromkeys(where))}]" for line, where in problems.items())
    print(report)
    assert not problems, report
