"""Inspection planning services: the database side of :mod:`geomap.risk` and :mod:`geomap.routing`.

The pages and the command line call these; each takes a connection (or engine), reads
what it needs, calls the pure modules and returns plain values. Saving a day's routes
and recording a visit run in one unit of work each (:func:`geomap.db.transaction`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine

from geomap import audit, auth, db, photos, risk, routing, status
from geomap.errors import GeomapError
from geomap.records import edit

Bind = Engine | Connection
User = Mapping[str, Any] | None


def _rows(bind: Bind, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(sql), dict(params or {})).mappings()]
    return [dict(r) for r in bind.execute(sa.text(sql), dict(params or {})).mappings()]


def ward_office(bind: Bind, ward_id: int) -> tuple[float, float] | None:
    """(lon, lat) of the ward office (``public_facility`` of kind ``ward_office``), None when not on record."""
    rows = _rows(bind, "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM public_facility "
                       "WHERE ward_id = :w AND kind = 'ward_office' ORDER BY id LIMIT 1", {"w": ward_id})
    return (float(rows[0]["lon"]), float(rows[0]["lat"])) if rows else None


def ward_boundary(bind: Bind, ward_id: int) -> BaseGeometry | None:
    rows = _rows(bind, "SELECT ST_AsBinary(geom) AS g FROM ward WHERE id = :w", {"w": ward_id})
    return wkb.loads(bytes(rows[0]["g"])) if rows and rows[0]["g"] is not None else None


def inspectors(bind: Bind, ward_id: int) -> list[dict[str, Any]]:
    """Active staff who hold ``record_inspection`` in this ward (or in every ward), by name."""
    rows = _rows(bind, "SELECT id, username, full_name, role FROM app_user WHERE is_active "
                       "AND (ward_id = :w OR ward_id IS NULL) ORDER BY full_name", {"w": ward_id})
    return [r for r in rows if auth.can(r, "record_inspection")]


def stops_from(frame: pd.DataFrame, must_visit: Iterable[int] = ()) -> list[routing.Stop]:
    """Routing stops from rows of :func:`geomap.risk.due_list` (risk score as priority)."""
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
    bind: Bind, ward_id: int, ward_slug: str, establishment_ids: Sequence[int], crew: Sequence[routing.Inspector],
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
    frame = risk.score(risk.gather_inputs(bind, ward_id, date, weights, ids=establishment_ids), weights, date) \
        if establishment_ids else pd.DataFrame(columns=["id"])
    stops = stops_from(frame, must_visit)
    travel = None
    settings = settings or routing.DaySettings()
    graph_notice: routing.Notice | None = None
    if street_graph:
        try:
            travel = routing.StreetGraph.from_file(street_graph, speed_kmh=settings.speed_kmh,
                                                   detour_factor=settings.detour_factor,
                                                   local_srid=settings.local_srid)
            if street_graph_name:
                travel.source = street_graph_name
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
    result = routing.plan_day(stops, crew, settings, depot=ward_office(bind, ward_id),
                              boundary=ward_boundary(bind, ward_id), travel=travel, date=date)
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


def save_plan(bind: Bind, ward_id: int, result: routing.Plan, *, user: User = None) -> list[int]:
    """Store each inspector's route for the plan's date, replacing that inspector's earlier plan for the day."""
    auth.require(user, "record_inspection")
    if result.date is None:
        raise GeomapError("A plan needs a date before it can be saved.")
    ids = []
    with db.transaction(bind) as conn:
        for route in result.routes:
            conn.execute(sa.text(
                "DELETE FROM inspection_route WHERE ward_id = :w AND route_date = :d AND "
                "(inspector_id = :uid OR (inspector_id IS NULL AND :uid IS NULL AND inspector_name = :name))"),
                {"w": ward_id, "d": result.date, "uid": route.inspector.user_id, "name": route.inspector.name})
            stops = [{"order": v.order, "establishment_id": v.stop.id, "name": v.stop.name, "address": v.stop.address,
                      "lon": v.stop.lon, "lat": v.stop.lat, "arrival_s": v.arrival_s, "start_s": v.start_s,
                      "end_s": v.end_s, "must_visit": v.stop.must_visit, "priority": v.stop.priority}
                     for v in route.visits]
            new_id = int(conn.execute(sa.text(
                "INSERT INTO inspection_route (ward_id, route_date, inspector_id, inspector_name, stops, summary, "
                "created_by) VALUES (:w, :d, :uid, :name, CAST(:stops AS jsonb), CAST(:summary AS jsonb), :by) "
                "RETURNING id"),
                {"w": ward_id, "d": result.date, "uid": route.inspector.user_id, "name": route.inspector.name,
                 "stops": json.dumps(stops, ensure_ascii=False),
                 "summary": json.dumps({**_summary(route), "travel_model": result.travel_model}, ensure_ascii=False),
                 "by": (user or {}).get("id")}).scalar_one())
            audit.record(conn, action="plan_route", entity_type="inspection_route", entity_id=new_id, user=user,
                         after={"route_date": result.date, "inspector": route.inspector.name,
                                "stops": [s["establishment_id"] for s in stops]})
            ids.append(new_id)
    return ids


