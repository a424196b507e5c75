"""Vietnamese first, English available: UI strings and labels of code lists.

``t("key", lang)`` for UI text; ``code_label("licence_status", "valid", lang)`` for the
label of a code value (the ``codes`` of a layer field). Vietnamese is the default; a key
missing in English falls back to Vietnamese, a missing key shows itself (easy to spot).

Each feature keeps its own strings in a module constant ``STRINGS`` (key → (vi, en)), and
:data:`CATALOGS` says which module holds the keys of each prefix: the first ``t()`` of a key
imports that module and reads its ``STRINGS`` (the longest matching prefix wins). Nothing
registers itself at import, so no module is imported only for its strings, and a key whose
catalog is missing shows itself (``tests/test_i18n.py`` checks every ``t("...")`` literal).
The code lists (:data:`CODES`) all live here.
"""

from __future__ import annotations

import importlib
import threading

from geomap import config

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}

CODES: dict[str, dict[str, tuple[str, str]]] = {
    "licence_status": {
        "valid": ("Còn hiệu lực", "Valid"),
        "expiring": ("Sắp hết hạn", "Expiring soon"),
        "expired": ("Hết hạn", "Expired"),
        "missing": ("Chưa có giấy phép", "No licence"),
    },
    "food_safety_status": {
        "certified": ("Có GCN ATTP", "Certified"),
        "committed": ("Đã ký cam kết ATTP", "Commitment signed"),
        "expiring": ("GCN ATTP sắp hết hạn", "Certificate expiring"),
        "expired": ("GCN ATTP hết hạn", "Certificate expired"),
        "violation": ("Vi phạm, chờ tái kiểm tra", "Violation pending follow-up"),
        "missing": ("Chưa có GCN/cam kết", "No certificate or commitment"),
        "not_applicable": ("Không thuộc diện ATTP", "Not applicable"),
    },
    "business_type": {
        "household": ("Hộ kinh doanh", "Household business"),
        "enterprise": ("Doanh nghiệp", "Enterprise"),
        "cooperative": ("Hợp tác xã", "Cooperative"),
        "market_stall": ("Tiểu thương tại chợ", "Market stall"),
    },
    "operating_status": {
        "active": ("Đang hoạt động", "Active"),
        "suspended": ("Tạm ngừng", "Suspended"),
        "closed": ("Đã đóng cửa", "Closed"),
    },
    "sector": {
        "food_service": ("Dịch vụ ăn uống", "Food service"),
        "food_production": ("Sản xuất thực phẩm", "Food production"),
        "food_retail": ("Kinh doanh thực phẩm", "Food retail"),
        "retail": ("Bán lẻ", "Retail"),
        "accommodation": ("Lưu trú", "Accommodation"),
        "repair": ("Sửa chữa", "Repair"),
        "personal_services": ("Dịch vụ cá nhân", "Personal services"),
        "health": ("Y tế", "Health"),
        "education": ("Giáo dục", "Education"),
        "office_services": ("Dịch vụ văn phòng", "Office services"),
    },
    "payment": {
        "qr_bank": ("Mã QR ngân hàng", "Bank QR"),
        "pos_card": ("Quẹt thẻ (POS)", "Card (POS)"),
        "e_wallet": ("Ví điện tử", "E-wallet"),
        "bank_transfer": ("Chuyển khoản", "Bank transfer"),
    },
    "platform": {  # geomap.models.DIGITAL_PLATFORMS (establishment.digital_platforms)
        "shopee": ("Shopee", "Shopee"),
        "lazada": ("Lazada", "Lazada"),
        "tiktok_shop": ("TikTok Shop", "TikTok Shop"),
        "grabfood": ("GrabFood", "GrabFood"),
        "shopeefood": ("ShopeeFood", "ShopeeFood"),
        "be": ("be (beFood, beMart)", "be (beFood, beMart)"),
        "zalo": ("Zalo (Zalo OA, cửa hàng Zalo)", "Zalo (Official Account, shop)"),
        "facebook": ("Facebook (trang, Marketplace)", "Facebook (page, Marketplace)"),
        "website": ("Trang web riêng", "Own website"),
        "other": ("Nền tảng khác", "Other platform"),
    },
    "review_status": {  # geomap.models.REVIEW_STATUSES
        "pending": ("Chờ duyệt", "Waiting for review"),
        "approved": ("Đã duyệt", "Approved"),
        "rejected": ("Không duyệt", "Rejected"),
    },
    "licence_kind": {
        "business_registration": ("Giấy chứng nhận đăng ký kinh doanh", "Business registration"),
        "food_safety_certificate": ("Giấy chứng nhận cơ sở đủ điều kiện ATTP", "Food-safety certificate"),
        "food_safety_commitment": ("Bản cam kết bảo đảm ATTP", "Food-safety commitment"),
        "other": ("Giấy phép khác", "Other licence"),
    },
    "licence_state": {
        "in_force": ("Còn hiệu lực", "In force"),
        "expired": ("Hết hạn", "Expired"),
        "revoked": ("Đã thu hồi", "Revoked"),
    },
    "inspection_result": {
        "pass": ("Đạt", "Passed"),
        "violation": ("Vi phạm", "Violation"),
        "closed": ("Đã đóng cửa", "Closed"),
        "not_found": ("Không tìm thấy cơ sở", "Not found"),
    },
    "inspection_made_via": {
        "field_app": ("Ứng dụng hiện trường", "Field app"),
        "staff_app": ("Ứng dụng cán bộ", "Staff app"),
        "paper": ("Nhập lại từ biên bản giấy", "Entered from paper"),
    },
    "submission_status": {
        "applied": ("Đã ghi", "Recorded"),
        "conflict": ("Xung đột, chưa ghi", "Conflict, not recorded"),
        "refused": ("Bị từ chối", "Refused"),
    },
    "lives_inspection_type": {  # LIVES inspections.type (the open-data feed's own vocabulary)
        "initial": ("Kiểm tra lần đầu", "Initial"),
        "routine": ("Kiểm tra định kỳ hoặc đột xuất", "Routine"),
        "followup": ("Tái kiểm tra", "Follow-up"),
        "complaint": ("Kiểm tra theo phản ánh", "Complaint"),
    },
    "inspection_kind": {
        "periodic": ("Định kỳ", "Periodic"),
        "unannounced": ("Đột xuất", "Unannounced"),
        "complaint": ("Theo phản ánh", "Complaint"),
        "follow_up": ("Tái kiểm tra", "Follow-up"),
    },
    "infrastructure_kind": {
        "street_light": ("Đèn chiếu sáng", "Street light"),
        "drain": ("Cống thoát nước", "Drain"),
        "camera": ("Camera giám sát", "Camera"),
        "sensor": ("Cảm biến môi trường", "Sensor"),
        "loudspeaker": ("Loa truyền thanh", "Loudspeaker"),
        "led_screen": ("Màn hình LED", "LED screen"),
        "wifi": ("Điểm wifi công cộng", "Public wifi"),
    },
    "location_quality": {  # establishment.location_quality (0009), set by address placement (geomap/addresses)
        "exact": ("Chính xác", "Exact"),
        "address": ("Gần đúng: theo địa chỉ đã biết", "Approximate: at a known address"),
        "street": ("Gần đúng: trên đường/kiệt", "Approximate: on the street or alley"),
        "group": ("Gần đúng: trong tổ dân phố", "Approximate: inside the residential group"),
    },
    "street_kind": {
        "street": ("Đường", "Street"),
        "alley": ("Kiệt/hẻm", "Alley"),
    },
    "condition": {
        "working": ("Hoạt động tốt", "Working"),
        "faulty": ("Hư hỏng", "Faulty"),
    },
    "facility_kind": {
        "school": ("Trường học", "School"),
        "health_station": ("Trạm y tế", "Health station"),
        "ward_office": ("Trụ sở UBND phường", "Ward office"),
        "cultural_house": ("Nhà văn hóa", "Cultural house"),
        "market_board": ("Ban quản lý chợ", "Market board"),
        "police": ("Công an phường", "Ward police"),
    },
    "report_category": {
        "garbage": ("Rác thải", "Garbage"),
        "infrastructure": ("Hạ tầng hư hỏng", "Broken infrastructure"),
        "urban_order": ("Trật tự đô thị", "Urban order"),
        "sanitation": ("Vệ sinh môi trường", "Sanitation"),
        "food_safety": ("An toàn thực phẩm", "Food safety"),
        "other": ("Khác", "Other"),
    },
    "report_status": {
        "new": ("Mới", "New"),
        "received": ("Đã tiếp nhận", "Received"),
        "assigned": ("Đã phân công", "Assigned"),
        "in_progress": ("Đang xử lý", "In progress"),
        "resolved": ("Đã xử lý", "Resolved"),
        "closed": ("Đã đóng", "Closed"),
        "duplicate": ("Trùng lặp", "Duplicate"),
        "not_ward": ("Không thuộc thẩm quyền phường", "Not the ward's responsibility"),
    },
    "hotspot_class": {  # plain words first: the layer ``hotspots`` and the hotspot page
        "hot": ("Điểm nóng nổi bật", "Notable hotspot"),
        "cold": ("Điểm lạnh", "Cold spot"),
        "not_significant": ("Không nổi bật", "Not notable"),
    },
    "hotspot_trend": {
        "rising": ("↑ tăng", "↑ rising"),
        "falling": ("↓ giảm", "↓ falling"),
        "stable": ("→ ổn định", "→ stable"),
        "new": ("mới xuất hiện", "new"),
    },
    "report_channel": {
        "qr": ("Quét mã QR", "QR scan"),
        "web": ("Trang web", "Web"),
        "app": ("Ứng dụng", "App"),
        "hotline": ("Đường dây nóng", "Hotline"),
        "officer": ("Cán bộ", "Officer"),
        "open311": ("Ứng dụng bên thứ ba (Open311)", "Third-party app (Open311)"),
    },
    "land_use": {
        "ODT": ("Đất ở tại đô thị", "Urban residential land"),
        "TMD": ("Đất thương mại, dịch vụ", "Commercial and service land"),
        "DGT": ("Đất giao thông", "Transport land"),
        "DGD": ("Đất cơ sở giáo dục", "Education land"),
        "DYT": ("Đất cơ sở y tế", "Health land"),
        "DVH": ("Đất cơ sở văn hóa", "Cultural land"),
        "CXD": ("Đất công viên, cây xanh", "Parks and green space"),
        "TSC": ("Đất trụ sở cơ quan", "Government offices"),
        "SKC": ("Đất cơ sở sản xuất phi nông nghiệp", "Non-agricultural production land"),
        "DCH": ("Đất chợ", "Market land"),
        # the other codes of the cadastral land-use classification (Thông tư 25/2014, 08/2024/TT-BTNMT) that
        # an urban ward's parcels carry, so a real cadastre imports (0015_base_layers)
        "ONT": ("Đất ở tại nông thôn", "Rural residential land"),
        "LUC": ("Đất chuyên trồng lúa", "Paddy land"),
        "BHK": ("Đất trồng cây hằng năm khác", "Other annual crops"),
        "CLN": ("Đất trồng cây lâu năm", "Perennial crops"),
        "NTS": ("Đất nuôi trồng thủy sản", "Aquaculture land"),
        "DTS": ("Đất trụ sở tổ chức sự nghiệp", "Public-service organisation offices"),
        "CQP": ("Đất quốc phòng", "Defence land"),
        "CAN": ("Đất an ninh", "Security land"),
        "DTT": ("Đất cơ sở thể dục, thể thao", "Sports land"),
        "DKV": ("Đất khu vui chơi, giải trí công cộng", "Public recreation land"),
        "DSH": ("Đất sinh hoạt cộng đồng", "Community activity land"),
        "DTL": ("Đất công trình thủy lợi", "Irrigation works"),
        "DNL": ("Đất công trình năng lượng", "Energy works"),
        "DBV": ("Đất công trình bưu chính, viễn thông", "Post and telecommunications"),
        "DRA": ("Đất bãi thải, xử lý chất thải", "Waste disposal and treatment"),
        "TON": ("Đất cơ sở tôn giáo", "Religious land"),
        "TIN": ("Đất cơ sở tín ngưỡng", "Belief (shrine) land"),
        "NTD": ("Đất nghĩa trang, nhà tang lễ, cơ sở hỏa táng", "Cemeteries and funeral homes"),
        "SON": ("Đất sông, ngòi, kênh, rạch, suối", "Rivers, canals and streams"),
        "MNC": ("Đất có mặt nước chuyên dùng", "Special-use water surface"),
        "BCS": ("Đất bằng chưa sử dụng", "Unused flat land"),
    },
    "role": {
        "inspector": ("Cán bộ kiểm tra", "Inspector"),
        "data_officer": ("Cán bộ dữ liệu", "Data officer"),
        "ward_manager": ("Lãnh đạo phường", "Ward manager"),
        "city": ("Cán bộ thành phố (chỉ xem)", "City officer (read only)"),
        "admin": ("Quản trị hệ thống", "Administrator"),
    },
    "audit_action": {  # the history of a record (records page)
        "create": ("Tạo mới", "Created"), "update": ("Sửa thông tin", "Updated"), "close": ("Đóng cửa", "Closed"),
        "reopen": ("Mở lại", "Reopened"), "move": ("Di chuyển vị trí", "Moved"),
        "add_licence": ("Thêm giấy phép", "Licence added"), "renew_licence": ("Gia hạn giấy phép", "Licence renewed"),
        "revoke_licence": ("Thu hồi giấy phép", "Licence revoked"),
        "record_inspection": ("Ghi kết quả kiểm tra", "Inspection recorded"), "import": ("Nhập dữ liệu", "Imported"),
        "survey": ("Xác minh tại hiện trường", "Checked on site"),
        "survey_add": ("Bổ sung từ hiện trường (chờ duyệt)", "Added on site (waiting for review)"),
        "review_approve": ("Duyệt cơ sở mới", "New establishment approved"),
        "review_reject": ("Không duyệt cơ sở mới", "New establishment rejected"),
    },
    "qr_revoked_reason": {  # qr.issue.REVOKE_REASONS, in this order
        "reissued": ("Đã cấp tem mới thay thế", "Replaced by a new sticker"),
        "closed": ("Cơ sở đã đóng cửa", "Business closed"),
        "damaged": ("Tem hư hỏng", "Sticker damaged"),
        "misused": ("Tem bị sử dụng sai", "Sticker misused"),
        "other": ("Khác", "Other"),
    },
}

