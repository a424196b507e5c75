"""Exports for the city: registry layers to standard files, in WGS84 or the ward's VN-2000 grid.

``export(engine, layers=..., fmt="gpkg", profile="public", srid=5899, ward="hoa-cuong",
dest=folder)`` reads each layer once (one consistent snapshot), keeps only the fields the
profile allows (:mod:`geomap.export.selection`), repairs invalid geometries, reprojects
with the EPSG operation (:mod:`geomap.crs`) and writes one file (:mod:`geomap.export.writers`)
to a temporary name in the target folder, moved into place only when complete. Every
export carries a data dictionary and metadata (ward, layers, counts, CRS, transformation,
extraction time, source, licence). :func:`geomap.export.lives.export_lives` writes the
food-safety open-data feed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

import layers as layer_registry
from geomap import audit, auth, crs, db
from geomap.export import data
from geomap.export.selection import (
    ExportError,
    choose_layers,
    data_dictionary,
    metadata,
    prepare,
    shapefile_names,
)
from geomap.export.writers import WRITERS, Bundle, write_csv_table
from geomap.users import PROFILES, Profile, User
from geomap.wards import data as ward_data

__all__ = ["FORMATS", "PROFILES", "ExportError", "ExportResult", "export", "atomic_path", "check_name",
           "resolve_dest", "resolve_ward", "sweep"]

#: format key → (label, file suffix)
FORMATS: dict[str, tuple[str, str]] = {
    "gpkg": ("GeoPackage", ".gpkg"),
    "geojson": ("GeoJSON (RFC 7946, zip)", ".geojson.zip"),
    "shp": ("Shapefile (zip)", ".shp.zip"),
    "csv": ("CSV (zip)", ".csv.zip"),
    "xlsx": ("Excel (XLSX)", ".xlsx"),
    "parquet": ("GeoParquet (zip)", ".parquet.zip"),
}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    metadata: dict[str, Any]
    dictionary: pd.DataFrame


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """A temporary path next to ``dest``, moved onto ``dest`` only if the block succeeds.

    On failure the partial file (and SQLite side files) are removed: a failed export
    never leaves a file that looks complete.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file stands where a folder on the way must be
        raise ExportError(f"Không tạo được thư mục '{dest.parent}': đã có một tệp cùng tên trên đường dẫn.",
                          f"Cannot create the folder '{dest.parent}': a file of that name is in the way.") from None
    sweep(dest.parent)
    tmp = dest.with_name(f".partial-{os.getpid()}-{uuid.uuid4().hex[:10]}-{dest.name}")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm"),
                         tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


#: what an export writes before its file is complete: ``.partial-<pid>-<hex>-<name>`` (and SQLite's
#: ``-journal``/``-wal``/``-shm`` beside it) and the zip writers' ``.export-<pid>-<random>`` folders;
#: ``.partial-<hex>-<name>`` is the name before the process id was in it
_LEFTOVER = re.compile(r"^\.(?:partial-(?:(?P<pid>\d+)-)?[0-9a-f]{10}-|export-(?P<dirpid>\d+)-)")
#: a leftover of a process that still runs is another export in progress, unless it is this old
#: (its process id reused by an unrelated process) or, without a process id in its name, older than
_STALE_S, _STALE_UNNAMED_S = 24 * 3600.0, 15 * 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove what a killed export left in ``folder`` (see :data:`_LEFTOVER`): the temporary files of
    exports whose process is gone. Runs at the start of every export into that folder; returns what
    it removed. An export running in another process keeps its files."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m is None:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        pid = m.group("pid") or m.group("dirpid")
        if pid is not None:
            stale = int(pid) != os.getpid() and (not _alive(int(pid)) or age > _STALE_S)
        else:
            stale = age > _STALE_UNNAMED_S
        if not stale:
            continue
        path = Path(entry.path)
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
            removed.append(path)
    return removed


