"""`osis migrate`: the command line of the migration, its messages and exit codes.

Exit codes: 0 the store matches the legacy file (quarantined rows are reported, not
failures); 1 verification found differences or conflicts; 2 the command could not run
(bad arguments, a missing or non-SQLite legacy file, a bad or unreachable store, a
report path that cannot be written), with one line on stderr; 130 interrupted (a rerun
finishes the job).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_DIFFERENCES: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


def add_parser(sub: Any, default_store: str) -> None:
    """Register `migrate` on the `osis` command's subparsers."""
    parser = sub.add_parser(
        "migrate",
        help="migrate a legacy hero_agent SQLite file into the store, verifying every row",
        description="Copy every row of a hero_agent SQLite file into OSIS, then compare each with its object. "
        "The legacy file is only read. Safe to rerun: rows already migrated are skipped, so an interrupted "
        "run is finished by running it again. See docs/legacy-schema.md.",
    )
    parser.add_argument("legacy", metavar="LEGACY.db", help="the hero_agent SQLite file")
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("OSIS_STORE", default_store),
        help=f"store URL, as for serve (default: $OSIS_STORE or {default_store})",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="map and count every row; never connect to the store")
    mode.add_argument("--verify-only", action="store_true", help="only compare the store with the legacy file")
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write the report as JSON to FILE (the quarantine file goes next to it)",
    )


def run(args: argparse.Namespace) -> int:
    from osis.store import StoreError

    from .legacy import LegacyError
    from .runner import Mode, OutputError, run as run_migration
    from .write import MigrationError

    mode: Mode = "dry-run" if args.dry_run else "verify-only" if args.verify_only else "migrate"
    try:
        report = run_migration(args.legacy, args.store, mode=mode, report_path=args.report)
    except (LegacyError, StoreError, MigrationError, OutputError) as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        print("osis migrate: interrupted; run the same command again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(report.summary())
    return EXIT_OK if report.ok else EXIT_DIFFERENCES


def _fail(message: str) -> int:
    print(f"osis migrate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


__all__ = ["EXIT_DIFFERENCES", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "add_parser", "run"]
