"""All of the QR domain's SQL: issuing and revoking codes, selecting them, and the public lookup.

Reads take a :data:`geomap.db.Bind` and open it with :func:`geomap.db.read`; writes run in
:func:`geomap.db.transaction` (a savepoint inside the caller's unit of work, so
:mod:`qr.issue`'s services stay all-or-nothing with their audit entries). Rows come back as
plain mappings; :mod:`qr.issue` and :mod:`qr.lookup` turn them into their own shapes.

The lookup query (:func:`lookup_row`) is the hottest statement of the public service: it runs
on the driver's cursor on purpose (see there), and :func:`lookup_engine` is the engine it runs
on (autocommit, no pre-ping: one round trip per lookup).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection, Engine, RowMapping

from geomap import db

#: the columns of one ``qr_code`` row, as :class:`qr.issue.QrRecord` holds them
CODE_COLUMNS = ("id", "token", "short_code", "target_type", "establishment_id", "stall_id", "version", "issued_at",
                "revoked_at", "revoked_reason")
_COLUMNS = ", ".join(CODE_COLUMNS)


# --- issuing and revoking ---------------------------------------------------------------------------


_MISSING_SQL = sa.text("""
SELECT 'establishment' AS target_type, e.id AS establishment_id, NULL::int AS stall_id
FROM establishment e
WHERE e.ward_id = :ward AND e.operating_status <> 'closed' AND e.review_status = 'approved'
  AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.establishment_id = e.id AND q.revoked_at IS NULL)
UNION ALL
SELECT 'stall', NULL, s.id
FROM stall s JOIN market m ON m.id = s.market_id
WHERE m.ward_id = :ward
  AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.stall_id = s.id AND q.revoked_at IS NULL)
  -- a stall whose last code was revoked because it closed gets none in bulk
  AND coalesce((SELECT q.revoked_reason FROM qr_code q WHERE q.stall_id = s.id
                ORDER BY q.version DESC LIMIT 1), '') <> 'closed'
ORDER BY 1, 2, 3
""")


def missing_targets(bind: db.Bind, ward_id: int) -> list[tuple[str, int | None, int | None]]:
    """(target type, establishment id, stall id) of every open establishment and stall without an active code."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(_MISSING_SQL, {"ward": ward_id})]


_INSERT_SQL = sa.text(f"""
INSERT INTO qr_code (token, short_code, target_type, establishment_id, stall_id, version)
SELECT u.token, u.short_code, u.target_type, u.establishment_id, u.stall_id,
       1 + COALESCE(CASE WHEN u.establishment_id IS NOT NULL
                         THEN (SELECT max(q.version) FROM qr_code q WHERE q.establishment_id = u.establishment_id)
                         ELSE (SELECT max(q.version) FROM qr_code q WHERE q.stall_id = u.stall_id) END, 0)
FROM unnest(CAST(:tokens AS text[]), CAST(:shorts AS text[]), CAST(:types AS text[]),
            CAST(:eids AS int[]), CAST(:sids AS int[]))
     AS u(token, short_code, target_type, establishment_id, stall_id)
ON CONFLICT DO NOTHING
RETURNING {_COLUMNS}
""")


def insert_codes(bind: db.Bind, targets: Sequence[tuple[str, int | None, int | None]], tokens: Sequence[str],
                 short_codes: Sequence[str]) -> list[RowMapping]:
    """Insert one code per target (next version each); rows that hit a unique constraint are skipped."""
    params = {"tokens": list(tokens), "shorts": list(short_codes), "types": [t[0] for t in targets],
              "eids": [t[1] for t in targets], "sids": [t[2] for t in targets]}
    with db.transaction(bind) as conn:
        return list(conn.execute(_INSERT_SQL, params).mappings())


def establishment_ward(bind: db.Bind, establishment_id: int) -> tuple[int, str] | None:
    """(ward id, operating status) of an establishment, or None; an establishment added on site and not
    yet approved (``review_status``, 0012_survey) reads as ``unreviewed``."""
    with db.read(bind) as conn:
        row = conn.execute(sa.text("SELECT ward_id, CASE WHEN review_status = 'approved' THEN operating_status "
                                   "ELSE 'unreviewed' END FROM establishment WHERE id = :i"),
                           {"i": establishment_id}).first()
    return None if row is None else (row[0], row[1])


