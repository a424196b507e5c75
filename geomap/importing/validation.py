"""Turning raw cells into checked values, row by row: pure, no database.

Every problem becomes an :class:`Issue` naming the row (as the user sees it in the file)
and the column (with the file's own header); errors reject the row, warnings say what was
corrected (swapped coordinates, VN-2000 metres, a lost leading zero). Text is normalised to
NFC and kept as text: markup or SQL in a cell is stored and shown as the characters it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geomap import i18n
from geomap.importing.columns import ALL_COLUMNS, ESTABLISHMENT_LICENCES, Column, ColumnMapping, header_key
from geomap.importing.messages import render
from geomap.importing.reading import RawTable
from geomap.records import rules
from geomap.text import fold, nfc

#: Vietnam's extent in degrees, for telling degrees from swapped degrees and metres
VN_LAT = (8.0, 24.0)
VN_LON = (102.0, 110.0)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMPTY_LIST = {"", "khong", "none", "-", "0", "no"}
_TRUE = {"co", "x", "1", "yes", "y", "true", "dung", "v"}
_FALSE = {"khong", "0", "no", "n", "false", "sai", "-"}


@dataclass(frozen=True)
class Issue:
    """One problem or correction, at a row and column of the file."""

    row: int | None
    column: str | None
    level: str  # "error" rejects the row; "warning" explains a correction
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "vi") -> str:
        return render(self.key, dict(self.params), lang)

    def describe(self, lang: str = "vi") -> str:
        """"Row 12, column 'Ngày cấp': ..." in ``lang``."""
        where = []
        if self.row is not None:
            where.append(("Dòng " if lang != "en" else "Row ") + str(self.row))
        if self.column:
            where.append(("cột " if lang != "en" else "column ") + f"'{self.column}'")
        return (", ".join(where) + ": " if where else "") + self.message(lang)


@dataclass(frozen=True)
class Refs:
    """Reference data the checks need, read once from the database (or built by a test)."""

    today: dt.date
    vsic_codes: frozenset[str]
    ward_name: str = ""
    #: the ward boundary in EPSG:4326; None skips the containment check
    ward_shape: BaseGeometry | None = None
    local_srid: int = 5899
    #: header_key(residential group name or code) -> id
    groups: Mapping[str, int] = field(default_factory=dict)
    #: fold(address) -> (lon, lat, establishment code), from establishments already placed
    addresses: Mapping[str, tuple[float, float, str]] = field(default_factory=dict)


@dataclass
class RowCheck:
    """One data row: its position, the parsed values and what was found."""

    index: int
    row: int
    values: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.level == "error" for i in self.issues)


# --- cell parsers ------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, key: str, level: str = "error", **params: Any):
        self.key, self.level, self.params = key, level, params


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _display(value: Any) -> str:
    text = _as_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


_DATE_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")


def parse_date(value: Any) -> dt.date:
    """A date from a cell: Excel date, ``dd/mm/yyyy`` (Vietnamese order) or ``yyyy-mm-dd``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    text = _as_text(value).strip()
    m = _DATE_RE.match(text)
    if m:
        d, mo, y = (int(x) for x in m.groups())
    else:
        m = _ISO_RE.match(text)
        if not m:
            raise _Bad("cell.date_invalid", value=_display(value))
        y, mo, d = (int(x) for x in m.groups())
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise _Bad("cell.date_impossible", value=text) from None


@functools.lru_cache(maxsize=64)
def code_lookup(codes: str) -> dict[str, str]:
    """header_key(code | Vietnamese label | English label) -> code, for a code list."""
    out: dict[str, str] = {}
    for code, (vi, en) in i18n.CODES.get(codes, {}).items():
        for k in (code, vi, en):
            out.setdefault(header_key(k), code)
            out.setdefault(k, code)
    return out


def _code(value: Any, codes: str) -> str:
    text = _as_text(value)
    lookup = code_lookup(codes)
    found = lookup.get(text) or lookup.get(header_key(text))
    if found is None:
        allowed = ", ".join(vi for vi, _ in i18n.CODES.get(codes, {}).values())
        raise _Bad("cell.code_unknown", value=_display(value), allowed=allowed)
    return found


def _digits(value: Any) -> str:
    return re.sub(r"[\s.\-()]", "", _as_text(value))


