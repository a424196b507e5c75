"""The city-wide staff map on the demo city: vector tiles against one GeoJSON of every point, in Chromium.

Database ``geomap_bench_city_view`` of the private cluster (``demo.load(scale=17)``: 15 wards, about
102,000 establishments), loaded once and reused. In one run:

- **tiles** (the city page, :func:`geomap.city.city_map`): the page's HTML size; the public service
  runs on loopback (uvicorn, one worker) and headless Chromium opens the page with every request that
  is not to the loopback answered by the bench (the page and the vendored scripts, as the staff app
  serves them) or aborted; time from navigation to the first features drawn from tiles (the page's
  own report, ``window.geomapCity.firstFeaturesMs``), with the service's tile cache cold, then warm
  (a second page load), and the tiles and features drawn by then;
- **GeoJSON** (the naive approach): the same base map with every establishment as one
  ``folium.GeoJson`` of circle markers on a canvas (what a folium user writes first); its HTML size
  and time from navigation to the first frame after the layer was added (``requestAnimationFrame``
  after the map's script), or the timeout;
- the wards' indicators for the city table (:func:`geomap.city.ward_indicators`: the 15 wards' frames read
  in one pass, one query per table, then each ward's figures), seconds, first computation and once more,
  against the per-ward approach (each ward's :func:`geomap.dashboard.load_frames`, three wards at a time,
  as the page did before) in the same run; both give the same figures (checked).

Targets (issue 14): HTML ≤ 300 KB, first features ≤ 2 s; the city table's first computation ≤ 3 s.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import folium
import pandas as pd

import layers
from bench._support import demo_database
from geomap import city, dashboard, layer_reader, status
from geomap.city import indicators as city_indicators
from geomap.map import view as mapview
from geomap.ui.launch import free_port, served
from geomap.wards import data as ward_data

WARD = "hoa-cuong"
CITY_SCALE = 17
DATABASE = "geomap_bench_city_view"
TARGET_HTML_B = 300_000
TARGET_FIRST_S = 2.0
TARGET_INDICATORS_S = 3.0
PER_WARD_WORKERS = 3  # the per-ward approach read three wards at a time (threads)
GEOJSON_TIMEOUT_S = 180
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
STATIC = mapview.STATIC_DIR


def _geojson_page(engine, bounds, assets_url: str) -> tuple[str, int]:
    """Every establishment as one folium GeoJSON (circle markers, canvas); the HTML and the feature count."""
    layer = layers.get("establishments")
    frame = layer_reader.read(engine, layer, profile="public", columns=["code", "name", "licence_status"])
    fmap = mapview.base_map(bounds, assets_url=assets_url)
    folium.GeoJson(frame[["code", "name", "licence_status", "geometry"]].to_json(na="null"),
                   marker=folium.CircleMarker(radius=3, fill=True, weight=1),
                   tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(fmap)
    fmap.get_root().script.add_child(folium.Element(
        "requestAnimationFrame(function () { window.geomapDrawnMs = performance.now(); });"))
    return fmap.get_root().render(), len(frame)


@contextmanager
def _staff_origin(pages: dict[str, str], port: int) -> Iterator[str]:
    """A loopback HTTP server standing in for the staff app: ``pages`` and ``static/`` at ``/app/static``
    (a page the browser got from loopback may fetch from loopback; a page Playwright made up may not)."""
    root = Path(tempfile.mkdtemp(prefix="geomap-bench-city-"))
    for path, body in pages.items():
        (root / path.strip("/")).write_text(body, encoding="utf-8")
    (root / "app").mkdir()
    (root / "app" / "static").symlink_to(STATIC)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, "": "text/html; charset=utf-8"}

    def log_message(self, *args) -> None:
        pass


def _block_outside(page, blocked: list[str]) -> None:
    """Loopback passes; any other request is aborted and kept."""
    def route(r):
        url = r.request.url
        if (urlsplit(url).hostname or "") in LOOPBACK or url.startswith(("data:", "blob:", "about:")):
            return r.continue_()
        blocked.append(url)
        return r.abort("internetdisconnected")
    page.route("**/*", route)


def _open(browser, origin: str, path: str, until: str, timeout_s: float) -> dict:
    """Open ``path`` in a fresh page; seconds until the script ``until`` gives a number (ms since navigation)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []
    _block_outside(page, blocked)
    started = time.perf_counter()
    page.goto(origin + path, wait_until="commit", timeout=timeout_s * 1000)
    ms = None
    while time.perf_counter() - started < timeout_s:
        ms = page.evaluate(until)
        if ms is not None:
            break
        time.sleep(0.02)
    report = page.evaluate("window.geomapCity ? {tiles: window.geomapCity.tiles, features: window.geomapCity.features,"
                           " errors: window.geomapCity.errors} : null")
    page.close()
    return {"first_s": None if ms is None else round(ms / 1000, 3), "wall_s": round(time.perf_counter() - started, 2),
            "report": report, "blocked": len(blocked)}


def _per_ward(engine, today) -> tuple[pd.DataFrame, float]:
    """The per-ward approach: each ward's own :func:`geomap.dashboard.load_frames` (three at a time), then the
    same figures; the rows and the seconds."""
    started = time.perf_counter()
    period, as_of = city_indicators.period_as_of(today, None)

    def one(ward: dict) -> list[dict]:
        return city_indicators.ward_rows(engine, ward, dashboard.load_frames(engine, ward["id"]), period, as_of)

    with ThreadPoolExecutor(max_workers=PER_WARD_WORKERS) as pool:
        rows = [r for ward_rows in pool.map(one, ward_data.loaded_wards(engine)) for r in ward_rows]
    return pd.DataFrame(rows, columns=city_indicators.COLUMNS), time.perf_counter() - started


