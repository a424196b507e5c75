"""Every deep link: into the staff app, and to the public service's pages.

Services build links here (data-quality "fix" links, hotspot cells to their reports, a sticker's
lookup URL, a report's tracking page); the pages and routes that answer them read the parameter
names from here too. A staff-app link opened in a new browser session must say everything it
needs, the ward included, since that session starts from the defaults. Public URLs are joined
to ``GEOMAP_PUBLIC_BASE_URL`` (:data:`geomap.config.PUBLIC_BASE_URL`) unless a base is given.

Parsing a hotspot link back stays with its rules in :mod:`geomap.field_reports.hotspot_links`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlencode

from geomap import config

# --- the staff app ------------------------------------------------------------------------

#: the ward a link is about (its slug); the router selects it in the sidebar
WARD_PARAM = "ward"
#: the language a link opens the staff app in ("vi" or "en"; the public service reads the same ``?lang=``)
LANG_PARAM = "lang"

#: the staff-app page where records are kept, and the query parameter naming the establishment it opens
RECORDS_PAGE = "records"
RECORD_PARAM = "id"
#: ... or by its establishment code (the city map's links: its tiles carry the public code, not the id)
CODE_PARAM = "code"

#: the staff page listing reports (``geomap.ui.pages.reports``) and the parameters of a hotspot link
REPORTS_PAGE = "/reports"
CELL_PARAM, SINCE_PARAM, UNTIL_PARAM, CATEGORY_PARAM = "cell", "since", "until", "category"
#: every parameter a hotspot link may carry, the ward first
REPORT_LINK_PARAMS = (WARD_PARAM, CELL_PARAM, SINCE_PARAM, UNTIL_PARAM, CATEGORY_PARAM)


def record(establishment_id: int, ward_slug: str | None = None) -> str:
    """The staff-app link opening the records page on one establishment (data-quality "fix" links);
    with ``ward_slug`` it also picks that ward, so the link works in a new browser session."""
    link = f"{RECORDS_PAGE}?{urlencode({RECORD_PARAM: int(establishment_id)})}"
    return f"{link}&{urlencode({WARD_PARAM: ward_slug})}" if ward_slug else link


#: the staff map (the app's default page, at its root) and the parameter centring it on a place
MAP_PAGE = "./"
AT_PARAM = "at"


def map_at(lat: float, lon: float, ward_slug: str | None = None) -> str:
    """The staff map centred on (lat, lon) at street zoom: ``./?at=16.04,108.22&ward=…``."""
    query = {AT_PARAM: f"{lat:.6f},{lon:.6f}"}
    if ward_slug:
        query[WARD_PARAM] = ward_slug
    return f"{MAP_PAGE}?{urlencode(query, safe=',')}"


def report_cells(cells: Sequence[str], *, ward: str | None, since: dt.datetime, until: dt.datetime,
                 categories: Sequence[str] | None = None, page: str = REPORTS_PAGE) -> str:
    """``/reports?ward=…&cell=…&since=…&until=…[&category=…]``, URL-encoded: the ``+`` of a ``+07:00``
    offset becomes ``%2B`` (unencoded, query parsing would turn it into a space). ``ward``, the
    ward's slug, has no default: a caller must say it (a square cell id means nothing without its
    ward; None leaves the parameter out). :func:`geomap.field_reports.hotspot_links.parse_cells_link`
    reads it back."""
    query: dict[str, str] = {WARD_PARAM: ward} if ward else {}
    query.update({CELL_PARAM: ",".join(cells), SINCE_PARAM: since.isoformat(), UNTIL_PARAM: until.isoformat()})
    if categories:
        query[CATEGORY_PARAM] = ",".join(categories)
    return f"{page}?{urlencode(query, safe=',:')}"


# --- the public service -------------------------------------------------------------------

#: the path a sticker's URL starts with (``/q/{token}``)
QR_PATH = "/q/"


def public_url(path: str, base_url: str | None = None) -> str:
    """``path`` (starting with ``/``) on the public service: ``base_url`` or ``GEOMAP_PUBLIC_BASE_URL``."""
    base = config.PUBLIC_BASE_URL if base_url is None else base_url
    return f"{base.rstrip('/')}{path}"


def qr_lookup(token: str, base_url: str | None = None) -> str:
    """The URL a sticker encodes: ``{base}/q/{token}``."""
    return public_url(f"{QR_PATH}{token}", base_url)


def report_form(establishment_token: str | None = None, **query: object) -> str:
    """The public report form (relative), pre-filled with the establishment of a QR token; ``query``
    (``lang=…``) follows."""
    params = {"establishment": establishment_token} if establishment_token else {}
    params.update(query)
    return f"/report?{urlencode(params)}" if params else "/report"


def report_track(public_id: str, **query: object) -> str:
    """The tracking page of one report (relative), with ``query`` (``new=1``, ``lang=…``) in that order."""
    link = f"/report/track/{public_id}"
    return f"{link}?{urlencode(query)}" if query else link


def report_rating(public_id: str) -> str:
    """Where the tracking page's one-tap rating is sent (relative)."""
    return f"/report/track/{public_id}/rating"


def report_outcomes(**query: object) -> str:
    """The public transparency page: how reports were handled (relative); ``query`` (``ward=…``, ``lang=…``)."""
    return f"/report/outcomes?{urlencode(query)}" if query else "/report/outcomes"


def report_track_url(public_id: str, base_url: str | None = None) -> str:
    """The tracking page of one report on the public service, absolute: what the staff app links to (a
    relative link would resolve against the staff app and open a blank page) and what e-mails carry."""
    return public_url(report_track(public_id), base_url)


def report_photo(public_id: str, n: int, base_url: str | None = None) -> str:
    """The ``n``-th photo of a report (1-based) on the public service (``base_url=""``: a relative link)."""
    return public_url(f"/report/track/{public_id}/photo/{n}", base_url)
