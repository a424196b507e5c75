"""OGC API – Tiles (vector tiles, Mapbox Vector Tile) over the layer registry, without a web framework.

Tiles follow the WebMercatorQuad tile matrix set (OGC 17-083r4, EPSG:3857, 256-pixel tiles, zoom
0..:data:`MAX_ZOOM`); each is made by PostGIS through the one layer reader
(:func:`geomap.layer_reader.read_tile`): the profile's fields only (public without a key), points
one feature per cell below zoom 15 (establishments: from per-cell counts kept by triggers, migration 0027, so
a low-zoom tile costs the same for a ward or a city of a million). A collection's tileset holds its
layer; the dataset tileset (``/ogc/tiles/WebMercatorQuad``) every layer of the profile, one MVT layer each
(PostGIS tiles concatenate).

Caching: tiles are kept in ``app.state.ogc.tiles`` keyed on the database, profile, layers, tile,
the day in Vietnam (statuses change at midnight there) and the layers' **change count**: the number
of writing statements committed on the tables their sources read (``tile_change``, migration 0019).
That count is read at most every :data:`geomap.ogc.cache.CHANGE_POLL_S` seconds (1 s) per set of
tables, before the tile is made, so a cached tile costs a dictionary lookup and no query, and an edit,
import or revocation committed at time t is in every tile asked after t + ``CHANGE_POLL_S`` (a tile
made in between may already hold it; none is older than the count it is kept under). A layer whose
tables are not all watched is never cached. Responses carry an ``ETag`` (a hash of the bytes;
``If-None-Match`` gives 304) and ``Cache-Control: max-age=``:data:`MAX_AGE_S` (``public`` without a
key, ``private`` with one): a client or HTTP cache may show a tile up to that many seconds old, then
revalidates; the service itself adds at most ``CHANGE_POLL_S`` to that.
:func:`cached` answers a tile from the cache only (``None`` on a miss): the service's fast path for
tile requests (:mod:`geomap.web.fast_tiles`) calls it before any routing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from geomap import layer_reader, status
from geomap.ogc import api
from geomap.ogc.cache import OGCCaches
from geomap.ogc.params import OGCError
from geomap.users import Profile
from layers.base import Layer

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TMS_CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
MAX_ZOOM = 24
#: seconds a client or shared cache may keep a tile before revalidating (ETag)
MAX_AGE_S = 60
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
REL_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
REL_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
#: WebMercatorQuad at zoom 0: scale denominator and metres per pixel (OGC 17-083r4, annex D)
_SCALE0 = 559082264.0287178
_CELL0 = 156543.03392804097


def tile_matrix_set(root: str) -> dict[str, Any]:
    """The WebMercatorQuad tile matrix set (OGC Two Dimensional Tile Matrix Set 2.0, JSON)."""
    half = layer_reader.WEB_MERCATOR_HALF
    return {
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI, "crs": TMS_CRS,
        "orderedAxes": ["X", "Y"], "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [{"id": str(z), "scaleDenominator": _SCALE0 / (1 << z), "cellSize": _CELL0 / (1 << z),
                          "cornerOfOrigin": "topLeft", "pointOfOrigin": [-half, half], "tileWidth": 256,
                          "tileHeight": 256, "matrixWidth": 1 << z, "matrixHeight": 1 << z}
                         for z in range(MAX_ZOOM + 1)],
        "links": [api.link(f"{root}{api.PREFIX}/tileMatrixSets/{TMS_ID}", "self", "application/json")],
    }


def tile_matrix_sets(root: str) -> dict[str, Any]:
    href = f"{root}{api.PREFIX}/tileMatrixSets/{TMS_ID}"
    return {"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
                                "links": [api.link(href, "self", "application/json")]}]}


def matrix_set(tms: str) -> None:
    """Only WebMercatorQuad is offered: anything else is 404."""
    if tms != TMS_ID:
        raise OGCError(404, "NotFound", f"There is no tile matrix set '{tms}'; see {api.PREFIX}/tileMatrixSets "
                                        f"({TMS_ID} only).")


def tile_coords(tms: str, z: str, y: str, x: str) -> tuple[int, int, int]:
    """``tileMatrix/tileRow/tileCol`` checked: not a non-negative integer → 400; a zoom beyond
    :data:`MAX_ZOOM` or a row/column outside the matrix → 404 (no such tile in the set)."""
    matrix_set(tms)
    values = []
    for name, raw in (("tileMatrix", z), ("tileRow", y), ("tileCol", x)):
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            raise OGCError(400, "InvalidParameterValue", f"{name}={raw[:40]} is not a non-negative integer.")
        values.append(int(raw))
    zi, yi, xi = values
    if zi > MAX_ZOOM:
        raise OGCError(404, "NotFound", f"tileMatrix {zi} is not in {TMS_ID} (0..{MAX_ZOOM}).")
    if yi >= 1 << zi or xi >= 1 << zi:
        raise OGCError(404, "NotFound", f"Tile {zi}/{yi}/{xi} is outside tile matrix {zi} "
                                        f"(rows and columns 0..{(1 << zi) - 1}).")
    return zi, yi, xi


def _tileset_links(root: str, base: str, title: str) -> list[dict[str, Any]]:
    return [
        api.link(f"{base}/tiles/{TMS_ID}", "self", "application/json", title),
        api.link(f"{root}{api.PREFIX}/tileMatrixSets/{TMS_ID}", REL_SCHEME, "application/json", TMS_ID),
        {**api.link(f"{base}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", MVT,
                    "Mapbox Vector Tiles"), "templated": True},
    ]


def _layer_entry(layer: Layer, profile: Profile) -> dict[str, Any]:
    kinds = {"int": "integer", "float": "number", "bool": "boolean"}
    return {
        "id": layer.name, "title": layer.title_vi, "dataType": "vector",
        "geometryDimension": 0 if layer.geometry_type == "Point" else (1 if "Line" in layer.geometry_type else 2)
        if layer.geometry_type != "Geometry" else None,
        "minTileMatrix": str(layer.min_zoom), "maxTileMatrix": str(MAX_ZOOM),
        "propertiesSchema": {"type": "object", "properties": {
            "id": {"type": "string" if profile == "public" else "integer"},
            **{f.name: {"type": kinds.get(f.kind, "string"), "title": f.label_vi}
               for f in layer_reader.profile_fields(layer, profile)}}},
    }


def tileset(root: str, chosen: Sequence[Layer], profile: Profile, collection: str | None) -> dict[str, Any]:
    """The WebMercatorQuad tileset of one collection (``collection``) or of the dataset (None)."""
    base = f"{root}{api.PREFIX}" + (f"/collections/{collection}" if collection else "")
    title = chosen[0].title_vi if collection else "Bản đồ số kinh doanh — tất cả các lớp / all layers"
    layers_ = [_layer_entry(layer, profile) for layer in chosen]
    for entry in layers_:
        if entry["geometryDimension"] is None:
            del entry["geometryDimension"]
    return {"title": title, "dataType": "vector", "crs": TMS_CRS, "tileMatrixSetURI": TMS_URI,
            "links": _tileset_links(root, base, title), "layers": layers_}


def tilesets(root: str, chosen: Sequence[Layer], profile: Profile, collection: str | None) -> dict[str, Any]:
    """The tilesets list (one: WebMercatorQuad) of a collection or of the dataset."""
    one = tileset(root, chosen, profile, collection)
    return {"tilesets": [{k: one[k] for k in ("title", "dataType", "crs", "tileMatrixSetURI", "links")}],
            "links": [api.link(one["links"][0]["href"].rsplit("/", 1)[0], "self", "application/json")]}


def _change_key(engine: Engine, chosen: Sequence[Layer], caches: OGCCaches, load: bool = True) -> int | None:
    """The chosen layers' change count (read at most every ``CHANGE_POLL_S``), or None when a source table
    is not watched (do not cache); with ``load=False`` only what memory holds (None when it would need a
    query)."""
    names = tuple(layer.name for layer in chosen)
    if not load:
        known = caches.sources.get((engine.url, names))
        return None if known is None or not known[1] else caches.changes.get((engine.url, known[0]))
    found, watched = caches.sources.get_or_load((engine.url, names), lambda: _tables(engine, chosen, caches))
    if not watched:
        return None
    return caches.changes.get_or_load((engine.url, found), lambda: layer_reader.change_count(engine, found))


def _tables(engine: Engine, chosen: Sequence[Layer], caches: OGCCaches) -> tuple[frozenset[str], bool]:
    """The tables every chosen layer's source reads, and whether all are watched by ``tile_change``."""
    tables: set[str] = set()
    for layer in chosen:
        found, watched = caches.sources.get_or_load(
            (engine.url, layer.source), lambda layer=layer: layer_reader.source_tables(engine, layer.source))
        if not watched:
            return frozenset(), False
        tables |= found
    return frozenset(tables), True


