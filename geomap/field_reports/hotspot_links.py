"""Links from a hotspot to the report list (pure): :func:`geomap.links.report_cells` builds one,
:func:`parse_cells_link` reads it back into a :class:`CellFilter`; :func:`one_grid` checks that a link's
cells are of one grid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from geomap import links
from geomap.field_reports import ReportError
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.models import REPORT_CATEGORIES


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def one_grid(cells: Sequence[str], *, srid: int) -> Any:
    """The one :class:`geomap.field_reports.hotspots.Grid` all ``cells`` belong to (squares laid in ``srid``).

    Cells of different grids (H3 and squares, two H3 resolutions, two square sizes) raise
    :class:`ReportError` (field ``cell``): a cell list is matched against one grid only."""
    from geomap.field_reports import hotspots

    grids: dict[Any, str] = {}
    for cell in cells:
        grids.setdefault(hotspots.grid_of(cell, srid=srid), cell)
    if len(grids) > 1:
        kinds = ", ".join(f"{_grid_name(g)} ('{c[:20]}')" for g, c in grids.items())
        raise ReportError(f"Liên kết trộn ô của nhiều lưới khác nhau: {kinds}; mọi ô phải cùng một lưới.",
                          f"The link mixes cells of different grids: {kinds}; all cells must be of one grid.",
                          "cell")
    return next(iter(grids))


def _grid_name(grid: Any) -> str:
    return f"H3 r{grid.resolution}" if grid.kind == "h3" else f"{grid.cell_m:g} m"



#: most cells a link may name (a hotspot is a few dozen cells)
MAX_LINK_CELLS = 2000
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class CellFilter:
    """What a hotspot link asks the report list for: reports in ``cells`` in [since, until), in
    ward ``ward`` (its slug; None for a link that does not say)."""

    cells: tuple[str, ...]
    since: dt.datetime
    until: dt.datetime
    categories: tuple[str, ...] = ()
    ward: str | None = None


_OFFSET_LOST_PLUS = re.compile(r"^(.*\d)\s(\d{2}:?\d{2})$")


def _link_time(value: str, name: str) -> dt.datetime:
    text = value.strip()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        # an old, unencoded link: "…T00:00:00+07:00" arrives as "…T00:00:00 07:00"
        m = _OFFSET_LOST_PLUS.match(text)
        try:
            when = dt.datetime.fromisoformat(f"{m.group(1)}+{m.group(2)}") if m else None
        except ValueError:
            when = None
        if when is None:
            shown = value[:40]
            raise ReportError(
                f"Liên kết có '{name}' không phải ngày giờ hợp lệ ('{shown}'); dùng dạng 2026-03-01T00:00:00+07:00.",
                f"The link's '{name}' is not a valid date and time ('{shown}'); use e.g. 2026-03-01T00:00:00+07:00.",
                name) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=LOCAL_TZ)


def parse_cells_link(params: Mapping[str, str | None], *, now: dt.datetime | None = None,
                     default_days: int = 90) -> CellFilter | None:
    """The :class:`CellFilter` in a page's query parameters (None: the link names no cell).

    Bad cells (or cells of more than one grid), dates, categories or ward slug raise
    :class:`ReportError` with a message for the page; a missing ``until`` is now, a missing
    ``since`` ``default_days`` before ``until``."""
    from geomap.field_reports import hotspots

    cells = tuple(dict.fromkeys(c.strip() for c in (params.get(links.CELL_PARAM) or "").split(",") if c.strip()))
    if not cells:
        return None
    if len(cells) > MAX_LINK_CELLS:
        raise ReportError(f"Liên kết có quá nhiều ô lưới ({len(cells):,}; tối đa {MAX_LINK_CELLS:,}).",
                          f"The link names too many grid cells ({len(cells):,}; at most {MAX_LINK_CELLS:,}).",
                          "cell")
    bad = next((c for c in cells if not hotspots.is_cell_id(c)), None)
    if bad is not None:
        raise ReportError(f"Liên kết có mã ô lưới không hợp lệ ('{bad[:40]}').",
                          f"The link has an invalid grid cell id ('{bad[:40]}').", "cell")
    one_grid(cells, srid=hotspots.Grid().srid)  # any CRS: only the kind, resolution and size are compared
    ward = (params.get(links.WARD_PARAM) or "").strip() or None
    if ward is not None and not _SLUG.fullmatch(ward):
        raise ReportError(f"Liên kết có mã phường không hợp lệ ('{ward[:40]}').",
                          f"The link has an invalid ward slug ('{ward[:40]}').", links.WARD_PARAM)
    until = (_link_time(params[links.UNTIL_PARAM], links.UNTIL_PARAM) if params.get(links.UNTIL_PARAM)
             else (now or _now()))
    since = (_link_time(params[links.SINCE_PARAM], links.SINCE_PARAM) if params.get(links.SINCE_PARAM)
             else until - dt.timedelta(days=default_days))
    if since >= until:
        raise ReportError("Trong liên kết, 'since' phải trước 'until'.",
                          "In the link, 'since' must come before 'until'.", "since")
    categories = tuple(c.strip() for c in (params.get(links.CATEGORY_PARAM) or "").split(",") if c.strip())
    unknown = [c for c in categories if c not in REPORT_CATEGORIES]
    if unknown:
        raise ReportError(f"Liên kết có lĩnh vực không tồn tại: {', '.join(unknown)[:80]}.",
                          f"The link names unknown categories: {', '.join(unknown)[:80]}.", "category")
    return CellFilter(cells=cells, since=since, until=until, categories=categories, ward=ward)