def indicators(engine) -> tuple[city.WardIndicators, dict]:
    """The city table's figures: one pass (first computation, then again) against the per-ward approach."""
    today = status.today()
    load = os.getloadavg()
    cpu = time.process_time()
    first = city.ward_indicators(engine, today)
    cpu = time.process_time() - cpu  # this process's CPU (all threads): what the load does not stretch
    per_ward, per_ward_s = _per_ward(engine, today)
    again = city.ward_indicators(engine, today)
    key = ["slug", "key", "num", "den"]
    same = first.long[key].sort_values(key[:2]).reset_index(drop=True).equals(
        per_ward[key].sort_values(key[:2]).reset_index(drop=True))
    out = {"indicators_s": round(first.seconds, 2), "indicators_cpu_s": round(cpu, 2),
           "indicators_again_s": round(again.seconds, 2),
           "indicators_per_ward_s": round(per_ward_s, 2), "indicators_same": same,
           "indicators_ratio": round(per_ward_s / first.seconds, 1),
           "indicators_load": [round(x, 2) for x in load]}
    print(f"  the wards' indicators ({first.long['slug'].nunique()} wards): one pass {first.seconds:.1f} s first "
          f"({cpu:.1f} s of this process's CPU), "
          f"{again.seconds:.1f} s again (target ≤ {TARGET_INDICATORS_S:.0f} s); per ward ({PER_WARD_WORKERS} at a "
          f"time) {per_ward_s:.1f} s: {out['indicators_ratio']}×; same figures: {same}; load before "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return first, out


def run() -> dict:
    from playwright.sync_api import sync_playwright

    from geomap import db

    print(f"  load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    url = demo_database(DATABASE, WARD, CITY_SCALE)
    engine = db.get_engine(url)
    n_est = db.scalar(engine, "SELECT count(*) FROM establishment")
    outlines = city.ward_outlines(engine)
    print(f"  {len(outlines)} wards, {n_est:,} establishments")
    figures, indicator_figures = indicators(engine)

    staff_port, public_port = free_port(), free_port()
    origin, public = f"http://127.0.0.1:{staff_port}", f"http://127.0.0.1:{public_port}"
    ind = dashboard.BY_KEY["digital_platform_share"]
    values = {s: (None if v != v else float(v)) for s, v in figures.values()[ind.key].items()}
    tiles_html = city.city_map(outlines, values, ind, tiles_base=public, staff_base=origin,
                               assets_url=origin + "/app/static", height="900px").get_root().render()
    bounds = tuple(float(b) for b in outlines.total_bounds)
    started = time.perf_counter()
    geojson_html, n_points = _geojson_page(engine, bounds, origin + "/app/static")
    geojson_build_s = time.perf_counter() - started
    pages = {"/city": tiles_html, "/geojson": geojson_html}  # served by the stand-in staff app
    out = {"establishments": n_est, "wards": len(outlines), **indicator_figures,
           "tiles_html_b": len(tiles_html.encode()), "geojson_html_b": len(geojson_html.encode()),
           "geojson_points": n_points, "geojson_build_s": round(geojson_build_s, 2)}
    env = {"GEOMAP_DATABASE_URL": url, "GEOMAP_PUBLIC_BASE_URL": public, "GEOMAP_STAFF_BASE_URL": origin,
           "GEOMAP_LOG_DIR": tempfile.mkdtemp(prefix="geomap-bench-city-")}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geomap.web:create_app", "--host", "127.0.0.1",
           "--port", str(public_port), "--log-level", "warning"]
    with _staff_origin(pages, staff_port), served(cmd, "/health", "public service", env, public_port), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=CHROMIUM_ARGS)
        try:
            first = "window.geomapCity && window.geomapCity.firstFeaturesMs"
            out["tiles_cold"] = _open(browser, origin, "/city", first, 60)
            out["tiles_warm"] = _open(browser, origin, "/city", first, 60)
            out["geojson"] = _open(browser, origin, "/geojson", "window.geomapDrawnMs || null",
                                   GEOJSON_TIMEOUT_S)
        finally:
            browser.close()
    load = os.getloadavg()
    out["load_after"] = [round(x, 2) for x in load]
    cold, warm, naive = out["tiles_cold"], out["tiles_warm"], out["geojson"]
    print(f"  tiles:   HTML {out['tiles_html_b'] / 1000:,.0f} KB (target ≤ {TARGET_HTML_B // 1000} KB); first features "
          f"{cold['first_s']} s cold, {warm['first_s']} s warm (target ≤ {TARGET_FIRST_S} s); when the first showed "
          f"{cold['report']}; requests blocked {cold['blocked']}")
    print(f"  GeoJSON: HTML {out['geojson_html_b'] / 1e6:,.1f} MB for {n_points:,} points (built in "
          f"{geojson_build_s:.1f} s); first features {naive['first_s']} s (wall {naive['wall_s']} s"
          f"{', timed out' if naive['first_s'] is None else ''})")
    if cold["first_s"] and naive["first_s"]:
        out["ratio_first"] = round(naive["first_s"] / warm["first_s"], 1) if warm["first_s"] else None
        print(f"  GeoJSON / tiles: HTML {out['geojson_html_b'] / out['tiles_html_b']:.0f}×, first features "
              f"{naive['first_s'] / cold['first_s']:.1f}× (cold) {out['ratio_first']}× (warm)")
    print(f"  load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return out
