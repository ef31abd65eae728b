"""Templates and formatting shared by the emitters.

Jinja is configured the strict way (undefined names are errors, block tags leave no
blank lines) so that a template mistake fails loudly instead of emitting odd code.
Black is pinned to one exact version in pyproject.toml and called in-process: output
must be byte-identical across runs and machines. Its results are memoised on disk (see
"the format cache" below), so an unchanged schema is checked without running black.
"""

from __future__ import annotations

import hashlib
import importlib
import keyword
import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING
from pathlib import Path

import jinja2

from .. import cache_dir

if TYPE_CHECKING:
    import ast

LINE_LENGTH = 100


def templates_dir() -> Path:
    """Inside a wheel the templates sit in the package; in a checkout, at the repository root."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (Jinja checks each against its template's source).

    A cache must never fail a run: unreadable or unwritable entries are simply skipped.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry: compile the template instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    compiled = cache_dir("jinja")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_BytecodeCache(str(compiled)) if compiled else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # `py` spells a value as a Python literal; formatting only, never a decision.
    env.filters["py"] = repr
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def format_python(source: str) -> str:
    """Black's formatting of `source`, from the format cache when black has done it before."""
    key = _format_key(source)
    cached = _cache_get(key)
    if cached is not None:
        return cached
    formatted = _format_selectively(source)
    _cache_put(key, formatted)
    return formatted


def _black(source: str, line_length: int = LINE_LENGTH) -> str:
    import black  # imported here: only a cache miss needs it, and it costs ~100 ms to import
    from black.mode import Mode, TargetVersion

    return black.format_str(source, mode=Mode(line_length=line_length, target_versions={TargetVersion.PY311}))


# -- black, statement by statement ----------------------------------------------------------
# Black costs ~1 ms per line even on lines it leaves alone, and nearly every generated line
# is already in black's style: the templates are written that way. So each statement is
# handled on its own: a short plain line (ASCII, no comment or backslash, strings black
# would not requote) is kept as rendered; the shapes templates produce (long
# `x: T = Field(...)` lines, exploded brackets with magic trailing commas, long `def`
# headers, docstrings) are laid out by the rules black applies to them (`_Layout`,
# `_Selective.docstring`); whatever is left goes to black, batched into one run per line
# length, dedented (docstrings inside stand-in classes nested to their own depth, so
# black's docstring rules apply as in place). Anything unusual (several statements on a
# line, strings spanning lines outside docstrings, ...) falls back to black on the whole
# module. tests/compiler/test_generated_models.py and test_fuzz.py check that the result
# is byte-identical to black on the whole module, for real and fuzzed schemas.

_STUB = "class _:\n"
_CODE = r"[ A-Za-z0-9_.,:=()\[\]{}|+*/<>@!%&^~-]"
_STRINGS = re.compile(r'"[^"]*"|\'[^\']*\'')
# Code black would respace or rewrite even on a short line: redundant parentheses after
# `=`, `->` or a keyword, `class A():`, `a ** b`, odd numeric literals, odd whitespace.
_REWRITTEN = re.compile(
    r"(?:^|=|->|\b(?:return|in|if|elif|while|for|del|assert|with|await|not|and|or|is|else|yield|lambda"
    r"|except|raise|import))\s*\(|^class \w+\(\)|\s\*\*\s|\b0[xXoObB]|\d[EJL]\b|\d[E][-+]?\d"
    r"|[(\[{] | [)\]},:]|\S {2,}|\s$"
)
# One line of code whose strings are all "double-quoted", without backslashes.
_PLAIN_CODE = re.compile(rf'(?:{_CODE}|(?<![A-Za-z0-9_])"[ !#-\[\]-~]*")*')
_PIECE = re.compile(
    rf'(?P<code>{_CODE}+)|(?<![A-Za-z0-9_])(?:(?P<double>"[ !#-\[\]-~]*")|(?P<single>\'[ -&(-\[\]-~]*\'))'
)


class _Fallback(Exception):
    """The module needs black as a whole."""


def _format_selectively(source: str) -> str:
    try:
        return _Selective(source).format()
    except _Fallback:
        return _black(source)


