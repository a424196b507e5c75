"""Test data (no tests here): a small ward for the export and OGC tests, away from the demo wards.

Rows carry Vietnamese text in NFC, personal data that must never appear in public
outputs, an invalid (self-intersecting) land parcel and mixed infrastructure geometries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SLUG = "thu-nghiem-xuat"
OWNER = "Nguyễn Thị Bí Mật"
OWNER_ID = "048199001234"
PHONE = "0905123456"
REPORTER = "Trần Văn Phản Ánh"
HOSTILE = "<script>alert(1)</script> Quán \"Ốc\" & Bún"

ESTABLISHMENTS = [
    # code, name, vsic, lon, lat, updated_at
    ("TX-0001", "Phở Hòa Cường — Bà Tư", "5610", 108.5201, 15.6402, dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)),
    ("TX-0002", "Cà phê Đường Sắt", "5630", 108.5215, 15.6418, dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)),
    ("TX-0003", "Tạp hóa Ánh Dương", "4711", 108.5230, 15.6431, dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)),
    ("TX-0004", "Bánh mì Ông Sáu", "5610", 108.5248, 15.6447, dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)),
    ("TX-0005", HOSTILE, "4711", 108.5262, 15.6460, dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)),
]


def loaded(engine: Engine) -> Iterator[dict]:
    """For a module fixture: the test ward, loaded (committed) for the module and deleted after it.

    The test database is shared by the whole run, so a ward committed here would otherwise stay
    for every later module (a ward the module found already loaded is left as it was).
    """
    with engine.connect() as c:
        there = c.execute(sa.text("SELECT 1 FROM ward WHERE slug = :s"), {"s": SLUG}).first() is not None
    ward = load(engine)
    try:
        yield ward
    finally:
        if not there:
            unload(engine)


def unload(engine: Engine) -> None:
    """Delete the test ward and, by cascade, everything in it."""
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM ward WHERE slug = :s"), {"s": SLUG})


def load(engine: Engine) -> dict:
    """Insert the test ward once (idempotent) and return its id and slug."""
    with engine.begin() as c:
        found = c.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": SLUG}).scalar()
        if found:
            return {"id": found, "slug": SLUG}
        vsic = [r[0] for r in c.execute(sa.text("SELECT vsic_code FROM industry ORDER BY vsic_code"))]
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, official_area_km2, population, geom) VALUES "
            "(:s, 'Phường Thử Nghiệm Xuất', 'Thành phố Đà Nẵng', 5899, 1.5, 1000, "
            "ST_Multi(ST_MakeEnvelope(108.515, 15.635, 108.530, 15.650, 4326))) RETURNING id"), {"s": SLUG}).scalar()
        rg = c.execute(sa.text(
            "INSERT INTO residential_group (ward_id, code, name, population, households, geom) VALUES "
            "(:w, 'TDP-01', 'Tổ dân phố số 1', 420, 110, "
            "ST_Multi(ST_MakeEnvelope(108.515, 15.635, 108.522, 15.642, 4326))) RETURNING id"), {"w": ward_id}).scalar()
        for code, name, code_vsic, lon, lat, updated in ESTABLISHMENTS:
            code_vsic = code_vsic if code_vsic in vsic else vsic[0]
            eid = c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, "
                "residential_group_id, digital_payment, owner_name, owner_id_number, phone, email, geom) VALUES "
                "(:w, :code, :name, 'household', :vsic, :addr, :rg, ARRAY['qr_bank','e_wallet'], :owner, :oid, "
                ":phone, 'bi.mat@example.vn', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"),
                {"w": ward_id, "code": code, "name": name, "vsic": code_vsic, "addr": f"{code[-1]} Núi Thành",
                 "rg": rg, "owner": OWNER, "oid": OWNER_ID, "phone": PHONE, "lon": lon, "lat": lat}).scalar()
            c.execute(sa.text("UPDATE establishment SET updated_at = :u WHERE id = :id"), {"u": updated, "id": eid})
            c.execute(sa.text(
                "INSERT INTO licence (establishment_id, kind, number, issuer, issued_on, expires_on) VALUES "
                "(:e, 'business_registration', :n, 'UBND phường', '2024-01-02', NULL), "
                "(:e, 'food_safety_certificate', :m, 'Sở Y tế', '2025-02-03', '2028-02-03')"),
                {"e": eid, "n": f"ĐKKD-{code}", "m": f"ATTP-{code}"})
            c.execute(sa.text(
                "INSERT INTO inspection (establishment_id, inspected_on, inspector_name, kind, result, violations) "
                "VALUES (:e, '2026-05-04', 'Cán bộ Kiểm Tra', 'periodic', :r, CAST(:v AS jsonb))"),
                {"e": eid, "r": "violation" if code.endswith("2") else "pass",
                 "v": '[{"code": "ATTP-03", "severity": 2, "text": "Không đội mũ, đeo găng khi chế biến"}]'
                 if code.endswith("2") else "[]"})
        # a bow-tie polygon: invalid in the database, repaired on export
        c.execute(sa.text(
            "INSERT INTO land_parcel (ward_id, map_sheet, parcel_no, land_use_code, area_m2, planning_zone, geom) "
            "VALUES (:w, '12', '345', 'ODT', 120.5, 'Phân khu Đông', ST_GeomFromText("
            "'POLYGON((108.516 15.636, 108.517 15.637, 108.517 15.636, 108.516 15.637, 108.516 15.636))', 4326)),"
            "(:w, '12', '346', 'TMD', 98.0, NULL, ST_MakeEnvelope(108.518, 15.636, 108.5185, 15.6365, 4326))"),
            {"w": ward_id})
        c.execute(sa.text(
            "INSERT INTO infrastructure (ward_id, kind, code, condition, installed_on, geom) VALUES "
            "(:w, 'street_light', 'TX-DEN-1', 'working', '2023-04-05', "
            "ST_SetSRID(ST_MakePoint(108.519, 15.638), 4326)),"
            "(:w, 'drain', 'TX-CONG-1', 'faulty', NULL, ST_GeomFromText('LINESTRING(108.519 15.639, 108.521 15.640)',"
            " 4326))"), {"w": ward_id})
        c.execute(sa.text(
            "INSERT INTO field_report (ward_id, public_id, category, description, channel, status, reported_at, "
            "reporter_name, reporter_contact, geom) VALUES (:w, 'PA-TX-1', 'garbage', 'Rác tồn đọng đầu hẻm', 'qr', "
            "'new', '2026-04-01T09:00:00+07:00', :r, :p, ST_SetSRID(ST_MakePoint(108.5205, 15.6405), 4326))"),
            {"w": ward_id, "r": REPORTER, "p": PHONE})
        return {"id": ward_id, "slug": SLUG}


#: lon/lat box around the test ward (other tests may load the demo ward into the same database)
BBOX = (108.514, 15.634, 108.531, 15.651)
PERSONAL_VALUES = (OWNER, OWNER_ID, PHONE, REPORTER, "bi.mat@example.vn")
