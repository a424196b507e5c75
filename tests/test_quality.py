"""Data-quality checks on a hand-made ward (real PostGIS, rolled back)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import sqlalchemy as sa
from import_fixtures import add_establishment, make_ward

from geomap import links
from geomap.records import edit, quality, rules
from geomap.ui import pages as page_registry

TODAY = dt.date(2026, 11, 22)
BR, FSC, COM = "business_registration", "food_safety_certificate", "food_safety_commitment"


def test_each_check_finds_exactly_its_records_with_a_fix_link(conn) -> None:
    w = make_ward(conn)
    recent = "2026-11-01"
    ok = dict(licences=[(BR, "2024-01-01", None), (COM, "2024-01-01", None)], updated_at=recent)
    ids = {
        "fine": add_establishment(conn, w, "Q0", "Ổn", lonlat=w.near(w.west, north_m=500), **ok),
        "outside": add_establishment(conn, w, "Q1", "Ngoài", lonlat=(108.30, 16.10), **ok),
        "nowhere": add_establishment(conn, w, "Q2", "Không tọa độ", **ok),
        "dup_a": add_establishment(conn, w, "Q3", "Phở Hòa", lonlat=w.near(w.west), **ok),
        "dup_b": add_establishment(conn, w, "Q4", "PHO HOA", lonlat=w.near(w.west, east_m=20), **ok),
        "far": add_establishment(conn, w, "Q5", "Phở Hòa", lonlat=w.near(w.west, east_m=200), **ok),
        "tax_a": add_establishment(conn, w, "Q6", "Một", lonlat=w.near(w.east), tax_code="0401234567", **ok),
        "tax_b": add_establishment(conn, w, "Q7", "Hai", lonlat=w.near(w.east, north_m=300), tax_code="0401234567",
                                   **ok),
        "expired": add_establishment(conn, w, "Q8", "Hết hạn", lonlat=w.near(w.east, east_m=300), updated_at=recent,
                                     vsic="4719", licences=[(BR, "2020-01-01", "2025-01-01")]),
        "closed_expired": add_establishment(conn, w, "Q9", "Đã đóng", status="closed", vsic="4719",
                                            lonlat=w.near(w.east, east_m=-300), updated_at=recent,
                                            licences=[(BR, "2020-01-01", "2025-01-01")]),
        "food": add_establishment(conn, w, "Q10", "Quán ăn", lonlat=w.near(w.east, north_m=-300), updated_at=recent,
                                  licences=[(BR, "2024-01-01", None), (FSC, "2021-01-01", "2024-01-01")]),
        "stale": add_establishment(conn, w, "Q11", "Lâu rồi", lonlat=w.near(w.west, north_m=-500),
                                   licences=[(BR, "2024-01-01", None), (COM, "2024-01-01", None)],
                                   updated_at="2025-06-01"),
        # a violation outranks the papers in the status rules: found all the same when it has none...
        "violating": add_establishment(conn, w, "Q12", "Quán vi phạm", lonlat=w.near(w.east, north_m=-600),
                                       updated_at=recent, licences=[(BR, "2024-01-01", None)],
                                       inspections=[("2026-11-10", "violation", "2026-12-10")]),
        # ... but not when it holds a commitment
        "violating_committed": add_establishment(
            conn, w, "Q13", "Quán vi phạm có cam kết", lonlat=w.near(w.east, north_m=-900), updated_at=recent,
            licences=[(BR, "2024-01-01", None), (COM, "2024-01-01", None)],
            inspections=[("2026-11-10", "violation", "2026-12-10")]),
    }
    # placed from its address (geomap.addresses): approximate, to pin on site
    conn.execute(sa.text("UPDATE establishment SET location_quality = 'street' WHERE id = :i"),
                 {"i": ids["violating_committed"]})
    found = quality.find(quality.load(conn, w.id), TODAY)
    got = {k: sorted(found[k]["id"]) for k in found}
    assert got["approximate_location"] == [ids["violating_committed"]]
    assert found["approximate_location"]["detail"].tolist() == ["Gần đúng: trên đường/kiệt"]
    assert got["outside_ward"] == [ids["outside"]]
    assert got["no_coordinates"] == [ids["nowhere"]]
    assert got["duplicates"] == sorted([ids["dup_a"], ids["tax_a"]])
    assert got["expired_licence"] == [ids["expired"]]
    assert got["food_without_certificate"] == sorted([ids["food"], ids["violating"]])
    assert got["stale"] == [ids["stale"]]
    dup = found["duplicates"].set_index("id")
    assert "Q4" in dup.loc[ids["dup_a"], "detail"] and "20 m" in dup.loc[ids["dup_a"], "detail"]
    assert "mã số thuế" in dup.loc[ids["tax_a"], "detail"]
    # the records page opens the establishment named by its "id" query parameter
    assert found["expired_licence"]["link"].tolist() == [f"records?id={ids['expired']}"]
    with_ward = quality.find(quality.load(conn, w.id), TODAY, ward_slug="test-ward")
    assert with_ward["expired_licence"]["link"].tolist() == [f"records?id={ids['expired']}&ward=test-ward"]
    food = found["food_without_certificate"].set_index("id")["detail"]
    assert food[ids["food"]] == "GCN hết hạn"
    assert food[ids["violating"]] == "chưa có GCN/cam kết, vi phạm chờ tái kiểm tra"
    summary = quality.summary(found)
    assert summary.set_index("key")["count"].to_dict() == {
        "outside_ward": 1, "no_coordinates": 1, "approximate_location": 1, "duplicates": 2, "expired_licence": 1,
        "food_without_certificate": 2, "stale": 1}


def test_probable_duplicates_is_pure() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "name": ["Cà phê Mộc", "ca phe moc", "Cà phê Mộc", "Khác"],
                          "x": [0.0, 29.0, 31.0, 0.0], "y": [0.0, 0.0, 0.0, 0.0],
                          "tax_code": [None, None, "1", "1"]})
    pairs = quality.probable_duplicates(frame)
    assert sorted(map(tuple, pairs[["id", "other_id", "reason"]].to_numpy().tolist())) == [
        (1, 2, "name"), (2, 3, "name"), (3, 4, "tax_code")]


def test_fixing_the_records_through_the_edit_services_clears_their_checks(conn) -> None:
    """Where a fix link leads: once the record is corrected (the records page's services), the check lets it go."""
    w = make_ward(conn)
    today = rules.today()
    recent = today.isoformat()
    expired = add_establishment(conn, w, "F1", "Giấy phép cũ", vsic="4719", lonlat=w.near(w.west),
                                updated_at=recent, licences=[(BR, "2020-01-01", "2025-01-01")])
    unplaced = add_establishment(conn, w, "F2", "Chưa định vị", vsic="4719", updated_at=recent,
                                 licences=[(BR, "2024-01-01", None)])
    before = quality.find(quality.load(conn, w.id))
    assert before["expired_licence"]["id"].tolist() == [expired]
    assert before["no_coordinates"]["id"].tolist() == [unplaced]

    (old,) = edit.licences_of(conn, expired)
    edit.renew_licence(conn, old["id"], today, expires_on=rules.add_years(today, 5))
    edit.move_point(conn, unplaced, *w.near(w.east), expected_version=1)

    after = quality.find(quality.load(conn, w.id))
    assert after["expired_licence"].empty and after["no_coordinates"].empty
    assert all(frame.empty for frame in after.values())  # and the fixes raised no other check


def test_the_fix_link_opens_a_staff_page_that_everyone_seeing_the_checks_may_open() -> None:
    """A fix link is a path of the staff app (not a dead link), open to every role of the quality page,
    naming the establishment and its ward."""
    link = urlsplit(quality.fix_link(42, "test-ward"))
    pages = {p.key: p for p in page_registry.discover()}
    assert link.path in pages
    assert set(pages["quality"].roles) <= set(pages[link.path].roles)
    assert parse_qs(link.query) == {links.RECORD_PARAM: ["42"], links.WARD_PARAM: ["test-ward"]}
