"""`oschema-gen diff`: compare two versions of schema directories and say what breaks.

    oschema-gen diff OLD_DIR NEW_DIR
    oschema-gen diff --against REF SCHEMA_DIR [SCHEMA_DIR ...]

Exit codes: 0 nothing breaks (or `--allow-breaking`), 1 something breaks, 2 a schema has
errors or the command cannot run (a bad directory, an unknown revision, no git).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ..diagnostics import DiagnosticBag
from ..loader import load_domain
from ..source import Location, SourceFile, display_path
from .compare import Change, breaking, diff_snapshots
from .git import GitError, MissingRevision, OldSchema, read_old_schema
from .report import render_json, render_text
from .snapshot import Snapshot, empty_snapshot, snapshot_of

EXIT_OK, EXIT_BREAKING, EXIT_ERRORS = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "list the changes between two versions of a schema and exit 1 when one breaks stored data or clients"
    cmd = sub.add_parser("diff", help=text, description=text + " (docs/evolution.md).")
    cmd.add_argument("dirs", nargs="+", metavar="DIR", type=Path,
                     help="OLD_DIR NEW_DIR, or with --against: one or more SCHEMA_DIRs")
    cmd.add_argument("--against", metavar="REF",
                     help="read the old version of each SCHEMA_DIR from this git revision (e.g. HEAD, origin/main)")
    cmd.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    cmd.add_argument("--allow-breaking", action="store_true",
                     help="a deliberate break: report breaking changes but exit 0")
    cmd.add_argument("--missing-ref-ok", action="store_true",
                     help="with --against: when REF does not exist (no commits yet, a shallow clone), say so and exit 0")


class _Failed(Exception):
    """The command cannot compare: its message (already printed diagnostics aside) says why."""


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout, stderr = out or sys.stdout, err or sys.stderr
    dirs: list[Path] = args.dirs
    if args.against is None and len(dirs) != 2:
        print(f"oschema-gen diff: error: give OLD_DIR and NEW_DIR, or --against REF and SCHEMA_DIRs"
              f" ({len(dirs)} directories given)", file=stderr)
        return EXIT_ERRORS
    if args.missing_ref_ok and args.against is None:
        print("oschema-gen diff: error: --missing-ref-ok only applies with --against", file=stderr)
        return EXIT_ERRORS
    reports: list[tuple[list[Change], str, str]] = []
    try:
        if args.against is None:
            old_dir, new_dir = dirs
            reports.append((diff_snapshots(_load(old_dir, stderr), _load(new_dir, stderr)),
                            display_path(old_dir), display_path(new_dir)))
        else:
            for directory in dirs:
                old = read_old_schema(directory, args.against)
                new = _load(directory, stderr)
                if not old.files:
                    print(f"oschema-gen diff: {old.label()} does not exist: every type of {display_path(directory)}"
                          " is new", file=stderr)
                reports.append((diff_snapshots(_load_old(old, new.domain, stderr), new), old.label(),
                                display_path(directory)))
    except MissingRevision as error:
        if args.missing_ref_ok:
            print(f"oschema-gen diff: {error}; nothing to compare against, so nothing can break", file=stdout)
            return EXIT_OK
        print(f"oschema-gen diff: error: {error}", file=stderr)
        return EXIT_ERRORS
    except GitError as error:
        print(f"oschema-gen diff: error: {error}", file=stderr)
        return EXIT_ERRORS
    except _Failed:
        return EXIT_ERRORS
    if args.format == "json":
        if len(reports) == 1:
            print(render_json(*reports[0]), file=stdout)
        else:
            print("[" + ",\n".join(render_json(*r) for r in reports) + "]", file=stdout)
    else:
        print("\n".join(render_text(*r) for r in reports), file=stdout)
    found = [c for changes, _, _ in reports for c in breaking(changes)]
    if not found:
        return EXIT_OK
    if args.allow_breaking:
        print(f"oschema-gen diff: {len(found)} breaking change(s) allowed by --allow-breaking", file=stderr)
        return EXIT_OK
    print(f"oschema-gen diff: {len(found)} breaking change(s); if deliberate, rerun with --allow-breaking"
          " (docs/evolution.md)", file=stderr)
    return EXIT_BREAKING


def _load(directory: Path, err: TextIO) -> Snapshot:
    result = load_domain(directory)
    if result.bag.items:
        print(result.bag.render(result.sources), file=err)
    if result.domain is None:
        raise _Failed()
    return snapshot_of(result.domain)


def _load_old(old: OldSchema, domain: str, err: TextIO) -> Snapshot:
    if not old.files:
        return empty_snapshot(domain)
    with tempfile.TemporaryDirectory(prefix="oschema-diff-") as tmp:
        directory = old.write(Path(tmp), domain)
        result = load_domain(directory)

        def label(path: str) -> str:
            return old.label(path.replace("\\", "/").rsplit("/", 1)[-1])

        if result.bag.items:
            # Point the old version's diagnostics at REF:path, not at the temporary copy.
            bag = DiagnosticBag()
            bag.items = [
                dataclasses.replace(d, location=Location(label(d.location.path), d.location.line, d.location.column))
                if d.location else d
                for d in result.bag.items
            ]
            sources = {label(p): SourceFile(label(p), s.text) for p, s in result.sources.items()}
            print(f"oschema-gen diff: the schema at {old.label()} has errors:", file=err)
            print(bag.render(sources), file=err)
        if result.domain is None:
            raise _Failed()
        return snapshot_of(result.domain, label)
