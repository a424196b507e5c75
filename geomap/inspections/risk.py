"""Who is due for inspection: a transparent risk score with its reasons.

The score is a plain sum of points; every point comes with a reason a ward officer can
read and check against the records ("GCN ATTP hết hạn 2026-05-01: +30"). Nothing is
learned or hidden. The weights live with the ward (``[risk_weights]`` in the ward profile
TOML, see :func:`weights_for`), so a ward can decide that complaints nearby matter more
than the age of the last inspection.

:func:`score` is pure (a frame in, a frame out), and so is this whole module: the one query that
collects what it reads (the overview view, violation history, nearby field reports) is
:func:`geomap.inspections.data.risk_inputs`, and :func:`geomap.inspections.planning.due_list`
puts the two together for the pages and the command line.

Reasons (code: when it applies → points):

``fs_certificate_expired``  food business whose certificate lapsed or was revoked, no commitment
``fs_certificate_expiring`` certificate in force but expiring within the status window
``fs_missing``              food business with neither certificate nor commitment
``registration_expired``    business registration expired / revoked / missing
``follow_up_due``           last inspection found a violation and its follow-up date has come
``past_violations``         violations in the last ``violation_years`` years: per severity point, capped
``days_since_inspection``   per 30 days since the last inspection, capped
``never_inspected``         no inspection on record: the cap of the above
``reports_nearby``          field reports within ``reports_radius_m`` in the last ``reports_days`` days, capped
``industry_risk``           the industry's risk level (1 low .. 3 high; food service is 3, retail 1)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import pandas as pd

from geomap import config, i18n, profiles, status

#: the due list's tiers, most pressing first: what a rule requires now (a follow-up after a violation,
#: a food business or a registration without a valid licence), then a high risk score, then the
#: routine periodic inspection (never inspected, or the interval has passed); ``none``: not due
TIERS = ("required", "high_risk", "routine", "none")
REQUIRED_REASONS = frozenset({"follow_up_due", "fs_certificate_expired", "fs_missing", "registration_expired"})

#: the reason codes in display order
REASONS = (
    "follow_up_due", "fs_certificate_expired", "fs_missing", "fs_certificate_expiring", "registration_expired",
    "past_violations", "reports_nearby", "never_inspected", "days_since_inspection", "industry_risk",
)


@dataclass(frozen=True)
class RiskWeights:
    """Points per reason. Defaults are a starting point; each ward sets its own in its profile."""

    fs_certificate_expired: float = 30.0
    fs_certificate_expiring: float = 12.0
    fs_missing: float = 25.0
    registration_expired: float = 10.0
    follow_up_due: float = 35.0
    violation_per_severity: float = 6.0
    violation_cap: float = 30.0
    violation_years: int = 3
    per_30_days_since_inspection: float = 1.5
    days_since_inspection_cap: float = 25.0
    per_report_nearby: float = 5.0
    reports_nearby_cap: float = 20.0
    reports_radius_m: float = 100.0
    reports_days: int = 90
    per_industry_risk_level: float = 5.0
    #: an establishment counts as "due" from this score on, or when never inspected / overdue
    due_threshold: float = 30.0
    #: periodic inspection interval: older than this is overdue whatever the score
    inspection_interval_days: int = 365

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RiskWeights:
        """Weights from a ``[risk_weights]`` table; unknown keys are an error (a typo must not pass silently)."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown risk weights {unknown}; known: {sorted(known)}")
        cast = {k: (int(v) if known[k] == "int" else float(v)) for k, v in values.items()}
        return replace(cls(), **cast)


def weights_for(ward_slug: str | None = None) -> RiskWeights:
    """The ward's weights: the ``[risk_weights]`` table of its profile (defaults when absent).

    A ward set up with ``geomap ward create`` uses the profile stored with it; a ward loaded
    without any profile (a generated city ward, a test ward) uses the defaults.
    """
    slug = ward_slug or config.DEFAULT_WARD
    profile = profiles.find(slug)
    table = profile.risk_weights if profile is not None else {}
    return RiskWeights.from_mapping(table) if table else RiskWeights()


@dataclass(frozen=True)
class Reason:
    """One line of an establishment's score: what was found and how many points it adds."""

    code: str
    points: float
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "vi") -> str:
        template = i18n.t(f"risk.reason.{self.code}", lang)
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(value).date()


