"""The ward dashboard's indicators (pure): the figures the project documents name, against the ward's targets.

Indicator functions take frames and a date and return, per residential group, a numerator and a
denominator (``parts``); the ward figure is their sum, so the ward and group figures can never
disagree. :func:`compute` turns the :class:`Frames` that :func:`geomap.dashboard.data.load_frames`
reads into a :class:`Dashboard`; nothing here touches the database.

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

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import status
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
}
