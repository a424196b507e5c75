"""The ``geomap`` command line: database, demo data, backups and the feature commands.

Each feature module contributes its own sub-commands through a ``register(subparsers)``
function listed in :data:`COMMAND_MODULES`; this module only wires them and turns a
:class:`~geomap.errors.GeomapError` into one readable line and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sqlalchemy import exc as sa_exc

from geomap.errors import GeomapError

#: modules that provide ``register(subparsers)``
COMMAND_MODULES = (
    "geomap.commands.db",
    "geomap.commands.demo",
    "geomap.commands.backup",
    "geomap.commands.run",
    "geomap.commands.qr",
    "geomap.commands.user",
    "geomap.commands.inspections",
    "geomap.commands.export",
    "geomap.commands.apikey",
    "geomap.commands.importing",
    "geomap.commands.places",
    "geomap.commands.template",
    "geomap.commands.dashboard",
    "geomap.commands.reports",
    "geomap.commands.ward",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="geomap", description="Bản đồ số kinh doanh — ward digital map")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GeomapError as exc:
        print(f"geomap: {exc}", file=sys.stderr)
        return 1
    except sa_exc.DBAPIError as exc:
        from geomap.db import readable_error

        readable = readable_error(exc)
        if readable is None:
            raise
        print(f"geomap: {readable}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