def stall_ward(bind: db.Bind, stall_id: int) -> int | None:
    return db.scalar(bind, "SELECT m.ward_id FROM stall s JOIN market m ON m.id = s.market_id WHERE s.id = :i",
                     {"i": stall_id})


def active_code(bind: db.Bind, *, establishment_id: int | None = None, stall_id: int | None = None,
                lock: bool = False) -> dict[str, Any] | None:
    """The active code row of a target (``lock``: FOR UPDATE, before a reissue/revoke)."""
    column = "establishment_id" if establishment_id is not None else "stall_id"
    value = establishment_id if establishment_id is not None else stall_id
    sql = f"SELECT {_COLUMNS} FROM qr_code WHERE {column} = :v AND revoked_at IS NULL"
    return db.row(bind, sql + (" FOR UPDATE" if lock else ""), {"v": value})


def code_by_token(bind: db.Bind, token: str) -> dict[str, Any] | None:
    return db.row(bind, f"SELECT {_COLUMNS} FROM qr_code WHERE token = :t", {"t": token})


def code_by_short_code(bind: db.Bind, short_code: str) -> dict[str, Any] | None:
    return db.row(bind, f"SELECT {_COLUMNS} FROM qr_code WHERE short_code = :s", {"s": short_code})


def code_of_establishment(bind: db.Bind, establishment_code: str) -> dict[str, Any] | None:
    """The active code of the establishment with this code, else its latest one."""
    return db.row(bind, f"SELECT {', '.join('q.' + c for c in CODE_COLUMNS)} FROM qr_code q "
                  "JOIN establishment e ON e.id = q.establishment_id WHERE e.code = :c "
                  "ORDER BY q.revoked_at IS NULL DESC, q.version DESC LIMIT 1", {"c": establishment_code})


def mark_revoked(bind: db.Bind, code_id: int, reason: str) -> RowMapping | None:
    """Revoke one active code now; its new row, or None when it was already revoked. The commit is synchronous
    (:func:`geomap.db.commit_synchronously`): a revoked sticker must fail at once, on read replicas too."""
    with db.transaction(bind) as conn:
        db.commit_synchronously(conn)
        return conn.execute(sa.text(
            f"UPDATE qr_code SET revoked_at = now(), revoked_reason = :r WHERE id = :i AND revoked_at IS NULL "
            f"RETURNING {_COLUMNS}"), {"r": reason, "i": code_id}).mappings().first()


def revoke_closed(bind: db.Bind, ward_id: int) -> list[int]:
    """Revoke (reason ``closed``) the active codes of the ward's closed establishments; their ids (a synchronous
    commit, as :func:`mark_revoked`)."""
    with db.transaction(bind) as conn:
        db.commit_synchronously(conn)
        return list(conn.execute(sa.text(
            "UPDATE qr_code q SET revoked_at = now(), revoked_reason = 'closed' FROM establishment e "
            "WHERE e.id = q.establishment_id AND e.ward_id = :w AND e.operating_status = 'closed' "
            "AND q.revoked_at IS NULL RETURNING q.id"), {"w": ward_id}).scalars())


# --- selecting codes for printing and the staff page -------------------------------------------------


def group_exists(bind: db.Bind, ward_id: int, group: str) -> bool:
    return _named_in_ward(bind, "residential_group", ward_id, group)


def market_exists(bind: db.Bind, ward_id: int, market: str) -> bool:
    return _named_in_ward(bind, "market", ward_id, market)


def _named_in_ward(bind: db.Bind, table: str, ward_id: int, code_or_name: str) -> bool:
    """Whether the ward has a row of ``table`` (residential_group or market) with this code or name."""
    return db.scalar(bind, f"SELECT 1 FROM {table} WHERE ward_id = :ward AND (code = :v OR name = :v)",
                     {"ward": ward_id, "v": code_or_name}) is not None