def _parse_cell(col: Column, value: Any, refs: Refs, warnings: list[_Bad]) -> Any:
    kind = col.kind
    if kind == "date":
        d = parse_date(value)
        problem = rules.date_problem(d, refs.today, not_future=col.past_only)  # the edit forms' rule
        if problem == "too_old":
            raise _Bad("cell.date_too_old", value=d.strftime("%d/%m/%Y"))
        if problem == "future":
            raise _Bad("cell.date_future", value=d.strftime("%d/%m/%Y"))
        return d
    if kind == "int":
        if isinstance(value, bool):
            raise _Bad("cell.int_invalid", value=_display(value))
        if isinstance(value, (int, float)) and float(value).is_integer() and value >= 0:
            return int(value)
        text = _as_text(value).strip()
        if text.isdigit():
            return int(text)
        raise _Bad("cell.int_invalid", value=_display(value))
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            text = _as_text(value).strip().replace(" ", "")
            if "," in text and "." not in text:
                text = text.replace(",", ".")
            try:
                number = float(text)
            except ValueError:
                raise _Bad("cell.float_invalid", value=_display(value)) from None
        if not math.isfinite(number):
            raise _Bad("cell.float_invalid", value=_display(value))
        return number
    if kind == "code":
        return _code(value, col.codes or "")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        word = fold(_as_text(value)).strip()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _Bad("cell.bool_invalid", value=_display(value))
    if kind == "list":
        parts = _split_list(_as_text(value))
        if all(fold(p).strip() in _EMPTY_LIST for p in parts):
            return []
        out: list[str] = []
        for p in parts:
            if fold(p).strip() in _EMPTY_LIST:
                continue
            code = _code(p.strip(), col.codes or "")
            if code not in out:
                out.append(code)
        return out
    if kind == "vsic":
        code = _as_text(value).strip()
        if code not in refs.vsic_codes:
            raise _Bad("cell.vsic_unknown", value=_display(value))
        return code
    if kind == "tax":
        raw = _as_text(value).strip().replace(" ", "")
        numeric = isinstance(value, (int, float))
        if numeric and len(raw) == 9 and raw.isdigit():
            warnings.append(_Bad("cell.tax_padded", "warning", value=raw))
            raw = "0" + raw
        if re.fullmatch(r"\d{13}", raw):
            raw = f"{raw[:10]}-{raw[10:]}"
        if not re.fullmatch(r"\d{10}(-\d{3})?", raw):
            raise _Bad("cell.tax_invalid", value=_display(value))
        return raw
    if kind == "phone":
        raw = _digits(value)
        if raw.startswith("+84"):
            raw = "0" + raw[3:]
        elif raw.startswith("84") and len(raw) == 11:
            raw = "0" + raw[2:]
        if isinstance(value, (int, float)) and len(raw) == 9 and raw.isdigit():
            warnings.append(_Bad("cell.phone_padded", "warning", value=raw))
            raw = "0" + raw
        if not re.fullmatch(r"0\d{9,10}", raw):
            raise _Bad("cell.phone_invalid", value=_display(value))
        return raw
    if kind == "id_number":
        raw = _digits(value)
        if not re.fullmatch(r"\d{9}|\d{12}", raw):
            raise _Bad("cell.id_invalid", value=_display(value))
        return raw
    text = nfc(_as_text(value)) or ""
    cleaned = _CONTROL.sub("", text)
    if cleaned != text:
        warnings.append(_Bad("cell.control_chars", "warning"))
    if kind == "email" and not _EMAIL.match(cleaned):
        raise _Bad("cell.email_invalid", value=_display(value))
    if col.max_len and len(cleaned) > col.max_len:
        raise _Bad("cell.too_long", max_len=col.max_len)
    return cleaned


# --- coordinates -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _to_wgs84(srid: int):
    from pyproj import Transformer

    return Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)


def _inside(lo: float, hi: float, v: float) -> bool:
    return lo <= v <= hi


def fix_point(x: float, y: float, local_srid: int) -> tuple[float, float, list[tuple[str, dict]]]:
    """(lon, lat) in WGS84 from a pair given as lon/lat, swapped, or as VN-2000 metres.

    Returns the corrected pair and the corrections made, as (message key, params); raises
    ``_Bad`` when the pair cannot be a place in Vietnam.
    """
    notes: list[tuple[str, dict]] = []
    if abs(x) <= 180 and abs(y) <= 90 or abs(x) <= 90 and abs(y) <= 180:
        if _inside(*VN_LON, x) and _inside(*VN_LAT, y):
            return x, y, notes
        if _inside(*VN_LON, y) and _inside(*VN_LAT, x):
            notes.append(("geo.swapped", {"lon": x, "lat": y}))
            return y, x, notes
        raise _Bad("geo.outside_vietnam", lon=x, lat=y)
    if min(abs(x), abs(y)) > 1000:
        east, north = (x, y) if x <= y else (y, x)
        if x > y:
            notes.append(("geo.vn2000_swapped", {}))
        lon, lat = _to_wgs84(local_srid).transform(east, north)
        notes.append(("geo.vn2000", {"x": round(east, 2), "y": round(north, 2), "srid": local_srid}))
        if _inside(*VN_LON, lon) and _inside(*VN_LAT, lat):
            return float(lon), float(lat), notes
    raise _Bad("geo.outside_vietnam", lon=x, lat=y)


