"""Pure export logic: which fields a profile may carry, their values, names and descriptions.

No I/O here. The readers and writers call these functions so that every format applies
the same rules: the *public* profile keeps only fields the registry marks ``public`` (so
personal data never leaves), the *internal* profile keeps everything; lists become
``;``-separated text; Shapefile names are shortened to 10 bytes with a mapping table.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geomap import crs, i18n
from geomap.errors import LocalizedError
from geomap.layer_reader import profile_fields
from geomap.users import PROFILES, Profile
from layers.base import Layer

LIST_SEPARATOR = ";"
DATE = pd.ArrowDtype(pa.date32())

#: Licence of the ward's own published data (public profile); override with GEOMAP_EXPORT_LICENCE.
PUBLIC_LICENCE: str = os.environ.get("GEOMAP_EXPORT_LICENCE", "CC-BY-4.0")
INTERNAL_NOTICE = (
    "Sử dụng nội bộ — có dữ liệu cá nhân, bảo vệ theo Nghị định 13/2023/NĐ-CP. "
    "Internal use only — contains personal data protected under Decree 13/2023/ND-CP."
)


class ExportError(LocalizedError):
    """An export request that cannot be met (unknown layer or format, bad CRS, empty selection)."""

    both_in_str = True


def choose_layers(registry: dict[str, Layer], names: Iterable[str] | None, profile: Profile) -> list[Layer]:
    """The layers to export, in registry order; all publishable ones when ``names`` is None."""
    if profile not in PROFILES:
        raise ExportError(f"Không có hồ sơ xuất '{profile}'; dùng 'public' (công khai) hoặc 'internal' (nội bộ).",
                          f"Unknown profile '{profile}'; use 'public' or 'internal'.")
    if names is None:
        chosen = [layer for layer in registry.values() if profile == "internal" or layer.publishable]
    else:
        wanted = [n.strip() for n in names if n and n.strip()]
        if not wanted:
            raise ExportError("Chưa chọn lớp dữ liệu nào; chọn ít nhất một: " + ", ".join(registry) + ".",
                              "No layer chosen; pick at least one of: " + ", ".join(registry) + ".")
        unknown = [n for n in wanted if n not in registry]
        if unknown:
            raise ExportError(f"Không có lớp {', '.join(unknown)}; các lớp hiện có: {', '.join(registry)}.",
                              f"Unknown layer(s) {', '.join(unknown)}; known layers: {', '.join(registry)}.")
        chosen = [layer for name, layer in registry.items() if name in wanted]
        if profile == "public":
            closed = [layer.name for layer in chosen if not layer.publishable]
            if closed:
                raise ExportError(f"Lớp {', '.join(closed)} không được công khai; dùng hồ sơ nội bộ.",
                                  f"Layer(s) {', '.join(closed)} may not be published; use the internal profile.")
    if not chosen:
        raise ExportError("Không có lớp nào được xuất với hồ sơ này.",
                          "The selection is empty: no layer may be exported with this profile.")
    return chosen


def prepare(frame: gpd.GeoDataFrame, layer: Layer, profile: Profile, srid: int
            ) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """A layer's rows (EPSG:4326, as read) ready to write in EPSG:``srid``, and counts for the metadata.

    Geometries invalid in the database are repaired with ``shapely.make_valid`` (structure
    method: a bow-tie polygon becomes a multipolygon, never a collection with stray lines;
    counted as ``invalid_geometries_fixed``), then reprojected with the EPSG operation
    (:func:`to_srid`); features without a location are kept with an empty geometry
    (``without_geometry``); only the profile's fields are kept (:func:`shape_frame`).
    """
    geoms = frame.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    fixed = int(invalid.sum())
    if fixed:
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    if srid != crs.WGS84:
        geoms = to_srid(np.asarray(geoms), crs.WGS84, srid)
    frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=gpd.GeoSeries(geoms, index=frame.index),
                             crs=f"EPSG:{srid}")
    out = shape_frame(frame, layer, profile)
    return out, {"features": len(out), "invalid_geometries_fixed": fixed,
                 "without_geometry": int((~present).sum())}


def to_srid(geoms: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Geometries transformed with the EPSG operation of :func:`geomap.crs.transformer`."""
    t = crs.transformer(src, dst)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, apply)


