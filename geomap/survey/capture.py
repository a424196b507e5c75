"""On site: "pin here", the storefront photo, the check of a record, and adding an establishment found on the street.

The rule of the phone's accuracy is here (:func:`accuracy_problem`, pure); every change to the
establishment goes through :mod:`geomap.records.edit` (optimistic locking on the version the
phone loaded, audit), and the photo through :func:`geomap.field_reports.photos.process` (type
sniffed, resized, EXIF stripped) in the same transaction: all of it is saved, or none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geomap import auth, db
from geomap.field_reports import photos
from geomap.records import edit
from geomap.survey import data
from geomap.survey.worklist import Position, PositionError, ward_of
from geomap.users import User

#: a position less accurate than this (metres) is used only after the officer confirms it
CONFIRM_ACCURACY_M: float = 30.0
#: a pin moving the recorded point further than this (metres) is saved with a warning to check the shop
FAR_MOVE_M: float = 200.0


def accuracy_problem(here: Position, confirmed: bool) -> PositionError | None:
    """Why ``here`` cannot be pinned without a confirmation (None: it can)."""
    if confirmed:
        return None
    if here.accuracy_m is None:
        return PositionError("Không rõ độ chính xác của vị trí; hãy xác nhận ghim tại vị trí này.",
                             "The accuracy of the position is unknown; confirm pinning it here.", "confirm_accuracy")
    if here.accuracy_m > CONFIRM_ACCURACY_M:
        return PositionError(
            f"Vị trí chỉ chính xác trong khoảng {here.accuracy_m:,.0f} m (kém hơn {CONFIRM_ACCURACY_M:.0f} m); "
            "hãy xác nhận ghim tại đây hoặc chờ tín hiệu GPS tốt hơn.",
            f"The position is only accurate to about {here.accuracy_m:,.0f} m (worse than "
            f"{CONFIRM_ACCURACY_M:.0f} m); confirm pinning it here or wait for a better GPS fix.", "confirm_accuracy")
    return None


def form(bind: db.Bind, user: User | None, code: str) -> dict[str, Any]:
    """What the check page shows of establishment ``code`` in the officer's ward (no personal data)."""
    ward_id = ward_of(bind, user)
    edit.require_survey(bind, user, ward_id)
    row = data.form(bind, ward_id, code)
    if row is None:
        raise edit.NotFound(f"Không có cơ sở mã '{code}' ở phường này.",
                            f"There is no establishment '{code}' in this ward.")
    row["photos"] = data.photos_of(bind, row["id"])
    return row


def _clean_photo(photo: bytes | None, name: str) -> photos.Photo | None:
    return photos.process(photo, name=name or "ảnh") if photo else None


def _note(here: Position | None, confirmed: bool, photo_id: int | None) -> str | None:
    parts = []
    if here is not None:
        acc = "không rõ" if here.accuracy_m is None else f"±{here.accuracy_m:,.0f} m"
        weak = here.accuracy_m is None or here.accuracy_m > CONFIRM_ACCURACY_M
        parts.append(f"GPS {acc}" + (" (đã xác nhận)" if confirmed and weak else ""))
    if photo_id is not None:
        parts.append(f"ảnh mặt tiền #{photo_id}")
    return "; ".join(parts) or None


def check(
    bind: db.Bind, user: User | None, code: str, *, expected_version: int, changes: Mapping[str, Any] | None = None,
    here: Position | None = None, confirm_accuracy: bool = False, photo: bytes | None = None,
    photo_name: str = "", pin: bool = True,
) -> dict[str, Any]:
    """Save a check on site of establishment ``code``: the :data:`~geomap.records.rules.SURVEYED` values as
    found, "pin here" at ``here`` (when given and ``pin``), a storefront photo; returns {id, code, version,
    pinned, photo_id, moved_m, far} (``far``: the pin moved the point more than :data:`FAR_MOVE_M`, said to
    the officer; the distance is in the audit entry).

    A position worse than :data:`CONFIRM_ACCURACY_M` needs ``confirm_accuracy``; a version other than
    the current one is refused (:class:`geomap.records.edit.EditConflict`), nothing saved.
    """
    pinning = here is not None and pin
    if pinning and (problem := accuracy_problem(here, confirm_accuracy)) is not None:
        raise problem
    clean_photo = _clean_photo(photo, photo_name)
    ward_id = ward_of(bind, user)
    with db.transaction(bind) as conn:
        row = data.form(conn, ward_id, code)
        if row is None:
            raise edit.NotFound(f"Không có cơ sở mã '{code}' ở phường này.",
                                f"There is no establishment '{code}' in this ward.")
        edit.require_survey(conn, user, ward_id)
        photo_id = None
        if clean_photo is not None:
            photo_id = data.insert_photo(conn, row["id"], clean_photo.media_type, clean_photo.width,
                                         clean_photo.height, clean_photo.content, user.id if user else None)
        saved = edit.survey_establishment(
            conn, row["id"], expected_version=expected_version, changes=changes,
            point=(here.lon, here.lat) if pinning else None, user=user,
            note=_note(here if pinning else None, confirm_accuracy, photo_id))
        return {"id": row["id"], "code": code, "version": saved["version"], "pinned": pinning, "photo_id": photo_id,
                "moved_m": saved["moved_m"], "far": (saved["moved_m"] or 0) > FAR_MOVE_M}


def add(
    bind: db.Bind, user: User | None, values: Mapping[str, Any], *, here: Position | None,
    confirm_accuracy: bool = False, photo: bytes | None = None, photo_name: str = "",
) -> dict[str, Any]:
    """Add an establishment found on the street (:data:`~geomap.records.rules.PROPOSED` values), pinned at
    ``here``; it waits for a data officer's review before it is public. Returns {id, code, version, photo_id}."""
    if here is None:
        raise PositionError("Chưa có vị trí: hãy bật định vị và ghim vị trí cơ sở trước khi lưu.",
                            "No position: turn on location and pin the establishment before saving.", "position")
    if (problem := accuracy_problem(here, confirm_accuracy)) is not None:
        raise problem
    clean_photo = _clean_photo(photo, photo_name)
    ward_id = ward_of(bind, user)
    with db.transaction(bind) as conn:
        made = edit.propose_establishment(conn, ward_id, values, lon=here.lon, lat=here.lat, user=user)
        photo_id = None
        if clean_photo is not None:
            photo_id = data.insert_photo(conn, made["id"], clean_photo.media_type, clean_photo.width,
                                         clean_photo.height, clean_photo.content, user.id if user else None)
        return {**made, "photo_id": photo_id}


def photo(bind: db.Bind, user: User | None, photo_id: int) -> dict[str, Any]:
    """A storefront photo (media_type, content) for an officer who may survey or review its ward."""
    row = data.photo(bind, photo_id)
    if row is None:
        raise edit.NotFound(f"Không có ảnh số {photo_id}.", f"There is no photo {photo_id}.")
    edit.check_scope(user, row["ward_id"])
    if not (auth.can(user, "review_additions") or edit.survey_allowed(bind, user, row["ward_id"])):
        raise auth.PermissionDenied("Bạn không được xem ảnh này.", "You may not see this photo.")
    return row
