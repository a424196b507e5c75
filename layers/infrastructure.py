"""Urban infrastructure: street lights, drains, cameras, sensors, loudspeakers, LED screens, wifi."""

from layers.base import Field, Filter, Layer, Style

KIND_COLORS = {
    "street_light": "#fdd835",
    "drain": "#0288d1",
    "camera": "#d81b60",
    "sensor": "#00897b",
    "loudspeaker": "#8e24aa",
    "led_screen": "#f4511e",
    "wifi": "#3949ab",
}

LAYER = Layer(
    name="infrastructure",
    title_vi="Hạ tầng đô thị",
    title_en="Urban infrastructure",
    source="infrastructure",
    geometry_type="Geometry",
    public_id_field="code",
    fields=(
        Field("code", "Mã thiết bị", "Asset code", public=True),
        Field("kind", "Loại", "Kind", public=True, codes="infrastructure_kind"),
        Field("condition", "Tình trạng", "Condition", public=True, codes="condition"),
        Field("installed_on", "Ngày lắp đặt", "Installed on", kind="date", public=True),
        Field("checked_on", "Ngày kiểm tra tình trạng", "Condition checked on", kind="date", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#455a64", color_by="kind", radius=3, weight=2, fill_opacity=0.9,
                palettes={"kind": KIND_COLORS}),
    popup=("code", "kind", "condition", "checked_on", "installed_on"),
    filters=(Filter("kind"), Filter("condition")),
    cluster=True,
    default_visible=False,
    order=30,
)
