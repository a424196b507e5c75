"""All of the importer's SQL: what the dry run reads, the bulk writes, and the template's rows.

Reads take a :data:`geomap.db.Bind` and open it with :func:`geomap.db.read`. Writes take the
``Connection`` of the import's one transaction (:func:`geomap.importing.run_import` opens it),
so a failed row leaves nothing written.

The bulk writes stream rows with ``COPY`` into temporary tables (``ON COMMIT DROP``) and merge
them with one ``INSERT ... SELECT`` and one ``UPDATE ... FROM`` per table. The staged rows are
tuples in the order of :data:`STAGED_ESTABLISHMENT`, :data:`STAGED_LICENCE` and
:data:`STAGED_INSPECTION`. An establishment is updated only ``WHERE version`` is still the one read
while planning (the same optimistic lock as :func:`geomap.records.data.write_establishment`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db
from geomap.importing.columns import ESTABLISHMENT_FIELDS, INSPECTION_FIELDS, LICENCE_FIELDS

#: the columns of the staged tables, in the order of the rows the writer builds
STAGED_ESTABLISHMENT = ("id", "is_new", "version", *ESTABLISHMENT_FIELDS, "search_key", "lon", "lat")
STAGED_LICENCE = ("id", "is_new", "establishment_id", "kind", *LICENCE_FIELDS)
#: clear_follow_up: write NULL (only a violation has a follow-up); a NULL cell elsewhere keeps what is on file
STAGED_INSPECTION = ("id", "is_new", "establishment_id", *INSPECTION_FIELDS, "clear_follow_up")
_ESTABLISHMENT_TYPES = {"id": "int", "is_new": "boolean", "version": "int", "residential_group_id": "int",
                        "digital_payment": "text[]", "employees": "int", "opened_on": "date", "lon": "float8",
                        "lat": "float8"}
_LICENCE_TYPES = {"id": "int", "is_new": "boolean", "establishment_id": "int", "issued_on": "date",
                  "expires_on": "date", "revoked_on": "date"}
_INSPECTION_TYPES = {"id": "int", "is_new": "boolean", "establishment_id": "int", "inspected_on": "date",
                     "violations": "jsonb", "follow_up_due": "date", "clear_follow_up": "boolean"}
#: the columns of one audit entry, as :func:`copy_audit` takes them
AUDIT_COLUMNS = ("user_id", "username", "action", "entity_type", "entity_id", "before", "after", "note")
#: the tables whose ids an import draws ahead (:func:`new_ids`)
_ID_TABLES = ("establishment", "licence", "inspection")


# --- reading (the dry run) ------------------------------------------------------------------------


def vsic_codes(bind: db.Bind) -> frozenset[str]:
    return frozenset(db.scalars(bind, "SELECT vsic_code FROM industry"))


def residential_groups(bind: db.Bind, ward_id: int) -> list[tuple[int, str, str]]:
    """(id, code, name) of the ward's residential groups."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, code, name FROM residential_group WHERE ward_id = :w"), {"w": ward_id})]


def placed_addresses(bind: db.Bind, ward_id: int) -> list[tuple]:
    """(address, house_number, street, code, lon, lat) of the ward's establishments with a point, by id."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT address, house_number, street, code, ST_X(geom), ST_Y(geom) FROM establishment "
            "WHERE ward_id = :w AND geom IS NOT NULL ORDER BY id"), {"w": ward_id})]


def establishments(bind: db.Bind, ward_id: int, full: bool) -> list[dict[str, Any]]:
    """The ward's establishments by id: ``id``, ``ward_id``, ``version``, ``lon``, ``lat`` and every
    imported field (``full``), or only ``code``, ``name`` and ``tax_code``."""
    cols = ", ".join(ESTABLISHMENT_FIELDS) if full else "code, name, tax_code"
    return db.rows(bind, f"SELECT id, ward_id, version, {cols}, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                         "FROM establishment WHERE ward_id = :w ORDER BY id", {"w": ward_id})


def licences(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """Every licence of the ward's establishments, by id."""
    return db.rows(bind, "SELECT l.id, l.establishment_id, l.kind, l.number, l.issuer, l.issued_on, l.expires_on, "
                         "l.revoked_on, l.note FROM licence l JOIN establishment e ON e.id = l.establishment_id "
                         "WHERE e.ward_id = :w ORDER BY l.id", {"w": ward_id})


