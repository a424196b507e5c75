"""Route exports: GPX 1.1 that standard parsers open, the Vietnamese PDF sheet, phone navigation links."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import shutil
import subprocess
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlparse

import folium
import gpxpy
import pytest
from language_check import PROPER_NAMES, DataValues, foreign_words

from geomap.inspections import route_files, routing
from geomap.inspections.routing import DaySettings, Inspector, Stop

OFFICE = (108.2230, 16.0450)
NS = "{http://www.topografix.com/GPX/1/1}"
# element order of wptType in the GPX 1.1 schema (rtept and wpt share it)
WPT_ORDER = ["ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym", "type", "fix",
             "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "extensions"]
RTE_ORDER = ["name", "cmt", "desc", "src", "link", "number", "type", "extensions", "rtept"]


@pytest.fixture(scope="module")
def plan() -> routing.Plan:
    stops = [Stop(i, f"Quán Phở Bà Tư {i} <&>", OFFICE[0] + 0.002 * (i % 4), OFFICE[1] + 0.002 * (i // 4),
                  sector="food_service", address=f"{i} Đường Núi Thành", must_visit=i == 0) for i in range(9)]
    stops.append(Stop(99, "Không tọa độ", None, None))
    result = routing.plan_day(stops, [Inspector("Nguyễn Văn Á"), Inspector("Trần Thị Bích")],
                              DaySettings(time_limit_s=0.3), depot=OFFICE)
    return dataclasses.replace(result, date=dt.date(2026, 11, 23))


def _order_ok(children: list[str], order: list[str]) -> bool:
    positions = [order.index(c) for c in children]
    return positions == sorted(positions)


def test_gpx_validates_and_opens_in_a_standard_parser(plan):
    xml = route_files.to_gpx(plan)
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{NS}gpx" and root.get("version") == "1.1" and root.get("creator")
    routes = root.findall(f"{NS}rte")
    assert len(routes) == 2
    for rte, route in zip(routes, plan.routes, strict=True):
        assert _order_ok([c.tag.removeprefix(NS) for c in rte], RTE_ORDER)
        points = rte.findall(f"{NS}rtept")
        assert len(points) == len(route.visits) + 2  # start, stops, end
        for pt in points:
            assert -90 <= float(pt.get("lat")) <= 90 and -180 <= float(pt.get("lon")) <= 180
            assert _order_ok([c.tag.removeprefix(NS) for c in pt], WPT_ORDER)
    for wpt in root.findall(f"{NS}wpt"):
        assert _order_ok([c.tag.removeprefix(NS) for c in wpt], WPT_ORDER)

    parsed = gpxpy.parse(xml)
    assert [r.name for r in parsed.routes] == ["Nguyễn Văn Á", "Trần Thị Bích"]
    first = plan.routes[0].visits[0]
    point = parsed.routes[0].points[1]
    assert point.name == f"1. {first.stop.name}"  # Vietnamese and markup characters survive
    assert (point.latitude, point.longitude) == pytest.approx((first.stop.lat, first.stop.lon))
    assert len(parsed.waypoints) == plan.kept


def test_gpx_opens_in_gdal_when_available(plan, tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    path = tmp_path / "route.gpx"
    path.write_text(route_files.to_gpx(plan), encoding="utf-8")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"routes", "route_points", "waypoints"} <= layers
    frame = pyogrio.read_dataframe(path, layer="route_points")
    assert len(frame) == plan.kept + 2 * len(plan.routes)


def test_pdf_route_sheet_in_vietnamese(plan):
    pdf = route_files.to_pdf(plan, ward_name="Phường Hòa Cường")
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert "PHIẾU LỘ TRÌNH KIỂM TRA" in text
        assert "Nguyễn Văn Á" in text and "Phường Hòa Cường" in text and "23/11/2026" in text
        assert "Không tọa độ" in text  # the dropped stop is listed with its reason
        assert "Quán Phở Bà Tư 0 <&>" in text  # markup shown as text


def test_pdf_route_sheet_of_a_synthetic_ward_carries_the_label(plan):
    if not shutil.which("pdftotext"):
        pytest.fail("poppler-utils is missing: run 'make test'")
    read = lambda pdf: subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,  # noqa: E731
                                      check=True).stdout.decode()
    demo = read(route_files.to_pdf(plan, ward_name="Phường Hòa Cường", synthetic=True))
    assert "Dữ liệu mô phỏng" in demo
    assert "Synthetic demonstration data" in read(route_files.to_pdf(plan, synthetic=True, lang="en"))
    assert "Dữ liệu mô phỏng" not in read(route_files.to_pdf(plan, ward_name="Phường Hòa Cường"))


def test_pdf_of_an_empty_plan_is_still_a_document():
    empty = routing.plan_day([], [Inspector("A")], DaySettings(time_limit_s=0.1), depot=OFFICE)
    assert route_files.to_pdf(empty).startswith(b"%PDF")


def test_navigation_links_for_every_leg(plan):
    route = plan.routes[0]
    links = route_files.leg_links(route)
    assert len(links) == len(route.visits) + 1
    url = urlparse(links[0]["google_maps"])
    query = parse_qs(url.query)
    assert url.netloc == "www.google.com" and url.path == "/maps/dir/"
    assert query["api"] == ["1"] and query["travelmode"] == ["two-wheeler"]
    assert query["origin"] == [f"{OFFICE[1]:.6f},{OFFICE[0]:.6f}"]  # lat,lon order
    stop = route.visits[0].stop
    assert query["destination"] == [f"{stop.lat:.6f},{stop.lon:.6f}"]
    assert links[0]["geo"].startswith(f"geo:{stop.lat:.6f},{stop.lon:.6f}?q=")
    assert parse_qs(urlparse(links[-1]["google_maps"]).query)["destination"] == [f"{OFFICE[1]:.6f},{OFFICE[0]:.6f}"]


def test_distinct_end_point_gets_the_return_leg_links():
    home = (OFFICE[0] + 0.01, OFFICE[1] + 0.005)
    stops = [Stop(i, f"Cơ sở {i}", OFFICE[0] + 0.002 * i, OFFICE[1], sector="retail") for i in range(1, 4)]
    plan = routing.plan_day(stops, [Inspector("A", end=home)], DaySettings(time_limit_s=0.2), depot=OFFICE)
    route = plan.routes[0]
    assert route.start == OFFICE and route.end == home and routing.check_plan(plan) == []
    links = route_files.leg_links(route, lang="en")
    back = links[-1]
    assert back["to"] == "Back to the end point"
    assert route_files.leg_links(route, lang="vi")[-1]["to"] == "Về điểm kết thúc"
    assert parse_qs(urlparse(back["google_maps"]).query)["origin"] == [
        f"{route.visits[-1].stop.lat:.6f},{route.visits[-1].stop.lon:.6f}"]
    assert parse_qs(urlparse(back["google_maps"]).query)["destination"] == [f"{home[1]:.6f},{home[0]:.6f}"]
    assert back["geo"].startswith(f"geo:{home[1]:.6f},{home[0]:.6f}?q=")
    parsed = gpxpy.parse(route_files.to_gpx(plan))
    last = parsed.routes[0].points[-1]
    assert (last.latitude, last.longitude) == pytest.approx((home[1], home[0]))


def _pdf_text(pdf: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.fail("poppler-utils is missing: run 'make test'")
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _route_data(plan) -> DataValues:
    """The plan's data (stop names and addresses, inspectors, the ward): shown as they are in either language."""
    return DataValues([*(v.stop.name for r in plan.routes for v in r.visits),
                       *(v.stop.address for r in plan.routes for v in r.visits if v.stop.address),
                       *(d.stop.name for d in plan.dropped), *(r.inspector.name for r in plan.routes),
                       "Phường Hòa Cường", *PROPER_NAMES])


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_route_sheet_and_route_map_speak_one_language(plan, lang):
    """The printed sheet (text read back with pdftotext) and the planning map's tooltips carry no word of the
    other language ("xuất phát / start"), and the sheet of a synthetic ward carries the label in its language."""
    from geomap import i18n
    from geomap.ui.pages.inspections import route_map

    text = _pdf_text(route_files.to_pdf(plan, ward_name="Phường Hòa Cường", lang=lang, synthetic=True))
    assert foreign_words(text, lang, _route_data(plan)) == []
    label = i18n.t("app.synthetic_notice", lang)
    assert " ".join(label.split()[:4]) in " ".join(text.split())
    tooltips = []
    pending = [route_map(plan.routes, lang)]
    while pending:
        element = pending.pop()
        pending.extend(element._children.values())
        if isinstance(element, folium.Tooltip):
            tooltips.append(html.unescape(element.text))
    assert len(tooltips) >= len(plan.routes) * 2
    assert foreign_words("\n".join(tooltips), lang, _route_data(plan)) == []
    assert any(i18n.t("route.start", lang) in t for t in tooltips)
