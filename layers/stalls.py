"""Market stalls (quầy/sạp): trade, holder (personal data) and QR/POS acceptance with its evidence.

``last_seen_on`` is the latest date an officer saw the stall accepting and transacting by QR or
card (``stall_payment_evidence``); the pilot target counts stalls with such evidence, not a ticked box.
"""

from layers.base import Field, Filter, Layer, Style

LAYER = Layer(
    name="stalls",
    title_vi="Quầy/sạp chợ",
    title_en="Market stalls",
    source="stall_overview",
    geometry_type="Point",
    fields=(
        Field("market_code", "Mã chợ", "Market code", public=True),
        Field("market", "Chợ", "Market", public=True),
        Field("stall_no", "Số quầy/sạp", "Stall number", public=True),
        Field("zone", "Khu", "Zone", public=True),
        Field("trade", "Ngành hàng", "Trade", public=True),
        Field("holder_name", "Chủ quầy", "Stall holder", personal=True,
              description_vi="Dữ liệu cá nhân: không bao giờ công khai.",
              description_en="Personal data: never public."),
        Field("holder_phone", "Điện thoại chủ quầy", "Holder's phone", personal=True),
        Field("accepts_qr_pos", "Nhận QR/POS", "Accepts QR/POS", kind="bool", public=True),
        Field("last_seen_on", "Ngày thấy giao dịch QR/POS", "Last seen transacting by QR/POS", kind="date",
              public=True),
        Field("last_seen_by", "Người xác nhận", "Seen by"),
        Field("is_pilot_smart_market", "Chợ thí điểm thông minh", "Pilot smart market", kind="bool", public=True),
        Field("is_synthetic", "Dữ liệu mô phỏng", "Synthetic data", kind="bool", public=True),
    ),
    style=Style(color="#c2185b", radius=3, fill_opacity=0.9),
    popup=("market", "stall_no", "trade", "accepts_qr_pos", "last_seen_on"),
    filters=(Filter("market"),),
    cluster=True,
    default_visible=False,
    publishable=False,
    order=46,
)
