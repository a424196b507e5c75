"""Derived statuses: licence and food safety, as pure functions of the records and a date.

Nothing here is ever typed in or stored. The map, the public page, the dashboard and the
exports all call these functions, vectorised over a frame with the columns of the
``establishment_overview`` view; :func:`licence_status_of` and :func:`food_safety_status_of`
are the one-record forms of the same rules.

Rules (``window`` = :data:`geomap.config.EXPIRING_WITHIN_DAYS` unless given):

Licence (business registration)
    ``missing``: none on record; ``expired``: its expiry date has passed or it was revoked;
    ``expiring``: it expires within ``window`` days (today included); ``valid``: otherwise
    (household-business registrations have no expiry date and stay valid).

Food safety (only for industries where it applies; else ``not_applicable``)
    ``violation``: the last inspection found a violation (pending follow-up);
    ``certified`` / ``expiring``: a food-safety certificate in force (expiring within
    ``window`` days); a certificate recorded without an expiry date is valid
    :data:`CERTIFICATE_YEARS` years from issue; ``committed``: a food-safety commitment (for
    operators exempt from the certificate) in force and no certificate in force; a
    commitment signed *before* a certificate that has since lapsed does not count (the
    operator moved to the certificate regime, so the lapse shows); ``expired``: the
    certificate lapsed or was revoked and no later commitment; ``missing``: neither.

An expiry date is the last day of validity: a licence expiring today is ``expiring``, not
``expired``. A revocation takes effect on its date. "Today" is the date in the ward's time
zone (:data:`ZONE`), not the server's.

Every input a rule reads must be present (a column of the frame, a key of the record; its
value may be empty): a missing one raises :class:`MissingInputs` naming it, rather than
being taken for "nothing on file" and answering ``missing`` or ``not_applicable``. Read
:data:`INPUT_COLUMNS` to have them all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from geomap import config

LICENCE_STATUSES = ("valid", "expiring", "expired", "missing")
FOOD_SAFETY_STATUSES = ("certified", "committed", "expiring", "expired", "violation", "missing", "not_applicable")

#: the wards' time zone: "today" changes at midnight in Vietnam, whatever the server's zone
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
#: validity of a food-safety certificate recorded without an expiry date (Decree 15/2018/NĐ-CP)
CERTIFICATE_YEARS = 3
#: the overview columns the licence rule reads
LICENCE_INPUTS = ("registration_issued_on", "registration_expires_on", "registration_revoked_on")
#: the overview columns the food-safety rule reads
FOOD_SAFETY_INPUTS = ("food_safety_applicable", "last_inspection_result", "fs_certificate_issued_on",
                      "fs_certificate_expires_on", "fs_certificate_revoked_on", "fs_commitment_issued_on",
                      "fs_commitment_revoked_on")
#: the overview columns the rules below read (anything else in a frame is ignored)
INPUT_COLUMNS = (*LICENCE_INPUTS, *FOOD_SAFETY_INPUTS)


class MissingInputs(KeyError):
    """A status rule was given a frame (or a record) without some of the columns it reads."""

    def __init__(self, rule: str, missing: list[str]):
        self.rule, self.missing = rule, tuple(missing)
        super().__init__(str(self))

    def __str__(self) -> str:
        return (f"the {self.rule} status rule needs the column(s) {', '.join(self.missing)}, missing from its "
                "input; read every column of geomap.status.INPUT_COLUMNS (empty values are fine)")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], rule: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise MissingInputs(rule, missing)


def today() -> dt.date:
    """Today's date in Vietnam."""
    return dt.datetime.now(ZONE).date()


def _today_ts(day: dt.date | None) -> pd.Timestamp:
    """``day`` (default: :func:`today`) as a midnight timestamp, so a datetime's hour never matters."""
    return pd.Timestamp(day or today()).normalize()


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column], errors="coerce")


