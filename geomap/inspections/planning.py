"""Inspection planning services: who is due, the day's routes, saving them, recording visits.

The pages and the command line call these; each takes a :data:`geomap.db.Bind`, reads what
it needs through :mod:`geomap.inspections.data`, calls the pure modules
(:mod:`~geomap.inspections.risk`, :mod:`~geomap.inspections.routing`,
:mod:`~geomap.inspections.travel`) and returns plain values. Saving a day's routes and
recording a visit run in one unit of work each (:func:`geomap.db.transaction`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from geomap import audit, auth, db, status
from geomap.errors import GeomapError
from geomap.field_reports import photos
from geomap.inspections import data, risk, routing, travel
from geomap.records import edit
from geomap.users import User
from geomap.wards import data as ward_data


def due_list(bind: db.Bind, ward_id: int, ward_slug: str | None = None, today: dt.date | None = None,
             *, residential_groups: Iterable[str] | None = None, sectors: Iterable[str] | None = None,
             vsic_codes: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
             only_due: bool = False, tiers: Iterable[str] | None = None) -> pd.DataFrame:
    """The ward's establishments ranked by risk, with reasons, optionally filtered (:func:`risk.select`).

    ``statuses`` matches either the licence or the food-safety status.
    """
    today = today or status.today()
    weights = risk.weights_for(ward_slug)
    frame = risk.score(data.risk_inputs(bind, ward_id, today, weights), weights, today)
    return risk.select(frame, residential_groups=residential_groups, sectors=sectors, vsic_codes=vsic_codes,
                       statuses=statuses, only_due=only_due, tiers=tiers)


def inspectors(bind: db.Bind, ward_id: int) -> list[dict[str, Any]]:
    """Active staff who hold ``record_inspection`` in this ward (or in every ward), by name."""
    return [r for r in data.active_staff(bind, ward_id) if auth.role_can(r["role"], "record_inspection")]


def stops_from(frame: pd.DataFrame, must_visit: Iterable[int] = ()) -> list[routing.Stop]:
    """Routing stops from rows of :func:`due_list` (risk score as priority)."""
    must = {int(i) for i in must_visit}
    out = []
    for row in frame.to_dict("records"):
        lon, lat = row.get("lon"), row.get("lat")
        out.append(routing.Stop(
            id=int(row["id"]), name=f"{row.get('code') or ''} {row.get('name') or ''}".strip(),
            lon=None if pd.isna(lon) else float(lon), lat=None if pd.isna(lat) else float(lat),
            sector=row.get("sector"), opening_hours=row.get("opening_hours"), must_visit=int(row["id"]) in must,
            priority=float(row.get("risk_score") or 0.0), address=row.get("address")))
    return out


def plan(
    bind: db.Bind, ward_id: int, ward_slug: str, establishment_ids: Sequence[int], crew: Sequence[routing.Inspector],
    settings: routing.DaySettings | None = None, *, date: dt.date | None = None, must_visit: Iterable[int] = (),
    street_graph: str | None = None, street_graph_name: str | None = None,
) -> routing.Plan:
    """Plan the day for ``crew`` over the chosen establishments, starting at the ward office by default.

    Establishments that are closed, unknown or in another ward are reported as dropped
    with that reason, never silently left out. A street graph file that cannot be read
    gives a straight-line plan with a ``graph_unusable`` notice saying why, not no plan.
    ``street_graph_name`` is the name the user knows the file by (an upload saved to a
    temporary file): notices and the travel model name it instead of the temporary path.
    """
    date = date or status.today()
    weights = risk.weights_for(ward_slug)
    frame = risk.score(data.risk_inputs(bind, ward_id, date, weights, ids=establishment_ids), weights, date) \
        if establishment_ids else pd.DataFrame(columns=["id"])
    stops = stops_from(frame, must_visit)
    model = None
    settings = settings or routing.DaySettings()
    graph_notice: routing.Notice | None = None
    if street_graph:
        try:
            model = travel.StreetGraph.from_file(street_graph, speed_kmh=settings.speed_kmh,
                                                 detour_factor=settings.detour_factor,
                                                 local_srid=settings.local_srid)
            if street_graph_name:
                model.source = street_graph_name
        except (GeomapError, ValueError, TypeError, KeyError, OSError) as exc:
            # a bad file is said plainly, and the day is still planned by straight-line distance
            reason = (str(exc) or type(exc).__name__).strip()
            if street_graph_name:
                reason = reason.replace(str(street_graph), street_graph_name).replace(
                    Path(street_graph).name, street_graph_name)
            graph_notice = routing.Notice("graph_unusable", {
                "reason": reason if reason.endswith((".", "!", "?")) else reason + ".",
                "detour": f"{settings.detour_factor:g}",
                "speed": f"{settings.speed_kmh:g}"})
    ward = ward_data.ward_by_id(bind, ward_id, boundary=True)
    result = routing.plan_day(stops, crew, settings, depot=data.ward_office(bind, ward_id),
                              boundary=ward["boundary"] if ward else None, travel=model, date=date)
    if graph_notice is not None:
        result = dataclasses.replace(result, notices=(graph_notice, *result.notices))
    found = {int(i) for i in frame["id"]} if len(frame) else set()
    missing = [int(i) for i in establishment_ids if int(i) not in found]
    if missing:
        extra = tuple(routing.Dropped(routing.Stop(i, f"#{i}", None, None),
                                      routing.Notice("not_plannable_record", {"name": f"#{i}"})) for i in missing)
        result = dataclasses.replace(result, dropped=result.dropped + extra)
    return result


def _summary(r: routing.Route) -> dict[str, Any]:
    return {"start": r.start, "end": r.end, "start_s": r.start_s, "end_s": r.end_s, "lunch": r.lunch,
            "travel_s": r.travel_s, "distance_m": round(r.distance_m), "service_s": r.service_s,
            "return_travel_s": r.return_travel_s, "return_distance_m": round(r.return_distance_m)}


def save_plan(bind: db.Bind, ward_id: int, result: routing.Plan, *, user: User | None = None) -> list[int]:
    """Store each inspector's route for the plan's date, replacing that inspector's earlier plan for the day."""
    auth.require(user, "record_inspection")
    if result.date is None:
        raise GeomapError("A plan needs a date before it can be saved.")
    ids = []
    with db.transaction(bind) as conn:
        for route in result.routes:
            stops = [{"order": v.order, "establishment_id": v.stop.id, "name": v.stop.name, "address": v.stop.address,
                      "lon": v.stop.lon, "lat": v.stop.lat, "arrival_s": v.arrival_s, "start_s": v.start_s,
                      "end_s": v.end_s, "must_visit": v.stop.must_visit, "priority": v.stop.priority}
                     for v in route.visits]
            new_id = data.replace_route(
                conn, ward_id, result.date, inspector_id=route.inspector.user_id, inspector_name=route.inspector.name,
                stops=stops, summary={**_summary(route), "travel_model": result.travel_model},
                created_by=user.id if user is not None else None)
            audit.record(conn, action="plan_route", entity_type="inspection_route", entity_id=new_id, user=user,
                         after={"route_date": result.date, "inspector": route.inspector.name,
                                "stops": [s["establishment_id"] for s in stops]})
            ids.append(new_id)
    return ids