_SELECT_SQL = """
SELECT q.token, q.short_code, q.target_type, q.version, q.issued_at, q.revoked_at, q.revoked_reason,
       COALESCE(e.name, te.name, concat_ws(' ', m.name, s.stall_no)) AS name,
       CASE WHEN q.stall_id IS NOT NULL THEN concat_ws(', ', m.name, m.address)
            ELSE COALESCE(e.address, concat_ws(' ', e.house_number, e.street), '') END AS address,
       w.name AS ward_name, COALESCE(e.code, te.code) AS establishment_code,
       COALESCE(m.name, em.name) AS market, COALESCE(s.stall_no, es.stall_no) AS stall_no,
       rg.name AS residential_group
FROM qr_code q
LEFT JOIN establishment e ON e.id = q.establishment_id
LEFT JOIN stall s ON s.id = q.stall_id
LEFT JOIN market m ON m.id = s.market_id
LEFT JOIN establishment te ON te.id = s.establishment_id
LEFT JOIN market em ON em.id = e.market_id
LEFT JOIN LATERAL (SELECT x.stall_no FROM stall x WHERE x.establishment_id = e.id ORDER BY x.id LIMIT 1) es
       ON true
LEFT JOIN residential_group rg ON rg.id = COALESCE(e.residential_group_id, te.residential_group_id)
JOIN ward w ON w.id = COALESCE(e.ward_id, m.ward_id)
WHERE w.id = :ward {filters}
ORDER BY rg.code NULLS LAST, COALESCE(m.name, em.name) NULLS FIRST, COALESCE(s.stall_no, es.stall_no),
         name, q.version
"""


def sticker_rows(bind: db.Bind, ward_id: int, *, group: str | None = None, market: str | None = None,
                 tokens: Sequence[str] | None = None, include_revoked: bool = False,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """What each selected code's sticker shows (see :class:`qr.issue.StickerItem`), in printing order."""
    filters: list[str] = []
    params: dict[str, Any] = {"ward": ward_id}
    if not include_revoked:
        filters.append("q.revoked_at IS NULL")
    if group:
        filters.append("(rg.code = :group OR rg.name = :group)")
        params["group"] = group
    if market:
        filters.append("(m.code = :market OR m.name = :market OR em.code = :market OR em.name = :market)")
        params["market"] = market
    if tokens is not None:
        filters.append("q.token = ANY(CAST(:tokens AS text[]))")
        params["tokens"] = list(tokens)
    sql = _SELECT_SQL.format(filters="".join(f" AND {f}" for f in filters))
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return db.rows(bind, sql, params)


def summary(bind: db.Bind, ward_id: int) -> dict[str, int]:
    """Counts for the staff page: active codes by target, targets still without one, revoked codes."""
    with db.read(bind) as conn:
        row = conn.execute(sa.text("""
            SELECT
              (SELECT count(*) FROM qr_code q JOIN establishment e ON e.id = q.establishment_id
                WHERE e.ward_id = :w AND q.revoked_at IS NULL) AS active_establishments,
              (SELECT count(*) FROM qr_code q JOIN stall s ON s.id = q.stall_id JOIN market m ON m.id = s.market_id
                WHERE m.ward_id = :w AND q.revoked_at IS NULL) AS active_stalls,
              (SELECT count(*) FROM establishment e WHERE e.ward_id = :w AND e.operating_status <> 'closed'
                AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.establishment_id = e.id AND q.revoked_at IS NULL))
                + (SELECT count(*) FROM stall s JOIN market m ON m.id = s.market_id WHERE m.ward_id = :w
                AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.stall_id = s.id AND q.revoked_at IS NULL)) AS missing,
              (SELECT count(*) FROM qr_code q LEFT JOIN establishment e ON e.id = q.establishment_id
                LEFT JOIN stall s ON s.id = q.stall_id LEFT JOIN market m ON m.id = s.market_id
                WHERE COALESCE(e.ward_id, m.ward_id) = :w AND q.revoked_at IS NOT NULL) AS revoked
        """), {"w": ward_id}).mappings().one()
    return {k: int(v) for k, v in row.items()}


def scopes(bind: db.Bind, ward_id: int) -> dict[str, list[tuple[str, str]]]:
    """Residential groups and markets of the ward as (code, name), for the staff page's pickers."""
    with db.read(bind) as conn:
        groups = conn.execute(sa.text("SELECT code, name FROM residential_group WHERE ward_id = :w ORDER BY code"),
                              {"w": ward_id}).all()
        markets = conn.execute(sa.text("SELECT code, name FROM market WHERE ward_id = :w ORDER BY name"),
                               {"w": ward_id}).all()
    return {"groups": [tuple(r) for r in groups], "markets": [tuple(r) for r in markets]}


# --- the public lookup ------------------------------------------------------------------------------


def lookup_engine(url: sa.URL) -> Engine:
    """A read-only engine for lookups: autocommit and no pre-ping, so a lookup is one round trip.

    (The shared engine's BEGIN, ping and ROLLBACK on return would triple the round trips of
    the hottest path.) A connection the server dropped is invalidated on first use and the
    caller retries once; a statement over 2 s is cancelled.
    """
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=8,
                            max_overflow=8, pool_reset_on_return=None, pool_timeout=5,
                            connect_args={"options": "-c statement_timeout=2000", "connect_timeout": 5})


