"""What importing each base layer means: one :class:`LayerSpec` per kind, next to its columns.

The one import path (:mod:`geomap.importing.layer_plan`) reads these declarations: the table,
the layer of the registry the columns are drawn from, the key a row is matched on when the
file is imported again, the columns written, which shapes the layer takes, and the defaults
of a new row. What is particular to a layer (residential groups tiling the ward, parcel
numbers unique on a sheet, a stall inside a market, evidence of QR/POS use) is a check in
:mod:`geomap.importing.layer_plan` named by the spec's kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geomap.importing.columns import BASE_KINDS
from geomap.importing.geometry import LINEAR, POLYGONAL


@dataclass(frozen=True)
class LayerSpec:
    kind: str
    #: the layer of the registry (``layers/``) whose fields name the columns
    layer: str
    table: str
    #: values a row is matched on (folded: case and diacritics ignored), unique in the ward
    key: tuple[str, ...]
    #: table columns written from the row's values of the same name (an empty cell keeps the stored value)
    fields: tuple[str, ...]
    #: shapes the layer takes (shapely geometry types); points may also come as longitude/latitude
    shapes: tuple[str, ...]
    #: SQL of the stored geometry from the staged hex WKB ``t.geom``
    geom_sql: str = "ST_SetSRID(CAST(t.geom AS geometry), 4326)"
    #: every row has a shape (the stall's point is optional: the market's is used)
    geometry_required: bool = True
    #: other geometry columns among ``fields`` (staged as hex WKB)
    geometry_fields: tuple[str, ...] = ()
    #: value of a NOT NULL column on a new row when the file leaves it empty (SQL)
    insert_defaults: dict[str, str] = field(default_factory=dict)
    #: the table has ``ward_id`` (else it belongs to the ward through ``market``)
    ward_scoped: bool = True
    #: the code is unique across wards (a code of another ward is refused)
    global_code: bool = False
    has_updated_at: bool = True
    #: the column types of staged values that are not text
    types: dict[str, str] = field(default_factory=dict)


SPECS: dict[str, LayerSpec] = {s.kind: s for s in (
    LayerSpec("residential_groups", "residential_groups", "residential_group", key=("code",),
              fields=("code", "name", "population", "households"), shapes=("Polygon", "MultiPolygon", "Point"),
              geom_sql="ST_Multi(ST_SetSRID(CAST(t.geom AS geometry), 4326))", has_updated_at=False,
              types={"population": "int", "households": "int"}),
    LayerSpec("land_parcels", "land_parcels", "land_parcel", key=("map_sheet", "parcel_no"),
              fields=("map_sheet", "parcel_no", "land_use_code", "area_m2", "planning_zone"), shapes=("Polygon",),
              has_updated_at=False, types={"area_m2": "float8"}),
    LayerSpec("infrastructure", "infrastructure", "infrastructure", key=("code",),
              fields=("code", "kind", "condition", "checked_on", "installed_on"),
              shapes=("Point", *LINEAR), insert_defaults={"condition": "'working'"}, global_code=True,
              types={"checked_on": "date", "installed_on": "date"}),
    LayerSpec("public_facilities", "public_facilities", "public_facility", key=("kind", "name"),
              fields=("kind", "name", "address"), shapes=("Point",), has_updated_at=False),
    LayerSpec("markets", "markets", "market", key=("code",),
              fields=("code", "name", "address", "is_pilot_smart_market", "footprint"), shapes=("Point", "Polygon"),
              geometry_fields=("footprint",), insert_defaults={"is_pilot_smart_market": "false"}, global_code=True,
              types={"is_pilot_smart_market": "boolean"}),
    LayerSpec("stalls", "stalls", "stall", key=("market_id", "stall_no"),
              fields=("market_id", "stall_no", "zone", "trade", "holder_name", "holder_phone", "establishment_id",
                      "accepts_qr_pos"),
              shapes=("Point",), geometry_required=False, insert_defaults={"accepts_qr_pos": "false"},
              ward_scoped=False,
              types={"market_id": "int", "establishment_id": "int", "accepts_qr_pos": "boolean"}),
    LayerSpec("commercial_streets", "commercial_streets", "commercial_street", key=("code",),
              fields=("code", "name", "note"), shapes=(*LINEAR, *POLYGONAL)),
)}

assert tuple(SPECS) == BASE_KINDS, "every base kind has its spec, in the same order"

#: where stalls' QR/POS evidence goes (one row per stall and date seen)
EVIDENCE_FIELDS = ("stall_id", "method", "seen_on", "seen_by", "photo")
