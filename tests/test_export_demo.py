"""Exports of the synthetic demo ward (the ``demo_ward`` fixture): every layer counted, no personal value anywhere."""

from __future__ import annotations

import pyogrio
import sqlalchemy as sa

import layers
from geomap import export


def test_demo_ward_public_geopackage(engine, demo_ward, tmp_path):
    result = export.export(engine, fmt="gpkg", srid=5899, ward=demo_ward["slug"], dest=tmp_path)
    by_layer = {x["name"]: x for x in result.metadata["layers"]}
    with engine.connect() as c:
        n_est = c.execute(sa.text("SELECT count(*) FROM establishment WHERE ward_id = :w"),
                          {"w": demo_ward["id"]}).scalar()
        owners = c.execute(sa.text(
            "SELECT owner_name, phone FROM establishment WHERE ward_id = :w AND owner_name IS NOT NULL "
            "AND phone IS NOT NULL ORDER BY id LIMIT 50"), {"w": demo_ward["id"]}).all()
    assert n_est > 1000 and by_layer["establishments"]["features"] == n_est
    assert len(owners) == 50
    for name, layer in layers.registry().items():
        if layer.publishable:
            info = pyogrio.read_info(result.path, layer=name)
            assert info["features"] == by_layer[name]["features"], name
            assert not set(info["fields"]) & {f.name for f in layer.personal_fields}
    raw = result.path.read_bytes()
    for owner, phone in owners:
        assert owner.encode() not in raw and phone.encode() not in raw
    frame = pyogrio.read_dataframe(result.path, layer="establishments", max_features=500)
    assert frame.crs.to_epsg() == 5899
    assert frame.geometry.x.between(500_000, 600_000).all() and frame.geometry.y.between(1_700_000, 1_850_000).all()
    assert set(frame["licence_status"]) <= {"valid", "expiring", "expired", "missing"}
