"""The location quality stays with the point, whichever writer moves it (migration 0009)."""

from __future__ import annotations

import sqlalchemy as sa


def _one(conn, ward_id: int) -> int:
    return conn.execute(sa.text(
        "SELECT id FROM establishment WHERE ward_id = :w AND geom IS NOT NULL ORDER BY id LIMIT 1"),
        {"w": ward_id}).scalar_one()


def _quality(conn, eid: int) -> str | None:
    return conn.execute(sa.text("SELECT location_quality FROM establishment WHERE id = :i"), {"i": eid}).scalar_one()


def test_demo_points_are_exact(conn, demo_ward):
    counts = dict(conn.execute(sa.text(
        "SELECT coalesce(location_quality, 'none'), count(*) FROM establishment WHERE ward_id = :w GROUP BY 1"),
        {"w": demo_ward["id"]}).all())
    assert counts.get("exact", 0) > 0
    assert set(counts) <= {"exact", "none"}
    mismatched = conn.execute(sa.text(
        "SELECT count(*) FROM establishment WHERE (geom IS NULL) <> (location_quality IS NULL)")).scalar_one()
    assert mismatched == 0


def test_approximate_point_keeps_its_quality_until_moved_by_hand(conn, demo_ward):
    eid = _one(conn, demo_ward["id"])
    conn.execute(sa.text("UPDATE establishment SET geom = ST_Translate(geom, 0.0001, 0), location_quality = 'street' "
                         "WHERE id = :i"), {"i": eid})
    assert _quality(conn, eid) == "street"
    conn.execute(sa.text("UPDATE establishment SET name = name || ' ' WHERE id = :i"), {"i": eid})
    assert _quality(conn, eid) == "street"  # an edit that leaves the point alone keeps it
    conn.execute(sa.text("UPDATE establishment SET geom = ST_Translate(geom, 0.0001, 0) WHERE id = :i"), {"i": eid})
    assert _quality(conn, eid) == "exact"  # moved without naming a quality: pinned by hand
    conn.execute(sa.text("UPDATE establishment SET geom = NULL WHERE id = :i"), {"i": eid})
    assert _quality(conn, eid) is None


def test_view_carries_quality_and_platforms(conn, demo_ward):
    eid = _one(conn, demo_ward["id"])
    conn.execute(sa.text("UPDATE establishment SET digital_platforms = ARRAY['shopee'] WHERE id = :i"), {"i": eid})
    row = conn.execute(sa.text("SELECT location_quality, digital_platforms FROM establishment_overview WHERE id = :i"),
                       {"i": eid}).one()
    assert row.location_quality == "exact" and row.digital_platforms == ["shopee"]