def _point(values: dict[str, Any], rc: RowCheck, mapping: ColumnMapping, refs: Refs) -> None:
    """Fill ``lon``/``lat`` (WGS84) from lon/lat, WKT or the address; check the ward contains it."""
    lon, lat = values.pop("lon", None), values.pop("lat", None)
    wkt = values.pop("wkt", None)
    col = mapping.header_of("lon")
    if wkt is not None and (lon is None or lat is None):
        col = mapping.header_of("wkt")
        try:
            geom = shapely.from_wkt(wkt)
        except Exception:  # shapely.errors.GEOSException and friends
            rc.issues.append(Issue(rc.row, col, "error", "geo.wkt_invalid", {"value": _display(wkt)}))
            return
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            found = "EMPTY" if geom is None or geom.is_empty else geom.geom_type
            rc.issues.append(Issue(rc.row, col, "error", "geo.not_point", {"found": found}))
            return
        lon, lat = geom.x, geom.y
    if (lon is None) != (lat is None):
        rc.issues.append(Issue(rc.row, mapping.header_of("lat" if lat is None else "lon"), "error", "geo.half"))
        return
    if lon is None:
        for key in _address_keys(values):
            hit = refs.addresses.get(key)
            if hit:
                values["lon"], values["lat"] = hit[0], hit[1]
                values["location_quality"] = "address"  # at another record's point: approximate (0009)
                rc.issues.append(Issue(rc.row, mapping.header_of("address"), "warning", "geo.from_address",
                                       {"code": hit[2]}))
                return
        rc.issues.append(Issue(rc.row, mapping.header_of("lon"), "warning", "geo.missing"))
        return
    try:
        lon, lat, notes = fix_point(float(lon), float(lat), refs.local_srid)
    except _Bad as bad:
        rc.issues.append(Issue(rc.row, col, "error", bad.key, bad.params))
        return
    for key, params in notes:
        rc.issues.append(Issue(rc.row, col, "warning", key, params))
    values["lon"], values["lat"] = lon, lat
    values["_lon_column"] = col  # the ward-containment check runs once for all rows (see validate)


def _address_keys(values: dict[str, Any]) -> list[str]:
    keys = []
    address = values.get("address")
    if address:
        keys += [fold(address), fold(address.split(",")[0])]
    if values.get("house_number") and values.get("street"):
        keys.append(fold(f"{values['house_number']} {values['street']}"))
    return [k for k in keys if k]


# --- rows --------------------------------------------------------------------------------------


def validate(kind: str, table: RawTable, mapping: ColumnMapping, refs: Refs) -> list[RowCheck]:
    """Check every row of ``table`` as ``kind``; one :class:`RowCheck` per data row."""
    cols = {c.name: c for c in ALL_COLUMNS[kind]}
    used = [(header, cols[name]) for header, name in mapping.by_header.items()]
    frame = table.frame
    positions = [(header, col, frame.columns.get_loc(header)) for header, col in used]
    if refs.ward_shape is not None:
        shapely.prepare(refs.ward_shape)
    out: list[RowCheck] = []
    for i, cells in enumerate(frame.itertuples(index=False, name=None)):
        rc = RowCheck(index=i, row=table.row_numbers[i], values={})
        for header, col, pos in positions:
            value = cells[pos]
            if value is None or (isinstance(value, float) and math.isnan(value)) or _as_text(value).strip() == "":
                continue
            warnings: list[_Bad] = []
            try:
                rc.values[col.name] = _parse_cell(col, value, refs, warnings)
            except _Bad as bad:
                rc.issues.append(Issue(rc.row, header, bad.level, bad.key, bad.params))
                rc.values[col.name] = None
            for w in warnings:
                rc.issues.append(Issue(rc.row, header, w.level, w.key, w.params))
        for name, col in cols.items():
            if col.required and rc.values.get(name) in (None, "") and name in mapping.by_header.values():
                if not any(i.column == mapping.header_of(name) for i in rc.issues):
                    rc.issues.append(Issue(rc.row, mapping.header_of(name), "error", "cell.required"))
        check = _ROW_CHECKS.get(kind)  # base layers: geometry and file-wide checks in geomap.importing.specs
        if check is not None:
            check(rc, mapping, refs)
        out.append(rc)
    _check_inside_ward(out, refs)
    return out


