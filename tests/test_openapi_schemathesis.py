"""Schemathesis against the public service's own OpenAPI document (issue 18): 0 failures, all checks on.

The app runs in-process (Schemathesis' ASGI transport) on the test database with the demo ward
loaded, its QR codes issued and a report with a photo made; rate limits are off for this run only
(``GEOMAP_*_RATE_PER_MINUTE=0`` read when the app is built). The identifiers an operation needs
are supplied as OpenAPI ``examples`` of the loaded document: real sticker tokens, tracking ids,
feature ids (collection ids and service codes are enumerations in the document itself), and an Open311
``api_key`` in every POST that sends one and an ``X-API-Key`` of the indicator API.

Every phase Schemathesis runs under pytest (explicit examples, coverage, fuzzing; positive and
negative data) and every check (server errors, status codes, content types, response schemas and
headers, positive data accepted, negative data rejected, unsupported methods and ``Allow``...).
Bounded by :data:`MAX_EXAMPLES` per operation so the run stays within a few minutes on two cores.

A few rules tie two values together or depend on the ward's outline, which JSON Schema cannot say;
the document states each in words (the parameter's description) and :func:`meet_stated_rules` makes a
*positive* (schema-valid) case follow them before it is sent: a ``bbox``'s minimum at most its maximum
and inside its CRS's domain, a ``datetime`` interval's start not after its end and only on a collection
with a time field, Open311's ``end_date`` not before ``start_date``, a served ``jurisdiction_id``, paired
contact fields within 200 characters together, a contact given with the reporter's consent (``consent``:
required once a name or contact is given), a report's location inside the ward and its photos real
images (a positive case is sent without photos; the fixture's report has one). Negative cases are sent as
generated.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import threading
import time
from collections import Counter

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from reports_fixtures import inside_point
from schemathesis.config import SchemathesisConfig

from geomap import crs, db
from geomap.accounts import apikeys
from geomap.web import create_app
from qr import issue

#: examples per operation and phase (Hypothesis' max_examples); GEOMAP_SCHEMATHESIS_EXAMPLES for a deeper run
MAX_EXAMPLES = int(os.environ.get("GEOMAP_SCHEMATHESIS_EXAMPLES", "25"))
LIMITED = ("QR", "REPORT", "OPEN311", "FORM", "TRACK", "GUESS")
#: API keys the run supplies (made by the fixture)
KEYS: dict[str, str] = {}
#: collections with a time field (``datetime`` is refused on the others)
TEMPORAL = {"establishments", "field_reports"}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def app(database_url, engine, demo_ward):
    with pytest.MonkeyPatch.context() as mp:
        for name in LIMITED:  # rate limits off for this run only: read when the app is built
            mp.setenv(f"GEOMAP_{name}_RATE_PER_MINUTE", "0")
        app = create_app(database_url)
    with db.transaction(engine) as conn:
        issue.issue_missing(conn, demo_ward["id"])
    lon, lat = inside_point()
    with TestClient(app, follow_redirects=False) as client:
        made = client.post("/report", data={"category": "garbage", "description": "Ảnh thử (Schemathesis)",
                                            "lat": f"{lat}", "lon": f"{lon}"},
                           files={"photos": ("a.jpg", _jpeg(), "image/jpeg")})
        assert made.status_code == 303, made.text[:300]
    yield app
    _stop(app)


def _stop(app) -> None:
    """Leave no connection behind for the run's final DROP DATABASE: Schemathesis keeps the app's lifespan
    running until the process exits, and the lifespan's status priming may still be reading."""
    try:
        from schemathesis.python import asgi as st_asgi

        st_asgi.shutdown_lifespans()
    except Exception:  # an older or newer Schemathesis: nothing of ours to stop there
        pass
    for thread in threading.enumerate():
        if thread.name in ("qr-prime", "qr-status-prime"):
            thread.join(timeout=120)
    for made in {id(e): e for e in (getattr(app.state, "engine", None), app.state.qr.engine) if e}.values():
        made.dispose()


def _ids(engine, sql: str) -> list[str]:
    with engine.connect() as c:
        return [str(v) for v in c.execute(sa.text(sql)).scalars()]


def _example(doc: dict, path: str, name: str, values: list[str]) -> None:
    for op in doc["paths"][path].values():
        for param in op.get("parameters", []):
            if param["name"] == name:
                param["examples"] = {f"real{i}": {"value": v} for i, v in enumerate(values)}


