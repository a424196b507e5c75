"""``geomap inspections due|plan``: who is due for inspection, and a day's routes as GPX / PDF.

    geomap inspections due [--ward SLUG] [--limit 30] [--all] [--csv due.csv]
    geomap inspections plan --date 2026-11-23 --inspectors 2 --out route.gpx [--pdf sheet.pdf]
        [--stops 25] [--must CODE ...] [--start 07:30 --end 17:00] [--street-graph ward.graphml]
        [--speed 15 --detour 1.3] [--save]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from geomap import config, db, i18n, profiles, status
from geomap.errors import GeomapError
from geomap.inspections import planning, risk, route_files, routing, travel
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspections", help="inspection planning: due list and day routes")
    act = p.add_subparsers(dest="action", required=True)

    d = act.add_parser("due", help="establishments ranked by inspection risk, with reasons")
    d.add_argument("--ward", default=None, help="ward slug (default: GEOMAP_WARD)")
    d.add_argument("--date", type=dt.date.fromisoformat, default=None, help="as of this day (default: today)")
    d.add_argument("--limit", type=int, default=30)
    d.add_argument("--all", action="store_true", help="list every establishment, not only those due")
    d.add_argument("--csv", type=Path, default=None, help="also write the full list to this CSV file")
    d.add_argument("--lang", default=config.LANGUAGE, choices=["vi", "en"])
    d.set_defaults(func=run_due)

    pl = act.add_parser("plan", help="plan the day's routes and write GPX (and a PDF route sheet)")
    pl.add_argument("--ward", default=None)
    pl.add_argument("--date", type=dt.date.fromisoformat, default=None, help="the day (default: today)")
    pl.add_argument("--inspectors", type=int, default=1, help=f"1..{routing.MAX_INSPECTORS}")
    pl.add_argument("--stops", type=int, default=None,
                    help="plan the N highest-risk due establishments (default: 12 per inspector)")
    pl.add_argument("--must", nargs="*", default=[], help="establishment codes that must be visited")
    pl.add_argument("--start", default="07:30", help="working hours start HH:MM")
    pl.add_argument("--end", default="17:00", help="working hours end HH:MM")
    pl.add_argument("--lunch", default="11:30-13:30", help="lunch window HH:MM-HH:MM")
    pl.add_argument("--lunch-min", type=int, default=60)
    pl.add_argument("--speed", type=float, default=travel.DEFAULT_SPEED_KMH, help="km/h")
    pl.add_argument("--detour", type=float, default=travel.DEFAULT_DETOUR_FACTOR,
                    help="straight-line distance multiplier (without a street graph)")
    pl.add_argument("--street-graph", default=None, help="GraphML (OSMnx), .osm or GeoJSON street network of the ward")
    pl.add_argument("--time-limit", type=float, default=None, help="solver seconds (default: by size)")
    pl.add_argument("--out", type=Path, required=True, help="GPX file to write")
    pl.add_argument("--pdf", type=Path, default=None, help="also write the printable route sheet")
    pl.add_argument("--save", action="store_true", help="store the routes for the on-site page")
    pl.add_argument("--lang", default=config.LANGUAGE, choices=["vi", "en"])
    pl.set_defaults(func=run_plan)


def _ward(args: argparse.Namespace) -> tuple[object, str, int]:
    slug = args.ward or config.DEFAULT_WARD
    engine = db.get_engine()
    return engine, slug, ward_data.ward_id(engine, slug)


def run_due(args: argparse.Namespace) -> int:
    engine, slug, ward = _ward(args)
    frame = planning.due_list(engine, ward, slug, args.date, only_due=not args.all)
    if args.csv:
        out = frame.drop(columns=["risk_reasons"]).assign(
            risk_reasons=[risk.reasons_text(r, args.lang) for r in frame["risk_reasons"]])
        out.to_csv(args.csv, index=False, encoding="utf-8-sig")
    print(f"{len(frame)} {'cơ sở đến hạn / at risk' if not args.all else 'cơ sở / establishments'}")
    counts = risk.tier_counts(frame)
    print("  " + " · ".join(f"{i18n.t(f'risk.tier.{t}', args.lang)}: {counts[t]}" for t in risk.TIERS
                            if counts[t] or t != "none"))
    for row in frame.head(args.limit).itertuples():
        print(f"{row.risk_rank:>4}. {row.risk_score:>5.1f}  {row.code}  {row.name}")
        print(f"         {risk.reasons_text(row.risk_reasons, args.lang)}")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    engine, slug, ward = _ward(args)
    day = args.date or status.today()
    if not 1 <= args.inspectors <= routing.MAX_INSPECTORS:
        raise GeomapError(f"--inspectors must be between 1 and {routing.MAX_INSPECTORS}.")
    lunch_from, _, lunch_to = args.lunch.partition("-")
    settings = routing.DaySettings(day_start=args.start, day_end=args.end, lunch_from=lunch_from, lunch_to=lunch_to,
                                   lunch_min=args.lunch_min, speed_kmh=args.speed, detour_factor=args.detour,
                                   local_srid=profiles.get(slug).local_srid, time_limit_s=args.time_limit)
    due = planning.due_list(engine, ward, slug, day, only_due=True)
    must = due[due["code"].isin(args.must)] if args.must else due.iloc[0:0]
    unknown_must = sorted(set(args.must) - set(must["code"]))
    if unknown_must:
        everyone = planning.due_list(engine, ward, slug, day)
        must = everyone[everyone["code"].isin(args.must)]
        unknown_must = sorted(set(args.must) - set(must["code"]))
        if unknown_must:
            raise GeomapError(f"Unknown or closed establishment codes in --must: {', '.join(unknown_must)}.")
    n = args.stops if args.stops is not None else 12 * args.inspectors
    chosen = list(dict.fromkeys([*map(int, must["id"]), *map(int, due["id"].head(n))]))
    crew = [routing.Inspector(i["full_name"], user_id=i["id"]) for i in planning.inspectors(engine, ward)]
    crew = (crew + [routing.Inspector(f"Cán bộ {k + 1}") for k in range(args.inspectors)])[:args.inspectors]
    plan = planning.plan(engine, ward, slug, chosen, crew, settings, date=day, must_visit=must["id"],
                         street_graph=args.street_graph)
    args.out.write_text(route_files.to_gpx(plan, lang=args.lang), encoding="utf-8")
    if args.pdf:
        args.pdf.write_bytes(route_files.to_pdf(
            plan, ward_name=profiles.get(slug).name, lang=args.lang,
            synthetic=ward_data.ward_is_synthetic(engine, ward)))
    if args.save:
        planning.save_plan(engine, ward, plan)
    print(f"{day.isoformat()}: {plan.kept}/{len(chosen)} stops planned ({plan.travel_model})")
    for r in plan.routes:
        print(f"  {r.inspector.name}: {len(r.visits)} stops, {routing.hhmm(r.start_s)}-{routing.hhmm(r.end_s)}, "
              f"{r.distance_m / 1000:.1f} km")
    for notice in plan.notices:
        print(f"  ! {notice.text(args.lang)}")
    for d in plan.dropped:
        print(f"  - {d.reason.text(args.lang)}")
    print(f"GPX: {args.out}" + (f"; PDF: {args.pdf}" if args.pdf else ""))
    return 0
