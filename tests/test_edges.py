"""Hostile requests against the public service's edges (issue 18): each one answered with its family's
message shape and a 400/404 (never a 500 traceback), and the database left unchanged.

One table, :data:`CASES`: (method, path, query params, form body, expected status, expected shape).
The guard under test is :mod:`geomap.web.guard` (control characters in the path, the query string and
form fields) and the range checks of :mod:`geomap.ogc.params` and the report routes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from export_fixtures import loaded as loaded_fixture
from fastapi.testclient import TestClient
from reports_fixtures import ensure_ward, inside_point

from geomap.accounts import apikeys
from geomap.web import create_app

NUL = "\x00"
ITEMS = "/ogc/collections/establishments/items"
REPORTS = "/ogc/collections/field_reports/items"
EPSG_5899 = "http://www.opengis.net/def/crs/EPSG/0/5899"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TOKEN15 = "a" * 15
#: placeholders filled by fixtures: a real tracking id, an Open311 key, an internal OGC key
REAL, KEY, INTERNAL = "{real}", "{key}", "{internal}"


def _report(**kw: str) -> dict[str, str]:
    lon, lat = inside_point()
    return {"category": "garbage", "description": "Rác tồn đọng", "lat": f"{lat}", "lon": f"{lon}", **kw}


def _open311(**kw: str) -> dict[str, str]:
    lon, lat = inside_point()
    return {"api_key": KEY, "service_code": "garbage", "lat": f"{lat}", "long": f"{lon}",
            "description": "Rác đổ trộm", **kw}


# (id, method, path, params, form, status, shape)
CASES: list[tuple[str, str, str, dict | None, dict | None, int, str]] = [
    # --- QR pages ---------------------------------------------------------------------------------
    ("q NUL in code", "GET", f"/q/{TOKEN15}%00", None, None, 400, "qr"),
    ("q NUL in lang", "GET", "/q/" + "a" * 16, {"lang": "vi" + NUL}, None, 400, "qr"),
    ("q ESC in code", "GET", f"/q/{TOKEN15}%1b", None, None, 400, "qr"),
    ("q DEL in code", "HEAD", f"/q/{TOKEN15}%7f", None, None, 400, "none"),
    ("api/q NUL in code", "GET", f"/api/q/{TOKEN15}%00", None, None, 400, "qrjson"),
    ("api/q control in query", "GET", "/api/q/" + "a" * 16, {"x": "\x01"}, None, 400, "qrjson"),
    # --- report form --------------------------------------------------------------------------------
    ("report GET NUL establishment", "GET", "/report", {"establishment": TOKEN15 + NUL}, None, 400, "report"),
    ("report GET ANSI escape", "GET", "/report", {"establishment": "\x1b[31m"}, None, 400, "report"),
    ("report GET NUL lang", "GET", "/report", {"lang": NUL}, None, 400, "report"),
    ("report POST NUL description", "POST", "/report", None, _report(description="Rác" + NUL), 400, "report"),
    ("report POST NUL category", "POST", "/report", None, _report(category="garbage" + NUL), 400, "report"),
    ("report POST NUL establishment", "POST", "/report", None, _report(establishment=TOKEN15 + NUL), 400,
     "report"),
    ("report POST BEL name", "POST", "/report", None, _report(reporter_name="Lê\x07"), 400, "report"),
    ("report POST NUL contact", "POST", "/report", None, _report(reporter_contact="09" + NUL), 400, "report"),
    ("report POST NUL lat", "POST", "/report", None, _report(lat="16.0" + NUL), 400, "report"),
    ("report POST NUL field name", "POST", "/report", None, _report(**{"x" + NUL: "1"}), 400, "report"),
    ("report POST multipart NUL description", "POST", "/report", None,
     {**_report(description="Rác" + NUL), "_multipart": "1"}, 400, "report"),
    ("report POST NUL in query", "POST", "/report", {"lang": NUL}, _report(), 400, "report"),
    # --- tracking page --------------------------------------------------------------------------------
    ("track NUL id", "GET", "/report/track/PA-AAAA%00", None, None, 400, "report"),
    ("track real id + NUL", "GET", f"/report/track/{REAL}%00", None, None, 400, "report"),
    ("track NUL new", "GET", f"/report/track/{REAL}", {"new": NUL}, None, 400, "report"),
    ("track new not a number", "GET", f"/report/track/{REAL}", {"new": "1e20"}, None, 400, "report"),
    ("track photo 1e20", "GET", f"/report/track/{REAL}/photo/1e20", None, None, 400, "report"),
    ("track photo 10**20", "GET", f"/report/track/{REAL}/photo/100000000000000000000", None, None, 404, "none"),
    ("track photo -1", "GET", f"/report/track/{REAL}/photo/-1", None, None, 404, "none"),
    ("track photo 0", "GET", f"/report/track/{REAL}/photo/0", None, None, 404, "none"),
    ("track photo NUL", "GET", f"/report/track/{REAL}/photo/1%00", None, None, 400, "report"),
    # --- Open311 --------------------------------------------------------------------------------------
    ("311 requests NUL jurisdiction", "GET", "/open311/v2/requests.json", {"jurisdiction_id": NUL}, None, 400,
     "open311"),
    ("311 requests.xml NUL jurisdiction", "GET", "/open311/v2/requests.xml", {"jurisdiction_id": "a" + NUL},
     None, 400, "open311xml"),
    ("311 services NUL jurisdiction", "GET", "/open311/v2/services.json", {"jurisdiction_id": NUL}, None, 400,
     "open311"),
    ("311 request id NUL", "GET", "/open311/v2/requests/PA-%00.json", None, None, 400, "open311"),
    ("311 request id NUL xml", "GET", "/open311/v2/requests/PA-%00.xml", None, None, 400, "open311xml"),
    ("311 real request id + NUL", "GET", f"/open311/v2/requests/{REAL}%00", None, None, 400, "open311"),
    ("311 service_request_id NUL", "GET", "/open311/v2/requests.json", {"service_request_id": "PA-1" + NUL},
     None, 400, "open311"),
    ("311 start_date NUL", "GET", "/open311/v2/requests.json", {"start_date": "2026-01-01" + NUL}, None, 400,
     "open311"),
    ("311 service code NUL", "GET", "/open311/v2/services/garbage%00.json", None, None, 400, "open311"),
    ("311 POST NUL description", "POST", "/open311/v2/requests.json", None, _open311(description="x" + NUL), 400,
     "open311"),
    ("311 POST NUL jurisdiction", "POST", "/open311/v2/requests.json", None, _open311(jurisdiction_id=NUL), 400,
     "open311"),
    ("311 POST NUL api_key", "POST", "/open311/v2/requests.json", None, _open311(api_key=NUL), 400, "open311"),
    ("311 POST NUL address", "POST", "/open311/v2/requests.xml", None, _open311(address_string="Số 1" + NUL),
     400, "open311xml"),
    ("311 POST NUL jurisdiction in query", "POST", "/open311/v2/requests.json", {"jurisdiction_id": NUL},
     _open311(), 400, "open311"),
    ("311 POST NUL device_id", "POST", "/open311/v2/requests.json", None, _open311(device_id="d" + NUL), 400,
     "open311"),
    # --- OGC API – Features ---------------------------------------------------------------------------
    ("ogc NUL text filter", "GET", ITEMS, {"name": NUL}, None, 400, "ogc"),
    ("ogc NUL code filter", "GET", ITEMS, {"code": "TX" + NUL + "0001"}, None, 400, "ogc"),
    ("ogc NUL date filter", "GET", ITEMS, {"registration_issued_on": NUL}, None, 400, "ogc"),
    ("ogc NUL bool filter", "GET", ITEMS, {"food_safety_applicable": NUL}, None, 400, "ogc"),
    ("ogc NUL filter name", "GET", ITEMS, {"na" + NUL + "me": "x"}, None, 400, "ogc"),
    ("ogc NUL item id", "GET", ITEMS + "/TX-0001%00", None, None, 400, "ogc"),
    ("ogc NUL collection id", "GET", "/ogc/collections/establish%00ments/items", None, None, 400, "ogc"),
    ("ogc NUL after", "GET", ITEMS, {"after": "TX" + NUL}, None, 400, "ogc"),
    ("ogc NUL f", "GET", ITEMS, {"f": NUL}, None, 400, "ogc"),
    ("ogc NUL crs", "GET", ITEMS, {"crs": NUL}, None, 400, "ogc"),
    ("ogc LF in f", "GET", "/ogc/collections", {"f": "json\n"}, None, 400, "ogc"),
    ("ogc offset 1e20", "GET", ITEMS, {"offset": "1e20"}, None, 400, "ogc"),
    ("ogc offset 10**20", "GET", ITEMS, {"offset": str(10**20)}, None, 400, "ogc"),
    ("ogc offset 2**63", "GET", ITEMS, {"offset": str(2**63)}, None, 400, "ogc"),
    ("ogc limit 10**20", "GET", ITEMS, {"limit": str(10**20)}, None, 400, "ogc"),
    ("ogc limit -1", "GET", ITEMS, {"limit": "-1"}, None, 400, "ogc"),
    ("ogc datetime 9999-12-31", "GET", ITEMS, {"datetime": "9999-12-31"}, None, 200, "geojson"),
    ("ogc datetime ../9999-12-31", "GET", ITEMS, {"datetime": "../9999-12-31"}, None, 200, "geojson"),
    ("ogc datetime 0001-01-01/..", "GET", ITEMS, {"datetime": "0001-01-01/.."}, None, 200, "geojson"),
    # a valid RFC 3339 instant whose UTC time is past the calendar counts as its end (the document allows it)
    ("ogc datetime past 9999 in UTC", "GET", ITEMS, {"datetime": "9999-12-31T23:00:00-05:00"}, None, 200,
     "geojson"),
    ("ogc datetime before year 1 in UTC", "GET", ITEMS, {"datetime": "0001-01-01T00:00:00+01:00/.."}, None,
     200, "geojson"),
    ("ogc datetime year 10000", "GET", ITEMS, {"datetime": "10000-01-01"}, None, 400, "ogc"),
    ("ogc datetime filter past 9999", "GET", REPORTS, {"reported_at": "9999-12-31T23:59:59-12:00"}, None, 200,
     "geojson"),
    ("ogc bbox 5899 far outside", "GET", ITEMS, {"bbox": "1e7,1e7,2e7,2e7", "bbox-crs": EPSG_5899}, None, 400,
     "ogc"),
    ("ogc bbox 5899 huge", "GET", ITEMS, {"bbox": "-1e9,-1e9,1e9,1e9", "bbox-crs": EPSG_5899}, None, 400, "ogc"),
    ("ogc bbox 5899 1e30", "GET", ITEMS, {"bbox": "0,0,1e30,1e30", "bbox-crs": EPSG_5899}, None, 400, "ogc"),
    ("ogc bbox inf", "GET", ITEMS, {"bbox": "0,0,inf,1"}, None, 400, "ogc"),
    ("ogc internal item id 10**20", "GET", ITEMS + "/100000000000000000000", {"_key": INTERNAL}, None, 404, "ogc"),
    ("ogc internal after 10**20", "GET", ITEMS, {"after": str(10**20), "_key": INTERNAL}, None, 400, "ogc"),
    # --- ranges: numbers, dates and lengths at and beyond the edge ---------------------------------------
    ("q very long code", "GET", "/q/" + "a" * 5000, None, None, 400, "qr"),
    ("track very long id", "GET", "/report/track/PA-" + "A" * 5000, None, None, 404, "report-404"),
    ("report POST lat nan", "POST", "/report", None, _report(lat="nan"), 422, "report-form"),
    ("report POST lat 1e400", "POST", "/report", None, _report(lat="1e400"), 422, "report-form"),
    ("report POST lon -inf", "POST", "/report", None, _report(lon="-inf"), 422, "report-form"),
    ("311 POST lat nan", "POST", "/open311/v2/requests.json", None, _open311(lat="nan"), 400, "open311"),
    ("311 POST long 1e400", "POST", "/open311/v2/requests.json", None, _open311(long="1e400"), 400, "open311"),
    ("311 start_date year 10000", "GET", "/open311/v2/requests.json", {"start_date": "10000-01-01T00:00:00Z"},
     None, 400, "open311"),
    ("311 start_date at the calendar's end", "GET", "/open311/v2/requests.json",
     {"start_date": "9999-12-31T23:59:59-12:00"}, None, 200, "list"),
    ("311 end_date at the calendar's start", "GET", "/open311/v2/requests.json",
     {"end_date": "0001-01-01T00:00:00+14:00"}, None, 200, "list"),
    ("311 2000 request ids", "GET", "/open311/v2/requests.json",
     {"service_request_id": ",".join(f"PA-{i:04d}-AAAA-AAAA" for i in range(2000))}, None, 200, "list"),
    ("ogc date filter year 1", "GET", ITEMS, {"registration_issued_on": "0001-01-01"}, None, 200, "geojson"),
    ("ogc date filter 9999-12-31", "GET", ITEMS, {"registration_issued_on": "9999-12-31"}, None, 200, "geojson"),
    ("ogc date filter year 10000", "GET", ITEMS, {"registration_issued_on": "10000-01-01"}, None, 400, "ogc"),
    ("ogc bool filter 2", "GET", ITEMS, {"food_safety_applicable": "2"}, None, 400, "ogc"),
    ("ogc datetime filter at the end", "GET", ITEMS, {"updated_at": "9999-12-31T23:59:59Z"}, None, 200,
     "geojson"),
    ("ogc long after", "GET", ITEMS, {"after": "x" * 5000}, None, 200, "geojson"),
    ("ogc long text filter", "GET", ITEMS, {"name": "x" * 5000}, None, 200, "geojson"),
    ("ogc bbox 4326 beyond the poles", "GET", ITEMS, {"bbox": "-500,-100,500,100"}, None, 200, "geojson"),
    # --- anything else --------------------------------------------------------------------------------
    ("health NUL query", "GET", "/health", {"x": NUL}, None, 400, "json"),
    # --- control characters in every remaining place a client can put text (issue 18, second part) ---------
    ("ogc NUL in bbox", "GET", ITEMS, {"bbox": "0,0,1,1" + NUL}, None, 400, "ogc"),
    ("ogc NUL in bbox-crs", "GET", ITEMS, {"bbox": "0,0,1,1", "bbox-crs": EPSG_5899 + NUL}, None, 400, "ogc"),
    ("ogc NUL in datetime", "GET", ITEMS, {"datetime": "2026-01-01" + NUL}, None, 400, "ogc"),
    ("ogc NUL in limit", "GET", ITEMS, {"limit": "1" + NUL}, None, 400, "ogc"),
    ("ogc NUL offset", "GET", ITEMS, {"offset": NUL}, None, 400, "ogc"),
    ("ogc unit separator in f", "GET", "/ogc/conformance", {"f": "json\x1f"}, None, 400, "ogc"),
    ("ogc NUL landing query", "GET", "/ogc/", {"x": NUL}, None, 400, "ogc"),
    ("ogc NUL collection page", "GET", "/ogc/collections/establishments%00", None, None, 400, "ogc"),
    ("ogc CR in item id", "GET", ITEMS + "/TX-0001%0d", None, None, 400, "ogc"),
    ("ogc NUL item crs", "GET", ITEMS + "/TX-0001", {"crs": NUL}, None, 400, "ogc"),
    ("311 discovery NUL format", "GET", "/open311/discovery.json%00", None, None, 400, "open311"),
    ("311 services.xml NUL jurisdiction", "GET", "/open311/v2/services.xml", {"jurisdiction_id": NUL}, None, 400,
     "open311xml"),
    ("311 service definition xml NUL", "GET", "/open311/v2/services/garbage%00.xml", None, None, 400,
     "open311xml"),
    ("311 status NUL", "GET", "/open311/v2/requests.json", {"status": "open" + NUL}, None, 400, "open311"),
    ("311 end_date NUL", "GET", "/open311/v2/requests.json", {"end_date": NUL}, None, 400, "open311"),
    ("311 service_code ESC", "GET", "/open311/v2/requests.json", {"service_code": "garbage\x1b"}, None, 400,
     "open311"),
    ("311 POST NUL service_code", "POST", "/open311/v2/requests.json", None, _open311(service_code="garbage" + NUL),
     400, "open311"),
    ("311 POST NUL lat", "POST", "/open311/v2/requests.json", None, _open311(lat="16" + NUL), 400, "open311"),
    ("311 POST NUL email", "POST", "/open311/v2/requests.json", None, _open311(email="a@b.vn" + NUL), 400,
     "open311"),
    ("311 POST multipart NUL field name", "POST", "/open311/v2/requests.json", {  # raw: httpx would send %00
        "_headers": {"Content-Type": "multipart/form-data; boundary=b"},
        "_content": "".join(f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                            for k, v in {**_open311(), "x" + NUL: "1"}.items()) + "--b--\r\n"}, None, 400,
     "open311"),
    ("report POST vertical tab", "POST", "/report", None, _report(description="Rác\x0bđọng"), 400, "report"),
    ("report POST NUL lon", "POST", "/report", None, _report(lon="108" + NUL), 400, "report"),
    ("report POST multipart NUL name", "POST", "/report", None, {**_report(reporter_name="Lê" + NUL),
                                                                 "_multipart": "1"}, 400, "report"),
    ("track NUL lang", "GET", f"/report/track/{REAL}", {"lang": NUL}, None, 400, "report"),
    ("form.js NUL query", "GET", "/report/form.js", {"v": NUL}, None, 400, "report"),
    ("q CR LF in code", "GET", f"/q/{TOKEN15}%0d%0a", None, None, 400, "qr"),
    ("api/q NUL lang", "GET", "/api/q/" + "a" * 16, {"lang": NUL}, None, 400, "qrjson"),
    ("health ESC in path", "GET", "/health%1b", None, None, 400, "json"),
    # --- whole numbers beyond their column, and numbers that are not whole ----------------------------------
    ("ogc limit 2**64", "GET", ITEMS, {"limit": str(2**64)}, None, 400, "ogc"),
    ("ogc limit 0", "GET", ITEMS, {"limit": "0"}, None, 400, "ogc"),
    ("ogc offset -1", "GET", ITEMS, {"offset": "-1"}, None, 400, "ogc"),
    ("ogc offset 1.5", "GET", ITEMS, {"offset": "1.5"}, None, 400, "ogc"),
    ("ogc offset at the bigint edge", "GET", ITEMS, {"offset": str(2**63 - 1)}, None, 200, "geojson"),
    ("ogc internal after -1", "GET", ITEMS, {"after": "-1", "_key": INTERNAL}, None, 400, "ogc"),
    ("ogc internal item id -1", "GET", ITEMS + "/-1", {"_key": INTERNAL}, None, 404, "ogc"),
    ("ogc internal item id 2**63", "GET", ITEMS + f"/{2**63}", {"_key": INTERNAL}, None, 404, "ogc"),
    ("ogc internal int filter 10**20", "GET", ITEMS, {"employees": str(10**20), "_key": INTERNAL}, None, 400,
     "ogc"),
    ("ogc internal int filter 1e3", "GET", ITEMS, {"employees": "1e3", "_key": INTERNAL}, None, 400, "ogc"),
    ("track photo 2**64", "GET", f"/report/track/{REAL}/photo/{2**64}", None, None, 404, "none"),
    ("track new 10**30", "GET", f"/report/track/{REAL}", {"new": str(10**30)}, None, 200, "page"),
    ("311 POST lat 1e308", "POST", "/open311/v2/requests.json", None, _open311(lat="1e308"), 400, "open311"),
    # --- the calendar's edges and the days it does not have ----------------------------------------------
    ("ogc datetime year 0", "GET", ITEMS, {"datetime": "0000-01-01"}, None, 400, "ogc"),
    ("ogc datetime 30 February", "GET", ITEMS, {"datetime": "2026-02-30"}, None, 400, "ogc"),
    ("ogc datetime 29 February 2025", "GET", ITEMS, {"datetime": "2025-02-29"}, None, 400, "ogc"),
    ("ogc datetime 29 February 2024", "GET", ITEMS, {"datetime": "2024-02-29"}, None, 200, "geojson"),
    ("ogc datetime 29 February 1900", "GET", ITEMS, {"datetime": "1900-02-29"}, None, 400, "ogc"),
    ("ogc datetime 29 February 2000", "GET", ITEMS, {"datetime": "2000-02-29"}, None, 200, "geojson"),
    ("ogc datetime leap second", "GET", ITEMS, {"datetime": "2026-12-31T23:59:60Z"}, None, 400, "ogc"),
    ("ogc datetime hour 24", "GET", ITEMS, {"datetime": "2026-01-01T24:00:00Z"}, None, 400, "ogc"),
    ("ogc datetime without offset", "GET", ITEMS, {"datetime": "2026-01-01T08:00:00"}, None, 400, "ogc"),
    ("ogc datetime reversed interval", "GET", ITEMS, {"datetime": "2026-02-01/2026-01-01"}, None, 400, "ogc"),
    ("ogc datetime ../..", "GET", ITEMS, {"datetime": "../.."}, None, 400, "ogc"),
    ("ogc datetime slash alone", "GET", ITEMS, {"datetime": "/"}, None, 400, "ogc"),
    ("ogc datetime last microsecond", "GET", ITEMS, {"datetime": "9999-12-31T23:59:59.999999Z"}, None, 200,
     "geojson"),
    ("ogc datetime year 1 at +14:00", "GET", ITEMS, {"datetime": "0001-01-01T00:00:00+14:00/.."}, None, 200,
     "geojson"),
    ("ogc date filter 30 February", "GET", ITEMS, {"registration_issued_on": "2026-02-30"}, None, 400, "ogc"),
    ("311 start_date 30 February", "GET", "/open311/v2/requests.json", {"start_date": "2026-02-30T00:00:00Z"},
     None, 400, "open311"),
    ("311 start_date without offset", "GET", "/open311/v2/requests.json", {"start_date": "2026-01-01T00:00:00"},
     None, 400, "open311"),
    ("311 end_date year 0", "GET", "/open311/v2/requests.xml", {"end_date": "0000-01-01T00:00:00Z"}, None, 400,
     "open311xml"),
    ("311 start_date leap day", "GET", "/open311/v2/requests.json", {"start_date": "2024-02-29T00:00:00+07:00"},
     None, 200, "list"),
    # --- bbox: outside the CRS's domain, malformed, in the wrong order -------------------------------------
    ("ogc bbox 5899 easting 1e8", "GET", ITEMS, {"bbox": "1e8,0,2e8,1", "bbox-crs": EPSG_5899}, None, 400, "ogc"),
    ("ogc bbox five numbers", "GET", ITEMS, {"bbox": "0,0,1,1,2"}, None, 400, "ogc"),
    ("ogc bbox three numbers", "GET", ITEMS, {"bbox": "0,0,1"}, None, 400, "ogc"),
    ("ogc bbox six numbers", "GET", ITEMS, {"bbox": "108,15,0,109,17,100"}, None, 200, "geojson"),
    ("ogc bbox nan", "GET", ITEMS, {"bbox": "nan,0,1,1"}, None, 400, "ogc"),
    ("ogc bbox minimum above maximum", "GET", ITEMS, {"bbox": "108,16,109,15"}, None, 400, "ogc"),
    ("ogc bbox-crs without bbox", "GET", ITEMS, {"bbox-crs": CRS84}, None, 400, "ogc"),
    ("ogc bbox empty", "GET", ITEMS, {"bbox": ""}, None, 400, "ogc"),
    ("ogc bbox 4326 in lat/lon order", "GET", ITEMS, {"bbox": "15,108,17,109", "bbox-crs": EPSG_4326}, None, 200,
     "geojson"),
    # --- CRS URIs that are not offered or not CRS URIs ------------------------------------------------------
    ("ogc crs unknown EPSG code", "GET", ITEMS, {"crs": "http://www.opengis.net/def/crs/EPSG/0/99999"}, None, 400,
     "ogc"),
    ("ogc crs not offered (3857)", "GET", ITEMS, {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, None,
     400, "ogc"),
    ("ogc crs on a foreign host", "GET", ITEMS, {"crs": "http://evil.example/def/crs/EPSG/0/5899"}, None, 400,
     "ogc"),
    ("ogc crs as URN", "GET", ITEMS, {"crs": "urn:ogc:def:crs:EPSG::5899"}, None, 200, "geojson"),
    ("ogc crs overlong", "GET", ITEMS, {"crs": "EPSG:" + "9" * 5000}, None, 400, "ogc"),
    ("ogc bbox-crs negative code", "GET", ITEMS, {"bbox": "0,0,1,1", "bbox-crs": "EPSG:-5899"}, None, 400, "ogc"),
    ("ogc item crs not offered", "GET", ITEMS + "/TX-0001", {"crs": "EPSG:4979"}, None, 400, "ogc"),
    # --- bodies beyond the limit (refused on Content-Length, before a byte is read) ------------------------
    ("report POST Content-Length 1 TB", "POST", "/report", {"_headers": {"Content-Length": str(10**12)},
                                                            "_content": b"x"}, None, 413, "report"),
    ("311 POST Content-Length 1 TB", "POST", "/open311/v2/requests.json",
     {"_headers": {"Content-Length": str(10**12)}, "_content": b"x"}, None, 413, "open311"),
    ("health GET Content-Length 1 TB", "GET", "/health", {"_headers": {"Content-Length": str(10**12)},
                                                          "_content": b"x"}, None, 413, "json"),
    # --- wrong content types and malformed forms ----------------------------------------------------------
    ("report POST JSON body", "POST", "/report", {"_headers": {"Content-Type": "application/json"},
                                                  "_content": b'{"category": "garbage"}'}, None, 422, "report-form"),
    ("report POST text/plain body", "POST", "/report", {"_headers": {"Content-Type": "text/plain"},
                                                        "_content": b"category=garbage"}, None, 422,
     "report-form"),
    ("311 POST JSON body", "POST", "/open311/v2/requests.json", {"_headers": {"Content-Type": "application/json"},
                                                                "_content": b'{"api_key": "x"}'}, None, 403,
     "open311"),
    ("report POST multipart without boundary", "POST", "/report", {
        "_headers": {"Content-Type": "multipart/form-data"}, "_content": b"category=garbage"}, None, 400, "report"),
    ("311 POST multipart with the wrong boundary", "POST", "/open311/v2/requests.json", {
        "_headers": {"Content-Type": "multipart/form-data; boundary=zz"}, "_content": b"--yy\r\n\r\nx"}, None, 400,
     "open311"),
    ("report POST multipart cut short", "POST", "/report", {
        "_headers": {"Content-Type": "multipart/form-data; boundary=b"},
        "_content": b'--b\r\nContent-Disposition: form-data; name="category"\r\n\r\ngarb'}, None, 422,
     "report-form"),
    ("report POST bad percent-encoding", "POST", "/report", {
        "_headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "_content": b"category=%ZZ&description=%FF%FE&lat=%"}, None, 422, "report-form"),
    # --- paths that try to climb out -------------------------------------------------------------------------
    ("photo path traversal in the id", "GET", "/report/track/..%2F..%2Fetc%2Fpasswd/photo/1", None, None, 404,
     "json"),
    ("photo id of dots", "GET", "/report/track/%2e%2e/photo/1", None, None, 404, "none"),
    ("photo number traversal", "GET", f"/report/track/{REAL}/photo/..%2F1", None, None, 404, "json"),
    ("q path traversal", "GET", "/q/..%2F..%2Fetc%2Fpasswd", None, None, 400, "qr"),
    ("api/q path traversal", "GET", "/api/q/..%2F..%2Fetc%2Fpasswd", None, None, 400, "qrjson"),
    ("ogc item id traversal", "GET", ITEMS + "/..%2F..%2Fetc%2Fpasswd", None, None, 404, "json"),
    ("311 request id traversal", "GET", "/open311/v2/requests/..%2Fservices.json", None, None, 404, "json"),
    # --- overlong strings --------------------------------------------------------------------------------------
    ("api/q 5000 characters", "GET", "/api/q/" + "a" * 5000, None, None, 400, "qrjson"),
    ("311 jurisdiction 5000 characters", "GET", "/open311/v2/requests.json", {"jurisdiction_id": "x" * 5000},
     None, 404, "open311"),
    ("report establishment 5000 characters", "GET", "/report", {"establishment": "a" * 5000}, None, 200, "page"),
    ("ogc collection id 5000 characters", "GET", "/ogc/collections/" + "c" * 5000, None, None, 404, "ogc"),
    ("311 service code 5000 characters", "GET", "/open311/v2/services/" + "g" * 5000 + ".json", None, None, 404,
     "open311"),
    ("report POST description 100,000 characters", "POST", "/report", None, _report(description="x" * 100_000),
     422, "report-form"),
    ("report POST name 5000 characters", "POST", "/report", None, _report(reporter_name="x" * 5000), 422,
     "report-form"),
    ("311 POST description 100,000 characters", "POST", "/open311/v2/requests.json", None,
     _open311(description="x" * 100_000), 400, "open311"),
    # --- invalid UTF-8 and percent-encoding ---------------------------------------------------------------------
    ("q invalid UTF-8", "GET", "/q/%FF%FE%FD", None, None, 400, "qr"),
    ("api/q invalid UTF-8", "GET", "/api/q/%C3%28", None, None, 400, "qrjson"),
    ("ogc invalid UTF-8 filter", "GET", ITEMS + "?name=%FF", None, None, 200, "geojson"),
    ("ogc invalid percent escape", "GET", ITEMS + "?name=%ZZ", None, None, 200, "geojson"),
    ("311 overlong UTF-8 jurisdiction", "GET", "/open311/v2/requests.json?jurisdiction_id=%C0%AF", None, None,
     404, "open311"),
    ("track overlong UTF-8 id", "GET", "/report/track/%C0%AE%C0%AE", None, None, 404, "report-404"),
    ("ogc invalid UTF-8 collection id", "GET", "/ogc/collections/%FF", None, None, 404, "ogc"),
    # --- methods: HEAD wherever GET is, 405 + Allow elsewhere -------------------------------------------------
    ("HEAD ogc items", "HEAD", ITEMS, None, None, 200, "empty"),
    ("HEAD tracking page", "HEAD", f"/report/track/{REAL}", None, None, 200, "empty"),
    ("HEAD open311 services", "HEAD", "/open311/v2/services.json", None, None, 200, "empty"),
    ("OPTIONS report", "OPTIONS", "/report", None, None, 405, "report"),
    ("PUT open311 requests", "PUT", "/open311/v2/requests.json", None, None, 405, "open311"),
    ("DELETE api/q", "DELETE", "/api/q/" + "a" * 16, None, None, 405, "qrnotice"),
    ("PATCH health", "PATCH", "/health", None, None, 405, "json"),
    ("TRACE ogc collections", "TRACE", "/ogc/collections", None, None, 405, "ogc"),
    ("POST ogc items", "POST", ITEMS, None, None, 405, "ogc"),
    ("DELETE track photo", "DELETE", f"/report/track/{REAL}/photo/1", None, None, 405, "report"),
    ("PUT q page", "PUT", "/q/" + "a" * 16, None, None, 405, "qr"),
    # --- Accept and Accept-Language a client may send -------------------------------------------------------
    ("ogc Accept XML", "GET", ITEMS, {"_headers": {"Accept": "application/xml"}}, None, 200, "geojson"),
    ("ogc Accept garbage", "GET", ITEMS, {"_headers": {"Accept": "*/*;q=abc, ;;"}}, None, 200, "geojson"),
    ("ogc Accept HTML", "GET", ITEMS, {"_headers": {"Accept": "text/html"}}, None, 200, "page"),
    ("api/q Accept-Language garbage", "GET", "/api/q/" + "a" * 16,
     {"_headers": {"Accept-Language": "vi;q=nan, en;q=inf, *;q=-1"}}, None, 404, "qrlookup"),
    ("q Accept-Language 12,000 characters", "GET", "/q/" + "a" * 16, {"_headers": {"Accept-Language": "en," * 4000}},
     None, 404, "qr"),
    ("311 Accept XML on the JSON path", "GET", "/open311/v2/requests.json", {"_headers": {"Accept": "text/xml"}},
     None, 200, "list"),
    ("tracking page Accept image", "GET", f"/report/track/{REAL}", {"_headers": {"Accept": "image/png"}}, None,
     200, "page"),
]


@pytest.fixture(scope="module")
def export_ward(engine):
    yield from loaded_fixture(engine)


@pytest.fixture(scope="module")
def client(request, database_url, engine, export_ward):
    ensure_ward(request, engine)
    app = create_app(database_url)
    for limiter in (app.state.limits.report, app.state.limits.qr, app.state.limits.open311):
        limiter.configure(0, 1)
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def fill(client, engine) -> dict[str, str]:
    """Values for the placeholders: a real tracking id, an Open311 key, an internal OGC key."""
    made = client.post("/report", data=_report())
    assert made.status_code == 303
    real = re.search(r"/report/track/(PA-[A-Z0-9-]+)", made.headers["location"]).group(1)
    return {REAL: real, KEY: apikeys.create(engine, "Edges (test)", ["open311"]),
            INTERNAL: apikeys.create(engine, "Edges internal (test)", ["ogc:internal"])}


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return tuple(c.execute(sa.text(
            "SELECT (SELECT count(*) FROM field_report), (SELECT count(*) FROM establishment), "
            "(SELECT count(*) FROM qr_code)")).one())


def _sub(value, fill):
    if isinstance(value, str):
        for k, v in fill.items():
            value = value.replace(k, v)
    return value


def _check_shape(r, shape: str, method: str) -> None:
    ctype = r.headers.get("content-type", "")
    if shape == "ogc":
        body = r.json()
        assert set(body) == {"code", "description"} and body["description"], body
    elif shape == "open311":
        body = r.json()
        assert isinstance(body, list) and set(body[0]) == {"code", "description"} and body[0]["code"] == r.status_code
    elif shape == "open311xml":
        root = ET.fromstring(r.content)
        assert root.tag == "errors" and root.find("error/code").text == str(r.status_code)
    elif shape == "report":
        assert ctype.startswith("text/html") and "<html" in r.text and "Traceback" not in r.text
        assert "Chưa gửi được" in r.text or "Not sent" in r.text, r.text[:300]
    elif shape == "qr":
        assert ctype.startswith("text/html") and "<html" in r.text.lower()
    elif shape == "qrjson":
        assert r.json()["status"] == "malformed"
    elif shape == "geojson":
        assert r.json()["type"] == "FeatureCollection"
    elif shape == "report-404":
        assert ctype.startswith("text/html") and "Không tìm thấy" in r.text
    elif shape == "report-form":
        assert ctype.startswith("text/html") and 'name="lat"' in r.text and "Chưa gửi được" in r.text
    elif shape == "list":
        assert isinstance(r.json(), list)
    elif shape == "json":
        assert "detail" in r.json()
    elif shape == "page":
        assert ctype.startswith("text/html") and "<html" in r.text.lower()
    elif shape == "qrnotice":
        assert set(r.json()) == {"status", "message", "lang"}
    elif shape == "qrlookup":
        assert r.json()["status"] == "unknown"
    elif shape == "empty":
        assert r.content == b""
    if r.status_code == 405:
        assert r.headers["allow"] and method not in r.headers["allow"].split(", ")


@pytest.mark.parametrize(("method", "path", "params", "form", "status", "shape"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_request(client, engine, fill, method, path, params, form, status, shape):
    before = _counts(engine)
    path = _sub(path, fill)
    params = {k: _sub(v, fill) for k, v in (params or {}).items()}
    headers = dict(params.pop("_headers", {}))
    if "_key" in params:
        headers["X-API-Key"] = params.pop("_key")
    kwargs: dict = {"params": params or None, "headers": headers}
    if "_content" in params:
        content = params.pop("_content")
        kwargs["content"] = content.encode() if isinstance(content, str) else content
    if form is not None:
        form = {k: _sub(v, fill) for k, v in form.items()}
        if form.pop("_multipart", None):
            kwargs["files"] = {k: (None, v) for k, v in form.items()}
        else:
            kwargs["data"] = form
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, (r.status_code, r.text[:500])
    _check_shape(r, shape, method)
    assert _counts(engine) == before, "a refused request changed the database"


def test_at_least_160_hostile_cases():
    assert len(CASES) >= 160 and len({c[0] for c in CASES}) == len(CASES)


def test_guard_lets_ordinary_text_through(client, engine):
    """Vietnamese text, tabs and line breaks in a description are not control characters to refuse."""
    before = _counts(engine)
    r = client.post("/report", data=_report(description="Rác tồn đọng\r\nở hẻm 12\tđường Lê Thanh Nghị"))
    assert r.status_code == 303
    assert _counts(engine)[0] == before[0] + 1
    assert client.get(ITEMS, params={"name": "Phở Hòa Cường — Bà Tư"}).status_code == 200


def test_ogc_links_come_from_the_configured_base_url_not_the_host_header(client, monkeypatch):
    """``Host: evil.example`` must not reach any link (a shared cache would serve it to everyone)."""
    from geomap import config

    monkeypatch.setattr(config, "PUBLIC_BASE_URL", "https://geomap.danang.example")
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    pages = [("/ogc", {}), ("/ogc/collections", {}), ("/ogc/collections/establishments", {}),
             (ITEMS, {"limit": 2, "offset": 2}), (ITEMS + "/TX-0001", {}), (ITEMS, {"limit": 1, "f": "html"})]
    for path, params in pages:
        r = client.get(path, params=params, headers=evil)
        assert r.status_code == 200, (path, r.text[:300])
        assert "evil.example" not in r.text, path
        if path != ITEMS or params.get("f") != "html":
            hrefs = [lk["href"] for lk in r.json()["links"]]
            assert hrefs and all(h.startswith("https://geomap.danang.example/") for h in hrefs), hrefs
    body = client.get(ITEMS, params={"limit": 1}, headers=evil).json()
    nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
    assert nxt and nxt[0].startswith("https://geomap.danang.example/ogc/collections/establishments/items?")


def test_a_value_the_database_refuses_is_the_familys_400_not_a_traceback(database_url, engine, caplog):
    """The net under the checks: a DataError that gets past them is a 400 in the family's shape and one log line."""
    from geomap import db

    app = create_app(database_url)

    def boom():
        with db.read(engine) as c:
            c.execute(sa.text("SELECT CAST(:v AS integer)"), {"v": "99999999999999999999"})

    app.add_api_route("/ogc/boom", boom)
    app.add_api_route("/open311/v2/boom.xml", boom)
    with TestClient(app) as c, caplog.at_level("WARNING", logger="geomap.web.guard"):
        ogc = c.get("/ogc/boom")
        assert ogc.status_code == 400 and ogc.json()["code"] == "InvalidParameterValue"
        xml = c.get("/open311/v2/boom.xml")
        assert xml.status_code == 400 and ET.fromstring(xml.content).find("error/code").text == "400"
    assert sum("database refused a value" in r.message for r in caplog.records) == 2
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(("path", "shape"), [("/report", "report"), ("/open311/v2/requests.json", "open311")])
def test_a_body_beyond_the_limit_is_413_before_it_is_read(client, engine, monkeypatch, path, shape):
    from geomap.web import guard

    assert guard.MAX_BODY_BYTES > 3 * 10 * 1024 * 1024  # three photos of the largest size fit
    monkeypatch.setattr(guard, "MAX_BODY_BYTES", 50_000)
    before = _counts(engine)
    big = client.post(path, data=_report(description="x" * 60_000) if shape == "report" else
                      {**_open311(description="x" * 60_000)}, files={"photos": ("a.jpg", b"\xff" * 10)}
                      if shape == "report" else None)
    assert big.status_code == 413
    if shape == "report":
        assert "quá lớn" in big.text
    else:
        assert big.json()[0]["code"] == 413
    chunked = client.post(path, content=(b"x" * 10_000 for _ in range(6)),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 413
    assert _counts(engine) == before
