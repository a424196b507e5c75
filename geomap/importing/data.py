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
from geomap.importing.specs import EVIDENCE_FIELDS, LayerSpec

#: the columns of the staged tables, in the order of the rows the writer builds
STAGED_ESTABLISHMENT = ("id", "is_new", "version", *ESTABLISHMENT_FIELDS, "search_key", "lon", "lat")
STAGED_LICENCE = ("id", "is_new", "establishment_id", "kind", *LICENCE_FIELDS)
#: clear_follow_up: write NULL (only a violation has a follow-up); a NULL cell elsewhere keeps what is on file
STAGED_INSPECTION = ("id", "is_new", "establishment_id", *INSPECTION_FIELDS, "clear_follow_up")
_ESTABLISHMENT_TYPES = {"id": "int", "is_new": "boolean", "version": "int", "residential_group_id": "int",
                        "digital_payment": "text[]", "digital_platforms": "text[]",
                        "uses_e_invoice": "boolean", "uses_sales_software": "boolean", "employees": "int",
                        "opened_on": "date", "lon": "float8",
                        "lat": "float8"}
_LICENCE_TYPES = {"id": "int", "is_new": "boolean", "establishment_id": "int", "issued_on": "date",
                  "expires_on": "date", "revoked_on": "date"}
_INSPECTION_TYPES = {"id": "int", "is_new": "boolean", "establishment_id": "int", "inspected_on": "date",
                     "violations": "jsonb", "follow_up_due": "date", "clear_follow_up": "boolean"}
#: the columns of one audit entry, as :func:`copy_audit` takes them
AUDIT_COLUMNS = ("user_id", "username", "action", "entity_type", "entity_id", "before", "after", "note")
#: the tables whose ids an import draws ahead (:func:`new_ids`)
_ID_TABLES = ("establishment", "licence", "inspection", "residential_group", "land_parcel", "infrastructure",
              "public_facility", "market", "stall", "commercial_street")


# --- reading (the dry run) ------------------------------------------------------------------------


def vsic_codes(bind: db.Bind) -> frozenset[str]:
    return frozenset(db.scalars(bind, "SELECT vsic_code FROM industry"))


