"""A small committed ward for the field app's tests and bench: an office, N establishments on a line,
an inspector with a saved route through them for today, and a second ward next door.

``make_site(engine, slug, n)`` returns {ward_id, other_ward_id, ids, other_id, off_plan_id, inspector,
password, office}; ``drop_site(engine, site)`` removes both wards (and, by cascade, their rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from geomap import auth, status
from geomap.inspections import data as inspection_data

PASSWORD = "mật-khẩu-hiện-trường-1"


def _square(x0: float, y0: float, d: float = 0.01) -> str:
    return f"MULTIPOLYGON((({x0} {y0},{x0 + d} {y0},{x0 + d} {y0 + d},{x0} {y0 + d},{x0} {y0})))"


def make_site(engine: sa.Engine, slug: str, n: int = 3, *, day: dt.date | None = None) -> dict[str, Any]:
    day = day or status.today()
    office = (108.3005, 16.2005)
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES (:s, 'Phường Hiện Trường', 'Đà Nẵng', "
            "5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"s": slug, "g": _square(108.30, 16.20)}).scalar_one()
        other_ward = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES (:s, 'Phường Bên Cạnh', 'Đà Nẵng', "
            "5899, ST_GeomFromText(:g, 4326)) RETURNING id"), {"s": slug + "-ben", "g": _square(108.31, 16.20)}
        ).scalar_one()
        c.execute(sa.text("INSERT INTO public_facility (ward_id, kind, name, geom) VALUES "
                          "(:w, 'ward_office', 'UBND', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                  {"w": ward_id, "x": office[0], "y": office[1]})

        def add(ward: int, code: str, name: str, x: float, y: float) -> int:
            return c.execute(sa.text(
                "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, address, owner_name, "
                "phone, geom) VALUES (:w, :c, :n, 'household', '5610', :a, 'Chủ Bí Mật', '0905123456', "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"),
                {"w": ward, "c": code, "n": name, "a": f"{code} Lê Duẩn", "x": x, "y": y}).scalar_one()

        ids = [add(ward_id, f"{slug[:6]}-{i}", f"Quán Số {i}", 108.301 + 0.0007 * i, 16.202 + 0.0005 * (i % 4))
               for i in range(1, n + 1)]
        off_plan = add(ward_id, f"{slug[:6]}-x", "Quán Ngoài Lộ Trình", 108.305, 16.205)
        other = add(other_ward, f"{slug[:6]}-o", "Quán Phường Khác", 108.315, 16.205)
        inspector = auth.create_user(c, f"{slug[:12]}.kt", "Cán Bộ Hiện Trường", "inspector", PASSWORD,
                                     ward_id=ward_id)
    stops = []
    for order, est_id in enumerate(ids, start=1):
        with engine.connect() as c:
            r = c.execute(sa.text("SELECT name, address, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM establishment "
                                  "WHERE id = :i"), {"i": est_id}).mappings().one()
        start_s = 8 * 3600 + order * 20 * 60
        stops.append({"order": order, "establishment_id": est_id, "name": r["name"], "address": r["address"],
                      "lon": r["lon"], "lat": r["lat"], "arrival_s": start_s, "start_s": start_s,
                      "end_s": start_s + 900, "must_visit": False, "priority": 1.0})
    inspection_data.replace_route(engine, ward_id, day, inspector_id=inspector.id, inspector_name=inspector.full_name,
                                  stops=stops, summary={"start": list(office), "end": list(office),
                                                        "travel_model": "straight"}, created_by=None)
    return {"ward_id": ward_id, "other_ward_id": other_ward, "ids": ids, "other_id": other, "off_plan_id": off_plan,
            "inspector": inspector, "password": PASSWORD, "office": office, "day": day, "slug": slug}


def drop_site(engine: sa.Engine, site: dict[str, Any]) -> None:
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM field_submission WHERE user_id = :u"), {"u": site["inspector"].id})
        c.execute(sa.text("DELETE FROM ward WHERE id IN (:a, :b)"), {"a": site["ward_id"], "b": site["other_ward_id"]})
