"""Field reports (phản ánh hiện trường) from citizens and officers."""

from layers.base import Field, Filter, Layer, Style
from layers.palettes import REPORT_STATUS

LAYER = Layer(
    name="field_reports",
    title_vi="Phản ánh hiện trường",
    title_en="Field reports",
    source="field_report",
    geometry_type="Point",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã phản ánh", "Report id", public=True),
        Field("category", "Lĩnh vực", "Category", public=True, codes="report_category"),
        Field("status", "Trạng thái", "Status", public=True, codes="report_status"),
        Field("channel", "Kênh tiếp nhận", "Channel", public=True, codes="report_channel"),
        Field("reported_at", "Thời điểm phản ánh", "Reported at", kind="datetime", public=True),
        Field("deadline_at", "Hạn xử lý", "Deadline", kind="datetime", public=True),
        Field("resolved_at", "Thời điểm xử lý xong", "Resolved at", kind="datetime", public=True),
        Field("description", "Nội dung", "Description"),
        Field("address", "Địa chỉ (mô tả)", "Address (as reported)"),
        Field("establishment_id", "Mã cơ sở liên quan", "Establishment id", kind="int"),
        Field("assignee_id", "Người xử lý", "Assignee", kind="int"),
        Field("duplicate_of_id", "Trùng với", "Duplicate of", kind="int"),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
        Field("reporter_name", "Người phản ánh", "Reporter", personal=True),
        Field("reporter_contact", "Liên hệ người phản ánh", "Reporter contact", personal=True),
    ),
    style=Style(color="#d32f2f", color_by="status", radius=4, fill_opacity=0.8,
                palettes={"status": REPORT_STATUS}),
    popup=("public_id", "category", "status", "reported_at", "deadline_at"),
    filters=(Filter("category"), Filter("status"), Filter("channel")),
    temporal_field="reported_at",
    cluster=True,
    default_visible=False,
    order=60,
)
