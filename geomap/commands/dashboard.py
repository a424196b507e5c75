"""``geomap dashboard report FILE --period P``: the ward dashboard's Excel report."""

from __future__ import annotations

import argparse
import sys

from geomap import config, db
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dashboard", help="the ward dashboard's Excel report")
    d.add_argument("action", choices=["report"])
    d.add_argument("file")
    d.add_argument("--period", required=True,
                   help="YYYY-MM (month), YYYY-Qn (quarter), YYYY-Hn (half-year) or YYYY (year)")
    d.add_argument("--ward", default=None)
    d.add_argument("--lang", choices=["vi", "en"], default=None)
    d.set_defaults(func=run_dashboard)


def run_dashboard(args: argparse.Namespace) -> int:
    from geomap import dashboard, profiles

    slug = args.ward or config.DEFAULT_WARD
    engine = db.get_engine()
    ward = ward_data.ward_id(engine, slug)
    frames = dashboard.load_frames(engine, ward)
    profile = profiles.get(slug)
    dashboard.write_report(frames, profile, profile.name, args.period, args.file, args.lang or config.LANGUAGE,
                           synthetic=ward_data.ward_is_synthetic(engine, ward))
    print(args.file, file=sys.stdout)
    return 0