def licence_status(frame: pd.DataFrame, today: dt.date | None = None, window_days: int | None = None) -> pd.Series:
    """Business-registration status of every row of ``frame`` (raises :class:`MissingInputs` without
    a column of :data:`LICENCE_INPUTS`)."""
    _require(frame, LICENCE_INPUTS, "licence")
    today_ts = _today_ts(today)
    window = pd.Timedelta(days=config.EXPIRING_WITHIN_DAYS if window_days is None else window_days)
    issued = _dates(frame, "registration_issued_on")
    expires = _dates(frame, "registration_expires_on")
    revoked = _dates(frame, "registration_revoked_on")
    has = issued.notna()
    lapsed = (expires.notna() & (expires < today_ts)) | (revoked.notna() & (revoked <= today_ts))
    expiring = expires.notna() & (expires >= today_ts) & (expires <= today_ts + window)
    out = np.select(
        [~has, lapsed, expiring],
        ["missing", "expired", "expiring"],
        default="valid",
    )
    return pd.Series(out, index=frame.index, name="licence_status")


def food_safety_status(
    frame: pd.DataFrame, today: dt.date | None = None, window_days: int | None = None
) -> pd.Series:
    """Food-safety status of every row of ``frame`` (raises :class:`MissingInputs` without a column of
    :data:`FOOD_SAFETY_INPUTS`)."""
    _require(frame, FOOD_SAFETY_INPUTS, "food-safety")
    today_ts = _today_ts(today)
    window = pd.Timedelta(days=config.EXPIRING_WITHIN_DAYS if window_days is None else window_days)
    applicable = frame["food_safety_applicable"].fillna(False).astype(bool)
    last_result = frame["last_inspection_result"]
    cert_issued = _dates(frame, "fs_certificate_issued_on")
    cert_expires = _dates(frame, "fs_certificate_expires_on")
    cert_revoked = _dates(frame, "fs_certificate_revoked_on")
    com_issued = _dates(frame, "fs_commitment_issued_on")
    com_revoked = _dates(frame, "fs_commitment_revoked_on")

    has_cert = cert_issued.notna()
    # a certificate recorded without expiry is valid CERTIFICATE_YEARS from issue
    cert_expires = cert_expires.fillna(cert_issued + pd.DateOffset(years=CERTIFICATE_YEARS))
    cert_revoked_now = cert_revoked.notna() & (cert_revoked <= today_ts)
    cert_in_force = has_cert & ~cert_revoked_now & (cert_expires >= today_ts)
    cert_expiring = cert_in_force & (cert_expires <= today_ts + window)
    # a commitment older than a (lapsed) certificate was superseded by it
    committed = com_issued.notna() & ~(com_revoked.notna() & (com_revoked <= today_ts)) \
        & (~has_cert | (com_issued >= cert_issued))

    out = np.select(
        [~applicable, last_result.eq("violation").fillna(False).astype(bool), cert_expiring, cert_in_force,
         committed, has_cert],
        ["not_applicable", "violation", "expiring", "certified", "committed", "expired"],
        default="missing",
    )
    return pd.Series(out, index=frame.index, name="food_safety_status")


def with_statuses(frame: pd.DataFrame, today: dt.date | None = None, window_days: int | None = None) -> pd.DataFrame:
    """``frame`` with ``licence_status`` and ``food_safety_status`` columns added."""
    frame = frame.copy()
    frame["licence_status"] = licence_status(frame, today, window_days)
    frame["food_safety_status"] = food_safety_status(frame, today, window_days)
    return frame


def licence_status_of(record: dict[str, Any], today: dt.date | None = None, window_days: int | None = None) -> str:
    """:func:`licence_status` for one record (a mapping with every key of :data:`LICENCE_INPUTS`)."""
    return str(licence_status(pd.DataFrame([record]), today, window_days).iloc[0])


def food_safety_status_of(record: dict[str, Any], today: dt.date | None = None,
                          window_days: int | None = None) -> str:
    """:func:`food_safety_status` for one record (a mapping with every key of :data:`FOOD_SAFETY_INPUTS`)."""
    return str(food_safety_status(pd.DataFrame([record]), today, window_days).iloc[0])
