"""Markets (chợ)."""

from layers.base import Field, Layer, Style

LAYER = Layer(
    name="markets",
    title_vi="Chợ",
    title_en="Markets",
    source="market",
    geometry_type="Point",
    public_id_field="code",
    fields=(
        Field("code", "Mã chợ", "Market code", public=True),
        Field("name", "Tên chợ", "Market", public=True),
        Field("address", "Địa chỉ", "Address", public=True),
        Field("is_pilot_smart_market", "Chợ thí điểm thông minh", "Pilot smart market", kind="bool", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#ad1457", radius=10, fill_opacity=0.9),
    popup=("name", "address", "is_pilot_smart_market"),
    order=45,
)
