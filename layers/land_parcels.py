"""Land parcels (thửa đất), drawn only when zoomed in."""

from layers.base import Field, Filter, Layer, Style

LAND_USE_COLORS = {
    "ODT": "#ffcc80",  # đất ở đô thị
    "TMD": "#ef9a9a",  # đất thương mại, dịch vụ
    "DGT": "#bdbdbd",  # đất giao thông
    "DGD": "#90caf9",  # đất xây dựng cơ sở giáo dục
    "DYT": "#80cbc4",  # đất xây dựng cơ sở y tế
    "DVH": "#ce93d8",  # đất xây dựng cơ sở văn hóa
    "CXD": "#a5d6a7",  # đất công viên, cây xanh (khu vui chơi giải trí công cộng)
    "TSC": "#b0bec5",  # đất trụ sở cơ quan
    "SKC": "#bcaaa4",  # đất cơ sở sản xuất phi nông nghiệp
    "DCH": "#f48fb1",  # đất chợ
}

LAYER = Layer(
    name="land_parcels",
    title_vi="Thửa đất",
    title_en="Land parcels",
    source="land_parcel",
    geometry_type="Polygon",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("map_sheet", "Tờ bản đồ", "Map sheet", public=True),
        Field("parcel_no", "Số thửa", "Parcel number", public=True),
        Field("land_use_code", "Mục đích sử dụng", "Land-use code", public=True, codes="land_use"),
        Field("area_m2", "Diện tích (m²)", "Area (m²)", kind="float", public=True),
        Field("planning_zone", "Phân khu quy hoạch", "Planning zone", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#8d6e63", color_by="land_use_code", weight=0.5, fill_opacity=0.45,
                palettes={"land_use_code": LAND_USE_COLORS}),
    popup=("map_sheet", "parcel_no", "land_use_code", "area_m2", "planning_zone"),
    filters=(Filter("land_use_code"),),
    min_zoom=17,
    default_visible=False,
    order=5,
)
