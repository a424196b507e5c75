"""Pilot cashless commercial streets (tuyến phố thương mại thí điểm), with their establishments counted.

A street is a line or a polygon. Its establishments are the active ones within 30 m of the line
(measured on the spheroid) or inside the polygon, counted by the view ``commercial_street_overview``
(migration 0015_base_layers), with how many of them accept a cashless payment.
"""

from layers.base import Field, Layer, Style

#: an establishment this close to a street's line is counted on it (metres; the view's STREET_REACH_M)
STREET_REACH_M = 30

LAYER = Layer(
    name="commercial_streets",
    title_vi="Tuyến phố thương mại thí điểm",
    title_en="Pilot commercial streets",
    source="commercial_street_overview",
    count_source="commercial_street",
    geometry_type="Geometry",
    public_id_field="public_id",
    fields=(
        Field("public_id", "Mã định danh công khai", "Public identifier", public=True),
        Field("code", "Mã tuyến phố", "Street code", public=True),
        Field("name", "Tên tuyến phố", "Street", public=True),
        Field("shape", "Dạng", "Shape", public=True,
              description_vi="line: tuyến (đếm cơ sở trong vòng 30 m); polygon: khu vực (đếm cơ sở bên trong).",
              description_en="line: counts establishments within 30 m; polygon: those inside."),
        Field("establishments", "Số cơ sở", "Establishments", kind="int", public=True),
        Field("establishments_digital", "Cơ sở thanh toán số", "Establishments taking cashless payment",
              kind="int", public=True),
        Field("note", "Ghi chú", "Note", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#ff6f00", weight=5, fill_opacity=0.15),
    popup=("name", "establishments", "establishments_digital"),
    order=35,
)
