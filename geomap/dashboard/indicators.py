"""The ward dashboard's indicators (pure): the figures the project documents name, against the ward's targets.

Indicator functions take frames and a period (its first day and the day figures are taken at) and
return, per residential group, a numerator and a denominator (``parts``); the ward figure is their
sum, so the ward and group figures can never disagree. :func:`compute` turns the :class:`Frames`
that :func:`geomap.dashboard.data.load_frames` reads into a :class:`Dashboard` for one period
(:mod:`geomap.dashboard.periods`: month, quarter, half-year, year) with each indicator's trend over
the periods before it; nothing here touches the database.

Indicators (population: active establishments unless said otherwise)
    ``digital_platform_share`` the plan's "businesses using digital platforms (management, sales,
                               payment, e-invoice)": any of e-invoices, sales/management software,
                               an e-commerce account (``digital_platforms``), a digital payment method;
    ``digital_payment_share``  at least one digital payment method recorded;
    ``licensed_share``         business registration valid or expiring (``geomap.status``) at the period end;
    ``food_safety_share``      food businesses certified (incl. expiring) or committed at the period end;
    ``inspections_overdue``    follow-up due date passed without a later inspection, or a food
                               business not inspected for more than 12 months (never included);
    ``reports_on_time``        field reports resolved on time, among those resolved in the period or whose
                               deadline passed in it unresolved (duplicates and not-the-ward's excluded);
    ``report_satisfaction``    citizens satisfied with how their report was handled, among the ratings
                               made in the period (one tap per resolved report on its tracking page);
    ``stall_qr_pos_share``     stalls seen accepting and transacting by QR/POS (``stall_payment_evidence``
                               dated within the period), in pilot smart markets (all markets when the
                               ward has no pilot market);
    ``digital_inspection_share`` inspections in the period recorded through geomap (field app or staff
                               app), among all inspections in the period (the rest entered from paper).

Establishment figures use the records on file, evaluated at the period end (the digital-payment
trend alone is rebuilt from the audit log).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import status
from geomap.dashboard import as_of, periods
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
    Indicator("digital_platform_share", "Cơ sở sử dụng nền tảng số", "Establishments using digital platforms",
              target_key="digital_platform_share",
              description_vi="Tỷ lệ cơ sở đang hoạt động dùng ít nhất một trong: hóa đơn điện tử, phần mềm bán hàng/"
                             "quản lý, tài khoản thương mại điện tử, thanh toán không dùng tiền mặt.",
              description_en="Share of active establishments using at least one of: e-invoices, sales/management "
                             "software, an e-commerce account, cashless payment."),
    Indicator("digital_payment_share", "Cơ sở sử dụng thanh toán số", "Establishments using digital payment",
              description_vi="Tỷ lệ cơ sở đang hoạt động có ít nhất một hình thức thanh toán không dùng tiền mặt.",
              description_en="Share of active establishments with at least one cashless payment method."),
    Indicator("licensed_share", "Cơ sở có giấy phép còn hiệu lực", "Establishments with a valid licence",
              description_vi="Cơ sở đang hoạt động có giấy chứng nhận đăng ký kinh doanh còn hiệu lực hoặc sắp hết "
                             "hạn vào cuối kỳ.",
              description_en="Active establishments whose business registration is valid or expiring soon at the "
                             "period end."),
    Indicator("food_safety_share", "Cơ sở thực phẩm có GCN/cam kết ATTP", "Food businesses certified or committed",
              description_vi="Trong các cơ sở thuộc diện ATTP: có giấy chứng nhận còn hiệu lực hoặc bản cam kết "
                             "vào cuối kỳ.",
              description_en="Among food businesses: a certificate in force or a signed commitment at the period end."),
    Indicator("inspections_overdue", "Cơ sở quá hạn kiểm tra", "Establishments overdue for inspection",
              kind="count", higher_is_better=False,
              description_vi="Quá hạn tái kiểm tra, hoặc cơ sở thực phẩm chưa được kiểm tra trong 12 tháng, tính "
                             "vào cuối kỳ (mẫu số: cơ sở thực phẩm và cơ sở có hạn tái kiểm tra).",
              description_en="Follow-up overdue, or a food business not inspected for 12 months, at the period end "
                             "(denominator: food businesses and those with a follow-up due)."),
    Indicator("reports_on_time", "Phản ánh được xử lý đúng hạn", "Field reports handled on time",
              description_vi="Phản ánh xử lý xong đúng hạn, trong số phản ánh xử lý xong trong kỳ hoặc đến hạn "
                             "trong kỳ mà chưa xong.",
              description_en="Reports resolved by their deadline, among those resolved in the period or falling "
                             "due in it unresolved."),
    Indicator("report_satisfaction", "Hài lòng với việc xử lý phản ánh", "Satisfaction with report handling",
              description_vi="Số đánh giá “hài lòng” trên tổng số đánh giá người dân gửi trong kỳ (mỗi phản ánh đã "
                             "xử lý được đánh giá một lần, trên trang theo dõi phản ánh).",
              description_en="“Satisfied” ratings among all ratings citizens gave in the period (each resolved "
                             "report rated once, on its tracking page)."),
    Indicator("stall_qr_pos_share", "Quầy/sạp giao dịch QR/POS", "Stalls transacting by QR/POS",
              target_key="stall_qr_pos_share",
              description_vi="Tỷ lệ quầy/sạp tại chợ thí điểm có bằng chứng chấp nhận và giao dịch bằng QR hoặc thẻ "
                             "(lần kiểm tra ghi nhận trong kỳ).",
              description_en="Share of stalls in pilot markets seen accepting and transacting by QR or card "
                             "(a check recorded within the period)."),
    Indicator("digital_inspection_share", "Kiểm tra thực hiện qua hệ thống số", "Inspections done digitally",
              target_key="digital_inspection_share",
              description_vi="Lượt kiểm tra trong kỳ ghi nhận trên geomap (ứng dụng hiện trường hoặc ứng dụng cán "
                             "bộ), trên tổng số lượt kiểm tra trong kỳ (còn lại nhập lại từ biên bản giấy).",
              description_en="Inspections in the period recorded in geomap (field app or staff app), of all "
                             "inspections in the period (the rest typed in from paper)."),
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
    #: ``stall_id``, ``seen_on``: QR/POS payments an officer saw at a stall (stall_payment_evidence)
    stall_evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: when the audit log starts for this ward (the digital-payment trend cannot start earlier)
    tracking_since: pd.Timestamp | None = None
    #: the audit log's changes of the fields :mod:`geomap.dashboard.as_of` rebuilds (entity_id, at, key, before, after)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the group-level values the ward imported per period (:mod:`geomap.dashboard.group_indicators`)
    group_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: what the indicators derive from the frames once (group codes, flags), reused across periods
    cache: dict = field(default_factory=dict, repr=False, compare=False)


def _memo(frames: Frames, key: str, fn: Callable[[], object]):
    if key not in frames.cache:
        frames.cache[key] = fn()
    return frames.cache[key]


# --- pure indicator functions --------------------------------------------------------------------


def _group(frame: pd.DataFrame) -> pd.Series:
    col = frame["residential_group_id"] if "residential_group_id" in frame else pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(col, errors="coerce").fillna(NO_GROUP).astype(int)


def _sum_parts(frames: Frames, source: str, num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> pd.DataFrame:
    """Numerator and denominator per residential group of ``frames.<source>`` (groups factorised once)."""
    def factorise() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(_group(getattr(frames, source)), sort=True)
        return codes, np.asarray(uniques)

    codes, uniques = _memo(frames, f"groups.{source}", factorise)
    n = len(uniques)
    nums = np.bincount(codes, weights=np.asarray(num, dtype=float), minlength=n)
    dens = np.bincount(codes, weights=np.asarray(den, dtype=float), minlength=n)
    return pd.DataFrame({"num": nums.astype(int), "den": dens.astype(int)}, index=pd.Index(uniques, name="group_id"))


def _active(est: pd.DataFrame) -> pd.Series:
    return est["operating_status"].eq("active").fillna(False).astype(bool)


def _empty_parts() -> pd.DataFrame:
    return pd.DataFrame({"num": [], "den": []}, index=pd.Index([], name="group_id"), dtype=int)


def _has_any(col: pd.Series) -> pd.Series:
    return col.map(lambda v: v is not None and len(v) > 0).astype(bool)


def _flag(est: pd.DataFrame, col: str) -> pd.Series:
    return est[col].fillna(False).astype(bool) if col in est else pd.Series(False, index=est.index)


def digital_platform_flags(est: pd.DataFrame) -> pd.Series:
    """Any of e-invoices, sales/management software, an e-commerce account, a digital payment method."""
    platforms = _has_any(est["digital_platforms"]) if "digital_platforms" in est else False
    return (_flag(est, "uses_e_invoice") | _flag(est, "uses_sales_software") | platforms
            | _has_any(est["digital_payment"]))


def _est_at(frames: Frames, day: dt.date) -> pd.DataFrame:
    """The establishments as they were at the end of ``day`` (:mod:`geomap.dashboard.as_of`), dates parsed, kept
    per day (the status rules parse dates on every call)."""
    def parsed() -> pd.DataFrame:
        est = frames.establishments.copy()
        for col in est.columns:
            if col.endswith("_on") or col == "last_follow_up_due":
                est[col] = pd.to_datetime(est[col], errors="coerce")
        return est

    def build() -> pd.DataFrame:
        licences = _memo(frames, "lic.sorted", lambda: as_of.sort_history(frames.licences, "issued_on")
                         if "establishment_id" in frames.licences else frames.licences)
        inspections = _memo(frames, "ins.sorted", lambda: as_of.sort_history(frames.inspections, "inspected_on")
                            if "establishment_id" in frames.inspections else frames.inspections)
        return as_of.establishments_at(_memo(frames, "est.parsed", parsed), licences, inspections, frames.changes, day)
    return _memo(frames, f"est.at.{day}", build)


def _est_active(frames: Frames, day: dt.date) -> pd.Series:
    return _memo(frames, f"est.active.{day}", lambda: _active(_est_at(frames, day)))


def digital_platform_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    active = _est_active(frames, today)
    flags = digital_platform_flags(_est_at(frames, today))
    return _sum_parts(frames, "establishments", active & flags, active)


def digital_payment_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    active = _est_active(frames, today)
    has = _has_any(_est_at(frames, today)["digital_payment"])
    return _sum_parts(frames, "establishments", active & has, active)


def licensed_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    active = _est_active(frames, today)
    ok = status.licence_status(_est_at(frames, today), today).isin(["valid", "expiring"])
    return _sum_parts(frames, "establishments", active & ok, active)


def food_safety_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    est = _est_at(frames, today)
    food = _est_active(frames, today) & est["food_safety_applicable"].fillna(False).astype(bool)
    ok = status.food_safety_status(est, today).isin(["certified", "expiring", "committed"])
    return _sum_parts(frames, "establishments", food & ok, food)


def overdue_flags(est: pd.DataFrame, today: dt.date) -> pd.Series:
    """Establishments overdue for an inspection (see the module docstring)."""
    today_ts = pd.Timestamp(today)
    active = _active(est)
    follow_up = pd.to_datetime(est["last_follow_up_due"], errors="coerce")
    last = pd.to_datetime(est["last_inspected_on"], errors="coerce")
    food = est["food_safety_applicable"].fillna(False).astype(bool)
    stale = food & (last.isna() | (last < today_ts - pd.Timedelta(days=INSPECTION_INTERVAL_DAYS)))
    return active & ((follow_up.notna() & (follow_up < today_ts)) | stale)


def overdue_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    est = _est_at(frames, today)
    active = _est_active(frames, today)
    scope = active & (est["food_safety_applicable"].fillna(False).astype(bool) | est["last_follow_up_due"].notna())
    return _sum_parts(frames, "establishments", overdue_flags(est, today), scope)


def _day_bounds(start: dt.date, today: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start 00:00, today 24:00) in Vietnam's time, as UTC timestamps."""
    lo = pd.Timestamp(start, tz="Asia/Ho_Chi_Minh").tz_convert("UTC")
    hi = pd.Timestamp(today + dt.timedelta(days=1), tz="Asia/Ho_Chi_Minh").tz_convert("UTC")
    return lo, hi


