"""The staff map: server-side build time, page payload, filter changes, app memory; vs one folium.Marker each.

Figures for the whole demo ward (6,000 establishments, every layer on) and for wards of a
city of 100,000+ establishments (``demo.load(scale=17)``: 15 wards, about 102,000): the ward
with the median count (the typical case) and, as a stress figure, the one with the most
establishments (about 10,000). Each in its own database of the private
cluster (``geomap_bench_map``, ``geomap_bench_city``; loaded once, reused).

- build: read the ward's layers (cold: the app cache empty) + build the folium map + render
  the page; payload = bytes of ``m.get_root().render()``
- filter change: frames already cached (as ``st.cache_data`` holds them), mask + build + render
- zoomed view: a 500 m view at zoom 17 with land parcels (read for the view box)
- naive: the same establishments as one ``folium.Marker`` with a popup each, same run
- memory: peak RSS (VmHWM) of ``streamlit run app.py`` after a signed-in browser loaded the
  map, changed a filter and searched
"""

from __future__ import annotations

import html
import os
import statistics
import time
from pathlib import Path

import folium
import sqlalchemy as sa

import layers
from bench._support import demo_database
from geomap import auth, db
from geomap.map import data as mapdata
from geomap.map import features as mapfeatures
from geomap.map import view as mapview
from geomap.ui.launch import staff_app
from geomap.wards import data as ward_data

WARD = "hoa-cuong"
CITY_SCALE = 17
TARGET_BUILD_S = 1.5
TARGET_PAYLOAD_B = 2_000_000
TARGET_FILTER_S = 0.5
TARGET_RSS_MB = 600
BENCH_USER, BENCH_PASSWORD = "bench.map", "bench-map-mat-khau"


def _read(engine, ward_id: int, bbox=None) -> dict:
    return {n: mapdata.read_map_layer(engine, lyr, ward_id=ward_id, bbox=bbox)
            for n, lyr in layers.registry().items() if bbox is not None or not mapfeatures.queried_by_view(lyr)}


def _build(frames: dict, bounds, zoom=None) -> tuple[float, int, float]:
    """Wall seconds, payload bytes and CPU seconds of building and rendering the map."""
    started, cpu = time.perf_counter(), time.process_time()
    m = mapview.build_map(frames, bounds=bounds, zoom=zoom)
    page = m.get_root().render()
    return time.perf_counter() - started, len(page.encode()), time.process_time() - cpu


def _naive(frame, layer) -> tuple[float, int]:
    """One folium.Marker per establishment with its popup: what the design avoids."""
    started = time.perf_counter()
    m = folium.Map(location=[frame.geometry.y.mean(), frame.geometry.x.mean()], zoom_start=15)
    for row in frame.itertuples():
        popup = "<br>".join(f"<b>{html.escape(layer.field(n).label_vi)}</b>: {html.escape(str(getattr(row, n)))}"
                            for n in layer.popup)
        folium.Marker([row.geometry.y, row.geometry.x], popup=popup, tooltip=html.escape(str(row.name))).add_to(m)
    page = m.get_root().render()
    return time.perf_counter() - started, len(page.encode())


