"""Generate a synthetic ward: pure, deterministic, no database.

:func:`generate` turns a ward profile into a :class:`WardData`: one pandas frame per table,
geometry as shapely objects in EPSG:4326, references between rows as positional indices
(``*_idx`` columns) that the loader turns into database ids. The same profile, scale and
``today`` always give the same frames (one seeded numpy Generator per ward slug, split
per concern so that changing one part leaves the others as they were).

Everything is built in the ward's local VN-2000 grid (:mod:`geomap.demo.territory`) so
offsets, distances and areas are metres, and kept a few metres inside the real boundary.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import Point

from geomap import config, status, text
from geomap.demo import territory as terr
from geomap.demo import vocabulary as voc
from geomap.demo.territory import LANE, MAIN, SECONDARY
from geomap.field_reports import intake, retention
from geomap.profiles import WardProfile

WGS84 = 4326
TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Asia/Ho_Chi_Minh, no DST
#: tables in the order they are written (parents first)
TABLES = ("former_ward_zone", "residential_group", "market", "establishment", "stall", "licence", "inspection",
          "land_parcel", "infrastructure", "public_facility", "field_report", "field_report_update", "street",
          "stall_payment_evidence")
#: parcels at scale 1 (a subdivision of the street blocks, not a cadastral survey)
PARCELS_AT_SCALE_1 = 5000
#: a market does not grow without bound at city scale (the largest in Đà Nẵng have a few hundred stalls)
MAX_STALLS_PER_MARKET = 400
#: business type shares of street establishments, and enterprise share by sector
ENTERPRISE_SHARE = {"accommodation": 0.25, "health": 0.25, "education": 0.25, "office_services": 0.3,
                    "food_production": 0.2}
DEFAULT_ENTERPRISE_SHARE = 0.07
COOPERATIVE_SHARE = 0.004
#: digital-payment adoption by business type (documents' current level: about half of businesses)
PAYMENT_ADOPTION = {"household": 0.44, "enterprise": 0.92, "cooperative": 0.7, "market_stall": 0.5}
#: licence-status mix among establishments (missing, expired, expiring; the rest valid)
REGISTRATION_MIX = (0.07, 0.10, 0.08)
#: field-report categories and their shares
REPORT_MIX = (("garbage", 0.30), ("urban_order", 0.24), ("infrastructure", 0.18), ("sanitation", 0.14),
              ("food_safety", 0.08), ("other", 0.06))
REPORT_CHANNELS = (("app", 0.30), ("web", 0.20), ("officer", 0.20), ("hotline", 0.15), ("qr", 0.10),
                   ("open311", 0.05))
STATUS_CHAIN = ("new", "received", "assigned", "in_progress", "resolved", "closed")
INFRA_CODES = {"street_light": "DCS", "drain": "CTN", "camera": "CAM", "sensor": "CB", "loudspeaker": "LOA",
               "led_screen": "LED", "wifi": "WIFI"}


@dataclass
class WardData:
    """One synthetic ward: the ward row and a frame per table (geometry in EPSG:4326)."""

    profile: WardProfile
    ward: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items()}

    def digest(self) -> str:
        """SHA-256 of every value of every table (geometry as WKB): equal digests, equal data."""
        h = hashlib.sha256()
        h.update(repr(sorted((k, v) for k, v in self.ward.items() if k != "geom")).encode())
        h.update(shapely.to_wkb(self.ward["geom"]))
        for name in TABLES:
            frame = self.tables[name]
            h.update(name.encode())
            for col in frame.columns:
                values = frame[col].to_numpy()
                if len(values) and isinstance(values[0], shapely.Geometry):
                    for w in shapely.to_wkb(values):
                        h.update(w or b"")
                else:
                    h.update(repr(values.tolist()).encode())
        return h.hexdigest()


# --- helpers ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def industries() -> pd.DataFrame:
    """The VSIC 2018 reference list shipped in ``data/vsic2018.csv`` (also seeded in the database)."""
    frame = pd.read_csv(config.DATA_DIR / "vsic2018.csv", dtype={"vsic_code": str})
    frame["food_safety_applicable"] = frame["food_safety_applicable"].astype(str).str.lower().eq("true")
    return frame.set_index("vsic_code")


def _rngs(slug: str, scale: float) -> dict[str, np.random.Generator]:
    entropy = int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big")
    names = ("groups", "streets", "markets", "establishments", "licences", "inspections", "parcels",
             "infrastructure", "facilities", "reports", "digital")
    children = np.random.SeedSequence([entropy, int(round(scale * 1000))]).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}


def _choice(rng: np.random.Generator, options: tuple[tuple[Any, float], ...], size: int) -> np.ndarray:
    values = [o[0] for o in options]
    weights = np.array([o[1] for o in options], dtype=float)
    idx = rng.choice(len(values), size=size, p=weights / weights.sum())
    return np.array(values, dtype=object)[idx]


def _dates(today: dt.date, days_ago: np.ndarray) -> np.ndarray:
    base = np.datetime64(today, "D")
    return (base - np.asarray(days_ago, dtype="int64").astype("timedelta64[D]")).astype(object)


def _to_wgs84(geoms: np.ndarray | list, srid: int) -> np.ndarray:
    arr = np.asarray(geoms, dtype=object) if not isinstance(geoms, np.ndarray) else geoms
    if len(arr) == 0:
        return np.empty(0, dtype=object)
    return terr.project(arr, srid, WGS84)


def _points(xy: np.ndarray, srid: int) -> np.ndarray:
    return _to_wgs84(shapely.points(xy), srid)


class People:
    """Made-up Vietnamese people: name, gender, ID number (CCCD), phone."""

    PHONE_PREFIXES = ("090", "093", "089", "070", "079", "077", "076", "078", "091", "094", "088", "083",
                      "084", "085", "081", "082", "032", "033", "034", "035", "036", "037", "038", "039",
                      "086", "096", "097", "098")

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def draw(self, n: int, female_share: float = 0.55) -> dict[str, list]:
        rng = self.rng
        female = rng.random(n) < female_share
        family = _choice(rng, voc.FAMILY_NAMES, n)
        mm = rng.integers(0, 10_000, n)
        gg = rng.integers(0, 10_000, n)
        given = [voc.FEMALE_GIVEN[g % len(voc.FEMALE_GIVEN)] if f else voc.MALE_GIVEN[g % len(voc.MALE_GIVEN)]
                 for f, g in zip(female, gg, strict=True)]
        middle = [voc.FEMALE_MIDDLE[m % len(voc.FEMALE_MIDDLE)] if f else voc.MALE_MIDDLE[m % len(voc.MALE_MIDDLE)]
                  for f, m in zip(female, mm, strict=True)]
        born = rng.integers(1955, 2004, n)
        century_sex = np.where(born >= 2000, 2, 0) + female.astype(int)
        serial = rng.integers(0, 1_000_000, n)
        ids = [f"048{c}{b % 100:02d}{s:06d}" for c, b, s in zip(century_sex, born, serial, strict=True)]
        prefixes = rng.integers(0, len(self.PHONE_PREFIXES), n)
        tail = rng.integers(0, 10_000_000, n)
        phones = [f"{self.PHONE_PREFIXES[p]}{t:07d}" for p, t in zip(prefixes, tail, strict=True)]
        return {"name": [f"{a} {b} {c}" for a, b, c in zip(family, middle, given, strict=True)], "given": given,
                "female": female.tolist(), "id_number": ids, "phone": phones}


# --- generation ------------------------------------------------------------------------


def generate(profile: WardProfile, scale: float = 1.0, today: dt.date | None = None) -> WardData:
    """The synthetic ward for ``profile`` at ``scale`` as of ``today`` (default: today)."""
    today = today or status.today()
    rngs = _rngs(profile.slug, scale)
    srid = profile.local_srid
    boundary = profile.boundary()
    local = terr.project(boundary, WGS84, srid)
    inner = local.buffer(-4.0)
    shapely.prepare(inner)
    demo = profile.demo or {}

    from geomap.demo import profiles_city  # the OSM relation id lives with the boundary file

    data = WardData(profile=profile, ward={
        "slug": profile.slug, "name": profile.name, "province": profile.province, "local_srid": srid,
        "official_area_km2": profile.official_area_km2 or None, "population": profile.population or None,
        "osm_relation_id": profiles_city.osm_relation_id(profile), "geom": boundary,
    })
    t = data.tables
    groups_local, seeds = _residential_groups(data, local, rngs["groups"])
    main_names, secondary_names = voc.STREETS.get(profile.slug, voc.CITY_STREETS)
    net = terr.street_network(local, rngs["streets"], main_names, secondary_names)
    t["street"] = _streets(net, srid)

    n_est = max(30, int(round(demo.get("establishments", 1000) * scale)))
    markets = list(demo.get("markets", ())) or [f"Chợ {profile.name.split(' ', 1)[-1]}"]
    stalls_per_market = min(MAX_STALLS_PER_MARKET, max(6, int(round(demo.get("stalls_per_market", 100) * scale))))
    stalls_per_market = min(stalls_per_market, n_est // (2 * len(markets)) or 1)
    footprints = _markets(data, markets, stalls_per_market, net, inner, rngs["markets"])
    _establishments(data, n_est, net, inner, footprints, seeds, rngs["establishments"], today)
    _facilities(data, net, inner, footprints, seeds, rngs["facilities"])
    _licences(data, rngs["licences"], today)
    n_reports = max(20, int(round(demo.get("field_reports", demo.get("establishments", 1000) / 2) * scale)))
    _field_reports(data, n_reports, net, inner, rngs["reports"], today)
    _inspections(data, rngs["inspections"], today)
    _digital(data, rngs["digital"], today)
    target = int(round(PARCELS_AT_SCALE_1 * min(max(scale, 0.1), 1.0)))
    _parcels(data, local, net, footprints, target, rngs["parcels"])
    _infrastructure(data, net, inner, groups_local, rngs["infrastructure"], today)
    data.tables["public_facility"] = data.tables["public_facility"].drop(columns="xy")
    for name in TABLES:
        t.setdefault(name, pd.DataFrame())
    return data


def _streets(net: terr.Streets, srid: int) -> pd.DataFrame:
    """The named streets and kiệt of the network, as the street import writes them (geomap.addresses):
    the parts of one street merged in the order its house numbers run, each kiệt "Kiệt N <street>"."""
    from geomap.addresses.parse import street_key, way_key

    ways: dict[str, dict[str, Any]] = {}
    order = np.lexsort((net.start_m, np.arange(len(net.lines))))
    for i in order:
        name = net.name[i]
        alley = str(int(net.kiet[i])) if net.kind[i] == LANE else ""
        key = way_key(street_key(name), alley)
        entry = ways.setdefault(key, {"name": f"Kiệt {alley} {name}" if alley else name, "name_key": key,
                                      "street_key": street_key(name), "alley": alley or None,
                                      "kind": "alley" if alley else "street", "parts": []})
        entry["parts"].append(net.lines[i])
    rows = []
    for entry in ways.values():
        parts = entry.pop("parts")
        geom = shapely.MultiLineString(parts)
        rows.append({**entry, "length_m": round(float(geom.length), 1), "source": "demo", "geom": geom})
    frame = pd.DataFrame(rows, columns=["name", "name_key", "street_key", "alley", "kind", "length_m", "source",
                                        "geom"])
    frame["geom"] = list(_to_wgs84(frame["geom"].to_numpy(), srid)) if len(frame) else []
    return frame


def _residential_groups(data: WardData, local, rng: np.random.Generator):
    """Residential groups tiling the ward (Voronoi cells of spread seeds) and former-ward zones."""
    profile, srid = data.profile, data.profile.local_srid
    n = max(1, profile.residential_groups)
    seeds = terr.spread_seeds(local, n, rng)
    zone_names = profile.former_wards
    labels = terr.kmeans_labels(seeds, len(zone_names)) if zone_names else np.zeros(n, dtype=int)
    order = np.lexsort((seeds[:, 0], -np.round(seeds[:, 1] / 250.0), labels))
    seeds, labels = seeds[order], labels[order]
    cells = terr.voronoi_cells(seeds, local.envelope.buffer(2000))
    # clip in WGS84 against the stored boundary itself, so the groups tile it exactly
    boundary = data.ward["geom"]
    groups = [terr.as_multipolygon(g) for g in shapely.intersection(_to_wgs84(cells, srid), boundary)]
    groups_local = shapely.intersection(cells, local)
    area = shapely.area(groups_local)
    population = profile.population or 380 * n
    weights = rng.lognormal(0.0, 0.3, n) * np.power(np.maximum(area, 1.0), 0.35)
    exact = population * weights / weights.sum()
    pop = np.floor(exact).astype(int)
    pop[np.argsort(exact - pop)[::-1][: population - pop.sum()]] += 1
    households = np.maximum(1, np.round(pop / rng.uniform(3.4, 3.9, n))).astype(int)
    data.tables["residential_group"] = pd.DataFrame({
        "code": [f"TDP{i + 1:03d}" for i in range(n)],
        "name": [f"Tổ dân phố {i + 1}" for i in range(n)],
        "population": pop, "households": households, "is_synthetic": True,
        "zone_idx": labels, "geom": groups,
    })
    if zone_names:
        zones = [terr.as_multipolygon(shapely.union_all([g for g, lab in zip(groups, labels, strict=True) if lab == k]))
                 for k in range(len(zone_names))]
        data.tables["former_ward_zone"] = pd.DataFrame({"name": list(zone_names), "is_synthetic": True,
                                                         "geom": zones})
    else:
        data.tables["former_ward_zone"] = pd.DataFrame(columns=["name", "is_synthetic", "geom"])
    return groups_local, seeds


def _group_of(seeds: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Residential group (index) of each point: the group is the Voronoi cell of the nearest seed."""
    tree = shapely.STRtree(shapely.points(seeds))
    qi, ti = tree.query_nearest(shapely.points(xy), all_matches=False)
    out = np.empty(len(xy), dtype=int)
    out[qi] = ti
    return out