def reports_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    reports = frames.reports
    if reports.empty:
        return _empty_parts()
    lo, hi = _day_bounds(start, today)
    counted = ~reports["status"].isin(["duplicate", "not_ward"])
    deadline = _memo(frames, "rep.deadline", lambda: pd.to_datetime(reports["deadline_at"], utc=True, errors="coerce"))
    resolved = _memo(frames, "rep.resolved", lambda: pd.to_datetime(reports["resolved_at"], utc=True, errors="coerce"))
    resolved_in = resolved.notna() & (resolved >= lo) & (resolved < hi)
    on_time = resolved_in & (deadline.isna() | (resolved <= deadline))
    fell_due = (deadline.notna() & (deadline >= lo) & (deadline < hi)
                & ~(resolved.notna() & (resolved <= deadline)))
    return _sum_parts(frames, "reports", counted & on_time, counted & (resolved_in | fell_due))


def satisfaction_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    reports = frames.reports
    if reports.empty or "rated_at" not in reports:
        return _empty_parts()
    lo, hi = _day_bounds(start, today)
    rated = _memo(frames, "rep.rated", lambda: pd.to_datetime(reports["rated_at"], utc=True, errors="coerce"))
    within = rated.notna() & (rated >= lo) & (rated < hi)
    satisfied = reports["satisfied"].eq(True)
    return _sum_parts(frames, "reports", within & satisfied, within)


