"""Route quality and speed of the inspection day planner (``python -m bench routing``).

Quality
    * 100 random instances of 8–10 stops (one inspector, a long day, no lunch: the pure
      shortest tour) solved through :func:`geomap.inspections.routing.plan_day` with its default time
      limit, against the exact optimum by Held–Karp dynamic programming on the same
      integer travel-time matrix. Target: equal in ≥95 %, never worse than 2 %.
    * 50, 75 and 100 stops: the default run against the best of two long runs (guided
      local search and simulated annealing, 10 s each). Target: within 3 %.
    * Every instance also reports nearest-neighbour / planner (how much the search buys).
Speed (wall time of ``plan_day``, matrix and model building included)
    * 60 stops, one inspector, working hours, lunch and opening-hour windows: ≤ 2 s.
    * 200 stops, three inspectors with time windows: ≤ 10 s.
"""

from __future__ import annotations

import time

import numpy as np

from geomap.inspections import routing, travel
from geomap.inspections.routing import DaySettings, Inspector, Stop

OFFICE = (108.2230, 16.0450)
LONG_DAY = DaySettings(day_start="00:00", day_end="23:59", lunch_min=0, default_service_min=0,
                       service_min_by_sector={})
HOURS = [None, None, None, "06:00-21:00", "07:00-22:00", "08:00-11:30", "13:30-21:00", "06:30-14:00",
         "10:00-22:00", "16:00-23:00"]


def _stops(rng: np.random.Generator, n: int, windows: bool = False) -> list[Stop]:
    # a ward about 4 km across around the ward office
    lon = rng.uniform(OFFICE[0] - 0.02, OFFICE[0] + 0.02, n)
    lat = rng.uniform(OFFICE[1] - 0.018, OFFICE[1] + 0.018, n)
    sectors = rng.choice(["food_service", "retail", "food_retail", "personal_services"], n)
    return [Stop(i, f"S{i}", float(lon[i]), float(lat[i]), sector=str(sectors[i]),
                 opening_hours=HOURS[int(rng.integers(len(HOURS)))] if windows else None,
                 priority=float(rng.uniform(0, 100))) for i in range(n)]


def _matrix(stops: list[Stop]) -> np.ndarray:
    pts = np.array([OFFICE] + [(s.lon, s.lat) for s in stops])
    seconds, _ = travel.StraightLine().matrix(pts)
    return seconds


def nearest_neighbour(cost: np.ndarray) -> int:
    """The naive tour: always ride to the closest unvisited stop."""
    left, here, total = set(range(1, len(cost))), 0, 0
    while left:
        nxt = min(left, key=lambda j: cost[here, j])
        total += int(cost[here, nxt])
        left.remove(nxt)
        here = nxt
    return total + int(cost[here, 0])


def _tour_cost(stops: list[Stop], settings: DaySettings = LONG_DAY) -> tuple[int, float]:
    start = time.perf_counter()
    plan = routing.plan_day(stops, [Inspector("A")], settings, depot=OFFICE)
    elapsed = time.perf_counter() - start
    assert not plan.dropped, [d.reason.text("en") for d in plan.dropped]
    return plan.routes[0].travel_s, elapsed


def _long_run(cost: np.ndarray, metaheuristic: str, seconds: float) -> int:
    n = len(cost)
    full = cost[np.ix_([0] + list(range(n)), [0] + list(range(n)))]  # start and end both the office
    out = routing.solve(full, [0] * (n + 1), [None] * (n + 1), [routing.MUST_VISIT_PENALTY] * (n + 1), n_vehicles=1,
                        day=(0, 86_340), time_limit_s=seconds, metaheuristic=metaheuristic)
    return int(out["cost"])


def run() -> dict:
    rng = np.random.default_rng(2026)
    # --- small: exact optimum -------------------------------------------------------------
    equal, worst, nn_ratio, small_time = 0, 0.0, [], []
    for _ in range(100):
        stops = _stops(rng, int(rng.integers(8, 11)))
        cost = _matrix(stops)
        optimum = routing.exact_tour_cost(cost)
        got, elapsed = _tour_cost(stops)
        small_time.append(elapsed)
        equal += got == optimum
        worst = max(worst, got / optimum - 1)
        nn_ratio.append(nearest_neighbour(cost) / got)
    print(f"8-10 stops, 100 instances: equal to the Held-Karp optimum in {equal}% (target ≥ 95%), worst gap "
          f"{worst:.2%} (target ≤ 2%), "
          f"nearest-neighbour/planner {np.mean(nn_ratio):.3f} (mean), planner {np.mean(small_time):.2f} s each")

    # --- medium: against long runs -----------------------------------------------------------
    medium = []
    for n in (50, 50, 75, 75, 100, 100):  # two instances of each size, each against two long runs
        stops = _stops(rng, n)
        cost = _matrix(stops)
        got, elapsed = _tour_cost(stops)
        best = min(_long_run(cost, "GUIDED_LOCAL_SEARCH", 8.0), _long_run(cost, "SIMULATED_ANNEALING", 8.0), got)
        nn = nearest_neighbour(cost)
        medium.append({"stops": n, "gap": got / best - 1, "nn_ratio": nn / got, "seconds": elapsed})
        print(f"{n} stops: planner {got} s of riding in {elapsed:.2f} s; best of long runs {best}; gap "
              f"{got / best - 1:.2%} (target ≤ 3%); nearest-neighbour/planner {nn / got:.3f}")

    # --- speed --------------------------------------------------------------------------------
    day = DaySettings()
    stops = _stops(rng, 60, windows=True)
    t0 = time.perf_counter()
    plan60 = routing.plan_day(stops, [Inspector("A")], day, depot=OFFICE)
    t60 = time.perf_counter() - t0
    assert routing.check_plan(plan60) == []
    print(f"60 stops, 1 inspector, hours+lunch+windows: {t60:.2f} s (target ≤ 2 s); kept {plan60.kept}, "
          f"dropped {len(plan60.dropped)} with reasons")
    stops = _stops(rng, 200, windows=True)
    t0 = time.perf_counter()
    plan200 = routing.plan_day(stops, [Inspector(c) for c in "ABC"], day, depot=OFFICE)
    t200 = time.perf_counter() - t0
    assert routing.check_plan(plan200) == []
    print(f"200 stops, 3 inspectors, hours+lunch+windows: {t200:.2f} s (target ≤ 10 s); kept {plan200.kept}, "
          f"dropped {len(plan200.dropped)} with reasons")
    return {
        "small_equal_optimum_pct": equal, "small_worst_gap_pct": round(worst * 100, 3),
        "small_nn_over_planner_mean": round(float(np.mean(nn_ratio)), 4),
        "small_planner_s_mean": round(float(np.mean(small_time)), 3),
        "medium": [{k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()} for m in medium],
        "medium_worst_gap_pct": round(max(m["gap"] for m in medium) * 100, 3),
        "speed_60_stops_1_inspector_s": round(t60, 3), "speed_200_stops_3_inspectors_s": round(t200, 3),
        "kept_60": plan60.kept, "kept_200": plan200.kept,
    }


if __name__ == "__main__":
    run()
