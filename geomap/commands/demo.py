"""``geomap demo load [--ward SLUG] [--scale N] [--if-empty]``: the synthetic demo ward."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="synthetic demo data")
    p.add_argument("action", choices=["load"])
    p.add_argument("--ward", default=None, help="ward profile (default: GEOMAP_WARD or hoa-cuong)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply sizes (city-scale tests)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the ward is already loaded")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("being written")
