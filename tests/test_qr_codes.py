"""Pure rules of QR tokens and short codes (no database)."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomap import links
from geomap.errors import GeomapError
from qr import codes

CITY_URL = "https://bando.hoacuong.danang.gov.vn"


def test_token_is_random_urlsafe_and_long_enough():
    tokens = {codes.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert codes.TOKEN_BITS >= 64
    for t in tokens:
        assert len(t) == codes.TOKEN_LENGTH and set(t) <= set("abcdefghijklmnopqrstuvwxyz234567")
    # each position uses the whole alphabet (no fixed prefix or counter)
    assert all(len({t[i] for t in tokens}) == 32 for i in range(codes.TOKEN_LENGTH - 1))
    assert math.log2(32) * codes.TOKEN_LENGTH >= 80


def test_full_url_fits_version_4_at_level_m_with_the_real_encoder():
    import segno

    for _ in range(50):
        url = links.qr_lookup(codes.new_token(), CITY_URL)
        qr = segno.make(url, error="m", micro=False, boost_error=False)
        assert qr.version <= 4 and qr.error == "M"
    longest = "https://" + "a" * (codes.MAX_BASE_URL_LENGTH - len("https://"))
    assert codes.qr_version(links.qr_lookup(codes.new_token(), longest)) <= 4
    codes.check_base_url(longest)
    with pytest.raises(GeomapError, match="too long"):
        codes.check_base_url(longest + "/more")


@pytest.mark.parametrize("bad", [
    "", "abc", "a" * 15, "a" * 17, "0" * 16, "1" * 16, "a" * 15 + "8", "../../etc/passwd", "a" * 15 + "/",
    "a" * 15 + "=", "ａ" * 16, "a" * 15 + "\u0000", "%2e%2e%2f" + "a" * 7, "a" * 4000,
])
def test_malformed_tokens_are_rejected(bad):
    assert codes.normalize_token(bad) is None


def test_token_normalisation_accepts_upper_case():
    t = codes.new_token()
    assert codes.normalize_token(t.upper()) == t


def test_short_code_shape_and_check_character():
    for _ in range(500):
        code = codes.new_short_code("HC")
        assert len(code) == 10 and code[:3] == "HC-" and code[7] == "-"
        assert not set(code[3:]) & set("ILOU")
        assert codes.normalize_short_code(code) == code
        assert codes.normalize_short_code(code.lower().replace("-", " ")) == code


@given(st.text(alphabet=codes.ALPHABET, min_size=5, max_size=5), st.integers(0, 5),
       st.sampled_from(codes.ALPHABET))
def test_check_character_catches_every_single_substitution(payload, pos, replacement):
    full = payload + codes.check_char(payload)
    if full[pos] == replacement:
        return
    typo = full[:pos] + replacement + full[pos + 1:]
    assert not codes.is_valid_check(typo)


@given(st.text(alphabet=codes.ALPHABET, min_size=5, max_size=5), st.integers(0, 4))
def test_check_character_catches_swapped_neighbours(payload, pos):
    full = payload + codes.check_char(payload)
    swapped = full[:pos] + full[pos + 1] + full[pos] + full[pos + 2:]
    if swapped != full:
        # Luhn mod N misses only the swap of the two symbols whose values sum to N-1 (like 0/9 in Luhn)
        pair = {codes.ALPHABET.index(full[pos]), codes.ALPHABET.index(full[pos + 1])}
        if sum(pair) != len(codes.ALPHABET) - 1:
            assert not codes.is_valid_check(swapped)


def test_short_code_reading_mistakes_are_forgiven_crockford_style():
    payload = "10K3M"
    full = f"HC-{payload[:4]}-{payload[4]}{codes.check_char(payload)}"
    typed = full.lower().replace("1", "i").replace("0", "o").replace("-", " ")
    assert codes.normalize_short_code(typed) == full
    assert codes.normalize_short_code(full.replace("1", "L")) == full


@pytest.mark.parametrize("bad", ["", "HC", "HC-1234", "HC-12345-67", "HCX-0000-00!", "x" * 100, "ÐC-0000-00"])
def test_malformed_short_codes(bad):
    assert codes.normalize_short_code(bad) is None


def test_ward_prefix():
    assert codes.ward_prefix("hoa-cuong", "HC") == "HC"
    assert codes.ward_prefix("hoa-cuong") == "HC"
    assert codes.ward_prefix("thạch-khôi") == "TK"
    assert codes.ward_prefix("x", "bad prefix!") == "X"
    assert set(codes.ward_prefix("phuong-an-hai-bac-2")) <= set(string.ascii_uppercase)