def inspections(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """Every inspection of the ward's establishments, by id."""
    return db.rows(bind, "SELECT n.id, n.establishment_id, n.inspected_on, n.kind, n.result, n.inspector_name, "
                         "n.violations, n.notes, n.follow_up_due, n.made_via FROM inspection n "
                         "JOIN establishment e ON e.id = n.establishment_id WHERE e.ward_id = :w ORDER BY n.id",
                   {"w": ward_id})


def codes_in_other_wards(bind: db.Bind, ward_id: int, codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` that establishments of another ward already carry."""
    if not codes:
        return set()
    return set(db.scalars(bind, "SELECT code FROM establishment WHERE ward_id <> :w AND code = ANY(:c)",
                          {"w": ward_id, "c": list(codes)}))


def taken_codes(bind: db.Bind, codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` that some establishment already carries."""
    if not codes:
        return set()
    return set(db.scalars(bind, "SELECT code FROM establishment WHERE code = ANY(:c)", {"c": list(codes)}))


# --- the template -------------------------------------------------------------------------------


def industries(bind: db.Bind) -> list[tuple[str, str, str]]:
    """(vsic_code, name_vi, name_en) of every industry, by code."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT vsic_code, name_vi, name_en FROM industry "
                                                       "ORDER BY vsic_code"))]


def template_rows(bind: db.Bind, ward_id: int) -> dict[str, list[dict[str, Any]]]:
    """The ward's establishments (with their latest licence of each kind), licences and inspections,
    under the template's column names."""
    params = {"w": ward_id}
    with db.read(bind) as conn:
        return {
            "establishments": db.rows(
                conn,
                "SELECT o.code, o.name, o.business_type, o.vsic_code, o.operating_status, o.house_number, o.street, "
                "o.address, rg.code AS residential_group, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat, o.tax_code, "
                "o.digital_payment, o.opening_hours, o.employees, o.opened_on, o.owner_name, o.owner_id_number, "
                "o.phone, o.email, o.registration_number, o.registration_issued_on, o.registration_expires_on, "
                "o.fs_certificate_number, o.fs_certificate_issued_on, o.fs_certificate_expires_on, "
                "o.fs_commitment_number, o.fs_commitment_issued_on "
                "FROM establishment_overview o LEFT JOIN residential_group rg ON rg.id = o.residential_group_id "
                "WHERE o.ward_id = :w ORDER BY o.code", params),
            "licences": db.rows(
                conn,
                "SELECT e.code AS establishment_code, l.kind, l.number, l.issuer, l.issued_on, l.expires_on, "
                "l.revoked_on, l.note FROM licence l JOIN establishment e ON e.id = l.establishment_id "
                "WHERE e.ward_id = :w ORDER BY e.code, l.kind, l.issued_on, l.id", params),
            "inspections": db.rows(
                conn,
                "SELECT e.code AS establishment_code, n.inspected_on, n.kind, n.result, n.inspector_name, "
                "n.violations, n.notes, n.follow_up_due, n.made_via FROM inspection n "
                "JOIN establishment e ON e.id = n.establishment_id "
                "WHERE e.ward_id = :w ORDER BY e.code, n.inspected_on, n.id", params),
        }


