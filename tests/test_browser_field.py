"""The field app's "Today" in headless Chromium at phone size (360 × 740, touch, geolocation emulated).

Sign in, open today, go offline, record three results (one with a photo), see "3 kết quả chưa gửi",
go online: each arrives exactly once and the map data shows the new result. A concurrent staff
edit makes the next result a conflict that is shown, not applied. Reopening "today" offline works
from the phone's cache. A session that ended keeps the outbox, which is sent after signing in again.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from field_fixtures import drop_site, make_site
from PIL import Image
from staff_app import free_port, public_service

import layers
from geomap import auth, layer_reader
from geomap.records import edit

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("GEOMAP_SCREENSHOTS", "/tmp/geomap-screenshots"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(engine) -> Iterator[dict]:
    s = make_site(engine, "fv-browser", 4)
    yield s
    drop_site(engine, s)


@pytest.fixture(scope="module")
def service(database_url, site) -> Iterator[str]:
    port = free_port()
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with public_service(env, port=port) as url:  # the one launcher (tests/staff_app.py)
        yield url


def _photo(path) -> str:
    im = Image.new("RGB", (2400, 1600), (180, 90, 40))
    ex = Image.Exif()
    ex[0x010F] = "TestPhoneMaker"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=ex, quality=90)
    path.write_bytes(buf.getvalue())
    return str(path)


def _sign_in(page, url: str, site: dict) -> None:
    page.goto(f"{url}/field/signin?next=/field/today")
    page.locator("#username").fill(site["inspector"].username)
    page.locator("#password").fill(site["password"])
    page.locator("form[action='/field/signin'] button[type=submit]").click()
    page.get_by_role("heading", name="Hôm nay", exact=False).wait_for()


def _record(page, n: int, result: str, *, codes: tuple[str, ...] = (), photo: str | None = None,
            shot: str | None = None) -> None:
    page.locator(f"#stop-{n} .stop-head").click()
    form = page.locator(f"#stop-{n} #visit-form")
    form.wait_for(state="visible")
    form.get_by_label(result, exact=True).check()
    for code in codes:
        form.locator(f'input[name="v"][value="{code}"]').check()
    if photo:
        form.locator("#visit-photos").set_input_files(photo)
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    form.locator("#visit-save").click()
    page.locator("#visit-notice").wait_for(state="visible")


def _until(page, script: str, timeout_s: float = 60) -> None:
    """Wait until ``script`` (an expression; a promise is awaited) is truthy in ``page``."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(script):
        assert time.monotonic() < end, f"still false after {timeout_s} s: {script}"
        time.sleep(0.1)


def _rows(engine, sql: str, **params):
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).mappings().all()


