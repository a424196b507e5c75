"""Synthetic territory of a ward, in its local metric CRS: residential groups, streets, parcels.

Pure functions of shapely geometries and a numpy Generator; no I/O. Everything is built in
the ward's local VN-2000 grid (metres) and only projected to WGS84 at the end by the
caller, so distances, offsets and areas are real metres.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# --- projection --------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


def project(geoms, src_srid: int, dst_srid: int):
    """``geoms`` (one geometry or an array) re-projected from ``src_srid`` to ``dst_srid``."""
    tr = _transformer(src_srid, dst_srid)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of ``geom`` (an overlay result) as one MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:  # collections nest one level at most in overlay output
        parts = [q for p in shapely.get_parts(geom) for q in shapely.get_parts(p) if isinstance(q, Polygon)]
    return MultiPolygon(parts)


# --- sampling ----------------------------------------------------------------------------


def points_in(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points (x, y) inside ``polygon``, by rejection from its bounds."""
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        k = max(64, int((n - have) * 1.5 * (maxx - minx) * (maxy - miny) / max(polygon.area, 1.0)))
        xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        xy = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        out.append(xy)
        have += len(xy)
    return np.concatenate(out)[:n]


def gaussian_points_in(polygon: BaseGeometry, centre: tuple[float, float], sigma_m: float, n: int,
                       rng: np.random.Generator) -> np.ndarray:
    """``n`` points around ``centre`` (normal, ``sigma_m``), kept inside ``polygon``."""
    shapely.prepare(polygon)
    out: list[np.ndarray] = []
    have, tries = 0, 0
    while have < n and tries < 50:
        xy = rng.normal(loc=centre, scale=sigma_m, size=(max(16, 2 * (n - have)), 2))
        xy = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        out.append(xy)
        have += len(xy)
        tries += 1
    if have < n:  # a centre outside the polygon: fall back to uniform points
        out.append(points_in(polygon, n - have, rng))
    return np.concatenate(out)[:n]


# --- residential groups ------------------------------------------------------------------


def voronoi_cells(seeds: np.ndarray, envelope: BaseGeometry) -> np.ndarray:
    """Voronoi cells of ``seeds`` (in seed order), extending over ``envelope``."""
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=envelope, ordered=True)
    return shapely.get_parts(diagram)


def spread_seeds(boundary: BaseGeometry, n: int, rng: np.random.Generator, iterations: int = 4) -> np.ndarray:
    """``n`` well-spread points inside ``boundary``: random points relaxed by Lloyd's algorithm."""
    seeds = points_in(boundary, n, rng)
    envelope = boundary.envelope.buffer(1000)
    for _ in range(iterations):
        cells = shapely.intersection(voronoi_cells(seeds, envelope), boundary)
        centres = shapely.centroid(cells)
        inside = shapely.contains(boundary, centres)
        centres = np.where(inside, centres, shapely.point_on_surface(cells))
        seeds = shapely.get_coordinates(centres)
    return seeds


