"""All of the dashboard's SQL: :func:`load_frames` reads what the indicators need for one ward,
:func:`load_wards_frames` the same for many wards at once (the city table: one pass per table)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geomap import db
from geomap.dashboard import as_of
from geomap.dashboard.indicators import Frames

#: the column each query adds to say whose ward a row is (dropped when the rows are split by ward)
WARD = "_ward"


#: what the indicators read, one query per frame of :class:`Frames`: every row says its ward (:data:`WARD`);
#: run on the driver's (psycopg) cursor: ``%(w)s`` is the list of wards read, ``%(keys)s`` :data:`as_of.TRACKED`
QUERIES = {
    # today's licences and last inspection are not read here: geomap.dashboard.as_of puts in those of the day
    # the indicators ask for, from the licences and inspections below (establishment_overview's five look-ups
    # per row would be replaced anyway: 2 s of the city's read)
    "establishments": (
        "SELECT e.ward_id AS _ward, e.id, e.code, e.name, e.residential_group_id, e.operating_status, "
        "e.digital_payment, e.digital_platforms, e.uses_e_invoice, e.uses_sales_software, "
        "i.food_safety_applicable, e.created_at, e.opened_on, e.closed_on "
        "FROM establishment e JOIN industry i ON i.vsic_code = e.vsic_code WHERE e.ward_id = ANY(%(w)s) "
        "AND e.review_status = 'approved'"),  # added on site and not yet reviewed: not counted
    "reports": (
        "SELECT r.ward_id AS _ward, r.id, r.category, r.status, r.reported_at, r.deadline_at, "
        "r.resolved_at, g.id AS residential_group_id, rt.satisfied, rt.rated_at FROM field_report r "
        "LEFT JOIN LATERAL (SELECT id FROM "
        "residential_group g WHERE g.ward_id = r.ward_id AND ST_Covers(g.geom, r.geom) ORDER BY id "
        "LIMIT 1) g ON true LEFT JOIN report_rating rt ON rt.report_id = r.id WHERE r.ward_id = ANY(%(w)s)"),
    "stall_evidence": (
        "SELECT m.ward_id AS _ward, p.stall_id, p.seen_on FROM stall_payment_evidence p "
        "JOIN stall s ON s.id = p.stall_id JOIN market m ON m.id = s.market_id WHERE m.ward_id = ANY(%(w)s)"),
    "stalls": (
        "SELECT m.ward_id AS _ward, s.id, s.accepts_qr_pos, m.is_pilot_smart_market, "
        "COALESCE(e.residential_group_id, g.id) AS residential_group_id FROM stall s "
        "JOIN market m ON m.id = s.market_id LEFT JOIN establishment e ON e.id = s.establishment_id "
        "LEFT JOIN LATERAL (SELECT id FROM residential_group g WHERE g.ward_id = m.ward_id AND "
        "ST_Covers(g.geom, m.geom) ORDER BY id LIMIT 1) g ON true WHERE m.ward_id = ANY(%(w)s)"),
    "licences": (
        "SELECT e.ward_id AS _ward, l.id, l.establishment_id, l.kind, l.issued_on, l.expires_on, "
        "l.revoked_on, e.residential_group_id FROM licence l "
        "JOIN establishment e ON e.id = l.establishment_id WHERE e.ward_id = ANY(%(w)s)"),
    "inspections": (
        "SELECT e.ward_id AS _ward, n.id, n.establishment_id, n.inspected_on, n.result, n.kind, "
        "n.made_via, n.follow_up_due, e.residential_group_id FROM inspection n "
        "JOIN establishment e ON e.id = n.establishment_id WHERE e.ward_id = ANY(%(w)s)"),
    "groups": (
        "SELECT ward_id AS _ward, id, code, name, "
        "ST_AsBinary(ST_SimplifyPreserveTopology(geom, 0.00003)) AS wkb "
        "FROM residential_group WHERE ward_id = ANY(%(w)s) ORDER BY code"),
    # every logged change of a field the indicators read (geomap.dashboard.as_of rebuilds a past day)
    "changes": (
        "SELECT e.ward_id AS _ward, a.entity_id, a.at, k.key, a.before -> k.key AS before, "
        "a.after -> k.key AS after "
        "FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
        "CROSS JOIN unnest(CAST(%(keys)s AS text[])) AS k(key) "
        "WHERE a.entity_type = 'establishment' AND e.ward_id = ANY(%(w)s) "
        "AND (a.before ? k.key OR a.after ? k.key)"),
    # when the audit log starts for each ward
    "tracking_since": (
        "SELECT e.ward_id AS _ward, min(a.at) AS since FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
        "WHERE a.entity_type = 'establishment' AND e.ward_id = ANY(%(w)s) GROUP BY e.ward_id"),
    # the group-level values the ward imported per period (geomap.dashboard.group_import)
    "group_values": (
        "SELECT ward_id AS _ward, residential_group_id, indicator, period, period_start, period_end, "
        "numerator, denominator, value FROM group_indicator_value WHERE ward_id = ANY(%(w)s)"),
}
#: the queries of :data:`QUERIES` read side by side on their own connections when several wards are read from an
#: engine (the server answers one batch while this process builds another's frames); on the demo city each of
#: the first three is about 2 s of a loaded machine, the last about 1 s
BATCHES = (("establishments",), ("licences",), ("reports", "stalls", "stall_evidence", "groups", "changes",
                                                "tracking_since", "group_values"), ("inspections",))


def load_frames(bind: db.Bind, ward_id: int) -> Frames:
    """Read what the dashboard needs for ``ward_id`` (a handful of indexed queries)."""
    return load_wards_frames(bind, [ward_id])[ward_id]


def load_wards_frames(bind: db.Bind, ward_ids: Iterable[int]) -> dict[int, Frames]:
    """:func:`load_frames` of every ward of ``ward_ids`` in one pass: each query reads all of the wards at once
    and its rows are split by ward in pandas (the city's 15 wards: 11 queries, not 165). A ward's frames are the
    ones :func:`load_frames` gives it (the same queries; only the wards asked for differ).

    Each statement reads the database as of its own start (as one connection's statements always did, in
    PostgreSQL's default isolation), so reading the batches on separate connections changes nothing there.
    """
    wards = list(dict.fromkeys(int(w) for w in ward_ids))
    if isinstance(bind, Engine) and len(wards) > 1:
        with ThreadPoolExecutor(max_workers=len(BATCHES)) as pool:
            read = {k: v for part in pool.map(lambda names: _read(bind, names, wards), BATCHES)
                    for k, v in part.items()}
    else:
        read = _read(bind, tuple(QUERIES), wards)
    groups = read.pop("groups")
    geoms = shapely.from_wkb([bytes(b) for b in groups["wkb"]]) if len(groups) else []
    read["groups"] = gpd.GeoDataFrame(groups.drop(columns="wkb"), geometry=list(geoms), crs="EPSG:4326")
    started = read.pop("tracking_since")
    since = dict(zip(started[WARD].astype(int).tolist(), started["since"], strict=True))
    split = {name: by_ward(frame, wards) for name, frame in read.items()}
    return {w: Frames(**{name: frames[w] for name, frames in split.items()},
                      tracking_since=pd.Timestamp(since[w]) if since.get(w) is not None else None)
            for w in wards}


def _read(bind: db.Bind, names: tuple[str, ...], wards: list[int]) -> dict[str, pd.DataFrame]:
    """The frames of :data:`QUERIES` ``names`` for ``wards``, read on one connection."""
    out = {}
    with db.read(bind) as conn:
        # planned in a few ms; compiling them (JIT) would cost ~0.4 s per read for nothing (SET LOCAL: this
        # transaction only)
        conn.execute(sa.text("SET LOCAL jit = off"))
        # the driver's own cursor on the same connection and transaction: its rows are plain tuples, which pandas
        # takes as they are (SQLAlchemy's Row objects cost a Row each and a failed namedtuple probe by pandas:
        # 2.7 s instead of 0.2 s for the city's 102,001 establishments)
        with conn.connection.driver_connection.cursor() as cur:
            for name in names:
                cur.execute(QUERIES[name], {"w": wards, "keys": list(as_of.TRACKED)})
                out[name] = pd.DataFrame.from_records(cur.fetchall(), columns=[c.name for c in cur.description])
    return out


def by_ward(frame: pd.DataFrame, wards: list[int]) -> dict[int, pd.DataFrame]:
    """``frame``'s rows split by its :data:`WARD` column (dropped), in their order, one frame per ward of
    ``wards`` (a ward without rows gets an empty frame with the same columns)."""
    rest = frame.drop(columns=WARD)
    if len(wards) == 1:
        return {wards[0]: rest}
    out = {int(w): rest.loc[rows].reset_index(drop=True)
           for w, rows in frame.groupby(WARD, sort=False).groups.items()}
    return {w: out.get(w, rest.iloc[0:0]) for w in wards}


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
