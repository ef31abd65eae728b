"""Reading a domain directory: files in name order, decoded safely, parsed, lowered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .diagnostics import DiagnosticBag
from .ir import Domain
from .lower import lower_domain
from .source import MAX_SOURCE_BYTES, Location, SourceFile, display_path
from .syntax import FileSyntax, parse_source


@dataclass
class LoadResult:
    domain: Domain | None  # None when any error was reported
    bag: DiagnosticBag
    sources: dict[str, SourceFile]


def read_source(path: Path, bag: DiagnosticBag) -> SourceFile | None:
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            bag.add("OS004", f"file is {size} bytes; schema files are limited to {MAX_SOURCE_BYTES} bytes", Location(shown, 1, 1))
            return None
        raw = path.read_bytes()
    except OSError as err:
        bag.add("OS006", f"cannot read file: {err.strerror or err}", Location(shown, 1, 1))
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        bag.add("OS003", "file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8", Location(shown, 1, 1))
        return None
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        line = raw.count(b"\n", 0, offset) + 1
        bag.add("OS003", "file contains NUL bytes; it looks binary, not like schema text", Location(shown, line, 1))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        bag.add("OS003", f"invalid UTF-8 (byte 0x{raw[err.start]:02x}); schema files must be UTF-8 text", Location(shown, line, column))
        return None
    text = text.removeprefix("\ufeff")
    # Number lines the way the parser does, on "\n" only: str.splitlines() also breaks at
    # \f, \x85, \u2028 and friends, which would put code frames on the wrong line.
    lines = [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")]
    return SourceFile(shown, text, _lines=lines)


def schema_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.oschema") if p.is_file())


def load_domain(directory: Path) -> LoadResult:
    bag = DiagnosticBag()
    sources: dict[str, SourceFile] = {}
    shown = display_path(directory)
    if not directory.is_dir():
        problem = "is not a directory" if directory.exists() else "does not exist"
        bag.add("OS006", f"schema directory '{shown}' {problem}", None)
        return LoadResult(None, bag, sources)
    paths = schema_files(directory)
    if not paths:
        bag.add("OS006", f"schema directory '{shown}' holds no .oschema files", None)
        return LoadResult(None, bag, sources)
    parsed: list[FileSyntax] = []
    complete = True
    for path in paths:
        source = read_source(path, bag)
        if source is None:
            complete = False
            continue
        sources[source.path] = source
        parsed.append(parse_source(source, bag))
    name = directory.resolve().name
    domain = lower_domain(name, parsed, bag, complete)
    if not name.isidentifier() or not name.islower():
        bag.add("OS107", f"domain directory name '{name}' must be a snake_case identifier (it names the package osis_{name})", None)
    if not bag.has_errors and not domain.enums and not domain.structs:
        bag.add("OS006", f"schema directory '{shown}' declares no types; a domain needs at least one struct or enum", None)
    return LoadResult(None if bag.has_errors else domain, bag, sources)
