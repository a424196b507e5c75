"""Report photos: type sniffed from content, size limit, resize, GPS read, EXIF stripped."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational as R

from geomap.field_reports import photos


def jpeg_with_gps(lat=(16, 2, 35.8), lon=(108, 13, 2.0), size=(3000, 2000), maker="TestPhoneMaker") -> bytes:
    """A JPEG whose EXIF holds a maker name and a GPS position (made with Pillow alone)."""
    im = Image.new("RGB", size, (200, 100, 50))
    ex = Image.Exif()
    ex[0x010F] = maker
    ex[0x0112] = 1  # orientation
    ex[0x8825] = {1: "N", 2: tuple(R(round(v * 100), 100) for v in lat), 3: "E",
                  4: tuple(R(round(v * 100), 100) for v in lon)}
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=ex, quality=90)
    return buf.getvalue()


def test_gps_read_and_exif_stripped():
    data = jpeg_with_gps()
    assert b"TestPhoneMaker" in data and photos.has_metadata(data)
    p = photos.process(data, name="a.jpg")
    assert p.gps == pytest.approx((16 + 2 / 60 + 35.8 / 3600, 108 + 13 / 60 + 2 / 3600))
    assert not photos.has_metadata(p.content)
    assert b"TestPhoneMaker" not in p.content and b"Exif" not in p.content
    assert max(p.width, p.height) == photos.MAX_SIDE_PX and p.media_type == "image/jpeg"
    with Image.open(io.BytesIO(p.content)) as back:
        assert back.format == "JPEG" and back.size == (p.width, p.height)


def test_orientation_applied_before_stripping():
    im = Image.new("RGB", (400, 200))
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90° clockwise when shown
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=ex)
    p = photos.process(buf.getvalue())
    assert (p.width, p.height) == (200, 400)


def test_png_and_webp_accepted_and_cleaned():
    for fmt, media in (("PNG", "image/png"), ("WEBP", "image/webp")):
        buf = io.BytesIO()
        ex = Image.Exif()
        ex[0x010F] = "TestPhoneMaker"
        Image.new("RGBA", (50, 40), (1, 2, 3, 128)).save(buf, fmt, exif=ex)
        p = photos.process(buf.getvalue(), name=f"x.{fmt.lower()}")
        assert p.media_type == media and (p.width, p.height) == (50, 40)
        assert b"TestPhoneMaker" not in p.content


@pytest.mark.parametrize("data, words", [
    (b"%PDF-1.4 not an image at all", "not a valid image"),
    (b"", "empty"),
    (b"GIF89a" + b"\x00" * 100, "not a valid image"),
])
def test_not_an_image(data, words):
    with pytest.raises(photos.PhotoError) as err:
        photos.process(data, name="evil.jpg")
    assert words in str(err.value) and "evil.jpg" in str(err.value)


def test_gif_is_refused_by_type():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "GIF")
    with pytest.raises(photos.PhotoError) as err:
        photos.process(buf.getvalue(), name="anim.gif")
    assert "GIF" in str(err.value) and "JPEG, PNG" in str(err.value)


def test_thirty_megabytes_refused_clearly():
    with pytest.raises(photos.PhotoError) as err:
        photos.process(b"\xff\xd8" + b"\x00" * (30 * 1024 * 1024), name="huge.jpg")
    assert "30.0 MB" in str(err.value) and "10 MB" in str(err.value)


def test_decompression_bomb_refused():
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG")  # 144 Mpx, a few kB on disk
    with pytest.raises(photos.PhotoError):
        photos.process(buf.getvalue(), name="bomb.png")


def test_zero_gps_ignored():
    assert photos.process(jpeg_with_gps(lat=(0, 0, 0), lon=(0, 0, 0), size=(10, 10))).gps is None
