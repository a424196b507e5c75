"""``geomap run`` (public service + staff app) and ``geomap serve`` (public service only)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from geomap import config, db
from geomap.ui import launch

#: ``geomap serve``'s uvicorn worker processes unless told: one per core, at most 4
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the public service (QR pages, reports, APIs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=config.PUBLIC_PORT)
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help="uvicorn worker processes (default: one per core, at most 4)")
    p.set_defaults(func=run_serve)
    p = sub.add_parser("run", help="run the public service and the staff app")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=run_all)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from geomap import logs

    db.get_engine()  # a clear message now rather than on the first request
    print(f"Public service: http://{args.host}:{args.port}/health   log: {logs.log_file()} (rotated)")
    # the workers read it: with more than one, rate limits are counted in the database (geomap.web.ratelimit)
    os.environ["GEOMAP_WORKERS"] = str(args.workers)
    # forwarded headers are believed only from GEOMAP_TRUSTED_PROXIES (geomap.web.ratelimit), not by uvicorn
    uvicorn.run("geomap.web:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False, proxy_headers=False,
                log_config=logs.uvicorn_log_config())
    return 0


def run_all(args: argparse.Namespace) -> int:
    db.get_engine()
    env = {**os.environ, "GEOMAP_DATABASE_URL": db.database_url()}
    public = subprocess.Popen(
        [sys.executable, "-m", "geomap.cli", "serve", "--host", args.host, "--port", str(config.PUBLIC_PORT)], env=env)
    print(f"Staff app: http://{args.host}:{config.STAFF_PORT}   Public service: {config.PUBLIC_BASE_URL}")
    try:
        return subprocess.call(launch.command(config.STAFF_PORT, args.host), env=env, cwd=config.PROJECT_DIR)
    finally:
        public.terminate()
        public.wait(timeout=10)
