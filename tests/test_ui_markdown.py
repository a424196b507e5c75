"""geomap.ui.markdown.plain: hostile text shown as typed by Streamlit's Markdown widgets (pure)."""

from __future__ import annotations

import string

import pytest

from geomap.ui.markdown import plain

HOSTILE = {
    "link": "[bấm vào đây](https://evil.example/login?x=1)",
    "image": "![ảnh](https://evil.example/track.png)",
    "autolink": "<https://evil.example> và www.evil.example",
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "entity": "&lt;b&gt; &amp; &#60;",
    "emphasis": "*đậm* **rất đậm** _nghiêng_ __gạch__",
    "code": "`code` ```fence```",
    "math": "$x^2$ và $$\\int_0^1 f$$",
    "streamlit colour and icon": ":red[Cảnh báo] :material/warning: :smile:",
    "heading": "# Tiêu đề",
    "list": "- mục\n1. mục\n+ mục",
    "quote": "> trích dẫn",
    "table": "| a | b |\n|---|---|",
    "strike": "~~gạch~~",
    "setext": "Tiêu đề\n===",
    "backslashes": "C:\\path\\* \\[x\\]",
    "vietnamese": "Phở Bà Hòa — 12 Lê Thanh Nghị, Đà Nẵng",
}


def _read(markdown: str) -> str:
    """The text CommonMark shows for ``markdown`` if it holds nothing but plain characters and
    backslash escapes; fails on any ASCII punctuation character left unescaped (a possible markup)."""
    out, i = [], 0
    while i < len(markdown):
        ch = markdown[i]
        if ch == "\\":
            assert i + 1 < len(markdown) and markdown[i + 1] in string.punctuation, (markdown, i)
            out.append(markdown[i + 1])
            i += 2
            continue
        assert ch not in string.punctuation, f"unescaped {ch!r} at {i} in {markdown!r}"
        assert ch not in "\r\n", f"line break in {markdown!r}"
        out.append(ch)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_shows_as_typed(text):
    expected = " ".join(part.strip() for part in text.splitlines())  # one line: breaks become a space
    assert _read(plain(text)) == expected


def test_examples():
    assert plain("[a](b)") == r"\[a\]\(b\)"
    assert plain("![i](u)") == r"\!\[i\]\(u\)"
    assert plain("<b>x</b>") == r"\<b\>x\<\/b\>"
    assert plain("*_`$") == r"\*\_\`\$"
    assert plain("Tô Thị Hoa") == "Tô Thị Hoa"  # diacritics untouched


def test_line_breaks_and_controls():
    assert plain("a\n# b") == r"a \# b"
    assert plain("a\r\n\r\n  - b") == r"a \- b"
    assert plain("x\x00y\x1bz") == "xyz"


def test_none_and_non_strings():
    assert plain(None) == ""
    assert plain(12.5) == r"12\.5"
    assert plain("") == ""
