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

from sqlalchemy.engine import Connection

from geomap import db
from geomap.accounts import data
from geomap.users import User


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
    user: User | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Append one entry; ``user`` is the acting staff user (None: system or command line)."""
    data.insert_audit(conn, {
        "user_id": user.id if user is not None else None,
        "username": user.username if user is not None else "system",
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": None if before is None else json.dumps(_jsonable(before), ensure_ascii=False),
        "after": None if after is None else json.dumps(_jsonable(after), ensure_ascii=False),
        "note": note,
    })


def history(bind: db.Bind, entity_type: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """An entity's history, newest first."""
    return data.audit_history(bind, entity_type, entity_id, limit)
