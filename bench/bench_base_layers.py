"""Base-layer import benchmark: 10,000 land parcels and 312 residential groups inside the demo ward's boundary.

The files are generated here as GeoJSON, the way a ward's GIS exports them: 312 residential
groups tiling the Hòa Cường boundary (a Voronoi diagram of random points, clipped), and 10,000
parcels (squares of 12 m on a grid, 100 parcels a sheet, land-use codes mixed) inside it. Each
is imported through geomap's one import path, into a scratch ward of a scratch database:

- dry run (read, parse every row, CRS and validity, the layer's own checks — overlaps and gaps
  between all 312 groups in VN-2000, duplicate sheet/parcel numbers — and matching);
- real run (the same checks again inside the transaction, COPY + INSERT/UPDATE, one audit
  entry per row);
- re-import dry run (every row matched, no change).

Reference, measured in the same run: GDAL's ``ogr2ogr -f PostgreSQL`` loading the same files
into a scratch table — the naive load, with no check, no matching, no audit, no all-or-nothing.

Targets: dry run and real run each ≤ 20 s.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from bench._support import bench_database, drop_database
from geomap import db, profiles
from geomap.importing import geometry as geo

WARD = "hoa-cuong"
DATABASE = "geomap_bench_base_layers"
SLUG = "bench-base-layers"
GROUPS = 312
PARCELS = 10_000
PARCEL_M = 12.0
TARGET_S = 20.0
SRID = 5899


def _write(path: Path, rows: list[dict], shapes: list) -> Path:
    feats = [{"type": "Feature", "properties": r, "geometry": mapping(g)} for r, g in zip(rows, shapes, strict=True)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def make_groups(path: Path, n: int = GROUPS, seed: int = 5) -> Path:
    """``n`` residential groups tiling the ward: Voronoi cells of random points, clipped to the boundary."""
    boundary = geo.to_local(profiles.get(WARD).boundary(), SRID)
    minx, miny, maxx, maxy = boundary.bounds
    rnd, points = random.Random(seed), []
    while len(points) < n:
        p = shapely.Point(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy))
        if boundary.contains(p):
            points.append(p)
    cells = geo.to_wgs84(np.asarray(geo.voronoi_tiling(points, boundary), dtype=object), SRID)
    rows = [{"Mã tổ": f"B{k + 1:03d}", "Tổ dân phố": f"Tổ {k + 1}", "Dân số": rnd.randrange(300, 2500),
             "Số hộ": rnd.randrange(80, 600)} for k in range(n)]
    return _write(path, rows, list(cells))


def make_parcels(path: Path, n: int = PARCELS, seed: int = 9) -> Path:
    """``n`` square parcels on a grid inside the ward, 100 a map sheet."""
    boundary = geo.to_local(profiles.get(WARD).boundary(), SRID).buffer(-20)
    minx, miny, maxx, maxy = boundary.bounds
    step = PARCEL_M + 1.0
    xs = np.arange(minx, maxx - PARCEL_M, step)
    ys = np.arange(miny, maxy - PARCEL_M, step)
    gx, gy = np.meshgrid(xs, ys)
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + PARCEL_M, gy.ravel() + PARCEL_M)
    shapely.prepare(boundary)
    cells = cells[shapely.contains(boundary, cells)]
    rnd = random.Random(seed)
    chosen = sorted(rnd.sample(range(len(cells)), n))
    shapes = list(geo.to_wgs84(cells[chosen], SRID))
    codes = ["ODT"] * 7 + ["TMD", "DGT", "CXD"]
    rows = [{"Tờ bản đồ": str(1 + k // 100), "Số thửa": str(1 + k % 100), "Mục đích sử dụng": rnd.choice(codes),
             "Phân khu quy hoạch": f"Khu {1 + k // 2000}"} for k in range(n)]
    return _write(path, rows, shapes)


def _ward(engine: sa.Engine) -> int:
    shape = profiles.get(WARD).boundary()
    with db.transaction(engine) as c:
        c.execute(sa.text("DELETE FROM ward WHERE slug = :s"), {"s": SLUG})
        return c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES (:s, 'Phường Đo thử', 'Đà Nẵng', :srid, "
            "ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"),
            {"s": SLUG, "srid": SRID, "g": shape.wkt}).scalar_one()


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - started, 2), out


def _ogr2ogr(url: str, path: Path, table: str) -> float:
    u = sa.engine.make_url(url)
    pg = f"PG:host={u.host} port={u.port} user={u.username} dbname={u.database}" + (
        f" password={u.password}" if u.password else "")
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", table, "-overwrite", "-lco",
                    "GEOMETRY_NAME=geom", "--config", "PG_USE_COPY", "YES"], check=True, capture_output=True)
    return round(time.perf_counter() - started, 2)


def run() -> dict:
    from geomap.importing import dry_run, run_import

    url = bench_database(DATABASE, fresh=True)
    engine = db.get_engine(url)
    ward = _ward(engine)
    figures: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            groups = make_groups(Path(tmp) / "to-dan-pho.geojson")
            parcels = make_parcels(Path(tmp) / "thua-dat.geojson")
            figures["file_mb"] = {"groups": round(groups.stat().st_size / 1e6, 1),
                                  "parcels": round(parcels.stat().st_size / 1e6, 1)}
            for kind, path, n in (("residential_groups", groups, GROUPS), ("land_parcels", parcels, PARCELS)):
                dry_s, plan = _timed(lambda k=kind, p=path: dry_run(engine, k, p, ward_id=ward))
                assert not plan.blocked, [i.describe("en") for i in plan.issues()][:5]
                assert plan.counts["insert"] == n, plan.counts
                real_s, result = _timed(lambda k=kind, p=path: run_import(engine, k, p, ward_id=ward))
                assert result.inserted == n and result.audit_entries == n
                again_s, again = _timed(lambda k=kind, p=path: dry_run(engine, k, p, ward_id=ward))
                assert again.counts["unchanged"] == n, again.counts
                ogr_s = _ogr2ogr(url, path, f"scratch_{kind}")
                figures[kind] = {"rows": n, "dry_run_s": dry_s, "real_run_s": real_s, "reimport_dry_run_s": again_s,
                                 "ogr2ogr_s": ogr_s, "ratio_real_to_ogr2ogr": round(real_s / max(ogr_s, 0.01), 1),
                                 "within_target": dry_s <= TARGET_S and real_s <= TARGET_S}
                print(f"{kind:>19}: {n:>6} rows  dry run {dry_s:6.2f} s  real run {real_s:6.2f} s  "
                      f"re-import (dry) {again_s:6.2f} s  |  ogr2ogr (no checks) {ogr_s:6.2f} s  "
                      f"target ≤ {TARGET_S:.0f} s: {'met' if figures[kind]['within_target'] else 'MISSED'}")
        with engine.connect() as c:
            stored = c.execute(sa.text("SELECT (SELECT count(*) FROM land_parcel WHERE ward_id = :w), "
                                       "(SELECT count(*) FROM residential_group WHERE ward_id = :w)"),
                               {"w": ward}).one()
        figures["stored"] = {"land_parcels": stored[0], "residential_groups": stored[1]}
    finally:
        engine.dispose()
        db._engine_for.cache_clear()
        drop_database(url)
    return figures


if __name__ == "__main__":
    run()
