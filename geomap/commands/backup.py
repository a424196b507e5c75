"""``geomap backup FILE`` / ``geomap restore FILE`` with pg_dump / pg_restore (custom format)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from geomap import config, db
from geomap.errors import GeomapError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="dump the database to a file (pg_dump custom format)")
    p.add_argument("file", type=Path, nargs="?", help="default: .geomap/backups/geomap-<time>.dump")
    p.set_defaults(func=run_backup)
    p = sub.add_parser("restore", help="restore a dump made by 'geomap backup' (replaces the data)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=run_restore)


def _tool(name: str) -> str:
    from geomap import cluster

    if not config.DATABASE_URL:
        candidate = cluster.find_bindir() / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise GeomapError(f"'{name}' was not found; install the PostgreSQL client tools.")
    return found


def _libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {"PGPASSWORD": u.password} if u.password else {}
    return args, env


def backup(file: Path, url: str | None = None) -> Path:
    """Dump the whole database to ``file``; written to a temporary name, then moved into place."""
    import os

    url = url or db.database_url()
    args, env = _libpq_args(url)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".part")
    out = subprocess.run([_tool("pg_dump"), *args, "-Fc", "-f", str(tmp), make_url(url).database],
                         capture_output=True, text=True, env={**os.environ, **env})
    if out.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise GeomapError(f"Backup failed: {out.stderr.strip().splitlines()[-1] if out.stderr else 'pg_dump failed'}")
    tmp.replace(file)
    return file


def restore(file: Path, url: str | None = None) -> None:
    """Replace the database's contents by the dump in ``file``, in one transaction."""
    import os

    if not file.exists():
        raise GeomapError(f"There is no backup file {file}.")
    url = url or db.database_url()
    args, env = _libpq_args(url)
    out = subprocess.run(
        [_tool("pg_restore"), *args, "--clean", "--if-exists", "--single-transaction", "--no-owner",
         "-d", make_url(url).database, str(file)],
        capture_output=True, text=True, env={**os.environ, **env})
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.splitlines() if "error" in ln.lower()] or out.stderr.splitlines()
        raise GeomapError(f"Restore failed, database unchanged: {lines[0] if lines else 'pg_restore failed'}")


def run_backup(args: argparse.Namespace) -> int:
    import datetime as dt

    file = args.file or config.STATE_DIR / "backups" / f"geomap-{dt.datetime.now():%Y%m%d-%H%M%S}.dump"
    print(f"Backup written to {backup(file)}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    restore(args.file)
    print(f"Restored from {args.file}")
    return 0
