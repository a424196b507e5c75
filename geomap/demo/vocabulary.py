"""Vietnamese words the synthetic ward is made of: people's names, street names, shop names.

Everything here is plain data. Street names are real streets of Đà Nẵng (they only drive
placement and addresses: the synthetic streets do not follow the real ones); person and
shop names are plausible but made up by combining common parts.
"""

from __future__ import annotations

from geomap.inspections import violations as _violations

#: (family name, relative frequency): common Vietnamese family names, Central-region flavour
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 36), ("Trần", 11), ("Lê", 9.5), ("Phạm", 6), ("Huỳnh", 5.5), ("Phan", 4.5), ("Võ", 5),
    ("Hoàng", 2.5), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 1.5), ("Hồ", 2.5), ("Ngô", 1.3), ("Dương", 1),
    ("Trương", 1.5), ("Đoàn", 1), ("Lương", 0.7), ("Mai", 0.6), ("Thái", 0.5), ("Lý", 0.5), ("Đinh", 0.8),
)
MALE_MIDDLE = ("Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thanh", "Ngọc", "Xuân", "Đình", "Tấn")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Phương", "Hồng", "Bích")
MALE_GIVEN = (
    "Anh", "Bảo", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khang", "Khoa",
    "Lâm", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Phát", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Tâm",
    "Thắng", "Thành", "Thịnh", "Tiến", "Toàn", "Trung", "Tuấn", "Vinh", "Vũ", "Hưng", "Kiên", "Lợi",
)
FEMALE_GIVEN = (
    "An", "Anh", "Châu", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương", "Huyền",
    "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Sương",
    "Thảo", "Thủy", "Trang", "Trinh", "Tuyết", "Uyên", "Vân", "Yến", "Lài", "Xuân", "Hồng",
)
#: how a shop is named after its keeper: "Quán cơm Cô Lan", "Sửa xe Chú Hùng"
FEMALE_TITLES = ("Bà ", "Cô ", "Chị ", "", "", "Dì ")
MALE_TITLES = ("Ông ", "Chú ", "Anh ", "", "", "Bác ")

#: words shop and company names are made of
BRAND_WORDS = (
    "Hoàng Gia", "Phú Quý", "Minh Anh", "Sông Hàn", "An Phát", "Thành Công", "Ngọc Lan", "Hải Âu", "Biển Xanh",
    "Mộc", "Phố Cũ", "Hòa Bình", "Thiên Phúc", "Kim Long", "Tân Tiến", "Hưng Thịnh", "Đại Phát", "Thuận An",
    "Vạn Xuân", "Hồng Phát", "Sơn Trà", "Ngũ Hành", "Mỹ Khê", "Trường An", "Phước Lộc", "Bảo Ngọc", "Gia Huy",
    "Thiên Ân", "Nhật Minh", "Việt Hàn", "Sao Mai", "Hoa Sen", "Bình Minh", "Tâm Đức", "Phúc Lâm", "Quang Vinh",
    "Đông Á", "Trung Nguyên", "Miền Trung", "Hoàng Long", "Kim Ngân", "Xuân Mai", "Lộc Phát", "Ánh Dương",
)
COMPANY_FORMS = (("Công ty TNHH", 0.55), ("Công ty TNHH MTV", 0.25), ("Công ty Cổ phần", 0.2))
COMPANY_ACTIVITY = {
    "food_service": "Dịch vụ Ăn uống", "food_production": "Thực phẩm", "food_retail": "Thương mại Thực phẩm",
    "retail": "Thương mại", "accommodation": "Du lịch và Khách sạn", "repair": "Kỹ thuật", "health": "Y tế",
    "personal_services": "Dịch vụ", "education": "Giáo dục", "office_services": "Dịch vụ Tổng hợp",
}

