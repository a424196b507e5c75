"""Vector tiles (OGC API – Tiles): uncached and cached tiles over the demo ward and city, against GeoJSON pages
and GDAL's ``ogr2ogr -f MVT``.

Databases ``geomap_bench_tiles`` (the demo ward, about 6,000 establishments) and
``geomap_bench_tiles_city`` (``demo.load(scale=17)``: 15 wards, about 102,000) of the private cluster,
loaded once and reused; with ``GEOMAP_BENCH_TILES_BIG=1`` also ``geomap_bench_tiles_city10``
(``scale=170``, about a million; its load time printed). Random tiles at zooms 12–18 (seeded) centred on
random establishments:

- uncached: the establishments collection's tile and the dataset tile (every public layer), made by
  PostGIS through :func:`geomap.ogc.tiles.tile` with the tile cache emptied before each one (the change
  count kept, as the service keeps it for up to ``CHANGE_POLL_S``): p50, p99 and the largest tile
  (target: none over 500 KB);
- over HTTP, from the public service as ``geomap serve`` runs it (uvicorn, its default worker count),
  one client: the first request of each tile (a miss: made by PostGIS) against the naive approach, one
  OGC items page of GeoJSON over the tile's bounds (limit 10,000), for the tiles at zoom 15–18: time
  and bytes;
- the reference tool: GDAL's ``ogr2ogr -f MVT`` writing the same tile from the same view and public
  fields (a process per tile, its start included; no statuses, no cells) for a few of those tiles;
- clustered tiles (zoom < 15): read from the stored per-cell counts (migration 0027) against counting
  every point of the tile, the way before (each pair decoded by GDAL and checked equal); and what the
  cells' triggers add to a write (moving :data:`N_MOVED` establishments, rolled back);
- cached: the same tiles asked again by ``wrk`` (another process; C, event-driven) for
  :data:`LOAD_S` seconds: tiles per second through the fast path (public, no query string) and through
  the routed path (a query string sends the request through FastAPI's routing; the tile still comes
  from the cache), and through the service function alone in this process.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

import layers
from bench._support import bench_database, demo_database
from bench.bench_qr import _free_port, _group_cpu_s, _parse_ms, _Server, _wait_http
from geomap import db, demo, layer_reader
from geomap.commands import run as serve_command
from geomap.ogc import api, tiles
from geomap.ogc.cache import OGCCaches

WARD = "hoa-cuong"
SEED = 14
CITY_SCALE = 17
BIG_SCALE = 170
N_TILES = 200
N_GEOJSON = 40
N_OGR = 10
N_CACHED = 5000
LOAD_S = 10
CONNECTIONS = 32
MAX_TILE_B = 500_000
N_CLUSTERED = 40
N_MOVED = 1000


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


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc; 0 when it is gone or unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu_s(engine) -> float:
    """CPU seconds used so far by this database's server processes (the bench's pooled connections): with this
    process's own CPU time, the work a tile costs whatever else the machine is doing."""
    pids = db.scalars(engine, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid()")
    return sum(_cpu_s(pid) for pid in pids)


def run() -> dict:
    figures = {"ward": _measure(demo_database("geomap_bench_tiles", WARD, 1), "demo ward")}
    print()
    figures["city"] = _measure(demo_database("geomap_bench_tiles_city", WARD, CITY_SCALE), "demo city (scale 17)")
    if os.environ.get("GEOMAP_BENCH_TILES_BIG") == "1":
        print()
        figures["city_x10"] = _measure(_big_city(), f"demo city ×10 (scale {BIG_SCALE})")
    return figures


def _big_city() -> str:
    """The city ten times larger (about a million establishments), loaded once; the load time printed."""
    url = bench_database("geomap_bench_tiles_city10")
    engine = db.get_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM establishment")).scalar()
    if n < 900_000:
        started = time.perf_counter()
        demo.load(engine, ward=WARD, scale=BIG_SCALE)
        print(f"  loaded the demo (scale {BIG_SCALE}) into geomap_bench_tiles_city10 in "
              f"{time.perf_counter() - started:.0f} s")
    return url


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
    figures: dict = {"establishments": len(points), "tiles": N_TILES, "load_before": _load()}
    print(f"  {len(points)} establishments placed; {N_TILES} random tiles at zooms 12-18 centred on them ({_load()})")
    for label, chosen in (("establishments", establishments), ("dataset", everything)):
        tiles.tile(engine, chosen, "public", *picks[0], caches)  # warm: source tables, connections
        times, sizes, by_zoom = [], [], {}
        cpu0, db_cpu0 = time.process_time(), _backends_cpu_s(engine)
        for z, x, y in picks:
            caches.tiles.clear()
            started = time.perf_counter()
            body, _ = tiles.tile(engine, chosen, "public", z, y, x, caches)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            sizes.append(len(body))
            by_zoom.setdefault(z, []).append(elapsed)
        cpu, db_cpu = time.process_time() - cpu0, _backends_cpu_s(engine) - db_cpu0
        figures[label] = {
            "cpu_ms_per_tile": {"python": round(1000 * cpu / len(picks), 2),
                                "postgres": round(1000 * db_cpu / len(picks), 2)},
            "uncached_p50_ms": round(statistics.median(times) * 1000, 1),
            "uncached_p99_ms": round(_pct(times, 0.99) * 1000, 1),
            "uncached_max_ms": round(max(times) * 1000, 1),
            "max_tile_bytes": max(sizes), "median_tile_bytes": int(statistics.median(sizes)),
            "tiles_over_500kb": sum(s > MAX_TILE_B for s in sizes),
            "p50_ms_by_zoom": {z: round(statistics.median(v) * 1000, 1) for z, v in sorted(by_zoom.items())},
        }
        f = figures[label]
        print(f"  {label}: uncached p50 {f['uncached_p50_ms']} ms, p99 {f['uncached_p99_ms']} ms "
              f"(max {f['uncached_max_ms']} ms); largest tile {f['max_tile_bytes'] / 1000:.1f} kB "
              f"(median {f['median_tile_bytes'] / 1000:.1f} kB), {f['tiles_over_500kb']} over 500 kB")
        print(f"    p50 by zoom (ms): {f['p50_ms_by_zoom']}; CPU a tile (mean): {f['cpu_ms_per_tile']['python']} ms "
              f"Python + {f['cpu_ms_per_tile']['postgres']} ms PostgreSQL ({_load()})")

    figures["clustered"] = _clustered(engine, [p for p in picks if p[0] < layer_reader.CLUSTER_BELOW_ZOOM])
    figures["cell_upkeep"] = _cell_upkeep(engine)

    for z, x, y in picks:  # the service function, cache filled: a dictionary lookup per tile
        tiles.tile(engine, establishments, "public", z, y, x, caches)
    started = time.perf_counter()
    for i in range(N_CACHED):
        z, x, y = picks[i % len(picks)]
        tiles.tile(engine, establishments, "public", z, y, x, caches)
    figures["cached_service_tiles_per_s"] = round(N_CACHED / (time.perf_counter() - started))
    deep = [p for p in picks if p[0] >= 15][:N_GEOJSON]
    figures["ogr2ogr"] = _ogr2ogr(url, deep[:N_OGR], establishments[0])
    figures.update(_http(url, picks, deep))
    print(f"  cached, service function alone: {figures['cached_service_tiles_per_s']} tiles/s (one thread)")
    return figures


def _clustered(engine, low: list[tuple[int, int, int]]) -> dict:
    """Clustered (zoom < 15) establishments tiles, uncached, read from the stored per-cell counts
    (``establishment_cell``, migration 0027) against counting every point of the tile (the same layer
    without ``cells``, the way before), in turns; each pair checked equal."""
    stored = layers.get("establishments")
    counted = dataclasses.replace(stored, cells=None)
    times: dict[str, list[float]] = {"stored": [], "counted": []}
    for z, x, y in low[:N_CLUSTERED]:
        bodies = []
        for label, layer in (("stored", stored), ("counted", counted)):
            started = time.perf_counter()
            bodies.append(layer_reader.read_tile(engine, layer, "public", z, x, y))
            times[label].append(time.perf_counter() - started)
        if _cells(bodies[0]) != _cells(bodies[1]):
            raise AssertionError(f"tile {z}/{x}/{y}: the stored cells differ from the counted ones")
    out = {label: {"p50_ms": round(statistics.median(v) * 1000, 1), "p99_ms": round(_pct(v, 0.99) * 1000, 1)}
           for label, v in times.items() if v}
    if out:
        print(f"  clustered tiles (zoom < 15, {len(times['stored'])} of them, each pair equal): from stored cells "
              f"p50 {out['stored']['p50_ms']} / p99 {out['stored']['p99_ms']} ms; counting every point "
              f"p50 {out['counted']['p50_ms']} / p99 {out['counted']['p99_ms']} ms ({_load()})")
    return out


def _cells(body: bytes) -> list[tuple]:
    """A clustered tile's features as GDAL reads them (tile units: no X/Y/Z given), sorted."""
    import pyogrio

    if not body:
        return []
    with tempfile.NamedTemporaryFile(suffix=".mvt") as f:
        f.write(body)
        f.flush()
        frame = pyogrio.read_dataframe(f.name, layer="establishments")
    ids = frame["id"] if "id" in frame else [None] * len(frame)
    return sorted((round(p.x, 3), round(p.y, 3), int(n), None if i is None or i != i else str(i))
                  for p, n, i in zip(frame.geometry, frame["point_count"], ids, strict=True))


def _cell_upkeep(engine) -> dict:
    """What the cells' triggers add to a write: moving N_MOVED establishments in one statement with the triggers
    and with them disabled (both rolled back)."""
    out = {}
    sql = sa.text("UPDATE establishment SET geom = ST_Translate(geom, 0.0001, 0) WHERE id IN "
                  "(SELECT id FROM establishment ORDER BY id LIMIT :n)")
    for label, disable in (("with_triggers", False), ("without", True)):
        with engine.connect() as c:
            tx = c.begin()
            if disable:
                for event in ("insert", "update", "delete"):
                    c.execute(sa.text(f"ALTER TABLE establishment DISABLE TRIGGER establishment_cell_{event}"))
            started = time.perf_counter()
            c.execute(sql, {"n": N_MOVED})
            out[label + "_ms"] = round((time.perf_counter() - started) * 1000, 1)
            tx.rollback()
    print(f"  moving {N_MOVED} establishments in one statement: {out['with_triggers_ms']} ms with the cells' "
          f"triggers, {out['without_ms']} ms without ({_load()})")
    return out


def _http(url: str, picks: list[tuple[int, int, int]], deep: list[tuple[int, int, int]]) -> dict:
    """The public service as ``geomap serve`` runs it: first requests (uncached) against GeoJSON pages, then
    ``wrk`` on the cached tiles through the fast path and through the routed path."""
    port = _free_port()
    server = _Server([sys.executable, "-m", "geomap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                     {"GEOMAP_DATABASE_URL": url})
    base = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        _wait_http(f"{base}/health")
        workers = serve_command.DEFAULT_WORKERS
        paths = [f"/ogc/collections/establishments/tiles/WebMercatorQuad/{z}/{y}/{x}" for z, x, y in picks]
        with httpx.Client(base_url=base, timeout=60) as client:
            tile_t, geo_t, ratios_t, ratios_b = [], [], [], []
            for z, x, y in deep:
                started = time.perf_counter()
                tile = client.get(f"/ogc/collections/establishments/tiles/WebMercatorQuad/{z}/{y}/{x}")
                tile_s = time.perf_counter() - started
                box = ",".join(f"{v:.7f}" for v in _lonlat(z, x, y))
                started = time.perf_counter()
                page = client.get("/ogc/collections/establishments/items", params={"bbox": box, "limit": 10000})
                page_s = time.perf_counter() - started
                assert tile.status_code == 200 and page.status_code == 200
                tile_t.append(tile_s)
                geo_t.append(page_s)
                ratios_t.append(page_s / max(tile_s, 1e-6))
                ratios_b.append(len(page.content) / max(len(tile.content), 1))
        out["http_uncached_vs_geojson"] = g = {
            "tiles_compared": len(deep), "tile_first_request_p50_ms": round(statistics.median(tile_t) * 1000, 1),
            "geojson_p50_ms": round(statistics.median(geo_t) * 1000, 1),
            "time_ratio_median": round(statistics.median(ratios_t), 2),
            "bytes_ratio_median": round(statistics.median(ratios_b), 2)}
        print(f"  over HTTP, z15–18, {len(deep)} tiles: first request of a tile p50 {g['tile_first_request_p50_ms']} "
              f"ms; GeoJSON items page over the same bounds p50 {g['geojson_p50_ms']} ms; GeoJSON/tile: time "
              f"×{g['time_ratio_median']}, bytes ×{g['bytes_ratio_median']}")
        if not shutil.which("wrk"):
            print("  cached over HTTP: skipped, wrk is not installed (geomap/system_deps.sh installs it)")
            return out
        with tempfile.TemporaryDirectory() as tmp:
            listed = Path(tmp) / "paths.txt"
            listed.write_text("\n".join(paths) + "\n")
            previous = 0  # every worker makes and keeps every tile: warm until the rate stops rising
            for _ in range(10):
                rate = _wrk(base, listed, "", 3)["rps"]
                if previous and rate < previous * 1.15:
                    break
                previous = rate
            for label, suffix in (("fast_path", ""), ("routed", "?via=route")):
                cpu0 = _group_cpu_s(server.proc.pid)
                found = _wrk(base, listed, suffix, LOAD_S)
                found["server_cpu_ms_per_tile"] = round(
                    1000 * (_group_cpu_s(server.proc.pid) - cpu0) / max(found["requests"], 1), 3)
                found["workers"], found["load"] = workers, _load()
                per_tile = max(found["server_cpu_ms_per_tile"], 0.001)
                found["capacity_tiles_per_s_2_cores_estimate"] = round(2000 / per_tile)
                out[f"http_cached_{label}"] = found
                print(f"  cached over HTTP ({label.replace('_', ' ')}; uvicorn, {workers} workers; wrk {CONNECTIONS} "
                      f"connections, {LOAD_S} s): {found['rps']} tiles/s, p50 {found['p50_ms']} ms, p99 "
                      f"{found['p99_ms']} ms, server CPU {found['server_cpu_ms_per_tile']} ms a tile (2 cores: "
                      f"~{found['capacity_tiles_per_s_2_cores_estimate']}/s), "
                      f"{found['non_2xx']} errors ({found['load']})")
    finally:
        server.stop()
    return out


_WRK_LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line .. "%s" end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def _wrk(base: str, listed: Path, suffix: str, seconds: int) -> dict:
    script = listed.with_suffix(f".{len(suffix)}.lua")
    script.write_text(_WRK_LUA % (listed, suffix))
    text = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                          capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {"rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))),
            "requests": int(re.search(r"(\d+) requests in", text).group(1)),
            "p50_ms": _parse_ms(lat.get("50", "")), "p99_ms": _parse_ms(lat.get("99", "")),
            "non_2xx": int(bad.group(1)) if bad else 0}


def _ogr2ogr(url: str, picks: list[tuple[int, int, int]], layer) -> dict | None:
    """GDAL's MVT writer on the same tiles: the view's rows in the tile's envelope, the public stored fields."""
    if not shutil.which("ogr2ogr") or not picks:
        print("  ogr2ogr: skipped (GDAL's command-line tools are not installed)")
        return None
    u = sa.engine.make_url(url)
    conn = (f"PG:host={u.host} port={u.port} user={u.username} dbname={u.database}"
            + (f" password={u.password}" if u.password else ""))
    fields = ", ".join(f'"{f.name}"' for f in layer_reader.profile_fields(layer, "public") if not f.derived)
    times, sizes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (z, x, y) in enumerate(picks):
            out = Path(tmp) / str(i)
            sql = (f"SELECT {fields}, geom FROM {layer.source} WHERE geom && "
                   f"ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => {64 / 4096}), 4326)")
            started = time.perf_counter()
            subprocess.run(["ogr2ogr", "-f", "MVT", str(out), conn, "-sql", sql, "-nln", layer.name,
                            "-dsco", f"MINZOOM={z}", "-dsco", f"MAXZOOM={z}", "-dsco", "FORMAT=DIRECTORY",
                            "-dsco", "COMPRESS=NO", "-dsco", "MAX_SIZE=5000000", "-dsco", "MAX_FEATURES=100000"],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - started)
            tile = out / str(z) / str(x) / f"{y}.pbf"
            sizes.append(tile.stat().st_size if tile.exists() else 0)
    found = {"tiles": len(picks), "p50_ms": round(statistics.median(times) * 1000, 1),
             "median_tile_bytes": int(statistics.median(sizes))}
    print(f"  reference, ogr2ogr -f MVT (same view and public fields, a process per tile, z15–18, {len(picks)} "
          f"tiles): p50 {found['p50_ms']} ms a tile, median {found['median_tile_bytes'] / 1000:.1f} kB")
    return found
