"""``geomap reports overdue|due-soon|hotspots``: field-report work lists and hotspots for scheduled jobs.

API keys for Open311 clients are made with ``geomap apikey add NAME --scope open311``
(``geomap/commands/apikey.py``, backed by :func:`geomap.accounts.apikeys.create`).

Examples::

    geomap reports overdue --ward hoa-cuong
    geomap reports due-soon --hours 24
    geomap reports hotspots --ward hoa-cuong --window 90   # analyse and store: the "hotspots" layer
    geomap reports hotspots --days 90 --category garbage    # one category: printed, not stored
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from geomap import config, db, i18n
from geomap.field_reports import reads
from geomap.field_reports.deadlines import LOCAL_TZ
from geomap.models import REPORT_CATEGORIES
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reports", help="field reports: overdue and due-soon lists, hotspots, mail to reporters")
    p.add_argument("action", choices=["overdue", "due-soon", "hotspots", "send-mail"],
                   help="send-mail: send the status messages still waiting (GEOMAP_SMTP_HOST); for a scheduler")
    p.add_argument("--ward", default=config.DEFAULT_WARD, help="ward slug (default: GEOMAP_WARD)")
    p.add_argument("--hours", type=float, default=24, help="due-soon: deadlines within this many hours")
    p.add_argument("--window", "--days", dest="days", type=int, default=90,
                   help="hotspots: window length in days, ending now; with no --category the analysis replaces "
                        "the stored one of this ward and window (the 'hotspots' layer)")
    p.add_argument("--category", action="append", choices=REPORT_CATEGORIES, default=None,
                   help="hotspots: only these categories (repeatable)")
    p.add_argument("--lang", default=config.LANGUAGE, choices=list(i18n.LANGUAGES))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    engine = db.get_engine()
    if args.action == "send-mail":
        from geomap.field_reports import mail

        if not mail.SMTP_HOST:
            print("GEOMAP_SMTP_HOST is not set: messages wait in report_mail.", file=sys.stderr)
            return 1
        sent, failed = mail.send_pending(engine, limit=1000)
        print(f"{sent} sent, {failed} not accepted (kept for the next run)")
        return 0 if not failed else 1
    ward = ward_data.ward_id(engine, args.ward)
    lang = args.lang
    if args.action in ("overdue", "due-soon"):
        rows = (reads.overdue(engine, ward) if args.action == "overdue"
                else reads.due_soon(engine, ward, hours=args.hours))
        now = dt.datetime.now(dt.UTC)
        for r in rows:
            late = (now - r["deadline_at"]).total_seconds() / 3600
            when = f"{late:+.0f} h" if args.action == "overdue" else f"{-late:.0f} h left"
            print("\t".join([r["public_id"], i18n.code_label("report_category", r["category"], lang),
                             i18n.code_label("report_status", r["status"], lang),
                             r["deadline_at"].astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"), when,
                             r["assignee_name"] or "-"]))
        print(f"{len(rows)} report(s)")
        return 0
    if args.days <= 0:
        print("--window must be a positive number of days / --window phải là số ngày lớn hơn 0", file=sys.stderr)
        return 2
    end = dt.datetime.now(dt.UTC)
    if args.category:
        analysis, _ = reads.hotspot_layers(engine, ward, start=end - dt.timedelta(days=args.days), end=end,
                                           categories=args.category)
    else:
        from geomap.field_reports import hotspot_store

        analysis = hotspot_store.run(engine, ward, args.days, now=end)
    p = analysis.params
    print(f"{p['reports']} reports in {p['cells']} cells ({p['grid']}), Gi* {p['permutations']} permutations, "
          f"FDR {p['alpha']}; previous window: {p['previous_reports']} reports")
    for h in analysis.hotspots.itertuples():
        print(f"#{h.rank}\t{h.count} reports ({h.prev_count} before, {h.trend})\t{h.n_cells} cells\t"
              f"max z {h.max_z:.1f}\t{h.lat:.5f},{h.lon:.5f}")
    if analysis.hotspots.empty:
        print("no significant hotspot")
    if not args.category:
        print(f"stored as the 'hotspots' layer of {args.ward}, window {args.days} days ({p['cells']} cells)")
    return 0
