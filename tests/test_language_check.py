"""The other-language check itself (tests/language_check.py), on the strings issue 13 found on the pages."""

from __future__ import annotations

import re

import pytest
from language_check import DataValues, foreign_words

DATA = DataValues(["Tổ dân phố 74", "K300 Nguyễn Văn Linh", "Phở Hà Nội", "Phường Hòa Cường", "Coffee Sunshine",
                   "Tiếng Việt", "Ngôn ngữ / Language"])


@pytest.mark.parametrize("text", [
    "Choose options",
    "Select all",
    "Upload",
    "Drag and drop file here",
    "Limit 200MB per file • XLSX, CSV",
    "Browse files",
    "1 result",
    "Jan 2026",
    "Feb",
    "None",
    "status",            # hotspot table headers
    "at",
    "text",
    "Thời gian di chuyển: straight_line×1.3@15km/h",
    "food_safety_certificate:+",
    "Trạng thái: No data",
])
def test_english_on_a_vietnamese_page_is_found(text):
    assert foreign_words(text, "vi", DATA), text


@pytest.mark.parametrize("text", [
    "12 K300 Nguyễn Văn Linh, Tổ dân phố Tổ dân phố 74",  # the label added in front of a name
    "Phản ánh đã được tiếp nhận",                          # a system note in the tracking history
    "Start: xuất phát / start",
    "Residential group: Tổ dân phố",
    "food_safety_certificate:+",
])
def test_vietnamese_on_an_english_page_is_found(text):
    assert foreign_words(text, "en", DATA), text


@pytest.mark.parametrize(("text", "lang"), [
    ("Phở Hà Nội — 12 K300 Nguyễn Văn Linh, Tổ dân phố 74", "en"),  # data in a line of its own
    ("Near K300 Nguyễn Văn Linh, Tổ dân phố 74", "en"),
    ("Phường Hòa Cường", "en"),
    ("Ngôn ngữ / Language", "en"),
    ("Tiếng Việt English", "vi"),
    ("Coffee Sunshine — quanh K300 Nguyễn Văn Linh", "vi"),       # an English shop name is data
    ("Tải tệp GeoJSON, GeoPackage, Excel (.xlsx) hoặc CSV; tối đa 30 MB", "vi"),
    ("Mã QR và tem dán · PDF A4", "vi"),
    ("Chọn một hoặc nhiều lớp", "vi"),
    ("Map of the reports, newest first", "en"),
])
def test_the_users_language_and_data_pass(text, lang):
    assert foreign_words(text, lang, DATA) == []


def test_a_value_inside_a_longer_word_is_not_data():
    data = DataValues(["Hòa"])
    assert foreign_words("Hòang", "en", data)  # not the value "Hòa": still a Vietnamese word
    assert foreign_words("Hòa", "en", data) == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_widget_words_script_survives_the_sanitiser(lang):
    """st.html drops a script whose text looks like markup (DOMPurify): no "<" between the tags."""
    from geomap.ui import widgets

    body = widgets.script(widgets.words_for(lang) | {"exact": {"a<b": "</script><b>"}})
    inner = body.removeprefix("<script>").removesuffix("</script>")
    assert body.startswith("<script>") and body.endswith("</script>") and "<" not in inner


def test_every_builtin_word_has_both_languages():
    from geomap import i18n
    from geomap.ui import widgets

    keys = set(widgets.BUILTIN.values()) | {k for _, k in widgets.BUILTIN_PATTERNS}
    for key in keys:
        vi, en = i18n.lookup(key)
        assert vi and en and vi != key
    # what a pattern's groups fill in is there in the Vietnamese too
    for _, key in widgets.BUILTIN_PATTERNS:
        vi, en = i18n.lookup(key)
        assert set(re.findall(r"\{\d\}", vi)) == set(re.findall(r"\{\d\}", en)), key