def test_offline_outbox_sync_conflict_and_cache(chromium_path, service, site, engine, tmp_path):
    from playwright.sync_api import sync_playwright

    ids = site["ids"]
    photo = _photo(tmp_path / "cua-hang.jpg")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                      locale="vi-VN", geolocation={"latitude": 16.2025, "longitude": 108.3015,
                                                                   "accuracy": 9},
                                      permissions=["geolocation"])
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            _sign_in(page, service, site)
            assert page.locator(".stop").count() == len(ids)
            assert page.locator("#route-sketch circle").count() == len(ids)
            assert page.locator('#stop-1 a[href^="https://www.google.com/maps/dir/?api=1"]').count() == 1
            assert page.locator('#stop-1 a[href^="geo:"]').count() == 1
            assert "Chủ Bí Mật" not in page.content() and "0905123456" not in page.content()
            # the service worker holds the shell and the page is kept for offline use
            _until(page, "navigator.serviceWorker.ready.then(() => Promise.all([caches.match('/field/today'), "
                         "caches.match('/field/static/visit.js'), caches.match('/field/static/field.css')]))"
                         ".then(r => r.every(Boolean))")

            context.set_offline(True)
            _record(page, 1, "Đạt")
            _record(page, 2, "Vi phạm", codes=("ATTP-03", "KD-02"), photo=photo, shot="field-stop-form.png")
            _record(page, 3, "Đã đóng cửa")
            page.get_by_text("3 kết quả chưa gửi").wait_for()
            page.screenshot(path=str(SHOTS / "field-today-offline.png"), full_page=True)
            assert page.locator("#stop-1.queued, #stop-2.queued, #stop-3.queued").count() == 3
            assert not _rows(engine, "SELECT id FROM inspection WHERE made_via = 'field_app' AND establishment_id "
                                     "IN (:a, :b, :c)", a=ids[0], b=ids[1], c=ids[2])

            context.set_offline(False)  # the online event sends the outbox
            page.locator("#outbox-count").wait_for(state="hidden", timeout=60_000)
            got = _rows(engine, "SELECT establishment_id, count(*) AS n, count(DISTINCT client_id) AS ids, "
                                "min(result) AS result FROM inspection WHERE made_via = 'field_app' GROUP BY 1")
            by_est = {r["establishment_id"]: r for r in got}
            assert {e: (by_est[e]["n"], by_est[e]["result"]) for e in ids[:3]} == {
                ids[0]: (1, "pass"), ids[1]: (1, "violation"), ids[2]: (1, "closed")}
            subs = _rows(engine, "SELECT status, count(*) AS n FROM field_submission WHERE user_id = :u GROUP BY 1",
                         u=site["inspector"].id)
            assert {r["status"]: r["n"] for r in subs} == {"applied": 3}
            stored = _rows(engine, "SELECT p.content, p.width, p.height, n.phone_accuracy_m, n.distance_m "
                                   "FROM inspection_photo p JOIN inspection n ON n.id = p.inspection_id "
                                   "WHERE n.establishment_id = :e", e=ids[1])
            assert len(stored) == 1 and max(stored[0]["width"], stored[0]["height"]) <= 1600
            assert b"TestPhoneMaker" not in bytes(stored[0]["content"])
            assert stored[0]["phone_accuracy_m"] == 9 and stored[0]["distance_m"] is not None
            with engine.connect() as c:  # the map's data: the same overview and derived status as the staff map
                mapped = layer_reader.read(c, layers.registry()["establishments"], ward_id=site["ward_id"]
                                           ).set_index("id")
            assert mapped.loc[ids[1], "last_inspection_result"] == "violation"
            assert mapped.loc[ids[1], "food_safety_status"] == "violation"
            assert mapped.loc[ids[2], "last_inspection_result"] == "closed"

            # a concurrent staff edit: the phone still holds the older version of stop 4
            version = _rows(engine, "SELECT version FROM establishment WHERE id = :e", e=ids[3])[0]["version"]
            edit.update_establishment(engine, ids[3], {"opening_hours": "06:00-22:00"}, expected_version=version)
            _record(page, 4, "Đạt")
            review = page.locator("#review-list li.conflict")
            review.first.wait_for()
            assert "đã được sửa trên máy chủ" in review.first.inner_text()
            page.screenshot(path=str(SHOTS / "field-conflict.png"), full_page=True)
            assert not _rows(engine, "SELECT id FROM inspection WHERE establishment_id = :e AND made_via = 'field_app'",
                             e=ids[3])
            assert _rows(engine, "SELECT status FROM field_submission WHERE establishment_id = :e",
                         e=ids[3])[0]["status"] == "conflict"

            # reopening "today" with no network: from the phone's cache
            context.set_offline(True)
            page.goto(f"{service}/field/today")
            page.get_by_role("heading", name="Hôm nay", exact=False).wait_for()
            assert page.locator(".stop").count() == len(ids)
            context.set_offline(False)

            # the session ends (an admin, or expiry): the result waits in the outbox, then goes after signing in
            token = next(c["value"] for c in context.cookies() if c["name"] == "geomap_session")
            auth.sign_out(engine, token)
            page.goto(f"{service}/field/today")  # served from the cache; the data block still has stop 1
            _record(page, 1, "Đạt")
            page.locator("#session-expired").wait_for(state="visible")
            page.get_by_text("1 kết quả chưa gửi").wait_for()
            # the worker's refresh of the cached page behind it also found the session ended (told the page);
            # a person signs in again after it (its answer clears the stale cookie: before, it could race the
            # new sign-in's cookie)
            _until(page, "window.geomapVisits.refreshed && window.geomapVisits.refreshed.signedOut")
            assert len(_rows(engine, "SELECT id FROM inspection WHERE establishment_id = :e", e=ids[0])) == 1
            _sign_in(page, service, site)
            _until(page, "window.geomapVisits && window.geomapVisits.outbox().then(o => o.length === 0)")
            page.locator("#outbox-count").wait_for(state="hidden")
            assert len(_rows(engine, "SELECT id FROM inspection WHERE establishment_id = :e", e=ids[0])) == 2
        except Exception:
            page.screenshot(path=str(tmp_path / "field-failure.png"), full_page=True)
            print("screenshot:", tmp_path / "field-failure.png")
            raise
        finally:
            context.close()
            browser.close()
