"""Dashboard numbers against a hand-computed small ward (real PostGIS, rolled back)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from import_fixtures import add_establishment, make_ward
from openpyxl import load_workbook

from geomap import dashboard, i18n, profiles
from geomap.dashboard import indicators
from geomap.dashboard.indicators import NO_GROUP
from geomap.errors import GeomapError

TODAY = dt.date(2026, 11, 22)
BR, FSC, COM = "business_registration", "food_safety_certificate", "food_safety_commitment"


@pytest.fixture
def small(conn):
    w = make_ward(conn)
    ids = {}
    ids["E1"] = add_establishment(conn, w, "E1", "Phở 1", lonlat=w.near(w.west), payment=["qr_bank"],
                                  licences=[(BR, "2024-01-01", None), (FSC, "2025-01-01", "2028-01-01")],
                                  inspections=[("2026-06-01", "pass", None)])
    ids["E2"] = add_establishment(conn, w, "E2", "Cơm 2", licences=[(BR, "2020-01-01", "2025-01-01"),
                                                                    (COM, "2025-05-01", None)])
    ids["E3"] = add_establishment(conn, w, "E3", "Tạp hóa 3", vsic="4719", payment=["pos_card"],
                                  licences=[(BR, "2021-12-01", "2026-12-01")])
    ids["E4"] = add_establishment(conn, w, "E4", "Tạp hóa 4", vsic="4719")
    ids["E5"] = add_establishment(conn, w, "E5", "Cà phê 5", vsic="5630", status="closed", payment=["qr_bank"],
                                  licences=[(BR, "2024-01-01", None)])
    ids["E6"] = add_establishment(conn, w, "E6", "Bún 6", group="T02", payment=["e_wallet"],
                                  licences=[(BR, "2024-01-01", None), (FSC, "2023-01-01", "2026-01-01")],
                                  inspections=[("2025-01-01", "pass", None)])
    ids["E7"] = add_establishment(conn, w, "E7", "Tạp hóa 7", group="T02", vsic="4719", payment=["qr_bank", "pos_card"],
                                  licences=[(BR, "2024-01-01", None)],
                                  inspections=[("2026-09-01", "violation", "2026-10-01")])
    ids["E8"] = add_establishment(conn, w, "E8", "Cà phê 8", group="T02", vsic="5630",
                                  licences=[(BR, "2024-01-01", None), (FSC, "2024-06-01", "2027-06-01")],
                                  inspections=[("2026-10-01", "violation", "2026-12-15")])
    ids["E9"] = add_establishment(conn, w, "E9", "Tạp hóa 9", group="T02", vsic="4719", status="suspended")
    ids["E10"] = add_establishment(conn, w, "E10", "Chè 10", group=None, payment=["qr_bank"],
                                   licences=[(BR, "2024-01-01", None), (COM, "2024-02-01", None)],
                                   inspections=[("2026-03-01", "pass", None)])
    # field reports, all in T01: on time, late, open past deadline, open before deadline, duplicate, no deadline
    lon, lat = w.near(w.west)
    for i, (status, deadline, resolved) in enumerate([
            ("resolved", "2026-11-10", "2026-11-09"), ("resolved", "2026-11-10", "2026-11-12"),
            ("in_progress", "2026-11-15", None), ("received", "2026-11-30", None),
            ("duplicate", "2026-11-01", None), ("closed", None, "2026-10-05")]):
        conn.execute(sa.text(
            "INSERT INTO field_report (ward_id, public_id, category, description, channel, status, reported_at, "
            "deadline_at, resolved_at, geom) VALUES (:w, :p, 'garbage', 'x', 'web', :s, '2026-10-01', "
            "CAST(:d AS timestamptz), CAST(:r AS timestamptz), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
            {"w": w.id, "p": f"test-{i}", "s": status, "d": deadline, "r": resolved, "lon": lon, "lat": lat})
    # stalls (accepts QR/POS, dates an officer saw a QR/POS payment): only evidence in the period counts
    for code, pilot, stalls in (("MK1", True, [(True, ["2026-10-15", "2025-11-01"]), (True, ["2026-08-01"]),
                                               (True, []), (False, [])]),
                                ("MK2", False, [(True, ["2026-11-01"]), (False, [])])):
        mid = conn.execute(sa.text(
            "INSERT INTO market (ward_id, code, name, is_pilot_smart_market, geom) VALUES (:w, :c, :nm, :p, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"),
            {"w": w.id, "c": f"TEST-{code}", "nm": f"Chợ {code}", "p": pilot, "lon": lon, "lat": lat}).scalar_one()
        for n, (ok, seen) in enumerate(stalls):
            sid = conn.execute(sa.text("INSERT INTO stall (market_id, stall_no, accepts_qr_pos) VALUES (:m, :n, :a) "
                                       "RETURNING id"), {"m": mid, "n": str(n), "a": ok}).scalar_one()
            for day in seen:
                conn.execute(sa.text("INSERT INTO stall_payment_evidence (stall_id, method, seen_on, seen_by) "
                                     "VALUES (:s, 'qr_bank', CAST(:d AS date), 'Cán bộ thử')"), {"s": sid, "d": day})
    # digital tools: E4 issues e-invoices, E8 uses sales software, E9 (suspended) both, E2 none of the four
    for code, col in (("E4", "uses_e_invoice"), ("E8", "uses_sales_software"), ("E9", "uses_e_invoice")):
        conn.execute(sa.text(f"UPDATE establishment SET {col} = true WHERE id = :i"), {"i": ids[code]})
    conn.execute(sa.text("UPDATE establishment SET digital_platforms = ARRAY['shopee'] WHERE id = :i"),
                 {"i": ids["E10"]})
    # how inspections were recorded: E8's on the phone, E10's from paper, a paper one of E3 in November
    conn.execute(sa.text("UPDATE inspection SET made_via = 'field_app' WHERE establishment_id = :i"), {"i": ids["E8"]})
    conn.execute(sa.text("UPDATE inspection SET made_via = 'paper' WHERE establishment_id = :i"), {"i": ids["E10"]})
    conn.execute(sa.text("INSERT INTO inspection (establishment_id, inspected_on, kind, result, made_via) "
                         "VALUES (:i, '2026-11-05', 'periodic', 'pass', 'paper')"), {"i": ids["E3"]})
    # digital-payment history of E4: gained a method in September, lost it in October
    for at, before, after in (("2026-09-10", [], ["qr_bank"]), ("2026-10-20", ["qr_bank"], [])):
        conn.execute(sa.text(
            "INSERT INTO audit_log (at, action, entity_type, entity_id, before, after) VALUES "
            "(CAST(:at AS timestamptz), 'update', 'establishment', :e, CAST(:b AS jsonb), CAST(:a AS jsonb))"),
            {"at": at, "e": ids["E4"], "b": json.dumps({"digital_payment": before}),
             "a": json.dumps({"digital_payment": after})})
    return w, ids


def test_ward_indicators_match_the_hand_computed_values(conn, small) -> None:
    w, _ = small
    frames = dashboard.load_frames(conn, w.id)
    board = dashboard.compute(frames, profiles.get("hoa-cuong"), TODAY)
    s = board.summary
    got = {k: (int(s.loc[k, "num"]), int(s.loc[k, "den"])) for k in s.index}
    assert board.period == dashboard.Period(2026, 10, "quarter")  # the quarter of the day by default
    assert got == {
        "digital_platform_share": (7, 8),    # payment E1 E3 E6 E7 E10, e-invoice E4, software E8; not E2
        "digital_payment_share": (5, 8),     # E1 E3 E6 E7 E10 of 8 active
        "licensed_share": (6, 8),            # E2 expired, E4 missing; E3 expiring counts
        "food_safety_share": (3, 5),         # E1 certified, E2 and E10 committed; E6 expired, E8 violation
        "inspections_overdue": (3, 6),       # E2 never inspected, E6 > 12 months, E7 follow-up passed
        "reports_on_time": (2, 4),           # on time + no deadline; late, open past deadline; not due, dup
        "report_satisfaction": (0, 0),       # no rating here (tests/test_report_outcomes.py rates reports)
        "stall_qr_pos_share": (1, 4),        # pilot market, evidence in Q4: stall 0 only (1: Q3; 2: flag only)
        "digital_inspection_share": (1, 2),  # Q4: E8 on the phone, E3 from paper
    }
    assert s.loc["digital_payment_share", "value"] == pytest.approx(0.625)
    assert s.loc["digital_platform_share", "target"] == 0.50 and s.loc["digital_platform_share", "met"] is True
    assert pd.isna(s.loc["digital_payment_share", "target"])  # the plan's target is about digital platforms
    assert s.loc["digital_inspection_share", "target"] == 0.70 and s.loc["digital_inspection_share", "met"] is False
    assert s.loc["stall_qr_pos_share", "target"] == 0.60 and s.loc["stall_qr_pos_share", "met"] is False
    assert s.loc["inspections_overdue", "value"] == 3 and pd.isna(s.loc["licensed_share", "target"])
    assert indicators.summary(indicators.indicator_parts(frames, TODAY), profiles.get("hoa-cuong"), 2028) \
        .loc["digital_platform_share", "target"] == 0.70


def test_indicators_per_residential_group(conn, small) -> None:
    w, _ = small
    board = dashboard.compute(dashboard.load_frames(conn, w.id), profiles.get("hoa-cuong"), TODAY)
    g = board.by_group
    t01, t02 = w.groups["T01"], w.groups["T02"]
    assert (g.loc[t01, "digital_payment_share"], g.loc[t02, "digital_payment_share"]) == (0.5, pytest.approx(2 / 3))
    assert (g.loc[t01, "licensed_share"], g.loc[t02, "licensed_share"]) == (0.5, 1.0)
    assert (g.loc[t01, "food_safety_share"], g.loc[t02, "food_safety_share"]) == (1.0, 0.0)
    assert (g.loc[t01, "inspections_overdue"], g.loc[t02, "inspections_overdue"]) == (1, 2)
    assert g.loc[t01, "reports_on_time"] == 0.5 and pd.isna(g.loc[t02, "reports_on_time"])
    assert NO_GROUP not in g.index  # E10 counts for the ward, not for a group
    assert g["digital_payment_share_num"].sum() == 4


def test_trends_and_the_digital_payment_history(conn, small) -> None:
    w, _ = small
    board = dashboard.compute(dashboard.load_frames(conn, w.id), None, TODAY, months=24)
    a = board.activity
    assert a.loc[pd.Period("2025-05", "M"), "licences_food_safety_commitment"] == 1
    assert a.loc[pd.Period("2026-10", "M"), "inspections"] == 1
    assert a.loc[pd.Period("2026-10", "M"), "reports_received"] == 6
    assert a.loc[pd.Period("2026-11", "M"), "reports_resolved"] == 2
    assert a.loc[pd.Period("2026-11", "M"), "reports_on_time"] == 1
    trend = board.payment_trend
    assert pd.isna(trend[pd.Period("2026-08", "M")])            # before tracking started
    assert trend[pd.Period("2026-09", "M")] == pytest.approx(6 / 8)
    assert trend[pd.Period("2026-10", "M")] == pytest.approx(5 / 8)
    assert trend[pd.Period("2026-11", "M")] == pytest.approx(5 / 8)


def test_choropleth_and_excel_report_in_vietnamese(conn, small) -> None:
    w, _ = small
    frames = dashboard.load_frames(conn, w.id)
    board = dashboard.compute(frames, profiles.get("hoa-cuong"), TODAY)
    html = dashboard.choropleth(board, "licensed_share").get_root().render()
    for text in ("Tổ 01", "Tổ 02", "50%", "100%"):
        assert text in html or json.dumps(text)[1:-1] in html
    buf = io.BytesIO()
    dashboard.write_report(frames, profiles.get("hoa-cuong"), "Phường Thử nghiệm", "2026-Q4", buf, today=TODAY)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames == ["Tổng hợp", "Theo tổ dân phố", "Hoạt động trong kỳ", "Chỉ tiêu qua các kỳ",
                             "Xu hướng theo tháng"]
    trend = [r for r in wb["Chỉ tiêu qua các kỳ"].iter_rows(min_row=2, values_only=True)
             if r[0] == "Quầy/sạp giao dịch QR/POS"]
    assert [r[1] for r in trend][-3:] == ["2026-Q2", "2026-Q3", "2026-Q4"] and trend[-2][2:4] == (1, 4)
    rows = {r[0]: r for r in wb["Tổng hợp"].iter_rows(values_only=True) if r and r[0]}
    assert rows["Cơ sở sử dụng nền tảng số"][1:6] == (7, 8, 0.875, 0.5, "Đạt")
    assert rows["Cơ sở sử dụng thanh toán số"][1:6] == (5, 8, 0.625, None, None)
    assert rows["Quầy/sạp giao dịch QR/POS"][1:6] == (1, 4, 0.25, 0.6, "Chưa đạt")
    assert "hóa đơn điện tử" in rows["Cơ sở sử dụng nền tảng số"][6]  # the definition is in the report
    activity = {r[0]: r[1] for r in wb["Hoạt động trong kỳ"].iter_rows(min_row=2, values_only=True)}
    assert activity["Phản ánh tiếp nhận"] == 6 and activity["Lượt kiểm tra"] == 2
    notice = i18n.t("app.synthetic_notice", "vi")
    assert notice not in rows  # real records carry no label
    month = io.BytesIO()
    dashboard.write_report(frames, profiles.get("hoa-cuong"), "x", "2026-10", month, lang="en", today=TODAY)
    assert load_workbook(month).sheetnames[0] == "Summary"

    labelled = io.BytesIO()  # a synthetic ward's report says so on its first sheet
    dashboard.write_report(frames, profiles.get("hoa-cuong"), "x", "2026-Q4", labelled, today=TODAY, synthetic=True)
    first = [r[0] for r in load_workbook(labelled)["Tổng hợp"].iter_rows(max_row=8, values_only=True)]
    assert notice in first


@pytest.mark.parametrize(("period", "expected"), [
    ("2026-10", (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
    ("2026-Q3", (dt.date(2026, 7, 1), dt.date(2026, 9, 30))),
    ("2024-02", (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
    ("2026-H1", (dt.date(2026, 1, 1), dt.date(2026, 6, 30))),
    ("2026-h2", (dt.date(2026, 7, 1), dt.date(2026, 12, 31))),
    ("2026", (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
])
def test_periods(period, expected) -> None:
    assert dashboard.parse_period(period) == expected


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "2026-H3", "Q3", "tháng 10", "26"])
def test_bad_periods_say_what_is_expected(bad) -> None:
    with pytest.raises(GeomapError, match="YYYY-MM"):
        dashboard.parse_period(bad)


def test_every_kind_of_period_and_the_trend(conn, small) -> None:
    w, _ = small
    frames = dashboard.load_frames(conn, w.id)

    def parts(period: str) -> dict[str, tuple[int, int]]:
        s = dashboard.compute(frames, profiles.get("hoa-cuong"), TODAY, period=period, trend_periods=0).summary
        return {k: (int(s.loc[k, "num"]), int(s.loc[k, "den"])) for k in s.index}

    month, q3, h2, year = parts("2026-10"), parts("2026-Q3"), parts("2026-H2"), parts("2026")
    assert month["reports_on_time"] == (1, 1)            # only the one closed on 5 October
    assert month["digital_inspection_share"] == (1, 1)   # E8, on the phone
    assert q3["stall_qr_pos_share"] == (1, 4) and q3["digital_inspection_share"] == (1, 1)  # E7 in September
    assert h2["stall_qr_pos_share"] == (2, 4)            # stalls 0 and 1; stall 2 never proven
    assert year["digital_inspection_share"] == (3, 5)    # E1 E7 E8 of E1 E3 E7 E8 E10
    assert year["stall_qr_pos_share"] == (2, 4) and parts("2025")["stall_qr_pos_share"] == (1, 4)
    assert parts("2026-H1")["reports_on_time"] == (0, 0)
    board = dashboard.compute(frames, profiles.get("hoa-cuong"), TODAY, period="2026-Q4", trend_periods=4)
    trend = board.trend.set_index(["key", "period"])
    assert list(board.trend["period"].unique()) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert tuple(trend.loc[("digital_inspection_share", "2026-Q1"), ["num", "den"]]) == (0, 1)  # E10 on paper
    assert tuple(trend.loc[("digital_inspection_share", "2026-Q2"), ["num", "den"]]) == (1, 1)
    assert trend.loc[("stall_qr_pos_share", "2026-Q4"), "value"] == 0.25
    wide = dashboard.trend_table(board.trend, "en")
    assert list(wide.index) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert wide.loc["2026-Q3", "Inspections done digitally"] == 1.0
    assert dashboard.compute(frames, None, TODAY, period="2026-11").today == TODAY  # a running period ends today
    with pytest.raises(GeomapError):
        dashboard.write_report(frames, profiles.get("hoa-cuong"), "x", "2027-H1", io.BytesIO(), today=TODAY)


def test_the_demo_ward_dashboard_computes(conn, demo_ward) -> None:
    frames = dashboard.load_frames(conn, demo_ward["id"])
    board = dashboard.compute(frames, profiles.get("hoa-cuong"))
    s = board.summary
    assert len(board.by_group) == 312
    assert 0 < s.loc["licensed_share", "value"] < 1
    assert s.loc["digital_payment_share", "den"] > 1000
    # every indicator the plan measures has something to count in the demo
    assert s.loc["digital_payment_share", "value"] < s.loc["digital_platform_share", "value"] < 1
    assert 0 < s.loc["stall_qr_pos_share", "value"] < 1
    assert 0 < s.loc["digital_inspection_share", "value"] < 1


def test_a_past_period_counts_the_records_as_they_were_then(conn, small) -> None:
    """Issue 17: the report for a past period does not move when records change after it (as_of)."""
    from conftest import staff_user

    from geomap import status
    from geomap.records import edit

    w, ids = small
    profile = profiles.get("hoa-cuong")
    now = status.today()

    def figures(period: str) -> dict[str, tuple[int, int]]:
        s = dashboard.compute(dashboard.load_frames(conn, w.id), profile, now, period=period, trend_periods=0).summary
        return {k: (int(s.loc[k, "num"]), int(s.loc[k, "den"])) for k in s.index}

    def version(code: str) -> int:
        return conn.execute(sa.text("SELECT version FROM establishment WHERE id = :i"), {"i": ids[code]}).scalar()

    q3_before, q2_before = figures("2026-Q3"), figures("2026-Q2")
    officer = staff_user("data_officer", ward_id=w.id)
    # after the quarter: E2 renews its registration, E6 is inspected, E4 takes e-wallets (logged now), E1 closes
    # (logged now, closed on 15/11) and a shop that opened on 01/11 is added
    conn.execute(sa.text("INSERT INTO licence (establishment_id, kind, number, issued_on, expires_on) VALUES "
                         "(:e, 'business_registration', 'BR-NEW', '2026-11-01', '2031-11-01')"), {"e": ids["E2"]})
    conn.execute(sa.text("INSERT INTO inspection (establishment_id, inspected_on, kind, result, made_via) "
                         "VALUES (:e, '2026-11-10', 'periodic', 'pass', 'staff_app')"), {"e": ids["E6"]})
    edit.update_establishment(conn, ids["E4"], {"digital_payment": ["e_wallet"]}, expected_version=version("E4"),
                              user=officer)
    edit.close_establishment(conn, ids["E1"], expected_version=version("E1"), closed_on="2026-11-15", user=officer)
    new = add_establishment(conn, w, "E11", "Quán mới 11", payment=["qr_bank"], licences=[(BR, "2026-11-01", None)])
    conn.execute(sa.text("UPDATE establishment SET opened_on = '2026-11-01' WHERE id = :i"), {"i": new})

    assert figures("2026-Q3") == q3_before and figures("2026-Q2") == q2_before
    # while the records as of today see every change
    from geomap.dashboard import as_of

    frames = dashboard.load_frames(conn, w.id)

    def at(day: dt.date) -> pd.DataFrame:
        est = as_of.establishments_at(frames.establishments, frames.licences, frames.inspections, frames.changes, day)
        return est.set_index("code").assign(licence=lambda e: status.licence_status(e, day))

    then, today = at(dt.date(2026, 9, 30)), at(now)
    assert (then.loc["E2", "licence"], today.loc["E2", "licence"]) == ("expired", "valid")
    assert (then.loc["E1", "operating_status"], today.loc["E1", "operating_status"]) == ("active", "closed")
    assert (then.loc["E11", "operating_status"], today.loc["E11", "operating_status"]) == ("not_open", "active")
    payment = (list(then.loc["E4", "digital_payment"]), list(today.loc["E4", "digital_payment"]))
    assert payment == (["qr_bank"], ["e_wallet"])
    assert str(then.loc["E6", "last_inspected_on"])[:10] == "2025-01-01"
    assert str(today.loc["E6", "last_inspected_on"])[:10] == "2026-11-10"
    assert q3_before["licensed_share"] == (6, 8)  # E2's registration had expired, E4 had none
    assert q3_before["digital_payment_share"] == (6, 8)  # E4 took QR payments from 10/09 to 20/10 (audit log)


def test_the_report_says_what_is_rebuilt_and_what_is_not(conn, small) -> None:
    w, _ = small
    buf = io.BytesIO()
    dashboard.write_report(dashboard.load_frames(conn, w.id), profiles.get("hoa-cuong"), "Phường Thử", "2026-Q3",
                           buf, today=TODAY)
    cells = [str(c) for r in load_workbook(io.BytesIO(buf.getvalue()))["Tổng hợp"].iter_rows(values_only=True)
             for c in r if c is not None]
    note = next(c for c in cells if "như tại ngày cuối kỳ" in c)
    assert "ngành nghề" in note and "tổ dân phố" in note


def test_the_records_as_of_today_are_the_records_on_file(conn, demo_ward) -> None:
    """The rebuild of a day (as_of) picks, for today, exactly what establishment_overview shows (the dashboard
    reads the establishments without the view's licence and inspection look-ups and relies on this)."""
    from geomap import status
    from geomap.dashboard import as_of

    f = dashboard.load_frames(conn, demo_ward["id"])
    now = status.today()
    rebuilt = as_of.establishments_at(f.establishments, f.licences, f.inspections, f.changes, now).set_index("id")
    cols = ("registration_issued_on", "registration_expires_on", "fs_certificate_expires_on", "fs_commitment_issued_on",
            "last_inspected_on", "last_follow_up_due", "last_inspection_result", "operating_status")
    res = conn.execute(sa.text(f"SELECT id, {', '.join(cols)} FROM establishment_overview WHERE ward_id = :w"),
                       {"w": demo_ward["id"]})
    view = pd.DataFrame([tuple(r) for r in res], columns=list(res.keys())).set_index("id").loc[rebuilt.index]
    assert len(view) == len(rebuilt) > 1000
    assert view["registration_issued_on"].notna().sum() > 1000 and view["last_inspected_on"].notna().sum() > 1000
    for col in cols:
        dates = col.endswith("_on") or col.endswith("_due")
        a = pd.to_datetime(rebuilt[col], errors="coerce") if dates else rebuilt[col]
        b = pd.to_datetime(view[col], errors="coerce") if dates else view[col]
        assert ((a == b) | (a.isna() & b.isna())).all(), col
    # and a day a year back differs for some (licences issued and inspections made since)
    year_ago = as_of.establishments_at(f.establishments, f.licences, f.inspections, f.changes,
                                       now - dt.timedelta(days=365))
    then = pd.to_datetime(year_ago["last_inspected_on"]).dropna()
    assert len(then) and (then < pd.Timestamp(now - dt.timedelta(days=364))).all()
    assert then.size < pd.to_datetime(view["last_inspected_on"]).notna().sum()
