"""The city-wide page in headless Chromium with the internet cut off: features drawn from vector tiles.

Both apps run on loopback (the public service serves the tiles, the staff app the page); every
request to another host is aborted and counted. A city officer signs in once at the public
service (the shared cookie), opens "Toàn thành phố": the map's script fetches tiles with that
cookie and draws points from them (counted by the page's own report and as SVG paths in the tile
panes); zoomed in on an establishment, a click opens its detail with its name, ward, status and a
link to its record. A ward-bound account sees neither the page nor another ward.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from staff_app import both_apps, browser_page

from geomap import auth, db, demo
from geomap.wards import data as ward_data

PASSWORD = "mật-khẩu-thành-phố-2026"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def city_setup(engine, demo_ward) -> dict:
    demo.load(engine, ward="thanh-khe", scale=0.05)
    with db.transaction(engine) as c:
        auth.create_user(c, "tp.xem", "Cán bộ Sở (xem)", "city", PASSWORD)
        auth.create_user(c, "tk.dulieu", "Cán bộ Thanh Khê", "data_officer", PASSWORD,
                         ward_id=ward_data.ward_id(c, "thanh-khe"))
    est = db.row(engine, "SELECT e.code, e.name, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat FROM establishment e "
                         "JOIN ward w ON w.id = e.ward_id WHERE w.slug = 'hoa-cuong' AND e.review_status = 'approved' "
                         "ORDER BY e.id LIMIT 1")
    return {"establishment": dict(est)}


@pytest.fixture(scope="module")
def apps(database_url, city_setup) -> Iterator[tuple[str, str]]:
    with both_apps(database_url, "hoa-cuong") as urls:
        yield urls


class Offline:
    """Requests may reach loopback hosts only; the rest are aborted and kept."""

    def __init__(self, page):
        self.blocked: list[str] = []
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if (urlsplit(url).hostname or "") in LOOPBACK or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
            return
        self.blocked.append(url)
        route.abort("internetdisconnected")


def _sign_in_at_service(page, public: str, username: str, next_url: str) -> None:
    page.goto(f"{public}/field/signin?next={next_url}")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def _city_frame(page, timeout_s: float = 90):
    """The city map's iframe once its script reports."""
    deadline = page.wait_for_timeout
    for _ in range(int(timeout_s * 4)):
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!window.geomapCity"):
                    return frame
            except Exception:  # noqa: BLE001 - a frame navigating away
                continue
        deadline(250)
    raise AssertionError("the city map never reported (window.geomapCity)")


def _wait_for(frame, script: str, timeout_s: float = 60):
    for _ in range(int(timeout_s * 4)):
        value = frame.evaluate(script)
        if value:
            return value
        frame.page.wait_for_timeout(250)
    raise AssertionError(f"never true: {script}")


