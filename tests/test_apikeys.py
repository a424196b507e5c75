"""API keys (geomap.accounts.apikeys) and the ``geomap apikey`` command (real PostGIS)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geomap import cli, config
from geomap.accounts import apikeys


def test_api_keys(conn):
    key = apikeys.create(conn, "FixMyStreet test", ["open311"])
    kid = apikeys.check(conn, key, "open311")
    assert kid is not None
    assert apikeys.check(conn, key, "ogc") is None
    assert apikeys.check(conn, key + "x", "open311") is None
    stored = conn.execute(sa.text("SELECT key_hash FROM api_key WHERE id = :i"), {"i": kid}).scalar()
    assert key not in stored and len(stored) == 64
    apikeys.revoke(conn, kid)
    assert apikeys.check(conn, key, "open311") is None


def test_a_key_needs_a_name_and_revoking_twice_says_so(conn):
    with pytest.raises(apikeys.ApiKeyError) as err:
        apikeys.create(conn, " \x00 ", ["open311"])
    assert err.value.field == "name" and err.value.message("en") == "Give the API key a name."
    kid = apikeys.check(conn, apikeys.create(conn, "Revoke me", ["ogc:internal"]), "ogc:internal")
    apikeys.revoke(conn, kid)
    with pytest.raises(apikeys.ApiKeyError) as err:
        apikeys.revoke(conn, kid)
    assert f"#{kid}" in err.value.message("en")
    audit = conn.execute(sa.text("SELECT action FROM audit_log WHERE entity_type = 'api_key' AND entity_id = :i "
                                 "ORDER BY id"), {"i": kid}).scalars().all()
    assert audit == ["create", "revoke"]


def test_cli_add_list_revoke(engine, database_url, monkeypatch, capsys):
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    assert cli.main(["apikey", "add", "CLI test client", "--scope", "open311"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    kid = apikeys.check(engine, key, "open311")
    assert key.startswith("gm_") and kid is not None
    assert cli.main(["apikey", "list"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith(f"{kid}\t"))
    assert line.split("\t")[1:3] == ["CLI test client", "open311"] and line.endswith("active")
    assert cli.main(["apikey", "revoke", str(kid)]) == 0
    assert apikeys.check(engine, key, "open311") is None
    assert cli.main(["apikey", "revoke", str(kid)]) == 1  # already revoked: one readable line, exit 1
    assert "API" in capsys.readouterr().err
    assert cli.main(["apikey", "revoke", "abc"]) == 1
    with engine.begin() as c:  # leave the shared test database as it was found
        c.execute(sa.text("DELETE FROM audit_log WHERE entity_type = 'api_key' AND entity_id = :i"), {"i": kid})
        c.execute(sa.text("DELETE FROM api_key WHERE id = :i"), {"i": kid})
