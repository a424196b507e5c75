"""``geomap template FILE [--layer KIND] [--filled]``: the Excel import template (establishments with their
licences and inspections, or one base layer), empty or filled with a ward's records."""

from __future__ import annotations

import argparse

from geomap import config, db
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    from geomap.importing.columns import BASE_KINDS

    t = sub.add_parser("template", help="write the Excel import template")
    t.add_argument("file")
    t.add_argument("--lang", choices=["vi", "en"], default=None)
    t.add_argument("--filled", action="store_true", help="fill it with the ward's records (round trip)")
    t.add_argument("--ward", default=None)
    t.add_argument("--layer", default=None, choices=BASE_KINDS,
                   help="the template of one base layer instead of the establishments' template")
    t.set_defaults(func=run_template)


def run_template(args: argparse.Namespace) -> int:
    from geomap.importing import RECORD_KINDS, template

    lang = args.lang or config.LANGUAGE
    kinds = (args.layer,) if args.layer else RECORD_KINDS
    if args.filled:
        engine = db.get_engine()
        ward = ward_data.ward_id(engine, args.ward or config.DEFAULT_WARD)
        wb = template.fill_from_database(engine, ward, lang, kinds)
    else:
        wb = template.build_template(lang, kinds=kinds)
    print(template.save(wb, args.file))
    return 0
