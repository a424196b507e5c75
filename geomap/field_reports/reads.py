"""Reading reports: the staff work lists, one report with its history, redaction of the reporter's
personal fields, the public tracking view, overdue / due soon, and the hotspot analysis with the
reports behind its cells.

Every function takes a :data:`geomap.db.Bind` (an Engine, or a Connection the caller holds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from geomap import db, i18n
from geomap.accounts import data as accounts_data
from geomap.errors import UnknownWard
from geomap.field_reports import SET_ASIDE_STATUSES, NotFound, data
from geomap.field_reports.hotspot_links import one_grid
from geomap.i18n import code_label
from geomap.users import User
from geomap.wards import data as ward_data

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "rep.step.assigned": ("Phân công cho {name}", "Assigned to {name}"),
    "rep.step.received_via": ("Tiếp nhận qua kênh: {channel}", "Received via: {channel}"),
}

if TYPE_CHECKING:  # imported when used: scipy and geopandas stay out of the public service
    from geomap.field_reports import hotspots


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def work_list(bind: db.Bind, ward_id: int, *, now: dt.datetime | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Reports of a ward for the staff work lists, most urgent deadline first, as of ``now`` (default: now).

    ``filters`` are those of :func:`geomap.field_reports.data.work_list`: ``statuses``, ``categories``,
    ``assignee_id``, ``overdue_only``, ``due_within_hours``, ``since``, ``until``, ``ids``, ``limit`` and
    ``with_duplicates``: each row also gets ``likely_duplicate``, True when the report is open and
    :func:`geomap.field_reports.intake.suggest_duplicates` would find something for it (an EXISTS in
    the same query, not one query per row)."""
    return data.work_list(bind, ward_id, now=now or _now(), **filters)


