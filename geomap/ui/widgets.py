"""Streamlit's own words in the user's language: its widgets, tables and charts.

Streamlit has no translations. Its widgets carry English of their own: a multiselect's "Choose
options" and "Select all", the file uploader's "Drag and drop file here", "Limit 200MB per file" and
"Browse files", a table's toolbar ("Download as CSV", "Search") and its search's "1 result", a date
picker's "Choose date", the help icons' "Help for …", a missing value's "None", and charts that
describe themselves to screen readers in English. Each family is fixed here, in one place:

- what Streamlit lets an app set is set by the helpers below: :func:`dataframe` and :func:`table`
  (a missing value is "—", not "None"; an empty table is a sentence, not the grid's "empty"),
  :func:`chart` (Vega-Lite with the language's month and day
  names, axis and tooltip titles, and no English self-description);
- what it does not let an app set (its widgets' built-in text, accessible names and tooltips) is
  replaced in the browser by :func:`speak`, which the router calls on every run: a small script
  (``st.html`` runs it in the page, no iframe) translates Streamlit's English strings,
  :data:`BUILTIN` exactly and :data:`BUILTIN_PATTERNS` by pattern, as the page changes (a
  ``MutationObserver``), and puts the English back when the user switches to English.

Why a script and not CSS that hides the built-in text: it covers every widget the same way
(new pages need nothing), keeps the accessible names in the user's language, and leaves the
widgets' layout alone. It depends on Streamlit's English strings; ``tests/test_browser_language.py``
walks every page in both languages and fails on any English left, so a Streamlit upgrade that
changes a string is caught, not shipped.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import streamlit as st

from geomap import i18n

#: what a missing value shows in a table (Streamlit's default is the English "None")
MISSING = "—"

STRINGS: dict[str, tuple[str, str]] = {  # loaded by geomap.i18n on first use (i18n.CATALOGS)
    "ui.st.choose_one": ("Chọn một mục", "Choose an option"),
    "ui.st.choose_many": ("Chọn một hoặc nhiều mục", "Choose options"),
    "ui.st.select_all": ("Chọn tất cả", "Select all"),
    "ui.st.select_matches": ("Chọn {1} mục khớp", "Select {1} matches"),
    "ui.st.clear_all": ("Bỏ chọn tất cả", "Clear all"),
    "ui.st.selected": ("Các mục đã chọn", "Selected values"),
    "ui.st.no_results": ("Không có kết quả", "No results"),
    "ui.st.no_options": ("Không có lựa chọn", "No options"),
    "ui.st.options_available": ("Có {1} lựa chọn.", "{1} options available."),
    "ui.st.open": ("Mở danh sách", "Open"),
    "ui.st.close": ("Đóng", "Close"),
    "ui.st.main_menu": ("Trình đơn", "Main menu"),
    "ui.st.view_more": ("Xem thêm {1} trang", "View {1} more"),
    "ui.st.view_less": ("Thu gọn", "View less"),
    "ui.st.help_for": ("Giải thích: {1}", "Help for {1}"),
    "ui.st.choose_date": ("Chọn ngày", "Choose date"),
    "ui.st.choose_range": ("Chọn khoảng ngày", "Choose date range"),
    "ui.st.day_of": ("ngày, {1}", "day, {1}"),
    "ui.st.month_of": ("tháng, {1}", "month, {1}"),
    "ui.st.year_of": ("năm, {1}", "year, {1}"),
    "ui.st.hour_of": ("giờ, {1}", "hour, {1}"),
    "ui.st.minute_of": ("phút, {1}", "minute, {1}"),
    "ui.st.start_date": ("{1}: ngày bắt đầu", "{1} start date"),
    "ui.st.end_date": ("{1}: ngày kết thúc", "{1} end date"),
    "ui.st.drop_file": ("Kéo thả tệp vào đây", "Drag and drop file here"),
    "ui.st.drop_files": ("Kéo thả các tệp vào đây", "Drag and drop files here"),
    "ui.st.limit": ("tối đa {1} mỗi tệp", "{1} per file"),
    "ui.st.too_large": ("Tệp vượt giới hạn {1}.", "File must be {1} or smaller."),
    "ui.st.browse": ("Chọn tệp", "Browse files"),
    "ui.st.upload": ("Tải lên", "Upload"),
    "ui.st.file_upload": ("tải tệp lên", "file upload"),
    "ui.st.delete_file": ("Xóa tệp", "Delete file"),
    "ui.st.columns": ("Hiện/ẩn cột", "Show/hide columns"),
    "ui.st.download_csv": ("Tải về dạng CSV", "Download as CSV"),
    "ui.st.search": ("Tìm trong bảng", "Search"),
    "ui.st.fullscreen": ("Toàn màn hình", "Fullscreen"),
    "ui.st.close_fullscreen": ("Thoát toàn màn hình", "Close fullscreen"),
    "ui.st.results": ("{1} kết quả", "{1} results"),
    "ui.st.over_1000": ("hơn 1000 kết quả", "over 1000"),
    "ui.st.nth_result": ("{1}/{2}", "{1} of {2}"),
    "ui.st.previous_result": ("Kết quả trước", "Previous Result"),
    "ui.st.next_result": ("Kết quả sau", "Next Result"),
    "ui.st.close_search": ("Đóng tìm kiếm", "Close Search"),
    "ui.st.show_data": ("Xem số liệu", "Show data"),
    "ui.st.download_png": ("Tải ảnh PNG", "Download as PNG"),
    "ui.st.download_svg": ("Tải ảnh SVG", "Download as SVG"),
    "ui.st.copy_spec": ("Chép cấu hình biểu đồ", "Copy Vega-Lite spec"),
    "ui.st.empty": ("(trống)", "empty"),
    "ui.st.running": ("Đang chạy…", "Running..."),
    "ui.st.stop": ("Dừng", "Stop"),
    "ui.table.empty": ("Chưa có dòng nào.", "No rows yet."),
    "ui.chart.value": ("Giá trị", "Value"),
    "ui.chart.series": ("Chỉ tiêu", "Series"),
}

#: Streamlit's English text (a whole text or attribute) → the key of its words
BUILTIN: dict[str, str] = {
    "Choose an option": "ui.st.choose_one", "Choose options": "ui.st.choose_many",
    "Choose or add an option": "ui.st.choose_one", "Choose or add options": "ui.st.choose_many",
    "Select all": "ui.st.select_all", "Clear all": "ui.st.clear_all", "Selected values": "ui.st.selected",
    "No results": "ui.st.no_results", "No options": "ui.st.no_options", "Open": "ui.st.open",
    "Close": "ui.st.close", "Main menu": "ui.st.main_menu", "View less": "ui.st.view_less",
    "Choose date": "ui.st.choose_date", "Choose date range": "ui.st.choose_range",
    "Drag and drop file here": "ui.st.drop_file", "Drag and drop files here": "ui.st.drop_files",
    "Browse files": "ui.st.browse", "Upload": "ui.st.upload", "file upload": "ui.st.file_upload",
    "Delete file": "ui.st.delete_file",
    "Show/hide columns": "ui.st.columns", "Download as CSV": "ui.st.download_csv", "Search": "ui.st.search",
    "Fullscreen": "ui.st.fullscreen", "Close fullscreen": "ui.st.close_fullscreen", "over 1000": "ui.st.over_1000",
    "Previous Result": "ui.st.previous_result", "Next Result": "ui.st.next_result",
    "Close Search": "ui.st.close_search", "Show data": "ui.st.show_data", "Download as PNG": "ui.st.download_png",
    "Download as SVG": "ui.st.download_svg", "Copy Vega-Lite spec": "ui.st.copy_spec", "empty": "ui.st.empty",
    "Running...": "ui.st.running", "Stop": "ui.st.stop",
}

#: Streamlit's English text with a part that varies (JavaScript regular expressions) → the key of its
#: words, where ``{1}``, ``{2}`` are the matched groups
BUILTIN_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(\d+) results?$", "ui.st.results"),
    (r"^(\d+) of (\d+)$", "ui.st.nth_result"),
    (r"^Select (\d+) matches$", "ui.st.select_matches"),
    (r"^(\d+) options? available\.$", "ui.st.options_available"),
    (r"^View (\d+) more$", "ui.st.view_more"),
    (r"^Help for (.+)$", "ui.st.help_for"),
    (r"^day, (.+)$", "ui.st.day_of"), (r"^month, (.+)$", "ui.st.month_of"), (r"^year, (.+)$", "ui.st.year_of"),
    (r"^hour, (.+)$", "ui.st.hour_of"), (r"^minute, (.+)$", "ui.st.minute_of"),
    (r"^(.+) start date$", "ui.st.start_date"), (r"^(.+) end date$", "ui.st.end_date"),
    (r"^(\S+) per file$", "ui.st.limit"),
    (r"^File must be (.+) or smaller\.$", "ui.st.too_large"),
)

_SCRIPT = """<script>
(() => {
  const W = window.__geomapWords = JSON.parse(%s);
  const ATTRS = ['placeholder', 'aria-label', 'title', 'aria-placeholder'];
  const patterns = W.patterns.map(([re, out]) => [new RegExp(re), out]);
  const translate = (text) => {
    if (Object.prototype.hasOwnProperty.call(W.exact, text)) return W.exact[text];
    for (const [re, out] of patterns) {
      const m = text.match(re);
      // a part may itself be Streamlit's words ("day, Từ ngày start date"); no less-than sign in this
      // script: DOMPurify (st.html) drops a script whose text looks like markup
      if (m) {
        return out.replace(/\\{(\\d)\\}/g, (_, i) => {
          const part = m[Number(i)] || '';
          return (part && translate(part)) || part;
        });
      }
    }
    return null;
  };
  const said = window.__geomapSaid || (window.__geomapSaid = new WeakMap());  // node -> [English, said]
  const fixText = (node) => {
    const kept = said.get(node);
    if (kept && node.nodeValue === kept[1]) {
      if (W.lang === 'en') { node.nodeValue = kept[0]; said.delete(node); }
      return;
    }
    if (W.lang === 'en') return;
    const text = node.nodeValue.trim();
    const out = text && translate(text);
    if (out && out !== text) {
      const now = node.nodeValue.replace(text, out);
      said.set(node, [node.nodeValue, now]);
      node.nodeValue = now;
    }
  };
  const fixAttrs = (el) => {
    for (const a of ATTRS) {
      const v = el.getAttribute(a);
      if (v === null) continue;
      const keep = 'data-geomap-en-' + a;
      if (el.hasAttribute(keep) && el.getAttribute(keep + '-said') === v) {
        if (W.lang === 'en') { el.setAttribute(a, el.getAttribute(keep)); el.removeAttribute(keep); }
        continue;
      }
      if (W.lang === 'en') continue;
      const out = translate(v.trim());
      if (out && out !== v) {
        el.setAttribute(keep, v);
        el.setAttribute(keep + '-said', out);
        el.setAttribute(a, out);
      }
    }
  };
  const fix = (root) => {
    if (root.nodeType === Node.TEXT_NODE) { fixText(root); return; }
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    fixAttrs(root);
    for (const el of root.querySelectorAll('[placeholder],[aria-label],[title],[aria-placeholder]')) fixAttrs(el);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) fixText(n);
  };
  const doc = document;
  // the observer outlives this script (it is made once per page); each run hands it this run's words
  window.__geomapFix = {fixText, fixAttrs, fix};
  if (!window.__geomapObserver) {
    window.__geomapObserver = new MutationObserver((records) => {
      const F = window.__geomapFix;
      for (const r of records) {
        if (r.type === 'characterData') F.fixText(r.target);
        else if (r.type === 'attributes') F.fixAttrs(r.target);
        else r.addedNodes.forEach(F.fix);
      }
    });
    window.__geomapObserver.observe(doc.body, {subtree: true, childList: true, characterData: true,
                                                attributes: true, attributeFilter: ATTRS});
  }
  fix(doc.body);
})();
</script>"""


def speak(lang: str) -> None:
    """Have Streamlit's own widgets speak ``lang`` (see the module's note); call once per run."""
    st.html(script(words_for(lang)), unsafe_allow_javascript=True, width="content")


def words_for(lang: str) -> dict[str, Any]:
    """What :func:`speak` sends the page: Streamlit's English → ``lang`` (nothing for English, which puts
    Streamlit's own words back)."""
    if lang == "en":
        return {"lang": "en", "exact": {}, "patterns": []}
    return {"lang": lang, "exact": {en: i18n.t(key, lang) for en, key in BUILTIN.items()},
            "patterns": [[re, i18n.t(key, lang)] for re, key in BUILTIN_PATTERNS]}


