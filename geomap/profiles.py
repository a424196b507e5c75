"""Ward profiles: name, boundary, local VN-2000 grid and targets, from ``data/profiles/*.toml``."""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geomap import config
from geomap.errors import BoundaryError, UnknownWard


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
    demo: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, dict[int, float]] = field(default_factory=dict)
    report_deadline_days: dict[str, int] = field(default_factory=dict)
    #: points per inspection-risk reason (geomap.inspections.risk); empty: the defaults
    risk_weights: dict[str, Any] = field(default_factory=dict)
    #: inspectors may use the field app's survey mode here too (data officers always may)
    survey_by_inspectors: bool = False

    @property
    def local_crs(self) -> str:
        return f"EPSG:{self.local_srid}"

    def boundary(self) -> MultiPolygon:
        """The ward's boundary in WGS84, checked to be a valid, non-empty polygon."""
        return load_boundary(self.boundary_file, self.boundary_name)

    def target(self, indicator: str, year: int) -> float | None:
        """The target for ``indicator`` in force in ``year`` (the next milestone at or after it)."""
        milestones = self.targets.get(indicator, {})
        later = sorted(y for y in milestones if y >= year)
        return milestones[later[0]] if later else None


def profiles_dir() -> Path:
    return config.DATA_DIR / "profiles"


def available() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


@functools.lru_cache(maxsize=32)
def get(slug: str | None = None) -> WardProfile:
    """The profile of ward ``slug`` (default: ``GEOMAP_WARD``)."""
    slug = slug or config.DEFAULT_WARD
    path = profiles_dir() / f"{slug}.toml"
    if not path.exists():
        raise UnknownWard(f"There is no ward profile '{slug}'; known wards: {', '.join(available())}.")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["former_wards"] = tuple(raw.get("former_wards", ()))
    raw["targets"] = {k: {int(y): float(v) for y, v in t.items()} for k, t in raw.get("targets", {}).items()}
    return WardProfile(**raw)


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