def overdue(bind: db.Bind, ward_id: int, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open reports whose deadline has passed."""
    return work_list(bind, ward_id, overdue_only=True, now=now)


def due_soon(bind: db.Bind, ward_id: int, *, hours: float = 24,
             now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open reports due within ``hours``."""
    return work_list(bind, ward_id, due_within_hours=hours, now=now)


def get(bind: db.Bind, report_id: int) -> dict[str, Any]:
    """One report with its full (internal) history and photo ids."""
    with db.read(bind) as c:
        ward_id = data.ward_of(c, report_id)
        rows = work_list(c, ward_id, ids=[report_id]) if ward_id is not None else []
        if not rows:
            raise NotFound(f"#{report_id}")
        report = rows[0]
        report["history"] = data.history(c, report_id)
        report["photo_ids"] = data.photo_ids(c, report_id)
        if report["duplicate_of_id"]:
            report["duplicate_of_public_id"] = data.public_id_of(c, report["duplicate_of_id"])
        return report


def step_note(step: Mapping[str, Any], lang: str = "vi") -> str:
    """What a step of a report's history says in ``lang``: the first step the channel the report came in by
    ("Tiếp nhận qua kênh …" / "Received via …"), an assignment (staff history only) its assignee ("Phân
    công cho …" / "Assigned to …"), each followed by what the officer wrote; any other step is its note."""
    note = step.get("note") or ""
    if step.get("assignee_name"):
        said = i18n.t("rep.step.assigned", lang).format(name=step["assignee_name"])
    elif step.get("channel"):
        said = i18n.t("rep.step.received_via", lang).format(channel=code_label("report_channel", step["channel"], lang))
    else:
        return note
    return f"{said}: {note}" if note else said


def hidden_fields(user: User | None) -> frozenset[str]:
    """Personal fields of a report (reporter name, contact: ``Field.personal`` on the ``field_reports``
    layer) that ``user`` may not see, by the project's one rule, :func:`geomap.auth.visible_fields`
    (only roles holding ``view_personal``; not inspectors, not the public)."""
    import layers
    from geomap import auth

    layer = layers.get("field_reports")
    visible = {f.name for f in auth.visible_fields(layer, user)}
    return frozenset(f.name for f in layer.personal_fields if f.name not in visible)


def redact_for(report: Mapping[str, Any], user: User | None) -> dict[str, Any]:
    """A report (from :func:`get` or :func:`work_list`) without the personal fields ``user`` may not see."""
    hide = hidden_fields(user)
    return {k: v for k, v in report.items() if k not in hide}


def public_view(bind: db.Bind, public_id: str) -> dict[str, Any] | None:
    """What the tracking page may show: status, deadline, public history; no personal data; the description
    (the moderator's public text) and photos only once approved (``moderation`` says which)."""
    view = data.public_view(bind, public_id)
    if view is None:
        return None
    del view["id"]
    return view


def photo(bind: db.Bind, public_id: str, n: int) -> tuple[bytes, str] | None:
    """The ``n``-th (1-based) photo of a report as the public may see it: only once a moderator published
    the report's photos (EXIF already stripped at intake)."""
    return data.photo(bind, public_id, n)


def staff_photo(bind: db.Bind, public_id: str, n: int) -> tuple[bytes, str] | None:
    """The ``n``-th (1-based) photo of a report for staff, published or not."""
    return data.photo(bind, public_id, n, public_only=False)


def staff(bind: db.Bind, ward_id: int | None = None) -> list[dict[str, Any]]:
    """Active staff users a report can be assigned to."""
    return accounts_data.active_staff(bind, ward_id)


# --- hotspots -----------------------------------------------------------------------------------


def report_points(bind: db.Bind, ward_id: int, *, include_set_aside: bool = False, **window: Any) -> pd.DataFrame:
    """Report points (id, lon, lat, reported_at, category, status) of a ward for the hotspot layers, made in
    [``since``, ``until``) (of ``categories`` when given: see :func:`geomap.field_reports.data.report_points`).

    Duplicates and not-the-ward's reports are left out by default: a duplicate would count one
    problem twice."""
    return data.report_points(bind, ward_id, exclude_statuses=() if include_set_aside else SET_ASIDE_STATUSES,
                              **window)


def hotspot_layers(
    bind: db.Bind,
    ward_id: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    categories: Sequence[str] | None = None,
    grid: hotspots.Grid | None = None,
    permutations: int | None = None,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> tuple[hotspots.HotspotAnalysis, pd.DataFrame]:
    """Hotspot analysis of a ward's reports in [start, end) (and the window before, for the trend).

    Returns ``(analysis, points)``: a :class:`geomap.field_reports.hotspots.HotspotAnalysis` and the
    current window's points for the heatmap."""
    from geomap.field_reports import hotspots

    prev_start = start - (end - start)
    points = report_points(bind, ward_id, since=prev_start, until=end, categories=categories)
    ward = ward_data.ward_by_id(bind, ward_id, boundary=True)
    if ward is None:
        raise UnknownWard(f"Ward {ward_id} is not loaded in the database.")
    area = ward["boundary"]
    grid = grid or hotspots.Grid()
    if grid.kind == "square":  # squares in the ward's own local CRS: the ids its links carry mean the same squares
        grid = dataclasses.replace(grid, srid=int(ward["local_srid"]))
    analysis = hotspots.analyse(points, area=area, start=start, end=end, grid=grid,
                                permutations=hotspots.PERMUTATIONS if permutations is None else permutations,
                                alpha=alpha, seed=seed)
    current = points[_between(points["reported_at"], start, end)]
    return analysis, current


def hotspot_places(bind: db.Bind, ward_id: int, hotspots_frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Where each ranked hotspot is: ``near_address`` (the nearest placed establishment's address) and
    ``residential_group`` (the group holding the hotspot's centre), either None when there is none;
    the page says it as "quanh K300 Nguyễn Văn Linh, Tổ 74"."""
    if hotspots_frame.empty:
        return []
    return data.places_near(bind, ward_id, list(zip(hotspots_frame["lon"], hotspots_frame["lat"], strict=True)))


def _between(values: Any, start: dt.datetime, end: dt.datetime) -> Any:
    t = pd.to_datetime(values, utc=True)
    return (t >= pd.Timestamp(start)) & (t < pd.Timestamp(end))


def reports_in_cells(
    bind: db.Bind,
    ward_id: int,
    cells: Sequence[str],
    *,
    since: dt.datetime,
    until: dt.datetime,
    categories: Sequence[str] | None = None,
    with_duplicates: bool = False,
) -> list[dict[str, Any]]:
    """The reports behind hotspot cells (what a hotspot links to), most urgent first.

    Square cell ids are read in the ward's local CRS, as :func:`hotspot_layers` lays them. The
    cells must all be of one grid (:class:`~geomap.field_reports.ReportError` otherwise: the others
    would match nothing)."""
    if not cells:
        return []
    ward = ward_data.ward_by_id(bind, ward_id)
    if ward is None or ward["local_srid"] is None:
        return []
    srid = int(ward["local_srid"])
    grid = one_grid(cells, srid=srid)
    points = report_points(bind, ward_id, since=since, until=until, categories=categories)
    if points.empty:
        return []
    inside = set(cells)
    mask = [c in inside for c in grid.assign(points["lon"].to_numpy(), points["lat"].to_numpy())]
    ids = points.loc[mask, "id"].tolist()
    return work_list(bind, ward_id, ids=ids, with_duplicates=with_duplicates) if ids else []
