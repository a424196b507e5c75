"""The ward dashboard: the indicators the project documents name, against the ward's targets.

Pure indicator functions take frames and a date and return, per residential group, a
numerator and a denominator (``parts``); the ward figure is their sum, so the ward and
group figures can never disagree. :func:`load_frames` is the one place the dashboard
reads the database; :func:`write_report` writes the monthly / quarterly Excel report.

Indicators (population: active establishments unless said otherwise)
    ``digital_payment_share``  at least one digital payment method recorded;
    ``licensed_share``         business registration valid or expiring (``geomap.status``);
    ``food_safety_share``      food businesses certified (incl. expiring) or committed;
    ``inspections_overdue``    follow-up due date passed without a later inspection, or a food
                               business not inspected for more than 12 months (never included);
    ``reports_on_time``        field reports resolved by their deadline, among those resolved or
                               past their deadline (duplicates and not-the-ward's excluded);
    ``stall_qr_pos_share``     stalls accepting QR/POS, in pilot smart markets (all markets when
                               the ward has no pilot market).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geomap import i18n, status
from geomap.errors import GeomapError
from geomap.profiles import WardProfile

#: group id used for records outside every residential group
NO_GROUP = -1
INSPECTION_INTERVAL_DAYS = 365


@dataclass(frozen=True)
class Indicator:
    key: str
    label_vi: str
    label_en: str
    #: "share" (num/den, shown as %) or "count" (num, lower is better)
    kind: str = "share"
    higher_is_better: bool = True
    #: key of the ward profile's ``targets`` table, if it sets one
    target_key: str | None = None
    description_vi: str = ""
    description_en: str = ""

    def label(self, lang: str = "vi") -> str:
        return self.label_en if lang == "en" else self.label_vi


INDICATORS: tuple[Indicator, ...] = (
    Indicator("digital_payment_share", "Cơ sở sử dụng thanh toán số", "Establishments using digital payment",
              target_key="digital_payment_share",
              description_vi="Tỷ lệ cơ sở đang hoạt động có ít nhất một hình thức thanh toán không dùng tiền mặt.",
              description_en="Share of active establishments with at least one cashless payment method."),
    Indicator("licensed_share", "Cơ sở có giấy phép còn hiệu lực", "Establishments with a valid licence",
              description_vi="Giấy chứng nhận đăng ký kinh doanh còn hiệu lực hoặc sắp hết hạn.",
              description_en="Business registration valid or expiring soon."),
    Indicator("food_safety_share", "Cơ sở thực phẩm có GCN/cam kết ATTP", "Food businesses certified or committed",
              description_vi="Trong các cơ sở thuộc diện ATTP: có giấy chứng nhận còn hiệu lực hoặc bản cam kết.",
              description_en="Among food businesses: a certificate in force or a signed commitment."),
    Indicator("inspections_overdue", "Cơ sở quá hạn kiểm tra", "Establishments overdue for inspection",
              kind="count", higher_is_better=False,
              description_vi="Quá hạn tái kiểm tra, hoặc cơ sở thực phẩm chưa được kiểm tra trong 12 tháng.",
              description_en="Follow-up overdue, or a food business not inspected for 12 months."),
    Indicator("reports_on_time", "Phản ánh được xử lý đúng hạn", "Field reports handled on time",
              description_vi="Phản ánh xử lý xong trước hạn, trong số đã xử lý hoặc đã quá hạn.",
              description_en="Reports resolved by their deadline, among those resolved or past deadline."),
    Indicator("stall_qr_pos_share", "Quầy/sạp chấp nhận QR/POS", "Stalls accepting QR/POS",
              target_key="stall_qr_pos_share",
              description_vi="Tỷ lệ quầy/sạp tại chợ thí điểm chấp nhận thanh toán QR hoặc thẻ.",
              description_en="Share of stalls in pilot markets accepting QR or card payment."),
)
BY_KEY = {i.key: i for i in INDICATORS}


@dataclass
class Frames:
    """Everything the indicators need for one ward, as read from the database."""

    establishments: pd.DataFrame
    reports: pd.DataFrame
    stalls: pd.DataFrame
    licences: pd.DataFrame
    inspections: pd.DataFrame
    groups: gpd.GeoDataFrame
    payment_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: when the audit log starts for this ward (the digital-payment trend cannot start earlier)
    tracking_since: pd.Timestamp | None = None


# --- pure indicator functions --------------------------------------------------------------------


def _group(frame: pd.DataFrame) -> pd.Series:
    col = frame["residential_group_id"] if "residential_group_id" in frame else pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(col, errors="coerce").fillna(NO_GROUP).astype(int)


def _parts(group: pd.Series, num: pd.Series, den: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"group_id": group.to_numpy(), "num": num.astype(int).to_numpy(),
                          "den": den.astype(int).to_numpy()})
    return frame.groupby("group_id", as_index=True)[["num", "den"]].sum()


def _active(est: pd.DataFrame) -> pd.Series:
    return est["operating_status"].eq("active").fillna(False).astype(bool)


def digital_payment_parts(est: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    active = _active(est)
    has = est["digital_payment"].map(lambda v: v is not None and len(v) > 0).astype(bool)
    return _parts(_group(est), active & has, active)


def licensed_parts(est: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    active = _active(est)
    ok = status.licence_status(est, today).isin(["valid", "expiring"])
    return _parts(_group(est), active & ok, active)


def food_safety_parts(est: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    food = _active(est) & est["food_safety_applicable"].fillna(False).astype(bool)
    ok = status.food_safety_status(est, today).isin(["certified", "expiring", "committed"])
    return _parts(_group(est), food & ok, food)


def overdue_flags(est: pd.DataFrame, today: dt.date) -> pd.Series:
    """Establishments overdue for an inspection (see the module docstring)."""
    today_ts = pd.Timestamp(today)
    active = _active(est)
    follow_up = pd.to_datetime(est["last_follow_up_due"], errors="coerce")
    last = pd.to_datetime(est["last_inspected_on"], errors="coerce")
    food = est["food_safety_applicable"].fillna(False).astype(bool)
    stale = food & (last.isna() | (last < today_ts - pd.Timedelta(days=INSPECTION_INTERVAL_DAYS)))
    return active & ((follow_up.notna() & (follow_up < today_ts)) | stale)


def overdue_parts(est: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    active = _active(est)
    scope = active & (est["food_safety_applicable"].fillna(False).astype(bool) | est["last_follow_up_due"].notna())
    return _parts(_group(est), overdue_flags(est, today), scope)


def reports_parts(reports: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    if reports.empty:
        return pd.DataFrame({"num": [], "den": []}, index=pd.Index([], name="group_id"), dtype=int)
    now = pd.Timestamp(dt.datetime.combine(today, dt.time.max), tz="UTC")
    counted = ~reports["status"].isin(["duplicate", "not_ward"])
    deadline = pd.to_datetime(reports["deadline_at"], utc=True, errors="coerce")
    resolved = pd.to_datetime(reports["resolved_at"], utc=True, errors="coerce")
    done = resolved.notna() & (resolved <= now)
    due = deadline.notna() & (deadline < now)
    on_time = done & (deadline.isna() | (resolved <= deadline))
    return _parts(_group(reports), counted & on_time, counted & (done | due))


def stall_parts(stalls: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    if stalls.empty:
        return pd.DataFrame({"num": [], "den": []}, index=pd.Index([], name="group_id"), dtype=int)
    pilot = stalls["is_pilot_smart_market"].fillna(False).astype(bool)
    scope = pilot if pilot.any() else pd.Series(True, index=stalls.index)
    return _parts(_group(stalls), scope & stalls["accepts_qr_pos"].fillna(False).astype(bool), scope)


PART_FUNCTIONS: dict[str, tuple[str, Callable[[pd.DataFrame, dt.date], pd.DataFrame]]] = {
    "digital_payment_share": ("establishments", digital_payment_parts),
    "licensed_share": ("establishments", licensed_parts),
    "food_safety_share": ("establishments", food_safety_parts),
    "inspections_overdue": ("establishments", overdue_parts),
    "reports_on_time": ("reports", reports_parts),
    "stall_qr_pos_share": ("stalls", stall_parts),
}


def indicator_parts(frames: Frames, today: dt.date) -> dict[str, pd.DataFrame]:
    """key -> per-group numerator/denominator frame."""
    return {key: fn(getattr(frames, source), today) for key, (source, fn) in PART_FUNCTIONS.items()}


def _value(ind: Indicator, num: float, den: float) -> float | None:
    if ind.kind == "count":
        return float(num)
    return None if den == 0 else num / den


def summary(parts: dict[str, pd.DataFrame], profile: WardProfile | None, year: int,
            lang: str = "vi") -> pd.DataFrame:
    """The ward figure of every indicator with its target for ``year`` and whether it is met."""
    rows = []
    for ind in INDICATORS:
        p = parts[ind.key]
        num, den = int(p["num"].sum()), int(p["den"].sum())
        value = _value(ind, num, den)
        target = profile.target(ind.target_key, year) if (profile and ind.target_key) else None
        met = None if target is None or value is None else bool(value >= target)
        rows.append({"key": ind.key, "indicator": ind.label(lang), "kind": ind.kind, "num": num, "den": den,
                     "value": value, "target": target, "met": met})
    return pd.DataFrame(rows).set_index("key")


def by_group(parts: dict[str, pd.DataFrame], groups: pd.DataFrame) -> pd.DataFrame:
    """One row per residential group, one value column per indicator (plus num/den columns)."""
    out = pd.DataFrame(index=pd.Index([*groups["id"].astype(int)], name="group_id"))
    out["code"] = groups.set_index("id")["code"]
    out["name"] = groups.set_index("id")["name"]
    for ind in INDICATORS:
        p = parts[ind.key].reindex(out.index, fill_value=0)
        out[f"{ind.key}_num"], out[f"{ind.key}_den"] = p["num"], p["den"]
        if ind.kind == "count":
            out[ind.key] = p["num"].astype(float)
        else:
            out[ind.key] = (p["num"] / p["den"].where(p["den"] > 0)).astype(float)
    return out


# --- trends --------------------------------------------------------------------------------------


def months_back(today: dt.date, n: int) -> pd.PeriodIndex:
    end = pd.Period(today, freq="M")
    return pd.period_range(end - (n - 1), end, freq="M")


def monthly_activity(frames: Frames, today: dt.date, months: int = 24) -> pd.DataFrame:
    """Per month: licences issued by kind, inspections (and violations), reports received / on time."""
    idx = months_back(today, months)
    out = pd.DataFrame(index=idx)

    def count(dates: pd.Series, name: str, mask: pd.Series | None = None) -> None:
        d = pd.to_datetime(dates, errors="coerce", utc=getattr(dates.dtype, "tz", None) is not None)
        if mask is not None:
            d = d[mask]
        d = d.dropna()
        if getattr(d.dt, "tz", None) is not None:
            d = d.dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None)
        out[name] = d.dt.to_period("M").value_counts().reindex(idx, fill_value=0).astype(int)

    lic = frames.licences
    for kind in ("business_registration", "food_safety_certificate", "food_safety_commitment"):
        count(lic["issued_on"] if len(lic) else pd.Series([], dtype="datetime64[ns]"), f"licences_{kind}",
              lic["kind"].eq(kind) if len(lic) else None)
    ins = frames.inspections
    count(ins["inspected_on"] if len(ins) else pd.Series([], dtype="datetime64[ns]"), "inspections")
    count(ins["inspected_on"] if len(ins) else pd.Series([], dtype="datetime64[ns]"), "inspection_violations",
          ins["result"].eq("violation") if len(ins) else None)
    rep = frames.reports
    empty = pd.Series([], dtype="datetime64[ns, UTC]")
    count(rep["reported_at"] if len(rep) else empty, "reports_received")
    if len(rep):
        resolved = pd.to_datetime(rep["resolved_at"], utc=True, errors="coerce")
        deadline = pd.to_datetime(rep["deadline_at"], utc=True, errors="coerce")
        count(resolved, "reports_resolved")
        count(resolved, "reports_on_time", deadline.isna() | (resolved <= deadline))
    else:
        out["reports_resolved"] = 0
        out["reports_on_time"] = 0
    return out


def digital_payment_trend(frames: Frames, today: dt.date, months: int = 24) -> pd.Series:
    """Month-end share of establishments with digital payment, rebuilt from the audit log.

    The value at a month end is the ``after`` of the last logged change before it, else the
    ``before`` of the first change after it, else today's value. Months before the audit log
    starts (``frames.tracking_since``) are NaN: the trend starts when tracking starts.
    """
    idx = months_back(today, months)
    est = frames.establishments
    out = pd.Series(np.nan, index=idx, name="digital_payment_share")
    if est.empty or frames.tracking_since is None:
        return out
    hist = frames.payment_history
    created = pd.to_datetime(est["created_at"], utc=True, errors="coerce")
    current = est["digital_payment"].map(lambda v: v is not None and len(v) > 0)
    since = pd.Timestamp(frames.tracking_since)
    since = since.tz_localize("UTC") if since.tzinfo is None else since
    for period in idx:
        end = pd.Timestamp(period.end_time.date() + dt.timedelta(days=1), tz="Asia/Ho_Chi_Minh").tz_convert("UTC")
        if end <= since:
            continue
        value = current.copy()
        if not hist.empty:
            at = pd.to_datetime(hist["at"], utc=True)
            before_end = hist[at < end].sort_values("at").groupby("entity_id").last()
            after_end = hist[at >= end].sort_values("at").groupby("entity_id").first()
            known_after = before_end["after_has"].dropna()
            known_before = after_end["before_has"].dropna()
            ids = est["id"]
            v_after = ids.map(known_after)
            v_before = ids.map(known_before)
            value = v_after.where(v_after.notna(), v_before.where(v_before.notna(), current))
        exists = created.isna() | (created < end)
        active = _active(est) & exists
        den = int(active.sum())
        out[period] = np.nan if den == 0 else float((value.astype(bool) & active).sum()) / den
    return out


# --- reading -----------------------------------------------------------------------------------


def load_frames(bind: Connection | Engine, ward_id: int) -> Frames:
    """Read what the dashboard needs for ``ward_id`` (a handful of indexed queries)."""
    with (bind.connect() if isinstance(bind, Engine) else _Same(bind)) as conn:
        def q(sql: str) -> pd.DataFrame:
            res = conn.execute(sa.text(sql), {"w": ward_id})
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

        est = q("SELECT o.id, o.code, o.name, o.residential_group_id, o.operating_status, o.digital_payment, "
                "o.food_safety_applicable, o.registration_issued_on, o.registration_expires_on, "
                "o.registration_revoked_on, o.fs_certificate_issued_on, o.fs_certificate_expires_on, "
                "o.fs_certificate_revoked_on, o.fs_commitment_issued_on, o.fs_commitment_revoked_on, "
                "o.last_inspected_on, o.last_inspection_result, o.last_follow_up_due, e.created_at "
                "FROM establishment_overview o JOIN establishment e ON e.id = o.id WHERE o.ward_id = :w")
        reports = q("SELECT r.id, r.category, r.status, r.reported_at, r.deadline_at, r.resolved_at, "
                    "g.id AS residential_group_id FROM field_report r LEFT JOIN LATERAL (SELECT id FROM "
                    "residential_group g WHERE g.ward_id = r.ward_id AND ST_Covers(g.geom, r.geom) ORDER BY id "
                    "LIMIT 1) g ON true WHERE r.ward_id = :w")
        stalls = q("SELECT s.id, s.accepts_qr_pos, m.is_pilot_smart_market, "
                   "COALESCE(e.residential_group_id, g.id) AS residential_group_id FROM stall s "
                   "JOIN market m ON m.id = s.market_id LEFT JOIN establishment e ON e.id = s.establishment_id "
                   "LEFT JOIN LATERAL (SELECT id FROM residential_group g WHERE g.ward_id = m.ward_id AND "
                   "ST_Covers(g.geom, m.geom) ORDER BY id LIMIT 1) g ON true WHERE m.ward_id = :w")
        licences = q("SELECT l.kind, l.issued_on, e.residential_group_id FROM licence l "
                     "JOIN establishment e ON e.id = l.establishment_id WHERE e.ward_id = :w")
        inspections = q("SELECT n.inspected_on, n.result, n.kind, e.residential_group_id FROM inspection n "
                        "JOIN establishment e ON e.id = n.establishment_id WHERE e.ward_id = :w")
        groups = q("SELECT id, code, name, ST_AsBinary(ST_SimplifyPreserveTopology(geom, 0.00003)) AS wkb "
                   "FROM residential_group WHERE ward_id = :w ORDER BY code")
        history = q("SELECT a.entity_id, a.at, "
                    "CASE WHEN a.before ? 'digital_payment' THEN "
                    "coalesce(jsonb_array_length(a.before->'digital_payment'), 0) > 0 END AS before_has, "
                    "CASE WHEN a.after ? 'digital_payment' THEN "
                    "coalesce(jsonb_array_length(a.after->'digital_payment'), 0) > 0 END AS after_has "
                    "FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
                    "WHERE a.entity_type = 'establishment' AND e.ward_id = :w "
                    "AND (a.before ? 'digital_payment' OR a.after ? 'digital_payment')")
        since = conn.execute(sa.text(
            "SELECT min(a.at) FROM audit_log a JOIN establishment e ON e.id = a.entity_id "
            "WHERE a.entity_type = 'establishment' AND e.ward_id = :w"), {"w": ward_id}).scalar()
    geoms = shapely.from_wkb([bytes(b) for b in groups["wkb"]]) if len(groups) else []
    gdf = gpd.GeoDataFrame(groups.drop(columns="wkb"), geometry=list(geoms), crs="EPSG:4326")
    return Frames(est, reports, stalls, licences, inspections, gdf, history,
                  pd.Timestamp(since) if since is not None else None)


class _Same:
    def __init__(self, conn: Connection):
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class Dashboard:
    """Computed indicators of one ward at one date."""

    today: dt.date
    summary: pd.DataFrame
    by_group: pd.DataFrame
    activity: pd.DataFrame
    payment_trend: pd.Series
    groups: gpd.GeoDataFrame
    tracking_since: pd.Timestamp | None


def compute(frames: Frames, profile: WardProfile | None, today: dt.date | None = None,
            lang: str = "vi", months: int = 24) -> Dashboard:
    """All dashboard figures from ``frames`` (pure)."""
    today = today or status.today()
    parts = indicator_parts(frames, today)
    return Dashboard(today, summary(parts, profile, today.year, lang), by_group(parts, frames.groups),
                     monthly_activity(frames, today, months), digital_payment_trend(frames, today, months),
                     frames.groups, frames.tracking_since)


# --- map -----------------------------------------------------------------------------------------


def choropleth(board: Dashboard, indicator: str, lang: str = "vi", assets_url: str | None = None):
    """A folium map of residential groups coloured by ``indicator`` (simplified polygons).

    ``assets_url``: where Leaflet is served from (the staff app's own copies, see
    :func:`geomap.map.view.base_map`); the legend is plain HTML, so the map needs no CDN.
    """
    import branca.colormap as cm
    import folium

    from geomap.map import view as mapview

    ind = BY_KEY[indicator]
    gdf = board.groups.copy()
    values = board.by_group[indicator].reindex(gdf["id"].astype(int)).to_numpy() if len(gdf) else []
    gdf["value"] = values
    gdf["shown"] = [("—" if pd.isna(v) else (f"{v:.0%}" if ind.kind == "share" else f"{v:.0f}")) for v in values]
    finite = [float(v) for v in values if not pd.isna(v)]
    lo, hi = (0.0, 1.0) if ind.kind == "share" else (0.0, max(finite + [1.0]))
    colours = ["#d73027", "#fee08b", "#1a9850"] if ind.higher_is_better else ["#1a9850", "#fee08b", "#d73027"]
    scale = cm.LinearColormap(colours, vmin=lo, vmax=hi)
    bounds = tuple(gdf.total_bounds) if len(gdf) else None
    fmap = mapview.base_map(bounds, assets_url=assets_url)
    if gdf.empty:
        return fmap

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        v = feature["properties"]["value"]
        return {"fillColor": "#bdbdbd" if v is None or pd.isna(v) else scale(v), "color": "#424242",
                "weight": 0.6, "fillOpacity": 0.7}

    folium.GeoJson(gdf[["name", "shown", "value", "geometry"]].to_json(na="null"), style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["name", "shown"],
                                                 aliases=["Tổ dân phố" if lang != "en" else "Group",
                                                          ind.label(lang)])).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html(ind, scale, lo, hi, lang)))
    return fmap


def _legend_html(ind: Indicator, scale: Any, lo: float, hi: float, lang: str) -> str:
    import html

    steps = [lo + (hi - lo) * k / 4 for k in range(5)]
    fmt = (lambda v: f"{v:.0%}") if ind.kind == "share" else (lambda v: f"{v:.0f}")
    swatches = "".join(
        f'<div><span style="display:inline-block;width:14px;height:10px;background:{scale(v)};'
        f'margin-right:4px"></span>{fmt(v)}</div>' for v in steps)
    none = "Không có dữ liệu" if lang != "en" else "No data"
    return (
        '<div class="geomap-legend" style="position:absolute;bottom:24px;right:10px;z-index:1000;background:#fff;'
        'padding:6px 8px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f"<b>{html.escape(ind.label(lang))}</b>{swatches}"
        f'<div><span style="display:inline-block;width:14px;height:10px;background:#bdbdbd;margin-right:4px">'
        f"</span>{none}</div></div>")


# --- Excel report --------------------------------------------------------------------------------


def parse_period(period: str) -> tuple[dt.date, dt.date]:
    """``2026-10`` (a month) or ``2026-Q3`` (a quarter) -> (first day, last day)."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", period.strip())
    if m:
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise GeomapError(f"The period '{period}' has no month {mo}; use YYYY-MM or YYYY-Qn.")
        return dt.date(y, mo, 1), dt.date(y, mo, calendar.monthrange(y, mo)[1])
    m = re.fullmatch(r"(\d{4})-[Qq]([1-4])", period.strip())
    if m:
        y, q = int(m[1]), int(m[2])
        last = 3 * q
        return dt.date(y, last - 2, 1), dt.date(y, last, calendar.monthrange(y, last)[1])
    raise GeomapError(f"The period '{period}' is not understood; use YYYY-MM (e.g. 2026-10) or YYYY-Qn (2026-Q3).")


