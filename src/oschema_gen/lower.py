"""Semantic analysis: syntax trees of one domain to the checked IR.

Every rule reports through the diagnostic bag and carries on, so one run shows all of a
schema's problems. The IR is only used when no error was reported.
"""

from __future__ import annotations

import builtins
import keyword
import re

from . import naming
from .diagnostics import DiagnosticBag
from .filters import filter_struct
from .rpc import CRUD_VERBS
from .ir import SCALAR_SYNONYMS, SCALARS, Annotation, Domain, Enum, EnumValue, Field, Method, Service, Struct, TypeRef
from .syntax import AnnotationSyntax, EnumSyntax, FieldSyntax, FileSyntax, ServiceSyntax, Span, StructSyntax, TypeExpr
from .source import Location

KNOWN_ANNOTATIONS = ("index", "search", "owner")
# Attributes every generated client has (from osis.rpc.client), which CRUD accessors and
# service methods must not shadow.
CLIENT_RESERVED = frozenset({"close", "batch", "transport"})

# Names the generated models module defines or imports at top level; a schema type
# with one of these names would shadow them.
RESERVED_TYPE_NAMES = frozenset(
    {"BaseModel", "ConfigDict", "Field", "Annotated", "Any", "Literal", "StrEnum", "OTime", "F32", "F64"}
    | {s.upper() for s in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64")}
    | {name for name in dir(builtins) if name[:1].isupper()}
    | {"None", "True", "False"}
    # Imported or defined at top level by the generated client and server modules.
    | {"TypeAdapter", "AsyncClient", "AsyncCrud", "SyncClient", "SyncCrud", "AsyncTransport", "SyncTransport"}
    | {"Dispatcher", "Route", "NotImplementedRpc", "FindParams", "ListFullParams", "NoParams", "ObjParams", "SidParams"}
    | {"ROUTES"}
)


def _domain_class_names(prefix: str) -> frozenset[str]:
    """The classes the client and server modules of a domain define, e.g. `AiClient`."""
    return frozenset({f"{prefix}Client", f"Async{prefix}Client", f"{prefix}Service", f"{prefix}Dispatcher"})


def _loc(span: Span) -> Location:
    return Location(span.path, span.line, span.column)


# What a declaration looks like at the start of a line; used to learn which type names a
# file that failed to parse would have declared.
_DECL_START = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.MULTILINE)


def _example(wanted: str, name: str, valid: bool) -> str:
    """` (e.g. 'x')` when the converted name is a valid, different suggestion."""
    return f" (e.g. '{wanted}')" if valid and wanted != name else ""


def _index_spelling(args: tuple[str, ...]) -> str:
    return f"@index({', '.join(args)})"


def _written_length(ann: AnnotationSyntax) -> int:
    """Characters from '@' to the closing parenthesis, when the annotation sits on one line."""
    last = ann.arg_spans[-1] if ann.arg_spans else None
    if last is None or last.line != ann.span.line:
        return ann.span.length
    return last.column + last.length + 1 - ann.span.column


def _snake_example(name: str) -> str:
    wanted = re.sub(r"_+", "_", naming.snake_case(name)).strip("_")
    return _example(wanted, name, naming.is_snake(wanted))


def _pascal_example(name: str) -> str:
    wanted = naming.pascal_case(name)
    return _example(wanted, name, naming.is_pascal(wanted))


