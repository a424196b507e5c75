"""All of the inspections domain's SQL: risk inputs, the ward office and boundary, staff, saved routes, visits.

Each function takes a :data:`geomap.db.Bind` (an Engine, or a Connection the caller already
holds), reads through :func:`geomap.db.read` and writes inside :func:`geomap.db.transaction`,
so a service (:mod:`geomap.inspections.planning`) can compose several writes into its own
unit of work. Plain values and DataFrames in and out; the rules live in the pure modules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db, status
from geomap.inspections.risk import RiskWeights

# --- risk -------------------------------------------------------------------------------------

_RISK_INPUTS_SQL = """
SELECT o.id, o.code, o.name, o.address, o.vsic_code, o.industry_name_vi, o.industry_name_en, o.sector,
       o.food_safety_applicable, o.risk_level, o.operating_status, o.business_type,
       o.residential_group_id, o.residential_group, o.market, o.opening_hours,
       o.registration_issued_on, o.registration_expires_on, o.registration_revoked_on,
       o.fs_certificate_number, o.fs_certificate_issued_on, o.fs_certificate_expires_on, o.fs_certificate_revoked_on,
       o.fs_commitment_issued_on, o.fs_commitment_revoked_on,
       o.last_inspected_on, o.last_inspection_result, o.last_inspection_kind, o.last_follow_up_due,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       COALESCE(v.violation_count, 0) AS violation_count,
       COALESCE(v.severity_sum, 0) AS violation_severity_sum,
       COALESCE(v.severity_max, 0) AS violation_severity_max,
       COALESCE(r.n, 0) AS reports_nearby
FROM establishment_overview o
LEFT JOIN LATERAL (
    SELECT count(*) AS violation_count,
           sum(COALESCE(s.sev, 1)) AS severity_sum, max(COALESCE(s.worst, 1)) AS severity_max
    FROM inspection n
    LEFT JOIN LATERAL (
        SELECT sum(LEAST(GREATEST(COALESCE((x->>'severity')::int, 1), 1), 3)) AS sev,
               max(LEAST(GREATEST(COALESCE((x->>'severity')::int, 1), 1), 3)) AS worst
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(n.violations) = 'array' THEN n.violations
                                       ELSE '[]'::jsonb END) x
        WHERE (x->>'severity') IS NULL OR (x->>'severity') ~ '^[0-9]+$'
    ) s ON true
    WHERE n.establishment_id = o.id AND n.result = 'violation' AND n.inspected_on >= :violations_since
) v ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS n FROM field_report f
    WHERE o.geom IS NOT NULL AND f.ward_id = o.ward_id
      AND f.reported_at >= :reports_since
      AND f.status NOT IN ('duplicate', 'not_ward')
      AND f.geom && ST_Expand(o.geom, :radius_deg)
      AND ST_DWithin(f.geom::geography, o.geom::geography, :radius_m)
) r ON true
WHERE o.ward_id = :ward_id AND o.operating_status <> 'closed'
"""


def risk_inputs(bind: db.Bind, ward_id: int, today: dt.date | None = None, weights: RiskWeights | None = None,
                ids: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per open establishment of the ward with everything :func:`geomap.inspections.risk.score` reads.

    Field reports count within ``weights.reports_radius_m`` metres (geodesic) over the last
    ``weights.reports_days`` days, duplicates and reports outside the ward's remit excluded.
    ``ids`` narrows the rows to those establishments.
    """
    weights = weights or RiskWeights()
    today = today or status.today()
    sql = _RISK_INPUTS_SQL
    params: dict[str, Any] = {
        "ward_id": ward_id,
        "violations_since": today - dt.timedelta(days=365 * weights.violation_years),
        "reports_since": dt.datetime.combine(today - dt.timedelta(days=weights.reports_days), dt.time(),
                                             tzinfo=dt.UTC),
        "radius_m": float(weights.reports_radius_m),
        # a bounding-box prefilter for the GiST index: 1 degree of latitude ~ 111 km, generous at 16° N
        "radius_deg": float(weights.reports_radius_m) / 100_000.0,
    }
    stmt = sa.text(sql)
    if ids is not None:
        sql += " AND o.id IN :ids"
        params["ids"] = tuple(int(i) for i in ids) or (-1,)
        stmt = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True))
    with db.read(bind) as conn:
        return pd.read_sql(stmt, conn, params=params)


# --- the ward office and staff (the ward itself: geomap.wards.data) -----------------------------


