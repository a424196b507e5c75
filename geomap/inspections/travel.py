"""Travel times between points: the two models the day planner rides by.

Pure: (lon, lat) rows in, (seconds, metres) matrices out; no database, no solver.

:class:`StraightLine`
    Straight-line distance in the ward's local metric CRS (VN-2000, EPSG:5899 in Đà Nẵng)
    times ``detour_factor``, at ``speed_kmh`` (by default ×1.3 at 15 km/h, a motorbike in
    ward traffic).
:class:`StreetGraph`
    A street network the ward supplies (a GraphML file as written by OSMnx, an
    OpenStreetMap ``.osm`` XML export, or GeoJSON LineStrings of OSM ways with their
    ``highway`` and ``oneway`` tags): shortest paths by length, ridden at ``speed_kmh``,
    one-way streets ridden one way only; pairs the graph cannot connect fall back to the
    straight line, and points far from every street are reported.

Both satisfy :class:`TravelModel`, which is all :func:`geomap.inspections.routing.plan_day` needs.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pyproj import Transformer

from geomap import i18n
from geomap.errors import LocalizedError

#: the ward's local metric CRS used for straight-line distances (VN-2000 / TM-3 107-45)
DEFAULT_LOCAL_SRID = 5899
#: straight-line distance × this = street distance (typical for a dense Vietnamese ward)
DEFAULT_DETOUR_FACTOR = 1.3
#: average motorbike speed in ward traffic, km/h
DEFAULT_SPEED_KMH = 15.0


class GeomapRoutingError(LocalizedError):
    """Input no plan can come from: settings (no start point, hours that end before they begin...) or a street
    graph file that cannot be read. ``str()`` says it in both languages, as the planning page and the CLI show it."""

    both_in_str = True


class TravelModel(Protocol):
    name: str

    def matrix(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seconds as int64, metres as float) between every pair of (lon, lat) rows."""


@functools.lru_cache(maxsize=8)
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


#: a point farther than this from every street node is "outside the street graph" (the plan says so)
FAR_FROM_GRAPH_M = 300.0
#: OSM ``highway`` values a motorbike does not ride
NOT_FOR_MOTORBIKES = frozenset({"footway", "path", "steps", "cycleway", "pedestrian", "bridleway", "construction",
                                "proposed", "motorway", "motorway_link", "platform", "corridor"})


def _oneway(value: Any) -> int:
    """1: one way along the drawing; -1: against it; 0: both ways (the OSM ``oneway`` tag)."""
    text = str(value).strip().lower() if value is not None else ""
    if text in ("yes", "1", "true"):
        return 1
    if text == "-1" or text == "reverse":
        return -1
    return 0


