"""API keys for every API client: the OGC API's internal profile (scope ``ogc:internal``), Open311
clients (``open311``) and any other third-party app.

Only a key's SHA-256 is stored (table ``api_key``), so the plaintext :func:`create` returns is
shown once. Made, listed and revoked with ``geomap apikey add|list|revoke``; checked by the routes
with :func:`check`. Each change writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from geomap import audit, db
from geomap.accounts import data
from geomap.errors import LocalizedError
from geomap.text import clean_text
from geomap.users import User


class ApiKeyError(LocalizedError):
    """A key request that cannot be carried out (no name, no such active key); ``field`` names the input."""


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(bind: db.Bind, name: str, scopes: Sequence[str], *, user: User | None = None) -> str:
    """A new key; only its sha256 is stored, so the returned plaintext is shown once."""
    name = clean_text(name)
    if not name:
        raise ApiKeyError("Hãy đặt tên cho khóa API.", "Give the API key a name.", "name")
    key = "gm_" + secrets.token_urlsafe(32)
    with db.transaction(bind) as conn:
        key_id = data.insert_api_key(conn, name, _key_hash(key), scopes)
        audit.record(conn, action="create", entity_type="api_key", entity_id=key_id, user=user,
                     after={"name": name, "scopes": list(scopes)})
    return key


def check(bind: db.Bind, key: str | None, scope: str) -> int | None:
    """The id of an unrevoked key holding ``scope``; None otherwise."""
    if not key or len(key) > 200:
        return None
    return data.api_key_id(bind, _key_hash(key), scope)


def scopes(bind: db.Bind, key: str | None) -> list[str] | None:
    """The scopes of an unrevoked key; None for a missing, unknown or revoked one."""
    if not key or len(key) > 200:
        return None
    return data.api_key_scopes(bind, _key_hash(key))


def revoke(bind: db.Bind, key_id: int, *, user: User | None = None) -> None:
    with db.transaction(bind) as conn:
        if not data.revoke_api_key(conn, key_id):
            raise ApiKeyError(f"Không có khóa API #{key_id} đang hoạt động.", f"No active API key #{key_id}.", "id")
        audit.record(conn, action="revoke", entity_type="api_key", entity_id=key_id, user=user)


def list_keys(bind: db.Bind) -> list[dict[str, Any]]:
    """Every key (no hashes), oldest first, revoked ones included."""
    return data.list_api_keys(bind)
