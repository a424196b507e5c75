"""All of the records domain's SQL: establishments, licences, inspections and the quality frame.

Reads take a :data:`geomap.db.Bind` and go through :func:`geomap.db.rows`, :func:`~geomap.db.row` and
:func:`~geomap.db.scalar` (or open it with :func:`geomap.db.read` for several statements). Writes take the
``Connection`` of the caller's :func:`geomap.db.transaction` (the edit services in
:mod:`geomap.records.edit` open it, lock, check, write and audit in that one unit), so a
statement here never commits on its own.

Optimistic locking: :func:`lock_establishment` takes the row ``FOR UPDATE`` and
:func:`write_establishment` changes it only ``WHERE version = :expected``, raising the version
by one; the importer's bulk update (:mod:`geomap.importing.data`) uses the same condition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db, status
from geomap.records.rules import EDITABLE
from geomap.text import search_key

#: what an edit reads and the audit compares: the row, its version and its point
_SNAPSHOT = ", ".join(("id", "ward_id", "version", "closed_on", *EDITABLE)) + \
    ", ST_X(geom) AS lon, ST_Y(geom) AS lat, location_quality, review_status, verified_on, verified_by, updated_at"
_STATUS_COLUMNS = ("id", *status.INPUT_COLUMNS)
#: the tables a foreign key of an establishment may name, with the ward they belong to
_WARD_TABLES = {"residential_group_id": "residential_group", "market_id": "market"}


def _frame(res: sa.CursorResult) -> pd.DataFrame:
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


# --- reading -------------------------------------------------------------------------------------


def establishment(bind: db.Bind, establishment_id: int) -> dict[str, Any] | None:
    """The establishment row with its ``version`` and ``lon``/``lat`` (None when there is none)."""
    return db.row(bind, f"SELECT {_SNAPSHOT} FROM establishment WHERE id = :id", {"id": establishment_id})


def status_inputs(bind: db.Bind, ids: Sequence[int]) -> pd.DataFrame:
    """``id`` and the status rules' inputs (:data:`geomap.status.INPUT_COLUMNS`) of the establishments ``ids``."""
    with db.read(bind) as conn:
        return _frame(conn.execute(sa.text(f"SELECT {', '.join(_STATUS_COLUMNS)} FROM establishment_overview "
                                           "WHERE id = ANY(:ids)"), {"ids": list(ids)}))


def overview(bind: db.Bind, establishment_id: int) -> dict[str, Any] | None:
    """The ``establishment_overview`` row of one establishment, without its geometry (None when there is none)."""
    row = db.row(bind, "SELECT * FROM establishment_overview WHERE id = :id", {"id": establishment_id})
    return None if row is None else {k: v for k, v in row.items() if k != "geom"}


def lookups(bind: db.Bind, ward_id: int) -> dict[str, list[dict[str, Any]]]:
    """The choices an edit form offers: industries, and the ward's residential groups and markets."""
    with db.read(bind) as conn:
        return {
            "industries": db.rows(conn, "SELECT vsic_code, name_vi, name_en FROM industry ORDER BY vsic_code"),
            "groups": db.rows(conn, "SELECT id, name FROM residential_group WHERE ward_id = :w ORDER BY code",
                              {"w": ward_id}),
            "markets": db.rows(conn, "SELECT id, name FROM market WHERE ward_id = :w ORDER BY name", {"w": ward_id}),
        }