def kmeans_labels(xy: np.ndarray, k: int, iterations: int = 20) -> np.ndarray:
    """Deterministic k-means labels (farthest-point start from the northernmost point)."""
    k = max(1, min(k, len(xy)))
    centres = [xy[np.argmax(xy[:, 1])]]
    for _ in range(1, k):
        d = np.min([((xy - c) ** 2).sum(axis=1) for c in centres], axis=0)
        centres.append(xy[np.argmax(d)])
    c = np.array(centres)
    for _ in range(iterations):
        labels = np.argmin(((xy[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
        c = np.array([xy[labels == j].mean(axis=0) if np.any(labels == j) else c[j] for j in range(k)])
    labels = np.argmin(((xy[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
    order = np.lexsort((c[:, 0], -c[:, 1]))  # zones numbered north to south, then west to east
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return rank[labels]


# --- streets -----------------------------------------------------------------------------

MAIN, SECONDARY, LANE = 0, 1, 2


@dataclass
class Streets:
    """A street network as lines plus a flat table of straight segments for sampling."""

    lines: list[LineString]
    kind: np.ndarray            # per line: MAIN / SECONDARY / LANE
    name: list[str]             # per line: street name (a lane carries its parent's name)
    kiet: np.ndarray            # per line: kiệt number for lanes, 0 otherwise
    start_m: np.ndarray         # per line: distance of its first vertex from the street's origin
    seg_line: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    seg_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    seg_len: np.ndarray = field(default_factory=lambda: np.empty(0))
    seg_cum: np.ndarray = field(default_factory=lambda: np.empty(0))
    junctions: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    angle: float = 0.0

    def build_segments(self) -> None:
        coords, idx = shapely.get_coordinates(np.array(self.lines, dtype=object), return_index=True)
        same = idx[1:] == idx[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        self.seg_line = idx[:-1][same]
        self.seg_xy = np.column_stack([a, b])
        self.seg_len = np.hypot(*(b - a).T)
        cum = np.zeros(len(self.seg_len))
        for line in np.unique(self.seg_line):  # distance along the line at each segment start
            m = self.seg_line == line
            cum[m] = np.concatenate([[0.0], np.cumsum(self.seg_len[m])[:-1]]) + self.start_m[line]
        self.seg_cum = cum

    @property
    def seg_kind(self) -> np.ndarray:
        return self.kind[self.seg_line]

    def sample(self, n: int, rng: np.random.Generator, weights: np.ndarray, offset_m: np.ndarray,
               within: BaseGeometry, avoid: BaseGeometry | None = None) -> dict[str, np.ndarray]:
        """``n`` points beside the streets: segments drawn by ``weights``, set back ``offset_m[kind]``.

        Returns xy, segment index, side (+1 left / -1 right) and distance along the street.
        """
        shapely.prepare(within)
        p = weights / weights.sum()
        parts: list[dict[str, np.ndarray]] = []
        have = 0
        while have < n:
            m = int((n - have) * 1.25) + 16
            seg = rng.choice(len(p), size=m, p=p)
            t = rng.random(m)
            side = np.where(rng.random(m) < 0.5, 1.0, -1.0)
            x0, y0, x1, y1 = self.seg_xy[seg].T
            ln = np.maximum(self.seg_len[seg], 1e-9)
            nx, ny = -(y1 - y0) / ln, (x1 - x0) / ln
            off = offset_m[self.kind[self.seg_line[seg]]] * (0.85 + 0.3 * rng.random(m))
            x = x0 + t * (x1 - x0) + side * off * nx
            y = y0 + t * (y1 - y0) + side * off * ny
            ok = shapely.contains_xy(within, x, y)
            if avoid is not None:
                ok &= ~shapely.contains_xy(avoid, x, y)
            parts.append({"xy": np.column_stack([x, y])[ok], "seg": seg[ok], "side": side[ok],
                          "along": (self.seg_cum[seg] + t * self.seg_len[seg])[ok]})
            have += int(ok.sum())
        return {k: np.concatenate([d[k] for d in parts])[:n] for k in parts[0]}

    def addresses(self, seg: np.ndarray, side: np.ndarray, along: np.ndarray) -> tuple[list[str], list[str]]:
        """House numbers and streets: "123" on "Núi Thành", "K45/12" on "Tiểu La" (kiệt)."""
        line = self.seg_line[seg]
        kind = self.kind[line]
        parity = np.where(side > 0, 1, 2)
        on_street = 2 * np.floor(along / 10.0).astype(int) + parity
        in_lane = 2 * np.floor(along / 8.0).astype(int) + parity
        numbers = [f"K{self.kiet[ln]}/{h}" if k == LANE else str(s)
                   for ln, k, s, h in zip(line, kind, on_street, in_lane, strict=True)]
        return numbers, [self.name[ln] for ln in line]

    def nearest(self, xy: np.ndarray, named_only: bool = False) -> dict[str, np.ndarray]:
        """The nearest segment of each point (of a named street, not a kiệt, if ``named_only``),
        its side and the distance along the street."""
        keep = np.flatnonzero(self.seg_kind != LANE) if named_only and (self.seg_kind != LANE).any() \
            else np.arange(len(self.seg_len))
        segs = shapely.linestrings(self.seg_xy[keep].reshape(-1, 2, 2))
        tree = shapely.STRtree(segs)
        qi, si = tree.query_nearest(shapely.points(xy), all_matches=False)
        seg = np.empty(len(xy), dtype=int)
        seg[qi] = keep[si]
        x0, y0, x1, y1 = self.seg_xy[seg].T
        dx, dy = x1 - x0, y1 - y0
        ln2 = np.maximum(dx * dx + dy * dy, 1e-9)
        t = np.clip(((xy[:, 0] - x0) * dx + (xy[:, 1] - y0) * dy) / ln2, 0, 1)
        side = np.where(dx * (xy[:, 1] - y0) - dy * (xy[:, 0] - x0) >= 0, 1.0, -1.0)
        return {"seg": seg, "side": side, "along": self.seg_cum[seg] + t * np.sqrt(ln2)}


def _wiggly_line(origin: np.ndarray, u: np.ndarray, v: np.ndarray, offset: float, half: float,
                 rng: np.random.Generator, step: float) -> LineString:
    s = np.arange(-half, half + step, step)
    drift = np.clip(np.cumsum(rng.normal(0, 3.0, len(s))), -25, 25)
    pts = origin + np.outer(s, u) + np.outer(offset + drift, v)
    return LineString(pts)


def street_network(boundary: BaseGeometry, rng: np.random.Generator, main_names: tuple[str, ...],
                   secondary_names: tuple[str, ...]) -> Streets:
    """A slightly irregular grid of named main and secondary streets with kiệt (lanes) off them."""
    inner = boundary.buffer(-6)
    shapely.prepare(inner)
    minx, miny, maxx, maxy = boundary.bounds
    half = 0.5 * float(np.hypot(maxx - minx, maxy - miny)) + 200
    spacing = max(600.0, np.sqrt(boundary.area) / 6.5)
    angle = float(rng.uniform(-0.2, 0.2))
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-np.sin(angle), np.cos(angle)])
    origin = np.array(boundary.centroid.coords[0])
    step = max(120.0, spacing / 5)

    lines: list[LineString] = []
    kinds: list[int] = []
    names: list[str] = []
    starts: list[float] = []
    mains: list[list[LineString]] = [[], []]
    n_main = n_sec = 0
    for family, (du, dv) in enumerate(((u, v), (v, -u))):
        k_max = int(half // spacing) + 1
        for k in range(-k_max, k_max + 1):
            for kind, extra in ((MAIN, 0.0), (SECONDARY, 0.5)):
                off = (k + extra) * spacing + rng.uniform(-0.12, 0.12) * spacing
                full = _wiggly_line(origin, du, dv, off, half, rng, step)
                clipped = shapely.intersection(full, inner)
                parts = [p for p in shapely.get_parts(shapely.line_merge(clipped)) if p.length > 80]
                parts = [p if full.project(shapely.Point(p.coords[0])) <= full.project(shapely.Point(p.coords[-1]))
                         else p.reverse() for p in parts]
                if not parts:
                    continue
                if kind == MAIN:
                    name = main_names[n_main % len(main_names)]
                    n_main += 1
                else:
                    name = secondary_names[n_sec % len(secondary_names)]
                    n_sec += 1
                first = min(full.project(shapely.Point(part.coords[0])) for part in parts)
                for part in parts:  # house numbers count from where the street enters the ward
                    lines.append(part)
                    kinds.append(kind)
                    names.append(name)
                    starts.append(full.project(shapely.Point(part.coords[0])) - first)
                    if kind == MAIN:
                        mains[family].append(part)

    # kiệt: short dead-end lanes branching off main and secondary streets
    parents = np.arange(len(lines))
    branch_line, branch_s = [], []
    for i in parents:
        length = lines[i].length
        s = 30.0 + np.cumsum(rng.uniform(55, 110, int(length / 50) + 2))
        s = s[s < length - 30]
        branch_line.extend([i] * len(s))
        branch_s.extend(s)
    branch_line_a = np.array(branch_line, dtype=int)
    branch_s_a = np.array(branch_s)
    geoms = np.array(lines, dtype=object)[branch_line_a]
    p = shapely.get_coordinates(shapely.line_interpolate_point(geoms, branch_s_a))
    q = shapely.get_coordinates(shapely.line_interpolate_point(geoms, branch_s_a + 1.0))
    d = (q - p) / np.maximum(np.hypot(*(q - p).T), 1e-9)[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    side = np.where(rng.random(len(p)) < 0.5, 1.0, -1.0)
    lane_len = rng.uniform(40, 170, len(p))
    tilt = rng.normal(0, 0.08, len(p))
    direction = normal * np.cos(tilt)[:, None] + d * np.sin(tilt)[:, None]
    ends = p + (side * lane_len)[:, None] * direction
    lanes = shapely.linestrings(np.stack([p, ends], axis=1))
    lanes = shapely.intersection(lanes, inner)
    parity = np.where(side > 0, 1, 2)
    kiet_nos = 2 * np.floor((np.array(starts)[branch_line_a] + branch_s_a) / 10.0).astype(int) + parity
    kiets = [0] * len(lines)
    for lane, parent, no in zip(lanes, branch_line_a, kiet_nos, strict=True):
        part = next((g for g in shapely.get_parts(lane) if isinstance(g, LineString) and g.length > 25), None)
        if part is None:
            continue
        lines.append(part)
        kinds.append(LANE)
        names.append(names[parent])
        starts.append(0.0)
        kiets.append(int(no))

    net = Streets(lines=lines, kind=np.array(kinds), name=names, kiet=np.array(kiets),
                  start_m=np.array(starts), angle=angle)
    net.build_segments()
    junctions = [pt for a in mains[0] for b in mains[1]
                 for pt in shapely.get_parts(shapely.intersection(a, b)) if pt.geom_type == "Point"]
    net.junctions = shapely.get_coordinates(np.array(junctions, dtype=object)) if junctions else np.empty((0, 2))
    return net


def rotated_rect(centre: np.ndarray, width: float, height: float, angle: float) -> Polygon:
    """A ``width`` x ``height`` rectangle centred on ``centre``, rotated by ``angle`` radians."""
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-np.sin(angle), np.cos(angle)])
    hw, hh = width / 2, height / 2
    return Polygon([centre - hw * u - hh * v, centre + hw * u - hh * v, centre + hw * u + hh * v,
                    centre - hw * u + hh * v])


# --- land parcels ------------------------------------------------------------------------


def parcel_polygons(boundary: BaseGeometry, streets: Streets, holes: list[BaseGeometry], target: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Street blocks subdivided into about ``target`` parcels, plus road polygons (for DGT).

    Returns (parcels, roads): arrays of Polygons in the local CRS.
    """
    inner = boundary.buffer(-1.5)
    widths = np.array([9.0, 6.0, 2.0])
    line_geoms = np.array(streets.lines, dtype=object)
    road = shapely.union_all(shapely.buffer(line_geoms, widths[streets.kind], quad_segs=2, cap_style="flat"))
    blocks_region = shapely.difference(inner, shapely.union_all([road, *holes]))
    blocks = np.array([p for p in shapely.get_parts(blocks_region) if p.area > 40], dtype=object)

    # roads and block edges split about half of the grid cells: aim the grid at half the target
    cell = float(np.sqrt(max(blocks_region.area, 1.0) / max(target / 1.8, 1)))
    u = np.array([np.cos(streets.angle), np.sin(streets.angle)])
    v = np.array([-np.sin(streets.angle), np.cos(streets.angle)])
    minx, miny, maxx, maxy = inner.bounds
    origin = np.array(inner.centroid.coords[0])
    half = 0.5 * float(np.hypot(maxx - minx, maxy - miny)) + cell
    def edges(n_half: float) -> np.ndarray:
        steps = cell * rng.uniform(0.7, 1.3, int(2 * n_half / (0.7 * cell)) + 2)
        return -n_half + np.concatenate([[0.0], np.cumsum(steps)])
    eu = edges(half)
    eu = eu[eu <= half + cell]
    ev = edges(half)
    ev = ev[ev <= half + cell]
    a0, b0 = np.meshgrid(eu[:-1], ev[:-1], indexing="ij")
    a1, b1 = np.meshgrid(eu[1:], ev[1:], indexing="ij")
    a0, a1, b0, b1 = (x.ravel() for x in (a0, a1, b0, b1))
    corners = np.stack([origin + np.outer(a, u) + np.outer(b, v)
                        for a, b in ((a0, b0), (a1, b0), (a1, b1), (a0, b1), (a0, b0))], axis=1)
    cells = shapely.polygons(corners)
    tree = shapely.STRtree(blocks)
    ci, bi = tree.query(cells, predicate="intersects")
    pieces = shapely.intersection(cells[ci], blocks[bi])
    parcels = [p for p in shapely.get_parts(pieces) if isinstance(p, Polygon) and p.area >= 25]

    road_in = shapely.intersection(road, inner)
    sheet = max(400.0, cell * 8)
    gx = np.arange(minx, maxx + sheet, sheet)
    gy = np.arange(miny, maxy + sheet, sheet)
    tiles = np.array([shapely.box(x, y, x + sheet, y + sheet) for x in gx for y in gy], dtype=object)
    road_pieces = shapely.intersection(tiles, road_in)
    roads = [p for p in shapely.get_parts(road_pieces) if isinstance(p, Polygon) and p.area >= 25]
    roads += [q for p in shapely.get_parts(road_pieces) if not isinstance(p, Polygon)
              for q in shapely.get_parts(p) if isinstance(q, Polygon) and q.area >= 25]
    return np.array(parcels, dtype=object), np.array(roads, dtype=object)
