"""The establishments as they were on a past day (pure), so a past period's report uses the records of that period.

What history geomap keeps, and how each column of :attr:`Frames.establishments` is rebuilt for ``day``:

- **licences** (business registration, food-safety certificate, commitment): the latest licence of each kind
  *issued on or before* ``day`` (as ``establishment_overview`` picks the latest of all), with its expiry and
  revocation dates; a licence issued later does not count, a revocation after ``day`` had not happened;
- **the last inspection** and its follow-up due date: the latest inspection *on or before* ``day``;
- **operating status, digital payment, e-invoices, sales software, e-commerce platforms**: the audit log's
  changes (:mod:`geomap.audit`): the value after the last change before the end of ``day``, else the value
  before the first change after it, else today's value; the opening and closing dates say when a business
  opened (not yet open: not counted) and closed (closed after ``day``: it was operating then).

**Not rebuilt** (no history is kept): an establishment's industry (so whether it is a food business) and its
residential group are today's; changes made before the audit log starts (``Frames.tracking_since``) cannot
be undone. The Excel report says so (``dashboard.report.note``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: columns of ``establishment_overview`` rebuilt from the licence table: kind -> (issued, expires, revoked)
LICENCE_COLUMNS = {
    "business_registration": ("registration_issued_on", "registration_expires_on", "registration_revoked_on"),
    "food_safety_certificate": ("fs_certificate_issued_on", "fs_certificate_expires_on", "fs_certificate_revoked_on"),
    "food_safety_commitment": ("fs_commitment_issued_on", None, "fs_commitment_revoked_on"),
}
#: establishment fields whose changes the audit log keeps and the indicators read
TRACKED = ("operating_status", "digital_payment", "digital_platforms", "uses_e_invoice", "uses_sales_software")
NOT_OPEN = "not_open"


def end_of(day: dt.date) -> pd.Timestamp:
    """The end of ``day`` in Vietnam's time, as a UTC timestamp."""
    return pd.Timestamp(day + dt.timedelta(days=1), tz="Asia/Ho_Chi_Minh").tz_convert("UTC")


def sort_history(frame: pd.DataFrame, date_col: str) -> pd.DataFrame:
    """``frame`` (licences or inspections) with its ``*_on`` columns parsed and rows in time order (``_d``: the
    date ``date_col``, then id): what :func:`establishments_at` needs, made once and reused for every day."""
    out = frame.copy()
    for col in out.columns:
        if col.endswith("_on") or col == "follow_up_due":
            out[col] = pd.to_datetime(out[col], errors="coerce")
    out["_d"] = out[date_col]
    return out.sort_values(["_d", "id"] if "id" in out else ["_d"], kind="stable")


def _latest_by(frame: pd.DataFrame, date_col: str, day: dt.date) -> pd.DataFrame:
    """Per establishment, the row of ``frame`` with the latest ``date_col`` on or before ``day`` (then highest id)."""
    if "_d" not in frame:
        frame = sort_history(frame, date_col)
    kept = frame[frame["_d"] <= pd.Timestamp(day)]
    return kept.drop_duplicates("establishment_id", keep="last").set_index("establishment_id")


def _scalar(key: str, value: object) -> object:
    """A logged value as the establishment frame holds it (None when the entry does not say)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if key in ("digital_payment", "digital_platforms"):
        return value if isinstance(value, list) else None
    return value


def tracked_value(history: pd.DataFrame, key: str, ids: pd.Series, current: pd.Series, day: dt.date) -> pd.Series:
    """``key``'s value for each establishment at the end of ``day`` from the audit log's changes (see the module)."""
    if history is None or history.empty:
        return current
    h = history[history["key"] == key]
    if h.empty:
        return current
    at = pd.to_datetime(h["at"], utc=True)
    end = end_of(day)
    after_vals = h["after"].map(lambda v: _scalar(key, v))
    before_vals = h["before"].map(lambda v: _scalar(key, v))
    earlier = pd.DataFrame({"id": h["entity_id"], "at": at, "v": after_vals})[at < end].dropna(subset=["v"])
    later = pd.DataFrame({"id": h["entity_id"], "at": at, "v": before_vals})[at >= end].dropna(subset=["v"])
    last_before = earlier.sort_values("at").drop_duplicates("id", keep="last").set_index("id")["v"]
    first_after = later.sort_values("at").drop_duplicates("id", keep="first").set_index("id")["v"]
    after = dict(zip(first_after.index, first_after.tolist(), strict=True))
    before = dict(zip(last_before.index, last_before.tolist(), strict=True))
    out = [before.get(i, after.get(i, now)) for i, now in zip(ids.tolist(), current.tolist(), strict=True)]
    return pd.Series(out, index=current.index, dtype=object, name=current.name)


def establishments_at(est: pd.DataFrame, licences: pd.DataFrame, inspections: pd.DataFrame,
                      history: pd.DataFrame | None, day: dt.date) -> pd.DataFrame:
    """``est`` (the establishments) as they were at the end of ``day`` (see the module docstring): their licence
    and last-inspection columns are put in from ``licences`` and ``inspections`` (empty when there are none)."""
    out = est.copy()
    ids = out["id"]

    def take(latest: pd.DataFrame, pairs: Iterable[tuple[str, str | None]]) -> None:
        where = latest.index.get_indexer(ids)  # one lookup per establishment, reused for every column
        missing = where < 0
        for source, target in pairs:
            if target is not None:
                values = latest[source].to_numpy()[np.where(missing, 0, where)] if len(latest) else None
                out[target] = pd.Series(values, index=out.index).mask(missing) if len(latest) else None

    if licences is not None and "establishment_id" in licences:  # none on file: the columns are empty
        for kind, cols in LICENCE_COLUMNS.items():
            take(_latest_by(licences[licences["kind"] == kind], "issued_on", day),
                 zip(("issued_on", "expires_on", "revoked_on"), cols, strict=True))
    if inspections is not None and "establishment_id" in inspections:
        take(_latest_by(inspections, "inspected_on", day),
             (("inspected_on", "last_inspected_on"), ("result", "last_inspection_result"),
              ("follow_up_due", "last_follow_up_due")))
    for key in TRACKED:
        if key in out:
            out[key] = tracked_value(history, key, ids, out[key], day)
    closed_on = pd.to_datetime(out.get("closed_on"), errors="coerce") if "closed_on" in out else None
    opened_on = pd.to_datetime(out.get("opened_on"), errors="coerce") if "opened_on" in out else None
    status = out["operating_status"].astype(object)
    if closed_on is not None:
        closed_later = status.eq("closed") & closed_on.notna() & (closed_on > pd.Timestamp(day))
        status = status.mask(closed_later, "active")
    if opened_on is not None:
        status = status.mask(opened_on.notna() & (opened_on > pd.Timestamp(day)), NOT_OPEN)
    out["operating_status"] = status
    return out
