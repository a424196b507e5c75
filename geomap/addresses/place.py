"""Placing an address without coordinates, in order of trust (pure: plain values in, points out).

:class:`Gazetteer` holds what one ward knows, in its local metric grid: its named ways (streets
and alleys, :mod:`geomap.addresses.streets`), the addresses it has already placed exactly (an
establishment pinned on the map or imported with coordinates), and its residential groups.
:meth:`Gazetteer.place` tries, most trusted first:

1. **address**: an establishment already placed exactly at the same house number, alley and street;
2. **street**: on the named alley, else on its street at the alley's own number ("K12/5 Núi Thành"
   without a "Kiệt 12 Núi Thành" way: at number 12 on Núi Thành); along the way interpolated by house
   number between the ward's own placed addresses on it (odd and even numbers on their own side when
   the placed ones say which), else at a stable spot around the middle of the way;
3. **group**: inside the residential group (given, or written in the address), at a deterministic spot
   so that rows do not stack;

and otherwise leaves the row unplaced. Every step says what it did as message keys
(``addr.*``, :mod:`geomap.addresses.messages`) with parameters; several candidates are listed.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geomap.addresses.parse import ParsedAddress, alley_key, leading_int, parse, way_key
from geomap.text import fold

QUALITIES = ("exact", "address", "street", "group")
#: placed points of one address further apart than this are different places (the address is ambiguous)
SAME_PLACE_M = 30.0
#: how far from the middle of a way a row without a usable house number may land (fraction of the way)
SPREAD = 0.15
#: an interpolated point farther than this from the address's residential group is on a namesake stretch
GROUP_SLACK_M = 150.0
#: the largest number of candidates a message lists
MAX_CANDIDATES = 6


@dataclass(frozen=True)
class Way:
    """A named street or alley in the ward's local grid (metres)."""

    name: str
    name_key: str
    street_key: str
    alley: str  # "" on the street itself
    kind: str
    geom: BaseGeometry


@dataclass(frozen=True)
class Group:
    id: int
    code: str
    name: str
    geom: BaseGeometry
    #: the former ward whose zone holds it ("" when the ward has none)
    former_ward: str = ""

    @property
    def number(self) -> str | None:
        m = re.search(r"(\d+[A-Za-z]?)\s*$", self.name or "") or re.search(r"(\d+[A-Za-z]?)\s*$", self.code or "")
        return m.group(1).lstrip("0").upper() or "0" if m else None


@dataclass(frozen=True)
class Known:
    """An establishment placed exactly: its code, address and point (local grid)."""

    code: str
    address: str | None
    x: float
    y: float


@dataclass
class Placement:
    """Where one address lands (local grid) and how; ``quality`` None: not placed."""

    quality: str | None = None
    x: float | None = None
    y: float | None = None
    #: the way or group it was placed on/in, for the messages
    where: str | None = None
    #: (message key, params), in the order they happened
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: names of the candidates when the address matched several things
    candidates: list[str] = field(default_factory=list)
    parsed: ParsedAddress | None = None
    #: the point in WGS84, filled in by the service (:func:`geomap.addresses.place_rows`)
    lon: float | None = None
    lat: float | None = None

    @property
    def placed(self) -> bool:
        return self.quality is not None


