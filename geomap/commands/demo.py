"""``geomap demo load [--ward SLUG] [--scale N] [--if-empty]``: the synthetic demo ward."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="synthetic demo data")
    p.add_argument("action", choices=["load"])
    p.add_argument("--ward", default=None, help="ward profile (default: GEOMAP_WARD or hoa-cuong)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply sizes; above 1 the city: N x the ward's establishments shared among all 15 wards")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the ward is already loaded")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geomap import db, demo

    started = time.perf_counter()
    demo.profiles_for(args.ward, args.scale)  # an unknown ward or a broken boundary fails before any database work
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    counts = demo.load(db.get_engine(), ward=args.ward, scale=args.scale, if_empty=args.if_empty,
                       progress=progress)
    if not counts:
        print("The demo ward is already loaded; nothing done (drop --if-empty to reload it).")
        return 0
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    print(f"Loaded synthetic demo data in {time.perf_counter() - started:.1f} s: {shown}.")
    return 0
