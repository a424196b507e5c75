"""The food-safety open-data feed in the LIVES layout (businesses, inspections, violations, feed_info).

LIVES (Local Inspector Value-Entry Specification) is the open format restaurant-inspection
data is published in; this writes its four CSV files in one zip, public profile only: an
establishment column goes out only if the layer registry marks it public (no phone, no
owner, no inspector name), and only establishments whose industry falls under food safety.
Dates are ``YYYYMMDD`` as the specification asks.

Like every export, the zip also carries ``data_dictionary.csv`` (Vietnamese and English
description of every column) and ``metadata.json`` (ward, files, row counts, CRS, extraction
time, source, licence), made by the same functions as the other exports: the four files are
described as (unregistered) layers, :func:`lives_files`. Each feed is written to the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

import layers as layer_registry
from geomap import config, crs, i18n, layer_reader, status
from geomap.export import _audit, atomic_path, data, resolve_dest, resolve_ward
from geomap.export.selection import ExportError, data_dictionary, metadata
from geomap.export.writers import Bundle, _zip
from geomap.users import User
from layers.base import Field, Layer

#: LIVES business column → establishment field (each must be public in the registry)
BUSINESS_COLUMNS = {"business_id": "code", "name": "name", "address": "address"}
#: our inspection kinds → LIVES inspection types
INSPECTION_TYPES = {"periodic": "routine", "unannounced": "routine", "complaint": "complaint",
                    "follow_up": "followup"}
FEED_VERSION = "2.0"
_YYYYMMDD_VI, _YYYYMMDD_EN = "dạng YYYYMMDD", "as YYYYMMDD"


def _f(name: str, label_vi: str, label_en: str, description_vi: str, description_en: str, kind: str = "text",
       codes: str | None = None) -> Field:
    return Field(name, label_vi, label_en, kind=kind, public=True, codes=codes,
                 description_vi=description_vi, description_en=description_en)


def _business_id() -> Field:
    return _f("business_id", "Mã cơ sở", "Business id", "Mã định danh cơ sở do phường cấp (như trong các tệp xuất "
              "và OGC API)", "Identifier issued by the ward (as in the other exports and the OGC API)")


def lives_files(layer: Layer) -> list[Layer]:
    """The four LIVES files as layers (not registered): their columns, in file order, with
    Vietnamese and English descriptions; the business columns taken from ``layer``'s registry fields."""
    taken = [dataclasses.replace(layer.field(src), name=out) for out, src in BUSINESS_COLUMNS.items()]
    wgs84 = "WGS84 (EPSG:4326), 7 chữ số thập phân", "WGS84 (EPSG:4326), 7 decimals"
    tables = {
        "businesses": ("Cơ sở thực phẩm (LIVES)", "Food businesses (LIVES)", "Point", (
            *taken,
            _f("city", "Tỉnh/thành phố", "City", "Tỉnh/thành phố của phường", "Province-level city of the ward"),
            _f("state", "Phường", "Ward", "Tên phường (LIVES 'state'; Việt Nam không có bang)",
               "The ward's name (LIVES 'state'; Vietnam has no states)"),
            _f("postal_code", "Mã bưu chính", "Postal code", "Để trống", "Left empty"),
            _f("latitude", "Vĩ độ", "Latitude", f"Vĩ độ {wgs84[0]}", f"Latitude, {wgs84[1]}", kind="float"),
            _f("longitude", "Kinh độ", "Longitude", f"Kinh độ {wgs84[0]}", f"Longitude, {wgs84[1]}", kind="float"),
        )),
        "inspections": ("Lượt kiểm tra ATTP (LIVES)", "Food-safety inspections (LIVES)", "None", (
            _business_id(),
            _f("score", "Điểm", "Score", "Để trống: kiểm tra ATTP ở Việt Nam không chấm điểm",
               "Left empty: Vietnamese food-safety inspections are not scored", kind="float"),
            _f("date", "Ngày kiểm tra", "Inspection date", f"Ngày kiểm tra, {_YYYYMMDD_VI}",
               f"Inspection date, {_YYYYMMDD_EN}"),
            # the file holds "vi / en" labels, not inspection_result codes: no code list for it
            _f("description", "Kết quả kiểm tra", "Result", "Kết quả: tiếng Việt / tiếng Anh",
               "Result: Vietnamese / English"),
            _f("type", "Loại kiểm tra", "Inspection type", "Loại kiểm tra theo LIVES",
               "Inspection type in the LIVES vocabulary", codes="lives_inspection_type"),
        )),
        "violations": ("Vi phạm ATTP (LIVES)", "Food-safety violations (LIVES)", "None", (
            _business_id(),
            _f("date", "Ngày kiểm tra", "Inspection date", f"Ngày kiểm tra phát hiện vi phạm, {_YYYYMMDD_VI}",
               f"Date of the inspection that found it, {_YYYYMMDD_EN}"),
            _f("code", "Mã vi phạm", "Violation code", "Mã lỗi vi phạm ATTP", "Food-safety violation code"),
            _f("description", "Nội dung vi phạm", "Violation", "Nội dung vi phạm như biên bản ghi (tiếng Việt)",
               "The violation as recorded (Vietnamese)"),
        )),
        "feed_info": ("Thông tin bộ dữ liệu (LIVES)", "Feed information (LIVES)", "None", (
            _f("feed_date", "Ngày lập", "Feed date", f"Ngày lập bộ dữ liệu, {_YYYYMMDD_VI}",
               f"Date the feed was made, {_YYYYMMDD_EN}"),
            _f("feed_version", "Phiên bản LIVES", "LIVES version", "Phiên bản đặc tả LIVES",
               "Version of the LIVES specification"),
            _f("municipality_name", "Đơn vị công bố", "Publisher", "Tên phường công bố dữ liệu",
               "The ward publishing the feed"),
            _f("municipality_url", "Trang web", "Website", "Trang công khai của phường", "The ward's public site"),
            _f("contact_email", "Thư điện tử liên hệ", "Contact e-mail", "Địa chỉ liên hệ về bộ dữ liệu",
               "Contact address for the feed"),
        )),
    }
    return [Layer(name=name, title_vi=vi, title_en=en, source=layer.source if name == "businesses" else "inspection",
                  geometry_type=geometry, fields=fields, export_formats=("lives",))
            for name, (vi, en, geometry, fields) in tables.items()]


