"""Open311 GeoReport v2: responses checked against the spec's fields, errors, filters, XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_fixtures import assert_not_sequential, assert_public_id_hides_row_id, ensure_ward, inside_point

from geomap.accounts import apikeys
from geomap.field_reports import workflow
from geomap.models import REPORT_CATEGORIES
from geomap.web import create_app

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
POST_FIELDS = {"service_request_id", "service_notice", "account_id"}
ERROR_FIELDS = {"code", "description"}


def w3c(value: str | None) -> bool:
    """A W3C date/time with an explicit time zone (the spec's requirement)."""
    if value is None:
        return True
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


@pytest.fixture(scope="module")
def client(request, database_url, engine):
    ensure_ward(request, engine)
    with TestClient(create_app(database_url)) as c:
        yield c


@pytest.fixture(scope="module")
def api_key(engine) -> str:
    return apikeys.create(engine, "Ứng dụng thử nghiệm Open311", ["open311"])


def post(client, api_key, **kw):
    lon, lat = inside_point()
    data = {"api_key": api_key, "service_code": "garbage", "lat": str(lat), "long": str(lon),
            "description": "Rác đổ trộm dưới chân cầu", "first_name": "Lê", "last_name": "Văn Báo",
            "email": "bao@example.vn", "consent": "true", **kw}
    return client.post("/open311/v2/requests.json", data={k: v for k, v in data.items() if v is not None})


def test_services_json_and_xml(client):
    r = client.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert [s["service_code"] for s in body] == list(REPORT_CATEGORIES)
    for s in body:
        assert set(s) == SERVICE_FIELDS and s["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(s["metadata"], bool)
    assert body[0]["service_name"] == "Rác thải"
    assert client.get("/open311/v2/services.json?lang=en").json()[0]["service_name"] == "Garbage"
    x = client.get("/open311/v2/services.xml")
    assert x.headers["content-type"].startswith("text/xml") and x.content.startswith(b"<?xml")
    root = ET.fromstring(x.content)
    assert root.tag == "services" and len(root.findall("service")) == len(REPORT_CATEGORIES)
    assert {c.tag for c in root.find("service")} == SERVICE_FIELDS


def test_service_definition_and_unknown_code(client):
    d = client.get("/open311/v2/services/garbage.json").json()
    assert d == {"service_code": "garbage", "attributes": []}
    r = client.get("/open311/v2/services/potholes.json")
    assert r.status_code == 404 and set(r.json()[0]) == ERROR_FIELDS and r.json()[0]["code"] == 404
    x = client.get("/open311/v2/services/potholes.xml")
    err = ET.fromstring(x.content)
    assert err.tag == "errors" and err.find("error/code").text == "404"


def test_post_requires_valid_key(client, api_key):
    for key, status in ((None, 403), ("wrong-key", 403)):
        r = post(client, key)
        assert r.status_code == status
        assert set(r.json()[0]) == ERROR_FIELDS and "api_key" in r.json()[0]["description"]


def test_post_errors(client, api_key, engine):
    with engine.connect() as c:
        before = c.execute(sa.text("SELECT count(*) FROM field_report")).scalar()
    cases = [
        ({"service_code": "potholes"}, "service_code"),
        ({"service_code": None}, "service_code"),
        ({"lat": None, "long": None, "address_string": "12 Núi Thành"}, "lat and long"),
        ({"lat": "0", "long": "0"}, "lat/long"),
        ({"lat": "21.03", "long": "105.85"}, "outside"),
        ({"description": ""}, "description"),
        ({"description": "y" * 10_000}, "description"),
        ({"jurisdiction_id": "atlantis"}, "jurisdiction_id"),
    ]
    for extra, words in cases:
        r = post(client, api_key, **extra)
        assert r.status_code == 400, (extra, r.text)
        err = r.json()
        assert isinstance(err, list) and set(err[0]) == ERROR_FIELDS and err[0]["code"] == 400
        assert words in err[0]["description"], (extra, err)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM field_report")).scalar() == before


def test_post_then_get_round_trip(client, api_key, engine):
    r = post(client, api_key, description="Open311 round trip <script>", address_string="K12 Núi Thành")
    assert r.status_code == 201
    created = r.json()
    assert isinstance(created, list) and set(created[0]) == POST_FIELDS
    rid = created[0]["service_request_id"]
    assert rid.startswith("PA-")
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT id, channel, reporter_name, reporter_contact, api_key_id FROM field_report WHERE public_id = :p"),
            {"p": rid}).one()
    assert row.channel == "open311" and row.reporter_name == "Lê Văn Báo" and row.api_key_id is not None
    # the service_request_id is the random tracking code, not (derived from) the sequential row id
    assert_public_id_hides_row_id(rid, row.id)
    missing = client.get(f"/open311/v2/requests/{row.id}.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    nxt = post(client, api_key, description="Open311 second request, right after")
    assert nxt.status_code == 201
    next_rid = nxt.json()[0]["service_request_id"]
    with engine.connect() as c:
        next_id = c.execute(sa.text("SELECT id FROM field_report WHERE public_id = :p"), {"p": next_rid}).scalar_one()
    assert_public_id_hides_row_id(next_rid, next_id)
    assert_not_sequential((row.id, rid), (next_id, next_rid))
    # replay: same content, same key, same device within a minute -> same request id, 200 not 201
    again = post(client, api_key, description="Open311 round trip <script>", address_string="K12 Núi Thành")
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == rid

    unmoderated = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert unmoderated["description"] is None and unmoderated["address"] is None  # tests/test_moderation.py
    workflow.moderate(engine, row.id, "approved", user=None)
    one = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert isinstance(one, list) and len(one) == 1
    req = one[0]
    assert set(req) == REQUEST_FIELDS
    assert req["status"] == "open" and req["service_code"] == "garbage"
    assert req["description"] == "Open311 round trip <script>" and req["address"] == "K12 Núi Thành"
    assert all(w3c(req[k]) for k in ("requested_datetime", "updated_datetime", "expected_datetime"))
    assert req["expected_datetime"] is not None
    assert "Lê" not in str(req) and "bao@example.vn" not in str(req)  # no personal data
    lon, lat = inside_point()
    assert abs(req["lat"] - lat) < 1e-6 and abs(req["long"] - lon) < 1e-6

    # workflow states map onto open/closed with status_notes
    workflow.transition(engine, row.id, "in_progress", user=None, note="Đội vệ sinh đang đến")
    req = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert req["status"] == "open" and "Đang xử lý" in req["status_notes"] and "Đội vệ sinh" in req["status_notes"]
    workflow.transition(engine, row.id, "resolved", user=None, note="Đã thu gom")
    req = client.get(f"/open311/v2/requests/{rid}.json?lang=en").json()[0]
    assert req["status"] == "closed" and req["status_notes"].startswith("Resolved") and "Đã thu gom" in \
        req["status_notes"]

    x = ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").content)
    assert x.tag == "service_requests" and {c.tag for c in x.find("request")} == REQUEST_FIELDS
    assert x.find("request/status").text == "closed"


def test_get_requests_filters(client, api_key, engine):
    ids = {}
    for code in ("sanitation", "food_safety"):
        ids[code] = post(client, api_key, service_code=code, description=f"filter test {code}").json()[0][
            "service_request_id"]
    with engine.connect() as c:
        fid = c.execute(sa.text("SELECT id FROM field_report WHERE public_id = :p"), {"p": ids["food_safety"]}).scalar()
    workflow.transition(engine, fid, "closed", user=None, note="Kiểm tra không phát hiện vi phạm")

    def codes(query):
        r = client.get("/open311/v2/requests.json" + query)
        assert r.status_code == 200, r.text
        for req in r.json():
            assert set(req) == REQUEST_FIELDS
        return {q["service_request_id"] for q in r.json()}

    assert ids["sanitation"] in codes("?service_code=sanitation")
    assert ids["food_safety"] not in codes("?service_code=sanitation")
    assert ids["food_safety"] in codes("?service_code=sanitation,food_safety&status=closed")
    assert ids["sanitation"] not in codes("?status=closed")
    assert ids["sanitation"] in codes("?status=open")
    assert codes(f"?service_request_id={ids['sanitation']},{ids['food_safety']}&status=open") == set(ids.values())
    today = dt.datetime.now(dt.UTC)
    assert ids["sanitation"] in codes(f"?start_date={(today - dt.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    assert ids["sanitation"] not in codes(f"?end_date={(today - dt.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}")


@pytest.mark.parametrize("query, words", [
    ("?start_date=yesterday", "start_date"),
    ("?status=pending", "status"),
    ("?service_code=potholes", "service_code"),
    ("?start_date=2026-03-02T00:00:00Z&end_date=2026-03-01T00:00:00Z", "before"),
])
def test_get_requests_bad_filters(client, query, words):
    r = client.get("/open311/v2/requests.json" + query)
    assert r.status_code == 400 and words in r.json()[0]["description"]


def test_unknown_request_and_format(client):
    r = client.get("/open311/v2/requests/PA-XXXX-XXXX-XXXX.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    assert client.get("/open311/v2/services.csv").status_code == 404


def test_discovery(client):
    d = client.get("/open311/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "text/xml" in d["endpoints"][0]["formats"]
