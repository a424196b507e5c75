"""Profiles for city-scale demos: the real profiles plus generated ones for the other wards.

``geomap.profiles.get()`` stays the source for wards with a profile in ``data/profiles``.
For ``--scale N`` above 1 the demo also loads every other ward of the boundary file; their
profiles are generated here (slug from the name without diacritics, Đà Nẵng's VN-2000
grid, sizes in proportion to area) and exist only for the demo.
"""

from __future__ import annotations

import functools
import json

from geomap import config, profiles, text
from geomap.profiles import WardProfile

CITY_BOUNDARY_FILE = "boundaries/danang-wards-2025-osm.geojson"
#: establishments per km² for a generated ward at scale 1, and the floor per ward
GENERATED_DENSITY_PER_KM2 = 6.0
GENERATED_MIN_ESTABLISHMENTS = 300
#: residential groups per km² for a generated ward (Hòa Cường: 312 on 15.7 km²), clamped
GENERATED_GROUPS_PER_KM2 = 20.0


@functools.lru_cache(maxsize=4)
def _features(boundary_file: str) -> tuple[dict, ...]:
    path = config.DATA_DIR / boundary_file
    try:
        return tuple(json.loads(path.read_text(encoding="utf-8"))["features"])
    except (OSError, ValueError, KeyError):
        return ()  # profiles.load_boundary raises the readable BoundaryError


def osm_relation_id(profile: WardProfile) -> int | None:
    """The OpenStreetMap relation id of the ward's boundary feature, when it has one."""
    for f in _features(profile.boundary_file):
        props = f.get("properties") or {}
        if props.get("name") == profile.boundary_name and props.get("osm_type", "relation") == "relation":
            try:
                return int(props["osm_id"])
            except (KeyError, TypeError, ValueError):
                return None
    return None


def slug_for(name: str) -> str:
    """"Phường Hải Châu" -> "hai-chau", "Xã Bà Nà" -> "ba-na"."""
    words = text.fold(name).split()
    if words and words[0] in ("phuong", "xa", "thi", "dac"):
        words = words[1:]
    return "-".join(words)


def _prefix(name: str, taken: set[str]) -> str:
    words = text.fold(name).upper().split()[1:] or ["X"]
    base = "".join(w[0] for w in words)
    candidates = [base] + [base + w[i] for w in words[-1:] for i in range(1, len(w))] + [f"{base}{i}" for i in
                                                                                         range(2, 100)]
    for c in candidates:
        if c not in taken:
            return c
    raise ValueError(f"no free code prefix for {name}")


def generated_profile(boundary_name: str, area_km2: float, code_prefix: str,
                      boundary_file: str = CITY_BOUNDARY_FILE) -> WardProfile:
    """A demo profile for a ward with no profile file: sizes from its area, targets from the default ward."""
    default = profiles.get(config.DEFAULT_WARD)
    short = boundary_name.split(" ", 1)[-1]
    kind_en = "Commune" if boundary_name.startswith("Xã") else "Ward"
    establishments = max(GENERATED_MIN_ESTABLISHMENTS, int(round(area_km2 * GENERATED_DENSITY_PER_KM2)))
    groups = int(min(150, max(12, round(area_km2 * GENERATED_GROUPS_PER_KM2))))
    return WardProfile(
        slug=slug_for(boundary_name), name=boundary_name, name_en=f"{text.fold(short).title()} {kind_en}",
        province=default.province, boundary_name=boundary_name, boundary_file=boundary_file,
        local_srid=5899, official_area_km2=0.0, population=0, residential_groups=groups,
        code_prefix=code_prefix, former_wards=(),
        demo={"establishments": establishments, "markets": [f"Chợ {short}"], "stalls_per_market": 60},
        targets=default.targets, report_deadline_days=default.report_deadline_days,
    )


def city_profiles(boundary_file: str = CITY_BOUNDARY_FILE) -> list[WardProfile]:
    """A profile for every ward of the city boundary file: real ones first, then generated ones."""
    from pyproj import Geod
    from shapely.geometry import shape

    real = {p.boundary_name: p for p in (profiles.get(s) for s in profiles.available())
            if p.boundary_file == boundary_file}
    taken = {p.code_prefix for p in real.values()}
    geod = Geod(ellps="WGS84")
    out = list(real.values())
    for f in _features(boundary_file):
        name = (f.get("properties") or {}).get("name")
        if not name or name in real:
            continue
        area_km2 = abs(geod.geometry_area_perimeter(shape(f["geometry"]))[0]) / 1e6
        prefix = _prefix(name, taken)
        taken.add(prefix)
        out.append(generated_profile(name, area_km2, prefix, boundary_file))
    return out


#: a ward's weight in the city is its area, capped (mountain and forest wards are mostly empty),
#: and a commune (xã) counts for less than an urban ward (phường)
CITY_WEIGHT_AREA_CAP_KM2 = 20.0
COMMUNE_WEIGHT = 0.3


def city_shares(plan: list[WardProfile], total: float) -> dict[str, int]:
    """Establishments per ward when ``total`` are shared among the wards of ``plan``."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    weights = {}
    for p in plan:
        area_km2 = abs(geod.geometry_area_perimeter(p.boundary())[0]) / 1e6
        kind = COMMUNE_WEIGHT if p.name.startswith("Xã") else 1.0
        weights[p.slug] = kind * min(area_km2, CITY_WEIGHT_AREA_CAP_KM2)
    whole = sum(weights.values())
    return {slug: max(GENERATED_MIN_ESTABLISHMENTS, int(round(total * w / whole))) for slug, w in weights.items()}