#: key prefix → the module whose ``STRINGS`` holds those keys (the longest matching prefix wins)
CATALOGS: dict[str, str] = {
    "addr.": "geomap.addresses.messages",
    "import.addr.": "geomap.addresses.messages",
    "auth.": "geomap.ui.auth",
    "city.": "geomap.ui.pages.city",
    "citymap.": "geomap.city.view",
    "dash.": "geomap.ui.pages.dashboard",
    "dashboard.activity.": "geomap.dashboard.indicators",
    "dashboard.trend.": "geomap.dashboard.indicators",
    "dashboard.report.": "geomap.dashboard.excel",
    "export.": "geomap.ui.pages.export",
    "field.": "geomap.web.field_pages",
    "hot.": "geomap.ui.pages.hotspots",
    "import.": "geomap.ui.pages.importing",
    "import.action.": "geomap.importing.plan",
    "import.change.": "geomap.importing.plan",
    "import.cell.": "geomap.importing.messages",
    "import.file.": "geomap.importing.messages",
    "import.geo.": "geomap.importing.messages",
    "import.group.": "geomap.importing.messages",
    "import.match.": "geomap.importing.messages",
    "infra.": "geomap.ui.pages.infrastructure",
    "fv.": "geomap.web.routes.field_visits",
    "insp.": "geomap.ui.pages.inspections",
    "map.": "geomap.ui.pages.map",
    "map.legend.": "geomap.map.view",
    "onsite.": "geomap.ui.pages.onsite",
    "qr.": "geomap.web.routes.qr",
    "qrpage.": "geomap.ui.pages.qr",
    "sticker.": "qr.stickers",
    "quality.": "geomap.ui.pages.quality",
    "records.": "geomap.ui.pages.records",
    "rep.": "geomap.ui.pages.reports",
    "rep.step.": "geomap.field_reports.reads",
    "report.": "geomap.web.routes.reports",
    "risk.": "geomap.inspections.risk",
    "route.": "geomap.inspections.route_files",
    "session.": "geomap.web.session",
    "survey.": "geomap.web.routes.field_survey",
    "ui.": "geomap.ui.widgets",
    "survey.review.": "geomap.ui.pages.quality",
    "routing.": "geomap.inspections.routing",
    "travel.": "geomap.inspections.travel",
    "worklist.": "geomap.field_reports.worklist",
    "mail.": "geomap.field_reports.mail",
    "privacy.": "geomap.field_reports.retention",
    "wardpage.": "geomap.ui.pages.wards",
    "wardsetup.": "geomap.wards.setup",
    "visit.": "geomap.inspections.field",
}

