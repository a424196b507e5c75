"""Travel times between points: the two models the day planner rides by.

Pure: (lon, lat) rows in, (seconds, metres) matrices out; no database, no solver.

:class:`StraightLine`
    Straight-line distance in the ward's local metric CRS (VN-2000, EPSG:5899 in Đà Nẵng)
    times ``detour_factor``, at ``speed_kmh`` (by default ×1.3 at 15 km/h, a motorbike in
    ward traffic).
:class:`StreetGraph`
    A street network the ward supplies (a GraphML file as written by OSMnx, or an
    OpenStreetMap ``.osm`` XML export): shortest paths by length, ridden at ``speed_kmh``;
    pairs the graph cannot connect fall back to the straight line.

Both satisfy :class:`TravelModel`, which is all :func:`geomap.inspections.routing.plan_day` needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pyproj import Transformer

from geomap.errors import GeomapError

#: the ward's local metric CRS used for straight-line distances (VN-2000 / TM-3 107-45)
DEFAULT_LOCAL_SRID = 5899
#: straight-line distance × this = street distance (typical for a dense Vietnamese ward)
DEFAULT_DETOUR_FACTOR = 1.3
#: average motorbike speed in ward traffic, km/h
DEFAULT_SPEED_KMH = 15.0


class GeomapRoutingError(GeomapError):
    """Input no plan can come from: settings (no start point, hours that end before they begin...) or a street
    graph file that cannot be read."""


class TravelModel(Protocol):
    name: str

    def matrix(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seconds as int64, metres as float) between every pair of (lon, lat) rows."""


def _projector(srid: int) -> Transformer:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{srid}", always_xy=True)


@dataclass(frozen=True)
class StraightLine:
    """Straight line in the local metric CRS × detour factor, at a constant speed."""

    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH
    local_srid: int = DEFAULT_LOCAL_SRID

    @property
    def name(self) -> str:
        return f"straight_line×{self.detour_factor:g}@{self.speed_kmh:g}km/h"

    def matrix(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _projector(self.local_srid).transform(lonlat[:, 0], lonlat[:, 1])
        xy = np.column_stack([x, y])
        metres = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)) * self.detour_factor
        seconds = np.rint(metres / (self.speed_kmh / 3.6)).astype(np.int64)
        return seconds, metres


