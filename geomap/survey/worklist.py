"""The survey worklist: establishments of the officer's ward without an exact position, nearest first."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from geomap import config, db
from geomap.errors import LocalizedError, UnknownWard
from geomap.records import edit
from geomap.survey import data
from geomap.users import User
from geomap.wards import data as ward_data

#: rows per worklist page (a phone screen or two)
PAGE_SIZE: int = 20


@dataclass(frozen=True)
class Position:
    """Where the phone is: WGS84 degrees and the accuracy the browser reports (metres, None: unknown)."""

    lon: float
    lat: float
    accuracy_m: float | None = None

    @classmethod
    def parse(cls, lon: Any, lat: Any, accuracy_m: Any = None) -> Position | None:
        """A position from form or query values; None when lon/lat are absent (position denied or unavailable).

        Raises :class:`PositionError` for values that are not coordinates.
        """
        if lon in (None, "") and lat in (None, ""):
            return None
        try:
            x, y = float(lon), float(lat)
            acc = None if accuracy_m in (None, "") else float(accuracy_m)
        except (TypeError, ValueError):
            raise PositionError(f"Vị trí '{lon}, {lat}' không phải tọa độ hợp lệ.",
                                f"The position '{lon}, {lat}' is not a valid coordinate.", "position") from None
        if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90) or (
                acc is not None and not (math.isfinite(acc) and acc >= 0)):
            raise PositionError(f"Vị trí '{lon}, {lat}' không phải tọa độ hợp lệ.",
                                f"The position '{lon}, {lat}' is not a valid coordinate.", "position")
        return cls(x, y, acc)


class PositionError(LocalizedError):
    """The phone's position cannot be used (bad values, or too inaccurate without a confirmation)."""


def ward_of(bind: db.Bind, user: User | None) -> int:
    """The ward a survey works in: the account's own, or the default ward for a city-wide account."""
    if user is not None and user.ward_id is not None:
        return user.ward_id
    return ward_data.ward_id(bind, config.DEFAULT_WARD)


def may_survey(bind: db.Bind, user: User | None) -> bool:
    """Whether ``user`` may open survey mode in their ward (the field app's landing shows the link)."""
    try:
        return edit.survey_allowed(bind, user, ward_of(bind, user))
    except UnknownWard:
        return False


def worklist(bind: db.Bind, user: User | None, *, here: Position | None = None, page: int = 0,
             page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of the worklist: ``items`` (id, code, name, address, location_quality, residential_group,
    version, distance_m), ``total``, ``page``, ``has_more``. Nearest first from ``here``; without a
    position, by residential group. No personal data (inspectors survey too)."""
    ward_id = ward_of(bind, user)
    edit.require_survey(bind, user, ward_id)
    page = max(0, int(page))
    rows = data.worklist(bind, ward_id, here.lon if here else None, here.lat if here else None, page_size + 1,
                         page * page_size)
    return {"items": rows[:page_size], "total": data.worklist_count(bind, ward_id), "page": page,
            "has_more": len(rows) > page_size, "ward_id": ward_id}