REPORT_STRINGS = {
    "report.title": ("BÁO CÁO CHỈ SỐ BẢN ĐỒ SỐ KINH DOANH", "BUSINESS DIGITAL MAP INDICATOR REPORT"),
    "report.period": ("Kỳ báo cáo", "Period"),
    "report.as_of": ("Số liệu tính đến ngày", "Figures as of"),
    "report.generated": ("Ngày lập", "Generated on"),
    "report.indicator": ("Chỉ tiêu", "Indicator"),
    "report.num": ("Tử số", "Numerator"),
    "report.den": ("Mẫu số", "Denominator"),
    "report.value": ("Kết quả", "Value"),
    "report.target": ("Mục tiêu", "Target"),
    "report.met": ("Đánh giá", "Assessment"),
    "report.met_yes": ("Đạt", "Met"),
    "report.met_no": ("Chưa đạt", "Not met"),
    "report.summary_sheet": ("Tổng hợp", "Summary"),
    "report.groups_sheet": ("Theo tổ dân phố", "By residential group"),
    "report.activity_sheet": ("Hoạt động trong kỳ", "Activity in period"),
    "report.trend_sheet": ("Xu hướng theo tháng", "Monthly trend"),
    "report.group": ("Tổ dân phố", "Residential group"),
    "report.month": ("Tháng", "Month"),
    "report.note": (
        "Trạng thái giấy phép và ATTP được tính theo hồ sơ hiện có tại ngày lập, đối chiếu với ngày cuối kỳ. "
        "Xu hướng thanh toán số bắt đầu từ khi hệ thống ghi nhật ký thay đổi.",
        "Licence and food-safety statuses are derived from the records held on the generation date, evaluated "
        "at the period end. The digital-payment trend starts when change tracking started."),
    "report.trend_starts": ("Theo dõi thanh toán số bắt đầu từ", "Digital-payment tracking starts"),
    "report.no_tracking": ("Chưa có lịch sử thay đổi: xu hướng thanh toán số bắt đầu khi bắt đầu theo dõi.",
                           "No change history yet: the digital-payment trend starts when tracking starts."),
}
ACTIVITY_LABELS = {
    "licences_business_registration": ("GCN đăng ký kinh doanh cấp mới", "Business registrations issued"),
    "licences_food_safety_certificate": ("GCN ATTP cấp mới", "Food-safety certificates issued"),
    "licences_food_safety_commitment": ("Cam kết ATTP ký mới", "Food-safety commitments signed"),
    "inspections": ("Lượt kiểm tra", "Inspections"),
    "inspection_violations": ("Lượt kiểm tra phát hiện vi phạm", "Inspections finding violations"),
    "reports_received": ("Phản ánh tiếp nhận", "Field reports received"),
    "reports_resolved": ("Phản ánh đã xử lý", "Field reports resolved"),
    "reports_on_time": ("Phản ánh xử lý đúng hạn", "Field reports resolved on time"),
}
i18n.register(REPORT_STRINGS)
i18n.register({f"dashboard.activity.{k}": v for k, v in ACTIVITY_LABELS.items()})


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

    start, end = parse_period(period)
    today = today or status.today()
    if start > today:
        raise GeomapError(f"The period {period} has not started yet.")
    as_of = min(end, today)
    board = compute(frames, profile, as_of, lang, months=max(12, (as_of.year - start.year) * 12 + 12))
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1565C0")

    wb = Workbook()
    ws = wb.active
    ws.title = t("report.summary_sheet")
    ws.append([t("report.title")])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([ward_name if lang != "en" else profile.name_en])
    ws.append([t("report.period"), period, f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"])
    ws.append([t("report.as_of"), as_of])
    ws.append([t("report.generated"), today])
    if synthetic:
        ws.append([t("app.synthetic_notice")])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, color="B71C1C")
    ws.append([])
    heads = [t("report.indicator"), t("report.num"), t("report.den"), t("report.value"),
             f"{t('report.target')} {as_of.year}", t("report.met")]
    ws.append(heads)
    for c in ws[ws.max_row]:
        c.font, c.fill = head_font, head_fill
    for key, row in board.summary.iterrows():
        ind = BY_KEY[str(key)]
        met = "" if row["met"] is None else t("report.met_yes" if row["met"] else "report.met_no")
        ws.append([ind.label(lang), row["num"], row["den"] if ind.kind == "share" else None, row["value"],
                   row["target"], met])
        fmt = "0.0%" if ind.kind == "share" else "0"
        ws.cell(row=ws.max_row, column=4).number_format = fmt
        ws.cell(row=ws.max_row, column=5).number_format = "0%"
    ws.append([])
    ws.append([t("report.note")])
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True)
    for c in ("B", "C", "D"):
        ws[f"{c}4"].number_format = "DD/MM/YYYY"
        ws[f"{c}5"].number_format = "DD/MM/YYYY"
    for letter, width in zip("ABCDEF", (48, 14, 14, 14, 14, 14), strict=True):
        ws.column_dimensions[letter].width = width

    gs = wb.create_sheet(t("report.groups_sheet"))
    gs.append([t("report.group"), *(i.label(lang) for i in INDICATORS)])
    for c in gs[1]:
        c.font, c.fill = head_font, head_fill
        c.alignment = Alignment(wrap_text=True)
    for _, row in board.by_group.iterrows():
        gs.append([row["name"], *(None if pd.isna(row[i.key]) else float(row[i.key]) for i in INDICATORS)])
        for j, ind in enumerate(INDICATORS, start=2):
            gs.cell(row=gs.max_row, column=j).number_format = "0.0%" if ind.kind == "share" else "0"
    gs.column_dimensions["A"].width = 28
    gs.freeze_panes = "B2"

    acts = wb.create_sheet(t("report.activity_sheet"))
    in_period = board.activity.loc[[p for p in board.activity.index
                                    if start <= p.start_time.date() <= end]]
    acts.append([t("report.indicator"), t("report.value")])
    for c in acts[1]:
        c.font, c.fill = head_font, head_fill
    for key, (vi, en) in ACTIVITY_LABELS.items():
        acts.append([en if lang == "en" else vi, int(in_period[key].sum()) if key in in_period else 0])
    acts.column_dimensions["A"].width = 44

    tr = wb.create_sheet(t("report.trend_sheet"))
    cols = list(board.activity.columns)
    tr.append([t("report.month"), i18n.t("dashboard.trend.payment", lang),
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
    tr.append([f"{t('report.trend_starts')}: {board.tracking_since:%d/%m/%Y}" if board.tracking_since is not None
               else t("report.no_tracking")])
    tr.column_dimensions["A"].width = 12
    wb.save(target)


i18n.register({"dashboard.trend.payment": ("Tỷ lệ thanh toán số", "Digital-payment share")})