def script(words: dict[str, Any]) -> str:
    """The ``<script>`` element that makes Streamlit's widgets say ``words``. Its text holds no "<" (written
    as ``\\u003c`` inside the data): ``st.html`` sanitises with DOMPurify, which drops a script whose text
    looks like markup."""
    return _SCRIPT % json.dumps(json.dumps(words, ensure_ascii=False)).replace("<", "\\u003c")


def dataframe(data: Any, *, where: Any = None, **kwargs: Any) -> Any:
    """``st.dataframe`` (in the container ``where``, default the page) with missing values shown as
    :data:`MISSING`, not Streamlit's "None"."""
    kwargs.setdefault("placeholder", MISSING)
    if "on_select" not in kwargs and len(data) == 0:  # an empty grid says "empty", drawn where no script reaches
        (where or st).caption(i18n.t("ui.table.empty", lang_of_page()))
        return None
    return (where or st).dataframe(data, **kwargs)


def lang_of_page() -> str:
    """The language the router put the page in (the sidebar's switch, ``st.session_state["lang"]``)."""
    return i18n.lang_or_default(st.session_state.get("lang"))


def table(data: pd.DataFrame | list[dict[str, Any]]) -> None:
    """``st.table`` (a short list as plain HTML, readable and copyable) with missing values as :data:`MISSING`."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    st.table(frame.astype(object).where(frame.notna(), MISSING))


#: Vega's time format locale for Vietnamese (CLDR month and day names; d3-time-format's shape)
_VI_TIME = {
    "dateTime": "%H:%M:%S %d/%m/%Y", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["SA", "CH"],
    "days": ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
    "shortDays": ["CN", "T2", "T3", "T4", "T5", "T6", "T7"],
    "months": [f"tháng {m}" for m in range(1, 13)],
    "shortMonths": [f"thg {m}" for m in range(1, 13)],
}
_VI_NUMBER = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " ₫"]}


def chart(frame: pd.DataFrame, lang: str, *, kind: str = "line", x_title: str = "", y_title: str | None = None,
          series_title: str | None = None, y_format: str | None = None, height: int = 300) -> None:
    """A line or stacked bar chart of ``frame`` (index: x, one column per series) in ``lang``.

    Replaces ``st.line_chart``/``st.bar_chart``, whose dates, tooltips ("value", "index") and
    screen-reader descriptions are English: dates use the language's month names (Vega's time
    locale), titles are the caller's words, and the chart describes nothing in English.
    """
    x = "x"
    long = frame.rename_axis(x).reset_index().melt(id_vars=x, var_name="series", value_name="value")
    temporal = isinstance(frame.index, pd.DatetimeIndex) or (
        len(frame.index) > 0 and isinstance(frame.index[0], dt.date))
    if temporal:
        long[x] = pd.to_datetime(long[x]).dt.strftime("%Y-%m-%d")
    y_title = y_title if y_title is not None else i18n.t("ui.chart.value", lang)
    series_title = series_title if series_title is not None else i18n.t("ui.chart.series", lang)
    x_enc: dict[str, Any] = {"field": x, "type": "temporal" if temporal else "ordinal", "title": x_title or None}
    if temporal:
        x_enc["axis"] = {"format": "%d/%m" if lang == "vi" else "%b %d"}
    y_enc: dict[str, Any] = {"field": "value", "type": "quantitative", "title": y_title, "stack": kind == "bar"}
    if y_format:
        y_enc["axis"] = {"format": y_format}
    config: dict[str, Any] = {"aria": False}
    if lang == "vi":
        config["locale"] = {"time": _VI_TIME, "number": _VI_NUMBER}
    spec = {
        "mark": {"type": kind, "tooltip": True} | ({"point": True} if kind == "line" else {}),
        "encoding": {
            "x": x_enc, "y": y_enc,
            "color": {"field": "series", "type": "nominal", "title": None,
                      "legend": {"orient": "bottom", "columns": 2, "labelLimit": 420}},
            "tooltip": [{"field": x, "type": x_enc["type"], "title": x_title or None,
                         **({"format": "%d/%m/%Y"} if temporal else {})},
                        {"field": "series", "type": "nominal", "title": series_title},
                        {"field": "value", "type": "quantitative", "title": y_title,
                         **({"format": y_format} if y_format else {})}],
        },
        "height": height, "config": config,
    }
    st.vega_lite_chart(long, spec, use_container_width=True)
