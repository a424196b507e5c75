"""Travel models: straight line in the ward's local metres, street graphs from OSM XML (pure, no database)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from geomap.inspections import travel
from geomap.inspections.routing import DaySettings, Inspector, Stop, check_plan, plan_day

OFFICE = (108.2230, 16.0450)
FAST = DaySettings(time_limit_s=0.3)


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
