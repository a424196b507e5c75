"""The private PostgreSQL + PostGIS cluster geomap runs when no database URL is set.

``initdb`` into ``<state dir>/pgdata``, listening on a free loopback port and a socket in
``<state dir>/run``, started and stopped with ``pg_ctl``. The cluster is reused across
runs: :func:`ensure_running` starts it only when it is not up. PostgreSQL refuses to run
as root, so under root the cluster belongs to the ``postgres`` system user.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from geomap import config
from geomap.errors import DatabaseUnavailable

SUPERUSER = "postgres"
_INSTALL_HINT = (
    "install PostgreSQL with PostGIS (Debian/Ubuntu: 'apt-get install postgresql-15-postgis-3'), "
    "or set GEOMAP_DATABASE_URL to a PostGIS database"
)


#: Where the cluster's files go when geomap runs as root in a folder the ``postgres`` user cannot
#: enter (a clone under ``/root`` or a ``mktemp -d``, both mode 700): one sub-folder per state dir.
OWNER_HOME = Path("/var/lib/geomap/clusters")


@dataclass(frozen=True)
class Cluster:
    """Where a private cluster lives and how to reach it.

    ``state_dir`` holds ``cluster.json`` (port, binaries, where the data is). The data, socket and
    log live in ``state_dir`` too, unless the server's owner cannot reach it (see :func:`server_home`).
    """

    state_dir: Path

    @property
    def server_dir(self) -> Path:
        return server_home(self.state_dir)

    @property
    def data_dir(self) -> Path:
        return self.server_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.server_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.server_dir / "postgres.log"

    @property
    def info_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def port(self) -> int:
        try:
            return int(json.loads(self.info_file.read_text())["port"])
        except (OSError, ValueError, KeyError) as exc:
            raise DatabaseUnavailable(
                f"The private database in {self.state_dir} is not set up; run 'geomap db start'."
            ) from exc

    def url(self, database: str | None = None) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database or config.DATABASE_NAME}"


def _owner_can_enter(path: Path) -> bool:
    """Whether the ``postgres`` user can reach ``path`` (every parent folder searchable by it)."""
    try:
        pw = pwd.getpwnam(SUPERUSER)
    except KeyError:
        return True  # _run_as_owner says what is missing
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    for folder in [existing, *existing.parents]:
        st = folder.stat()
        if st.st_uid == pw.pw_uid:
            bit = 0o100
        elif st.st_gid == pw.pw_gid or st.st_gid in os.getgrouplist(SUPERUSER, pw.pw_gid):
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def server_home(state_dir: Path) -> Path:
    """The folder for the server's data, socket and log.

    ``state_dir`` itself, unless geomap runs as root and the server's owner (``postgres``, since
    PostgreSQL refuses root) cannot enter it: then a folder of its own under :data:`OWNER_HOME`,
    named after ``state_dir``, so two clones never share one.
    """
    if os.geteuid() != 0 or _owner_can_enter(state_dir):
        return state_dir
    digest = hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return OWNER_HOME / f"{state_dir.parent.name or 'root'}-{digest}"


def default_cluster() -> Cluster:
    return Cluster(config.STATE_DIR)


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries on this machine that also have PostGIS."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and _has_postgis(bindir):
            return bindir
    if any((b / "initdb").exists() for b in candidates):
        raise DatabaseUnavailable(f"PostgreSQL is installed but PostGIS is missing: {_INSTALL_HINT}.")
    raise DatabaseUnavailable(f"No PostgreSQL server binaries were found: {_INSTALL_HINT}.")


def _has_postgis(bindir: Path) -> bool:
    version = bindir.parent.name
    share = Path("/usr/share/postgresql") / version / "extension"
    if (share / "postgis.control").exists():
        return True
    out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    return out.returncode == 0 and (Path(out.stdout.strip()) / "extension" / "postgis.control").exists()


def _run_as_owner() -> list[str]:
    """Prefix that runs a command as the cluster's owner (``postgres`` when we are root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise DatabaseUnavailable(
            "PostgreSQL cannot run as root and there is no 'postgres' user; "
            "run geomap as an ordinary user or create that user."
        ) from exc
    return ["runuser", "-u", "postgres", "--"]


def _chown_to_owner(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    out = subprocess.run(_run_as_owner() + cmd, capture_output=True, text=True)
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise DatabaseUnavailable(f"Could not {what}: {detail[-1] if detail else 'no output'}.")
    return out


def is_running(cluster: Cluster) -> bool:
    pid_file = cluster.data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    try:
        with socket.create_connection(("127.0.0.1", cluster.port), timeout=1):
            return True
    except OSError:
        return False


def init(cluster: Cluster) -> None:
    """Create the cluster's folder and ``initdb`` it, once."""
    if (cluster.data_dir / "PG_VERSION").exists():
        return
    bindir = find_bindir()
    cluster.state_dir.mkdir(parents=True, exist_ok=True)
    cluster.server_dir.mkdir(parents=True, exist_ok=True)
    for d in (cluster.data_dir, cluster.socket_dir):
        d.mkdir(parents=True, exist_ok=True)
        _chown_to_owner(d)
    _chown_to_owner(cluster.server_dir)
    _run(
        [str(bindir / "initdb"), "-D", str(cluster.data_dir), "-U", SUPERUSER, "-A", "trust",
         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        "initialise the private database",
    )
    port = _free_port()
    conf = (
        "\n# geomap private cluster\n"
        f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{cluster.socket_dir}'\n"
        "shared_buffers = 256MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
        "synchronous_commit = off\nmax_connections = 100\n"
    )
    with open(cluster.data_dir / "postgresql.conf", "a") as f:
        f.write(conf)
    cluster.info_file.write_text(json.dumps({"port": port, "bindir": str(bindir), "data": str(cluster.data_dir)}))


def start(cluster: Cluster | None = None) -> Cluster:
    """Initialise if needed, start if not running, and make sure the database exists."""
    cluster = cluster or default_cluster()
    init(cluster)
    if not is_running(cluster):
        bindir = Path(json.loads(cluster.info_file.read_text())["bindir"])
        if not (bindir / "pg_ctl").exists():
            bindir = find_bindir()
        log = cluster.log_file
        log.touch(exist_ok=True)
        _chown_to_owner(log)
        _run(
            [str(bindir / "pg_ctl"), "-D", str(cluster.data_dir), "-l", str(log), "-w", "-t", "60", "start"],
            f"start the private database (see {log})",
        )
    ensure_database(cluster, config.DATABASE_NAME)
    return cluster


def stop(cluster: Cluster | None = None) -> None:
    cluster = cluster or default_cluster()
    if not is_running(cluster):
        return
    bindir = Path(json.loads(cluster.info_file.read_text())["bindir"])
    _run([str(bindir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"],
         "stop the private database")


def ensure_database(cluster: Cluster, name: str) -> None:
    """Create database ``name`` with PostGIS if it does not exist."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, dbname="postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ensure_running() -> Cluster:
    """Start the private cluster unless it already runs; cheap when it does."""
    cluster = default_cluster()
    if cluster.info_file.exists() and is_running(cluster):
        return cluster
    return start(cluster)
