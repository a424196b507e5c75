"""An inspector's day as a vehicle-routing problem with time windows (OR-Tools).

Pure: stops, inspectors and settings in, a :class:`Plan` out; no database, no Streamlit.

Model
    One vehicle per inspector (1..5), each starting and ending at its own point (the ward
    office by default), within working hours, with a lunch break that may fall anywhere in
    its window but never during a visit or a ride. A visit lasts the minutes set for the
    establishment's sector and must end before the establishment closes (its
    ``opening_hours`` "HH:MM-HH:MM"). Every stop is optional to the solver: must-visit
    stops carry a prohibitive drop penalty (dropped only when no plan can hold them), other
    stops a penalty that grows with their risk score, so a day too short loses the
    lowest-priority stops first. Nothing is dropped silently: :attr:`Plan.dropped` says
    which and why, and :attr:`Plan.notices` explains anything else that was adjusted.

Travel times
    From a travel model (:mod:`geomap.inspections.travel`): the ward's street graph when it
    supplies one, otherwise straight-line distance in the ward's local metric CRS times a
    detour factor, at a constant speed.

Search (chosen by measurement, ``bench/bench_routing.py``; see :func:`solve`)
    One inspector who can take every stop: the shortest tour by LKH-3 (``elkai``), timed by
    :func:`geomap.inspections.tours.schedule` (the exact earliest schedule with lunch and windows);
    LKH finds the optimum of these days in milliseconds where OR-Tools' guided local search stays
    0.5–5 % above it. Otherwise (several inspectors, windows that bind, stops to drop): OR-Tools
    (first solution by PATH_CHEAPEST_ARC, guided local search until a time limit that grows with
    the number of stops, :func:`default_time_limit_s`) holds every rule of the day, lunch breaks
    included, which PyVRP cannot express; its plan is then improved by
    :func:`geomap.inspections.tours.improve` (LKH or or-opt within each route, reinsertion of
    dropped stops, moves between routes, a large neighbourhood search — three shorter runs with
    several inspectors —, filling long waits, evening out the stops between inspectors), for half
    the OR-Tools limit with one inspector and up to five times it with several (4.4 s in all). The
    plan returned always passes :func:`check_plan` (else OR-Tools' own plan, else nothing planned).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geomap import i18n
from geomap.inspections import tours
from geomap.inspections.travel import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_LOCAL_SRID,
    DEFAULT_SPEED_KMH,
    GeomapRoutingError,
    StraightLine,
    TravelModel,
)

MAX_INSPECTORS = 5
#: minutes per visit by sector (``industry.sector``); others use ``default_service_min``
DEFAULT_SERVICE_MIN: dict[str, int] = {
    "food_service": 30, "food_production": 40, "food_retail": 25, "accommodation": 30, "health": 25,
    "retail": 15, "repair": 15, "personal_services": 20, "education": 20, "office_services": 15,
}
#: reasons of stops dropped because the day could not hold them with the others (see :func:`_why_dropped`)
DAY_SHORT_CODES = ("day_full", "day_full_must_visit", "day_full_clash", "window_clash", "must_visit_day_full")
#: drop penalty of a must-visit stop (seconds-equivalent): dwarfs any number of optional stops
MUST_VISIT_PENALTY = 1_000_000_000
#: drop penalty of an optional stop = BASE × (1 + risk score / 25) seconds-equivalent. BASE exceeds
#: what one stop can add to riding plus the longest day (about 2 × 10 h), so stops are dropped only when
#: the day cannot hold them, never to save riding or to even out the inspectors' days.
OPTIONAL_PENALTY_BASE = 100_000


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """An establishment to visit. ``priority`` is its risk score (higher: dropped later)."""

    id: Any
    name: str
    lon: float | None
    lat: float | None
    sector: str | None = None
    service_min: float | None = None
    opening_hours: str | None = None
    must_visit: bool = False
    priority: float = 0.0
    address: str | None = None


@dataclass(frozen=True)
class Inspector:
    """One inspector's vehicle. ``start``/``end`` as (lon, lat); None: the ward office."""

    name: str
    start: tuple[float, float] | None = None
    end: tuple[float, float] | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class DaySettings:
    """The day: hours, lunch, visit lengths, travel model and search time."""

    day_start: str = "07:30"
    day_end: str = "17:00"
    lunch_from: str = "11:30"
    lunch_to: str = "13:30"
    lunch_min: int = 60
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH
    local_srid: int = DEFAULT_LOCAL_SRID
    service_min_by_sector: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_MIN))
    default_service_min: int = 20
    #: None: :func:`default_time_limit_s`
    time_limit_s: float | None = None
    #: cost per second of the longest working day among inspectors: shares the work out
    #: (0: minimise riding only, which may leave an inspector at the office)
    balance_weight: int = 1

    def service_s(self, stop: Stop) -> int:
        minutes = stop.service_min if stop.service_min is not None else \
            self.service_min_by_sector.get(stop.sector or "", self.default_service_min)
        return int(round(float(minutes) * 60))


