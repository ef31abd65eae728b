"""`osis`: run and operate an OSIS store.

Errors a user can cause (a bad store URL, an unreachable database, a locked file, a port
in use) end the command with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from osis.server import DEFAULT_STORE, Listen, parse_listen

if TYPE_CHECKING:
    from osis.rpc.limits import Limits

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="osis", description="OSIS: the schema-driven object store of hero_agent.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the JSON-RPC API, the REST API and the dashboard",
                           description="Serve the ai domain: JSON-RPC at /rpc, REST at /api, the dashboard at /.")
    serve.add_argument(
        "--store",
        default=os.environ.get("OSIS_STORE", DEFAULT_STORE),
        help=f"store URL: sqlite:///path/osis.db (embedded, the default: {DEFAULT_STORE}) or postgresql://...",
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT", help="TCP address (default 127.0.0.1:8080)")
    where.add_argument("--socket", metavar="PATH", help="listen on a unix socket (created with mode 0600) instead")
    serve.add_argument("--log-format", choices=("json", "text"), default="json", help="log lines as JSON (default) or text")
    serve.add_argument(
        "--allow-breaking-schema",
        action="store_true",
        help="start even if the schema breaks data the store holds (a field removed, a type changed, ...);"
        " without it such a start is refused with the list of changes (docs/evolution.md)",
    )
    serve.add_argument("--auth", action="store_true",
                       help="demand a bearer token on every API call even if the store has issued none yet")
    serve.add_argument("--insecure", action="store_true",
                       help="allow a non-loopback --listen address without auth (anyone reaching it sees everything)")
    _add_limit_flags(serve)

    demo = sub.add_parser(
        "demo-data",
        help="fill an empty store with synthetic agent activity",
        description="Fill an empty store with weeks of synthetic hero_agent activity: users, conversations, "
        "tool calls, model calls and memories, so the dashboard has something to show.",
    )
    demo.add_argument("--store", default=os.environ.get("OSIS_STORE", DEFAULT_STORE),
                      help=f"store URL, as for serve (default: $OSIS_STORE or {DEFAULT_STORE})")
    demo.add_argument("--days", type=int, default=30, help="UTC days of activity, ending today (default 30)")
    demo.add_argument("--seed", type=int, default=1, help="random seed: the same seed and day give the same data")
    from osis.auth import command as token
    from osis.migrate import command as migrate

    migrate.add_parser(sub, DEFAULT_STORE)
    token.add_parser(sub, DEFAULT_STORE)
    return parser


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    from osis.rpc.limits import MAX_DEPTH_CEILING, MAX_PAGE_CEILING, Limits

    d = Limits()
    group = serve.add_argument_group("limits", "What one request may cost; a request beyond them is refused "
                                               "with a 4xx (REST) or a JSON-RPC error naming the limit.")
    group.add_argument("--max-body", type=int, default=d.max_body, metavar="BYTES",
                       help=f"largest request body, JSON-RPC and REST (default {d.max_body}); larger: 413")
    group.add_argument("--max-batch", type=int, default=d.max_batch, metavar="N",
                       help=f"most calls in one JSON-RPC batch (default {d.max_batch})")
    group.add_argument("--max-depth", type=int, default=d.max_depth, metavar="N",
                       help=f"deepest nesting of JSON arrays/objects in a body (default {d.max_depth}, "
                            f"at most {MAX_DEPTH_CEILING})")
    group.add_argument("--max-page", type=int, default=d.max_page, metavar="N",
                       help=f"largest `limit` of a list/find/search call (default {d.max_page}, "
                            f"at most {MAX_PAGE_CEILING}); larger: -32602 or 422 naming `limit`")
    group.add_argument("--body-timeout", type=float, default=d.body_timeout, metavar="SECONDS",
                       help=f"time a client has to send a request body (default {d.body_timeout:g}); then 408")
    group.add_argument("--header-timeout", type=float, default=d.header_timeout, metavar="SECONDS",
                       help=f"time a client has to send a request's headers (default {d.header_timeout:g}); "
                            "then the connection is closed")
    group.add_argument("--keep-alive-timeout", type=int, default=d.keep_alive_timeout, metavar="SECONDS",
                       help=f"idle keep-alive connections are closed after this (default {d.keep_alive_timeout})")


def _limits(args: argparse.Namespace) -> Limits:
    """The limits the flags ask for; ValueError naming the flag when one is out of range."""
    from dataclasses import fields

    from osis.rpc.limits import InvalidLimit, Limits

    try:
        return Limits(**{f.name: getattr(args, f.name) for f in fields(Limits)})
    except InvalidLimit as err:
        raise ValueError(f"--{err.field.replace('_', '-')} {err.reason}") from None


def _fail(message: str) -> int:
    print(f"osis: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from osis import logs
    from osis.rpc.app import ServeError
    from osis.store.errors import StoreError

    if args.command == "serve":
        try:
            listen = Listen(socket=args.socket) if args.socket else parse_listen(args.listen)
            limits = _limits(args)
        except ValueError as err:
            return _fail(str(err))
        logs.configure(args.log_format)
        from osis.server import ExposureError, run

        try:
            run(args.store, listen, limits, auth=args.auth, insecure=args.insecure,
                allow_breaking_schema=args.allow_breaking_schema)
        except (StoreError, ServeError, ExposureError) as err:
            return _fail(str(err))
        except KeyboardInterrupt:
            return EXIT_OK
        return EXIT_OK
    if args.command == "demo-data":
        return _demo_data(args.store, args.days, args.seed)
    if args.command == "migrate":
        from osis.migrate import command as migrate

        return migrate.run(args)
    if args.command == "token":
        from osis.auth import command as token

        return token.run(args)
    return _fail(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first


def _demo_data(store: str, days: int, seed: int) -> int:
    import time

    from osis.demo import MAX_DAYS, StoreNotEmpty, fill_store
    from osis.rpc.errors import RpcError
    from osis.server import redact
    from osis.store.errors import StoreError

    if not 1 <= days <= MAX_DAYS:
        return _fail(f"--days must be between 1 and {MAX_DAYS}, got {days}")
    started = time.perf_counter()
    try:
        written = fill_store(store, days=days, seed=seed)
    except (StoreError, StoreNotEmpty, RpcError) as err:
        return _fail(str(err))
    print(
        f"wrote {written.total:,} records in {time.perf_counter() - started:.1f} s to {redact(store)}: "
        f"{written.audit:,} tool calls, {written.usage:,} model calls, {written.conversations:,} conversations "
        f"with {written.messages:,} messages, {written.memories:,} memories"
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
