"""Staff-app pages: every module here declares one ``PAGE`` (like layers declare ``LAYER``).

The router (``app.py``) discovers them, orders them, shows each only to the roles it names
and calls ``render(ctx)``. Adding a page is one new module; nothing else names it.

A page tied to a right names it (``permission="import_records"``): its roles are then the
roles holding that right in :data:`geomap.auth.PERMISSIONS`, the one table of rights. A page
names either its roles or its right, never both (that is an error, not an override).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geomap import auth
from geomap.ui.context import Context

#: the ward staff roles: the default of a page (the read-only "city" role is named by the pages it may open)
ALL_ROLES = ("inspector", "data_officer", "ward_manager", "admin")


@dataclass(frozen=True)
class Page:
    """One page of the staff app."""

    key: str  # url path, e.g. "map"
    title_vi: str
    title_en: str
    render: Callable[[Context], None]
    icon: str = ":material/map:"
    #: who may open the page (default: every staff role); not given together with ``permission``
    roles: tuple[str, ...] | None = None
    order: int = 100
    default: bool = False
    #: the right that opens the page; when given, ``roles`` are the roles holding it
    permission: str | None = None

    def __post_init__(self) -> None:
        if self.permission is not None and self.roles is not None:
            raise ValueError(f"Page '{self.key}' gives both roles and permission='{self.permission}'; "
                             "give one (a permission's roles come from auth.PERMISSIONS).")
        if self.permission is not None:
            object.__setattr__(self, "roles", roles_with(self.permission))
        elif self.roles is None:
            object.__setattr__(self, "roles", ALL_ROLES)

    def title(self, lang: str) -> str:
        return self.title_vi if lang == "vi" else self.title_en


def roles_with(permission: str) -> tuple[str, ...]:
    """The roles holding ``permission`` (in :data:`geomap.models.ROLES` order)."""
    holders = auth.PERMISSIONS[permission]
    return tuple(r for r in auth.ROLES if r in holders)


def discover() -> list[Page]:
    pages: list[Page] = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        page = getattr(importlib.import_module(f"{__name__}.{info.name}"), "PAGE", None)
        if isinstance(page, Page):
            pages.append(page)
    return sorted(pages, key=lambda p: (p.order, p.key))
