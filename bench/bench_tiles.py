"""Vector tiles (OGC API – Tiles): uncached and cached tiles over the demo ward and city, against GeoJSON pages.

Databases ``geomap_bench_tiles`` (the demo ward, about 6,000 establishments) and
``geomap_bench_tiles_city`` (``demo.load(scale=17)``: 15 wards, about 102,000) of the private cluster,
loaded once and reused. Random tiles at zooms 12–18 (seeded) centred on random establishments:

- uncached: the establishments collection's tile and the dataset tile (every public layer), made by
  PostGIS through :func:`geomap.ogc.tiles.tile` with the tile cache emptied before each one (the
  change count still read, as in service): p50, p99 and the largest tile (target: none over 500 KB);
- the same establishments as GeoJSON: one OGC items page over the tile's bounds (limit 10,000) for
  the tiles at zoom 15–18, time and bytes, ratio to the tile;
- cached: the same tiles asked again, through the service function (the change count read, the
  cache hit) and over HTTP (FastAPI's TestClient: routing, key check, headers), tiles per second.
"""

from __future__ import annotations

import math
import random
import statistics
import time

from fastapi.testclient import TestClient

import layers
from bench.bench_map import _database
from geomap import db, layer_reader
from geomap.ogc import api, tiles
from geomap.ogc.cache import OGCCaches
from geomap.web import create_app

WARD = "hoa-cuong"
SEED = 14
CITY_SCALE = 17
N_TILES = 200
N_GEOJSON = 40
N_CACHED = 2000
MAX_TILE_B = 500_000


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    def lon(c):
        return c / (1 << z) * 360 - 180

    def lat(r):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * r / (1 << z)))))
    return lon(x), lat(y + 1), lon(x + 1), lat(y)


def run() -> dict:
    figures = {"ward": _measure(_database("geomap_bench_tiles", WARD, 1), "demo ward")}
    print()
    figures["city"] = _measure(_database("geomap_bench_tiles_city", WARD, CITY_SCALE), "demo city (scale 17)")
    return figures


def _measure(url: str, title: str) -> dict:
    print(f" {title}:")
    engine = db.get_engine(url)
    points = [(r["x"], r["y"]) for r in db.rows(engine, """
        SELECT ST_X(e.geom) x, ST_Y(e.geom) y FROM establishment e JOIN ward w ON w.id = e.ward_id
        WHERE (w.slug = :s OR :city) AND e.geom IS NOT NULL""", {"s": WARD, "city": "city" in title})]
    rng = random.Random(SEED)
    picks = []
    for _ in range(N_TILES):
        z = rng.randint(12, 18)
        lon, lat = rng.choice(points)
        x, y = _tile_of(lon, lat, z)
        picks.append((z, x, y))
    establishments = [layers.get("establishments")]
    everything = list(api.collections_for("public").values())
    caches = OGCCaches()
    figures: dict = {"establishments": len(points), "tiles": N_TILES}
    print(f"  {len(points)} establishments placed; {N_TILES} random tiles at zooms 12-18 centred on them")
    for label, chosen in (("establishments", establishments), ("dataset", everything)):
        tiles.tile(engine, chosen, "public", *picks[0], caches)  # warm: source tables, connections
        times, sizes, by_zoom = [], [], {}
        for z, x, y in picks:
            caches.tiles.clear()
            started = time.perf_counter()
            body, _ = tiles.tile(engine, chosen, "public", z, y, x, caches)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            sizes.append(len(body))
            by_zoom.setdefault(z, []).append(elapsed)
        figures[label] = {
            "uncached_p50_ms": round(statistics.median(times) * 1000, 1),
            "uncached_p99_ms": round(_pct(times, 0.99) * 1000, 1),
            "max_tile_bytes": max(sizes), "median_tile_bytes": int(statistics.median(sizes)),
            "tiles_over_500kb": sum(s > MAX_TILE_B for s in sizes),
            "p50_ms_by_zoom": {z: round(statistics.median(v) * 1000, 1) for z, v in sorted(by_zoom.items())},
        }
        f = figures[label]
        print(f"  {label}: uncached p50 {f['uncached_p50_ms']} ms, p99 {f['uncached_p99_ms']} ms; largest tile "
              f"{f['max_tile_bytes'] / 1000:.1f} kB (median {f['median_tile_bytes'] / 1000:.1f} kB), "
              f"{f['tiles_over_500kb']} over 500 kB")
        print(f"    p50 by zoom (ms): {f['p50_ms_by_zoom']}")

    with TestClient(create_app(url)) as client:
        deep = [p for p in picks if p[0] >= 15][:N_GEOJSON]
        ratios_t, ratios_b, geo_t = [], [], []
        for z, x, y in deep:
            caches.tiles.clear()
            started = time.perf_counter()
            body, _ = tiles.tile(engine, establishments, "public", z, y, x, caches)
            tile_s = time.perf_counter() - started
            box = ",".join(f"{v:.7f}" for v in _lonlat(z, x, y))
            started = time.perf_counter()
            page = client.get("/ogc/collections/establishments/items", params={"bbox": box, "limit": 10000})
            page_s = time.perf_counter() - started
            geo_t.append(page_s)
            ratios_t.append(page_s / max(tile_s, 1e-6))
            ratios_b.append(len(page.content) / max(len(body), 1))
        figures["geojson_vs_tile"] = {
            "tiles_compared": len(deep), "geojson_p50_ms": round(statistics.median(geo_t) * 1000, 1),
            "time_ratio_median": round(statistics.median(ratios_t), 2),
            "bytes_ratio_median": round(statistics.median(ratios_b), 2)}
        g = figures["geojson_vs_tile"]
        print(f"  GeoJSON items page over the same bounds (z15–18, {len(deep)} tiles): p50 {g['geojson_p50_ms']} ms; "
              f"GeoJSON/tile: time ×{g['time_ratio_median']}, bytes ×{g['bytes_ratio_median']}")

        for z, x, y in picks:  # fill the cache
            tiles.tile(engine, establishments, "public", z, y, x, caches)
        started = time.perf_counter()
        for i in range(N_CACHED):
            z, x, y = picks[i % len(picks)]
            tiles.tile(engine, establishments, "public", z, y, x, caches)
        service_rate = N_CACHED / (time.perf_counter() - started)
        paths = [f"/ogc/collections/establishments/tiles/WebMercatorQuad/{z}/{y}/{x}" for z, x, y in picks]
        for path in paths:
            client.get(path)
        started = time.perf_counter()
        for i in range(N_CACHED):
            r = client.get(paths[i % len(paths)])
            assert r.status_code == 200
        http_rate = N_CACHED / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(N_CACHED):
            picked = picks[i % len(picks)]
            layer_reader.change_count(engine, caches.sources.get((str(engine.url), "establishment_overview"))[0])
            del picked
        key_rate = N_CACHED / (time.perf_counter() - started)
    figures["cached"] = {"service_tiles_per_s": round(service_rate), "http_tiles_per_s": round(http_rate),
                         "change_count_reads_per_s": round(key_rate)}
    print(f"  cached: {service_rate:.0f} tiles/s through the service function, {http_rate:.0f} tiles/s over HTTP "
          f"(TestClient, one client thread); the change-count read alone: {key_rate:.0f}/s")
    return figures
