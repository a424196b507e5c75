"""Pure pieces of the foundation: text folding, profiles and boundaries, the layer registry."""

from __future__ import annotations

import json
import unicodedata

import geopandas as gpd
import pyproj
import pytest

import layers
from geomap import profiles, text
from geomap.errors import BoundaryError, UnknownWard
from layers.base import Field, Layer


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("Phở Hòa", "pho hoa"), ("ĐƯỜNG  Núi Thành", "duong nui thanh"), ("Bánh mì", "banh mi"), ("", "")],
)
def test_fold_ignores_diacritics_case_and_spacing(raw, folded):
    assert text.fold(raw) == folded
    assert text.fold(unicodedata.normalize("NFD", raw)) == folded


def test_nfc_normalises_decomposed_vietnamese():
    decomposed = unicodedata.normalize("NFD", "Phường Hòa Cường")
    assert decomposed != "Phường Hòa Cường"
    assert text.nfc(decomposed + "  ") == "Phường Hòa Cường"
    assert text.nfc(None) is None


def test_default_profile_is_hoa_cuong_with_vn2000_grid():
    p = profiles.get("hoa-cuong")
    assert p.name == "Phường Hòa Cường"
    assert p.local_srid == 5899
    assert pyproj.CRS.from_epsg(5899).name == "VN-2000 / TM-3 107-45"
    assert p.target("digital_platform_share", 2026) == 0.50
    assert p.target("digital_platform_share", 2027) == 0.70
    assert p.target("digital_platform_share", 2031) is None
    assert set(profiles.available()) >= {"hoa-cuong", "thanh-khe"}


def test_hoa_cuong_boundary_area_matches_official_figure():
    p = profiles.get("hoa-cuong")
    area_km2 = gpd.GeoSeries([p.boundary()], crs="EPSG:4326").to_crs(p.local_crs).area.iloc[0] / 1e6
    assert area_km2 == pytest.approx(p.official_area_km2, rel=0.01)


def test_unknown_ward_is_a_clear_error():
    with pytest.raises(UnknownWard, match="no ward profile 'atlantis'.*hoa-cuong"):
        profiles.get("atlantis")


def test_missing_and_corrupt_boundaries_are_clear_errors(tmp_path, monkeypatch):
    from geomap import config

    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    profiles.load_boundary.cache_clear()
    with pytest.raises(BoundaryError, match="missing"):
        profiles.load_boundary("nope.geojson", "Phường Hòa Cường")
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(BoundaryError, match="not valid GeoJSON"):
        profiles.load_boundary("bad.geojson", "Phường Hòa Cường")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    (tmp_path / "bowtie.geojson").write_text(json.dumps(
        {"type": "FeatureCollection",
         "features": [{"type": "Feature", "properties": {"name": "X"}, "geometry": bowtie}]}))
    with pytest.raises(BoundaryError, match="not a valid polygon"):
        profiles.load_boundary("bowtie.geojson", "X")
    with pytest.raises(BoundaryError, match="no feature named"):
        profiles.load_boundary("bowtie.geojson", "Y")
    profiles.load_boundary.cache_clear()


def test_registry_declares_every_domain_layer():
    names = set(layers.registry())
    assert {"establishments", "residential_groups", "land_parcels", "infrastructure", "public_facilities",
            "field_reports", "ward_boundary", "markets"} <= names


def test_no_field_is_both_public_and_personal_and_personal_data_is_never_public():
    for layer in layers.registry().values():
        assert not {f.name for f in layer.public_fields} & {f.name for f in layer.personal_fields}
    personal = {f.name for f in layers.get("establishments").personal_fields}
    assert {"owner_name", "owner_id_number", "phone"} <= personal
    with pytest.raises(ValueError):
        Field("x", "x", "x", public=True, personal=True)


def test_layer_declaration_is_checked():
    with pytest.raises(ValueError, match="not declared"):
        Layer(name="bad", title_vi="x", title_en="x", source="t", geometry_type="Point",
              fields=(Field("a", "a", "a"),), popup=("b",))


def test_a_new_layer_module_is_discovered_without_other_changes(tmp_path, monkeypatch):
    pkg = tmp_path / "extra_layers"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "benches.py").write_text(
        "from layers.base import Field, Layer\n"
        "LAYER = Layer(name='benches', title_vi='Ghế đá', title_en='Benches', source='public_facility',\n"
        "              geometry_type='Point', fields=(Field('name', 'Tên', 'Name', public=True),))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = layers.discover("extra_layers", pkg)
    assert list(found) == ["benches"]
    assert found["benches"].title("vi") == "Ghế đá"