@pytest.fixture(scope="module")
def api_schema(app, engine, demo_ward):
    doc = app.openapi()
    doc = __import__("copy").deepcopy(doc)
    tokens = _ids(engine, "SELECT token FROM qr_code WHERE revoked_at IS NULL ORDER BY id LIMIT 3")
    reports = _ids(engine, "SELECT public_id FROM field_report ORDER BY id DESC LIMIT 3")
    codes = _ids(engine, "SELECT code FROM establishment WHERE code IS NOT NULL ORDER BY id LIMIT 2")
    assert tokens and reports and codes
    _example(doc, "/api/q/{code}", "code", tokens)
    _example(doc, "/q/{code}", "code", tokens)
    _example(doc, "/report/track/{public_id}", "public_id", reports)
    _example(doc, "/report/track/{public_id}/photo/{n}", "public_id", reports[:1])
    _example(doc, "/open311/v2/requests/{request_id}.{fmt}", "request_id", reports)
    _example(doc, "/ogc/collections/{collection_id}/items/{feature_id}", "feature_id", codes)
    KEYS["open311"] = apikeys.create(engine, "Schemathesis (test)", ["open311"])
    KEYS["indicators"] = apikeys.create(engine, "Schemathesis indicators (test)", ["indicators"])
    _example(doc, "/api/indicators", "X-API-Key", [KEYS["indicators"]])
    config = SchemathesisConfig.from_dict({"generation": {"max-examples": MAX_EXAMPLES}})
    schema = schemathesis.openapi.from_dict(doc, config=config)
    schema.app = app
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """Schemathesis' lazy loader renames the test through ``node._nodeid``, which pytest 9 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _numbers(value) -> list[float] | None:
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        return [float(p) for p in parts]
    except (TypeError, ValueError):
        return None


def _ordered_interval(value: str) -> str:
    start, sep, end = value.partition("/")
    if not sep or start in ("", "..") or end in ("", ".."):
        return value
    from geomap.ogc.params import datetime_param

    lo, hi = datetime_param(start)[0], datetime_param(end)[1]
    return f"{end}/{start}" if lo and hi and lo > hi else value


def meet_stated_rules(case) -> None:
    """Make a positive case follow the rules the document states in words (see the module's docstring)."""
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    if mode is None or not mode.is_positive:
        return
    query = case.query if isinstance(case.query, dict) else None
    if query is not None and case.path.endswith("/items"):
        if query.get("bbox") is not None and (box := _numbers(query["bbox"])) and len(box) in (4, 6):
            xy = [box[0], box[1], box[3], box[4]] if len(box) == 6 else box
            x1, x2 = sorted((xy[0], xy[2]))
            y1, y2 = sorted((xy[1], xy[3]))
            srid = crs.WGS84 if not query.get("bbox-crs") else crs.parse(query["bbox-crs"])
            if srid != crs.WGS84:  # a box around the ward in the local grid
                x, y = crs.transformer(crs.WGS84, srid).transform(*inside_point())
                x1, y1, x2, y2 = x - 2000, y - 2000, x + 2000, y + 2000
            query["bbox"] = ",".join(repr(v) for v in (x1, y1, x2, y2))
        elif "bbox-crs" in query:
            query.pop("bbox-crs")
        # a filter is a CQL2 expression: its grammar is stated in words (and tested in tests/test_cql2.py),
        # a random string is no valid filter, so a positive case leaves the three filter parameters out
        for name in ("filter", "filter-lang", "filter-crs"):
            query.pop(name, None)
        if query.get("datetime"):
            collection = (case.path_parameters or {}).get("collection_id")
            if collection not in TEMPORAL:
                query.pop("datetime")
            else:
                query["datetime"] = _ordered_interval(str(query["datetime"]))
    if query is not None and case.path.startswith("/open311/v2/requests") and case.method == "GET":
        if query.get("start_date") and query.get("end_date") and query["start_date"] > query["end_date"]:
            query["start_date"], query["end_date"] = query["end_date"], query["start_date"]
    if case.method == "POST" and isinstance(case.body, dict):
        lon, lat = inside_point()
        if case.path == "/report":
            case.body.update(lat=f"{lat}", lon=f"{lon}")
            case.body.pop("photos", None)  # generated bytes are no image (the fixture sends a real photo)
            if case.body.get("reporter_name") or case.body.get("reporter_contact"):
                case.body["consent"] = "1"
        elif case.path.startswith("/open311/"):
            case.body.update(lat=lat, long=lon)
            if case.body.get("jurisdiction_id"):
                case.body["jurisdiction_id"] = "hoa-cuong"
            if any(case.body.get(k) for k in ("email", "phone", "first_name", "last_name")):
                case.body["consent"] = "true"
            for first, second in (("first_name", "last_name"), ("email", "phone")):
                if len(str(case.body.get(first, ""))) + len(str(case.body.get(second, ""))) + 2 > 200:
                    case.body.pop(second, None)
    if case.method == "POST" and case.path.startswith("/open311/") and isinstance(case.body, dict):
        if "api_key" in case.body:  # a real key (Schemathesis cannot know one); a case without one stays so
            case.body["api_key"] = KEYS["open311"]


#: cases sent per operation (reported at the end of the module: the figures of the issue's "Measured")
SENT: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_figures(request):
    started = time.monotonic()
    yield
    if SENT:
        line = (f"Schemathesis: {len(SENT)} operations, {sum(SENT.values())} cases sent "
                f"({MAX_EXAMPLES} examples per operation and phase), {time.monotonic() - started:.0f} s")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print("\n" + line)


@schema.parametrize()
def test_the_service_answers_as_its_openapi_document_says(case):
    meet_stated_rules(case)
    SENT[case.operation.label] += 1
    case.call_and_validate()


def test_the_document_declares_every_family_error_and_content_type(app):
    doc = app.openapi()
    ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    for (method, path), op in ops.items():
        assert {"400", "413"} <= set(op["responses"]), (method, path)
        assert "422" not in op["responses"] or path == "/report", (method, path)  # FastAPI's, never sent
    items = ops[("GET", "/ogc/collections/{collection_id}/items")]["responses"]
    assert set(items["200"]["content"]) == {"application/geo+json", "text/html"}
    assert items["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/OGCException")
    assert "Retry-After" in items["503"]["headers"]
    o311 = ops[("GET", "/open311/v2/requests.{fmt}")]["responses"]
    assert set(o311["400"]["content"]) == {"application/json", "text/xml"}
    assert "text/javascript" in ops[("GET", "/report/form.js")]["responses"]["200"]["content"]
    assert set(ops[("GET", "/report/track/{public_id}/photo/{n}")]["responses"]["200"]["content"]) == {
        "image/jpeg", "image/png", "image/webp"}
    assert set(ops[("GET", "/api/q/{code}")]["responses"]) >= {"200", "400", "404", "410", "429", "503"}
    assert re.fullmatch(ops[("GET", "/api/q/{code}")]["parameters"][0]["schema"]["pattern"], "ABCDEFGHJKMNPQRS")


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/open311/v2/requests.json", "GET, HEAD, POST"),  # two routes on one path: both methods
    ("DELETE", "/report", "GET, HEAD, POST"),
    ("OPTIONS", "/ogc/collections", "GET, HEAD"),
    ("POST", "/api/q/ABCDEFGHJKMNPQRS", "GET, HEAD"),
])
def test_a_method_the_path_does_not_offer_is_405_with_its_whole_allow(app, method, path, allow):
    with TestClient(app) as client:
        r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow, (r.status_code, r.headers, r.text[:200])


