"""The ward's list of violation codes: what an inspector picks from on site (pure).

One list for the whole code base: the field app's tap list, the demo's synthetic inspections
(:mod:`geomap.demo.vocabulary`) and the check of a submitted code read it. Each code has a
default severity (1 minor .. 3 serious; :data:`geomap.records.rules.FOLLOW_UP_DAYS` turns the
worst one into the follow-up date) that the inspector may change on site. Food-safety codes apply
to establishments under the food-safety rules; the general codes to every establishment.
A ward with its own list would add it here (keyed by ward slug); every ward uses this one today.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ViolationCode:
    code: str
    severity: int
    vi: str
    en: str
    food: bool

    def label(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


CODES: tuple[ViolationCode, ...] = (
    ViolationCode("ATTP-01", 3, "Không có Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
                  "No food-safety certificate", True),
    ViolationCode("ATTP-02", 2, "Người trực tiếp chế biến chưa được khám sức khỏe định kỳ",
                  "Food handlers without periodic health checks", True),
    ViolationCode("ATTP-03", 2, "Khu vực chế biến không bảo đảm vệ sinh", "Unhygienic preparation area", True),
    ViolationCode("ATTP-04", 1, "Không ghi chép kiểm thực ba bước, nguồn gốc nguyên liệu",
                  "No three-step food check or ingredient origin records", True),
    ViolationCode("ATTP-05", 3, "Sử dụng phụ gia thực phẩm ngoài danh mục được phép",
                  "Food additives outside the permitted list", True),
    ViolationCode("ATTP-06", 1, "Không lưu mẫu thức ăn theo quy định", "No food samples kept as required", True),
    ViolationCode("ATTP-07", 3, "Thực phẩm không rõ nguồn gốc, xuất xứ", "Food of unknown origin", True),
    ViolationCode("ATTP-08", 1, "Không có dụng cụ ngăn côn trùng, động vật gây hại",
                  "No protection against insects and pests", True),
    ViolationCode("ATTP-09", 1, "Người chế biến không mang trang phục bảo hộ",
                  "Food handlers without protective clothing", True),
    ViolationCode("KD-01", 2, "Kinh doanh không đúng ngành nghề đã đăng ký",
                  "Trading outside the registered line of business", False),
    ViolationCode("KD-02", 1, "Không niêm yết giá hàng hóa, dịch vụ", "Prices not displayed", False),
    ViolationCode("TTĐT-01", 1, "Lấn chiếm vỉa hè để kinh doanh", "Trading on the pavement", False),
    ViolationCode("PCCC-01", 2, "Không trang bị phương tiện phòng cháy, chữa cháy",
                  "No fire-fighting equipment", False),
)

BY_CODE: dict[str, ViolationCode] = {c.code: c for c in CODES}


def codes_for(food: bool | None = None) -> tuple[ViolationCode, ...]:
    """The codes an inspector may pick: every code, or (``food`` False) only the general ones."""
    return CODES if food in (None, True) else tuple(c for c in CODES if not c.food)
