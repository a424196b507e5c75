"""Hotspots (điểm nóng) of field reports: cell counts, Getis-Ord Gi*, FDR, ranked list with trend.

Pure: report points (lon/lat in EPSG:4326) in, cell tables out; no database, no UI.

Cells are either H3 hexagons (default resolution 10: ≈0.015 km² each, edge ≈76 m, about 950
cells over the 15.7 km² Hòa Cường ward) or squares of ``cell_m`` metres in the ward's local
VN-2000 grid (EPSG:5899 for Đà Nẵng). Resolution 10 rather than 9 because street-level report
clusters (a market's garbage point, a junction) span 100–250 m: at resolution 9 (edge ≈200 m,
~150 cells) a cluster fills one cell, its neighbours stay ordinary, and Gi* with the cell's own
count held fixed in the permutations cannot separate it from chance after FDR (measured on the
demo ward: 0 hot cells at r9, 8–29 at r10 for 30–365-day windows). Every cell of the study
area takes part, empty ones included: a hotspot is a cluster of high counts *against the whole
ward*, so the zeros matter.

Gi* uses binary contiguity weights with the cell itself included (H3: the ring of 6
neighbours; squares: queen, 8 neighbours), exactly as PySAL esda's
``G_Local(y, w, transform="B", star=True)``; the values (Gs, EGs, VGs, Zs, p_norm) agree with
esda to floating-point precision (see ``tests/test_hotspots.py``). Inference is by conditional
permutation (each cell keeps its own count, its neighbours are drawn at random from the other
cells), vectorised with numpy over cells and permutations, then folded into a one-sided pseudo
p-value as esda does. Benjamini–Hochberg (``scipy.stats.false_discovery_control``) controls the
false discovery rate over all cells before a cell is called hot or cold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

#: default H3 resolution for a ward (≈0.015 km² cells; see the module docstring)
H3_RESOLUTION = 10
#: default square size in metres for the metric grid
SQUARE_CELL_M = 250.0
#: 9,999: BH over ~1,000 cells needs p-values finer than 1/1,000
PERMUTATIONS = 9999
ALPHA = 0.05
CLASSES = ("hot", "cold", "not_significant")


# --- grids ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A tessellation: ``kind`` "h3" (``resolution``) or "square" (``cell_m`` metres in ``srid``).

    ``srid`` defaults to VN-2000 / Đà Nẵng (EPSG:5899); :func:`geomap.field_reports.reads.hotspot_layers` and
    :func:`geomap.field_reports.reads.reports_in_cells` replace it with the ward's own local CRS."""

    kind: str = "h3"
    resolution: int = H3_RESOLUTION
    cell_m: float = SQUARE_CELL_M
    srid: int = 5899

    def __post_init__(self) -> None:
        if self.kind not in ("h3", "square"):
            raise ValueError(f"unknown grid kind {self.kind!r}; use 'h3' or 'square'")
        if self.kind == "h3" and not 0 <= self.resolution <= 15:
            raise ValueError("H3 resolution must be 0..15")
        if self.kind == "square" and self.cell_m <= 0:
            raise ValueError("cell_m must be positive")

    @property
    def label(self) -> str:
        return f"H3 r{self.resolution}" if self.kind == "h3" else f"{self.cell_m:g} m EPSG:{self.srid}"

    # -- points to cells
    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The cell id of each point (an object array of strings)."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if self.kind == "h3":
            import h3

            res = self.resolution
            return np.array([h3.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)],
                            dtype=object)
        ix, iy = self._square_index(lon, lat)
        return _square_ids(self.cell_m, ix, iy)

    def _transformer(self, inverse: bool = False):
        from pyproj import Transformer

        a, b = "EPSG:4326", f"EPSG:{self.srid}"
        return Transformer.from_crs(b, a, always_xy=True) if inverse else Transformer.from_crs(a, b, always_xy=True)

    def _square_index(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._transformer().transform(lon, lat)
        return np.floor(np.asarray(x) / self.cell_m).astype(np.int64), np.floor(np.asarray(y) / self.cell_m).astype(
            np.int64)

    # -- the study area
    def cover(self, area: BaseGeometry) -> np.ndarray:
        """Ids of the cells making up ``area`` (EPSG:4326): H3 cells whose centre lies inside it,
        squares that intersect it."""
        if self.kind == "h3":
            import h3

            return np.array(sorted(h3.geo_to_cells(area.__geo_interface__, self.resolution)), dtype=object)
        import shapely

        fwd = self._transformer()
        local = shapely.transform(area, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        minx, miny, maxx, maxy = local.bounds
        c = self.cell_m
        ixs = np.arange(np.floor(minx / c), np.floor(maxx / c) + 1, dtype=np.int64)
        iys = np.arange(np.floor(miny / c), np.floor(maxy / c) + 1, dtype=np.int64)
        gx, gy = np.meshgrid(ixs, iys)
        gx, gy = gx.ravel(), gy.ravel()
        squares = shapely.box(gx * c, gy * c, (gx + 1) * c, (gy + 1) * c)
        keep = shapely.intersects(squares, local)
        return _square_ids(c, gx[keep], gy[keep])

    # -- weights
    def weights(self, cells: Sequence[str]) -> sp.csr_matrix:
        """Binary contiguity among ``cells`` (symmetric, zero diagonal)."""
        cells = list(cells)
        index = {c: i for i, c in enumerate(cells)}
        rows: list[int] = []
        cols: list[int] = []
        if self.kind == "h3":
            import h3

            for i, c in enumerate(cells):
                for nb in h3.grid_disk(c, 1):
                    j = index.get(nb)
                    if j is not None and j != i:
                        rows.append(i)
                        cols.append(j)
        else:
            ij = np.array([_parse_square(c)[1:] for c in cells], dtype=np.int64).reshape(-1, 2)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if dx == dy == 0:
                        continue
                    for i, (x, y) in enumerate(ij.tolist()):
                        j = index.get(_square_id(self.cell_m, x + dx, y + dy))
                        if j is not None:
                            rows.append(i)
                            cols.append(j)
        n = len(cells)
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))

    # -- drawing
    def polygons(self, cells: Sequence[str]) -> list[Polygon]:
        """Cell outlines in EPSG:4326."""
        if self.kind == "h3":
            import h3

            return [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
        inv = self._transformer(inverse=True)
        out = []
        for cid in cells:
            size, ix, iy = _parse_square(cid)
            xs = np.array([ix, ix + 1, ix + 1, ix, ix]) * size
            ys = np.array([iy, iy, iy + 1, iy + 1, iy]) * size
            lon, lat = inv.transform(xs, ys)
            out.append(Polygon(zip(lon, lat, strict=True)))
        return out


def _square_id(cell_m: float, ix: int, iy: int) -> str:
    return f"sq{cell_m:g}:{ix}:{iy}"


def _square_ids(cell_m: float, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    prefix = f"sq{cell_m:g}:"
    return np.char.add(np.char.add(np.char.add(prefix, ix.astype(str)), ":"), iy.astype(str)).astype(object)


def _parse_square(cid: str) -> tuple[float, int, int]:
    size, ix, iy = cid[2:].split(":")
    return float(size), int(ix), int(iy)


def aggregate(cell_of_point: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per cell. Cells holding points but outside ``cells`` are appended (never dropped)."""
    uniq, counts = np.unique(np.asarray(cell_of_point, dtype=object).astype(str), return_counts=True)
    cells = np.asarray(cells, dtype=object).astype(str)
    extra = np.setdiff1d(uniq, cells, assume_unique=True)
    all_cells = np.concatenate([cells, extra])
    pos = {c: i for i, c in enumerate(all_cells.tolist())}
    y = np.zeros(len(all_cells), dtype=float)
    if len(uniq):
        y[np.fromiter((pos[c] for c in uniq.tolist()), dtype=np.int64, count=len(uniq))] = counts
    return all_cells.astype(object), y


# --- Gi* ----------------------------------------------------------------------------------


@dataclass
class GiStar:
    """Gi* of every cell; names as in esda's ``G_Local``."""

    Gs: np.ndarray
    EGs: np.ndarray
    VGs: np.ndarray
    Zs: np.ndarray
    p_norm: np.ndarray
    p_sim: np.ndarray | None
    q: np.ndarray | None = None  # Benjamini–Hochberg adjusted p_sim
    classes: np.ndarray | None = None


def _random_neighbour_draws(rng: np.random.Generator, n_others: int, permutations: int, k: int) -> np.ndarray:
    """``permutations`` rows of ``k`` distinct indices in [0, n_others) (rejection of rows with repeats)."""
    k = min(k, n_others)
    ids = rng.integers(0, n_others, size=(permutations, k))
    while True:
        srt = np.sort(ids, axis=1)
        bad = (srt[:, 1:] == srt[:, :-1]).any(axis=1) if k > 1 else np.zeros(permutations, bool)
        if not bad.any():
            return ids
        if n_others < 4 * k:  # dense case: fall back to exact per-row sampling
            ids[bad] = np.array([rng.choice(n_others, size=k, replace=False) for _ in range(int(bad.sum()))])
        else:
            ids[bad] = rng.integers(0, n_others, size=(int(bad.sum()), k))


def gi_star(
    y: np.ndarray,
    w: sp.spmatrix,
    *,
    permutations: int = PERMUTATIONS,
    seed: int | None = None,
    alpha: float = ALPHA,
    chunk: int = 512,
) -> GiStar:
    """Getis-Ord Gi* for counts ``y`` on binary contiguity ``w`` (zero diagonal; the self weight is added).

    Equal to esda ``G_Local(y, w, transform="B", star=True)`` for the analytical part; ``p_sim``
    by conditional permutation with esda's folding (one-sided, ``(extremes + 1) / (perms + 1)``), except
    that permuted values equal to the observed one count on both sides: esda counts ties only as
    "larger", which makes every empty cell surrounded by empty cells a significant cold spot.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = sp.csr_matrix(w, dtype=float)
    w.data[:] = 1.0
    w.setdiag(0)
    w.eliminate_zeros()
    w_star = (w + sp.identity(n, format="csr")).tocsr()
    total = y.sum()
    card = np.asarray(w_star.sum(axis=1)).ravel()
    nan = np.full(n, np.nan)
    if n < 3 or total <= 0:
        return GiStar(nan, card / max(n, 1), nan, nan, nan, None if not permutations else nan.copy(),
                      nan.copy(), np.full(n, "not_significant", dtype=object))
    gs = (w_star @ y) / total
    mean = total / n
    var = (y ** 2).sum() / n - mean ** 2
    egs = card / n
    vgs = card * (n - card) / (n - 1) / n ** 2 * (var / mean ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = (gs - egs) / np.sqrt(vgs)
    p_norm = stats.norm.sf(np.abs(zs))
    p_sim = None
    if permutations:
        p_sim = _permutation_p(y, w, k=(card - 1).astype(np.int64), permutations=permutations, seed=seed,
                               chunk=chunk)
    result = GiStar(gs, egs, vgs, zs, p_norm, p_sim)
    result.q, result.classes = classify(zs, p_sim if p_sim is not None else p_norm, alpha=alpha)
    return result


def _permutation_p(y: np.ndarray, w: sp.csr_matrix, *, k: np.ndarray, permutations: int, seed: int | None,
                   chunk: int) -> np.ndarray:
    """Conditional-permutation pseudo p-values of the neighbour sums.

    Cell i's reference distribution is the sum of ``k_i`` counts drawn without replacement from
    the other cells, so every cell with the same (k_i, y_i) shares it: it is simulated once per
    such group (esda shares one set of random draws across all cells in the same way). Counts
    take few distinct values, so this costs groups × permutations instead of cells × permutations,
    and 9,999 permutations stay cheap enough for FDR over a thousand cells.
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    observed = np.asarray(w @ y).ravel()  # neighbour sums without the cell itself
    groups, first, inverse = np.unique(np.column_stack([k, y]), axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    draws = _random_neighbour_draws(rng, n - 1, permutations, int(k.max()) if n else 0)
    larger = np.zeros(n)
    smaller = np.zeros(n)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(groups) + 1))
    for start in range(0, len(groups), chunk):
        reps = first[start:start + chunk]
        sums = np.zeros((permutations, len(reps)))
        for c in range(draws.shape[1]):
            col = draws[:, c][:, None]
            picked = y[col + (col >= reps[None, :])]  # skip the cell itself, as esda does
            sums += np.where(c < k[reps][None, :], picked, 0.0)
        sums.sort(axis=0)
        for j in range(len(reps)):
            cells = order[bounds[start + j]:bounds[start + j + 1]]
            obs = observed[cells]
            tol = 1e-9 * np.maximum(1.0, np.abs(obs))  # equal sums reached in another order are ties
            larger[cells] = permutations - np.searchsorted(sums[:, j], obs - tol, side="left")
            smaller[cells] = np.searchsorted(sums[:, j], obs + tol, side="right")
    # one-sided pseudo p-value in the direction of the observation (esda's folding); ties count on
    # both sides, so an empty cell among empty cells is not called an extreme cold spot
    return (np.minimum(larger, smaller) + 1.0) / (permutations + 1.0)


def classify(z: np.ndarray, p: np.ndarray, *, alpha: float = ALPHA, fdr: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg adjusted p-values and hot / cold / not_significant classes."""
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(p) & np.isfinite(z)
    q = np.full(len(p), np.nan)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh") if fdr else p[ok]
    classes = np.full(len(p), "not_significant", dtype=object)
    sig = ok & (q <= alpha)
    classes[sig & (z > 0)] = "hot"
    classes[sig & (z < 0)] = "cold"
    return q, classes


# --- the analysis the map shows ----------------------------------------------------------------


@dataclass
class HotspotAnalysis:
    """Cells with counts and Gi* classes, the ranked hotspots, and each report's cell."""

    grid: Grid
    cells: gpd.GeoDataFrame  # cell, count, prev_count, gs, z, p_sim, q, hotspot_class, geometry
    hotspots: pd.DataFrame  # rank, cells, count, prev_count, change, trend, max_z, lon, lat
    report_cells: pd.Series  # report id -> cell id (current window)
    window: tuple[dt.datetime, dt.datetime]
    previous_window: tuple[dt.datetime, dt.datetime]
    params: dict[str, Any] = field(default_factory=dict)


def trend_label(count: float, previous: float) -> str:
    """rising / falling / stable / new, with a floor of 3 reports so noise is not called a trend."""
    if previous == 0:
        return "new" if count > 0 else "stable"
    if count - previous >= 3 and count >= 1.25 * previous:
        return "rising"
    if previous - count >= 3 and count <= 0.8 * previous:
        return "falling"
    return "stable"


def analyse(
    reports: pd.DataFrame,
    *,
    area: BaseGeometry,
    start: dt.datetime,
    end: dt.datetime,
    grid: Grid | None = None,
    permutations: int = PERMUTATIONS,
    alpha: float = ALPHA,
    seed: int | None = 0,
) -> HotspotAnalysis:
    """Hotspots of ``reports`` (columns id, lon, lat, reported_at) reported in [start, end).

    The previous window is the one of equal length just before ``start``; its counts per cell
    give each hotspot's trend.
    """
    grid = grid or Grid()
    if end <= start:
        raise ValueError("the time window must end after it starts")
    length = end - start
    prev = (start - length, start)
    t = pd.to_datetime(reports["reported_at"], utc=True) if len(reports) else pd.Series([], dtype="datetime64[ns, UTC]")
    cur_mask = ((t >= pd.Timestamp(start)) & (t < pd.Timestamp(end))).to_numpy()
    prev_mask = ((t >= pd.Timestamp(prev[0])) & (t < pd.Timestamp(prev[1]))).to_numpy()
    both = cur_mask | prev_mask
    cell_all = np.full(len(reports), None, dtype=object)
    if both.any():
        cell_all[both] = grid.assign(reports["lon"].to_numpy()[both], reports["lat"].to_numpy()[both])
    cells, y = aggregate(cell_all[cur_mask], grid.cover(area))
    _, y_prev_all = aggregate(cell_all[prev_mask], cells)
    y_prev = y_prev_all[: len(cells)]  # previous-window points outside today's cells do not add cells
    gi = gi_star(y, grid.weights(cells), permutations=permutations, seed=seed, alpha=alpha)
    frame = gpd.GeoDataFrame({
        "cell": cells, "count": y.astype(int), "prev_count": y_prev.astype(int), "gs": gi.Gs, "z": gi.Zs,
        "p_norm": gi.p_norm, "p_sim": gi.p_sim if gi.p_sim is not None else np.nan, "q": gi.q,
        "hotspot_class": gi.classes,
    }, geometry=grid.polygons(cells), crs="EPSG:4326")
    hotspots = rank_hotspots(frame, grid.weights(cells))
    ids = reports["id"].to_numpy()[cur_mask] if "id" in reports else np.flatnonzero(cur_mask)
    return HotspotAnalysis(
        grid=grid, cells=frame, hotspots=hotspots,
        report_cells=pd.Series(cell_all[cur_mask], index=ids, name="cell"),
        window=(start, end), previous_window=prev,
        params={"grid": grid.label, "permutations": permutations, "alpha": alpha, "fdr": "Benjamini-Hochberg",
                "weights": "binary contiguity + self (Gi*)", "reports": int(cur_mask.sum()),
                "previous_reports": int(prev_mask.sum()), "cells": len(cells)},
    )


def rank_hotspots(cells: gpd.GeoDataFrame, w: sp.spmatrix) -> pd.DataFrame:
    """Adjacent hot cells grouped into hotspots, ranked by reports in the window (then by max z)."""
    columns = ["rank", "cells", "n_cells", "count", "prev_count", "change", "trend", "max_z", "lon", "lat"]
    hot = np.flatnonzero(cells["hotspot_class"].to_numpy() == "hot")
    if len(hot) == 0:
        return pd.DataFrame(columns=columns)
    from scipy.sparse.csgraph import connected_components

    sub = sp.csr_matrix(w)[hot][:, hot]
    _, labels = connected_components(sub, directed=False)
    rows = []
    for lab in np.unique(labels):
        members = cells.iloc[hot[labels == lab]]
        count, prev = int(members["count"].sum()), int(members["prev_count"].sum())
        centre = members.geometry.union_all().centroid
        rows.append({"cells": list(members["cell"]), "n_cells": len(members), "count": count, "prev_count": prev,
                     "change": count - prev, "trend": trend_label(count, prev),
                     "max_z": float(members["z"].max()), "lon": centre.x, "lat": centre.y})
    out = pd.DataFrame(rows).sort_values(["count", "max_z"], ascending=False).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[columns]


def heat_points(reports: pd.DataFrame) -> list[list[float]]:
    """[lat, lon] pairs for folium.plugins.HeatMap."""
    return reports[["lat", "lon"]].astype(float).to_numpy().tolist()


__all__ = ["Grid", "GiStar", "HotspotAnalysis", "aggregate", "analyse", "classify", "gi_star", "grid_of",
           "heat_points", "is_cell_id", "rank_hotspots", "trend_label"]


_SQUARE_ID = re.compile(r"sq\d{1,6}(?:\.\d{1,3})?:-?\d{1,9}:-?\d{1,9}")


def is_cell_id(cell: str) -> bool:
    """Is ``cell`` an H3 index or a square id ``sq<size>:<ix>:<iy>`` (what a hotspot link may carry)?"""
    if not isinstance(cell, str) or not 0 < len(cell) <= 40:
        return False
    if cell.startswith("sq"):
        return _SQUARE_ID.fullmatch(cell) is not None and _parse_square(cell)[0] > 0
    import h3

    try:
        return bool(h3.is_valid_cell(cell))
    except (ValueError, TypeError):
        return False


def grid_of(cell: str, *, srid: int) -> Grid:
    """The grid a cell id belongs to (H3 index or ``sq<size>:<ix>:<iy>``), so a link can name just the cell.

    A square id does not carry its CRS: ``srid`` is the ward's local CRS (``WardProfile.local_srid``,
    the ``ward.local_srid`` column), the one :func:`geomap.field_reports.reads.hotspot_layers` lays squares in."""
    if not is_cell_id(cell):
        raise ValueError(f"'{str(cell)[:32]}' is not a cell id")
    if cell.startswith("sq"):
        size, _, _ = _parse_square(cell)
        return Grid("square", cell_m=size, srid=int(srid))
    import h3

    return Grid("h3", resolution=h3.get_resolution(cell))