def stall_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    stalls = frames.stalls
    if stalls.empty:
        return _empty_parts()
    pilot = stalls["is_pilot_smart_market"].fillna(False).astype(bool)
    scope = pilot if pilot.any() else pd.Series(True, index=stalls.index)
    ev = frames.stall_evidence
    if ev is None or ev.empty:
        seen = pd.Series(False, index=stalls.index)
    else:
        on = _memo(frames, "ev.seen", lambda: pd.to_datetime(ev["seen_on"], errors="coerce"))
        within = ev.loc[(on >= pd.Timestamp(start)) & (on <= pd.Timestamp(today)), "stall_id"]
        seen = stalls["id"].isin(set(within))
    return _sum_parts(frames, "stalls", scope & seen, scope)


def digital_inspection_parts(frames: Frames, start: dt.date, today: dt.date) -> pd.DataFrame:
    ins = frames.inspections
    if ins.empty:
        return _empty_parts()
    on = _memo(frames, "ins.on", lambda: pd.to_datetime(ins["inspected_on"], errors="coerce"))
    within = (on >= pd.Timestamp(start)) & (on <= pd.Timestamp(today))
    digital = _memo(frames, "ins.digital", lambda: ins["made_via"].isin(["field_app", "staff_app"])
                    if "made_via" in ins else pd.Series(True, index=ins.index))
    return _sum_parts(frames, "inspections", within & digital, within)


