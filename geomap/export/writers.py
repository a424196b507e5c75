"""Format writers: each takes a prepared :class:`Bundle` and writes one file at ``path``.

The caller (:func:`geomap.export.export`) hands them a temporary path in the target
folder and moves the finished file into place, so a writer never has to clean up.
GeoPackage holds everything in one file; the other formats are a zip of one file per
layer plus ``data_dictionary.csv`` and ``metadata.json`` (XLSX: extra sheets).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geomap import crs
from geomap.export import data
from geomap.export.selection import metadata_rows, shapefile_names
from layers.base import Layer

EXCEL_CELL_LIMIT = 32767


@dataclass
class Bundle:
    """Everything one export writes: frames by layer (registry order), dictionary, metadata."""

    layers: list[Layer]
    frames: dict[str, gpd.GeoDataFrame]
    dictionary: pd.DataFrame
    metadata: dict[str, Any]
    srid: int


def _ogr_geometry_type(layer: Layer, frame: gpd.GeoDataFrame) -> str:
    """The declared type, widened to Multi* when a repaired geometry became multi-part."""
    declared = layer.geometry_type
    if declared == "Geometry":
        return "Unknown"
    if not declared.startswith("Multi") and frame.geom_type.eq(f"Multi{declared}").any():
        return f"Multi{declared}"
    return declared


def _datetimes_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 text (for formats without time zones: DBF, CSV, Excel)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].map(lambda v: v.isoformat() if not pd.isna(v) else None).astype(object)
    return out


def _coordinate_columns(frame: gpd.GeoDataFrame, layer: Layer, srid: int) -> pd.DataFrame:
    """WKT for every feature, and x/y (lon/lat in WGS84) for point layers."""
    precision = 7 if srid == crs.WGS84 else 3
    geoms = frame.geometry.values
    out = pd.DataFrame(index=frame.index)
    if layer.geometry_type == "Point":
        xname, yname = ("lon", "lat") if srid == crs.WGS84 else ("x_easting", "y_northing")
        points = shapely.get_type_id(geoms) == 0
        out[xname] = pd.Series(shapely.get_x(geoms), index=frame.index).where(points).round(precision)
        out[yname] = pd.Series(shapely.get_y(geoms), index=frame.index).where(points).round(precision)
    out["wkt"] = shapely.to_wkt(geoms, rounding_precision=precision, trim=True)
    return out


def write_gpkg(path: Path, bundle: Bundle) -> None:
    """All layers in one GeoPackage, plus ``data_dictionary`` and ``export_metadata`` tables."""
    for layer in bundle.layers:
        frame = bundle.frames[layer.name]
        geometry_type = _ogr_geometry_type(layer, frame)
        pyogrio.write_dataframe(
            frame, path, layer=layer.name, driver="GPKG", use_arrow=True,
            geometry_type=geometry_type, promote_to_multi=geometry_type.startswith("Multi"),
            layer_options={"IDENTIFIER": f"{layer.title_vi} / {layer.title_en}",
                           "DESCRIPTION": layer.description_vi or layer.title_vi},
        )
    pyogrio.write_dataframe(bundle.dictionary.astype(str), path, layer="data_dictionary", driver="GPKG")
    pyogrio.write_dataframe(metadata_rows(bundle.metadata), path, layer="export_metadata", driver="GPKG")
    _gpkg_data_columns(path, bundle)


def _gpkg_data_columns(path: Path, bundle: Bundle) -> None:
    """Field titles and descriptions in ``gpkg_data_columns`` (the GeoPackage schema extension)."""
    rows = [(r.layer, r.field, r.field, f"{r.label_vi} / {r.label_en}", f"{r.description_vi} / {r.description_en}")
            for r in bundle.dictionary.itertuples()]
    data.write_gpkg_data_columns(path, rows)


def _zip(path: Path, build: Callable[[Path], None], bundle: Bundle) -> None:
    """Run ``build`` in a scratch folder next to ``path`` and zip what it wrote, with dictionary and metadata."""
    # named after this process: the next export in the folder removes it if a kill left it (export.sweep)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".export-{os.getpid()}-") as scratch:
        folder = Path(scratch)
        build(folder)
        bundle.dictionary.to_csv(folder / "data_dictionary.csv", index=False, encoding="utf-8-sig")
        (folder / "metadata.json").write_text(json.dumps(bundle.metadata, ensure_ascii=False, indent=2, default=str),
                                              encoding="utf-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.iterdir()):
                zf.write(file, file.name)


def write_geojson(path: Path, bundle: Bundle) -> None:
    """One RFC 7946 GeoJSON file per layer (WGS84 only; the caller refuses other CRSs)."""
    def build(folder: Path) -> None:
        for layer in bundle.layers:
            pyogrio.write_dataframe(bundle.frames[layer.name], folder / f"{layer.name}.geojson", driver="GeoJSON",
                                    use_arrow=True, layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})
    _zip(path, build, bundle)


_FAMILIES = {"point": ("Point", "MultiPoint"), "line": ("LineString", "MultiLineString"),
             "polygon": ("Polygon", "MultiPolygon")}


def write_shp(path: Path, bundle: Bundle) -> None:
    """Zipped Shapefiles: one per layer and geometry family, UTF-8 ``.cpg``, ``field_names.csv``."""
    mapping_rows = []

    def build(folder: Path) -> None:
        for layer in bundle.layers:
            frame = _datetimes_as_text(bundle.frames[layer.name])
            names = shapefile_names([c for c in frame.columns if c != "geometry"])
            mapping_rows.extend({"layer": layer.name, "shapefile_field": short, "field": full}
                                for full, short in names.items())
            frame = frame.rename(columns=names)
            types = frame.geometry.geom_type
            present = [fam for fam, kinds in _FAMILIES.items() if types.isin(kinds).any()]
            if not present:  # an empty layer, or only features without a location
                present = [next((f for f, k in _FAMILIES.items() if layer.geometry_type in k), "point")]
            for family in present:
                kinds = _FAMILIES[family]
                part = frame[types.isin(kinds) | (types.isna() & (family == present[0]))]
                stem = layer.name if len(present) == 1 else f"{layer.name}_{family}"
                pyogrio.write_dataframe(part, folder / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8",
                                        use_arrow=True,
                                        promote_to_multi=bool(part.geom_type.isin(kinds[1:]).any()),
                                        geometry_type=None if len(part) else kinds[0])
        pd.DataFrame(mapping_rows).to_csv(folder / "field_names.csv", index=False, encoding="utf-8-sig")

    _zip(path, build, bundle)


def _csv_table(bundle: Bundle, layer: Layer) -> pd.DataFrame:
    frame = bundle.frames[layer.name]
    return pd.concat([_datetimes_as_text(pd.DataFrame(frame.drop(columns="geometry"))),
                      _coordinate_columns(frame, layer, bundle.srid)], axis=1)


def write_csv(path: Path, bundle: Bundle) -> None:
    """One UTF-8 CSV per layer (with BOM, so Excel shows Vietnamese), WKT and lon/lat columns."""
    def build(folder: Path) -> None:
        for layer in bundle.layers:
            _csv_table(bundle, layer).to_csv(folder / f"{layer.name}.csv", index=False, encoding="utf-8-sig")
    _zip(path, build, bundle)


def write_csv_table(path: Path, bundle: Bundle) -> None:
    """One layer as one plain CSV file (``--out x.csv`` with one layer): the table alone, no dictionary."""
    (layer,) = bundle.layers
    _csv_table(bundle, layer).to_csv(path, index=False, encoding="utf-8-sig")


def write_xlsx(path: Path, bundle: Bundle) -> None:
    """One workbook: a sheet per layer (WKT, lon/lat), ``data_dictionary`` and ``metadata`` sheets.

    A WKT longer than an Excel cell holds (32,767 characters) is left empty and counted in
    the metadata sheet; use GeoPackage for such shapes.
    """
    too_long: dict[str, int] = {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for layer in bundle.layers:
            frame = bundle.frames[layer.name]
            coords = _coordinate_columns(frame, layer, bundle.srid)
            long = coords["wkt"].str.len() > EXCEL_CELL_LIMIT
            if long.any():
                too_long[layer.name] = int(long.sum())
                coords.loc[long, "wkt"] = None
            table = pd.concat([_datetimes_as_text(pd.DataFrame(frame.drop(columns="geometry"))), coords], axis=1)
            table.to_excel(writer, sheet_name=layer.name[:31], index=False)
        bundle.dictionary.to_excel(writer, sheet_name="data_dictionary", index=False)
        meta = metadata_rows(bundle.metadata)
        for name, n in too_long.items():
            meta.loc[len(meta)] = {"key": f"layers.{name}.wkt_too_long_for_excel", "value": str(n)}
        meta.to_excel(writer, sheet_name="metadata", index=False)


def write_parquet(path: Path, bundle: Bundle) -> None:
    """One GeoParquet file per layer (GeoParquet metadata with the CRS as PROJJSON)."""
    def build(folder: Path) -> None:
        for layer in bundle.layers:
            bundle.frames[layer.name].to_parquet(folder / f"{layer.name}.parquet", index=False)
    _zip(path, build, bundle)


WRITERS: dict[str, Callable[[Path, Bundle], None]] = {
    "gpkg": write_gpkg, "geojson": write_geojson, "shp": write_shp,
    "csv": write_csv, "xlsx": write_xlsx, "parquet": write_parquet,
}