class _Layout:
    """Black's layout of bracketed code, for the shapes generated code has; None for others.

    Shapes: `target = Call(args)` / `target = {items}` statements and dict, list or call
    items inside them, and `def name(params) -> T:` headers, where every piece outside
    brackets is a plain name, a "string" or a `name=value` pair. Black joins a statement
    into one line, and where that is too long splits it at its last bracket (the first one
    for a `def`): the contents go on one line of their own when they fit, else one item
    per line with a trailing comma; a magic trailing comma, or a comma in a collection
    literal that must be split, always puts one item per line.
    """

    _ATOM = re.compile(r'(?:[A-Za-z_][A-Za-z0-9_]*=)?(?:"[^"]*"|[A-Za-z_][A-Za-z0-9_]*|-?[0-9][0-9_.]*)')

    @classmethod
    def statement(cls, chunk: list[str], indent: int, *, header: bool) -> str | None:
        text = cls.join(chunk)
        if text is None:
            return None
        if header:
            lines = cls.def_header(text, indent)
        else:
            lines = cls.line(text, indent, "", top=True)
        return None if lines is None else "".join(line + "\n" for line in lines)

    @staticmethod
    def join(chunk: list[str]) -> str | None:
        """The lines of one statement as one line, spaced as black spaces them."""
        parts: list[str] = []
        for raw in chunk:
            normalized = _Selective.normalized(raw.strip())
            if normalized is None:
                return None
            piece = normalized.rstrip("\n")
            if parts and not parts[-1].endswith(("(", "[", "{")) and not piece.startswith((")", "]", "}")):
                parts.append(" ")
            parts.append(piece)
        return "".join(parts)

    @staticmethod
    def brackets(text: str) -> tuple[dict[int, int], dict[int, list[int]]] | None:
        """Matching brackets (opening -> closing) and each bracket's own commas (-1: top level)."""
        pairs = {"(": ")", "[": "]", "{": "}"}
        match: dict[int, int] = {}
        commas: dict[int, list[int]] = {-1: []}
        stack = [-1]
        quote = ""
        for i, ch in enumerate(text):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch in pairs:
                stack.append(i)
                commas[i] = []
            elif ch in ")]}":
                opening = stack.pop()
                if opening < 0 or pairs[text[opening]] != ch:
                    return None
                match[opening] = i
            elif ch == ",":
                commas[stack[-1]].append(i)
        return (match, commas) if not quote and stack == [-1] else None

    @classmethod
    def magic(cls, text: str, info: tuple[dict[int, int], dict[int, list[int]]]) -> bool | None:
        """Whether a magic trailing comma is in `text`; None for ones black treats specially."""
        match, commas = info
        found = False
        for opening, closing in match.items():
            own = commas[opening]
            if own and not text[own[-1] + 1 : closing].strip():
                if len(own) == 1 and (text[opening] == "[" or cls.kind(text, opening) == "display"):
                    return None  # a one-element tuple or subscript
                found = True
        return found

    @staticmethod
    def kind(text: str, opening: int) -> str:
        """"call" (or "other" for a subscript), "display" for a literal, "other" for the rest."""
        before = text[:opening].rstrip(" ")
        if keyword.iskeyword(before.rsplit(" ", 1)[-1].rsplit("(", 1)[-1]):
            return "other"  # `not (...)`, `in [...]`: black has rules of its own there
        if text[opening] != "[" and before[-1:].isidentifier() or before.endswith((")", "]")):
            return "call" if text[opening] == "(" else "other"
        if before.endswith(("=", ":", ",", "(", "[", "{")) or not before:
            return "display"
        return "other"

    @classmethod
    def items(cls, text: str, opening: int, closing: int, commas: list[int]) -> list[str] | None:
        cuts = [opening, *commas, closing]
        items = [text[a + 1 : b].strip() for a, b in zip(cuts, cuts[1:])]
        if items and not items[-1] and commas:
            items.pop()  # the trailing comma
        return items if items and all(items) else None

    @classmethod
    def line(cls, text: str, indent: int, suffix: str, *, top: bool = False) -> list[str] | None:
        info = cls.brackets(text)
        if info is None:
            return None
        magic = cls.magic(text, info)
        if magic is None:
            return None
        pad, inner = " " * indent, " " * (indent + 4)
        if not magic and indent + len(text) + len(suffix) <= LINE_LENGTH:
            return [pad + text + suffix]
        match, commas = info
        closing = len(text) - 1
        opening = next((o for o, c in match.items() if c == closing), None)
        if opening is None:
            # Nothing to split at: black leaves a lone name or string long.
            return [pad + text + suffix] if cls._ATOM.fullmatch(text) and not top else None
        head, tail = text[: opening + 1], text[closing:] + suffix
        kind = cls.kind(text, opening)
        if kind == "other" or indent + len(head) > LINE_LENGTH or indent + len(tail) > LINE_LENGTH:
            return None
        if top and not re.match(r"[A-Za-z_][A-Za-z0-9_.]*(?:: [^=]*)? = ", head):
            return None  # only assignments: other statements have other rules
        items = cls.items(text, opening, closing, commas[opening])
        if items is None:
            return None
        own_magic = bool(commas[opening]) and not text[commas[opening][-1] + 1 : closing].strip()
        if top and kind == "call" and len(items) == 1 and cls._ATOM.fullmatch(items[0]) and "=" not in items[0]:
            return None  # `x = f("...")`: black weighs wrapping the right-hand side in parentheses
        if not own_magic and not (kind == "display" and commas[opening]):
            body = ", ".join(items)
            body_info = cls.brackets(body)
            if body_info and cls.magic(body, body_info) is False and indent + 4 + len(body) <= LINE_LENGTH:
                return [pad + head, inner + body, pad + tail]
            if len(items) == 1:
                sub = cls.line(items[0], indent + 4, "")
                return None if sub is None else [pad + head, *sub, pad + tail]
        out = [pad + head]
        for item in items:
            sub = cls.line(item, indent + 4, ",")
            if sub is None:
                return None
            out += sub
        return out + [pad + tail]

    @classmethod
    def def_header(cls, text: str, indent: int) -> list[str] | None:
        """`def name(params) -> T:` split at its parameters, one per line if they do not fit."""
        found = re.match(r"((?:async )?def [A-Za-z_][A-Za-z0-9_]*\()", text)
        info = cls.brackets(text)
        if not found or info is None or not text.endswith(":"):
            return None
        magic = cls.magic(text, info)
        if magic is None or (not magic and indent + len(text) <= LINE_LENGTH):
            return None if magic is None else [" " * indent + text]
        match, commas = info
        opening = found.end() - 1
        closing = match[opening]
        head, tail = text[: opening + 1], text[closing:]
        if any(ch in tail[1:] for ch in "([{") and not re.fullmatch(r"\) -> [A-Za-z_][A-Za-z0-9_.]*(?:\[[A-Za-z0-9_., |]*\])?(?: \| None)?:", tail):
            return None
        if indent + len(head) > LINE_LENGTH or indent + len(tail) > LINE_LENGTH:
            return None
        items = cls.items(text, opening, closing, commas[opening])
        if items is None or len(items) < 2 or any(cls.magic(i, cls.brackets(i) or ({}, {-1: []})) for i in items):
            return None
        pad, inner = " " * indent, " " * (indent + 4)
        own_magic = not text[commas[opening][-1] + 1 : closing].strip()
        body = ", ".join(items)
        if not own_magic and indent + 4 + len(body) <= LINE_LENGTH:
            return [pad + head, inner + body, pad + tail]
        out = [pad + head]
        for item in items:
            if indent + 4 + len(item) + 1 > LINE_LENGTH or any(ch in item for ch in "([{"):
                return None
            out.append(f"{inner}{item},")
        return out + [pad + tail]


