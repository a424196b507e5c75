"""The staff map's base map from a local MBTiles file, in headless Chromium with no internet (issue 13).

A small real MBTiles file (SQLite, the spec's schema, PNG tiles made with Pillow) covers the demo ward;
the public service serves it at ``/basemap/{z}/{x}/{y}`` and the staff app's maps point there
(``GEOMAP_TILE_MBTILES``). Every request to a host other than loopback is aborted. The map page must ask
geomap for its tiles, the browser must decode them (``naturalWidth``), they must show on screen (the
tiles' colour in a screenshot of the map), and the attribution must still credit OpenStreetMap, whose
data such a file is made from.
"""

from __future__ import annotations

import io
import math
import sqlite3
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from PIL import Image
from staff_app import both_apps, browser_page, sign_in
from test_browser_offline import Offline, _map_frame

from geomap import auth, db, profiles

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "basemap.canbo", "ban-do-nen-noi-bo-2026"
#: the tiles' colour: a pale violet no map feature or Leaflet control uses
TILE_RGB = (214, 190, 245)
ZOOMS = range(11, 19)


def _tile_png() -> bytes:
    """A 256 px tile: the colour with a thin dark border (a real, decodable PNG)."""
    image = Image.new("RGB", (256, 256), TILE_RGB)
    for i in range(256):
        for x, y in ((i, 0), (0, i)):
            image.putpixel((x, y), (60, 60, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _xyz(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def mbtiles(tmp_path_factory) -> str:
    """The ward's extent (and a margin) at zooms 11–18, TMS rows as the MBTiles spec stores them."""
    path = tmp_path_factory.mktemp("basemap") / "hoa-cuong.mbtiles"
    minx, miny, maxx, maxy = profiles.get("hoa-cuong").boundary().bounds
    png = _tile_png()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    con.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [
        ("name", "Hòa Cường (thử)"), ("format", "png"), ("minzoom", str(ZOOMS[0])), ("maxzoom", str(ZOOMS[-1])),
        ("bounds", f"{minx},{miny},{maxx},{maxy}")])
    rows = []
    for z in ZOOMS:
        x0, y0 = _xyz(minx - 0.02, maxy + 0.02, z)
        x1, y1 = _xyz(maxx + 0.02, miny - 0.02, z)
        rows += [(z, x, (1 << z) - 1 - y, png) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return str(path)


@pytest.fixture(scope="module")
def apps(database_url, engine, demo_ward, mbtiles) -> Iterator[tuple[str, str]]:
    with db.transaction(engine) as c:
        auth.create_user(c, USERNAME, "Cán Bộ Bản Đồ Nền", "data_officer", PASSWORD)
    with both_apps(database_url, demo_ward["slug"], {"GEOMAP_TILE_MBTILES": mbtiles}) as (public, staff):
        yield public, staff


def test_map_page_draws_the_base_map_from_the_local_file(chromium_path, apps, tmp_path):
    public, staff = apps
    with browser_page(chromium_path, width=1440) as page:
        offline = Offline(page)  # every request to a host other than loopback is aborted and kept
        answers: list[tuple[str, int, str]] = []
        page.on("response", lambda r: answers.append((r.url, r.status, r.headers.get("content-type", "")))
                if "/basemap/" in r.url else None)
        sign_in(page, staff, USERNAME, PASSWORD)
        frame = _map_frame(page, ".marker-cluster")
        # the tiles are geomap's own, and the browser decoded them
        frame.wait_for_function("() => Array.from(document.querySelectorAll('img.leaflet-tile'))"
                                ".filter(i => i.complete && i.naturalWidth === 256).length >= 4", timeout=60_000)
        tiles = frame.evaluate("() => Array.from(document.querySelectorAll('img.leaflet-tile'))"
                               ".map(i => ({src: i.src, w: i.naturalWidth, done: i.complete}))")
        assert tiles and all(t["src"].startswith(f"{public}/basemap/") for t in tiles), tiles[:3]
        loaded = [t for t in tiles if t["done"] and t["w"] == 256]
        assert len(loaded) >= 4
        served = [a for a in answers if a[1] == 200]
        assert served and all(a[2] == "image/png" and urlsplit(a[0]).port == urlsplit(public).port for a in served)
        assert offline.blocked == [] and offline.tiles == []  # nothing tried to leave the machine
        # on screen: most of the map is the tiles' colour (features and controls drawn over a part of it)
        shot = tmp_path / "basemap.png"
        frame.frame_element().screenshot(path=str(shot))
        pixels = Image.open(shot).convert("RGB").getdata()
        share = sum(all(abs(p[i] - TILE_RGB[i]) <= 6 for i in range(3)) for p in pixels) / len(pixels)
        assert share > 0.3, f"only {share:.0%} of the map shows the base-map tiles"
        # the configured source is OpenStreetMap data: its attribution and copyright link stay
        attribution = frame.locator(".leaflet-control-attribution")
        assert "OpenStreetMap" in attribution.inner_text()
        assert attribution.locator("a[href='https://www.openstreetmap.org/copyright']").count() == 1
