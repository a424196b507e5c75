"""The audit log: every change records who, when, what, before and after.

Call :func:`record` inside the same transaction as the change it describes, so the log
and the data can never disagree.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # geometries (WKT/WKB elements) and anything else


def record(
    conn: Connection,
    *,
    action: str,
    entity_type: str,
    entity_id: int | None,
    user: Mapping[str, Any] | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Append one entry; ``user`` is the acting staff user (None: system or command line)."""
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (user_id, username, action, entity_type, entity_id, before, after, note) "
            "VALUES (:user_id, :username, :action, :entity_type, :entity_id, "
            "CAST(:before AS jsonb), CAST(:after AS jsonb), :note)"
        ),
        {
            "user_id": (user or {}).get("id"),
            "username": (user or {}).get("username", "system"),
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": None if before is None else json.dumps(_jsonable(before), ensure_ascii=False),
            "after": None if after is None else json.dumps(_jsonable(after), ensure_ascii=False),
            "note": note,
        },
    )


def history(conn: Connection, entity_type: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """An entity's history, newest first."""
    rows = conn.execute(
        sa.text(
            "SELECT at, username, action, before, after, note FROM audit_log "
            "WHERE entity_type = :t AND entity_id = :id ORDER BY at DESC, id DESC LIMIT :n"
        ),
        {"t": entity_type, "id": entity_id, "n": limit},
    ).mappings()
    return [dict(r) for r in rows]
