"""Issuing, reissuing and revoking QR codes, and selecting them for printing.

Every function takes a :class:`~sqlalchemy.engine.Connection` inside the caller's
:func:`geomap.db.transaction`, so a bulk issue or a reissue is all-or-nothing, and writes
its audit-log entry in the same transaction. The statements themselves are in :mod:`qr.data`.

Rules: a target (establishment or market stall) has at most one active code (enforced by
partial unique indexes, migration ``0003_qr``). Reissuing revokes the active row with
reason ``reissued`` and inserts a new one with the next version, a new token and a new
short code, so the old sticker stops passing at once. Revoking (closed business, damaged
or misused sticker) marks the row; the public page then says the code is no longer valid.
Closed establishments get no new codes: revoking an establishment's code for closure closes
the record in the same transaction (through the records service: optimistic lock, audit), and
a stall whose last code was revoked for closure is left out of bulk issue until a code is
issued to it by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from geomap import audit, auth, i18n, profiles
from geomap.errors import GeomapError
from geomap.users import User
from geomap.wards import data as ward_data
from qr import codes, data

#: why a code was revoked (labels: the ``qr_revoked_reason`` code list of geomap/i18n.py)
REVOKE_REASONS = tuple(i18n.CODES["qr_revoked_reason"])
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


def _record(row: Mapping[str, Any] | None) -> QrRecord | None:
    return None if row is None else QrRecord(**{k: row[k] for k in QrRecord.__dataclass_fields__})


def ward_prefix(conn: Connection, ward_id: int) -> str:
    """The short-code prefix of a loaded ward (its profile's ``code_prefix``, else initials)."""
    ward = ward_data.ward_by_id(conn, ward_id)
    slug = ward["slug"] if ward else None
    if slug is None:
        raise GeomapError(f"Ward {ward_id} is not loaded; run 'geomap demo load' first.")
    try:
        prefix = profiles.get(slug).code_prefix
    except GeomapError:
        prefix = None
    return codes.ward_prefix(slug, prefix)


def _insert(conn: Connection, targets: Sequence[tuple[str, int | None, int | None]], prefix: str) -> list[QrRecord]:
    """Insert fresh codes for ``targets``; rows that hit a unique constraint are skipped (caller retries)."""
    shorts: set[str] = set()
    while len(shorts) < len(targets):
        shorts.add(codes.new_short_code(prefix))
    rows = data.insert_codes(conn, targets, [codes.new_token() for _ in targets], list(shorts))
    return [_record(r) for r in rows]


def issue_missing(conn: Connection, ward_id: int, *, user: User | None = None) -> dict[str, int]:
    """Issue a code to every establishment (not closed) and stall of the ward that has no active one.

    Bulk: one query finds the targets, one ``INSERT ... SELECT FROM unnest`` writes them.
    A short-code collision (25 random bits per ward prefix) or a concurrent issue skips
    the row and the next round picks it up. Returns counts by target type.
    """
    auth.require(user, "edit_records")  # the QR page's right; None: the command line
    prefix = ward_prefix(conn, ward_id)
    counts = {"establishment": 0, "stall": 0}
    for _ in range(_MAX_ROUNDS):
        targets = data.missing_targets(conn, ward_id)
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
          user: User | None = None) -> QrRecord:
    """Issue the first (or next, after a revocation) code of one target that has no active code."""
    auth.require(user, "edit_records")
    if (establishment_id is None) == (stall_id is None):
        raise ValueError("give exactly one of establishment_id and stall_id")
    current = active_for(conn, establishment_id=establishment_id, stall_id=stall_id)
    if current is not None:
        raise GeomapError(f"This target already has an active QR code {current.short_code}; reissue it instead.")
    return _issue_one(conn, establishment_id, stall_id, user, note=None)


def _issue_one(conn: Connection, establishment_id: int | None, stall_id: int | None,
               user: User | None, note: str | None) -> QrRecord:
    if establishment_id is not None:
        found = data.establishment_ward(conn, establishment_id)
        if found is None:
            raise GeomapError(f"Establishment {establishment_id} does not exist.")
        ward_id, operating_status = found
        if operating_status == "closed":
            raise GeomapError("This establishment is closed; a closed business gets no QR code.")
        if operating_status == "unreviewed":
            raise GeomapError("This establishment was added on site and is not approved yet; it gets a QR code "
                              "once a data officer approves it.")
    else:
        ward_id = data.stall_ward(conn, stall_id)
        if ward_id is None:
            raise GeomapError(f"Stall {stall_id} does not exist.")
    prefix = ward_prefix(conn, ward_id)
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
    return _record(data.active_code(conn, establishment_id=establishment_id, stall_id=stall_id, lock=lock))


