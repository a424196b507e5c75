"""``geomap db start|stop|status|migrate|url|replica``."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url

from geomap import cluster, config, db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the database: start, stop, status, migrate, url; replica: a read replica of "
                                  "the private database on this machine (GEOMAP_READ_DATABASE_URL)")
    p.add_argument("action", choices=["start", "stop", "status", "migrate", "url", "replica"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "stop" and config.DATABASE_URL:
        print("GEOMAP_DATABASE_URL is set: geomap uses that server and stops nothing.")
        return 0
    if args.action == "replica" and config.DATABASE_URL:
        print("GEOMAP_DATABASE_URL is set: make the replica of that server on its own machine "
              "(pg_basebackup -R), then set GEOMAP_READ_DATABASE_URL to it.")
        return 0
    if args.action == "start" and config.DATABASE_URL:
        db.migrate(config.DATABASE_URL)
        where = make_url(config.DATABASE_URL).render_as_string(hide_password=True)
        print(f"GEOMAP_DATABASE_URL is set: using {where}, starting nothing; schema up to date.")
        return 0
    if args.action == "start":
        c = cluster.start()
        db.migrate(c.url())
        print(f"Database running at {c.url()} (data in {c.data_dir}); schema up to date.")
    elif args.action == "replica":
        c = cluster.start_replica(cluster.start(), cluster.replica_cluster())
        print(f"Read replica running at {c.url()} (data in {c.data_dir}), streaming from the private database.\n"
              f"Serve reads from it: GEOMAP_READ_DATABASE_URL={c.url()}")
    elif args.action == "stop":
        if cluster.replica_cluster().info_file.exists():
            cluster.stop(cluster.replica_cluster())
        cluster.stop()
        print("Private database stopped.")
    elif args.action == "status":
        if config.DATABASE_URL:
            db.get_engine(config.DATABASE_URL)
            print("Using GEOMAP_DATABASE_URL: reachable, PostGIS available.")
        else:
            c = cluster.default_cluster()
            running = c.info_file.exists() and cluster.is_running(c)
            print(f"Private database in {c.data_dir}: {'running at ' + c.url() if running else 'not running'}.")
            return 0 if running else 3
    elif args.action == "migrate":
        db.migrate()
        print("Schema up to date.")
    elif args.action == "url":
        print(db.database_url())
    return 0