def _check_inside_ward(checks: list[RowCheck], refs: Refs) -> None:
    """Reject points outside the ward, in one vectorised test."""
    placed = [rc for rc in checks if "_lon_column" in rc.values]
    if not placed:
        return
    cols = [rc.values.pop("_lon_column") for rc in placed]
    if refs.ward_shape is None:
        return
    inside = shapely.intersects_xy(refs.ward_shape, [rc.values["lon"] for rc in placed],
                                   [rc.values["lat"] for rc in placed])
    for rc, col, ok in zip(placed, cols, inside, strict=True):
        if not ok:
            lon, lat = rc.values.pop("lon"), rc.values.pop("lat")
            rc.issues.append(Issue(rc.row, col, "error", "geo.outside_ward",
                                   {"lon": lon, "lat": lat, "ward": refs.ward_name or "phường"}))


def _d(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _dates_in_order(rc: RowCheck, mapping: ColumnMapping, issued: str, later: str) -> None:
    a, b = rc.values.get(issued), rc.values.get(later)
    if a and b and b < a:
        rc.issues.append(Issue(rc.row, mapping.header_of(later), "error", "cell.expiry_before_issue",
                               {"expires": _d(b), "issued": _d(a)}))


def _check_expiry(rc: RowCheck, mapping: ColumnMapping, refs: Refs, kind: str | None, issued: str,
                  expires: str) -> None:
    """The edit forms' expiry rules (:func:`geomap.records.rules.expiry_problems`) on one licence of the row."""
    a, b = rc.values.get(issued), rc.values.get(expires)
    if not b:
        return
    column = mapping.header_of(expires)
    for problem in rules.expiry_problems(kind, a or None, b, refs.today):
        if problem == "before_issue":
            rc.issues.append(Issue(rc.row, column, "error", "cell.expiry_before_issue",
                                   {"expires": _d(b), "issued": _d(a)}))
        elif problem == "certificate_too_long":
            rc.issues.append(Issue(rc.row, column, "error", "cell.certificate_too_long",
                                   {"expires": _d(b), "issued": _d(a), "years": rules.CERTIFICATE_YEARS}))
        else:
            rc.issues.append(Issue(rc.row, column, "error", "cell.date_too_far_ahead",
                                   {"value": _d(b), "years": rules.MAX_YEARS_AHEAD}))


def _check_establishment(rc: RowCheck, mapping: ColumnMapping, refs: Refs) -> None:
    v = rc.values
    for kind, (number, issued, expires) in ESTABLISHMENT_LICENCES.items():
        if expires:
            _check_expiry(rc, mapping, refs, kind, issued, expires)
        has_other = (number and v.get(number)) or (expires and v.get(expires))
        if has_other and not v.get(issued) and not any(i.column == mapping.header_of(issued) for i in rc.issues):
            rc.issues.append(Issue(rc.row, mapping.header_of(issued), "error", "cell.licence_no_issue_date",
                                   {"column": mapping.header_of(issued)}))
    group = v.pop("residential_group", None)
    if group:
        gid = refs.groups.get(header_key(group))
        if gid is None:
            rc.issues.append(Issue(rc.row, mapping.header_of("residential_group"), "warning", "cell.group_unknown",
                                   {"value": group}))
        v["residential_group_id"] = gid
    _point(v, rc, mapping, refs)


def _check_licence(rc: RowCheck, mapping: ColumnMapping, refs: Refs) -> None:
    _check_expiry(rc, mapping, refs, rc.values.get("kind"), "issued_on", "expires_on")
    _dates_in_order(rc, mapping, "issued_on", "revoked_on")
    _needs_establishment(rc, mapping)


def _check_inspection(rc: RowCheck, mapping: ColumnMapping, refs: Refs) -> None:
    v = rc.values
    if isinstance(v.get("violations"), str):  # "a; b": one violation each, of the default severity (as edited)
        v["violations"] = [{"code": None, "severity": rules.DEFAULT_SEVERITY, "text": t.strip()}
                           for t in v["violations"].split(";") if t.strip()]
    day, due = v.get("inspected_on"), v.get("follow_up_due")
    problem = rules.follow_up_problem(v["result"], day, due) if due and v.get("result") else None
    if problem:
        params = {"due": _d(due), "inspected": _d(day) if day else "", "days": rules.MAX_FOLLOW_UP_DAYS}
        rc.issues.append(Issue(rc.row, mapping.header_of("follow_up_due"), "error", f"cell.follow_up_{problem}",
                               params))
    _needs_establishment(rc, mapping)


def _needs_establishment(rc: RowCheck, mapping: ColumnMapping) -> None:
    if not rc.values.get("establishment_code") and not rc.values.get("tax_code"):
        rc.issues.append(Issue(rc.row, mapping.header_of("establishment_code"), "error", "cell.required"))


_ROW_CHECKS = {
    "establishments": _check_establishment,
    "licences": _check_licence,
    "inspections": _check_inspection,
}


def _split_list(text: str) -> list[str]:
    """A list cell's items: split at commas, semicolons and line breaks outside parentheses, so a label
    such as "Zalo (Zalo OA, cửa hàng Zalo)" stays one item."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch in ",;\n" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
