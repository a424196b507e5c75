"""Keeping an infrastructure asset's condition current: the one change after its import.

:func:`set_condition` sets ``condition`` (working / faulty) and the date it was checked
(``checked_on``, today when not given, never in the future), in one transaction with its audit
entry (``entity_type = 'infrastructure'``). Only roles with ``edit_records``, and an account
bound to a ward only in that ward. The staff map's detail panel offers it
(:mod:`geomap.ui.pages.map`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geomap import audit, auth, db, i18n
from geomap.models import CONDITIONS
from geomap.records import data
from geomap.records.edit import NotFound, ValidationError, check_scope
from geomap.records.rules import date_problem
from geomap.status import today
from geomap.users import User


def get(bind: db.Bind, infrastructure_id: int) -> dict[str, Any]:
    """The asset (``id``, ``ward_id``, ``code``, ``kind``, ``condition``, ``checked_on``)."""
    row = data.infrastructure(bind, infrastructure_id)
    if row is None:
        raise NotFound(f"Không tìm thấy thiết bị {infrastructure_id}.", f"No asset {infrastructure_id}.")
    return row


def set_condition(bind: db.Bind, infrastructure_id: int, condition: str, checked_on: dt.date | None = None, *,
                  user: User | None = None) -> dict[str, Any]:
    """Set the asset's condition as checked on ``checked_on``; returns the asset as written."""
    auth.require(user, "edit_records")
    problems: list[tuple[str, str, str]] = []
    if condition not in CONDITIONS:
        allowed_vi = ", ".join(i18n.code_label("condition", c, "vi") for c in CONDITIONS)
        allowed_en = ", ".join(i18n.code_label("condition", c, "en") for c in CONDITIONS)
        problems.append(("condition", f"Tình trạng '{condition}' không hợp lệ; chọn: {allowed_vi}.",
                         f"Condition '{condition}' is not valid; choose: {allowed_en}."))
    day = checked_on or today()
    problem = date_problem(day, today())
    if problem == "future":
        problems.append(("checked_on", f"Ngày kiểm tra {day:%d/%m/%Y} ở tương lai.",
                         f"The check date {day} is in the future."))
    elif problem == "too_old":
        problems.append(("checked_on", f"Ngày kiểm tra {day:%d/%m/%Y} quá xa trong quá khứ.",
                         f"The check date {day} is implausibly old."))
    if problems:
        raise ValidationError(problems)
    with db.transaction(bind) as conn:
        before = data.lock_infrastructure(conn, infrastructure_id)
        if before is None:
            raise NotFound(f"Không tìm thấy thiết bị {infrastructure_id}.", f"No asset {infrastructure_id}.")
        check_scope(user, before["ward_id"])
        after = {"condition": condition, "checked_on": day}
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed:
            data.write_infrastructure_condition(conn, infrastructure_id, condition, day)
            audit.record(conn, action="update", entity_type="infrastructure", entity_id=infrastructure_id,
                         user=user, before={k: before.get(k) for k in changed}, after=changed)
        return {**before, **after}


def list_assets(bind: db.Bind, ward_id: int, *, kind: str | None = None, condition: str | None = None,
                query: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """The ward's assets by code (``id``, ``code``, ``kind``, ``condition``, ``checked_on``, ``installed_on``),
    of one kind / condition, or whose code contains ``query``."""
    return data.infrastructure_list(bind, ward_id, kind=kind, condition=condition,
                                    query=(query or "").strip() or None, limit=limit)
