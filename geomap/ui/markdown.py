"""Text typed by people (names, addresses, messages) made safe for Streamlit's Markdown widgets.

``st.markdown``, ``st.caption``, ``st.subheader``, ``st.error`` and expander labels read their
text as Markdown (with Streamlit's extras: ``$…$`` math, ``:red[…]`` colours, ``:material/…:``
icons). :func:`plain` backslash-escapes every ASCII punctuation character, which CommonMark
allows for all of them, so such text shows exactly as typed: no link, image, emphasis, code,
heading, list, table, math or HTML (also under ``unsafe_allow_html=True``). Use it only where the
text is read as Markdown; ``st.text`` and data frames need no escaping.
"""

from __future__ import annotations

import re
import string

_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain(text: object) -> str:
    """``text`` (None: empty) as one line of Markdown that renders as the text itself.

    Line breaks become one space (a label is one line: a break would end a ``**bold**`` span or
    start a heading or list), control characters are dropped, and every ASCII punctuation
    character is escaped with a backslash."""
    out = "" if text is None else str(text)
    out = _CONTROL.sub("", _LINE_BREAKS.sub(" ", out))
    return _SPECIAL.sub(r"\\\1", out)
