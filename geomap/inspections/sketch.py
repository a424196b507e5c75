"""A day's route as an inline SVG that draws without internet: the ward outline, the legs, numbered stops (pure).

Equirectangular projection around the drawing's mid-latitude (fine at ward scale). The page
embeds the result; nothing is fetched, so the sketch shows offline from the phone's cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: width of the drawing in SVG units (the page scales it to the screen)
WIDTH = 360


def route_svg(boundary: Any | None, stops: Sequence[tuple[float, float]], start: tuple[float, float] | None = None,
              *, width: int = WIDTH, simplify_deg: float = 0.0002) -> dict[str, Any]:
    """{w, h, outline (SVG path, "" without a boundary), line (polyline points: start, stops, start),
    stops [(x, y)], start (x, y) | None} for ``stops`` given as (lon, lat)."""
    xs = [p[0] for p in stops] + ([start[0]] if start else [])
    ys = [p[1] for p in stops] + ([start[1]] if start else [])
    area = boundary.simplify(simplify_deg) if boundary is not None else None
    if area is not None and not area.is_empty:
        minx, miny, maxx, maxy = area.bounds
        xs += [minx, maxx]
        ys += [miny, maxy]
    if not xs:
        return {"w": width, "h": width, "outline": "", "line": "", "stops": [], "start": None}
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    k = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * k, 1e-6)
    span_y = max(maxy - miny, 1e-6)
    pad = 12
    inner = width - 2 * pad
    scale = min(inner / span_x, inner * 1.4 / span_y)  # at most 1.4 times as tall as wide
    height = round(span_y * scale) + 2 * pad

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round(pad + (lon - minx) * k * scale, 1), round(pad + (maxy - lat) * scale, 1)

    outline = ""
    if area is not None and not area.is_empty:
        parts = []
        for poly in getattr(area, "geoms", [area]):
            for ring in (poly.exterior, *poly.interiors):
                parts.append("M" + "L".join("{:.1f},{:.1f}".format(*xy(x, y)) for x, y in ring.coords) + "Z")
        outline = "".join(parts)
    points = [xy(*p) for p in stops]
    s = xy(*start) if start else None
    chain = ([s] if s else []) + points + ([s] if s else [])
    return {"w": width, "h": height, "outline": outline, "line": " ".join(f"{x},{y}" for x, y in chain),
            "stops": points, "start": s}
