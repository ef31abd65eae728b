"""One case per kind of change: old schema, new schema, the classes and codes, and where in both.

Every case edits `evolution/base.oschema` (a root object, an enum, a nested struct and a
service) and expects exactly the listed changes, each as (code, old line:col, new
line:col). A test checks that every rule of `RULES` has a case here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from oschema_gen.evolution import RULES, Change, Snapshot, diff_snapshots, snapshot_of
from oschema_gen.evolution.compare import compare_shapes
from oschema_gen.evolution.snapshot import Shape
from oschema_gen.loader import load_domain

BASE = (Path(__file__).parent / "evolution" / "base.oschema").read_text()


@dataclass(frozen=True)
class Case:
    id: str
    new: tuple[tuple[str, str], ...]  # replacements turning the base into the new version
    expected: tuple[tuple[str, str | None, str | None], ...]
    old: tuple[tuple[str, str], ...] = ()  # replacements turning the base into the old version


def edit(text: str, replacements: tuple[tuple[str, str], ...]) -> str:
    for before, after in replacements:
        assert before in text, f"case edits text that is not in the schema: {before!r}"
        text = text.replace(before, after, 1)
    return text


CASES = [
    Case("unchanged", (), ()),
    Case("moved without change", (("Box = {\n    size: u32\n}\n\n", ""), ("service", "Box = {\n    size: u32\n}\n\nservice")), ()),
    # -- wire-breaking ---------------------------------------------------------------
    Case("struct removed", (("    box?: Box\n", ""), ("Box = {\n    size: u32\n}\n", "")),
         (("OS304", "10:5", "3:1"), ("OS301", "19:1", None))),
    Case("struct changed to enum", (("Box = {\n    size: u32\n}", "Box = enum {\n    small\n}"),),
         (("OS302", "19:1", "19:1"), ("OS306", "10:5", "10:5"))),
    Case("enum changed to struct", (("Kind = enum {\n    single\n    bundle\n}", "Kind = {\n    single: str\n    bundle: str\n}"),),
         (("OS302", "14:1", "14:1"), ("OS306", "7:5", "7:5"))),
    Case("enum removed", (("    kind: Kind\n", ""), ("# How an item is sold.\nKind = enum {\n    single\n    bundle\n}\n", "")),
         (("OS304", "7:5", "3:1"), ("OS301", "14:1", None))),
    Case("root object removed", (("# Something for sale.\n# [rootobject]\nItem = {\n    owner: str      @index @owner\n    title: str      @search\n    count: u16      @index\n    kind: Kind\n    tags: [str]\n    note?: str\n    box?: Box\n}\n\n", ""),),
         (("OS301", "3:1", None),)),
    Case("no longer a root object", (("# [rootobject]", "#"),), (("OS303", "3:1", "3:1"),)),
    Case("field removed", (("    note?: str\n", ""),), (("OS304", "9:5", "3:1"),)),
    Case("field renamed", (("note?: str", "memo?: str"),), (("OS304", "9:5", "3:1"), ("OS332", "3:1", "9:5"))),
    Case("required field added", (("    tags: [str]\n", "    tags: [str]\n    price: f64\n"),), (("OS305", "3:1", "9:5"),)),
    Case("field type changed", (("kind: Kind", "kind: str"),), (("OS306", "7:5", "7:5"),)),
    Case("list item type changed", (("tags: [str]", "tags: [Kind]"),), (("OS306", "8:5", "8:5"),)),
    Case("integer range narrowed", (("size: u32", "size: u16"),), (("OS307", "20:5", "20:5"),)),
    Case("signedness changed", (("size: u32", "size: i32"),), (("OS306", "20:5", "20:5"),)),
    Case("optional made required", (("note?: str", "note: str"),), (("OS308", "9:5", "9:5"),)),
    Case("list no longer nullable", (), (("OS308", "8:5", "8:5"),),
         old=(("tags: [str]", "tags?: [str]"),)),
    Case("enum value removed", (("    bundle\n", ""),), (("OS309", "16:5", "14:1"),)),
    Case("method removed", (("    # Items of an owner.\n    count_items(input: CountInput) -> CountOutput\n", ""),),
         (("OS310", "33:5", None),)),
    Case("method input changed", (("CountInput = {\n    owner: str\n}", "CountInput = {\n    owner: str\n}\n\nByTitle = {\n    title: u32\n}"),
                                  ("count_items(input: CountInput)", "count_items(input: ByTitle)")),
         (("OS311", "33:5", "37:5"), ("OS330", None, "27:1"))),
    Case("method parameter renamed", (("count_items(input: CountInput)", "count_items(query: CountInput)"),),
         (("OS311", "33:5", "33:5"),)),
    Case("method input dropped", (("count_items(input: CountInput)", "count_items()"),), (("OS311", "33:5", "33:5"),)),
    Case("method output changed", (("-> CountOutput", "-> Box"),), (("OS312", "33:5", "33:5"),)),
    # -- query-breaking --------------------------------------------------------------
    Case("@index removed", (("count: u16      @index", "count: u16"),), (("OS320", "6:21", "6:5"),)),
    Case("@search removed", (("title: str      @search", "title: str"),), (("OS321", "5:21", "5:5"),)),
    Case("@index gone in every form", (("count: u16      @index", "count: u16"),), (("OS320", "6:21", "6:5"),),
         old=(("count: u16      @index", "count: u16      @index(owner)"),)),
    # -- compatible ------------------------------------------------------------------
    Case("type added", (("service", "Extra = {\n    a: str\n}\n\nservice"),), (("OS330", None, "31:1"),)),
    Case("root object added", (("service", "# [rootobject]\nExtra = {\n    a: str\n}\n\nservice"),), (("OS330", None, "32:1"),)),
    Case("became a root object", (("}\n\nBox = {", "}\n# [rootobject]\nBox = {"),), (("OS331", "19:1", "19:1"),)),
    Case("optional field added", (("    tags: [str]\n", "    tags: [str]\n    price?: f64\n"),), (("OS332", "3:1", "9:5"),)),
    Case("list field added", (("    tags: [str]\n", "    tags: [str]\n    labels: [str]\n"),), (("OS332", "3:1", "9:5"),)),
    Case("enum value added", (("    bundle\n", "    bundle\n    crate\n"),), (("OS333", "14:1", "17:5"),)),
    Case("method added", (("-> CountOutput\n", "-> CountOutput\n    count_all(input: CountInput) -> CountOutput\n"),),
         (("OS334", None, "34:5"),)),
    Case("@index added", (("kind: Kind", "kind: Kind      @index"),), (("OS335", "7:5", "7:21"),)),
    Case("@search added", (("note?: str", "note?: str      @search"),), (("OS336", "9:5", "9:21"),)),
    Case("@index(...) on a field not indexed before", (("kind: Kind", "kind: Kind      @index(count)"),),
         (("OS335", "7:5", "7:21"),)),
    Case("compound index added", (("count: u16      @index", "count: u16      @index @index(owner)"),),
         (("OS342", "6:5", "6:5"),)),
    Case("compound index removed", (), (("OS343", "6:5", "6:5"),),
         old=(("count: u16      @index", "count: u16      @index @index(owner)"),)),
    Case("single index replaced by a compound", (("count: u16      @index", "count: u16      @index(owner)"),),
         (("OS342", "6:5", "6:5"), ("OS344", "6:5", "6:5"))),
    Case("single index removed, compound kept", (("count: u16      @index", "count: u16      @index(owner)"),),
         (("OS344", "6:5", "6:5"),), old=(("count: u16      @index", "count: u16      @index(owner) @index"),)),
    Case("single index added to an indexed field", (("count: u16      @index", "count: u16      @index(owner) @index"),),
         (("OS345", "6:5", "6:5"),), old=(("count: u16      @index", "count: u16      @index(owner)"),)),
    Case("integer range widened", (("count: u16", "count: u32"),), (("OS337", "6:5", "6:5"),)),
    Case("list item range widened", (("tags: [str]", "tags: [u32]"),), (("OS337", "8:5", "8:5"),),
         old=(("tags: [str]", "tags: [u8]"),)),
    Case("float widened", (("size: u32", "size: f64"),), (("OS337", "20:5", "20:5"),), old=(("size: u32", "size: f32"),)),
    Case("made optional", (("kind: Kind", "kind?: Kind"),), (("OS338", "7:5", "7:5"),)),
    Case("type doc changed", (("# How an item is sold.", "# How an item ships."),), (("OS339", "14:1", "14:1"),)),
    Case("method doc changed", (("# Items of an owner.", "# Counts the items of an owner."),), (("OS339", "33:5", "33:5"),)),
    Case("@owner removed", (("@index @owner", "@index"),), (("OS340", "4:28", "4:5"),)),
    Case("method input renamed, same shape", (("CountInput = {\n    owner: str\n}", "CountInput = {\n    owner: str\n}\n\nByOwner = {\n    owner: str\n}"),
                                              ("count_items(input: CountInput)", "count_items(input: ByOwner)")),
         (("OS330", None, "27:1"), ("OS341", "33:5", "37:5"))),
    Case("@index on a struct that is not stored", (), (), old=(("size: u32", "size: u32 @index"),)),
    Case("compound @index on a struct that is not root", (("size: u32", "size: u32 @index(size2) @index\n    size2: u32? @index"),),
         (), old=(("size: u32", "size: u32 @index\n    size2: u32? @index"),)),
]


def snapshot(tmp: Path, name: str, text: str) -> Snapshot:
    directory = tmp / name / "shop"
    directory.mkdir(parents=True)
    (directory / "10_shop.oschema").write_text(text)
    result = load_domain(directory)
    assert result.domain is not None, result.bag.render(result.sources)
    return snapshot_of(result.domain)


def at(change: Change, which: str) -> str | None:
    location = getattr(change, which)
    return None if location is None else f"{location.line}:{location.column}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_change(case: Case, tmp_path: Path) -> None:
    old = snapshot(tmp_path, "old", edit(BASE, case.old))
    new = snapshot(tmp_path, "new", edit(BASE, case.new))
    changes = diff_snapshots(old, new)
    got = sorted((c.code, at(c, "old"), at(c, "new")) for c in changes)
    assert got == sorted(case.expected), "\n".join(c.message for c in changes)
    for change in changes:
        assert change.change_class == RULES[change.code].change_class
        assert change.message and change.subject


def test_every_rule_has_a_case() -> None:
    covered = {code for case in CASES for code, _, _ in case.expected}
    assert covered == set(RULES)


def test_breaking_changes_come_first_and_name_their_class(tmp_path: Path) -> None:
    old = snapshot(tmp_path, "old", BASE)
    new = snapshot(tmp_path, "new", edit(BASE, (("    note?: str\n", "    memo?: str\n"), ("@search", ""), ("bundle", "bundle\n    crate"))))
    classes = [c.change_class for c in diff_snapshots(old, new)]
    assert classes == ["wire-breaking", "query-breaking", "compatible", "compatible"]


def test_rename_and_client_visible_notes(tmp_path: Path) -> None:
    old = snapshot(tmp_path, "old", BASE)
    new = snapshot(tmp_path, "new", edit(BASE, (("note?: str", "memo?: str"), ("bundle", "bundle\n    crate"), ("count: u16", "count: u32"), ("kind: Kind", "kind?: Kind"))))
    notes = {c.code: c.note for c in diff_snapshots(old, new)}
    assert "renamed to 'memo'" in notes["OS304"]
    for code in ("OS333", "OS337", "OS338"):
        assert notes[code].startswith("client-visible:")
    assert notes["OS332"] == ""


def test_stored_marks_what_the_store_holds(tmp_path: Path) -> None:
    old = snapshot(tmp_path, "old", BASE)
    new = snapshot(tmp_path, "new", edit(BASE, (("size: u32", "size: u16"), ("owner: str\n}", "owner: u8\n}"))))
    stored = {c.subject: c.stored for c in diff_snapshots(old, new)}
    # Box is reachable from the root object Item; CountInput only from a method.
    assert stored == {"Box.size": True, "CountInput.owner": False}


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [("u8", "u16", "widened"), ("u16", "u8", "narrowed"), ("u32", "i64", "widened"), ("i64", "u64", "changed"),
     ("u64", "int", "widened"), ("int", "i64", "narrowed"), ("f32", "f64", "widened"), ("i32", "f64", "changed"),
     ("str", "otime", "changed"), ("bool", "bool", "same")],
)
def test_number_ranges(old: str, new: str, verdict: str) -> None:
    assert compare_shapes(Shape("scalar", old), Shape("scalar", new)) == verdict
