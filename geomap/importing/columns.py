"""What an import file may contain: one column list per kind of record.

Headers are Vietnamese (the template's), and a file may also use the English header, the
internal name or a known alias; matching folds case and diacritics. Labels and
descriptions come from the layer registry where the establishments layer declares the
same field, so the template, the map and the exports name a field the same way.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from geomap.text import fold

KINDS = ("establishments", "licences", "inspections")


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    name: str
    header_vi: str
    header_en: str
    #: text | date | int | code | list | vsic | float | wkt | tax | phone | id_number | email
    kind: str = "text"
    required: bool = False
    codes: str | None = None
    aliases: tuple[str, ...] = ()
    description_vi: str = ""
    description_en: str = ""
    #: dates that may not lie in the future (issue, inspection, opening dates)
    past_only: bool = False
    max_len: int | None = None
    example: object = None
    width: int = 16

    def header(self, lang: str = "vi") -> str:
        return self.header_en if lang == "en" else self.header_vi

    @property
    def keys(self) -> set[str]:
        return {header_key(x) for x in (self.name, self.header_vi, self.header_en, *self.aliases)}


@functools.lru_cache(maxsize=65536)
def _header_key(text: str) -> str:
    text = fold(text).replace("*", " ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def header_key(header: object) -> str:
    """A header folded for matching: no diacritics, case, required-marker or punctuation."""
    return _header_key(str(header or ""))


def _layer_field(name: str):
    try:
        import layers

        return layers.get("establishments").field(name)
    except KeyError:
        return None


def _col(name: str, header_vi: str, header_en: str, **kw) -> Column:
    """A column whose aliases and descriptions are completed from the establishments layer."""
    f = _layer_field(kw.pop("layer_field", name))
    aliases = tuple(kw.pop("aliases", ()))
    if f is not None:
        aliases += (f.label_vi, f.label_en)
        kw.setdefault("description_vi", f.description_vi)
        kw.setdefault("description_en", f.description_en)
        kw.setdefault("codes", f.codes)
    return Column(name, header_vi, header_en, aliases=aliases, **kw)


_ESTABLISHMENT = (
    _col("code", "Mã cơ sở", "Establishment code", max_len=32, example="HC-000123",
         description_vi="Mã định danh cơ sở do phường cấp; để trống khi thêm mới (hệ thống tự cấp mã).",
         description_en="Identifier issued by the ward; leave empty for a new establishment (one is issued)."),
    _col("name", "Tên cơ sở", "Name", required=True, width=30, example="Quán Phở Hòa",
         description_vi="Tên biển hiệu hoặc tên trên giấy đăng ký kinh doanh.",
         description_en="Shop-sign name or the name on the registration."),
    _col("business_type", "Loại hình", "Business type", kind="code", required=True, example="Hộ kinh doanh",
         description_vi="Hộ kinh doanh, Doanh nghiệp, Hợp tác xã hoặc Tiểu thương tại chợ.",
         description_en="Household business, enterprise, cooperative or market stall."),
    _col("vsic_code", "Mã ngành VSIC", "VSIC code", kind="vsic", required=True, example="5610",
         aliases=("VSIC", "Mã ngành"),
         description_vi="Mã ngành kinh tế Việt Nam (VSIC 2018), cấp 4 chữ số, xem trang Danh mục.",
         description_en="Vietnamese industry code (VSIC 2018), 4 digits, see the Lists sheet."),
    _col("operating_status", "Tình trạng hoạt động", "Operating status", kind="code", example="Đang hoạt động",
         description_vi="Đang hoạt động, Tạm ngừng hoặc Đã đóng cửa; để trống = Đang hoạt động.",
         description_en="Active, suspended or closed; empty means active."),
    _col("house_number", "Số nhà", "House number", example="12", width=10),
    _col("street", "Đường/phố", "Street", aliases=("Đường", "Tên đường"), example="Núi Thành"),
    _col("address", "Địa chỉ", "Address", width=36, example="12 Núi Thành, Hòa Cường",
         description_vi="Địa chỉ đầy đủ; dùng để định vị khi không có tọa độ (khớp với địa chỉ đã có).",
         description_en="Full address; used to place the point when there are no coordinates."),
    _col("residential_group", "Tổ dân phố", "Residential group", aliases=("Tổ", "Tổ dân phố (mã)"),
         description_vi="Tên hoặc mã tổ dân phố; để trống thì hệ thống xác định theo tọa độ.",
         description_en="Name or code; empty: found from the coordinates."),
    _col("lon", "Kinh độ", "Longitude", kind="float", aliases=("lon", "lng", "x", "Kinh độ (X)"), example=108.2205,
         description_vi="Kinh độ WGS84 (độ thập phân, khoảng 102–110). Tọa độ VN-2000 (mét) cũng được nhận.",
         description_en="WGS84 longitude in decimal degrees (about 102–110). VN-2000 metres are accepted too."),
    _col("lat", "Vĩ độ", "Latitude", kind="float", aliases=("lat", "y", "Vĩ độ (Y)"), example=16.0401,
         description_vi="Vĩ độ WGS84 (độ thập phân, khoảng 8–24).",
         description_en="WGS84 latitude in decimal degrees (about 8–24)."),
    _col("wkt", "Tọa độ WKT", "WKT geometry", kind="wkt", aliases=("WKT", "geometry", "Hình học"),
         description_vi="Thay cho Kinh độ/Vĩ độ: POINT(kinh_độ vĩ_độ).",
         description_en="Instead of longitude/latitude: POINT(lon lat)."),
    _col("tax_code", "Mã số thuế", "Tax code", kind="tax", example="0401234567",
         description_vi="10 chữ số, hoặc 10 chữ số-3 chữ số cho chi nhánh. Nhập dạng văn bản để giữ số 0 đầu.",
         description_en="10 digits, or 10-3 digits for a branch. Enter as text to keep leading zeros."),
    _col("digital_payment", "Thanh toán số", "Digital payment", kind="list", width=24,
         example="Mã QR ngân hàng, Ví điện tử",
         description_vi="Các hình thức thanh toán không dùng tiền mặt, cách nhau bằng dấu phẩy; để trống nếu không có.",
         description_en="Cashless payment methods, comma separated; empty if none."),
    _col("opening_hours", "Giờ mở cửa", "Opening hours", example="06:00-22:00"),
    _col("employees", "Số lao động", "Employees", kind="int", example=3),
    _col("opened_on", "Ngày bắt đầu hoạt động", "Opened on", kind="date", past_only=True),
    _col("owner_name", "Chủ cơ sở", "Owner", example="Nguyễn Văn A",
         description_vi="Dữ liệu cá nhân: không bao giờ công khai.", description_en="Personal data: never public."),
    _col("owner_id_number", "Số CCCD", "ID number", kind="id_number", aliases=("Số CCCD chủ cơ sở", "CCCD", "CMND"),
         description_vi="Căn cước công dân 12 chữ số (hoặc CMND 9 chữ số). Dữ liệu cá nhân.",
         description_en="12-digit citizen ID (or 9-digit old ID). Personal data."),
    _col("phone", "Điện thoại", "Phone", kind="phone", example="0905123456",
         description_vi="Dữ liệu cá nhân.", description_en="Personal data."),
    _col("email", "Thư điện tử", "E-mail", kind="email", aliases=("Email",)),
    _col("registration_number", "Số GCN ĐKKD", "Registration number", width=18, example="32A8012345",
         aliases=("Số giấy ĐKKD",)),
    _col("registration_issued_on", "Ngày cấp", "Registration issued", kind="date", past_only=True,
         layer_field="registration_issued_on", aliases=("Ngày cấp GCN ĐKKD",)),
    _col("registration_expires_on", "Ngày hết hạn", "Registration expires", kind="date",
         aliases=("Ngày hết hạn GCN ĐKKD",)),
    _col("fs_certificate_number", "Số GCN ATTP", "Food-safety certificate number", width=18),
    _col("fs_certificate_issued_on", "Ngày cấp GCN ATTP", "Food-safety certificate issued", kind="date",
         past_only=True),
    _col("fs_certificate_expires_on", "Ngày hết hạn GCN ATTP", "Food-safety certificate expires", kind="date",
         description_vi="Giấy chứng nhận cơ sở đủ điều kiện ATTP có hiệu lực 3 năm.",
         description_en="A food-safety certificate is valid for 3 years."),
    _col("fs_commitment_number", "Số cam kết ATTP", "Food-safety commitment number"),
    _col("fs_commitment_issued_on", "Ngày ký cam kết ATTP", "Food-safety commitment signed", kind="date",
         past_only=True),
)

_LICENCE = (
    _col("establishment_code", "Mã cơ sở", "Establishment code", layer_field="code",
         description_vi="Mã cơ sở đã có trong hệ thống (hoặc điền Mã số thuế).",
         description_en="Code of an establishment already on record (or give the tax code)."),
    _col("tax_code", "Mã số thuế", "Tax code", kind="tax"),
    _col("kind", "Loại giấy phép", "Licence kind", kind="code", codes="licence_kind", required=True,
         example="Giấy chứng nhận đăng ký kinh doanh", width=30),
    _col("number", "Số giấy phép", "Number", aliases=("Số", "Số GCN")),
    _col("issuer", "Cơ quan cấp", "Issuer", width=24),
    _col("issued_on", "Ngày cấp", "Issued on", kind="date", required=True, past_only=True),
    _col("expires_on", "Ngày hết hạn", "Expires on", kind="date"),
    _col("revoked_on", "Ngày thu hồi", "Revoked on", kind="date", past_only=True),
    _col("note", "Ghi chú", "Note", width=30),
)

_INSPECTION = (
    _col("establishment_code", "Mã cơ sở", "Establishment code", layer_field="code"),
    _col("tax_code", "Mã số thuế", "Tax code", kind="tax"),
    _col("inspected_on", "Ngày kiểm tra", "Inspected on", kind="date", required=True, past_only=True),
    _col("kind", "Hình thức kiểm tra", "Inspection kind", kind="code", codes="inspection_kind", required=True,
         example="Định kỳ"),
    _col("result", "Kết quả", "Result", kind="code", codes="inspection_result", required=True, example="Đạt"),
    _col("inspector_name", "Cán bộ kiểm tra", "Inspector", width=22),
    _col("violations", "Nội dung vi phạm", "Violations", width=36,
         description_vi="Mô tả các vi phạm, mỗi vi phạm cách nhau bằng dấu chấm phẩy.",
         description_en="Violations found, separated by semicolons."),
    _col("notes", "Ghi chú", "Notes", width=30),
    _col("follow_up_due", "Hạn tái kiểm tra", "Follow-up due", kind="date"),
    _col("made_via", "Hình thức ghi", "Recorded via", kind="code", codes="inspection_made_via", width=22,
         description_vi="Kiểm tra được ghi bằng gì; để trống: nhập lại từ biên bản giấy.",
         description_en="How the inspection was recorded; empty: entered from paper."),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "establishments": _ESTABLISHMENT,
    "licences": _LICENCE,
    "inspections": _INSPECTION,
}

#: the sheet of the template holding each kind (the importer looks for it first)
SHEETS: dict[str, tuple[str, str]] = {
    "establishments": ("Cơ sở kinh doanh", "Establishments"),
    "licences": ("Giấy phép", "Licences"),
    "inspections": ("Kiểm tra", "Inspections"),
}

#: licence columns carried on an establishment row: kind -> (number, issued, expires) column names
ESTABLISHMENT_LICENCES: dict[str, tuple[str | None, str, str | None]] = {
    "business_registration": ("registration_number", "registration_issued_on", "registration_expires_on"),
    "food_safety_certificate": ("fs_certificate_number", "fs_certificate_issued_on", "fs_certificate_expires_on"),
    "food_safety_commitment": ("fs_commitment_number", "fs_commitment_issued_on", None),
}

#: the database columns an import writes, per table (an empty cell keeps what is on file)
ESTABLISHMENT_FIELDS = (
    "code", "name", "business_type", "vsic_code", "operating_status", "house_number", "street", "address",
    "residential_group_id", "tax_code", "digital_payment", "opening_hours", "employees", "opened_on",
    "owner_name", "owner_id_number", "phone", "email",
)
LICENCE_FIELDS = ("number", "issuer", "issued_on", "expires_on", "revoked_on", "note")
INSPECTION_FIELDS = ("inspected_on", "kind", "result", "inspector_name", "violations", "notes", "follow_up_due",
                     "made_via")


@dataclass
class ColumnMapping:
    """How a file's headers map to the columns of a kind."""

    kind: str
    by_header: dict[str, str] = field(default_factory=dict)  # file header -> column name
    missing: list[Column] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def header_of(self, name: str) -> str:
        """The header the file used for column ``name`` (else the template's)."""
        for header, col in self.by_header.items():
            if col == name:
                return header
        return column(self.kind, name).header_vi


def column(kind: str, name: str) -> Column:
    for c in COLUMNS[kind]:
        if c.name == name:
            return c
    raise KeyError(name)


def map_columns(kind: str, headers: list[object]) -> ColumnMapping:
    """Match ``headers`` to ``kind``'s columns; list required ones that are missing."""
    cols = COLUMNS[kind]
    index: dict[str, str] = {}
    for c in cols:
        for k in c.keys:
            index.setdefault(k, c.name)
    mapping = ColumnMapping(kind)
    for h in headers:
        if h is None or str(h).strip() == "":
            continue
        name = index.get(header_key(h))
        if name is None:
            mapping.unknown.append(str(h))
        elif name in mapping.by_header.values():
            mapping.duplicated.append(str(h))
        else:
            mapping.by_header[str(h)] = name
    present = set(mapping.by_header.values())
    mapping.missing = [c for c in cols if c.required and c.name not in present]
    if kind != "establishments" and not present & {"establishment_code", "tax_code"}:
        mapping.missing.insert(0, column(kind, "establishment_code"))
    return mapping