def ward_office(bind: db.Bind, ward_id: int) -> tuple[float, float] | None:
    """(lon, lat) of the ward office (``public_facility`` of kind ``ward_office``), None when not on record."""
    row = db.row(bind, "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM public_facility "
                     "WHERE ward_id = :w AND kind = 'ward_office' ORDER BY id LIMIT 1", {"w": ward_id})
    return (float(row["lon"]), float(row["lat"])) if row else None


def active_staff(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """Active accounts of this ward or of every ward (id, username, full_name, role), by name."""
    return db.rows(bind, "SELECT id, username, full_name, role FROM app_user WHERE is_active "
                       "AND (ward_id = :w OR ward_id IS NULL) ORDER BY full_name", {"w": ward_id})


# --- saved routes -----------------------------------------------------------------------------


def replace_route(bind: db.Bind, ward_id: int, day: dt.date, *, inspector_id: int | None, inspector_name: str,
                  stops: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], created_by: int | None) -> int:
    """Store one inspector's route for ``day``, replacing that inspector's earlier route of the day; its id.

    An inspector without an account (``inspector_id`` None) is matched by name.
    """
    with db.transaction(bind) as conn:
        conn.execute(sa.text(
            "DELETE FROM inspection_route WHERE ward_id = :w AND route_date = :d AND "
            "(inspector_id = :uid OR (inspector_id IS NULL AND :uid IS NULL AND inspector_name = :name))"),
            {"w": ward_id, "d": day, "uid": inspector_id, "name": inspector_name})
        return int(conn.execute(sa.text(
            "INSERT INTO inspection_route (ward_id, route_date, inspector_id, inspector_name, stops, summary, "
            "created_by) VALUES (:w, :d, :uid, :name, CAST(:stops AS jsonb), CAST(:summary AS jsonb), :by) "
            "RETURNING id"),
            {"w": ward_id, "d": day, "uid": inspector_id, "name": inspector_name,
             "stops": json.dumps(list(stops), ensure_ascii=False),
             "summary": json.dumps(dict(summary), ensure_ascii=False), "by": created_by}).scalar_one())


def saved_routes(bind: db.Bind, ward_id: int, day: dt.date, *, inspector_id: int | None = None,
                 ) -> list[dict[str, Any]]:
    """Routes saved for ``day`` (one inspector's when given): id, inspector, stops and summary, by inspector name."""
    sql = ("SELECT id, inspector_id, inspector_name, stops, summary FROM inspection_route "
           "WHERE ward_id = :w AND route_date = :d")
    params: dict[str, Any] = {"w": ward_id, "d": day}
    if inspector_id is not None:
        sql += " AND inspector_id = :uid"
        params["uid"] = inspector_id
    return db.rows(bind, sql + " ORDER BY inspector_name, id", params)


# --- visits -----------------------------------------------------------------------------------


