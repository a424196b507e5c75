"""PNG and SVG of one code, and the module matrix the PDF stickers draw.

segno builds the symbol: byte mode, error correction at least M (boosted when it fits
the same version), version at most 4 (checked: a longer base URL is refused with a
readable message rather than printed as a dense, hard-to-scan code).
"""

from __future__ import annotations

import io

import segno

from geomap import config, links
from geomap.errors import GeomapError
from qr import codes


def symbol(token: str, base_url: str | None = None) -> segno.QRCode:
    """The QR symbol for ``token``'s lookup URL (version ≤ 4, level ≥ M)."""
    url = links.qr_lookup(token, base_url or None)
    qr = segno.make(url, error=codes.QR_ERROR.lower(), micro=False, boost_error=True)
    if qr.version > codes.MAX_QR_VERSION:
        codes.check_base_url(base_url or config.PUBLIC_BASE_URL)  # raises with the reason
        raise GeomapError(f"The URL {url!r} does not fit a version-{codes.MAX_QR_VERSION} QR code.")
    return qr


def png(token: str, *, base_url: str | None = None, scale: int = 8, border: int = 4) -> bytes:
    """PNG bytes (``scale`` pixels per module, the 4-module quiet zone the standard asks for)."""
    buf = io.BytesIO()
    symbol(token, base_url).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def svg(token: str, *, base_url: str | None = None, scale: int = 8, border: int = 4) -> bytes:
    """SVG bytes (one path, scalable for print shops)."""
    buf = io.BytesIO()
    symbol(token, base_url).save(buf, kind="svg", scale=scale, border=border, xmldecl=True, svgns=True)
    return buf.getvalue()


def matrix(token: str, base_url: str | None = None) -> list[list[bool]]:
    """Dark (True) / light modules, without quiet zone, row by row from the top."""
    return [[bool(v) for v in row] for row in symbol(token, base_url).matrix]
