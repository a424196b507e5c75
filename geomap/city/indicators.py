"""Each loaded ward's dashboard indicators against its targets, side by side (one row per ward).

The figures are the ward dashboard's own (the frames :func:`geomap.dashboard.load_frames` gives each
ward, read for all wards in one pass by :func:`geomap.dashboard.data.load_wards_frames`, and
:func:`geomap.dashboard.indicators.summary` per ward), so the city table and a ward's dashboard never
disagree. A ward without a profile of its own is held to the plan's targets
(:func:`geomap.profiles.plan_target`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

from geomap import db, profiles, status
from geomap.dashboard import indicators as dash
from geomap.dashboard import periods
from geomap.dashboard.data import load_wards_frames
from geomap.dashboard.indicators import Frames
from geomap.wards import data as ward_data


@dataclass(frozen=True)
class WardIndicators:
    """The wards' indicators for one period: ``long`` has one row per (ward, indicator)."""

    #: columns ward_id, slug, ward, key, kind, num, den, value, target, met
    long: pd.DataFrame
    period: periods.Period
    as_of: dt.date
    #: seconds spent reading and computing (15 wards of the demo city: said on the page)
    seconds: float

    def values(self) -> pd.DataFrame:
        """One row per ward (index: slug), one column per indicator key: the ward's figure."""
        return self.long.pivot(index="slug", columns="key", values="value")

    def targets(self) -> pd.DataFrame:
        """Like :meth:`values`, the target each ward is held to (None: no target)."""
        return self.long.pivot(index="slug", columns="key", values="target")


#: columns of :attr:`WardIndicators.long`
COLUMNS = ["ward_id", "slug", "ward", "key", "kind", "num", "den", "value", "target", "met"]


def ward_indicators(bind: db.Bind, today: dt.date | None = None, period: periods.Period | str | None = None,
                    lang: str = "vi") -> WardIndicators:
    """Every loaded ward's indicators for ``period`` (default: the quarter of ``today``): the wards' frames read
    in one pass (:func:`geomap.dashboard.data.load_wards_frames`), then each ward's figures (:func:`ward_rows`)."""
    started = time.perf_counter()
    period, as_of = period_as_of(today, period)
    wards = ward_data.loaded_wards(bind)
    frames = load_wards_frames(bind, [w["id"] for w in wards])  # one query per table for the whole city
    rows = [r for ward in wards for r in ward_rows(bind, ward, frames.pop(ward["id"]), period, as_of, lang)]
    return WardIndicators(pd.DataFrame(rows, columns=COLUMNS), period, as_of, time.perf_counter() - started)


def period_as_of(today: dt.date | None, period: periods.Period | str | None) -> tuple[periods.Period, dt.date]:
    """``period`` (default: the quarter of ``today``) and the day its figures are as of (its end, or today)."""
    today = today or status.today()
    if isinstance(period, str):
        period = periods.parse(period)
    period = period or periods.containing(today, "quarter")
    return period, min(period.end, today)


def ward_rows(bind: db.Bind, ward: dict, frames: Frames, period: periods.Period, as_of: dt.date,
              lang: str = "vi") -> list[dict]:
    """One ward's rows of :attr:`WardIndicators.long` from its dashboard ``frames``: the dashboard's own summary,
    each figure beside the target the ward is held to (its profile's, else the plan's)."""
    profile = profiles.find(ward["slug"], bind)
    summary = dash.summary(dash.indicator_parts(frames, as_of, period.start), profile, as_of.year, lang)
    out = []
    for key, row in summary.iterrows():
        ind = dash.BY_KEY[key]
        target = row["target"] if profile is not None else (
            profiles.plan_target(ind.target_key, as_of.year) if ind.target_key else None)
        value = row["value"]
        met = None if target is None or value is None or pd.isna(target) or pd.isna(value) else (
            bool(value >= target) if ind.higher_is_better else bool(value <= target))
        out.append({"ward_id": ward["id"], "slug": ward["slug"], "ward": ward["name"], "key": key,
                    "kind": ind.kind, "num": int(row["num"]), "den": int(row["den"]), "value": value,
                    "target": target, "met": met})
    return out


def ward_outlines(bind: db.Bind, tolerance_deg: float = 0.0001) -> gpd.GeoDataFrame:
    """Every loaded ward (id, slug, name) with its simplified boundary, EPSG:4326."""
    rows = ward_data.ward_outlines(bind, tolerance_deg)
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else []
    frame = pd.DataFrame([{k: r[k] for k in ("id", "slug", "name")} for r in rows], columns=["id", "slug", "name"])
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")
