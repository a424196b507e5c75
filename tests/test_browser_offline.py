"""Every staff map on a machine without internet: the browser may reach only the app itself.

Headless Chromium opens the map, hotspot, records "Vị trí" and dashboard pages with every request
to a host other than 127.0.0.1/localhost aborted (and counted). Each map must still draw its
features from the app's own vendored Leaflet (and plugins), and the only requests that try to
leave the machine are base-map tiles, to the configured tile server (here a host that does not
exist, as a ward's tile server is to this machine: the tiles fail, the features still draw).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from staff_app import browser_page, sign_in

from geomap import auth, db, links
from geomap.ui.launch import staff_app

PASSWORD = "mật-khẩu-ngoại-tuyến-2026"
USERNAME = "offline.canbo"
TILE_HOST = "tiles.ward.invalid"
TILE_URL = f"http://{TILE_HOST}/osm/{{z}}/{{x}}/{{y}}.png"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

pytestmark = pytest.mark.browser

#: JavaScript: does any canvas matching the selector hold a drawn (non-transparent) pixel?
_CANVAS_DRAWN = """sel => Array.from(document.querySelectorAll(sel)).some(c => {
    if (!c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; }
    return false;
})"""


@pytest.fixture(scope="module")
def offline_user(engine, demo_ward) -> dict:
    with db.transaction(engine) as c:
        return auth.create_user(c, USERNAME, "Cán Bộ Ngoại Tuyến", "data_officer", PASSWORD)


@pytest.fixture(scope="module")
def app_url(database_url, demo_ward, offline_user) -> Iterator[str]:
    env = {"GEOMAP_DATABASE_URL": database_url, "GEOMAP_WARD": demo_ward["slug"], "GEOMAP_LANGUAGE": "vi",
           "GEOMAP_TILE_URL": TILE_URL, "GEOMAP_TILE_ATTRIBUTION": "Máy chủ bản đồ của phường"}
    with staff_app(env) as (url, _pid):
        yield url


class Offline:
    """A browser page whose requests may reach only loopback hosts; the rest are aborted and kept."""

    def __init__(self, page):
        self.page = page
        self.tiles: list[str] = []
        self.blocked: list[str] = []
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if host in LOOPBACK or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
            return
        (self.tiles if host == TILE_HOST else self.blocked).append(url)
        route.abort("internetdisconnected")


@pytest.fixture
def offline(chromium_path, app_url) -> Iterator[Offline]:
    with browser_page(chromium_path, width=1440) as pg:
        yield Offline(pg)


def _map_frame(pg, selector: str, timeout_s: float = 90):
    """The streamlit-folium iframe once ``selector`` is present inside it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in pg.frames:
            if "streamlit_folium" in frame.url and frame.locator(selector).count() > 0:
                return frame
        pg.wait_for_timeout(500)
    pytest.fail(f"the map never drew {selector}")


