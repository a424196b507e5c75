"""Ward profiles: name, boundary, local VN-2000 grid and targets.

From ``data/profiles/*.toml`` (the wards shipped with geomap), or, for a ward set up with
``geomap ward create``, from the profile stored with its row (``ward.profile``, migration 0014):
:func:`get` looks in the files first, then in the database. :func:`read_profile_file` checks a
ward's own profile file and fills in the plan's defaults (:data:`PLAN_DEFAULTS`).
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geomap import config
from geomap.errors import BoundaryError, LocalizedError, UnknownWard

#: the plan's targets and deadlines (Hòa Cường's project document, Appendix 1; Đà Nẵng's resolution for
#: inspections), used for every key a ward's own profile file leaves out
PLAN_DEFAULTS: dict[str, Any] = {
    "targets": {
        "digital_platform_share": {2026: 0.50, 2028: 0.70, 2030: 0.85},
        # kept for ward files written before 0017: no indicator reads it (digital_platform_share is the plan's)
        "digital_payment_share": {2026: 0.50, 2028: 0.70, 2030: 0.85},
        "stall_qr_pos_share": {2026: 0.60, 2028: 0.80, 2030: 1.00},
        "digital_inspection_share": {2025: 0.50, 2030: 0.70},
        # Appendix 1 II (social): imported per group and period (geomap.dashboard.group_indicators); "Tổ dân phố
        # số" has no figure for 2026 ("pilot, form the model")
        "vneid_activation": {2026: 0.70, 2028: 0.85, 2030: 0.90},
        "digital_skills": {2026: 0.60, 2028: 0.70, 2030: 0.90},
        "digital_family": {2026: 0.60, 2028: 0.75, 2030: 0.90},
        "digital_group": {2028: 0.60, 2030: 1.00},
    },
    "report_deadline_days": {"garbage": 2, "infrastructure": 7, "urban_order": 3, "sanitation": 3,
                             "food_safety": 5, "other": 10},
    "risk_weights": {},
}
#: months a closed report keeps its reporter's name, contact and photos unless the ward's profile says otherwise
RETENTION_MONTHS = 12
#: keys a profile file may hold
PROFILE_KEYS = {"slug", "name", "name_en", "province", "former_province", "boundary_name", "boundary_file",
                "local_srid", "official_area_km2", "population", "residential_groups", "code_prefix",
                "former_wards", "demo", "targets", "report_deadline_days", "risk_weights", "retention_months"}


class ProfileFileError(LocalizedError):
    """A ward profile file geomap cannot use, with the key at fault."""


@dataclass(frozen=True)
class WardProfile:
    """What geomap knows about one ward before any data is loaded."""

    slug: str
    name: str
    name_en: str
    province: str
    boundary_name: str
    boundary_file: str
    local_srid: int
    official_area_km2: float
    population: int
    residential_groups: int
    code_prefix: str
    former_wards: tuple[str, ...] = ()
    #: the province before the 2025 merger whose VN-2000 meridian the ward's grid is (empty: the default)
    former_province: str = ""
    #: the boundary stored with a ward set up by ``geomap ward create`` (WGS84 WKB), read with its profile
    stored_boundary_wkb: bytes | None = field(default=None, repr=False, compare=False)
    demo: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, dict[int, float]] = field(default_factory=dict)
    report_deadline_days: dict[str, int] = field(default_factory=dict)
    #: points per inspection-risk reason (geomap.inspections.risk); empty: the defaults
    risk_weights: dict[str, Any] = field(default_factory=dict)
    #: inspectors may use the field app's survey mode here too (data officers always may)
    survey_by_inspectors: bool = False
    #: months a closed report keeps its reporter's name, contact and photos (Decree 13/2023; geomap reports
    #: purge-personal erases them after that)
    retention_months: int = RETENTION_MONTHS

    @property
    def local_crs(self) -> str:
        return f"EPSG:{self.local_srid}"

    def boundary(self) -> MultiPolygon:
        """The ward's boundary in WGS84, checked to be a valid, non-empty polygon.

        A profile without a boundary file (a ward set up with ``geomap ward create``) has the
        boundary stored with the ward in the database.
        """
        if self.boundary_file:
            return load_boundary(self.boundary_file, self.boundary_name)
        if self.stored_boundary_wkb is not None:
            geom = shapely.from_wkb(self.stored_boundary_wkb)
            return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
        return stored_boundary(self.slug)

    def target(self, indicator: str, year: int) -> float | None:
        """The target for ``indicator`` in force in ``year`` (the next milestone at or after it)."""
        return _in_force(self.targets.get(indicator, {}), year)


def _in_force(milestones: dict[int, float], year: int) -> float | None:
    """The milestone in force in ``year``: the first at or after it."""
    later = sorted(y for y in milestones if y >= year)
    return milestones[later[0]] if later else None


def plan_target(indicator: str, year: int) -> float | None:
    """The plan's own target for ``indicator`` in ``year`` (:data:`PLAN_DEFAULTS`), for a ward without a profile."""
    return _in_force(PLAN_DEFAULTS["targets"].get(indicator, {}), year)


