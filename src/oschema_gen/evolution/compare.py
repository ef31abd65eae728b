"""The rules of schema evolution: every difference between two snapshots, classified.

Three classes, from the point of view of what already exists (stored documents and
deployed clients generated from the old schema):

* **wire-breaking**: something that exists stops being valid or stops working (a field,
  type, enum value or method removed, a type changed or narrowed, a field made required);
* **query-breaking**: the data is still valid but a query clients or the service run
  fails (an `@index` or `@search` removed from a root object);
* **compatible**: everything old keeps working (additions, widenings, docs). Some
  compatible changes are *client-visible*: they carry a note because a client generated
  before the change rejects the new values it may now receive.

Each rule has a stable code (OS3xx), documented in docs/evolution.md; a test keeps the
two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..ir import SCALARS
from ..source import Location
from .snapshot import EnumSnap, FieldSnap, MethodSnap, Shape, Snapshot, StructSnap

ChangeClass = Literal["wire-breaking", "query-breaking", "compatible"]
WIRE: ChangeClass = "wire-breaking"
QUERY: ChangeClass = "query-breaking"
COMPATIBLE: ChangeClass = "compatible"
CLASS_ORDER: tuple[ChangeClass, ...] = (WIRE, QUERY, COMPATIBLE)


@dataclass(frozen=True)
class Rule:
    code: str
    change_class: ChangeClass
    title: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


#: Every kind of change `oschema-gen diff` reports.
RULES: dict[str, Rule] = _rules(
    Rule("OS301", WIRE, "type removed"),
    Rule("OS302", WIRE, "type changed between struct and enum"),
    Rule("OS303", WIRE, "no longer a root object"),
    Rule("OS304", WIRE, "field removed"),
    Rule("OS305", WIRE, "required field added"),
    Rule("OS306", WIRE, "field type changed"),
    Rule("OS307", WIRE, "number range narrowed"),
    Rule("OS308", WIRE, "field made required"),
    Rule("OS309", WIRE, "enum value removed"),
    Rule("OS310", WIRE, "method removed"),
    Rule("OS311", WIRE, "method input changed"),
    Rule("OS312", WIRE, "method output changed"),
    Rule("OS320", QUERY, "@index removed"),
    Rule("OS321", QUERY, "@search removed"),
    Rule("OS330", COMPATIBLE, "type added"),
    Rule("OS331", COMPATIBLE, "became a root object"),
    Rule("OS332", COMPATIBLE, "optional field added"),
    Rule("OS333", COMPATIBLE, "enum value added"),
    Rule("OS334", COMPATIBLE, "method added"),
    Rule("OS335", COMPATIBLE, "@index added"),
    Rule("OS336", COMPATIBLE, "@search added"),
    Rule("OS337", COMPATIBLE, "number range widened"),
    Rule("OS338", COMPATIBLE, "field made optional"),
    Rule("OS339", COMPATIBLE, "docs changed"),
    Rule("OS340", COMPATIBLE, "@owner changed"),
    Rule("OS341", COMPATIBLE, "method type renamed, same wire shape"),
    Rule("OS342", COMPATIBLE, "compound index added"),
    Rule("OS343", COMPATIBLE, "compound index removed"),
    Rule("OS344", COMPATIBLE, "single-field index removed, field still indexed"),
    Rule("OS345", COMPATIBLE, "single-field index added to an indexed field"),
)

# Compatible for the store and the server, but a client generated from the old schema
# validates what it receives against the old types: these notes say what it rejects.
CLIENT_VISIBLE = {
    "OS333": "client-visible: clients generated before this change reject objects carrying the new value;"
    " deploy them first, then write the value",
    "OS337": "client-visible: clients generated before this change still check the old range and reject"
    " values beyond it; deploy them first, then store such values",
    "OS338": "client-visible: clients generated before this change expect a value and reject null;"
    " deploy them first, then leave it out",
}


@dataclass(frozen=True)
class Change:
    code: str
    subject: str  # what changed: "AgentMemory", "AgentMemory.key", "MemoryCategory.skill", "memory_search"
    message: str
    old: Location | None  # where it was declared in the old schema
    new: Location | None  # where it is declared in the new one
    stored: bool  # it concerns a type the store holds (a root object or a type reachable from one)
    note: str = ""

    @property
    def change_class(self) -> ChangeClass:
        return RULES[self.code].change_class

    @property
    def breaking(self) -> bool:
        return self.change_class != COMPATIBLE

    @property
    def title(self) -> str:
        return RULES[self.code].title


def breaking(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


ShapeChange = Literal["same", "widened", "narrowed", "changed"]


def compare_shapes(old: Shape, new: Shape) -> ShapeChange:
    """How a field's type changed: only number ranges can widen or narrow; anything else is a change."""
    if old == new:
        return "same"
    if old.kind != new.kind:
        return "changed"
    if old.item is not None and new.item is not None:
        return compare_shapes(old.item, new.item)
    if old.kind != "scalar":
        return "changed"
    a, b = SCALARS[old.name], SCALARS[new.name]
    if a.json_type != b.json_type or not a.is_number:
        return "changed"
    if _contains(b.minimum, b.maximum, a.minimum, a.maximum):
        return "widened"
    if _contains(a.minimum, a.maximum, b.minimum, b.maximum):
        return "narrowed"
    return "changed"


