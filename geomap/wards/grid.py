"""The local VN-2000 grid of a province: its TM-3 central meridian and the EPSG code PROJ gives it.

``data/vn2000_provinces.csv`` lists the 63 provinces of Circular 973/2001/TT-TCĐC with the
central meridian each uses, and the province each belongs to since the 1 July 2025 merger
(34 provinces and cities). A merged province takes by default the meridian of the former
province whose name it keeps (``default = 1``); a ward in another part of it (Phường Thạch Khôi,
once Hải Dương, now Hải Phòng) names its former province to get that one's meridian, which is
the grid its cadastral maps were drawn in.

The EPSG code of each meridian is looked up in PROJ's copy of the EPSG database, by name
("VN-2000 / TM-3 ...") and by the central meridian read from the CRS definition itself, never
written down here: :func:`control_check` takes a point through the grid and back and checks the
false easting, so a wrong code cannot pass silently. A meridian without an EPSG code is refused.
"""

from __future__ import annotations

import csv
import functools
import math
import re
from dataclasses import dataclass

from pyproj import CRS
from pyproj.database import query_crs_info
from pyproj.enums import PJType

from geomap import config, crs
from geomap.errors import LocalizedError
from geomap.text import fold

TABLE = config.DATA_DIR / "vn2000_provinces.csv"
#: TM-3 zones are 3° wide: a ward further than this from the meridian is not in the province's grid
HALF_ZONE_DEG = 1.5
_MERIDIAN = re.compile(r"^\s*(\d{3})\s*°\s*(\d{1,2})\s*['′]?\s*$")
_PREFIXES = ("thanh pho ", "tinh ", "tp. ", "tp.", "tp ")
_ALIASES = {"hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh"}


class GridError(LocalizedError):
    """A province geomap cannot place in a VN-2000 grid."""


@dataclass(frozen=True)
class ProvinceGrid:
    """The VN-2000 grid a ward of ``province`` is measured in."""

    province: str            # official name since 1 July 2025 ("Thành phố Hải Phòng")
    former_province: str     # the pre-merger province whose meridian this is ("Hải Dương")
    meridian: str            # as Circular 973 writes it: "105°30'"
    meridian_deg: float
    epsg: int
    #: the other former provinces of a merged province whose meridian differs: (name, meridian)
    others: tuple[tuple[str, str], ...] = ()

    @property
    def crs_name(self) -> str:
        return crs.name(self.epsg)


def parse_meridian(text: str) -> float:
    """``"105°45'"`` → 105.75."""
    m = _MERIDIAN.match(text)
    if not m or int(m.group(2)) >= 60:
        raise ValueError(f"not a meridian in degrees and minutes: {text!r}")
    return int(m.group(1)) + int(m.group(2)) / 60


def _key(name: str) -> str:
    key = fold(name).replace("-", " ").replace("–", " ")
    key = " ".join(key.split())
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):].strip()
            break
    return _ALIASES.get(key, key)


@functools.lru_cache(maxsize=1)
def table() -> tuple[dict[str, str], ...]:
    """The rows of ``data/vn2000_provinces.csv``."""
    with TABLE.open(encoding="utf-8", newline="") as f:
        return tuple(dict(r) for r in csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def tm3_codes() -> dict[float, int]:
    """Central meridian (degrees) → EPSG code of every VN-2000 / TM-3 grid in PROJ's database.

    Read from each CRS's own definition: a Transverse Mercator on the VN-2000 datum with scale
    0.9999 and false easting 500 000 m; the meridian is its "Longitude of natural origin".
    """
    found: dict[float, int] = {}
    for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS):
        if info.deprecated or not info.name.startswith("VN-2000 / TM-3"):
            continue
        code = int(info.code)
        params = _tm_params(CRS.from_epsg(code))
        if params is None or not math.isclose(params["k"], 0.9999) or params["fe"] != 500000:
            continue
        found.setdefault(round(params["lon0"], 6), code)
    return found


def _tm_params(grid: CRS) -> dict[str, float] | None:
    op = grid.coordinate_operation
    if op is None or "Transverse Mercator" not in (op.method_name or ""):
        return None
    values = {p.name: p.value for p in op.params}
    try:
        return {"lon0": float(values["Longitude of natural origin"]),
                "k": float(values["Scale factor at natural origin"]),
                "fe": float(values["False easting"]), "fn": float(values["False northing"])}
    except KeyError:
        return None


