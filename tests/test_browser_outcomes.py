"""The public transparency page and the one-tap rating in headless Chromium, with every request that leaves
the machine blocked: the page draws its map's areas, speaks one language, shows no reporter data; a tap on a
resolved report's tracking page says thanks, and a second tap (or a double tap) does not count twice."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from reports_fixtures import ensure_ward, inside_point, offset
from staff_app import free_port, public_service

from geomap import i18n
from geomap.field_reports import intake, workflow
from geomap.web.routes import reports as report_routes

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("GEOMAP_SCREENSHOTS", "/tmp/geomap-screenshots"))
REPORTER, CONTACT = "Lê Thị Riêng Tư", "0935 246 810"


@pytest.fixture(scope="module")
def ward(request, engine) -> int:
    return ensure_ward(request, engine)


@pytest.fixture(scope="module")
def reports(engine, ward) -> Iterator[list[tuple[int, str]]]:
    """Two resolved reports with a reporter's name and contact (committed; deleted after)."""
    made = []
    for i in range(2):
        lon, lat = offset(inside_point(), 40 + 7 * i)
        data = intake.validate(category="sanitation", description=f"Cống bốc mùi (trình duyệt {i})", lat=lat,
                               lon=lon, reporter_name=REPORTER, reporter_contact=CONTACT,
                               consent=True)
        done = intake.submit(engine, data, ward_id=ward, client=f"browser-outcomes-{i}",
                             at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
        workflow.transition(engine, done.id, "resolved", user=None)
        made.append((done.id, done.public_id))
    yield made
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM field_report WHERE id = ANY(:ids)"), {"ids": [m[0] for m in made]})


@pytest.fixture(scope="module")
def service(database_url, reports) -> Iterator[str]:
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": "hoa-cuong"}
    with public_service(env, port=free_port()) as url:  # the one launcher (tests/staff_app.py)
        yield url


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _offline_page(browser, locale: str = "vi-VN"):
    """A phone-sized page whose requests to anything but the service (127.0.0.1) are aborted and recorded."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    blocked: list[str] = []

    def gate(route):
        if route.request.url.startswith("http://127.0.0.1"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    return context, context.new_page(), blocked


def _strings(lang: str) -> set[str]:
    """The page's own strings in ``lang`` (the report pages' catalog), longer than a word or two."""
    return {pair[0 if lang == "vi" else 1] for key, pair in report_routes.STRINGS.items()
            if key.startswith(("report.col_", "report.by_", "report.outcomes", "report.overdue_note", "report.legend",
                               "report.top_areas")) and pair[0] != pair[1]
            and key != "report.col_area"}  # "Tổ dân phố" also begins the groups' names, which stay Vietnamese


@pytest.mark.parametrize("lang, other", [("vi", "en"), ("en", "vi")])
def test_transparency_page_offline_one_language_no_reporter_data(service, browser, engine, ward, lang, other):
    context, page, blocked = _offline_page(browser, "vi-VN" if lang == "vi" else "en-GB")
    page.goto(f"{service}/report/outcomes?lang={lang}")
    assert page.title() == i18n.t("report.outcomes_title", lang)
    svg = page.locator("#areamap")
    box = svg.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    with engine.connect() as c:
        groups = c.execute(sa.text("SELECT count(*) FROM residential_group WHERE ward_id = :w"), {"w": ward}).scalar()
    areas = page.locator("#areas path")
    assert areas.count() == groups > 0
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('#areas path')).filter(p => {
        const b = p.getBBox(); return b.width > 0 && b.height > 0; }).length""")
    assert drawn == groups  # every area has a real shape on screen
    fills = set(page.evaluate(
        "() => Array.from(document.querySelectorAll('#areas path')).map(p => p.getAttribute('fill'))"))
    assert len(fills) >= 3  # the counts differ from group to group and the colours say so
    assert page.locator("#by-month details").count() >= 1
    assert page.locator("#by-month details[open] tr.total").count() == 1  # the latest month, opened
    text = page.locator("body").inner_text()
    for s in _strings(other):
        assert s.split("{")[0].strip() not in text, s
    html = page.content()
    for secret in (REPORTER, CONTACT, "Cống bốc mùi"):
        assert secret not in html
    assert blocked == []  # nothing was asked of the internet
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"report-outcomes-{lang}.png"), full_page=True)
    context.close()


def test_one_tap_rating_says_thanks_and_counts_once(service, browser, engine, reports):
    (first_id, first), (second_id, second) = reports
    context, page, blocked = _offline_page(browser)
    stale = context.new_page()  # the same tracking page left open in another tab
    stale.goto(f"{service}/report/track/{first}")
    page.goto(f"{service}/report/track/{first}")
    page.click("#rate-yes")
    page.wait_for_selector("#rated")
    assert i18n.t("report.rate_thanks", "vi") in page.locator("#rated").inner_text()
    assert page.locator("#rating").count() == 0
    stale.click("#rate-no")  # a second tap from the old tab
    stale.wait_for_selector("#rated")
    assert i18n.t("report.rate_yes", "vi") in stale.locator("#rated").inner_text()  # the first rating stands
    page.goto(f"{service}/report/track/{second}")
    page.dblclick("#rate-no")  # a double tap
    page.wait_for_selector("#rated")
    with engine.connect() as c:
        got = dict(c.execute(sa.text("SELECT report_id, satisfied FROM report_rating WHERE report_id = ANY(:ids)"),
                             {"ids": [first_id, second_id]}).all())
        count = c.execute(sa.text("SELECT count(*) FROM report_rating WHERE report_id = ANY(:ids)"),
                          {"ids": [first_id, second_id]}).scalar()
    assert got == {first_id: True, second_id: False} and count == 2
    assert blocked == []
    page.screenshot(path=str(SHOTS / "report-rated.png"), full_page=True)
    context.close()