def source_columns(bind: db.Bind, source: str) -> list[str]:
    """The column names of a layer's source table or view."""
    with db.read(bind) as conn:
        return list(conn.execute(sa.text(f'SELECT * FROM "{source}" LIMIT 0')).keys())


def source_records(bind: db.Bind, source: str, columns: Sequence[str], limit: int,
                   chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Up to ``limit`` records of ``source`` (only ``columns``), in chunks of ``chunk`` (streamed)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with db.read(bind) as conn:
        result = conn.execute(sa.text(f'SELECT {cols} FROM "{source}" LIMIT :n'), {"n": limit})
        for part in result.mappings().partitions(chunk):
            yield [dict(r) for r in part]


#: the state of one code, to check a cached rendering against (one probe of the unique token index)
_STATE_SQL = sa.text("SELECT revoked_at IS NULL FROM qr_code WHERE token = :token")


def code_state(conn: Connection, token: str) -> str:
    """``valid``, ``revoked`` or ``unknown``: the code part of a lookup's status, without the page."""
    row = conn.execute(_STATE_SQL, {"token": token}).first()
    return "unknown" if row is None else ("valid" if row[0] else "revoked")


#: tolerance (degrees) used to thin the context polygon of the small map
SIMPLIFY_DEG = 0.00002


# process-wide on purpose: pure text built from its arguments (the columns are part of the key, so a
# changed source yields a new entry, never a stale one); no database value is kept
@functools.lru_cache(maxsize=8)
def _lookup_sql(columns: tuple[str, ...], source: str, market_fields: tuple[str, ...], published: str) -> str:
    """The lookup query in the driver's parameter style (``%(token)s``): it runs on the raw cursor."""
    est = ", ".join(f'o."{c}" AS "e__{c}"' for c in columns)
    mkt = ", ".join(f'sm."{c}" AS "m__{c}"' for c in market_fields)
    return f"""
SELECT q.token, q.short_code, q.target_type, q.version, q.issued_at, q.revoked_at, q.revoked_reason,
       (o.id IS NOT NULL) AS has_establishment, s.stall_no AS stall_no, {mkt},
       w.name AS ward_name,
       ST_Y(g.pt) AS lat, ST_X(g.pt) AS lon, ST_X(g.pt_l) AS x_m, ST_Y(g.pt_l) AS y_m,
       ST_AsSVG(g.ctx_l, 0, 0) AS ctx_svg, ST_XMin(g.ctx_l) AS ctx_xmin, ST_YMin(g.ctx_l) AS ctx_ymin,
       ST_XMax(g.ctx_l) AS ctx_xmax, ST_YMax(g.ctx_l) AS ctx_ymax, g.ctx_name,
       {est}
FROM qr_code q
LEFT JOIN stall s ON s.id = q.stall_id
LEFT JOIN market sm ON sm.id = s.market_id
LEFT JOIN "{source}" o ON o.id = COALESCE(q.establishment_id, s.establishment_id) AND {published}
LEFT JOIN LATERAL (SELECT name, local_srid FROM ward
                   WHERE id = COALESCE(o.ward_id, sm.ward_id)) w ON true
LEFT JOIN market om ON om.id = o.market_id
LEFT JOIN residential_group rg ON rg.id = o.residential_group_id
LEFT JOIN LATERAL (
    SELECT p.pt, ST_Transform(p.pt, w.local_srid) AS pt_l,
           ST_Transform(ST_SimplifyPreserveTopology(p.ctx, {SIMPLIFY_DEG}), w.local_srid) AS ctx_l, p.ctx_name
    FROM (SELECT COALESCE(s.geom, o.geom, sm.geom) AS pt,
                 COALESCE(sm.footprint, om.footprint, rg.geom) AS ctx,
                 CASE WHEN COALESCE(sm.footprint, om.footprint) IS NOT NULL THEN COALESCE(sm.name, om.name)
                      ELSE rg.name END AS ctx_name) p
) g ON true
WHERE q.token = %(token)s
"""


def lookup_row(conn: Connection, token: str, source: str, columns: tuple[str, ...],
               market_fields: tuple[str, ...], published: str = "TRUE") -> dict[str, Any] | None:
    """The one row a lookup needs: the code, its target (``e__<column>`` of ``source``, ``m__<field>`` of the
    stall's market), the ward's name and the small map's geometry in the ward's metric grid.

    The hottest query of the public service: on the driver's cursor, skipping SQLAlchemy's result
    set-up (a third of a lookup's CPU); same connection, so same transaction and isolation. A
    driver error is raised as SQLAlchemy would raise it, a lost connection invalidated (callers retry).
    """
    sql, params = _lookup_sql(columns, source, market_fields, published), {"token": token}
    raw = conn.connection.driver_connection
    try:
        with raw.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(sql, params).fetchone()
    except psycopg.Error as exc:
        if raw.broken:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error, connection_invalidated=raw.broken) from exc