def _unit(seed: str, salt: str = "") -> float:
    """A stable number in [0, 1) from ``seed`` (the same row lands on the same spot every run)."""
    digest = hashlib.blake2b(f"{salt}|{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def _tangent(line: BaseGeometry, along: float) -> tuple[float, float, float, float]:
    """(x, y, tx, ty): the point ``along`` the line and the unit direction there."""
    length = line.length
    a = min(max(along, 0.0), length)
    p = line.interpolate(a)
    q = line.interpolate(min(a + 1.0, length)) if a + 1.0 <= length else line.interpolate(max(a - 1.0, 0.0))
    dx, dy = (q.x - p.x, q.y - p.y) if a + 1.0 <= length else (p.x - q.x, p.y - q.y)
    n = math.hypot(dx, dy) or 1.0
    return p.x, p.y, dx / n, dy / n


@dataclass
class _Anchor:
    number: int
    along: float
    side: float  # +1 left of the way's direction, -1 right
    offset: float
    x: float
    y: float


class Gazetteer:
    """What one ward knows for placing addresses (see the module's docstring)."""

    def __init__(self, ways: Iterable[Way], known: Iterable[Known] = (), groups: Iterable[Group] = ()):
        self.ways: dict[str, Way] = {}
        self.by_street: dict[str, list[Way]] = defaultdict(list)
        for w in ways:
            self.ways[w.name_key] = w
            self.by_street[w.street_key].append(w)
        self.street_keys = sorted(self.by_street)
        self.groups = list(groups)
        self.groups_by_number: dict[str, list[Group]] = defaultdict(list)
        self.groups_by_id = {g.id: g for g in self.groups}
        for g in self.groups:
            if g.number is not None:
                self.groups_by_number[g.number].append(g)
        for g in self.groups:
            shapely.prepare(g.geom)
        self.addresses: dict[str, list[Known]] = defaultdict(list)
        self.anchors: dict[str, list[_Anchor]] = defaultdict(list)
        #: (way, parity or None) -> sorted (number, x, y) of the placed numbers, built on first use
        self._tables: dict[tuple[str, int | None], list[tuple[int, float, float]]] = {}
        self._stretches: dict[tuple[str, int], tuple[float, float] | None] = {}
        for k in known:
            self.learn(k)

    # --- what the ward already knows ------------------------------------------------------------

    def learn(self, k: Known) -> None:
        """Take one exactly placed address into account (its point, and its number on its way)."""
        p = parse(k.address)
        key = p.address_key()
        if key:
            self.addresses[key].append(k)
        way = self.ways.get(p.way_key) if p.street_key else None
        number = p.number
        if way is None or number is None:
            return
        along = way.geom.project(Point(k.x, k.y))
        x, y, tx, ty = _tangent(way.geom, along)
        cross = tx * (k.y - y) - ty * (k.x - x)
        self.anchors[way.name_key].append(_Anchor(number, along, 1.0 if cross >= 0 else -1.0,
                                                  math.hypot(k.x - x, k.y - y), k.x, k.y))
        self._tables.pop((way.name_key, None), None)
        self._tables.pop((way.name_key, number % 2), None)

    def _table(self, way: str, parity: int | None) -> list[tuple[int, float, float]]:
        key = (way, parity)
        table = self._tables.get(key)
        if table is None:
            by_number: dict[int, list[_Anchor]] = defaultdict(list)
            for a in self.anchors.get(way, []):
                if parity is None or a.number % 2 == parity:
                    by_number[a.number].append(a)
            table = self._tables[key] = sorted(
                (n, statistics.median(a.x for a in v), statistics.median(a.y for a in v))
                for n, v in by_number.items())
        return table

    def find_street(self, key: str) -> tuple[str | None, list[str]]:
        """The street key matching ``key``: exact, else the only street whose name starts or ends with it
        (folded); (None, candidates) when several do, (None, []) when none."""
        if not key:
            return None, []
        if key in self.by_street:
            return key, []
        words = key.split()
        close = [s for s in self.street_keys
                 if s.startswith(key + " ") or s.endswith(" " + key) or key.startswith(s + " ")
                 or (len(words) > 1 and s.replace(" ", "") == key.replace(" ", ""))]
        if len(close) == 1:
            return close[0], []
        return None, close

    # --- placing ---------------------------------------------------------------------------------

    def place(self, address: str | ParsedAddress | None, *, group_id: int | None = None, seed: str = "",
              former_ward: str | None = None) -> Placement:
        """Place one address (see the module's docstring); ``seed`` spreads rows that land in one group."""
        parsed = address if isinstance(address, ParsedAddress) else parse(address)
        out = Placement(parsed=parsed)
        seed = seed or parsed.raw
        if self._at_known_address(parsed, out):
            return out
        group = self._group(parsed, group_id, former_ward or (parsed.ward if parsed.former_ward else None), None)
        if parsed.street_key and self.ways and self._on_way(parsed, out, seed, group):
            return out
        self._in_group(parsed, out, group_id, seed, former_ward or (parsed.ward if parsed.former_ward else None))
        if not out.placed and not any(k in ("addr.group_ambiguous",) for k, _ in out.notes):
            out.notes.append(("addr.no_match", {"address": parsed.raw}))
        return out

    def _at_known_address(self, parsed: ParsedAddress, out: Placement) -> bool:
        hits = self.addresses.get(parsed.address_key()) if parsed.address_key() else None
        if not hits:
            return False
        xs = np.array([h.x for h in hits])
        ys = np.array([h.y for h in hits])
        if float(np.hypot(xs - xs[0], ys - ys[0]).max()) > SAME_PLACE_M:
            codes = sorted({h.code for h in hits})
            out.candidates = codes[:MAX_CANDIDATES]
            out.notes.append(("addr.address_ambiguous", {"n": len(codes), "candidates": ", ".join(out.candidates)}))
            return False
        out.quality, out.x, out.y, out.where = "address", float(xs.mean()), float(ys.mean()), hits[0].code
        out.notes.append(("addr.at_address", {"code": hits[0].code}))
        return True

    def _on_way(self, parsed: ParsedAddress, out: Placement, seed: str, group: Group | None = None) -> bool:
        street, close = self.find_street(parsed.street_key)
        if street is None:
            if close:
                names = [self._street_name(s) for s in close]
                out.candidates = names[:MAX_CANDIDATES]
                out.notes.append(("addr.street_ambiguous", {"street": parsed.street, "n": len(close),
                                                            "candidates": ", ".join(out.candidates)}))
            else:
                out.notes.append(("addr.street_unknown", {"street": parsed.street}))
            return False
        if street != parsed.street_key:
            out.notes.append(("addr.street_close", {"street": parsed.street, "found": self._street_name(street)}))
        chain = parsed.alleys
        depth = len(chain)
        way = None
        while depth >= 0:
            way = self.ways.get(way_key(street, alley_key(chain[:depth])))
            if way is not None:
                break
            depth -= 1
        if way is None:  # only alleys of this street are known, not the street itself
            way = min(self.by_street[street], key=lambda w: (w.alley.count("/"), w.alley))
            out.notes.append(("addr.street_only_alleys", {"street": self._street_name(street), "way": way.name}))
            depth = -1
        if depth >= 0 and depth < len(chain):
            out.notes.append(("addr.alley_deeper", {"alley": "/".join(chain), "way": way.name,
                                                    "known": "/".join(chain[:depth]) or "-"}))
        number = (parsed.number if depth == len(chain) else leading_int(chain[depth])) if depth >= 0 else None
        x, y, how = self._along(way, number, seed, group)
        out.quality, out.x, out.y, out.where = "street", x, y, way.name
        out.notes.append((how, {"way": way.name, "number": number if number is not None else "-"}))
        return True

    def _street_name(self, street: str) -> str:
        ways = self.by_street.get(street) or []
        main = next((w for w in ways if not w.alley), None)
        return main.name if main is not None else (ways[0].name if ways else street)

    def _along(self, way: Way, number: int | None, seed: str, group: Group | None = None
               ) -> tuple[float, float, str]:
        """A point on ``way`` for house ``number``: interpolated between the ward's placed numbers on it,
        else a stable spot near the middle (of the stretch inside the address's residential group, when
        it names one the way crosses); set back to the number's side when the placed ones show it."""
        line = way.geom
        length = line.length
        anchors = self.anchors.get(way.name_key, [])
        stretch = None
        along = None
        if number is not None and anchors:
            parity = number % 2 if len(self._table(way.name_key, number % 2)) >= 2 else None
            along = line.project(Point(_interpolate(self._table(way.name_key, parity), number)))
            how = "addr.on_way_interpolated"
            if group is not None:
                px, py, _, _ = _tangent(line, along)
                if group.geom.distance(Point(px, py)) > GROUP_SLACK_M:  # a namesake stretch elsewhere?
                    stretch = self._stretch(way, group)
                    if stretch is not None:
                        along = None
        else:
            stretch = self._stretch(way, group)
        if along is None and stretch is not None:
            a0, a1 = stretch
            along = a0 + (a1 - a0) * (0.5 + 2 * SPREAD * (2 * _unit(seed, way.name_key) - 1))
            how = "addr.on_way_in_group"
        elif along is None:
            along = length * (0.5 + SPREAD * (2 * _unit(seed, way.name_key) - 1))
            how = "addr.on_way_middle"
        x, y, tx, ty = _tangent(line, along)
        if number is not None and anchors:
            side, offset = _side(anchors, number)
            if side:
                x, y = x - ty * side * offset, y + tx * side * offset
        return x, y, how

    def _stretch(self, way: Way, group: Group | None) -> tuple[float, float] | None:
        """The (start, end) distances along ``way`` of its longest stretch inside ``group`` (None: it does not
        cross the group, or only the group is known)."""
        if group is None:
            return None
        key = (way.name_key, group.id)
        if key not in self._stretches:
            self._stretches[key] = self._longest_inside(way, group)
        return self._stretches[key]

    @staticmethod
    def _longest_inside(way: Way, group: Group) -> tuple[float, float] | None:
        inside = way.geom.intersection(group.geom)
        parts = [p for p in shapely.get_parts(inside) if p.geom_type == "LineString" and p.length > 1]
        if not parts:
            return None
        best = max(parts, key=lambda p: p.length)
        a, b = way.geom.project(Point(best.coords[0])), way.geom.project(Point(best.coords[-1]))
        return (min(a, b), max(a, b))

    def _group(self, parsed: ParsedAddress, group_id: int | None, former_ward: str | None,
               out: Placement | None) -> Group | None:
        """The residential group of the address: the one given, else the one it names (None: none, several or
        unknown, said on ``out`` when given)."""
        group = self.groups_by_id.get(group_id) if group_id is not None else None
        if group is None and parsed.group:
            found = self.groups_by_number.get(parsed.group.lstrip("0").upper() or "0", [])
            if len(found) > 1 and former_ward:
                fw = fold(former_ward)
                found = [g for g in found if fold(g.former_ward) == fw or fw in fold(g.name)] or found
            if len(found) == 1:
                group = found[0]
            elif out is not None and len(found) > 1:
                out.candidates = [g.name for g in found][:MAX_CANDIDATES]
                out.notes.append(("addr.group_ambiguous", {"group": parsed.group, "n": len(found),
                                                           "candidates": ", ".join(out.candidates)}))
            elif out is not None and not found:
                out.notes.append(("addr.group_unknown", {"group": parsed.group}))
        return group

    def _in_group(self, parsed: ParsedAddress, out: Placement, group_id: int | None, seed: str,
                  former_ward: str | None) -> None:
        group = self._group(parsed, group_id, former_ward, out)
        if group is None:
            return
        x, y = spot_in(group.geom, seed)
        out.quality, out.x, out.y, out.where = "group", x, y, group.name
        out.notes.append(("addr.in_group", {"group": group.name}))


def _interpolate(pts: list[tuple[int, float, float]], number: int) -> tuple[float, float]:
    """Where ``number`` is from the placed numbers ``pts`` (sorted (number, x, y)): between the nearest below
    and above, else extended from the two nearest on one side; the caller snaps it onto the way. Points rather
    than distances along the way: a street's OpenStreetMap ways merge into parts in no particular order."""
    i = bisect.bisect_left(pts, (number, -math.inf, -math.inf))
    if i < len(pts) and pts[i][0] == number:
        return pts[i][1], pts[i][2]
    lower, upper = pts[:i], pts[i:]
    if lower and upper:
        (n0, x0, y0), (n1, x1, y1) = lower[-1], upper[0]
    elif len(pts) >= 2:
        (n0, x0, y0), (n1, x1, y1) = (lower[-2], lower[-1]) if lower else (upper[0], upper[1])
    else:
        return pts[0][1], pts[0][2]
    f = (number - n0) / (n1 - n0)
    return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f


def _side(anchors: list[_Anchor], number: int) -> tuple[float, float]:
    """The side (+1/-1, 0 when the placed numbers of this parity do not agree) and set-back of ``number``."""
    same = [a for a in anchors if a.number % 2 == number % 2]
    if not same:
        return 0.0, 0.0
    votes = sum(a.side for a in same)
    if abs(votes) < 0.6 * len(same):
        return 0.0, 0.0
    return (1.0 if votes > 0 else -1.0), float(np.median([a.offset for a in same]))


def spot_in(polygon: BaseGeometry, seed: str, tries: int = 24) -> tuple[float, float]:
    """A deterministic point inside ``polygon`` from ``seed`` (rows of one group spread instead of stacking)."""
    minx, miny, maxx, maxy = polygon.bounds
    for i in range(tries):
        x = minx + (maxx - minx) * _unit(seed, f"x{i}")
        y = miny + (maxy - miny) * _unit(seed, f"y{i}")
        if shapely.contains_xy(polygon, x, y):
            return float(x), float(y)
    p = polygon.representative_point()
    return float(p.x), float(p.y)
