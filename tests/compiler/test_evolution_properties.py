"""Properties of `oschema-gen diff` over random schemas.

* a schema compared with itself has no changes, also after a round trip of its snapshot
  through JSON (what the store records and reads back);
* adding optional fields, anywhere and of any type, is always compatible.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oschema_gen.evolution import Snapshot, diff_snapshots, snapshot_of
from oschema_gen.ir import SCALARS
from oschema_gen.loader import load_domain

PROPERTY_SETTINGS = settings(max_examples=int(os.environ.get("OSCHEMA_EVOLUTION_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: str
    optional: bool
    marks: str


@dataclass(frozen=True)
class StructDecl:
    name: str
    root: bool
    doc: str
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True)
class SchemaDecl:
    enums: dict[str, tuple[str, ...]]
    structs: tuple[StructDecl, ...]

    def text(self) -> str:
        out: list[str] = []
        for name, values in self.enums.items():
            out.append(f"{name} = enum {{\n" + "".join(f"    {v}\n" for v in values) + "}\n")
        for s in self.structs:
            head = f"# {s.doc}\n" if s.doc else ""
            if s.root:
                head += "# [rootobject]\n"
            lines = "".join(f"    {f.name}{'?' if f.optional else ''}: {f.type}{f.marks}\n" for f in s.fields)
            out.append(f"{head}{s.name} = {{\n{lines}}}\n")
        return "\n".join(out)


NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


def _type(enums: list[str], structs: list[str]) -> st.SearchStrategy[str]:
    base = st.sampled_from(sorted(SCALARS) + enums + structs)
    return st.one_of(base, base.map(lambda t: f"[{t}]"), base.map(lambda t: f"{{str: {t}}}"))


def _marks(type_name: str, enums: list[str]) -> st.SearchStrategy[str]:
    options = [""]
    if type_name in SCALARS or type_name in enums:
        options.append(" @index")
    if type_name == "str":
        options += [" @search", " @index @search"]
    return st.sampled_from(options)


@st.composite
def fields(draw: st.DrawFn, enums: list[str], structs: list[str], prefix: str, earlier: int | None = None) -> FieldDecl:
    """A field; a required one names only the first `earlier` structs, so required fields never cycle (OS120)."""
    type_name = draw(_type(enums, structs))
    optional = draw(st.booleans())
    if earlier is not None and type_name in structs[earlier:]:
        optional = True
    return FieldDecl(f"{prefix}_{draw(NAMES)}", type_name, optional, draw(_marks(type_name, enums)))


@st.composite
def schemas(draw: st.DrawFn) -> SchemaDecl:
    enum_names = [f"Kind{i}" for i in range(draw(st.integers(0, 3)))]
    enums = {n: tuple(dict.fromkeys(draw(st.lists(NAMES, min_size=1, max_size=4)))) for n in enum_names}
    struct_names = [f"Thing{i}" for i in range(draw(st.integers(1, 4)))]
    structs = []
    for i, name in enumerate(struct_names):
        decls = draw(st.lists(fields(enum_names, struct_names, "f", i), min_size=1, max_size=5, unique_by=lambda f: f.name))
        doc = draw(st.sampled_from(["", "A thing.", "Another thing."]))
        structs.append(StructDecl(name, draw(st.booleans()), doc, tuple(decls)))
    return SchemaDecl(enums, tuple(structs))


def load(text: str) -> Snapshot:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "prop"
        directory.mkdir()
        (directory / "10_prop.oschema").write_text(text)
        result = load_domain(directory)
        assert result.domain is not None, text + "\n" + result.bag.render(result.sources)
        return snapshot_of(result.domain)


@PROPERTY_SETTINGS
@given(schemas())
def test_a_schema_diffed_against_itself_is_empty(schema: SchemaDecl) -> None:
    snapshot = load(schema.text())
    assert diff_snapshots(snapshot, snapshot) == []
    recorded = Snapshot.from_json(snapshot.to_json())
    assert recorded == snapshot
    assert recorded.to_json() == snapshot.to_json()
    assert diff_snapshots(recorded, load(schema.text())) == []


@PROPERTY_SETTINGS
@given(schemas(), st.data())
def test_adding_optional_fields_is_always_compatible(schema: SchemaDecl, data: st.DataObject) -> None:
    enums = list(schema.enums)
    names = [s.name for s in schema.structs]
    grown = []
    added = 0
    for struct in schema.structs:
        extra = data.draw(st.lists(fields(enums, names, "new"), max_size=3, unique_by=lambda f: f.name))
        extra = [FieldDecl(f.name, f.type, True, f.marks) for f in extra]
        added += len(extra)
        grown.append(StructDecl(struct.name, struct.root, struct.doc, struct.fields + tuple(extra)))
    changes = diff_snapshots(load(schema.text()), load(SchemaDecl(schema.enums, tuple(grown)).text()))
    assert [c.change_class for c in changes] == ["compatible"] * added
    assert {c.code for c in changes} <= {"OS332"}
    assert not any(c.note for c in changes)
