"""Hotspots: Gi* equal to PySAL esda on the same weights, permutation inference, FDR, demo clusters."""

from __future__ import annotations

import datetime as dt
import warnings

import esda
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import W, lat2W
from reports_fixtures import ensure_ward

from geomap import profiles
from geomap.field_reports import deadlines, hotspot_links, hotspots, reads

UTC = dt.UTC


def esda_gi(y, w_csr, permutations=0, seed=1):
    neigh = {i: [int(j) for j in w_csr[i].indices] for i in range(w_csr.shape[0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw = W(neigh, silence_warnings=True)
        return esda.G_Local(np.asarray(y, float), lw, transform="B", star=True, permutations=permutations, seed=seed)


def test_small_known_case_matches_esda():
    """A 5×5 lattice (rook) with a block of high counts in one corner."""
    w = lat2W(5, 5, rook=True).sparse.tocsr()
    y = np.zeros(25)
    y[[0, 1, 5, 6]] = [9, 8, 7, 9]
    y[[12, 18, 24]] = [1, 2, 1]
    ours = hotspots.gi_star(y, w, permutations=999, seed=3)
    ref = esda_gi(y, w, permutations=999, seed=3)
    for name in ("Gs", "EGs", "VGs", "Zs", "p_norm"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=0, atol=1e-6, err_msg=name)
    # hand check of cell 0: itself + 2 rook neighbours (1, 5) over the total
    assert ours.Gs[0] == pytest.approx((9 + 8 + 7) / y.sum())
    # permutation p-values: same statistic, different random streams -> close, not equal...
    upper = ours.Zs > 1  # no ties possible in the upper tail here
    assert upper.sum() >= 4 and np.abs(ours.p_sim - ref.p_sim)[upper].max() < 0.05
    # ...except for ties: esda counts a permuted value equal to the observed one as "larger" only,
    # so an empty cell among empty cells gets p = 0.001 there; here it is not significant
    empty = ours.Gs == 0
    assert (ref.p_sim[empty] <= 0.001 + 1e-9).all() and (ours.p_sim[empty] > 0.1).all()
    assert ours.Zs[0] > 2 and ours.p_sim[0] < 0.05 and ref.p_sim[0] < 0.05


def test_block_of_high_counts_is_hot_after_fdr():
    w = lat2W(12, 12, rook=False).sparse.tocsr()
    rng = np.random.default_rng(5)
    y = rng.poisson(1.0, 144).astype(float)
    block = [r * 12 + c for r in range(4, 7) for c in range(4, 7)]
    y[block] += 12
    ours = hotspots.gi_star(y, w, permutations=999, seed=1)
    assert ours.classes[5 * 12 + 5] == "hot" and (ours.classes[block] == "hot").sum() >= 5
    assert (ours.classes == "hot").sum() <= 25 and "cold" not in set(ours.classes)
    assert set(ours.classes[[20, 21, 22]]) == {"not_significant"}


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 9), st.integers(3, 9), st.integers(0, 2**31 - 1))
def test_matches_esda_on_random_counts(rows, cols, seed):
    rng = np.random.default_rng(seed)
    w = lat2W(rows, cols, rook=False).sparse.tocsr()
    y = rng.poisson(2.0, rows * cols).astype(float)
    if y.sum() == 0 or y.var() == 0:
        y[0] += 3
    ours = hotspots.gi_star(y, w, permutations=0)
    ref = esda_gi(y, w)
    for name in ("Gs", "Zs", "EGs", "VGs"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=0, atol=1e-6, err_msg=name)


def test_permutation_pvalues_are_calibrated():
    """Under no clustering (independent Poisson), p_sim is roughly uniform: ~5% below 0.05."""
    rng = np.random.default_rng(7)
    w = lat2W(30, 30, rook=False).sparse.tocsr()
    below = []
    for _ in range(4):
        r = hotspots.gi_star(rng.poisson(3.0, 900).astype(float), w, permutations=199, seed=int(rng.integers(1e9)))
        below.append((r.p_sim <= 0.05).mean())
        assert (r.classes == "not_significant").mean() > 0.95  # FDR keeps false hotspots rare
    assert 0.02 < np.mean(below) < 0.14  # one-sided folded p-values: about twice alpha/2 each side


def test_fdr_is_benjamini_hochberg():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    q, classes = hotspots.classify(np.ones(10), p, alpha=0.05)
    # BH by hand: q_i = min_{j>=i} p_j * m / j
    m = len(p)
    expected = np.minimum.accumulate((p * m / np.arange(1, m + 1))[::-1])[::-1]
    np.testing.assert_allclose(q, np.minimum(expected, 1))
    assert list(classes[:2]) == ["hot", "hot"] and set(classes[2:]) == {"not_significant"}
    _, cls = hotspots.classify(-np.ones(10), p)
    assert list(cls[:2]) == ["cold", "cold"]


def test_empty_and_degenerate_inputs():
    w = lat2W(3, 3).sparse.tocsr()
    r = hotspots.gi_star(np.zeros(9), w)
    assert set(r.classes) == {"not_significant"}
    r = hotspots.gi_star(np.full(9, 2.0), w)  # no variation: z undefined, nothing significant
    assert set(r.classes) == {"not_significant"}


@pytest.mark.parametrize("grid", [hotspots.Grid("h3", resolution=9), hotspots.Grid("h3", resolution=10),
                                  hotspots.Grid("square", cell_m=250)])
def test_grids_cover_ward_and_weights_are_symmetric(grid):
    area = profiles.get("hoa-cuong").boundary()
    cells = grid.cover(area)
    assert 100 < len(cells) < 1200
    w = grid.weights(cells)
    assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
    k = np.asarray(w.sum(axis=1)).ravel()
    assert k.max() == (6 if grid.kind == "h3" else 8)
    # a point is assigned to a cell whose polygon contains it
    p = area.representative_point()
    cid = grid.assign(np.array([p.x]), np.array([p.y]))[0]
    assert grid.polygons([cid])[0].buffer(1e-9).contains(p)


def test_square_grid_is_metric_in_vn2000():
    from pyproj import Geod

    grid = hotspots.Grid("square", cell_m=250)
    poly = grid.polygons(grid.cover(profiles.get("hoa-cuong").boundary())[:1])[0]
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(poly)
    assert abs(abs(area) - 62_500) < 200  # TM-3 scale factor 0.9999: within a fraction of a percent


def synthetic_reports(n_background=1500, n_cluster=300, seed=0):
    area = profiles.get("hoa-cuong").boundary()
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = area.bounds
    import shapely
    lon = rng.uniform(minx, maxx, n_background * 3)
    lat = rng.uniform(miny, maxy, n_background * 3)
    keep = shapely.contains_xy(area, lon, lat)
    lon, lat = lon[keep][:n_background], lat[keep][:n_background]
    c = area.representative_point()
    lon = np.r_[lon, rng.normal(c.x, 0.0015, n_cluster)]
    lat = np.r_[lat, rng.normal(c.y, 0.0015, n_cluster)]
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    days = rng.uniform(0, 60, len(lon))
    days[n_background:] = rng.uniform(30, 60, n_cluster)  # the cluster is new in the second month
    return area, c, pd.DataFrame({"id": np.arange(len(lon)), "lon": lon, "lat": lat,
                                  "reported_at": [t0 + dt.timedelta(days=float(d)) for d in days]})


def test_analyse_finds_planted_cluster_with_rising_trend():
    area, centre, frame = synthetic_reports()
    start = dt.datetime(2026, 1, 31, tzinfo=UTC)
    end = dt.datetime(2026, 3, 2, tzinfo=UTC)
    result = hotspots.analyse(frame, area=area, start=start, end=end, seed=1)
    assert len(result.hotspots) >= 1
    top = result.hotspots.iloc[0]
    assert top["trend"] == "rising" and top["count"] > top["prev_count"]
    from shapely.geometry import Point
    assert Point(top["lon"], top["lat"]).distance(centre) < 0.004
    cells = result.cells.set_index("cell")
    assert (cells.loc[top["cells"], "hotspot_class"] == "hot").all()
    # every current report is mapped to the cell that counts it
    counts = result.report_cells.value_counts()
    assert (cells.loc[counts.index, "count"].to_numpy() == counts.to_numpy()).all()
    assert result.params["reports"] == int(result.cells["count"].sum())
    # and the cells agree with esda on the same weights
    w = hotspots.Grid().weights(result.cells["cell"].tolist())
    ref = esda_gi(result.cells["count"].to_numpy(), w)
    np.testing.assert_allclose(result.cells["z"].to_numpy(), ref.Zs, atol=1e-6)


def test_trend_labels():
    assert hotspots.trend_label(10, 0) == "new"
    assert hotspots.trend_label(20, 10) == "rising"
    assert hotspots.trend_label(5, 10) == "falling"
    assert hotspots.trend_label(11, 10) == "stable"
    assert hotspots.trend_label(2, 1) == "stable"  # too few reports to call a trend


def test_demo_reports_have_hotspots_matching_esda(request, engine):
    """The demo ward's reports (clusters at markets, main-road junctions, a low area) show hotspots."""
    ward = ensure_ward(request, engine)
    with engine.connect() as c:
        n = c.execute(__import__("sqlalchemy").text(
            "SELECT count(*) FROM field_report WHERE ward_id = :w AND is_synthetic"), {"w": ward}).scalar()
    if n < 200:
        pytest.fail("the demo loader did not load field reports (geomap.demo.load)")
    end = dt.datetime.now(UTC)
    start = end - dt.timedelta(days=365)
    analysis, points = reads.hotspot_layers(engine, ward, start=start, end=end, seed=2)
    assert len(points) == analysis.params["reports"] > 100
    assert (analysis.cells["hotspot_class"] == "hot").sum() >= 2 and len(analysis.hotspots) >= 1
    w = analysis.grid.weights(analysis.cells["cell"].tolist())
    ref = esda_gi(analysis.cells["count"].to_numpy(), w, permutations=9999, seed=2)
    for ours, theirs in (("gs", "Gs"), ("z", "Zs"), ("p_norm", "p_norm")):
        np.testing.assert_allclose(analysis.cells[ours].to_numpy(), getattr(ref, theirs), atol=1e-6)
    # hot classes agree with esda's own p_sim + the same FDR on most cells (random streams differ)
    _, ref_classes = hotspots.classify(ref.Zs, ref.p_sim)
    agree = (ref_classes == analysis.cells["hotspot_class"].to_numpy()).mean()
    assert agree > 0.95
    garbage, _ = reads.hotspot_layers(engine, ward, start=start, end=end, categories=["garbage"])
    assert garbage.params["reports"] < analysis.params["reports"]
    # each ranked hotspot is named by a nearby address and its residential group
    places = reads.hotspot_places(engine, ward, analysis.hotspots)
    assert len(places) == len(analysis.hotspots)
    assert all(p["near_address"] and p["residential_group"] for p in places), places


def test_weights_sparse_input_forms():
    w = lat2W(4, 4).sparse
    y = np.arange(16, dtype=float)
    a = hotspots.gi_star(y, sp.coo_matrix(w), permutations=0)
    b = hotspots.gi_star(y, w.tocsr() * 3.0, permutations=0)  # binary regardless of stored values
    np.testing.assert_allclose(a.Zs, b.Zs)


def test_grid_of_uses_the_given_ward_crs():
    """A square id carries no CRS: grid_of lays it in the ward's local CRS it is given."""
    prof = profiles.get("hoa-cuong")
    sq = hotspots.grid_of("sq250:3141:-59", srid=prof.local_srid)
    assert (sq.kind, sq.cell_m, sq.srid) == ("square", 250.0, prof.local_srid)
    assert hotspots.grid_of("sq250:3141:-59", srid=3405).srid == 3405  # VN-2000 UTM 48N: not silently 5899
    h = hotspots.grid_of("8a65b56628e7fff", srid=prof.local_srid)
    assert (h.kind, h.resolution) == ("h3", 10)
    for bad in ("sq250:1:x", "sq0:1:2", "zzz", ""):
        assert not hotspots.is_cell_id(bad)
        with pytest.raises(ValueError):
            hotspots.grid_of(bad, srid=prof.local_srid)


def test_square_cells_link_back_to_their_reports_in_the_ward_crs(request, engine):
    """hotspot_layers lays squares in the ward's CRS even when handed a grid in another one, and
    reports_in_cells reads the ids back the same way: a cell's link lists exactly the reports it counts."""
    ward = ensure_ward(request, engine)
    end = dt.datetime.now(UTC)
    start = end - dt.timedelta(days=365)
    other_crs = hotspots.Grid("square", cell_m=250, srid=3405)
    analysis, _ = reads.hotspot_layers(engine, ward, start=start, end=end, grid=other_crs, permutations=0)
    assert analysis.grid.srid == profiles.get("hoa-cuong").local_srid
    assert analysis.params["grid"].endswith(f"EPSG:{profiles.get('hoa-cuong').local_srid}")
    busiest = analysis.cells.sort_values("count", ascending=False).iloc[0]
    assert busiest["count"] > 0
    found = reads.reports_in_cells(engine, ward, [busiest["cell"]], since=start, until=end)
    assert len(found) == busiest["count"]


def test_map_cell_popups_link_to_their_reports():
    from geomap.ui.pages import hotspots as page

    area, _, frame = synthetic_reports(n_background=300, n_cluster=60)
    start, end = dt.datetime(2026, 1, 31, tzinfo=UTC), dt.datetime(2026, 3, 2, tzinfo=UTC)
    result = hotspots.analyse(frame, area=area, start=start.astimezone(deadlines.LOCAL_TZ),
                              end=end.astimezone(deadlines.LOCAL_TZ), permutations=0)
    geo = page._cells_geojson(result.cells, "en", result.window, ("garbage",), "hoa-cuong")
    props = [f["properties"] for f in geo["features"]]
    with_reports = [p for p in props if p["count"] > 0]
    assert with_reports and all('target="_blank"' in p["link"] for p in with_reports)
    assert all("href" not in p["link"] for p in props if p["count"] == 0)
    import html
    import re
    from urllib.parse import parse_qs, urlsplit

    one = with_reports[0]
    href = html.unescape(re.search(r'href="([^"]+)"', one["link"]).group(1))
    parsed = hotspot_links.parse_cells_link({k: v[-1] for k, v in parse_qs(urlsplit(href).query).items()})
    assert parsed == hotspot_links.CellFilter((one["cell"],), *result.window, ("garbage",), "hoa-cuong")


def test_grid_picker_names_the_wards_own_crs():
    """The square grid is laid in the ward's local CRS: the picker says that CRS, not a fixed EPSG:5899."""
    from geomap.ui.pages import hotspots as page

    assert page._grid_label("sq-250", 3405) == "250 m EPSG:3405"
    assert page._grid_label("sq-250", profiles.get("hoa-cuong").local_srid) == "250 m EPSG:5899"
    assert page._grid_label("h3-10", 3405) == "H3 r10"
