"""A4 PDF sticker sheets: 12 stickers a page, each with the QR, name, address, ward and short code.

Drawn with reportlab. The QR modules are vector rectangles (one per horizontal run of
dark modules, all in one filled path), which is sharper at any printer resolution and
several times faster than embedding a PNG per sticker. Text uses an embedded TrueType
font with Vietnamese glyphs (DejaVu Sans from Debian's ``fonts-dejavu-core``, or another
font named by ``GEOMAP_STICKER_FONT``); reportlab embeds only the glyphs used.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from geomap import i18n, status
from geomap.errors import GeomapError
from qr import images
from qr.issue import StickerItem

COLUMNS, ROWS = 3, 4
PER_PAGE = COLUMNS * ROWS
CELL_W, CELL_H = 64 * mm, 70 * mm
QR_SIZE = 38 * mm  # version 4 + quiet zone: 41 modules of 0.93 mm, easy for any phone camera

_FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
)
REGULAR, BOLD = "GeomapSans", "GeomapSans-Bold"


def register_fonts() -> tuple[str, str]:
    """Register the sticker fonts once; a clear error when no font with Vietnamese glyphs exists."""
    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return REGULAR, BOLD
    chosen = os.environ.get("GEOMAP_STICKER_FONT")
    pairs = ((chosen, chosen),) if chosen else _FONT_CANDIDATES
    for regular, bold in pairs:
        if regular and Path(regular).exists():
            pdfmetrics.registerFont(TTFont(REGULAR, regular))
            pdfmetrics.registerFont(TTFont(BOLD, bold if bold and Path(bold).exists() else regular))
            return REGULAR, BOLD
    raise GeomapError("No font with Vietnamese glyphs found for the stickers; install Debian's fonts-dejavu-core "
                      "or set GEOMAP_STICKER_FONT to a .ttf file.")


def printable(text: str | None) -> str:
    """NFC text without control or bidi-formatting characters (they print as boxes or reorder text)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf")).strip()