class StreetGraph:
    """A street network: shortest paths by length, ridden at ``speed_kmh``.

    Points are snapped to the nearest graph node; the snap distance is added as a straight
    segment. Pairs the graph cannot connect fall back to the straight-line model (and the
    plan says so).
    """

    def __init__(self, node_lonlat: np.ndarray, edges: np.ndarray, lengths_m: np.ndarray,
                 speed_kmh: float = DEFAULT_SPEED_KMH, local_srid: int = DEFAULT_LOCAL_SRID,
                 detour_factor: float = DEFAULT_DETOUR_FACTOR, source: str = "street graph"):
        from scipy.sparse import csr_matrix
        from scipy.spatial import cKDTree

        if len(node_lonlat) == 0 or len(edges) == 0:
            raise GeomapRoutingError(f"The street graph {source} has no streets; check the file.")
        self.source = source
        self.speed_kmh = speed_kmh
        self.local_srid = local_srid
        self.fallback = StraightLine(detour_factor, speed_kmh, local_srid)
        x, y = _projector(local_srid).transform(node_lonlat[:, 0], node_lonlat[:, 1])
        self._xy = np.column_stack([x, y])
        self._tree = cKDTree(self._xy)
        n = len(node_lonlat)
        self._graph = csr_matrix((lengths_m, (edges[:, 0], edges[:, 1])), shape=(n, n))
        self.unreachable_pairs = 0

    @property
    def name(self) -> str:
        return f"street_graph({Path(self.source).name})@{self.speed_kmh:g}km/h"

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> StreetGraph:
        """Read a GraphML (OSMnx ``save_graphml``) or OpenStreetMap XML (``.osm``) file."""
        path = Path(path)
        if not path.exists():
            raise GeomapRoutingError(f"The street graph file {path} does not exist.")
        suffix = path.suffix.lower()
        if suffix == ".graphml":
            nodes, edges, lengths = _read_graphml(path)
        elif suffix in (".osm", ".xml"):
            nodes, edges, lengths = _read_osm_xml(path, kwargs.get("local_srid", DEFAULT_LOCAL_SRID))
        else:
            raise GeomapRoutingError(
                f"The street graph {path.name} is neither GraphML nor OpenStreetMap XML (.osm); "
                "convert an OSM PBF with osmium ('osmium cat in.pbf -o out.osm') or save an OSMnx graph as GraphML.")
        return cls(nodes, edges, lengths, source=str(path), **kwargs)

    def matrix(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.sparse.csgraph import dijkstra

        x, y = _projector(self.local_srid).transform(lonlat[:, 0], lonlat[:, 1])
        snap_m, node = self._tree.query(np.column_stack([x, y]))
        unique, inverse = np.unique(node, return_inverse=True)
        dist = dijkstra(self._graph, directed=True, indices=unique)[:, unique]  # node-to-node metres
        metres = dist[inverse][:, inverse] + snap_m[:, None] + snap_m[None, :]
        np.fill_diagonal(metres, 0.0)
        bad = ~np.isfinite(metres)
        self.unreachable_pairs = int(bad.sum())
        if bad.any():
            _, straight = self.fallback.matrix(lonlat)
            metres = np.where(bad, straight, metres)
        seconds = np.rint(metres / (self.speed_kmh / 3.6)).astype(np.int64)
        return seconds, metres


def _read_graphml(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import networkx as nx

    try:
        graph = nx.read_graphml(path)
    except Exception as exc:  # networkx raises several XML / key errors
        raise GeomapRoutingError(f"The street graph {path.name} cannot be read as GraphML ({exc}).") from exc
    index = {n: i for i, n in enumerate(graph.nodes)}
    try:
        nodes = np.array([[float(d["x"]), float(d["y"])] for _, d in graph.nodes(data=True)], dtype=float)
    except (KeyError, ValueError) as exc:
        raise GeomapRoutingError(f"The nodes of {path.name} need x (longitude) and y (latitude).") from exc
    pairs, lengths = [], []
    x, y = _projector(DEFAULT_LOCAL_SRID).transform(nodes[:, 0], nodes[:, 1]) if len(nodes) else ([], [])
    for u, v, d in graph.edges(data=True):
        i, j = index[u], index[v]
        length = d.get("length")
        length = float(length) if length is not None else math.hypot(x[i] - x[j], y[i] - y[j])
        pairs.append((i, j))
        lengths.append(length)
        if not graph.is_directed():
            pairs.append((j, i))
            lengths.append(length)
    return nodes, np.array(pairs, dtype=np.int64).reshape(-1, 2), np.array(lengths, dtype=float)


def _read_osm_xml(path: Path, local_srid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise GeomapRoutingError(f"The street graph {path.name} is not valid OSM XML ({exc}).") from exc
    coords = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    not_for_motorbikes = {"footway", "path", "steps", "cycleway", "pedestrian", "bridleway", "construction",
                          "proposed", "motorway", "motorway_link"}
    index: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if "highway" not in tags or tags["highway"] in not_for_motorbikes:
            continue
        refs = [r.get("ref") for r in way.iter("nd") if r.get("ref") in coords]
        oneway = tags.get("oneway") in ("yes", "1", "true")
        for a, b in zip(refs[:-1], refs[1:], strict=False):
            i, j = index.setdefault(a, len(index)), index.setdefault(b, len(index))
            pairs.append((i, j))
            if not oneway:
                pairs.append((j, i))
    nodes = np.array([coords[k] for k in index], dtype=float).reshape(-1, 2)
    if not len(pairs):
        return nodes, np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    edges = np.array(pairs, dtype=np.int64)
    x, y = _projector(local_srid).transform(nodes[:, 0], nodes[:, 1])
    lengths = np.hypot(x[edges[:, 0]] - x[edges[:, 1]], y[edges[:, 0]] - y[edges[:, 1]])
    return nodes, edges, lengths