#: name templates per VSIC code; {k} is the keeper ("Cô Lan"), {w} a brand word
SHOP_TEMPLATES: dict[str, tuple[str, ...]] = {
    "5610": ("Quán cơm {k}", "Nhà hàng {w}", "Mì Quảng {k}", "Bún chả cá {k}", "Phở {k}", "Bánh xèo {k}",
             "Quán nhậu {w}", "Cơm gà {k}", "Bún bò {k}", "Lẩu {w}", "Hải sản {w}", "Bánh canh {k}"),
    "5621": ("Nấu cỗ {k}", "Dịch vụ tiệc cưới {w}"),
    "5629": ("Bếp ăn {w}", "Suất ăn {w}", "Bánh mì {k}", "Chè {k}", "Ăn vặt {k}", "Bánh bèo {k}"),
    "5630": ("Cà phê {w}", "Cafe {w}", "Trà sữa {w}", "Nước mía {k}", "Sinh tố {k}", "Cà phê {k}"),
    "1071": ("Lò bánh mì {w}", "Tiệm bánh {w}"),
    "1079": ("Cơ sở làm chả bò {k}", "Cơ sở làm bún {k}", "Nước mắm {w}"),
    "4632": ("Đại lý thực phẩm {w}", "Kho lạnh {w}"),
    "4711": ("Tạp hóa {k}", "Siêu thị mini {w}", "Cửa hàng tiện lợi {w}"),
    "4721": ("Gạo {k}", "Đại lý gạo {w}"),
    "4722": ("Thịt sạch {k}", "Hải sản tươi {k}", "Rau sạch {k}", "Cửa hàng thực phẩm {w}"),
    "4723": ("Đại lý bia nước ngọt {k}", "Rượu bia {w}"),
    "4781": ("Sạp thực phẩm {k}", "Sạp rau {k}", "Sạp cá {k}", "Sạp thịt {k}"),
    "4719": ("Cửa hàng tổng hợp {w}", "Tạp hóa {k}"),
    "4724": ("Đại lý thuốc lá {k}",),
    "4730": ("Cửa hàng xăng dầu {w}",),
    "4741": ("Điện thoại {w}", "Máy tính {w}", "Mobile {w}"),
    "4751": ("Vải {k}", "Cửa hàng vải {w}"),
    "4752": ("Vật liệu xây dựng {w}", "Kim khí {w}", "Sơn {w}"),
    "4759": ("Điện máy {w}", "Nội thất {w}", "Gia dụng {w}"),
    "4761": ("Nhà sách {w}", "Văn phòng phẩm {w}", "Sạp báo {k}"),
    "4771": ("Shop thời trang {w}", "Giày dép {w}", "Túi xách {w}"),
    "4772": ("Nhà thuốc {w}", "Quầy thuốc {k}", "Mỹ phẩm {w}"),
    "4773": ("Hoa tươi {k}", "Đồ chơi {w}", "Kính mắt {w}", "Vàng bạc {w}", "Quà lưu niệm {w}"),
    "4782": ("Sạp quần áo {k}", "Sạp giày dép {k}"),
    "4789": ("Sạp đồ gia dụng {k}", "Sạp tạp hóa {k}"),
    "5510": ("Khách sạn {w}", "Nhà nghỉ {w}", "Homestay {w}"),
    "5590": ("Nhà trọ {k}", "Ký túc xá {w}"),
    "4520": ("Gara ô tô {w}", "Sửa chữa ô tô {w}"),
    "4542": ("Sửa xe máy {k}", "Sửa xe {k}"),
    "9511": ("Sửa máy tính {w}",),
    "9512": ("Sửa điện thoại {k}",),
    "9522": ("Điện lạnh {w}", "Sửa đồ điện {k}"),
    "9529": ("Sửa đồng hồ {k}", "Sửa khóa {k}", "Sửa xe đạp {k}"),
    "9610": ("Spa {w}", "Massage {w}"),
    "9620": ("Giặt ủi {k}", "Giặt sấy {w}"),
    "9631": ("Salon tóc {k}", "Hớt tóc {k}", "Nail {w}", "Tiệm uốn tóc {k}"),
    "9639": ("Dịch vụ cưới hỏi {w}", "Studio áo cưới {w}"),
    "8620": ("Phòng khám đa khoa {w}", "Nha khoa {w}", "Phòng khám {k}"),
    "7500": ("Thú y {w}", "Phòng khám thú y {w}"),
    "8512": ("Nhóm trẻ {w}", "Mầm non tư thục {w}"),
    "8559": ("Trung tâm ngoại ngữ {w}", "Trung tâm tin học {w}"),
    "6820": ("Bất động sản {w}", "Nhà đất {w}"),
    "7420": ("Studio ảnh {w}", "Chụp ảnh {w}"),
    "1811": ("In ấn {w}", "Photocopy {k}"),
    "5320": ("Chuyển phát nhanh {w}", "Giao hàng {w}"),
    "9329": ("Karaoke {w}", "Bi-a {w}", "Trò chơi thiếu nhi {w}"),
}

