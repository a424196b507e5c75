"""``geomap export ...``: layers to GIS files and the LIVES feed, for scheduled jobs.

Examples::

    geomap export --format gpkg --crs 5899 --profile public --out exports/
    geomap export --layers establishments,markets --format shp --out city.shp.zip
    geomap export lives --ward hoa-cuong --out exports/
"""

from __future__ import annotations

import argparse

from geomap import config, db


def register(sub: argparse._SubParsersAction) -> None:
    from geomap.export import FORMATS, PROFILES

    p = sub.add_parser("export", help="export layers to GIS files for the city, or the LIVES food-safety feed")
    p.add_argument("what", nargs="?", choices=["layers", "lives"], default="layers",
                   help="layers (default): registry layers to a file; lives: the food-safety open-data feed")
    p.add_argument("--layers", default=None, help="comma-separated layer names (default: all the profile allows)")
    p.add_argument("--format", dest="fmt", default="gpkg", choices=list(FORMATS))
    p.add_argument("--crs", default="4326", help="EPSG:4326 (default) or the ward's VN-2000 grid, e.g. 5899")
    p.add_argument("--profile", default="public", choices=list(PROFILES),
                   help="public: only publishable fields (no personal data); internal: everything")
    p.add_argument("--ward", default=config.DEFAULT_WARD, help="ward slug, or '*' for every loaded ward")
    p.add_argument("--out", default=".",
                   help="output file, or folder (created if missing) for a generated name: an existing folder, a "
                        "path ending in '/', or one without a file suffix (lives: without .zip)")
    p.add_argument("--contact-email", default="", help="LIVES feed_info contact address")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from geomap import export
    from geomap.export.lives import export_lives

    engine = db.get_engine()
    if args.what == "lives":
        path = export_lives(engine, args.ward, args.out, contact_email=args.contact_email)
        print(f"LIVES feed written: {path}")
        return 0
    names = [n for n in args.layers.split(",")] if args.layers is not None else None
    result = export.export(engine, layers=names, fmt=args.fmt, profile=args.profile, srid=args.crs,
                           ward=None if args.ward in ("*", "all") else args.ward, dest=args.out)
    meta = result.metadata
    print(f"{result.path}  ({meta['profile']}, {meta['crs']} {meta['crs_name']})")
    for layer in meta["layers"]:
        fixed = f", {layer['invalid_geometries_fixed']} invalid geometries repaired" \
            if layer.get("invalid_geometries_fixed") else ""
        print(f"  {layer['name']}: {layer['features']} features{fixed}")
    if meta["crs"] != "EPSG:4326":
        from geomap import crs

        print(f"  transformation: {crs.summary(4326, int(meta['crs'].split(':')[1]))}")
    return 0

