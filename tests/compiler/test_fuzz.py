"""Fuzzing the compiler: it never crashes, and what it accepts it can generate and import.

Three sources of input:

* a grammar-based strategy that builds schemas valid by construction (random names,
  types, optional marks, annotations, doc and trailing comments, layouts, line endings,
  several files): `lint` must accept them, `generate` must write a package, and the
  generated models must import and validate an instance of every type;
* the same strategy with noise (unknown or reserved names, misplaced annotations, stray
  tokens, ...): `lint` returns 0 or 2, and whatever it accepts must generate and import;
* mutated texts of the real schemas (`schemas/ai`, the kitchen fixture): random byte and
  character insertions, deletions, swaps, duplicated lines, NULs, invalid UTF-8, random
  unicode, and whole files of random text or bytes: `lint` returns 0 or 2, never raises.

The example count is `OSCHEMA_FUZZ_EXAMPLES` (default 200, spread over the tests, so the
file runs in well under 30 s); `make fuzz` sets 20000.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import io
import json
import keyword
import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from oschema_gen.cli import main
from oschema_gen.emit import render
from oschema_gen.lower import RESERVED_TYPE_NAMES
from oschema_gen.naming import snake_case
from tests.conftest import FIXTURES, SCHEMAS

EXAMPLES = int(os.environ.get("OSCHEMA_FUZZ_EXAMPLES", "200"))


@pytest.fixture(autouse=True, scope="module")
def _formatting_checked_against_black() -> Iterator[None]:
    """No format cache, and every module the compiler formats is compared with black's output.

    The compiler runs black only on the statements that need it (see `emit/render.py`);
    here each fuzzed package is also formatted by black as a whole, and must be identical.
    The cache is off because thousands of one-off packages would evict the useful entries
    of the user's cache (and a cache hit would skip the comparison).
    """
    selective = render._format_selectively

    def checked(source: str) -> str:
        fast = selective(source)
        slow = render._black(source)
        diff = "".join(difflib.unified_diff(slow.splitlines(True), fast.splitlines(True), "black", "selective"))
        assert fast == slow, f"selective formatting differs from black:\n{diff}"
        return fast

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSCHEMA_GEN_CACHE_DIR", "")
        patch.setattr(render, "_format_selectively", checked)
        yield


def _share(fraction: float) -> settings:
    return settings(
        max_examples=max(5, int(EXAMPLES * fraction)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- running the compiler ---------------------------------------------------------------


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


def _lint(directory: Path) -> tuple[int, str]:
    code, text = _run(["lint", str(directory)])
    assert code in (0, 2), f"lint returned {code}\n{text}"
    return code, text


def _write(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


class Unconstructible(Exception):
    """A type whose required members refer back to it: no finite instance exists."""


def _sample(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    """A small valid wire value (required members only) for a JSON Schema node."""
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, depth + 1)
    if "anyOf" in schema:
        return None
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema["type"]
    if kind == "object" and "properties" in schema:
        if depth > 30:
            raise Unconstructible
        return {k: _sample(schema["properties"][k], defs, depth) for k in schema.get("required", ())}
    samples = {"array": [], "object": {}, "boolean": True, "integer": schema.get("maximum", 7), "number": 0.5}
    if kind == "string":
        return "2024-01-02T03:04:05Z" if schema.get("format") == "date-time" else "s"
    return samples[kind]


def _generate_and_import(directory: Path, out: Path) -> int:
    """Generate the package of `directory`, import it, validate a sample of every type.

    Every type the compiler accepts must have a finite instance: OS120 refuses the others.
    """
    code, text = _run(["generate", str(directory), "--out", str(out)])
    assert code == 0, text
    package = f"osis_{directory.name}"
    sys.path.insert(0, str(out))
    try:
        with warnings.catch_warnings():
            # pydantic warns when a field shadows a BaseModel attribute: a naming bug.
            warnings.simplefilter("error")
            return _check_package(package, out / package)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def _check_package(package: str, path: Path) -> int:
    module = importlib.import_module(package)
    models = importlib.import_module(f"{package}.models")
    # The JSON-RPC modules of the package must import as well.
    for extra in ("client", "server"):
        if (path / f"{extra}.py").is_file():
            importlib.import_module(f"{package}.{extra}")
    defs = json.loads((path / "schema.json").read_text(encoding="utf-8"))["$defs"]
    for name, schema in defs.items():
        cls = getattr(models, name)
        assert getattr(module, name) is cls
        if "enum" in schema:
            assert [m.value for m in cls] == schema["enum"]
            continue
        try:
            wire = _sample(schema, defs)
        except Unconstructible:
            raise AssertionError(f"the compiler accepted {name}, which has no finite instance (OS120)") from None
        instance = cls.model_validate(wire)
        assert cls.model_validate_json(instance.model_dump_json()) == instance
        assert set(instance.model_dump(mode="json")) == set(schema["properties"])
    return len(defs)


def _domain_name() -> str:
    return f"fz_{uuid.uuid4().hex[:10]}"


# -- a grammar-based schema strategy ----------------------------------------------------

SCALARS = ["str", "bool", "int", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "otime"]
NUMERIC = set(SCALARS) - {"str", "bool"}

# Type names start with A..N and method names with p..z, so a root object's CRUD names
# (`<snake>_get`, ...) can never equal a service method's name.
TYPE_NAME = st.from_regex(r"\A[A-N][a-z]{0,6}(?:[A-Z0-9][a-z0-9]{0,4}){0,2}\Z").filter(
    lambda n: n not in RESERVED_TYPE_NAMES and not n.endswith("Filter") and snake_case(n) not in ("batch", "close")
)
TRICKY_FIELDS = [
    "class", "from", "json", "copy", "model_config", "model_config_note", "model", "schema", "validate", "dict",
    "list", "str", "int", "float", "bool", "type", "id", "import", "def", "lambda", "none", "true", "self", "cls",
    "annotations", "field", "fields", "construct", "items", "keys", "values", "mro", "name", "value", "async",
    "await", "print", "return", "global", "nonlocal", "model_fields", "model_dump", "register", "parse_obj",
]  # fmt: skip
FILTER_SUFFIXES = ("_in", "_gt", "_gte", "_lt", "_lte")
SNAKE = st.from_regex(r"\A[a-z][a-z0-9]{0,6}(?:_[a-z0-9]{1,5}){0,2}\Z")
FIELD_NAME = (SNAKE | st.sampled_from(TRICKY_FIELDS)).filter(lambda n: n != "sid" and not n.endswith(FILTER_SUFFIXES))
VALUE_NAME = SNAKE | st.sampled_from(["none", "true", "false", "class", "mro", "name", "value", "self", "from"])
METHOD_NAME = st.from_regex(r"\A[p-z][a-z0-9]{0,6}(?:_[a-z0-9]{1,5}){0,2}\Z") | st.sampled_from(
    ["print", "return", "yield", "with", "while", "try", "raise", "pass", "type", "super", "vars", "zip"]
)
PARAM_NAME = SNAKE | st.sampled_from(["input", "from", "self", "cls", "params", "json", "id"])
# Comment text: anything on one line but NUL (a NUL makes the file binary, OS003).
# Surrogates cannot be written as UTF-8.
COMMENT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n\x00"), max_size=40)
SHORT_COMMENT = st.sampled_from(["", "doc", 'say "hi"', "back\\slash", 'ends with "', "ends with \\", '"""', "é ✓ 中文", "# again"])


