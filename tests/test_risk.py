"""Risk score and inspection planning against the real PostGIS: reasons, nearby reports, recording results.

A small committed ward ("test-risk") with a ward office, four establishments, field reports
at known distances and an inspection history; each test works inside a rolled-back
connection on top of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

import layers
from geomap import auth, layer_reader
from geomap.inspections import data, planning, risk, routing
from geomap.records import edit, rules

TODAY = dt.date(2026, 11, 22)
FOOD, RETAIL = "5610", "4719"
W, S, E, N = 108.200, 16.000, 108.212, 16.012
OFFICE = (108.206, 16.006)
# about 111 m per 0.001° of latitude
PHO = (108.203, 16.003)
SHOP = (108.209, 16.009)
CAFE = (108.204, 16.008)


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def _insert_establishment(c, ward_id, code, name, vsic, point, **extra):
    cols = {"ward_id": ward_id, "code": code, "name": name, "business_type": "household", "vsic_code": vsic,
            "address": f"{code} Đường Thử", **extra}
    names = ", ".join(cols)
    values = ", ".join(f":{k}" for k in cols)
    return c.execute(sa.text(f"INSERT INTO establishment ({names}, geom) VALUES ({values}, "
                             "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"),
                     {**cols, "lon": point[0] if point else None, "lat": point[1] if point else None}).scalar_one()


@pytest.fixture(scope="module")
def ward(engine) -> Iterator[dict]:
    with engine.begin() as c:
        ward_id = c.execute(sa.text(
            "INSERT INTO ward (slug, name, province, local_srid, geom) VALUES "
            "('test-risk', 'Phường Thử Rủi Ro', 'Đà Nẵng', 5899, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"g": _square(W, S, E, N)}).scalar_one()
        group = c.execute(sa.text(
            "INSERT INTO residential_group (ward_id, code, name, geom) VALUES (:w, 'T1', 'Tổ 1', ST_GeomFromEWKT(:g)) "
            "RETURNING id"), {"w": ward_id, "g": _square(W, S, E, N)}).scalar_one()
        c.execute(sa.text("INSERT INTO public_facility (ward_id, kind, name, geom) VALUES "
                          "(:w, 'ward_office', 'UBND phường', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                  {"w": ward_id, "x": OFFICE[0], "y": OFFICE[1]})
        ids = {
            # food service, certificate expired, a serious violation last year
            "pho": _insert_establishment(c, ward_id, "TR-PHO", "Quán Phở Hòa", FOOD, PHO, residential_group_id=group,
                                         opening_hours="06:00-21:00"),
            # retail, valid registration, inspected last month
            "shop": _insert_establishment(c, ward_id, "TR-SHOP", "Tạp hóa Minh", RETAIL, SHOP,
                                          residential_group_id=group, opening_hours="07:00-22:00"),
            # food, no certificate nor commitment, never inspected
            "cafe": _insert_establishment(c, ward_id, "TR-CAFE", "Cà phê Góc", "5630", CAFE,
                                          residential_group_id=group),
            # no coordinates
            "lost": _insert_establishment(c, ward_id, "TR-LOST", "Bánh mì không địa chỉ", FOOD, None),
        }
        lic = ("INSERT INTO licence (establishment_id, kind, number, issued_on, expires_on) "
               "VALUES (:e, :k, :n, :i, :x)")
        c.execute(sa.text(lic), {"e": ids["pho"], "k": "food_safety_certificate", "n": "ATTP-1",
                                 "i": dt.date(2022, 1, 1), "x": dt.date(2025, 1, 1)})
        c.execute(sa.text(lic), {"e": ids["shop"], "k": "business_registration", "n": "DK-2",
                                 "i": dt.date(2024, 1, 1), "x": None})
        for key in ("pho", "cafe", "lost"):
            c.execute(sa.text(lic), {"e": ids[key], "k": "business_registration", "n": f"DK-{key}",
                                     "i": dt.date(2024, 1, 1), "x": None})
        ins = ("INSERT INTO inspection (establishment_id, inspected_on, kind, result, violations, follow_up_due) "
               "VALUES (:e, :d, 'periodic', :r, CAST(:v AS jsonb), :f)")
        c.execute(sa.text(ins), {"e": ids["pho"], "d": dt.date(2025, 12, 1), "r": "violation",
                                 "v": '[{"code": "ATTP-03", "severity": 3, "text": "Bếp bẩn"}, '
                                      '{"code": "ATTP-07", "severity": 1}]',
                                 "f": dt.date(2025, 12, 8)})
        c.execute(sa.text(ins), {"e": ids["pho"], "d": dt.date(2026, 1, 5), "r": "pass", "v": "[]", "f": None})
        c.execute(sa.text(ins), {"e": ids["shop"], "d": dt.date(2026, 10, 20), "r": "pass", "v": "[]", "f": None})
        rep = ("INSERT INTO field_report (ward_id, public_id, category, description, channel, status, reported_at, "
               "geom) VALUES (:w, :p, 'food_safety', 'Mùi hôi', 'web', :s, :t, ST_SetSRID(ST_MakePoint(:x, :y), 4326))")
        now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
        for pid, dlat, when, state in (("r1", 0.0008, now, "new"),  # ~89 m: counts
                                       ("r2", 0.0004, now - dt.timedelta(days=30), "resolved"),  # counts
                                       ("r3", 0.0014, now, "new"),  # ~155 m: too far
                                       ("r4", 0.0002, now - dt.timedelta(days=120), "new"),  # too old
                                       ("r5", 0.0001, now, "duplicate")):  # a duplicate: not counted twice
            c.execute(sa.text(rep), {"w": ward_id, "p": f"test-risk-{pid}", "s": state, "t": when,
                                     "x": PHO[0], "y": PHO[1] + dlat})
        users = {role: auth.create_user(c, f"risk_{role}", f"Cán bộ {role}", role, "mật-khẩu-dài", ward_id=ward_id)
                 for role in ("inspector", "data_officer", "ward_manager")}
    yield {"id": ward_id, "ids": ids, "users": users}
    # the test database is shared by the whole run: later modules must not meet this ward
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM app_user WHERE username LIKE 'risk\\_%'"))
        c.execute(sa.text("DELETE FROM ward WHERE id = :w"), {"w": ward_id})


def _due(conn, ward, **kw) -> pd.DataFrame:
    return planning.due_list(conn, ward["id"], "hoa-cuong", TODAY, **kw)


def test_reasons_are_gathered_from_the_records(conn, ward):
    frame = data.risk_inputs(conn, ward["id"], TODAY).set_index("code")
    assert frame.loc["TR-PHO", "reports_nearby"] == 2  # r1 and r2; not r3 (155 m), r4 (old), r5 (duplicate)
    assert frame.loc["TR-SHOP", "reports_nearby"] == 0
    assert frame.loc["TR-PHO", "violation_count"] == 1 and frame.loc["TR-PHO", "violation_severity_sum"] == 4
    assert frame.loc["TR-PHO", "violation_severity_max"] == 3
    assert frame.loc["TR-CAFE", "violation_count"] == 0


def test_ranking_and_transparent_reasons(conn, ward):
    due = _due(conn, ward)
    assert due.iloc[0]["code"] == "TR-PHO"
    pho = due.set_index("code").loc["TR-PHO"]
    codes = [r.code for r in pho["risk_reasons"]]
    assert codes == ["fs_certificate_expired", "past_violations", "reports_nearby", "days_since_inspection",
                     "industry_risk"]
    assert pho["risk_score"] == pytest.approx(sum(r.points for r in pho["risk_reasons"]))
    text = risk.reasons_text(pho["risk_reasons"], "vi")
    assert "GCN ATTP hết hạn từ 2025-01-01" in text and "2 phản ánh trong bán kính 100 m" in text
    assert "Food-safety certificate expired" in risk.reasons_text(pho["risk_reasons"], "en")
    cafe = due.set_index("code").loc["TR-CAFE"]
    assert [r.code for r in cafe["risk_reasons"]][:2] == ["fs_missing", "never_inspected"]
    shop = due.set_index("code").loc["TR-SHOP"]
    assert not shop["due"] and shop["risk_score"] < cafe["risk_score"]  # retail below food service
    assert list(due["risk_rank"]) == list(range(1, len(due) + 1))
    assert due["risk_score"].is_monotonic_decreasing


def test_filters(conn, ward):
    assert set(_due(conn, ward, sectors=["retail"])["code"]) == {"TR-SHOP"}
    assert set(_due(conn, ward, statuses=["missing"])["code"]) >= {"TR-CAFE"}
    assert "TR-SHOP" not in set(_due(conn, ward, only_due=True)["code"])
    assert len(_due(conn, ward, residential_groups=["Tổ 1"])) == 3


def test_planning_page_offers_the_vsic_codes_of_the_due_list(conn, ward):
    from geomap.ui.pages import inspections

    frame = _due(conn, ward)
    options = inspections._vsic_options(frame, "vi")
    assert set(options) == {FOOD, RETAIL, "5630"}
    assert all(label.startswith(f"{code} — ") for code, label in options.items())
    picked = planning.due_list(conn, ward["id"], "hoa-cuong", TODAY, vsic_codes=[FOOD])
    assert set(picked["code"]) == {"TR-PHO", "TR-LOST"}


def test_weights_come_from_the_ward_profile(tmp_path, monkeypatch):
    from geomap import config, profiles

    shipped = (config.DATA_DIR / "profiles" / "hoa-cuong.toml").read_text(encoding="utf-8")
    without = shipped[: shipped.index("[risk_weights]")]
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "thu.toml").write_text(
        without + "[risk_weights]\nfs_missing = 99\nreports_days = 30\n", encoding="utf-8")
    (tmp_path / "profiles" / "sai.toml").write_text(without + "[risk_weights]\nfs_mising = 1\n", encoding="utf-8")
    (tmp_path / "profiles" / "mac-dinh.toml").write_text(without, encoding="utf-8")
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    profiles.get.cache_clear()
    try:
        weights = risk.weights_for("thu")
        assert weights.fs_missing == 99 and weights.reports_days == 30 and weights.fs_certificate_expired == 30
        with pytest.raises(ValueError, match="fs_mising"):
            risk.weights_for("sai")
        assert risk.weights_for("mac-dinh") == risk.RiskWeights()
    finally:
        profiles.get.cache_clear()


def test_shipped_ward_weights_load():
    for slug in ("hoa-cuong", "thanh-khe"):
        assert risk.weights_for(slug).reports_radius_m == 100
    assert risk.weights_for("hai-chau") == risk.RiskWeights()  # a generated city ward has no profile file


def test_plan_from_the_database_starts_at_the_ward_office(conn, ward):
    ids = ward["ids"]
    plan = planning.plan(conn, ward["id"], "hoa-cuong", [ids["pho"], ids["cafe"], ids["lost"], 999_999],
                         [routing.Inspector("Cán bộ A")], routing.DaySettings(time_limit_s=0.2), date=TODAY)
    assert plan.routes[0].start == pytest.approx(OFFICE)
    assert {v.stop.id for v in plan.routes[0].visits} == {ids["pho"], ids["cafe"]}
    reasons = {d.stop.id: d.reason.code for d in plan.dropped}
    assert reasons == {ids["lost"]: "no_coordinates", 999_999: "not_plannable_record"}
    assert routing.check_plan(plan) == []


def test_a_bad_street_graph_gives_a_straight_line_plan_and_says_so(conn, ward, tmp_path):
    ids = ward["ids"]
    for name, content in (("ward.osm", b"<osm><node id='1'"), ("ward.pbf", b"\x00\x01"),
                          ("empty.osm", b"<osm version='0.6'></osm>")):
        path = tmp_path / name
        path.write_bytes(content)
        plan = planning.plan(conn, ward["id"], "hoa-cuong", [ids["pho"], ids["cafe"]],
                             [routing.Inspector("Cán bộ A")], routing.DaySettings(time_limit_s=0.2), date=TODAY,
                             street_graph=str(path))
        assert plan.kept == 2 and routing.check_plan(plan) == []
        assert plan.travel_model.startswith("straight_line")
        notice = plan.notices[0]
        assert notice.code == "graph_unusable"
        assert "đường thẳng × 1.3" in notice.text("vi") and "15 km/h" in notice.text("en")
        assert name in notice.text("en")  # the file and what is wrong with it


def test_recording_a_violation_changes_statuses_map_and_schedules_follow_up(conn, ward):
    inspector = ward["users"]["inspector"]
    cafe = ward["ids"]["cafe"]
    estab = layers.registry()["establishments"]
    before = layer_reader.read(conn, estab, ward_id=ward["id"], where={"code": ["TR-CAFE"]})
    assert before.iloc[0]["food_safety_status"] == "missing"

    plan = planning.plan(conn, ward["id"], "hoa-cuong", [cafe, ward["ids"]["pho"]],
                         [routing.Inspector(inspector.full_name, user_id=inspector.id)],
                         routing.DaySettings(time_limit_s=0.2), date=TODAY)
    planning.save_plan(conn, ward["id"], plan, user=inspector)
    today_routes = planning.routes_on(conn, ward["id"], TODAY, inspector_id=inspector.id)
    assert len(today_routes) == 1 and all(s["recorded"] is None for s in today_routes[0]["stops"])

    inspection_id = planning.record_visit(
        conn, cafe, "violation", day=TODAY, violations=[{"code": "ATTP-05", "severity": 2, "text": "Không có GCN"}],
        notes="<script>alert(1)</script>", photo_files=[("anh.png", _png())], user=inspector)
    after = layer_reader.read(conn, estab, ward_id=ward["id"], where={"code": ["TR-CAFE"]})
    assert after.iloc[0]["food_safety_status"] == "violation"
    assert after.iloc[0]["last_inspection_result"] == "violation"
    assert after.iloc[0]["last_follow_up_due"] == TODAY + dt.timedelta(days=rules.FOLLOW_UP_DAYS[2])
    stored = conn.execute(sa.text("SELECT notes FROM inspection WHERE id = :i"), {"i": inspection_id}).scalar()
    assert stored == "<script>alert(1)</script>"  # stored as text; pages escape it
    photos = planning.inspection_photos(conn, inspection_id)
    assert len(photos) == 1 and photos[0]["media_type"] == "image/png"
    done = planning.routes_on(conn, ward["id"], TODAY, inspector_id=inspector.id)[0]["stops"]
    assert {s["establishment_id"]: (s["recorded"] or {}).get("result") for s in done}[cafe] == "violation"
    # the follow-up makes it due again once its date comes
    later = planning.due_list(conn, ward["id"], "hoa-cuong", TODAY + dt.timedelta(days=20)).set_index("code")
    assert "follow_up_due" in [r.code for r in later.loc["TR-CAFE", "risk_reasons"]]


def test_a_bad_photo_refuses_the_whole_save(conn, ward):
    inspector = ward["users"]["inspector"]
    count = conn.execute(sa.text("SELECT count(*) FROM inspection")).scalar()
    with pytest.raises(Exception, match="ảnh|image"):
        planning.record_visit(conn, ward["ids"]["shop"], "pass", day=TODAY,
                              photo_files=[("x.jpg", b"not an image")], user=inspector)
    assert conn.execute(sa.text("SELECT count(*) FROM inspection")).scalar() == count


def test_roles_inspector_records_but_cannot_edit(conn, ward):
    inspector, manager = ward["users"]["inspector"], ward["users"]["ward_manager"]
    assert auth.can(inspector, "record_inspection") and not auth.can(inspector, "edit_records")
    with pytest.raises(auth.PermissionDenied):
        edit.update_establishment(conn, ward["ids"]["shop"], {"name": "Đổi tên"}, expected_version=1,
                                     user=inspector)
    planning.record_visit(conn, ward["ids"]["shop"], "pass", day=TODAY, user=inspector)
    with pytest.raises(auth.PermissionDenied):
        planning.record_visit(conn, ward["ids"]["shop"], "pass", day=TODAY, user=manager)
    # saving a day's routes needs the same right: the ward manager may plan, not save
    plan = planning.plan(conn, ward["id"], "hoa-cuong", [ward["ids"]["shop"]],
                         [routing.Inspector(manager.full_name, user_id=manager.id)],
                         routing.DaySettings(time_limit_s=0.2), date=TODAY)
    routes_before = conn.execute(sa.text("SELECT count(*) FROM inspection_route")).scalar()
    with pytest.raises(auth.PermissionDenied):
        planning.save_plan(conn, ward["id"], plan, user=manager)
    assert conn.execute(sa.text("SELECT count(*) FROM inspection_route")).scalar() == routes_before
    assert planning.save_plan(conn, ward["id"], plan, user=inspector)  # the inspector may
    assert {u["username"] for u in planning.inspectors(conn, ward["id"])} >= {"risk_inspector", "risk_data_officer"}
    assert "risk_ward_manager" not in {u["username"] for u in planning.inspectors(conn, ward["id"])}


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_street_graph_upload_is_named_by_its_own_name_not_the_temporary_file(conn, ward, tmp_path):
    ids = ward["ids"]
    crew, settings = [routing.Inspector("Cán bộ A")], routing.DaySettings(time_limit_s=0.2)
    bad = tmp_path / "tmpk3j9x_2.osm"  # as the page saves an upload
    bad.write_bytes(b"<osm><node id='1'")
    plan = planning.plan(conn, ward["id"], "hoa-cuong", [ids["pho"], ids["cafe"]], crew, settings, date=TODAY,
                         street_graph=str(bad), street_graph_name="duong-pho-phuong.osm")
    text = plan.notices[0].text("en")
    assert plan.notices[0].code == "graph_unusable" and plan.kept == 2
    assert "duong-pho-phuong.osm" in text and "tmpk3j9x_2" not in text and str(tmp_path) not in text

    nodes = [(W, S), (E, S), (E, N), (W, N)]
    good = tmp_path / "tmp0a1b2c.osm"
    good.write_text('<osm version="0.6">' + "".join(f'<node id="{k}" lon="{x}" lat="{y}"/>'
                                                      for k, (x, y) in enumerate(nodes, 1))
                    + '<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
                      '<tag k="highway" v="residential"/></way></osm>', encoding="utf-8")
    plan = planning.plan(conn, ward["id"], "hoa-cuong", [ids["pho"], ids["cafe"]], crew, settings, date=TODAY,
                         street_graph=str(good), street_graph_name="duong-pho-phuong.osm")
    assert plan.travel_model.startswith("street_graph(duong-pho-phuong.osm)"), plan.travel_model


def test_tiers_separate_what_the_rules_require_from_risk_and_routine(conn, ward):
    due = _due(conn, ward).set_index("code")
    assert due.loc["TR-PHO", "tier"] == "required"  # certificate expired
    assert due.loc["TR-CAFE", "tier"] == "required"  # food business without certificate or commitment
    assert not due.loc["TR-SHOP", "due"] and due.loc["TR-SHOP", "tier"] in ("none", "routine")
    counts = risk.tier_counts(due)
    assert list(counts) == list(risk.TIERS) and sum(counts.values()) == len(due)
    assert set(_due(conn, ward, tiers=["required"])["code"]) == set(due.index[due["tier"] == "required"])
    # every due row sits in a tier, and only due rows do
    assert (due["due"] == (due["tier"] != "none")).all()
    # a score at or above the threshold without a rule's reason is "high risk"; an old inspection alone "routine"
    weights = risk.RiskWeights()
    frame = pd.DataFrame([
        {"code": "A", "last_inspected_on": TODAY - dt.timedelta(days=400), "licence_status": "valid",
         "food_safety_status": "not_applicable", "food_safety_applicable": False, "risk_level": 1},
        {"code": "B", "last_inspected_on": TODAY - dt.timedelta(days=30), "licence_status": "valid",
         "food_safety_status": "not_applicable", "food_safety_applicable": False, "risk_level": 3,
         "reports_nearby": 10, "violation_count": 3, "violation_severity_sum": 9, "violation_severity_max": 3},
    ])
    from geomap import status as status_rules

    for col in status_rules.INPUT_COLUMNS:
        if col not in frame:
            frame[col] = None
    frame["business_type"] = "household"
    tiers = risk.score(frame, weights, TODAY).set_index("code")["tier"]
    assert tiers.to_dict() == {"A": "routine", "B": "high_risk"}
