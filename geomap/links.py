"""Deep links into the staff app: the query parameters that every page understands.

Services build links (data-quality "fix" links, hotspot cells to their reports) and the router
reads them; a link opened in a new browser session must say everything it needs, the ward
included, since that session starts from the defaults.
"""

from __future__ import annotations

#: the ward a link is about (its slug); the router selects it in the sidebar
WARD_PARAM = "ward"