#: (VSIC code, share of street establishments): food service ~30%, food retail ~15%,
#: retail ~25%, accommodation ~4%, repair ~8%, personal services ~10%, others ~8%
INDUSTRY_MIX: tuple[tuple[str, float], ...] = (
    ("5610", 12.0), ("5621", 0.6), ("5629", 5.4), ("5630", 12.0),
    ("4711", 6.5), ("4721", 1.0), ("4722", 5.0), ("4723", 1.5), ("4632", 1.5),
    ("4719", 2.5), ("4724", 0.5), ("4730", 0.3), ("4741", 3.0), ("4751", 1.0), ("4752", 2.5), ("4759", 2.7),
    ("4761", 1.5), ("4771", 5.5), ("4772", 3.0), ("4773", 4.5),
    ("5510", 2.8), ("5590", 1.2),
    ("4520", 1.0), ("4542", 4.0), ("9511", 0.6), ("9512", 1.0), ("9522", 1.0), ("9529", 0.4),
    ("9610", 1.5), ("9620", 1.5), ("9631", 6.0), ("9639", 0.5), ("9329", 0.5),
    ("8620", 1.5), ("7500", 0.4), ("8512", 0.8), ("8559", 1.0),
    ("6820", 1.2), ("7420", 0.6), ("1811", 0.6), ("5320", 0.6), ("1071", 0.6), ("1079", 0.3),
)

#: market zones: (name, share of stalls, stall-number letter, VSIC codes)
MARKET_ZONES: tuple[tuple[str, float, str, tuple[str, ...]], ...] = (
    ("Khu hàng tươi sống", 0.35, "A", ("4781", "4722")),
    ("Khu hàng khô, tạp hóa", 0.25, "B", ("4781", "4789")),
    ("Khu ăn uống", 0.15, "C", ("5610", "5629")),
    ("Khu quần áo, giày dép", 0.25, "D", ("4782", "4789")),
)

#: main and secondary streets per ward profile (real street names of the area)
STREETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hoa-cuong": (
        ("Núi Thành", "2 Tháng 9", "Nguyễn Hữu Thọ", "Trưng Nữ Vương", "Xô Viết Nghệ Tĩnh", "Cách Mạng Tháng Tám",
         "Lê Thanh Nghị", "Tiểu La", "Hoàng Diệu", "Lê Đình Thám", "Phan Đăng Lưu", "Huỳnh Tấn Phát",
         "Duy Tân", "Nguyễn Văn Linh"),
        ("Lương Nhữ Hộc", "Hồ Nguyên Trừng", "Đinh Núp", "Phan Huy Chú", "Lê Văn Thịnh", "Nguyễn Thành Hãn",
         "Bình Minh", "Đỗ Bá", "Nguyễn Đình Tựu", "Chu Huy Mân", "Lê Đình Lý", "Đặng Dung", "Tôn Thất Đạm",
         "Nguyễn Công Hoan", "Phan Khôi", "Lý Tự Trọng"),
    ),
    "thanh-khe": (
        ("Điện Biên Phủ", "Hà Huy Tập", "Trường Chinh", "Lê Duẩn", "Hùng Vương", "Nguyễn Tất Thành",
         "Trần Cao Vân", "Ông Ích Khiêm", "Lê Độ", "Hải Phòng", "Thái Thị Bôi", "Dũng Sĩ Thanh Khê"),
        ("Phan Thanh", "Nguyễn Phước Nguyên", "Đỗ Quang", "Hà Khê", "Thanh Thủy", "Tôn Thất Đạm", "Lê Đình Dương",
         "Kỳ Đồng", "Huỳnh Ngọc Huệ", "Trần Xuân Lê", "Phạm Nhữ Tăng", "Xuân Đán", "Lý Thái Tông"),
    ),
}
#: Đà Nẵng streets used for wards without their own list
CITY_STREETS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("Nguyễn Văn Linh", "Điện Biên Phủ", "Lê Duẩn", "Hùng Vương", "Nguyễn Tất Thành", "Ngô Quyền", "Trần Hưng Đạo",
     "Võ Nguyên Giáp", "Phạm Văn Đồng", "Tôn Đức Thắng", "Âu Cơ", "Nguyễn Lương Bằng", "Trường Chinh",
     "Ông Ích Đường", "Lê Văn Hiến", "Trần Đại Nghĩa", "Hoàng Văn Thái", "Nguyễn Sinh Sắc"),
    ("Hà Huy Tập", "Ông Ích Khiêm", "Hải Phòng", "Phan Châu Trinh", "Lê Lợi", "Quang Trung", "Yên Bái",
     "Hoàng Hoa Thám", "Nguyễn Chí Thanh", "Lê Thánh Tôn", "Trần Quốc Toản", "Phan Đình Phùng", "Pasteur",
     "Nguyễn Thị Minh Khai", "Lý Thường Kiệt", "Đống Đa", "Lê Hồng Phong", "Thái Phiên", "Hồ Xuân Hương",
     "Mẹ Nhu", "Huỳnh Thúc Kháng", "Nguyễn Du", "Trần Kế Xương", "Chi Lăng"),
)