def _contains(lo: float | None, hi: float | None, inner_lo: float | None, inner_hi: float | None) -> bool:
    """Whether the range [lo, hi] holds [inner_lo, inner_hi]; None is unbounded."""
    low_ok = lo is None or (inner_lo is not None and lo <= inner_lo)
    high_ok = hi is None or (inner_hi is not None and inner_hi <= hi)
    return low_ok and high_ok


def _written(f: FieldSnap) -> str:
    return f"{f.name}{'?' if f.optional else ''}: {f.shape.spelling}"


class _Diff:
    def __init__(self, old: Snapshot, new: Snapshot) -> None:
        self.old = old
        self.new = new
        self.stored = old.stored_types()
        self.changes: list[Change] = []

    def add(
        self, code: str, subject: str, message: str, old: Location | None, new: Location | None, stored: bool,
        note: str = "",
    ) -> None:
        self.changes.append(Change(code, subject, message, old, new, stored, note or CLIENT_VISIBLE.get(code, "")))

    def run(self) -> list[Change]:
        self.structs()
        self.enums()
        self.methods()
        rank = {c: i for i, c in enumerate(CLASS_ORDER)}
        nowhere = Location("", 0, 0)
        return sorted(self.changes, key=lambda c: (rank[c.change_class], c.new or c.old or nowhere, c.code))

    # -- structs ----------------------------------------------------------------------
    def structs(self) -> None:
        old, new = self.old.structs, self.new.structs
        for name, before in old.items():
            after = new.get(name)
            if after is not None:
                self.struct(before, after)
            elif name in self.new.enums:
                self.add("OS302", name, f"'{name}' changed from a struct to an enum", before.location,
                         self.new.enums[name].location, name in self.stored)
            elif before.root:
                self.add("OS301", name, f"root object '{name}' removed, with its collection and CRUD methods",
                         before.location, None, True)
            else:
                self.add("OS301", name, f"struct '{name}' removed", before.location, None, name in self.stored)
        for name, after in new.items():
            if name not in old and name not in self.old.enums:
                what = "root object" if after.root else "struct"
                self.add("OS330", name, f"{what} '{name}' added", None, after.location, False)

    def struct(self, before: StructSnap, after: StructSnap) -> None:
        name = before.name
        stored = name in self.stored
        root_changed = before.root != after.root
        if before.root and not after.root:
            self.add("OS303", name, f"'{name}' is no longer a root object: its collection and CRUD methods go away",
                     before.location, after.location, True)
        elif after.root and not before.root:
            self.add("OS331", name, f"'{name}' became a root object (a collection and CRUD methods)",
                     before.location, after.location, stored)
        if before.doc != after.doc:
            self.add("OS339", name, f"doc of '{name}' changed", before.location, after.location, stored)
        self.fields(before, after, stored, skip_sid=root_changed)
        if before.root and after.root:
            self.indexes(before, after)

    def indexes(self, before: StructSnap, after: StructSnap) -> None:
        """Physical index changes: the store builds and drops indexes on open, and every
        query keeps its answer. Whether a field is indexed at all (what `find` accepts)
        is the marks' business (OS320/OS335), so an index that comes or goes with the
        field's last or first `@index` is not reported twice."""
        name = before.name

        def where(struct: StructSnap, field: str) -> Location:
            f = struct.field(field)
            return f.location if f is not None else struct.location

        messages = {
            "OS342": "compound index ({key}) added to '{name}'",
            "OS343": "compound index ({key}) removed from '{name}'",
            "OS344": "single-field index of '{subject}' removed; it stays indexed through a compound index",
            "OS345": "single-field index added to '{subject}', already indexed through a compound index",
        }
        # An index only on one side: before (removed) or after (added); located in both.
        sides = ((before, after, "OS343", "OS344", True), (after, before, "OS342", "OS345", False))
        for side, other, compound_code, single_code, removed in sides:
            for key in side.indexes:
                field = other.field(key[0])
                if key in other.indexes or field is None or not field.indexed:
                    continue
                subject = f"{name}.{key[0]}"
                code = compound_code if len(key) > 1 else single_code
                message = messages[code].format(key=", ".join(key), name=name, subject=subject)
                here, there = where(side, key[0]), field.location
                self.add(code, subject, message, *((here, there) if removed else (there, here)), True)

    def fields(self, before: StructSnap, after: StructSnap, stored: bool, skip_sid: bool, label: str = "") -> None:
        """Changes of the fields of a struct; `label` names it in messages when it is not the struct's own name."""
        name = label or before.name
        added = [f for f in after.fields if before.field(f.name) is None and not (skip_sid and f.name == "sid")]
        for f in before.fields:
            other = after.field(f.name)
            if other is not None:
                self.field(name, before, after, f, other, stored)
                continue
            if skip_sid and f.name == "sid":
                continue
            twin = next((a for a in added if a.shape == f.shape), None)
            note = (
                f"if '{f.name}' was renamed to '{twin.name}': a rename is a removal plus an addition for stored"
                " documents and deployed clients; keep the old name, or copy the data to the new field"
                if twin is not None
                else ""
            )
            self.add("OS304", f"{name}.{f.name}", f"field '{name}.{f.name}' removed", f.location, after.location,
                     stored, note)
        for f in added:
            subject = f"{name}.{f.name}"
            if f.has_default:
                self.add("OS332", subject, f"optional field '{name}.{_written(f)}' added", before.location,
                         f.location, stored)
            else:
                self.add("OS305", subject,
                         f"required field '{name}.{_written(f)}' added: stored documents and older clients lack it",
                         before.location, f.location, stored)

    def field(
        self, owner: str, s_old: StructSnap, s_new: StructSnap, old: FieldSnap, new: FieldSnap, stored: bool
    ) -> None:
        subject = f"{owner}.{old.name}"
        at = (old.location, new.location)
        shape = compare_shapes(old.shape, new.shape)
        was, now = old.shape.spelling, new.shape.spelling
        if shape == "changed":
            self.add("OS306", subject, f"field '{subject}' changed type from {was} to {now}", *at, stored)
        elif shape == "narrowed":
            self.add("OS307", subject, f"field '{subject}' narrowed from {was} to {now}: values may not fit", *at,
                     stored)
        elif shape == "widened":
            self.add("OS337", subject, f"field '{subject}' widened from {was} to {now}", *at, stored)
        if old.optional and not new.optional:
            how = "no longer accepts null" if new.has_default else "made required"
            self.add("OS308", subject, f"field '{subject}' {how} (was '{_written(old)}')", *at, stored)
        elif new.optional and not old.optional:
            self.add("OS338", subject, f"field '{subject}' made optional (was '{_written(old)}')", *at, stored)
        if old.doc != new.doc:
            self.add("OS339", subject, f"doc of '{subject}' changed", *at, stored)
        # `@index` and `@search` only do something on root objects (columns, find filters, search).
        if s_old.root and s_new.root:
            self.marks(subject, old, new)
        if old.owner != new.owner:
            how = "added to" if new.owner else "removed from"
            self.add("OS340", subject, f"'@owner' {how} '{subject}'", old.marks.get("owner", old.location),
                     new.marks.get("owner", new.location), stored)

    def marks(self, subject: str, old: FieldSnap, new: FieldSnap) -> None:
        for mark, removed, added, effect in (
            ("index", "OS320", "OS335", "find filters and ordering on it fail"),
            ("search", "OS321", "OS336", "text searches no longer look at it"),
        ):
            if mark in old.marks and mark not in new.marks:
                self.add(removed, subject, f"'@{mark}' removed from '{subject}': {effect}", old.marks[mark],
                         new.location, True)
            elif mark in new.marks and mark not in old.marks:
                self.add(added, subject, f"'@{mark}' added to '{subject}'", old.location, new.marks[mark], True)

    # -- enums ------------------------------------------------------------------------
    def enums(self) -> None:
        old, new = self.old.enums, self.new.enums
        for name, before in old.items():
            after = new.get(name)
            stored = name in self.stored
            if after is not None:
                self.enum(before, after, stored)
            elif name in self.new.structs:
                self.add("OS302", name, f"'{name}' changed from an enum to a struct", before.location,
                         self.new.structs[name].location, stored)
            else:
                self.add("OS301", name, f"enum '{name}' removed", before.location, None, stored)
        for name, after in new.items():
            if name not in old and name not in self.old.structs:
                self.add("OS330", name, f"enum '{name}' added", None, after.location, False)

    def enum(self, before: EnumSnap, after: EnumSnap, stored: bool) -> None:
        name = before.name
        if before.doc != after.doc:
            self.add("OS339", name, f"doc of '{name}' changed", before.location, after.location, stored)
        now = {v.name: v for v in after.values}
        was = {v.name: v for v in before.values}
        for value in before.values:
            subject = f"{name}.{value.name}"
            other = now.get(value.name)
            if other is None:
                self.add("OS309", subject, f"enum value '{subject}' removed", value.location, after.location, stored)
            elif other.doc != value.doc:
                self.add("OS339", subject, f"doc of '{subject}' changed", value.location, other.location, stored)
        for value in after.values:
            if value.name not in was:
                self.add("OS333", f"{name}.{value.name}", f"enum value '{name}.{value.name}' added", before.location,
                         value.location, stored)

    # -- methods ----------------------------------------------------------------------
    def methods(self) -> None:
        old, new = self.old.methods, self.new.methods
        for name, before in old.items():
            after = new.get(name)
            if after is None:
                self.add("OS310", name, f"method '{name}' removed", before.location, None, False)
            else:
                self.method(before, after)
        for name, after in new.items():
            if name not in old:
                self.add("OS334", name, f"method '{name}' added", None, after.location, False)

    def method(self, before: MethodSnap, after: MethodSnap) -> None:
        name = before.name
        at = (before.location, after.location)
        if before.input_param != after.input_param and before.input_param is not None and after.input_param is not None:
            self.add("OS311", name, f"method '{name}' renamed its parameter from '{before.input_param}' to"
                     f" '{after.input_param}' (clients pass it by name)", *at, False)
        self.signature(name, "input", "OS311", before.input, after.input, at)
        self.signature(name, "output", "OS312", before.output, after.output, at)
        if before.doc != after.doc:
            self.add("OS339", name, f"doc of method '{name}' changed", *at, False)

    def signature(
        self, method: str, role: str, code: str, was: str | None, now: str | None,
        at: tuple[Location, Location],
    ) -> None:
        """A different input or output type breaks only if its wire shape does: JSON carries no type names."""
        if was == now:
            return  # the same type: its own changes are reported once, under its name
        if was is None or now is None:
            what = f"now takes an {role}" if was is None else f"no longer takes an {role}"
            if role == "output":
                what = "now returns a result" if was is None else "no longer returns a result"
            self.add(code, method, f"method '{method}' {what}", *at, False)
            return
        before, after = self.old.structs.get(was), self.new.structs.get(now)
        problems: list[Change] = []
        if before is not None and after is not None:
            probe = _Diff(self.old, self.new)
            probe.fields(before, after, stored=False, skip_sid=before.root != after.root, label=role)
            problems = breaking(probe.changes)
        if before is None or after is None or problems:
            why = "; ".join(p.message for p in problems[:3]) or "different types"
            self.add(code, method, f"method '{method}' {role} changed from {was} to {now}: {why}", *at, False)
        else:
            self.add("OS341", method, f"method '{method}' {role} is now {now} (was {was}), with the same wire shape",
                     *at, False)


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every change from `old` to `new`: breaking ones first, then in position order."""
    return _Diff(old, new).run()