PART_FUNCTIONS: dict[str, Callable[[Frames, dt.date, dt.date], pd.DataFrame]] = {
    "digital_platform_share": digital_platform_parts,
    "digital_payment_share": digital_payment_parts,
    "licensed_share": licensed_parts,
    "food_safety_share": food_safety_parts,
    "inspections_overdue": overdue_parts,
    "reports_on_time": reports_parts,
    "report_satisfaction": satisfaction_parts,
    "stall_qr_pos_share": stall_parts,
    "digital_inspection_share": digital_inspection_parts,
}


def indicator_parts(frames: Frames, today: dt.date, start: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """key -> per-group numerator/denominator frame, for the period from ``start`` (default: the quarter of
    ``today``) to ``today``."""
    start = start or periods.containing(today, "quarter").start
    return {key: fn(frames, start, today) for key, fn in PART_FUNCTIONS.items()}


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
    created = pd.to_datetime(est["created_at"], utc=True, errors="coerce")
    since = pd.Timestamp(frames.tracking_since)
    since = since.tz_localize("UTC") if since.tzinfo is None else since
    for period in idx:
        day = period.end_time.date()
        end = as_of.end_of(day)
        if end <= since:
            continue
        value = _has_any(as_of.tracked_value(frames.changes, "digital_payment", est["id"], est["digital_payment"], day))
        exists = created.isna() | (created < end)
        active = _active(est) & exists
        den = int(active.sum())
        out[period] = np.nan if den == 0 else float((value.astype(bool) & active).sum()) / den
    return out



def indicator_trend(frames: Frames, period: periods.Period, today: dt.date, n: int = 8) -> pd.DataFrame:
    """Every indicator over the ``n`` periods of ``period``'s kind ending with it: one row per period and
    indicator (``period``, ``key``, ``num``, ``den``, ``value``), each taken at its period's end (or ``today``).

    Periods that had not started by ``today`` are left out."""
    rows = []
    for p in period.back(n):
        if p.start > today:
            continue
        parts = indicator_parts(frames, min(p.end, today), p.start)
        for ind in INDICATORS:
            num, den = int(parts[ind.key]["num"].sum()), int(parts[ind.key]["den"].sum())
            rows.append({"period": str(p), "key": ind.key, "num": num, "den": den, "value": _value(ind, num, den)})
    return pd.DataFrame(rows, columns=["period", "key", "num", "den", "value"])


def trend_table(trend: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """:func:`indicator_trend` wide: one row per period (oldest first), one column per indicator label."""
    if trend.empty:
        return pd.DataFrame()
    wide = trend.pivot(index="period", columns="key", values="value").astype(float)
    wide = wide.reindex(index=list(dict.fromkeys(trend["period"])), columns=[i.key for i in INDICATORS])
    return wide.rename(columns={i.key: i.label(lang) for i in INDICATORS})


@dataclass
class Dashboard:
    """Computed indicators of one ward for one period, taken at ``today`` (its end, or today if earlier)."""

    today: dt.date
    summary: pd.DataFrame
    by_group: pd.DataFrame
    activity: pd.DataFrame
    payment_trend: pd.Series
    groups: gpd.GeoDataFrame
    tracking_since: pd.Timestamp | None
    period: periods.Period | None = None
    #: :func:`indicator_trend`: every indicator over the periods up to this one
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the imported group-level indicators' ward figures (:func:`geomap.dashboard.group_indicators.compute`)
    imported: pd.DataFrame = field(default_factory=pd.DataFrame)


def compute(frames: Frames, profile: WardProfile | None, today: dt.date | None = None,
            lang: str = "vi", months: int = 24, period: periods.Period | str | None = None,
            trend_periods: int = 8) -> Dashboard:
    """All dashboard figures from ``frames`` (pure) for ``period`` (default: the quarter of ``today``),
    taken at the period's end or at ``today`` if that comes first."""
    today = today or status.today()
    if isinstance(period, str):
        period = periods.parse(period)
    period = period or periods.containing(today, "quarter")
    as_of = min(period.end, today)
    parts = indicator_parts(frames, as_of, period.start)
    from geomap.dashboard import group_indicators  # it builds on Indicator, defined here

    imported, imported_by_group = group_indicators.compute(frames.group_values, frames.groups, period.start,
                                                           period.end, profile, as_of.year, lang)
    return Dashboard(as_of, summary(parts, profile, as_of.year, lang),
                     by_group(parts, frames.groups).join(imported_by_group),
                     monthly_activity(frames, as_of, months), digital_payment_trend(frames, as_of, months),
                     frames.groups, frames.tracking_since, period,
                     indicator_trend(frames, period, today, trend_periods) if trend_periods else pd.DataFrame(),
                     imported)


#: labels of :func:`monthly_activity`'s columns (the page's trend chart and the Excel report)
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
STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    **{f"dashboard.activity.{k}": v for k, v in ACTIVITY_LABELS.items()},
    "dashboard.trend.payment": ("Tỷ lệ thanh toán số", "Digital-payment share"),
    "dashboard.trend.period": ("Kỳ", "Period"),
}
