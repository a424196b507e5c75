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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def replica_cluster() -> Cluster:
    """Where ``geomap db replica`` keeps a read replica of the private cluster."""
    return Cluster(config.STATE_DIR / "replica")


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
        "wal_level = replica\nmax_wal_senders = 10\n"  # the defaults, said: a read replica can be made of it
    )
    with open(cluster.data_dir / "postgresql.conf", "a") as f:
        f.write(conf)
    cluster.info_file.write_text(json.dumps({"port": port, "bindir": str(bindir), "data": str(cluster.data_dir)}))


def start(cluster: Cluster | None = None) -> Cluster:
    """Initialise if needed, start if not running, and make sure the database exists."""
    cluster = cluster or default_cluster()
    init(cluster)
    if not is_running(cluster):
        _pg_ctl_start(cluster)
    ensure_database(cluster, config.DATABASE_NAME)
    return cluster


def _bindir(cluster: Cluster) -> Path:
    bindir = Path(json.loads(cluster.info_file.read_text())["bindir"])
    return bindir if (bindir / "pg_ctl").exists() else find_bindir()


def _pg_ctl_start(cluster: Cluster) -> None:
    log = cluster.log_file
    log.touch(exist_ok=True)
    _chown_to_owner(log)
    _run(
        [str(_bindir(cluster) / "pg_ctl"), "-D", str(cluster.data_dir), "-l", str(log), "-w", "-t", "60", "start"],
        f"start the database in {cluster.data_dir} (see {log})",
    )


def start_replica(primary: Cluster, replica: Cluster) -> Cluster:
    """A streaming replica of the running ``primary`` in ``replica`` (made once, started unless it runs).

    ``pg_basebackup -R`` copies the primary over the replication protocol (loopback, the ``replication``
    line ``initdb`` writes in ``pg_hba.conf``) and writes ``standby.signal`` and ``primary_conninfo``;
    the copy then listens on a port of its own and replays the primary's WAL as it streams in
    (``hot_standby``: it answers read-only queries meanwhile). Used by the read-replica tests and bench
    (:mod:`geomap.replica`); a production replica is made the same way on its own machine.
    """
    if not (replica.data_dir / "PG_VERSION").exists():
        bindir = _bindir(primary)
        replica.state_dir.mkdir(parents=True, exist_ok=True)
        replica.server_dir.mkdir(parents=True, exist_ok=True)
        for d in (replica.data_dir, replica.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
            _chown_to_owner(d)
        _chown_to_owner(replica.server_dir)
        _run([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
              "-D", str(replica.data_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
             f"copy the database on port {primary.port} for a replica (pg_basebackup)")
        port = _free_port()
        with open(replica.data_dir / "postgresql.conf", "a") as f:  # later lines win over the primary's
            f.write(f"\n# geomap read replica\nport = {port}\nunix_socket_directories = '{replica.socket_dir}'\n"
                    "hot_standby = on\nwal_receiver_status_interval = 1s\n")
        replica.info_file.write_text(json.dumps({"port": port, "bindir": str(bindir), "data": str(replica.data_dir),
                                                 "replica_of": primary.port}))
    if not is_running(replica):
        _pg_ctl_start(replica)
    return replica


def stop(cluster: Cluster | None = None) -> None:
    cluster = cluster or default_cluster()
    if not is_running(cluster):
        return
    _run([str(_bindir(cluster) / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"],
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


@contextmanager
def throwaway_pair(folder: Path, prepare: Callable[[str], object] | None = None
                   ) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary (migrated ``geomap`` database, then ``prepare(its URL)``) and its streaming replica, both of
    their own under ``folder``, stopped and removed at the end: for the read-replica tests and bench, which
    pause replay and stop the replica, so they never copy or disturb the cluster other work runs on."""
    from geomap import db

    primary, replica = Cluster(folder / "primary"), Cluster(folder / "replica")
    try:
        start(primary)
        db.migrate(primary.url())
        if prepare is not None:
            prepare(primary.url())
        yield primary, start_replica(primary, replica)
    finally:
        for c in (replica, primary):
            if c.info_file.exists():
                try:
                    stop(c)
                except DatabaseUnavailable:
                    pass
            shutil.rmtree(c.server_dir, ignore_errors=True)
            shutil.rmtree(c.state_dir, ignore_errors=True)
