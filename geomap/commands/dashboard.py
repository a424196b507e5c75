"""``geomap dashboard report FILE --period P``: the ward dashboard's Excel report;
``geomap dashboard groups-template FILE --period P`` and ``geomap dashboard import-groups FILE --period P
[--dry-run]``: the ward's per-period assessment of its residential groups (VNeID, digital skills, Gia đình
số, Tổ dân phố số)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geomap import config, db
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dashboard", help="the ward dashboard's Excel report; residential-group indicators")
    d.add_argument("action", choices=["report", "groups-template", "import-groups"])
    d.add_argument("file")
    d.add_argument("--period", required=True,
                   help="YYYY-MM (month), YYYY-Qn (quarter), YYYY-Hn (half-year) or YYYY (year)")
    d.add_argument("--ward", default=None)
    d.add_argument("--lang", choices=["vi", "en"], default=None)
    d.add_argument("--dry-run", action="store_true", help="import-groups: check and say, write nothing")
    d.set_defaults(func=run_dashboard)


def run_dashboard(args: argparse.Namespace) -> int:
    from geomap import dashboard, profiles
    from geomap.dashboard import group_import

    slug = args.ward or config.DEFAULT_WARD
    lang = args.lang or config.LANGUAGE
    engine = db.get_engine()
    ward = ward_data.ward_id(engine, slug)
    if args.action == "groups-template":
        Path(args.file).write_bytes(group_import.template(engine, ward, args.period, lang))
        print(args.file)
        return 0
    if args.action == "import-groups":
        plan = group_import.dry_run(engine, args.file, ward_id=ward, period=args.period)
        for issue in plan.issues():
            print(f"{'LỖI' if issue.level == 'error' else 'lưu ý'}: {issue.describe(lang)}")
        if plan.blocked:
            print("Chưa ghi dữ liệu nào." if lang == "vi" else "Nothing was written.", file=sys.stderr)
            return 1
        counts = plan.counts if args.dry_run else group_import.run_import(engine, args.file, ward_id=ward,
                                                                          period=args.period)
        print(f"{'(dry run) ' if args.dry_run else ''}{counts['values']} values of {counts['groups']} groups for "
              f"{args.period}; {counts['replaced']} values of that period replaced")
        return 0
    frames = dashboard.load_frames(engine, ward)
    profile = profiles.get(slug)
    dashboard.write_report(frames, profile, profile.name, args.period, args.file, lang,
                           synthetic=ward_data.ward_is_synthetic(engine, ward))
    print(args.file, file=sys.stdout)
    return 0
