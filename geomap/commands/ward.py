"""``geomap ward create|list|show``: a real ward from its own boundary file, without the demo."""

from __future__ import annotations

import argparse
import json

from geomap import config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ward", help="set up a ward from its own files; list and show loaded wards")
    actions = p.add_subparsers(dest="ward_action", required=True)
    c = actions.add_parser("create", help="create a ward from its boundary file (GeoJSON, GeoPackage, Shapefile)")
    c.add_argument("--name", required=True, help='the ward\'s name, e.g. "Phường Thạch Khôi"')
    c.add_argument("--province", default=None,
                   help="province or city (one of the 34 since July 2025, or a former province to use its grid); "
                        "default: the profile's")
    c.add_argument("--boundary", required=True,
                   help="boundary file: .geojson, .gpkg, .shp (with .shx/.dbf), .zip, or OSM (.osm, .osm.pbf)")
    c.add_argument("--profile", default=None, help="ward profile (TOML): official figures and targets; "
                                                   "the plan's defaults for what it leaves out")
    c.add_argument("--slug", default=None, help="short id (default: from the name, e.g. thach-khoi)")
    c.add_argument("--feature", default=None, help="in a file of several wards, the name of this ward's feature")
    c.add_argument("--dry-run", action="store_true", help="check everything and show the preview; write nothing")
    c.add_argument("--lang", choices=["vi", "en"], default=None, help="language of the messages")
    c.set_defaults(func=run_create)
    ls = actions.add_parser("list", help="the loaded wards")
    ls.add_argument("--lang", choices=["vi", "en"], default=None)
    ls.set_defaults(func=run_list)
    s = actions.add_parser("show", help="one loaded ward: grid, area, profile, rows per layer")
    s.add_argument("slug")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run_show)


def run_create(args: argparse.Namespace) -> int:
    from geomap import db, i18n
    from geomap.wards import setup

    lang = args.lang or config.LANGUAGE
    engine = db.get_engine()
    plan = setup.plan_ward(engine, name=args.name, province=args.province, boundary_path=args.boundary,
                           profile_path=args.profile, slug=args.slug, feature=args.feature)
    for line in plan.lines(lang):
        print(line)
    if args.dry_run:
        print(i18n.t("wardsetup.dry_run", lang))
        return 0
    ward_id = setup.create_ward(engine, plan)
    print(i18n.t("wardsetup.created", lang).format(name=plan.name, slug=plan.slug, id=ward_id))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from geomap import db
    from geomap.wards import setup

    wards = setup.list_wards(db.get_engine())
    if not wards:
        print("Chưa có phường nào; tạo bằng 'geomap ward create' / No ward yet; create one with 'geomap ward create'.")
        return 0
    for w in wards:
        source = "files" if w["from_files"] else "demo/profile"
        print(f"{w['slug']:<20} {w['name']:<28} {w['province']:<26} EPSG:{w['local_srid']:<6} "
              f"{w['area_km2']:8.2f} km²  ({source})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from geomap import db
    from geomap.wards import setup

    w = setup.show_ward(db.get_engine(), args.slug)
    if args.json:
        print(json.dumps(w, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"{w['name']} ({w['slug']}, id {w['id']}) — {w['province']}")
    print(f"  grid: EPSG:{w['local_srid']}; area {w['area_km2']:.2f} km²"
          + (f" (official {w['official_area_km2']:.2f} km²)" if w["official_area_km2"] else ""))
    print(f"  extent: {w['min_lon']:.5f}, {w['min_lat']:.5f} — {w['max_lon']:.5f}, {w['max_lat']:.5f}")
    if w["population"]:
        print(f"  population: {w['population']}")
    profile = w["profile"] or {}
    if profile:
        src = profile.get("boundary_source", {})
        guessed = ", guessed" if src.get("crs_guessed") else ""
        print(f"  boundary from {src.get('file')} (EPSG:{src.get('epsg')}{guessed})")
        for indicator, milestones in profile.get("targets", {}).items():
            print(f"  target {indicator}: " + ", ".join(f"{y}: {v:.0%}" for y, v in sorted(milestones.items())))
    print("  rows: " + ", ".join(f"{k} {v}" for k, v in w["counts"].items()))
    return 0
