"""Reading an uploaded file into a table of raw cells, after checking what it really is.

The content decides the format, not the name: an XLSX is a ZIP holding ``xl/workbook.xml``,
a GeoPackage an SQLite file with application id ``GPKG``, GeoJSON a JSON object, CSV plain
text. The size is checked before anything is parsed. Cells stay as read (text, numbers,
dates); validation turns them into values.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geomap.errors import LocalizedError
from geomap.importing.columns import SHEETS, header_key, map_columns

#: Largest accepted upload, in megabytes (``GEOMAP_IMPORT_MAX_MB``). A 100,000-row XLSX of
#: establishments is about 8 MB; a CSV about 15 MB.
MAX_UPLOAD_MB: float = float(os.environ.get("GEOMAP_IMPORT_MAX_MB", "30"))

FORMATS = ("xlsx", "csv", "geojson", "gpkg")


class ImportFileError(LocalizedError):
    """The file cannot be read at all (wrong type, empty, too large, no header): the import
    message ``key`` (geomap/importing/messages.py) rendered with ``params`` in both languages."""

    def __init__(self, key: str, **params: object):
        from geomap.importing.messages import render

        self.key = key
        self.params = params
        super().__init__(render(key, params, "vi"), render(key, params, "en"))


@dataclass
class RawTable:
    """Cells of one sheet/layer: ``frame`` has the file's headers as columns."""

    frame: pd.DataFrame
    #: the row number a user sees (Excel/CSV line, or feature number) for each frame row
    row_numbers: list[int]
    format: str
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