class StreetGraph:
    """A street network: shortest paths by length, ridden at ``speed_kmh``.

    Points are snapped to the nearest graph node; the snap distance is added as a straight
    segment. Pairs the graph cannot connect fall back to the straight-line model (and the
    plan says so). After :meth:`matrix`, ``unreachable_points`` lists the rows that some
    other row cannot reach or be reached from, ``far_points`` (row, metres) those farther
    than :data:`FAR_FROM_GRAPH_M` from every street.
    """

    def __init__(self, node_lonlat: np.ndarray, edges: np.ndarray, lengths_m: np.ndarray,
                 speed_kmh: float = DEFAULT_SPEED_KMH, local_srid: int = DEFAULT_LOCAL_SRID,
                 detour_factor: float = DEFAULT_DETOUR_FACTOR, source: str = "street graph"):
        from scipy.sparse import csr_matrix
        from scipy.spatial import cKDTree

        if len(node_lonlat) == 0 or len(edges) == 0:
            raise GeomapRoutingError(f"Tệp mạng đường {source} không có tuyến đường nào; hãy kiểm tra lại tệp.",
                                     f"The street graph {source} has no streets; check the file.")
        self.source = source
        self.speed_kmh = speed_kmh
        self.local_srid = local_srid
        self.fallback = StraightLine(detour_factor, speed_kmh, local_srid)
        x, y = _projector(local_srid).transform(node_lonlat[:, 0], node_lonlat[:, 1])
        self._xy = np.column_stack([x, y])
        self._tree = cKDTree(self._xy)
        n = len(node_lonlat)
        # one edge per ordered pair, the shortest (csr_matrix would add up duplicates, e.g. two ways on one segment)
        key = edges[:, 0].astype(np.int64) * n + edges[:, 1]
        by = np.lexsort((lengths_m, key))
        first = np.ones(len(by), dtype=bool)
        first[1:] = key[by][1:] != key[by][:-1]
        keep = by[first]
        self._graph = csr_matrix((lengths_m[keep], (edges[keep, 0], edges[keep, 1])), shape=(n, n))
        self.unreachable_pairs = 0
        self.unreachable_points: list[int] = []
        self.far_points: list[tuple[int, float]] = []

    @property
    def name(self) -> str:
        return f"street_graph({Path(self.source).name})@{self.speed_kmh:g}km/h"

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> StreetGraph:
        """Read a GraphML (OSMnx ``save_graphml``), OpenStreetMap XML (``.osm``) or GeoJSON (``.geojson``) file."""
        path = Path(path)
        if not path.exists():
            raise GeomapRoutingError(f"Không tìm thấy tệp mạng đường {path}.",
                                     f"The street graph file {path} does not exist.")
        suffix = path.suffix.lower()
        if suffix == ".graphml":
            nodes, edges, lengths = _read_graphml(path)
        elif suffix in (".osm", ".xml"):
            nodes, edges, lengths = _read_osm_xml(path, kwargs.get("local_srid", DEFAULT_LOCAL_SRID))
        elif suffix in (".geojson", ".json"):
            nodes, edges, lengths = _read_geojson(path, kwargs.get("local_srid", DEFAULT_LOCAL_SRID))
        else:
            raise GeomapRoutingError(
                f"Tệp mạng đường {path.name} không phải GraphML, OpenStreetMap XML (.osm) hay GeoJSON; "
                "đổi tệp OSM PBF bằng osmium ('osmium cat in.pbf -o out.osm') hoặc lưu đồ thị OSMnx dạng GraphML.",
                f"The street graph {path.name} is neither GraphML, OpenStreetMap XML (.osm) nor GeoJSON; "
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
        self.unreachable_points = [int(k) for k in np.flatnonzero(bad.any(axis=0) | bad.any(axis=1))]
        self.far_points = [(int(k), float(snap_m[k])) for k in np.flatnonzero(snap_m > FAR_FROM_GRAPH_M)]
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
        raise GeomapRoutingError(f"Không đọc được tệp mạng đường {path.name} dạng GraphML ({exc}).",
                                 f"The street graph {path.name} cannot be read as GraphML ({exc}).") from exc
    index = {n: i for i, n in enumerate(graph.nodes)}
    try:
        nodes = np.array([[float(d["x"]), float(d["y"])] for _, d in graph.nodes(data=True)], dtype=float)
    except (KeyError, ValueError) as exc:
        raise GeomapRoutingError(f"Các nút của {path.name} cần có x (kinh độ) và y (vĩ độ).",
                                 f"The nodes of {path.name} need x (longitude) and y (latitude).") from exc
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
        raise GeomapRoutingError(f"Tệp mạng đường {path.name} không phải OSM XML hợp lệ ({exc}).",
                                 f"The street graph {path.name} is not valid OSM XML ({exc}).") from exc
    coords = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    index: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if "highway" not in tags or tags["highway"] in NOT_FOR_MOTORBIKES:
            continue
        refs = [r.get("ref") for r in way.iter("nd") if r.get("ref") in coords]
        _add_way(refs, _oneway(tags.get("oneway")), index, pairs)
    nodes = np.array([coords[k] for k in index], dtype=float).reshape(-1, 2)
    return _lengths(nodes, pairs, local_srid)


def _add_way(refs: list[Any], oneway: int, index: dict[Any, int], pairs: list[tuple[int, int]]) -> None:
    """The edges of one way through node keys ``refs``: both ways, or only the one the ``oneway`` tag allows."""
    for a, b in zip(refs[:-1], refs[1:], strict=False):
        if a == b:
            continue
        i, j = index.setdefault(a, len(index)), index.setdefault(b, len(index))
        if oneway >= 0:
            pairs.append((i, j))
        if oneway <= 0:
            pairs.append((j, i))


def _read_geojson(path: Path, local_srid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LineStrings (or MultiLineStrings) of OSM ways; ways meet where they share a vertex (to 1e-7°)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    except (ValueError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise GeomapRoutingError(f"Tệp mạng đường {path.name} không phải GeoJSON FeatureCollection ({exc}).",
                                 f"The street graph {path.name} is not a GeoJSON FeatureCollection ({exc}).") from exc
    index: dict[tuple[float, float], int] = {}
    pairs: list[tuple[int, int]] = []
    for feature in features:
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        highway = props.get("highway")
        if highway is not None and highway in NOT_FOR_MOTORBIKES:
            continue
        kind = geometry.get("type")
        lines = [geometry.get("coordinates") or []] if kind == "LineString" else \
            (geometry.get("coordinates") or []) if kind == "MultiLineString" else []
        for line in lines:
            try:
                refs = [(round(float(p[0]), 7), round(float(p[1]), 7)) for p in line]
            except (TypeError, ValueError, IndexError):
                continue
            _add_way(refs, _oneway(props.get("oneway")), index, pairs)
    nodes = np.array(list(index), dtype=float).reshape(-1, 2)
    return _lengths(nodes, pairs, local_srid)


def _lengths(nodes: np.ndarray, pairs: list[tuple[int, int]],
             local_srid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not len(pairs):
        return nodes, np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    edges = np.array(pairs, dtype=np.int64)
    x, y = _projector(local_srid).transform(nodes[:, 0], nodes[:, 1])
    lengths = np.hypot(x[edges[:, 0]] - x[edges[:, 1]], y[edges[:, 0]] - y[edges[:, 1]])
    return nodes, edges, lengths


STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "travel.straight_line": ("đường chim bay nhân {detour} để tính đường vòng, đi với tốc độ {speed} km/h",
                             "straight-line distance times {detour} for detours, at {speed} km/h"),
    "travel.street_graph": ("theo mạng đường phố trong tệp {file} (có đường một chiều), đi với tốc độ {speed} km/h",
                            "along the street network in {file} (one-way streets kept), at {speed} km/h"),
}

_STRAIGHT = re.compile(r"^straight_line×(?P<detour>[\d.]+)@(?P<speed>[\d.]+)km/h$")
_GRAPH = re.compile(r"^street_graph\((?P<file>.*)\)@(?P<speed>[\d.]+)km/h$")


def describe(model_name: str, lang: str = "vi") -> str:
    """A travel model's :attr:`name` (as plans store it) in words: "đường chim bay nhân 1,3 ..."."""
    number = (lambda v: v.replace(".", ",")) if lang == "vi" else (lambda v: v)  # noqa: E731
    if m := _STRAIGHT.match(model_name):
        return i18n.t("travel.straight_line", lang).format(detour=number(m["detour"]), speed=number(m["speed"]))
    if m := _GRAPH.match(model_name):
        return i18n.t("travel.street_graph", lang).format(file=m["file"], speed=number(m["speed"]))
    return model_name