@dataclass
class FieldSpec:
    name: str
    type: str
    opt: str  # "", "name" (`x?: T`), "type" (`x: T?`), "both" (noise)
    annotations: list[str]
    doc: list[str]
    trailing: str | None


@dataclass
class StructSpec:
    name: str
    fields: list[FieldSpec]
    doc: list[str]
    root: bool
    one_line: bool = False


@dataclass
class EnumSpec:
    name: str
    values: list[tuple[str, list[str], str | None]]
    doc: list[str]
    one_line: bool


@dataclass
class MethodSpec:
    name: str
    param: tuple[str, str] | None
    output: str | None
    doc: list[str]


@dataclass
class ServiceSpec:
    name: str
    methods: list[MethodSpec]
    doc: list[str]


@dataclass
class Layout:
    newline: str
    indent: str
    blank: bool
    files: int
    decls: list[Any] = field(default_factory=list)


def _comment_lines(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(COMMENT | SHORT_COMMENT, max_size=2))


@st.composite
def type_expr(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    kind = draw(st.sampled_from(["scalar", "scalar", "named", "list", "map"] if depth < 3 else ["scalar", "named"]))
    if kind == "named" and names:
        return draw(st.sampled_from(names))
    if kind == "list":
        return f"[{draw(type_expr(names, depth + 1))}]"
    if kind == "map":
        return f"{{str: {draw(type_expr(names, depth + 1))}}}"
    return draw(st.sampled_from(SCALARS))


@st.composite
def schema_specs(draw: st.DrawFn) -> Layout:
    names = draw(st.lists(TYPE_NAME, min_size=1, max_size=7, unique_by=lambda n: snake_case(n)))
    n_enums = draw(st.integers(0, len(names) - 1))
    enum_names, struct_names = names[:n_enums], names[n_enums:]
    decls: list[Any] = []
    for name in enum_names:
        values = draw(st.lists(VALUE_NAME, min_size=1, max_size=5, unique=True))
        one_line = draw(st.booleans())
        decls.append(
            EnumSpec(
                name,
                [(v, [] if one_line else _comment_lines(draw), None if one_line else draw(st.none() | COMMENT)) for v in values],
                _comment_lines(draw),
                one_line,
            )
        )
    for name in struct_names:
        root = draw(st.booleans())
        field_names = draw(st.lists(FIELD_NAME, max_size=8, unique=True))
        fields: list[FieldSpec] = []
        if root and draw(st.booleans()):
            fields.append(FieldSpec("sid", "str", "", [], _comment_lines(draw), None))
        has_owner = False
        for fname in field_names:
            ftype = draw(type_expr(enum_names + struct_names))
            annotations = []
            is_plain = ftype in SCALARS or ftype in enum_names
            if is_plain and draw(st.integers(0, 2)) == 0:
                annotations.append("@index")
            if ftype == "str" and draw(st.booleans()):
                annotations.append("@search")
            if ftype == "str" and not has_owner and draw(st.integers(0, 3)) == 0:
                annotations.append("@owner")
                has_owner = True
            if draw(st.integers(0, 5)) == 0:
                annotations.append(draw(st.sampled_from(["@experimental", '@deprecated("since 2", 3, x)', "@note()"])))
            annotations = draw(st.permutations(annotations))
            # Required struct references could recurse without end (A needs A): make them optional.
            needs_opt = not ftype.startswith(("[", "{")) and ftype in struct_names
            opt = draw(st.sampled_from(["name", "type"])) if needs_opt else draw(st.sampled_from(["", "", "name", "type"]))
            fields.append(FieldSpec(fname, ftype, opt, list(annotations), _comment_lines(draw), draw(st.none() | COMMENT)))
        # Compound indexes: `@index(f2, ...)` naming other indexed fields, sometimes in
        # place of the field's own bare `@index`.
        indexed = [f.name for f in fields if "@index" in f.annotations]
        for f in fields:
            others = [n for n in indexed if n != f.name]
            if f.name not in indexed or not others or draw(st.integers(0, 2)):
                continue
            keys = draw(st.lists(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True),
                                 min_size=1, max_size=2, unique_by=tuple))
            f.annotations.extend(f"@index({', '.join(key)})" for key in keys)
            if draw(st.booleans()):
                f.annotations.remove("@index")
        decls.append(StructSpec(name, fields, _comment_lines(draw), root, one_line=draw(st.integers(0, 6)) == 0))
    services: list[ServiceSpec] = []
    method_names = draw(st.lists(METHOD_NAME, max_size=4, unique=True).filter(lambda ms: not {"transport"} & set(ms)))
    if method_names:
        methods = []
        for mname in method_names:
            param = (draw(PARAM_NAME), draw(st.sampled_from(struct_names))) if draw(st.booleans()) else None
            output = draw(st.sampled_from(struct_names)) if draw(st.booleans()) else None
            methods.append(MethodSpec(mname, param, output, _comment_lines(draw)))
        services.append(ServiceSpec(draw(TYPE_NAME), methods, _comment_lines(draw)))
    all_decls = draw(st.permutations(decls + services))
    return Layout(
        newline=draw(st.sampled_from(["\n", "\n", "\r\n"])),
        indent=draw(st.sampled_from(["    ", "  ", "\t", " "])),
        blank=draw(st.booleans()),
        files=draw(st.integers(1, 3)),
        decls=list(all_decls),
    )