def test_rate_limits_were_raised_for_this_run_only(app):
    assert not app.state.limits.qr.enabled and not app.state.limits.report.enabled
    assert all(f"GEOMAP_{n}_RATE_PER_MINUTE" not in os.environ for n in LIMITED)


#: a value of each path parameter (the database is down: nothing is looked up)
_PATH_VALUES = {"code": "ABCDEFGHJKMNPQRS", "collection_id": "establishments", "feature_id": "TX-0001", "fmt": "json",
                "public_id": "PA-AAAA-AAAA-AAAA", "request_id": "PA-AAAA-AAAA-AAAA", "n": "1",
                "tile_matrix_set_id": "WebMercatorQuad", "tile_matrix": "3", "tile_row": "3", "tile_col": "6"}


def test_while_the_database_is_down_every_answer_is_one_the_document_declares():
    """503 exactly where the document says the database is read, each answer's status and type declared."""
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        app = create_app(f"postgresql+psycopg://nobody@127.0.0.1:{free.getsockname()[1]}/nothing")
    doc = app.openapi()
    lon, lat = inside_point()
    bodies = {"/report": {"category": "garbage", "description": "x", "lat": f"{lat}", "lon": f"{lon}"},
              "/open311/v2/requests.{fmt}": {"api_key": "k", "service_code": "garbage", "lat": f"{lat}",
                                            "long": f"{lon}", "description": "x"}}
    seen = []
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        for path, item in doc["paths"].items():
            for method, op in item.items():
                url = re.sub(r"\{(\w+)\}", lambda m: _PATH_VALUES[m.group(1)], path)
                r = client.request(method.upper(), url, data=bodies.get(path) if method == "post" else None)
                declared = op["responses"].get(str(r.status_code))
                assert declared is not None, (method, path, r.status_code, r.text[:200])
                media = r.headers.get("content-type", "").split(";")[0]
                assert media in declared.get("content", {}) or (not declared.get("content") and not r.content), (
                    method, path, r.status_code, media)
                if r.status_code == 503:
                    assert r.headers["retry-after"].isdigit()
                seen.append((method, path, r.status_code, "503" in op["responses"]))
    assert [s[:2] for s in seen if s[2] == 503] == [s[:2] for s in seen if s[3]]  # 503 exactly where declared
    assert len(seen) >= 22
