"""The ward boundary (ranh giới phường), from OpenStreetMap (ODbL)."""

from layers.base import OSM_ODBL, Field, Layer, Style

LAYER = Layer(
    name="ward_boundary",
    title_vi="Ranh giới phường",
    title_en="Ward boundary",
    source="ward",
    geometry_type="MultiPolygon",
    public_id_field="slug",
    fields=(
        Field("slug", "Mã phường", "Ward code", public=True),
        Field("name", "Tên phường", "Ward", public=True),
        Field("province", "Tỉnh/thành phố", "Province", public=True),
        Field("official_area_km2", "Diện tích (km²)", "Area (km²)", kind="float", public=True),
        Field("population", "Dân số", "Population", kind="int", public=True),
    ),
    style=Style(color="#d84315", weight=3, fill_opacity=0.0),
    popup=("name", "province", "official_area_km2", "population"),
    ward_column="id",
    attribution=OSM_ODBL,
    order=1,
    description_vi="Ranh giới hành chính sau sắp xếp 01/7/2025. Dữ liệu © OpenStreetMap contributors (ODbL).",
    description_en=(
        "Administrative boundary after the 1 July 2025 reorganisation. Data © OpenStreetMap contributors (ODbL)."
    ),
)