def default_time_limit_s(n_stops: int) -> float:
    """Search time that grows with the problem: 0.6 s up to 25 stops, 1.16 s for 60, 3.4 s for 200.

    The floor matters on a loaded machine: guided local search needs a few hundred
    milliseconds of CPU to close the last percent even on ten stops.
    """
    return min(6.0, max(0.6, 0.2 + 0.016 * n_stops))


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """Something the user must know: a dropped stop's reason or an adjustment that was made."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "vi") -> str:
        template = i18n.t(f"routing.{self.code}", lang)
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template


@dataclass(frozen=True)
class Dropped:
    stop: Stop
    reason: Notice


@dataclass(frozen=True)
class Visit:
    """A stop on a route: order (1-based), arrival, start and end of the visit (seconds after midnight)."""

    order: int
    stop: Stop
    arrival_s: int
    start_s: int
    end_s: int
    travel_s: int
    distance_m: float
    window: tuple[int, int] | None
    #: the lunch break falls between the previous stop and this one
    lunch_before: bool = False

    @property
    def wait_s(self) -> int:
        return self.start_s - self.arrival_s


@dataclass(frozen=True)
class Route:
    inspector: Inspector
    start: tuple[float, float]
    end: tuple[float, float]
    start_s: int
    end_s: int
    visits: tuple[Visit, ...]
    #: (start, end) seconds after midnight when lunch falls inside the route
    lunch: tuple[int, int] | None
    #: the last leg back to ``end``
    return_travel_s: int
    return_distance_m: float

    @property
    def travel_s(self) -> int:
        return sum(v.travel_s for v in self.visits) + self.return_travel_s

    @property
    def distance_m(self) -> float:
        return sum(v.distance_m for v in self.visits) + self.return_distance_m

    @property
    def service_s(self) -> int:
        return sum(v.end_s - v.start_s for v in self.visits)

    def legs(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """(origin, destination) as (lon, lat) for every leg, the return included."""
        points = [self.start, *((v.stop.lon, v.stop.lat) for v in self.visits), self.end]
        return list(zip(points[:-1], points[1:], strict=True))


@dataclass(frozen=True)
class Plan:
    date: dt.date | None
    settings: DaySettings
    routes: tuple[Route, ...]
    dropped: tuple[Dropped, ...]
    notices: tuple[Notice, ...]
    travel_model: str

    @property
    def kept(self) -> int:
        return sum(len(r.visits) for r in self.routes)


# --- time ------------------------------------------------------------------------------------

_HHMM = re.compile(r"^\s*(\d{1,2})[:hH.](\d{2})\s*$")


def parse_hhmm(text: str) -> int:
    """Seconds after midnight of "HH:MM" (also "7h30", "07.30"); "24:00" is the end of the day."""
    m = _HHMM.match(text or "")
    if not m:
        raise ValueError(f"not a time of day: {text!r}")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 3600 + minutes * 60


def parse_opening_hours(text: str | None) -> tuple[int, int] | None:
    """(open, close) seconds after midnight of "HH:MM-HH:MM"; None when always open or not given.

    A closing time at or before the opening time runs past midnight ("18:00-02:00").
    Raises ValueError for text that is not of this form.
    """
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip().replace("–", "-").replace("—", "-")
    if raw.lower() in ("24/7", "24h", "00:00-24:00", "0:00-24:00"):
        return None
    parts = raw.split("-")
    if len(parts) != 2:
        raise ValueError(f"opening hours must look like 07:00-21:00, not {text!r}")
    opens, closes = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if closes <= opens:
        closes += 24 * 3600
    return opens, closes


def hhmm(seconds: int | float) -> str:
    """"HH:MM" of seconds after midnight (rounded to the minute)."""
    minutes = int(round(seconds / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- planning --------------------------------------------------------------------------------


def _inside(boundary: BaseGeometry | None, lonlat: tuple[float, float]) -> bool:
    return boundary is None or boundary.buffer(1e-4).contains(Point(lonlat))


def _valid_lonlat(lon: Any, lat: Any) -> bool:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def plan_day(
    stops: Sequence[Stop],
    inspectors: Sequence[Inspector],
    settings: DaySettings | None = None,
    *,
    depot: tuple[float, float] | None = None,
    boundary: BaseGeometry | None = None,
    travel: TravelModel | None = None,
    date: dt.date | None = None,
) -> Plan:
    """Plan the day: each inspector's ordered visits with times; dropped stops with reasons.

    ``depot`` (lon, lat) is the default start and end (the ward office). ``boundary`` (WGS84)
    lets the plan warn about starts and stops outside the ward: a start outside is replaced
    by the depot when there is one. Always returns a plan, partial if need be; raises
    :class:`GeomapRoutingError` only for settings no plan can come from.
    """
    settings = settings or DaySettings()
    notices: list[Notice] = []
    dropped: list[Dropped] = []
    day_start, day_end = _hours(settings)
    lunch = _lunch(settings, day_start, day_end)
    travel = travel or StraightLine(settings.detour_factor, settings.speed_kmh, settings.local_srid)

    if not inspectors:
        raise _error("Chưa chọn cán bộ nào: hãy chọn ít nhất một cán bộ.", "Choose at least one inspector.")
    if len(inspectors) > MAX_INSPECTORS:
        raise _error(f"Một kế hoạch ngày có tối đa {MAX_INSPECTORS} cán bộ, không phải {len(inspectors)}.",
                     f"A day plan takes at most {MAX_INSPECTORS} inspectors, not {len(inspectors)}.")
    if depot is not None and not _valid_lonlat(*depot):
        notices.append(Notice("depot_invalid"))
        depot = None
    if depot is not None and not _inside(boundary, depot):
        notices.append(Notice("depot_outside"))

    vehicles: list[tuple[Inspector, tuple[float, float], tuple[float, float]]] = []
    for insp in inspectors:
        start = _endpoint(insp, "start", insp.start, depot, boundary, notices)
        end = _endpoint(insp, "end", insp.end, depot, boundary, notices) or start
        if start is None:
            start = end
        if start is None or end is None:
            raise _error(
                f"Cán bộ {insp.name} chưa có điểm xuất phát và phường chưa có trụ sở trong dữ liệu; hãy nhập điểm "
                "xuất phát hoặc thêm trụ sở UBND phường vào danh sách công trình công cộng.",
                f"Inspector {insp.name} has no start point and the ward has no office on record; "
                "give a start point or add the ward office to the public facilities.")
        vehicles.append((insp, start, end))

    # stops the solver can consider
    candidates: list[tuple[Stop, tuple[int, int] | None]] = []
    seen: set[Any] = set()
    for stop in stops:
        if stop.id in seen:
            notices.append(Notice("duplicate_stop", {"name": stop.name}))
            continue
        seen.add(stop.id)
        if not _valid_lonlat(stop.lon, stop.lat):
            dropped.append(Dropped(stop, Notice("no_coordinates", {"name": stop.name})))
            continue
        if not _inside(boundary, (float(stop.lon), float(stop.lat))):
            notices.append(Notice("stop_outside", {"name": stop.name}))
        service = settings.service_s(stop)
        try:
            window = parse_opening_hours(stop.opening_hours)
        except ValueError:
            notices.append(Notice("hours_unreadable", {"name": stop.name, "hours": stop.opening_hours}))
            window = None
        if window is not None:
            latest = min(window[1], day_end) - service
            earliest = max(window[0], day_start)
            if window[1] - window[0] < service:
                dropped.append(Dropped(stop, Notice("window_too_short", {
                    "name": stop.name, "hours": stop.opening_hours, "minutes": service // 60})))
                continue
            if latest < earliest:
                dropped.append(Dropped(stop, Notice("window_outside_hours", {
                    "name": stop.name, "hours": stop.opening_hours,
                    "day_start": hhmm(day_start), "day_end": hhmm(day_end)})))
                continue
            window = (earliest, latest)
        candidates.append((stop, window))

    places: dict[tuple[float, float], list[str]] = {}
    for stop, _ in candidates:
        places.setdefault((round(float(stop.lon), 5), round(float(stop.lat), 5)), []).append(stop.name)
    for names in places.values():
        if len(names) > 1:  # about a metre apart or less: planned one after the other, no ride between them
            notices.append(Notice("same_place", {"names": ", ".join(names)}))
    if not stops:
        notices.append(Notice("no_stops"))
    elif not candidates:
        notices.append(Notice("nothing_plannable"))

    n_depots = 2 * len(vehicles)
    lonlat = np.array([p for _, s, e in vehicles for p in (s, e)] + [(float(s.lon), float(s.lat))
                                                                     for s, _ in candidates], dtype=float)
    seconds, metres = travel.matrix(lonlat)
    if getattr(travel, "unreachable_pairs", 0):
        notices.append(Notice("graph_gaps", {"pairs": travel.unreachable_pairs}))
    notices.extend(_graph_notices(travel, [s for s, _ in candidates], n_depots))
    service = [0] * n_depots + [settings.service_s(s) for s, _ in candidates]
    windows = [None] * n_depots + [w for _, w in candidates]
    penalties = [0] * n_depots + [
        MUST_VISIT_PENALTY if s.must_visit else int(OPTIONAL_PENALTY_BASE * (1 + max(0.0, s.priority) / 25.0))
        for s, _ in candidates]

    limit = settings.time_limit_s if settings.time_limit_s is not None else default_time_limit_s(len(candidates))
    solved = solve(seconds, service, windows, penalties, n_vehicles=len(vehicles), day=(day_start, day_end),
                   lunch=lunch, time_limit_s=limit, balance_weight=settings.balance_weight)

    def assemble(solved: dict[str, Any] | None, notices: list[Notice], dropped: list[Dropped]) -> Plan:
        if solved is None:
            notices.append(Notice("solver_failed"))
            solved = {"routes": [[] for _ in vehicles], "starts": [day_start] * len(vehicles),
                      "ends": [day_start] * len(vehicles), "lunch": {}}
        routes: list[Route] = []
        visited: set[int] = set()
        lunch_len = settings.lunch_min * 60
        for v, (insp, start, end) in enumerate(vehicles):
            order = solved["routes"][v]
            start_s, end_s = solved["starts"][v], solved["ends"][v]
            legs = [int(seconds[a, b]) for a, b in zip([2 * v] + [n for n, _ in order],
                                                       [n for n, _ in order] + [2 * v + 1], strict=True)]
            begins = [b for _, b in order] + [max(end_s, (order[-1][1] + service[order[-1][0]] if order else start_s)
                                                     + legs[-1])]
            lunch_s, lunch_gap, ends_at = None, None, []
            # leave no earlier than needed to reach the first stop on time, unless lunch then finds no room
            for depart in ([begins[0] - legs[0], start_s] if order else [start_s]):
                ends_at = [depart] + [b + service[n] for n, b in order]
                lunch_s, lunch_gap = _place_lunch(ends_at, begins, legs, lunch)
                if lunch is None or lunch_s is not None or not _spans_lunch(depart, begins[-1], lunch):
                    break
            start_s = ends_at[0]
            if lunch is not None and lunch_s is None and _spans_lunch(start_s, begins[-1], lunch):
                notices.append(Notice("lunch_not_placed", {"inspector": insp.name}))
            visits: list[Visit] = []
            for k, (node, begin) in enumerate(order, 1):
                visited.add(node)
                stop, window = candidates[node - n_depots]
                clock, leg = ends_at[k - 1], legs[k - 1]
                here = lunch_gap == k - 1
                arrival = clock + leg + (lunch_len if here and lunch_s < clock + leg else 0)
                visits.append(Visit(k, stop, arrival, begin, begin + service[node], leg,
                                    float(metres[order[k - 2][0] if k > 1 else 2 * v, node]), window, here))
            last = order[-1][0] if order else 2 * v
            routes.append(Route(insp, start, end, start_s, begins[-1], tuple(visits),
                                None if lunch_s is None else (lunch_s, lunch_s + lunch_len),
                                legs[-1], float(metres[last, 2 * v + 1])))

        kept = [candidates[node - n_depots][0] for node in visited]
        for node in range(n_depots, len(lonlat)):
            if node in visited:
                continue
            stop, window = candidates[node - n_depots]
            dropped.append(Dropped(stop, _why_dropped(node, stop, window, seconds, service, vehicles,
                                                      (day_start, day_end), lunch, settings, kept)))
        n_short = sum(1 for d in dropped if d.reason.code in DAY_SHORT_CODES)
        if n_short:
            notices.append(Notice("day_too_short", {"dropped": n_short, "total": len(candidates)}))
        must = [d.stop.name for d in dropped if d.stop.must_visit]
        if must:
            notices.append(Notice("must_visit_dropped", {"count": len(must), "names": ", ".join(must)}))
        dropped.sort(key=lambda d: (not d.stop.must_visit, -d.stop.priority))
        return Plan(date, settings, tuple(routes), tuple(dropped), tuple(notices), travel.name)

    plan = assemble(solved, list(notices), list(dropped))
    if solved is not None and check_plan(plan, _Known(lonlat, seconds, travel)):
        # never hand out a plan the checker rejects: OR-Tools' own plan, else nothing planned
        raw = solve_ortools(seconds, service, windows, penalties, n_vehicles=len(vehicles), day=(day_start, day_end),
                            lunch=lunch, time_limit_s=limit, balance_weight=settings.balance_weight)
        plan = assemble(raw, list(notices), list(dropped))
        if raw is not None and check_plan(plan, _Known(lonlat, seconds, travel)):
            plan = assemble(None, list(notices), list(dropped))
    return plan


def _graph_notices(travel: TravelModel, stops: list[Stop], n_depots: int) -> list[Notice]:
    """Which stops a street graph leaves out: all of them (the graph covers another area), or each one far from every
    street or cut off from the others (one-way streets, missing streets)."""
    far = {k: m for k, m in getattr(travel, "far_points", []) if k >= n_depots}
    cut = [k for k in getattr(travel, "unreachable_points", []) if k >= n_depots and k not in far]
    if stops and len(far) == len(stops):
        return [Notice("graph_outside_area", {"metres": int(round(min(far.values())))})]
    out = [Notice("off_graph", {"name": stops[k - n_depots].name, "metres": int(round(m))}) for k, m in far.items()]
    out += [Notice("graph_unreachable", {"name": stops[k - n_depots].name}) for k in cut]
    return out


class _Known:
    """The travel model of a plan already computed: the matrix looked up by coordinates (for the final check)."""

    def __init__(self, lonlat: np.ndarray, seconds: np.ndarray, travel: TravelModel):
        self._row: dict[tuple[float, float], int] = {}
        for k, p in enumerate(map(tuple, lonlat.tolist())):
            self._row.setdefault(p, k)
        self._seconds = seconds
        self._travel = travel
        self.name = travel.name

    def matrix(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = [self._row.get(tuple(p)) for p in lonlat.tolist()]
        if None in rows:
            return self._travel.matrix(lonlat)
        return self._seconds[np.ix_(rows, rows)], np.zeros((len(rows), len(rows)))


def idle_s(route: Route, visit: Visit) -> int:
    """Seconds ``visit`` waits after arriving, a lunch taken while waiting not counted."""
    wait = visit.start_s - visit.arrival_s
    if route.lunch and visit.arrival_s <= route.lunch[0] and route.lunch[1] <= visit.start_s:
        wait -= route.lunch[1] - route.lunch[0]
    return wait


def wait_reason(route: Route, visit: Visit) -> Notice | None:
    """Why ``visit`` waits more than 30 minutes after arriving (None when it does not): the stop opens later, or
    the route keeps to the times of the stops after it."""
    idle = idle_s(route, visit)
    if idle <= tours.LONG_WAIT_S:
        return None
    try:
        hours = parse_opening_hours(visit.stop.opening_hours)
    except ValueError:
        hours = None
    params = {"name": visit.stop.name, "minutes": int(round(idle / 60)), "time": hhmm(visit.start_s)}
    if hours is not None and visit.start_s == max(hours[0], visit.window[0] if visit.window else 0):
        return Notice("wait_opening", params)
    return Notice("wait_schedule", params)


def _place_lunch(ends_at: list[int], begins: list[int], legs: list[int],
                 lunch: tuple[int, int, int] | None) -> tuple[int | None, int | None]:
    """(lunch start, index of the gap holding it) in the first gap with room for the ride and the lunch.

    Gap k runs from the end of visit k (the departure for k = 0) to the start of the next
    visit (the return for the last gap). Lunch after arriving when it fits, else before or
    during the ride. (None, None): lunch falls before the route starts or after it ends.
    """
    if lunch is None:
        return None, None
    lo, hi, duration = lunch
    for k, (clock, nxt, leg) in enumerate(zip(ends_at, begins, legs, strict=True)):
        if nxt - clock - leg < duration:
            continue
        latest = min(hi, nxt - duration)
        after_ride = max(lo, clock + leg)
        if after_ride <= latest:
            return after_ride, k
        earliest = max(lo, clock)
        if earliest <= latest:
            return earliest, k
    return None, None


def _spans_lunch(start_s: int, end_s: int, lunch: tuple[int, int, int]) -> bool:
    """Whether lunch cannot be taken before the route starts nor after it ends."""
    lo, hi, duration = lunch
    return start_s < lo + duration and end_s > hi


def _endpoint(insp: Inspector, label: str, point: tuple[float, float] | None, depot: tuple[float, float] | None,
              boundary: BaseGeometry | None, notices: list[Notice]) -> tuple[float, float] | None:
    """An inspector's start or end: checked, replaced by the depot when invalid or outside the ward."""
    if point is not None and not _valid_lonlat(*point):
        notices.append(Notice(f"{label}_invalid", {"inspector": insp.name}))
        point = None
    elif point is not None and not _inside(boundary, point):
        if depot is not None:
            notices.append(Notice(f"{label}_outside_replaced", {"inspector": insp.name}))
            point = None
        else:
            notices.append(Notice(f"{label}_outside_kept", {"inspector": insp.name}))
    if point is None:
        point = depot
    return None if point is None else (float(point[0]), float(point[1]))


