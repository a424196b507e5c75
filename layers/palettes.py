"""Colour palettes shared by layers (status colours mean the same thing everywhere).

Not a layer: it declares no ``LAYER``.
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
