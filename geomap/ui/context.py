"""What every page gets: the engine, the language, the ward and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from geomap import i18n
from geomap.users import User


@dataclass(frozen=True)
class Context:
    engine: Engine
    lang: str
    ward_slug: str
    ward_id: int
    #: the signed-in staff user, None before sign-in
    user: User | None = None

    def t(self, key: str) -> str:
        return i18n.t(key, self.lang)

    def label(self, codes: str | None, value: object) -> str:
        return i18n.code_label(codes, value, self.lang)

    @property
    def role(self) -> str | None:
        return self.user.role if self.user is not None else None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None