def _key(engine: Engine, chosen: Sequence[Layer], profile: Profile, z: int, y: int, x: int,
         caches: OGCCaches, load: bool = True) -> tuple | None:
    """The tile's cache key, or None when it is not cached (a source table is not watched; with
    ``load=False``, also when finding the change count would need a query)."""
    changes = _change_key(engine, chosen, caches, load)  # before the tile: a tile is never older than its key
    if changes is None:
        return None
    return (engine.url, profile, tuple(layer.name for layer in chosen), z, x, y, changes, status.today())


def cached(engine: Engine, chosen: Sequence[Layer], profile: Profile, z: int, y: int, x: int,
           caches: OGCCaches, load: bool = True) -> tuple[bytes, str] | None:
    """The tile ``z/y/x`` and its ETag from the cache, or None when it must be made (:func:`tile`); with
    ``load=False`` from memory alone, never a query (an event loop's caller: a change count older than
    ``CHANGE_POLL_S`` is then None, and the route, in a thread, reads it again)."""
    key = _key(engine, chosen, profile, z, y, x, caches, load)
    return None if key is None else caches.tiles.get(key)


def tile(engine: Engine, chosen: Sequence[Layer], profile: Profile, z: int, y: int, x: int,
         caches: OGCCaches) -> tuple[bytes, str]:
    """The tile ``z/y/x`` holding ``chosen`` layers (one MVT layer each) and its ETag, from the cache
    when its layers' change count is the one it was made under."""
    key = _key(engine, chosen, profile, z, y, x, caches)
    if key is not None:
        hit = caches.tiles.get(key)
        if hit is not None:
            return hit
    columns_of = lambda table: caches.columns.get_or_load(  # noqa: E731
        (str(engine.url), table), lambda: layer_reader.table_columns(engine, table))
    body = layer_reader.read_tiles(engine, chosen, profile, z, x, y, columns_of=columns_of)
    made = (body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
    if key is not None:
        caches.tiles.put(key, made)
    return made


def headers(etag: str, profile: Profile) -> dict[str, str]:
    scope = "public" if profile == "public" else "private"
    return {"ETag": etag, "Cache-Control": f"{scope}, max-age={MAX_AGE_S}", "Vary": "X-API-Key"}


def not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return if_none_match.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]


def dataset_layers(profile: Profile) -> list[Layer]:
    return list(api.collections_for(profile).values())


def params_checked(params: Mapping[str, str]) -> None:
    """Only ``f`` (json) is read by the tile routes' metadata; other parameters are ignored."""
    f = params.get("f")
    if f is not None and f != "json":
        raise OGCError(400, "InvalidParameterValue", f"f={f} is not offered here; use f=json.")
