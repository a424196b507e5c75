"""Import benchmark: a 10,000-row XLSX of establishments with licences into the demo ward.

Measures, each in a fresh child process (so peak memory is the import's own): the dry run,
the real run (all-or-nothing, COPY + INSERT/UPDATE, audit rows included) and re-importing
the same file (everything matched, nothing duplicated). The reference is the naive way:
inserting row by row through the ORM (one ``Establishment`` + its ``Licence`` objects, a
flush per row), timed on a sample and extrapolated to 10,000 rows — and that reference
does not even check, match or audit anything.

Targets: dry run and real run each ≤ 20 s; peak memory ≤ 1 GB.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench._support import demo_database
from geomap import db, profiles
from geomap.wards import data as ward_data

WARD = "hoa-cuong"
DATABASE = "geomap_bench_import"
ROWS = 10_000
ORM_SAMPLE = 300
TARGET_S = 20.0
TARGET_PEAK_MB = 1024
PREFIX = "BENCH-"


def _database() -> str:
    url = demo_database(DATABASE, WARD)
    _clean(db.get_engine(url))
    return url


def _clean(engine: sa.Engine) -> None:
    with db.transaction(engine) as c:
        c.execute(sa.text("DELETE FROM audit_log WHERE action = 'import'"))
        c.execute(sa.text("DELETE FROM establishment WHERE code LIKE :p OR name LIKE :n"),
                  {"p": PREFIX + "%", "n": "Cơ sở thử nghiệm %"})


def _points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    import shapely

    boundary = profiles.get(WARD).boundary().buffer(-0.0005)
    shapely.prepare(boundary)
    minx, miny, maxx, maxy = boundary.bounds
    rnd, out = random.Random(seed), []
    while len(out) < n:
        xs = [rnd.uniform(minx, maxx) for _ in range(n)]
        ys = [rnd.uniform(miny, maxy) for _ in range(n)]
        inside = shapely.contains_xy(boundary, xs, ys)
        out += [(round(x, 7), round(y, 7)) for x, y, ok in zip(xs, ys, inside, strict=True) if ok]
    return out[:n]


def make_file(path: Path, n: int = ROWS) -> Path:
    """A realistic template-shaped XLSX: establishments with registration and food-safety licences."""
    from openpyxl import Workbook

    from geomap.importing import COLUMNS

    cols = [c for c in COLUMNS["establishments"]]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Cơ sở kinh doanh")
    ws.append([c.header_vi for c in cols])
    rnd = random.Random(11)
    food = ["5610", "5621", "5629", "5630", "4722", "4781"]
    other = ["4719", "4730", "4771", "9631", "9511", "5510"]
    streets = ["Núi Thành", "Nguyễn Hữu Thọ", "Xô Viết Nghệ Tĩnh", "Trưng Nữ Vương", "Lê Thanh Nghị", "Hoàng Diệu"]
    payments = ["", "Mã QR ngân hàng", "Mã QR ngân hàng, Ví điện tử", "Quẹt thẻ (POS), Chuyển khoản"]
    for i, (lon, lat) in enumerate(_points(n)):
        is_food = rnd.random() < 0.45
        issued = dt.date(2018, 1, 1) + dt.timedelta(days=rnd.randrange(0, 2800))
        cert = dt.date(2023, 1, 1) + dt.timedelta(days=rnd.randrange(0, 1000))
        street = rnd.choice(streets)
        house = str(rnd.randrange(1, 400))
        row = {
            "code": f"{PREFIX}{i:05d}", "name": f"Cơ sở thử nghiệm {i}", "business_type": "Hộ kinh doanh",
            "vsic_code": rnd.choice(food if is_food else other), "operating_status": "Đang hoạt động",
            "house_number": house, "street": street, "address": f"{house} {street}, Hòa Cường",
            "lon": lon, "lat": lat, "tax_code": f"09{i:08d}-999", "digital_payment": rnd.choice(payments),
            "opening_hours": "06:00-22:00", "employees": rnd.randrange(1, 12), "owner_name": "Nguyễn Văn Thử",
            "phone": f"09{i:08d}", "registration_number": f"32A8{i:06d}", "registration_issued_on": issued,
        }
        if is_food and rnd.random() < 0.6:
            row.update(fs_certificate_number=f"ATTP-{i:05d}", fs_certificate_issued_on=cert,
                       fs_certificate_expires_on=cert + dt.timedelta(days=3 * 365))
        elif is_food:
            row.update(fs_commitment_number=f"CK-{i:05d}", fs_commitment_issued_on=cert)
        ws.append([row.get(c.name) for c in cols])
    wb.save(path)
    return path


def _child(url: str, path: str, mode: str) -> dict:
    """Runs in a fresh process: one import step, its wall time and the process's peak memory."""
    import resource

    from geomap.importing import dry_run, run_import

    engine = db.get_engine(url)
    ward = ward_data.ward_id(engine, WARD)
    started = time.perf_counter()
    if mode == "dry":
        plan = dry_run(engine, "establishments", path, ward_id=ward)
        counts = plan.counts
    else:
        result = run_import(engine, "establishments", path, ward_id=ward, user=None)  # system actor
        counts = {**result.plan.counts, "audit": result.audit_entries, "licences": result.licences_inserted}
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 2), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "counts": counts}