def residential_groups(bind: db.Bind, ward_id: int) -> list[tuple[int, str, str]]:
    """(id, code, name) of the ward's residential groups."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, code, name FROM residential_group WHERE ward_id = :w"), {"w": ward_id})]


def placed_addresses(bind: db.Bind, ward_id: int) -> list[tuple]:
    """(address, house_number, street, code, lon, lat) of the ward's establishments placed exactly, by id
    (a point placed from an address is no known address for another)."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT address, house_number, street, code, ST_X(geom), ST_Y(geom) FROM establishment "
            "WHERE ward_id = :w AND geom IS NOT NULL AND location_quality = 'exact' ORDER BY id"), {"w": ward_id})]


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
                "o.digital_payment, o.digital_platforms, e.uses_e_invoice, e.uses_sales_software, o.opening_hours, "
                "o.employees, o.opened_on, o.owner_name, o.owner_id_number, "
                "o.phone, o.email, o.registration_number, o.registration_issued_on, o.registration_expires_on, "
                "o.fs_certificate_number, o.fs_certificate_issued_on, o.fs_certificate_expires_on, "
                "o.fs_commitment_number, o.fs_commitment_issued_on "
                "FROM establishment_overview o JOIN establishment e ON e.id = o.id "
                "LEFT JOIN residential_group rg ON rg.id = o.residential_group_id "
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
    defaults = {"digital_payment": "'{}'", "digital_platforms": "'{}'", "uses_e_invoice": "false",
                "uses_sales_software": "false"}
    fields = [f for f in ESTABLISHMENT_FIELDS if f not in ("operating_status", "residential_group_id", *defaults)]
    conn.execute(sa.text(
        f"INSERT INTO establishment (id, ward_id, {', '.join(fields)}, operating_status, {', '.join(defaults)}, "
        "residential_group_id, closed_on, search_key, geom) "
        f"SELECT t.id, :w, {', '.join('t.' + f for f in fields)}, COALESCE(t.operating_status, 'active'), "
        f"{', '.join(f'COALESCE(t.{f}, {d})' for f, d in defaults.items())}, "
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


# --- base layers (geomap/importing/layer_plan.py; tables and columns come from importing/specs.py) --------


def _layer_from(spec: LayerSpec) -> tuple[str, str]:
    """FROM clause and ward condition of ``spec``'s table (stalls belong to the ward through their market)."""
    if spec.ward_scoped:
        return f"{spec.table} x", "x.ward_id = :w"
    return f"{spec.table} x JOIN market m ON m.id = x.market_id", "m.ward_id = :w"


def layer_records(bind: db.Bind, spec: LayerSpec, ward_id: int) -> list[dict[str, Any]]:
    """The ward's rows of ``spec``'s table: ``id``, the imported fields (geometry fields as WKB) and ``geom`` (WKB)."""
    source, where = _layer_from(spec)
    cols = ", ".join(f"ST_AsBinary(x.{f}) AS {f}" if f in spec.geometry_fields else f"x.{f}" for f in spec.fields)
    return db.rows(bind, f"SELECT x.id, {cols}, ST_AsBinary(x.geom) AS geom FROM {source} WHERE {where} "
                         "ORDER BY x.id", {"w": ward_id})


def codes_elsewhere(bind: db.Bind, table: str, ward_id: int, codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` that a row of ``table`` in another ward carries (codes unique across wards)."""
    if not codes:
        return set()
    return set(db.scalars(bind, f"SELECT code FROM {table} WHERE ward_id <> :w AND code = ANY(:c)",
                          {"w": ward_id, "c": list(codes)}))


def markets(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The ward's markets: ``id``, ``code``, ``name``, ``geom`` and ``footprint`` (WKB)."""
    return db.rows(bind, "SELECT id, code, name, ST_AsBinary(geom) AS geom, ST_AsBinary(footprint) AS footprint "
                         "FROM market WHERE ward_id = :w ORDER BY id", {"w": ward_id})


def establishment_codes(bind: db.Bind, ward_id: int, codes: Sequence[str]) -> dict[str, int]:
    """code -> id of those of ``codes`` that name an establishment of the ward."""
    if not codes:
        return {}
    with db.read(bind) as conn:
        return {r[0]: r[1] for r in conn.execute(sa.text(
            "SELECT code, id FROM establishment WHERE ward_id = :w AND code = ANY(:c)"),
            {"w": ward_id, "c": list(codes)})}


def evidence_on_file(bind: db.Bind, stall_ids: Sequence[int]) -> set[tuple[int, Any]]:
    """(stall id, date seen) of the QR/POS evidence already recorded for ``stall_ids``."""
    if not stall_ids:
        return set()
    with db.read(bind) as conn:
        return {(r[0], r[1]) for r in conn.execute(sa.text(
            "SELECT stall_id, seen_on FROM stall_payment_evidence WHERE stall_id = ANY(:s)"),
            {"s": list(stall_ids)})}


def merge_layer(conn: Connection, spec: LayerSpec, ward_id: int, rows: Sequence[Sequence[Any]]) -> None:
    """Insert and update rows of ``spec``'s table from staged tuples ``(id, is_new, *fields, geom)``
    (geometries as hex WKB; an empty value keeps what is on file; an updated row is no longer synthetic)."""
    if not rows:
        return
    cols = ("id", "is_new", *spec.fields, "geom")
    _stage(conn, "_imp_layer", cols, {"id": "int", "is_new": "boolean", **spec.types}, rows)

    def value(f: str) -> str:
        if f in spec.geometry_fields:
            return f"ST_SetSRID(CAST(t.{f} AS geometry), 4326)"
        return f"t.{f}"

    ward = ["ward_id"] if spec.ward_scoped else []
    inserted = [f"COALESCE({value(f)}, {spec.insert_defaults[f]})" if f in spec.insert_defaults else value(f)
                for f in spec.fields]
    conn.execute(sa.text(
        f"INSERT INTO {spec.table} (id, {', '.join([*ward, *spec.fields])}, geom) "
        f"SELECT t.id, {', '.join([':w'] * len(ward) + inserted)}, {spec.geom_sql} FROM _imp_layer t WHERE t.is_new"),
        {"w": ward_id})
    sets = [f"{f} = COALESCE({value(f)}, x.{f})" for f in spec.fields]
    sets.append(f"geom = COALESCE({spec.geom_sql}, x.geom)")
    if spec.ward_scoped:
        sets.append("is_synthetic = false")
    if spec.has_updated_at:
        sets.append("updated_at = now()")
    conn.execute(sa.text(f"UPDATE {spec.table} x SET {', '.join(sets)} FROM _imp_layer t "
                         "WHERE t.id = x.id AND NOT t.is_new"))


def copy_evidence(conn: Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Append QR/POS evidence rows (tuples in the order of :data:`geomap.importing.specs.EVIDENCE_FIELDS`)."""
    return _copy(conn, "stall_payment_evidence", EVIDENCE_FIELDS, rows)


#: the template's columns of each base layer, as SQL over the table ``x`` (see :func:`layer_template_rows`)
_LAYER_TEMPLATE = {
    "residential_groups": ("x.code, x.name, x.population, x.households, ST_AsText(x.geom, 8) AS wkt",
                           "residential_group x", "x.ward_id = :w", "x.code"),
    "land_parcels": ("x.map_sheet, x.parcel_no, x.land_use_code, x.area_m2, x.planning_zone, "
                     "ST_AsText(x.geom, 8) AS wkt", "land_parcel x", "x.ward_id = :w", "x.map_sheet, x.parcel_no"),
    "infrastructure": ("x.code, x.kind, x.condition, x.checked_on, x.installed_on, ST_AsText(x.geom, 8) AS wkt",
                       "infrastructure x", "x.ward_id = :w", "x.code"),
    "public_facilities": ("x.kind, x.name, x.address, ST_AsText(x.geom, 8) AS wkt", "public_facility x",
                          "x.ward_id = :w", "x.kind, x.name"),
    "markets": ("x.code, x.name, x.address, x.is_pilot_smart_market, "
                "ST_AsText(COALESCE(x.footprint, x.geom), 8) AS wkt", "market x", "x.ward_id = :w", "x.code"),
    "stalls": ("m.code AS market_code, x.stall_no, x.zone, x.trade, x.holder_name, x.holder_phone, "
               "e.code AS establishment_code, x.accepts_qr_pos, ev.seen_on, ev.seen_by, ev.method AS payment_method, "
               "ev.photo, ST_AsText(x.geom, 8) AS wkt",
               "stall x JOIN market m ON m.id = x.market_id LEFT JOIN establishment e ON e.id = x.establishment_id "
               "LEFT JOIN LATERAL (SELECT p.seen_on, p.seen_by, p.method, p.photo FROM stall_payment_evidence p "
               "WHERE p.stall_id = x.id ORDER BY p.seen_on DESC, p.id DESC LIMIT 1) ev ON true",
               "m.ward_id = :w", "m.code, x.stall_no"),
    "commercial_streets": ("x.code, x.name, x.note, ST_AsText(x.geom, 8) AS wkt", "commercial_street x",
                           "x.ward_id = :w", "x.code"),
}


def layer_template_rows(bind: db.Bind, kind: str, ward_id: int) -> list[dict[str, Any]]:
    """The ward's rows of base layer ``kind`` under the template's column names (the latest QR/POS
    evidence of a stall with it), shapes as WKT to 8 decimals (about 1 mm)."""
    cols, source, where, order = _LAYER_TEMPLATE[kind]
    return db.rows(bind, f"SELECT {cols} FROM {source} WHERE {where} ORDER BY {order}", {"w": ward_id})


def ungrouped_points(bind: db.Bind, ward_id: int) -> list[tuple[int, float, float]]:
    """(id, lon, lat) of the ward's establishments with a point and no residential group."""
    with db.read(bind) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM establishment WHERE ward_id = :w AND geom IS NOT NULL "
            "AND residential_group_id IS NULL ORDER BY id"), {"w": ward_id})]


def assign_groups(conn: Connection, ward_id: int) -> list[tuple[int, int]]:
    """Give each establishment of the ward with a point and no group the group covering it (the lowest id
    where two touch); (establishment id, group id) of those changed, their version bumped as an edit's."""
    return [tuple(r) for r in conn.execute(sa.text(
        "UPDATE establishment e SET residential_group_id = c.gid, version = e.version + 1, updated_at = now() "
        "FROM (SELECT DISTINCT ON (e2.id) e2.id AS eid, g.id AS gid FROM establishment e2 "
        "      JOIN residential_group g ON g.ward_id = e2.ward_id AND ST_Covers(g.geom, e2.geom) "
        "      WHERE e2.ward_id = :w AND e2.geom IS NOT NULL AND e2.residential_group_id IS NULL "
        "      ORDER BY e2.id, g.id) c "
        "WHERE e.id = c.eid RETURNING e.id, c.gid"), {"w": ward_id})]