def profiles_dir() -> Path:
    return config.DATA_DIR / "profiles"


def available() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def get(slug: str | None = None, bind: Any = None) -> WardProfile:
    """The profile of ward ``slug`` (default: ``GEOMAP_WARD``): its file in ``data/profiles``, else the
    profile stored with a ward set up by ``geomap ward create`` (read through ``bind``, default engine)."""
    slug = slug or config.DEFAULT_WARD
    if (profiles_dir() / f"{slug}.toml").exists():
        return _from_file(slug)
    stored = _from_database(slug, bind)
    if stored is None:
        raise UnknownWard(f"There is no ward profile '{slug}'; known wards: {', '.join(available())}, "
                          "or a ward set up with 'geomap ward create'.")
    return stored


get.cache_clear = lambda: _from_file.cache_clear()  # type: ignore[attr-defined]  # tests reload profile files


def find(slug: str | None, bind: Any = None) -> WardProfile | None:
    """The profile of ``slug`` like :func:`get`, None when there is none (or the database cannot say)."""
    from geomap.errors import GeomapError

    try:
        return get(slug, bind)
    except GeomapError:
        return None


@functools.lru_cache(maxsize=32)
def _from_file(slug: str) -> WardProfile:
    path = profiles_dir() / f"{slug}.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return from_mapping(raw)


def from_mapping(raw: dict[str, Any]) -> WardProfile:
    """A :class:`WardProfile` from a profile table (a file's, or the one stored with a ward)."""
    raw = dict(raw)
    raw["former_wards"] = tuple(raw.get("former_wards", ()))
    raw["targets"] = {k: {int(y): float(v) for y, v in t.items()} for k, t in raw.get("targets", {}).items()}
    return WardProfile(**raw)


def _from_database(slug: str, bind: Any) -> WardProfile | None:
    from sqlalchemy.exc import DBAPIError

    from geomap import db
    from geomap.errors import DatabaseUnavailable
    from geomap.wards import data as ward_data

    try:
        row = ward_data.ward_profile(bind if bind is not None else db.get_engine(), slug)
    except (DatabaseUnavailable, DBAPIError):  # no database (or one before 0014): no stored profiles
        return None
    if row is None:
        return None
    stored = dict(row["profile"] or {})
    raw = {k: v for k, v in stored.items() if k in PROFILE_KEYS}
    raw.update(slug=row["slug"], name=row["name"], province=row["province"], local_srid=int(row["local_srid"]),
               official_area_km2=float(row["official_area_km2"] or 0), population=int(row["population"] or 0),
               boundary_file="", boundary_name=row["name"], stored_boundary_wkb=row["boundary"])
    raw.setdefault("name_en", row["name"])
    raw.setdefault("residential_groups", 0)
    raw.setdefault("code_prefix", "")
    return from_mapping(raw)