def establishments_layer() -> Layer:
    """The registry layer whose source is the establishment overview (the food-safety businesses)."""
    for layer in layer_registry.registry().values():
        if layer.source == "establishment_overview":
            return layer
    raise ExportError("Không có lớp cơ sở kinh doanh (establishment_overview) để lập dữ liệu LIVES.",
                      "No layer reads establishment_overview; the LIVES feed needs the establishments layer.")


def _public_columns(layer: Layer) -> dict[str, str]:
    public = {f.name for f in layer.public_fields}
    missing = [src for src in BUSINESS_COLUMNS.values() if src not in public]
    if missing:
        raise ExportError(f"LIVES cần các trường công khai {', '.join(missing)} của lớp '{layer.name}'.",
                          f"LIVES needs public fields {', '.join(missing)} in layer '{layer.name}'.")
    return BUSINESS_COLUMNS


def _yyyymmdd(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return pd.Timestamp(value).strftime("%Y%m%d")


def _result_label(result: str) -> str:
    vi, en = (i18n.code_label("inspection_result", result, lang) for lang in ("vi", "en"))
    return f"{vi} / {en}"


def lives_tables(engine: Engine, ward: str, *, today: dt.date | None = None,
                 contact_email: str = "", municipality_url: str | None = None) -> dict[str, pd.DataFrame]:
    """The four LIVES tables for ``ward`` (a loaded ward slug)."""
    return _read(engine, ward, today=today, contact_email=contact_email, municipality_url=municipality_url)[1]


def _read(engine: Engine, ward: str, *, today: dt.date | None = None, contact_email: str = "",
          municipality_url: str | None = None) -> tuple[dict[str, Any], dict[str, pd.DataFrame], str]:
    """(ward row, the four tables, database name), read in one snapshot."""
    layer = establishments_layer()
    columns = _public_columns(layer)
    with data.snapshot(engine) as conn:
        database = conn.engine.url.database
        ward_row = resolve_ward(conn, ward)
        if ward_row is None:
            raise ExportError("Dữ liệu LIVES được công bố theo từng phường; hãy chọn một phường.",
                              "The LIVES feed is published per ward; name one ward.")
        frame = layer_reader.read(conn, layer, profile="public", ward_id=ward_row["id"], sort=layer.id_field,
                                  columns=[*columns.values(), "food_safety_applicable"])
        frame = frame[frame["food_safety_applicable"].fillna(False).astype(bool)]
        inspections = data.food_safety_inspections(conn, ward_row["id"])
    points = frame.geometry
    businesses = pd.DataFrame({
        **{out: frame[src].values for out, src in columns.items()},
        "city": ward_row["province"],
        "state": ward_row["name"],
        "postal_code": None,
        "latitude": points.y.round(7).values,
        "longitude": points.x.round(7).values,
    })
    insp = pd.DataFrame({
        "business_id": inspections["business_id"],
        "score": None,
        "date": inspections["inspected_on"].map(_yyyymmdd),
        "description": inspections["result"].map(_result_label),
        "type": inspections["kind"].map(INSPECTION_TYPES).fillna("routine"),
    })
    violations = pd.DataFrame([
        {"business_id": r.business_id, "date": _yyyymmdd(r.inspected_on), "code": v.get("code"),
         "description": v.get("text")}
        for r in inspections.itertuples() for v in (r.violations or []) if isinstance(v, dict)
    ], columns=["business_id", "date", "code", "description"])
    feed_info = pd.DataFrame([{
        "feed_date": (today or status.today()).strftime("%Y%m%d"),
        "feed_version": FEED_VERSION,
        "municipality_name": ward_row["name"],
        "municipality_url": municipality_url or config.PUBLIC_BASE_URL,
        "contact_email": contact_email,
    }])
    tables = {"businesses": businesses, "inspections": insp, "violations": violations, "feed_info": feed_info}
    return dict(ward_row), tables, str(database)


def export_lives(engine: Engine, ward: str, dest: Path | str, *, user: User | None = None,
                 now: dt.datetime | None = None, **kwargs: Any) -> Path:
    """Write the LIVES zip to ``dest`` atomically and return its path.

    ``dest`` is a ``.zip`` path, or a folder (existing or not; any path without ``.zip``, or
    ending in a slash) that gets ``lives_<ward>_<date>.zip``. Besides the four LIVES files the
    zip holds ``data_dictionary.csv`` and ``metadata.json`` like every export; ``user`` is
    who asked (None: the command line), written to the audit log.
    """
    ward_row, tables, database = _read(engine, ward, **kwargs)
    now = now or dt.datetime.now(dt.UTC)
    files = lives_files(establishments_layer())
    tables = {layer.name: tables[layer.name][[f.name for f in layer.fields]] for layer in files}
    meta = metadata(
        ward={k: ward_row[k] for k in ("slug", "name", "province")}, layers=files,
        counts={name: {"features": len(table)} for name, table in tables.items()},
        profile="public", fmt="lives", srid=crs.WGS84, crs_name=crs.name(crs.WGS84),
        transformation=crs.transformation_info(crs.WGS84, crs.WGS84),
        source=f"geomap PostGIS database '{database}' (establishment_overview, inspection, industry); "
               f"LIVES {FEED_VERSION} layout, food-safety businesses only; stored in EPSG:4326",
        extracted_at=now,
    )
    bundle = Bundle(layers=files, frames=tables, dictionary=data_dictionary(files, "public"), metadata=meta,
                    srid=crs.WGS84)

    def build(folder: Path) -> None:
        for name, table in tables.items():
            table.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")

    path = resolve_dest(dest, f"lives_{ward}_{status.today():%Y%m%d}.zip", (".zip",))
    with atomic_path(path) as tmp:
        _zip(tmp, build, bundle)
    _audit(engine, user, path, meta)
    return path