def sniff(data: bytes, filename: str = "") -> str:
    """The format of ``data`` from its first bytes; :class:`ImportFileError` when not supported."""
    if not data or not data.strip():
        raise ImportFileError("file.empty", file=filename)
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile as exc:
            raise ImportFileError("file.corrupt", file=filename, detail=str(exc)) from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names:
            raise ImportFileError("file.ods", file=filename)
        raise ImportFileError("file.wrong_type", file=filename, found="ZIP")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("file.xls", file=filename)
    if data.startswith(b"SQLite format 3\x00"):
        if data[68:72] == b"GPKG" or b"gpkg_contents" in data[:1_000_000]:
            return "gpkg"
        raise ImportFileError("file.wrong_type", file=filename, found="SQLite")
    for magic, found in ((b"%PDF", "PDF"), (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
                         (b"\x1f\x8b", "gzip"), (b"Rar!", "RAR"), (b"7z\xbc\xaf", "7z"), (b"MZ", "EXE")):
        if head.startswith(magic):
            raise ImportFileError("file.wrong_type", file=filename, found=found)
    if b"\x00" in data[:4096]:
        raise ImportFileError("file.wrong_type", file=filename, found="binary")
    text = data[:4096].decode("utf-8-sig", errors="ignore").lstrip()
    if text.startswith("{"):
        return "geojson"
    if text.lower().startswith(("<!doctype", "<html", "<?xml")):
        raise ImportFileError("file.wrong_type", file=filename, found="HTML/XML")
    return "csv"


def check_size(size_bytes: int, filename: str = "", max_mb: float | None = None) -> None:
    """Refuse a file larger than the limit before reading it."""
    limit = MAX_UPLOAD_MB if max_mb is None else max_mb
    if size_bytes > limit * 1024 * 1024:
        raise ImportFileError("file.too_large", file=filename, size_mb=round(size_bytes / 1024 / 1024, 1),
                              limit_mb=limit)


def read_path(path: str | Path, kind: str, max_mb: float | None = None) -> RawTable:
    """:func:`read_bytes` for a file on disk (size checked before it is read)."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError("file.not_found", file=str(path))
    check_size(path.stat().st_size, path.name, max_mb)
    return read_bytes(path.read_bytes(), kind, path.name, max_mb)


def read_bytes(data: bytes, kind: str, filename: str = "", max_mb: float | None = None) -> RawTable:
    """The raw table of ``kind`` in ``data``, whatever its format."""
    check_size(len(data), filename, max_mb)
    fmt = sniff(data, filename)
    reader = {"xlsx": _read_xlsx, "csv": _read_csv, "geojson": _read_geo, "gpkg": _read_geo}[fmt]
    table = reader(data, kind, filename)
    table.format = fmt
    if table.frame.empty:
        raise ImportFileError("file.no_rows", file=filename)
    return table


def _header_row(rows: list[list[object]], kind: str) -> int:
    """Index of the header row among the first rows: the first that names two known columns."""
    for i, row in enumerate(rows[:15]):
        if len(map_columns(kind, list(row)).by_header) >= 2:
            return i
    return 0


def _table_from_rows(rows: list[list[object]], kind: str, filename: str, fmt: str, sheet: str | None) -> RawTable:
    rows = [r for r in rows]
    if not rows or not any(str(c).strip() for r in rows for c in r if c is not None):
        raise ImportFileError("file.empty", file=filename)
    h = _header_row(rows, kind)
    headers = [("" if c is None else str(c).strip()) for c in rows[h]]
    width = len(headers)
    body, numbers = [], []
    for i, r in enumerate(rows[h + 1:], start=h + 2):
        cells = [None if (c is None or (isinstance(c, str) and c.strip() == "")) else c for c in r[:width]]
        if all(c is None for c in cells):
            continue
        cells += [None] * (width - len(cells))
        body.append(cells)
        numbers.append(i)
    names = [hd or f"__col{j}" for j, hd in enumerate(headers)]
    frame = pd.DataFrame(body, columns=names, dtype=object)
    return RawTable(frame=frame, row_numbers=numbers, format=fmt, sheet=sheet)


def _read_xlsx(data: bytes, kind: str, filename: str) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise ImportFileError("file.corrupt", file=filename, detail=str(exc)) from exc
    names = wb.sheet_names
    wanted = {header_key(n) for n in SHEETS[kind]}
    sheet = next((n for n in names if header_key(n) in wanted), None)
    if sheet is None:  # the first sheet that looks like data of this kind
        for n in names:
            rows = wb.get_sheet_by_name(n).to_python(skip_empty_area=False, nrows=15)
            if any(len(map_columns(kind, list(r)).by_header) >= 2 for r in rows):
                sheet = n
                break
    sheet = sheet or names[0]
    rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    rows = [[None if c == "" else c for c in r] for r in rows]
    return _table_from_rows(rows, kind, filename, "xlsx", sheet)


def _decode(data: bytes, filename: str) -> str:
    for enc in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(enc)
            if enc == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                continue
            return text
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("cp1258")  # Windows Vietnamese, from old Excel "Save as CSV"
    except UnicodeDecodeError as exc:
        raise ImportFileError("file.encoding", file=filename) from exc


def _read_csv(data: bytes, kind: str, filename: str) -> RawTable:
    import csv

    text = _decode(data, filename)
    sample = text[:20000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    return _table_from_rows(rows, kind, filename, "csv", None)


def _read_geo(data: bytes, kind: str, filename: str) -> RawTable:
    import pyogrio

    if data.lstrip()[:1] == b"{":
        try:
            json.loads(data)
        except ValueError as exc:
            raise ImportFileError("file.corrupt", file=filename, detail=str(exc)) from exc
    try:
        layers = pyogrio.list_layers(io.BytesIO(data))
        layer = None
        if len(layers) > 1:
            wanted = {header_key(n) for n in (*SHEETS[kind], kind)}
            layer = next((str(n) for n, _ in layers if header_key(n) in wanted), str(layers[0][0]))
        gdf = pyogrio.read_dataframe(io.BytesIO(data), layer=layer)
    except Exception as exc:  # pyogrio/GDAL errors: report, never a traceback
        raise ImportFileError("file.corrupt", file=filename, detail=str(exc).splitlines()[0]) from exc
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name), dtype=object)
    notes: list[str] = []
    if len(gdf):
        geoms = gdf.geometry
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326 and gdf.crs.is_projected:
            notes.append(f"CRS {gdf.crs.to_string()} → EPSG:4326")
            geoms = geoms.to_crs(4326)
        values = np.asarray(geoms, dtype=object)  # one vectorised call (10,000 parcels: a fraction of a second)
        frame["wkt"] = np.where(shapely.is_missing(values) | shapely.is_empty(values), None,
                                shapely.to_wkt(values, rounding_precision=-1))
    frame = frame.astype(object).where(frame.notna(), None)
    return RawTable(frame=frame.reset_index(drop=True), row_numbers=list(range(1, len(frame) + 1)),
                    format="geo", sheet=layer if len(gdf) else None, notes=notes)