def _comments(lines: list[str], indent: str = "") -> list[str]:
    return [f"{indent}# {c}".rstrip() if c else f"{indent}#" for c in lines]


def _field_line(f: FieldSpec) -> str:
    name = f"{f.name}?" if f.opt in ("name", "both") else f.name
    ftype = f"{f.type}?" if f.opt in ("type", "both") else f.type
    text = " ".join([f"{name}: {ftype}", *f.annotations])
    return f"{text}  # {f.trailing}" if f.trailing is not None else text


def render_decl(decl: Any, indent: str) -> list[str]:
    lines: list[str] = []
    if isinstance(decl, EnumSpec):
        lines += _comments(decl.doc)
        if decl.one_line:
            return lines + [f"{decl.name} = enum {{ {' '.join(v for v, _, _ in decl.values)} }}"]
        lines.append(f"{decl.name} = enum {{")
        for value, doc, trailing in decl.values:
            lines += _comments(doc, indent)
            lines.append(f"{indent}{value}" + (f"  # {trailing}" if trailing is not None else ""))
        return lines + ["}"]
    if isinstance(decl, StructSpec):
        lines += _comments(decl.doc)
        if decl.root:
            lines.append("# [rootobject]")
        if decl.one_line:
            inner = " ".join(_field_line(FieldSpec(f.name, f.type, f.opt, f.annotations, [], None)) for f in decl.fields)
            return lines + [f"{decl.name} = {{ {inner} }}"]
        lines.append(f"{decl.name} = {{")
        for f in decl.fields:
            lines += _comments(f.doc, indent)
            lines.append(f"{indent}{_field_line(f)}")
        return lines + ["}"]
    assert isinstance(decl, ServiceSpec)
    lines += _comments(decl.doc)
    lines.append(f"service {decl.name} {{")
    for m in decl.methods:
        lines += _comments(m.doc, indent)
        param = f"{m.param[0]}: {m.param[1]}" if m.param else ""
        output = f" -> {m.output}" if m.output else ""
        lines.append(f"{indent}{m.name}({param}){output}")
    return lines + ["}"]


