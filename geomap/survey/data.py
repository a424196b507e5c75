"""All of the survey domain's SQL: the worklist, one establishment's survey form, storefront photos, reviews.

Changes of the establishment row itself go through :mod:`geomap.records.edit` (locking, audit); the
photo insert here runs inside the caller's :func:`geomap.db.transaction`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db

#: what the survey shows of an establishment: never personal data (inspectors survey too)
_FORM = ("e.id, e.code, e.name, e.house_number, e.street, e.address, e.opening_hours, e.digital_payment, "
         "e.digital_platforms, e.uses_e_invoice, e.uses_sales_software, e.location_quality, e.review_status, "
         "e.verified_on, e.version, e.operating_status, "
         "e.vsic_code, i.name_vi AS industry_name_vi, i.name_en AS industry_name_en, "
         "rg.name AS residential_group, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat")
_HERE = "ST_SetSRID(ST_MakePoint(CAST(:x AS float8), CAST(:y AS float8)), 4326)::geography"
#: active, not rejected, without an exact position
_TODO = ("e.ward_id = :w AND e.operating_status = 'active' AND e.review_status <> 'rejected'")

_WORKLIST = sa.text(f"""
SELECT w.id, w.code, w.name, w.address, w.location_quality, w.residential_group, w.version, w.distance_m
FROM (
    (SELECT 0 AS placed_rank, e.id, e.code, e.name, e.address, e.location_quality, rg.code AS group_code,
            rg.name AS residential_group, e.version, ST_Distance(e.geom::geography, {_HERE}) AS distance_m,
            e.geom::geography <-> {_HERE} AS knn
     FROM establishment e LEFT JOIN residential_group rg ON rg.id = e.residential_group_id
     WHERE {_TODO} AND e.location_quality <> 'exact'
     ORDER BY e.geom::geography <-> {_HERE}, rg.code, e.name, e.id
     LIMIT :upto)
    UNION ALL
    (SELECT 1, e.id, e.code, e.name, e.address, e.location_quality, rg.code, rg.name, e.version, NULL, NULL
     FROM establishment e LEFT JOIN residential_group rg ON rg.id = e.residential_group_id
     WHERE {_TODO} AND e.geom IS NULL
     ORDER BY rg.code NULLS LAST, e.name, e.id
     LIMIT :upto)
) w
ORDER BY w.placed_rank, w.knn, w.group_code NULLS LAST, w.name, w.id
LIMIT :n OFFSET :o
""")


def worklist(bind: db.Bind, ward_id: int, lon: float | None, lat: float | None, limit: int,
             offset: int) -> list[dict[str, Any]]:
    """A page of the ward's active establishments without an exact position: placed approximately,
    nearest to (lon, lat) first by PostGIS KNN on geography (by residential group when no position
    is given), then those without any point, by residential group. ``distance_m`` in metres."""
    with db.read(bind) as conn:
        return [dict(r) for r in conn.execute(_WORKLIST, {"w": ward_id, "x": lon, "y": lat, "n": limit, "o": offset,
                                                          "upto": offset + limit}).mappings()]


def worklist_count(bind: db.Bind, ward_id: int) -> int:
    """How many establishments of the ward the worklist holds."""
    return int(db.scalar(bind, f"SELECT count(*) FROM establishment e WHERE {_TODO} "
                         "AND e.location_quality IS DISTINCT FROM 'exact'", {"w": ward_id}))


def form(bind: db.Bind, ward_id: int, code: str) -> dict[str, Any] | None:
    """The survey form's values of the ward's establishment ``code`` (None: no such establishment here)."""
    return db.row(bind, f"SELECT {_FORM} FROM establishment e LEFT JOIN industry i ON i.vsic_code = e.vsic_code "
                  "LEFT JOIN residential_group rg ON rg.id = e.residential_group_id "
                  "WHERE e.ward_id = :w AND e.code = :c", {"w": ward_id, "c": code})


def insert_photo(conn: Connection, establishment_id: int, media_type: str, width: int, height: int, content: bytes,
                 taken_by: int | None) -> int:
    """Store a cleaned storefront photo of the establishment; its id."""
    return int(conn.execute(sa.text(
        "INSERT INTO establishment_photo (establishment_id, media_type, width, height, content, taken_by) "
        "VALUES (:e, :m, :w, :h, :c, :u) RETURNING id"),
        {"e": establishment_id, "m": media_type, "w": width, "h": height, "c": content, "u": taken_by}).scalar_one())


def photos_of(bind: db.Bind, establishment_id: int) -> list[dict[str, Any]]:
    """The establishment's storefront photos (id, media type, size, when), newest first, without content."""
    return db.rows(bind, "SELECT id, media_type, width, height, created_at FROM establishment_photo "
                   "WHERE establishment_id = :e ORDER BY created_at DESC, id DESC", {"e": establishment_id})


def photo(bind: db.Bind, photo_id: int) -> dict[str, Any] | None:
    """One photo with its content and the ward of its establishment."""
    return db.row(bind, "SELECT p.id, p.media_type, p.content, e.ward_id, p.establishment_id "
                  "FROM establishment_photo p JOIN establishment e ON e.id = p.establishment_id WHERE p.id = :p",
                  {"p": photo_id})


def pending(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The ward's establishments added on site and waiting for review, oldest first, with who added them."""
    return db.rows(bind, f"SELECT {_FORM}, e.created_at, e.business_type, u.full_name AS added_by, "
                   "(SELECT max(p.id) FROM establishment_photo p WHERE p.establishment_id = e.id) AS photo_id "
                   "FROM establishment e LEFT JOIN industry i ON i.vsic_code = e.vsic_code "
                   "LEFT JOIN residential_group rg ON rg.id = e.residential_group_id "
                   "LEFT JOIN app_user u ON u.id = e.verified_by "
                   "WHERE e.ward_id = :w AND e.review_status = 'pending' ORDER BY e.created_at, e.id", {"w": ward_id})