def _error(vi: str, en: str) -> GeomapRoutingError:
    """An error for settings no plan can come from, in Vietnamese and in English (the pages show it as it is)."""
    return GeomapRoutingError(vi, en)


def _hours(settings: DaySettings) -> tuple[int, int]:
    try:
        start, end = parse_hhmm(settings.day_start), parse_hhmm(settings.day_end)
    except ValueError as exc:
        raise _error(f"Giờ làm việc: không đọc được ({exc}); dùng dạng GG:PP.", f"Working hours: {exc}; use HH:MM.") \
            from exc
    if end <= start:
        raise _error(f"Giờ kết thúc ({settings.day_end}) không sau giờ bắt đầu ({settings.day_start}).",
                     f"Working hours end ({settings.day_end}) before they begin ({settings.day_start}).")
    return start, end


def _lunch(settings: DaySettings, day_start: int, day_end: int) -> tuple[int, int, int] | None:
    """(earliest start, latest start, duration) of the lunch break, or None for no break."""
    if settings.lunch_min <= 0:
        return None
    try:
        lo, hi = parse_hhmm(settings.lunch_from), parse_hhmm(settings.lunch_to)
    except ValueError as exc:
        raise _error(f"Giờ nghỉ trưa: không đọc được ({exc}); dùng dạng GG:PP.", f"Lunch break: {exc}; use HH:MM.") \
            from exc
    duration = int(settings.lunch_min * 60)
    if hi - lo < duration:
        raise _error(f"Khung nghỉ trưa {settings.lunch_from}-{settings.lunch_to} ngắn hơn {settings.lunch_min} phút.",
                     f"The lunch window {settings.lunch_from}-{settings.lunch_to} is shorter than "
                     f"{settings.lunch_min} minutes.")
    if hi <= day_start or lo >= day_end:
        return None  # lunch outside working hours: nothing to plan around
    if duration >= day_end - day_start:
        raise _error(f"Nghỉ trưa {settings.lunch_min} phút không ngắn hơn cả ngày làm việc {settings.day_start}-"
                     f"{settings.day_end}; hãy rút ngắn giờ nghỉ.",
                     f"A lunch break of {settings.lunch_min} minutes is not shorter than the working day "
                     f"{settings.day_start}-{settings.day_end}; shorten the break.")
    return lo, hi - duration, duration