def _scenario(label: str, url: str, ward: str, naive: bool = True) -> dict:
    engine = db.get_engine(url)
    ward_id = ward_data.ward_id(engine, ward)
    bounds = ward_data.ward_bounds(engine, ward_id)
    est = layers.get(mapfeatures.ESTABLISHMENT_LAYER)
    with engine.connect() as c:
        total_city = c.execute(sa.text("SELECT count(*) FROM establishment")).scalar()

    _read(engine, ward_id)  # warm the database's own cache (the app process cache stays cold below)
    started, cpu = time.perf_counter(), time.process_time()
    frames = _read(engine, ward_id)
    read_s, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    build_s, payload, build_cpu = _build(frames, bounds)
    n_est = len(frames[mapfeatures.ESTABLISHMENT_LAYER])

    filters = [{"licence_status": ["expired", "expiring"]}, {"sector": ["food_service"]},
               {"food_safety_status": ["violation", "missing"]}, {"business_type": ["household"]}, {}]
    filter_s, filter_cpu = [], []
    for chosen in filters:
        t0, c0 = time.perf_counter(), time.process_time()
        shown = mapfeatures.select_features(frames, {mapfeatures.ESTABLISHMENT_LAYER: chosen})
        mapview.build_map(shown, bounds=bounds).get_root().render()
        filter_s.append(time.perf_counter() - t0)
        filter_cpu.append(time.process_time() - c0)

    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    half_lon, half_lat = 0.0025, 0.0023  # about 500 m x 500 m
    view = {"_southWest": {"lat": cy - half_lat, "lng": cx - half_lon},
            "_northEast": {"lat": cy + half_lat, "lng": cx + half_lon}}
    t0 = time.perf_counter()
    zoomed = _read(engine, ward_id, bbox=mapfeatures.view_bbox(view))
    zoom_read_s = time.perf_counter() - t0
    view_box = (cx - half_lon, cy - half_lat, cx + half_lon, cy + half_lat)
    zoom_build_s, zoom_payload, _ = _build(zoomed, view_box, zoom=17)

    naive_s, naive_payload = _naive(frames[mapfeatures.ESTABLISHMENT_LAYER], est) if naive else (float("nan"), 0)
    out = {
        "establishments_in_db": total_city, "establishments_in_ward": n_est,
        "read_s": round(read_s, 3), "build_render_s": round(build_s, 3), "total_s": round(read_s + build_s, 3),
        "read_cpu_s": round(read_cpu, 3), "build_render_cpu_s": round(build_cpu, 3), "payload_bytes": payload,
        "filter_change_cpu_s_max": round(max(filter_cpu), 3), "load_average_1min": os.getloadavg()[0],
        "filter_change_s_median": round(statistics.median(filter_s), 3), "filter_change_s_max": round(max(filter_s), 3),
        "zoomed_view_parcels": len(zoomed.get("land_parcels", [])),
        "zoomed_view_s": round(zoom_read_s + zoom_build_s, 3), "zoomed_view_payload_bytes": zoom_payload,
        "naive_establishments_only_s": round(naive_s, 3), "naive_payload_bytes": naive_payload,
        "ratio_time_naive_over_ours": round(naive_s / build_s, 1) if naive else None,
        "ratio_payload_naive_over_ours": round(naive_payload / payload, 1) if naive else None,
    }
    ok = out["total_s"] <= TARGET_BUILD_S and payload <= TARGET_PAYLOAD_B and max(filter_s) <= TARGET_FILTER_S
    print(f"{label}: {n_est:,} establishments in the ward ({total_city:,} in the database), all layers on")
    print(f"  build  read {read_s:.2f} s + build/render {build_s:.2f} s = {read_s + build_s:.2f} s "
          f"(target ≤ {TARGET_BUILD_S} s); payload {payload / 1e6:.2f} MB (target ≤ 2 MB)")
    print(f"         this process's CPU: read {read_cpu:.2f} s + build/render {build_cpu:.2f} s "
          f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  filter change (warm cache) median {statistics.median(filter_s):.3f} s, max {max(filter_s):.3f} s "
          f"(target ≤ {TARGET_FILTER_S} s); CPU max {max(filter_cpu):.3f} s")
    print(f"  zoom-17 view with {out['zoomed_view_parcels']} parcels: {out['zoomed_view_s']:.2f} s, "
          f"{zoom_payload / 1e6:.2f} MB")
    if naive:
        print(f"  naive one folium.Marker per establishment (establishments only): {naive_s:.2f} s, "
              f"{naive_payload / 1e6:.2f} MB → ours is {out['ratio_time_naive_over_ours']}x faster to build and "
              f"{out['ratio_payload_naive_over_ours']}x smaller, with every layer on")
    print(f"  {'meets' if ok else 'MISSES'} the targets")
    return out


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _app_memory(url: str) -> dict:
    """Peak RSS of the staff app serving the demo ward to a signed-in browser."""
    from playwright.sync_api import sync_playwright

    engine = db.get_engine(url)
    with db.transaction(engine) as c:
        if not c.execute(sa.text("SELECT 1 FROM app_user WHERE username = :u"), {"u": BENCH_USER}).first():
            auth.create_user(c, BENCH_USER, "Đo hiệu năng", "data_officer", BENCH_PASSWORD)
    with staff_app({"GEOMAP_DATABASE_URL": url, "GEOMAP_WARD": WARD}) as (base, pid):
        idle = _vm(pid, "VmRSS")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(base)
            page.get_by_label("Tên đăng nhập").fill(BENCH_USER)
            page.get_by_label("Mật khẩu").fill(BENCH_PASSWORD)
            started = time.perf_counter()
            page.get_by_role("button", name="Đăng nhập").click()
            first_draw = _wait_clusters(page)
            shown_s = time.perf_counter() - started
            # colour by food safety: every feature group is rebuilt and sent again
            page.get_by_role("radiogroup").get_by_text("Tình trạng ATTP", exact=True).click()
            page.wait_for_timeout(3000)
            box = page.get_by_label("Tìm cơ sở kinh doanh theo tên hoặc địa chỉ (gõ không dấu cũng được)")
            box.fill("pho")
            box.press("Enter")
            page.get_by_text("Kết quả tìm kiếm").wait_for()
            page.wait_for_timeout(2000)
            browser.close()
        peak, now = _vm(pid, "VmHWM"), _vm(pid, "VmRSS")
    out = {"app_idle_rss_mb": round(idle / 2**20), "app_peak_rss_mb": round(peak / 2**20),
           "app_rss_after_mb": round(now / 2**20), "browser_sign_in_to_clusters_s": round(shown_s, 2),
           "clusters_drawn": first_draw}
    print(f"staff app: peak RSS {out['app_peak_rss_mb']} MB (target ≤ {TARGET_RSS_MB} MB; idle "
          f"{out['app_idle_rss_mb']} MB); sign-in → clusters drawn in the browser {shown_s:.1f} s")
    return out


