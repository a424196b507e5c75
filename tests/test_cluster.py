"""The private cluster starts from any folder a user can clone into.

As root (CI, and the README's fresh-machine path) PostgreSQL runs as the ``postgres`` user, who
cannot enter ``/root`` or a ``mktemp -d`` (mode 700). ``geomap db start`` then keeps the server's
files in a folder of their own and the clone's state folder keeps only where they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from geomap import cluster, config


def _cli(*args: str, state: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "GEOMAP_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "geomap.cli", *args], capture_output=True, text=True,
                          env=env, cwd=config.PROJECT_DIR, timeout=300)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root meets a folder the postgres user cannot enter")
def test_db_start_works_from_a_folder_postgres_cannot_enter():
    private = Path(tempfile.mkdtemp(prefix="geomap-private-"))  # mode 700, owned by root
    assert (private.stat().st_mode & 0o777) == 0o700
    state = private / "clone" / ".geomap"
    assert not cluster._owner_can_enter(state)
    home = cluster.server_home(state)
    assert home != state and home.is_relative_to(cluster.OWNER_HOME)
    started = _cli("db", "start", state=state)
    try:
        assert started.returncode == 0, started.stderr
        c = cluster.Cluster(state)
        assert (home / "pgdata" / "PG_VERSION").exists() and c.data_dir == home / "pgdata"
        assert str(home) in started.stdout  # it says where the data is
        with sa.create_engine(c.url()).connect() as conn:
            assert conn.execute(sa.text("SELECT PostGIS_Version()")).scalar()
    finally:
        _cli("db", "stop", state=state)
        subprocess.run(["rm", "-rf", str(private), str(home)], check=False)


def test_a_folder_postgres_can_enter_keeps_everything_in_it(tmp_path):
    state = Path("/tmp") / tmp_path.name / ".geomap"
    if os.geteuid() != 0:
        assert cluster.server_home(state) == state
        return
    os.makedirs(state.parent, mode=0o755, exist_ok=True)
    try:
        assert cluster._owner_can_enter(state) and cluster.server_home(state) == state
    finally:
        os.rmdir(state.parent)
