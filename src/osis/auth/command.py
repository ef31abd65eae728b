"""`osis token create|list|revoke`: manage the bearer tokens of a store.

`create` prints the new token once, on stdout alone (so `TOKEN=$(osis token create ...)`
works), and what it is on stderr; the store keeps only its hash. Errors end with one line
on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2


def add_parser(sub: Any, default_store: str) -> None:
    """Register `token` on the `osis` command's subparsers."""
    parser = sub.add_parser(
        "token",
        help="create, list and revoke bearer tokens",
        description="Bearer tokens for the API. Once a store has issued a token, `osis serve` demands one on "
        "every API call: a user token sees only that user's objects, an admin token sees everything.",
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="URL", default=os.environ.get("OSIS_STORE", default_store),
                       help=f"store URL, as for serve (default: $OSIS_STORE or {default_store})")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", parents=[store], help="issue a token and print it once")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="USER_SID", help="a token acting for this user, confined to its objects")
    who.add_argument("--admin", action="store_true", help="a token that sees and changes everything")
    actions.add_parser("list", parents=[store], help="list tokens: id, shown prefix, kind, user, created, revoked")
    revoke = actions.add_parser("revoke", parents=[store], help="revoke a token (within a second on running servers)")
    revoke.add_argument("id", metavar="ID", help="the token's id, from `osis token list`")


def run(args: argparse.Namespace) -> int:
    from osis.server import redact
    from osis.store.engine import open_engine
    from osis.store.errors import StoreError

    from .principal import Kind
    from .tokens import TOKEN_SPEC, TokenError, TokenStore, now_text

    try:
        engine = open_engine(args.store)
        try:
            # Only the token collection: the domain's collections are left as they are.
            engine.open([TOKEN_SPEC])
            tokens = TokenStore(engine)
            if args.action == "create":
                kind: Kind = "admin" if args.admin else "user"
                token, info = tokens.create(kind, args.user, now=now_text())
                print(token)
                who = "admin" if info.kind == "admin" else f"user {info.user_sid}"
                print(f"created token {info.id} ({who}) in {redact(args.store)}; it is shown only this once",
                      file=sys.stderr)
            elif args.action == "list":
                _print_list(tokens)
            else:
                info = tokens.revoke(args.id, now=now_text())
                print(f"revoked token {info.id} ({info.shown}...); running servers refuse it within a second")
        finally:
            engine.close()
    except (StoreError, TokenError) as err:
        print(f"osis: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _print_list(tokens: Any) -> None:
    rows = [("ID", "TOKEN", "KIND", "USER", "CREATED", "REVOKED")]
    for t in tokens.list():
        rows.append((t.id, f"{t.shown}...", t.kind, t.user_sid or "-", t.created_at, t.revoked_at or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
