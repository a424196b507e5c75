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

#: establishments and their records (matched by establishment), then the ward's base layers
#: (each declared by a :class:`geomap.importing.specs.LayerSpec`)
RECORD_KINDS = ("establishments", "licences", "inspections")
BASE_KINDS = ("residential_groups", "land_parcels", "infrastructure", "public_facilities", "markets", "stalls",
              "commercial_streets")
KINDS = RECORD_KINDS + BASE_KINDS


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    name: str
    header_vi: str
    header_en: str
    #: text | date | int | code | list | vsic | float | wkt | tax | phone | id_number | email | bool
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
    _col("digital_platforms", "Nền tảng thương mại điện tử", "E-commerce platforms", kind="list", width=24,
         codes="platform", aliases=("Nền tảng số", "Digital platforms"),
         example="Shopee, Zalo (Zalo OA, cửa hàng Zalo)",
         description_vi="Các sàn/nền tảng cơ sở có tài khoản bán hàng, cách nhau bằng dấu phẩy; để trống nếu không có.",
         description_en="Platforms the establishment has a selling account on, comma separated; empty if none."),
    _col("uses_e_invoice", "Dùng hóa đơn điện tử", "Issues e-invoices", kind="bool", example="Có",
         description_vi="Có/Không; để trống giữ giá trị đang có.",
         description_en="Yes/No; empty keeps what is on file."),
    _col("uses_sales_software", "Dùng phần mềm bán hàng/quản lý", "Uses sales or management software", kind="bool",
         example="Không",
         description_vi="Có/Không; để trống giữ giá trị đang có.",
         description_en="Yes/No; empty keeps what is on file."),
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


def _lcol(layer: str, name: str, **kw) -> Column:
    """A base-layer column named, described and coded as the registry's ``layer`` declares field ``name``."""
    import layers

    f = layers.get(layer).field(kw.pop("layer_field", name))
    aliases = tuple(kw.pop("aliases", ())) + (f.label_vi, f.label_en)
    kw.setdefault("description_vi", f.description_vi)
    kw.setdefault("description_en", f.description_en)
    kw.setdefault("codes", f.codes)
    if f.codes and "kind" not in kw:
        kw["kind"] = "code"
    header_vi = kw.pop("header_vi", f.label_vi)
    header_en = kw.pop("header_en", f.label_en)
    return Column(name, header_vi, header_en, aliases=aliases, **kw)


def _geometry_cols(what_vi: str, what_en: str, *, points: bool = True, required: bool = False) -> tuple[Column, ...]:
    """The geometry of a base-layer row: WKT (any shape the layer takes), or longitude/latitude for a point."""
    wkt = Column("wkt", "Tọa độ WKT", "WKT geometry", kind="wkt", required=required and not points, width=30,
                 aliases=("WKT", "geometry", "geom", "Hình học"),
                 description_vi=f"{what_vi}, WGS84 (độ) hoặc VN-2000 của phường (mét). Tệp GeoJSON/GeoPackage: lấy "
                                "hình học của đối tượng.",
                 description_en=f"{what_en}, in WGS84 degrees or the ward's VN-2000 metres. GeoJSON/GeoPackage "
                                "files: the feature's geometry.")
    if not points:
        return (wkt,)
    return (
        Column("lon", "Kinh độ", "Longitude", kind="float", aliases=("lon", "lng", "x", "Kinh độ (X)"),
               description_vi="Kinh độ WGS84 (độ thập phân) của điểm, thay cho cột WKT.",
               description_en="WGS84 longitude of the point, instead of the WKT column."),
        Column("lat", "Vĩ độ", "Latitude", kind="float", aliases=("lat", "y", "Vĩ độ (Y)"),
               description_vi="Vĩ độ WGS84 (độ thập phân) của điểm.", description_en="WGS84 latitude of the point."),
        wkt,
    )


_RESIDENTIAL_GROUP = (
    _lcol("residential_groups", "code", required=True, max_len=32, example="T24", header_vi="Mã tổ",
          description_vi="Mã tổ dân phố, duy nhất trong phường (khớp khi nhập lại).",
          description_en="Residential group code, unique in the ward (matched on re-import)."),
    _lcol("residential_groups", "name", required=True, example="Tổ 24", width=22, aliases=("Tên tổ",)),
    _lcol("residential_groups", "population", kind="int", example=1200),
    _lcol("residential_groups", "households", kind="int", example=310),
    *_geometry_cols("Ranh giới tổ (POLYGON/MULTIPOLYGON), hoặc một điểm (POINT) trong tổ: khi mọi dòng là điểm, "
                    "hệ thống vẽ ranh giới các tổ bằng phân vùng Voronoi trong ranh giới phường",
                    "The group's boundary (POLYGON/MULTIPOLYGON), or one POINT inside it: when every row is a point, "
                    "geomap draws the groups as a Voronoi tiling within the ward boundary"),
)

