"""A ward's boundary from the ward's own file: read, checked, taken to WGS84 (no database).

Reads GeoJSON, GeoPackage, Shapefile (a ``.zip`` holding one, or a ``.shp`` beside its
``.shx``/``.dbf``) and OpenStreetMap exports (``.osm``, ``.osm.pbf``: the administrative boundary
relations in them) with GDAL through pyogrio, in the file's CRS: WGS84, a VN-2000 grid, or any
CRS with an EPSG code. A file without a CRS is read as WGS84 when its coordinates fit Vietnam's
longitude/latitude box, as the province's VN-2000 grid when they fit that grid, and refused
otherwise. Each fault is one Vietnamese sentence naming the file and the feature:

- no feature, or only empty geometries;
- a feature that is not a polygon (a line, a point);
- a self-intersecting polygon (with the coordinate of the first crossing, from GEOS);
- swapped axes (latitude given as x): detected and said, never silently fixed;
- the wrong CRS stated (lon/lat in a file labelled VN-2000, metres in one labelled WGS84);
- a boundary far from Vietnam, or outside the province's 3° grid zone (wrong CRS or province).

Several features: when one of them is named like the ward (a ``name``/``ten`` column) it is the
boundary, as in a city's file of all its wards; features with different names are refused
(several wards in one file: which one is meant cannot be guessed); otherwise the features are
parts of one ward (a cadastral export cut by map sheet, an island) and are merged into one
multipolygon, and the preview says how many were merged.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from geomap import crs
from geomap.errors import LocalizedError
from geomap.text import fold
from geomap.wards.grid import HALF_ZONE_DEG, ProvinceGrid, epsg_for_meridian

#: Vietnam with its islands (Hoàng Sa, Trường Sa, Phú Quốc, Côn Đảo), lon/lat, a little generous
VIETNAM_BOX = (102.0, 6.0, 117.9, 23.5)
#: the mainland, where every ward's office is
MAINLAND_BOX = (102.1, 8.3, 109.5, 23.4)
#: VN-2000 TM-3 coordinates of Vietnam: eastings within a zone, northings from Cà Mau to Hà Giang
GRID_EASTING = (500000 - 200000, 500000 + 200000)
GRID_NORTHING = (600000, 2650000)
NAME_COLUMNS = ("name", "ten", "tên", "ten_phuong", "name_vi", "ward", "phuong")
SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".osm", ".pbf")
_SELF_INTERSECTION = re.compile(r"^(Ring )?Self-intersection\[\s*([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*\]")
_WHERE = re.compile(r"\[\s*([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*\]")


class BoundaryFileError(LocalizedError):
    """A boundary file geomap refuses, with one sentence naming the file and the feature."""


@dataclass
class Boundary:
    """A checked boundary in WGS84 and how it was read."""

    geom: MultiPolygon
    source: str                       # the file's name
    source_crs: int                   # EPSG code the coordinates were read in
    crs_guessed: bool                 # the file had no CRS
    features: int                     # features in the file
    merged: int                       # features merged into the boundary (1: one feature used)
    feature_name: str | None = None   # the feature picked by name
    notes: list[tuple[str, str]] = field(default_factory=list)   # (vi, en) said in the preview


def read_boundary(path: str | Path, grid: ProvinceGrid, *, ward_name: str | None = None,
                  feature: str | None = None, display_name: str | None = None) -> Boundary:
    """The checked boundary of the ward in ``path`` (WGS84), refusing anything doubtful.

    ``grid``: the province's VN-2000 grid (for a file without CRS and the zone check);
    ``ward_name``/``feature``: pick the feature of that name in a file of several wards;
    ``display_name``: the file name shown in messages (an upload's original name).
    """
    path = Path(path)
    shown = display_name or path.name
    frame = _read(path, shown)
    n = len(frame)
    if n == 0:
        raise BoundaryFileError(f"Tệp {shown} không có đối tượng nào; hãy xuất lại ranh giới phường.",
                                f"{shown} holds no feature; export the ward boundary again.")
    frame, picked = _pick_feature(frame, shown, ward_name, feature)
    geoms = list(frame.geometry)
    for i, geom in zip(frame.index, geoms, strict=True):
        _check_polygon(geom, shown, i + 1)
    source_crs, guessed = _source_crs(frame, shown, grid)
    if not guessed:
        _check_axes(geoms, source_crs, shown)
    for i, geom in zip(frame.index, geoms, strict=True):
        _check_valid(geom, shown, i + 1, source_crs)
    merged = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
    wgs84 = _to_wgs84(merged, source_crs)
    _check_place(wgs84, shown, grid, source_crs, guessed)
    polygons = [g for g in getattr(wgs84, "geoms", [wgs84]) if isinstance(g, Polygon) and not g.is_empty]
    result = MultiPolygon(polygons)
    if not result.is_valid:  # a transformation can make a near-touching ring cross itself
        result = shapely.make_valid(result)
        result = MultiPolygon([g for g in getattr(result, "geoms", [result]) if isinstance(g, Polygon)])
    boundary = Boundary(geom=result, source=shown, source_crs=source_crs, crs_guessed=guessed, features=n,
                        merged=len(geoms), feature_name=picked)
    if guessed:
        boundary.notes.append((
            f"Tệp không ghi hệ tọa độ; geomap đọc tọa độ theo {crs.name(source_crs)} (EPSG:{source_crs}) vì chúng "
            "nằm trong phạm vi của hệ này. Hãy xem bản đồ xem trước trước khi tạo phường.",
            f"The file states no CRS; geomap reads it as {crs.name(source_crs)} (EPSG:{source_crs}) because the "
            "coordinates fit it. Check the map preview before creating the ward."))
    if len(geoms) > 1:
        boundary.notes.append((f"{len(geoms)} đối tượng trong tệp được hợp nhất thành một ranh giới.",
                               f"{len(geoms)} features of the file were merged into one boundary."))
    return boundary


def _read(path: Path, shown: str) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(f"Không tìm thấy tệp ranh giới {shown}.", f"The boundary file {shown} does not exist.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BoundaryFileError(
            f"Tệp {shown} không phải GeoJSON, GeoPackage, Shapefile hay OpenStreetMap (.geojson, .gpkg, .shp, .zip "
            "chứa .shp, .osm, .osm.pbf).",
            f"{shown} is not GeoJSON, GeoPackage, Shapefile or OpenStreetMap (.geojson, .gpkg, .shp, a .zip holding "
            "a .shp, .osm, .osm.pbf).")
    source = str(path)
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                shp = [n for n in z.namelist() if n.lower().endswith(".shp")]
                members = {n.lower() for n in z.namelist()}
        except zipfile.BadZipFile:
            raise BoundaryFileError(f"Tệp {shown} không phải tệp .zip đọc được.",
                                    f"{shown} is not a readable .zip file.") from None
        if len(shp) != 1:
            raise BoundaryFileError(
                f"Tệp {shown} phải chứa đúng một Shapefile (.shp), nhưng có {len(shp)}.",
                f"{shown} must hold exactly one Shapefile (.shp); it holds {len(shp)}.")
        _check_siblings(shp[0], lambda ext: shp[0][:-4].lower() + ext in members, shown)
        source = f"/vsizip/{path}/{shp[0]}"
    elif suffix == ".shp":
        _check_siblings(path.name, lambda ext: any(path.with_suffix(e).exists() for e in (ext, ext.upper())), shown)
    layer = None
    if suffix == ".gpkg":
        layer = _gpkg_layer(path, shown)
    if suffix in (".osm", ".pbf"):
        return _read_osm(source, shown)
    try:
        return gpd.read_file(source, layer=layer, engine="pyogrio")
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise _unreadable(shown, exc) from None


def _unreadable(shown: str, exc: Exception) -> BoundaryFileError:
    reason = str(exc).splitlines()[0][:200]
    return BoundaryFileError(f"Không đọc được tệp {shown} ({reason}).", f"{shown} cannot be read ({reason}).")


def _read_osm(source: str, shown: str) -> gpd.GeoDataFrame:
    """The administrative boundaries of an OpenStreetMap export (``.osm``/``.osm.pbf``), by GDAL's OSM driver.

    Only relations tagged ``boundary=administrative`` count (an export around a ward also holds its
    buildings and parks); the ward's own one is then picked by name. Unsaved JOSM objects have
    negative ids, which GDAL reads only without its custom node index.
    """
    pyogrio.set_gdal_config_options({"OSM_USE_CUSTOM_INDEXING": "NO"})
    try:
        frame = gpd.read_file(source, layer="multipolygons", engine="pyogrio")
    except Exception as exc:
        raise _unreadable(shown, exc) from None
    finally:
        pyogrio.set_gdal_config_options({"OSM_USE_CUSTOM_INDEXING": None})
    if "boundary" not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame["boundary"] == "administrative"].reset_index(drop=True)


def _check_siblings(shp_name: str, has, shown: str) -> None:
    missing = [ext for ext in (".shx", ".dbf") if not has(ext)]
    if missing:
        names = ", ".join(missing)
        raise BoundaryFileError(
            f"Shapefile {shp_name} trong {shown} thiếu tệp đi kèm {names}; hãy gửi cả các tệp .shp, .shx, .dbf "
            "và .prj (tốt nhất nén chung thành một tệp .zip).",
            f"The Shapefile {shp_name} in {shown} lacks its {names}; send the .shp, .shx, .dbf and .prj together "
            "(best zipped into one .zip).")


def _gpkg_layer(path: Path, shown: str) -> str | None:
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise BoundaryFileError(f"Không đọc được GeoPackage {shown} ({exc}).",
                                f"The GeoPackage {shown} cannot be read ({exc}).") from None
    polygonal = [str(name) for name, kind in layers if kind and "polygon" in str(kind).lower()]
    if len(polygonal) == 1:
        return polygonal[0]
    if not polygonal and len(layers) == 1:
        return str(layers[0][0])  # let the geometry check say what it holds
    names = ", ".join(str(name) for name, _ in layers)
    raise BoundaryFileError(
        f"GeoPackage {shown} có {len(polygonal)} lớp vùng ({names}); hãy để lại đúng một lớp ranh giới phường.",
        f"The GeoPackage {shown} has {len(polygonal)} polygon layers ({names}); keep only the ward boundary layer.")


def _names(frame: gpd.GeoDataFrame) -> gpd.pd.Series | None:
    for col in frame.columns:
        if col != frame.geometry.name and fold(str(col)) in {fold(c) for c in NAME_COLUMNS}:
            return frame[col].astype("string")
    return None


def _pick_feature(frame: gpd.GeoDataFrame, shown: str, ward_name: str | None,
                  feature: str | None) -> tuple[gpd.GeoDataFrame, str | None]:
    names = _names(frame)
    if feature:
        if names is None:
            raise BoundaryFileError(f"Tệp {shown} không có cột tên (name/ten) để chọn đối tượng '{feature}'.",
                                    f"{shown} has no name column (name/ten) to pick the feature '{feature}' by.",
                                    field="feature")
        hit = frame[names.map(lambda v: fold(v or "")) == fold(feature)]
        if hit.empty:
            raise BoundaryFileError(f"Tệp {shown} không có đối tượng tên '{feature}'.",
                                    f"{shown} has no feature named '{feature}'.", field="feature")
        return hit, feature
    if len(frame) == 1 or names is None:
        return frame, None
    distinct = [v for v in dict.fromkeys(names.dropna()) if v]
    if ward_name:
        hit = frame[names.map(lambda v: fold(v or "")) == fold(ward_name)]
        if not hit.empty:
            return hit, ward_name
    if len(distinct) > 1:
        shown_names = ", ".join(distinct[:5]) + (", …" if len(distinct) > 5 else "")
        none_vi = f" và không có đối tượng nào tên '{ward_name}'" if ward_name else ""
        none_en = f" and none named '{ward_name}'" if ward_name else ""
        raise BoundaryFileError(
            f"Tệp {shown} có {len(frame)} đối tượng mang {len(distinct)} tên khác nhau ({shown_names}){none_vi}; "
            "hãy chọn đối tượng của phường (--feature) hoặc để lại một đối tượng.",
            f"{shown} has {len(frame)} features with {len(distinct)} different names ({shown_names}){none_en}; "
            "pick the ward's feature (--feature) or keep only one.", field="feature")
    return frame, None


def _check_polygon(geom: BaseGeometry | None, shown: str, number: int) -> None:
    if geom is None or geom.is_empty:
        raise BoundaryFileError(f"Đối tượng số {number} trong tệp {shown} không có hình học (rỗng).",
                                f"Feature {number} of {shown} has no geometry (empty).", row=number)
    if not isinstance(geom, (Polygon, MultiPolygon)):
        kind = geom.geom_type
        hint_vi = " (đường bao khép kín cần được lưu thành vùng)" if "Line" in kind else ""
        hint_en = " (a closed outline must be saved as a polygon)" if "Line" in kind else ""
        raise BoundaryFileError(
            f"Đối tượng số {number} trong tệp {shown} là {kind}, không phải vùng (Polygon){hint_vi}.",
            f"Feature {number} of {shown} is a {kind}, not a polygon{hint_en}.", row=number)


def _check_valid(geom: BaseGeometry, shown: str, number: int, source_crs: int) -> None:
    if geom.is_valid:
        return
    reason = explain_validity(geom)
    where = _WHERE.search(reason)
    at_vi = at_en = ""
    if where:
        x, y = float(where.group(1)), float(where.group(2))
        at = _describe_point(x, y, source_crs)
        at_vi, at_en = f" tại {at}", f" at {at}"
    if _SELF_INTERSECTION.match(reason):
        raise BoundaryFileError(
            f"Ranh giới (đối tượng số {number}) trong tệp {shown} tự cắt nhau{at_vi}; hãy sửa đường bao tại điểm đó.",
            f"The boundary (feature {number}) in {shown} intersects itself{at_en}; fix the outline there.",
            row=number)
    kind = reason.split("[")[0].strip()
    raise BoundaryFileError(
        f"Ranh giới (đối tượng số {number}) trong tệp {shown} không hợp lệ ({kind}){at_vi}.",
        f"The boundary (feature {number}) in {shown} is not a valid polygon ({kind}){at_en}.", row=number)


def _describe_point(x: float, y: float, source_crs: int) -> str:
    if CRS.from_epsg(source_crs).is_geographic:
        return f"({x:.6f}, {y:.6f})"
    lon, lat = crs.transformer(source_crs, crs.WGS84).transform(x, y)
    return f"({x:.2f}, {y:.2f}) EPSG:{source_crs} ≈ ({lon:.6f}, {lat:.6f})"


def _in_box(bounds: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return box[0] <= minx and maxx <= box[2] and box[1] <= miny and maxy <= box[3]


def _fits_grid(bounds: tuple[float, float, float, float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return (GRID_EASTING[0] <= minx and maxx <= GRID_EASTING[1]
            and GRID_NORTHING[0] <= miny and maxy <= GRID_NORTHING[1])


def _source_crs(frame: gpd.GeoDataFrame, shown: str, grid: ProvinceGrid) -> tuple[int, bool]:
    """The EPSG code the file's coordinates are in, and whether it was guessed (no CRS in the file)."""
    bounds = tuple(frame.total_bounds)
    if frame.crs is None:
        if _in_box(bounds, VIETNAM_BOX):
            return crs.WGS84, True
        if _fits_grid(bounds):
            return grid.epsg, True
        swapped = (bounds[1], bounds[0], bounds[3], bounds[2])
        if _in_box(swapped, VIETNAM_BOX) or _fits_grid(swapped):
            raise _swapped(shown)
        raise BoundaryFileError(
            f"Tệp {shown} không ghi hệ tọa độ và tọa độ ({bounds[0]:.6g}, {bounds[1]:.6g}) không giống kinh độ/vĩ độ "
            f"WGS84 ở Việt Nam hay lưới VN-2000 của {grid.province}; hãy xuất lại tệp kèm hệ tọa độ (.prj).",
            f"{shown} states no CRS and its coordinates ({bounds[0]:.6g}, {bounds[1]:.6g}) look like neither WGS84 "
            f"lon/lat in Vietnam nor the VN-2000 grid of {grid.province}; export it again with its CRS (.prj).")
    code = _epsg_of(frame.crs)
    if code is None:
        raise BoundaryFileError(
            f"Hệ tọa độ của tệp {shown} ({frame.crs.name}) không có mã EPSG; hãy lưu lại tệp theo WGS84 (EPSG:4326) "
            f"hoặc lưới VN-2000 của tỉnh (EPSG:{grid.epsg}).",
            f"The CRS of {shown} ({frame.crs.name}) has no EPSG code; save the file in WGS84 (EPSG:4326) or the "
            f"province's VN-2000 grid (EPSG:{grid.epsg}).")
    return code, False


def _epsg_of(file_crs: CRS) -> int | None:
    """The EPSG code of the file's CRS; a VN-2000 TM-3 .prj without one is matched by its meridian."""
    if file_crs.to_epsg(min_confidence=70) is not None:
        return int(file_crs.to_epsg(min_confidence=70))
    if file_crs.is_projected and "2000" in (file_crs.geodetic_crs.name if file_crs.geodetic_crs else ""):
        op = file_crs.coordinate_operation
        values = {p.name: p.value for p in (op.params if op else [])}
        lon0 = values.get("Longitude of natural origin")
        if lon0 is not None and math.isclose(float(values.get("Scale factor at natural origin", 0)), 0.9999) \
                and float(values.get("False easting", 0)) == 500000:
            try:
                return epsg_for_meridian(float(lon0))
            except LocalizedError:
                return None
    try:
        return CRS.from_user_input(file_crs).to_epsg(min_confidence=25)
    except CRSError:
        return None


def _swapped(shown: str) -> BoundaryFileError:
    return BoundaryFileError(
        f"Tọa độ trong tệp {shown} bị đảo trục (vĩ độ ghi vào chỗ kinh độ, hoặc tọa độ Bắc ghi vào chỗ tọa độ Đông); "
        "geomap không tự sửa: hãy xuất lại tệp với thứ tự x = kinh độ (Đông), y = vĩ độ (Bắc).",
        f"The coordinates in {shown} have their axes swapped (latitude given as longitude, or northing as easting); "
        "geomap does not fix this silently: export the file again with x = longitude (easting), y = latitude "
        "(northing).")


def _check_axes(geoms: list[BaseGeometry], source_crs: int, shown: str) -> None:
    """Refuse coordinates that land outside Vietnam as read but inside it with x and y exchanged, and a file
    whose stated CRS does not match its coordinates (lon/lat labelled as a grid, metres labelled as lon/lat)."""
    bounds = shapely.total_bounds(np.array(geoms, dtype=object))
    as_read = _wgs84_bounds(bounds, source_crs)
    if as_read is not None and _in_box(as_read, VIETNAM_BOX):
        return
    swapped = _wgs84_bounds((bounds[1], bounds[0], bounds[3], bounds[2]), source_crs)
    if swapped is not None and _in_box(swapped, VIETNAM_BOX):
        raise _swapped(shown)
    raw = tuple(float(b) for b in bounds)
    geographic = CRS.from_epsg(source_crs).is_geographic
    looks = ("kinh độ/vĩ độ WGS84", "WGS84 longitude/latitude") if not geographic and _in_box(raw, VIETNAM_BOX) \
        else ("tọa độ lưới VN-2000 (mét)", "VN-2000 grid coordinates (metres)") if geographic and _fits_grid(raw) \
        else None
    if looks is not None:
        raise BoundaryFileError(
            f"Tệp {shown} ghi hệ tọa độ EPSG:{source_crs} ({crs.name(source_crs)}) nhưng tọa độ trong tệp là "
            f"{looks[0]}; hãy gán lại đúng hệ tọa độ cho tệp (ví dụ trong QGIS) rồi xuất lại.",
            f"{shown} states EPSG:{source_crs} ({crs.name(source_crs)}) but its coordinates are {looks[1]}; assign "
            "the right CRS to the file (e.g. in QGIS) and export it again.")


def _wgs84_bounds(bounds, source_crs: int) -> tuple[float, float, float, float] | None:
    if source_crs == crs.WGS84:
        return tuple(float(b) for b in bounds)
    xs, ys = [bounds[0], bounds[2], bounds[0], bounds[2]], [bounds[1], bounds[1], bounds[3], bounds[3]]
    try:
        lon, lat = crs.transformer(source_crs, crs.WGS84).transform(xs, ys)
    except Exception:  # PROJ refuses coordinates far outside the grid
        return None
    if not all(math.isfinite(v) for v in (*lon, *lat)):
        return None
    return (min(lon), min(lat), max(lon), max(lat))


def _to_wgs84(geom: BaseGeometry, source_crs: int) -> BaseGeometry:
    if source_crs == crs.WGS84:
        return geom
    t = crs.transformer(source_crs, crs.WGS84)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def to_grid(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    """``geom`` (WGS84) in the VN-2000 grid ``epsg``, for measuring."""
    t = crs.transformer(crs.WGS84, epsg)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _km_from_box(lon: float, lat: float, box: tuple[float, float, float, float]) -> float:
    clon, clat = min(max(lon, box[0]), box[2]), min(max(lat, box[1]), box[3])
    dx = (lon - clon) * 111.32 * math.cos(math.radians((lat + clat) / 2))
    return math.hypot(dx, (lat - clat) * 110.57)


def _check_place(geom: BaseGeometry, shown: str, grid: ProvinceGrid, source_crs: int, guessed: bool) -> None:
    bounds = geom.bounds
    if not all(math.isfinite(b) for b in bounds) or not _in_box(bounds, VIETNAM_BOX):
        c = geom.centroid if all(math.isfinite(b) for b in bounds) else None
        where = f"({c.x:.4f}, {c.y:.4f})" if c is not None else "?"
        km = _km_from_box(c.x, c.y, MAINLAND_BOX) if c is not None else float("nan")
        raise BoundaryFileError(
            f"Ranh giới trong tệp {shown} nằm ngoài Việt Nam (tâm ở kinh độ, vĩ độ {where}, cách lãnh thổ khoảng "
            f"{km:,.0f} km) khi đọc theo EPSG:{source_crs}; có thể tệp ghi sai hệ tọa độ.",
            f"The boundary in {shown} lies outside Vietnam (centre at lon/lat {where}, about {km:,.0f} km away) "
            f"when read as EPSG:{source_crs}; the file may state the wrong CRS.")
    lon = geom.centroid.x
    if abs(lon - grid.meridian_deg) > HALF_ZONE_DEG:
        others = "; ".join(f"{name} {m}" for name, m in grid.others)
        extra_vi = f" Các tỉnh cũ khác của {grid.province}: {others}." if others else ""
        extra_en = f" Other former provinces of {grid.province}: {others}." if others else ""
        raise BoundaryFileError(
            f"Ranh giới trong tệp {shown} có tâm ở kinh độ {lon:.4f}°, ngoài múi 3° của kinh tuyến trục "
            f"{grid.meridian} ({grid.former_province}); kiểm tra lại tỉnh hoặc hệ tọa độ của tệp.{extra_vi}",
            f"The boundary in {shown} is centred at longitude {lon:.4f}°, outside the 3° zone of central meridian "
            f"{grid.meridian} ({grid.former_province}); check the province or the file's CRS.{extra_en}",
            field="province")