def test_city_officer_sees_features_from_tiles_and_opens_a_detail(chromium_path, apps, city_setup, engine):
    public, staff = apps
    with browser_page(chromium_path) as page:
        offline = Offline(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        tiles: list[str] = []
        page.on("response", lambda r: tiles.append(r.url) if "/tiles/WebMercatorQuad/" in r.url
                and r.status == 200 else None)
        _sign_in_at_service(page, public, "tp.xem", f"{staff}/")
        page.wait_for_url(f"{staff}/**")
        page.get_by_role("heading", name="Toàn thành phố").wait_for()  # the city officer's first page
        nav = page.locator('[data-testid="stSidebarNav"]')
        expect(nav.get_by_text("Toàn thành phố")).to_be_visible()
        assert nav.get_by_text("Nhập dữ liệu").count() == 0  # a city officer imports nothing
        frame = _city_frame(page)
        _wait_for(frame, "() => window.geomapCity.features > 0")
        report = frame.evaluate("() => ({features: window.geomapCity.features, tiles: window.geomapCity.tiles, "
                                "errors: window.geomapCity.errors, first: window.geomapCity.firstFeaturesMs})")
        assert report["features"] > 0 and report["tiles"] > 0 and report["first"] is not None
        drawn = frame.evaluate("() => document.querySelectorAll('.leaflet-geomapTiles-pane path').length")
        assert drawn > 0
        assert any("/ogc/collections/establishments/tiles/" in u for u in tiles)

        # zoom onto one establishment: single features (below zoom 15 they are counted per cell)
        est = city_setup["establishment"]
        frame.evaluate(f"() => window.geomapCity.map.setView([{est['lat']}, {est['lon']}], 18)")
        _wait_for(frame, "() => document.querySelectorAll('path.geomap-establishments').length > 0")
        frame.page.wait_for_timeout(500)
        nearest = frame.evaluate(  # the drawn establishment nearest the map's centre
            "() => { const r = window.geomapCity.map.getContainer().getBoundingClientRect(),"
            " cx = r.left + r.width / 2, cy = r.top + r.height / 2; let best = -1, bd = 1e9;"
            " document.querySelectorAll('path.geomap-establishments').forEach((p, i) => {"
            "  const b = p.getBoundingClientRect(),"
            "  d = Math.hypot(b.left + b.width / 2 - cx, b.top + b.height / 2 - cy);"
            "  if (d < bd) { bd = d; best = i; } }); return best; }")
        # points may overlap at this zoom: whichever is on top takes the click (checked against the database below)
        frame.locator("path.geomap-establishments").nth(nearest).click(force=True)
        popup = _wait_for(frame, "() => { const d = document.querySelector('.geomap-city-detail');"
                                 " return d ? d.innerText : null; }", 20)
        code = next(line.split("\t")[-1].strip() for line in popup.splitlines() if line.startswith("Mã cơ sở"))
        clicked = db.row(engine, "SELECT e.name, w.name AS ward, w.slug FROM establishment e JOIN ward w "
                                 "ON w.id = e.ward_id WHERE e.code = :c", {"c": code})
        assert clicked["name"] in popup
        assert f"Phường\t{clicked['ward']}" in popup or clicked["ward"] in popup
        assert "Tình trạng giấy phép" in popup
        link = frame.evaluate("() => document.querySelector('.geomap-city-detail a').href")
        assert link.startswith(f"{staff}/records?code={code}&ward={clicked['slug']}")

        page.goto(link)  # the record opens, read only, in the right ward
        page.get_by_role("heading", name="Hồ sơ cơ sở").wait_for()
        page.get_by_text(code, exact=False).first.wait_for()
        page.get_by_text("chỉ được xem hồ sơ này", exact=False).first.wait_for()
        assert errors == []
        # only base-map images try to leave the machine (OpenStreetMap's by default); they fail, the map draws
        assert all(urlsplit(u).hostname.endswith("openstreetmap.org") for u in offline.blocked), offline.blocked


def test_a_ward_user_sees_only_their_ward_and_not_the_city_page(chromium_path, apps):
    public, staff = apps
    with browser_page(chromium_path) as page:
        Offline(page)
        _sign_in_at_service(page, public, "tk.dulieu", f"{staff}/")
        page.wait_for_url(f"{staff}/**")
        ward_picker = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Phường", exact=True)
        expect(ward_picker).to_have_value("Phường Thanh Khê")
        nav = page.locator('[data-testid="stSidebarNav"]')
        expect(nav.get_by_text("Bản đồ", exact=True)).to_be_visible()
        assert nav.get_by_text("Toàn thành phố").count() == 0
        ward_picker.click()
        page.get_by_role("option").first.wait_for()
        options = page.get_by_role("option").all_inner_texts()
        assert options == ["Phường Thanh Khê"], options
        page.keyboard.press("Escape")

        page.goto(f"{staff}/city")  # the page is not there for a ward account
        page.get_by_text("Page not found").wait_for()
        assert page.get_by_role("heading", name="Toàn thành phố").count() == 0

        page.goto(f"{staff}/?ward=hoa-cuong")  # a link naming another ward does not open it
        ward_picker = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Phường", exact=True)
        expect(ward_picker).to_have_value("Phường Thanh Khê")
