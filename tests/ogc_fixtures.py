"""Module fixtures of the OGC API tests (features, CQL2, tiles): the test ward, a client of the public
service and an internal-profile key. A test module imports them (``from ogc_fixtures import client,
internal_key, ward``); pytest then makes them once per that module."""

from __future__ import annotations

import pytest
from export_fixtures import loaded as loaded_fixture
from fastapi.testclient import TestClient

from geomap.accounts import apikeys
from geomap.web import create_app


@pytest.fixture(scope="module")
def ward(engine):
    yield from loaded_fixture(engine)


@pytest.fixture(scope="module")
def client(database_url, ward):
    with TestClient(create_app(database_url)) as c:
        yield c


@pytest.fixture(scope="module")
def internal_key(request, engine):
    return apikeys.create(engine, f"Sở TTTT Đà Nẵng ({request.module.__name__})", ["ogc:internal"])
