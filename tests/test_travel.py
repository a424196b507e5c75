"""Travel models: straight line in the ward's local metres, street graphs from OSM XML (pure, no database)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from geomap.inspections import travel
from geomap.inspections.routing import DaySettings, Inspector, Stop, check_plan, plan_day

OFFICE = (108.2230, 16.0450)
FAST = DaySettings(time_limit_s=0.3)
#: the real OSM extract of central Đà Nẵng: ``../shared/data/`` beside the project (CI keeps a read-only copy of
#: shared/ beside the clone); GEOMAP_SHARED_DIR points elsewhere (a git worktree has no shared/ beside it)
SHARED = Path(os.environ.get("GEOMAP_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")
STREETS = SHARED / "data" / "danang-central-streets-osm.geojson"
needs_streets = pytest.mark.skipif(not STREETS.exists(), reason=f"the real OSM street extract is not at {STREETS} "
                                   "(copy shared/ beside the project, or set GEOMAP_SHARED_DIR)")


def test_straight_line_uses_local_metres_detour_and_speed():
    # two points 1 km apart north-south (about 0.00904° of latitude at 16° N)
    model = travel.StraightLine(detour_factor=1.3, speed_kmh=15)
    seconds, metres = model.matrix(np.array([OFFICE, (OFFICE[0], OFFICE[1] + 0.009044)]))
    assert metres[0, 1] == pytest.approx(1300, rel=0.01)
    assert seconds[0, 1] == pytest.approx(1300 / (15 / 3.6), abs=2)


def test_street_graph_from_osm_xml(tmp_path):
    # a ring of four streets with a one-way street through the middle
    nodes = {1: (108.220, 16.040), 2: (108.230, 16.040), 3: (108.230, 16.050), 4: (108.220, 16.050)}
    xml = ['<osm version="0.6">'] + [f'<node id="{k}" lon="{lon}" lat="{lat}"/>' for k, (lon, lat) in nodes.items()]
    xml += ['<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
            '<tag k="highway" v="residential"/></way>',
            '<way id="11"><nd ref="1"/><nd ref="3"/><tag k="highway" v="tertiary"/><tag k="oneway" v="yes"/></way>',
            '<way id="12"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/></way>', "</osm>"]
    path = tmp_path / "ward.osm"
    path.write_text(textwrap.dedent("\n".join(xml)), encoding="utf-8")
    graph = travel.StreetGraph.from_file(path, speed_kmh=18)
    seconds, metres = graph.matrix(np.array([nodes[1], nodes[3], nodes[2], nodes[4]]))
    diagonal = metres[0, 1]
    assert metres[1, 0] > diagonal * 1.3  # the one-way street cannot be ridden back
    assert metres[2, 3] > diagonal * 1.3  # the footway is not for motorbikes
    assert seconds[0, 1] == pytest.approx(diagonal / 5, abs=1)
    plan = plan_day([Stop(1, "Cơ sở 1", *nodes[3])], [Inspector("A")], FAST, depot=nodes[1], travel=graph)
    assert plan.travel_model.startswith("street_graph") and check_plan(plan) == []


def test_street_graph_rejects_unknown_formats(tmp_path):
    bad = tmp_path / "ward.pbf"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(travel.GeomapRoutingError, match="osmium"):
        travel.StreetGraph.from_file(bad)


def test_street_graph_from_geojson(tmp_path):
    """GeoJSON LineStrings of OSM ways: ways meet at shared vertices; oneway=yes / -1 ridden one way only."""
    a, b, c, d = (108.220, 16.040), (108.230, 16.040), (108.230, 16.050), (108.220, 16.050)
    features = [
        {"type": "Feature", "properties": {"name": "Vòng", "highway": "residential"},
         "geometry": {"type": "LineString", "coordinates": [a, b, c, d, a]}},
        {"type": "Feature", "properties": {"name": "Chéo", "highway": "tertiary", "oneway": "yes"},
         "geometry": {"type": "LineString", "coordinates": [a, c]}},
        {"type": "Feature", "properties": {"name": "Ngược", "highway": "tertiary", "oneway": "-1"},
         "geometry": {"type": "LineString", "coordinates": [b, d]}},
        {"type": "Feature", "properties": {"highway": "footway"},
         "geometry": {"type": "LineString", "coordinates": [a, (108.225, 16.045)]}},
    ]
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    graph = travel.StreetGraph.from_file(path)
    _, metres = graph.matrix(np.array([a, c, b, d]))
    assert metres[1, 0] > metres[0, 1] * 1.3  # a → c only
    assert metres[2, 3] > metres[3, 2] * 1.3  # drawn b → d, tagged -1: d → b only
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(travel.GeomapRoutingError, match="GeoJSON"):
        travel.StreetGraph.from_file(bad)


def _one_way_streets(graph: travel.StreetGraph) -> list[tuple[str, tuple, tuple, float]]:
    """(name, first vertex, last vertex, length) of the extract's one-way ways the graph rides along but not back."""
    out = []
    for f in json.loads(STREETS.read_text(encoding="utf-8"))["features"]:
        if f["properties"].get("oneway") != "yes":
            continue
        line = f["geometry"]["coordinates"]
        x, y = travel._projector(travel.DEFAULT_LOCAL_SRID).transform([p[0] for p in line], [p[1] for p in line])
        along = float(np.hypot(np.diff(x), np.diff(y)).sum())
        _, metres = graph.matrix(np.array([line[0], line[-1]], dtype=float))
        if abs(metres[0, 1] - along) < 1 and metres[1, 0] > 1.5 * along and graph.unreachable_pairs == 0:
            out.append((f["properties"].get("name"), tuple(line[0]), tuple(line[-1]), along))
    return out


