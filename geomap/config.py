"""Settings, read once from ``GEOMAP_*`` environment variables.

Each setting is a plain typed module-level value (as in OSMnx's ``settings``), documented
where it is defined. Tests and scripts may override them by setting the environment
variable before import, or by assigning to the attribute.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The project folder (holds ``data/``, ``qr/``, ``layers/``).
PROJECT_DIR: Path = Path(__file__).resolve().parent.parent

#: SQLAlchemy URL of an existing PostgreSQL/PostGIS database. When unset, geomap runs a
#: private cluster of its own under :data:`STATE_DIR` and starts nothing else.
DATABASE_URL: str | None = os.environ.get("GEOMAP_DATABASE_URL") or None

#: Where the private cluster, backups and other local state live.
STATE_DIR: Path = Path(os.environ.get("GEOMAP_STATE_DIR", PROJECT_DIR / ".geomap")).resolve()

#: Name of the database inside the private cluster.
DATABASE_NAME: str = os.environ.get("GEOMAP_DATABASE_NAME", "geomap")

#: Slug of the ward profile used when none is given (see ``data/profiles/``).
DEFAULT_WARD: str = os.environ.get("GEOMAP_WARD", "hoa-cuong")

#: Port of the staff app (Streamlit) and of the public service.
STAFF_PORT: int = int(os.environ.get("GEOMAP_STAFF_PORT", "8501"))
PUBLIC_PORT: int = int(os.environ.get("GEOMAP_PUBLIC_PORT", "8000"))

#: Base URL printed on QR stickers and used for every link of the public service (OGC links too:
#: never the client's Host header). Default: this machine's public-service port.
PUBLIC_BASE_URL: str = os.environ.get("GEOMAP_PUBLIC_BASE_URL", f"http://127.0.0.1:{PUBLIC_PORT}").rstrip("/")

#: Base URL of the staff app (Streamlit), as a browser reaches it. The field app's sign-in may send
#: the browser back there after signing in (``/field/signin?next=<this origin>/...``): the one origin
#: besides the public service's own paths that ``next=`` accepts. Default: this machine's staff port.
STAFF_BASE_URL: str = os.environ.get("GEOMAP_STAFF_BASE_URL", f"http://127.0.0.1:{STAFF_PORT}").rstrip("/")

#: Domain attribute of the session cookie. Unset (the default): the cookie goes back only to the host that
#: set it, on every port, so the public service and the staff app share it when served from one host name.
#: When they have different host names under one domain (``field.phuong.vn``, ``canbo.phuong.vn``), set
#: ``phuong.vn`` so both receive it.
SESSION_COOKIE_DOMAIN: str | None = os.environ.get("GEOMAP_SESSION_COOKIE_DOMAIN") or None

#: UI language by default: ``vi`` (Vietnamese) or ``en``.
LANGUAGE: str = os.environ.get("GEOMAP_LANGUAGE", "vi")

#: Licences expiring within this many days count as "expiring".
EXPIRING_WITHIN_DAYS: int = int(os.environ.get("GEOMAP_EXPIRING_WITHIN_DAYS", "60"))

#: Folder of ward profiles and reference data.
DATA_DIR: Path = PROJECT_DIR / "data"

#: Base-map tiles: an XYZ URL template (``{z}/{x}/{y}``; ``{s}`` for subdomains) and the attribution
#: the tile source requires. Default: the public OpenStreetMap servers, whose tile usage policy asks
#: for this attribution. A ward without internet access points these at its own tile server.
TILE_URL: str = os.environ.get("GEOMAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_ATTRIBUTION: str = os.environ.get("GEOMAP_TILE_ATTRIBUTION") or (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')