def _as_text_list(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def shape_frame(frame: gpd.GeoDataFrame, layer: Layer, profile: Profile) -> gpd.GeoDataFrame:
    """Only the profile's fields, in registry order, with export-friendly value types.

    Lists become ``;``-joined text, dates stay dates (``datetime.date``, written as Date
    fields), times are UTC-aware, booleans and integers nullable. The feature id is kept
    in the internal profile only (sequential ids say more than they should in public).
    """
    fields = profile_fields(layer, profile)
    keep = [f.name for f in fields if f.name in frame.columns]
    missing = [f.name for f in fields if f.name not in frame.columns]
    if missing:
        raise ExportError(f"Lớp '{layer.name}': trường {', '.join(missing)} được khai báo nhưng không có trong nguồn.",
                          f"Layer '{layer.name}': fields {', '.join(missing)} are declared but not in its source.")
    leading = [layer.id_field] if profile == "internal" and layer.id_field not in keep else []
    out = frame[leading + keep].copy()
    for f in fields:
        col = out[f.name]
        if f.kind == "list":
            out[f.name] = col.map(_as_text_list).astype(object)
        elif f.kind == "date":
            # Arrow date32 keeps the Date type in every writer, even for a column of nulls
            out[f.name] = pd.to_datetime(col, errors="coerce").astype("datetime64[s]").astype(DATE)
        elif f.kind == "datetime":
            out[f.name] = pd.to_datetime(col, errors="coerce", utc=True)
        elif f.kind == "bool":
            out[f.name] = col.astype("boolean")
        elif f.kind == "int":
            out[f.name] = pd.to_numeric(col, errors="coerce").astype("Int64")
        elif f.kind == "float":
            out[f.name] = pd.to_numeric(col, errors="coerce").astype("float64")
        else:
            out[f.name] = col.astype(object).where(col.notna(), None)
    return gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs)


def shapefile_names(names: Sequence[str], limit: int = 10) -> dict[str, str]:
    """Map each field name to a unique Shapefile name of at most ``limit`` bytes (ASCII names)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        candidate = name[:limit]
        n = 1
        while candidate.lower() in used:
            suffix = str(n)
            candidate = name[: limit - len(suffix)] + suffix
            n += 1
        used.add(candidate.lower())
        out[name] = candidate
    return out


def _codes_text(codes: str | None) -> str:
    values = i18n.CODES.get(codes or "", {})
    return "; ".join(f"{k} = {vi} / {en}" for k, (vi, en) in values.items())


def data_dictionary(layers: Sequence[Layer], profile: Profile, shp_names: dict[str, dict[str, str]] | None = None
                    ) -> pd.DataFrame:
    """One row per exported field: layer, name, type, Vietnamese and English label/description, codes."""
    rows = []
    for layer in layers:
        for f in profile_fields(layer, profile):
            row = {
                "layer": layer.name,
                "layer_title_vi": layer.title_vi,
                "layer_title_en": layer.title_en,
                "field": f.name,
                "type": f.kind + (f" ('{LIST_SEPARATOR}'-separated)" if f.kind == "list" else ""),
                "label_vi": f.label_vi,
                "label_en": f.label_en,
                "description_vi": f.description_vi or f.label_vi,
                "description_en": f.description_en or f.label_en,
                "code_values": _codes_text(f.codes),
                "derived": f.derived,
                "personal": f.personal,
            }
            if shp_names is not None:
                row["shapefile_field"] = shp_names.get(layer.name, {}).get(f.name, "")
            rows.append(row)
    return pd.DataFrame(rows)


def layer_licence(layer: Layer, profile: Profile) -> str:
    """The licence / attribution a layer carries: its own (ODbL for OpenStreetMap-derived data), else ours."""
    if layer.attribution:
        return layer.attribution
    return PUBLIC_LICENCE if profile == "public" else INTERNAL_NOTICE


def metadata(*, ward: dict[str, Any] | None, layers: Sequence[Layer], counts: dict[str, dict[str, int]],
             profile: Profile, fmt: str, srid: int, crs_name: str, transformation: dict[str, Any],
             source: str, extracted_at: dt.datetime) -> dict[str, Any]:
    """The export's metadata document (also written as a key/value table)."""
    return {
        "title": "Bản đồ số kinh doanh — dữ liệu xuất / Business digital map export",
        "ward": ward or {"slug": "*", "name": "all loaded wards"},
        "profile": profile,
        "format": fmt,
        "crs": f"EPSG:{srid}",
        "crs_name": crs_name,
        "transformation": transformation,
        "extracted_at": extracted_at.isoformat(timespec="seconds"),
        "source": source,
        "licence": PUBLIC_LICENCE if profile == "public" else INTERNAL_NOTICE,
        "layers": [
            {"name": layer.name, "title_vi": layer.title_vi, "title_en": layer.title_en,
             "geometry_type": layer.geometry_type, "licence": layer_licence(layer, profile),
             **counts.get(layer.name, {})}
            for layer in layers
        ],
        "attribution": sorted({layer.attribution for layer in layers if layer.attribution}),
        "personal_data": "none (public profile: only fields the layer registry marks public)" if profile == "public"
        else INTERNAL_NOTICE,
    }


def metadata_rows(meta: dict[str, Any]) -> pd.DataFrame:
    """The metadata as a two-column key/value table (for GeoPackage, XLSX and CSV bundles)."""
    import json

    rows = []
    for key, value in meta.items():
        if key == "layers":
            for layer in value:
                for k, v in layer.items():
                    if k != "name":
                        rows.append({"key": f"layers.{layer['name']}.{k}", "value": str(v)})
        elif isinstance(value, (dict, list)):
            rows.append({"key": key, "value": json.dumps(value, ensure_ascii=False)})
        else:
            rows.append({"key": key, "value": str(value)})
    return pd.DataFrame(rows)
