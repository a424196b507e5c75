"""The field app's services: the inspector's day on the phone, and a visit sent from it.

:func:`day_sheet` is what ``/field/today`` shows: the signed-in inspector's saved plan for the
day (:func:`geomap.inspections.planning.routes_on`), stops in order with planned times, each
with the establishment's ``version`` the phone keeps for the conflict check, navigation links
per leg and a route sketch that draws without internet (:mod:`geomap.inspections.sketch`).
Only fields the registry does not mark personal reach the phone (:func:`geomap.auth.personal_names`).

:func:`submit_visit` applies one submission of the phone's outbox, exactly once per
``client_id``, through the same records service as the staff app
(:func:`geomap.inspections.planning.record_visit` → :func:`geomap.records.edit.record_inspection`:
history, derived statuses, follow-ups by severity, audit). Every submission is kept in
``field_submission`` with what became of it:

- ``applied``: recorded (``made_via = 'field_app'``), with warnings when the phone was more than
  :data:`FAR_M` metres away (the distance is recorded), had no position, or its clock was off;
- ``conflict``: the establishment changed on the server after the phone downloaded it (its
  ``version`` differs): kept, never applied over the newer data, shown to the officer;
- ``refused``: not on the officer's saved plan for that day, another ward, a bad photo or bad
  input; one clear Vietnamese sentence, nothing half-applied.

A replay (same ``client_id``) gets the first answer and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from geomap import auth, db, i18n, status
from geomap.errors import LocalizedError
from geomap.field_reports import photos
from geomap.inspections import data, planning, route_files, routing, sketch
from geomap.inspections.violations import BY_CODE, codes_for
from geomap.models import INSPECTION_KINDS, INSPECTION_RESULTS
from geomap.records.rules import FOLLOW_UP_DAYS
from geomap.users import User
from geomap.wards import data as ward_data

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "visit.applied": ("Đã ghi kết quả cho {name}.", "Result recorded for {name}."),
    "visit.follow_up": ("Lịch tái kiểm tra: {date}.", "Follow-up scheduled for {date}."),
    "visit.back_to_end": ("Về trụ sở", "Back to the office"),
}

#: photos per visit
MAX_PHOTOS = 5
#: a phone further than this from the establishment gets a warning (the visit is still recorded)
FAR_M = 200.0
#: a phone clock further than this from the server's is said (the server's time is the record)
CLOCK_SKEW_S = 10 * 60
#: a result queued offline is accepted up to this many days after the plan's day
QUEUE_DAYS = 2
#: longest note
NOTE_MAX = 2000


class VisitRefused(LocalizedError):
    """A submission that is not applied; ``code`` says why (``not_on_plan``, ``other_ward``, ...)."""

    def __init__(self, code: str, vi: str, en: str, field: str | None = None):
        super().__init__(vi, en, field)
        self.code = code


def _reason(code: str, vi: str, en: str) -> dict[str, str]:
    return {"code": code, "vi": vi, "en": en}


@dataclass(frozen=True)
class Outcome:
    """What became of a submission (the same answer for every replay of its ``client_id``)."""

    status: str  # applied | conflict | refused
    client_id: str
    establishment_id: int | None = None
    establishment_name: str | None = None
    inspection_id: int | None = None
    follow_up_due: dt.date | None = None
    reasons: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    replay: bool = False

    def message(self, lang: str = "vi") -> str:
        """One or two sentences for the officer, in ``lang``."""
        key = "en" if lang == "en" else "vi"
        if self.status == "applied":
            parts = [i18n.t("visit.applied", lang).format(name=self.establishment_name or "")]
            if self.follow_up_due:
                parts.append(i18n.t("visit.follow_up", lang).format(date=self.follow_up_due.strftime("%d/%m/%Y")))
            parts += [w[key] for w in self.warnings]
            return " ".join(parts)
        return " ".join(r[key] for r in self.reasons)

    def as_json(self, lang: str = "vi") -> dict[str, Any]:
        return {"status": self.status, "client_id": self.client_id, "establishment_id": self.establishment_id,
                "inspection_id": self.inspection_id, "replay": self.replay,
                "follow_up_due": self.follow_up_due.isoformat() if self.follow_up_due else None,
                "message": self.message(lang), "reasons": self.reasons, "warnings": self.warnings}

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, replay: bool) -> Outcome:
        return cls(status=row["status"], client_id=str(row["client_id"]), establishment_id=row["establishment_id"],
                   establishment_name=row.get("establishment_name"), inspection_id=row["inspection_id"],
                   follow_up_due=row.get("follow_up_due"), reasons=list(row["reasons"] or []),
                   warnings=list(row["warnings"] or []), replay=replay)


# --- reading what the phone sent ----------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A submission's checked fields."""

    client_id: str
    establishment_id: int
    day: dt.date
    version: int
    result: str
    kind: str
    violations: list[dict[str, Any]]
    note: str | None
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    position_error: str | None
    phone_time: dt.datetime | None
    sent_at: dt.datetime | None