def render_files(layout: Layout) -> dict[str, bytes]:
    chunks: list[list[str]] = [[] for _ in range(layout.files)]
    for i, decl in enumerate(layout.decls):
        chunk = chunks[i % layout.files]
        if chunk or layout.blank:
            chunk.append("")
        chunk += render_decl(decl, layout.indent)
    return {
        f"{i:02d}_part.oschema": (layout.newline.join(lines) + layout.newline).encode("utf-8")
        for i, lines in enumerate(chunks)
    }


# -- noise ------------------------------------------------------------------------------


@st.composite
def noisy_files(draw: st.DrawFn) -> dict[str, bytes]:
    layout = draw(schema_specs())
    structs = [d for d in layout.decls if isinstance(d, StructSpec)]
    enums = [d for d in layout.decls if isinstance(d, EnumSpec)]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["unknown_type", "dup_field", "both_opt", "bad_ann", "reserved", "case", "empty_enum",
                                     "map_key", "dup_type", "sid", "dotted", "required_cycle", "text"]))  # fmt: skip
        if kind == "text":
            continue  # applied on the rendered text below
        if kind == "reserved":
            target = draw(st.sampled_from(structs + enums))
            target.name = draw(st.sampled_from(["Field", "BaseModel", "Exception", "I8", "OTime", "None", "StrEnum", "str"]))
        elif kind == "case":
            target = draw(st.sampled_from(structs + enums))
            target.name = target.name.lower() + "_x"
        elif kind == "empty_enum" and enums:
            draw(st.sampled_from(enums)).values = []
        elif kind == "dup_type":
            layout.decls.append(draw(st.sampled_from(structs + enums)))
        elif kind == "dotted":
            layout.decls.append(ServiceSpec("Svc", [MethodSpec("a.b_c", None, None, [])], []))
        elif structs:
            s = draw(st.sampled_from(structs))
            if kind == "sid":
                s.root = True
                sid_type, sid_opt = draw(st.sampled_from([("int", ""), ("str", "type"), ("str", "name"), ("[str]", "")]))
                s.fields.insert(0, FieldSpec("sid", sid_type, sid_opt, [], [], None))
            elif kind == "required_cycle":
                s.fields.append(FieldSpec("me", s.name, "", [], [], None))
            elif not s.fields:
                s.fields.append(FieldSpec("only", "str", "", [], [], None))
            else:
                f = draw(st.sampled_from(s.fields))
                if kind == "unknown_type":
                    f.type = draw(st.sampled_from(["string", "Strin", "datetime", "Nope", "float", "i128", "List"]))
                elif kind == "dup_field":
                    s.fields.append(f)
                elif kind == "both_opt":
                    f.opt = "both"
                elif kind == "bad_ann":
                    f.annotations.append(draw(st.sampled_from(["@index", "@search", "@owner", "@index(1)", "@owner"])))
                elif kind == "map_key":
                    f.type = "{int: str}"
    files = render_files(layout)
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(files)))
        text = files[name].decode("utf-8")
        pos = draw(st.integers(0, len(text)))
        token = draw(st.sampled_from([",", ";", "}", "{", "=", "?", "@", ":", "[", "]", "->", "enum", "service", '"', "(", ")"]))
        files[name] = (text[:pos] + token + text[pos:]).encode("utf-8")
    return files


