"""The data officer's review of establishments added on site: nothing is public before it is approved."""

from __future__ import annotations

from typing import Any

from geomap import auth, db
from geomap.records import edit
from geomap.survey import data
from geomap.users import User


def pending(bind: db.Bind, user: User | None, ward_id: int) -> list[dict[str, Any]]:
    """The ward's establishments added on site and waiting for review, oldest first."""
    auth.require(user, "review_additions")
    edit.check_scope(user, ward_id)
    return data.pending(bind, ward_id)


def decide(bind: db.Bind, user: User | None, establishment_id: int, decision: str, *, expected_version: int,
           note: str | None = None) -> int:
    """Approve (publish) or reject one; returns the establishment's new version."""
    return edit.review_establishment(bind, establishment_id, decision, expected_version=expected_version, note=note,
                                     user=user)
