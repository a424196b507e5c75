"""Coordinate reference systems: WGS84 and the ward's VN-2000 grid, from EPSG definitions.

Geometry is stored in EPSG:4326; exports and the OGC API offer it there or in the ward's
local grid (EPSG:5899, VN-2000 / TM-3 107-45, for Đà Nẵng). Every transformation comes
from PROJ's copy of the EPSG database (``Transformer.from_crs`` with EPSG codes), never a
hand-copied PROJ string: public code often gets the sign of the VN-2000 rotations wrong
(position-vector vs coordinate-frame convention), which moves points by about half a metre.
:func:`transformation_info` states which EPSG operation PROJ picked, so every export's
metadata can say it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.exceptions import CRSError
from pyproj.transformer import TransformerGroup

from geomap.errors import LocalizedError

WGS84 = 4326
#: WebMercatorQuad, the vector tiles' grid (OGC API – Tiles)
WEB_MERCATOR = 3857
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
_PATTERNS = (
    re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d{4,6})$"),
    re.compile(r"^urn:ogc:def:crs:EPSG::(\d{4,6})$", re.IGNORECASE),
)
_CRS84_NAMES = {CRS84_URI, "OGC:CRS84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84"}


class InvalidCRS(LocalizedError):
    """A CRS code that is malformed, unknown to EPSG or not offered for this ward."""

    both_in_str = True


def parse(code: str | int, allowed: set[int] | None = None) -> int:
    """The EPSG code of ``code`` (``5899``, ``"EPSG:5899"``, an OGC URI or CRS84 → 4326).

    CRS84 maps to 4326: the same datum and the same stored coordinates; only the axis
    order differs, which callers handle with :func:`is_lat_lon`.
    """
    text = str(code).strip()
    if text in _CRS84_NAMES:
        srid = WGS84
    else:
        srid = None
        for pattern in _PATTERNS:
            m = pattern.match(text)
            if m:
                srid = int(m.group(1))
                break
        if srid is None:
            raise InvalidCRS(f"'{text}' không phải mã hệ tọa độ; dùng EPSG:4326 hoặc lưới VN-2000 của phường, "
                             "ví dụ EPSG:5899.",
                             f"'{text}' is not a CRS code; use EPSG:4326 or the ward's VN-2000 grid, e.g. EPSG:5899.")
        try:
            CRS.from_epsg(srid)
        except CRSError:
            raise InvalidCRS(f"EPSG:{srid} không có trong danh mục hệ tọa độ EPSG.",
                             f"EPSG:{srid} is not a coordinate reference system known to EPSG.") from None
    if allowed is not None and srid not in allowed:
        offered = ", ".join(f"EPSG:{s}" for s in sorted(allowed))
        raise InvalidCRS(f"EPSG:{srid} không được hỗ trợ ở đây; chọn một trong {offered}.",
                         f"EPSG:{srid} is not offered here; choose one of {offered}.")
    return srid


def uri(srid: int, *, crs84: bool = False) -> str:
    """The OGC URI of ``srid`` (CRS84 for lon/lat WGS84 when ``crs84``)."""
    if srid == WGS84 and crs84:
        return CRS84_URI
    return _EPSG_URI.format(srid)


@functools.lru_cache(maxsize=64)
def is_lat_lon(srid: int) -> bool:
    """Does the EPSG definition put latitude/northing first (EPSG:4326 does; EPSG:5899 does not)?"""
    axis = CRS.from_epsg(srid).axis_info
    return bool(axis) and axis[0].direction in ("north", "south")


def name(srid: int) -> str:
    return CRS.from_epsg(srid).name


@functools.lru_cache(maxsize=32)
def transformer(src: int, dst: int) -> Transformer:
    """The EPSG transformation from ``src`` to ``dst`` (x = lon/easting, y = lat/northing).

    PROJ ranks the EPSG operations valid over the local CRS's area of use; we take its
    first choice as one concrete operation (``Transformer.from_crs`` alone may defer the
    choice to each point), so every coordinate uses the same, nameable operation. It is the
    one PostGIS's ``ST_Transform`` picks too (checked in the tests).
    """
    area = CRS.from_epsg(dst if dst != WGS84 else src).area_of_use
    aoi = AreaOfInterest(*area.bounds) if area is not None else None
    group = TransformerGroup(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True, area_of_interest=aoi)
    if not group.transformers:
        raise InvalidCRS(f"PROJ không có phép chuyển đổi từ EPSG:{src} sang EPSG:{dst}.",
                         f"PROJ has no transformation from EPSG:{src} to EPSG:{dst}.")
    return group.transformers[0]


def transformation_info(src: int, dst: int) -> dict[str, Any]:
    """What PROJ does between ``src`` and ``dst``: operation name, EPSG ids, accuracy, parameters.

    This is the text exports write into their metadata ("transformation used").
    """
    if src == dst:
        return {"source_crs": f"EPSG:{src}", "target_crs": f"EPSG:{dst}", "operation": "none (same CRS)"}
    t = transformer(src, dst)
    steps: list[dict[str, Any]] = []
    doc = json.loads(t.to_json())
    for step in doc.get("steps", [doc]):
        entry: dict[str, Any] = {"name": step.get("name")}
        ident = step.get("id")
        if ident:
            entry["id"] = f"{ident.get('authority')}:{ident.get('code')}"
        method = step.get("method") or {}
        if method.get("name"):
            entry["method"] = method["name"]
        params = step.get("parameters") or []
        if params:
            entry["parameters"] = {p["name"]: f"{p['value']} {_unit(p)}".strip() for p in params}
        steps.append(entry)
    return {
        "source_crs": f"EPSG:{src} ({name(src)})",
        "target_crs": f"EPSG:{dst} ({name(dst)})",
        "operation": t.description,
        "accuracy_m": t.accuracy if t.accuracy >= 0 else None,
        "steps": steps,
        "proj_pipeline": t.definition,
        "source": "EPSG dataset via PROJ " + _proj_version(),
    }


def summary(src: int, dst: int) -> str:
    """One line for people: the operation and its stated accuracy."""
    info = transformation_info(src, dst)
    acc = info.get("accuracy_m")
    helmert = [s["id"] for s in info.get("steps", [])
               if s.get("id") and "X-axis translation" in s.get("parameters", {})]
    where = f" [{', '.join(helmert)}]" if helmert else ""
    return f"{info['operation']}{where}" + (f", accuracy {acc} m" if acc else "")


def _unit(param: dict[str, Any]) -> str:
    unit = param.get("unit")
    if isinstance(unit, dict):
        return str(unit.get("name", ""))
    return str(unit or "")


def _proj_version() -> str:
    import pyproj

    return pyproj.proj_version_str
