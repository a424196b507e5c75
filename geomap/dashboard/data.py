"""All of the dashboard's SQL: :func:`load_frames` reads what the indicators need for one ward."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from geomap import db
from geomap.dashboard import as_of
from geomap.dashboard.indicators import Frames


def load_frames(bind: db.Bind, ward_id: int) -> Frames:
    """Read what the dashboard needs for ``ward_id`` (a handful of indexed queries)."""
    with db.read(bind) as conn:
        def q(sql: str, **params: object) -> pd.DataFrame:
            res = conn.execute(sa.text(sql), {"w": ward_id, **params})
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

        est = q("SELECT o.id, o.code, o.name, o.residential_group_id, o.operating_status, o.digital_payment, "
                "o.digital_platforms, e.uses_e_invoice, e.uses_sales_software, "
                "o.food_safety_applicable, o.registration_issued_on, o.registration_expires_on, "
                "o.registration_revoked_on, o.fs_certificate_issued_on, o.fs_certificate_expires_on, "
                "o.fs_certificate_revoked_on, o.fs_commitment_issued_on, o.fs_commitment_revoked_on, "
                "o.last_inspected_on, o.last_inspection_result, o.last_follow_up_due, e.created_at, o.opened_on, "
                "e.closed_on "
                "FROM establishment_overview o JOIN establishment e ON e.id = o.id WHERE o.ward_id = :w "
                "AND e.review_status = 'approved'")  # added on site and not yet reviewed: not counted
        reports = q("SELECT r.id, r.category, r.status, r.reported_at, r.deadline_at, r.resolved_at, "
                    "g.id AS residential_group_id, rt.satisfied, rt.rated_at FROM field_report r "
                    "LEFT JOIN LATERAL (SELECT id FROM "
                    "residential_group g WHERE g.ward_id = r.ward_id AND ST_Covers(g.geom, r.geom) ORDER BY id "
                    "LIMIT 1) g ON true LEFT JOIN report_rating rt ON rt.report_id = r.id WHERE r.ward_id = :w")
        evidence = q("SELECT p.stall_id, p.seen_on FROM stall_payment_evidence p JOIN stall s ON s.id = p.stall_id "
                     "JOIN market m ON m.id = s.market_id WHERE m.ward_id = :w")
        stalls = q("SELECT s.id, s.accepts_qr_pos, m.is_pilot_smart_market, "
                   "COALESCE(e.residential_group_id, g.id) AS residential_group_id FROM stall s "
                   "JOIN market m ON m.id = s.market_id LEFT JOIN establishment e ON e.id = s.establishment_id "
                   "LEFT JOIN LATERAL (SELECT id FROM residential_group g WHERE g.ward_id = m.ward_id AND "
                   "ST_Covers(g.geom, m.geom) ORDER BY id LIMIT 1) g ON true WHERE m.ward_id = :w")
        licences = q("SELECT l.id, l.establishment_id, l.kind, l.issued_on, l.expires_on, l.revoked_on, "
                     "e.residential_group_id FROM licence l "
                     "JOIN establishment e ON e.id = l.establishment_id WHERE e.ward_id = :w")
        inspections = q("SELECT n.id, n.establishment_id, n.inspected_on, n.result, n.kind, n.made_via, "
                        "n.follow_up_due, e.residential_group_id FROM inspection n "
                        "JOIN establishment e ON e.id = n.establishment_id WHERE e.ward_id = :w")
        groups = q("SELECT id, code, name, ST_AsBinary(ST_SimplifyPreserveTopology(geom, 0.00003)) AS wkb "
                   "FROM residential_group WHERE ward_id = :w ORDER BY code")
        # every logged change of a field the indicators read (geomap.dashboard.as_of rebuilds a past day)
        changes = q("SELECT a.entity_id, a.at, k.key, a.before -> k.key AS before, a.after -> k.key AS after "
                    "FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
                    "CROSS JOIN unnest(CAST(:keys AS text[])) AS k(key) "
                    "WHERE a.entity_type = 'establishment' AND e.ward_id = :w "
                    "AND (a.before ? k.key OR a.after ? k.key)", keys=list(as_of.TRACKED))
        since = conn.execute(sa.text(
            "SELECT min(a.at) FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
            "WHERE a.entity_type = 'establishment' AND e.ward_id = :w"), {"w": ward_id}).scalar()
        imported = group_values(conn, ward_id)
    geoms = shapely.from_wkb([bytes(b) for b in groups["wkb"]]) if len(groups) else []
    gdf = gpd.GeoDataFrame(groups.drop(columns="wkb"), geometry=list(geoms), crs="EPSG:4326")
    return Frames(est, reports, stalls, licences, inspections, gdf, stall_evidence=evidence,
                  tracking_since=pd.Timestamp(since) if since is not None else None,
                  group_values=imported, changes=changes)


# --- group-level indicators imported per period (geomap.dashboard.group_import) --------------------


def group_codes(conn: db.Bind, ward_id: int) -> list[dict]:
    """The ward's residential groups: id, code, name (ordered by code)."""
    return db.rows(conn, "SELECT id, code, name FROM residential_group WHERE ward_id = :w ORDER BY code",
                   {"w": ward_id})


def count_group_values(conn: db.Bind, ward_id: int, period: str) -> int:
    return int(db.scalar(conn, "SELECT count(*) FROM group_indicator_value WHERE ward_id = :w AND period = :p",
                         {"w": ward_id, "p": period}) or 0)


def group_values_of_period(conn: db.Bind, ward_id: int, period: str) -> list[dict]:
    """The values of ``period`` on file (for the audit entry of a replacement)."""
    return db.rows(conn, "SELECT v.residential_group_id AS group_id, g.code, v.indicator, v.numerator, v.denominator, "
                   "v.value, v.source_file, v.imported_at, v.imported_by_name FROM group_indicator_value v "
                   "JOIN residential_group g ON g.id = v.residential_group_id "
                   "WHERE v.ward_id = :w AND v.period = :p ORDER BY g.code, v.indicator", {"w": ward_id, "p": period})


def replace_group_values(conn, ward_id: int, period, values, source_file: str, user) -> None:
    """Delete ``period``'s values of the ward and insert ``values`` ((group id, indicator, num, den, share))."""
    conn.execute(sa.text("DELETE FROM group_indicator_value WHERE ward_id = :w AND period = :p"),
                 {"w": ward_id, "p": str(period)})
    if not values:
        return
    conn.execute(sa.text(
        "INSERT INTO group_indicator_value (ward_id, residential_group_id, period, period_start, period_end, "
        "indicator, numerator, denominator, value, source_file, imported_by, imported_by_name) "
        "VALUES (:w, :g, :p, :s, :e, :k, :n, :d, :v, :f, :u, :un)"),
        [{"w": ward_id, "g": g, "p": str(period), "s": period.start, "e": period.end, "k": k, "n": n, "d": d,
          "v": v, "f": source_file, "u": user.id if user is not None else None,
          "un": user.username if user is not None else "system"} for g, k, n, d, v in values])


def group_values(conn: db.Bind, ward_id: int) -> pd.DataFrame:
    """Every imported value of the ward (a few thousand rows: 312 groups x 4 indicators x periods)."""
    res = conn.execute(sa.text(
        "SELECT residential_group_id, indicator, period, period_start, period_end, numerator, denominator, value "
        "FROM group_indicator_value WHERE ward_id = :w"), {"w": ward_id})
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
