"""Vietnamese addresses as registers write them, taken apart (pure: no database).

An address names, from the most precise part down: a house number, an alley chain
(kiệt/hẻm in Đà Nẵng and the south, ngõ/ngách in the north), a street, a residential group
(tổ / tổ dân phố), a ward (today's, or one merged into it in 2025: "phường Hòa Cường Bắc (cũ)"),
a district and a city. Registers write the same place many ways:

- ``K12/5 Núi Thành``: house 5 in kiệt 12 of Núi Thành; ``K12/5/3``: house 3 in alley 5 of kiệt 12;
- ``45/7/2 Lê Duẩn``: house 2 in alley 7 of alley 45 (the last number is the house);
- ``Kiệt 242 Hoàng Diệu``: the alley itself, no house; ``số 12 kiệt 5 Hoàng Diệu``: house 12 in kiệt 5;
- ``Hẻm 2 Kiệt 64 Lê Đình Lý``, ``số 3 ngách 5 ngõ 12 phố Huế``: the inner alley named first;
- ``..., Tổ 24, P. Hòa Cường Bắc, Q. Hải Châu, TP Đà Nẵng``: group, ward, district, city.

:func:`parse` returns a :class:`ParsedAddress` whose keys (:func:`street_key`, :func:`alley_key`,
:meth:`ParsedAddress.address_key`) are folded (lower case, no diacritics, NFC in), so "Hoàng Diệu",
"hoang dieu" and "HOÀNG DIỆU" are one street.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from geomap.text import fold, nfc

#: words before a street name that are not part of it ("Đường Hoàng Diệu" is "Hoàng Diệu")
_STREET_PREFIX = re.compile(r"^(?:duong|đuong|pho|d\.|đ\.|dg\.?|tuyen)\s+", re.I)
#: a street named by a date: "2-9", "2/9", "02 - 09" -> "2 thang 9"
_DATE_STREET = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
#: folded words naming an alley level (the number follows)
_ALLEY_WORDS = ("kiet", "hem", "ngo", "ngach", "kiet so", "hem so")
_NUMBER = r"\d+[a-z]?\d*"
_CHAIN = re.compile(rf"^(?:(?:k|h|kiet|hem|ngo|ngach)\s*\.?\s*)?({_NUMBER}(?:\s*/\s*{_NUMBER})*)\b\s*(.*)$")
_GROUP = re.compile(r"\bto(?:\s+dan\s+pho)?\s*(?:so\s*)?(\d+[a-z]?)\b")
_WARD = re.compile(r"^(?:phuong|p\.|p\b|xa|thi tran)\s*(.+?)\s*(\(cu\)|cu)?$")
_FORMER = re.compile(r"\(cu\)|\bcu$")
_DISTRICT = re.compile(r"^(?:quan|q\.|q\b|huyen|h\.|thi xa)\s*")
_CITY = re.compile(r"^(?:thanh pho|tp\.?|tinh)\s*|^(?:da nang|ha noi|ho chi minh|hai phong|can tho)$")
_HOUSE_WORD = re.compile(r"^(?:so nha|so|sn)\s*")
#: words that start a new part of an address written without commas ("K12/5 Núi Thành tổ 24 phường ...")
_BREAK = re.compile(r"\s+(?=(?:phường|quận|huyện|thành phố|tổ)\b|(?:p|q|tp)\.)", re.I)
#: segments naming a stall, a market, a lot or an area rather than a street
_PLACE = re.compile(r"^(?:sap|quay|ki ?ot|cho|lo|khu|toa nha|tang|can ho|chung cu)\b")
_LEVEL = re.compile(rf"\b(kiet|hem|ngo|ngach|k|h)\s*\.?\s*({_NUMBER}(?:\s*/\s*{_NUMBER})*)\b")


@dataclass(frozen=True)
class ParsedAddress:
    """One address taken apart; keys are folded (see :func:`street_key`)."""

    raw: str
    #: the house number on the deepest way named ("5" in K12/5, "12A" in 12A Núi Thành); None: none given
    house: str | None = None
    #: the alley chain, outermost first: ("12",) for K12/5, ("45", "7") for 45/7/2, ("64", "2") for Hẻm 2 Kiệt 64
    alleys: tuple[str, ...] = ()
    #: the street as written (without "Đường"), None when the address names none
    street: str | None = None
    #: residential group number as written ("24" for "Tổ 24" / "tổ dân phố 24")
    group: str | None = None
    #: the ward named, and whether it is marked as a former ward ("(cũ)")
    ward: str | None = None
    former_ward: bool = False
    district: str | None = None

    @property
    def number(self) -> int | None:
        """The leading integer of the house number (12 of "12A"), for interpolation."""
        return leading_int(self.house)

    @functools.cached_property
    def street_key(self) -> str:
        return street_key(self.street)

    @functools.cached_property
    def alley_key(self) -> str:
        """"12/5" for the chain ("12", "5"); "" on the street itself."""
        return alley_key(self.alleys)

    @functools.cached_property
    def way_key(self) -> str:
        """The key of the deepest way named: "hoang dieu" or "k242 hoang dieu" (see :func:`way_key`)."""
        return way_key(self.street_key, self.alley_key)

    def address_key(self) -> str:
        """House, alley chain and street folded: two writings of one address give one key ("" without a street)."""
        if not self.street_key:
            return ""
        return f"{self.house or ''}|{self.alley_key}|{self.street_key}" if self.house or self.alleys else ""

    def describe(self) -> str:
        """The address rebuilt in a canonical Vietnamese form: "K12/5 Núi Thành"."""
        parts = []
        if self.alleys:
            parts.append("K" + "/".join((*self.alleys, *([self.house] if self.house else []))))
        elif self.house:
            parts.append(self.house)
        if self.street:
            parts.append(self.street)
        return " ".join(parts)


def leading_int(value: str | None) -> int | None:
    m = re.match(r"\d+", value or "")
    return int(m.group()) if m else None


def _number(token: str) -> str:
    """A house or alley number in one form: "03" -> "3", "38a" -> "38A"."""
    token = token.strip().upper()
    m = re.match(r"^0*(\d+)(.*)$", token)
    if m:
        return (m.group(1) or "0") + m.group(2)
    return token


@functools.lru_cache(maxsize=65536)
def street_key(name: str | None) -> str:
    """The folded name of a street, without "Đường"/"Phố": "Đường 2 Tháng 9" and "2-9" -> "2 thang 9"."""
    key = fold(name).strip(" ,.-")
    while True:
        stripped = _STREET_PREFIX.sub("", key)
        if stripped == key:
            break
        key = stripped
    m = _DATE_STREET.match(key)
    if m:
        key = f"{int(m.group(1))} thang {int(m.group(2))}"
    key = re.sub(r"\b0+(\d)", r"\1", key)  # "bau hac 08" and "bau hac 8"
    return " ".join(key.replace(",", " ").split())


def alley_key(alleys: tuple[str, ...] | list[str]) -> str:
    return "/".join(_number(a) for a in alleys)


def way_key(street: str, alley: str = "") -> str:
    """The unique key of a street ("hoang dieu") or of one of its alleys ("k242 hoang dieu", "k64/2 le dinh ly")."""
    if not street:
        return ""
    return f"k{alley.lower()} {street}" if alley else street


def parse_way_name(name: str) -> tuple[str, tuple[str, ...], str]:
    """A street file's way name as (display street, alley chain, kind): "Kiệt 242 Hoàng Diệu" ->
    ("Hoàng Diệu", ("242",), "alley"); "Hẻm 2 Kiệt 64 Lê Đình Lý" -> ("Lê Đình Lý", ("64", "2"), "alley");
    "Đường Phan Thanh" -> ("Phan Thanh", (), "street")."""
    parsed = parse(name)
    if parsed.house and not parsed.alleys and parsed.street:  # "K391 Nguyễn Văn Linh" read as an alley
        return parsed.street, (parsed.house,), "alley"
    if parsed.house and parsed.alleys:  # "Kiệt 101/14 Hoàng Văn Thụ": the last number is a sub-alley here
        return parsed.street or "", (*parsed.alleys, parsed.house), "alley"
    if parsed.alleys:
        return parsed.street or "", parsed.alleys, "alley"
    street = parsed.street or nfc(name) or ""
    return street, (), "street"


def _strip_display_prefix(text: str) -> str:
    """"Đường Hoàng Diệu" -> "Hoàng Diệu" keeping the diacritics of what is left."""
    words = text.split()
    while words and fold(words[0]).rstrip(".") in ("duong", "pho", "d", "dg", "tuyen"):
        words = words[1:]
    return " ".join(words)


def _original_tail(original: str, folded_tail: str) -> str:
    """The last ``len(folded_tail.split())`` words of ``original`` (diacritics kept)."""
    n = len(folded_tail.split())
    words = original.split()
    return " ".join(words[len(words) - n:]) if n else ""


def parse(address: str | None) -> ParsedAddress:
    """Take ``address`` apart (see the module's docstring); never raises, an empty address gives an empty result."""
    raw = nfc(address) or ""
    if not raw:
        return ParsedAddress(raw="")
    text = _BREAK.sub(", ", raw.replace("–", "-").replace("—", "-"))
    segments = [s.strip() for s in re.split(r"[,;]", text) if s.strip()]
    house: str | None = None
    alleys: tuple[str, ...] = ()
    street: str | None = None
    group = ward = district = None
    former = False
    for seg in segments:
        key = fold(seg)
        g = _GROUP.search(key)
        if g:
            group = group or _number(g.group(1))
            before = key[:g.start()].strip()
            if not before:
                continue
            seg = " ".join(seg.split()[:len(before.split())])  # "K12/5 Núi Thành Tổ 24" in one segment
            key = before
        if _PLACE.match(key):  # "Sạp 12", "Chợ Hòa Cường", "Lô A12": not a street
            continue
        m = _WARD.match(key)
        if m and ward is None:
            ward = _strip_former(_original_tail(seg, m.group(1) + (" " + m.group(2) if m.group(2) else "")))
            former = former or bool(m.group(2)) or bool(_FORMER.search(key))
            continue
        if _DISTRICT.match(key) and district is None:
            district = _DISTRICT.sub("", key)
            continue
        if _CITY.match(key):
            continue
        if street is None:
            h, a, s = _way_part(seg)
            if s:
                house, alleys, street = h, a, s
                continue
            if h or a:  # "số 12" alone: the street comes in the next segment
                house, alleys = house or h, alleys or a
                continue
        if street is None and not re.match(r"^\d", key):
            street = _strip_display_prefix(seg)
    return ParsedAddress(raw=raw, house=house, alleys=alleys, street=street or None, group=group, ward=ward,
                         former_ward=former, district=district)


def _strip_former(text: str) -> str:
    text = re.sub(r"\s*\((?:cũ|cu)\)\s*$", "", text, flags=re.I)
    return re.sub(r"\s+(?:cũ)$", "", text).strip()


def _way_part(seg: str) -> tuple[str | None, tuple[str, ...], str | None]:
    """(house, alley chain, street) of one segment such as "K12/5 Núi Thành" or "số 3 ngách 5 ngõ 12 phố Huế"."""
    words = seg.split()
    folded = fold(seg).split()  # folding keeps the words (it drops marks, never spaces)
    if len(folded) != len(words):
        folded = [fold(w) for w in words]
    house: str | None = None
    levels: list[list[str]] = []  # alley levels as written, left to right (inner first in "Hẻm 2 Kiệt 64")
    i = 0
    while i < len(words):
        w = folded[i].rstrip(".,:")
        if w in ("so", "sn") or (w == "so" and i + 1 < len(words) and folded[i + 1] == "nha"):
            i += 1
            if i < len(words) and folded[i] == "nha":
                i += 1
            continue
        if w in ("nha",) and i + 1 < len(words) and re.match(r"^\d", folded[i + 1]):
            i += 1
            continue
        m = re.match(rf"^(kiet|hem|ngo|ngach|k|h)\.?({_NUMBER}(?:/{_NUMBER})*)$", w)
        if m:  # "K12/5", "K900/3", "kiet242"
            levels.append(_split_chain(m.group(2)))
            i += 1
            continue
        if w in ("kiet", "hem", "ngo", "ngach", "k", "h") and i + 1 < len(words) and \
                re.match(rf"^(?:so\s*)?{_NUMBER}(?:/{_NUMBER})*$", folded[i + 1].rstrip(".,")):
            levels.append(_split_chain(folded[i + 1].rstrip(".,")))
            i += 2
            continue
        if w in ("kiet", "hem", "ngo", "ngach") and i + 2 < len(words) and folded[i + 1] == "so":
            levels.append(_split_chain(folded[i + 2].rstrip(".,")))
            i += 3
            continue
        m = re.match(rf"^({_NUMBER}(?:/{_NUMBER})*)$", w)
        if m and house is None and not levels:
            chain = _split_chain(m.group(1))
            house, chain = chain[-1], chain[:-1]
            if chain:
                levels.append(chain)
            i += 1
            continue
        break
    rest = " ".join(words[i:]).strip(" ,.-")
    street = _strip_display_prefix(rest) or None
    if street is not None and re.fullmatch(r"[\d\s/.-]*", street) and not _DATE_STREET.match(fold(street)):
        street = None
    alleys: list[str] = []
    if levels:
        # written levels: a "K12/5" chain carries its house at the end when no house came before it
        first = levels[0] if len(levels) == 1 else None
        if first is not None and house is None and len(first) > 1 and _has_chain_slash(words, folded):
            house = first[-1]
            first = first[:-1]
            alleys = list(first)
        else:
            for level in reversed(levels):  # "Hẻm 2 Kiệt 64": outermost (kiệt 64) is written last
                alleys.extend(level)
    return (_number(house) if house else None), tuple(_number(a) for a in alleys), street


def _has_chain_slash(words: list[str], folded: list[str]) -> bool:
    return any("/" in w for w in folded)


def _split_chain(chain: str) -> list[str]:
    return [p.strip() for p in chain.split("/") if p.strip()]
