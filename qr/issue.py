"""Issuing, reissuing and revoking QR codes, and selecting them for printing.

Every function takes a :class:`~sqlalchemy.engine.Connection` inside the caller's
:func:`geomap.db.transaction`, so a bulk issue or a reissue is all-or-nothing, and writes
its audit-log entry in the same transaction.

Rules: a target (establishment or market stall) has at most one active code (enforced by
partial unique indexes, migration ``0003_qr``). Reissuing revokes the active row with
reason ``reissued`` and inserts a new one with the next version, a new token and a new
short code, so the old sticker stops passing at once. Revoking (closed business, damaged
or misused sticker) marks the row; the public page then says the code is no longer valid.
Closed establishments get no new codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import audit, i18n, profiles
from geomap.errors import GeomapError
from qr import codes

REVOKE_REASONS = ("reissued", "closed", "damaged", "misused", "other")
i18n.CODES.setdefault("qr_revoked_reason", {
    "reissued": ("Đã cấp tem mới thay thế", "Replaced by a new sticker"),
    "closed": ("Cơ sở đã đóng cửa", "Business closed"),
    "damaged": ("Tem hư hỏng", "Sticker damaged"),
    "misused": ("Tem bị sử dụng sai", "Sticker misused"),
    "other": ("Khác", "Other"),
})
_MAX_ROUNDS = 8


@dataclass(frozen=True)
class QrRecord:
    """One row of ``qr_code``."""

    id: int
    token: str
    short_code: str
    target_type: str
    establishment_id: int | None
    stall_id: int | None
    version: int
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_reason: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class StickerItem:
    """What one sticker (or one row of the staff list) shows."""

    token: str
    short_code: str
    target_type: str
    version: int
    name: str
    address: str
    ward_name: str
    establishment_code: str | None
    market: str | None
    stall_no: str | None
    residential_group: str | None
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_reason: str | None


_COLUMNS = ("id, token, short_code, target_type, establishment_id, stall_id, version, issued_at, "
            "revoked_at, revoked_reason")


def _record(row: Mapping[str, Any] | None) -> QrRecord | None:
    return None if row is None else QrRecord(**{k: row[k] for k in QrRecord.__dataclass_fields__})


def ward_prefix(conn: Connection, ward_id: int) -> str:
    """The short-code prefix of a loaded ward (its profile's ``code_prefix``, else initials)."""
    slug = conn.execute(sa.text("SELECT slug FROM ward WHERE id = :w"), {"w": ward_id}).scalar()
    if slug is None:
        raise GeomapError(f"Ward {ward_id} is not loaded; run 'geomap demo load' first.")
    try:
        prefix = profiles.get(slug).code_prefix
    except GeomapError:
        prefix = None
    return codes.ward_prefix(slug, prefix)


_MISSING_SQL = sa.text("""
SELECT 'establishment' AS target_type, e.id AS establishment_id, NULL::int AS stall_id
FROM establishment e
WHERE e.ward_id = :ward AND e.operating_status <> 'closed'
  AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.establishment_id = e.id AND q.revoked_at IS NULL)
UNION ALL
SELECT 'stall', NULL, s.id
FROM stall s JOIN market m ON m.id = s.market_id
WHERE m.ward_id = :ward
  AND NOT EXISTS (SELECT 1 FROM qr_code q WHERE q.stall_id = s.id AND q.revoked_at IS NULL)
ORDER BY 1, 2, 3
""")

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


def _insert(conn: Connection, targets: Sequence[tuple[str, int | None, int | None]], prefix: str) -> list[QrRecord]:
    """Insert fresh codes for ``targets``; rows that hit a unique constraint are skipped (caller retries)."""
    shorts: set[str] = set()
    while len(shorts) < len(targets):
        shorts.add(codes.new_short_code(prefix))
    params = {
        "tokens": [codes.new_token() for _ in targets],
        "shorts": list(shorts),
        "types": [t[0] for t in targets],
        "eids": [t[1] for t in targets],
        "sids": [t[2] for t in targets],
    }
    return [_record(r) for r in conn.execute(_INSERT_SQL, params).mappings()]


def issue_missing(conn: Connection, ward_id: int, *, user: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Issue a code to every establishment (not closed) and stall of the ward that has no active one.

    Bulk: one query finds the targets, one ``INSERT ... SELECT FROM unnest`` writes them.
    A short-code collision (25 random bits per ward prefix) or a concurrent issue skips
    the row and the next round picks it up. Returns counts by target type.
    """
    prefix = ward_prefix(conn, ward_id)
    counts = {"establishment": 0, "stall": 0}
    for _ in range(_MAX_ROUNDS):
        targets = [tuple(r) for r in conn.execute(_MISSING_SQL, {"ward": ward_id})]
        if not targets:
            break
        for rec in _insert(conn, targets, prefix):
            counts[rec.target_type] += 1
    else:
        raise GeomapError("Could not issue unique QR codes after several attempts; run the command again.")
    if any(counts.values()):
        audit.record(conn, action="qr.issue_missing", entity_type="ward", entity_id=ward_id, user=user, after=counts)
    return counts


def issue(conn: Connection, *, establishment_id: int | None = None, stall_id: int | None = None,
          user: Mapping[str, Any] | None = None) -> QrRecord:
    """Issue the first (or next, after a revocation) code of one target that has no active code."""
    if (establishment_id is None) == (stall_id is None):
        raise ValueError("give exactly one of establishment_id and stall_id")
    current = active_for(conn, establishment_id=establishment_id, stall_id=stall_id)
    if current is not None:
        raise GeomapError(f"This target already has an active QR code {current.short_code}; reissue it instead.")
    return _issue_one(conn, establishment_id, stall_id, user, note=None)


def _issue_one(conn: Connection, establishment_id: int | None, stall_id: int | None,
               user: Mapping[str, Any] | None, note: str | None) -> QrRecord:
    if establishment_id is not None:
        ward = conn.execute(sa.text("SELECT ward_id, operating_status FROM establishment WHERE id = :i"),
                            {"i": establishment_id}).first()
        if ward is None:
            raise GeomapError(f"Establishment {establishment_id} does not exist.")
        if ward[1] == "closed":
            raise GeomapError("This establishment is closed; a closed business gets no QR code.")
    else:
        ward = conn.execute(sa.text("SELECT m.ward_id FROM stall s JOIN market m ON m.id = s.market_id "
                                    "WHERE s.id = :i"), {"i": stall_id}).first()
        if ward is None:
            raise GeomapError(f"Stall {stall_id} does not exist.")
    prefix = ward_prefix(conn, ward[0])
    target = ("establishment" if establishment_id is not None else "stall", establishment_id, stall_id)
    for _ in range(_MAX_ROUNDS):
        inserted = _insert(conn, [target], prefix)
        if inserted:
            rec = inserted[0]
            audit.record(conn, action="qr.issue", entity_type="qr_code", entity_id=rec.id, user=user,
                         after=_public_dict(rec), note=note)
            return rec
        if active_for(conn, establishment_id=establishment_id, stall_id=stall_id) is not None:
            raise GeomapError("Someone else issued a code for this target at the same time; reload and check.")
    raise GeomapError("Could not issue a unique QR code after several attempts; try again.")


def _public_dict(rec: QrRecord) -> dict[str, Any]:
    return {"short_code": rec.short_code, "version": rec.version, "target_type": rec.target_type,
            "revoked_at": rec.revoked_at, "revoked_reason": rec.revoked_reason}


def active_for(conn: Connection, *, establishment_id: int | None = None,
               stall_id: int | None = None, lock: bool = False) -> QrRecord | None:
    """The active code of a target, if any (``lock``: FOR UPDATE, before a reissue/revoke)."""
    column = "establishment_id" if establishment_id is not None else "stall_id"
    value = establishment_id if establishment_id is not None else stall_id
    sql = f"SELECT {_COLUMNS} FROM qr_code WHERE {column} = :v AND revoked_at IS NULL"
    return _record(conn.execute(sa.text(sql + (" FOR UPDATE" if lock else "")), {"v": value}).mappings().first())


def find(conn: Connection, ref: str) -> QrRecord | None:
    """The code a staff member means by ``ref``: a short code, a token or an establishment code.

    For an establishment code, its active code (else its latest); a short code or token
    names one exact row (revoked ones included).
    """
    ref = (ref or "").strip()
    token = codes.normalize_token(ref)
    if token:
        row = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM qr_code WHERE token = :t"), {"t": token})
        found = _record(row.mappings().first())
        if found:
            return found
    short = codes.normalize_short_code(ref)
    if short:
        row = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM qr_code WHERE short_code = :s"), {"s": short})
        found = _record(row.mappings().first())
        if found:
            return found
    row = conn.execute(sa.text(
        f"SELECT {', '.join('q.' + c.strip() for c in _COLUMNS.split(','))} FROM qr_code q "
        "JOIN establishment e ON e.id = q.establishment_id WHERE e.code = :c "
        "ORDER BY q.revoked_at IS NULL DESC, q.version DESC LIMIT 1"), {"c": ref})
    return _record(row.mappings().first())


def _require(conn: Connection, ref: str | QrRecord) -> QrRecord:
    rec = ref if isinstance(ref, QrRecord) else find(conn, ref)
    if rec is None:
        raise GeomapError(f"No QR code matches {ref!r}; give a short code (HC-XXXX-XX), a token or an "
                          "establishment code.")
    return rec


def revoke(conn: Connection, ref: str | QrRecord, *, reason: str, user: Mapping[str, Any] | None = None,
           note: str | None = None) -> QrRecord:
    """Revoke one code (``reason`` from :data:`REVOKE_REASONS`); its sticker then shows as revoked."""
    if reason not in REVOKE_REASONS:
        raise GeomapError(f"Unknown revocation reason {reason!r}; use one of: {', '.join(REVOKE_REASONS)}.")
    rec = _require(conn, ref)
    row = conn.execute(sa.text(
        f"UPDATE qr_code SET revoked_at = now(), revoked_reason = :r WHERE id = :i AND revoked_at IS NULL "
        f"RETURNING {_COLUMNS}"), {"r": reason, "i": rec.id}).mappings().first()
    if row is None:
        raise GeomapError(f"QR code {rec.short_code} was already revoked.")
    new = _record(row)
    audit.record(conn, action="qr.revoke", entity_type="qr_code", entity_id=new.id, user=user,
                 before=_public_dict(rec), after=_public_dict(new), note=note)
    return new


def reissue(conn: Connection, ref: str | QrRecord, *, user: Mapping[str, Any] | None = None,
            note: str | None = None) -> QrRecord:
    """Revoke the target's active code (reason ``reissued``) and issue the next version.

    ``ref`` may name an old, already revoked code of the target: the target then simply
    gets a new code (e.g. a business that reopened).
    """
    rec = _require(conn, ref)
    current = active_for(conn, establishment_id=rec.establishment_id, stall_id=rec.stall_id, lock=True)
    if current is not None:
        revoke(conn, current, reason="reissued", user=user, note=note)
    return _issue_one(conn, rec.establishment_id, rec.stall_id, user, note=note)


def revoke_closed(conn: Connection, ward_id: int, *, user: Mapping[str, Any] | None = None) -> int:
    """Revoke (reason ``closed``) the active codes of the ward's closed establishments."""
    ids = conn.execute(sa.text(
        "UPDATE qr_code q SET revoked_at = now(), revoked_reason = 'closed' FROM establishment e "
        "WHERE e.id = q.establishment_id AND e.ward_id = :w AND e.operating_status = 'closed' "
        "AND q.revoked_at IS NULL RETURNING q.id"), {"w": ward_id}).scalars().all()
    if ids:
        audit.record(conn, action="qr.revoke_closed", entity_type="ward", entity_id=ward_id, user=user,
                     after={"revoked": len(ids)})
    return len(ids)


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


def select_codes(
    conn: Connection,
    ward_id: int,
    *,
    group: str | None = None,
    market: str | None = None,
    refs: Iterable[str] | None = None,
    include_revoked: bool = False,
    limit: int | None = None,
) -> list[StickerItem]:
    """Codes to print or list: the ward's, or one residential group's, one market's, or a selection.

    ``group`` and ``market`` match a code or a name; ``refs`` are short codes, tokens or
    establishment codes (a typo is reported by name, not silently skipped).
    """
    filters: list[str] = []
    params: dict[str, Any] = {"ward": ward_id}
    if not include_revoked:
        filters.append("q.revoked_at IS NULL")
    if group:
        filters.append("(rg.code = :group OR rg.name = :group)")
        params["group"] = group.strip()
        if not conn.execute(sa.text("SELECT 1 FROM residential_group WHERE ward_id = :ward AND "
                                    "(code = :group OR name = :group)"), params).first():
            raise GeomapError(f"No residential group {group!r} in this ward; give its code or exact name.")
    if market:
        filters.append("(m.code = :market OR m.name = :market OR em.code = :market OR em.name = :market)")
        params["market"] = market.strip()
        if not conn.execute(sa.text("SELECT 1 FROM market WHERE ward_id = :ward AND "
                                    "(code = :market OR name = :market)"), params).first():
            raise GeomapError(f"No market {market!r} in this ward; give its code or exact name.")
    if refs is not None:
        ids = []
        for ref in refs:
            rec = find(conn, ref)
            if rec is None:
                raise GeomapError(f"No QR code matches {ref!r}.")
            ids.append(rec.token)
        filters.append("q.token = ANY(CAST(:tokens AS text[]))")
        params["tokens"] = ids
    sql = _SELECT_SQL.format(filters="".join(f" AND {f}" for f in filters))
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return [StickerItem(**dict(r)) for r in conn.execute(sa.text(sql), params).mappings()]


def summary(conn: Connection, ward_id: int) -> dict[str, int]:
    """Counts for the staff page: active codes by target, targets still without one, revoked codes."""
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


def scopes(conn: Connection, ward_id: int) -> dict[str, list[tuple[str, str]]]:
    """Residential groups and markets of the ward as (code, name), for the staff page's pickers."""
    groups = conn.execute(sa.text("SELECT code, name FROM residential_group WHERE ward_id = :w ORDER BY code"),
                          {"w": ward_id}).all()
    markets = conn.execute(sa.text("SELECT code, name FROM market WHERE ward_id = :w ORDER BY name"),
                           {"w": ward_id}).all()
    return {"groups": [tuple(r) for r in groups], "markets": [tuple(r) for r in markets]}
