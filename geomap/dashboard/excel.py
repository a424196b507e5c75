"""The dashboard's Excel report for a month, quarter, half-year or year (openpyxl), Vietnamese by default."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd

from geomap import i18n, status
from geomap.dashboard.group_indicators import GROUP_INDICATORS
from geomap.dashboard.indicators import ACTIVITY_LABELS, BY_KEY, INDICATORS, Frames, compute
from geomap.dashboard.periods import parse
from geomap.errors import GeomapError
from geomap.profiles import WardProfile

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "dashboard.report.title": ("BÁO CÁO CHỈ SỐ BẢN ĐỒ SỐ KINH DOANH", "BUSINESS DIGITAL MAP INDICATOR REPORT"),
    "dashboard.report.period": ("Kỳ báo cáo", "Period"),
    "dashboard.report.as_of": ("Số liệu tính đến ngày", "Figures as of"),
    "dashboard.report.generated": ("Ngày lập", "Generated on"),
    "dashboard.report.indicator": ("Chỉ tiêu", "Indicator"),
    "dashboard.report.num": ("Tử số", "Numerator"),
    "dashboard.report.den": ("Mẫu số", "Denominator"),
    "dashboard.report.value": ("Kết quả", "Value"),
    "dashboard.report.target": ("Mục tiêu", "Target"),
    "dashboard.report.met": ("Đánh giá", "Assessment"),
    "dashboard.report.met_yes": ("Đạt", "Met"),
    "dashboard.report.met_no": ("Chưa đạt", "Not met"),
    "dashboard.report.definition": ("Cách tính", "Definition"),
    "dashboard.report.indicator_trend_sheet": ("Chỉ tiêu qua các kỳ", "Indicators by period"),
    "dashboard.report.summary_sheet": ("Tổng hợp", "Summary"),
    "dashboard.report.groups_sheet": ("Theo tổ dân phố", "By residential group"),
    "dashboard.report.activity_sheet": ("Hoạt động trong kỳ", "Activity in period"),
    "dashboard.report.trend_sheet": ("Xu hướng theo tháng", "Monthly trend"),
    "dashboard.report.group": ("Tổ dân phố", "Residential group"),
    "dashboard.report.month": ("Tháng", "Month"),
    "dashboard.report.note": (
        "Số liệu được tính như tại ngày cuối kỳ (hoặc hôm nay nếu kỳ chưa hết): giấy phép kinh doanh, GCN và cam kết "
        "ATTP theo ngày cấp, hết hạn, thu hồi; lần kiểm tra gần nhất và hạn tái kiểm tra theo ngày kiểm tra; tình "
        "trạng hoạt động, thanh toán số, hóa đơn điện tử, phần mềm bán hàng và sàn thương mại điện tử theo nhật ký "
        "thay đổi và ngày bắt đầu/ngừng hoạt động; quầy/sạp QR/POS, kiểm tra số và phản ánh theo sự việc ghi nhận "
        "trong kỳ; chỉ tiêu tổ dân phố theo số liệu phường nhập cho kỳ. Chưa có lịch sử nên lấy theo hồ sơ hiện tại: "
        "ngành nghề (diện ATTP) và tổ dân phố của cơ sở; thay đổi trước khi hệ thống ghi nhật ký không dựng lại được.",
        "Figures are taken as at the period's end (or today if the period is not over): business registrations, "
        "food-safety certificates and commitments by their issue, expiry and revocation dates; the last inspection "
        "and follow-up by inspection date; operating status, digital payment, e-invoices, sales software and "
        "e-commerce platforms from the change log and the opening/closing dates; stall QR/POS, digital "
        "inspections and reports count what was recorded within the period; group indicators are the ward's "
        "imported figures for the period. Without history, today's records are used for: an establishment's "
        "industry (whether it is a food business) and its residential group; changes made before change "
        "tracking started cannot be rebuilt."),
    "dashboard.report.imported": ("Chỉ tiêu tổ dân phố (phường nhập theo kỳ)",
                                  "Residential-group indicators (imported by the ward per period)"),
    "dashboard.report.not_imported": ("chưa nhập số liệu kỳ này", "no figures imported for this period"),
    "dashboard.report.trend_starts": ("Theo dõi thanh toán số bắt đầu từ", "Digital-payment tracking starts"),
    "dashboard.report.no_tracking": ("Chưa có lịch sử thay đổi: xu hướng thanh toán số bắt đầu khi bắt đầu theo dõi.",
                           "No change history yet: the digital-payment trend starts when tracking starts."),
}


def write_report(frames: Frames, profile: WardProfile, ward_name: str, period: str,
                 target: str | Path | io.BytesIO, lang: str = "vi", today: dt.date | None = None,
                 synthetic: bool = False) -> None:
    """The period's Excel report (Vietnamese by default): summary, groups, activity, trend.

    ``synthetic`` (:func:`geomap.wards.data.ward_is_synthetic`) puts the synthetic-data label under the title.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    def t(key: str) -> str:
        return i18n.t(key, lang)

    chosen = parse(period)
    period, start, end = str(chosen), chosen.start, chosen.end
    today = today or status.today()
    if start > today:
        raise GeomapError(f"The period {period} has not started yet.")
    as_of = min(end, today)
    board = compute(frames, profile, today, lang, months=max(12, (as_of.year - start.year) * 12 + 12), period=chosen)
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1565C0")

    wb = Workbook()
    ws = wb.active
    ws.title = t("dashboard.report.summary_sheet")
    ws.append([t("dashboard.report.title")])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([ward_name if lang != "en" else profile.name_en])
    ws.append([t("dashboard.report.period"), period, f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"])
    ws.append([t("dashboard.report.as_of"), as_of])
    ws.append([t("dashboard.report.generated"), today])
    if synthetic:
        ws.append([t("app.synthetic_notice")])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, color="B71C1C")
    ws.append([])
    heads = [t("dashboard.report.indicator"), t("dashboard.report.num"), t("dashboard.report.den"),
             t("dashboard.report.value"),
             f"{t('dashboard.report.target')} {as_of.year}", t("dashboard.report.met"),
             t("dashboard.report.definition")]
    ws.append(heads)
    for c in ws[ws.max_row]:
        c.font, c.fill = head_font, head_fill
    for key, row in board.summary.iterrows():
        ind = BY_KEY[str(key)]
        met = "" if row["met"] is None else t("dashboard.report.met_yes" if row["met"] else "dashboard.report.met_no")
        ws.append([ind.label(lang), row["num"], row["den"], row["value"], row["target"], met,
                   ind.description_en if lang == "en" else ind.description_vi])
        fmt = "0.0%" if ind.kind == "share" else "0"
        ws.cell(row=ws.max_row, column=4).number_format = fmt
        ws.cell(row=ws.max_row, column=5).number_format = "0%"
    if not board.imported.empty:  # the group-level indicators the ward imported (latest assessment in the period)
        ws.append([t("dashboard.report.imported")])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        for ind in GROUP_INDICATORS:
            row = board.imported.loc[ind.key]
            met = ("" if row["met"] is None
                   else t("dashboard.report.met_yes" if row["met"] else "dashboard.report.met_no"))
            source = ", ".join(row["periods"]) or t("dashboard.report.not_imported")
            ws.append([ind.label(lang), row["num"], row["den"], row["value"], row["target"], met,
                       f"{ind.description_en if lang == 'en' else ind.description_vi} ({source})"])
            ws.cell(row=ws.max_row, column=4).number_format = "0.0%"
            ws.cell(row=ws.max_row, column=5).number_format = "0%"
    ws.append([])
    ws.append([t("dashboard.report.note")])
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True)
    for c in ("B", "C", "D"):
        ws[f"{c}4"].number_format = "DD/MM/YYYY"
        ws[f"{c}5"].number_format = "DD/MM/YYYY"
    for letter, width in zip("ABCDEFG", (48, 14, 14, 14, 14, 14, 80), strict=True):
        ws.column_dimensions[letter].width = width

    gs = wb.create_sheet(t("dashboard.report.groups_sheet"))
    shown = [*INDICATORS, *(i for i in GROUP_INDICATORS if i.key in board.by_group)]
    gs.append([t("dashboard.report.group"), *(i.label(lang) for i in shown)])
    for c in gs[1]:
        c.font, c.fill = head_font, head_fill
        c.alignment = Alignment(wrap_text=True)
    for _, row in board.by_group.iterrows():
        gs.append([row["name"], *(None if pd.isna(row[i.key]) else float(row[i.key]) for i in shown)])
        for j, ind in enumerate(shown, start=2):
            gs.cell(row=gs.max_row, column=j).number_format = "0.0%" if ind.kind == "share" else "0"
    gs.column_dimensions["A"].width = 28
    gs.freeze_panes = "B2"

    acts = wb.create_sheet(t("dashboard.report.activity_sheet"))
    in_period = board.activity.loc[[p for p in board.activity.index
                                    if start <= p.start_time.date() <= end]]
    acts.append([t("dashboard.report.indicator"), t("dashboard.report.value")])
    for c in acts[1]:
        c.font, c.fill = head_font, head_fill
    for key, (vi, en) in ACTIVITY_LABELS.items():
        acts.append([en if lang == "en" else vi, int(in_period[key].sum()) if key in in_period else 0])
    acts.column_dimensions["A"].width = 44

    its = wb.create_sheet(t("dashboard.report.indicator_trend_sheet"))
    its.append([t("dashboard.report.indicator"), i18n.t("dashboard.trend.period", lang), t("dashboard.report.num"),
                t("dashboard.report.den"), t("dashboard.report.value")])
    for c in its[1]:
        c.font, c.fill = head_font, head_fill
    for _, row in board.trend.iterrows():
        ind = BY_KEY[row["key"]]
        its.append([ind.label(lang), row["period"], int(row["num"]), int(row["den"]),
                    None if row["value"] is None or pd.isna(row["value"]) else float(row["value"])])
        its.cell(row=its.max_row, column=5).number_format = "0.0%" if ind.kind == "share" else "0"
    its.column_dimensions["A"].width = 44
    its.freeze_panes = "A2"

    tr = wb.create_sheet(t("dashboard.report.trend_sheet"))
    cols = list(board.activity.columns)
    tr.append([t("dashboard.report.month"), i18n.t("dashboard.trend.payment", lang),
               *(i18n.t(f"dashboard.activity.{c}", lang) for c in cols)])
    for c in tr[1]:
        c.font, c.fill = head_font, head_fill
        c.alignment = Alignment(wrap_text=True)
    for period_m, row in board.activity.iterrows():
        share = board.payment_trend.get(period_m)
        tr.append([str(period_m), None if share is None or pd.isna(share) else float(share),
                   *(int(row[c]) for c in cols)])
        tr.cell(row=tr.max_row, column=2).number_format = "0.0%"
    tr.append([])
    tr.append([f"{t('dashboard.report.trend_starts')}: {board.tracking_since:%d/%m/%Y}"
               if board.tracking_since is not None else t("dashboard.report.no_tracking")])
    tr.column_dimensions["A"].width = 12
    wb.save(target)