# -- mutations of the real schemas ------------------------------------------------------


def _corpus() -> dict[str, dict[str, bytes]]:
    return {
        domain: {p.name: p.read_bytes() for p in sorted(path.glob("*.oschema"))}
        for domain, path in (("ai", SCHEMAS / "ai"), ("kitchen", FIXTURES / "kitchen"))
    }


CORPUS = _corpus()
INTERESTING = [b"{", b"}", b"[", b"]", b":", b"?", b"@", b"#", b'"', b"\n", b"\r", b"\t", b"\x00", b" ", b"=", b",",
               b"\xff", b"\xc3", b"\xef\xbb\xbf", "é".encode(), "\u2028".encode(), "𝔘".encode(), b"\\", b"[rootobject]",
               b"enum", b"service", b"->", b"(", b")", b"Part", b"str", b"sid", b"9", b"-"]  # fmt: skip


@st.composite
def mutated_files(draw: st.DrawFn) -> dict[str, bytes]:
    domain = draw(st.sampled_from(sorted(CORPUS)))
    files = dict(CORPUS[domain])
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(files)))
        data = files[name]
        n = len(data)
        op = draw(st.sampled_from(["insert", "insert", "delete", "swap", "dup_line", "replace", "unicode", "truncate"]))
        pos = draw(st.integers(0, n))
        if op == "insert":
            data = data[:pos] + draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 12)) :]
        elif op == "swap" and pos + 1 < n:
            data = data[:pos] + data[pos + 1 : pos + 2] + data[pos : pos + 1] + data[pos + 2 :]
        elif op == "dup_line":
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == "replace" and pos < n:
            data = data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1 :]
        elif op == "unicode":
            data = data[:pos] + draw(st.text(min_size=1, max_size=5)).encode("utf-8", "surrogatepass") + data[pos:]
        elif op == "truncate":
            data = data[:pos]
        files[name] = data
    return files


RANDOM_FILES = st.dictionaries(
    st.sampled_from(["a.oschema", "b.oschema"]),
    st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    min_size=1,
)


# -- the tests --------------------------------------------------------------------------


