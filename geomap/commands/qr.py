"""``geomap qr ...``: issue, reissue and revoke QR codes; print PNG, SVG and A4 sticker sheets.

    geomap qr issue --missing [--ward SLUG]          codes for every establishment and stall without one
    geomap qr reissue REF [REF ...] [--note TEXT]    new sticker, old one stops passing
    geomap qr revoke REF [REF ...] --reason closed   e.g. a closed business
    geomap qr revoke-closed [--ward SLUG]            revoke the codes of every closed establishment
    geomap qr list [--group G | --market M | --codes A,B] [--all]
    geomap qr png|svg REF -o FILE
    geomap qr sheet [--group G | --market M | --codes A,B] -o stickers.pdf
    geomap qr scans [--days 30] [--min-scans 5]      scans per day, establishment and group; alert list

REF is a short code (HC-7K3M-Q9), a token or an establishment code.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from geomap import config, db, i18n, links
from geomap.errors import GeomapError
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qr", help="QR codes and sticker sheets")
    qsub = p.add_subparsers(dest="qr_command", required=True)

    def add(name: str, help_text: str, func) -> argparse.ArgumentParser:
        sp = qsub.add_parser(name, help=help_text)
        sp.add_argument("--ward", default=None, help="ward profile slug (default: GEOMAP_WARD)")
        sp.set_defaults(func=func)
        return sp

    def scope(sp: argparse.ArgumentParser) -> None:
        group = sp.add_mutually_exclusive_group()
        group.add_argument("--group", help="one residential group (code or exact name)")
        group.add_argument("--market", help="one market (code or exact name)")
        group.add_argument("--codes", help="a selection: comma-separated short codes, tokens or establishment codes")

    sp = add("issue", "issue codes", _issue)
    sp.add_argument("--missing", action="store_true", required=True,
                    help="for every establishment (not closed) and stall that has no active code")
    sp = add("reissue", "reissue codes (the old sticker stops passing)", _reissue)
    sp.add_argument("refs", nargs="+")
    sp.add_argument("--note", default=None)
    sp = add("revoke", "revoke codes", _revoke)
    sp.add_argument("refs", nargs="+")
    sp.add_argument("--reason", required=True, choices=("closed", "damaged", "misused", "other"))
    sp.add_argument("--note", default=None)
    add("revoke-closed", "revoke the codes of closed establishments", _revoke_closed)
    sp = add("list", "list codes with their URLs (CSV on stdout)", _list)
    scope(sp)
    sp.add_argument("--all", action="store_true", help="include revoked codes")
    for kind in ("png", "svg"):
        sp = add(kind, f"{kind.upper()} image of one code", _image)
        sp.add_argument("ref")
        sp.add_argument("-o", "--output", required=True)
        sp.add_argument("--scale", type=int, default=10, help="pixels per module")
        sp.set_defaults(kind=kind)
    sp = add("sheet", "A4 PDF sticker sheet (12 a page)", _sheet)
    scope(sp)
    sp.add_argument("-o", "--output", required=True)
    sp.add_argument("--lang", choices=("vi", "en"), default=None,
                    help="language of the stickers and the page (default: GEOMAP_LANGUAGE, vi)")
    sp = add("scans", "scan statistics: per day, establishment, residential group; forged/revoked codes", _scans)
    sp.add_argument("--days", type=int, default=30, help="days back, today included (default 30)")
    sp.add_argument("--min-scans", type=int, default=None,
                    help="alert list: unknown or revoked codes scanned at least this often in the last 7 days "
                         "(default 5)")


def _ward(args: argparse.Namespace) -> tuple[object, int, str]:
    engine = db.get_engine()
    slug = args.ward or config.DEFAULT_WARD
    return engine, ward_data.ward_id(engine, slug), slug


def _refs(value: str | None) -> list[str] | None:
    return None if value is None else [r.strip() for r in value.split(",") if r.strip()]


def _issue(args: argparse.Namespace) -> int:
    from qr import codes, issue

    codes.check_base_url(config.PUBLIC_BASE_URL)
    engine, ward, slug = _ward(args)
    start = time.perf_counter()
    with db.transaction(engine) as conn:
        counts = issue.issue_missing(conn, ward)
    print(f"{slug}: issued {counts['establishment']} establishment and {counts['stall']} stall codes "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def _reissue(args: argparse.Namespace) -> int:
    from qr import issue

    engine, _, _ = _ward(args)
    with db.transaction(engine) as conn:
        for ref in args.refs:
            new = issue.reissue(conn, ref, note=args.note)
            url = links.qr_lookup(new.token)
            print(f"{ref} -> {new.short_code} (version {new.version}) {url}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from qr import issue

    engine, _, _ = _ward(args)
    with db.transaction(engine) as conn:
        for ref in args.refs:
            rec = issue.revoke(conn, ref, reason=args.reason, note=args.note)
            print(f"revoked {rec.short_code} ({args.reason})")
    return 0


def _revoke_closed(args: argparse.Namespace) -> int:
    from qr import issue

    engine, ward, slug = _ward(args)
    with db.transaction(engine) as conn:
        n = issue.revoke_closed(conn, ward)
    print(f"{slug}: revoked {n} codes of closed establishments")
    return 0


def _list(args: argparse.Namespace) -> int:
    from qr import issue

    engine, ward, _ = _ward(args)
    with engine.connect() as conn:
        items = issue.select_codes(conn, ward, group=args.group, market=args.market, refs=_refs(args.codes),
                                   include_revoked=args.all)
    out = csv.writer(sys.stdout)
    out.writerow(["short_code", "version", "target_type", "establishment_code", "name", "address", "market",
                  "stall_no", "residential_group", "revoked_at", "url"])
    for i in items:
        out.writerow([i.short_code, i.version, i.target_type, i.establishment_code, i.name, i.address, i.market,
                      i.stall_no, i.residential_group, i.revoked_at or "",
                      links.qr_lookup(i.token)])
    return 0


def _image(args: argparse.Namespace) -> int:
    from qr import images, issue

    engine, _, _ = _ward(args)
    with engine.connect() as conn:
        rec = issue.find(conn, args.ref)
    if rec is None:
        raise GeomapError(f"No QR code matches {args.ref!r}; give a short code, a token or an establishment code.")
    if rec.revoked_at is not None:
        raise GeomapError(f"QR code {rec.short_code} is revoked; reissue it before printing.")
    data = (images.png if args.kind == "png" else images.svg)(rec.token, scale=args.scale)
    Path(args.output).write_bytes(data)
    print(f"{rec.short_code} -> {args.output}")
    return 0


def _sheet(args: argparse.Namespace) -> int:
    from qr import codes, issue, stickers

    codes.check_base_url(config.PUBLIC_BASE_URL)
    engine, ward, slug = _ward(args)
    start = time.perf_counter()
    with engine.connect() as conn:
        items = issue.select_codes(conn, ward, group=args.group, market=args.market, refs=_refs(args.codes))
    title = items[0].ward_name if items else slug
    if args.group or args.market:
        title = f"{title} · {args.group or args.market}"
    from geomap.wards import data as ward_data

    shown = [-1]

    def progress(done: int, total: int) -> None:  # one line per tenth on stderr: a whole ward takes ~20 s
        tenth = done * 10 // total
        if tenth != shown[0]:
            shown[0] = tenth
            print(f"  {done}/{total} stickers ({done * 100 // total} %)", file=sys.stderr, flush=True)

    pdf = stickers.sheet(items, title=title, synthetic=ward_data.ward_is_synthetic(engine, ward), progress=progress,
                         lang=i18n.lang_or_default(args.lang))
    Path(args.output).write_bytes(pdf)
    pages = (len(items) + stickers.PER_PAGE - 1) // stickers.PER_PAGE
    print(f"{len(items)} stickers on {pages} pages -> {args.output} ({len(pdf) / 1e6:.1f} MB, "
          f"{time.perf_counter() - start:.1f} s)")
    return 0


def _scans(args: argparse.Namespace) -> int:
    from qr import scans

    engine, ward, slug = _ward(args)
    days = max(args.days, 1)
    min_scans = args.min_scans if args.min_scans is not None else scans.ALERT_MIN_SCANS
    found = scans.overview(engine, ward, days, min_scans=min_scans)
    per_day = found["per_day"]
    print(f"{slug}: QR scans, last {days} days (counts are added by the public service every minute)")
    by_day: dict = {}
    for r in per_day:
        by_day.setdefault(r["day"], dict.fromkeys(scans.OUTCOMES, 0))[r["outcome"]] = r["scans"]
    print("day         " + "".join(f"{o:>10}" for o in scans.OUTCOMES))
    for day, counts in sorted(by_day.items()):
        print(f"{day}  " + "".join(f"{counts[o]:>10}" for o in scans.OUTCOMES))
    totals = {o: sum(c[o] for c in by_day.values()) for o in scans.OUTCOMES}
    print("total       " + "".join(f"{totals[o]:>10}" for o in scans.OUTCOMES))
    print("\ntop establishments (scans: valid + revoked codes)")
    for r in found["establishments"]:
        print(f"  {r['scans']:>7}  {r['establishment_code'] or '-':<14} {r['name']}"
              f"{'  [' + r['residential_group'] + ']' if r['residential_group'] else ''}")
    print("\nper residential group")
    for r in found["groups"]:
        print(f"  {r['scans']:>7}  {r['residential_group'] or '(none)'}")
    alerts = found["alerts"]
    print(f"\nalert list: unknown or revoked codes scanned >= {min_scans} times in the last {scans.ALERT_DAYS} days"
          f" ({len(alerts)})")
    for a in alerts:
        what = f"revoked {a['short_code']} ({a['revoked_reason'] or ''}) {a['name'] or ''}" \
            if a["outcome"] == "revoked" else "unknown code (possibly forged)"
        print(f"  {a['scans']:>7}  {a['code']}  {what.strip()}  {a['first_day']}..{a['last_day']}")
        for p in a["reports"]:
            print(f"           report {p['public_id']} {p['reported_at']:%Y-%m-%d} at {p['lat']}, {p['lon']}"
                  f"{' (' + p['residential_group'] + ')' if p['residential_group'] else ''}")
    return 0