def _why_dropped(node: int, stop: Stop, window: tuple[int, int] | None, seconds: np.ndarray, service: list[int],
                 vehicles: list, day: tuple[int, int], lunch: tuple[int, int, int] | None,
                 settings: DaySettings, kept: Sequence[Stop] = ()) -> Notice:
    """Why a stop was left out, truthfully.

    A stop no inspector could visit alone within the day: its window or its distance. One
    that could: "lower priority" only when no optional stop of lower priority was kept;
    when only must-visit stops were kept, they took the day; when a lower-priority stop was
    kept, the dropped one clashes with the route (its opening hours, or its visit and ride
    would push out more of the stops kept), which is what it says.
    """
    for v in range(len(vehicles)):
        if _fits_alone(int(seconds[2 * v, node]), int(seconds[node, 2 * v + 1]), service[node], window, day, lunch):
            params = {"name": stop.name, "score": round(stop.priority, 1), "minutes": service[node] // 60,
                      "hours": stop.opening_hours}
            if not kept:  # nothing was planned at all (the solver found no plan): no comparison to make
                return Notice("not_planned", params)
            if stop.must_visit:
                return Notice("must_visit_day_full", params)
            optional = [s.priority for s in kept if not s.must_visit]
            if not optional and kept:
                return Notice("day_full_must_visit", params)
            lower = [p for p in optional if p < stop.priority]
            if not lower:
                return Notice("day_full", params)
            params["lowest_kept"] = round(min(lower), 1)
            return Notice("window_clash" if window is not None else "day_full_clash", params)
    if window is not None:
        return Notice("window_unreachable", {"name": stop.name, "hours": stop.opening_hours})
    return Notice("unreachable_in_day", {"name": stop.name})


