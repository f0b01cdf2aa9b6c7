"""``python -m bot.curation hash-token``: the line to add to ``TUTOR_STAFF_ACCOUNTS`` for a new staff member."""

from __future__ import annotations

import argparse
import getpass
import json
import secrets

from bot.curation.accounts import hash_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.curation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    hashing = commands.add_parser("hash-token", help="hash a staff member's token (a new random one by default)")
    hashing.add_argument("name", help="the staff member's name, as the audit log will show it")
    hashing.add_argument("--ask", action="store_true", help="type the token instead of generating one")
    args = parser.parse_args(argv)
    token = getpass.getpass("token: ") if args.ask else secrets.token_urlsafe(32)
    if not args.ask:
        print(f"token for {args.name} (give it to them; it is not stored): {token}")
    print("TUTOR_STAFF_ACCOUNTS entry:", json.dumps({args.name: hash_token(token)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