def _num(value: Any) -> float:
    """A number from a frame cell: None and NaN count as 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


def reasons_for(row: Mapping[str, Any], weights: RiskWeights, today: dt.date) -> list[Reason]:
    """The reasons that apply to one establishment (a row of :func:`geomap.inspections.data.risk_inputs`)."""
    out: list[Reason] = []
    # the certificate's own state, even when a pending violation masks it in the food-safety status
    fs = row.get("certificate_status", row.get("food_safety_status"))
    cert_expires = _date(row.get("fs_certificate_expires_on"))
    if fs == "expired":
        out.append(Reason("fs_certificate_expired", weights.fs_certificate_expired,
                          {"date": cert_expires.isoformat() if cert_expires else "?"}))
    elif fs == "expiring":
        out.append(Reason("fs_certificate_expiring", weights.fs_certificate_expiring,
                          {"date": cert_expires.isoformat() if cert_expires else "?",
                           "days": (cert_expires - today).days if cert_expires else "?"}))
    elif fs == "missing":
        out.append(Reason("fs_missing", weights.fs_missing))
    if row.get("licence_status") in ("expired", "missing"):
        out.append(Reason("registration_expired", weights.registration_expired,
                          {"status": i18n.code_label("licence_status", row.get("licence_status"))}))
    follow_up = _date(row.get("last_follow_up_due"))
    if row.get("last_inspection_result") == "violation" and (follow_up is None or follow_up <= today):
        out.append(Reason("follow_up_due", weights.follow_up_due,
                          {"date": follow_up.isoformat() if follow_up else "?"}))
    severity = _num(row.get("violation_severity_sum"))
    if severity > 0:
        out.append(Reason("past_violations", min(weights.violation_cap, severity * weights.violation_per_severity),
                          {"count": int(_num(row.get("violation_count"))), "severity": int(severity),
                           "max": int(_num(row.get("violation_severity_max"))), "years": weights.violation_years}))
    reports = int(_num(row.get("reports_nearby")))
    if reports > 0:
        out.append(Reason("reports_nearby", min(weights.reports_nearby_cap, reports * weights.per_report_nearby),
                          {"count": reports, "radius": int(weights.reports_radius_m), "days": weights.reports_days}))
    last = _date(row.get("last_inspected_on"))
    if last is None:
        out.append(Reason("never_inspected", weights.days_since_inspection_cap))
    else:
        days = max(0, (today - last).days)
        points = min(weights.days_since_inspection_cap, days / 30.0 * weights.per_30_days_since_inspection)
        if points > 0:
            out.append(Reason("days_since_inspection", round(points, 1), {"days": days, "date": last.isoformat()}))
    level = int(_num(row.get("risk_level")))
    if level > 0:
        out.append(Reason("industry_risk", level * weights.per_industry_risk_level,
                          {"level": level, "sector": i18n.code_label("sector", row.get("sector"))}))
    out.sort(key=lambda r: REASONS.index(r.code))
    return out


def score(frame: pd.DataFrame, weights: RiskWeights | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """``frame`` with ``risk_score``, ``risk_reasons`` (list of :class:`Reason`) and ``due`` added, ranked.

    ``frame`` has the columns of the establishment overview (statuses are derived here when
    missing) plus the optional aggregates ``violation_count``, ``violation_severity_sum``,
    ``violation_severity_max`` and ``reports_nearby``. Ties are broken by the oldest
    last inspection, then the code, so the order is stable.
    """
    weights = weights or RiskWeights()
    today = today or status.today()
    out = frame.copy()
    if "licence_status" not in out or "food_safety_status" not in out:
        out = status.with_statuses(out, today)
    out["certificate_status"] = status.food_safety_status(out.assign(last_inspection_result=None), today)
    records = out.to_dict("records")
    reasons = [reasons_for(r, weights, today) for r in records]
    out["risk_reasons"] = reasons
    out["risk_score"] = [round(sum(x.points for x in rs), 1) for rs in reasons]
    last = pd.to_datetime(out["last_inspected_on"], errors="coerce") if "last_inspected_on" in out \
        else pd.Series(pd.NaT, index=out.index)
    overdue = last.isna() | (last < pd.Timestamp(today - dt.timedelta(days=weights.inspection_interval_days)))
    follow = pd.Series([any(x.code == "follow_up_due" for x in rs) for rs in reasons], index=out.index)
    out["due"] = (out["risk_score"] >= weights.due_threshold) | overdue | follow
    required = pd.Series([any(x.code in REQUIRED_REASONS for x in rs) for rs in reasons], index=out.index)
    high = out["risk_score"] >= weights.due_threshold
    out["tier"] = "none"
    out.loc[overdue, "tier"] = "routine"
    out.loc[high, "tier"] = "high_risk"
    out.loc[required, "tier"] = "required"
    out["_last"] = last.fillna(pd.Timestamp("1900-01-01"))
    sort_cols = ["risk_score", "_last"] + (["code"] if "code" in out else [])
    out = out.sort_values(sort_cols, ascending=[False, True] + ([True] if "code" in out else []), kind="mergesort")
    out = out.drop(columns="_last")
    out["risk_rank"] = range(1, len(out) + 1)
    return out


def reasons_text(reasons: Iterable[Reason], lang: str = "vi") -> str:
    """One line: "GCN ATTP hết hạn (+30); 2 phản ánh trong 100 m (+10)"."""
    return "; ".join(f"{r.text(lang)} (+{r.points:g})" for r in reasons)


def select(frame: pd.DataFrame, *, residential_groups: Iterable[str] | None = None,
           sectors: Iterable[str] | None = None, vsic_codes: Iterable[str] | None = None,
           statuses: Iterable[str] | None = None, only_due: bool = False,
           tiers: Iterable[str] | None = None) -> pd.DataFrame:
    """The rows of a scored ``frame`` that pass every filter given (an empty filter lets all through).

    ``statuses`` matches either the licence or the food-safety status. The due list's service
    filters with it, and so does the planning page on its cached list.
    """
    if residential_groups:
        frame = frame[frame["residential_group"].isin(list(residential_groups))]
    if sectors:
        frame = frame[frame["sector"].isin(list(sectors))]
    if vsic_codes:
        frame = frame[frame["vsic_code"].isin(list(vsic_codes))]
    if statuses:
        wanted = list(statuses)
        frame = frame[frame["licence_status"].isin(wanted) | frame["food_safety_status"].isin(wanted)]
    if only_due:
        frame = frame[frame["due"]]
    if tiers:
        frame = frame[frame["tier"].isin(list(tiers))]
    return frame


def tier_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows of a scored ``frame`` fall in each tier (every tier named, zero included)."""
    counts = frame["tier"].value_counts()
    return {t: int(counts.get(t, 0)) for t in TIERS}


STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "risk.tier.required": ("Bắt buộc theo quy định", "Required by the rules"),
    "risk.tier.required.help": ("Tái kiểm tra sau vi phạm đã đến hạn, hoặc cơ sở đang thiếu giấy phép "
                                "(GCN ATTP, cam kết, đăng ký kinh doanh).",
                                "A follow-up after a violation is due, or a licence is missing or lapsed "
                                "(food-safety certificate or commitment, business registration)."),
    "risk.tier.high_risk": ("Rủi ro cao", "High risk"),
    "risk.tier.high_risk.help": ("Điểm rủi ro từ ngưỡng của phường trở lên (vi phạm cũ, phản ánh gần đó, "
                                 "ngành rủi ro cao...).",
                                 "Risk score at or above the ward's threshold (past violations, reports "
                                 "nearby, high-risk trade...)."),
    "risk.tier.routine": ("Định kỳ", "Routine"),
    "risk.tier.routine.help": ("Chưa kiểm tra lần nào hoặc đã quá hạn kiểm tra định kỳ.",
                               "Never inspected, or the periodic inspection interval has passed."),
    "risk.tier.none": ("Chưa đến hạn", "Not due"),
    "risk.tier.none.help": ("Không có lý do kiểm tra lúc này.", "No reason to inspect now."),
    "risk.reason.fs_certificate_expired": ("GCN ATTP hết hạn từ {date}", "Food-safety certificate expired on {date}"),
    "risk.reason.fs_certificate_expiring": ("GCN ATTP hết hạn ngày {date} (còn {days} ngày)",
                                            "Food-safety certificate expires on {date} ({days} days left)"),
    "risk.reason.fs_missing": ("Cơ sở thực phẩm chưa có GCN ATTP hoặc cam kết",
                               "Food business without certificate or commitment"),
    "risk.reason.registration_expired": ("Đăng ký kinh doanh: {status}", "Business registration: {status}"),
    "risk.reason.follow_up_due": ("Đến hạn tái kiểm tra sau vi phạm ({date})",
                                  "Follow-up after a violation is due ({date})"),
    "risk.reason.past_violations": ("{count} lần vi phạm trong {years} năm (tổng mức độ {severity}, cao nhất {max})",
                                    "{count} violations in {years} years (total severity {severity}, worst {max})"),
    "risk.reason.reports_nearby": ("{count} phản ánh trong bán kính {radius} m, {days} ngày qua",
                                   "{count} field reports within {radius} m in the last {days} days"),
    "risk.reason.days_since_inspection": ("{days} ngày kể từ lần kiểm tra gần nhất",
                                          "{days} days since last inspection"),
    "risk.reason.never_inspected": ("Chưa từng được kiểm tra", "Never inspected"),
    "risk.reason.industry_risk": ("Ngành rủi ro mức {level} ({sector})", "Industry risk level {level} ({sector})"),
}