def _wait_clusters(page, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "streamlit_folium" in frame.url:
                n = frame.locator(".marker-cluster").count()
                if n:
                    return n
        page.wait_for_timeout(200)
    raise RuntimeError("the map never drew its clusters")


def _city_wards(url: str) -> tuple[str, str]:
    """The ward with the median number of establishments, and the one with the most."""
    with db.get_engine(url).connect() as c:
        rows = c.execute(sa.text(
            "SELECT w.slug, count(e.id) FROM ward w LEFT JOIN establishment e ON e.ward_id = w.id "
            "GROUP BY w.slug ORDER BY 2, 1")).all()
    return rows[len(rows) // 2][0], rows[-1][0]


def run() -> dict:
    ward_url = demo_database("geomap_bench_map", WARD)
    figures = {"ward": _scenario("Demo ward", ward_url, WARD)}
    if os.environ.get("GEOMAP_BENCH_SKIP_CITY") != "1":
        city_url = demo_database("geomap_bench_city", WARD, CITY_SCALE)
        typical, densest = _city_wards(city_url)
        figures["city_ward"] = _scenario(f"A typical ward ({typical}) of the scale-{CITY_SCALE} city", city_url,
                                         typical)
        figures["city_densest_ward"] = _scenario(
            f"Stress: the densest ward ({densest}) of the scale-{CITY_SCALE} city", city_url, densest, naive=False)
    figures["memory"] = _app_memory(ward_url)
    return figures


if __name__ == "__main__":
    run()
