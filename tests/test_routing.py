"""The day planner: every kept stop once, hours / lunch / windows respected, drops explained.

Pure tests (no database). Property tests draw random wards of stops around Hòa Cường's
ward office; the exact-optimum comparison uses a Held-Karp helper.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geomap import routing
from geomap.routing import DaySettings, Inspector, Stop, check_plan, plan_day

OFFICE = (108.2230, 16.0450)
WARD = box(108.200, 16.025, 108.245, 16.065)  # a stand-in ward boundary around the office
FAST = DaySettings(time_limit_s=0.3)


def _stop(i: int, lon: float, lat: float, **kw) -> Stop:
    return Stop(i, f"Cơ sở {i}", lon, lat, **kw)


hours = st.sampled_from([None, None, "06:00-21:00", "07:00-11:00", "13:30-22:00", "08:00-10:00", "16:00-23:00",
                         "10:00-14:00"])
stop_lists = st.lists(
    st.tuples(st.floats(108.205, 108.240), st.floats(16.030, 16.060), hours,
              st.sampled_from(["food_service", "retail", "food_retail", None]), st.floats(0, 120), st.booleans()),
    min_size=0, max_size=22)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=stop_lists, n_inspectors=st.integers(1, 3), day_end=st.sampled_from(["11:00", "15:00", "17:00"]))
def test_every_kept_stop_once_within_hours_lunch_and_windows(raw, n_inspectors, day_end):
    stops = [_stop(i, lon, lat, opening_hours=h, sector=s, priority=p, must_visit=m and i % 4 == 0)
             for i, (lon, lat, h, s, p, m) in enumerate(raw)]
    s = DaySettings(day_end=day_end, time_limit_s=0.2)
    plan = plan_day(stops, [Inspector(f"CB{k}") for k in range(n_inspectors)], s, depot=OFFICE, boundary=WARD)
    assert check_plan(plan) == []
    kept = [v.stop.id for r in plan.routes for v in r.visits]
    dropped = [d.stop.id for d in plan.dropped]
    # nothing vanishes: each stop is either kept once or dropped with a reason
    assert sorted(kept + dropped) == sorted(st_.id for st_ in stops)
    assert all(d.reason.text("vi") and d.reason.text("en") for d in plan.dropped)
    for r in plan.routes:
        for v in r.visits:
            window = routing.parse_opening_hours(v.stop.opening_hours)
            if window:
                assert window[0] <= v.start_s and v.end_s <= window[1]
        if r.lunch:
            assert routing.parse_hhmm("11:30") <= r.lunch[0] <= routing.parse_hhmm("12:30")


def test_lunch_is_taken_between_stops_not_during_a_visit():
    stops = [_stop(i, OFFICE[0] + 0.002 * (i % 5), OFFICE[1] + 0.002 * (i // 5), sector="food_service")
             for i in range(14)]
    plan = plan_day(stops, [Inspector("A")], FAST, depot=OFFICE)
    route = plan.routes[0]
    assert route.lunch is not None and route.lunch[1] - route.lunch[0] == 3600
    assert check_plan(plan) == []
    assert any(v.lunch_before for v in route.visits) or route.lunch[0] >= route.visits[-1].end_s


def test_day_too_short_drops_lowest_priority_and_says_why():
    stops = [_stop(i, OFFICE[0] + 0.001 * i, OFFICE[1], sector="food_service", priority=float(i)) for i in range(20)]
    s = DaySettings(day_start="08:00", day_end="11:00", time_limit_s=0.5)
    plan = plan_day(stops, [Inspector("A")], s, depot=OFFICE)
    assert plan.dropped and check_plan(plan) == []
    kept_scores = [v.stop.priority for v in plan.routes[0].visits]
    dropped_scores = [d.stop.priority for d in plan.dropped]
    assert min(kept_scores) > np.median(dropped_scores)
    assert {d.reason.code for d in plan.dropped} == {"day_full"}
    assert any(n.code == "day_too_short" for n in plan.notices)
    assert "ưu tiên" in plan.dropped[0].reason.text("vi")


def test_must_visit_kept_over_higher_risk_optional_stops():
    stops = [_stop(i, OFFICE[0] + 0.002 * i, OFFICE[1], sector="food_service", priority=100.0) for i in range(12)]
    stops.append(_stop(99, OFFICE[0] + 0.03, OFFICE[1] + 0.01, sector="retail", priority=0.0, must_visit=True))
    plan = plan_day(stops, [Inspector("A")], DaySettings(day_start="08:00", day_end="11:00", time_limit_s=0.5),
                    depot=OFFICE)
    assert 99 in [v.stop.id for v in plan.routes[0].visits]


def test_bad_input_gives_reasons_and_a_partial_plan():
    stops = [
        _stop(1, None, None),  # missing coordinates
        _stop(2, OFFICE[0] + 0.001, OFFICE[1], opening_hours="18:00-23:00"),  # opens after the day
        _stop(3, OFFICE[0] + 0.002, OFFICE[1], opening_hours="09:00-09:10", sector="food_service"),  # too short
        _stop(4, OFFICE[0] + 0.003, OFFICE[1], opening_hours="bảy giờ sáng"),  # unreadable: open all day
        _stop(5, OFFICE[0] + 0.004, OFFICE[1]),
        _stop(5, OFFICE[0] + 0.004, OFFICE[1]),  # chosen twice
        _stop(6, 107.0, 15.0),  # far outside the ward: cannot go and return in a day
    ]
    far_start = Inspector("A", start=(108.30, 16.10))  # outside the ward
    plan = plan_day(stops, [far_start], FAST, depot=OFFICE, boundary=WARD)
    reasons = {d.stop.id: d.reason.code for d in plan.dropped}
    assert reasons[1] == "no_coordinates"
    assert reasons[2] == "window_outside_hours"
    assert reasons[3] == "window_too_short"
    assert reasons[6] == "unreachable_in_day"
    kept = [v.stop.id for v in plan.routes[0].visits]
    assert sorted(kept) == [4, 5]
    codes = {n.code for n in plan.notices}
    assert {"start_outside_replaced", "hours_unreadable", "duplicate_stop", "stop_outside"} <= codes
    assert plan.routes[0].start == OFFICE
    assert check_plan(plan) == []


def test_no_stops_is_explained_not_empty():
    plan = plan_day([], [Inspector("A"), Inspector("B")], FAST, depot=OFFICE)
    assert [n.code for n in plan.notices] == ["no_stops"]
    assert len(plan.routes) == 2 and all(not r.visits for r in plan.routes)
    assert "Chưa chọn" in plan.notices[0].text("vi")


def test_settings_that_cannot_plan_raise_clear_errors():
    with pytest.raises(routing.GeomapRoutingError, match="at most 5"):
        plan_day([], [Inspector(str(i)) for i in range(6)], FAST, depot=OFFICE)
    with pytest.raises(routing.GeomapRoutingError, match="no start point"):
        plan_day([_stop(1, *OFFICE)], [Inspector("A")], FAST)
    with pytest.raises(routing.GeomapRoutingError, match="end .* before"):
        plan_day([], [Inspector("A")], DaySettings(day_start="17:00", day_end="08:00"), depot=OFFICE)


def test_opening_hours_parsing():
    assert routing.parse_opening_hours("06:00-22:00") == (6 * 3600, 22 * 3600)
    assert routing.parse_opening_hours("18:00-02:00") == (18 * 3600, 26 * 3600)
    assert routing.parse_opening_hours("7h30 – 21h00") == (7 * 3600 + 1800, 21 * 3600)
    assert routing.parse_opening_hours("00:00-24:00") is None and routing.parse_opening_hours(None) is None
    with pytest.raises(ValueError):
        routing.parse_opening_hours("sáng")


def test_straight_line_uses_local_metres_detour_and_speed():
    # two points 1 km apart north-south (about 0.00904° of latitude at 16° N)
    model = routing.StraightLine(detour_factor=1.3, speed_kmh=15)
    seconds, metres = model.matrix(np.array([OFFICE, (OFFICE[0], OFFICE[1] + 0.009044)]))
    assert metres[0, 1] == pytest.approx(1300, rel=0.01)
    assert seconds[0, 1] == pytest.approx(1300 / (15 / 3.6), abs=2)


def test_solver_matches_the_exact_optimum_on_small_instances():
    rng = np.random.default_rng(7)
    for _ in range(5):
        pts = np.column_stack([rng.uniform(108.205, 108.240, 9), rng.uniform(16.030, 16.060, 9)])
        pts[0] = OFFICE
        seconds, _ = routing.StraightLine().matrix(pts)
        # node layout of routing.solve: 0 start, 1 end (both the office), then the stops
        full = np.zeros((10, 10), dtype=np.int64)
        idx = [0, 0] + list(range(1, 9))
        full[:, :] = seconds[np.ix_(idx, idx)]
        out = routing.solve(full, [0] * 10, [None] * 10, [routing.MUST_VISIT_PENALTY] * 10, n_vehicles=1,
                            day=(0, 86_000), time_limit_s=0.3)
        assert out["cost"] == routing.exact_tour_cost(seconds)


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
    graph = routing.StreetGraph.from_file(path, speed_kmh=18)
    seconds, metres = graph.matrix(np.array([nodes[1], nodes[3], nodes[2], nodes[4]]))
    diagonal = metres[0, 1]
    assert metres[1, 0] > diagonal * 1.3  # the one-way street cannot be ridden back
    assert metres[2, 3] > diagonal * 1.3  # the footway is not for motorbikes
    assert seconds[0, 1] == pytest.approx(diagonal / 5, abs=1)
    plan = plan_day([_stop(1, *nodes[3])], [Inspector("A")], FAST, depot=nodes[1], travel=graph)
    assert plan.travel_model.startswith("street_graph") and check_plan(plan) == []


def test_street_graph_rejects_unknown_formats(tmp_path):
    bad = tmp_path / "ward.pbf"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(routing.GeomapRoutingError, match="osmium"):
        routing.StreetGraph.from_file(bad)