@pytest.fixture(scope="module")
def real_streets() -> tuple[travel.StreetGraph, list]:
    graph = travel.StreetGraph.from_file(STREETS)
    return graph, _one_way_streets(graph)


@needs_streets
def test_real_osm_extract_one_way_streets_are_ridden_one_way(real_streets):
    graph, one_way = real_streets
    # dozens of tagged one-way ways, each ridden along its length and only the long way round back
    assert len(one_way) >= 20
    name, first, last, along = next(w for w in one_way if w[0] == "Đường 2 Tháng 9")
    seconds, metres = graph.matrix(np.array([first, last]))
    assert metres[0, 1] == pytest.approx(along, abs=1) and metres[1, 0] > 2 * along
    assert seconds[1, 0] > seconds[0, 1]


@needs_streets
def test_plans_on_real_streets_respect_one_way_streets(real_streets):
    """A day on the real extract: every ride is the directed shortest path (check_plan recomputes each from the
    graph), so no ride goes the wrong way up a one-way street."""
    graph, one_way = real_streets
    ends = one_way[:4]
    stops = []
    for k, (_, first, last, _) in enumerate(ends):
        stops += [Stop(2 * k, f"Đầu {k}", *first, sector="retail"),
                  Stop(2 * k + 1, f"Cuối {k}", *last, sector="retail")]
    office = (108.2206, 16.0600)  # Hải Châu, inside the extract
    plan = plan_day(stops, [Inspector("A"), Inspector("B")], FAST, depot=office, travel=graph)
    assert plan.kept == len(stops)
    assert check_plan(plan, graph) == []
    assert plan.travel_model.startswith("street_graph(danang-central-streets-osm.geojson)")
    seconds, _ = graph.matrix(np.array([office] + [(s.lon, s.lat) for s in stops]))
    assert (seconds != seconds.T).any()  # the matrix the plan rides by is not symmetric: one-way streets count


@needs_streets
def test_stops_outside_the_street_graph_are_said(real_streets):
    graph, _ = real_streets
    south = [Stop(i, f"Cơ sở {i}", 108.220 + 0.002 * i, 16.020) for i in range(3)]  # Hòa Cường south: not covered
    plan = plan_day(south, [Inspector("A")], FAST, depot=(108.2206, 16.0600), travel=graph)
    codes = [n.code for n in plan.notices]
    assert "graph_outside_area" in codes and check_plan(plan, graph) == []
    note = next(n for n in plan.notices if n.code == "graph_outside_area")
    assert "không phủ" in note.text("vi") and "does not cover" in note.text("en")


def test_a_street_graph_error_speaks_vietnamese_first(tmp_path):
    """The planning page shows the error as it is: Vietnamese first, English after."""
    bad = tmp_path / "duong.geojson"
    bad.write_text("không phải json", encoding="utf-8")
    with pytest.raises(travel.GeomapRoutingError) as err:
        travel.StreetGraph.from_file(bad)
    assert err.value.message("vi").startswith("Tệp mạng đường duong.geojson không phải GeoJSON")
    assert err.value.message("en").startswith("The street graph duong.geojson is not a GeoJSON")
    assert str(err.value).startswith("Tệp mạng đường") and " / The street graph" in str(err.value)


def test_travel_models_are_said_in_words():
    assert travel.describe("straight_line×1.3@15km/h", "vi") == \
        "đường chim bay nhân 1,3 để tính đường vòng, đi với tốc độ 15 km/h"
    assert travel.describe("straight_line×1.3@15km/h", "en") == \
        "straight-line distance times 1.3 for detours, at 15 km/h"
    assert "hai-chau.geojson" in travel.describe("street_graph(hai-chau.geojson)@12.5km/h", "vi")
    assert "12,5 km/h" in travel.describe("street_graph(hai-chau.geojson)@12.5km/h", "vi")
    model = travel.StraightLine(detour_factor=1.25, speed_kmh=18)
    assert "×" not in travel.describe(model.name, "vi") and "1,25" in travel.describe(model.name, "vi")