def routes_on(bind: Bind, ward_id: int, day: dt.date, *, inspector_id: int | None = None) -> list[dict[str, Any]]:
    """Saved routes of ``day`` (one inspector's when given), each stop marked with the result recorded that day."""
    sql = ("SELECT id, inspector_id, inspector_name, stops, summary FROM inspection_route "
           "WHERE ward_id = :w AND route_date = :d")
    params: dict[str, Any] = {"w": ward_id, "d": day}
    if inspector_id is not None:
        sql += " AND inspector_id = :uid"
        params["uid"] = inspector_id
    routes = _rows(bind, sql + " ORDER BY inspector_name, id", params)
    ids = sorted({int(s["establishment_id"]) for r in routes for s in r["stops"]})
    done: dict[int, dict[str, Any]] = {}
    if ids:
        stmt = sa.text("SELECT DISTINCT ON (establishment_id) establishment_id, id, result, follow_up_due "
                       "FROM inspection WHERE inspected_on = :d AND establishment_id IN :ids "
                       "ORDER BY establishment_id, id DESC").bindparams(sa.bindparam("ids", expanding=True))
        if isinstance(bind, Engine):
            with bind.connect() as c:
                found = c.execute(stmt, {"d": day, "ids": ids}).mappings().all()
        else:
            found = bind.execute(stmt, {"d": day, "ids": ids}).mappings().all()
        done = {int(r["establishment_id"]): dict(r) for r in found}
    for r in routes:
        for s in r["stops"]:
            s["recorded"] = done.get(int(s["establishment_id"]))
    return routes


def record_visit(
    bind: Bind, establishment_id: int, result: str, *, day: dt.date | None = None, kind: str = "periodic",
    violations: Sequence[Mapping[str, Any]] | None = None, notes: str | None = None,
    photo_files: Sequence[tuple[str, bytes]] = (), user: User = None,
) -> int:
    """Record an on-site result with its photos in one unit of work; returns the inspection id.

    The inspection itself goes through :func:`geomap.records.edit.record_inspection` (validation,
    follow-up date after a violation, audit); photos are cleaned of EXIF before storing.
    A bad photo refuses the whole save, so nothing is half-written.
    """
    cleaned = [photos.process(data, name=name) for name, data in photo_files]
    with db.transaction(bind) as conn:
        inspection_id = edit.record_inspection(
            conn, establishment_id, day or status.today(), kind, result, violations=violations, notes=notes,
            user=user)
        for photo in cleaned:
            conn.execute(sa.text(
                "INSERT INTO inspection_photo (inspection_id, media_type, width, height, content) "
                "VALUES (:i, :m, :w, :h, :c)"),
                {"i": inspection_id, "m": photo.media_type, "w": photo.width, "h": photo.height, "c": photo.content})
    return inspection_id


def follow_up_of(bind: Bind, inspection_id: int) -> dt.date | None:
    """The follow-up date scheduled by an inspection (after a violation), None otherwise."""
    rows = _rows(bind, "SELECT follow_up_due FROM inspection WHERE id = :i", {"i": inspection_id})
    return rows[0]["follow_up_due"] if rows else None


def inspection_photos(bind: Bind, inspection_id: int) -> list[dict[str, Any]]:
    return _rows(bind, "SELECT id, media_type, width, height, content FROM inspection_photo "
                       "WHERE inspection_id = :i ORDER BY id", {"i": inspection_id})


routing.i18n.register({
    "routing.not_plannable_record": ("{name}: không tìm thấy, đã đóng cửa hoặc thuộc phường khác.",
                                     "{name}: not found, closed, or in another ward."),
    "routing.graph_unusable": ("Không dùng được tệp mạng đường: {reason} Lộ trình dưới đây tính theo khoảng cách "
                               "đường thẳng × {detour} với tốc độ {speed} km/h.",
                               "The street graph file cannot be used: {reason} The plan below uses straight-line "
                               "distance × {detour} at {speed} km/h."),
})
