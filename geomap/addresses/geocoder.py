"""An optional external geocoder speaking Nominatim's ``/search`` API (off unless ``GEOMAP_GEOCODER_URL``).

Asked only for an address the ward's own streets cannot place, with the ward's bounding box as a
bounded viewbox, one request at a time, with a short timeout. A result of class ``place``/``building``
(a house) counts as ``address`` quality, anything else (a street, an area) as ``street``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

HOUSE_CLASSES = {"place", "building", "amenity", "shop", "office", "tourism"}


@dataclass
class GeocodeResult:
    lon: float
    lat: float
    quality: str
    label: str


class Geocoder:
    def __init__(self, url: str, timeout_s: float = 5.0, user_agent: str = "geomap (ward business map)"):
        self.url = url.rstrip("/")
        if not self.url.endswith("/search"):
            self.url += "/search"
        self.client = httpx.Client(timeout=timeout_s, headers={"User-Agent": user_agent})

    @property
    def name(self) -> str:
        return httpx.URL(self.url).host or self.url

    def search(self, query: str, bbox: tuple[float, float, float, float]) -> GeocodeResult | None:
        """The first hit for ``query`` inside ``bbox`` (lon/lat min, max), or None; raises httpx.HTTPError."""
        minx, miny, maxx, maxy = bbox
        response = self.client.get(self.url, params={
            "q": query, "format": "jsonv2", "limit": 1, "countrycodes": "vn", "bounded": 1,
            "viewbox": f"{minx},{maxy},{maxx},{miny}"})
        response.raise_for_status()
        hits = response.json()
        if not hits:
            return None
        hit = hits[0]
        lon, lat = float(hit["lon"]), float(hit["lat"])
        if not (minx <= lon <= maxx and miny <= lat <= maxy):
            return None
        kind = hit.get("category") or hit.get("class") or ""
        quality = "address" if kind in HOUSE_CLASSES or hit.get("type") == "house" else "street"
        return GeocodeResult(lon, lat, quality, str(hit.get("display_name", ""))[:120])

    def close(self) -> None:
        self.client.close()
