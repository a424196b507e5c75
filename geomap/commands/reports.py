"""``geomap reports overdue|due-soon|hotspots``: field-report work lists and hotspots for scheduled jobs.

API keys for Open311 clients are made with ``geomap apikey add NAME --scope open311``
(``geomap/commands/apikey.py``, backed by :func:`geomap.accounts.apikeys.create`).

Examples::

    geomap reports overdue --ward hoa-cuong
    geomap reports due-soon --hours 24
    geomap reports hotspots --ward hoa-cuong --window 90   # analyse and store: the "hotspots" layer
    geomap reports hotspots --days 90 --category garbage    # one category: printed, not stored
    geomap reports purge-personal --ward hoa-cuong --dry-run   # what the retention limit erases now
    geomap reports purge-personal --ward hoa-cuong             # erase it (a scheduler runs this daily)
    geomap reports purge-personal --ward hoa-cuong --report PA-7KQ2-M9XD-R4TB   # a reporter asked
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
    p = sub.add_parser("reports", help="field reports: overdue and due-soon lists, hotspots, mail to reporters, "
                                       "erasing reporters' personal data after the retention period")
    p.add_argument("action", choices=["overdue", "due-soon", "hotspots", "send-mail", "purge-personal"],
                   help="send-mail: send the status messages still waiting (GEOMAP_SMTP_HOST); purge-personal: "
                        "erase reporter name/contact, photos and mail addresses of reports closed more than the "
                        "ward profile's retention_months ago (all or nothing, audited); both for a scheduler")
    p.add_argument("--ward", default=config.DEFAULT_WARD, help="ward slug (default: GEOMAP_WARD)")
    p.add_argument("--hours", type=float, default=24, help="due-soon: deadlines within this many hours")
    p.add_argument("--window", "--days", dest="days", type=int, default=90,
                   help="hotspots: window length in days, ending now; with no --category the analysis replaces "
                        "the stored one of this ward and window (the 'hotspots' layer)")
    p.add_argument("--category", action="append", choices=REPORT_CATEGORIES, default=None,
                   help="hotspots: only these categories (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="purge-personal: list what would be erased, change nothing")
    p.add_argument("--no-compact", action="store_true",
                   help="purge-personal: do not rewrite the photo table afterwards (deleted photos then stay in "
                        "its files until PostgreSQL reuses the space)")
    p.add_argument("--report", action="append", default=None, metavar="PA-XXXX-XXXX-XXXX",
                   help="purge-personal: erase these reports' personal data now, whatever their status (the "
                        "reporter asked; repeatable)")
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
    if args.action == "purge-personal":
        return _purge_personal(engine, args)
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


def _purge_personal(engine, args: argparse.Namespace) -> int:
    from geomap.field_reports import retention

    done = retention.purge_personal(engine, args.ward, dry_run=args.dry_run, compact=not args.no_compact,
                                    public_ids=args.report)
    verb = "would erase" if done.dry_run else "erased"
    if not args.report:
        print(f"{done.ward}: retention {done.retention_months} months; reports closed before "
              f"{done.cutoff.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}")
    for r in done.reports:
        closed = r.closed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d") if r.closed_at else "-"
        what = [w for w, has in (("name", r.name), ("contact", r.contact)) if has]
        what += [f"{r.photos} photo(s)"] * bool(r.photos) + [f"{r.mail_addresses} mail address(es)"] * bool(
            r.mail_addresses)
        print(f"{r.public_id}\t{r.status}\tclosed {closed}\t{verb}: {', '.join(what)}")
    print(f"{len(done.reports)} report(s), {done.photos} photo(s), {done.mail_addresses} mail address(es) "
          + ("would be erased (dry run: nothing changed)" if done.dry_run else "erased")
          + ("; photo table compacted" if done.compacted else "")
          + ("" if done.reports or done.dry_run else "; nothing left to erase"))
    return 0
