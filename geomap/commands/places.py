"""``geomap places --ward X [--dry-run]``: place the ward's establishments that have an address but no point;
``geomap import streets FILE`` (through the import command): the ward's named streets."""

from __future__ import annotations

import argparse

import sqlalchemy as sa

from geomap import config, db
from geomap.users import User
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("places", help="place establishments without coordinates from their addresses "
                                      "(at a known address, on the street or alley, or in the residential group)")
    p.add_argument("--ward", default=None, help="ward slug (default: GEOMAP_WARD)")
    p.add_argument("--dry-run", action="store_true", help="show where each record would go; write nothing")
    p.add_argument("--lang", choices=["vi", "en"], default=None, help="language of the messages")
    p.add_argument("--user", default=None, help="staff username the placement runs as (default: system)")
    p.set_defaults(func=run_places)


def run_places(args: argparse.Namespace) -> int:
    from geomap.addresses import place_ward
    from geomap.commands.importing import _user

    lang = args.lang or config.LANGUAGE
    engine = db.get_engine()
    ward = ward_data.ward_id(engine, args.ward or config.DEFAULT_WARD)
    report = place_ward(engine, ward, dry_run=args.dry_run, user=_user(engine, args.user))
    for line in report.lines(lang)[:500]:
        print(line)
    if len(report.rows) > 500:
        print(f"... {len(report.rows) - 500}")
    counts = report.counts
    en = lang == "en"
    head = ("Dry run (nothing written)" if args.dry_run else f"Placed {report.written}") if en else \
        ("Kiểm tra thử (chưa ghi gì)" if args.dry_run else f"Đã định vị {report.written}")
    labels = {"address": ("theo địa chỉ", "at an address"), "street": ("trên đường/kiệt", "on a street"),
              "group": ("trong tổ", "in a group"), "none": ("chưa định vị được", "not placed")}
    print(f"{head}: " + ", ".join(f"{labels[k][1 if en else 0]} {v}" for k, v in counts.items()))
    return 0


def import_streets(engine: sa.Engine, args: argparse.Namespace, ward: int, user: User | None, lang: str) -> int:
    from geomap.addresses import import_streets as run
    from geomap.addresses.messages import render

    plan = run(engine, args.file, ward_id=ward, dry_run=args.dry_run, user=user)
    for issue in plan.issues[:200]:
        print(issue.describe(lang))
    en = lang == "en"
    print(render("addr.streets.summary", plan.counts, lang))
    if plan.blocked:
        print("Nothing was written." if en else "Chưa ghi dữ liệu nào.")
        return 1
    print(("Dry run (nothing written)" if en else "Kiểm tra thử (chưa ghi gì)") if args.dry_run else
          (f"Imported {len(plan.rows)} streets and alleys." if en else f"Đã nhập {len(plan.rows)} đường và kiệt/hẻm."))
    return 0