#: the strings of the app itself (prefix ``app.``)
STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("Bản đồ số kinh doanh", "Business digital map"),
    "app.synthetic_notice": (
        "Dữ liệu mô phỏng (tổng hợp) phục vụ trình diễn — không phải dữ liệu thật của phường.",
        "Synthetic demonstration data — not the ward's real records.",
    ),
    "app.language": ("Ngôn ngữ", "Language"),
    "app.ward": ("Phường", "Ward"),
    "app.no_ward_of_account": ("Phường của tài khoản này chưa được nạp; liên hệ quản trị hệ thống.",
                               "This account's ward is not loaded; ask the administrator."),
    "app.attribution": (
        "Ranh giới: © OpenStreetMap contributors (ODbL)",
        "Boundaries: © OpenStreetMap contributors (ODbL)",
    ),
}


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGUAGES else config.LANGUAGE


_loaded: dict[str, dict[str, tuple[str, str]]] = {}
_lock = threading.Lock()


def catalog_of(key: str) -> str | None:
    """The module that holds ``key`` (from :data:`CATALOGS`); None for the app's own strings."""
    prefix = max((p for p in CATALOGS if key.startswith(p)), key=len, default=None)
    return CATALOGS[prefix] if prefix is not None else None


def catalog(module: str) -> dict[str, tuple[str, str]]:
    """The ``STRINGS`` of ``module``, imported on first use."""
    strings = _loaded.get(module)
    if strings is None:
        with _lock:
            strings = _loaded.get(module)
            if strings is None:
                strings = _loaded[module] = importlib.import_module(module).STRINGS
    return strings


def lookup(key: str) -> tuple[str, str] | None:
    """The (vi, en) pair of ``key``; None when no catalog holds it."""
    module = catalog_of(key)
    return STRINGS.get(key) if module is None else catalog(module).get(key)


def t(key: str, lang: str | None = None) -> str:
    """The UI string ``key`` in ``lang`` (default: :data:`geomap.config.LANGUAGE`)."""
    pair = lookup(key)
    if pair is None:
        return key
    return pair[1] if lang_or_default(lang) == "en" and pair[1] else pair[0]


def code_label(codes: str | None, value: object, lang: str | None = None) -> str:
    """The label of ``value`` in code list ``codes``; the value itself when unknown."""
    if value is None:
        return ""
    pair = CODES.get(codes or "", {}).get(str(value))
    if pair is None:
        return str(value)
    return pair[1] if lang_or_default(lang) == "en" else pair[0]

