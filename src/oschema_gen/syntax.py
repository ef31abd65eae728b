"""Parsing: `.oschema` text to a syntax tree that still looks like the source.

The grammar is Lark LALR with positions on. Comments are ignored by the grammar but
collected by a lexer callback: a comment block right above a declaration is its doc, a
comment after a field on its line is that field's doc. Syntax errors become diagnostics
with the expected tokens spelled the way the user writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import cache_dir
from .diagnostics import DiagnosticBag
from .source import SourceFile

# Deeper than this is never a real schema; the limit keeps recursion (and Python's
# stack) out of reach of hostile input such as ten thousand nested brackets.
MAX_TYPE_DEPTH = 16


@dataclass(frozen=True)
class Span:
    path: str
    line: int
    column: int
    length: int = 1


@dataclass(frozen=True)
class TypeExpr:
    """`name`, `[item]` or `{key: value}` as written."""

    kind: str  # "named" | "list" | "map"
    span: Span
    name: str = ""
    item: TypeExpr | None = None
    key: TypeExpr | None = None


@dataclass(frozen=True)
class AnnotationSyntax:
    name: str
    args: tuple[str, ...] | None
    span: Span
    # Where each argument is written, and whether it is a bare name (not a "string" or
    # number): `@index(f2, f3)` names fields, and its errors point at the argument.
    arg_spans: tuple[Span, ...] = ()
    arg_is_name: tuple[bool, ...] = ()


@dataclass(frozen=True)
class FieldSyntax:
    name: str
    span: Span
    type: TypeExpr
    optional_marks: int
    annotations: tuple[AnnotationSyntax, ...]
    doc: str


@dataclass(frozen=True)
class StructSyntax:
    name: str
    span: Span
    fields: tuple[FieldSyntax, ...]
    doc: str
    root: bool


@dataclass(frozen=True)
class EnumValueSyntax:
    name: str
    span: Span
    doc: str


@dataclass(frozen=True)
class EnumSyntax:
    name: str
    span: Span
    values: tuple[EnumValueSyntax, ...]
    doc: str
    root: bool


@dataclass(frozen=True)
class ParamSyntax:
    name: str
    span: Span
    type: TypeExpr


@dataclass(frozen=True)
class MethodSyntax:
    name: str
    span: Span
    params: tuple[ParamSyntax, ...]
    output: TypeExpr | None
    doc: str


@dataclass(frozen=True)
class ServiceSyntax:
    name: str
    span: Span
    methods: tuple[MethodSyntax, ...]
    doc: str


Decl = StructSyntax | EnumSyntax | ServiceSyntax


@dataclass
class FileSyntax:
    source: SourceFile
    decls: list[Decl] = field(default_factory=list)
    # True when the file could not be parsed: its declarations are missing from `decls`.
    failed: bool = False


ROOT_MARKER = "[rootobject]"

# How the parser's terminal names read to a user in "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "OPT": "'?'",
    "$END": "end of file",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = files("oschema_gen").joinpath("grammar.lark").read_text(encoding="utf-8")
    # Building the LALR tables is most of a small run's time; Lark keeps them in a file of
    # ours, checked against a hash of the grammar and options (and rebuilt when unusable).
    directory = cache_dir("lark")
    cache: str | bool = str(directory / "grammar.lalr") if directory else False
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=cache)


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    for term in _parser().terminals:
        if term.name == name and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return name.lower()


class _Comments:
    """Comments by line, and which lines hold nothing but a comment."""

    def __init__(self, source: SourceFile, tokens: list[Token]) -> None:
        self.by_line: dict[int, str] = {}
        self.own_line: set[int] = set()
        for tok in tokens:
            line = tok.line or 0
            self.by_line[line] = str(tok)[1:].strip()
            before = source.line_text(line)[: (tok.column or 1) - 1]
            if not before.strip():
                self.own_line.add(line)

    def block_above(self, line: int) -> str:
        """The contiguous own-line comment block that ends right above `line`."""
        lines: list[str] = []
        current = line - 1
        while current in self.own_line:
            lines.append(self.by_line[current])
            current -= 1
        return "\n".join(reversed(lines)).strip()

    def trailing(self, line: int) -> str:
        if line in self.by_line and line not in self.own_line:
            return self.by_line[line]
        return ""


class _Builder:
    def __init__(self, source: SourceFile, comments: _Comments, bag: DiagnosticBag) -> None:
        self.source = source
        self.comments = comments
        self.bag = bag

    def span(self, node: Tree[Token] | Token, length: int | None = None) -> Span:
        if isinstance(node, Token):
            return Span(self.source.path, node.line or 1, node.column or 1, length or len(str(node)))
        meta = node.meta
        line, column = getattr(meta, "line", 1), getattr(meta, "column", 1)
        if length is None and getattr(meta, "end_line", None) == line:
            # Underline the whole node (e.g. `[Item]`) when it sits on one line.
            length = max(getattr(meta, "end_column", column + 1) - column, 1)
        return Span(self.source.path, line, column, length or 1)

    def starts_line(self, tok: Token) -> bool:
        """True when only whitespace precedes `tok` on its line."""
        return not self.source.line_text(tok.line or 1)[: (tok.column or 1) - 1].strip()

    def item_doc(self, tok: Token, shared_lines: set[int], *, trailing: bool = True) -> str:
        """The doc of a field, enum value or method.

        Comments only belong to an item that has its line to itself: in
        `Size = enum { small medium large }` the comment above is the enum's doc, not
        each value's.
        """
        if not self.starts_line(tok) or (tok.line or 1) in shared_lines:
            return ""
        return self.doc_for(tok.line or 1, trailing=trailing)

    @staticmethod
    def shared_lines(tokens: list[Token]) -> set[int]:
        """Lines that hold more than one of `tokens`."""
        seen: set[int] = set()
        shared: set[int] = set()
        for tok in tokens:
            line = tok.line or 1
            (shared if line in seen else seen).add(line)
        return shared

    def doc_for(self, line: int, *, trailing: bool = False) -> str:
        doc = self.comments.block_above(line)
        if trailing:
            tail = self.comments.trailing(line)
            doc = f"{doc}\n{tail}".strip() if doc else tail
        return doc

    def build(self, tree: Tree[Token]) -> list[Decl]:
        decls: list[Decl] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "struct":
                decls.append(self.struct(child))
            elif child.data == "enum":
                decls.append(self.enum(child))
            elif child.data == "service":
                decls.append(self.service(child))
        return decls

    @staticmethod
    def _split_root(doc: str) -> tuple[str, bool]:
        if ROOT_MARKER not in doc:
            return doc, False
        cleaned = "\n".join(line.replace(ROOT_MARKER, "").rstrip() for line in doc.splitlines())
        return cleaned.strip(), True

    def struct(self, node: Tree[Token]) -> StructSyntax:
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        doc, root = self._split_root(self.doc_for(name_tok.line or 1))
        field_nodes = [c for c in node.children[1:] if isinstance(c, Tree)]
        shared = self.shared_lines([self._first_token(c) for c in field_nodes])
        fields = tuple(self.field(c, shared) for c in field_nodes)
        return StructSyntax(str(name_tok), self.span(name_tok), fields, doc, root)

    def enum(self, node: Tree[Token]) -> EnumSyntax:
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        doc, root = self._split_root(self.doc_for(name_tok.line or 1))
        values = []
        value_tokens = [self._first_token(c) for c in node.children[1:] if isinstance(c, Tree)]
        shared = self.shared_lines(value_tokens)
        for tok in value_tokens:
            values.append(EnumValueSyntax(str(tok), self.span(tok), self.item_doc(tok, shared)))
        return EnumSyntax(str(name_tok), self.span(name_tok), tuple(values), doc, root)

    @staticmethod
    def _first_token(node: Tree[Token]) -> Token:
        tok = node.children[0]
        if isinstance(tok, Tree):  # a method's name
            tok = tok.children[0]
        assert isinstance(tok, Token)
        return tok

    def field(self, node: Tree[Token], shared: set[int]) -> FieldSyntax:
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        marks = 0
        type_expr: TypeExpr | None = None
        annotations: list[AnnotationSyntax] = []
        for child in node.children[1:]:
            if isinstance(child, Token) and child.type == "OPT":
                marks += 1
            elif isinstance(child, Tree) and child.data == "annotation":
                annotations.append(self.annotation(child))
            elif isinstance(child, Tree):
                type_expr = self.type_expr(child, 0)
        assert type_expr is not None
        return FieldSyntax(
            str(name_tok),
            self.span(name_tok),
            type_expr,
            marks,
            tuple(annotations),
            self.item_doc(name_tok, shared),
        )

    def annotation(self, node: Tree[Token]) -> AnnotationSyntax:
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        args: tuple[str, ...] | None = None
        tokens: list[Token] = []
        if len(node.children) > 1:
            arg_tree = node.children[1]
            assert isinstance(arg_tree, Tree)
            tokens = [a for a in arg_tree.children if isinstance(a, Token)]
            args = tuple(str(a) for a in tokens)
        # The span starts at the '@', one column before the name.
        span = Span(self.source.path, name_tok.line or 1, max((name_tok.column or 2) - 1, 1), len(str(name_tok)) + 1)
        return AnnotationSyntax(
            str(name_tok), args, span, tuple(self.span(a) for a in tokens), tuple(a.type == "NAME" for a in tokens)
        )

    def type_expr(self, node: Tree[Token], depth: int) -> TypeExpr:
        if depth > MAX_TYPE_DEPTH:
            raise _TooDeep(self.span(node))
        if node.data == "named_type":
            tok = node.children[0]
            assert isinstance(tok, Token)
            return TypeExpr("named", self.span(tok), name=str(tok))
        subs = [c for c in node.children if isinstance(c, Tree)]
        if node.data == "list_type":
            return TypeExpr("list", self.span(node), item=self.type_expr(subs[0], depth + 1))
        return TypeExpr(
            "map", self.span(node), key=self.type_expr(subs[0], depth + 1), item=self.type_expr(subs[1], depth + 1)
        )

    def service(self, node: Tree[Token]) -> ServiceSyntax:
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        method_nodes = [c for c in node.children[1:] if isinstance(c, Tree)]
        shared = self.shared_lines([self._first_token(c) for c in method_nodes])
        methods = tuple(self.method(c, shared) for c in method_nodes)
        return ServiceSyntax(str(name_tok), self.span(name_tok), methods, self.doc_for(name_tok.line or 1))

    def method(self, node: Tree[Token], shared: set[int]) -> MethodSyntax:
        name_tree = node.children[0]
        assert isinstance(name_tree, Tree)
        parts = [t for t in name_tree.children if isinstance(t, Token)]
        first = parts[0]
        full = ".".join(str(p) for p in parts)
        span = Span(self.source.path, first.line or 1, first.column or 1, len(full))
        params: list[ParamSyntax] = []
        output: TypeExpr | None = None
        for child in node.children[1:]:
            if not isinstance(child, Tree):
                continue
            if child.data == "param":
                ptok = child.children[0]
                ptype = child.children[1]
                assert isinstance(ptok, Token) and isinstance(ptype, Tree)
                params.append(ParamSyntax(str(ptok), self.span(ptok), self.type_expr(ptype, 0)))
            else:
                output = self.type_expr(child, 0)
        return MethodSyntax(full, span, tuple(params), output, self.item_doc(first, shared, trailing=False))


class _TooDeep(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


def _syntax_error(source: SourceFile, err: UnexpectedInput, bag: DiagnosticBag) -> None:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    if line < 1:
        line, column = 1, 1
    loc = source.at(line, column)
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        text = source.text.removesuffix("\n")
        last = text.rsplit("\n", 1)[-1].removesuffix("\r")
        end_loc = source.at(text.count("\n") + 1, len(last) + 1)
        wanted = getattr(err, "accepts", None) or err.expected or []
        expected = sorted({_describe_terminal(t) for t in wanted})
        bag.add("OS002", f"unexpected end of file; expected {_join(expected)}", end_loc)
        return
    if isinstance(err, UnexpectedToken):
        got = str(err.token)
        expected = sorted({_describe_terminal(t) for t in err.accepts or err.expected})
        hint = ""
        if got == ",":
            hint = " (fields and enum values are separated by newlines, not commas)"
        elif got == "=" and "'@'" in expected:
            hint = " (fields have no default values)"
        bag.add("OS001", f"unexpected '{got}'; expected {_join(expected)}{hint}", loc, max(len(got), 1))
        return
    if isinstance(err, UnexpectedCharacters):
        ch = getattr(err, "char", "") or source.line_text(line)[column - 1 : column] or "?"
        bag.add("OS001", f"unexpected character {ch!r}{_char_hint(ch)}", loc)
        return
    bag.add("OS001", "syntax error", loc)


def _char_hint(ch: str) -> str:
    if ch == ";":
        return " (no semicolons in .oschema: one field per line)"
    if ch == "/":
        return " (comments start with '#')"
    if ch == "'":
        return " (strings use double quotes)"
    if ch == "\ufeff":
        return " (a byte-order mark is only allowed at the very start of a file)"
    if not ch.isascii() and ch.isalnum():
        return " (names use ASCII letters, digits and '_' only)"
    return ""


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return words[0] if words else "something else"
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words[:-1]) + " or " + words[-1]


def parse_source(source: SourceFile, bag: DiagnosticBag) -> FileSyntax:
    """Parse one file; on a syntax error, report it and return what could be read (nothing)."""
    result = FileSyntax(source)
    try:
        tree = _parser().parse(source.text, on_error=None)
        comments = _Comments(source, _comment_tokens(source.text))
        result.decls = _Builder(source, comments, bag).build(tree)
    except UnexpectedInput as err:
        _syntax_error(source, err, bag)
        result.failed = True
    except _TooDeep as deep:
        bag.add("OS005", f"types nested deeper than {MAX_TYPE_DEPTH} levels", source.at(deep.span.line, deep.span.column))
        result.failed = True
    except RecursionError:
        bag.add("OS005", "input nested too deeply to parse", source.at(1, 1))
        result.failed = True
    except LarkError as err:  # pragma: no cover - defensive: any other parser failure is still a diagnostic
        bag.add("OS001", f"syntax error: {err}", source.at(1, 1))
        result.failed = True
    return result


def _comment_tokens(text: str) -> list[Token]:
    """Every `#` comment with its position, found by a line scan.

    Comments cannot occur inside the language's only strings (double-quoted,
    single-line annotation arguments), so a `#` outside quotes always starts one.
    """
    tokens: list[Token] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        in_string = False
        for col, ch in enumerate(raw, start=1):
            if ch == '"':
                in_string = not in_string
            elif ch == "#" and not in_string:
                tokens.append(Token("COMMENT", raw[col - 1 :], line=lineno, column=col))
                break
    return tokens