def search(bind: db.Bind, ward_id: int, folded: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` establishments of the ward whose folded name + address (``search_key``) contains
    ``folded`` or whose code is it, exact codes and the most similar names first."""
    like = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return db.rows(bind, "SELECT id, code, name, address, operating_status FROM establishment "
                   "WHERE ward_id = :w AND (:q = '' OR search_key LIKE :like OR lower(code) = :q) "
                   "ORDER BY (lower(code) = :q) DESC, word_similarity(:q, search_key) DESC, name LIMIT :n",
                   {"w": ward_id, "q": folded, "like": like, "n": limit})


def licences_of(bind: db.Bind, establishment_id: int, *, by_kind: bool = True) -> list[dict[str, Any]]:
    """Every licence of an establishment, newest first (grouped by kind unless ``by_kind`` is False)."""
    order = "kind, issued_on DESC, id DESC" if by_kind else "issued_on DESC, id DESC"
    return db.rows(bind, "SELECT id, kind, number, issuer, issued_on, expires_on, revoked_on, note FROM licence "
                   f"WHERE establishment_id = :id ORDER BY {order}", {"id": int(establishment_id)})


def inspections_of(bind: db.Bind, establishment_id: int) -> list[dict[str, Any]]:
    """Every inspection of an establishment, newest first."""
    return db.rows(bind, "SELECT id, inspected_on, kind, result, violations, notes, follow_up_due, inspector_name "
                   "FROM inspection WHERE establishment_id = :id ORDER BY inspected_on DESC, id DESC",
                   {"id": int(establishment_id)})


def code_taken(bind: db.Bind, code: str, establishment_id: int | None = None) -> bool:
    """Whether another establishment than ``establishment_id`` (None: any) has ``code``."""
    return db.scalar(bind, "SELECT 1 FROM establishment WHERE code = :c AND id IS DISTINCT FROM :id",
                     {"c": code, "id": establishment_id}) is not None


def is_vsic_code(bind: db.Bind, code: str) -> bool:
    """Whether ``code`` is in the VSIC 2018 list."""
    return db.scalar(bind, "SELECT 1 FROM industry WHERE vsic_code = :v", {"v": code}) is not None


def ward_of(bind: db.Bind, field: str, row_id: int) -> int | None:
    """The ward of the residential group or market an establishment's ``field`` names (None: no such row)."""
    return db.scalar(bind, f"SELECT ward_id FROM {_WARD_TABLES[field]} WHERE id = :id", {"id": row_id})


def point_in_ward(bind: db.Bind, ward_id: int, lon: float, lat: float) -> dict[str, Any]:
    """Where a point lies for the ward: ``inside``, ``swapped`` (inside with lon/lat exchanged),
    ``dist_m`` (metres from the boundary) and the ward's ``name``."""
    with db.read(bind) as conn:
        return dict(conn.execute(sa.text(
            "SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) AS inside, "
            "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:y, :x), 4326)) AS swapped, "
            "ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography) AS dist_m, name "
            "FROM ward WHERE id = :w"), {"x": lon, "y": lat, "w": ward_id}).mappings().one())


def group_at(bind: db.Bind, ward_id: int, lon: float, lat: float) -> int | None:
    """The ward's residential group covering the point (the lowest id when several do)."""
    return db.scalar(bind, "SELECT id FROM residential_group WHERE ward_id = :w AND ST_Covers(geom, "
                     "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY id LIMIT 1", {"w": ward_id, "x": lon, "y": lat})


def nearby(bind: db.Bind, ward_id: int, lon: float, lat: float, radius_m: float) -> list[dict[str, Any]]:
    """``code`` and ``name`` of the ward's establishments (not rejected) within ``radius_m`` of the point,
    nearest first."""
    return db.rows(bind, "SELECT code, name FROM establishment WHERE ward_id = :w AND review_status <> 'rejected' "
                   "AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :r) "
                   "ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography",
                   {"w": ward_id, "x": lon, "y": lat, "r": radius_m})


def distance_m(bind: db.Bind, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two lon/lat points (on the spheroid)."""
    return float(db.scalar(bind, "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(:x1, :y1), 4326)::geography, "
                           "ST_SetSRID(ST_MakePoint(:x2, :y2), 4326)::geography)",
                           {"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1]}))


def last_change(bind: db.Bind, establishment_id: int) -> dict[str, Any] | None:
    """Who changed the establishment last and when (``username``, ``at``), from the audit log."""
    return db.row(bind, "SELECT username, at FROM audit_log WHERE entity_type = 'establishment' AND entity_id = :id "
                  "ORDER BY at DESC, id DESC LIMIT 1", {"id": establishment_id})


def quality_frame(bind: db.Bind, ward_id: int) -> pd.DataFrame:
    """The ward's establishments with what the data-quality checks need (local-grid metres in ``x``/``y``)."""
    with db.read(bind) as conn:
        return _frame(conn.execute(sa.text(
            "SELECT o.id, o.code, o.name, o.address, o.operating_status, o.tax_code, o.food_safety_applicable, "
            "o.registration_issued_on, o.registration_expires_on, o.registration_revoked_on, "
            "o.fs_certificate_issued_on, o.fs_certificate_expires_on, o.fs_certificate_revoked_on, "
            "o.fs_commitment_issued_on, o.fs_commitment_revoked_on, o.last_inspection_result, o.updated_at, "
            "o.geom IS NOT NULL AS has_point, o.location_quality, ST_Covers(w.geom, o.geom) AS inside, "
            "ST_X(ST_Transform(o.geom, w.local_srid)) AS x, ST_Y(ST_Transform(o.geom, w.local_srid)) AS y "
            "FROM establishment_overview o JOIN ward w ON w.id = o.ward_id WHERE o.ward_id = :w ORDER BY o.id"),
            {"w": ward_id}))


# --- locking and writing (inside the caller's transaction) ---------------------------------------


def lock_establishment(conn: Connection, establishment_id: int) -> dict[str, Any] | None:
    """The establishment row (as :func:`establishment`), locked ``FOR UPDATE`` until the transaction ends."""
    return db.row(conn, f"SELECT {_SNAPSHOT} FROM establishment WHERE id = :id FOR UPDATE", {"id": establishment_id})


def share_establishment(conn: Connection, establishment_id: int) -> dict[str, Any] | None:
    """``id``, ``ward_id`` and ``name`` of the establishment, locked ``FOR SHARE`` (a licence or an
    inspection is being added to it: it must not be deleted meanwhile)."""
    return db.row(conn, "SELECT id, ward_id, name FROM establishment WHERE id = :id FOR SHARE",
                  {"id": establishment_id})


def write_establishment(conn: Connection, establishment_id: int, expected_version: int, values: Mapping[str, Any],
                        point: tuple[float, float] | None = None) -> int | None:
    """Set ``values`` (and the point) on the establishment still at ``expected_version``; the new version,
    or None when the row is at another version (someone saved first)."""
    sets = [f"{k} = :{k}" for k in values]
    params: dict[str, Any] = {**values, "id": establishment_id, "expected_version": int(expected_version)}
    if point is not None:
        sets.append("geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")
        params.update(lon=point[0], lat=point[1])
    sets += ["version = version + 1", "updated_at = now()"]
    return conn.execute(sa.text(f"UPDATE establishment SET {', '.join(sets)} "
                                "WHERE id = :id AND version = :expected_version RETURNING version"),
                        params).scalar()


def refresh_search_key(conn: Connection, establishment_id: int) -> None:
    """Recompute the folded name + address + code the search reads."""
    row = conn.execute(sa.text("SELECT name, address, code FROM establishment WHERE id = :id"),
                       {"id": establishment_id}).one()
    conn.execute(sa.text("UPDATE establishment SET search_key = :k WHERE id = :id"),
                 {"k": search_key(row.name, row.address, row.code), "id": establishment_id})


def next_establishment_id(conn: Connection) -> int:
    return int(conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('establishment', 'id'))")).scalar())


def insert_establishment(conn: Connection, establishment_id: int, ward_id: int, values: Mapping[str, Any],
                         point: tuple[float, float] | None) -> None:
    """Insert the establishment ``establishment_id`` (from :func:`next_establishment_id`) with ``values``."""
    cols = ["id", "ward_id", *values]
    params = {**values, "id": establishment_id, "ward_id": ward_id, "lon": None, "lat": None}
    geom = "NULL"
    if point is not None:
        params.update(lon=point[0], lat=point[1])
        geom = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    conn.execute(sa.text(f"INSERT INTO establishment ({', '.join(cols)}, geom) VALUES "
                         f"({', '.join(':' + c for c in cols)}, {geom})"), params)


def licence_recorded(conn: Connection, establishment_id: int, kind: str, number: str, issued_on: Any) -> bool:
    """Whether the establishment already has this licence (same kind, number and issue date)."""
    return conn.execute(sa.text(
        "SELECT 1 FROM licence WHERE establishment_id = :e AND kind = :k AND number = :n AND issued_on = :i"),
        {"e": establishment_id, "k": kind, "n": number, "i": issued_on}).first() is not None


def insert_licence(conn: Connection, establishment_id: int, values: Mapping[str, Any]) -> int:
    """Insert a licence (``kind``, ``number``, ``issuer``, ``issued_on``, ``expires_on``, ``note``); its id."""
    return int(conn.execute(sa.text(
        "INSERT INTO licence (establishment_id, kind, number, issuer, issued_on, expires_on, note) "
        "VALUES (:e, :kind, :number, :issuer, :issued_on, :expires_on, :note) RETURNING id"),
        {"e": establishment_id, **values}).scalar_one())


def lock_licence(conn: Connection, licence_id: int) -> dict[str, Any] | None:
    """The licence row, locked ``FOR UPDATE`` (None when there is none)."""
    return db.row(conn, "SELECT * FROM licence WHERE id = :id FOR UPDATE", {"id": licence_id})


def revoke_licence(conn: Connection, licence_id: int, revoked_on: Any, note: str | None) -> None:
    """Mark the licence revoked from ``revoked_on``; ``note`` (when given) replaces its note."""
    conn.execute(sa.text("UPDATE licence SET revoked_on = :r, note = COALESCE(:n, note), updated_at = now() "
                         "WHERE id = :id"), {"r": revoked_on, "n": note, "id": licence_id})


def insert_inspection(conn: Connection, establishment_id: int, values: Mapping[str, Any]) -> int:
    """Insert an inspection (``inspected_on``, ``inspector_id``, ``inspector_name``, ``kind``, ``result``,
    ``violations`` (a list), ``notes``, ``follow_up_due``; optionally ``made_via`` (default ``staff_app``)
    and what a phone adds: ``client_id``, ``phone_lon``/``phone_lat``, ``phone_accuracy_m``, ``distance_m``,
    ``phone_time``); its id."""
    params = {"made_via": "staff_app", "client_id": None, "phone_lon": None, "phone_lat": None,
              "phone_accuracy_m": None, "distance_m": None, "phone_time": None, **values, "e": establishment_id,
              "violations": json.dumps(values["violations"], ensure_ascii=False)}
    return int(conn.execute(sa.text(
        "INSERT INTO inspection (establishment_id, inspected_on, inspector_id, inspector_name, kind, result, "
        "violations, notes, follow_up_due, made_via, client_id, phone_geom, phone_accuracy_m, distance_m, phone_time) "
        "VALUES (:e, :inspected_on, :inspector_id, :inspector_name, :kind, :result, CAST(:violations AS jsonb), "
        ":notes, :follow_up_due, :made_via, CAST(:client_id AS uuid), "
        "CASE WHEN CAST(:phone_lon AS float8) IS NULL OR CAST(:phone_lat AS float8) IS NULL THEN NULL "
        "ELSE ST_SetSRID(ST_MakePoint(:phone_lon, :phone_lat), 4326) END, "
        ":phone_accuracy_m, :distance_m, :phone_time) RETURNING id"), params).scalar_one())


# --- infrastructure (geomap/records/infrastructure.py) ----------------------------------------------


def infrastructure(bind: db.Bind, infrastructure_id: int) -> dict[str, Any] | None:
    return db.row(bind, "SELECT id, ward_id, code, kind, condition, checked_on, installed_on FROM infrastructure "
                        "WHERE id = :i", {"i": infrastructure_id})


def lock_infrastructure(conn: Connection, infrastructure_id: int) -> dict[str, Any] | None:
    return db.row(conn, "SELECT id, ward_id, code, kind, condition, checked_on FROM infrastructure WHERE id = :i "
                        "FOR UPDATE", {"i": infrastructure_id})


def write_infrastructure_condition(conn: Connection, infrastructure_id: int, condition: str, checked_on: Any) -> None:
    conn.execute(sa.text("UPDATE infrastructure SET condition = :c, checked_on = :d, updated_at = now() "
                         "WHERE id = :i"), {"c": condition, "d": checked_on, "i": infrastructure_id})


def infrastructure_list(bind: db.Bind, ward_id: int, *, kind: str | None, condition: str | None, query: str | None,
                        limit: int) -> list[dict[str, Any]]:
    return db.rows(bind, "SELECT id, code, kind, condition, checked_on, installed_on FROM infrastructure "
                         "WHERE ward_id = :w AND (CAST(:k AS text) IS NULL OR kind = :k) "
                         "AND (CAST(:c AS text) IS NULL OR condition = :c) "
                         "AND (CAST(:q AS text) IS NULL OR code ILIKE '%' || :q || '%') ORDER BY code LIMIT :n",
                   {"w": ward_id, "k": kind, "c": condition, "q": query, "n": limit})
