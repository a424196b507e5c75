"""Colour palettes shared by layers (status colours mean the same thing everywhere).

Not a layer: it declares no ``LAYER``. :func:`text_on` picks the text colour that reads on a
palette colour (WCAG 2.1 contrast, at least 4.5:1 for every colour here: tests/test_qr_service.py).
"""

LICENCE_STATUS = {
    "valid": "#2e7d32",
    "expiring": "#f9a825",
    "expired": "#c62828",
    "missing": "#616161",
}

FOOD_SAFETY_STATUS = {
    "certified": "#2e7d32",
    "committed": "#7cb342",
    "expiring": "#f9a825",
    "expired": "#c62828",
    "violation": "#6a1b9a",
    "missing": "#ef6c00",
    "not_applicable": "#90a4ae",
}

REPORT_STATUS = {
    "new": "#d32f2f",
    "received": "#f57c00",
    "assigned": "#fbc02d",
    "in_progress": "#1976d2",
    "resolved": "#388e3c",
    "closed": "#616161",
    "duplicate": "#9e9e9e",
    "not_ward": "#9e9e9e",
}

#: hotspot cells (layer ``hotspots``): red hot, blue cold, grey for the rest
HOTSPOT_CLASS = {
    "hot": "#c62828",
    "cold": "#1565c0",
    "not_significant": "#757575",
}


def _luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``."""
    return "#000000" if contrast("#000000", background) >= contrast("#ffffff", background) else "#ffffff"
