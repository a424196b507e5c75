"""Setting up a ward from its own files: ``geomap ward create`` and the admins' "Phường" page.

:func:`plan_ward` reads and checks everything (the boundary file, the province's VN-2000 grid,
the profile file) and writes nothing: the dry run, and the preview of the page. :func:`create_ward`
writes the checked plan in one transaction (the grid's ``spatial_ref_sys`` row if PostGIS lacks
it, the ward row with its stored profile, an audit entry), checking again that the slug is free
and the boundary does not cover a loaded ward. SQL is in :mod:`geomap.wards.data`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry

from geomap import audit, db, i18n, profiles
from geomap.errors import LocalizedError
from geomap.text import clean_text, fold
from geomap.users import User
from geomap.wards import data as ward_data
from geomap.wards import grid as grids
from geomap.wards.boundary import Boundary, read_boundary, to_grid

#: a boundary sharing this much of its area with a loaded ward is that ward again (or the wrong file)
OVERLAP_REFUSED = 0.05
#: measured area this far from the official one is said in the preview
AREA_WARNING = 0.20
MIN_AREA_KM2 = 0.01
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
_UNIT_WORDS = ("phuong ", "xa ", "dac khu ", "thi tran ")

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "wardsetup.ward": ("Phường: {name} (mã {slug})", "Ward: {name} (slug {slug})"),
    "wardsetup.province": ("Tỉnh/thành phố: {province}", "Province/city: {province}"),
    "wardsetup.grid": ("Lưới tọa độ: {crs} (EPSG:{epsg}), kinh tuyến trục {meridian} của {former} cũ",
                       "Grid: {crs} (EPSG:{epsg}), central meridian {meridian} of former {former}"),
    "wardsetup.control": ("Điểm kiểm tra của lưới: đi và về sai {err:.1f} mm, độ lệch Đông giả định {fe:.3f} m",
                          "Grid control point: round trip off by {err:.1f} mm, false easting off by {fe:.3f} m"),
    "wardsetup.boundary": ("Ranh giới: {file}, đọc theo EPSG:{crs}{guessed}; {features} đối tượng trong tệp",
                           "Boundary: {file}, read as EPSG:{crs}{guessed}; {features} features in the file"),
    "wardsetup.guessed": (" (đoán, tệp không ghi hệ tọa độ)", " (guessed: the file states no CRS)"),
    "wardsetup.area": ("Diện tích đo trong lưới VN-2000: {area:.2f} km²",
                       "Area measured in the VN-2000 grid: {area:.2f} km²"),
    "wardsetup.area_official": ("Diện tích đo trong lưới VN-2000: {area:.2f} km² (số liệu chính thức "
                                "{official:.2f} km², lệch {diff:+.1f}%)",
                                "Area measured in the VN-2000 grid: {area:.2f} km² (official {official:.2f} km², "
                                "{diff:+.1f}%)"),
    "wardsetup.profile": ("Hồ sơ: {source}; dân số {population}, {groups} tổ dân phố",
                          "Profile: {source}; population {population}, {groups} residential groups"),
    "wardsetup.profile_defaults": ("mặc định của kế hoạch", "the plan's defaults"),
    "wardsetup.targets": ("Chỉ tiêu {indicator}: {milestones}", "Target {indicator}: {milestones}"),
    "wardsetup.unknown": ("chưa có", "not given"),
    "wardsetup.ind.digital_platform_share": ("Tỷ lệ cơ sở dùng nền tảng số (quản lý, bán hàng, thanh toán, HĐĐT)",
                                             "Share of businesses using digital platforms (management, sales, "
                                             "payment, e-invoice)"),
    "wardsetup.ind.digital_payment_share": ("Tỷ lệ cơ sở dùng thanh toán số", "Share of businesses paying digitally"),
    "wardsetup.ind.stall_qr_pos_share": ("Tỷ lệ quầy chợ chấp nhận QR/POS", "Share of market stalls accepting QR/POS"),
    "wardsetup.ind.digital_inspection_share": ("Tỷ lệ kiểm tra qua hệ thống số",
                                               "Share of inspections run digitally"),
    "wardsetup.created": ("Đã tạo phường {name} (mã {slug}, id {id}).", "Created ward {name} (slug {slug}, id {id})."),
    "wardsetup.dry_run": ("Chạy thử: chưa ghi gì vào cơ sở dữ liệu.", "Dry run: nothing written to the database."),
}


class WardSetupError(LocalizedError):
    """A ward that cannot be set up as asked (name, slug, province, profile, overlap)."""


@dataclass
class WardPlan:
    """Everything :func:`create_ward` writes, checked; what the dry run shows."""

    slug: str
    name: str
    grid: grids.ProvinceGrid
    boundary: Boundary
    area_km2: float
    official_area_km2: float
    population: int
    residential_groups: int
    profile: dict[str, Any]
    profile_source: str | None
    control: dict[str, float]
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def province(self) -> str:
        return self.grid.province

    def lines(self, lang: str = "vi") -> list[str]:
        """The preview, one line each, in ``lang``."""
        t = i18n.t
        b = self.boundary
        out = [
            t("wardsetup.ward", lang).format(name=self.name, slug=self.slug),
            t("wardsetup.province", lang).format(province=self.province),
            t("wardsetup.grid", lang).format(crs=self.grid.crs_name, epsg=self.grid.epsg, meridian=self.grid.meridian,
                                             former=self.grid.former_province),
            t("wardsetup.control", lang).format(err=self.control["roundtrip_error"] * 1000,
                                                fe=self.control["false_easting_error"]),
            t("wardsetup.boundary", lang).format(file=b.source, crs=b.source_crs, features=b.features,
                                                 guessed=t("wardsetup.guessed", lang) if b.crs_guessed else ""),
        ]
        if self.official_area_km2 > 0:
            diff = (self.area_km2 - self.official_area_km2) / self.official_area_km2 * 100
            out.append(t("wardsetup.area_official", lang).format(area=self.area_km2, official=self.official_area_km2,
                                                                 diff=diff))
        else:
            out.append(t("wardsetup.area", lang).format(area=self.area_km2))
        unknown = t("wardsetup.unknown", lang)
        out.append(t("wardsetup.profile", lang).format(
            source=self.profile_source or t("wardsetup.profile_defaults", lang),
            population=f"{self.population:,}".replace(",", ".") if self.population else unknown,
            groups=self.residential_groups or unknown))
        for indicator, milestones in self.profile["targets"].items():
            shown = ", ".join(f"{y}: {v:.0%}" for y, v in sorted(milestones.items()))
            out.append(t("wardsetup.targets", lang).format(indicator=t(f"wardsetup.ind.{indicator}", lang),
                                                           milestones=shown))
        out += [vi if lang == "vi" else en for vi, en in [*self.boundary.notes, *self.notes]]
        return out


def slug_for(name: str) -> str:
    """``"Phường Thạch Khôi"`` → ``"thach-khoi"``."""
    key = fold(name)
    for word in _UNIT_WORDS:
        if key.startswith(word):
            key = key[len(word):]
            break
    return re.sub(r"[^a-z0-9]+", "-", key).strip("-")[:64]


def plan_ward(bind: db.Bind, *, name: str, province: str | None, boundary_path: str | Path,
              profile_path: str | Path | None = None, slug: str | None = None, feature: str | None = None,
              boundary_name: str | None = None, profile_name: str | None = None) -> WardPlan:
    """Read and check a new ward; nothing is written. ``*_name``: the file names shown (uploads)."""
    name = clean_text(name)
    if not name:
        raise WardSetupError("Hãy ghi tên phường (ví dụ \"Phường Thạch Khôi\").",
                             "Give the ward's name (e.g. \"Phường Thạch Khôi\").", field="name")
    profile = (profiles.read_profile_file(profile_path, profile_name) if profile_path
               else json.loads(json.dumps(profiles.PLAN_DEFAULTS)))
    profile["targets"] = {k: {int(y): float(v) for y, v in t.items()} for k, t in profile["targets"].items()}
    shown_profile = (profile_name or Path(profile_path).name) if profile_path else None
    if profile.get("name") and fold(profile["name"]) != fold(name):
        raise WardSetupError(
            f"Tệp hồ sơ {shown_profile} là của {profile['name']}, không phải {name}.",
            f"The profile file {shown_profile} is {profile['name']}'s, not {name}'s.", field="profile")
    grid = _grid(clean_text(province or "") or profile.get("province", ""), profile, shown_profile)
    slug = (slug or profile.get("slug") or slug_for(name)).strip()
    if not _SLUG.match(slug):
        raise WardSetupError(
            f"Mã phường '{slug}' không hợp lệ: chỉ dùng chữ thường không dấu, số và dấu gạch ngang (ví dụ thach-khoi).",
            f"The ward slug '{slug}' is not valid: use lower-case letters without accents, digits and hyphens "
            "(e.g. thach-khoi).", field="slug")
    taken = ward_data.slug_taken(bind, slug)
    if taken is not None:
        raise _slug_taken(slug, taken)
    boundary = read_boundary(boundary_path, grid, ward_name=name, feature=feature, display_name=boundary_name)
    area = to_grid(boundary.geom, grid.epsg).area / 1e6
    if area < MIN_AREA_KM2:
        raise WardSetupError(
            f"Ranh giới trong tệp {boundary.source} chỉ rộng {area * 1e6:,.0f} m², quá nhỏ cho một phường; "
            "kiểm tra lại đơn vị và hệ tọa độ của tệp.",
            f"The boundary in {boundary.source} covers only {area * 1e6:,.0f} m², too small for a ward; check the "
            "file's units and CRS.")
    _refuse_overlap(bind, boundary)
    control = grids.control_check(grid.epsg)
    if control["roundtrip_error"] > 0.01 or control["false_easting_error"] > 0.001:
        raise grids.GridError(
            f"Lưới EPSG:{grid.epsg} không qua được điểm kiểm tra (sai {control['roundtrip_error']:.3f} m); "
            "báo quản trị hệ thống kiểm tra PROJ.",
            f"The grid EPSG:{grid.epsg} fails its control point (off by {control['roundtrip_error']:.3f} m); "
            "have PROJ checked.")
    official = float(profile.get("official_area_km2") or 0)
    plan = WardPlan(slug=slug, name=name, grid=grid, boundary=boundary, area_km2=area, official_area_km2=official,
                    population=int(profile.get("population") or 0),
                    residential_groups=int(profile.get("residential_groups") or 0), profile=profile,
                    profile_source=shown_profile, control=control)
    if official > 0 and abs(area - official) / official > AREA_WARNING:
        plan.notes.append((
            f"Diện tích đo được ({area:.2f} km²) lệch hơn {AREA_WARNING:.0%} so với số liệu chính thức "
            f"({official:.2f} km²): kiểm tra lại ranh giới trước khi tạo phường.",
            f"The measured area ({area:.2f} km²) is more than {AREA_WARNING:.0%} off the official figure "
            f"({official:.2f} km²): check the boundary before creating the ward."))
    if grid.others:
        others = "; ".join(f"{n} {m}" for n, m in grid.others)
        plan.notes.append((
            f"{grid.province} gồm nhiều tỉnh cũ có kinh tuyến trục khác nhau ({others}); geomap dùng {grid.meridian} "
            f"của {grid.former_province}. Nếu phường thuộc tỉnh cũ khác, ghi tên tỉnh cũ đó ở ô tỉnh.",
            f"{grid.province} merges former provinces with different central meridians ({others}); geomap uses "
            f"{grid.meridian} of {grid.former_province}. If the ward lies in another former province, give that "
            "province's name instead."))
    return plan


def _grid(province: str, profile: dict[str, Any], shown_profile: str | None) -> grids.ProvinceGrid:
    if not province:
        raise WardSetupError("Hãy ghi tỉnh/thành phố của phường (ví dụ \"Hải Phòng\").",
                             "Give the ward's province or city (e.g. \"Hải Phòng\").", field="province")
    grid = grids.resolve(province)
    former = profile.get("former_province")
    if former:
        by_former = grids.resolve(former)
        if by_former.province != grid.province:
            raise WardSetupError(
                f"Tệp hồ sơ {shown_profile} ghi tỉnh cũ {former}, thuộc {by_former.province}, "
                f"không thuộc {grid.province}.",
                f"The profile file {shown_profile} names the former province {former}, part of {by_former.province}, "
                f"not of {grid.province}.", field="province")
        grid = by_former
    if profile.get("province") and grids.resolve(profile["province"]).province != grid.province:
        raise WardSetupError(
            f"Tệp hồ sơ {shown_profile} ghi {profile['province']}, khác tỉnh đã chọn {grid.province}.",
            f"The profile file {shown_profile} names {profile['province']}, not {grid.province}.", field="province")
    srid = profile.get("local_srid")
    if srid and int(srid) != grid.epsg:
        raise WardSetupError(
            f"Tệp hồ sơ {shown_profile} ghi lưới EPSG:{srid} nhưng lưới VN-2000 của {grid.former_province} "
            f"(kinh tuyến trục {grid.meridian}) là EPSG:{grid.epsg}.",
            f"The profile file {shown_profile} names grid EPSG:{srid} but the VN-2000 grid of {grid.former_province} "
            f"(central meridian {grid.meridian}) is EPSG:{grid.epsg}.", field="profile")
    return grid


def _slug_taken(slug: str, name: str) -> WardSetupError:
    return WardSetupError(f"Đã có phường mang mã '{slug}' ({name}); chọn mã khác (--slug).",
                          f"A ward with slug '{slug}' ({name}) already exists; choose another slug (--slug).",
                          field="slug")


def _refuse_overlap(bind: db.Bind, boundary: Boundary) -> None:
    hits = ward_data.overlapping_wards(bind, shapely.to_wkb(boundary.geom), OVERLAP_REFUSED)
    if hits:
        top = hits[0]
        raise WardSetupError(
            f"Ranh giới trong tệp {boundary.source} trùng {top['share']:.0%} diện tích với {top['name']} (mã "
            f"{top['slug']}) đã có trong hệ thống; phường này đã được tạo, hoặc tệp không đúng.",
            f"The boundary in {boundary.source} shares {top['share']:.0%} of its area with {top['name']} (slug "
            f"{top['slug']}), already loaded; this ward exists already, or the file is the wrong one.")


def stored_profile(plan: WardPlan) -> dict[str, Any]:
    """What ``ward.profile`` keeps: the profile (targets by year as JSON keys) and where the boundary came from."""
    keep = {k: v for k, v in plan.profile.items()
            if k not in {"slug", "name", "province", "local_srid", "official_area_km2", "population",
                         "boundary_file", "boundary_name", "demo"}}
    keep["targets"] = {k: {str(y): v for y, v in t.items()} for k, t in plan.profile["targets"].items()}
    keep["residential_groups"] = plan.residential_groups
    keep["former_province"] = plan.grid.former_province
    keep.setdefault("name_en", plan.name)
    keep.setdefault("code_prefix", "".join(w[0] for w in plan.slug.split("-")).upper())
    b = plan.boundary
    keep["boundary_source"] = {"file": b.source, "epsg": b.source_crs, "crs_guessed": b.crs_guessed,
                               "features": b.features, "merged": b.merged, "feature": b.feature_name,
                               "area_km2": round(plan.area_km2, 4), "profile_file": plan.profile_source}
    return keep


def create_ward(bind: db.Bind, plan: WardPlan, user: User | None = None) -> int:
    """Write the checked ``plan`` in one transaction; the new ward's id."""
    with db.transaction(bind) as conn:
        taken = ward_data.slug_taken(conn, plan.slug)
        if taken is not None:
            raise _slug_taken(plan.slug, taken)
        _refuse_overlap(conn, plan.boundary)
        ward_data.ensure_srid(conn, plan.grid.epsg)
        profile = stored_profile(plan)
        ward_id = ward_data.insert_ward(conn, {
            "slug": plan.slug, "name": plan.name, "province": plan.province, "local_srid": plan.grid.epsg,
            "official_area_km2": plan.official_area_km2 or None, "population": plan.population or None,
            "profile": json.dumps(profile, ensure_ascii=False), "geom": shapely.to_wkb(plan.boundary.geom)})
        audit.record(conn, action="create", entity_type="ward", entity_id=ward_id, user=user,
                     after={"slug": plan.slug, "name": plan.name, "province": plan.province,
                            "local_srid": plan.grid.epsg, "boundary": profile["boundary_source"]})
    return ward_id


