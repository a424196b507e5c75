"""What address placement and the street import say, in Vietnamese and English (``addr.*`` keys)."""

from __future__ import annotations

from typing import Any

from geomap import i18n

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "addr.at_address": ("Đặt tại địa chỉ đã có tọa độ (cơ sở {code}).",
                        "Placed at an address already on the map (establishment {code})."),
    "addr.address_ambiguous": ("Địa chỉ trùng với {n} cơ sở ở những nơi khác nhau ({candidates}); chưa chọn nơi nào.",
                               "The address matches {n} establishments in different places ({candidates}); "
                               "none was chosen."),
    "addr.on_way_interpolated": ("Đặt trên {way}, số {number} nội suy từ các địa chỉ đã có tọa độ trên đường.",
                                 "Placed on {way}, number {number} interpolated from the addresses already "
                                 "placed on it."),
    "addr.on_way_middle": ("Đặt trên {way} (đoạn giữa đường: chưa có địa chỉ nào có tọa độ trên đường này).",
                           "Placed on {way} (around its middle: no address on it is placed yet)."),
    "addr.on_way_in_group": ("Đặt trên {way}, đoạn đi qua tổ dân phố của địa chỉ (chưa có số nhà nào có tọa độ "
                             "để nội suy).",
                             "Placed on {way}, on its stretch through the address's residential group (no placed "
                             "number to interpolate from)."),
    "addr.alley_deeper": ("Kiệt/hẻm {alley} sâu hơn dữ liệu đường của phường: đặt trên {way} (cấp biết được: {known}).",
                          "Alley {alley} is deeper than the ward's streets know: placed on {way} "
                          "(deepest known level: {known})."),
    "addr.street_only_alleys": ("Chưa có trục đường {street}, chỉ có kiệt/hẻm của nó: đặt trên {way}.",
                                "The street {street} itself is not known, only its alleys: placed on {way}."),
    "addr.street_close": ("Tên đường \"{street}\" được hiểu là \"{found}\".",
                          "Street \"{street}\" read as \"{found}\"."),
    "addr.street_ambiguous": ("Tên đường \"{street}\" khớp với {n} đường ({candidates}); chưa chọn đường nào.",
                              "Street \"{street}\" matches {n} streets ({candidates}); none was chosen."),
    "addr.street_unknown": ("Không tìm thấy đường \"{street}\" trong dữ liệu đường của phường.",
                            "No street \"{street}\" in the ward's streets."),
    "addr.group_ambiguous": ("Tổ {group} khớp với {n} tổ dân phố ({candidates}); chưa đặt vị trí.",
                             "Group {group} matches {n} residential groups ({candidates}); not placed."),
    "addr.group_unknown": ("Không có tổ dân phố số {group} trong phường.",
                           "The ward has no residential group {group}."),
    "addr.in_group": ("Đặt trong {group} (vị trí gần đúng).", "Placed inside {group} (approximate location)."),
    "addr.no_match": ("Không định vị được địa chỉ \"{address}\": giữ nguyên, chưa có tọa độ.",
                      "The address \"{address}\" matches nothing: kept without a point."),
    "addr.geocoder": ("Đặt theo dịch vụ định vị {service} ({found}).", "Placed by the geocoder {service} ({found})."),
    "addr.geocoder_failed": ("Dịch vụ định vị {service} không trả lời ({error}).",
                             "The geocoder {service} did not answer ({error})."),
    "addr.quality.exact": ("chính xác", "exact"),
    "addr.quality.address": ("theo địa chỉ đã biết", "at a known address"),
    "addr.quality.street": ("trên đường/kiệt", "on the street or alley"),
    "addr.quality.group": ("trong tổ dân phố", "inside the residential group"),
    "addr.quality.none": ("chưa định vị", "not placed"),
    "addr.streets.file_unreadable": ("Không đọc được tệp đường {file}: {error}.",
                                     "Cannot read the street file {file}: {error}."),
    "addr.streets.no_name_column": ("Tệp đường {file} không có cột tên đường (name, ten_duong).",
                                    "The street file {file} has no street-name column (name, ten_duong)."),
    "addr.streets.not_line": ("Đối tượng không phải đường (gặp {found}).", "The feature is not a line ({found})."),
    "addr.streets.no_name": ("Đường không có tên: bỏ qua.", "Unnamed way: skipped."),
    "addr.streets.none_in_ward": ("Tệp {file} không có đường có tên nào trong phường {ward}.",
                                  "The file {file} has no named street inside the ward {ward}."),
    "addr.streets.vn2000": ("{n} đường có tọa độ mét, không ghi hệ tọa độ: đọc theo lưới VN-2000 của phường "
                            "(EPSG:{srid}).",
                            "{n} ways have coordinates in metres and no stated CRS: read in the ward's VN-2000 grid "
                            "(EPSG:{srid})."),
    "addr.streets.summary": ("{read} đoạn đường đọc được, {named} có tên, {inside} trong phường: {streets} đường và "
                             "{alleys} kiệt/hẻm ({merged} đoạn cùng tên được gộp); {outside} đoạn ngoài phường.",
                             "{read} ways read, {named} named, {inside} inside the ward: {streets} streets and "
                             "{alleys} alleys ({merged} ways of the same name merged); {outside} ways outside."),
}


def render(key: str, params: dict[str, Any] | None = None, lang: str = "vi") -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in."""
    text = i18n.t(key, lang)
    try:
        return text.format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return text


# the import's row messages name these keys as "addr.*" under its own "import." prefix
STRINGS.update({f"import.{k}": v for k, v in list(STRINGS.items())})