def _canvas_drawn(frame, selector: str, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if frame.evaluate(_CANVAS_DRAWN, selector):
            return True
        frame.wait_for_timeout(500)
    return False


def _assert_only_tiles_left(off: Offline, frame) -> None:
    """Nothing but tiles of the configured server tried to leave the machine, and the map asked for them."""
    assert off.blocked == [], f"requests that left the machine: {off.blocked[:10]}"
    # the map's assets are the app's own copies (a CDN script would have been blocked above)
    sources = frame.evaluate("() => Array.from(document.querySelectorAll('script[src], link[href]'))"
                             ".map(e => e.src || e.href)")
    assert all(urlsplit(s).hostname in LOOPBACK for s in sources), sources
    assert frame.evaluate("() => typeof L") == "object"
    deadline = time.monotonic() + 20
    while not off.tiles and time.monotonic() < deadline:
        off.page.wait_for_timeout(300)
    assert off.tiles and all(t.startswith(f"http://{TILE_HOST}/osm/") for t in off.tiles)
    assert "Máy chủ bản đồ của phường" in frame.locator(".leaflet-control-attribution").inner_text()


def _assert_local_tab_icon(pg) -> None:
    """The tab icon is served by the app (an emoji or material icon would come from a font CDN)."""
    icons = pg.evaluate("() => Array.from(document.querySelectorAll('link[rel~=\"icon\"]')).map(e => e.href)")
    assert icons and all(urlsplit(h).hostname in LOOPBACK for h in icons), icons


def test_map_page_offline(offline, app_url):
    sign_in(offline.page, app_url, USERNAME, PASSWORD)
    frame = _map_frame(offline.page, ".marker-cluster")
    assert frame.locator(".marker-cluster").count() >= 10
    assert _canvas_drawn(frame, ".leaflet-overlay-pane canvas")  # residential groups, streets
    _assert_only_tiles_left(offline, frame)
    _assert_local_tab_icon(offline.page)


def test_hotspot_page_offline(offline, app_url, engine, demo_ward):
    sign_in(offline.page, f"{app_url}/hotspots", USERNAME, PASSWORD)
    offline.page.get_by_role("heading", name="Điểm nóng phản ánh").wait_for()
    frame = _map_frame(offline.page, "canvas.leaflet-heatmap-layer")
    assert _canvas_drawn(frame, "canvas.leaflet-heatmap-layer"), "the heatmap drew nothing"
    assert _canvas_drawn(frame, ".leaflet-overlay-pane canvas:not(.leaflet-heatmap-layer)")  # Gi* cells
    # plain words: ranked hotspots named by where they are; the statistics behind a fold
    offline.page.get_by_text("Các điểm nóng nổi bật").wait_for()
    offline.page.get_by_text("Cách xác định điểm nóng").wait_for()
    assert "Gi*" not in offline.page.locator('[data-testid="stCaptionContainer"]').all_inner_texts().__str__()
    # viewing publishes nothing; the button publishes the default window (90 days up to now, all categories)
    # as the ward's stored "hotspots" layer, and the page says when it was analysed
    offline.page.get_by_text("Lớp “Điểm nóng phản ánh” mà phường công bố").wait_for()
    offline.page.get_by_role("button", name="Phân tích và công bố lại (90 ngày gần nhất)").click()
    offline.page.get_by_text(re.compile(r"90 ngày gần nhất, phân tích lúc \d\d/\d\d/\d{4}")).wait_for()
    with engine.connect() as c:
        stored = c.execute(sa.text("SELECT count(*) FROM hotspot_cell WHERE ward_id = :w AND window_days = 90"),
                           {"w": demo_ward["id"]}).scalar()
    assert stored > 100
    _assert_only_tiles_left(offline, frame)
    _assert_local_tab_icon(offline.page)


def test_record_location_map_offline(offline, app_url, engine, demo_ward):
    with db.read(engine) as c:
        record_id = c.execute(sa.text("SELECT id FROM establishment WHERE ward_id = :w AND geom IS NOT NULL "
                                      "ORDER BY id LIMIT 1"), {"w": demo_ward["id"]}).scalar_one()
    sign_in(offline.page, f"{app_url}/{links.record(record_id, demo_ward['slug'])}", USERNAME, PASSWORD)
    offline.page.get_by_role("tab", name="Vị trí").click()
    offline.page.get_by_text("Bấm vào bản đồ để chọn vị trí mới.").wait_for()
    frame = _map_frame(offline.page, ".leaflet-marker-icon")
    # the marker's image is Leaflet's own, from the vendored copy
    frame.wait_for_function("() => { const i = document.querySelector('img.leaflet-marker-icon');"
                            " return i && i.complete && i.naturalWidth > 0; }", timeout=20_000)
    _assert_only_tiles_left(offline, frame)
    _assert_local_tab_icon(offline.page)


def test_dashboard_map_offline(offline, app_url):
    sign_in(offline.page, f"{app_url}/dashboard", USERNAME, PASSWORD)
    offline.page.get_by_role("heading", name="Bảng điều hành phường").wait_for()
    # a change of a share reads in percentage points; the running month is said to be left out
    offline.page.get_by_text("điểm % so với mục tiêu").first.wait_for()
    offline.page.get_by_text("chưa hết nên chưa đưa vào biểu đồ").wait_for()
    frame = _map_frame(offline.page, ".leaflet-overlay-pane canvas")
    assert _canvas_drawn(frame, ".leaflet-overlay-pane canvas"), "the choropleth drew nothing"
    _assert_only_tiles_left(offline, frame)
    _assert_local_tab_icon(offline.page)