def stored_boundary(slug: str, bind: Any = None) -> MultiPolygon:
    """The boundary stored with the loaded ward ``slug`` (WGS84)."""
    from geomap import db
    from geomap.wards import data as ward_data

    wkb = ward_data.stored_boundary(bind if bind is not None else db.get_engine(), slug)
    if wkb is None:
        raise BoundaryError(f"Ward '{slug}' has no boundary file and is not set up in the database; "
                            "run 'geomap ward create' with the ward's boundary file.")
    geom = shapely.from_wkb(wkb)
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def read_profile_file(path: Path | str, display_name: str | None = None) -> dict[str, Any]:
    """A ward's own profile file (TOML), checked, with the plan's defaults for what it leaves out.

    Unknown keys, indicators and report categories are refused (a typo must not pass silently);
    targets are shares between 0 and 1 by year.
    """
    path = Path(path)
    shown = display_name or path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileFileError(f"Không tìm thấy tệp hồ sơ phường {shown}.",
                               f"The ward profile file {shown} does not exist.", field="profile") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileFileError(f"Tệp hồ sơ phường {shown} không phải TOML hợp lệ ({exc}).",
                               f"The ward profile file {shown} is not valid TOML ({exc}).", field="profile") from None
    unknown = sorted(set(raw) - PROFILE_KEYS)
    if unknown:
        raise _bad(shown, ", ".join(unknown), "khóa không được hỗ trợ", "unknown keys")
    profile = {k: v for k, v in raw.items()}
    targets = {k: dict(v) for k, v in PLAN_DEFAULTS["targets"].items()}
    for indicator, milestones in (raw.get("targets") or {}).items():
        if indicator not in PLAN_DEFAULTS["targets"]:
            raise _bad(shown, f"targets.{indicator}", "chỉ tiêu không có trong kế hoạch",
                       "not an indicator of the plan")
        checked = {}
        for year, value in dict(milestones).items():
            try:
                y, v = int(year), float(value)
            except (TypeError, ValueError):
                raise _bad(shown, f"targets.{indicator}.{year}", "năm và tỷ lệ phải là số",
                           "year and share must be numbers") from None
            if not 2000 <= y <= 2100 or not 0 <= v <= 1:
                raise _bad(shown, f"targets.{indicator}.{year}", "tỷ lệ phải từ 0 đến 1 cho một năm từ 2000 đến 2100",
                           "a share from 0 to 1 for a year from 2000 to 2100")
            checked[y] = v
        targets[indicator] = checked
    profile["targets"] = targets
    from geomap.models import REPORT_CATEGORIES

    days = dict(PLAN_DEFAULTS["report_deadline_days"])
    for category, value in (raw.get("report_deadline_days") or {}).items():
        if category not in REPORT_CATEGORIES or not isinstance(value, int) or value < 1:
            raise _bad(shown, f"report_deadline_days.{category}", "cần một loại phản ánh đã biết và số ngày ≥ 1",
                       "a known report category and a whole number of days ≥ 1")
        days[category] = value
    profile["report_deadline_days"] = days
    weights = dict(raw.get("risk_weights") or {})
    if weights:
        from geomap.inspections.risk import RiskWeights

        try:
            RiskWeights.from_mapping(weights)
        except (ValueError, TypeError) as exc:
            raise _bad(shown, "risk_weights", str(exc), str(exc)) from None
    profile["risk_weights"] = weights
    months = raw.get("retention_months", RETENTION_MONTHS)
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        raise _bad(shown, "retention_months", "cần số tháng nguyên từ 1 đến 120", "a whole number of months, 1 to 120")
    for key in ("official_area_km2", "population", "residential_groups", "local_srid"):
        if key in raw and (not isinstance(raw[key], (int, float)) or raw[key] < 0):
            raise _bad(shown, key, "phải là một số không âm", "must be a non-negative number")
    return profile


def _bad(shown: str, key: str, vi: str, en: str) -> ProfileFileError:
    return ProfileFileError(f"Tệp hồ sơ phường {shown}, mục {key}: {vi}.",
                            f"Ward profile file {shown}, key {key}: {en}.", field="profile")


@functools.lru_cache(maxsize=32)
def load_boundary(boundary_file: str, name: str) -> MultiPolygon:
    path = config.DATA_DIR / boundary_file
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except FileNotFoundError as exc:
        raise BoundaryError(f"The ward boundary file {path} is missing; restore it from the repository.") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BoundaryError(f"The ward boundary file {path} is not valid GeoJSON ({exc}).") from exc
    matches = [f for f in features if (f.get("properties") or {}).get("name") == name]
    if not matches:
        raise BoundaryError(f"The boundary file {path} has no feature named '{name}'.")
    try:
        geom: BaseGeometry = shape(matches[0]["geometry"])
    except Exception as exc:  # shapely raises several types for broken GeoJSON
        raise BoundaryError(f"The boundary of '{name}' in {path} is corrupt ({exc}).") from exc
    if geom.is_empty or not isinstance(geom, (Polygon, MultiPolygon)) or not geom.is_valid:
        raise BoundaryError(f"The boundary of '{name}' in {path} is not a valid polygon.")
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