def results_on(bind: db.Bind, day: dt.date, establishment_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The last inspection recorded on ``day`` for each of these establishments: {id: {id, result, follow_up_due}}."""
    ids = sorted({int(i) for i in establishment_ids})
    if not ids:
        return {}
    stmt = sa.text("SELECT DISTINCT ON (establishment_id) establishment_id, id, result, follow_up_due "
                   "FROM inspection WHERE inspected_on = :d AND establishment_id IN :ids "
                   "ORDER BY establishment_id, id DESC").bindparams(sa.bindparam("ids", expanding=True))
    return {int(r["establishment_id"]): r for r in db.rows(bind, stmt, {"d": day, "ids": ids})}


def add_photo(bind: db.Bind, inspection_id: int, *, media_type: str, width: int, height: int, content: bytes) -> None:
    """Store one (already cleaned) photo of an inspection."""
    with db.transaction(bind) as conn:
        conn.execute(sa.text(
            "INSERT INTO inspection_photo (inspection_id, media_type, width, height, content) "
            "VALUES (:i, :m, :w, :h, :c)"),
            {"i": inspection_id, "m": media_type, "w": width, "h": height, "c": content})


def follow_up_due(bind: db.Bind, inspection_id: int) -> dt.date | None:
    """The follow-up date an inspection scheduled, None when it scheduled none (or is not on record)."""
    row = db.row(bind, "SELECT follow_up_due FROM inspection WHERE id = :i", {"i": inspection_id})
    return row["follow_up_due"] if row else None


def photos_of(bind: db.Bind, inspection_id: int) -> list[dict[str, Any]]:
    """An inspection's photos (id, media_type, width, height, content), in the order stored."""
    return db.rows(bind, "SELECT id, media_type, width, height, content FROM inspection_photo "
                       "WHERE inspection_id = :i ORDER BY id", {"i": inspection_id})


# --- field app submissions (geomap.inspections.field) ----------------------------------------------


def visit_target(bind: db.Bind, establishment_id: int, lon: float | None = None, lat: float | None = None,
                 ) -> dict[str, Any] | None:
    """id, ward_id, name, version, operating_status, food_safety_applicable of an establishment, and
    ``distance_m`` (geodesic metres) from (``lon``, ``lat``) to its point (None without either); None
    when there is no such establishment."""
    return db.row(bind, (
        "SELECT e.id, e.ward_id, e.name, e.version, e.operating_status, "
        "COALESCE(v.food_safety_applicable, true) AS food_safety_applicable, "
        "CASE WHEN e.geom IS NULL OR CAST(:lon AS float8) IS NULL OR CAST(:lat AS float8) IS NULL THEN NULL "
        "ELSE ST_Distance(e.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) END "
        "AS distance_m FROM establishment e LEFT JOIN industry v ON v.vsic_code = e.vsic_code WHERE e.id = :e"),
        {"e": establishment_id, "lon": lon, "lat": lat})


def claim_submission(conn: Connection, client_id: str, *, user_id: int | None, payload: Mapping[str, Any]
                     ) -> int | None:
    """Store a new submission as ``pending``; its id, or None when ``client_id`` was seen before (a replay).

    A concurrent first send of the same id waits here until the other transaction ends.
    """
    return conn.execute(sa.text(
        "INSERT INTO field_submission (client_id, user_id, status, payload) "
        "VALUES (CAST(:c AS uuid), :u, 'pending', CAST(:p AS jsonb)) ON CONFLICT (client_id) DO NOTHING RETURNING id"),
        {"c": client_id, "u": user_id, "p": json.dumps(dict(payload), ensure_ascii=False, default=str)}
    ).scalar_one_or_none()


def finish_submission(conn: Connection, submission_id: int, *, status: str, ward_id: int | None,
                      establishment_id: int | None, route_date: dt.date | None, inspection_id: int | None,
                      reasons: Sequence[Mapping[str, Any]], warnings: Sequence[Mapping[str, Any]]) -> None:
    """Record what became of a claimed submission."""
    conn.execute(sa.text(
        "UPDATE field_submission SET status = :s, ward_id = :w, establishment_id = :e, route_date = :d, "
        "inspection_id = :i, reasons = CAST(:r AS jsonb), warnings = CAST(:wa AS jsonb) WHERE id = :id"),
        {"s": status, "w": ward_id, "e": establishment_id, "d": route_date, "i": inspection_id, "id": submission_id,
         "r": json.dumps(list(reasons), ensure_ascii=False), "wa": json.dumps(list(warnings), ensure_ascii=False)})


_SUBMISSION_COLUMNS = ("SELECT s.id, s.client_id::text AS client_id, s.user_id, s.ward_id, s.establishment_id, "
                       "s.route_date, s.status, s.inspection_id, s.payload, s.reasons, s.warnings, s.received_at, "
                       "n.follow_up_due, e.name AS establishment_name FROM field_submission s "
                       "LEFT JOIN inspection n ON n.id = s.inspection_id "
                       "LEFT JOIN establishment e ON e.id = s.establishment_id ")


def submission(bind: db.Bind, client_id: str) -> dict[str, Any] | None:
    """The stored submission of ``client_id`` (with its inspection's follow-up date), None when never seen."""
    return db.row(bind, _SUBMISSION_COLUMNS + "WHERE s.client_id = CAST(:c AS uuid)", {"c": client_id})


def submissions_of(bind: db.Bind, user_id: int, day: dt.date, statuses: Sequence[str]) -> list[dict[str, Any]]:
    """A user's submissions for the plan of ``day`` in these statuses, newest first."""
    stmt = sa.text(_SUBMISSION_COLUMNS + "WHERE s.user_id = :u AND s.route_date = :d AND s.status IN :st "
                   "ORDER BY s.received_at DESC, s.id DESC").bindparams(sa.bindparam("st", expanding=True))
    return db.rows(bind, stmt, {"u": user_id, "d": day, "st": list(statuses)})


def versions_of(bind: db.Bind, establishment_ids: Iterable[int]) -> dict[int, int]:
    """{establishment id: its current ``version``} (the version the phone downloads with the stop)."""
    ids = sorted({int(i) for i in establishment_ids})
    if not ids:
        return {}
    stmt = sa.text("SELECT id, version FROM establishment WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
    return {int(r["id"]): int(r["version"]) for r in db.rows(bind, stmt, {"ids": ids})}
