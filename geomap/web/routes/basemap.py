"""``GET /basemap/{z}/{x}/{y}``: base-map tiles from the ward's own MBTiles file (``GEOMAP_TILE_MBTILES``).

A ward intranet without a tile server (and without internet) still gets a street map under its
features: the public service serves the raster tiles of a local MBTiles file, and every staff map
points at them (:data:`geomap.config.TILE_URL` defaults to this route when the file is set). The
file is read-only and opened per request; a tile the file does not hold answers 404 (Leaflet then
leaves that square grey). Without the setting the route answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Path
from starlette.responses import Response

from geomap import config
from geomap.map import data as map_data

router = APIRouter()

#: tiles of a ward's file change when the file is replaced: a day in caches, then revalidated
CACHE_CONTROL = "public, max-age=86400"


@router.get("/basemap/{z}/{x}/{y}", include_in_schema=False)
def tile(z: int = Path(ge=0, le=22), x: int = Path(ge=0), y: int = Path(ge=0)) -> Response:
    if not config.TILE_MBTILES or x >= (1 << z) or y >= (1 << z):
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    data = map_data.mbtiles_tile(config.TILE_MBTILES, z, x, y)
    if data is None:
        return Response(status_code=404, headers={"Cache-Control": CACHE_CONTROL})
    media = map_data.MBTILES_MEDIA.get(map_data.mbtiles_metadata(config.TILE_MBTILES).get("format", "png"),
                                       "image/png")
    return Response(data, media_type=media, headers={"Cache-Control": CACHE_CONTROL})
