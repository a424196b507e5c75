"""The SQL of the exports: the snapshot every export reads in, each layer's rows, the LIVES
inspections, and the GeoPackage's own SQLite tables (field titles and descriptions).

Layers are read through :func:`geomap.layer_reader.read` (its ``"bulk"`` geometry: object
columns and one vectorised WKB decode, most of the read time saved at 100,000 rows).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geomap import db, layer_reader
from geomap.users import Profile
from layers.base import Layer


@contextlib.contextmanager
def snapshot(bind: db.Bind) -> Iterator[Connection]:
    """One read-only, repeatable-read transaction: all layers of an export from the same moment.

    A Connection is used as it is (the caller's transaction is the snapshot).
    """
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            # view scans with per-row lookups get huge cost estimates; JIT compiling them only costs time
            conn.execute(sa.text("SET LOCAL jit = off"))
            yield conn


def read_layer(conn: Connection, layer: Layer, *, profile: Profile, ward_id: int | None) -> gpd.GeoDataFrame:
    """The layer's rows for ``profile`` (personal columns not even read in public), derived fields
    added, in EPSG:4326, in database-id order, geometries as stored (repaired by the caller)."""
    return layer_reader.read(conn, layer, profile=profile, ward_id=ward_id, geometry="bulk", sort=layer.id_field)


def food_safety_inspections(conn: Connection, ward_id: int) -> pd.DataFrame:
    """Every inspection of the ward's food-safety establishments: code, date, kind, result, violations."""
    return pd.read_sql(sa.text(
        "SELECT e.code AS business_id, i.inspected_on, i.kind, i.result, i.violations "
        "FROM inspection i JOIN establishment e ON e.id = i.establishment_id "
        "JOIN industry ind ON ind.vsic_code = e.vsic_code "
        "WHERE e.ward_id = :w AND ind.food_safety_applicable ORDER BY e.code, i.inspected_on"),
        conn, params={"w": ward_id})


def write_gpkg_data_columns(path: Path, rows: Sequence[tuple[str, str, str, str, str]]) -> None:
    """Field titles and descriptions in the GeoPackage's ``gpkg_data_columns`` (the schema extension).

    ``rows``: (table, column, name, title, description). The GeoPackage is SQLite; GDAL writes
    the rest of it.
    """
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT,
                extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
                CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""")
            con.execute("""CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL,
                column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT,
                constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
                CONSTRAINT gdc_tn UNIQUE (table_name, name))""")
            con.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, 'gpkg_schema', "
                        "'http://www.geopackage.org/spec/#extension_schema', 'read-write')")
            con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, "
                            "description) VALUES (?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