def _step(url: str, path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--child", url, str(path), mode],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _orm_row_by_row(url: str, path: Path, sample: int) -> float:
    """Seconds per row inserting through the ORM, one flush per row (rolled back)."""
    from geoalchemy2 import WKTElement
    from openpyxl import load_workbook
    from sqlalchemy.orm import Session

    from geomap.importing import COLUMNS
    from geomap.models import Establishment, Licence

    names = [c.name for c in COLUMNS["establishments"]]  # the file's columns, in the template's order
    ws = load_workbook(path, read_only=True)["Cơ sở kinh doanh"]
    rows = []
    for i, r in enumerate(ws.iter_rows(min_row=2, values_only=True)):
        if i >= sample:
            break
        rows.append(dict(zip(names, r, strict=False)))  # trailing empty cells may be left out
    engine = db.get_engine(url)
    ward = ward_data.ward_id(engine, WARD)
    with Session(engine) as s:
        s.begin()
        started = time.perf_counter()
        for r in rows:
            e = Establishment(ward_id=ward, code=r["code"], name=r["name"], business_type="household",
                              vsic_code=r["vsic_code"], operating_status="active", house_number=r["house_number"],
                              street=r["street"], address=r["address"], tax_code=r["tax_code"], phone=r["phone"],
                              owner_name=r["owner_name"], search_key=r["name"].lower(),
                              geom=WKTElement(f"POINT({r['lon']} {r['lat']})", srid=4326))
            s.add(e)
            s.flush()
            s.add(Licence(establishment_id=e.id, kind="business_registration", number=r["registration_number"],
                          issued_on=r["registration_issued_on"]))
            if r.get("fs_certificate_number"):
                s.add(Licence(establishment_id=e.id, kind="food_safety_certificate", number=r["fs_certificate_number"],
                              issued_on=r["fs_certificate_issued_on"], expires_on=r["fs_certificate_expires_on"]))
            s.flush()
        per_row = (time.perf_counter() - started) / len(rows)
        s.rollback()
    return per_row


def run() -> dict:
    url = _database()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_file(Path(tmp) / "co-so-10000.xlsx")
        size_mb = path.stat().st_size / 1024 / 1024
        dry = _step(url, path, "dry")
        per_row = _orm_row_by_row(url, path, ORM_SAMPLE)  # rolled back: the real run starts from the same state
        real = _step(url, path, "real")
        again = _step(url, path, "dry")
    _clean(db.get_engine(url))
    orm_total = per_row * ROWS
    figures = {
        "rows": ROWS, "file_mb": round(size_mb, 2),
        "dry_run_s": dry["seconds"], "dry_run_peak_mb": dry["peak_mb"], "dry_run_counts": dry["counts"],
        "real_run_s": real["seconds"], "real_run_peak_mb": real["peak_mb"], "real_run_counts": real["counts"],
        "reimport_dry_run_s": again["seconds"], "reimport_counts": again["counts"],
        "orm_row_by_row_s_per_row": round(per_row, 5), "orm_row_by_row_extrapolated_s": round(orm_total, 1),
        "orm_sample_rows": ORM_SAMPLE, "ratio_orm_vs_real_run": round(orm_total / real["seconds"], 1),
        "targets": {"dry_run_s": TARGET_S, "real_run_s": TARGET_S, "peak_mb": TARGET_PEAK_MB},
    }
    figures["meets_targets"] = (dry["seconds"] <= TARGET_S and real["seconds"] <= TARGET_S
                                and max(dry["peak_mb"], real["peak_mb"]) <= TARGET_PEAK_MB)
    print(f"  file: {ROWS} rows, {size_mb:.1f} MB XLSX")
    print(f"  dry run:   {dry['seconds']:6.2f} s, peak {dry['peak_mb']} MB, {dry['counts']}")
    print(f"  real run:  {real['seconds']:6.2f} s, peak {real['peak_mb']} MB, {real['counts']}")
    print(f"  re-import: {again['seconds']:6.2f} s (dry run), {again['counts']}")
    print(f"  ORM row by row: {per_row * 1000:.2f} ms/row on {ORM_SAMPLE} rows -> ~{orm_total:.0f} s for {ROWS} "
          f"(extrapolated; no checks, matching or audit) = {orm_total / real['seconds']:.1f}x the real run")
    verdict = "met" if figures["meets_targets"] else "MISSED"
    print(f"  targets (≤{TARGET_S:.0f} s each, ≤{TARGET_PEAK_MB} MB): {verdict}")
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        print(json.dumps(run(), indent=2, default=str))