class _Job:
    """One statement (or header, or docstring) for black, formatted at column 0."""

    def __init__(self, text: str, line_length: int, indent: int, kind: str) -> None:
        self.text, self.line_length, self.indent, self.kind = text, line_length, indent, kind
        self.formatted: str | None = None

    def result(self) -> str:
        assert self.formatted is not None
        lines = self.formatted.splitlines(keepends=True)
        if self.kind == "module_docstring":
            return self.formatted
        if self.kind == "body_docstring":
            stubs = [" " * (4 * level) + _STUB for level in range(self.indent // 4)]
            if lines[: len(stubs)] != stubs:
                raise _Fallback
            return "".join(lines[len(stubs) :])
        elif self.kind == "header":
            if not lines or lines[-1] != "    pass\n":
                raise _Fallback
            lines = lines[:-1]
        pad = " " * self.indent
        return "".join(pad + line if line.strip() else line for line in lines)


# Separates the jobs of one black run; black keeps comments on their own lines.
_MARK = "# \N{WHITE SQUARE} oschema-gen job \N{WHITE SQUARE}"


def _run_jobs(jobs: list[_Job]) -> None:
    """Black on every job, in one run per line length: black's cost is mostly per run."""
    by_length: dict[int, list[_Job]] = {}
    for job in jobs:
        if job.kind == "module_docstring":
            job.formatted = _black(job.text, job.line_length)  # must come first in its module
        else:
            by_length.setdefault(job.line_length, []).append(job)
    for line_length, group in by_length.items():
        # `pass` first: no job is the first statement of the run, so none is a module docstring.
        text = "pass\n" + "".join(f"{_MARK}\n{job.text}" for job in group)
        pieces = _black(text, line_length).split(f"{_MARK}\n")
        if len(pieces) != len(group) + 1 or pieces[0].strip() != "pass":
            raise _Fallback
        for job, piece in zip(group, pieces[1:]):
            job.formatted = piece.strip("\n") + "\n"


class _Selective:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)
        if not source.endswith("\n") or any(not line.endswith("\n") for line in self.lines):
            raise _Fallback  # \r, \f, ... line breaks: leave them to black
        self.units: list[tuple[int, int, str]] = []  # (first line, last line, kind), 0-based

    def format(self) -> str:
        import ast

        try:
            tree = ast.parse("".join(self.lines))
        except SyntaxError:
            raise _Fallback from None
        self.collect(tree.body, docstring="module")
        out: list[str | _Job] = []
        done = 0
        for first, last, kind in self.units:
            if first < done:
                raise _Fallback  # several statements on one line
            out.extend(self.lines[done:first])  # blank lines and comments between statements
            out.append(self.unit(first, last, kind))
            done = last + 1
        out.extend(self.lines[done:])
        _run_jobs([piece for piece in out if isinstance(piece, _Job)])
        return self.tidy("".join(piece if isinstance(piece, str) else piece.result() for piece in out))

    @staticmethod
    def tidy(text: str) -> str:
        """Blank-line rules black applies everywhere: at most two in a row, none at the end."""
        lines = text.splitlines(keepends=True)
        kept: list[str] = []
        blank = 0
        for line in lines:
            blank = blank + 1 if line == "\n" else 0
            if blank <= 2:
                kept.append(line)
        while kept and kept[-1] == "\n":
            kept.pop()
        return "".join(kept)

    def collect(self, body: list[ast.stmt], *, docstring: str) -> None:
        import ast

        for i, node in enumerate(body):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            last = (node.end_lineno or node.lineno) - 1
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                header_last = node.body[0].lineno - 2
                if header_last < node.lineno - 1:
                    raise _Fallback  # `class A: pass`
                # Blank lines and comments before the first body statement are not the header.
                while self.lines[header_last].strip() in ("", "#") or self.lines[header_last].lstrip().startswith("#"):
                    header_last -= 1
                self.units.append((first, header_last, "header"))
                self.collect(node.body, docstring="body")
                continue
            kind = "statement"
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                kind = f"{docstring}_docstring" if i == 0 else "string"
            self.units.append((first, last, kind))

    def unit(self, first: int, last: int, kind: str) -> str | _Job:
        chunk = self.lines[first : last + 1]
        indent = len(chunk[0]) - len(chunk[0].lstrip(" "))
        pad = " " * indent
        if len(chunk) == 1:
            if kind.endswith("docstring"):
                kept = self.plain_docstring(chunk[0])
            elif kind == "string":
                kept = self.plain_string(chunk[0])
            else:
                kept = self.plain(chunk[0])
            if kept is None and kind == "statement":
                kept = self.long_call(chunk[0], indent)
            if kept is not None:
                return kept
        elif kind == "statement":
            kept = self.exploded(chunk, indent)
            if kept is not None:
                return kept
        if kind.endswith("docstring"):
            kept = self.docstring(chunk, indent)
            if kept is not None:
                return kept
        if kind == "header" and chunk[0].lstrip().startswith("@"):
            # Decorators are lines of their own; black treats them like any short line.
            decorators = [self.plain(line) for line in chunk if line.lstrip().startswith("@")]
            rest = chunk[len(decorators) :]
            if all(decorators) and rest and not rest[0].lstrip().startswith("@"):
                tail = self.plain(rest[0]) if len(rest) == 1 else None
                tail = tail or _Layout.statement(rest, indent, header=True)
                if tail is not None:
                    return "".join(d for d in decorators if d) + tail
        if kind in ("statement", "header"):
            kept = _Layout.statement(chunk, indent, header=kind == "header")
            if kept is not None:
                return kept
        if kind == "body_docstring":
            # Inside stand-in classes nested to the docstring's own depth, black applies its
            # docstring rules exactly as in place: the docstring's lines are kept as they are.
            if indent % 4 or not indent:
                raise _Fallback
            text = "".join(" " * (4 * level) + _STUB for level in range(indent // 4)) + "".join(chunk)
            return _Job(text, LINE_LENGTH, indent, kind)
        if kind == "module_docstring":
            return _Job("".join(chunk), LINE_LENGTH, 0, kind)
        if kind == "string" and len(chunk) > 1:
            if chunk[0].lstrip(" ").startswith(('"""', 'r"""')) and chunk[-1].rstrip().endswith('"""'):
                return "".join(chunk)  # black never touches a multi-line """string"""
            raise _Fallback
        if any(line.strip() and len(line) - len(line.lstrip(" ")) < indent for line in chunk):
            raise _Fallback
        if self.spans_strings(chunk):
            raise _Fallback
        text = "".join(line[indent:] for line in chunk)
        if kind == "header":
            text += "    pass\n"
        return _Job(text, LINE_LENGTH - indent, indent, kind)

    @staticmethod
    def plain(line: str) -> str | None:
        """`line` as black would leave it, when that is certain; None when black must see it.

        Certain means: short ASCII code without comments or backslashes, and no magic trailing
        comma; its strings are plain "double-quoted" ones, or 'single-quoted' ones without any
        quote or backslash inside, which black requotes with double quotes (done here).
        """
        body = line.rstrip("\n")
        if len(body) > LINE_LENGTH:
            return None
        return _Selective.normalized(body)

    @staticmethod
    def normalized(body: str) -> str | None:
        """`body` (one line, any length) with black's quotes, when nothing else would change."""
        if body != body.rstrip() or not body.isascii() or '"""' in body or "\'\'\'" in body:
            return None
        if any(pair in body for pair in (",)", ",]", ",}")):
            return None  # a magic trailing comma: black explodes the brackets
        if _REWRITTEN.search(_STRINGS.sub('""', body.lstrip(" "))):
            return None
        if "'" not in body and _PLAIN_CODE.fullmatch(body):
            return body + "\n"  # the common case: no single quotes to consider
        out: list[str] = []
        position = 0
        previous = ""
        for piece in _PIECE.finditer(body):
            if piece.start() != position:
                return None  # a character black might treat differently
            position = piece.end()
            text = piece.group()
            if piece.lastgroup == "code":
                previous = text[-1]
                out.append(text)
                continue
            if previous.isalnum() or previous == "_":
                return None  # a prefixed string (r'', f"", ...)
            if piece.lastgroup == "single" and '"' not in text:
                text = f'"{text[1:-1]}"'  # black prefers double quotes when no escape is needed
            out.append(text)
            previous = '"'
        return "".join(out) + "\n" if position == len(body) else None

    @staticmethod
    def plain_docstring(line: str) -> str | None:
        """A one-line `\"\"\"docstring\"\"\"` black leaves alone (nothing to strip, escape or requote)."""
        stripped = line.strip()
        text = stripped[3:-3]
        if not (stripped.startswith('"""') and stripped.endswith('"""') and len(stripped) >= 7):
            return None
        if len(line.rstrip("\n")) > LINE_LENGTH or line != line.rstrip() + "\n" or not text.isascii():
            return None
        if text != text.strip() or '"' in text or "\\" in text or not text.isprintable():
            return None
        return line

    @staticmethod
    def docstring(chunk: list[str], indent: int) -> str | None:
        """A `\"\"\"docstring\"\"\"` as black rewrites it, for plain text (the rules of black's linegen).

        Black strips the first line, removes the common indentation of the others and
        indents them like the docstring, strips trailing whitespace, and leaves everything
        else alone. Anything it treats specially (quotes or backslashes at the ends,
        tabs, non-ASCII, long last lines) goes to black.
        """
        literal = "".join(chunk)[indent:].rstrip("\n")
        if not (literal.startswith('"""') and literal.endswith('"""') and len(literal) >= 6) or indent % 4:
            return None
        text = literal[3:-3]
        if not text.strip() or '"""' in text or "\\" in text or "\t" in text or "\r" in text or not text.isascii():
            return None
        if not all(line.isprintable() for line in text.split("\n")):
            return None
        lines = text.split("\n")
        if len(lines) == 1:
            body = text.strip()
        else:
            prefix = " " * indent
            rest = [line for line in lines[1:] if line.strip()]
            common = min((len(line) - len(line.lstrip()) for line in rest), default=0)
            trimmed = [lines[0].strip()]
            for i, line in enumerate(lines[1:]):
                stripped = line[common:].rstrip()
                trimmed.append(prefix + stripped if stripped or i == len(lines) - 2 else "")
            body = "\n".join(trimmed)
            last = body.splitlines()[-1] if not body.endswith("\n") else ""
            if len(last) + 3 > LINE_LENGTH:
                return None  # black may move the closing quotes
        if body.startswith('"') or body.endswith('"'):
            return None  # black pads a quote next to the docstring's own quotes
        return " " * indent + '"""' + body + '"""\n'

    @staticmethod
    def plain_string(line: str) -> str | None:
        """A one-line `\"\"\"string\"\"\"` statement (not a docstring): black keeps those as they are."""
        stripped = line.strip()
        if not (stripped.startswith('"""') and stripped.endswith('"""') and len(stripped) >= 6):
            return None
        if len(line.rstrip("\n")) > LINE_LENGTH or line != line.rstrip() + "\n" or not line.isascii():
            return None
        return line if '"""' not in stripped[3:-3] else None

    def exploded(self, chunk: list[str], indent: int) -> str | None:
        """A bracket already exploded one item per line with a magic trailing comma, as black would."""
        first, last = chunk[0].rstrip("\n"), chunk[-1].rstrip("\n")
        closing = {"(": ")", "[": "]", "{": "}"}.get(first[-1:])
        if closing is None or last != " " * indent + closing:
            return None
        if first[-1] == "[" and (first[-2:-1].isalnum() or first[-2:-1] in ("_", "]", ")")):
            return None  # a subscript: black treats its trailing comma differently
        head = self.plain(first + "\n")
        if head is None and re.fullmatch(r" *from [A-Za-z0-9_.]+ import \(", first):
            head = first + "\n"  # black keeps the parentheses of an exploded import
        if head is None or any(b in first[:-1] for b in "([{"):
            return None
        out = [head]
        item_pad = " " * (indent + 4)
        for line in chunk[1:-1]:
            item = line.rstrip("\n")
            if not item.startswith(item_pad) or item[len(item_pad) : len(item_pad) + 1] == " ":
                return None
            if not item.endswith(",") or self._top_level_commas(item) != 1:
                return None
            kept = self.plain(item[:-1] + "\n")
            if kept is None:
                return None
            out.append(kept.rstrip("\n") + ",\n")
        return "".join(out) + chunk[-1] if len(chunk) > 2 else None

    def long_call(self, line: str, indent: int) -> str | None:
        """`name: hint = Call(a=1, b="...")` too long for a line, split as black splits it.

        Black splits at the call's brackets: the arguments go on one line of their own when
        they fit there, else one per line with a trailing comma. Only the simple shape is
        handled (short head, no brackets in the arguments); anything else goes to black.
        """
        normalized = self.normalized(line.rstrip("\n"))
        body = normalized.rstrip("\n") if normalized else ""
        if not body.endswith(")"):
            return None
        opening = body.find("(")
        head, args = body[: opening + 1], body[opening + 1 : -1]
        if len(head) > LINE_LENGTH or not args or " = " not in head or not head[-2:-1].isidentifier():
            return None
        if self._top_level_commas(head) or any(ch in "([{)]}" for ch in self._outside_strings(args)):
            return None
        if not (head.lstrip().split(":", 1)[0].split(" = ", 1)[0]).isidentifier():
            return None
        pad, inner = " " * indent, " " * (indent + 4)
        if len(inner) + len(args) <= LINE_LENGTH or not self._top_level_commas(args):
            return f"{head}\n{inner}{args}\n{pad})\n"
        items = self._split_commas(args)
        return head + "\n" + "".join(f"{inner}{item},\n" for item in items) + f"{pad})\n"

    @staticmethod
    def _outside_strings(text: str) -> str:
        out, quote = [], ""
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            else:
                out.append(ch)
        return "".join(out)

    @staticmethod
    def _split_commas(text: str) -> list[str]:
        items: list[str] = []
        current: list[str] = []
        quote = ""
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == ",":
                items.append("".join(current).strip())
                current = []
                continue
            current.append(ch)
        items.append("".join(current).strip())
        return items

    @staticmethod
    def _top_level_commas(text: str) -> int:
        depth, count, quote = 0, 0, ""
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                count += 1
        return count

    @staticmethod
    def spans_strings(chunk: list[str]) -> bool:
        """True when a string literal spans lines (its text must not be re-indented)."""
        import io
        import tokenize

        try:
            for tok in tokenize.generate_tokens(io.StringIO("".join(chunk).lstrip(" ")).readline):
                if tok.type == tokenize.STRING and tok.start[0] != tok.end[0]:
                    return True
        except (tokenize.TokenError, SyntaxError):
            return True
        return False


# -- the format cache -------------------------------------------------------------------
# Black costs ~1 ms per generated line, most of `oschema-gen check`'s time. Its output is
# a pure function of (black version, mode, input), so it is memoised on disk, keyed by a
# hash of all three: a hit is byte-identical to what black would write. Entries carry a
# hash of their content and are ignored when it does not match; the directory is pruned
# to the most recently used entries. Any OS error just means "no cache".

CACHE_ENTRIES = 512


def _cache_dir() -> Path | None:
    return cache_dir("format")


@lru_cache(maxsize=1)
def _black_version() -> str:
    try:  # black's build writes this tiny module; far cheaper than importing black
        return str(importlib.import_module("_black_version").version)
    except (ImportError, AttributeError):  # pragma: no cover - other black packagings
        from importlib.metadata import version as dist_version

        return dist_version("black")


# Bump when the selective formatting changes, so entries written by an older one are not used.
FORMATTER_VERSION = 1


def _format_key(source: str) -> str:
    head = f"black {_black_version()}; line length {LINE_LENGTH}; py311; v{FORMATTER_VERSION}\n".encode()
    return hashlib.sha256(head + source.encode("utf-8", "surrogatepass")).hexdigest()


def _cache_get(key: str) -> str | None:
    directory = _cache_dir()
    if directory is None:
        return None
    path = directory / key
    try:
        digest, _, text = path.read_text(encoding="utf-8").partition("\n")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            return None
        os.utime(path)  # most recently used
    except (OSError, UnicodeError):
        return None
    return text


def _cache_put(key: str, text: str) -> None:
    directory = _cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}\n{text}", encoding="utf-8")
        tmp.replace(directory / key)
        entries = [p for p in directory.iterdir() if not p.name.startswith(".")]
        if len(entries) > CACHE_ENTRIES:
            entries.sort(key=lambda p: p.stat().st_mtime)
            for old in entries[: len(entries) - CACHE_ENTRIES * 3 // 4]:
                old.unlink(missing_ok=True)
    except (OSError, UnicodeError):
        return
