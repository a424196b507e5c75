"""Token and short-code rules (pure: no database, no I/O).

Two identifiers per issued code:

``token``
    What the QR holds, in ``{PUBLIC_BASE_URL}/q/{token}``: 10 random bytes from
    :mod:`secrets` (80 bits) in lower-case RFC 4648 base32, 16 characters ``[a-z2-7]``.
    URL-safe, case-insensitive on input, and short enough that the whole URL fits a QR of
    version 4 at error-correction level M (62 bytes) for base URLs up to
    :data:`MAX_BASE_URL_LENGTH` characters. It carries no database id and no order.

``short_code``
    What a person reads out on the phone: ward prefix, then 5 random characters of
    Crockford's base32 alphabet (no I, L, O, U: nothing to confuse with 1 or 0) and one
    Luhn mod 32 check character, grouped ``HC-7K3M-Q9``. The check character catches every
    single mistyped character and most swapped neighbours. Not a secret and never accepted
    by the public service (25 bits are enumerable); staff use it to find a code.
"""

from __future__ import annotations

import base64
import re
import secrets

from geomap import links, text

TOKEN_BYTES = 10
TOKEN_LENGTH = 16  # base32 of 10 bytes, no padding
TOKEN_BITS = TOKEN_BYTES * 8
_TOKEN_RE = re.compile(r"[a-z2-7]{16}")

#: Crockford base32: digits and letters without I, L, O, U
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_RANDOM = 5
_CROCKFORD_READ = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SHORT_RE = re.compile(r"([A-Z]{1,4})([0-9A-Z]{6})")

#: QR version and error-correction level every sticker must fit
MAX_QR_VERSION = 4
QR_ERROR = "M"
#: bytes a version-4-M QR holds in byte mode, minus "/q/" and the token
MAX_BASE_URL_LENGTH = 62 - len(links.QR_PATH) - TOKEN_LENGTH


def new_token() -> str:
    """A fresh random token (80 bits, 16 characters of ``a-z2-7``)."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").lower()


def normalize_token(value: str) -> str | None:
    """The canonical token for ``value``, or None when it cannot be one (checked cheaply, no I/O).

    Accepts upper case (some scanners shout); anything else (wrong length, other
    characters, path tricks) is rejected before any database access.
    """
    if not isinstance(value, str) or len(value) != TOKEN_LENGTH:
        return None
    lowered = value.lower()
    return lowered if _TOKEN_RE.fullmatch(lowered) else None


def check_char(payload: str) -> str:
    """Luhn mod 32 check character of ``payload`` (characters of :data:`ALPHABET`)."""
    n = len(ALPHABET)
    factor, total = 2, 0
    for ch in reversed(payload):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def is_valid_check(payload_with_check: str) -> bool:
    """True when the last character is the Luhn mod 32 check of the others."""
    if len(payload_with_check) < 2 or any(c not in ALPHABET for c in payload_with_check):
        return False
    return check_char(payload_with_check[:-1]) == payload_with_check[-1]


def ward_prefix(slug: str, code_prefix: str | None = None) -> str:
    """Short-code prefix: the ward profile's ``code_prefix``, else the slug's initials ("hoa-cuong" → "HC")."""
    if code_prefix and re.fullmatch(r"[A-Z]{1,4}", code_prefix):
        return code_prefix
    words = re.split(r"[\s\-_]+", text.fold(slug))
    initials = "".join(w[0] for w in words if w and w[0].isalpha()).upper()
    return (initials or "QR")[:4]


def new_short_code(prefix: str) -> str:
    """A fresh short code ``PREFIX-XXXX-XC`` (5 random characters and a check character)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(SHORT_RANDOM))
    full = payload + check_char(payload)
    return f"{prefix}-{full[:4]}-{full[4:]}"


def normalize_short_code(value: str) -> str | None:
    """``value`` as a canonical short code, or None when it is not one or its check fails.

    Forgiving as a person on the phone is: case, spaces and dashes do not matter, and
    ``I``/``L`` read as 1, ``O`` as 0 (Crockford's rule) in the code part.
    """
    if not isinstance(value, str) or len(value) > 32:
        return None
    compact = re.sub(r"[\s\-_.]", "", value.upper())
    m = _SHORT_RE.fullmatch(compact)
    if not m:
        return None
    prefix, body = m.group(1), m.group(2).translate(_CROCKFORD_READ)
    if not is_valid_check(body):
        return None
    return f"{prefix}-{body[:4]}-{body[4:]}"


def qr_version(data: str) -> int:
    """Smallest QR version holding ``data`` at level M (segno picks the most compact mode)."""
    import segno

    return segno.make(data, error=QR_ERROR.lower(), micro=False, boost_error=False).version


def check_base_url(base_url: str) -> None:
    """Raise a readable error unless stickers for ``base_url`` fit QR version 4 at level M."""
    from geomap.errors import GeomapError

    sample = links.qr_lookup("a" * TOKEN_LENGTH, base_url)
    version = qr_version(sample)
    if version > MAX_QR_VERSION:
        raise GeomapError(
            f"The public base URL {base_url!r} is too long for a small QR sticker (needs version {version}, "
            f"at most {MAX_QR_VERSION}); use at most {MAX_BASE_URL_LENGTH} characters in GEOMAP_PUBLIC_BASE_URL."
        )
