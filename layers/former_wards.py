"""Zones of the former wards merged into today's ward."""

from layers.base import OSM_ODBL, Field, Layer, Style

LAYER = Layer(
    name="former_wards",
    title_vi="Phường cũ (trước sáp nhập)",
    title_en="Former wards (before the merger)",
    source="former_ward_zone",
    geometry_type="MultiPolygon",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("name", "Tên phường cũ", "Former ward", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#6d4c41", weight=2, fill_opacity=0.0),
    popup=("name",),
    default_visible=False,
    attribution=OSM_ODBL,
    order=2,
)