def _lines(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    lines = simpleSplit(text, font, size, width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _draw_qr(c: canvas.Canvas, modules: list[list[bool]], x: float, y: float, size: float) -> None:
    """Dark modules as one filled path of horizontal runs, quiet zone included in ``size``."""
    n = len(modules)
    unit = size / (n + 8)
    top = y + size - 4 * unit
    path = c.beginPath()
    for r, row in enumerate(modules):
        yy = top - (r + 1) * unit
        start = None
        for col in range(n + 1):
            dark = col < n and row[col]
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                path.rect(x + (4 + start) * unit, yy, (col - start) * unit, unit)
                start = None
    c.drawPath(path, stroke=0, fill=1)


def _draw_sticker(c: canvas.Canvas, item: StickerItem, x: float, y: float, base_url: str | None,
                  fonts: tuple[str, str], scan_hint: str, lang: str) -> None:
    regular, bold = fonts
    c.setStrokeGray(0.8)
    c.setLineWidth(0.4)
    c.roundRect(x + 1 * mm, y + 1 * mm, CELL_W - 2 * mm, CELL_H - 2 * mm, 3 * mm, stroke=1, fill=0)
    inner = CELL_W - 8 * mm
    c.setFillGray(0.25)
    c.setFont(regular, 6.5)
    c.drawCentredString(x + CELL_W / 2, y + CELL_H - 5.5 * mm, _lines(printable(item.ward_name), regular, 6.5,
                                                                      inner, 1)[0])
    c.setFillGray(0)
    _draw_qr(c, images.matrix(item.token, base_url), x + (CELL_W - QR_SIZE) / 2, y + CELL_H - 7 * mm - QR_SIZE,
             QR_SIZE)
    ty = y + CELL_H - 8 * mm - QR_SIZE
    c.setFont(bold, 8.5)
    for line in _lines(printable(item.name), bold, 8.5, inner, 2):
        ty -= 3.6 * mm
        c.drawCentredString(x + CELL_W / 2, ty, line)
    c.setFont(regular, 6.5)
    address = printable(item.address)
    if item.stall_no and item.target_type == "establishment":
        stall = i18n.t("sticker.stall", lang).format(stall=printable(item.stall_no))
        address = f"{address} · {stall}" if address else stall
    for line in _lines(address, regular, 6.5, inner, 2):
        ty -= 2.9 * mm
        c.drawCentredString(x + CELL_W / 2, ty, line)
    c.setFont(bold, 10)
    c.drawCentredString(x + CELL_W / 2, y + 6.5 * mm, i18n.t("sticker.code", lang).format(code=item.short_code))
    size = 5.5
    while size > 4 and pdfmetrics.stringWidth(scan_hint, regular, size) > inner:
        size -= 0.25
    c.setFont(regular, size)
    c.setFillGray(0.3)
    c.drawCentredString(x + CELL_W / 2, y + 3.3 * mm, scan_hint)
    c.setFillGray(0)


STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "sticker.title": ("Tem mã QR", "QR stickers"),
    "sticker.scan_hint": ("Quét mã để tra cứu giấy phép, ATTP", "Scan to check the licences and food safety"),
    "sticker.code": ("Mã: {code}", "Code: {code}"),
    "sticker.stall": ("Quầy {stall}", "Stall {stall}"),
    "sticker.printed": ("In ngày {date}", "Printed on {date}"),
    "sticker.page": ("Trang {page}/{pages}", "Page {page}/{pages}"),
    # printed on every sticker and page of a synthetic (demo) ward: never mistaken for a real sticker
    "sticker.synthetic_mark": ("MẪU · DỮ LIỆU MÔ PHỎNG", "SAMPLE · SYNTHETIC DATA"),
    "sticker.synthetic_footer": ("Dữ liệu mô phỏng phục vụ trình diễn, không dán ra thực tế",
                                 "Synthetic demonstration data: do not post"),
}


def sheet(items: Sequence[StickerItem], *, base_url: str | None = None, title: str = "", synthetic: bool = False,
          progress: Callable[[int, int], None] | None = None, lang: str = "vi") -> bytes:
    """The PDF (A4, 3 × 4 stickers a page) for ``items`` in the given order, every word in ``lang`` (the
    sticker's face too: Vietnamese by default, the language of the street it is posted in; the page it
    opens offers both).

    ``synthetic`` (:func:`geomap.wards.data.ward_is_synthetic`) marks every sticker and page as demo
    data. ``progress(done, total)`` is called after each page (a whole ward is ~500 pages).
    """
    if not items:
        raise GeomapError("There are no QR codes to print for this choice; issue codes first ('geomap qr issue').")
    fonts = register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1, invariant=1)
    c.setTitle(title or i18n.t("sticker.title", lang))
    c.setAuthor("geomap")
    page_w, page_h = A4
    left = (page_w - COLUMNS * CELL_W) / 2
    bottom = (page_h - ROWS * CELL_H) / 2 + 3 * mm
    pages = (len(items) + PER_PAGE - 1) // PER_PAGE
    hint = i18n.t("sticker.scan_hint", lang)
    mark, footer = i18n.t("sticker.synthetic_mark", lang), i18n.t("sticker.synthetic_footer", lang)
    printed = status.today().strftime("%d/%m/%Y")
    for p in range(pages):
        for i, item in enumerate(items[p * PER_PAGE:(p + 1) * PER_PAGE]):
            col, row = i % COLUMNS, i // COLUMNS
            _draw_sticker(c, item, left + col * CELL_W, bottom + (ROWS - 1 - row) * CELL_H, base_url, fonts, hint,
                          lang)
            if synthetic:
                c.setFont(fonts[1], 6)
                c.setFillColorRGB(0.75, 0.1, 0.1)
                c.drawCentredString(left + col * CELL_W + CELL_W / 2,
                                    bottom + (ROWS - 1 - row) * CELL_H + CELL_H - 2.8 * mm, mark)
                c.setFillGray(0)
        if synthetic:
            c.setFont(fonts[1], 7.5)
            c.setFillColorRGB(0.75, 0.1, 0.1)
            c.drawCentredString(page_w / 2, 2.5 * mm, footer)
        c.setFont(fonts[0], 7)
        c.setFillGray(0.4)
        when = i18n.t("sticker.printed", lang).format(date=printed)
        c.drawString(left, 6 * mm, printable(f"{title} · {when}" if title else when))
        c.drawRightString(page_w - left, 6 * mm, i18n.t("sticker.page", lang).format(page=p + 1, pages=pages))
        c.setFillGray(0)
        c.showPage()
        if progress is not None:
            progress(min((p + 1) * PER_PAGE, len(items)), len(items))
    c.save()
    return buf.getvalue()
