"""Addresses without coordinates: the ward's named streets and placing addresses on them.

- :mod:`~geomap.addresses.parse` — Vietnamese addresses taken apart (house, kiệt/hẻm chain, street, group, ward)
- :mod:`~geomap.addresses.place` — the placement in order of trust (address → street → group), pure
- :mod:`~geomap.addresses.streets` — reading an OSM extract or the ward's street file into streets and alleys
- :mod:`~geomap.addresses.geocoder` — the optional Nominatim-compatible geocoder (``GEOMAP_GEOCODER_URL``)
- :mod:`~geomap.addresses.messages` — what they say (``addr.*``)
- :mod:`~geomap.addresses.data` — all of their SQL

Services: :func:`import_streets` (``geomap import streets FILE``), :func:`place_ward` (``geomap places``),
:func:`gazetteer` + :func:`place_rows` (the establishments import places its rows without coordinates).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from geomap import auth, config, crs, db
from geomap.addresses import data
from geomap.addresses.messages import render
from geomap.addresses.parse import ParsedAddress, parse
from geomap.addresses.place import QUALITIES, Gazetteer, Group, Known, Placement, Way
from geomap.addresses.streets import StreetPlan, plan_streets, read_ways
from geomap.errors import UnknownWard
from geomap.users import User
from geomap.wards import data as ward_data

__all__ = ["QUALITIES", "Gazetteer", "ParsedAddress", "Placement", "PlacementReport", "StreetPlan", "gazetteer",
           "import_streets", "learn", "parse", "place_rows", "place_ward"]


def _ward(bind: db.Bind, ward_id: int) -> dict[str, Any]:
    row = ward_data.ward_by_id(bind, ward_id, boundary=True)
    if row is None:
        raise UnknownWard(f"Ward {ward_id} is not loaded in the database.")
    return row


def _require(user: User | None, ward_id: int) -> None:
    from geomap.records import edit

    auth.require(user, "import_records")
    edit.check_scope(user, ward_id)


# --- streets -------------------------------------------------------------------------------------


def import_streets(bind: db.Bind, path: str | Path, *, ward_id: int, dry_run: bool = False,
                   user: User | None = None) -> StreetPlan:
    """Read the street file and (unless ``dry_run``) make its named ways the ward's streets, all or nothing.

    The ward's previous streets are replaced in the same transaction; a file with an error writes nothing.
    """
    _require(user, ward_id)
    ward = _ward(bind, ward_id)
    path = Path(path)
    plan = plan_streets(read_ways(path), ward["boundary"], ward["local_srid"], path.name, ward["name"])
    if dry_run or plan.blocked:
        return plan
    with db.transaction(bind) as conn:
        data.replace_streets(conn, ward_id, plan.rows, path.name)
    return plan


# --- placing -------------------------------------------------------------------------------------


class _Grid:
    """WGS84 <-> the ward's local grid, for whole arrays."""

    def __init__(self, srid: int):
        self.to_local = crs.transformer(4326, srid)
        self.to_wgs = crs.transformer(srid, 4326)

    def local(self, geom):
        return shapely.transform(geom, lambda xy: _apply(self.to_local, xy))

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self.to_wgs.transform(x, y)
        return float(lon), float(lat)