def _fits_alone(there_s: int, back_s: int, service_s: int, window: tuple[int, int] | None, day: tuple[int, int],
                lunch: tuple[int, int, int] | None) -> bool:
    """Whether a route with this one stop fits the day: lunch first, while waiting, or last."""
    day_start, day_end = day
    w_lo, w_hi = window if window else (day_start, day_end - service_s)

    def finish(depart: int, lunch_from: int | None = None) -> int | None:
        arrive = depart + there_s
        ready = arrive if lunch_from is None else max(arrive, lunch_from)
        begin = max(ready, w_lo)
        return begin + service_s + back_s if begin <= w_hi else None

    if lunch is None:
        f = finish(day_start)
        return f is not None and f <= day_end
    lo, hi, duration = lunch
    options = []
    f = finish(max(day_start, lo + duration))  # lunch before leaving
    options.append(f is not None and f <= day_end)
    lunch_at = max(day_start + there_s, lo)  # lunch on arrival, before the visit
    if lunch_at <= hi:
        f = finish(day_start, lunch_at + duration)
        options.append(f is not None and f <= day_end)
    f = finish(day_start)  # lunch after returning
    options.append(f is not None and f <= day_end and max(f, lo) <= hi)
    return any(options)


def solve(
    seconds: np.ndarray,
    service_s: Sequence[int],
    windows: Sequence[tuple[int, int] | None],
    penalties: Sequence[int],
    *,
    n_vehicles: int,
    day: tuple[int, int],
    lunch: tuple[int, int, int] | None = None,
    time_limit_s: float = 1.0,
    balance_weight: int = 0,
) -> dict[str, Any] | None:
    """The day's search: LKH alone when one inspector can take every stop in LKH's order, else OR-Tools
    (:func:`solve_ortools`) followed by :func:`geomap.inspections.tours.improve`.

    Same nodes and result as :func:`solve_ortools`; the times are the earliest the order allows (the
    departure at the start of the day: :func:`plan_day` leaves later when it can), and ``cost`` is the
    riding time plus the penalties of the stops left out.
    """
    n = len(seconds)
    day_start, day_end = day
    service = [int(x) for x in service_s]
    lo = [day_start] * n
    hi = [day_end] * n
    for node in range(2 * n_vehicles, n):
        lo[node], hi[node] = windows[node] if windows[node] else (day_start, day_end - service[node])
    model = tours.Day(np.asarray(seconds, dtype=np.int64).tolist(), service, lo, hi, (day_start, day_end), lunch)
    stops = list(range(2 * n_vehicles, n))
    started = perf_counter()
    timed: list[tours.Timed] | None = None
    if n_vehicles == 1 and stops:
        # one inspector: when the shortest tour fits every rule of the day, nothing can beat it
        alone = tours.schedule(model, 0, 1, tours.lkh_order(model.seconds, 0, 1, stops))
        if alone is not None:
            timed = [alone]
    if timed is None:
        raw = solve_ortools(seconds, service_s, windows, penalties, n_vehicles=n_vehicles, day=day, lunch=lunch,
                            time_limit_s=time_limit_s, balance_weight=balance_weight)
        if raw is None:
            return None
        timed = []
        for v, route in enumerate(raw["routes"]):
            again = tours.schedule(model, 2 * v, 2 * v + 1, [node for node, _ in route])
            if again is None:  # cannot happen (OR-Tools' order fits the same rules); keep OR-Tools' own times
                return raw
            timed.append(again)
        kept = {node for r in timed for node in r.order}
        left = sorted((node for node in stops if node not in kept), key=lambda node: -penalties[node])
        spent = perf_counter() - started
        # one inspector whose stops do not all fit: the search is over which stops to keep, and the large
        # neighbourhood search settles within half the OR-Tools limit (bench: 60 stops, 20 kept); several
        # inspectors: the balancing needs longer (bench: 5 × 40 stops settles in about 3 s)
        budget = 0.5 * time_limit_s if n_vehicles == 1 else 5.0 * time_limit_s
        timed = tours.improve(model, timed, left, balance=bool(balance_weight) and n_vehicles > 1,
                              time_budget_s=max(0.3, min(budget, 4.4 - spent)),
                              weight=[int(p) for p in penalties])
    kept = {node for r in timed for node in r.order}
    return {"routes": [list(zip(r.order, r.begins, strict=True)) for r in timed], "starts": [day_start] * n_vehicles,
            "ends": [r.end for r in timed], "lunch": {},
            "cost": sum(r.travel for r in timed) + sum(int(penalties[node]) for node in stops if node not in kept)}