#: public-school namesakes (made-up combinations with real historical names)
SCHOOL_NAMES = (
    ("Trường Mầm non", ("Hoa Hồng", "Sơn Ca", "Họa Mi", "Tuổi Thơ", "Ánh Dương", "Vành Khuyên")),
    ("Trường Tiểu học", ("Lê Lai", "Trần Văn Dư", "Nguyễn Du", "Hoàng Dư Khương", "Phan Thanh", "Lê Văn Tám")),
    ("Trường THCS", ("Trưng Vương", "Nguyễn Huệ", "Lý Tự Trọng", "Kim Đồng")),
)

#: food-safety and business-rule violations an inspection can record (the one list: geomap.inspections.violations)
VIOLATIONS_FOOD: tuple[tuple[str, int, str], ...] = tuple(
    (c.code, c.severity, c.vi) for c in _violations.CODES if c.food)
VIOLATIONS_GENERAL: tuple[tuple[str, int, str], ...] = tuple(
    (c.code, c.severity, c.vi) for c in _violations.CODES if not c.food)

#: field-report descriptions per category; {addr} is a nearby address
REPORT_TEXTS: dict[str, tuple[str, ...]] = {
    "garbage": ("Rác thải tập kết sai quy định tại {addr}", "Rác tồn đọng nhiều ngày, bốc mùi gần {addr}",
                "Người dân đổ rác không đúng giờ trước {addr}", "Thùng rác công cộng bị đầy tràn tại {addr}"),
    "infrastructure": ("Đèn chiếu sáng hư hỏng trước {addr}", "Mặt đường bị sụt lún, ổ gà tại {addr}",
                       "Nắp hố ga bị vỡ tại {addr}", "Cống thoát nước bị tắc gây ngập tại {addr}",
                       "Vỉa hè bị hư hỏng tại {addr}"),
    "urban_order": ("Lấn chiếm vỉa hè để buôn bán tại {addr}", "Đậu đỗ xe sai quy định trước {addr}",
                    "Bảng quảng cáo lấn chiếm lòng đường tại {addr}", "Xây dựng không phép tại {addr}"),
    "sanitation": ("Nước thải chảy tràn ra đường tại {addr}", "Ngập nước sau mưa, nước bẩn tại {addr}",
                   "Xác động vật chết chưa được thu gom gần {addr}", "Cây xanh gãy đổ chắn lối đi tại {addr}"),
    "food_safety": ("Nghi ngờ thực phẩm không bảo đảm vệ sinh tại {addr}",
                    "Cơ sở chế biến thực phẩm gây mất vệ sinh tại {addr}",
                    "Bán thực phẩm không rõ nguồn gốc tại {addr}"),
    "other": ("Tiếng ồn kéo dài ban đêm tại {addr}", "Đề nghị lắp thêm biển báo giao thông tại {addr}",
              "Chó thả rông không rọ mõm gần {addr}"),
}
REPORT_NOTES = {
    "received": "Đã tiếp nhận phản ánh.",
    "assigned": "Đã chuyển bộ phận chuyên môn và tổ dân phố xử lý.",
    "in_progress": "Đang kiểm tra, xử lý tại hiện trường.",
    "resolved": "Đã xử lý xong, khắc phục tại hiện trường.",
    "closed": "Đóng phản ánh sau khi xác nhận kết quả.",
    "duplicate": "Trùng với phản ánh đã tiếp nhận trước đó.",
    "not_ward": "Không thuộc thẩm quyền phường, đã chuyển đơn vị có thẩm quyền.",
}
INSPECTION_NOTES = {
    "pass": "Cơ sở chấp hành tốt các quy định.",
    "violation": "Lập biên bản, yêu cầu khắc phục trong thời hạn.",
    "closed": "Cơ sở đã ngừng hoạt động.",
    "not_found": "Không tìm thấy cơ sở tại địa chỉ đăng ký.",
}
