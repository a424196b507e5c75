"""Every SQL statement of the field-report domain (tables ``field_report``, ``field_report_update``,
``field_report_photo``; the ward and QR-code reads the intake needs).

Writes take the :class:`~sqlalchemy.engine.Connection` of the caller's
:func:`geomap.db.transaction` (the services in :mod:`.intake` and :mod:`.workflow` open it, so
the report, its history and its audit entry commit together); reads take a :data:`geomap.db.Bind`
and open it with :func:`geomap.db.read`. Nothing here decides a rule: the services do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from geomap import db
from geomap.field_reports import DONE_STATUSES, DUPLICATE_DAYS, DUPLICATE_RADIUS_M, OPEN_STATUSES

# --- QR codes (what the intake resolves; its wards are read by geomap.wards.data) --------------------


def establishment_for_token(bind: db.Bind, token: str, *, include_revoked: bool = False) -> dict[str, Any] | None:
    """The establishment behind a QR token or short code (a stall's code leads to its trader); see
    :func:`geomap.field_reports.intake.establishment_for_token`."""
    return db.row(
        bind,
        "SELECT e.id, e.name, e.address, e.ward_id, ST_X(COALESCE(e.geom, s.geom)) lon, "
        "ST_Y(COALESCE(e.geom, s.geom)) lat, q.short_code, q.revoked_at IS NOT NULL AS revoked FROM qr_code q "
        "LEFT JOIN stall s ON s.id = q.stall_id "
        "JOIN establishment e ON e.id = COALESCE(q.establishment_id, s.establishment_id) "
        "WHERE (q.token = :t OR q.short_code = :t) AND (:rev OR q.revoked_at IS NULL) LIMIT 1",
        {"t": token, "rev": include_revoked})


# --- intake ---------------------------------------------------------------------------------------


def lock_submission_and_find_ward(conn: Connection, digest: str, *, ward_id: int | None, ward_slug: str | None,
                                  lon: float, lat: float) -> Row:
    """Take the submission's advisory lock (held to the end of the transaction) and find the ward covering
    the point, in one round trip (the public hot path). Row ``(locked, id, slug)``; ``id`` None: no ward.

    The ward is restricted to ``ward_id`` when given, and to the ward ``ward_slug`` when given and loaded
    (a slug that is not loaded restricts nothing, as a form with no ward of its own)."""
    return conn.execute(sa.text(
        "SELECT pg_advisory_xact_lock(hashtextextended(:h, 5)) AS locked, w.id, w.slug FROM "
        "(SELECT 1) one LEFT JOIN LATERAL (SELECT id, slug FROM ward WHERE (CAST(:w AS int) IS NULL OR id = :w) "
        " AND (CAST(:s AS text) IS NULL OR slug = :s OR NOT EXISTS (SELECT 1 FROM ward x WHERE x.slug = :s)) "
        " AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY id LIMIT 1) w ON TRUE"),
        {"h": digest, "w": ward_id, "s": ward_slug, "lon": lon, "lat": lat}).one()


def insert_report(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """Insert the report and its first (public) history step; None when no ward was found or the same
    submission (``h``) was stored since ``since`` (a replay)."""
    row = conn.execute(sa.text(
        "WITH ins AS (INSERT INTO field_report (ward_id, public_id, category, description, channel, status, "
        " reported_at, deadline_at, establishment_id, reporter_name, reporter_contact, address, contact_consent_at, "
        " consent_notice, submission_hash, api_key_id, reporter_lang, geom) "
        "SELECT CAST(:ward_id AS int), :public_id, :category, "
        " :description, :channel, 'new', "
        " CAST(:at AS timestamptz), CAST(:deadline AS timestamptz), CAST(:establishment_id AS int), "
        " :reporter_name, :reporter_contact, :address, CAST(:consent_at AS timestamptz), "
        " CAST(:notice AS varchar), CAST(:h AS varchar), CAST(:api_key_id AS int), CAST(:lang AS varchar), "
        " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) WHERE CAST(:ward_id AS int) IS NOT NULL AND NOT EXISTS ("
        " SELECT 1 FROM field_report WHERE submission_hash = CAST(:h AS varchar) "
        " AND reported_at > CAST(:since AS timestamptz)) RETURNING id), "
        "hist AS (INSERT INTO field_report_update (report_id, at, user_id, status_from, status_to, note, "
        " is_public) SELECT id, CAST(:at AS timestamptz), CAST(:user_id AS int), NULL, 'new', :note, TRUE "
        " FROM ins) "
        "SELECT id FROM ins"), dict(values)).first()
    return int(row.id) if row is not None else None


def earlier_submission(conn: Connection, digest: str, since: dt.datetime) -> Row | None:
    """The report a replay of ``digest`` made since ``since`` (id, public_id, deadline_at, ward_id)."""
    return conn.execute(sa.text(
        "SELECT id, public_id, deadline_at, ward_id FROM field_report WHERE submission_hash = :h "
        "AND reported_at > :since ORDER BY id LIMIT 1"), {"h": digest, "since": since}).first()


def insert_photos(conn: Connection, report_id: int, photos: Sequence[Any]) -> None:
    conn.execute(sa.text(
        "INSERT INTO field_report_photo (report_id, media_type, width, height, content) "
        "VALUES (:r, :m, :w, :h, :c)"),
        [{"r": report_id, "m": p.media_type, "w": p.width, "h": p.height, "c": p.content} for p in photos])


def add_history(conn: Connection, report_id: int, user_id: int | None, status_from: str | None,
                status_to: str | None, note: str | None, *, public: bool = True, at: dt.datetime | None = None,
                assignee_id: int | None = None) -> None:
    conn.execute(sa.text(
        "INSERT INTO field_report_update (report_id, at, user_id, status_from, status_to, note, is_public, "
        "assignee_id) VALUES (:r, COALESCE(:at, clock_timestamp()), :u, :f, :t, :n, :p, :a)"),
        {"r": report_id, "at": at, "u": user_id, "f": status_from, "t": status_to, "n": note, "p": public,
         "a": assignee_id})


# --- workflow -------------------------------------------------------------------------------------


def lock_report(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """The report's workflow state, locked (FOR UPDATE) to the end of the transaction; None: no such report."""
    return db.row(conn, "SELECT id, public_id, ward_id, status, assignee_id, duplicate_of_id, deadline_at, resolved_at "
                  "FROM field_report WHERE id = :id FOR UPDATE", {"id": report_id})


def set_status(conn: Connection, report_id: int, status: str, *, resolved: bool | None,
               clear_duplicate: bool = False) -> None:
    """Set the status; ``resolved`` True stamps ``resolved_at`` now, False clears it, None leaves it."""
    sets = ["status = :status", "updated_at = now()"]
    if resolved is True:
        sets.append("resolved_at = now()")
    elif resolved is False:
        sets.append("resolved_at = NULL")
    if clear_duplicate:
        sets.append("duplicate_of_id = NULL")
    conn.execute(sa.text(f"UPDATE field_report SET {', '.join(sets)} WHERE id = :id"),
                 {"status": status, "id": report_id})


def set_assignee(conn: Connection, report_id: int, assignee_id: int, status: str) -> None:
    conn.execute(sa.text(
        "UPDATE field_report SET assignee_id = :a, status = :s, updated_at = now() WHERE id = :id"),
        {"a": assignee_id, "s": status, "id": report_id})


def duplicate_root(conn: Connection, original_id: int) -> dict[str, Any] | None:
    """The root of ``original_id``'s duplicate chain (id, public_id, ward_id); None: no such report."""
    return db.row(
        conn,
        "WITH RECURSIVE chain(id, dup, depth) AS ("
        " SELECT id, duplicate_of_id, 0 FROM field_report WHERE id = :o"
        " UNION ALL SELECT f.id, f.duplicate_of_id, c.depth + 1 FROM field_report f JOIN chain c ON f.id = c.dup"
        " WHERE c.depth < 50) "
        "SELECT c.id, f.public_id, f.ward_id FROM chain c JOIN field_report f USING (id) "
        "WHERE c.dup IS NULL LIMIT 1", {"o": original_id})


def set_duplicate(conn: Connection, report_id: int, root_id: int) -> None:
    """Mark the report a duplicate of ``root_id``; reports that pointed at it now point at the root."""
    conn.execute(sa.text(
        "UPDATE field_report SET status = 'duplicate', duplicate_of_id = :o, resolved_at = now(), "
        "updated_at = now() WHERE id = :id"), {"o": root_id, "id": report_id})
    conn.execute(sa.text("UPDATE field_report SET duplicate_of_id = :o WHERE duplicate_of_id = :id"),
                 {"o": root_id, "id": report_id})


# --- duplicates -----------------------------------------------------------------------------------


def _similar_where(o: str, *, ward: str, category: str, geog: str, at: str, exclude: str) -> str:
    """The one duplicate rule as SQL over alias ``o`` (the possible original), for a report given by
    SQL expressions (bind parameters or another row's columns): same ward and category, within
    ``:dup_r`` metres, reported in the ``:dup_days`` days up to ``at``, still open or closed within
    those days. :func:`nearby_similar` and the work list's flag share it."""
    since = f"({at} - make_interval(days => CAST(:dup_days AS int)))"
    return (f"{o}.ward_id = {ward} AND {o}.category = {category} AND {o}.id IS DISTINCT FROM {exclude} "
            f"AND ST_DWithin(geography({o}.geom), {geog}, :dup_r) "
            f"AND {o}.reported_at BETWEEN {since} AND ({at} + interval '1 second') "
            f"AND ({o}.status = ANY(:dup_open) OR ({o}.status = ANY(:dup_done) "
            f"AND COALESCE({o}.resolved_at, {o}.updated_at) >= {since}))")


def _similar_params(radius_m: float = DUPLICATE_RADIUS_M, days: int = DUPLICATE_DAYS) -> dict[str, Any]:
    return {"dup_r": float(radius_m), "dup_days": int(days), "dup_open": list(OPEN_STATUSES),
            "dup_done": list(DONE_STATUSES)}


def nearby_similar(bind: db.Bind, *, ward_id: int, category: str, lon: float, lat: float, at: dt.datetime,
                   exclude_id: int | None, radius_m: float, days: int) -> list[dict[str, Any]]:
    """Reports the duplicate rule matches for a report at (lon, lat) made at ``at``; nearest first, 20 at most."""
    return db.rows(
        bind,
        "SELECT o.id, o.public_id, o.status, o.reported_at, o.resolved_at, o.description, "
        " ST_Distance(geography(o.geom), geography(p.g)) AS distance_m "
        "FROM field_report o, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p "
        "WHERE " + _similar_where("o", ward=":w", category=":c", geog="geography(p.g)",
                                  at="CAST(:at AS timestamptz)", exclude="CAST(:x AS int)")
        + " ORDER BY distance_m, o.reported_at DESC LIMIT 20",
        {"lon": lon, "lat": lat, "w": ward_id, "c": category, "x": exclude_id, "at": at,
         **_similar_params(radius_m, days)})


def report_place(bind: db.Bind, report_id: int) -> dict[str, Any] | None:
    """Ward, category, place and time of a stored report (what the duplicate rule compares)."""
    return db.row(bind, "SELECT ward_id, category, ST_X(geom) lon, ST_Y(geom) lat, reported_at FROM field_report "
                  "WHERE id = :id", {"id": report_id})


# --- reads ------------------------------------------------------------------------------------------


def _one_of(where: list[str], params: dict[str, Any], column: str, key: str, values: Sequence[Any] | None) -> None:
    """Add the filter ``column = ANY(:key)`` when ``values`` holds any (empty or None: no filter)."""
    if values:
        where.append(f"{column} = ANY(:{key})")
        params[key] = list(values)


def _given(where: list[str], params: dict[str, Any], clause: str, key: str, value: Any) -> None:
    """Add the filter ``clause`` (naming ``:key``) when ``value`` is not None."""
    if value is not None:
        where.append(clause)
        params[key] = value


_LIST_COLUMNS = (
    "f.id, f.public_id, f.category, f.status, f.channel, f.description, f.reported_at, f.deadline_at, "
    "f.resolved_at, f.assignee_id, u.full_name AS assignee_name, f.duplicate_of_id, f.establishment_id, "
    "f.address, f.reporter_name, f.reporter_contact, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, f.updated_at, "
    "f.moderation, f.public_description, f.photos_public, f.moderated_at, f.contact_consent_at, f.consent_notice, "
    "f.personal_erased_at, f.personal_erased_why, f.photos_erased"
)
#: what the public may read of a report's own words (0016_edge_limits): the moderator's text, the free-text
#: address and the photos only once approved (FixMyStreet's practice); NULL / 0 before
_PUBLIC_TEXT = ("CASE WHEN f.moderation = 'approved' THEN f.public_description END AS description, "
                "CASE WHEN f.moderation = 'approved' THEN f.address END AS address, f.moderation, ")
_PUBLIC_PHOTOS = ("CASE WHEN f.moderation = 'approved' AND f.photos_public THEN "
                  "(SELECT count(*) FROM field_report_photo p WHERE p.report_id = f.id) ELSE 0 END AS photos")


def work_list(
    bind: db.Bind,
    ward_id: int,
    *,
    now: dt.datetime,
    statuses: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    assignee_id: int | None = None,
    overdue_only: bool = False,
    due_within_hours: float | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 1000,
    with_duplicates: bool = False,
    moderation: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Reports of a ward, most urgent deadline first (see :func:`geomap.field_reports.reads.work_list`)."""
    where = ["f.ward_id = :w"]
    params: dict[str, Any] = {"w": ward_id, "now": now, "n": limit}
    columns = _LIST_COLUMNS
    if with_duplicates:
        columns += (", (f.status = ANY(:dup_open) AND EXISTS (SELECT 1 FROM field_report o WHERE "
                    + _similar_where("o", ward="f.ward_id", category="f.category", geog="geography(f.geom)",
                                     at="f.reported_at", exclude="f.id")
                    + ")) AS likely_duplicate")
        params.update(_similar_params())
    _one_of(where, params, "f.status", "st", statuses)
    _one_of(where, params, "f.category", "cat", categories)
    _one_of(where, params, "f.moderation", "mod", moderation)
    _given(where, params, "f.assignee_id = :a", "a", assignee_id)
    if overdue_only or due_within_hours is not None:
        where.append("f.status = ANY(:open) AND f.deadline_at IS NOT NULL")
        params["open"] = list(OPEN_STATUSES)
    if overdue_only:
        where.append("f.deadline_at < :now")
    if due_within_hours is not None:
        where.append("f.deadline_at >= :now AND f.deadline_at < :soon")
        params["soon"] = now + dt.timedelta(hours=due_within_hours)
    _given(where, params, "f.reported_at >= :since", "since", since)
    _given(where, params, "f.reported_at < :until", "until", until)
    if ids is not None:
        where.append("f.id = ANY(:ids)")
        params["ids"] = [int(i) for i in ids]
    sql = (f"SELECT {columns} FROM field_report f LEFT JOIN app_user u ON u.id = f.assignee_id "
           f"WHERE {' AND '.join(where)} ORDER BY f.deadline_at NULLS LAST, f.reported_at LIMIT :n")
    return db.rows(bind, sql, params)


def ward_of(bind: db.Bind, report_id: int) -> int | None:
    w = db.scalar(bind, "SELECT ward_id FROM field_report WHERE id = :id", {"id": report_id})
    return int(w) if w is not None else None


#: the channel a report came in by, on its first step (the pages say "received via …" in the reader's language)
_STEP_CHANNEL = "CASE WHEN h.status_from IS NULL AND h.status_to = 'new' THEN f.channel END AS channel "


def history(bind: db.Bind, report_id: int) -> list[dict[str, Any]]:
    """The report's full (internal) history, oldest first, with who made each step and, for an assignment,
    who the report was given to (``assignee_id``, ``assignee_name``)."""
    return db.rows(bind, "SELECT h.at, h.status_from, h.status_to, h.note, h.is_public, u.full_name AS by_name, "
                   "h.assignee_id, a.full_name AS assignee_name, " + _STEP_CHANNEL +
                   "FROM field_report_update h JOIN field_report f ON f.id = h.report_id "
                   "LEFT JOIN app_user u ON u.id = h.user_id LEFT JOIN app_user a ON a.id = h.assignee_id "
                   "WHERE h.report_id = :r ORDER BY h.id", {"r": report_id})


def photo_ids(bind: db.Bind, report_id: int) -> list[int]:
    return db.scalars(bind, "SELECT id FROM field_report_photo WHERE report_id = :r ORDER BY id", {"r": report_id})


def public_id_of(bind: db.Bind, report_id: int) -> str | None:
    return db.scalar(bind, "SELECT public_id FROM field_report WHERE id = :d", {"d": report_id})


def public_view(bind: db.Bind, public_id: str) -> dict[str, Any] | None:
    """What the tracking page may show (row id included, for the caller to drop) with the public history."""
    with db.read(bind) as c:
        view = db.row(
            c,
            "SELECT f.id, f.public_id, f.category, f.status, f.channel, " + _PUBLIC_TEXT + "f.reported_at, "
            "f.deadline_at, f.resolved_at, f.updated_at, ST_X(f.geom) lon, ST_Y(f.geom) lat, w.name AS ward_name, "
            "d.public_id AS duplicate_of_public_id, e.name AS establishment_name, " + _PUBLIC_PHOTOS + ", "
            "(SELECT satisfied FROM report_rating rr WHERE rr.report_id = f.id) AS rating "
            "FROM field_report f JOIN ward w ON w.id = f.ward_id "
            "LEFT JOIN field_report d ON d.id = f.duplicate_of_id "
            "LEFT JOIN establishment e ON e.id = f.establishment_id WHERE f.public_id = :p", {"p": public_id})
        if view is None:
            return None
        view["history"] = db.rows(c, "SELECT h.at, h.status_from, h.status_to, h.note, " + _STEP_CHANNEL +
                                     "FROM field_report_update h JOIN field_report f ON f.id = h.report_id "
                                     "WHERE h.report_id = :r AND h.is_public ORDER BY h.id", {"r": view["id"]})
        return view


def photo(bind: db.Bind, public_id: str, n: int, *, public_only: bool = True) -> tuple[bytes, str] | None:
    """The ``n``-th (1-based) photo of a report and its media type (``public_only``: only once a moderator
    published the report's photos)."""
    published = " AND f.moderation = 'approved' AND f.photos_public" if public_only else ""
    with db.read(bind) as c:
        row = c.execute(sa.text(
            "SELECT p.content, p.media_type FROM field_report_photo p JOIN field_report f ON f.id = p.report_id "
            f"WHERE f.public_id = :p{published} ORDER BY p.id OFFSET :o LIMIT 1"),
            {"p": public_id, "o": max(n - 1, 0)}).first()
    return (bytes(row.content), row.media_type) if row else None


def lock_moderation(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """A report's text and moderation state, locked to the end of the transaction."""
    return db.row(conn, "SELECT id, description, moderation, public_description, photos_public FROM field_report "
                        "WHERE id = :id FOR UPDATE", {"id": report_id})


def set_moderation(conn: Connection, report_id: int, moderation: str, public_description: str | None,
                   photos_public: bool, user_id: int | None) -> None:
    conn.execute(sa.text("UPDATE field_report SET moderation = :m, public_description = :d, photos_public = :ph, "
                         "moderated_at = now(), moderated_by = :u, updated_at = now() WHERE id = :id"),
                 {"m": moderation, "d": public_description, "ph": photos_public, "u": user_id, "id": report_id})


# --- Open311 ------------------------------------------------------------------------------------------


def open311_requests(
    bind: db.Bind,
    *,
    public_ids: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: Sequence[str] | None = None,
    ward_id: int | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Reports with what GeoReport v2 shows (no personal data), newest first; ``public_ids`` given: only
    those, the other filters (but the ward) ignored."""
    where = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    if public_ids:
        where.append("f.public_id = ANY(:ids)")
        params["ids"] = list(public_ids)
    else:
        _one_of(where, params, "f.category", "cat", categories)
        _given(where, params, "f.reported_at >= :start", "start", start)
        _given(where, params, "f.reported_at <= :end", "end", end)
        _one_of(where, params, "f.status", "st", statuses)
    _given(where, params, "f.ward_id = :w", "w", ward_id)
    sql = (
        "SELECT f.public_id, f.category, f.status, " + _PUBLIC_TEXT + "f.reported_at, f.updated_at, f.deadline_at, "
        "f.resolved_at, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, w.name AS ward_name, "
        "d.public_id AS duplicate_of_public_id, " + _PUBLIC_PHOTOS + ", "
        "(SELECT u.note FROM field_report_update u WHERE u.report_id = f.id AND u.is_public AND u.note IS NOT NULL "
        " ORDER BY u.id DESC LIMIT 1) AS last_note, "
        "(SELECT max(u.at) FROM field_report_update u WHERE u.report_id = f.id) AS last_update "
        "FROM field_report f JOIN ward w ON w.id = f.ward_id LEFT JOIN field_report d ON d.id = f.duplicate_of_id "
        f"WHERE {' AND '.join(where)} ORDER BY f.reported_at DESC, f.id DESC LIMIT :n")
    return db.rows(bind, sql, params)


# --- hotspots -------------------------------------------------------------------------------------------


def report_points(
    bind: db.Bind,
    ward_id: int,
    *,
    since: dt.datetime,
    until: dt.datetime,
    categories: Sequence[str] | None = None,
    exclude_statuses: Sequence[str] = (),
) -> pd.DataFrame:
    """Report points (id, lon, lat, reported_at, category, status) of a ward made in [since, until)."""
    where = ["ward_id = :w", "reported_at >= :since", "reported_at < :until"]
    params: dict[str, Any] = {"w": ward_id, "since": since, "until": until}
    _one_of(where, params, "category", "cat", categories)
    if exclude_statuses:
        where.append("status <> ALL(:aside)")
        params["aside"] = list(exclude_statuses)
    sql = ("SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, reported_at, category, status FROM field_report "
           f"WHERE {' AND '.join(where)}")
    with db.read(bind) as c:
        return pd.DataFrame(c.execute(sa.text(sql), params).mappings().all(),
                            columns=["id", "lon", "lat", "reported_at", "category", "status"])


def places_near(bind: db.Bind, ward_id: int, points: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """For each (lon, lat), in order: the residential group it lies in and the nearest placed
    establishment's address (house number and street when known): how a hotspot is named."""
    if not points:
        return []
    return db.rows(bind, """
        WITH p AS (SELECT n, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
                   FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS u(lon, lat, n))
        SELECT p.n,
               (SELECT rg.name FROM residential_group rg
                 WHERE rg.ward_id = :w AND ST_Intersects(rg.geom, p.g) ORDER BY rg.id LIMIT 1) AS residential_group,
               (SELECT coalesce(nullif(trim(concat_ws(' ', e.house_number, e.street)), ''), e.address)
                  FROM establishment e WHERE e.ward_id = :w AND e.geom IS NOT NULL
                 ORDER BY e.geom <-> p.g LIMIT 1) AS near_address
        FROM p ORDER BY p.n""", {"w": ward_id, "lons": [float(x) for x, _ in points],
                                 "lats": [float(y) for _, y in points]})


# --- mail to reporters (0020_report_mail) ------------------------------------------------------------


def reporter_of(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """What a status message needs: the tracking id, category, the reporter's contact and language."""
    return db.row(conn, "SELECT public_id, category, reporter_contact, reporter_lang FROM field_report WHERE id = :r",
                  {"r": report_id})


def queue_mail(conn: Connection, report_id: int, to_address: str, subject: str, body: str) -> None:
    conn.execute(sa.text("INSERT INTO report_mail (report_id, to_address, subject, body) VALUES (:r, :t, :s, :b)"),
                 {"r": report_id, "t": to_address, "s": subject, "b": body})


def pending_mail(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Messages not sent yet, oldest first, locked so two senders never send one twice."""
    return db.rows(conn, "SELECT m.id, m.to_address, m.subject, m.body, f.reporter_lang FROM report_mail m "
                   "LEFT JOIN field_report f ON f.id = m.report_id WHERE m.sent_at IS NULL "
                   "AND m.attempts < 10 AND m.to_address IS NOT NULL ORDER BY m.id LIMIT :n "
                   "FOR UPDATE OF m SKIP LOCKED",
                   {"n": limit})


def mark_mail(conn: Connection, mail_id: int, error: str | None) -> None:
    conn.execute(sa.text("UPDATE report_mail SET attempts = attempts + 1, last_error = :e, "
                         "sent_at = CASE WHEN CAST(:e AS text) IS NULL THEN now() END WHERE id = :i"),
                 {"i": mail_id, "e": error})


# --- the stored hotspot layer (table hotspot_cell, 0025_hotspot_layer_ratings) -------------------------------

_HOTSPOT_COLUMNS = ("public_id", "ward_id", "window_days", "window_start", "window_end", "grid", "cell",
                    "report_count", "previous_count", "hotspot_class", "class_vi", "class_en", "trend", "z_score",
                    "q_value")


def replace_hotspot_cells(conn: Connection, ward_id: int, window_days: int, cells: Sequence[Mapping[str, Any]]) -> int:
    """Replace the stored analysis of ``ward_id`` and ``window_days`` by ``cells`` (each with the columns of
    ``hotspot_cell`` and ``wkt``, the polygon in EPSG:4326), in the caller's transaction. Two writers of the
    same ward and window queue on an advisory lock, so the table never holds two analyses of one."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('hotspot_cell'), :w * 10000 + :d)"),
                 {"w": int(ward_id), "d": int(window_days) % 10000})
    conn.execute(sa.text("DELETE FROM hotspot_cell WHERE ward_id = :w AND window_days = :d"),
                 {"w": int(ward_id), "d": int(window_days)})
    if cells:
        names = ", ".join(_HOTSPOT_COLUMNS)
        values = ", ".join(f":{c}" for c in _HOTSPOT_COLUMNS)
        conn.execute(sa.text(f"INSERT INTO hotspot_cell ({names}, geom) "
                             f"VALUES ({values}, ST_GeomFromText(:wkt, 4326))"), [dict(c) for c in cells])
    return len(cells)


def stored_hotspot_windows(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """The stored analyses of a ward: window length, window, when analysed, cells and hot cells."""
    return db.rows(bind, "SELECT window_days, min(window_start) window_start, max(window_end) window_end, "
                         "max(analysed_at) analysed_at, count(*) cells, count(*) FILTER (WHERE hotspot_class = 'hot') "
                         "hot_cells FROM hotspot_cell WHERE ward_id = :w GROUP BY window_days ORDER BY window_days",
                   {"w": int(ward_id)})


# --- the public transparency page and ratings (report_rating, 0025_hotspot_layer_ratings) ---------------------

#: a report the page counts (duplicates and reports for another authority are set aside)
_COUNTED = "f.status NOT IN ('duplicate', 'not_ward')"
#: done in time: resolved (or closed) by the deadline, or with no deadline at all
_DONE = "f.status IN ('resolved', 'closed')"
_DONE_AT = "COALESCE(f.resolved_at, f.updated_at)"


def outcomes_by_month(bind: db.Bind, ward_id: int, *, since: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """Per local month (``YYYY-MM``) of receipt and category, the ward's reports made since ``since``: received,
    resolved on time, resolved late, still open past the deadline (as of ``now``) and open within it."""
    return db.rows(bind, f"""
SELECT to_char(f.reported_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') AS month, f.category,
       count(*) AS received,
       count(*) FILTER (WHERE {_DONE} AND (f.deadline_at IS NULL OR {_DONE_AT} <= f.deadline_at)) AS on_time,
       count(*) FILTER (WHERE {_DONE} AND {_DONE_AT} > f.deadline_at) AS late,
       count(*) FILTER (WHERE NOT {_DONE} AND f.deadline_at < :now) AS overdue,
       count(*) FILTER (WHERE NOT {_DONE} AND (f.deadline_at IS NULL OR f.deadline_at >= :now)) AS open
FROM field_report f WHERE f.ward_id = :w AND {_COUNTED} AND f.reported_at >= :since AND f.reported_at < :now
GROUP BY 1, 2 ORDER BY 1 DESC, 2""", {"w": int(ward_id), "since": since, "now": now})


def outcomes_by_area(bind: db.Bind, ward_id: int, *, since: dt.datetime, now: dt.datetime,
                     tolerance_m: float = 10.0) -> dict[str, Any]:
    """The ward's residential groups as SVG paths in the ward's local metric grid (y down, as ``ST_AsSVG``
    writes it; simplified to ``tolerance_m``), each with its reports made since ``since`` that are resolved and
    still open; ``outside``: reports in no group. Counts per area only: no report point leaves the database."""
    with db.read(bind) as c:
        ward = db.row(c, "SELECT w.name, ST_AsSVG(ST_SimplifyPreserveTopology(ST_Transform(w.geom, w.local_srid), "
                         ":tol), 0, 0) AS path, ST_XMin(b) xmin, ST_YMin(b) ymin, ST_XMax(b) xmax, ST_YMax(b) ymax "
                         "FROM ward w CROSS JOIN LATERAL ST_Transform(w.geom, w.local_srid) b WHERE w.id = :w",
                      {"w": int(ward_id), "tol": tolerance_m})
        if ward is None:
            return {"ward": None, "areas": [], "outside": {"resolved": 0, "open": 0}}
        areas = db.rows(c, f"""
WITH r AS (
    SELECT g.id AS group_id, {_DONE} AS done FROM field_report f
    LEFT JOIN LATERAL (SELECT id FROM residential_group g WHERE g.ward_id = f.ward_id AND ST_Covers(g.geom, f.geom)
                       ORDER BY id LIMIT 1) g ON true
    WHERE f.ward_id = :w AND {_COUNTED} AND f.reported_at >= :since AND f.reported_at < :now
), n AS (SELECT group_id, count(*) FILTER (WHERE done) resolved, count(*) FILTER (WHERE NOT done) open
         FROM r GROUP BY group_id)
SELECT g.id, g.code, g.name, ST_AsSVG(ST_SimplifyPreserveTopology(ST_Transform(g.geom, w.local_srid), :tol), 1, 0)
       AS path, COALESCE(n.resolved, 0) AS resolved, COALESCE(n.open, 0) AS open
FROM residential_group g JOIN ward w ON w.id = g.ward_id LEFT JOIN n ON n.group_id = g.id
WHERE g.ward_id = :w ORDER BY g.code
""", {"w": int(ward_id), "since": since, "now": now, "tol": tolerance_m})
        outside = db.row(c, f"""
SELECT count(*) FILTER (WHERE {_DONE}) AS resolved, count(*) FILTER (WHERE NOT {_DONE}) AS open
FROM field_report f WHERE f.ward_id = :w AND {_COUNTED} AND f.reported_at >= :since AND f.reported_at < :now
AND NOT EXISTS (SELECT 1 FROM residential_group g WHERE g.ward_id = f.ward_id AND ST_Covers(g.geom, f.geom))""",
                         {"w": int(ward_id), "since": since, "now": now})
    return {"ward": ward, "areas": areas, "outside": outside}


def lock_report_for_rating(conn: Connection, public_id: str) -> dict[str, Any] | None:
    """The report of a tracking code (id, status) and whether it is rated, locked for the rest of the
    transaction (two taps at once queue here; the key of ``report_rating`` would refuse the second anyway)."""
    return db.row(conn, "SELECT f.id, f.status, EXISTS (SELECT 1 FROM report_rating r WHERE r.report_id = f.id) "
                        "AS rated FROM field_report f WHERE f.public_id = :p FOR UPDATE OF f", {"p": public_id})


def insert_rating(conn: Connection, report_id: int, satisfied: bool) -> bool:
    """Store a report's rating; False (and nothing changed) when it was rated already."""
    return conn.execute(sa.text("INSERT INTO report_rating (report_id, satisfied) VALUES (:r, :s) "
                                "ON CONFLICT (report_id) DO NOTHING RETURNING report_id"),
                        {"r": report_id, "s": bool(satisfied)}).first() is not None


# --- retention of reporters' personal data (0026_report_retention) -----------------------------------


def personal_data_due(conn: Connection, ward_id: int, *, cutoff: dt.datetime | None, open_statuses: Sequence[str],
                      public_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Reports of a ward still holding a reporter's name or contact, photos or outbox addresses, locked
    (FOR UPDATE) to the end of the transaction, oldest closure first: those closed (status not in
    ``open_statuses``) before ``cutoff``, or, with ``public_ids``, those reports whatever their status.
    A report's closing time is its latest status change (else its resolution, else its report time)."""
    where = ["f.ward_id = :w"]
    params: dict[str, Any] = {"w": ward_id}
    if public_ids is not None:
        where.append("f.public_id = ANY(:ids)")
        params["ids"] = list(public_ids)
    else:
        where += ["f.status <> ALL(:open)", "c.closed_at < :cutoff"]
        params.update(open=list(open_statuses), cutoff=cutoff)
    return db.rows(conn, (
        "SELECT f.id, f.public_id, f.status, c.closed_at, f.reporter_name IS NOT NULL AS has_name, "
        " f.reporter_contact IS NOT NULL AS has_contact, "
        " (SELECT count(*) FROM field_report_photo p WHERE p.report_id = f.id) AS photos, "
        " (SELECT count(*) FROM report_mail m WHERE m.report_id = f.id AND m.to_address IS NOT NULL) AS mail_addresses "
        "FROM field_report f CROSS JOIN LATERAL (SELECT COALESCE((SELECT max(u.at) FROM field_report_update u "
        " WHERE u.report_id = f.id AND u.status_to IS NOT NULL), f.resolved_at, f.reported_at) AS closed_at) c "
        f"WHERE {' AND '.join(where)} AND (f.reporter_name IS NOT NULL OR f.reporter_contact IS NOT NULL "
        " OR EXISTS (SELECT 1 FROM field_report_photo p WHERE p.report_id = f.id) "
        " OR EXISTS (SELECT 1 FROM report_mail m WHERE m.report_id = f.id AND m.to_address IS NOT NULL)) "
        "ORDER BY c.closed_at, f.id FOR UPDATE OF f"), params)


def erase_personal(conn: Connection, report_ids: Sequence[int], *, at: dt.datetime, why: str) -> None:
    """Erase the reporters' names and contacts, delete the photos and blank the outbox addresses of
    ``report_ids``; each report records when and how many photos went."""
    params = {"ids": list(report_ids), "at": at, "why": why}
    conn.execute(sa.text(
        "WITH gone AS (DELETE FROM field_report_photo WHERE report_id = ANY(:ids) RETURNING report_id), "
        "n AS (SELECT report_id, count(*) AS photos FROM gone GROUP BY report_id) "
        "UPDATE field_report f SET reporter_name = NULL, reporter_contact = NULL, personal_erased_at = :at, "
        " personal_erased_why = :why, "
        " photos_erased = f.photos_erased + COALESCE(n.photos, 0), photos_public = FALSE "
        "FROM (SELECT unnest(CAST(:ids AS int[])) AS id) r LEFT JOIN n ON n.report_id = r.id "
        "WHERE f.id = r.id"), params)
    conn.execute(sa.text("UPDATE report_mail SET to_address = NULL, last_error = NULL WHERE report_id = ANY(:ids) "
                         "AND (to_address IS NOT NULL OR last_error IS NOT NULL)"), params)


def compact_photos(engine: Engine) -> None:
    """Rewrite the report photo table so deleted photos leave its files on disk (outside a transaction).

    A plain ``VACUUM`` first removes the deleted rows (it does not wait for transactions in other databases
    of the cluster); ``VACUUM FULL`` alone would copy them into the new files while any transaction older
    than the deletion runs anywhere in the cluster, since its own snapshot counts them as still visible.
    ``VACUUM FULL`` then writes the remaining rows to new files and empties the old ones (the table is locked
    for the rewrite)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM field_report_photo"))
        c.execute(sa.text("VACUUM FULL field_report_photo"))


def public_ids_in_ward(bind: db.Bind, ward_id: int, public_ids: Sequence[str]) -> list[str]:
    """Which of ``public_ids`` are reports of the ward."""
    return db.scalars(bind, "SELECT public_id FROM field_report WHERE ward_id = :w AND public_id = ANY(:ids)",
                      {"w": ward_id, "ids": list(public_ids)})
