"""User accounts from the shell: python -m crpm user add|passwd|deactivate|reactivate|unlock|list.

Whoever runs these has the store file, so they act as an admin; the audit log names them as
`cli:<os user>`. Passwords are prompted without echo (twice), or read from the first line of
standard input with --password-stdin; they are never printed.
"""

from __future__ import annotations

import getpass
import sys

from crpm.commands import UsageError, open_existing
from crpm.permissions import Actor
from crpm.services.accounts import AccountService


def register(subparsers) -> None:
    user = subparsers.add_parser("user", help="manage user accounts (admin)")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="action")

    add = actions.add_parser("add", help="create a staff or admin account")
    add.add_argument("username")
    add.add_argument("--role", choices=("staff", "admin"), default="staff")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=run_add)

    passwd = actions.add_parser("passwd", help="set a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(handler=run_passwd)

    for name, helptext in (
        ("deactivate", "refuse a user's logins and sessions from now on"),
        ("reactivate", "let a deactivated user log in again"),
        ("unlock", "lift a lockout after failed logins"),
    ):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("username")
        action.set_defaults(handler=run_status, action=name)

    listing = actions.add_parser("list", help="list user accounts")
    listing.add_argument("--role", choices=("admin", "staff", "customer"))
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--offset", type=int, default=0)
    listing.set_defaults(handler=run_list)


def cli_actor() -> Actor:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(username=f"cli:{name}", role="admin")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise UsageError("the passwords do not match")
    return first


def accounts_for(args) -> AccountService:
    return AccountService(open_existing(args.db))


def run_add(args) -> int:
    accounts = accounts_for(args)
    password = read_password(args.password_stdin)
    user = accounts.create_user(cli_actor(), args.username, password, args.role)
    print(f"created {user.role} {user.username} (user #{user.id})")
    return 0


def run_passwd(args) -> int:
    accounts = accounts_for(args)
    actor = cli_actor()
    user = accounts.get_user(actor, args.username)  # an unknown name fails before the prompt
    accounts.set_password(actor, user.id, read_password(args.password_stdin))
    print(f"password changed for {user.username}; their open sessions are closed")
    return 0


def run_status(args) -> int:
    accounts = accounts_for(args)
    change = {
        "deactivate": accounts.deactivate_user,
        "reactivate": accounts.reactivate_user,
        "unlock": accounts.unlock_user,
    }[args.action]
    user = change(cli_actor(), args.username)
    print(
        f"{user.username}: {'active' if user.active else 'inactive'}"
        f"{', locked until ' + user.locked_until if user.locked else ''}"
    )
    return 0


def run_list(args) -> int:
    page = accounts_for(args).list_users(
        cli_actor(), role=args.role, limit=args.limit, offset=args.offset
    )
    print(f"{'id':>5}  {'username':<32} {'role':<8} {'status':<9} last login")
    for user in page.items:
        status = "locked" if user.locked else ("active" if user.active else "inactive")
        print(
            f"{user.id:>5}  {user.username:<32} {user.role:<8} {status:<9} "
            f"{user.last_login_at or '-'}"
        )
    print(f"{len(page.items)} of {page.total} user(s)")
    return 0
