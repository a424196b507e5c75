"""UI strings: every key the code asks for is in a catalog, in Vietnamese and in English.

Strings are loaded per feature (geomap/i18n.py ``CATALOGS``: key prefix → module holding
``STRINGS``), never registered at import; a key whose catalog is missing or misnamed would
show itself on a page, so it fails here instead.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from geomap import i18n

ROOT = Path(__file__).resolve().parents[1]
#: ``t("key")``, ``i18n.t("key", lang)``, ``ctx.t('key')``, Jinja ``{{ t("key") }}``: literal keys only
_CALL = re.compile(r"(?<![\w])t\(\s*[\"']([a-z_][a-z0-9_]*\.[A-Za-z0-9_.]+)[\"']")


def _sources() -> list[Path]:
    files = [ROOT / "app.py", *ROOT.glob("layers/*.py"), *ROOT.glob("qr/*.py")]
    files += [p for p in (ROOT / "geomap").rglob("*") if p.suffix in (".py", ".html")]
    return [p for p in files if p.is_file()]


def _literal_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for path in _sources():
        for key in _CALL.findall(path.read_text(encoding="utf-8")):
            keys.setdefault(key, str(path.relative_to(ROOT)))
    return keys


def test_the_scan_finds_the_keys():
    keys = _literal_keys()
    assert len(keys) > 300
    assert {"app.title", "report.title", "qr.revoked_reason", "dashboard.report.title", "import.title"} <= set(keys)


def test_every_literal_key_resolves_in_both_languages():
    missing = {key: where for key, where in _literal_keys().items() if i18n.lookup(key) is None}
    assert not missing, f"keys with no catalog entry (add them to the module CATALOGS names): {missing}"
    for key in _literal_keys():
        vi, en = i18n.lookup(key)
        assert vi.strip() and en.strip(), key
        assert i18n.t(key, "vi") == vi and i18n.t(key, "en") == en


@pytest.mark.parametrize("module", sorted(set(i18n.CATALOGS.values())))
def test_each_catalog_holds_only_keys_routed_to_it(module):
    strings = importlib.import_module(module).STRINGS
    assert strings, module
    stray = [key for key in strings if i18n.catalog_of(key) != module]
    assert not stray, f"{module} defines keys that CATALOGS sends elsewhere: {stray}"
    for key, (vi, en) in strings.items():
        assert vi.strip() and en.strip(), key


def test_no_module_registers_strings_at_import():
    offenders = [str(p.relative_to(ROOT)) for p in _sources()
                 if p.suffix == ".py" and re.search(r"i18n\.(register|STRINGS\.update|CODES\.setdefault)\(",
                                                    p.read_text(encoding="utf-8"))]
    assert not offenders


def test_a_key_without_catalog_shows_itself():
    assert i18n.t("nosuchfeature.key", "en") == "nosuchfeature.key"
    assert i18n.t("report.no_such_key", "vi") == "report.no_such_key"
    assert i18n.code_label("qr_revoked_reason", "damaged", "en") == "Sticker damaged"


def test_services_never_load_an_adapters_catalog():
    """A key used outside the staff app must not live in a page module (it would import Streamlit into the
    web service or the CLI), and one used outside the web service not in a route module."""
    wrong = []
    for path in _sources():
        parts = path.relative_to(ROOT).parts
        for key in _CALL.findall(path.read_text(encoding="utf-8")):
            module = i18n.catalog_of(key) or ""
            if (module.startswith("geomap.ui.") and "ui" not in parts[:2]) or \
                    (module.startswith("geomap.web.") and "web" not in parts[:2]):
                wrong.append((str(path.relative_to(ROOT)), key, module))
    assert not wrong