def find(conn: Connection, ref: str) -> QrRecord | None:
    """The code a staff member means by ``ref``: a short code, a token or an establishment code.

    For an establishment code, its active code (else its latest); a short code or token
    names one exact row (revoked ones included).
    """
    ref = (ref or "").strip()
    token = codes.normalize_token(ref)
    if token:
        found = _record(data.code_by_token(conn, token))
        if found:
            return found
    short = codes.normalize_short_code(ref)
    if short:
        found = _record(data.code_by_short_code(conn, short))
        if found:
            return found
    return _record(data.code_of_establishment(conn, ref))


def _require(conn: Connection, ref: str | QrRecord) -> QrRecord:
    rec = ref if isinstance(ref, QrRecord) else find(conn, ref)
    if rec is None:
        raise GeomapError(f"No QR code matches {ref!r}; give a short code (HC-XXXX-XX), a token or an "
                          "establishment code.")
    return rec


def revoke(conn: Connection, ref: str | QrRecord, *, reason: str, user: User | None = None,
           note: str | None = None) -> QrRecord:
    """Revoke one code (``reason`` from :data:`REVOKE_REASONS`); its sticker then shows as revoked."""
    auth.require(user, "edit_records")
    if reason not in REVOKE_REASONS:
        raise GeomapError(f"Unknown revocation reason {reason!r}; use one of: {', '.join(REVOKE_REASONS)}.")
    rec = _require(conn, ref)
    row = data.mark_revoked(conn, rec.id, reason)
    if row is None:
        raise GeomapError(f"QR code {rec.short_code} was already revoked.")
    new = _record(row)
    audit.record(conn, action="qr.revoke", entity_type="qr_code", entity_id=new.id, user=user,
                 before=_public_dict(rec), after=_public_dict(new), note=note)
    if reason == "closed" and rec.establishment_id is not None:
        _close_establishment(conn, rec, user, note)
    return new


def _close_establishment(conn: Connection, rec: QrRecord, user: User | None, note: str | None) -> None:
    """The business closed: close its record too, or the next bulk issue would give it a new sticker."""
    from geomap.records import data as records_data
    from geomap.records import edit

    current = records_data.lock_establishment(conn, rec.establishment_id)
    if current is None or current["operating_status"] == "closed":
        return
    reason = f"Thu hồi tem QR {rec.short_code}: cơ sở đã đóng cửa" + (f" ({note})" if note else "")
    edit.close_establishment(conn, rec.establishment_id, expected_version=current["version"], reason=reason,
                             user=user)


def reissue(conn: Connection, ref: str | QrRecord, *, user: User | None = None,
            note: str | None = None) -> QrRecord:
    """Revoke the target's active code (reason ``reissued``) and issue the next version.

    ``ref`` may name an old, already revoked code of the target: the target then simply
    gets a new code (e.g. a business that reopened).
    """
    auth.require(user, "edit_records")
    rec = _require(conn, ref)
    current = active_for(conn, establishment_id=rec.establishment_id, stall_id=rec.stall_id, lock=True)
    if current is not None:
        revoke(conn, current, reason="reissued", user=user, note=note)
    return _issue_one(conn, rec.establishment_id, rec.stall_id, user, note=note)


def revoke_closed(conn: Connection, ward_id: int, *, user: User | None = None) -> int:
    """Revoke (reason ``closed``) the active codes of the ward's closed establishments."""
    auth.require(user, "edit_records")  # the QR page's right; None: the command line
    ids = data.revoke_closed(conn, ward_id)
    if ids:
        audit.record(conn, action="qr.revoke_closed", entity_type="ward", entity_id=ward_id, user=user,
                     after={"revoked": len(ids)})
    return len(ids)


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
    if group and not data.group_exists(conn, ward_id, group.strip()):
        raise GeomapError(f"No residential group {group!r} in this ward; give its code or exact name.")
    if market and not data.market_exists(conn, ward_id, market.strip()):
        raise GeomapError(f"No market {market!r} in this ward; give its code or exact name.")
    tokens = None
    if refs is not None:
        tokens = []
        for ref in refs:
            rec = find(conn, ref)
            if rec is None:
                raise GeomapError(f"No QR code matches {ref!r}.")
            tokens.append(rec.token)
    rows = data.sticker_rows(conn, ward_id, group=group.strip() if group else None,
                             market=market.strip() if market else None, tokens=tokens,
                             include_revoked=include_revoked, limit=limit)
    return [StickerItem(**r) for r in rows]


def summary(conn: Connection, ward_id: int) -> dict[str, int]:
    """Counts for the staff page: active codes by target, targets still without one, revoked codes."""
    return data.summary(conn, ward_id)


def scopes(conn: Connection, ward_id: int) -> dict[str, list[tuple[str, str]]]:
    """Residential groups and markets of the ward as (code, name), for the staff page's pickers."""
    return data.scopes(conn, ward_id)