# --- scan statistics (qr.scans) ----------------------------------------------------------------------

_ADD_SCANS_SQL = sa.text("""
INSERT INTO qr_scan_day AS d (day, code, outcome, count)
SELECT u.day, u.code, u.outcome, u.n
FROM unnest(CAST(:days AS date[]), CAST(:codes AS text[]), CAST(:outcomes AS text[]), CAST(:counts AS bigint[]))
     WITH ORDINALITY AS u(day, code, outcome, n, i)
ORDER BY u.i
ON CONFLICT (day, code, outcome) DO UPDATE SET count = d.count + EXCLUDED.count
""")


def add_scans(bind: db.Bind, rows: Sequence[tuple[Any, str, str, int]]) -> None:
    """Add (day, code, outcome, count) rows to ``qr_scan_day`` (one statement; counts add up). Callers
    sort the rows, so two workers flushing at once lock them in the same order (no deadlock)."""
    if not rows:
        return
    params = {"days": [r[0] for r in rows], "codes": [r[1] for r in rows], "outcomes": [r[2] for r in rows],
              "counts": [int(r[3]) for r in rows]}
    with db.transaction(bind) as conn:
        conn.execute(_ADD_SCANS_SQL, params)


#: the code of a scan row joined to what it was issued for (the ward: the establishment's, or the stall's market's)
_SCAN_TARGET = """
FROM qr_scan_day d
LEFT JOIN qr_code q ON q.token = d.code AND d.code <> ''
LEFT JOIN establishment e ON e.id = q.establishment_id
LEFT JOIN stall s ON s.id = q.stall_id
LEFT JOIN market m ON m.id = s.market_id
LEFT JOIN establishment te ON te.id = s.establishment_id
LEFT JOIN residential_group rg ON rg.id = COALESCE(e.residential_group_id, te.residential_group_id)
"""
_OF_WARD = "COALESCE(e.ward_id, m.ward_id) = :ward"
_TARGET_NAME = "COALESCE(e.name, te.name, concat_ws(' ', m.name, s.stall_no))"


def scans_per_day(bind: db.Bind, ward_id: int, since: Any) -> list[dict[str, Any]]:
    """(day, outcome, scans) from ``since``: the ward's valid and revoked codes, every unknown or malformed one."""
    return db.rows(bind, f"""
        SELECT d.day, d.outcome, sum(d.count)::bigint AS scans {_SCAN_TARGET}
        WHERE d.day >= :since AND (d.outcome IN ('unknown', 'malformed') OR {_OF_WARD})
        GROUP BY d.day, d.outcome ORDER BY d.day, d.outcome""", {"ward": ward_id, "since": since})


