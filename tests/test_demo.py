"""The synthetic demo ward: deterministic, inside the real boundary, realistic, all-or-nothing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geomap import cli, config, profiles, status
from geomap.demo import data as demo_data
from geomap.demo import generate, load, profiles_for, territory
from geomap.demo.profiles_city import city_profiles, slug_for
from geomap.errors import BoundaryError, UnknownWard

TODAY = dt.date(2026, 11, 22)
POINT_TABLES = ("establishment", "infrastructure", "public_facility", "field_report", "market")
POLYGON_TABLES = ("residential_group", "former_ward_zone", "land_parcel")


@pytest.fixture(scope="module")
def small() -> object:
    """Hòa Cường at scale 0.1, generated without a database."""
    return generate(profiles.get("hoa-cuong"), scale=0.1, today=TODAY)


def _counts(conn, slug: str) -> dict[str, int]:
    ward = conn.execute(sa.text("SELECT id FROM ward WHERE slug = :s"), {"s": slug}).scalar()
    if ward is None:
        return {}
    out = {}
    for table in ("establishment", "residential_group", "land_parcel", "field_report", "infrastructure"):
        out[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE ward_id = :w"), {"w": ward}).scalar()
    out["licence"] = conn.execute(sa.text(
        "SELECT count(*) FROM licence l JOIN establishment e ON e.id = l.establishment_id WHERE e.ward_id = :w"),
        {"w": ward}).scalar()
    out["ids"] = conn.execute(sa.text("SELECT coalesce(sum(id), 0) FROM establishment WHERE ward_id = :w"),
                              {"w": ward}).scalar()
    return out


# --- pure generation ------------------------------------------------------------------------


def test_generation_is_deterministic(small) -> None:
    again = generate(profiles.get("hoa-cuong"), scale=0.1, today=TODAY)
    assert again.digest() == small.digest()
    for name, frame in small.tables.items():
        other = again.tables[name]
        geo = [c for c in frame.columns if c in ("geom", "footprint")]
        pd.testing.assert_frame_equal(frame.drop(columns=geo), other.drop(columns=geo), obj=name)
        for c in geo:
            assert list(shapely.to_wkb(frame[c].to_numpy())) == list(shapely.to_wkb(other[c].to_numpy()))
    other_ward = generate(profiles.get("thanh-khe"), scale=0.1, today=TODAY)
    assert other_ward.digest() != small.digest()


def test_groups_tile_the_ward_in_the_local_grid(small) -> None:
    profile = profiles.get("hoa-cuong")
    groups = small.tables["residential_group"]
    assert len(groups) == 312
    assert groups["name"].iloc[0] == "Tổ dân phố 1"
    local = territory.project(groups["geom"].to_numpy(), 4326, 5899)
    ward_area = territory.project(profile.boundary(), 4326, 5899).area
    total = shapely.area(local).sum()
    assert abs(total - ward_area) / ward_area < 0.001
    assert abs(shapely.union_all(local).area - total) / total < 1e-6  # no overlaps
    assert abs(total / 1e6 - profile.official_area_km2) / profile.official_area_km2 < 0.01
    assert groups["population"].sum() == profile.population
    assert (groups["households"] < groups["population"]).all()
    zones = small.tables["former_ward_zone"]
    assert sorted(zones["name"]) == sorted(profile.former_wards)
    zone_area = shapely.area(territory.project(zones["geom"].to_numpy(), 4326, 5899)).sum()
    assert abs(zone_area - total) / total < 1e-6


def test_scale_multiplies_sizes(small) -> None:
    assert len(small.tables["establishment"]) == 600
    bigger = generate(profiles.get("hoa-cuong"), scale=0.2, today=TODAY)
    assert len(bigger.tables["establishment"]) == 1200
    assert len(bigger.tables["field_report"]) == 2 * len(small.tables["field_report"])
    assert len(bigger.tables["residential_group"]) == 312  # structure does not scale


def test_establishments_look_real(small) -> None:
    est = small.tables["establishment"]
    assert est["code"].str.fullmatch(r"HC-\d{6}").all() and est["code"].is_unique
    assert est["owner_id_number"].str.fullmatch(r"\d{12}").all()
    assert est["phone"].str.fullmatch(r"0[3789]\d{8}").all()
    assert est["tax_code"].dropna().str.fullmatch(r"\d{10}").all()
    assert est.loc[est["business_type"] == "enterprise", "tax_code"].notna().all()
    assert est["is_synthetic"].all()
    assert (est["search_key"] == est["search_key"].str.lower()).all()
    assert not est["search_key"].str.contains("ở").any()
    stalls = small.tables["stall"]
    traders = est.iloc[stalls["establishment_idx"]]
    assert (traders["business_type"] == "market_stall").all() and traders["market_idx"].notna().all()
    assert stalls.groupby("market_idx")["stall_no"].apply(lambda s: s.is_unique).all()
    shares = est["sector"].value_counts(normalize=True)
    assert 0.22 < shares["food_service"] < 0.38 and 0.18 < shares["retail"] < 0.34
    households = est["business_type"].isin(["household", "market_stall"]).mean()
    assert households > 0.8 and 0.04 < (est["business_type"] == "enterprise").mean() < 0.14


def test_field_reports_cluster_in_hotspots(small) -> None:
    """A hotspot analysis finds something: garbage reports crowd around the markets."""
    reports = small.tables["field_report"]
    xy = shapely.get_coordinates(territory.project(reports["geom"].to_numpy(), 4326, 5899))
    markets = shapely.get_coordinates(territory.project(small.tables["market"]["geom"].to_numpy(), 4326, 5899))
    garbage = xy[(reports["category"] == "garbage").to_numpy()]
    near = np.min([np.hypot(*(garbage - m).T) for m in markets], axis=0) < 200
    disc_share = len(markets) * np.pi * 200**2 / territory.project(profiles.get("hoa-cuong").boundary(), 4326,
                                                                      5899).area
    assert near.mean() > 5 * disc_share  # far more than a uniform scatter would put there
    # Clark-Evans nearest-neighbour ratio well below 1 (1 = random, <1 = clustered)
    d = np.hypot(*(garbage[:, None, :] - garbage[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    area = territory.project(profiles.get("hoa-cuong").boundary(), 4326, 5899).area
    assert d.min(axis=1).mean() / (0.5 * np.sqrt(area / len(garbage))) < 0.85
    # workflow consistent with age and deadlines
    resolved = reports[reports["resolved_at"].notna()]
    assert (resolved["resolved_at"] > resolved["reported_at"]).all()
    assert (resolved["status"].isin(["resolved", "closed"])).all()
    late = (resolved["resolved_at"] > resolved["deadline_at"]).mean()
    assert 0.03 < late < 0.3
    old = reports[reports["reported_at"] < pd.Timestamp(TODAY - dt.timedelta(days=60), tz="Asia/Ho_Chi_Minh")]
    assert old["status"].isin(["closed", "resolved", "duplicate", "not_ward"]).mean() > 0.85
    # demo tracking ids have the shape of real ones (PA-XXXX-XXXX-XXXX, the form's alphabet)
    assert reports["public_id"].is_unique
    assert reports["public_id"].str.fullmatch(r"PA-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}").all()
    assert reports["establishment_idx"].notna().any()


def test_city_profiles_cover_the_boundary_file() -> None:
    city = city_profiles()
    assert len(city) == 15
    slugs = {p.slug for p in city}
    assert {"hoa-cuong", "thanh-khe"} <= slugs
    assert "hai-chau" in slugs and "ba-na" in slugs and len(slugs) == 15
    assert len({p.code_prefix for p in city}) == 15
    assert all(p.demo["establishments"] >= 300 for p in city)
    assert slug_for("Phường Ngũ Hành Sơn") == "ngu-hanh-son"
    assert [p.slug for p in profiles_for("hoa-cuong", 1.0)] == ["hoa-cuong"]
    assert len(profiles_for("hoa-cuong", 2.0)) == 15


def test_generated_ward_stays_inside_its_boundary() -> None:
    profile = next(p for p in city_profiles() if p.slug == "an-hai")
    data = generate(profile, scale=0.5, today=TODAY)
    boundary = profile.boundary()
    shapely.prepare(boundary)
    for table in POINT_TABLES:
        assert shapely.contains(boundary, data.tables[table]["geom"].to_numpy()).all(), table
    assert len(data.tables["establishment"]) == round(profile.demo["establishments"] * 0.5)


def test_unknown_ward_and_broken_boundary(tmp_path, monkeypatch, capsys) -> None:
    with pytest.raises(UnknownWard, match="no ward profile 'nowhere'"):
        profiles_for("nowhere")
    assert cli.main(["demo", "load", "--ward", "nowhere"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err
    src = (config.DATA_DIR / "profiles" / "hoa-cuong.toml").read_text(encoding="utf-8")
    (tmp_path / "broken-demo.toml").write_text(
        src.replace('slug = "hoa-cuong"', 'slug = "broken-demo"').replace(
            "boundaries/danang-wards-2025-osm.geojson", "boundaries/missing.geojson"), encoding="utf-8")
    monkeypatch.setattr(profiles, "profiles_dir", lambda: tmp_path)
    profiles.get.cache_clear()
    try:
        with pytest.raises(BoundaryError, match="missing"):
            profiles_for("broken-demo")
    finally:
        profiles.get.cache_clear()


# --- in the database -------------------------------------------------------------------------


def test_demo_ward_is_inside_the_boundary(engine, demo_ward) -> None:
    with engine.connect() as c:
        for table in POINT_TABLES:
            outside = c.execute(sa.text(
                f"SELECT count(*) FROM {table} t JOIN ward w ON w.id = t.ward_id "
                f"WHERE w.id = :w AND NOT ST_Within(t.geom, w.geom)"), {"w": demo_ward["id"]}).scalar()
            assert outside == 0, table
        stalls_out = c.execute(sa.text(
            "SELECT count(*) FROM stall s JOIN market m ON m.id = s.market_id JOIN ward w ON w.id = m.ward_id "
            "WHERE w.id = :w AND NOT ST_Within(s.geom, m.footprint)"), {"w": demo_ward["id"]}).scalar()
        assert stalls_out == 0
        drains_out = c.execute(sa.text(
            "SELECT count(*) FROM infrastructure t JOIN ward w ON w.id = t.ward_id WHERE w.id = :w "
            "AND NOT ST_CoveredBy(t.geom, w.geom)"), {"w": demo_ward["id"]}).scalar()
        assert drains_out == 0
        for table in POLYGON_TABLES:
            # polygons clipped to the boundary share its edges: covered within a centimetre (1e-7 degree)
            outside = c.execute(sa.text(
                f"SELECT count(*) FROM {table} t JOIN ward w ON w.id = t.ward_id WHERE w.id = :w AND "
                f"NOT ST_CoveredBy(t.geom, ST_Buffer(w.geom, 1e-7))"), {"w": demo_ward["id"]}).scalar()
            assert outside == 0, table
        parcels_outside = c.execute(sa.text(
            "SELECT count(*) FROM land_parcel t JOIN ward w ON w.id = t.ward_id WHERE w.id = :w "
            "AND NOT ST_CoveredBy(t.geom, w.geom)"), {"w": demo_ward["id"]}).scalar()
        assert parcels_outside == 0
        wrong_group = c.execute(sa.text(
            "SELECT count(*) FROM establishment e JOIN residential_group g ON g.id = e.residential_group_id "
            "WHERE e.ward_id = :w AND NOT ST_Intersects(g.geom, e.geom)"), {"w": demo_ward["id"]}).scalar()
        assert wrong_group == 0


def test_demo_ward_area_and_groups(engine, demo_ward) -> None:
    with engine.connect() as c:
        row = c.execute(sa.text(
            "SELECT count(*), sum(ST_Area(ST_Transform(g.geom, 5899))) / 1e6, sum(g.population), "
            "max(w.official_area_km2), max(w.osm_relation_id), bool_and(g.is_synthetic) "
            "FROM residential_group g JOIN ward w ON w.id = g.ward_id WHERE w.id = :w"),
            {"w": demo_ward["id"]}).one()
    n, area_km2, population, official, osm, synthetic = row
    assert n == 312 and synthetic and osm == 13967817
    # the groups tile the OSM boundary: 15.672 km², 0.3% under the documents' 15.72 km²
    assert abs(area_km2 - official) / official < 0.01
    assert abs(population - 119_363) <= 1


def test_demo_ward_counts_and_labels(conn) -> None:
    """A fresh full-size load (rolled back): other tests may add their own rows to the shared demo ward."""
    load(conn, ward="hoa-cuong", today=TODAY)
    demo_ward = {"id": conn.execute(sa.text("SELECT id FROM ward WHERE slug = 'hoa-cuong'")).scalar_one()}
    counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t} WHERE ward_id = :w"), {"w": demo_ward["id"]}).scalar()
              for t in ("establishment", "market", "field_report", "land_parcel", "infrastructure",
                        "public_facility", "former_ward_zone")}
    stalls = conn.execute(sa.text("SELECT count(*) FROM stall s JOIN market m ON m.id = s.market_id "
                               "WHERE m.ward_id = :w"), {"w": demo_ward["id"]}).scalar()
    for table in ("establishment", "market", "field_report", "land_parcel", "infrastructure",
                  "public_facility", "former_ward_zone", "residential_group"):
        assert conn.execute(sa.text(f"SELECT bool_and(is_synthetic) FROM {table} WHERE ward_id = :w"),
                         {"w": demo_ward["id"]}).scalar(), table
    kinds = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT kind FROM infrastructure WHERE ward_id = :w"),
                                     {"w": demo_ward["id"]})}
    facilities = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT kind FROM public_facility "
                                                  "WHERE ward_id = :w"), {"w": demo_ward["id"]})}
    faulty = conn.execute(sa.text("SELECT count(*) FROM infrastructure WHERE ward_id = :w AND condition = 'faulty'"),
                       {"w": demo_ward["id"]}).scalar()
    uses = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT land_use_code FROM land_parcel WHERE ward_id = :w"),
                                    {"w": demo_ward["id"]})}
    updates = conn.execute(sa.text("SELECT count(*) FROM field_report_update u JOIN field_report r "
                                "ON r.id = u.report_id WHERE r.ward_id = :w"), {"w": demo_ward["id"]}).scalar()
    inspections = pd.read_sql(sa.text(
        "SELECT n.kind, n.result, n.violations, n.follow_up_due, n.inspected_on, i.food_safety_applicable "
        "FROM inspection n JOIN establishment e ON e.id = n.establishment_id JOIN industry i "
        "ON i.vsic_code = e.vsic_code WHERE e.ward_id = :w"), conn, params={"w": demo_ward["id"]})
    assert counts["establishment"] == 6000 and stalls == 300 and counts["market"] == 2
    assert counts["field_report"] == 3000 and counts["land_parcel"] > 2000 and updates > counts["field_report"]
    assert counts["former_ward_zone"] == 4
    assert kinds == {"street_light", "drain", "camera", "sensor", "loudspeaker", "led_screen", "wifi"}
    assert {"school", "health_station", "ward_office", "cultural_house", "police"} <= facilities
    assert 0 < faulty < counts["infrastructure"] * 0.15
    assert {"ODT", "TMD", "DGT", "DGD", "DYT", "TSC", "DCH", "CXD"} <= uses
    assert set(inspections["kind"]) == {"periodic", "unannounced", "complaint", "follow_up"}
    assert inspections["food_safety_applicable"].mean() > 0.7
    assert 0.75 < (inspections["result"] == "pass").mean() < 0.95
    violations = inspections[inspections["result"] == "violation"]
    assert violations["follow_up_due"].notna().all()
    assert all(v and {"code", "severity", "text"} <= set(v[0]) for v in violations["violations"])
    span = (inspections["inspected_on"].max() - inspections["inspected_on"].min()).days
    assert 2.5 * 365 < span <= 3 * 365


def test_status_mix_is_plausible(engine, demo_ward) -> None:
    with engine.connect() as c:
        frame = pd.read_sql(sa.text("SELECT * FROM establishment_overview WHERE ward_id = :w"), c,
                            params={"w": demo_ward["id"]})
    frame = status.with_statuses(frame, dt.date.today())
    licence = frame["licence_status"].value_counts(normalize=True)
    assert 0.65 < licence["valid"] < 0.85
    assert 0.04 < licence["expiring"] < 0.12
    assert 0.06 < licence["expired"] < 0.14
    assert 0.04 < licence["missing"] < 0.10
    food = frame.loc[frame["food_safety_applicable"], "food_safety_status"].value_counts(normalize=True)
    assert food["certified"] + food["committed"] > 0.7
    assert {"expiring", "expired", "violation", "missing"} <= set(food.index)
    assert (frame.loc[~frame["food_safety_applicable"], "food_safety_status"] == "not_applicable").all()
    paying = frame["digital_payment"].map(len) > 0
    assert 0.45 <= paying.mean() <= 0.55
    assert paying[frame["business_type"] == "enterprise"].mean() > paying.mean()
    with engine.connect() as c:
        qr_pos = c.execute(sa.text("SELECT avg(accepts_qr_pos::int) FROM stall s JOIN market m ON m.id = s.market_id "
                                   "WHERE m.ward_id = :w"), {"w": demo_ward["id"]}).scalar()
    assert 0.35 < qr_pos < 0.65


def test_load_scale_if_empty_and_rollback(engine, monkeypatch) -> None:
    """Scale, --if-empty and a failure after the delete (the old data must survive)."""
    try:
        counts = load(engine, ward="thanh-khe", scale=0.1, today=TODAY)
        assert counts["establishment"] == 300 and counts["ward"] == 1
        with engine.connect() as c:
            before = _counts(c, "thanh-khe")
        assert before["establishment"] == 300

        assert load(engine, ward="thanh-khe", scale=0.2, if_empty=True) == {}
        with engine.connect() as c:
            assert _counts(c, "thanh-khe") == before

        real_write = demo_data.write_ward

        def write_then_fail(conn, data):
            real_write(conn, data)
            raise RuntimeError("disk full")

        monkeypatch.setattr(demo_data, "write_ward", write_then_fail)
        with pytest.raises(RuntimeError, match="disk full"):
            load(engine, ward="thanh-khe", scale=0.2, today=TODAY)
        monkeypatch.undo()
        with engine.connect() as c:
            assert _counts(c, "thanh-khe") == before

        counts = load(engine, ward="thanh-khe", scale=0.2, today=TODAY)  # replaces, does not add
        with engine.connect() as c:
            after = _counts(c, "thanh-khe")
        assert after["establishment"] == counts["establishment"] == 600
    finally:
        with engine.begin() as c:
            demo_data.delete_wards(c, ["thanh-khe"])


def test_load_on_a_connection_and_cli(conn, database_url, monkeypatch, capsys) -> None:
    """``load`` accepts an open connection (a savepoint inside the caller's transaction)."""
    counts = load(conn, ward="thanh-khe", scale=0.1, today=TODAY)
    assert _counts(conn, "thanh-khe")["establishment"] == counts["establishment"] == 300
    monkeypatch.setattr(config, "DATABASE_URL", database_url)
    assert cli.main(["demo", "load", "--ward", "hoa-cuong", "--if-empty", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "already loaded" in out or "Loaded synthetic demo data" in out


def test_city_scale_shares_the_total_among_the_wards() -> None:
    from geomap import demo

    plan = demo.profiles_for("hoa-cuong", 17)
    factors = demo.ward_factors(plan, 17)
    sizes = {p.slug: factors[p.slug] * p.demo["establishments"] for p in plan}
    assert len(plan) == 15
    assert sum(sizes.values()) == pytest.approx(17 * 6000, rel=0.01)
    assert min(sizes.values()) >= 300
    assert 5000 < sizes["hoa-cuong"] < 12000  # one ward of a 100,000-establishment city
    assert demo.ward_factors(plan[:1], 0.2) == {"hoa-cuong": 0.2}
