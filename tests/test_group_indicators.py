"""Group-level indicators imported per period (issue 17): VNeID, digital skills, Gia đình số, Tổ dân phố số.

Real PostGIS: the small two-group ward of ``import_fixtures`` (rolled back) for the import and the
dashboard; the demo ward (committed, cleaned up) for the indicator API through the public app.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from conftest import staff_user
from fastapi.testclient import TestClient
from import_fixtures import csv_bytes, make_ward
from openpyxl import load_workbook

from geomap import dashboard, profiles
from geomap.accounts import apikeys
from geomap.auth import PermissionDenied
from geomap.dashboard import group_import
from geomap.dashboard.group_import import GroupImportRejected

TODAY = dt.date(2026, 11, 22)
HEAD = {"code": "Mã tổ", "pop": "Số nhân khẩu", "vneid": "Số người đã kích hoạt VNeID",
        "adults": "Số người trưởng thành",
        "skills": "Số người đạt phổ cập kỹ năng số", "skills_pct": "Tỷ lệ phổ cập kỹ năng số (%)", "hh": "Số hộ",
        "fam": "Số hộ đạt Gia đình số", "fam_pct": "Tỷ lệ hộ đạt Gia đình số (%)", "tdp": "Đạt Tổ dân phố số",
        "period": "Kỳ đánh giá", "name": "Tên tổ"}


def row(code: str, **values) -> dict:
    return {HEAD["code"]: code, **{HEAD[k]: v for k, v in values.items()}}


@pytest.fixture
def ward(conn):
    return make_ward(conn)


def _stored(conn, ward_id: int) -> dict[tuple[str, str, str], tuple]:
    return {(r.code, r.period, r.indicator): (r.numerator, r.denominator, round(r.value, 4)) for r in conn.execute(
        sa.text("SELECT g.code, v.period, v.indicator, v.numerator, v.denominator, v.value "
                "FROM group_indicator_value v JOIN residential_group g ON g.id = v.residential_group_id "
                "WHERE v.ward_id = :w"), {"w": ward_id})}


def _import(conn, ward, rows, period="2026-Q3", **kw):
    return group_import.run_import(conn, csv_bytes(rows), ward_id=ward.id, period=period, filename="tdp.csv",
                                   today=TODAY, **kw)


def test_counts_and_shares_are_stored_and_shown_per_group_and_for_the_ward(conn, ward) -> None:
    officer = staff_user("data_officer", ward_id=ward.id)
    counts = _import(conn, ward, [row("T01", pop=1000, vneid=700, adults=800, skills=400, hh=300, fam=200, tdp="Có"),
                                  row("T02", pop=500, vneid=450, skills_pct="60%", hh=100, fam=50, tdp="Không")],
                     user=officer)
    assert counts["values"] == 8 and counts["groups"] == 2
    assert _stored(conn, ward.id) == {
        ("T01", "2026-Q3", "vneid_activation"): (700, 1000, 0.7),
        ("T02", "2026-Q3", "vneid_activation"): (450, 500, 0.9),
        ("T01", "2026-Q3", "digital_skills"): (400, 800, 0.5), ("T02", "2026-Q3", "digital_skills"): (None, None, 0.6),
        ("T01", "2026-Q3", "digital_family"): (200, 300, 0.6667), ("T02", "2026-Q3", "digital_family"): (50, 100, 0.5),
        ("T01", "2026-Q3", "digital_group"): (1, 1, 1.0), ("T02", "2026-Q3", "digital_group"): (0, 1, 0.0)}
    frames = dashboard.load_frames(conn, ward.id)
    profile = profiles.get("hoa-cuong")
    board = dashboard.compute(frames, profile, TODAY, period="2026-Q3", trend_periods=0)
    s = board.imported
    assert (s.loc["vneid_activation", "num"], s.loc["vneid_activation", "den"]) == (1150, 1500)
    assert s.loc["vneid_activation", "value"] == pytest.approx(1150 / 1500)
    assert s.loc["vneid_activation", "target"] == 0.70 and bool(s.loc["vneid_activation", "met"]) is True
    # a share alone is mapped for its group, not weighed into the ward figure
    assert (s.loc["digital_skills", "num"], s.loc["digital_skills", "den"]) == (400, 800)
    assert s.loc["digital_skills", "groups_reported"] == 2
    assert s.loc["digital_group", "value"] == 0.5 and s.loc["digital_group", "target"] == 0.60  # 2028's target
    by_group = board.by_group.set_index("code")
    assert by_group.loc["T02", "digital_skills"] == pytest.approx(0.6)
    assert by_group.loc["T01", "digital_family"] == pytest.approx(2 / 3)
    # the year and the half-year show the quarter's assessment; the quarter after has none
    assert dashboard.compute(frames, profile, TODAY, period="2026", trend_periods=0).imported.loc[
        "vneid_activation", "periods"] == ["2026-Q3"]
    assert dashboard.compute(frames, profile, TODAY, period="2026-Q4", trend_periods=0).imported.loc[
        "vneid_activation", "value"] is None
    # the choropleth draws an imported indicator; the Excel report lists them
    html = dashboard.choropleth(board, "digital_family").get_root().render()
    assert "Hộ đạt Gia đình số" in html and "67%" in html
    buf = io.BytesIO()
    dashboard.write_report(frames, profile, "Phường Thử nghiệm", "2026-Q3", buf, today=TODAY)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    cells = [c for r in wb["Tổng hợp"].iter_rows(values_only=True) for c in r if c is not None]
    assert "Dân số đã kích hoạt VNeID" in cells and 1150 in cells
    assert "Hộ đạt Gia đình số" in next(wb["Theo tổ dân phố"].iter_rows(values_only=True))


def test_reimporting_a_period_replaces_it_and_is_audited(conn, ward) -> None:
    _import(conn, ward, [row("T01", pop=1000, vneid=700), row("T02", pop=500, vneid=100)])
    _import(conn, ward, [row("T01", pop=1000, vneid=500)], period="2026-Q2")
    _import(conn, ward, [row("T01", pop=1000, vneid=800)])
    stored = _stored(conn, ward.id)
    assert stored[("T01", "2026-Q3", "vneid_activation")] == (800, 1000, 0.8)
    assert ("T02", "2026-Q3", "vneid_activation") not in stored  # left out of the new file: replaced too
    assert stored[("T01", "2026-Q2", "vneid_activation")] == (500, 1000, 0.5)  # another period untouched
    entries = conn.execute(sa.text("SELECT before, after FROM audit_log WHERE entity_type = 'group_indicators' "
                                   "AND entity_id = :w ORDER BY id"), {"w": ward.id}).all()
    assert len(entries) == 3 and entries[0].before is None
    assert {(v["code"], v["numerator"]) for v in entries[2].before["values"]} == {("T01", 700), ("T02", 100)}
    assert entries[2].after["period"] == "2026-Q3" and entries[2].after["source_file"] == "tdp.csv"


def _issues(plan, lang="vi"):
    return [(i.row, i.level, i.describe(lang)) for i in plan.issues()]


def test_bad_rows_are_named_in_vietnamese_and_nothing_is_written(conn, ward) -> None:
    _import(conn, ward, [row("T01", pop=100, vneid=50)])
    before = _stored(conn, ward.id)
    rows = [row("T01", pop=1000, vneid=1200),              # more activated than residents
            row("T99", pop=10, vneid=5),                   # no such group
            row("T02", hh=10, fam=5, fam_pct=80),          # counts say 50%, the share 80%
            row("t01", pop=10, vneid=5),                   # T01 again (codes match without case)
            row("T02", period="2026-Q2", pop=10, vneid=5), # another period
            row("T02", skills_pct=130)]
    plan = group_import.dry_run(conn, csv_bytes(rows), ward_id=ward.id, period="2026-Q3", today=TODAY)
    issues = _issues(plan)
    text = "\n".join(m for _, _, m in issues)
    assert "Dòng 2, cột 'Số người đã kích hoạt VNeID': 1200 lớn hơn 1000" in text
    assert "Dòng 3, cột 'Mã tổ': Không có tổ dân phố mã 'T99'" in text
    assert "Dòng 4, cột 'Tỷ lệ hộ đạt Gia đình số (%)': Tỷ lệ ghi 80.0% khác tỷ lệ tính từ số đếm 50.0%" in text
    assert "Tổ T01 có ở cả dòng 2 và dòng 5" in text
    assert "Dòng 6, cột 'Kỳ đánh giá': Kỳ '2026-Q2' khác kỳ đang nhập 2026-Q3" in text
    assert "Dòng 7, cột 'Tỷ lệ phổ cập kỹ năng số (%)': Tỷ lệ 130 nằm ngoài 0–100" in text
    assert "Row 2, column 'Số người đã kích hoạt VNeID': 1200 is more than 1000" in "\n".join(
        m for _, _, m in _issues(plan, "en"))
    with pytest.raises(GroupImportRejected) as refused:
        group_import.run_import(conn, csv_bytes(rows), ward_id=ward.id, period="2026-Q3", today=TODAY)
    assert "chưa ghi dữ liệu nào" in refused.value.message("vi")
    assert _stored(conn, ward.id) == before


def test_shares_as_fractions_percent_signs_and_hostile_text(conn, ward) -> None:
    rows = [row("T01", name="=HYPERLINK(\"http://x\")<script>", skills_pct=0.75, fam_pct="82,5%"),
            row("T02\x07", skills_pct=0.5)]
    plan = group_import.dry_run(conn, csv_bytes(rows), ward_id=ward.id, period="2026-Q3", today=TODAY,
                                filename="tdp\x00<b>.csv")
    text = "\n".join(m for _, _, m in _issues(plan))
    assert "ghi tỷ lệ dạng 0–1 (ví dụ 0,75): đã hiểu là 0–100%" in text  # the whole column is 0–1
    assert "Đã bỏ các ký tự điều khiển" in text and "khác tên trên bản đồ" in text
    assert not plan.blocked
    group_import.run_import(conn, csv_bytes(rows), ward_id=ward.id, period="2026-Q3", today=TODAY,
                            filename="tdp\x00<b>.csv")
    stored = _stored(conn, ward.id)
    assert stored[("T01", "2026-Q3", "digital_skills")] == (None, None, 0.75)
    assert stored[("T02", "2026-Q3", "digital_skills")] == (None, None, 0.5)
    assert stored[("T01", "2026-Q3", "digital_family")] == (None, None, 0.825)  # "82,5%": a percent sign reads 0–100
    assert conn.execute(sa.text("SELECT DISTINCT source_file FROM group_indicator_value WHERE ward_id = :w"),
                        {"w": ward.id}).scalar() == "tdp<b>.csv"
    # a single small share in a 0–100 column is kept as written, and said so
    plan = group_import.dry_run(conn, csv_bytes([row("T01", skills_pct=0.5), row("T02", skills_pct=60)]),
                                ward_id=ward.id, period="2026-Q3", today=TODAY)
    assert any("được hiểu là 0.5%" in m for _, _, m in _issues(plan))


@pytest.mark.parametrize(("period", "message"), [("2026-Q5", "is not understood"), ("2027-Q1", None)])
def test_wrong_or_future_periods_are_refused(conn, ward, period, message) -> None:
    from geomap.errors import GeomapError

    if message:
        with pytest.raises(GeomapError, match=message):
            group_import.dry_run(conn, csv_bytes([row("T01", pop=1, vneid=1)]), ward_id=ward.id, period=period,
                                 today=TODAY)
        return
    plan = group_import.dry_run(conn, csv_bytes([row("T01", pop=1, vneid=1)]), ward_id=ward.id, period=period,
                                today=TODAY)
    assert plan.blocked and "chưa bắt đầu" in _issues(plan)[0][2]


def test_the_template_lists_the_wards_groups_and_imports_back(conn, ward) -> None:
    wb = load_workbook(io.BytesIO(group_import.template(conn, ward.id, "2026-Q3")))
    ws = wb["Chỉ tiêu tổ dân phố"]
    values = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    assert header[0] == "Mã tổ *" and "Số người đã kích hoạt VNeID" in header
    assert [r[0] for r in values[1:]] == ["T01", "T02"] and values[1][2] == "2026-Q3"
    ws.cell(row=2, column=header.index("Số nhân khẩu") + 1, value=800)
    ws.cell(row=2, column=header.index("Số người đã kích hoạt VNeID") + 1, value=600)
    ws.cell(row=3, column=header.index("Đạt Tổ dân phố số") + 1, value="Có")
    buf = io.BytesIO()
    wb.save(buf)
    counts = group_import.run_import(conn, buf.getvalue(), ward_id=ward.id, period="2026-Q3", filename="mau.xlsx",
                                     today=TODAY)
    assert counts["values"] == 2
    assert _stored(conn, ward.id) == {("T01", "2026-Q3", "vneid_activation"): (600, 800, 0.75),
                                      ("T02", "2026-Q3", "digital_group"): (1, 1, 1.0)}


def test_only_those_who_import_records_may_import(conn, ward) -> None:
    with pytest.raises(PermissionDenied):
        _import(conn, ward, [row("T01", pop=1, vneid=1)], user=staff_user("inspector", ward_id=ward.id))


# --- the indicator API ------------------------------------------------------------------------------


@pytest.fixture
def api(database_url, engine, demo_ward):
    from geomap.web import create_app

    keys = {"city": apikeys.create(engine, "Nền tảng báo cáo thành phố (test)", ["indicators"]),
            "ward": apikeys.create(engine, "IOC phường (test)", ["indicators:hoa-cuong"]),
            "other": apikeys.create(engine, "Phường khác (test)", ["indicators:thanh-khe"]),
            "open311": apikeys.create(engine, "Open311 (test)", ["open311"])}
    rows = [row("TDP001", pop=1000, vneid=720, tdp="Có"), row("TDP002", pop=1000, vneid=680, tdp="Không")]
    today = dt.date.today()
    quarter = dashboard.periods.containing(today, "quarter")
    group_import.run_import(engine, csv_bytes(rows), ward_id=demo_ward["id"], period=str(quarter), filename="api.csv")
    with TestClient(create_app(database_url)) as client:
        yield client, keys, str(quarter)
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM group_indicator_value WHERE ward_id = :w"), {"w": demo_ward["id"]})


def test_the_api_gives_every_indicator_for_the_ward_and_per_group(api) -> None:
    client, keys, quarter = api
    r = client.get("/api/indicators", params={"period": quarter}, headers={"X-API-Key": keys["ward"]})
    assert r.status_code == 200, r.text[:300]
    doc = r.json()
    assert doc["ward"]["slug"] == "hoa-cuong" and doc["period"]["id"] == quarter
    by_key = {i["key"]: i for i in doc["indicators"]}
    assert {"digital_platform_share", "licensed_share", "vneid_activation", "digital_group"} <= set(by_key)
    own = by_key["digital_platform_share"]
    assert own["source"] == "geomap" and own["target"] is not None and own["definition"]["vi"]
    assert 0 < own["numerator"] <= own["denominator"] and own["value"] == pytest.approx(
        own["numerator"] / own["denominator"], abs=1e-6)
    vneid = by_key["vneid_activation"]
    assert (vneid["numerator"], vneid["denominator"], vneid["value"]) == (1400, 2000, 0.7)
    assert vneid["source"] == "imported" and vneid["assessments"] == [quarter] and vneid["target"] == 0.70
    assert len(doc["groups"]) == 312
    one = client.get("/api/indicators", params={"period": quarter, "group": "TDP001"},
                     headers={"X-API-Key": keys["city"]}).json()
    assert [g["code"] for g in one["groups"]] == ["TDP001"]
    assert one["groups"][0]["indicators"]["vneid_activation"] == {"numerator": 720, "denominator": 1000, "value": 0.72}
    ward_total = sum(g["indicators"]["licensed_share"]["denominator"] for g in doc["groups"])
    assert ward_total <= by_key["licensed_share"]["denominator"]  # groups plus records outside every group


@pytest.mark.parametrize(("key", "params", "status", "says"), [
    (None, {}, 401, "X-API-Key"),
    ("nonsense", {}, 401, "X-API-Key"),
    ("open311", {}, 403, "may not read indicators"),
    ("other", {"ward": "hoa-cuong"}, 403, "reads only the ward thanh-khe"),
    ("ward", {"period": "2026-13"}, 400, "is not understood: use YYYY-MM"),
    ("ward", {"period": "Q3-2026"}, 400, "is not understood"),
    ("ward", {"period": "2099-Q1"}, 404, "has not started"),
    ("city", {"ward": "khong-co"}, 404, "no ward 'khong-co'"),
    ("city", {"group": "<script>"}, 404, "no residential group '<script>'"),
])
def test_the_api_refuses_clearly(api, key, params, status, says) -> None:
    client, keys, _ = api
    headers = {"X-API-Key": keys.get(key, key)} if key else {}
    r = client.get("/api/indicators", params=params, headers=headers)
    assert r.status_code == status and says in json.loads(r.text)["detail"], r.text


def test_the_api_is_in_the_openapi_document(api) -> None:
    client, _, _ = api
    doc = client.get("/api/openapi.json").json()
    op = doc["paths"]["/api/indicators"]["get"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(op["responses"])
    assert {p["name"] for p in op["parameters"]} == {"X-API-Key", "period", "ward", "group"}


def test_an_empty_template_is_refused_rather_than_erasing_the_period(conn, ward) -> None:
    _import(conn, ward, [row("T01", pop=100, vneid=50)])
    blank = group_import.template(conn, ward.id, "2026-Q3")
    with pytest.raises(GroupImportRejected) as refused:
        group_import.run_import(conn, blank, ward_id=ward.id, period="2026-Q3", today=TODAY)
    assert "Tệp không có số liệu chỉ tiêu nào" in refused.value.message("vi")
    assert "2 dòng không có số liệu" in "; ".join(i.describe() for i in refused.value.plan.issues())
    assert _stored(conn, ward.id) == {("T01", "2026-Q3", "vneid_activation"): (50, 100, 0.5)}


def test_the_indicator_cache_answers_old_frames_while_it_reads_them_again(monkeypatch):
    """Past its time to live a ward's frames are answered at once while one background read replaces them;
    past the stale limit the call reads them itself."""
    import threading
    import time

    from geomap.dashboard import api as indicator_api

    reads, release = [], threading.Event()

    def load(engine, ward_id):
        reads.append(ward_id)
        if len(reads) > 1:
            release.wait(5)  # a slow read: the caller must not wait for it
        return f"frames {len(reads)}"
    monkeypatch.setattr(indicator_api, "load_frames", load)
    cache = indicator_api.IndicatorCache(ttl_s=0.05, stale_s=60)
    assert cache.frames(None, 7) == "frames 1"
    time.sleep(0.06)
    assert cache.frames(None, 7) == "frames 1"  # old frames at once, a read started
    assert cache.frames(None, 7) == "frames 1" and len(reads) == 2  # one read at a time
    release.set()
    for _ in range(100):
        if cache.frames(None, 7) == "frames 2":
            break
        time.sleep(0.02)
    assert cache.frames(None, 7) == "frames 2"
    stale = indicator_api.IndicatorCache(ttl_s=0.01, stale_s=0.02)
    stale.frames(None, 8)
    time.sleep(0.03)
    stale.frames(None, 8)
    assert reads.count(8) == 2  # too old to answer: read before answering
