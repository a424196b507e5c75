"""Vietnamese text: NFC normalisation on the way in, diacritic-free folding for search."""

from __future__ import annotations

import re
import unicodedata

_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nfc(value: str | None) -> str | None:
    """``value`` in Unicode NFC with surrounding white space removed (``None`` stays ``None``)."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value).strip()


def fold(value: str | None) -> str:
    """Lower case, without diacritics, white space collapsed: "Phở Hòa" -> "pho hoa"."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.translate(_FOLD_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def search_key(*parts: str | None) -> str:
    """The folded text an establishment is found by (name, address, code...)."""
    return fold(" ".join(p for p in parts if p))


def clean_text(value: str | None) -> str:
    """NFC, trimmed, control characters (NUL included: PostgreSQL refuses it) removed."""
    return _CONTROL.sub("", nfc(value or "") or "")


def with_label(label: str, name: str | None) -> str:
    """``name`` prefixed by ``label`` unless the name already says what it is.

    Residential groups are named "Tổ 74" or "Tổ dân phố 74" in the ward's own files: writing
    the field label in front gives "Tổ dân phố Tổ dân phố 74". A name that already starts with
    "tổ" (or with the label itself), compared without diacritics, stands alone.
    """
    if not name:
        return ""
    folded = fold(name)
    if folded.startswith(("to ", "to dan pho", fold(label))):
        return name
    return f"{label} {name}"
