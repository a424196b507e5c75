"""``geomap import KIND FILE [--dry-run] [--ward SLUG]``: import establishments, licences, inspections or a base
layer (residential_groups, land_parcels, infrastructure, public_facilities, markets, stalls, commercial_streets)
from a file."""

from __future__ import annotations

import argparse

import sqlalchemy as sa

from geomap import config, db
from geomap.users import User
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    from geomap.importing import KINDS

    p = sub.add_parser("import", help="import establishments, licences, inspections, a base layer "
                                      "(XLSX, CSV, GeoJSON, GPKG) or the ward's streets")
    p.add_argument("kind", choices=[*KINDS, "streets"],
                   help="streets: the ward's named streets from an OSM extract (.osm, .osm.pbf) or GeoJSON/GPKG/SHP")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="show what would change, row by row; write nothing")
    p.add_argument("--ward", default=None, help="ward slug (default: GEOMAP_WARD)")
    p.add_argument("--lang", choices=["vi", "en"], default=None, help="language of the messages")
    p.add_argument("--user", default=None,
                   help="staff username the import runs as: its rights and ward are checked (the dry run too) "
                        "and the audit log names it (default: system)")
    p.add_argument("--report", default=None, help="write the row-by-row plan to this CSV file")
    p.set_defaults(func=run_import)


def _lang(args: argparse.Namespace) -> str:
    return args.lang or config.LANGUAGE


def _user(engine: sa.Engine, username: str | None) -> User | None:
    """The staff account the import runs as (its rights are checked and the audit log names it); None: system."""
    if not username:
        return None
    from geomap import auth

    with engine.connect() as conn:
        return auth.get_user(conn, username)


def run_import(args: argparse.Namespace) -> int:
    from geomap.importing import dry_run, run_import

    lang = _lang(args)
    engine = db.get_engine()
    ward = ward_data.ward_id(engine, args.ward or config.DEFAULT_WARD)
    user = _user(engine, args.user)
    if args.kind == "streets":
        from geomap.commands.places import import_streets

        return import_streets(engine, args, ward, user, lang)
    if args.dry_run:
        plan = dry_run(engine, args.kind, args.file, ward_id=ward, user=user)
    else:
        result = run_import(engine, args.kind, args.file, ward_id=ward, user=user, lang=lang)
        plan = result.plan
    frame = plan.frame(lang)
    for issue in plan.file_issues:
        print(issue.describe(lang))
    noteworthy = frame[frame.iloc[:, 5] != ""] if len(frame) else frame
    for _, row in noteworthy.head(200).iterrows():
        print(f"{row.iloc[0]:>6}  {row.iloc[1]:<10} {row.iloc[2]:<12} {row.iloc[5]}".replace("\n", "\n" + " " * 31))
    if len(noteworthy) > 200:
        print(f"... {len(noteworthy) - 200} more rows with messages (use --report FILE.csv)")
    if args.report:
        frame.to_csv(args.report, index=False, encoding="utf-8-sig")
    counts = plan.counts
    en = lang == "en"
    head = ("Dry run (nothing written)" if args.dry_run else "Imported") if en else \
        ("Kiểm tra thử (chưa ghi gì)" if args.dry_run else "Đã nhập")
    labels = ("insert", "update", "unchanged", "reject") if en else ("thêm mới", "cập nhật", "không đổi", "từ chối")
    print(f"{head}: " + ", ".join(f"{labels[i]} {counts[k]}" for i, k in
                                   enumerate(("insert", "update", "unchanged", "reject"))))
    return 1 if plan.blocked else 0
