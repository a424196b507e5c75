"""Shared by the language tests: is a text the user sees in the user's language?

A page in English may show the ward's data in Vietnamese (names of streets, establishments,
residential groups, people, what a citizen wrote), but no Vietnamese word of its own; a page in
Vietnamese may show proper names and file formats in English, but none of the English words a user
interface is made of ("Choose options", "Drag and drop", "1 result", "Jan"), and neither may show a
raw column name or code (``food_safety_certificate``, ``straight_line``).

How data is told from the interface: :class:`DataValues` holds the text values stored in the
database that pages show (read by :func:`data_values` from the columns in :data:`DATA_COLUMNS`), and
every occurrence of one in a line is blanked before the line is checked. A Vietnamese word the app
adds around a value ("Tổ dân phố" in front of an address) stays, and is found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import sqlalchemy as sa

#: letters only Vietnamese uses (lower case; upper case is compared after ``lower()``)
VIETNAMESE_LETTERS = frozenset(
    "àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ")

#: English words (lower case) that make up a user interface and are no Vietnamese word, proper name or
#: file format: Streamlit's own widget words, table and chart words, month and day names ("thu" is left
#: out: it is Vietnamese too, "thu hồi")
ENGLISH_UI_WORDS = frozenset("""
    choose option options select selected deselect upload uploads drag drop browse file files limit per
    result results match matches status none null nan undefined download downloads search searching data
    clear all show hide loading error warning sort ascending descending column columns row rows copy
    fullscreen add delete edit save cancel submit close open the of and with from for text at name date time
    type value count total start end true false yes page next previous back settings rerun running stop
    week day days month months year years hour hours minute minutes second seconds today yesterday empty
    january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday mon tue wed fri sat sun
    menu help more less view options settings print record screencast about theme
    """.split())

#: English phrases checked as a whole (their words alone may be legitimate)
ENGLISH_UI_PHRASES = ("no data", "no results", "no options", "drag and drop", "per file", "select all")

#: a raw identifier: words joined by underscores (a column name or code shown as is)
IDENTIFIER = re.compile(r"(?<![\w/.@-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w/.@-])")

#: shown in both languages on purpose: the language switch names each language in its own words
PROPER_NAMES = ("Ngôn ngữ / Language", "Tiếng Việt", "English", "OpenStreetMap contributors", "ODbL",
                "Đà Nẵng", "Việt Nam")

_WORD = re.compile(r"[^\W\d_]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def is_vietnamese_word(word: str) -> bool:
    return any(ch in VIETNAMESE_LETTERS for ch in word.lower())


class DataValues:
    """Strings that may appear in either language because they are data, not interface text.

    ``blank(line)`` replaces every occurrence of a value (longest first, on word boundaries) with
    spaces; values are looked up by their first word, so thousands of them stay fast.
    """

    def __init__(self, values: Iterable[str]):
        self._by_first: dict[str, list[str]] = {}
        for raw in {nfc(v).strip() for v in values if v}:
            first = _WORD.search(raw)
            if first is None or len(raw) < 2:
                continue
            self._by_first.setdefault(first.group().lower(), []).append(raw)
        for vals in self._by_first.values():
            vals.sort(key=len, reverse=True)

    def blank(self, line: str) -> str:
        out = list(line)
        low = line.lower()
        pos = 0
        for m in _WORD.finditer(line):
            if m.start() < pos:
                continue
            # a value may start a little before its first word ("(ODbL)", "#12"): look back over symbols
            for value in self._by_first.get(m.group().lower(), ()):
                lead = value.lower().find(m.group().lower())
                start = m.start() - lead
                if start < 0 or not low.startswith(value.lower(), start):
                    continue
                end = start + len(value)
                if end < len(line) and line[end].isalnum() and value[-1].isalnum():
                    continue  # a prefix of a longer word, not the value
                out[start:end] = " " * (end - start)
                pos = end
                break
        return "".join(out)


def foreign_words(text: str, lang: str, data: DataValues) -> list[str]:
    """The words of ``text`` that are not in ``lang`` (``"vi"`` or ``"en"``), each with its line.

    Data values and :data:`PROPER_NAMES` are left out first; raw identifiers are foreign in both
    languages.
    """
    found: list[str] = []
    for raw_line in nfc(text).splitlines():
        line = data.blank(raw_line)
        if not line.strip():
            continue
        bad: list[str] = [m.group() for m in IDENTIFIER.finditer(line)]
        if lang == "en":
            bad += [w for w in _WORD.findall(line) if is_vietnamese_word(w)]
        else:
            low = line.lower()
            bad += [p for p in ENGLISH_UI_PHRASES if re.search(rf"\b{p}\b", low)]
            bad += [w for w in _WORD.findall(line) if w.isascii() and w.lower() in ENGLISH_UI_WORDS]
        if bad:
            found.append(f"{', '.join(dict.fromkeys(bad))}   ← {raw_line.strip()[:160]!r}")
    return found


#: (table, column, language) of the stored text values pages show; language None: both. The VSIC names
#: exist in both languages, so each language may show only its own. Free text a person typed (a report,
#: an inspection note) is data in whatever language it was written.
DATA_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("ward", "name", None), ("ward", "province", None), ("ward", "slug", None),
    ("former_ward_zone", "name", None), ("street", "name", None), ("street", "alley", None),
    ("residential_group", "name", None), ("residential_group", "code", None),
    ("industry", "name_vi", "vi"), ("industry", "name_en", "en"),
    ("market", "name", None), ("market", "address", None), ("market", "code", None),
    ("establishment", "name", None), ("establishment", "code", None), ("establishment", "house_number", None),
    ("establishment", "street", None), ("establishment", "address", None), ("establishment", "owner_name", None),
    ("establishment", "email", None), ("establishment", "opening_hours", None),
    ("stall", "zone", None), ("stall", "trade", None), ("stall", "holder_name", None),
    ("licence", "number", None), ("licence", "issuer", None), ("licence", "note", None),
    ("inspection", "inspector_name", None), ("inspection", "notes", None),
    ("inspection_route", "inspector_name", None),
    ("land_parcel", "planning_zone", None), ("public_facility", "name", None), ("public_facility", "address", None),
    ("commercial_street", "name", None), ("commercial_street", "note", None), ("commercial_street", "code", None),
    ("infrastructure", "code", None),
    ("field_report", "description", None), ("field_report", "public_description", None),
    ("field_report", "reporter_name", None), ("field_report", "reporter_contact", None),
    ("field_report", "address", None), ("field_report", "public_id", None),
    # what an officer wrote in a report's history (the app writes no sentence there: it shows the status and
    # a duplicate's original in the reader's language)
    ("field_report_update", "note", None),
    ("app_user", "full_name", None), ("app_user", "username", None), ("api_key", "name", None),
    ("qr_code", "short_code", None), ("qr_code", "token", None),
)


def data_values(conn: sa.Connection, lang: str) -> DataValues:
    """The stored values of :data:`DATA_COLUMNS` for a page in ``lang``, plus :data:`PROPER_NAMES`."""
    from geomap.inspections import violations

    values: list[str] = list(PROPER_NAMES) + [v.code for v in violations.CODES]  # codes such as "TTĐT-01"
    for table, column, only in DATA_COLUMNS:
        if only not in (None, lang):
            continue
        values += conn.execute(sa.text(
            f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')).scalars().all()
    return DataValues(values)


#: JavaScript run in every frame: the text a user sees or hears there (the page's text, placeholders,
#: accessible names and tooltips, SVG text, and what canvases drew: chart axes, table cells and headers)
COLLECT_TEXT = """() => {
    const out = [];
    const skip = '[data-testid="stIconMaterial"], [aria-hidden="true"], script, style, noscript, template';
    const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        const text = node.textContent.trim();
        if (!text || !el || el.closest(skip)) continue;
        if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
        out.push(text);
    }
    for (const el of document.querySelectorAll('[placeholder],[aria-label],[title],[alt],[aria-placeholder]')) {
        if (el.closest('[aria-hidden="true"]')) continue;
        for (const a of ['placeholder', 'aria-label', 'title', 'alt', 'aria-placeholder']) {
            const v = el.getAttribute(a);
            if (v) out.push(v);
        }
    }
    for (const t of document.querySelectorAll('svg text')) out.push(t.textContent);
    if (window.__geomapDrawn) out.push(...window.__geomapDrawn);
    return out.join('\\n');
}"""

#: an init script for every frame: keep each string a canvas draws (Vega charts and Streamlit's data grid
#: draw their text on a canvas, out of the page's text)
RECORD_CANVAS_TEXT = """(() => {
    if (window.__geomapDrawn) return;
    window.__geomapDrawn = new Set();
    for (const proto of [CanvasRenderingContext2D.prototype,
                         (typeof OffscreenCanvasRenderingContext2D !== 'undefined')
                             ? OffscreenCanvasRenderingContext2D.prototype : null]) {
        if (!proto) continue;
        const fill = proto.fillText;
        proto.fillText = function (text, ...rest) {
            try { window.__geomapDrawn.add(String(text)); } catch (e) { /* keep drawing */ }
            return fill.call(this, text, ...rest);
        };
    }
})();"""


def page_text(page) -> str:
    """All text the user sees in ``page`` and its frames (maps, components)."""
    parts = []
    for frame in page.frames:
        try:
            parts.append(frame.evaluate(COLLECT_TEXT))
        except Exception:  # noqa: BLE001 - a frame that navigated away meanwhile has nothing to show
            continue
    return "\n".join(parts)


def forget_canvas_text(page) -> None:
    for frame in page.frames:
        try:
            frame.evaluate("() => window.__geomapDrawn && window.__geomapDrawn.clear()")
        except Exception:  # noqa: BLE001 - as above
            continue
