"""Errors a user can read.

Every failure a user can cause or fix (no database, wrong URL, unknown ward, bad file)
is raised as a :class:`GeomapError` whose message is one sentence saying what is wrong
and what to do. The command line and the apps print that sentence, never a traceback.
"""

from __future__ import annotations


class GeomapError(Exception):
    """A failure with a message meant for the user."""


class DatabaseUnavailable(GeomapError):
    """The database cannot be reached or is not set up."""


class UnknownWard(GeomapError):
    """A ward profile that does not exist was asked for."""


class BoundaryError(GeomapError):
    """A ward boundary is missing or corrupt."""


class ConcurrentEdit(GeomapError):
    """Someone else saved the record first (optimistic locking)."""
