"""`oschema-gen`: compile `.oschema` domains into Python packages, or check they are current.

Exit codes: 0 success (or up to date), 1 generated output is stale (for `diff`: a change
breaks), 2 schema or usage errors. Nothing a user can type or put in a schema file produces a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence, TextIO

from .diagnostics import DiagnosticBag
from .emit import GeneratedFile, emit_domain
from .evolution import command as diff_command
from .loader import load_domain
from .output import check_files, write_files

EXIT_OK, EXIT_STALE, EXIT_ERRORS = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oschema-gen",
        description="Compile .oschema schema directories (one directory = one domain) into Python packages.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("generate", "write the generated package of each domain into --out"),
        ("check", "exit 1 with a diff when the generated output in --out is stale"),
        ("lint", "only check the schemas and print diagnostics"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("schema_dirs", nargs="+", metavar="SCHEMA_DIR", type=Path)
        if name != "lint":
            cmd.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory (e.g. generated)")
    diff_command.add_parser(sub)
    return parser


def compile_domains(
    dirs: Sequence[Path], err: TextIO | None = None, *, emit: bool = True
) -> tuple[list[GeneratedFile], list[str]] | None:
    """Load, check and (unless `emit` is false) emit every domain; print diagnostics; None when any has errors."""
    stream = err or sys.stderr
    files: list[GeneratedFile] = []
    packages: list[str] = []
    failed = False
    names: dict[str, Path] = {}
    for directory in dirs:
        result = load_domain(directory)
        if result.bag.items:
            print(result.bag.render(result.sources), file=stream)
        if result.domain is None:
            failed = True
            continue
        if result.domain.name in names:
            bag = DiagnosticBag()
            bag.add("OS102", f"domain '{result.domain.name}' given twice ({names[result.domain.name]} and {directory})", None)
            print(bag.render({}), file=stream)
            failed = True
            continue
        names[result.domain.name] = directory
        packages.append(result.domain.package)
        if emit:
            files.extend(emit_domain(result.domain))
    return None if failed else (files, packages)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "diff":
            return diff_command.run(args)
        # `lint` only checks: rendering and formatting the output would be wasted time.
        compiled = compile_domains(args.schema_dirs, emit=args.command != "lint")
        if compiled is None:
            return EXIT_ERRORS
        files, packages = compiled
        if args.command == "lint":
            return EXIT_OK
        out: Path = args.out
        if args.command == "generate":
            touched = write_files(out, packages, files)
            print(f"oschema-gen: {len(files)} file(s) in {out}, {len(touched)} changed")
            return EXIT_OK
        report = check_files(out, packages, files)
        if report.up_to_date:
            print(f"oschema-gen: {out} is up to date ({len(files)} file(s))")
            return EXIT_OK
        for diff in report.stale:
            sys.stdout.write(diff if diff.endswith("\n") else diff + "\n")
        for orphan in report.orphans:
            print(f"orphaned generated file (no longer produced by the schema): {orphan}")
        print(
            f"oschema-gen: {out} is stale ({len(report.stale)} changed, {len(report.orphans)} orphaned); run `make codegen`",
            file=sys.stderr,
        )
        return EXIT_STALE
    except OSError as err:
        print(f"oschema-gen: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
