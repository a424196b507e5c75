"""All of the demo's SQL: the COPY loader that writes generated wards to PostGIS.

The loader deletes the ward row first (its children cascade), then writes every table with
PostgreSQL ``COPY ... FROM STDIN`` through psycopg: geometry as hex EWKB, arrays and JSON
as their text forms, ids reserved up front. :func:`geomap.demo.load` runs all of it on one
connection inside one :func:`geomap.db.transaction`, so a failure anywhere leaves the
database as it was; each write here is a unit of its own (a savepoint inside that one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db
from geomap.demo.synthesis import TABLES, WardData

#: columns written per table; ``*_idx`` columns are positional references resolved to ids
COLUMNS: dict[str, tuple[str, ...]] = {
    "former_ward_zone": ("ward_id", "name", "is_synthetic", "geom"),
    "residential_group": ("ward_id", "code", "name", "population", "households", "is_synthetic", "geom"),
    "market": ("ward_id", "code", "name", "address", "is_pilot_smart_market", "is_synthetic", "geom", "footprint"),
    "establishment": ("ward_id", "code", "name", "search_key", "business_type", "vsic_code", "operating_status",
                      "house_number", "street", "address", "residential_group_id", "market_id", "tax_code",
                      "digital_payment", "digital_platforms", "uses_e_invoice", "uses_sales_software", "opening_hours",
                      "employees", "opened_on", "closed_on", "owner_name", "owner_id_number", "phone", "email",
                      "is_synthetic", "geom"),
    "stall": ("market_id", "stall_no", "zone", "establishment_id", "accepts_qr_pos", "geom"),
    "licence": ("establishment_id", "kind", "number", "issuer", "issued_on", "expires_on", "revoked_on", "note"),
    "inspection": ("establishment_id", "inspected_on", "inspector_name", "kind", "result", "violations", "notes",
                   "follow_up_due", "made_via"),
    "land_parcel": ("ward_id", "map_sheet", "parcel_no", "land_use_code", "area_m2", "planning_zone",
                    "is_synthetic", "geom"),
    "infrastructure": ("ward_id", "kind", "code", "condition", "installed_on", "is_synthetic", "geom"),
    "public_facility": ("ward_id", "kind", "name", "address", "is_synthetic", "geom"),
    "field_report": ("ward_id", "public_id", "category", "description", "channel", "status", "reported_at",
                     "deadline_at", "resolved_at", "establishment_id", "duplicate_of_id", "reporter_name",
                     "reporter_contact", "contact_consent_at", "consent_notice", "is_synthetic", "geom"),
    "field_report_update": ("report_id", "at", "status_from", "status_to", "note", "is_public"),
    "street": ("ward_id", "name", "name_key", "street_key", "alley", "kind", "length_m", "source", "geom"),
    "stall_payment_evidence": ("stall_id", "method", "seen_on", "seen_by", "photo", "note"),
}
#: reference column -> (table it points to, positional column in the frame)
REFERENCES: dict[str, tuple[str, str]] = {
    "residential_group_id": ("residential_group", "residential_group_idx"),
    "market_id": ("market", "market_idx"),
    "establishment_id": ("establishment", "establishment_idx"),
    "duplicate_of_id": ("field_report", "duplicate_of_idx"),
    "report_id": ("field_report", "report_idx"),
    "stall_id": ("stall", "stall_idx"),
}
GEOMETRY_COLUMNS = ("geom", "footprint")
#: columns added by later migrations of other features: written when the database has them
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"field_report": ("address",)}


def delete_wards(bind: db.Bind, slugs: Sequence[str]) -> int:
    """Delete the wards ``slugs`` and, by cascade, everything in them; the number of wards deleted."""
    with db.transaction(bind) as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM ward WHERE slug = ANY(:s)"), {"s": list(slugs)})]
        if not ids:
            return 0
        conn.execute(sa.text("DELETE FROM ward WHERE id = ANY(:ids)"), {"ids": ids})
        return len(ids)


def _reserve_ids(conn: Connection, table: str, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.int64)
    rows = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                        {"t": table, "n": n})
    return np.array([r[0] for r in rows], dtype=np.int64)


def _existing_columns(conn: Connection, table: str) -> set[str]:
    rows = conn.execute(sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                                "AND table_schema = current_schema()"), {"t": table})
    return {r[0] for r in rows}


def _ewkb(values: Iterable[Any]) -> list[str | None]:
    arr = np.array(list(values), dtype=object)
    out: list[str | None] = [None] * len(arr)
    present = np.array([v is not None for v in arr], dtype=bool)
    if present.any():
        geoms = shapely.set_srid(arr[present], 4326)
        hexes = shapely.to_wkb(geoms, hex=True, include_srid=True)
        for i, h in zip(np.flatnonzero(present), hexes, strict=True):
            out[i] = h
    return out


def _array_literal(items: Sequence[str]) -> str:
    return "{" + ",".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items) + "}"


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_ward(bind: db.Bind, data: WardData) -> dict[str, int]:
    """Insert ``data`` (a ward not in the database); the rows written per table."""
    with db.transaction(bind) as conn:
        return _write_ward(conn, data)


def _write_ward(conn: Connection, data: WardData) -> dict[str, int]:
    w = data.ward
    ward_id = conn.execute(sa.text(
        "INSERT INTO ward (slug, name, province, local_srid, official_area_km2, population, osm_relation_id, geom) "
        "VALUES (:slug, :name, :province, :local_srid, :area, :population, :osm, "
        "ST_Multi(ST_GeomFromEWKB(decode(:geom, 'hex')))) RETURNING id"),
        {"slug": w["slug"], "name": w["name"], "province": w["province"], "local_srid": w["local_srid"],
         "area": w["official_area_km2"], "population": w["population"], "osm": w["osm_relation_id"],
         "geom": _ewkb([w["geom"]])[0]}).scalar_one()
    ids: dict[str, np.ndarray] = {}
    counts = {"ward": 1}
    raw = conn.connection.driver_connection
    for table in TABLES:
        frame = data.tables[table]
        ids[table] = _reserve_ids(conn, table, len(frame))
        counts[table] = len(frame)
        if frame.empty:
            continue
        present = _existing_columns(conn, table)
        wanted = [*COLUMNS[table], *(c for c in OPTIONAL_COLUMNS.get(table, ()) if c in present and c in frame)]
        columns = ["id", *wanted]
        series: list[list[Any]] = [ids[table].tolist()]
        for col in wanted:
            if col == "ward_id":
                series.append([ward_id] * len(frame))
            elif col in REFERENCES:
                target, idx_col = REFERENCES[col]
                idx = frame[idx_col].astype("Int64")
                target_ids = ids[target]
                series.append([None if pd.isna(i) else int(target_ids[int(i)]) for i in idx])
            elif col in GEOMETRY_COLUMNS:
                series.append(_ewkb(frame[col]))
            elif col in ("digital_payment", "digital_platforms"):
                series.append([_array_literal(v) for v in frame[col]])
            elif col == "violations":
                series.append([json.dumps(v, ensure_ascii=False) for v in frame[col]])
            else:
                series.append([_plain(v) for v in frame[col].tolist()])
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in zip(*series, strict=True):
                copy.write_row(row)
    return counts


def analyze(bind: db.Bind) -> None:
    """Refresh planner statistics of the demo tables (bulk loads leave them stale)."""
    with db.transaction(bind) as conn:
        for table in ("ward", *TABLES):
            conn.execute(sa.text(f"ANALYZE {table}"))