def _address(net: terr.Streets, xy: np.ndarray, named_only: bool = False) -> list[str]:
    near = net.nearest(xy, named_only)
    numbers, streets = net.addresses(near["seg"], near["side"], near["along"])
    return [f"{n} {s}" for n, s in zip(numbers, streets, strict=True)]


def _markets(data: WardData, names: list[str], stalls_per_market: int, net: terr.Streets, inner,
             rng: np.random.Generator) -> list:
    """Markets at junctions of main streets, far apart; stalls in a grid inside each footprint."""
    srid = data.profile.local_srid
    scale_side = np.sqrt(stalls_per_market / 150.0)
    width, height = max(40.0, 90 * scale_side), max(30.0, 70 * scale_side)
    deep = inner.buffer(-150)
    shapely.prepare(deep)
    cands = net.junctions[shapely.contains_xy(deep, *net.junctions.T)] if len(net.junctions) else net.junctions
    if len(cands) < len(names):
        main = net.seg_xy[net.seg_kind == MAIN]
        pool = main[:, :2] if len(main) else net.seg_xy[:, :2]
        cands = np.concatenate([cands, pool[rng.permutation(len(pool))[: 3 * len(names)]]])
    picked = [int(rng.integers(len(cands)))]
    while len(picked) < len(names):
        d = np.min([np.hypot(*(cands - cands[i]).T) for i in picked], axis=0)
        far = np.flatnonzero(d >= 0.6 * d.max())
        picked.append(int(rng.choice(far)))
    u = np.array([np.cos(net.angle), np.sin(net.angle)])
    v = np.array([-np.sin(net.angle), np.cos(net.angle)])
    footprints, rows, stalls = [], [], []
    for m, (name, j) in enumerate(zip(names, picked, strict=True)):
        centre = None
        for su, sv in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            c = cands[j] + su * (width / 2 + 14) * u + sv * (height / 2 + 14) * v
            poly = terr.rotated_rect(c, width, height, net.angle)
            if inner.contains(poly):
                centre = c
                break
        if centre is None:
            centre, poly = cands[j], terr.rotated_rect(cands[j], width, height, net.angle)
            poly = poly.intersection(inner)
        footprints.append(poly)
        address = _address(net, centre[None, :], named_only=True)[0]
        rows.append({"code": f"{data.profile.code_prefix}-CHO-{m + 1:02d}", "name": name, "address": address,
                     "is_pilot_smart_market": m == 0, "is_synthetic": True,
                     "geom": _points(centre[None, :], srid)[0],
                     "footprint": _to_wgs84([poly], srid)[0]})
        cols = int(np.ceil(np.sqrt(stalls_per_market * width / height)))
        nrows = int(np.ceil(stalls_per_market / cols))
        a = (np.arange(cols) + 0.5) / cols - 0.5
        b = (np.arange(nrows) + 0.5) / nrows - 0.5
        k = np.arange(stalls_per_market)
        xy = centre + np.outer(a[k % cols] * (width - 8), u) + np.outer(b[k // cols] * (height - 8), v)
        row_share = (k // cols + 0.5) / nrows
        bounds = np.cumsum([z[1] for z in voc.MARKET_ZONES])
        zone = np.minimum(np.searchsorted(bounds, row_share), len(voc.MARKET_ZONES) - 1)
        counters = dict.fromkeys(range(len(voc.MARKET_ZONES)), 0)
        for i in range(stalls_per_market):
            z = int(zone[i])
            counters[z] += 1
            zname, _, letter, codes = voc.MARKET_ZONES[z]
            stalls.append({"market_idx": m, "stall_no": f"{letter}{counters[z]:03d}", "zone": zname,
                           "vsic_code": codes[int(rng.integers(len(codes)))], "xy": xy[i]})
    data.tables["market"] = pd.DataFrame(rows)
    st = pd.DataFrame(stalls)
    st["geom"] = list(_points(np.stack(st["xy"].to_numpy()), srid))
    data.tables["stall"] = st.drop(columns="xy")
    return footprints


def _establishments(data: WardData, n_est: int, net: terr.Streets, inner, footprints: list, seeds: np.ndarray,
                    rng: np.random.Generator, today: dt.date) -> None:
    """Street establishments (denser on main streets and near markets) and the stall traders."""
    profile, srid = data.profile, data.profile.local_srid
    ind = industries()
    stalls = data.tables["stall"]
    markets_xy = np.array([np.array(f.centroid.coords[0]) for f in footprints])
    n_street = max(0, n_est - len(stalls))

    mid = (net.seg_xy[:, :2] + net.seg_xy[:, 2:]) / 2
    d2 = np.min([((mid - c) ** 2).sum(axis=1) for c in markets_xy], axis=0)
    boost = 1.0 + 4.0 * np.exp(-d2 / (2 * 250.0 ** 2))
    weights = net.seg_len * np.array([3.0, 1.6, 0.8])[net.seg_kind] * boost
    avoid = shapely.union_all([f.buffer(6) for f in footprints])
    s = net.sample(n_street, rng, weights, np.array([12.0, 8.0, 3.5]), inner, avoid)
    numbers, streets = net.addresses(s["seg"], s["side"], s["along"])

    vsic = np.concatenate([_choice(rng, voc.INDUSTRY_MIX, n_street), stalls["vsic_code"].to_numpy()])
    sector = ind.loc[vsic, "sector"].to_numpy()
    n = len(vsic)
    ent_p = np.array([ENTERPRISE_SHARE.get(sc, DEFAULT_ENTERPRISE_SHARE) for sc in sector])
    ent_p[vsic == "4730"] = 1.0
    r = rng.random(n)
    btype = np.where(r < ent_p, "enterprise", np.where(r < ent_p + COOPERATIVE_SHARE, "cooperative", "household"))
    btype = btype.astype(object)
    btype[n_street:] = "market_stall"

    people = People(rng).draw(n)
    title_i = rng.integers(0, 6, n)
    brand = _choice(rng, tuple((w, 1.0) for w in voc.BRAND_WORDS), n)
    tmpl_i = rng.integers(0, 1000, n)
    forms = _choice(rng, voc.COMPANY_FORMS, n)
    names = []
    for i in range(n):
        if btype[i] == "enterprise":
            names.append(f"{forms[i]} {voc.COMPANY_ACTIVITY[sector[i]]} {brand[i]}")
        elif btype[i] == "cooperative":
            names.append(f"Hợp tác xã {voc.COMPANY_ACTIVITY[sector[i]]} {brand[i]}")
        else:
            titles = voc.FEMALE_TITLES if people["female"][i] else voc.MALE_TITLES
            keeper = f"{titles[title_i[i]]}{people['given'][i]}"
            tmpls = voc.SHOP_TEMPLATES[vsic[i]]
            names.append(tmpls[tmpl_i[i] % len(tmpls)].format(k=keeper, w=brand[i]))

    markets = data.tables["market"]
    house = list(numbers) + [f"Sạp {no}" for no in stalls["stall_no"]]
    street = list(streets) + [markets["name"].iloc[m] for m in stalls["market_idx"]]
    address = [f"{h} {s}" for h, s in zip(numbers, streets, strict=True)] + [
        f"Sạp {no}, {markets['name'].iloc[m]}, {markets['address'].iloc[m]}"
        for no, m in zip(stalls["stall_no"], stalls["market_idx"], strict=True)]
    codes = [f"{profile.code_prefix}-{i + 1:06d}" for i in range(n)]
    xy = np.concatenate([s["xy"], shapely.get_coordinates(terr.project(
        stalls["geom"].to_numpy(), WGS84, srid))]) if len(stalls) else s["xy"]
    geom = np.concatenate([_points(s["xy"], srid), stalls["geom"].to_numpy()])

    tax_suffix = rng.integers(0, 100_000_000, n)
    has_tax = (btype != "household") & (btype != "market_stall") | (rng.random(n) < 0.8)
    tax = [None if not h else (f"04{t:08d}" if b in ("enterprise", "cooperative") else f"80{t:08d}")
           for h, b, t in zip(has_tax, btype, tax_suffix, strict=True)]

    adopt = rng.random(n) < np.array([PAYMENT_ADOPTION[b] for b in btype])
    methods = ("qr_bank", "pos_card", "e_wallet", "bank_transfer")
    method_p = {"household": (0.92, 0.06, 0.25, 0.5), "enterprise": (0.85, 0.6, 0.4, 0.9),
                "cooperative": (0.8, 0.3, 0.2, 0.9), "market_stall": (0.95, 0.08, 0.15, 0.3)}
    draws = rng.random((n, 4))
    payment = []
    for i in range(n):
        if not adopt[i]:
            payment.append([])
            continue
        chosen = [m for m, p, d in zip(methods, method_p[btype[i]], draws[i], strict=True) if d < p]
        if not chosen or (btype[i] == "market_stall" and not {"qr_bank", "pos_card"} & set(chosen)):
            chosen = ["qr_bank", *[c for c in chosen if c != "qr_bank"]]
        payment.append(chosen)

    hours_by = {"5630": ("06:00-22:00", "06:30-22:30", "07:00-23:00"), "5610": ("10:00-22:00", "06:00-21:00",
                "16:00-23:00"), "5629": ("06:00-10:00", "14:00-21:00", "06:00-20:00"),
                "food_retail": ("06:00-21:00", "05:30-20:00"), "retail": ("08:00-21:30", "07:30-21:00"),
                "accommodation": ("00:00-24:00",), "repair": ("07:00-18:00", "07:30-19:00"),
                "personal_services": ("08:00-20:00", "08:30-21:00"), "health": ("07:30-20:00",),
                "education": ("07:00-21:00",), "office_services": ("08:00-17:30",),
                "food_production": ("04:00-17:00",), "food_service": ("07:00-21:00",),
                "market_stall": ("05:00-18:00", "04:30-12:00")}
    hi = rng.integers(0, 100, n)
    hours = []
    for i in range(n):
        key = "market_stall" if btype[i] == "market_stall" else (vsic[i] if vsic[i] in hours_by else sector[i])
        opts = hours_by[key]
        hours.append(opts[hi[i] % len(opts)])

    employees = np.where(btype == "enterprise", np.maximum(3, np.round(rng.lognormal(np.log(12), 0.8, n))),
                         np.where(btype == "cooperative", rng.integers(5, 40, n),
                                  np.where(btype == "market_stall", rng.integers(1, 4, n),
                                           np.minimum(9, 1 + rng.geometric(0.45, n) - 1))))
    opened_days = np.clip(np.round(365 * rng.lognormal(np.log(6), 0.8, n)), 90, 30 * 365).astype(int)
    status = _choice(rng, (("active", 0.9), ("suspended", 0.05), ("closed", 0.05)), n)
    closed_days = np.minimum(rng.integers(10, 700, n), opened_days - 30)
    email_kind = rng.random(n)
    emails = []
    for i in range(n):
        if btype[i] in ("enterprise", "cooperative") and email_kind[i] < 0.7:
            emails.append(f"lienhe@{text.fold(brand[i]).replace(' ', '')}{tax_suffix[i] % 1000}.vn")
        elif email_kind[i] < 0.1:
            emails.append(f"{text.fold(people['name'][i]).replace(' ', '.')}{tax_suffix[i] % 100}@gmail.com")
        else:
            emails.append(None)
    market_idx = [None] * n_street + stalls["market_idx"].tolist()
    group_idx = _group_of(seeds, xy)
    data.tables["establishment"] = pd.DataFrame({
        "code": codes, "name": names,
        "search_key": [text.search_key(a, b, c) for a, b, c in zip(names, address, codes, strict=True)],
        "business_type": btype, "vsic_code": vsic, "operating_status": status,
        "house_number": house, "street": street, "address": address,
        "residential_group_idx": group_idx, "market_idx": market_idx, "tax_code": tax,
        "digital_payment": payment, "opening_hours": hours, "employees": employees.astype(int),
        "opened_on": _dates(today, opened_days),
        "closed_on": [d if s_ == "closed" else None for d, s_ in zip(_dates(today, closed_days), status, strict=True)],
        "owner_name": people["name"], "owner_id_number": people["id_number"], "phone": people["phone"],
        "email": emails, "is_synthetic": True, "geom": geom,
        # generation-only columns (not written)
        "sector": sector, "food": ind.loc[vsic, "food_safety_applicable"].to_numpy(dtype=bool),
        "risk": ind.loc[vsic, "risk_level"].to_numpy(dtype=int), "opened_days": opened_days,
    })
    stalls = data.tables["stall"]
    stalls["establishment_idx"] = np.arange(n_street, n)
    stalls["accepts_qr_pos"] = [bool({"qr_bank", "pos_card"} & set(p)) for p in payment[n_street:]]
    data.tables["stall"] = stalls.drop(columns="vsic_code")


def _licences(data: WardData, rng: np.random.Generator, today: dt.date) -> None:
    """Business registrations, food-safety certificates (3 years) and commitments, as of ``today``."""
    est = data.tables["establishment"]
    ward_name = data.profile.name
    n = len(est)
    btype = est["business_type"].to_numpy()
    opened = est["opened_days"].to_numpy().copy()
    rows: list[dict[str, Any]] = []
    base = np.datetime64(today, "D")

    def day(days_ago: int) -> dt.date:
        return (base - np.timedelta64(int(days_ago), "D")).astype(object)

    # business registration
    missing_p, expired_p, expiring_p = REGISTRATION_MIX
    non_ent_share = max(np.mean(btype != "enterprise"), 1e-9)
    r = rng.random(n)
    u = rng.random((n, 4))
    is_ent = btype == "enterprise"
    p_miss = np.where(is_ent, 0.0, missing_p / non_ent_share)
    p_exp = np.where(is_ent, 0.0, expired_p / non_ent_share)
    p_soon = np.where(is_ent, 0.0, expiring_p / non_ent_share)
    category = np.select([r < p_miss, r < p_miss + p_exp, r < p_miss + p_exp + p_soon], ["missing", "expired",
                         "expiring"], "valid")
    term = 5 * 365
    seq = 0
    for i in range(n):
        cat = category[i]
        if cat == "missing":
            continue
        if cat == "expired":
            expires_ago = int(1 + u[i, 0] * 700)
            issued_ago = expires_ago + term
        elif cat == "expiring":
            expires_ago = -int(u[i, 0] * 59.9)
            issued_ago = expires_ago + term
        elif not is_ent[i] and u[i, 1] < 0.25:  # a household registration with an expiry date, still valid
            expires_ago = -int(61 + u[i, 0] * (term - 62))
            issued_ago = expires_ago + term
        else:
            expires_ago = None
            issued_ago = int(max(0, opened[i] - u[i, 2] * 60))
        opened[i] = max(opened[i], issued_ago)
        seq += 1
        if is_ent[i] or btype[i] == "cooperative":
            number, issuer = est["tax_code"].iat[i] or f"04{seq:08d}", "Sở Tài chính thành phố Đà Nẵng"
        else:
            number, issuer = f"32{data.profile.code_prefix}{seq:06d}", f"UBND {ward_name}"
        if u[i, 3] < 0.08 and issued_ago > 400:  # re-issued once (change of address or owner)
            old_ago = issued_ago + int(200 + u[i, 1] * 1500)
            opened[i] = max(opened[i], old_ago)
            rows.append({"establishment_idx": i, "kind": "business_registration", "number": f"{number}-C",
                         "issuer": issuer, "issued_on": day(old_ago), "expires_on": None,
                         "revoked_on": day(issued_ago), "note": "Đã cấp lại do thay đổi nội dung đăng ký"})
        rows.append({"establishment_idx": i, "kind": "business_registration", "number": number, "issuer": issuer,
                     "issued_on": day(issued_ago), "expires_on": None if expires_ago is None else day(expires_ago),
                     "revoked_on": None, "note": None})

    # food safety: certificates for enterprises and larger households, commitments for the exempt
    food = est["food"].to_numpy()
    fr = rng.random((n, 4))
    cert_p = np.where(is_ent | (btype == "cooperative"), 0.95, np.where(btype == "market_stall", 0.15, 0.38))
    fs_seq = 0
    for i in np.flatnonzero(food):
        if fr[i, 0] < cert_p[i]:
            k = fr[i, 1]
            if k < 0.10:  # expired
                expires_ago = int(1 + fr[i, 2] * 500)
            elif k < 0.18:  # expiring within 60 days
                expires_ago = -int(fr[i, 2] * 59.9)
            else:
                expires_ago = -int(61 + fr[i, 2] * (3 * 365 - 62))
            issued_ago = expires_ago + 3 * 365
            opened[i] = max(opened[i], issued_ago)
            fs_seq += 1
            yy = day(issued_ago).year % 100
            rows.append({"establishment_idx": i, "kind": "food_safety_certificate",
                         "number": f"{fs_seq:04d}/{yy:02d}/ATTP-CNĐK", "issuer": "Ban Quản lý An toàn thực phẩm "
                         "thành phố Đà Nẵng", "issued_on": day(issued_ago), "expires_on": day(expires_ago),
                         "revoked_on": None, "note": None})
        elif fr[i, 3] < 0.88:
            fs_seq += 1
            issued_ago = int(max(0, opened[i] - fr[i, 2] * 90))
            rows.append({"establishment_idx": i, "kind": "food_safety_commitment",
                         "number": f"{fs_seq:04d}/CK-ATTP", "issuer": f"UBND {ward_name}",
                         "issued_on": day(issued_ago), "expires_on": None, "revoked_on": None,
                         "note": "Bản cam kết bảo đảm an toàn thực phẩm (cơ sở thuộc diện không cấp GCN)"})
    est["opened_days"] = opened
    est["opened_on"] = _dates(today, opened)
    data.tables["licence"] = pd.DataFrame(rows, columns=["establishment_idx", "kind", "number", "issuer",
                                                         "issued_on", "expires_on", "revoked_on", "note"])


def _violations(rng: np.random.Generator, food: bool) -> list[dict[str, Any]]:
    pool = voc.VIOLATIONS_FOOD + voc.VIOLATIONS_GENERAL if food else voc.VIOLATIONS_GENERAL
    k = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
    picked = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    return [{"code": pool[j][0], "severity": pool[j][1], "text": pool[j][2]} for j in sorted(picked)]


def _inspections(data: WardData, rng: np.random.Generator, today: dt.date) -> None:
    """Three years of inspections, mostly of food businesses; violations get a follow-up."""
    est = data.tables["establishment"]
    reports = data.tables["field_report"]
    inspectors = People(rng).draw(8)["name"]
    rows: list[dict[str, Any]] = []
    horizon = 3 * 365
    base = np.datetime64(today, "D")

    def add(i: int, ago: int, kind: str, food: bool, closed: bool) -> None:
        if closed:
            result = "closed"
        else:
            result = _choice(rng, (("pass", 0.86), ("violation", 0.12), ("not_found", 0.02)), 1)[0]
        date = (base - np.timedelta64(int(ago), "D")).astype(object)
        violations = _violations(rng, food) if result == "violation" else []
        follow = None
        if result == "violation":
            due = int(rng.integers(15, 31))
            follow = (base - np.timedelta64(int(ago) - due, "D")).astype(object)
        rows.append({"establishment_idx": i, "inspected_on": date, "inspector_name": inspectors[rng.integers(8)],
                     "kind": kind, "result": result, "violations": violations,
                     "notes": voc.INSPECTION_NOTES[result], "follow_up_due": follow})
        if result == "violation":
            back = int(ago) - due - int(rng.integers(-3, 10))
            if back > 0 and rng.random() < 0.85:
                add(i, back, "follow_up", food, False)

    food = est["food"].to_numpy()
    risk = est["risk"].to_numpy()
    opened = est["opened_days"].to_numpy()
    status = est["operating_status"].to_numpy()
    closed_on = est["closed_on"].to_numpy()
    for i in range(len(est)):
        life = min(horizon, int(opened[i]) - 1)
        if life <= 0:
            continue
        closed_ago = (base - np.datetime64(closed_on[i], "D")).astype(int) if status[i] == "closed" else 0
        p_year = (0.45 + 0.12 * risk[i]) if food[i] else 0.06
        for year in range(3):
            lo, hi = year * 365, min(life, (year + 1) * 365)
            if hi <= lo:
                break
            if rng.random() < p_year:
                ago = int(rng.integers(lo, hi))
                if ago > closed_ago:
                    add(i, ago, "periodic", bool(food[i]), False)
            if rng.random() < (0.1 if food[i] else 0.02):
                ago = int(rng.integers(lo, hi))
                if ago > closed_ago:
                    add(i, ago, "unannounced", bool(food[i]), False)
        if status[i] == "closed" and rng.random() < 0.5 and closed_ago > 1:
            add(i, int(rng.integers(0, closed_ago)), "periodic", bool(food[i]), True)
    # complaint inspections after food-safety reports about an establishment
    if len(reports):
        linked = reports[reports["establishment_idx"].notna()]
        for e_idx, at in zip(linked["establishment_idx"], linked["reported_at"], strict=True):
            ago = (today - at.date()).days - int(rng.integers(1, 6))
            if ago > 0:
                add(int(e_idx), ago, "complaint", True, False)
    frame = pd.DataFrame(rows, columns=["establishment_idx", "inspected_on", "inspector_name", "kind", "result",
                                        "violations", "notes", "follow_up_due"])
    data.tables["inspection"] = frame.sort_values(["establishment_idx", "inspected_on"], kind="stable",
                                                  ignore_index=True)


#: e-invoice and sales/management-software adoption by business type (0017_indicators)
E_INVOICE_ADOPTION = {"household": 0.22, "enterprise": 0.95, "cooperative": 0.7, "market_stall": 0.04}
SOFTWARE_ADOPTION = {"household": 0.14, "enterprise": 0.6, "cooperative": 0.35, "market_stall": 0.03}
#: e-commerce accounts: share with any, and the platforms by sector
ECOMMERCE_ADOPTION = {"household": 0.18, "enterprise": 0.4, "cooperative": 0.2, "market_stall": 0.05}
ECOMMERCE_PLATFORMS = {"food_service": ("grabfood", "shopeefood", "be"), "retail": ("shopee", "tiktok_shop", "lazada"),
                       "food_retail": ("shopee", "zalo", "facebook")}
#: how inspections were recorded: share entered from paper, three years ago and in the last year
PAPER_SHARE_THEN, PAPER_SHARE_NOW = 0.75, 0.35
#: a pilot-market stall that accepts QR/POS is checked (and seen transacting) in a quarter with this chance
EVIDENCE_PER_QUARTER = 0.75


def _digital(data: WardData, rng: np.random.Generator, today: dt.date) -> None:
    """E-invoices, sales software and e-commerce accounts of establishments; how each inspection was
    recorded (paper giving way to the field app); QR/POS evidence of stalls, one check a quarter.

    Drawn from their own generator, so the rest of the demo is unchanged."""
    est = data.tables["establishment"]
    n = len(est)
    btype = est["business_type"].to_numpy()
    sector = est["sector"].to_numpy()
    u = rng.random((n, 4))
    est["uses_e_invoice"] = u[:, 0] < np.array([E_INVOICE_ADOPTION[b] for b in btype])
    est["uses_sales_software"] = u[:, 1] < np.array([SOFTWARE_ADOPTION[b] for b in btype])
    shop = u[:, 2] < np.array([ECOMMERCE_ADOPTION[b] for b in btype])
    platforms = []
    for i in range(n):
        if not shop[i]:
            platforms.append([])
            continue
        pool = ECOMMERCE_PLATFORMS.get(sector[i], ("facebook", "zalo", "website"))
        k = 1 + int(u[i, 3] < 0.35)
        platforms.append(sorted(rng.choice(pool, size=min(k, len(pool)), replace=False).tolist()))
    est["digital_platforms"] = platforms

    ins = data.tables["inspection"]
    if len(ins):
        ago = np.array([(today - d).days for d in ins["inspected_on"]], dtype=float)
        paper_p = PAPER_SHARE_NOW + (PAPER_SHARE_THEN - PAPER_SHARE_NOW) * np.clip(ago / (3 * 365), 0, 1)
        r = rng.random(len(ins))
        field_p = np.clip(0.3 + 0.5 * (1 - ago / (3 * 365)), 0.3, 0.8)  # of the digital ones
        ins["made_via"] = np.where(r < paper_p, "paper",
                                   np.where(rng.random(len(ins)) < field_p, "field_app", "staff_app"))

    stalls = data.tables["stall"]
    markets = data.tables["market"]
    rows: list[dict[str, Any]] = []
    if len(stalls):
        pilot = markets["is_pilot_smart_market"].to_numpy(dtype=bool)
        in_scope = pilot[stalls["market_idx"].to_numpy(dtype=int)] if pilot.any() else np.ones(len(stalls), bool)
        accepts = stalls["accepts_qr_pos"].to_numpy(dtype=bool)
        payment = est["digital_payment"].to_numpy()[stalls["establishment_idx"].to_numpy(dtype=int)]
        checkers = People(rng).draw(3)["name"]
        quarters = pd.period_range(end=pd.Period(today, "Q"), periods=8, freq="Q")
        for j in np.flatnonzero(accepts & in_scope):
            methods = [m for m in payment[j] if m in ("qr_bank", "pos_card")] or ["qr_bank"]
            for q in quarters:
                if rng.random() >= EVIDENCE_PER_QUARTER:
                    continue
                first, last = q.start_time.date(), min(q.end_time.date(), today)
                if last < first:
                    continue
                day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))
                rows.append({"stall_idx": int(j), "method": methods[int(rng.integers(len(methods)))],
                             "seen_on": day, "seen_by": checkers[int(rng.integers(3))], "photo": None,
                             "note": None})
    data.tables["stall_payment_evidence"] = pd.DataFrame(
        rows, columns=["stall_idx", "method", "seen_on", "seen_by", "photo", "note"])


def _facilities(data: WardData, net: terr.Streets, inner, footprints: list, seeds: np.ndarray,
                rng: np.random.Generator) -> None:
    """Ward office, police, health station, schools, cultural houses, market boards."""
    profile, srid = data.profile, data.profile.local_srid
    short = profile.name.split(" ", 1)[-1]
    kind_word = profile.name.split(" ", 1)[0].lower()  # "phường" / "xã"
    avoid = shapely.union_all([f.buffer(10) for f in footprints])
    weights = net.seg_len * np.where(net.seg_kind == SECONDARY, 1.0, np.where(net.seg_kind == MAIN, 0.6, 0.1))
    rows: list[tuple[str, str, np.ndarray]] = []
    centre = np.array(inner.centroid.coords[0]) if inner.contains(inner.centroid) else \
        np.array(inner.representative_point().coords[0])
    near = net.nearest(centre[None, :])
    x0, y0, x1, y1 = net.seg_xy[near["seg"][0]]
    office = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + 15 * np.array([-(y1 - y0), x1 - x0]) / max(
        np.hypot(x1 - x0, y1 - y0), 1e-9)
    if not inner.contains(Point(office)):
        office = centre
    rows.append(("ward_office", f"Trụ sở UBND {kind_word} {short}", office))
    n_schools = max(3, int(round(profile.residential_groups / 40)))
    n_cultural = max(2, len(profile.former_wards) or 4)
    n_other = 2 + n_schools + n_cultural
    pts = net.sample(n_other, rng, weights, np.array([16.0, 12.0, 5.0]), inner, avoid)["xy"]
    rows.append(("police", f"Công an {kind_word} {short}", pts[0]))
    rows.append(("health_station", f"Trạm Y tế {kind_word} {short}", pts[1]))
    used: set[str] = set()
    for j in range(n_schools):
        level, names = voc.SCHOOL_NAMES[j % len(voc.SCHOOL_NAMES)]
        nm = names[(j // len(voc.SCHOOL_NAMES)) % len(names)]
        label = f"{level} {nm}" if f"{level} {nm}" not in used else f"{level} {nm} (cơ sở {j})"
        used.add(label)
        rows.append(("school", label, pts[2 + j]))
    zones = profile.former_wards or tuple(f"khu dân cư số {k + 1}" for k in range(n_cultural))
    for k in range(n_cultural):
        rows.append(("cultural_house", f"Nhà văn hóa {zones[k % len(zones)]}", pts[2 + n_schools + k]))
    markets = data.tables["market"]
    for m, fp in enumerate(footprints):
        rows.append(("market_board", f"Ban quản lý {markets['name'].iloc[m]}", np.array(fp.centroid.coords[0])))
    xy = np.array([r[2] for r in rows])
    addresses = _address(net, xy, named_only=True)
    data.tables["public_facility"] = pd.DataFrame({
        "kind": [r[0] for r in rows], "name": [r[1] for r in rows], "address": addresses, "is_synthetic": True,
        "geom": list(_points(xy, srid)), "xy": list(xy)})


def _field_reports(data: WardData, n: int, net: terr.Streets, inner, rng: np.random.Generator,
                   today: dt.date) -> None:
    """Two years of field reports with hotspots: garbage at markets, order on main roads, a flood area."""
    profile, srid = data.profile, data.profile.local_srid
    est = data.tables["establishment"]
    markets_xy = shapely.get_coordinates(terr.project(data.tables["market"]["geom"].to_numpy(), WGS84, srid))
    category = _choice(rng, REPORT_MIX, n)
    xy = np.zeros((n, 2))
    est_idx: list[int | None] = [None] * n
    street_w = net.seg_len * np.array([2.0, 1.5, 1.0])[net.seg_kind]
    main_w = net.seg_len * (net.seg_kind == MAIN)
    if main_w.sum() == 0:
        main_w = street_w
    deep = inner.buffer(-300) if not inner.buffer(-300).is_empty else inner
    low_area = terr.points_in(deep, 1, rng)[0]
    junctions = net.junctions if len(net.junctions) else net.seg_xy[:3, :2]
    order_hot = junctions[rng.choice(len(junctions), size=min(2, len(junctions)), replace=False)]
    food_est = np.flatnonzero(est["food"].to_numpy() & (est["business_type"].to_numpy() != "enterprise"))
    for cat in np.unique(category):
        idx = np.flatnonzero(category == cat)
        k = len(idx)
        if cat == "food_safety" and len(food_est):
            picks = rng.choice(food_est, size=k)
            est_xy = shapely.get_coordinates(terr.project(est["geom"].to_numpy()[picks], WGS84, srid))
            xy[idx] = est_xy + rng.normal(0, 3.0, (k, 2))
            for j, e in zip(idx, picks, strict=True):
                est_idx[j] = int(e)
            continue
        hot = {"garbage": 0.45, "urban_order": 0.5, "infrastructure": 0.4, "sanitation": 0.45}.get(cat, 0.0)
        n_hot = int(round(k * hot))
        pts = []
        if n_hot:
            if cat == "garbage":
                share = np.array_split(np.arange(n_hot), len(markets_xy))
                pts += [terr.gaussian_points_in(inner, tuple(c), 90.0, len(s), rng)
                        for c, s in zip(markets_xy, share, strict=True)]
            elif cat == "urban_order":
                share = np.array_split(np.arange(n_hot), len(order_hot))
                pts += [terr.gaussian_points_in(inner, tuple(c), 120.0, len(s), rng)
                        for c, s in zip(order_hot, share, strict=True)]
            else:
                pts.append(terr.gaussian_points_in(inner, tuple(low_area), 220.0, n_hot, rng))
        w = main_w if cat == "urban_order" else street_w
        pts.append(net.sample(k - n_hot, rng, w, np.array([8.0, 6.0, 2.0]), inner)["xy"])
        xy[idx] = np.concatenate([p for p in pts if len(p)])[:k]
    inside = shapely.contains_xy(inner, xy[:, 0], xy[:, 1])
    if not inside.all():  # jittered points near the edge: pull back onto a street point
        xy[~inside] = net.sample(int((~inside).sum()), rng, street_w, np.array([8.0, 6.0, 2.0]), inner)["xy"]

    now = dt.datetime.combine(today, dt.time(17, 0), TZ)
    days_ago = 730.0 * (1.0 - np.sqrt(rng.random(n)))  # more reports lately (channels grew)
    hour = np.clip(rng.normal(11.5, 3.5, n), 6.0, 21.5)
    reported = [dt.datetime.combine(today - dt.timedelta(days=int(d)), dt.time(0), TZ) + dt.timedelta(hours=float(h))
                for d, h in zip(days_ago, hour, strict=True)]
    reported = [min(r, now - dt.timedelta(minutes=30)).replace(microsecond=0) for r in reported]
    order = sorted(range(n), key=lambda i: reported[i])
    category = category[order]
    xy = xy[order]
    est_idx = [est_idx[i] for i in order]
    reported = [reported[i] for i in order]

    deadline_days = profile.report_deadline_days or {}
    deadlines = []
    for r_at, cat in zip(reported, category, strict=True):
        days = int(deadline_days.get(cat, 7))
        d = np.busday_offset(np.datetime64(r_at.date(), "D"), days, roll="forward").astype(object)
        deadlines.append(dt.datetime.combine(d, r_at.timetz()))
    statuses, resolved, dup = [], [], []
    last_of: dict[str, int] = {}
    u = rng.random((n, 3))
    for i in range(n):
        age = (now - reported[i]).total_seconds() / 86400
        if age > 45:
            mix = (("closed", 0.70), ("resolved", 0.18), ("duplicate", 0.04), ("not_ward", 0.04),
                   ("in_progress", 0.04))
        elif age > 14:
            mix = (("closed", 0.45), ("resolved", 0.30), ("in_progress", 0.12), ("assigned", 0.05),
                   ("duplicate", 0.04), ("not_ward", 0.04))
        elif age > 3:
            mix = (("resolved", 0.35), ("closed", 0.10), ("in_progress", 0.30), ("assigned", 0.15),
                   ("received", 0.06), ("duplicate", 0.04))
        else:
            mix = (("new", 0.35), ("received", 0.25), ("assigned", 0.20), ("in_progress", 0.15), ("resolved", 0.05))
        st = str(_choice(rng, mix, 1)[0])
        res_at = None
        dup_of = None
        if st == "duplicate":
            dup_of = last_of.get(category[i])
            if dup_of is None:
                st = "received" if age < 3 else "closed"
        if st in ("resolved", "closed"):
            span = deadlines[i] - reported[i]
            frac = 0.15 + 0.85 * u[i, 1] if u[i, 0] < 0.85 else 1.05 + 1.5 * u[i, 1]
            res_at = (reported[i] + span * frac).replace(microsecond=0)
            if res_at > now:
                st, res_at = "in_progress", None
        statuses.append(st)
        resolved.append(res_at)
        dup.append(dup_of)
        last_of[category[i]] = i
    addresses = _address(net, xy)
    people = People(rng).draw(n)
    named = rng.random(n) < 0.65
    texts = [voc.REPORT_TEXTS[c][int(j) % len(voc.REPORT_TEXTS[c])].format(addr=a)
             for c, j, a in zip(category, rng.integers(0, 100, n), addresses, strict=True)]
    for i, e in enumerate(est_idx):
        if e is not None:
            texts[i] = texts[i].replace(addresses[i], f"{est['name'].iat[e]}, {est['address'].iat[e]}")
    channel = _choice(rng, REPORT_CHANNELS, n)
    channel[[e is not None for e in est_idx]] = "qr"
    pick = lambda alphabet: alphabet[int(rng.integers(len(alphabet)))]  # noqa: E731
    tokens = [intake.new_public_id(pick) for _ in range(n)]  # PA-XXXX-XXXX-XXXX, like real reports
    data.tables["field_report"] = pd.DataFrame({
        "public_id": tokens, "category": category, "description": texts, "channel": channel, "status": statuses,
        "reported_at": reported, "deadline_at": deadlines, "resolved_at": resolved,
        "establishment_idx": pd.array(est_idx, dtype="Int64"), "duplicate_of_idx": pd.array(dup, dtype="Int64"),
        "address": addresses,
        "reporter_name": [p if k else None for p, k in zip(people["name"], named, strict=True)],
        "reporter_contact": [p if k else None for p, k in zip(people["phone"], named, strict=True)],
        # a named reporter agreed to the purpose notice when reporting (geomap.field_reports.retention)
        "contact_consent_at": [r if k else None for r, k in zip(reported, named, strict=True)],
        "consent_notice": [retention.NOTICE_VERSION if k else None for k in named],
        "is_synthetic": True, "geom": list(_points(xy, srid)),
    })
    _report_updates(data, rng, now)


def _report_updates(data: WardData, rng: np.random.Generator, now: dt.datetime) -> None:
    """The history of each report: one row per status change, spaced between report and resolution."""
    reports = data.tables["field_report"]
    rows = []
    columns = (reports["status"], reports["reported_at"], reports["resolved_at"])
    for i, (st, at, res) in enumerate(zip(*columns, strict=True)):
        if st in ("duplicate", "not_ward"):
            chain = ["new", "received", st]
        else:
            chain = list(STATUS_CHAIN[: STATUS_CHAIN.index(st) + 1])
        if len(chain) < 2:
            continue
        end = res if res is not None and not pd.isna(res) else min(now, at + dt.timedelta(days=3))
        span = max((end - at).total_seconds(), 600.0)
        cuts = np.sort(rng.random(len(chain) - 1))
        if res is not None and not pd.isna(res) and st in ("resolved", "closed"):
            resolved_step = chain.index("resolved")
            cuts[resolved_step - 1] = 1.0
            if st == "closed":
                cuts[-1] = 1.0
        for k, (a, b) in enumerate(zip(chain[:-1], chain[1:], strict=True)):
            when = at + dt.timedelta(seconds=float(cuts[k] * span))
            if b == "closed":
                when = when + dt.timedelta(days=float(rng.uniform(0.5, 3)))
                when = min(when, now)
            rows.append({"report_idx": i, "at": when.replace(microsecond=0), "status_from": a, "status_to": b,
                         "note": voc.REPORT_NOTES[b], "is_public": b != "assigned"})
    data.tables["field_report_update"] = pd.DataFrame(
        rows, columns=["report_idx", "at", "status_from", "status_to", "note", "is_public"])


def _parcels(data: WardData, local, net: terr.Streets, footprints: list, target: int,
             rng: np.random.Generator) -> None:
    """Land parcels: street blocks subdivided, road land (DGT), market land (DCH), facility land."""
    srid = data.profile.local_srid
    blocks, roads = terr.parcel_polygons(local, net, footprints, target, rng)
    polys = np.concatenate([blocks, roads, np.array(footprints, dtype=object)])
    n_b, n_r = len(blocks), len(roads)
    use = np.empty(len(polys), dtype=object)
    mains = [ln for ln, k in zip(net.lines, net.kind, strict=True) if k == MAIN]
    main = shapely.union_all(mains or net.lines)
    near_main = shapely.distance(shapely.centroid(blocks), main) < 40 if n_b else np.zeros(0, bool)
    r = rng.random(n_b)
    use[:n_b] = np.where(near_main, np.where(r < 0.45, "TMD", "ODT"),
                         np.select([r < 0.04, r < 0.06, r < 0.12], ["CXD", "SKC", "TMD"], "ODT"))
    use[n_b:n_b + n_r] = "DGT"
    use[n_b + n_r:] = "DCH"
    fac = data.tables["public_facility"]
    fac_use = {"school": "DGD", "health_station": "DYT", "ward_office": "TSC", "police": "TSC",
               "cultural_house": "DVH"}
    tree = shapely.STRtree(blocks) if n_b else None
    for kind, xy in zip(fac["kind"], fac["xy"], strict=True):
        if kind in fac_use and tree is not None:
            hit = tree.query(Point(xy), predicate="intersects")
            hit = hit if len(hit) else tree.query_nearest(Point(xy))
            use[hit[0]] = fac_use[kind]
    area = shapely.area(polys)
    centres = shapely.get_coordinates(shapely.centroid(polys))
    minx, miny = local.bounds[0], local.bounds[1]
    sheet_size = 600.0
    col = ((centres[:, 0] - minx) // sheet_size).astype(int)
    row = ((centres[:, 1] - miny) // sheet_size).astype(int)
    ncols = int(col.max()) + 1 if len(col) else 1
    sheet = (row.max() - row) * ncols + col + 1 if len(row) else row
    order = np.lexsort((centres[:, 0], -np.round(centres[:, 1], -1), sheet))
    parcel_no = np.empty(len(polys), dtype=int)
    counters: dict[int, int] = {}
    for i in order:
        counters[int(sheet[i])] = counters.get(int(sheet[i]), 0) + 1
        parcel_no[i] = counters[int(sheet[i])]
    zones = data.tables["former_ward_zone"]["name"].tolist()
    if zones:
        groups = data.tables["residential_group"]
        seeds_local = shapely.get_coordinates(terr.project(shapely.centroid(groups["geom"].to_numpy()), WGS84, srid))
        g = _group_of(seeds_local, centres)
        zone_idx = groups["zone_idx"].to_numpy()[g]
        planning = [f"Phân khu {zones[z]}" for z in zone_idx]
    else:
        planning = ["Khu dân cư hiện hữu"] * len(polys)
    frame = pd.DataFrame({"map_sheet": [str(s) for s in sheet], "parcel_no": [str(p) for p in parcel_no],
                          "land_use_code": use, "area_m2": np.round(area, 1), "planning_zone": planning,
                          "is_synthetic": True, "geom": list(_to_wgs84(polys, srid))})
    data.tables["land_parcel"] = frame.iloc[order].reset_index(drop=True)


def _infrastructure(data: WardData, net: terr.Streets, inner, groups_local: np.ndarray,
                    rng: np.random.Generator, today: dt.date) -> None:
    """Street lights and drains along streets, cameras at junctions, sensors, loudspeakers, screens, wifi."""
    srid, prefix = data.profile.local_srid, data.profile.code_prefix
    geoms: list = []
    kinds: list[str] = []
    lines = np.array(net.lines, dtype=object)
    big = np.flatnonzero(net.kind != LANE)
    total = float(sum(lines[i].length for i in big))
    spacing = max(40.0, total / 3000.0)
    pos_line, pos_s = [], []
    for i in big:
        s = np.arange(spacing / 2, lines[i].length, spacing)
        pos_line.extend([i] * len(s))
        pos_s.extend(s)
    pl, ps = np.array(pos_line, dtype=int), np.array(pos_s)
    if len(pl):
        p = shapely.get_coordinates(shapely.line_interpolate_point(lines[pl], ps))
        q = shapely.get_coordinates(shapely.line_interpolate_point(lines[pl], ps + 1.0))
        d = (q - p) / np.maximum(np.hypot(*(q - p).T), 1e-9)[:, None]
        side = np.where(np.arange(len(p)) % 2 == 0, 1.0, -1.0)
        xy = p + (side * 9.0)[:, None] * np.column_stack([-d[:, 1], d[:, 0]])
        xy = xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]
        geoms += list(shapely.points(xy))
        kinds += ["street_light"] * len(xy)
    for i in np.flatnonzero(net.kind == MAIN):
        line = lines[i]
        for side in (6.0, -6.0):
            off = shapely.offset_curve(line, side)
            if off.is_empty or off.geom_type != "LineString":
                continue
            for a in np.arange(0, off.length - 50, 250.0):
                piece = shapely.ops.substring(off, a, min(a + 250.0, off.length))
                piece = piece.intersection(inner)
                for part in shapely.get_parts(piece):
                    if part.geom_type == "LineString" and part.length > 20:
                        geoms.append(part)
                        kinds.append("drain")
    junctions = net.junctions[shapely.contains_xy(inner, *net.junctions.T)] if len(net.junctions) else net.junctions
    for j, c in enumerate(junctions):
        for _ in range(1 + int(j % 3 == 0)):
            geoms.append(Point(c + rng.normal(0, 8, 2)))
            kinds.append("camera")
    for fp in data.tables["market"]["geom"].to_numpy():
        c = shapely.get_coordinates(terr.project(fp, WGS84, srid))[0]
        for _ in range(3):
            geoms.append(Point(c + rng.normal(0, 20, 2)))
            kinds.append("camera")
        geoms.append(Point(c))
        kinds.append("wifi")
        geoms.append(Point(c + rng.normal(0, 15, 2)))
        kinds.append("sensor")
    street_w = net.seg_len * (net.seg_kind != LANE)
    n_groups = len(groups_local)
    for kind, count in (("sensor", max(4, n_groups // 25)), ("loudspeaker", max(4, n_groups // 4)),
                        ("led_screen", max(2, n_groups // 50)), ("wifi", max(4, n_groups // 20))):
        pts = net.sample(count, rng, street_w, np.array([9.0, 7.0, 3.0]), inner)["xy"]
        geoms += list(shapely.points(pts))
        kinds += [kind] * count
    for fxy in data.tables["public_facility"]["xy"]:
        geoms.append(Point(fxy))
        kinds.append("wifi")
    geoms_a = np.array(geoms, dtype=object)
    inside = shapely.contains(inner, geoms_a) | (np.array(kinds) == "drain")
    geoms_a = geoms_a[inside]
    kinds_a = np.array(kinds, dtype=object)[inside]
    faulty_p = {"street_light": 0.04, "drain": 0.06, "camera": 0.08, "sensor": 0.12, "loudspeaker": 0.06,
                "led_screen": 0.1, "wifi": 0.08}
    faulty = rng.random(len(kinds_a)) < np.array([faulty_p[k] for k in kinds_a])
    counters: dict[str, int] = {}
    codes = []
    for k in kinds_a:
        counters[k] = counters.get(k, 0) + 1
        codes.append(f"{prefix}-{INFRA_CODES[k]}-{counters[k]:05d}")
    installed = _dates(today, rng.integers(60, 12 * 365, len(kinds_a)))
    data.tables["infrastructure"] = pd.DataFrame({
        "kind": kinds_a, "code": codes, "condition": np.where(faulty, "faulty", "working"),
        "installed_on": installed, "is_synthetic": True, "geom": list(_to_wgs84(geoms_a, srid))})