@_share(0.15)
@given(layout=schema_specs())
def test_valid_generated_schemas_lint_generate_and_import(layout: Layout) -> None:
    files = render_files(layout)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / _domain_name()
        _write(directory, files)
        code, text = _lint(directory)
        sources = "\n".join(f"--- {n}\n{d.decode()}" for n, d in files.items())
        assert code == 0, f"{text}\n{sources}"
        assert "error[" not in text
        assert _generate_and_import(directory, Path(tmp) / "out") >= 1


@_share(0.15)
@given(files=noisy_files())
def test_noisy_schemas_lint_cleanly(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / _domain_name()
        _write(directory, files)
        code, text = _lint(directory)
        event(f"lint exit {code}")
        if code == 2:
            assert "error[OS" in text
        else:
            _generate_and_import(directory, Path(tmp) / "out")


@_share(0.5)
@given(files=mutated_files())
def test_mutated_real_schemas_never_crash(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / _domain_name()
        _write(directory, files)
        code, text = _lint(directory)
        event(f"lint exit {code}")
        if code == 2:
            assert "error[OS" in text


@_share(0.1)
@given(files=RANDOM_FILES)
def test_random_files_never_crash(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / _domain_name()
        _write(directory, files)
        code, text = _lint(directory)
        event(f"lint exit {code}")
        if code == 0:
            # Only comments and whitespace (or nothing) lint cleanly: an empty package.
            _generate_and_import(directory, Path(tmp) / "out")


# -- the selective formatter against black ----------------------------------------------

IDENT = st.from_regex(r"\A[a-z_][a-z0-9_]{0,38}\Z").filter(lambda n: not keyword.iskeyword(n))
HINTS = st.sampled_from(["str", "int | None", "list[str]", "dict[str, list[OTime]] | None", "AgentAuditEntryFilter | None"])
# Text for string literals: repr() picks the quotes, black may requote them.
LITERAL_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=110) | st.text(max_size=20)
VALUES = st.one_of(
    LITERAL_TEXT.map(repr),
    st.sampled_from(["None", "True", "0", "-1", "3.5", "list", "dict", "SidParams", "ObjParams[Thing]"]),
    # Quotes and commas inside strings, where a naive splitter would cut.
    st.sampled_from([repr('ends with "'), repr('a, "b", c'), repr("it's, (really)"), '"x, [y]"', "'('"]),
)


@st.composite
def black_shaped_modules(draw: st.DrawFn) -> str:
    """Modules of the shapes the templates emit, with names and texts of every length."""
    out = ['"""Doc."""', "", "from pydantic import BaseModel, Field", "", ""]
    out.append("class Thing(BaseModel):")
    doc = draw(LITERAL_TEXT)
    if draw(st.booleans()) and '"""' not in doc and "\\" not in doc and not doc.endswith('"'):
        out.append(f'    """{doc}"""')
        out.append("")
    for _ in range(draw(st.integers(1, 5))):
        args = draw(st.lists(st.tuples(IDENT, VALUES), max_size=4, unique_by=lambda a: a[0]))
        call = ", ".join(f"{k}={v}" for k, v in args)
        out.append(f"    {draw(IDENT)}: {draw(HINTS)} = Field({call})")
    for _ in range(draw(st.integers(0, 3))):
        params = draw(st.lists(st.tuples(IDENT, HINTS), min_size=1, max_size=6, unique_by=lambda a: a[0]))
        ret = draw(HINTS)
        out.append("")
        out.append(f"    async def {draw(IDENT)}(self, {', '.join(f'{n}: {h}' for n, h in params)}) -> {ret}:")
        out.append(f"        return {draw(VALUES)}")
    out += ["", "", "ROUTES: dict[str, Route] = {"]
    for _ in range(draw(st.integers(0, 4))):
        args = draw(st.lists(VALUES, min_size=1, max_size=5))
        out += [f"    {draw(VALUES)}: Route(", f"        {', '.join(args)}", "    ),"]
    out.append("}")
    out.append(f"X = TypeAdapter({draw(HINTS)})")
    return "\n".join(out) + "\n"


@_share(0.1)
@given(source=black_shaped_modules())
def test_selective_formatting_is_black(source: str) -> None:
    assert render._format_selectively(source) == render._black(source)
