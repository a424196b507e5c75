"""The importer's messages, Vietnamese first and English second, with named parameters."""

from __future__ import annotations

from geomap import i18n

MESSAGES: dict[str, tuple[str, str]] = {
    # whole-file problems
    "file.empty": ("Tệp {file} trống.", "The file {file} is empty."),
    "file.no_rows": ("Tệp {file} có dòng tiêu đề nhưng không có dòng dữ liệu nào.",
                     "The file {file} has a header row but no data rows."),
    "file.not_found": ("Không tìm thấy tệp {file}.", "The file {file} does not exist."),
    "file.too_large": ("Tệp {file} nặng {size_mb} MB, vượt giới hạn {limit_mb} MB: hãy chia nhỏ tệp.",
                       "The file {file} is {size_mb} MB, over the {limit_mb} MB limit: split it into smaller files."),
    "file.wrong_type": ("Tệp {file} là {found}, không phải XLSX, CSV, GeoJSON hay GeoPackage.",
                        "The file {file} is {found}, not XLSX, CSV, GeoJSON or GeoPackage."),
    "file.xls": ("Tệp {file} là Excel cũ (.xls): hãy mở bằng Excel và lưu lại dạng .xlsx.",
                 "The file {file} is an old Excel .xls workbook: open it in Excel and save it as .xlsx."),
    "file.ods": ("Tệp {file} là bảng tính OpenDocument (.ods): hãy lưu lại dạng .xlsx.",
                 "The file {file} is an OpenDocument spreadsheet (.ods): save it as .xlsx."),
    "file.corrupt": ("Không đọc được tệp {file} (tệp hỏng hoặc sai định dạng): {detail}",
                     "The file {file} cannot be read (damaged or wrong format): {detail}"),
    "file.encoding": ("Tệp CSV {file} không ở bảng mã UTF-8: hãy lưu lại với 'CSV UTF-8'.",
                      "The CSV file {file} is not UTF-8: save it again as 'CSV UTF-8'."),
    "file.missing_columns": ("Thiếu cột bắt buộc: {columns}.", "Required columns are missing: {columns}."),
    "file.duplicated_columns": ("Cột bị lặp lại, chỉ dùng cột đầu tiên: {columns}.",
                                "Columns appear twice; only the first is used: {columns}."),
    "file.unknown_columns": ("Các cột không thuộc mẫu sẽ bị bỏ qua: {columns}.",
                             "Columns not in the template are ignored: {columns}."),
    "file.rejected_rows": ("Có {n} dòng bị từ chối: sửa tệp rồi nhập lại; chưa ghi dữ liệu nào.",
                           "{n} rows are rejected: fix the file and import again; nothing was written."),
    # cell problems
    "cell.required": ("Thiếu giá trị bắt buộc.", "A value is required."),
    "cell.date_invalid": ("'{value}' không phải là ngày (dùng dd/mm/yyyy).",
                          "'{value}' is not a date (use dd/mm/yyyy)."),
    "cell.date_impossible": ("Ngày {value} không tồn tại.", "The date {value} does not exist."),
    "cell.date_future": ("Ngày {value} nằm trong tương lai.", "The date {value} is in the future."),
    "cell.date_too_old": ("Ngày {value} quá xa trong quá khứ.", "The date {value} is implausibly old."),
    "cell.expiry_before_issue": ("Ngày hết hạn {expires} trước ngày cấp {issued}.",
                                 "The expiry date {expires} is before the issue date {issued}."),
    "cell.date_too_far_ahead": ("Ngày {value} quá xa trong tương lai (quá {years} năm kể từ hôm nay).",
                                "The date {value} is implausibly far ahead (over {years} years from today)."),
    "cell.certificate_too_long": ("GCN ATTP chỉ có hiệu lực {years} năm kể từ ngày cấp {issued}: "
                                  "ngày hết hạn {expires} quá xa.",
                                  "A food-safety certificate is valid {years} years from its issue date {issued}: "
                                  "the expiry {expires} is too late."),
    "cell.follow_up_not_violation": ("Hạn tái kiểm tra chỉ đặt khi kết quả là vi phạm.",
                                     "A follow-up date is only set after a violation."),
    "cell.follow_up_not_after": ("Hạn tái kiểm tra {due} phải sau ngày kiểm tra {inspected}.",
                                 "The follow-up {due} must be after the inspection on {inspected}."),
    "cell.follow_up_too_late": ("Hạn tái kiểm tra {due} quá {days} ngày sau ngày kiểm tra {inspected}.",
                                "The follow-up {due} is more than {days} days after the inspection on {inspected}."),
    "cell.follow_up_default": ("Chưa có hạn tái kiểm tra: đặt {due} ({days} ngày sau ngày kiểm tra, theo mức độ "
                               "vi phạm).",
                               "No follow-up date: set to {due} ({days} days after the inspection, by the "
                               "violation's severity)."),
    "cell.follow_up_cleared": ("Kết quả không phải vi phạm: xóa hạn tái kiểm tra {due} đang lưu (chỉ vi phạm mới "
                               "có hạn tái kiểm tra).",
                               "The result is not a violation: the follow-up due {due} on file is cleared (only a "
                               "violation has a follow-up)."),
    "cell.licence_no_issue_date": ("Có số giấy phép nhưng thiếu '{column}'.",
                                   "A licence number is given but '{column}' is missing."),
    "cell.bool_invalid": ("'{value}' không phải Có hoặc Không.", "'{value}' is not yes or no."),
    "cell.int_invalid": ("'{value}' không phải là số nguyên không âm.", "'{value}' is not a whole number ≥ 0."),
    "cell.float_invalid": ("'{value}' không phải là số.", "'{value}' is not a number."),
    "cell.code_unknown": ("'{value}' không thuộc danh mục; dùng một trong: {allowed}.",
                          "'{value}' is not in the list; use one of: {allowed}."),
    "cell.vsic_unknown": ("Mã ngành VSIC '{value}' không có trong danh mục ngành.",
                          "The VSIC code '{value}' is not in the industry list."),
    "cell.tax_invalid": ("Mã số thuế '{value}' phải có 10 chữ số hoặc dạng 10-3 chữ số.",
                         "The tax code '{value}' must be 10 digits, or 10-3 digits."),
    "cell.tax_padded": ("Mã số thuế {value} mất số 0 ở đầu (ô dạng số): đã thêm lại.",
                        "The tax code {value} lost its leading zero (a number cell): added back."),
    "cell.phone_invalid": ("Số điện thoại '{value}' không hợp lệ.", "The phone number '{value}' is not valid."),
    "cell.phone_padded": ("Số điện thoại {value} mất số 0 ở đầu: đã thêm lại.",
                          "The phone number {value} lost its leading zero: added back."),
    "cell.id_invalid": ("Số CCCD/CMND '{value}' phải có 12 (hoặc 9) chữ số.",
                        "The ID number '{value}' must have 12 (or 9) digits."),
    "cell.email_invalid": ("Thư điện tử '{value}' không hợp lệ.", "The e-mail address '{value}' is not valid."),
    "cell.too_long": ("Giá trị dài quá {max_len} ký tự.", "The value is longer than {max_len} characters."),
    "cell.control_chars": ("Đã bỏ các ký tự điều khiển không in được.",
                           "Non-printing control characters were removed."),
    "cell.group_unknown": ("Không có tổ dân phố '{value}' trong phường; sẽ xác định theo tọa độ.",
                           "There is no residential group '{value}' in the ward; it will be found from the point."),
    # coordinates
    "geo.swapped": ("Kinh độ và vĩ độ bị đảo ({lon}, {lat}): đã đổi lại.",
                    "Longitude and latitude were swapped ({lon}, {lat}): swapped back."),
    "geo.vn2000": ("Tọa độ là mét VN-2000 (X={x}, Y={y}) ghi như độ: đã chuyển từ EPSG:{srid} sang WGS84.",
                   "The coordinates are VN-2000 metres (X={x}, Y={y}) given as degrees: converted from "
                   "EPSG:{srid} to WGS84."),
    "geo.vn2000_swapped": ("Tọa độ VN-2000 (mét) bị đảo X/Y: đã đổi lại.",
                           "The VN-2000 X/Y metres were swapped: swapped back."),
    "geo.outside_vietnam": ("Tọa độ ({lon}, {lat}) không nằm trong Việt Nam.",
                            "The point ({lon}, {lat}) is not in Vietnam."),
    "geo.outside_ward": ("Điểm ({lon:.6f}, {lat:.6f}) nằm ngoài {ward}.",
                         "The point ({lon:.6f}, {lat:.6f}) is outside {ward}."),
    "geo.half": ("Chỉ có một trong hai cột Kinh độ/Vĩ độ.", "Only one of longitude/latitude is given."),
    "geo.wkt_invalid": ("WKT '{value}' không đọc được.", "The WKT '{value}' cannot be read."),
    "geo.not_point": ("Hình học phải là điểm (POINT), không phải {found}.",
                      "The geometry must be a POINT, not {found}."),
    "geo.from_address": ("Không có tọa độ: đã định vị theo địa chỉ trùng với cơ sở {code}.",
                         "No coordinates: placed at the matching address of establishment {code}."),
    "geo.missing": ("Không có tọa độ và địa chỉ không khớp: cơ sở sẽ nằm trong danh sách 'Chưa có tọa độ'.",
                    "No coordinates and no matching address: listed under 'without coordinates'."),
    # base layers: shapes (geomap/importing/geometry.py, layer_plan.py)
    "geo.required": ("Thiếu hình học: ghi cột 'Tọa độ WKT' (hoặc Kinh độ/Vĩ độ cho một điểm).",
                     "No geometry: give the WKT column (or longitude/latitude for a point)."),
    "geo.wrong_type": ("Hình học là {found}, lớp này nhận: {allowed}.",
                       "The geometry is a {found}; this layer takes: {allowed}."),
    "geo.invalid": ("Hình học không hợp lệ ({reason}): sửa trong phần mềm GIS (ví dụ Sửa hình học của QGIS).",
                    "The geometry is not valid ({reason}): fix it in a GIS (e.g. QGIS's Fix geometries)."),
    "geo.wrong_crs": ("Tọa độ ({x}, {y}) không phải độ WGS84 hay mét VN-2000 của phường (EPSG:{srid}): kiểm tra hệ "
                      "tọa độ của tệp.",
                      "The coordinates ({x}, {y}) are neither WGS84 degrees nor the ward's VN-2000 metres "
                      "(EPSG:{srid}): check the file's coordinate system."),
    "geo.shape_outside_ward": ("Hình học nằm ngoài {ward} (quanh điểm {lon}, {lat}): kiểm tra hệ tọa độ của tệp.",
                               "The geometry lies outside {ward} (around {lon}, {lat}): check the file's "
                               "coordinate system."),
    "geo.partly_outside_ward": ("{area} m² của hình nằm ngoài ranh giới {ward} (quanh điểm {lon}, {lat}).",
                                "{area} m² of the shape lie outside the {ward} boundary (around {lon}, {lat})."),
    "geo.overlap": ("Chồng lấn với tổ {other} {area} m², quanh điểm ({lon}, {lat}).",
                    "Overlaps group {other} by {area} m², around ({lon}, {lat})."),
    "geo.overlap_sliver": ("Dải chồng lấn rất hẹp với tổ {other} ({area} m², quanh điểm {lon}, {lat}): "
                           "chấp nhận, nên sửa.",
                           "A thin overlap with group {other} ({area} m², around {lon}, {lat}): accepted, worth "
                           "fixing."),
    "geo.gap": ("Khoảng trống {area} m² không thuộc tổ nào, giáp các tổ {groups}, quanh điểm ({lon}, {lat}).",
                "A gap of {area} m² in no group, next to groups {groups}, around ({lon}, {lat})."),
    "geo.gap_sliver": ("Dải trống rất hẹp {area} m² giáp các tổ {groups} (quanh điểm {lon}, {lat}): chấp nhận, "
                       "nên sửa.",
                       "A thin gap of {area} m² next to groups {groups} (around {lon}, {lat}): accepted, worth "
                       "fixing."),
    "geo.tiling": ("Mọi tổ được cho bằng một điểm: hệ thống đã vẽ ranh giới các tổ bằng phân vùng Voronoi trong "
                   "ranh giới phường (mỗi tổ gồm phần đất gần điểm của tổ hơn điểm của tổ khác). Nên thay bằng ranh "
                   "giới thật khi có.",
                   "Every group is given as a point: geomap drew the groups as a Voronoi tiling within the ward "
                   "boundary (each group is the land closer to its point than to any other group's). Replace it "
                   "with real boundaries when you have them."),
    "geo.tiled": ("Ranh giới vẽ từ điểm (Voronoi): {area} m².", "Boundary drawn from the point (Voronoi): {area} m²."),
    "geo.points_mixed": ("Tệp vừa có ranh giới vừa có điểm: cho mọi tổ bằng ranh giới, hoặc mọi tổ bằng một điểm.",
                         "The file mixes boundaries and points: give every group as a boundary, or every group as "
                         "a point."),
    "geo.same_point": ("Trùng điểm với dòng {other}: không vẽ được ranh giới hai tổ.",
                       "The same point as row {other}: the two groups cannot be told apart."),
    "geo.groups_assigned": ("{n} cơ sở chưa có tổ dân phố sẽ được gán tổ chứa vị trí của cơ sở.",
                            "{n} establishments without a residential group will get the group containing "
                            "their point."),
    "geo.area_computed": ("Diện tích tính từ hình thửa: {area} m².", "Area computed from the shape: {area} m²."),
    "geo.area_differs": ("Diện tích ghi {given} m² khác diện tích hình thửa {area} m² hơn {pct}%.",
                         "The stated area {given} m² differs from the shape's {area} m² by more than {pct}%."),
    "geo.footprint": ("Hình là khuôn viên chợ: vị trí chợ đặt tại một điểm bên trong.",
                      "The shape is the market's footprint: the market's point is placed inside it."),
    # matching
    "match.code_other_ward": ("Mã cơ sở {value} thuộc phường khác.", "The code {value} belongs to another ward."),
    "match.tax_ambiguous": ("Có {n} cơ sở cùng mã số thuế {value}: ghi Mã cơ sở để chọn đúng cơ sở.",
                            "{n} establishments share tax code {value}: give the establishment code."),
    "match.by_tax": ("Khớp theo mã số thuế với cơ sở {code}.", "Matched by tax code with establishment {code}."),
    "match.by_name": ("Khớp theo tên, cách {distance_m:.0f} m, với cơ sở {code}.",
                      "Matched by name, {distance_m:.0f} m away, with establishment {code}."),
    "match.code_kept": ("Giữ mã cơ sở hiện có {code} (tệp ghi {value}).",
                        "The existing code {code} is kept (the file says {value})."),
    "match.duplicate_row": ("Trùng với dòng {other} của tệp.", "Duplicates row {other} of the file."),
    "match.duplicate_parcel": ("Tờ {sheet}, thửa {parcel} có ở cả dòng {first} và dòng {second} của tệp.",
                               "Sheet {sheet}, parcel {parcel} is on both row {first} and row {second} of the file."),
    "match.market_unknown": ("Không có chợ '{value}' trong phường: quầy phải thuộc một chợ đã có (nhập chợ trước).",
                             "There is no market '{value}' in the ward: a stall must belong to a market on record "
                             "(import the markets first)."),
    "match.no_market": ("Quầy không thuộc chợ nào: ghi Mã chợ, hoặc tọa độ trong khuôn viên chợ.",
                        "The stall is in no market: give the market code, or a point inside a market."),
    "match.market_by_point": ("Xác định chợ {code} theo tọa độ.", "Market {code} found from the point."),
    "match.evidence_needs_seen_by": ("Có ngày thấy giao dịch nhưng thiếu người xác nhận.",
                                     "A date seen transacting needs who saw it."),
    "match.evidence_contradicts": ("Có bằng chứng giao dịch QR/POS nhưng cột 'Nhận QR/POS' ghi Không.",
                                   "There is evidence of QR/POS payments but 'Accepts QR/POS' says no."),
    "match.no_evidence": ("Nhận QR/POS nhưng chưa có bằng chứng (ngày thấy giao dịch, người xác nhận): không tính "
                          "vào chỉ tiêu thí điểm.",
                          "Accepts QR/POS but without evidence (date seen, by whom): not counted toward the pilot "
                          "target."),
    "match.evidence_on_file": ("Bằng chứng ngày {day} đã có.", "Evidence of {day} is already on file."),
    # group-level indicators (geomap/dashboard/group_import.py)
    "group.unknown": ("Không có tổ dân phố mã '{value}' trong phường (xem lớp Tổ dân phố hoặc tải tệp mẫu).",
                      "There is no residential group coded '{value}' in the ward (see the Residential groups layer "
                      "or download the template)."),
    "group.name_differs": ("Tên '{value}' khác tên trên bản đồ '{name}' của tổ {code}: số liệu vẫn nhập cho tổ {code}.",
                           "The name '{value}' differs from the map's '{name}' for group {code}: the figures still go "
                           "to group {code}."),
    "group.duplicate": ("Tổ {code} có ở cả dòng {first} và dòng {second} của tệp: mỗi tổ một dòng.",
                        "Group {code} is on both row {first} and row {second} of the file: one row per group."),
    "group.num_over_den": ("{num} lớn hơn {den} ({what}): tử số không được vượt mẫu số.",
                           "{num} is more than {den} ({what}): the numerator cannot exceed the denominator."),
    "group.num_without_den": ("Có '{column}' nhưng thiếu '{den_column}' (mẫu số).",
                              "'{column}' is given but '{den_column}' (the denominator) is missing."),
    "group.zero_den": ("Mẫu số '{column}' bằng 0 trong khi có '{num_column}'.",
                       "The denominator '{column}' is 0 while '{num_column}' is given."),
    "group.pct_range": ("Tỷ lệ {value} nằm ngoài 0–100.", "The share {value} is outside 0–100."),
    "group.pct_fraction": ("Cột '{column}' ghi tỷ lệ dạng 0–1 (ví dụ 0,75): đã hiểu là 0–100% (0,75 = 75%).",
                           "Column '{column}' holds shares as 0–1 (e.g. 0.75): read as 0–100% (0.75 = 75%)."),
    "group.pct_small": ("Tỷ lệ {value} được hiểu là {value}% (cột ghi theo 0–100); nếu là {pct}% hãy ghi {pct}.",
                        "The share {value} is read as {value}% (the column is 0–100); if it means {pct}%, write "
                        "{pct}."),
    "group.pct_mismatch": ("Tỷ lệ ghi {given}% khác tỷ lệ tính từ số đếm {computed}% ({num}/{den}) quá 1 điểm %.",
                           "The stated share {given}% differs from the counts' {computed}% ({num}/{den}) by more than "
                           "1 percentage point."),
    "group.period_differs": ("Kỳ '{value}' khác kỳ đang nhập {period}.",
                             "The period '{value}' is not the period being imported, {period}."),
    "group.rows_empty": ("{n} dòng không có số liệu chỉ tiêu nào, được bỏ qua (dòng {rows}).",
                         "{n} rows have no indicator figures and are skipped (rows {rows})."),
    "group.no_values": ("Tệp không có số liệu chỉ tiêu nào: chưa ghi gì (nhập một tệp trống sẽ xóa số liệu của kỳ).",
                        "The file has no indicator figures: nothing is written (an empty file would erase the "
                        "period's figures)."),
    "group.no_indicator_columns": ("Tệp không có cột chỉ tiêu nào (VNeID, kỹ năng số, Gia đình số, Tổ dân phố số): "
                                   "dùng tệp mẫu.",
                                   "The file has no indicator column (VNeID, digital skills, Digital family, Digital "
                                   "residential group): use the template."),
    "group.period_future": ("Kỳ {period} chưa bắt đầu: chưa nhập được số liệu của kỳ này.",
                            "The period {period} has not started: its figures cannot be imported yet."),
    "match.no_establishment": ("Không tìm thấy cơ sở '{value}' trong phường.",
                               "No establishment '{value}' in this ward."),
}

#: the catalog geomap.i18n loads on first use of an ``import.file.`` / ``cell.`` / ``geo.`` / ``match.`` key
STRINGS: dict[str, tuple[str, str]] = {f"import.{k}": v for k, v in MESSAGES.items()}


def render(key: str, params: dict, lang: str = "vi") -> str:
    """The message ``key`` in ``lang`` with its parameters filled in."""
    template = i18n.t(f"import.{key}", lang)
    try:
        return template.format(**params)
    except (KeyError, ValueError, IndexError):
        return f"{template} {params}"
