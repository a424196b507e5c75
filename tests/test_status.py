"""The derived statuses at their boundaries (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomap import status

TODAY = dt.date(2026, 6, 15)
WINDOW = 30
D = dt.timedelta
#: a record with every input of the rules and nothing on file (the rules raise on an absent input)
NOTHING = dict.fromkeys(status.INPUT_COLUMNS)


def lic(**record) -> str:
    return status.licence_status_of({**NOTHING, **record}, today=TODAY, window_days=WINDOW)


def fs(**record) -> str:
    return status.food_safety_status_of({**NOTHING, "food_safety_applicable": True, **record}, today=TODAY,
                                        window_days=WINDOW)


# --- licence (business registration) ----------------------------------------------------


def test_licence_missing_when_none_on_record():
    assert lic() == "missing"
    assert lic(registration_number="123") == "missing"  # a number without an issue date is no licence


@pytest.mark.parametrize(("expires", "expected"), [
    (TODAY - D(days=1), "expired"),  # yesterday was the last valid day
    (TODAY, "expiring"),  # the expiry date is the last day of validity
    (TODAY + D(days=WINDOW), "expiring"),  # window edge included
    (TODAY + D(days=WINDOW + 1), "valid"),  # one day past the window
    (None, "valid"),  # household registrations never expire
])
def test_licence_expiry_edges(expires, expected):
    assert lic(registration_issued_on=dt.date(2020, 1, 1), registration_expires_on=expires) == expected


@pytest.mark.parametrize(("revoked", "expected"), [
    (TODAY, "expired"),  # revocation takes effect on its date
    (TODAY - D(days=400), "expired"),
    (TODAY + D(days=1), "valid"),  # announced for tomorrow: still valid today
])
def test_licence_revocation(revoked, expected):
    assert lic(registration_issued_on=dt.date(2020, 1, 1), registration_revoked_on=revoked) == expected


def test_revoked_wins_over_expiring():
    assert lic(registration_issued_on=dt.date(2020, 1, 1), registration_expires_on=TODAY + D(days=3),
               registration_revoked_on=TODAY - D(days=1)) == "expired"


def test_today_as_a_datetime_late_in_the_day_does_not_expire_todays_licence():
    record = {**NOTHING, "registration_issued_on": dt.date(2020, 1, 1), "registration_expires_on": TODAY}
    late = dt.datetime.combine(TODAY, dt.time(23, 30))
    assert status.licence_status_of(record, today=late, window_days=WINDOW) == "expiring"


def test_window_zero_only_today_is_expiring():
    base = {**NOTHING, "registration_issued_on": dt.date(2020, 1, 1)}
    assert status.licence_status_of({**base, "registration_expires_on": TODAY}, TODAY, 0) == "expiring"
    assert status.licence_status_of({**base, "registration_expires_on": TODAY + D(days=1)}, TODAY, 0) == "valid"


def test_default_window_comes_from_config(monkeypatch):
    monkeypatch.setattr(status.config, "EXPIRING_WITHIN_DAYS", 10)
    base = {**NOTHING, "registration_issued_on": dt.date(2020, 1, 1)}
    assert status.licence_status_of({**base, "registration_expires_on": TODAY + D(days=10)}, TODAY) == "expiring"
    assert status.licence_status_of({**base, "registration_expires_on": TODAY + D(days=11)}, TODAY) == "valid"


# --- food safety ------------------------------------------------------------------------------

CERT = {"fs_certificate_issued_on": dt.date(2025, 1, 1)}


def test_not_applicable_wins_over_everything():
    record = {**NOTHING, "food_safety_applicable": False, "last_inspection_result": "violation", **CERT,
              "fs_certificate_expires_on": TODAY - D(days=1)}
    assert status.food_safety_status_of(record, TODAY, WINDOW) == "not_applicable"
    assert status.food_safety_status_of(NOTHING, TODAY, WINDOW) == "not_applicable"  # unknown industry flag


@pytest.mark.parametrize(("expires", "expected"), [
    (TODAY - D(days=1), "expired"),
    (TODAY, "expiring"),
    (TODAY + D(days=WINDOW), "expiring"),
    (TODAY + D(days=WINDOW + 1), "certified"),
])
def test_certificate_edges(expires, expected):
    assert fs(**CERT, fs_certificate_expires_on=expires) == expected


def test_certificate_without_expiry_is_valid_three_years():
    issued = dt.date(2023, 7, 10)  # + 3 years = 2026-07-10: 25 days ahead, within the 30-day window
    assert fs(fs_certificate_issued_on=issued) == "expiring"
    assert fs(fs_certificate_issued_on=dt.date(2023, 6, 14)) == "expired"  # lapsed 2026-06-14
    assert fs(fs_certificate_issued_on=dt.date(2024, 1, 1)) == "certified"


def test_revoked_certificate_is_expired():
    assert fs(**CERT, fs_certificate_expires_on=TODAY + D(days=500), fs_certificate_revoked_on=TODAY) == "expired"


def test_violation_wins_over_a_valid_certificate_until_a_later_inspection():
    valid = {**CERT, "fs_certificate_expires_on": TODAY + D(days=500)}
    assert fs(**valid, last_inspection_result="violation") == "violation"
    assert fs(**valid, last_inspection_result="pass") == "certified"
    assert fs(last_inspection_result="violation") == "violation"  # even with no paperwork at all


def test_commitment_when_no_certificate():
    assert fs(fs_commitment_issued_on=dt.date(2024, 3, 1)) == "committed"
    assert fs(fs_commitment_issued_on=dt.date(2024, 3, 1), fs_commitment_revoked_on=TODAY) == "missing"
    assert fs(fs_commitment_issued_on=dt.date(2024, 3, 1), fs_commitment_revoked_on=TODAY + D(days=1)) == "committed"


def test_certificate_in_force_wins_over_commitment():
    record = {**CERT, "fs_certificate_expires_on": TODAY + D(days=500), "fs_commitment_issued_on": TODAY}
    assert fs(**record) == "certified"
    record["fs_certificate_expires_on"] = TODAY + D(days=5)
    assert fs(**record) == "expiring"  # the certificate in force still decides


def test_commitment_signed_after_a_lapsed_certificate_counts():
    record = {**CERT, "fs_certificate_expires_on": TODAY - D(days=10), "fs_commitment_issued_on": TODAY - D(days=5)}
    assert fs(**record) == "committed"


def test_commitment_older_than_a_lapsed_certificate_does_not_hide_the_lapse():
    record = {**CERT, "fs_certificate_expires_on": TODAY - D(days=10), "fs_commitment_issued_on": dt.date(2022, 1, 1)}
    assert fs(**record) == "expired"


def test_missing_when_neither():
    assert fs() == "missing"


def test_vectorised_form_matches_one_record_form():
    rows = [{**NOTHING, **r} for r in (
        {"food_safety_applicable": True, **CERT, "fs_certificate_expires_on": TODAY},
        {"food_safety_applicable": False},
        {"food_safety_applicable": True, "last_inspection_result": "violation"},
        {"food_safety_applicable": None, "registration_issued_on": dt.date(2020, 1, 1)},
    )]
    frame = status.with_statuses(pd.DataFrame(rows), TODAY, WINDOW)
    assert list(frame["food_safety_status"]) == [status.food_safety_status_of(r, TODAY, WINDOW) for r in rows]
    assert list(frame["licence_status"]) == [status.licence_status_of(r, TODAY, WINDOW) for r in rows]
    assert list(frame["food_safety_status"]) == ["expiring", "not_applicable", "violation", "not_applicable"]


def test_today_is_the_date_in_vietnam():
    now_vn = dt.datetime.now(status.ZONE).date()
    assert status.today() in (now_vn, now_vn + D(days=1))  # tolerate a midnight crossing during the test


@given(st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)), st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
       st.integers(0, 365))
def test_licence_status_is_monotonic_in_time(issued, expires, window):
    """As days pass, a licence only moves valid -> expiring -> expired, never back."""
    if expires < issued:
        issued, expires = expires, issued
    order = {"valid": 0, "expiring": 1, "expired": 2}
    record = {**NOTHING, "registration_issued_on": issued, "registration_expires_on": expires}
    days = [expires - D(days=window + 1), expires - D(days=window), expires, expires + D(days=1)]
    seen = [order[status.licence_status_of(record, d, window)] for d in days]
    assert seen == sorted(seen)
    assert seen[-1] == 2 and seen[-2] == 1


def test_the_registry_declares_every_column_the_rules_read() -> None:
    """The QR lookup reads only the establishments layer's stored non-personal fields, so those
    must include every input of the status rules."""
    import layers

    layer = layers.get("establishments")
    stored = {f.name for f in layer.fields if not f.derived and not f.personal}
    assert set(status.INPUT_COLUMNS) <= stored


# --- a missing input is an error, not "nothing on file" -------------------------------------------


@pytest.mark.parametrize("column", status.INPUT_COLUMNS)
def test_a_frame_without_an_input_column_raises_naming_it(column):
    """Forgetting a column must not turn every row "missing" / "not_applicable" silently."""
    frame = pd.DataFrame([{**NOTHING, "food_safety_applicable": True, "registration_issued_on": TODAY}])
    rule = status.licence_status if column in status.LICENCE_INPUTS else status.food_safety_status
    with pytest.raises(status.MissingInputs) as raised:
        rule(frame.drop(columns=[column]), TODAY, WINDOW)
    assert raised.value.missing == (column,) and column in str(raised.value)
    with pytest.raises(KeyError, match=column):  # a KeyError, as for any absent column
        status.with_statuses(frame.drop(columns=[column]), TODAY, WINDOW)


@pytest.mark.parametrize("column", status.INPUT_COLUMNS)
def test_a_record_without_an_input_raises_naming_it(column):
    record = {k: v for k, v in NOTHING.items() if k != column}
    one = status.licence_status_of if column in status.LICENCE_INPUTS else status.food_safety_status_of
    with pytest.raises(status.MissingInputs, match=column):
        one(record, TODAY, WINDOW)


def test_an_empty_record_names_every_missing_input():
    with pytest.raises(status.MissingInputs) as raised:
        status.licence_status_of({}, TODAY, WINDOW)
    assert raised.value.missing == status.LICENCE_INPUTS
    with pytest.raises(status.MissingInputs) as raised:
        status.food_safety_status_of({"registration_issued_on": TODAY}, TODAY, WINDOW)
    assert raised.value.missing == status.FOOD_SAFETY_INPUTS


def test_each_rule_needs_only_its_own_inputs():
    """The licence rule works on a frame of licence columns alone, and the food-safety rule on its own."""
    licence_only = pd.DataFrame([{"registration_issued_on": TODAY - D(days=10), "registration_expires_on": None,
                                  "registration_revoked_on": None}])
    assert list(status.licence_status(licence_only, TODAY, WINDOW)) == ["valid"]
    food_only = pd.DataFrame([{**dict.fromkeys(status.FOOD_SAFETY_INPUTS), "food_safety_applicable": True}])
    assert list(status.food_safety_status(food_only, TODAY, WINDOW)) == ["missing"]
    assert set(status.INPUT_COLUMNS) == set(status.LICENCE_INPUTS) | set(status.FOOD_SAFETY_INPUTS)
