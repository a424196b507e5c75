"""Residential groups (tổ dân phố)."""

from layers.base import OSM_ODBL, Field, Filter, Layer, Style

LAYER = Layer(
    name="residential_groups",
    title_vi="Tổ dân phố",
    title_en="Residential groups",
    source="residential_group",
    geometry_type="MultiPolygon",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("code", "Mã tổ", "Code", public=True),
        Field("name", "Tổ dân phố", "Residential group", public=True),
        Field("population", "Dân số", "Population", kind="int", public=True),
        Field("households", "Số hộ", "Households", kind="int", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#5c6bc0", weight=1, fill_opacity=0.03),
    popup=("name", "population", "households"),
    filters=(Filter("name", kind="search"),),
    attribution=OSM_ODBL,
    order=10,
)