def _apply(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


@dataclass
class WardGazetteer:
    gazetteer: Gazetteer
    grid: _Grid
    bbox: tuple[float, float, float, float]
    ward_name: str
    province: str


def gazetteer(bind: db.Bind, ward_id: int) -> WardGazetteer:
    """What the ward knows for placing addresses: its streets, exactly placed addresses and groups."""
    import numpy as np

    ward = _ward(bind, ward_id)
    grid = _Grid(ward["local_srid"])
    ways = [Way(r["name"], r["name_key"], r["street_key"], r["alley"], r["kind"], grid.local(r["geom"]))
            for r in data.streets(bind, ward_id)]
    placed = data.placed_exactly(bind, ward_id)
    known: list[Known] = []
    if placed:
        x, y = grid.to_local.transform(np.array([p["lon"] for p in placed]), np.array([p["lat"] for p in placed]))
        known = [Known(p["code"], p["address"], float(a), float(b)) for p, a, b in zip(placed, x, y, strict=True)]
    groups = [Group(r["id"], r["code"], r["name"], grid.local(r["geom"]), r["former_ward"])
              for r in data.groups(bind, ward_id)]
    return WardGazetteer(Gazetteer(ways, known, groups), grid, tuple(ward["boundary"].bounds), ward["name"],
                         ward.get("province") or "")


def learn(wg: WardGazetteer, rows: list[dict[str, Any]]) -> None:
    """Add rows with exact coordinates (``lon``/``lat``, e.g. other rows of the file being imported) to what the
    gazetteer knows, so rows without coordinates can be placed at or between them."""
    for row in rows:
        x, y = wg.grid.to_local.transform(row["lon"], row["lat"])
        wg.gazetteer.learn(Known(str(row.get("code") or ""), address_text(row), float(x), float(y)))


def address_text(row: dict[str, Any]) -> str:
    """The address of a record: its address, else house number and street."""
    return _address(row)[0]


def _address(row: dict[str, Any]) -> tuple[str, ParsedAddress]:
    address = (row.get("address") or "").strip()
    if address:
        parsed = parse(address)
        if parsed.street or not row.get("street"):
            return address, parsed
    text = " ".join(str(x) for x in (row.get("house_number"), row.get("street")) if x)
    return text, parse(text)


def place_rows(wg: WardGazetteer, rows: list[dict[str, Any]], geocoder=None) -> list[Placement]:
    """Place each row (``address``/``house_number``/``street``, ``residential_group_id``, ``code`` as seed);
    the placements carry ``lon``/``lat`` in WGS84."""
    import numpy as np

    out = []
    for i, row in enumerate(rows):
        seed = str(row.get("code") or row.get("row") or i)
        p = wg.gazetteer.place(_address(row)[1], group_id=row.get("residential_group_id"), seed=seed)
        if geocoder is not None and (not p.placed or p.quality == "group"):
            _geocode(wg, geocoder, p)
        out.append(p)
    placed = [p for p in out if p.placed]
    if placed:
        lon, lat = wg.grid.to_wgs.transform(np.array([p.x for p in placed]), np.array([p.y for p in placed]))
        for p, a, b in zip(placed, np.atleast_1d(lon).tolist(), np.atleast_1d(lat).tolist(), strict=True):
            p.lon, p.lat = a, b
    return out


def _geocode(wg: WardGazetteer, geocoder, p: Placement) -> None:
    import httpx

    query = ", ".join(x for x in (p.parsed.raw if p.parsed else "", wg.ward_name, wg.province) if x)
    try:
        hit = geocoder.search(query, wg.bbox)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        p.notes.append(("addr.geocoder_failed", {"service": geocoder.name, "error": type(exc).__name__}))
        return
    if hit is None:
        return
    x, y = wg.grid.to_local.transform(hit.lon, hit.lat)
    p.quality, p.x, p.y, p.where = hit.quality, float(x), float(y), geocoder.name
    p.notes.append(("addr.geocoder", {"service": geocoder.name, "found": hit.label}))


def configured_geocoder():
    """The geocoder of ``GEOMAP_GEOCODER_URL``, or None (the default: no request leaves geomap)."""
    if not config.GEOCODER_URL:
        return None
    from geomap.addresses.geocoder import Geocoder

    return Geocoder(config.GEOCODER_URL)


@dataclass
class PlacementReport:
    """What placing a ward's unplaced establishments did (or would do, ``dry_run``)."""

    ward_id: int
    dry_run: bool
    rows: list[tuple[dict[str, Any], Placement]] = field(default_factory=list)
    written: int = 0

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(p.quality or "none" for _, p in self.rows)
        return {q: c.get(q, 0) for q in (*QUALITIES[1:], "none")}

    def lines(self, lang: str = "vi") -> list[str]:
        """One line per record: code, planned quality, address, and what happened."""
        out = []
        for row, p in self.rows:
            quality = render(f"addr.quality.{p.quality or 'none'}", None, lang)
            notes = " ".join(render(k, v, lang) for k, v in p.notes)
            out.append(f"{row['code']:<12} {quality:<28} {address_text(row)} — {notes}")
        return out


def place_ward(bind: db.Bind, ward_id: int, *, dry_run: bool = False, user: User | None = None,
               geocoder=None) -> PlacementReport:
    """Place every establishment of the ward without a point from its address (all or nothing)."""
    _require(user, ward_id)
    wg = gazetteer(bind, ward_id)
    todo = data.unplaced(bind, ward_id)
    report = PlacementReport(ward_id, dry_run, list(zip(todo, place_rows(wg, todo, geocoder or configured_geocoder()),
                                                      strict=True)))
    if dry_run:
        return report
    placed = [(r["id"], r["version"], p.lon, p.lat, p.quality) for r, p in report.rows if p.placed]
    with db.transaction(bind) as conn:
        report.written = data.write_placements(conn, placed)
        import json

        from geomap.importing import data as import_data

        import_data.copy_audit(conn, (
            (user.id if user else None, user.username if user else "system", "move", "establishment", r["id"],
             None, json.dumps({"lon": p.lon, "lat": p.lat, "location_quality": p.quality}),
             render(p.notes[-1][0], p.notes[-1][1], "vi") if p.notes else None)
            for r, p in report.rows if p.placed))
    return report