def routes_on(bind: db.Bind, ward_id: int, day: dt.date, *, inspector_id: int | None = None) -> list[dict[str, Any]]:
    """Saved routes of ``day`` (one inspector's when given), each stop marked with the result recorded that day."""
    routes = data.saved_routes(bind, ward_id, day, inspector_id=inspector_id)
    done = data.results_on(bind, day, (s["establishment_id"] for r in routes for s in r["stops"]))
    for r in routes:
        for s in r["stops"]:
            s["recorded"] = done.get(int(s["establishment_id"]))
    return routes


def record_visit(
    bind: db.Bind, establishment_id: int, result: str, *, day: dt.date | None = None, kind: str = "periodic",
    violations: Sequence[Mapping[str, Any]] | None = None, notes: str | None = None,
    photo_files: Sequence[tuple[str, bytes]] = (), user: User | None = None, made_via: str = "staff_app",
    capture: Mapping[str, Any] | None = None, cleaned_photos: Sequence[photos.Photo] = (),
) -> int:
    """Record an on-site result with its photos in one unit of work; returns the inspection id.

    The inspection itself goes through :func:`geomap.records.edit.record_inspection` (validation,
    follow-up date after a violation, audit, ``made_via`` and the phone's ``capture``); photos are
    cleaned of EXIF before storing (``cleaned_photos`` were already). A bad photo refuses the whole
    save, so nothing is half-written.
    """
    cleaned = [*cleaned_photos, *(photos.process(content, name=name) for name, content in photo_files)]
    with db.transaction(bind) as conn:
        inspection_id = edit.record_inspection(
            conn, establishment_id, day or status.today(), kind, result, violations=violations, notes=notes,
            user=user, made_via=made_via, capture=capture)
        for photo in cleaned:
            data.add_photo(conn, inspection_id, media_type=photo.media_type, width=photo.width, height=photo.height,
                           content=photo.content)
    return inspection_id


def follow_up_of(bind: db.Bind, inspection_id: int) -> dt.date | None:
    """The follow-up date scheduled by an inspection (after a violation), None otherwise."""
    return data.follow_up_due(bind, inspection_id)


def inspection_photos(bind: db.Bind, inspection_id: int) -> list[dict[str, Any]]:
    """An inspection's photos (id, media_type, width, height, content), in the order stored."""
    return data.photos_of(bind, inspection_id)