def scans_per_establishment(bind: db.Bind, ward_id: int, since: Any, limit: int) -> list[dict[str, Any]]:
    """The ward's establishments / stalls by scans of their codes (any version) from ``since``."""
    return db.rows(bind, f"""
        SELECT COALESCE(e.code, te.code) AS establishment_code, {_TARGET_NAME} AS name,
               rg.name AS residential_group,
               sum(d.count) FILTER (WHERE d.outcome = 'valid')::bigint AS valid,
               COALESCE(sum(d.count) FILTER (WHERE d.outcome = 'revoked'), 0)::bigint AS revoked,
               sum(d.count)::bigint AS scans
        {_SCAN_TARGET}
        WHERE d.day >= :since AND d.outcome IN ('valid', 'revoked') AND {_OF_WARD}
        GROUP BY 1, 2, 3 ORDER BY scans DESC, name LIMIT :limit""",
                   {"ward": ward_id, "since": since, "limit": int(limit)})


def scans_per_group(bind: db.Bind, ward_id: int, since: Any) -> list[dict[str, Any]]:
    """Scans of the ward's codes per residential group (code, name; None without one) from ``since``."""
    return db.rows(bind, f"""
        SELECT rg.code AS group_code, rg.name AS residential_group,
               COALESCE(sum(d.count) FILTER (WHERE d.outcome = 'valid'), 0)::bigint AS valid,
               COALESCE(sum(d.count) FILTER (WHERE d.outcome = 'revoked'), 0)::bigint AS revoked,
               sum(d.count)::bigint AS scans
        {_SCAN_TARGET}
        WHERE d.day >= :since AND d.outcome IN ('valid', 'revoked') AND {_OF_WARD}
        GROUP BY 1, 2 ORDER BY scans DESC, rg.code NULLS LAST""", {"ward": ward_id, "since": since})


def scan_alerts(bind: db.Bind, ward_id: int, since: Any, min_scans: int) -> list[dict[str, Any]]:
    """Unknown codes, and the ward's revoked codes, scanned at least ``min_scans`` times from ``since``."""
    return db.rows(bind, f"""
        SELECT d.code, d.outcome, sum(d.count)::bigint AS scans, min(d.day) AS first_day, max(d.day) AS last_day,
               q.short_code, q.revoked_at, q.revoked_reason, COALESCE(e.code, te.code) AS establishment_code,
               {_TARGET_NAME} AS name, rg.name AS residential_group
        {_SCAN_TARGET}
        WHERE d.day >= :since AND d.code <> ''
          AND (d.outcome = 'unknown' OR (d.outcome = 'revoked' AND {_OF_WARD}))
        GROUP BY d.code, d.outcome, q.short_code, q.revoked_at, q.revoked_reason, 9, 10, 11
        HAVING sum(d.count) >= :n
        ORDER BY scans DESC, d.code""", {"ward": ward_id, "since": since, "n": int(min_scans)})


def reports_naming_codes(bind: db.Bind, tokens: Sequence[str], short_codes: Sequence[str | None],
                         per_code: int = 10) -> list[dict[str, Any]]:
    """Citizen reports whose text names one of the codes (token or short code, any case), the latest
    ``per_code`` of each: ``named`` (the code as given), public id, date, status, category, the report's
    place rounded to 4 decimals (about 10 m) and the residential group it lies in. No reporter data."""
    names = sorted({n for n in [*tokens, *short_codes] if n})
    if not names:
        return []
    return db.rows(bind, """
        SELECT n.named, f.public_id, f.reported_at, f.status, f.category,
               round(ST_Y(f.geom)::numeric, 4)::float AS lat, round(ST_X(f.geom)::numeric, 4)::float AS lon,
               g.name AS residential_group
        FROM unnest(CAST(:names AS text[])) AS n(named)
        CROSS JOIN LATERAL (
            SELECT * FROM field_report r
            WHERE strpos(lower(r.description), lower(n.named)) > 0
            ORDER BY r.reported_at DESC LIMIT :per_code) f
        LEFT JOIN LATERAL (SELECT x.name FROM residential_group x
                           WHERE x.ward_id = f.ward_id AND ST_Covers(x.geom, f.geom) ORDER BY x.code LIMIT 1) g ON true
        ORDER BY n.named, f.reported_at DESC""", {"names": names, "per_code": int(per_code)})