def epsg_for_meridian(meridian_deg: float, label: str | None = None) -> int:
    """The EPSG code of the VN-2000 TM-3 grid on ``meridian_deg``; refused when PROJ has none."""
    code = tm3_codes().get(round(meridian_deg, 6))
    if code is None:
        shown = label or f"{meridian_deg:g}°"
        raise GridError(
            f"Cơ sở dữ liệu EPSG của PROJ không có lưới VN-2000 / TM-3 kinh tuyến trục {shown}; geomap không tự đặt "
            "mã hệ tọa độ, hãy báo quản trị hệ thống.",
            f"PROJ's EPSG database has no VN-2000 / TM-3 grid on central meridian {shown}; geomap does not invent "
            "a CRS code: tell your system administrator.")
    return code


def meridian_of(epsg: int) -> float | None:
    """The central meridian of a VN-2000 / TM-3 grid (None for any other CRS)."""
    grid = CRS.from_epsg(epsg)
    if not grid.name.startswith("VN-2000 / TM-3"):
        return None
    params = _tm_params(grid)
    return params["lon0"] if params else None


def provinces() -> list[str]:
    """The 34 provinces and cities since 1 July 2025, in the table's order."""
    return list(dict.fromkeys(r["province"] for r in table()))


def resolve(province: str) -> ProvinceGrid:
    """The grid of ``province``: a current name (its default meridian) or a pre-merger one (its own).

    Matching ignores case, diacritics and a leading "Tỉnh"/"Thành phố"/"TP".
    """
    key = _key(province or "")
    rows = table()
    current = [r for r in rows if _key(r["province"]) == key]
    if current:
        row = next(r for r in current if r["default"] == "1")
    else:
        former = [r for r in rows if _key(r["former_province"]) == key]
        if not former:
            examples = ", ".join(_short(p) for p in provinces()[:6])
            raise GridError(
                f"Không nhận ra tỉnh/thành phố '{province}'; ghi tên một trong 34 tỉnh, thành phố hiện nay "
                f"(ví dụ {examples}) hoặc tên tỉnh trước sáp nhập.",
                f"'{province}' is not a province geomap knows; give one of the 34 current provinces and cities "
                f"(e.g. {examples}) or a province name from before the 2025 merger.", field="province")
        row = former[0]
    meridian = row["central_meridian"]
    deg = parse_meridian(meridian)
    others = tuple((r["former_province"], r["central_meridian"]) for r in rows
                   if r["province"] == row["province"] and r is not row
                   and parse_meridian(r["central_meridian"]) != deg)
    return ProvinceGrid(province=row["province"], former_province=row["former_province"], meridian=meridian,
                        meridian_deg=deg, epsg=epsg_for_meridian(deg, meridian), others=others)


def _short(official: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if official.startswith(prefix):
            return official[len(prefix):]
    return official


def control_check(epsg: int, lat: float = 16.0) -> dict[str, float]:
    """Take a point of the grid through PROJ and back: the residuals, in metres.

    ``false_easting_error``: a point on the central meridian on the grid's own datum (VN-2000
    geographic) must have easting 500 000 m. ``roundtrip_error``: a WGS84 point near the meridian
    taken to the grid and back with the EPSG transformation geomap uses must come back within a
    centimetre.
    """
    from pyproj import Transformer

    lon0 = meridian_of(epsg)
    if lon0 is None:
        raise GridError(f"EPSG:{epsg} không phải lưới VN-2000 / TM-3.", f"EPSG:{epsg} is not a VN-2000 / TM-3 grid.")
    base = CRS.from_epsg(epsg).geodetic_crs
    projection = Transformer.from_crs(base, CRS.from_epsg(epsg), always_xy=True)
    easting, _ = projection.transform(lon0, lat)
    lon, lat2 = lon0 + 0.2, lat + 0.1
    x, y = crs.transformer(crs.WGS84, epsg).transform(lon, lat2)
    back_lon, back_lat = crs.transformer(epsg, crs.WGS84).transform(x, y)
    metres_per_deg = 111_320.0
    err = math.hypot((back_lon - lon) * metres_per_deg * math.cos(math.radians(lat2)),
                     (back_lat - lat2) * metres_per_deg)
    return {"false_easting_error": abs(easting - 500000.0), "roundtrip_error": err, "easting": x, "northing": y}
