"""Group-level indicators the ward assesses itself and imports per period (pure): VNeID, digital skills,
Gia đình số, Tổ dân phố số (Hòa Cường plan, Appendix 1 II.1, II.2, II.4, II.5; Appendix 5: assessed quarterly).

geomap cannot count these from its own records: the residential groups' officers assess them and the
ward imports one spreadsheet per period (:mod:`geomap.dashboard.group_import`). Each value is a numerator
and a denominator (people, households), or a share alone when the sheet gave only a percentage; "Tổ dân
phố số" is 1/1 or 0/1 per group.

For a dashboard period, each group's figure is its **latest assessment ending within the period** (a
quarter's assessment shows on that quarter, the half-year and the year; a month shows the assessment of
the quarter that ends in it). The ward figure is the sum of the numerators over the sum of the
denominators of the groups that gave counts (a group that gave only a share is shown on the map and in
the table, not in the ward figure: its weight is unknown); for "Tổ dân phố số" it is the groups meeting
the criteria among **all** the ward's groups (a group not assessed has not been recognised).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geomap.dashboard.indicators import Indicator
from geomap.profiles import WardProfile

#: the file's count columns of each indicator: (numerator, denominator, share column)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "vneid_activation": ("vneid_activated", "population", "vneid_pct"),
    "digital_skills": ("digital_skills", "adults", "digital_skills_pct"),
    "digital_family": ("digital_families", "households", "digital_families_pct"),
}
#: "Tổ dân phố số": one yes/no column
GROUP_FLAG = ("digital_group", "digital_group")

GROUP_INDICATORS: tuple[Indicator, ...] = (
    Indicator("vneid_activation", "Dân số đã kích hoạt VNeID", "Residents with VNeID activated",
              target_key="vneid_activation",
              description_vi="Số người có tài khoản định danh điện tử VNeID đã kích hoạt, sử dụng trên số nhân khẩu "
                             "của tổ (tổ dân phố báo cáo, nhập theo kỳ).",
              description_en="People with an activated, used VNeID electronic identity over the group's population "
                             "(reported by the residential group, imported per period)."),
    Indicator("digital_skills", "Người trưởng thành đạt phổ cập kỹ năng số", "Adults certified in digital skills",
              target_key="digital_skills",
              description_vi="Người trưởng thành được xác nhận đạt phổ cập tri thức, kỹ năng số trên nền tảng VNeID, "
                             "trên số người trưởng thành của tổ (nhập theo kỳ).",
              description_en="Adults confirmed on VNeID as having basic digital knowledge and skills, over the "
                             "group's adults (imported per period)."),
    Indicator("digital_family", "Hộ đạt Gia đình số", "Households meeting “Digital family”",
              target_key="digital_family",
              description_vi="Hộ đạt bộ tiêu chí “Gia đình số” trên tổng số hộ của tổ (đánh giá theo quý, nhập "
                             "theo kỳ).",
              description_en="Households meeting the “Digital family” criteria over the group's households "
                             "(assessed quarterly, imported per period)."),
    Indicator("digital_group", "Tổ dân phố đạt “Tổ dân phố số”", "Groups meeting “Digital residential group”",
              target_key="digital_group",
              description_vi="Số tổ dân phố đạt bộ tiêu chí “Tổ dân phố số” trên tổng số tổ của phường (tổ chưa được "
                             "đánh giá tính là chưa đạt).",
              description_en="Residential groups meeting the “Digital residential group” criteria over all the "
                             "ward's groups (a group not assessed counts as not meeting them)."),
)
BY_KEY = {i.key: i for i in GROUP_INDICATORS}

#: the columns of :attr:`geomap.dashboard.indicators.Frames.group_values`
VALUE_COLUMNS = ["residential_group_id", "indicator", "period", "period_start", "period_end", "numerator",
                 "denominator", "value"]


def empty_values() -> pd.DataFrame:
    return pd.DataFrame(columns=VALUE_COLUMNS)


def latest_within(values: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Each group's and indicator's latest assessment whose period ends within [start, end]."""
    if values is None or values.empty:
        return empty_values()
    ends = pd.to_datetime(values["period_end"])
    inside = values[(ends >= pd.Timestamp(start)) & (ends <= pd.Timestamp(end))]
    if inside.empty:
        return empty_values()
    ordered = inside.assign(_end=pd.to_datetime(inside["period_end"])).sort_values("_end")
    return ordered.groupby(["residential_group_id", "indicator"], as_index=False).last().drop(columns="_end")


def compute(values: pd.DataFrame, groups: pd.DataFrame, start: dt.date, end: dt.date,
            profile: WardProfile | None, year: int, lang: str = "vi") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, by_group) of the imported indicators for the period [start, end]: the summary's columns as
    :func:`geomap.dashboard.indicators.summary`'s plus ``periods`` (the assessments used) and ``groups_reported``;
    by_group one row per residential group id with ``<key>``, ``<key>_num``, ``<key>_den`` columns."""
    chosen = latest_within(values, start, end)
    ids = pd.Index([int(i) for i in groups["id"]], name="group_id") if len(groups) else pd.Index([], name="group_id")
    by_group = pd.DataFrame(index=ids)
    rows = []
    for ind in GROUP_INDICATORS:
        mine = chosen[chosen["indicator"] == ind.key].set_index("residential_group_id")
        mine = mine[~mine.index.duplicated()].reindex(ids)
        num = pd.to_numeric(mine["numerator"], errors="coerce")
        den = pd.to_numeric(mine["denominator"], errors="coerce")
        value = pd.to_numeric(mine["value"], errors="coerce").astype(float)
        by_group[ind.key] = value
        by_group[f"{ind.key}_num"], by_group[f"{ind.key}_den"] = num, den
        reported = int(value.notna().sum())
        if ind.key == "digital_group":
            total_num, total_den = int(np.nansum(num)), len(ids)
        else:
            counted = num.notna() & den.notna()
            total_num, total_den = int(num[counted].sum()), int(den[counted].sum())
        share = None if total_den == 0 or reported == 0 else total_num / total_den
        target = profile.target(ind.target_key, year) if (profile and ind.target_key) else None
        rows.append({"key": ind.key, "indicator": ind.label(lang), "kind": ind.kind, "num": total_num,
                     "den": total_den, "value": share, "target": target,
                     "met": None if target is None or share is None else bool(share >= target),
                     "groups_reported": reported,
                     "periods": sorted(set(chosen.loc[chosen["indicator"] == ind.key, "period"]))})
    summary = pd.DataFrame(rows).set_index("key") if rows else pd.DataFrame()
    return summary, by_group