# --- writing (inside the import's transaction) ---------------------------------------------------


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream ``rows`` into ``table`` with COPY on the connection's own transaction."""
    raw = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def new_ids(conn: Connection, table: str, n: int) -> list[int]:
    """``n`` ids drawn from ``table``'s sequence (rows are inserted with their id known beforehand)."""
    if n == 0:
        return []
    if table not in _ID_TABLES:
        raise ValueError(f"no id sequence drawn for table {table!r}")
    return list(conn.execute(sa.text(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": n}).scalars())


def _stage(conn: Connection, name: str, cols: Sequence[str], types: Mapping[str, str],
           rows: Iterable[Sequence[Any]]) -> None:
    """A temporary table ``name`` (dropped at commit) holding ``rows``."""
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    defs = ", ".join(f"{c} {types.get(c, 'text')}" for c in cols)
    conn.execute(sa.text(f"CREATE TEMP TABLE {name} ({defs}) ON COMMIT DROP"))
    _copy(conn, name, cols, rows)


def copy_audit(conn: Connection, entries: Iterable[Sequence[Any]]) -> int:
    """Append audit entries (tuples in the order of :data:`AUDIT_COLUMNS`, before/after as JSON text)."""
    return _copy(conn, "audit_log", AUDIT_COLUMNS, entries)


def merge_licences(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert the new licences and update the others (an empty field keeps what is on file)."""
    if not rows:
        return
    _stage(conn, "_imp_lic", STAGED_LICENCE, _LICENCE_TYPES, rows)
    conn.execute(sa.text(
        f"INSERT INTO licence (id, establishment_id, kind, {', '.join(LICENCE_FIELDS)}) "
        f"SELECT id, establishment_id, kind, {', '.join(LICENCE_FIELDS)} FROM _imp_lic WHERE is_new"))
    sets = ", ".join(f"{f} = COALESCE(t.{f}, l.{f})" for f in LICENCE_FIELDS)
    conn.execute(sa.text(f"UPDATE licence l SET {sets}, updated_at = now() FROM _imp_lic t "
                         "WHERE t.id = l.id AND NOT t.is_new"))


def merge_establishments(conn: Connection, ward_id: int, rows: Sequence[Sequence[Any]]) -> int:
    """Insert the new establishments into the ward and update the others still at the version staged;
    the number updated (fewer than staged: someone else saved one in between).

    A point without a residential group takes the ward's group covering it; setting the operating
    status to closed dates the closing today, any other status clears it.
    """
    if not rows:
        return 0
    _stage(conn, "_imp_est", STAGED_ESTABLISHMENT, _ESTABLISHMENT_TYPES, rows)
    point = "ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)"
    group = (f"(SELECT g.id FROM residential_group g WHERE g.ward_id = :w AND ST_Covers(g.geom, {point}) "
             "ORDER BY g.id LIMIT 1)")
    fields = [f for f in ESTABLISHMENT_FIELDS if f not in ("operating_status", "digital_payment",
                                                           "residential_group_id")]
    conn.execute(sa.text(
        f"INSERT INTO establishment (id, ward_id, {', '.join(fields)}, operating_status, digital_payment, "
        "residential_group_id, closed_on, search_key, geom) "
        f"SELECT t.id, :w, {', '.join('t.' + f for f in fields)}, COALESCE(t.operating_status, 'active'), "
        f"COALESCE(t.digital_payment, '{{}}'), "
        f"COALESCE(t.residential_group_id, CASE WHEN t.lon IS NOT NULL THEN {group} END), "
        "CASE WHEN t.operating_status = 'closed' THEN current_date END, t.search_key, "
        f"CASE WHEN t.lon IS NOT NULL THEN {point} END FROM _imp_est t WHERE t.is_new"), {"w": ward_id})
    sets = ", ".join(f"{f} = COALESCE(t.{f}, e.{f})" for f in ESTABLISHMENT_FIELDS
                     if f not in ("code", "residential_group_id"))
    return conn.execute(sa.text(
        f"UPDATE establishment e SET {sets}, search_key = t.search_key, "
        f"geom = CASE WHEN t.lon IS NOT NULL THEN {point} ELSE e.geom END, "
        f"residential_group_id = COALESCE(t.residential_group_id, "
        f"CASE WHEN t.lon IS NOT NULL THEN {group} ELSE e.residential_group_id END), "
        "closed_on = CASE WHEN t.operating_status = 'closed' THEN COALESCE(e.closed_on, current_date) "
        "WHEN t.operating_status IS NOT NULL THEN NULL ELSE e.closed_on END, "
        "version = e.version + 1, updated_at = now() "
        "FROM _imp_est t WHERE t.id = e.id AND NOT t.is_new AND e.version = t.version"),
        {"w": ward_id}).rowcount


def merge_inspections(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert the new inspections and update the others (an empty field keeps what is on file, except a
    follow-up flagged ``clear_follow_up``). An imported inspection was made on paper (``made_via``) unless
    its row says otherwise."""
    if not rows:
        return
    _stage(conn, "_imp_ins", STAGED_INSPECTION, _INSPECTION_TYPES, rows)
    fields = INSPECTION_FIELDS
    defaults = {"violations": "COALESCE(violations, '[]'::jsonb)", "made_via": "COALESCE(made_via, 'paper')"}
    conn.execute(sa.text(
        f"INSERT INTO inspection (id, establishment_id, {', '.join(fields)}) "
        f"SELECT id, establishment_id, {', '.join(defaults.get(f, f) for f in fields)} FROM _imp_ins WHERE is_new"))
    sets = ", ".join(f"{f} = COALESCE(t.{f}, n.{f})" for f in fields if f != "follow_up_due")
    sets += ", follow_up_due = CASE WHEN t.clear_follow_up THEN NULL ELSE COALESCE(t.follow_up_due, " \
            "n.follow_up_due) END"
    conn.execute(sa.text(f"UPDATE inspection n SET {sets}, updated_at = now() FROM _imp_ins t "
                         "WHERE t.id = n.id AND NOT t.is_new"))