_LAND_PARCEL = (
    _lcol("land_parcels", "map_sheet", required=True, max_len=16, example="12", width=10,
          aliases=("Tờ", "Số tờ", "Tờ BĐ"),
          description_vi="Số hiệu tờ bản đồ địa chính.", description_en="Cadastral map sheet number."),
    _lcol("land_parcels", "parcel_no", required=True, max_len=16, example="245", width=10,
          aliases=("Thửa", "Số thửa đất"),
          description_vi="Số thửa, duy nhất trên một tờ bản đồ.", description_en="Parcel number, unique on its sheet."),
    _lcol("land_parcels", "land_use_code", required=True, example="ODT", aliases=("Mã loại đất", "Loại đất", "MDSD"),
          description_vi="Mã loại đất theo Luật Đất đai (ODT, TMD, DGT, ...), xem trang Danh mục.",
          description_en="Land-use code (ODT, TMD, DGT, ...), see the Lists sheet."),
    _lcol("land_parcels", "area_m2", kind="float", example=86.5, aliases=("Diện tích",),
          description_vi="Diện tích pháp lý (m²); để trống thì tính từ hình thửa theo lưới VN-2000 của phường.",
          description_en="Legal area (m²); empty: computed from the shape in the ward's VN-2000 grid."),
    _lcol("land_parcels", "planning_zone", example="Khu dân cư hiện trạng", width=24),
    *_geometry_cols("Hình thửa (POLYGON)", "The parcel's shape (POLYGON)", points=False, required=True),
)

_INFRASTRUCTURE = (
    _lcol("infrastructure", "code", required=True, max_len=32, example="DCS-0012",
          description_vi="Mã thiết bị, duy nhất (khớp khi nhập lại).", description_en="Asset code, unique."),
    _lcol("infrastructure", "kind", required=True, example="Đèn chiếu sáng"),
    _lcol("infrastructure", "condition", example="Hoạt động tốt",
          description_vi="Hoạt động tốt hoặc Hư hỏng; để trống = Hoạt động tốt (thêm mới) hoặc giữ nguyên.",
          description_en="Working or faulty; empty: working (new) or kept."),
    _lcol("infrastructure", "checked_on", kind="date", past_only=True, aliases=("Ngày kiểm tra",),
          description_vi="Ngày kiểm tra tình trạng gần nhất.", description_en="Date the condition was last checked."),
    _lcol("infrastructure", "installed_on", kind="date", past_only=True),
    *_geometry_cols("Vị trí (POINT) hoặc tuyến (LINESTRING, ví dụ cống)", "Location (POINT) or line (LINESTRING, "
                    "e.g. a drain)"),
)

_PUBLIC_FACILITY = (
    _lcol("public_facilities", "kind", required=True, example="Trường học"),
    _lcol("public_facilities", "name", required=True, width=30, example="Trường THCS Nguyễn Huệ",
          description_vi="Tên công trình; cùng loại và cùng tên thì cập nhật khi nhập lại.",
          description_en="The facility's name; the same kind and name updates on re-import."),
    _lcol("public_facilities", "address", width=30),
    *_geometry_cols("Vị trí (POINT)", "Location (POINT)"),
)

_MARKET = (
    _lcol("markets", "code", required=True, max_len=32, example="CHO-HC-01"),
    _lcol("markets", "name", required=True, width=24, example="Chợ Hòa Cường"),
    _lcol("markets", "address", width=30),
    _lcol("markets", "is_pilot_smart_market", kind="bool", example="Có",
          description_vi="Có/Không: chợ thí điểm chợ thông minh (không dùng tiền mặt).",
          description_en="Yes/No: a pilot smart (cashless) market."),
    *_geometry_cols("Vị trí chợ (POINT) hoặc khuôn viên chợ (POLYGON)", "The market's location (POINT) or "
                    "footprint (POLYGON)"),
)