def client_id_of(payload: Mapping[str, Any]) -> str:
    """The submission's client-made id (a UUID), or :class:`VisitRefused` (nothing is stored without one)."""
    try:
        return str(uuid.UUID(str(payload.get("client_id") or "")))
    except (ValueError, TypeError, AttributeError):
        raise VisitRefused("bad_client_id",
                           "Kết quả gửi lên thiếu mã gửi hợp lệ; hãy cập nhật ứng dụng rồi ghi lại.",
                           "The submission has no valid client id; reload the app and record it again.",
                           "client_id") from None


def _int(payload: Mapping[str, Any], key: str, vi: str, en: str) -> int:
    value = payload.get(key)
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        out = int(value)
        if not -2**63 <= out < 2**63 or str(out) != str(value).strip():
            raise ValueError
        return out
    except (ValueError, TypeError):
        raise VisitRefused("bad_input", vi, en, key) from None


def _float(value: Any, low: float, high: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and low <= out <= high else None


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        out = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if out.tzinfo is None or not 2000 <= out.year <= 2100:
        return None
    return out


def read_visit(payload: Mapping[str, Any]) -> Visit:
    """The checked fields of a submission; :class:`VisitRefused` names the first wrong one."""
    client_id = client_id_of(payload)
    establishment_id = _int(payload, "establishment_id", "Kết quả gửi lên không ghi rõ cơ sở nào.",
                            "The submission does not say which establishment.")
    version = _int(payload, "version",
                   "Kết quả gửi lên thiếu phiên bản hồ sơ đã tải; hãy mở lại điểm này rồi ghi lại.",
                   "The submission lacks the record version it was made from; reopen the stop and record again.")
    try:
        day = dt.date.fromisoformat(str(payload.get("day") or ""))
    except ValueError:
        raise VisitRefused("bad_input", "Kết quả gửi lên không ghi rõ ngày của lộ trình.",
                           "The submission does not say the day of its route.", "day") from None
    result = payload.get("result")
    if result not in INSPECTION_RESULTS:
        raise VisitRefused("bad_input", "Hãy chọn kết quả kiểm tra (đạt, vi phạm, đóng cửa hoặc không tìm thấy).",
                           "Choose the result (pass, violation, closed or not found).", "result")
    kind = payload.get("kind") or "periodic"
    if kind not in INSPECTION_KINDS:
        raise VisitRefused("bad_input", f"Hình thức kiểm tra '{kind}' không hợp lệ.", f"'{kind}' is not a kind.",
                           "kind")
    note = payload.get("note")
    note = str(note).strip() if note not in (None, "") else None
    if note and len(note) > NOTE_MAX:
        raise VisitRefused("bad_input", f"Ghi chú dài quá {NOTE_MAX} ký tự.",
                           f"The note is over {NOTE_MAX} characters.", "note")
    violations = _violations(payload.get("violations"), result)
    if result == "violation" and not violations:
        raise VisitRefused("bad_input", "Kết quả vi phạm cần chọn ít nhất một lỗi trong danh mục.",
                           "A violation needs at least one code from the list.", "violations")
    position = payload.get("position") if isinstance(payload.get("position"), Mapping) else {}
    lat, lon = _float(position.get("lat"), -90, 90), _float(position.get("lon"), -180, 180)
    if lat is None or lon is None:
        lat = lon = None
    error = payload.get("position_error")
    return Visit(client_id=client_id, establishment_id=establishment_id, day=day, version=version, result=result,
                 kind=kind, violations=violations, note=note, lon=lon, lat=lat,
                 accuracy_m=_float(position.get("accuracy"), 0, 1e7) if lat is not None else None,
                 position_error=str(error)[:40] if error and lat is None else None,
                 phone_time=_instant(payload.get("phone_time")), sent_at=_instant(payload.get("sent_at")))


def _violations(items: Any, result: str) -> list[dict[str, Any]]:
    if result != "violation" or not items:
        return []
    if not isinstance(items, list) or len(items) > len(BY_CODE):
        raise VisitRefused("bad_input", "Danh sách lỗi vi phạm gửi lên không hợp lệ.",
                           "The violation list is not valid.", "violations")
    out, seen = [], set()
    for item in items:
        code = item.get("code") if isinstance(item, Mapping) else None
        known = BY_CODE.get(code) if isinstance(code, str) else None
        if known is None:
            raise VisitRefused("bad_input", f"Mã lỗi '{code}' không có trong danh mục vi phạm của phường.",
                               f"Violation code '{code}' is not in the ward's list.", "violations")
        if code in seen:
            continue
        seen.add(code)
        severity = item.get("severity", known.severity)
        if isinstance(severity, bool) or severity not in FOLLOW_UP_DAYS:
            raise VisitRefused("bad_input", f"Mức độ của lỗi {code} phải là 1, 2 hoặc 3.",
                               f"The severity of {code} must be 1, 2 or 3.", "violations")
        note = str(item.get("note") or "").strip()
        text = known.vi + (f" — {note}" if note else "")
        out.append({"code": code, "severity": int(severity), "text": text[:NOTE_MAX]})
    return out


# --- applying a submission ------------------------------------------------------------------------


def submit_visit(bind: db.Bind, user: User, payload: Mapping[str, Any],
                 photo_files: Sequence[tuple[str, bytes]] = ()) -> Outcome:
    """Apply one submission of the phone's outbox once (see the module's docstring); its outcome.

    Raises :class:`VisitRefused` only when the payload has no valid ``client_id`` (nothing can be
    kept for it); every other refusal is stored and answered as an ``Outcome`` of status ``refused``.
    """
    auth.require(user, "record_inspection", system_ok=False)
    client_id = client_id_of(payload)
    if photo_files:  # a replay's photos are not processed again (without photos the claim below tells)
        stored = data.submission(bind, client_id)
        if stored is not None:
            return _replayed(stored, user)
    kept = {k: v for k, v in payload.items() if k != "csrf_token"}
    kept["photos"] = [{"name": name, "bytes": len(content)} for name, content in photo_files]
    reasons: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    cleaned: list[photos.Photo] = []
    visit: Visit | None = None
    try:
        visit = read_visit(payload)
        if len(photo_files) > MAX_PHOTOS:
            raise VisitRefused("bad_photo",
                               f"Tối đa {MAX_PHOTOS} ảnh cho một lần kiểm tra (đã chọn {len(photo_files)}).",
                               f"At most {MAX_PHOTOS} photos per visit ({len(photo_files)} chosen).", "photos")
        cleaned = [photos.process(content, name=name) for name, content in photo_files]
    except VisitRefused as exc:
        reasons.append(_reason(exc.code, exc.vi, exc.en))
    except photos.PhotoError as exc:
        reasons.append(_reason("bad_photo", exc.vi + ".", exc.en[:1].upper() + exc.en[1:]))
    with db.transaction(bind) as conn:
        submission_id = data.claim_submission(conn, client_id, user_id=user.id, payload=kept)
        if submission_id is None:  # sent twice at once: the other request kept it
            replay = True
        else:
            replay = False
            status_, target, inspection_id = "refused", None, None
            if visit is not None and not reasons:
                try:
                    with db.transaction(conn) as unit:  # a savepoint: a refusal inside leaves nothing behind
                        status_, target, inspection_id = _apply(unit, user, visit, cleaned, reasons, warnings)
                except VisitRefused as exc:
                    reasons.append(_reason(exc.code, exc.vi, exc.en))
                    status_, inspection_id = "refused", None
                except LocalizedError as exc:  # the records service's own checks
                    reasons.append(_reason("invalid", exc.vi, exc.en))
                    status_, inspection_id = "refused", None
            data.finish_submission(
                conn, submission_id, status=status_, ward_id=target["ward_id"] if target else None,
                establishment_id=target["id"] if target else (visit.establishment_id if visit and _exists(
                    conn, visit.establishment_id) else None),
                route_date=visit.day if visit else None, inspection_id=inspection_id, reasons=reasons,
                warnings=warnings)
    stored = data.submission(bind, client_id)
    return _replayed(stored, user) if replay else Outcome.from_row(stored, replay=False)


def _exists(conn, establishment_id: int) -> bool:
    return data.visit_target(conn, establishment_id) is not None


def _replayed(stored: Mapping[str, Any], user: User) -> Outcome:
    if stored["user_id"] is not None and stored["user_id"] != user.id:
        return Outcome("refused", str(stored["client_id"]), reasons=[_reason(
            "bad_client_id", "Mã gửi này đã được dùng cho một kết quả khác; hãy ghi lại kết quả.",
            "This client id was already used for another result; record the result again.")])
    return Outcome.from_row(stored, replay=True)


def _apply(conn, user: User, visit: Visit, cleaned: Sequence[photos.Photo], reasons: list[dict[str, str]],
           warnings: list[dict[str, str]]) -> tuple[str, dict[str, Any] | None, int | None]:
    """Check and record one visit inside the caller's savepoint: (status, establishment, inspection id)."""
    target = data.visit_target(conn, visit.establishment_id, visit.lon, visit.lat)
    if target is None:
        raise VisitRefused("unknown", f"Không có cơ sở số {visit.establishment_id} trong hồ sơ.",
                           f"There is no establishment {visit.establishment_id}.")
    name = target["name"]
    if user.ward_id is not None and target["ward_id"] != user.ward_id:
        raise VisitRefused("other_ward", f"Cơ sở {name} thuộc phường khác; bạn chỉ ghi được kết quả cho phường "
                           "của mình.", f"{name} is in another ward; you may only record results in your own ward.")
    today = status.today()
    if not today - dt.timedelta(days=QUEUE_DAYS) <= visit.day <= today:
        raise VisitRefused("not_on_plan", f"Lộ trình ngày {visit.day:%d/%m/%Y} không còn nhận kết quả (chỉ nhận trong "
                           f"{QUEUE_DAYS} ngày); hãy ghi kết quả này ở trang hồ sơ.",
                           f"The route of {visit.day} no longer takes results (only within {QUEUE_DAYS} days); "
                           "record it on the records page.")
    planned = {int(s["establishment_id"]) for r in data.saved_routes(conn, target["ward_id"], visit.day,
                                                                      inspector_id=user.id) for s in r["stops"]}
    if target["id"] not in planned:
        raise VisitRefused("not_on_plan", f"Cơ sở {name} không có trong lộ trình đã lưu của bạn ngày "
                           f"{visit.day:%d/%m/%Y}; kết quả không được ghi.",
                           f"{name} is not on your saved route of {visit.day}; the result was not recorded.")
    if int(target["version"]) != visit.version:
        reasons.append(_reason(
            "conflict", f"Hồ sơ cơ sở {name} đã được sửa trên máy chủ sau khi điện thoại tải về (phiên bản "
            f"{visit.version} → {target['version']}); kết quả được giữ lại, chưa ghi — hãy mở lại điểm này và ghi lại.",
            f"{name} was changed on the server after the phone downloaded it (version {visit.version} → "
            f"{target['version']}); the result is kept, not recorded — reopen the stop and record it again."))
        return "conflict", target, None
    distance = target["distance_m"]
    if visit.lat is None:
        why = {"denied": ("điện thoại không cho phép lấy vị trí", "location permission denied")}.get(
            visit.position_error or "", ("không lấy được vị trí", "no position available"))
        warnings.append(_reason("no_position", f"Kết quả được ghi không kèm vị trí ({why[0]}).",
                                f"Recorded without a position ({why[1]})."))
    elif distance is not None and distance > FAR_M:
        warnings.append(_reason("far", f"Vị trí điện thoại cách cơ sở {distance:.0f} m (quá {FAR_M:.0f} m); kết quả "
                                "vẫn được ghi, kèm khoảng cách.",
                                f"The phone was {distance:.0f} m from the establishment (over {FAR_M:.0f} m); the "
                                "result is recorded with the distance."))
    if visit.sent_at is not None:
        skew = (visit.sent_at - dt.datetime.now(dt.UTC)).total_seconds()
        if abs(skew) > CLOCK_SKEW_S:
            minutes = round(abs(skew) / 60)
            warnings.append(_reason(
                "clock", f"Đồng hồ điện thoại {'nhanh' if skew > 0 else 'chậm'} {minutes} phút so với máy chủ; giờ "
                "máy chủ được ghi, giờ điện thoại lưu để đối chiếu.",
                f"The phone's clock is {minutes} min {'ahead' if skew > 0 else 'behind'}; the server's time is "
                "recorded, the phone's kept for the audit."))
    capture = {"client_id": visit.client_id, "phone_lon": visit.lon, "phone_lat": visit.lat,
               "phone_accuracy_m": visit.accuracy_m, "distance_m": round(distance, 1) if distance is not None else None,
               "phone_time": visit.phone_time}
    inspection_id = planning.record_visit(
        conn, target["id"], visit.result, day=visit.day, kind=visit.kind, violations=visit.violations or None,
        notes=visit.note, user=user, made_via="field_app", capture=capture, cleaned_photos=cleaned)
    return "applied", target, inspection_id


# --- the day on the phone -------------------------------------------------------------------------

#: what of a stop reaches the phone (never a personal field: checked against the registry as well)
_STOP_FIELDS = ("order", "establishment_id", "name", "address", "lon", "lat", "start_s", "end_s", "must_visit")


def day_sheet(bind: db.Bind, user: User, day: dt.date | None = None, lang: str = "vi") -> dict[str, Any]:
    """The inspector's saved plan for ``day`` (default today) as the phone shows it.

    {day, ward_id, ward_name, stops: [{n, order, establishment_id, name, address, lon, lat, time, version,
    recorded, nav_google, nav_geo}], back: {nav_google, nav_geo} | None, sketch: {...} | None,
    codes: [...], open: [submissions in conflict or refused]}
    """
    auth.require(user, "record_inspection", system_ok=False)
    day = day or status.today()
    ward_id = user.ward_id
    routes = []
    if ward_id is not None:
        routes = planning.routes_on(bind, ward_id, day, inspector_id=user.id)
    else:  # a city-wide account: its route of the day in whichever ward it was planned
        for ward in ward_data.loaded_wards(bind):
            routes = planning.routes_on(bind, ward["id"], day, inspector_id=user.id)
            if routes:
                ward_id = ward["id"]
                break
    hidden = auth.personal_names()
    stops: list[dict[str, Any]] = []
    start = end = None
    if routes:
        route = routes[0]
        summary = route.get("summary") or {}
        start = tuple(summary["start"]) if summary.get("start") else None
        end = tuple(summary["end"]) if summary.get("end") else start
        versions = data.versions_of(bind, (s["establishment_id"] for s in route["stops"]))
        previous = start
        for n, s in enumerate(route["stops"], start=1):
            stop = {k: s.get(k) for k in _STOP_FIELDS if k not in hidden}
            here = (s["lon"], s["lat"]) if s.get("lon") is not None else None
            stop.update(n=n, time=routing.hhmm(s["start_s"]) if s.get("start_s") is not None else "",
                        version=versions.get(int(s["establishment_id"])),
                        recorded=_recorded(s.get("recorded")),
                        nav_google=route_files.google_maps_url(previous, here) if previous and here else None,
                        nav_geo=route_files.geo_uri(here, s.get("name")) if here else None)
            stops.append(stop)
            previous = here or previous
    ward = ward_data.ward_by_id(bind, ward_id, boundary=True) if ward_id is not None else None
    back = None
    if stops and end:
        last = next(((s["lon"], s["lat"]) for s in reversed(stops) if s.get("lon") is not None), None)
        if last:
            back = {"nav_google": route_files.google_maps_url(last, end),
                    "nav_geo": route_files.geo_uri(end, i18n.t("visit.back_to_end", lang))}
    open_items = [Outcome.from_row(r, replay=False) for r in
                  data.submissions_of(bind, user.id, day, ("conflict", "refused"))] if user.id is not None else []
    return {
        "day": day, "ward_id": ward_id, "ward_name": ward["name"] if ward else "",
        "stops": stops, "back": back,
        "sketch": sketch.route_svg(ward["boundary"] if ward else None,
                                   [(s["lon"], s["lat"]) for s in stops if s.get("lon") is not None], start)
        if stops else None,
        "codes": [{"code": c.code, "severity": c.severity, "label": c.label(lang)} for c in codes_for()],
        "open": [{"client_id": o.client_id, "status": o.status, "name": o.establishment_name,
                  "message": o.message(lang)} for o in open_items],
    }


def _recorded(done: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not done:
        return None
    due = done.get("follow_up_due")
    return {"result": done["result"], "follow_up_due": due.isoformat() if due else None}