def solve_ortools(
    seconds: np.ndarray,
    service_s: Sequence[int],
    windows: Sequence[tuple[int, int] | None],
    penalties: Sequence[int],
    *,
    n_vehicles: int,
    day: tuple[int, int],
    lunch: tuple[int, int, int] | None = None,
    time_limit_s: float = 1.0,
    metaheuristic: str = "GUIDED_LOCAL_SEARCH",
    first_solution: str = "PATH_CHEAPEST_ARC",
    balance_weight: int = 0,
) -> dict[str, Any] | None:
    """The OR-Tools model. Nodes 2v and 2v+1 are vehicle v's start and end; the rest are stops.

    Returns ``routes`` (per vehicle: [(node, visit start s), ...]), ``starts`` / ``ends``
    (departure and return time per vehicle), ``lunch`` ({vehicle: lunch start s}) and ``cost``; None when the
    solver finds nothing (it always should: every stop may be dropped).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(seconds)
    starts = [2 * v for v in range(n_vehicles)]
    ends = [2 * v + 1 for v in range(n_vehicles)]
    manager = pywrapcp.RoutingIndexManager(n, n_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    travel = seconds.tolist()
    service = list(service_s)

    def travel_cb(i: int, j: int) -> int:
        return travel[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def transit_cb(i: int, j: int) -> int:
        a = manager.IndexToNode(i)
        return service[a] + travel[a][manager.IndexToNode(j)]

    travel_idx = routing.RegisterTransitCallback(travel_cb)
    transit_idx = routing.RegisterTransitCallback(transit_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(travel_idx)
    day_start, day_end = day
    routing.AddDimension(transit_idx, day_end - day_start, day_end, False, "time")
    time = routing.GetDimensionOrDie("time")
    if balance_weight and n_vehicles > 1:
        # share the work: the latest return costs, and so does each stop the busiest inspector has
        # (10 minutes of riding per stop), so an inspector is not left at the office while another waits
        time.SetGlobalSpanCostCoefficient(int(balance_weight))
        count_idx = routing.RegisterUnaryTransitCallback(
            lambda i: 0 if manager.IndexToNode(i) < 2 * n_vehicles else 1)
        routing.AddDimension(count_idx, 0, n, True, "visits")
        routing.GetDimensionOrDie("visits").SetGlobalSpanCostCoefficient(600 * int(balance_weight))
    for node in range(2 * n_vehicles, n):
        index = manager.NodeToIndex(node)
        window = windows[node]
        lo, hi = (window if window else (day_start, day_end - service[node]))
        time.CumulVar(index).SetRange(int(lo), int(hi))
        routing.AddDisjunction([index], int(penalties[node]))
    breaks = []
    # OR-Tools reads the visit lengths for breaks by solver index, not by node
    visit_s_by_index = [service[manager.IndexToNode(i)] for i in range(manager.GetNumberOfIndices())]
    for v in range(n_vehicles):
        # every day starts at day_start in the model, so the global span is the latest return: balancing the
        # work means bringing the last inspector home earliest. Waiting before the first visit is removed
        # afterwards (the inspector simply leaves later), see plan_day.
        time.CumulVar(routing.Start(v)).SetValue(day_start)
        time.CumulVar(routing.End(v)).SetRange(day_start, day_end)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
        if lunch is not None:
            lo, hi, duration = lunch
            brk = routing.solver().FixedDurationIntervalVar(lo, hi, duration, False, f"lunch {v}")
            # lunch never overlaps a visit; it may split a ride ("lunch on the way"), its time added to the gap
            time.SetBreakIntervalsOfVehicle([brk], v, visit_s_by_index)
            breaks.append((v, brk))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic)
    params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes, departures, returns, lunch_at = [], [], [], {}
    for v in range(n_vehicles):
        index = routing.Start(v)
        departures.append(solution.Value(time.CumulVar(index)))
        index = solution.Value(routing.NextVar(index))
        order = []
        while not routing.IsEnd(index):
            order.append((manager.IndexToNode(index), solution.Value(time.CumulVar(index))))
            index = solution.Value(routing.NextVar(index))
        returns.append(solution.Value(time.CumulVar(index)))
        routes.append(order)
    intervals = solution.IntervalVarContainer()
    by_name = {brk.Name(): v for v, brk in breaks}
    for k in range(intervals.Size()):
        element = intervals.Element(k)
        if element.PerformedValue() and element.Var().Name() in by_name:
            lunch_at[by_name[element.Var().Name()]] = element.StartValue()
    return {"routes": routes, "starts": departures, "ends": returns, "lunch": lunch_at,
            "cost": solution.ObjectiveValue()}


# --- checking (used by tests and by the pages before saving a plan) ----------------------------


def check_plan(plan: Plan, travel: TravelModel | None = None) -> list[str]:
    """Every broken rule of ``plan`` as a sentence; empty when the plan is sound.

    Each kept stop once, never also dropped; the route inside working hours; each visit
    inside its window (the one carried by the visit and the stop's own opening hours) and
    after its arrival, the arrival following from the previous stop and the ride; lunch in
    its window and of its length, never overlapping a visit, the gap holding it long enough
    for the ride and the lunch; and a lunch on every route that spans the lunch window
    (one that leaves before the earliest lunch could end and returns after the latest
    lunch could start, the rule :func:`plan_day` plans by).

    Ride times are recomputed with ``travel`` when given, else with the plan's own
    straight-line model when the plan was made with it (its settings name it); only a plan
    made with another model (a street graph) is trusted for its ride times.
    """
    problems: list[str] = []
    day_start, day_end = _hours(plan.settings)
    lunch = _lunch(plan.settings, day_start, day_end)
    if travel is None:
        default = StraightLine(plan.settings.detour_factor, plan.settings.speed_kmh, plan.settings.local_srid)
        travel = default if plan.travel_model == default.name else None
    seen: dict[Any, int] = {}
    for route in plan.routes:
        name = route.inspector.name
        if route.start_s < day_start or route.end_s > day_end:
            problems.append(f"{name}: route {hhmm(route.start_s)}-{hhmm(route.end_s)} outside working hours")
        if route.end_s < route.start_s:
            problems.append(f"{name}: route ends before it starts")
        lunch_len = (route.lunch[1] - route.lunch[0]) if route.lunch else 0
        if route.lunch and lunch and not (lunch[0] <= route.lunch[0] <= lunch[1]):
            problems.append(f"{name}: lunch at {hhmm(route.lunch[0])} outside its window")
        if route.lunch and lunch and lunch_len != lunch[2]:
            problems.append(f"{name}: lunch of {lunch_len // 60} min instead of {lunch[2] // 60}")
        if lunch and route.lunch is None and _spans_lunch(route.start_s, route.end_s, lunch):
            problems.append(f"{name}: the route {hhmm(route.start_s)}-{hhmm(route.end_s)} runs through the lunch "
                            "window without a lunch break")
        legs = _matrix_legs(route, travel)
        clock, gaps = route.start_s, []
        for k, visit in enumerate(route.visits):
            seen[visit.stop.id] = seen.get(visit.stop.id, 0) + 1
            if legs is not None and legs[k] is not None and visit.travel_s != legs[k]:
                problems.append(f"{visit.stop.name}: ride of {visit.travel_s} s, the travel model says {legs[k]} s")
            expected = clock + visit.travel_s + (lunch_len if visit.lunch_before and route.lunch and
                                                 route.lunch[0] < clock + visit.travel_s else 0)
            if visit.arrival_s != expected:
                problems.append(f"{visit.stop.name}: arrival does not follow from the previous stop")
            if visit.start_s < visit.arrival_s:
                problems.append(f"{visit.stop.name}: visit starts before arrival")
            if visit.end_s - visit.start_s != plan.settings.service_s(visit.stop):
                problems.append(f"{visit.stop.name}: visit length differs from the setting")
            if visit.window and not (visit.window[0] <= visit.start_s <= visit.window[1]):
                problems.append(f"{visit.stop.name}: visit at {hhmm(visit.start_s)} outside its window")
            try:
                hours = parse_opening_hours(visit.stop.opening_hours)
            except ValueError:
                hours = None  # unreadable hours are planned as open all day (and the plan says so)
            if hours and not (hours[0] <= visit.start_s and visit.end_s <= hours[1]):
                problems.append(f"{visit.stop.name}: visit {hhmm(visit.start_s)}-{hhmm(visit.end_s)} outside its "
                                f"opening hours {visit.stop.opening_hours}")
            if route.lunch and route.lunch[0] < visit.end_s and visit.start_s < route.lunch[1]:
                problems.append(f"{name}: lunch overlaps the visit to {visit.stop.name}")
            gaps.append((clock, visit.start_s, visit.travel_s))
            clock = visit.end_s
        if legs is not None and legs[-1] is not None and route.return_travel_s != legs[-1]:
            problems.append(f"{name}: return ride of {route.return_travel_s} s, the travel model says {legs[-1]} s")
        gaps.append((clock, route.end_s, route.return_travel_s))
        if route.end_s < clock + route.return_travel_s:
            problems.append(f"{name}: end time does not follow from the last stop")
        if route.lunch:
            holding = [g for g in gaps if g[0] <= route.lunch[0] and route.lunch[1] <= g[1]]
            if not holding:
                problems.append(f"{name}: lunch {hhmm(route.lunch[0])} does not fall between two stops")
            elif holding[0][1] - holding[0][0] < holding[0][2] + lunch_len:
                problems.append(f"{name}: no time to ride and have lunch before {hhmm(holding[0][1])}")
    for stop_id, count in seen.items():
        if count > 1:
            problems.append(f"stop {stop_id} visited {count} times")
    for d in plan.dropped:
        if d.stop.id in seen:
            problems.append(f"stop {d.stop.id} both visited and dropped")
    return problems


def _matrix_legs(route: Route, travel: TravelModel | None) -> list[int | None] | None:
    """Seconds of every leg of ``route`` (the return last) by ``travel``; None for a leg without coordinates."""
    if travel is None:
        return None
    points = [route.start, *((v.stop.lon, v.stop.lat) for v in route.visits), route.end]
    if not all(_valid_lonlat(*p) for p in points):
        return [None] * (len(points) - 1)
    seconds, _ = travel.matrix(np.array(points, dtype=float))
    return [int(seconds[k, k + 1]) for k in range(len(points) - 1)]

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "routing.no_stops": ("Chưa chọn cơ sở nào để kiểm tra: hãy chọn từ danh sách đến hạn.",
                         "No establishments selected: pick some from the due list."),
    "routing.nothing_plannable": ("Không cơ sở nào đã chọn có thể xếp lịch; xem lý do từng cơ sở bên dưới.",
                                  "None of the selected establishments can be scheduled; see each reason below."),
    "routing.no_coordinates": ("{name}: chưa có tọa độ nên không thể xếp lộ trình; cập nhật vị trí trên bản đồ.",
                               "{name}: no coordinates, cannot be routed; set its location on the map."),
    "routing.window_too_short": ("{name}: giờ mở cửa {hours} ngắn hơn thời gian kiểm tra {minutes} phút.",
                                 "{name}: opening hours {hours} are shorter than the {minutes}-minute visit."),
    "routing.window_outside_hours": ("{name}: giờ mở cửa {hours} không trùng giờ làm việc {day_start}-{day_end}.",
                                     "{name}: opening hours {hours} do not overlap working hours "
                                     "{day_start}-{day_end}."),
    "routing.window_unreachable": ("{name}: không thể đến kịp trong giờ mở cửa {hours}.",
                                   "{name}: cannot be reached within its opening hours {hours}."),
    "routing.unreachable_in_day": ("{name}: quá xa để đi và về trong giờ làm việc.",
                                   "{name}: too far to go and return within working hours."),
    "routing.day_full": ("{name}: không đủ thời gian trong ngày; ưu tiên (điểm rủi ro {score}) không cao hơn các cơ "
                         "sở không bắt buộc được giữ.", "{name}: the day is too short; its priority (risk score "
                         "{score}) is no higher than that of the optional stops kept."),
    "routing.day_full_must_visit": ("{name}: không xếp được cùng các cơ sở bắt buộc kiểm tra: chúng chiếm khoảng thời "
                                    "gian có thể kiểm tra cơ sở này.", "{name}: cannot fit with the must-visit stops: "
                                    "they take the time in which it could be visited."),
    "routing.day_full_clash": ("{name}: không xếp thêm được vào lộ trình: dù điểm rủi ro {score} cao hơn một số cơ sở "
                               "được giữ (thấp nhất: {lowest_kept}), {minutes} phút kiểm tra và quãng đường tới đó "
                               "không vừa cùng các cơ sở bắt buộc nếu không bỏ nhiều cơ sở khác.",
                               "{name}: cannot be added to the route: though its risk score {score} is higher than "
                               "some stops kept (lowest kept: {lowest_kept}), its {minutes}-minute visit and the ride "
                               "there do not fit beside the must-visit stops without dropping several others."),
    "routing.window_clash": ("{name}: giờ mở cửa {hours} không khớp với lộ trình của các cơ sở bắt buộc và các cơ sở "
                             "được giữ, dù điểm rủi ro {score} cao hơn một số cơ sở được giữ (thấp nhất: "
                             "{lowest_kept}).", "{name}: its opening hours {hours} clash with the route of the "
                             "must-visit and kept stops, though its risk score {score} is higher than some stops "
                             "kept (lowest kept: {lowest_kept})."),
    "routing.must_visit_day_full": ("{name}: BẮT BUỘC nhưng không thể xếp cùng các cơ sở bắt buộc khác trong ngày; "
                                    "thêm cán bộ hoặc kéo dài giờ làm.",
                                    "{name}: MUST-VISIT but cannot fit with the other must-visit stops; add an "
                                    "inspector or extend the hours."),
    "routing.day_too_short": ("Ngày làm việc không đủ cho tất cả: {dropped}/{total} cơ sở bị bỏ, ưu tiên thấp bỏ "
                              "trước trừ khi giờ mở cửa hay quãng đường không cho phép (xem lý do từng cơ sở).",
                              "The day cannot hold every stop: {dropped} of {total} dropped, lowest priority first "
                              "unless opening hours or distance prevent it (see each reason)."),
    "routing.duplicate_stop": ("{name} được chọn hai lần; chỉ xếp một lần.", "{name} was chosen twice; planned once."),
    "routing.stop_outside": ("{name} nằm ngoài ranh giới phường; vẫn được xếp lịch.",
                             "{name} lies outside the ward boundary; planned anyway."),
    "routing.hours_unreadable": ("{name}: không đọc được giờ mở cửa \u201c{hours}\u201d (dạng 07:00-21:00); coi như "
                                 "mở cả ngày.", "{name}: opening hours \u201c{hours}\u201d unreadable (use "
                                 "07:00-21:00); treated as open all day."),
    "routing.start_outside_replaced": ("Điểm xuất phát của {inspector} nằm ngoài phường; dùng trụ sở UBND phường.",
                                       "{inspector}'s start lies outside the ward; the ward office is used instead."),
    "routing.end_outside_replaced": ("Điểm kết thúc của {inspector} nằm ngoài phường; dùng trụ sở UBND phường.",
                                     "{inspector}'s end lies outside the ward; the ward office is used instead."),
    "routing.start_outside_kept": ("Điểm xuất phát của {inspector} nằm ngoài phường (không có trụ sở để thay).",
                                   "{inspector}'s start lies outside the ward (no ward office to use instead)."),
    "routing.end_outside_kept": ("Điểm kết thúc của {inspector} nằm ngoài phường (không có trụ sở để thay).",
                                 "{inspector}'s end lies outside the ward (no ward office to use instead)."),
    "routing.start_invalid": ("Tọa độ xuất phát của {inspector} không hợp lệ; dùng trụ sở UBND phường.",
                              "{inspector}'s start coordinates are invalid; the ward office is used."),
    "routing.end_invalid": ("Tọa độ kết thúc của {inspector} không hợp lệ; dùng trụ sở UBND phường.",
                            "{inspector}'s end coordinates are invalid; the ward office is used."),
    "routing.depot_invalid": ("Tọa độ trụ sở UBND phường không hợp lệ.", "The ward office coordinates are invalid."),
    "routing.depot_outside": ("Trụ sở UBND phường nằm ngoài ranh giới phường.",
                              "The ward office lies outside the ward boundary."),
    "routing.graph_gaps": ("Mạng đường không nối được {pairs} cặp điểm; dùng khoảng cách đường thẳng cho các cặp đó.",
                           "The street graph cannot connect {pairs} pairs; straight-line distance used for them."),
    "routing.graph_outside_area": ("Mạng đường không phủ khu vực các cơ sở đã chọn (gần nhất cách {metres} m); thời "
                                   "gian đi lại tính theo đường thẳng. Hãy nạp mạng đường của phường.",
                                   "The street graph does not cover the chosen establishments (the nearest is {metres} "
                                   "m away); ride times use the straight line. Load the ward's own street graph."),
    "routing.off_graph": ("{name} cách đường gần nhất trong mạng đường {metres} m; thời gian đi lại tới đó là ước "
                          "tính.",
                          "{name} is {metres} m from the nearest street of the graph; its ride times are estimates."),
    "routing.graph_unreachable": ("{name}: mạng đường không có lối tới hoặc lối ra (đường một chiều hoặc thiếu đường); "
                                  "dùng khoảng cách đường thẳng.", "{name}: the street graph has no way in or out "
                                  "(one-way or missing streets); the straight line is used."),
    "routing.same_place": ("{names} ở cùng một địa điểm; được xếp liền nhau khi cùng một cán bộ.",
                           "{names} are at the same place; planned one after the other when one inspector takes them."),
    "routing.must_visit_dropped": ("{count} cơ sở BẮT BUỘC không xếp được trong ngày: {names} (xem lý do từng cơ sở); "
                                   "thêm cán bộ, kéo dài giờ làm hoặc chuyển sang ngày khác.",
                                   "{count} MUST-VISIT stops do not fit the day: {names} (see each reason); add an "
                                   "inspector, extend the hours or move them to another day."),
    "routing.lunch_not_placed": ("Không xếp được giờ nghỉ trưa cho {inspector}; hãy bớt cơ sở hoặc nới giờ nghỉ.",
                                 "No room for {inspector}'s lunch break; drop some stops or widen the lunch window."),
    "routing.not_planned": ("{name}: chưa xếp được vì không lập được lộ trình nào; cơ sở này một mình thì vừa "
                            "trong ngày.", "{name}: not scheduled because no route could be planned; on its own it "
                            "would fit the day."),
    "routing.wait_opening": ("chờ mở cửa {time} ({minutes} phút)", "waiting for opening {time} ({minutes} min)"),
    "routing.wait_schedule": ("chờ {minutes} phút để giữ đúng giờ các cơ sở sau",
                              "waiting {minutes} min to keep the times of the stops after it"),
    "routing.solver_failed": ("Bộ giải không tìm được lộ trình; mọi cơ sở được liệt kê là chưa xếp.",
                              "The solver found no plan; every stop is listed as not scheduled."),
    # the notices planning.py adds to a plan (a record that cannot be planned, a street graph it could not use)
    "routing.not_plannable_record": ("{name}: không tìm thấy, đã đóng cửa hoặc thuộc phường khác.",
                                     "{name}: not found, closed, or in another ward."),
    "routing.graph_unusable": ("Không dùng được tệp mạng đường: {reason} Lộ trình dưới đây tính theo khoảng cách "
                               "đường thẳng × {detour} với tốc độ {speed} km/h.",
                               "The street graph file cannot be used: {reason} The plan below uses straight-line "
                               "distance × {detour} at {speed} km/h."),
}


def exact_tour_cost(cost: np.ndarray) -> int:
    """Exact shortest closed tour from node 0 through all others (Held–Karp, O(2^n n^2)).

    The reference the solver is checked against (tests, ``bench/bench_routing.py``); fine up to
    about 12 nodes.
    """
    import itertools

    n = len(cost)
    best = {(1 << k, k): int(cost[0, k]) for k in range(1, n)}
    for size in range(2, n):
        for subset in itertools.combinations(range(1, n), size):
            bits = sum(1 << k for k in subset)
            for k in subset:
                prev = bits & ~(1 << k)
                best[(bits, k)] = min(best[(prev, m)] + int(cost[m, k]) for m in subset if m != k)
    full = (1 << n) - 2
    return min(best[(full, k)] + int(cost[k, 0]) for k in range(1, n))
