"""The layer registry: every module in this package declares one ``LAYER``.

Adding a layer is one new module here (plus its migration when it needs a new table or
view); the staff map, the public page, exports and the web API pick it up from
:func:`registry` without other code changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from layers.base import Field, Filter, Layer, Style

__all__ = ["Field", "Filter", "Layer", "Style", "registry", "get", "discover"]

_REGISTRY: dict[str, Layer] | None = None


def discover(package: str = __name__, path: Path | None = None) -> dict[str, Layer]:
    """Import every module of ``package`` and collect their ``LAYER`` declarations."""
    search = [str(path or Path(__file__).parent)]
    found: dict[str, Layer] = {}
    for info in pkgutil.iter_modules(search):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        layer = getattr(module, "LAYER", None)
        if isinstance(layer, Layer):
            if layer.name in found:
                raise ValueError(f"two layers are named {layer.name!r}")
            found[layer.name] = layer
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def registry() -> dict[str, Layer]:
    """All declared layers, by name, in drawing order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = discover()
    return _REGISTRY


def get(name: str) -> Layer:
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known: {', '.join(registry())}") from None