def check_name(path: Path, fmt: str, n_layers: int) -> str:
    """The writer for ``path``: a file's name says what it holds. A name with a suffix must end like the
    format's (``.gpkg``, ``.xlsx``, ``.zip`` for the zipped formats), else :class:`ExportError`; except
    ``--format csv --out x.csv`` with one layer, which writes that layer as one plain CSV file."""
    name = path.name.lower()
    suffix = FORMATS[fmt][1]
    if not path.suffix or name.endswith(suffix) or name.endswith(Path("x" + suffix).suffix):
        return fmt
    if fmt == "csv" and name.endswith(".csv"):
        if n_layers == 1:
            return "csv_table"
        raise ExportError(
            f"'{path.name}' sẽ là một tệp ZIP gồm {n_layers} tệp CSV (mỗi lớp một tệp, kèm từ điển dữ liệu), không "
            f"phải một tệp CSV: đặt tên kết thúc bằng {suffix}, hoặc chỉ chọn một lớp để có một tệp CSV.",
            f"'{path.name}' would be a ZIP archive of {n_layers} CSV files (one per layer, with the data "
            f"dictionary), not a CSV file: name it ending in {suffix}, or pick one layer to get one CSV file.")
    label = FORMATS[fmt][0]
    raise ExportError(
        f"Tên tệp '{path.name}' không khớp với định dạng {label}: hãy đặt tên kết thúc bằng {suffix} "
        "(hoặc chọn định dạng khớp với tên tệp).",
        f"The file name '{path.name}' does not match the {label} format: name it ending in {suffix} "
        "(or pick the format the name says).")