_STALL = (
    _lcol("stalls", "market_code", example="CHO-HC-01", aliases=("Chợ", "Mã chợ (quầy)"),
          description_vi="Mã chợ đã có trong phường; để trống thì xác định theo tọa độ (trong khuôn viên chợ hoặc "
                         "cách chợ không quá 150 m).",
          description_en="Code of a market of the ward; empty: found from the point (inside the market's "
                         "footprint, or within 150 m of it)."),
    _lcol("stalls", "stall_no", required=True, max_len=16, example="A-012", width=10, aliases=("Số quầy", "Số sạp"),
          description_vi="Số quầy/sạp, duy nhất trong một chợ.", description_en="Stall number, unique in its market."),
    _lcol("stalls", "zone", example="Khu hàng khô", aliases=("Khu hàng",)),
    _lcol("stalls", "trade", example="Rau củ quả", aliases=("Mặt hàng",)),
    _lcol("stalls", "holder_name", example="Nguyễn Thị B", aliases=("Tiểu thương", "Chủ sạp")),
    _lcol("stalls", "holder_phone", kind="phone", example="0905123456"),
    Column("establishment_code", "Mã cơ sở", "Establishment code", max_len=32,
           description_vi="Mã cơ sở (tiểu thương) đã có trong phường, nếu có.",
           description_en="Code of the stall's establishment on record, if any."),
    _lcol("stalls", "accepts_qr_pos", kind="bool", example="Có",
          description_vi="Có/Không. Chỉ tính vào chỉ tiêu thí điểm khi có bằng chứng (ngày thấy giao dịch, người "
                         "xác nhận).",
          description_en="Yes/No. Counts toward the pilot target only with evidence (date seen, by whom)."),
    Column("seen_on", "Ngày thấy giao dịch QR/POS", "Seen transacting on", kind="date", past_only=True,
           aliases=("Ngày xác nhận",),
           description_vi="Ngày cán bộ thấy quầy nhận thanh toán QR/thẻ (bằng chứng).",
           description_en="Date an officer saw the stall take a QR or card payment (evidence)."),
    Column("seen_by", "Người xác nhận", "Seen by", width=20,
           description_vi="Cán bộ đã thấy giao dịch; bắt buộc khi có ngày.", description_en="Who saw it; required "
                                                                                         "with the date."),
    Column("payment_method", "Hình thức thanh toán thấy", "Method seen", kind="code", codes="payment",
           example="Mã QR ngân hàng"),
    Column("photo", "Ảnh minh chứng", "Photo", width=24,
           description_vi="Tên tệp hoặc đường dẫn ảnh (không bắt buộc).",
           description_en="A photo's file name or link (optional)."),
    *_geometry_cols("Vị trí quầy (POINT)", "The stall's location (POINT)"),
)

_COMMERCIAL_STREET = (
    _lcol("commercial_streets", "code", required=True, max_len=32, example="PTM-01"),
    _lcol("commercial_streets", "name", required=True, width=26, example="Phố Núi Thành (đoạn thí điểm)"),
    _lcol("commercial_streets", "note", width=30),
    *_geometry_cols("Tuyến phố (LINESTRING, đếm cơ sở trong vòng 30 m) hoặc khu vực (POLYGON)",
                    "The street (LINESTRING: establishments within 30 m are counted) or area (POLYGON)",
                    points=False, required=True),
)

#: the columns of the establishments' template (establishments, licences, inspections)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "establishments": _ESTABLISHMENT,
    "licences": _LICENCE,
    "inspections": _INSPECTION,
}
#: the columns of each base layer's template
LAYER_COLUMNS: dict[str, tuple[Column, ...]] = {
    "residential_groups": _RESIDENTIAL_GROUP,
    "land_parcels": _LAND_PARCEL,
    "infrastructure": _INFRASTRUCTURE,
    "public_facilities": _PUBLIC_FACILITY,
    "markets": _MARKET,
    "stalls": _STALL,
    "commercial_streets": _COMMERCIAL_STREET,
}
#: the ward's quarterly assessment of each residential group (geomap.group_indicators): one row per group,
#: counts or a percentage per indicator; the period is chosen on import (a "Kỳ" column is checked against it)
GROUP_INDICATOR_KIND = "group_indicators"
_PCT_VI = ("Tỷ lệ trong khoảng 0–100 (75 hoặc 75%); thay cho cặp số đếm khi tổ chỉ báo tỷ lệ. Cả cột ghi dạng "
           "0–1 (ô Excel định dạng %) cũng được nhận và được báo lại.")
_PCT_EN = ("A share from 0 to 100 (75 or 75%), instead of the two counts when the group reports only a share. A "
           "whole column written 0–1 (Excel percentage cells) is accepted too, and said so.")
