"""Errors a user can read.

Every failure a user can cause or fix (no database, wrong URL, unknown ward, bad file)
is raised as a :class:`GeomapError` whose message is one sentence saying what is wrong
and what to do. The command line and the apps print that sentence, never a traceback.
"""

from __future__ import annotations


class GeomapError(Exception):
    """A failure with a message meant for the user."""


class LocalizedError(GeomapError):
    """A user-facing error in Vietnamese and English: the one shape of every bilingual error.

    ``field`` names the input at fault (a form field), ``row`` the row of a file a user sees.
    ``message(lang)`` is the sentence for the page; ``str()`` is the Vietnamese sentence, or
    ``"vi / en"`` for the classes that set :attr:`both_in_str` (the command line and the
    Streamlit pages of those always printed both languages).
    """

    #: ``str()`` gives ``"vi / en"`` instead of the Vietnamese sentence alone
    both_in_str: bool = False

    def __init__(self, vi: str, en: str, field: str | None = None, row: int | None = None):
        super().__init__(f"{vi} / {en}" if self.both_in_str else vi)
        self.vi, self.en, self.field, self.row = vi, en, field, row

    def message(self, lang: str = "vi") -> str:
        return self.en if lang == "en" and self.en else self.vi


class DatabaseUnavailable(GeomapError):
    """The database cannot be reached or is not set up."""


class UnknownWard(GeomapError):
    """A ward profile that does not exist was asked for."""


class BoundaryError(GeomapError):
    """A ward boundary is missing or corrupt."""


class ConcurrentEdit(GeomapError):
    """Someone else saved the record first (optimistic locking)."""
