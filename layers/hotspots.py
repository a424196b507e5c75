"""Report hotspots (điểm nóng phản ánh): the latest analysis of each ward and window length.

Cells of the ward's grid (H3 hexagons or squares) with their report counts and Getis-Ord Gi* class in plain
words, written by ``geomap reports hotspots --window N`` or the staff hotspot page
(:mod:`geomap.field_reports.hotspot_store`). Only counts are kept: no report text, nothing about a reporter.
"""

from layers.base import Field, Filter, Layer, Style
from layers.palettes import HOTSPOT_CLASS

LAYER = Layer(
    name="hotspots",
    title_vi="Điểm nóng phản ánh",
    title_en="Report hotspots",
    source="hotspot_cell",
    geometry_type="Polygon",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã ô công khai", "Public cell id", public=True),
        Field("window_days", "Số ngày phân tích", "Window (days)", kind="int", public=True),
        Field("window_start", "Từ", "From", kind="datetime", public=True),
        Field("window_end", "Đến", "Until", kind="datetime", public=True),
        Field("analysed_at", "Thời điểm phân tích", "Analysed at", kind="datetime", public=True),
        Field("grid", "Lưới ô", "Grid", public=True),
        Field("cell", "Mã ô", "Cell id", public=True),
        Field("report_count", "Số phản ánh", "Reports", kind="int", public=True),
        Field("previous_count", "Số phản ánh kỳ trước", "Reports, previous window", kind="int", public=True,
              description_vi="Cùng độ dài thời gian ngay trước khoảng phân tích",
              description_en="The same length of time just before the window"),
        Field("hotspot_class", "Loại ô (mã)", "Class (code)", public=True, codes="hotspot_class"),
        Field("class_vi", "Loại ô", "Class (Vietnamese)", public=True,
              description_vi="Điểm nóng nổi bật: ô và các ô quanh nó có nhiều phản ánh hơn hẳn mức chung của phường",
              description_en="Notable hotspot: the cell and its neighbours hold clearly more reports than the ward "
                             "as a whole"),
        Field("class_en", "Loại ô (tiếng Anh)", "Class", public=True),
        Field("trend", "Xu hướng", "Trend", public=True, codes="hotspot_trend"),
        Field("z_score", "Chỉ số z (Gi*)", "z score (Gi*)", kind="float", public=True),
        Field("q_value", "Giá trị q (FDR)", "q value (FDR)", kind="float", public=True),
    ),
    style=Style(color="#757575", color_by="hotspot_class", weight=0.6, fill_opacity=0.45,
                palettes={"hotspot_class": HOTSPOT_CLASS}),
    popup=("class_vi", "report_count", "previous_count", "trend", "window_days"),
    filters=(Filter("window_days"), Filter("hotspot_class"), Filter("trend")),
    temporal_field="window_end",
    default_visible=False,
    order=55,
)
