"""A small hand-made ward for the import, data-quality and dashboard tests.

Built inside the test's rolled-back connection, under its own slug so it never meets the
demo ward: the Hòa Cường boundary, split into two residential groups (west and east).
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy.engine import Connection

from geomap import profiles


@dataclass
class SmallWard:
    id: int
    slug: str
    shape: MultiPolygon
    groups: dict[str, int]  # code -> id
    west: Point  # a point inside group T01
    east: Point  # a point inside group T02

    def near(self, base: Point, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
        """A lon/lat about ``east_m`` / ``north_m`` metres from ``base`` (≈ 111 km per degree)."""
        import math

        return (base.x + east_m / (111_320 * math.cos(math.radians(base.y))), base.y + north_m / 110_574)


def _multi(g) -> MultiPolygon:
    if isinstance(g, MultiPolygon):
        return g
    polys = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
    return MultiPolygon(polys)


def make_ward(conn: Connection, slug: str = "test-ward") -> SmallWard:
    shape = profiles.get("hoa-cuong").boundary()
    wid = conn.execute(sa.text(
        "INSERT INTO ward (slug, name, province, local_srid, geom) "
        "VALUES (:s, 'Phường Thử nghiệm', 'Đà Nẵng', 5899, ST_GeomFromText(:g, 4326)) RETURNING id"),
        {"s": slug, "g": shape.wkt}).scalar_one()
    minx, miny, maxx, maxy = shape.bounds
    mid = shape.centroid.x
    halves = {"T01": _multi(shape.intersection(box(minx, miny, mid, maxy))),
              "T02": _multi(shape.intersection(box(mid, miny, maxx, maxy)))}
    groups = {}
    for code, geom in halves.items():
        groups[code] = conn.execute(sa.text(
            "INSERT INTO residential_group (ward_id, code, name, geom) "
            "VALUES (:w, :c, :n, ST_Multi(ST_GeomFromText(:g, 4326))) RETURNING id"),
            {"w": wid, "c": code, "n": f"Tổ {code[1:]}", "g": geom.wkt}).scalar_one()
    west = _deep_point(halves["T01"])
    east = _deep_point(halves["T02"])
    return SmallWard(wid, slug, shape, groups, west, east)


def _deep_point(geom) -> Point:
    """A point well inside ``geom`` (so points a few hundred metres around it stay inside)."""
    inner = geom.buffer(-0.004)
    target = inner if not inner.is_empty else geom
    p = target.representative_point()
    assert shapely.contains(geom, p)
    return p


def csv_bytes(rows: list[dict], headers: list[str] | None = None) -> bytes:
    """A UTF-8 CSV with the given headers (default: the union of the rows' keys, in order)."""
    import csv
    import io

    if headers is None:
        headers = []
        for r in rows:
            headers += [k for k in r if k not in headers]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=headers)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue().encode("utf-8")


def establishment_row(code: str | None, name: str, lonlat: tuple[float, float] | None, **extra) -> dict:
    row = {"Mã cơ sở": code or "", "Tên cơ sở": name, "Loại hình": "Hộ kinh doanh", "Mã ngành VSIC": "5610",
           "Kinh độ": lonlat[0] if lonlat else "", "Vĩ độ": lonlat[1] if lonlat else ""}
    row.update(extra)
    return row


def add_establishment(conn: Connection, ward: SmallWard, code: str, name: str, *, vsic: str = "5610",
                      group: str | None = "T01", lonlat: tuple[float, float] | None = None,
                      status: str = "active", payment: list[str] | None = None, tax_code: str | None = None,
                      licences: list[tuple] = (), inspections: list[tuple] = (),
                      created_at: str = "2024-01-01", updated_at: str | None = None) -> int:
    """Insert one establishment with its licences (kind, issued, expires) and inspections
    (date, result, follow_up_due) directly, for hand-computed expectations."""
    eid = conn.execute(sa.text(
        "INSERT INTO establishment (ward_id, code, name, business_type, vsic_code, operating_status, "
        "residential_group_id, digital_payment, tax_code, created_at, updated_at, geom) VALUES (:w, :c, :n, "
        "'household', :v, :s, :g, :dp, :tax, CAST(:ca AS timestamptz), CAST(:ua AS timestamptz), "
        "CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END) "
        "RETURNING id"),
        {"w": ward.id, "c": code, "n": name, "v": vsic, "s": status, "g": ward.groups.get(group) if group else None,
         "dp": payment or [], "tax": tax_code, "ca": created_at, "ua": updated_at or created_at,
         "lon": lonlat[0] if lonlat else None, "lat": lonlat[1] if lonlat else None}).scalar_one()
    for kind, issued, expires in licences:
        conn.execute(sa.text("INSERT INTO licence (establishment_id, kind, number, issued_on, expires_on) "
                             "VALUES (:e, :k, :num, :i, :x)"),
                     {"e": eid, "k": kind, "num": f"{code}-{kind[:3]}", "i": issued, "x": expires})
    for day, result, follow_up in inspections:
        conn.execute(sa.text("INSERT INTO inspection (establishment_id, inspected_on, kind, result, follow_up_due) "
                             "VALUES (:e, :d, 'periodic', :r, :f)"), {"e": eid, "d": day, "r": result, "f": follow_up})
    return eid
