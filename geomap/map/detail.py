"""The clicked establishment's panel: its record, licences, inspections and history, limited to
what the user may see (rows read by :func:`geomap.map.data.establishment_rows`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import layers as layer_registry
from geomap import auth, db, status
from geomap.map import data
from geomap.map.features import ESTABLISHMENT_LAYER
from geomap.users import User
from layers.base import Layer


@dataclass
class EstablishmentDetail:
    """Everything the detail panel shows, already limited to what the user may see."""

    id: int
    record: dict[str, Any]
    fields: tuple  # the visible layer fields, in declaration order
    licences: list[dict[str, Any]] = field(default_factory=list)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None


def detail_fields(layer: Layer, user: User | None, lang: str | None = None) -> tuple:
    """The one check of which fields the detail panel shows to ``user`` (personal data by role).

    Staff without ``view_personal`` (see :mod:`geomap.auth`) see every field but the personal
    ones; the public (``user`` None) only public fields. Internal keys (``…_id``: the group's and
    market's names are shown instead) never show; with ``lang``, only that language's industry name.
    """
    other = {"vi": "industry_name_en", "en": "industry_name_vi"}.get(lang or "")
    return tuple(f for f in auth.visible_fields(layer, user) if not f.name.endswith("_id") and f.name != other)


def establishment_detail(bind: db.Bind, establishment_id: int, *, user: User | None,
                         today: dt.date | None = None, lang: str | None = None) -> EstablishmentDetail | None:
    """The establishment's record, all its licences and inspections (each with its photos' ids), and its
    change history."""
    layer = layer_registry.get(ESTABLISHMENT_LAYER)
    visible = detail_fields(layer, user, lang)
    rows = data.establishment_rows(bind, layer, int(establishment_id), with_history=auth.can(user, "view_history"))
    if rows is None:
        return None
    row = rows.record
    record = {f.name: _plain(row.get(f.name)) for f in visible}
    history = auth.redact_history(rows.history, user) if auth.can(user, "view_history") else []
    today = today or status.today()
    licences = rows.licences
    for lic in licences:
        lic["state"] = licence_state(lic, today)
    geom = row.geometry
    return EstablishmentDetail(
        id=int(establishment_id), record=record, fields=visible, licences=licences, inspections=rows.inspections,
        history=history, lat=None if geom is None else float(geom.y), lng=None if geom is None else float(geom.x))


def licence_state(licence: Mapping[str, Any], today: dt.date) -> str:
    """One licence's own state: ``revoked``, ``expired`` or ``in_force`` on ``today``."""
    if licence.get("revoked_on") and licence["revoked_on"] <= today:
        return "revoked"
    if licence.get("expires_on") and licence["expires_on"] < today:
        return "expired"
    return "in_force"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value
