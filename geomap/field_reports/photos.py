"""Report photos: checked, resized, GPS read, EXIF stripped before anyone else sees them.

A phone photo carries the reporter's exact position, the phone model and the time in its
EXIF block. We read the GPS position (it can locate the report when the phone gave none),
then re-encode the pixels into a fresh file without any metadata. The type is sniffed from
the content (Pillow's decoders), never trusted from the file name or the browser's
Content-Type. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from geomap.errors import LocalizedError

#: largest accepted upload, before resizing
MAX_BYTES: int = 10 * 1024 * 1024
#: longest side after resizing, in pixels (enough to see a pothole, small for 3G)
MAX_SIDE_PX: int = 1600
#: refuse decompression bombs: more pixels than a 50-megapixel camera makes
MAX_PIXELS: int = 60_000_000
#: photos per report
MAX_PHOTOS: int = 3

_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_GPS_IFD = 0x8825


class PhotoError(LocalizedError):
    """A photo that cannot be accepted; the message names the file and the reason (form field ``photos``)."""

    both_in_str = True


@dataclass(frozen=True)
class Photo:
    """A cleaned photo ready to store."""

    content: bytes
    media_type: str
    width: int
    height: int
    #: (lat, lon) in WGS84 from the original's EXIF, if it had a usable fix
    gps: tuple[float, float] | None = None


def _dms_to_degrees(dms, ref: str | None) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60.0 + s / 3600.0
    if ref and ref.strip().upper() in ("S", "W"):
        value = -value
    return value


def read_gps(image: Image.Image) -> tuple[float, float] | None:
    """The (lat, lon) of an image's EXIF GPS block, or None when absent or nonsense."""
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
    except Exception:  # a corrupt EXIF block must not reject an otherwise fine photo
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat = _dms_to_degrees(gps.get(2), gps.get(1))
    lon = _dms_to_degrees(gps.get(4), gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon


def process(data: bytes, *, name: str = "ảnh", max_bytes: int = MAX_BYTES, max_side_px: int = MAX_SIDE_PX) -> Photo:
    """Check, orient, resize and re-encode ``data`` without metadata.

    Raises :class:`PhotoError` for files that are too large, not images, or not JPEG/PNG/WebP.
    """
    if len(data) > max_bytes:
        raise PhotoError(
            f"Ảnh '{name}' quá lớn ({len(data) / 1048576:.1f} MB; tối đa {max_bytes // 1048576} MB)",
            f"photo '{name}' is too large ({len(data) / 1048576:.1f} MB; at most {max_bytes // 1048576} MB).",
            "photos")
    if not data:
        raise PhotoError(f"Ảnh '{name}' rỗng", f"photo '{name}' is empty.", "photos")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in _FORMATS:
                raise PhotoError(
                    f"Tệp '{name}' là {fmt or 'không rõ'}, chỉ nhận JPEG, PNG hoặc WebP",
                    f"file '{name}' is {fmt or 'unknown'}; only JPEG, PNG or WebP are accepted.",
                    "photos")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(f"Ảnh '{name}' có quá nhiều điểm ảnh", f"photo '{name}' has too many pixels.",
                                 "photos")
            gps = read_gps(image)
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise PhotoError(
            f"Tệp '{name}' không phải là ảnh hợp lệ",
            f"file '{name}' is not a valid image ({type(exc).__name__}).", "photos") from exc

    # apply the EXIF orientation to the pixels: the tag itself is about to go
    image = ImageOps.exif_transpose(image)
    image.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    clean = image.convert("RGBA" if has_alpha else "RGB")
    clean.info.clear()  # no EXIF, XMP, ICC text or comments travel to the new file
    if fmt == "PNG" or (has_alpha and fmt != "WEBP"):
        clean.save(out, format="PNG", optimize=True)
        media_type = "image/png"
    elif fmt == "WEBP":
        clean.save(out, format="WEBP", quality=82)
        media_type = "image/webp"
    else:
        clean.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
        media_type = "image/jpeg"
    return Photo(content=out.getvalue(), media_type=media_type, width=clean.width, height=clean.height, gps=gps)


def has_metadata(content: bytes) -> bool:
    """Whether stored bytes still carry EXIF (used by tests and the integrity check)."""
    with Image.open(io.BytesIO(content)) as im:
        return bool(im.getexif()) or "exif" in im.info or b"Exif\x00\x00" in content