_GROUP_INDICATOR = (
    Column("group_code", "Mã tổ", "Group code", required=True, max_len=32, example="T24",
           aliases=("Mã tổ dân phố", "Tổ dân phố", "Tổ", "residential_group", "group"),
           description_vi="Mã tổ dân phố như trên bản đồ (lớp Tổ dân phố).",
           description_en="The residential group's code as on the map (Residential groups layer)."),
    Column("group_name", "Tên tổ", "Group name", max_len=200, example="Tổ 24", aliases=("Tên tổ dân phố",),
           description_vi="Chỉ để đối chiếu; khác tên trên bản đồ thì được báo lại.",
           description_en="For checking only; a name different from the map's is pointed out."),
    Column("period", "Kỳ đánh giá", "Period", max_len=16, example="2026-Q3", aliases=("Kỳ", "Quý"),
           description_vi="Kỳ của số liệu (2026-Q3); phải trùng kỳ đang nhập.",
           description_en="The figures' period (2026-Q3); must be the period being imported."),
    Column("population", "Số nhân khẩu", "Population", kind="int", example=1200, aliases=("Dân số", "Số dân"),
           description_vi="Mẫu số của tỷ lệ VNeID.", description_en="Denominator of the VNeID share."),
    Column("vneid_activated", "Số người đã kích hoạt VNeID", "People with VNeID activated", kind="int", example=870,
           aliases=("VNeID", "Số người có VNeID"), width=20,
           description_vi="Số người có tài khoản định danh điện tử VNeID đã kích hoạt, sử dụng.",
           description_en="People whose VNeID electronic identity account is activated and used."),
    Column("vneid_pct", "Tỷ lệ kích hoạt VNeID (%)", "VNeID activation (%)", kind="float", example=None,
           aliases=("Tỷ lệ VNeID",), description_vi=_PCT_VI, description_en=_PCT_EN),
    Column("adults", "Số người trưởng thành", "Adults", kind="int", example=930,
           description_vi="Mẫu số của tỷ lệ phổ cập kỹ năng số.",
           description_en="Denominator of the digital-skills share."),
    Column("digital_skills", "Số người đạt phổ cập kỹ năng số", "Adults certified in digital skills", kind="int",
           example=560, aliases=("Kỹ năng số",), width=20,
           description_vi="Người trưởng thành được xác nhận đạt phổ cập tri thức, kỹ năng số trên nền tảng VNeID.",
           description_en="Adults confirmed on VNeID as having the basic digital knowledge and skills."),
    Column("digital_skills_pct", "Tỷ lệ phổ cập kỹ năng số (%)", "Digital skills (%)", kind="float", example=None,
           description_vi=_PCT_VI, description_en=_PCT_EN),
    Column("households", "Số hộ", "Households", kind="int", example=310, aliases=("Tổng số hộ",),
           description_vi="Mẫu số của tỷ lệ Gia đình số.", description_en="Denominator of the Digital family share."),
    Column("digital_families", "Số hộ đạt Gia đình số", "Households meeting Digital family", kind="int",
           example=190, aliases=("Gia đình số",), width=20,
           description_vi="Hộ đạt bộ tiêu chí “Gia đình số”.",
           description_en="Households meeting the “Digital family” criteria."),
    Column("digital_families_pct", "Tỷ lệ hộ đạt Gia đình số (%)", "Digital families (%)", kind="float", example=None,
           description_vi=_PCT_VI, description_en=_PCT_EN),
    Column("digital_group", "Đạt Tổ dân phố số", "Meets Digital residential group", kind="bool", example="Không",
           aliases=("Tổ dân phố số", "TDP số"),
           description_vi="Có hoặc Không: tổ đạt bộ tiêu chí “Tổ dân phố số” trong kỳ.",
           description_en="Yes or no: the group meets the “Digital residential group” criteria in the period."),
)

#: every kind's columns
ALL_COLUMNS: dict[str, tuple[Column, ...]] = {**COLUMNS, **LAYER_COLUMNS, GROUP_INDICATOR_KIND: _GROUP_INDICATOR}

#: the sheet of the template holding each kind (the importer looks for it first)
SHEETS: dict[str, tuple[str, str]] = {
    "establishments": ("Cơ sở kinh doanh", "Establishments"),
    "licences": ("Giấy phép", "Licences"),
    "inspections": ("Kiểm tra", "Inspections"),
    "residential_groups": ("Tổ dân phố", "Residential groups"),
    "land_parcels": ("Thửa đất", "Land parcels"),
    "infrastructure": ("Hạ tầng", "Infrastructure"),
    "public_facilities": ("Công trình công cộng", "Public facilities"),
    "markets": ("Chợ", "Markets"),
    "stalls": ("Quầy sạp", "Stalls"),
    "commercial_streets": ("Tuyến phố thương mại", "Commercial streets"),
    GROUP_INDICATOR_KIND: ("Chỉ tiêu tổ dân phố", "Group indicators"),
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
    "residential_group_id", "tax_code", "digital_payment", "digital_platforms", "uses_e_invoice",
    "uses_sales_software", "opening_hours", "employees", "opened_on",
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
    for c in ALL_COLUMNS[kind]:
        if c.name == name:
            return c
    raise KeyError(name)


def map_columns(kind: str, headers: list[object]) -> ColumnMapping:
    """Match ``headers`` to ``kind``'s columns; list required ones that are missing."""
    cols = ALL_COLUMNS[kind]
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
    if kind in ("licences", "inspections") and not present & {"establishment_code", "tax_code"}:
        mapping.missing.insert(0, column(kind, "establishment_code"))
    return mapping
