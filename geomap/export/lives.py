"""The food-safety open-data feed in the LIVES layout (businesses, inspections, violations, feed_info).

LIVES (Local Inspector Value-Entry Specification) is the open format restaurant-inspection
data is published in; this writes its four CSV files in one zip, public profile only: an
establishment column goes out only if the layer registry marks it public (no phone, no
owner, no inspector name), and only establishments whose industry falls under food safety.
Dates are ``YYYYMMDD`` as the specification asks.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import layers as layer_registry
from geomap import config, i18n, queries, status
from geomap.export import atomic_path, resolve_ward
from geomap.export.selection import ExportError
from layers.base import Layer

#: LIVES business column → establishment field (each must be public in the registry)
BUSINESS_COLUMNS = {"business_id": "code", "name": "name", "address": "address"}
#: our inspection kinds → LIVES inspection types
INSPECTION_TYPES = {"periodic": "routine", "unannounced": "routine", "complaint": "complaint",
                    "follow_up": "followup"}
FEED_VERSION = "2.0"


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
    layer = establishments_layer()
    columns = _public_columns(layer)
    with engine.connect() as conn:
        ward_row = resolve_ward(conn, ward)
        if ward_row is None:
            raise ExportError("Dữ liệu LIVES được công bố theo từng phường; hãy chọn một phường.",
                              "The LIVES feed is published per ward; name one ward.")
        frame = queries.read_layer(conn, layer, ward_id=ward_row["id"],
                                   columns=[*columns.values(), "food_safety_applicable"])
        frame = frame[frame["food_safety_applicable"].fillna(False).astype(bool)]
        inspections = pd.read_sql(sa.text(
            "SELECT e.code AS business_id, i.inspected_on, i.kind, i.result, i.violations "
            "FROM inspection i JOIN establishment e ON e.id = i.establishment_id "
            "JOIN industry ind ON ind.vsic_code = e.vsic_code "
            "WHERE e.ward_id = :w AND ind.food_safety_applicable ORDER BY e.code, i.inspected_on"),
            conn, params={"w": ward_row["id"]})
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
    return {"businesses": businesses, "inspections": insp, "violations": violations, "feed_info": feed_info}


def export_lives(engine: Engine, ward: str, dest: Path | str, **kwargs: Any) -> Path:
    """Write the LIVES zip to ``dest`` (a folder or a ``.zip`` path) atomically; return its path."""
    tables = lives_tables(engine, ward, **kwargs)
    path = Path(dest)
    if path.is_dir():
        path = path / f"lives_{ward}_{status.today():%Y%m%d}.zip"
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, table in tables.items():
            buf = io.StringIO()
            table.to_csv(buf, index=False)
            zf.writestr(f"{name}.csv", buf.getvalue().encode("utf-8"))
    return path
