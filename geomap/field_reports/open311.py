"""Open311 GeoReport v2 reads: the services (report categories) and reports as service requests.

``service_request_id`` is the report's public id (never the sequential one). Internal statuses map
onto the spec's ``open``/``closed``; the internal status and the latest public note go in
``status_notes``, as FixMyStreet does. The HTTP side (formats, errors, API keys, rate limits) is
the route, :mod:`geomap.web.routes.open311`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from geomap import db, i18n, links
from geomap.field_reports import DONE_STATUSES, OPEN_STATUSES, SET_ASIDE_STATUSES, data
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.wards import data as ward_data

#: the spec's default window for GET requests without dates, and its result cap
DEFAULT_DAYS = 90
MAX_RESULTS = 1000

_GROUPS = {
    "garbage": ("Môi trường", "Environment"), "sanitation": ("Môi trường", "Environment"),
    "infrastructure": ("Hạ tầng đô thị", "Urban infrastructure"),
    "urban_order": ("Trật tự đô thị", "Urban order"), "food_safety": ("An toàn thực phẩm", "Food safety"),
    "other": ("Khác", "Other"),
}
_KEYWORDS = {
    "garbage": "rác, rác thải, đổ trộm, garbage, litter, dumping",
    "infrastructure": "đèn đường, ổ gà, cống, vỉa hè, streetlight, pothole, drain, pavement",
    "urban_order": "lấn chiếm, vỉa hè, xây dựng trái phép, encroachment, illegal construction",
    "sanitation": "vệ sinh, nước thải, mùi hôi, sanitation, sewage, odour",
    "food_safety": "an toàn thực phẩm, ngộ độc, food safety, food poisoning",
    "other": "khác, other",
}
_DESCRIPTIONS = {
    "garbage": ("Rác thải, đổ rác không đúng nơi quy định", "Garbage, illegal dumping"),
    "infrastructure": ("Đèn đường, mặt đường, cống, vỉa hè hư hỏng", "Broken street lights, roads, drains, pavements"),
    "urban_order": ("Lấn chiếm lòng lề đường, xây dựng trái phép", "Pavement encroachment, illegal construction"),
    "sanitation": ("Vệ sinh môi trường, nước thải, mùi hôi", "Sanitation, sewage, odours"),
    "food_safety": ("Vi phạm an toàn thực phẩm", "Food-safety violations"),
    "other": ("Phản ánh khác", "Other problems"),
}


def iso(value: dt.datetime | None) -> str | None:
    """A time as the spec writes it (W3C, local offset, seconds)."""
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None


def service(code: str, lang: str) -> dict[str, Any]:
    g = _GROUPS[code]
    return {
        "service_code": code,
        "service_name": i18n.code_label("report_category", code, lang),
        "description": _DESCRIPTIONS[code][1 if lang == "en" else 0],
        "metadata": False,
        "type": "realtime",
        "keywords": _KEYWORDS[code],
        "group": g[1 if lang == "en" else 0],
    }


def status_notes(row: dict[str, Any], lang: str) -> str:
    """Internal status and latest public note, FixMyStreet style."""
    label = i18n.code_label("report_status", row["status"], lang)
    parts = [label]
    if row.get("duplicate_of_public_id"):
        parts.append(("duplicate of " if lang == "en" else "trùng với ") + row["duplicate_of_public_id"])
    if row.get("last_note") and row["status"] != "new":
        parts.append(row["last_note"])
    return " — ".join(parts)


def service_request(row: dict[str, Any], lang: str, base_url: str) -> dict[str, Any]:
    """A report as a GeoReport v2 service request (every spec field present)."""
    closed = row["status"] not in OPEN_STATUSES
    agency = row["ward_name"] if row["status"] != "not_ward" else (
        "Cơ quan khác (không thuộc thẩm quyền phường)" if lang != "en" else "Another authority")
    return {
        "service_request_id": row["public_id"],
        "status": "closed" if closed else "open",
        "status_notes": status_notes(row, lang),
        "service_name": i18n.code_label("report_category", row["category"], lang),
        "service_code": row["category"],
        "description": row["description"],
        "agency_responsible": f"UBND {agency}" if row["status"] != "not_ward" else agency,
        "service_notice": None,
        "requested_datetime": iso(row["reported_at"]),
        "updated_datetime": iso(max(filter(None, (row["updated_at"], row["last_update"])), default=None)),
        "expected_datetime": iso(row["deadline_at"]),
        "address": row["address"],
        "address_id": None,
        "zipcode": None,
        "lat": round(float(row["lat"]), 7),
        "long": round(float(row["lon"]), 7),
        "media_url": links.report_photo(row["public_id"], 1, base_url) if row["photos"] else None,
    }


def ward_for_jurisdiction(bind: db.Bind, jurisdiction_id: str | None) -> tuple[int | None, str | None]:
    """(ward id, None) for a served ``jurisdiction_id`` (a ward slug), (None, None) without one,
    (None, problem) for one not served here."""
    if not jurisdiction_id:
        return None, None
    found = ward_data.ward_by_slug(bind, jurisdiction_id)
    if found is None:
        return None, f"jurisdiction_id '{jurisdiction_id[:64]}' is not served here"
    return int(found["id"]), None


def statuses_for(wanted: Sequence[str]) -> tuple[str, ...] | None:
    """The internal statuses behind the spec's ``open`` / ``closed`` (None: both, no filter)."""
    if not wanted or set(wanted) == {"open", "closed"}:
        return None
    return OPEN_STATUSES if list(wanted) == ["open"] else (*DONE_STATUSES, *SET_ASIDE_STATUSES)


def requests(bind: db.Bind, **filters: Any) -> list[dict[str, Any]]:
    """Reports with what GeoReport v2 shows (no personal data), newest first, at most :data:`MAX_RESULTS`.

    ``filters`` are those of :func:`geomap.field_reports.data.open311_requests`: ``public_ids`` (given:
    only those, the other filters ignored, as the spec says), ``categories``, ``start``, ``end``,
    ``statuses``, ``ward_id``, ``limit``.
    """
    return data.open311_requests(bind, **{"limit": MAX_RESULTS, **filters})