def resolve_dest(dest: Path | str, file_name: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """The file to write for ``dest``: ``dest`` itself, or ``file_name`` inside it when it is a folder.

    A folder is an existing directory, a path ending in a slash (``--out feed/``, created if
    missing), or a path whose name does not end in one of ``suffixes`` (None: has no suffix at
    all), so ``--out feed`` never becomes a new file called ``feed``. An existing file is the
    target whatever its name (replaced, as any named file is); named with a trailing slash, it
    raises :class:`ExportError`.
    """
    text = str(dest)
    path = Path(dest)
    name = path.name.lower()
    if path.exists() and not path.is_dir():
        if text.endswith(("/", os.sep)):
            raise ExportError(f"'{text}' là một tệp, không phải thư mục; bỏ dấu '/' ở cuối để ghi đè tệp đó "
                              "hoặc chọn thư mục khác.",
                              f"'{text}' is a file, not a folder; drop the trailing '/' to replace that file "
                              "or pick another folder.")
        return path
    as_folder = (path.is_dir() or text.endswith(("/", os.sep)) or name in ("", ".", "..")
                 or (not name.endswith(suffixes) if suffixes is not None else not path.suffix))
    return path / file_name if as_folder else path


def resolve_ward(conn: Connection, ward: str | None) -> dict[str, Any] | None:
    """The loaded ward ``ward`` (slug) as a mapping, or None for every loaded ward (``"*"``/None)."""
    if ward in (None, "", "*", "all"):
        return None
    row = ward_data.ward_by_slug(conn, ward)
    if row is None:
        raise ExportError(f"Chưa có dữ liệu phường '{ward}'; chạy 'geomap demo load --ward {ward}' "
                          "hoặc chọn phường khác.",
                          f"Ward '{ward}' is not loaded; run 'geomap demo load --ward {ward}' or pick a loaded ward.")
    return row


def offered_srids(conn: Connection, ward: dict[str, Any] | None) -> set[int]:
    """WGS84 and the local grid(s) of the ward (or of every loaded ward)."""
    if ward is not None:
        return {crs.WGS84, int(ward["local_srid"])}
    return {crs.WGS84, *ward_data.local_srids(conn)}


def default_name(ward: dict[str, Any] | None, profile: Profile, srid: int, fmt: str, now: dt.datetime) -> str:
    slug = ward["slug"] if ward else "all-wards"
    return f"geomap_{slug}_{profile}_epsg{srid}_{now:%Y%m%d-%H%M%S}{FORMATS[fmt][1]}"


def export(
    bind: db.Bind,
    *,
    layers: Iterable[str] | None = None,
    fmt: str = "gpkg",
    profile: Profile = "public",
    srid: int | str = crs.WGS84,
    ward: str | None = None,
    dest: Path | str = ".",
    now: dt.datetime | None = None,
    user: User | None = None,
) -> ExportResult:
    """Export registry ``layers`` (None: every layer the profile allows) to ``dest``.

    ``dest`` is a folder (a file name is made up) or a file path. ``srid`` is 4326 or the
    ward's local grid; GeoJSON is refused outside WGS84 (RFC 7946 allows nothing else).
    ``user`` is the staff user asking (None: the command line); the internal profile needs
    the ``export_internal`` permission, and every export is written to the audit log.
    """
    if profile == "internal":
        auth.require(user, "export_internal")
    if fmt not in FORMATS:
        raise ExportError(f"Không hỗ trợ định dạng '{fmt}'; dùng một trong {', '.join(FORMATS)}.",
                          f"Unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    chosen = choose_layers(layer_registry.registry(), list(layers) if layers is not None else None, profile)
    unsupported = [layer.name for layer in chosen if fmt not in layer.export_formats]
    if unsupported:
        raise ExportError(f"Lớp {', '.join(unsupported)} không xuất được sang {fmt}.",
                          f"Layer(s) {', '.join(unsupported)} cannot be exported as {fmt}.")
    probe = "x" + FORMATS[fmt][1]
    named = resolve_dest(dest, probe)
    if named.name != probe:  # a file named by the caller: its name is checked before anything is read
        check_name(named, fmt, len(chosen))
    now = now or dt.datetime.now(dt.UTC)
    with data.snapshot(bind) as conn:
        ward_row = resolve_ward(conn, ward)
        try:
            target = crs.parse(srid, offered_srids(conn, ward_row))
        except crs.InvalidCRS as exc:
            raise ExportError(exc.vi, exc.en) from None
        if fmt == "geojson" and target != crs.WGS84:
            raise ExportError(f"GeoJSON (RFC 7946) chỉ dùng WGS84; không xuất EPSG:{target} (không tự chuyển đổi). "
                              "Chọn EPSG:4326, hoặc GeoPackage cho lưới VN-2000.",
                              f"GeoJSON (RFC 7946) is WGS84 only; EPSG:{target} was refused, not reprojected. "
                              "Choose EPSG:4326, or GeoPackage for the VN-2000 grid.")
        frames, counts = {}, {}
        for layer in chosen:
            read = data.read_layer(conn, layer, profile=profile, ward_id=ward_row["id"] if ward_row else None)
            frames[layer.name], counts[layer.name] = prepare(read, layer, profile, target)
        database = conn.engine.url.database
    shp = None
    if fmt == "shp":
        shp = {name: shapefile_names([c for c in frame.columns if c != "geometry"]) for name, frame in frames.items()}
    dictionary = data_dictionary(chosen, profile, shp)
    meta = metadata(
        ward={k: ward_row[k] for k in ("slug", "name", "province")} if ward_row else None,
        layers=chosen, counts=counts, profile=profile, fmt=fmt, srid=target, crs_name=crs.name(target),
        transformation=crs.transformation_info(crs.WGS84, target),
        source=f"geomap PostGIS database '{database}' (tables/views: "
               + ", ".join(sorted({layer.source for layer in chosen})) + "); stored in EPSG:4326",
        extracted_at=now,
    )
    path = resolve_dest(dest, default_name(ward_row, profile, target, fmt, now))
    writer = WRITERS[fmt] if check_name(path, fmt, len(chosen)) == fmt else write_csv_table
    bundle = Bundle(layers=chosen, frames=frames, dictionary=dictionary, metadata=meta, srid=target)
    with atomic_path(path) as tmp:
        writer(tmp, bundle)
    _audit(bind, user, path, meta)
    return ExportResult(path=path, metadata=meta, dictionary=dictionary)


def _audit(bind: db.Bind, user: User | None, path: Path, meta: dict[str, Any]) -> None:
    """Who exported what: profile, format, CRS and per-layer counts (internal exports carry personal data)."""
    after = {"file": path.name, "profile": meta["profile"], "format": meta["format"], "crs": meta["crs"],
             "ward": meta["ward"].get("slug"), "layers": {x["name"]: x["features"] for x in meta["layers"]}}
    with db.transaction(bind) as conn:  # a Connection's open transaction: a savepoint inside it
        audit.record(conn, action="export", entity_type="export", entity_id=None, user=user, after=after)

