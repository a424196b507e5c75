"""The shapes every layer passes around: the signed-in staff :class:`User` and the read :data:`Profile`.

A ``User`` is built in one place, :func:`geomap.auth` (sign-in, session lookup, account
creation, ``get_user``), from the accounts data (``app_user``); services take ``User | None``,
where None is the public (for reads) or the system / command line (for writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: who a layer read is for: ``public`` (public fields, no personal data, public feature ids) or
#: ``internal`` (every field, database ids)
Profile = Literal["public", "internal"]
PROFILES: tuple[Profile, ...] = ("public", "internal")


@dataclass(frozen=True, slots=True)
class User:
    """A staff account as the services see it (no password hash, no lock state)."""

    #: ``app_user.id``; None only for an account not stored in ``app_user`` (tests, tools)
    id: int | None
    username: str
    full_name: str
    #: one of :data:`geomap.models.ROLES`
    role: str
    #: the ward the account belongs to; None: city-wide
    ward_id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> User:
        """The user of an ``app_user`` row (its id, username, full_name, role and ward_id columns)."""
        return cls(id=row["id"], username=row["username"], full_name=row["full_name"], role=row["role"],
                   ward_id=row["ward_id"])

    def as_dict(self) -> dict[str, Any]:
        """{id, username, full_name, role, ward_id}, as the audit log records an account."""
        return {"id": self.id, "username": self.username, "full_name": self.full_name, "role": self.role,
                "ward_id": self.ward_id}
