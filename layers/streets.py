"""Named streets and alleys (đường, kiệt, hẻm) of the ward: address placement reads them."""

from layers.base import OSM_ODBL, Field, Filter, Layer, Style

LAYER = Layer(
    name="streets",
    title_vi="Đường, kiệt, hẻm",
    title_en="Streets and alleys",
    source="street",
    geometry_type="MultiLineString",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("name", "Tên đường", "Street name", public=True),
        Field("kind", "Loại", "Kind", public=True, codes="street_kind"),
        Field("alley", "Số kiệt/hẻm", "Alley number", public=True,
              description_vi="Chuỗi số kiệt/hẻm dưới đường chính, ví dụ 242 hoặc 64/2",
              description_en="The alley chain below the main street, e.g. 242 or 64/2"),
        Field("highway", "Cấp đường (OSM)", "OSM highway class", public=True),
        Field("length_m", "Chiều dài (m)", "Length (m)", kind="float", public=True),
        Field("osm_ids", "Mã OSM", "OSM way ids", kind="list", public=True),
        Field("source", "Nguồn", "Source", public=True),
    ),
    style=Style(color="#8d6e63", color_by="kind", weight=2, fill_opacity=0.0,
                palettes={"kind": {"street": "#6d4c41", "alley": "#bcaaa4"}}),
    popup=("name", "kind", "length_m"),
    filters=(Filter("kind"), Filter("name", kind="search")),
    default_visible=False,
    attribution=OSM_ODBL,
    min_zoom=14,
    order=20,
    description_vi="Đường và kiệt/hẻm có tên của phường (từ OpenStreetMap hoặc tệp của phường), "
                   "dùng để định vị địa chỉ.",
    description_en="The ward's named streets and alleys (from OpenStreetMap or the ward's own file), "
                   "used to place addresses.",
)