class _Lowering:
    def __init__(self, name: str, files: list[FileSyntax], bag: DiagnosticBag, complete: bool = True) -> None:
        self.domain_name = name
        self.files = files
        self.bag = bag
        self.decls: dict[str, StructSyntax | EnumSyntax] = {}
        self.domain_classes = _domain_class_names(naming.pascal_case(name))
        # A file that could not be read or parsed already has its error; types it would
        # have declared must not cascade into "unknown type" errors elsewhere.
        self.complete = complete
        self.unparsed_names = {m for f in files if f.failed for m in _DECL_START.findall(f.source.text)}

    def error(self, code: str, message: str, span: Span, length: int | None = None) -> None:
        self.bag.add(code, message, _loc(span), length or span.length)

    # -- the symbol table ---------------------------------------------------------------
    def collect(self) -> None:
        for file in self.files:
            for decl in file.decls:
                if isinstance(decl, ServiceSyntax):
                    continue
                if not naming.is_pascal(decl.name):
                    self.error("OS107", f"type name '{decl.name}' must be PascalCase{_pascal_example(decl.name)}", decl.span)
                if decl.name in RESERVED_TYPE_NAMES or decl.name in SCALARS or decl.name in self.domain_classes:
                    self.error("OS117", f"type name '{decl.name}' is reserved in generated code; choose another name", decl.span)
                first = self.decls.get(decl.name)
                if first is not None:
                    self.error("OS102", f"type '{decl.name}' is already declared at {_loc(first.span)}", decl.span)
                    continue
                self.decls[decl.name] = decl
        # Generated companions of root objects (find filters) must not collide with user types.
        for decl in list(self.decls.values()):
            if isinstance(decl, StructSyntax) and decl.root:
                companion = f"{decl.name}Filter"
                other = self.decls.get(companion)
                if other is not None:
                    self.error(
                        "OS117",
                        f"type name '{companion}' is reserved for the find filter of root object '{decl.name}'",
                        other.span,
                    )

    # -- types --------------------------------------------------------------------------
    def resolve(self, expr: TypeExpr) -> TypeRef | None:
        if expr.kind == "list":
            assert expr.item is not None
            item = self.resolve(expr.item)
            if item is None:
                return None
            return TypeRef("list", f"[{item.spelling}]", f"list[{item.py_hint}]", item=item)
        if expr.kind == "map":
            assert expr.key is not None and expr.item is not None
            key = self.resolve(expr.key)
            value = self.resolve(expr.item)
            if key is not None and key.spelling != "str":
                self.error("OS113", f"map keys must be str, not '{key.spelling}' (JSON object keys are strings)", expr.key.span)
                return None
            if key is None or value is None:
                return None
            return TypeRef("map", f"{{str: {value.spelling}}}", f"dict[str, {value.py_hint}]", item=value)
        name = expr.name
        scalar = SCALARS.get(name)
        if scalar is not None:
            return TypeRef("scalar", name, scalar.py_hint, scalar=scalar)
        decl = self.decls.get(name)
        if decl is not None:
            if isinstance(decl, EnumSyntax):
                return TypeRef("enum", name, name, target=name)
            return TypeRef("struct", name, name, target=name)
        self.unknown_type(expr)
        return None

    def unknown_type(self, expr: TypeExpr) -> None:
        if not self.complete or expr.name in self.unparsed_names:
            return
        suggestion = SCALAR_SYNONYMS.get(expr.name) or naming.closest(expr.name, sorted([*SCALARS, *self.decls]))
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        self.error("OS101", f"unknown type '{expr.name}'{hint}", expr.span)

    # -- declarations -------------------------------------------------------------------
    def lower(self) -> Domain:
        self.collect()
        sources = tuple(sorted({f.source.path.rsplit("/", 1)[-1] for f in self.files}))
        domain = Domain(
            name=self.domain_name,
            package=f"osis_{self.domain_name}",
            class_prefix=naming.pascal_case(self.domain_name),
            sources=sources,
        )
        seen: set[str] = set()
        for file in self.files:
            for decl in file.decls:
                if isinstance(decl, ServiceSyntax):
                    continue
                if self.decls.get(decl.name) is not decl or decl.name in seen:
                    continue
                seen.add(decl.name)
                if isinstance(decl, EnumSyntax):
                    domain.enums.append(self.enum(decl))
                else:
                    domain.structs.append(self.struct(decl))
        domain.filters = [filter_struct(s, self.bag) for s in domain.structs if s.root]
        domain.services = self.services([d for f in self.files for d in f.decls if isinstance(d, ServiceSyntax)])
        self.check_rpc_names(domain)
        self.check_buildable(domain)
        return domain

    def check_buildable(self, domain: Domain) -> None:
        """Refuse cycles of required struct fields: no finite object could ever fill them.

        `A = { me: A }` needs an `A` to build an `A`. A cycle is fine as soon as one
        field on it is optional or a container (an empty list ends the chain).
        """
        structs = {s.name: s for s in domain.structs}

        def required_refs(struct: Struct) -> list[Field]:
            return [
                f for f in struct.fields
                if f.type.kind == "struct" and f.required and f.type.target in structs
            ]

        done: set[str] = set()  # structs whose every chain was walked
        path: list[str] = []  # the chain of structs being walked, by name

        def walk(struct: Struct) -> None:
            path.append(struct.name)
            for f in required_refs(struct):
                target = f.type.target or ""
                if target in path:
                    cycle = " -> ".join([*path[path.index(target):], target])
                    self.bag.add(
                        "OS120",
                        f"field '{f.name}' of '{struct.name}' closes a cycle of required fields ({cycle}); "
                        "no object of these types can be built: make a field on the cycle optional or a list",
                        f.location,
                        len(f.name),
                    )
                elif target not in done:
                    walk(structs[target])
            path.pop()
            done.add(struct.name)

        for start in domain.structs:
            if start.name not in done:
                walk(start)

    def check_rpc_names(self, domain: Domain) -> None:
        """Client attributes and service-class methods share one namespace each; keep them apart."""
        taken: dict[str, str] = {name: "a method of every generated client" for name in CLIENT_RESERVED}
        for root in domain.root_objects:
            if root.snake in taken:
                self.bag.add("OS108", f"root object '{root.name}' would be the client attribute '{root.snake}', which is {taken[root.snake]}; rename the type", root.location, len(root.name))
                continue
            taken[root.snake] = f"the CRUD accessor of '{root.name}'"
            for verb in CRUD_VERBS:
                taken[f"{root.snake}_{verb}"] = f"the server handler of '{root.snake}.{verb}'"
        for method in domain.methods:
            if method.py_name in taken:
                self.bag.add("OS108", f"method '{method.name}' would clash with {taken[method.py_name]}; rename the method", method.location, len(method.name))

    def enum(self, decl: EnumSyntax) -> Enum:
        if decl.root:
            self.bag.add("OS202", f"[rootobject] has no effect on enum '{decl.name}'; only structs are stored", _loc(decl.span), decl.span.length)
        if not decl.values:
            self.error("OS116", f"enum '{decl.name}' has no values", decl.span)
        values: list[EnumValue] = []
        seen: dict[str, Span] = {}
        for value in decl.values:
            if not naming.is_snake(value.name):
                self.error("OS107", f"enum value '{value.name}' must be snake_case{_snake_example(value.name)}", value.span)
            if value.name in seen:
                self.error("OS104", f"enum value '{value.name}' is already listed at {_loc(seen[value.name])}", value.span)
                continue
            seen[value.name] = value.span
            values.append(
                EnumValue(value.name, naming.enum_member(value.name), value.doc, _loc(value.span), naming.docstring_literal(value.doc))
            )
        return Enum(decl.name, decl.doc, tuple(values), _loc(decl.span), naming.docstring_literal(decl.doc))

    def struct(self, decl: StructSyntax) -> Struct:
        fields: list[Field] = []
        by_name: dict[str, FieldSyntax] = {}
        by_py: dict[str, Field] = {}
        for syntax in decl.fields:
            if syntax.name in by_name:
                self.error("OS103", f"field '{syntax.name}' is already declared at {_loc(by_name[syntax.name].span)}", syntax.span)
                continue
            by_name[syntax.name] = syntax
            lowered = self.field(decl, syntax)
            if lowered is None:
                continue
            clash = by_py.get(lowered.py_name)
            if clash is not None:
                self.error(
                    "OS108",
                    f"field '{syntax.name}' would be the Python attribute '{lowered.py_name}', which field '{clash.name}' already is; rename one",
                    syntax.span,
                )
                continue
            by_py[lowered.py_name] = lowered
            fields.append(lowered)
        owners = [f for f in fields if f.owner]
        for extra in owners[1:]:
            ann = next(a for a in extra.annotations if a.name == "owner")
            self.bag.add(
                "OS119",
                f"struct '{decl.name}' already has owner field '{owners[0].name}'; only one field can be '@owner'",
                ann.location,
                len("@owner"),
            )
        self.check_compound(decl, fields)
        if decl.root:
            fields = self.root_sid(decl, fields)
        return Struct(
            name=decl.name,
            doc=decl.doc,
            root=decl.root,
            fields=tuple(fields),
            location=_loc(decl.span),
            py_docstring=naming.docstring_literal(decl.doc),
            snake=naming.snake_case(decl.name),
        )

    def root_sid(self, decl: StructSyntax, fields: list[Field]) -> list[Field]:
        sid = next((f for f in fields if f.name == "sid"), None)
        if sid is None:
            # A root object always has a sid; Hero schemas often leave it implicit.
            ref = TypeRef("scalar", "str", "str", scalar=SCALARS["str"])
            sid = Field("sid", "sid", ref, False, "", _loc(decl.span), (), "str", "", "", True)
            return [self._sid_field(sid), *fields]
        if sid.type.spelling != "str" or sid.optional:
            written = sid.type.spelling + ("?" if sid.optional else "")
            self.bag.add("OS106", f"root object '{decl.name}' must have 'sid: str', not 'sid: {written}'", sid.location, 3)
            return fields
        return [self._sid_field(sid) if f is sid else f for f in fields]

    @staticmethod
    def _sid_field(sid: Field) -> Field:
        # The store assigns sids on `new`, so a root object can be built without one.
        doc = sid.doc or "Short base-36 id, assigned by the store on `new`."
        return Field(
            sid.name, sid.py_name, sid.type, False, doc, sid.location, sid.annotations,
            "str", f'Field(default="", description={doc!r})', "", True,
        )

    def field(self, owner: StructSyntax, syntax: FieldSyntax) -> Field | None:
        if not naming.is_snake(syntax.name):
            self.error("OS107", f"field name '{syntax.name}' must be snake_case{_snake_example(syntax.name)}", syntax.span)
        if syntax.optional_marks > 1:
            self.error("OS114", f"field '{syntax.name}' is marked optional twice; write either 'name?: T' or 'name: T?'", syntax.span)
        ref = self.resolve(syntax.type)
        annotations = self.annotations(syntax, ref)
        if ref is None:
            return None
        optional = syntax.optional_marks > 0
        py_name = naming.python_attribute(syntax.name)
        annotation = f"{ref.py_hint} | None" if optional else ref.py_hint
        args: list[str] = []
        json_default: object = None
        has_default = True
        if optional:
            args.append("default=None")
        elif ref.kind == "list":
            args.append("default_factory=list")
            json_default = []
        elif ref.kind == "map":
            args.append("default_factory=dict")
            json_default = {}
        else:
            has_default = False
        if syntax.doc:
            args.append(f"description={syntax.doc!r}")
        if py_name != syntax.name:
            args.append(f"validation_alias={syntax.name!r}")
            args.append(f"serialization_alias={syntax.name!r}")
        value = None if not args else "None" if args == ["default=None"] else f"Field({', '.join(args)})"
        return Field(
            name=syntax.name,
            py_name=py_name,
            type=ref,
            optional=optional,
            doc=syntax.doc,
            location=_loc(syntax.span),
            annotations=annotations,
            py_annotation=annotation,
            py_value=value,
            json_default=json_default,
            has_default=has_default,
        )

    def annotations(self, syntax: FieldSyntax, ref: TypeRef | None) -> tuple[Annotation, ...]:
        out: list[Annotation] = []
        seen: set[str] = set()
        # `@index` may be written several times: once bare (the single-field index) and
        # once per distinct `@index(f2, ...)` (a compound index); each only once.
        seen_index: set[tuple[str, ...] | None] = set()
        for ann in syntax.annotations:
            known = ann.name in KNOWN_ANNOTATIONS
            if ann.name == "index":
                if ann.args in seen_index:
                    if ann.args is None:
                        self.error("OS118", f"annotation '@index' is given twice on field '{syntax.name}'", ann.span)
                    else:
                        self.error(
                            "OS123",
                            f"'{_index_spelling(ann.args)}' is given twice on field '{syntax.name}'",
                            ann.span,
                            _written_length(ann),
                        )
                    continue
                seen_index.add(ann.args)
            elif ann.name in seen:
                self.error("OS118", f"annotation '@{ann.name}' is given twice on field '{syntax.name}'", ann.span)
                continue
            seen.add(ann.name)
            if not known:
                near = naming.closest(ann.name, list(KNOWN_ANNOTATIONS))
                what = (
                    f"; did you mean '@{near}'? (it is kept but has no effect)"
                    if near
                    else f" (known: {', '.join('@' + k for k in KNOWN_ANNOTATIONS)}); it is kept but has no effect"
                )
                self.bag.add("OS201", f"unknown annotation '@{ann.name}'{what}", _loc(ann.span), ann.span.length)
            elif ann.name == "index" and ann.args == ():
                self.error(
                    "OS122",
                    f"'@index()' on field '{syntax.name}' names no field; write '@index' for a single-field"
                    " index or '@index(f2, ...)' for a compound one",
                    ann.span,
                )
            elif ann.args is not None and ann.name != "index":
                self.error("OS109", f"'@{ann.name}' takes no arguments", ann.span)
            if known and ref is not None:
                self.check_fit(ann.name, syntax, ref, ann.span)
            out.append(Annotation(ann.name, ann.args, _loc(ann.span), known))
        return tuple(out)

    def check_compound(self, decl: StructSyntax, fields: list[Field]) -> None:
        """Check the field names of every `@index(f2, ...)` against the struct's fields.

        Each named field must exist, differ from the annotated field and from the other
        names, be a scalar or enum, and be indexed itself (so a `find` may filter or
        order by it). Fields that failed to lower already have their error.
        """
        lowered = {f.name: f for f in fields}
        written = {f.name for f in decl.fields}
        for syntax in decl.fields:
            checked: set[tuple[str, ...]] = set()  # a repeat has its OS123 already
            for ann in syntax.annotations:
                if ann.name != "index" or not ann.args or ann.args in checked:
                    continue
                checked.add(ann.args)
                spelled = _index_spelling(ann.args)
                named: set[str] = set()
                for arg, span, is_name in zip(ann.args, ann.arg_spans, ann.arg_is_name):
                    problem = self.compound_problem(syntax.name, arg, is_name, named, lowered, written)
                    named.add(arg)
                    if problem is not None:
                        code, message = problem
                        self.error(code, f"'{spelled}' on field '{syntax.name}': {message}", span)

    @staticmethod
    def compound_problem(
        field: str, arg: str, is_name: bool, named: set[str], lowered: dict[str, Field], written: set[str]
    ) -> tuple[str, str] | None:
        """What is wrong with `arg` as the next key field of `field`'s compound index, if anything."""
        if not is_name:
            return "OS122", f"{arg} is not a field name; list field names, unquoted"
        if arg == field:
            return "OS122", f"it names '{field}' itself, which the index starts with already"
        if arg == "sid":
            return "OS122", "it names 'sid', which every index ends with already"
        if arg in named:
            return "OS122", f"it names '{arg}' twice"
        if arg not in written:
            near = naming.closest(arg, sorted(written - {field}))
            hint = f"; did you mean '{near}'?" if near else ""
            return "OS121", f"there is no field '{arg}'{hint}"
        target = lowered.get(arg)
        if target is None:
            return None
        if target.type.kind not in ("scalar", "enum"):
            return "OS122", f"'{arg}' is '{target.type.spelling}'; index keys are scalar or enum fields"
        if not target.indexed:
            return "OS122", f"'{arg}' is not indexed itself; add @index to '{arg}'"
        return None

    def check_fit(self, name: str, syntax: FieldSyntax, ref: TypeRef, span: Span) -> None:
        if name == "index" and ref.kind not in ("scalar", "enum"):
            self.error("OS115", f"'@index' needs a scalar or enum field; '{syntax.name}' is '{ref.spelling}'", span)
        elif name in ("search", "owner") and ref.spelling != "str":
            self.error("OS115", f"'@{name}' needs a str field; '{syntax.name}' is '{ref.spelling}'", span)

    # -- services -----------------------------------------------------------------------
    def services(self, blocks: list[ServiceSyntax]) -> list[Service]:
        out: list[Service] = []
        seen: dict[str, Span] = {}
        blocks_seen: dict[str, Span] = {}
        for block in blocks:
            if not naming.is_pascal(block.name):
                self.error("OS107", f"service name '{block.name}' must be PascalCase{_pascal_example(block.name)}", block.span)
            if block.name in blocks_seen:
                self.error("OS102", f"service '{block.name}' is already declared at {_loc(blocks_seen[block.name])}", block.span)
            blocks_seen.setdefault(block.name, block.span)
            methods: list[Method] = []
            for m in block.methods:
                if "." in m.name:
                    flat = m.name.replace(".", "_")
                    self.error("OS111", f"method name '{m.name}' has dots; service methods are flat snake_case (e.g. '{flat}'); CRUD methods are generated for root objects", m.span)
                    continue
                if not naming.is_snake(m.name):
                    self.error("OS107", f"method name '{m.name}' must be snake_case{_snake_example(m.name)}", m.span)
                if m.name in seen:
                    self.error("OS105", f"method '{m.name}' is already declared at {_loc(seen[m.name])}", m.span)
                    continue
                seen[m.name] = m.span
                if len(m.params) > 1:
                    names = ", ".join(p.name for p in m.params)
                    self.error("OS110", f"method '{m.name}' takes {len(m.params)} parameters ({names}); take one Input struct instead", m.params[1].span)
                    continue
                input_name: str | None = None
                param_name: str | None = None
                if m.params:
                    param = m.params[0]
                    param_name = param.name
                    if not naming.is_snake(param.name):
                        self.error("OS107", f"parameter name '{param.name}' must be snake_case{_snake_example(param.name)}", param.span)
                    input_name = self.struct_type(m.name, "input", param.type)
                output_name = self.struct_type(m.name, "output", m.output) if m.output is not None else None
                py_name = f"{m.name}_" if keyword.iskeyword(m.name) else m.name
                methods.append(Method(m.name, py_name, m.doc, param_name, input_name, output_name, _loc(m.span)))
            out.append(Service(block.name, block.doc, tuple(methods), _loc(block.span)))
        return out

    def struct_type(self, method: str, role: str, expr: TypeExpr) -> str | None:
        ref = self.resolve(expr)
        if ref is None:
            return None
        if ref.kind != "struct":
            self.error("OS112", f"the {role} of method '{method}' must be a struct type, not '{ref.spelling}'", expr.span)
            return None
        return ref.target


def lower_domain(name: str, files: list[FileSyntax], bag: DiagnosticBag, complete: bool = True) -> Domain:
    """Check and lower one domain. `complete` is False when some file could not be read."""
    return _Lowering(name, files, bag, complete).lower()
