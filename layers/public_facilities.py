"""Public facilities: schools, the health station, the ward office, cultural houses."""

from layers.base import Field, Filter, Layer, Style

LAYER = Layer(
    name="public_facilities",
    title_vi="Công trình công cộng",
    title_en="Public facilities",
    source="public_facility",
    geometry_type="Point",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("kind", "Loại", "Kind", public=True, codes="facility_kind"),
        Field("name", "Tên", "Name", public=True),
        Field("address", "Địa chỉ", "Address", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#00695c", radius=8, fill_opacity=0.9),
    popup=("name", "kind", "address"),
    filters=(Filter("kind"),),
    order=40,
)
