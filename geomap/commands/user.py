"""``geomap user add|reset|disable|enable|list|demo|sessions|end-sessions``: staff accounts from the command line.

Passwords are read from standard input (``--password-stdin``, first line) or typed twice at
a hidden prompt; ``reset`` without either generates a random password and prints it once.
Passwords are never echoed, logged or stored in clear. Every change is in the audit log
(as the ``system`` user). ``sessions [USERNAME]`` lists the live sign-in sessions (started, last
seen, expiry, client address; times in Vietnam time); ``end-sessions USERNAME`` ends them all, so
the account's cookie stops working in both apps at the next request.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys

from geomap import auth, db, i18n
from geomap.errors import GeomapError
from geomap.wards import data as ward_data


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="staff accounts: add, reset, disable, enable, list, demo, sessions, "
                                    "end-sessions")
    actions = p.add_subparsers(dest="user_action", required=True)

    a = actions.add_parser("add", help="add a staff account")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=list(auth.ROLES))
    a.add_argument("--name", required=True, help='full name, e.g. "Nguyễn Thị Lan"')
    a.add_argument("--ward", default=None, help="restrict the account to one ward (slug); default: all wards")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.set_defaults(func=run_add)

    r = actions.add_parser("reset", help="set a new password (unlocks the account, ends its sessions)")
    r.add_argument("username")
    r.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    r.add_argument("--prompt", action="store_true", help="type the new password instead of generating one")
    r.set_defaults(func=run_reset)

    for name, active, text in (("disable", False, "disable an account (ends its sessions)"),
                               ("enable", True, "enable a disabled account")):
        d = actions.add_parser(name, help=text)
        d.add_argument("username")
        d.set_defaults(func=run_set_active, active=active)

    actions.add_parser("list", help="list the accounts").set_defaults(func=run_list)
    actions.add_parser("demo", help=f"create one demo account per role (password '{auth.DEMO_PASSWORD}') "
                                    "when there is no account yet").set_defaults(func=run_demo)

    s = actions.add_parser("sessions", help="list live sign-in sessions (of one account, or everyone's)")
    s.add_argument("username", nargs="?", default=None)
    s.set_defaults(func=run_sessions)
    e = actions.add_parser("end-sessions", help="end every live session of an account (audit logged)")
    e.add_argument("username")
    e.set_defaults(func=run_end_sessions)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise GeomapError("No terminal to type the password in: pass --password-stdin and pipe it in.")
    first = getpass.getpass("Mật khẩu / Password: ")
    if first != getpass.getpass("Nhập lại / Repeat: "):
        raise GeomapError("The two passwords differ; nothing was changed.")
    return first


def run_add(args: argparse.Namespace) -> int:
    password = _password(args.password_stdin)
    with db.transaction() as conn:
        ward_id = ward_data.ward_id(conn, args.ward) if args.ward else None
        user = auth.create_user(conn, args.username, args.name, args.role, password, ward_id=ward_id)
    print(f"Added {user.username} ({i18n.code_label('role', user.role, 'en')}).")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    generated = not (args.password_stdin or args.prompt)
    password = secrets.token_urlsafe(12) if generated else _password(args.password_stdin)
    with db.transaction() as conn:
        auth.set_password(conn, args.username, password)
    if generated:
        print(f"New password for {args.username} (shown once, give it in person): {password}")
    else:
        print(f"Password of {args.username} changed; its sessions were ended.")
    return 0


def run_set_active(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        auth.set_active(conn, args.username, args.active)
    print(f"{args.username}: {'enabled' if args.active else 'disabled, sessions ended'}.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        users = auth.list_users(conn)
    if not users:
        print("No accounts yet: 'geomap user add NAME --role ROLE --name \"...\"' or 'geomap user demo'.")
        return 0
    print(f"{'username':<20} {'role':<13} {'active':<7} {'last sign-in (VN)':<17} full name")
    for u in users:
        last = _vn(u["last_login_at"])
        print(f"{u['username']:<20} {u['role']:<13} {'yes' if u['is_active'] else 'no':<7} {last:<17} "
              f"{u['full_name']}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        made = auth.ensure_demo_users(conn)
    if made:
        print(f"Demo accounts: {', '.join(made)} (password '{auth.DEMO_PASSWORD}'; demo data only).")
    else:
        print("Accounts already exist: no demo account added.")
    return 0


def run_sessions(args: argparse.Namespace) -> int:
    rows = auth.live_sessions(db.get_engine(), args.username)
    if not rows:
        print("No live session." if not args.username else f"No live session of {args.username}.")
        return 0
    print(f"{'username':<20} {'started (VN)':<17} {'last seen (VN)':<17} {'expires (VN)':<17} client")
    for r in rows:
        print(f"{r['username']:<20} {_vn(r['created_at']):<17} {_vn(r['last_seen_at']):<17} "
              f"{_vn(r['expires_at']):<17} {r['client'] or '-'}")
    return 0


def run_end_sessions(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        ended = auth.end_sessions(conn, args.username)
    print(f"{args.username}: {ended} session(s) ended.")
    return 0


def _vn(value) -> str:
    return auth.local_time(value, "%d/%m/%Y %H:%M")
