"""What a layer declaration is made of.

A :class:`Layer` says everything the rest of geomap needs to know about one map layer:
where its rows come from, its geometry, how it is drawn, what the popup shows, which
fields may be published, which filters the staff map offers and which export formats it
supports. The staff map, the public page, exports and the web API loop over the registry
(:mod:`layers`) and never name a layer in their own code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from geomap.users import Profile

ALL_EXPORT_FORMATS = ("gpkg", "geojson", "shp", "csv", "xlsx", "parquet")

#: attribution of layers whose geometry comes from (or is cut from) OpenStreetMap boundaries
OSM_ODBL = "© OpenStreetMap contributors, Open Database License (ODbL) 1.0, https://www.openstreetmap.org/copyright"


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    ``public``: may appear on the public QR page, in public exports and the public API.
    ``personal``: personal data (owner, ID number, phone...): never public, shown only to
    roles that need it. ``derived``: computed by the layer's ``derive`` function (statuses),
    not a column of the source. ``label``: an i18n key for a code list (``licence_status``
    → ``status.licence.valid`` ...), so values can be shown in Vietnamese or English.
    """

    name: str
    label_vi: str
    label_en: str
    kind: str = "text"  # text | int | float | date | datetime | bool | list
    public: bool = False
    personal: bool = False
    derived: bool = False
    codes: str | None = None
    description_vi: str = ""
    description_en: str = ""

    def __post_init__(self) -> None:
        if self.public and self.personal:
            raise ValueError(f"field {self.name!r} cannot be both public and personal")

    def label(self, lang: str = "vi") -> str:
        return self.label_vi if lang == "vi" else self.label_en


@dataclass(frozen=True)
class Style:
    """How features are drawn: one colour, or a colour per value of a field.

    ``palettes`` maps a field name to {value: colour}; the map may colour by any of them,
    ``color_by`` by default.
    """

    color: str = "#3388ff"
    color_by: str | None = None
    palettes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    radius: int = 5
    weight: float = 1.0
    fill_opacity: float = 0.5
    #: points whose ``hollow_field`` holds a value other than ``solid_values`` are drawn hollow and dashed
    #: (establishments placed approximately from their address: ``location_quality`` not ``exact``)
    hollow_field: str | None = None
    solid_values: tuple[str, ...] = ()

    def is_hollow(self, value: object) -> bool:
        """Is a point with this ``hollow_field`` value drawn hollow (approximate)?"""
        return self.hollow_field is not None and value is not None and value == value \
            and str(value) not in self.solid_values

    def color_for(self, value: object, by: str | None = None) -> str:
        by = by or self.color_by
        if by is None:
            return self.color
        return self.palettes.get(by, {}).get(str(value), self.color)


@dataclass(frozen=True)
class Filter:
    """A filter the staff map offers on a field: ``choice`` (multi-select) or ``search``."""

    field: str
    kind: str = "choice"


@dataclass(frozen=True)
class Layer:
    """One map layer, declared once in its own module under ``layers/``."""

    name: str
    title_vi: str
    title_en: str
    source: str
    geometry_type: str  # Point | LineString | Polygon | MultiPolygon | Geometry
    fields: tuple[Field, ...]
    style: Style = Style()
    popup: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    export_formats: tuple[str, ...] = ALL_EXPORT_FORMATS
    id_field: str = "id"
    #: a public field holding a stable, unique, non-sequential code (establishment code, report
    #: id, or a stored random ``public_id``): the feature id of the public profile (OGC API)
    #: instead of the database id, which public exports never carry. None: not in the public API.
    public_id_field: str | None = None
    #: a table with exactly one row per feature of ``source`` whose columns shared by name with
    #: ``source`` hold the same values: counted instead of a slow view (OGC ``numberMatched``)
    #: when every filtered column is one of them
    count_source: str | None = None
    geometry_column: str = "geom"
    #: column holding the ward id, used to load one ward (None: the source is not per ward)
    ward_column: str | None = "ward_id"
    #: a time column (for "time window" filters and the OGC API ``datetime`` parameter)
    temporal_field: str | None = None
    #: draw only from this zoom level on (parcels: only when zoomed in)
    min_zoom: int = 0
    #: cluster points on the map
    cluster: bool = False
    #: a table counting the point layer's ``count_source`` rows per vector-tile cell at every clustered zoom,
    #: kept by triggers (columns z, gx, gy, public, n, sx, sy, sid: migration 0027, ``establishment_cell``;
    #: ``public`` must be exactly :attr:`public_rows`): clustered tiles read it instead of every point
    cells: str | None = None
    default_visible: bool = True
    #: drawing order, low first (polygons under points)
    order: int = 100
    #: may this layer be published at all (public exports, public API)?
    publishable: bool = True
    #: an SQL condition on the rows of ``source`` (and of ``count_source``) that every public read adds,
    #: ``{id}`` standing for the id column: rows not yet published (an establishment added on site,
    #: waiting for a data officer's review) stay out of the public API, public exports and the QR page
    public_rows: str | None = None
    #: adds the ``derived`` fields to a frame read from ``source``
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    #: the stored fields ``derive`` reads (None: every non-personal stored field): a tile reads only these
    #: to compute its statuses
    derive_inputs: tuple[str, ...] | None = None
    #: licence / attribution the data carries with it (exports, the map), e.g. :data:`OSM_ODBL`
    attribution: str | None = None
    description_vi: str = ""
    description_en: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        unknown = [n for n in (*self.popup, *(f.field for f in self.filters), *(self.derive_inputs or ()))
                   if n not in names]
        if unknown:
            raise ValueError(f"layer {self.name!r}: popup/filter/derive input fields not declared: {unknown}")
        styled = {*self.style.palettes, *([self.style.color_by] if self.style.color_by else []),
                  *([self.style.hollow_field] if self.style.hollow_field else [])}
        if styled - set(names):
            raise ValueError(f"layer {self.name!r}: styled fields not declared: {styled - set(names)}")
        if len(set(names)) != len(names):
            raise ValueError(f"layer {self.name!r}: duplicate field names")
        if self.public_id_field is not None and not any(f.name == self.public_id_field and f.public
                                                        for f in self.fields):
            raise ValueError(f"layer {self.name!r}: public_id_field {self.public_id_field!r} is not a public field")

    def public_condition(self, id_sql: str) -> str:
        """:attr:`public_rows` for the id column written ``id_sql`` (``TRUE`` when every row is public)."""
        return f"({self.public_rows.format(id=id_sql)})" if self.public_rows else "TRUE"

    def title(self, lang: str = "vi") -> str:
        return self.title_vi if lang == "vi" else self.title_en

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        """Fields read from the source (not derived)."""
        return tuple(f for f in self.fields if not f.derived)

    @property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.public)

    @property
    def personal_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.personal)

    def fields_for(self, profile: Profile) -> tuple[Field, ...]:
        """The fields of an export/API ``profile``: ``public`` or ``internal``."""
        if profile == "public":
            return self.public_fields
        if profile == "internal":
            return self.fields
        raise ValueError(f"unknown profile {profile!r}; use 'public' or 'internal'")
