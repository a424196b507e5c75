"""``geomap apikey add|list|revoke``: API keys for the OGC API (internal profile) and third-party apps.

Examples::

    geomap apikey add "Sở TTTT Đà Nẵng" --scope ogc:internal
    geomap apikey add "FixMyStreet" --scope open311
    geomap apikey list
    geomap apikey revoke 3
"""

from __future__ import annotations

import argparse

from geomap import db
from geomap.accounts import apikeys
from geomap.errors import GeomapError


def register(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("apikey", help="API keys for the OGC API (internal profile) and third-party apps")
    k.add_argument("action", choices=["add", "list", "revoke"])
    k.add_argument("name", nargs="?", help="who the key is for (add), or the key id (revoke)")
    k.add_argument("--scope", action="append", default=[], help="a scope, e.g. ogc:internal (repeatable)")
    k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Keys are made, listed and revoked by :mod:`geomap.accounts.apikeys` (one implementation, sha256 stored)."""
    engine = db.get_engine()
    if args.action == "add":
        if not args.name:
            raise GeomapError("Give the key a name: geomap apikey add NAME --scope ogc:internal.")
        key = apikeys.create(engine, args.name, args.scope)
        print(f"API key for {args.name} ({', '.join(args.scope) or 'no scope'}); shown once, keep it safe:")
        print(key)
        return 0
    if args.action == "list":
        for row in apikeys.list_keys(engine):
            state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
            print(f"{row['id']}\t{row['name']}\t{','.join(row['scopes'])}\t{row['created_at']:%Y-%m-%d}\t{state}")
        return 0
    try:
        key_id = int(args.name or "")
    except ValueError:
        raise GeomapError("Give the id of the key to revoke (see 'geomap apikey list').") from None
    apikeys.revoke(engine, key_id)
    print(f"API key {key_id} revoked.")
    return 0