def list_wards(bind: db.Bind) -> list[dict[str, Any]]:
    """Every loaded ward with its area in its grid and whether it was set up from files."""
    return ward_data.ward_summaries(bind)


def show_ward(bind: db.Bind, slug: str) -> dict[str, Any]:
    """One loaded ward in full (row, area, extent, stored profile, rows per layer)."""
    found = ward_data.ward_details(bind, slug)
    if found is None:
        raise WardSetupError(f"Không có phường mang mã '{slug}'; xem danh sách bằng 'geomap ward list'.",
                             f"There is no ward with slug '{slug}'; see 'geomap ward list'.", field="slug")
    return found


def preview_map(plan: WardPlan, *, assets_url: str | None = None):
    """The outline of the planned ward on the project's base map (folium), with the loaded wards' outlines."""
    import folium

    from geomap.map import view as mapview

    bounds = plan.boundary.geom.bounds
    m = mapview.base_map(bounds, assets_url=assets_url)
    folium.GeoJson(shapely.geometry.mapping(plan.boundary.geom), name=plan.name,
                   style_function=lambda _f: {"color": "#d84315", "weight": 3, "fillOpacity": 0.08},
                   tooltip=f"{plan.name} — {plan.area_km2:.2f} km²").add_to(m)
    return m


def upload_to_file(folder: Path, filename: str, data: bytes) -> Path:
    """An uploaded file written under ``folder`` with its own (sanitised) name, suffix kept for GDAL."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name) or "upload"
    path = folder / safe
    path.write_bytes(data)
    return path
