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

#: SQLAlchemy URL of a PostgreSQL streaming replica of that database (``pg_basebackup -R``). When set, the public
#: service reads QR pages, Open311 requests and OGC features and tiles there, and writes only to the primary
#: (:mod:`geomap.replica`). Reads go to the primary while the replica is down or further behind than
#: :data:`READ_MAX_LAG_S` seconds.
READ_DATABASE_URL: str | None = os.environ.get("GEOMAP_READ_DATABASE_URL") or None
READ_MAX_LAG_S: float = float(os.environ.get("GEOMAP_READ_MAX_LAG_S", "5"))
#: Seconds between two checks of the replica (is it up, how far behind): a background thread, never a request.
READ_CHECK_S: float = float(os.environ.get("GEOMAP_READ_CHECK_SECONDS", "1"))

#: Where the private cluster, backups and other local state live.
STATE_DIR: Path = Path(os.environ.get("GEOMAP_STATE_DIR", PROJECT_DIR / ".geomap")).resolve()

#: Seconds to wait for a database connection to open (an unreachable server otherwise holds a request for
#: the system's TCP timeout, minutes), and for a free connection of the pool when all are busy.
DB_CONNECT_TIMEOUT_S: int = int(os.environ.get("GEOMAP_DB_CONNECT_TIMEOUT", "5"))
DB_POOL_TIMEOUT_S: float = float(os.environ.get("GEOMAP_DB_POOL_TIMEOUT", "10"))

#: The public service's log (``geomap serve`` / ``geomap run``): a file rotated at ``LOG_MAX_BYTES`` with
#: ``LOG_BACKUPS`` old files kept (public.log.1 ... .N), besides standard error.
LOG_DIR: Path = Path(os.environ.get("GEOMAP_LOG_DIR", "") or STATE_DIR / "logs")
LOG_MAX_BYTES: int = int(os.environ.get("GEOMAP_LOG_MAX_BYTES", str(10 * 1024 * 1024)))
LOG_BACKUPS: int = int(os.environ.get("GEOMAP_LOG_BACKUPS", "5"))

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
#: Or a local MBTiles file (``GEOMAP_TILE_MBTILES``, e.g. a ward's extract made with TileMaker, Maperitive or
#: ``pmtiles convert x.pmtiles x.mbtiles``) that the public service serves itself at ``/basemap/{z}/{x}/{y}``:
#: the maps then need no tile server and no internet at all.
TILE_MBTILES: str | None = os.environ.get("GEOMAP_TILE_MBTILES") or None
TILE_URL: str = os.environ.get("GEOMAP_TILE_URL") or (
    f"{PUBLIC_BASE_URL}/basemap/{{z}}/{{x}}/{{y}}" if TILE_MBTILES
    else "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
TILE_ATTRIBUTION: str = os.environ.get("GEOMAP_TILE_ATTRIBUTION") or (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')

#: A Nominatim-compatible geocoder (``https://…/search``) a ward may run or pay for; address placement
#: asks it only when set, and only for addresses its own streets and groups cannot place. Off by default.
GEOCODER_URL: str | None = os.environ.get("GEOMAP_GEOCODER_URL") or None
