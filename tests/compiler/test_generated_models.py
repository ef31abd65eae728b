"""The generated pydantic models behave as the schema says.

The kitchen fixture domain (every language feature) is generated into a temporary
directory and imported under a package name unique to the session, so it never collides
with another test's copy. The committed `osis_ai` package gets the same smoke checks.
Sample instances are built from each package's own `schema.json`, so every type of the
domain is covered without listing it here.
"""

from __future__ import annotations

import importlib
import json
import math
import shutil
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from oschema_gen.cli import main
from tests.conftest import FIXTURES, GENERATED

UTC = timezone.utc
WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
WHEN_WIRE = "2024-01-02T03:04:05Z"


# -- building and importing the packages ------------------------------------------------


def _generate_and_import(schema_dir: Path, out_root: Path, domain: str) -> ModuleType:
    src = out_root / "schemas" / domain
    shutil.copytree(schema_dir, src)
    out = out_root / "generated"
    assert main(["generate", str(src), "--out", str(out)]) == 0
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module(f"osis_{domain}")
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    domain = f"kitchen_{uuid.uuid4().hex[:8]}"
    package = _generate_and_import(FIXTURES / "kitchen", tmp_path_factory.mktemp("kitchen"), domain)
    yield package
    for name in [m for m in sys.modules if m == package.__name__ or m.startswith(package.__name__ + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def ai() -> ModuleType:
    sys.path.insert(0, str(GENERATED))
    try:
        package = importlib.import_module("osis_ai")
    finally:
        sys.path.remove(str(GENERATED))
    # The committed package, not some installed copy.
    assert Path(package.__file__ or "").resolve().parent == (GENERATED / "osis_ai").resolve()
    return package


def _schema(package: ModuleType) -> dict[str, Any]:
    path = Path(package.__file__ or "").parent / "schema.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# -- samples from the JSON Schema -------------------------------------------------------


class Samples:
    """Deterministic valid wire values for every `$defs` entry of a schema.json."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = document["$defs"]

    def value(self, schema: dict[str, Any], *, full: bool, depth: int = 0) -> Any:
        if "$ref" in schema:
            target = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
            if "enum" in target:
                return target["enum"][-1]
            return self.obj(target, full=full, depth=depth + 1)
        if "anyOf" in schema:
            inner = next(s for s in schema["anyOf"] if s.get("type") != "null")
            # Stop recursive optionals (Part.spare) after a few levels.
            return self.value(inner, full=full, depth=depth) if full and depth < 4 else None
        kind = schema.get("type")
        if kind == "array":
            return [self.value(schema["items"], full=full, depth=depth)] if full else []
        if kind == "object":
            return {"k": self.value(schema["additionalProperties"], full=full, depth=depth)} if full else {}
        if kind == "string":
            return WHEN_WIRE if schema.get("format") == "date-time" else "text ✓"
        if kind == "boolean":
            return True
        if kind == "integer":
            return schema.get("maximum", 10**20)
        if kind == "number":
            return schema.get("maximum", 2.5)
        raise AssertionError(f"unexpected schema {schema}")

    def obj(self, schema: dict[str, Any], *, full: bool, depth: int = 0) -> dict[str, Any]:
        required = set(schema.get("required", ()))
        return {
            name: self.value(prop, full=full, depth=depth)
            for name, prop in schema["properties"].items()
            if full or name in required
        }

    def structs(self) -> list[str]:
        return [name for name, d in self.defs.items() if d.get("type") == "object"]

    def enums(self) -> list[str]:
        return [name for name, d in self.defs.items() if "enum" in d]


def _check_every_type(package: ModuleType) -> int:
    document = _schema(package)
    samples = Samples(document)
    validator = jsonschema.Draft202012Validator(document)
    checked = 0
    for name in samples.structs():
        model: type[BaseModel] = getattr(package, name)
        for full in (False, True):
            wire = samples.obj(samples.defs[name], full=full)
            original = model.model_validate(wire)
            again = model.model_validate_json(original.model_dump_json())
            assert again == original, name
            dumped = original.model_dump(mode="json")
            assert json.loads(original.model_dump_json()) == dumped
            # What the models write is what the emitted JSON Schema describes.
            errors = list(validator.evolve(schema={**document, "$ref": f"#/$defs/{name}"}).iter_errors(dumped))
            assert not errors, (name, errors[0].message)
            if full:
                # Every field given on the wire comes back under its wire name.
                assert set(dumped) == set(wire), name
            checked += 1
    for name in samples.enums():
        enum = getattr(package, name)
        for value in samples.defs[name]["enum"]:
            assert enum(value).value == value
            assert str(enum(value)) == value
    assert set(package.__all__) == set(samples.defs)
    return checked


# -- every type -------------------------------------------------------------------------


def test_every_kitchen_type_validates_and_round_trips(kitchen: ModuleType) -> None:
    structs = Samples(_schema(kitchen)).structs()
    assert {"Gadget", "Part", "Drawer", "CountInput", "CountOutput", "GadgetFilter", "DrawerFilter"} <= set(structs)
    assert _check_every_type(kitchen) == 2 * len(structs)  # minimal and full


def test_every_ai_type_validates_and_round_trips(ai: ModuleType) -> None:
    structs = Samples(_schema(ai)).structs()
    roots = ["AgentAuditEntry", "AgentUsageEntry", "AgentConversation", "AgentMessage", "AgentMemory"]
    assert set(roots) | {f"{r}Filter" for r in roots} <= set(structs)
    assert _check_every_type(ai) == 2 * len(structs)


def _gadget(**changes: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "name": "whisk",
        "colour": "dark_red",
        "weight_grams": 120,
        "price": 3.5,
        "ratio": 0.25,
        "serial": 2**64 - 1,
        "delta": -128,
        "offset": 32767,
        "small_count": -(2**31),
        "big_count": 2**63 - 1,
        "plain_int": 10**30,
        "enabled": False,
        "bought_at": WHEN_WIRE,
        "owner_sid": "u1",
        "class": "utensil",
        "json": "{}",
        "copy": True,
        "notes": "",
    }
    wire.update(changes)
    return {k: v for k, v in wire.items() if v is not _DROP}


_DROP = object()


def test_full_gadget_round_trips(kitchen: ModuleType) -> None:
    part = {"label": "blade", "spare": {"label": "spare blade", "by_size": {"s": ["small", "large"]}}}
    wire = _gadget(
        size="medium",
        last_used="2024-02-03T04:05:06Z",
        tags=["a", ""],
        nested_scores=[[1, -(2**31)], []],
        labels={"k": "v", "": "empty key"},
        parts=[part, {"label": "handle"}],
        main_part=part,
        **{"from": "shop", "model_config_note": "n"},
    )
    gadget = kitchen.Gadget.model_validate(wire)
    assert kitchen.Gadget.model_validate_json(gadget.model_dump_json()) == gadget
    dumped = gadget.model_dump(mode="json")
    assert dumped["parts"][0]["spare"]["by_size"] == {"s": ["small", "large"]}
    assert dumped["plain_int"] == 10**30
    assert isinstance(gadget.colour, kitchen.Colour) and gadget.colour is kitchen.Colour.DARK_RED


# -- integers, floats, enums ------------------------------------------------------------

INT_BOUNDS = [
    ("i8", "Gadget", "delta", -(2**7), 2**7 - 1),
    ("i16", "Gadget", "offset", -(2**15), 2**15 - 1),
    ("i32", "Gadget", "small_count", -(2**31), 2**31 - 1),
    ("i64", "Gadget", "big_count", -(2**63), 2**63 - 1),
    ("u8", "Drawer", "position", 0, 2**8 - 1),
    ("u16", "Gadget", "weight_grams", 0, 2**16 - 1),
    ("u32", "CountOutput", "count", 0, 2**32 - 1),
    ("u64", "Gadget", "serial", 0, 2**64 - 1),
]


def _base(kitchen: ModuleType, model: str) -> dict[str, Any]:
    if model == "Gadget":
        return _gadget()
    return {"Drawer": {"position": 1}, "CountOutput": {"count": 1}}[model]


@pytest.mark.parametrize(("scalar", "model", "field", "lo", "hi"), INT_BOUNDS, ids=[b[0] for b in INT_BOUNDS])
def test_integer_bounds(kitchen: ModuleType, scalar: str, model: str, field: str, lo: int, hi: int) -> None:
    cls = getattr(kitchen, model)
    base = _base(kitchen, model)
    for ok in (lo, hi, (lo + hi) // 2):
        assert getattr(cls.model_validate({**base, field: ok}), field) == ok
        assert getattr(cls.model_validate_json(json.dumps({**base, field: ok})), field) == ok
    for bad in (lo - 1, hi + 1, lo - 2**70, hi + 2**70):
        with pytest.raises(ValidationError) as info:
            cls.model_validate({**base, field: bad})
        assert info.value.errors()[0]["loc"] == (field,)
        with pytest.raises(ValidationError):
            cls.model_validate_json(json.dumps({**base, field: bad}))
    # The JSON Schema states the same bounds.
    prop = _schema(kitchen)["$defs"][model]["properties"][field]
    assert (prop["minimum"], prop["maximum"]) == (lo, hi)


def test_integers_refuse_fractions_and_text(kitchen: ModuleType) -> None:
    for bad in (1.5, "twelve", [], None):
        with pytest.raises(ValidationError):
            kitchen.Gadget.model_validate(_gadget(delta=bad))


def test_f32_range(kitchen: ModuleType) -> None:
    assert kitchen.Gadget.model_validate(_gadget(ratio=3.4e38)).ratio == 3.4e38
    for bad in (3.5e38, -3.5e38, 1e300):
        with pytest.raises(ValidationError):
            kitchen.Gadget.model_validate(_gadget(ratio=bad))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "NaN", "inf", "-Infinity"])
def test_non_finite_floats_are_refused(kitchen: ModuleType, ai: ModuleType, bad: Any) -> None:
    for field in ("price", "ratio"):
        with pytest.raises(ValidationError):
            kitchen.Gadget.model_validate(_gadget(**{field: bad}))
    with pytest.raises(ValidationError):
        kitchen.GadgetFilter.model_validate({"price_gt": bad})
    with pytest.raises(ValidationError):
        kitchen.GadgetFilter.model_validate({"price_in": [1.0, bad]})
    with pytest.raises(ValidationError):
        ai.AgentMemoryFilter.model_validate({"confidence_lte": bad})


def test_non_finite_floats_in_json_text_are_refused(kitchen: ModuleType) -> None:
    text = json.dumps(_gadget()).replace('"price": 3.5', '"price": NaN')
    assert "NaN" in text
    with pytest.raises(ValidationError):
        kitchen.Gadget.model_validate_json(text)


@pytest.mark.parametrize("bad", ["purple", "Blue", "BLUE", "", " blue", 1, None, ["blue"]])
def test_bad_enum_values_are_refused(kitchen: ModuleType, bad: Any) -> None:
    with pytest.raises(ValidationError):
        kitchen.Gadget.model_validate(_gadget(colour=bad))
    with pytest.raises(ValidationError):
        kitchen.CountInput.model_validate({"colour": bad})
    with pytest.raises(ValidationError):
        kitchen.GadgetFilter.model_validate({"colour_in": ["green", bad]})
    with pytest.raises(ValidationError):
        kitchen.Part.model_validate({"label": "x", "by_size": {"a": ["small", bad]}})


def test_enums_are_str_enums(kitchen: ModuleType) -> None:
    assert [c.value for c in kitchen.Colour] == ["blue", "green", "dark_red"]
    assert kitchen.Colour.DARK_RED == "dark_red"
    assert kitchen.Size("large") is kitchen.Size.LARGE


# -- required, optional, defaults -------------------------------------------------------

GADGET_REQUIRED = [
    "name", "colour", "weight_grams", "price", "ratio", "serial", "delta", "offset", "small_count",
    "big_count", "plain_int", "enabled", "bought_at", "owner_sid", "class", "json", "copy", "notes",
]  # fmt: skip


@pytest.mark.parametrize("field", GADGET_REQUIRED)
def test_missing_required_field_is_refused(kitchen: ModuleType, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        kitchen.Gadget.model_validate(_gadget(**{field: _DROP}))
    errors = info.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [("missing", (field,))]


def test_required_fields_match_the_schema(kitchen: ModuleType) -> None:
    assert _schema(kitchen)["$defs"]["Gadget"]["required"] == GADGET_REQUIRED
    for model, fields in {"Part": ["label"], "Drawer": ["position"], "CountInput": ["colour"]}.items():
        with pytest.raises(ValidationError) as info:
            getattr(kitchen, model).model_validate({})
        assert [e["loc"] for e in info.value.errors()] == [(f,) for f in fields]


def test_null_is_refused_for_required_and_defaulted_fields(kitchen: ModuleType) -> None:
    for field in ("name", "colour", "bought_at", "class", "tags", "labels", "parts", "sid"):
        with pytest.raises(ValidationError):
            kitchen.Gadget.model_validate(_gadget(**{field: None}))


def test_optional_fields_default_to_none(kitchen: ModuleType) -> None:
    gadget = kitchen.Gadget.model_validate(_gadget())
    for attr in ("size", "last_used", "main_part", "from_", "model_config_note_"):
        assert getattr(gadget, attr) is None, attr
    assert kitchen.Part(label="x").spare is None
    # Explicit null is the same as leaving it out.
    assert kitchen.Gadget.model_validate(_gadget(size=None, last_used=None)) == gadget
    # Root objects can be built before the store assigns a sid.
    assert gadget.sid == "" and kitchen.Drawer(position=1).sid == ""
    assert all(v is None for v in kitchen.GadgetFilter().model_dump().values())


def test_lists_and_maps_default_empty_and_independent(kitchen: ModuleType) -> None:
    a = kitchen.Gadget.model_validate(_gadget())
    b = kitchen.Gadget.model_validate(_gadget())
    assert (a.tags, a.nested_scores, a.labels, a.parts) == ([], [], {}, [])
    a.tags.append("x")
    a.labels["k"] = "v"
    a.nested_scores.append([1])
    assert (b.tags, b.labels, b.nested_scores) == ([], {}, [])
    p, q = kitchen.Part(label="p"), kitchen.Part(label="q")
    p.by_size["s"] = [kitchen.Size.SMALL]
    assert q.by_size == {}
    d1, d2 = kitchen.Drawer(position=1), kitchen.Drawer(position=2)
    d1.gadget_sids.append("g")
    assert d2.gadget_sids == []


# -- aliases ----------------------------------------------------------------------------

ALIASES = [("class_", "class"), ("from_", "from"), ("json_", "json"), ("copy_", "copy"), ("model_config_note_", "model_config_note")]


def test_aliased_fields_serialise_under_the_wire_name(kitchen: ModuleType) -> None:
    gadget = kitchen.Gadget.model_validate(_gadget(**{"from": "shop", "model_config_note": "n"}))
    assert (gadget.class_, gadget.from_, gadget.json_, gadget.copy_, gadget.model_config_note_) == (
        "utensil", "shop", "{}", True, "n",
    )  # fmt: skip
    for dumped in (gadget.model_dump(), gadget.model_dump(mode="json"), json.loads(gadget.model_dump_json())):
        for py, wire in ALIASES:
            assert wire in dumped and py not in dumped
    # The methods the aliases dodge still work.
    assert gadget.model_copy() == gadget
    assert kitchen.Gadget.model_config["extra"] == "ignore"


def test_aliased_fields_accept_both_names(kitchen: ModuleType) -> None:
    by_wire = kitchen.Gadget.model_validate(_gadget(**{"from": "shop", "model_config_note": "n"}))
    python_names = _gadget(**{wire: _DROP for _, wire in ALIASES})
    python_names.update({"class_": "utensil", "from_": "shop", "json_": "{}", "copy_": True, "model_config_note_": "n"})
    assert kitchen.Gadget.model_validate(python_names) == by_wire
    assert kitchen.Gadget.model_validate_json(json.dumps(python_names)) == by_wire
    assert kitchen.Gadget(**python_names) == by_wire


def test_filter_aliases(ai: ModuleType) -> None:
    # `model_in` starts with pydantic's reserved `model_` prefix.
    f = ai.AgentUsageEntryFilter.model_validate({"model_in": ["gpt"]})
    assert f.model_in_ == ["gpt"]
    assert f.model_dump(exclude_none=True) == {"model_in": ["gpt"]}
    assert ai.AgentUsageEntryFilter(model_in_=["gpt"]) == f


# -- otime ------------------------------------------------------------------------------

OTIME_INPUTS = [
    "2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05z",
    "2024-01-02T03:04:05+00:00",
    "2024-01-02T05:34:05+02:30",
    "2024-01-01T22:04:05-05:00",
    "2024-01-02T03:04:05.999999Z",
    "2024-01-02T03:04:05",  # no offset: UTC
    "2024-01-02 03:04:05",  # SQLite's CURRENT_TIMESTAMP, UTC
    1704164645,
    1704164645.75,
    WHEN,
    datetime(2024, 1, 2, 3, 4, 5, 123),  # naive from Python: UTC
]


@pytest.mark.parametrize("value", OTIME_INPUTS, ids=[repr(v) for v in OTIME_INPUTS])
def test_otime_accepts_and_normalises(kitchen: ModuleType, value: Any) -> None:
    gadget = kitchen.Gadget.model_validate(_gadget(bought_at=value, last_used=value))
    for got in (gadget.bought_at, gadget.last_used):
        assert got == WHEN
        assert got.tzinfo is not None and got.utcoffset().total_seconds() == 0
        assert got.microsecond == 0
    dumped = gadget.model_dump(mode="json")
    assert dumped["bought_at"] == dumped["last_used"] == WHEN_WIRE
    assert json.loads(gadget.model_dump_json())["bought_at"] == WHEN_WIRE
    if not isinstance(value, datetime):
        assert kitchen.Gadget.model_validate_json(json.dumps(_gadget(bought_at=value))).bought_at == WHEN
    f = kitchen.GadgetFilter.model_validate({"bought_at_gte": value, "bought_at_in": [value]})
    assert f.model_dump(mode="json", exclude_none=True) == {"bought_at_gte": WHEN_WIRE, "bought_at_in": [WHEN_WIRE]}


@pytest.mark.parametrize(
    "bad",
    ["", "yesterday", "2024-13-01T00:00:00Z", "2024-01-02T25:00:00Z", "2024/01/02 03:04:05", True, [], {},
     math.nan, math.inf, 10**20, "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"],
)  # fmt: skip
def test_otime_refuses_garbage(kitchen: ModuleType, bad: Any) -> None:
    with pytest.raises(ValidationError):
        kitchen.Gadget.model_validate(_gadget(bought_at=bad))
    with pytest.raises(ValidationError):
        kitchen.GadgetFilter.model_validate({"bought_at_lt": bad})


@pytest.mark.parametrize(("wire", "moment"), [
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ("0999-12-31T23:59:59Z", datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("1969-12-31T23:59:59Z", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
])  # fmt: skip
def test_otime_extreme_years(kitchen: ModuleType, wire: str, moment: datetime) -> None:
    gadget = kitchen.Gadget.model_validate(_gadget(bought_at=wire))
    assert gadget.bought_at == moment
    assert gadget.model_dump(mode="json")["bought_at"] == wire  # four-digit years, always
    assert kitchen.Gadget.model_validate_json(gadget.model_dump_json()) == gadget


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_otime_wire_form_is_rfc3339_z_with_second_precision(kitchen: ModuleType, moment: datetime) -> None:
    gadget = kitchen.Gadget.model_validate(_gadget(bought_at=moment))
    wire = gadget.model_dump(mode="json")["bought_at"]
    m = moment
    assert wire == f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    assert datetime.fromisoformat(wire) == moment.replace(microsecond=0)
    assert kitchen.Gadget.model_validate_json(gadget.model_dump_json()) == gadget


# -- forward references, recursion, filters ---------------------------------------------


def test_forward_and_recursive_references(kitchen: ModuleType) -> None:
    # Part is used by Gadget before it is declared, and refers to itself.
    wire: dict[str, Any] = {"label": "0"}
    for depth in range(1, 30):
        wire = {"label": str(depth), "spare": wire, "by_size": {"x": ["small"]}}
    part = kitchen.Part.model_validate(wire)
    node, count = part, 0
    while node is not None:
        assert isinstance(node, kitchen.Part)
        node, count = node.spare, count + 1
    assert count == 30
    assert kitchen.Part.model_validate_json(part.model_dump_json()) == part
    gadget = kitchen.Gadget.model_validate(_gadget(main_part=wire, parts=[wire]))
    assert isinstance(gadget.main_part, kitchen.Part)
    assert gadget.parts[0] == gadget.main_part
    with pytest.raises(ValidationError):
        kitchen.Part.model_validate({"label": "x", "spare": {"spare": None}})
    # The schema states the recursion by reference.
    props = _schema(kitchen)["$defs"]["Part"]["properties"]
    assert props["spare"]["anyOf"][0] == {"$ref": "#/$defs/Part"}


def test_filters_forbid_unknown_keys(kitchen: ModuleType, ai: ModuleType) -> None:
    for model, typo in (
        (kitchen.GadgetFilter, {"nam": "x"}),
        (kitchen.GadgetFilter, {"name": "x", "colour_in_": ["blue"]}),
        (kitchen.GadgetFilter, {"size": "small"}),  # not indexed
        (kitchen.DrawerFilter, {"position_ge": 1}),
        (ai.AgentMemoryFilter, {"confidence_gt": 0.5, "category_eq": "fact"}),
    ):
        with pytest.raises(ValidationError) as info:
            model.model_validate(typo)
        assert "extra_forbidden" in {e["type"] for e in info.value.errors()}
    assert kitchen.GadgetFilter.model_config["extra"] == "forbid"
    assert _schema(kitchen)["$defs"]["GadgetFilter"]["additionalProperties"] is False
    # Schema types, by contrast, ignore unknown keys: an old client reads a newer server's objects.
    gadget = kitchen.Gadget.model_validate(_gadget(added_later="x"))
    assert "added_later" not in gadget.model_dump()


def test_filter_members(kitchen: ModuleType) -> None:
    fields = set(kitchen.GadgetFilter.model_fields)
    assert {"name", "name_in", "colour_in", "price_gte", "bought_at_lt", "enabled_in"} <= fields
    assert not {"name_gt", "colour_lt", "enabled_gte", "size", "tags"} & fields
    f = kitchen.GadgetFilter(weight_grams_gt=5, colour_in=["blue"])
    assert f.model_dump(mode="json", exclude_none=True) == {"weight_grams_gt": 5, "colour_in": ["blue"]}
    with pytest.raises(ValidationError):
        kitchen.GadgetFilter(weight_grams_gt=70000)


# -- osis_ai smoke checks ---------------------------------------------------------------


def test_ai_smoke(ai: ModuleType) -> None:
    memory = ai.AgentMemory.model_validate(
        {
            "user_sid": "u1",
            "category": "preference",
            "key": "lang",
            "value": "answers in French",
            "confidence": 0.9,
            "access_count": 0,
            "created_at": "2024-01-02 03:04:05",
            "updated_at": 1704164645,
        }
    )
    assert memory.sid == "" and memory.tags == [] and memory.source is None
    assert memory.category is ai.MemoryCategory.PREFERENCE
    assert ai.AgentMemory.model_validate_json(memory.model_dump_json()) == memory
    assert memory.model_dump(mode="json")["created_at"] == WHEN_WIRE
    for bad in ({"access_count": -1}, {"access_count": 2**32}, {"category": "opinion"}, {"confidence": math.nan}):
        with pytest.raises(ValidationError):
            ai.AgentMemory.model_validate({**memory.model_dump(), **bad})
    with pytest.raises(ValidationError):
        ai.AgentMessage.model_validate({"conversation_sid": "c", "role": "robot", "content": "", "user_sid": "u",
                                        "created_at": WHEN_WIRE})  # fmt: skip
    with pytest.raises(ValidationError):
        ai.AgentAuditEntryFilter.model_validate({"tool": "x"})
    assert ai.AgentAuditEntryFilter(success=True).model_dump(exclude_none=True) == {"success": True}


# -- names pydantic reserves ------------------------------------------------------------


def test_naming_knows_every_pydantic_attribute() -> None:
    from oschema_gen.naming import PYDANTIC_RESERVED, python_attribute, python_parameter

    public = {n for n in {*dir(BaseModel), *dir(type(BaseModel))} if not n.startswith("_")}
    assert {n for n in public if not n.startswith("model_")} <= PYDANTIC_RESERVED
    for name in public | {"model_dump_x", "model_validate_y"}:
        for spelled in (python_attribute(name), python_parameter(name)):
            assert spelled != name and spelled.isidentifier() and not hasattr(BaseModel, spelled)
            assert not spelled.startswith(("model_dump", "model_validate")), spelled


RESERVED_NAMES_SCHEMA = """\
# [rootobject]
Thing = {
    register: str          @index
    mro: str
    model_dump: str
    model_validate_json: u8
    json: str
    schema: str?
    model_config: [str]
}

service Things {
    run(model_config: Thing) -> Thing
    walk(json: Thing)
}
"""


def test_fields_and_parameters_named_like_pydantic_attributes(tmp_path: Path) -> None:
    import warnings

    schema_dir = tmp_path / "schemas" / "reserved"
    schema_dir.mkdir(parents=True)
    (schema_dir / "a.oschema").write_text(RESERVED_NAMES_SCHEMA, encoding="utf-8")
    name = f"reserved_{uuid.uuid4().hex[:8]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic warns when a field shadows a BaseModel attribute
        package = _generate_and_import(schema_dir, tmp_path / "build", name)
        server = importlib.import_module(f"{package.__name__}.server")
        wire = {"register": "r", "mro": "m", "model_dump": "d", "model_validate_json": 7, "json": "j"}
        thing = package.Thing.model_validate({**wire, "model_config": ["c"]})
        assert thing.model_dump(exclude={"sid", "schema_"}) == {**wire, "model_config": ["c"]}
        assert package.Thing.model_validate_json(thing.model_dump_json()) == thing
        assert package.ThingFilter(register_in=["r"]).model_dump(exclude_none=True) == {"register_in": ["r"]}
        # Service parameters are fields of the server's params models too.
        params = [getattr(server, n) for n in dir(server) if n.startswith("_") and n.endswith("Params")]
        assert len(params) == 2
        for model in params:
            assert len(model.model_fields) == 1
    for module in [m for m in sys.modules if m.startswith(package.__name__)]:
        del sys.modules[module]


# -- formatting -------------------------------------------------------------------------


def test_generated_python_is_black_clean(kitchen: ModuleType, ai: ModuleType) -> None:
    import black

    mode = black.Mode(line_length=100, target_versions={black.TargetVersion.PY311})
    checked = 0
    for package in (kitchen, ai):
        for path in sorted(Path(package.__file__ or "").parent.glob("*.py")):
            text = path.read_text(encoding="utf-8")
            assert black.format_str(text, mode=mode) == text, path
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("schema_dir", [FIXTURES / "kitchen", GENERATED.parent / "schemas" / "ai"], ids=["kitchen", "ai"])
def test_selective_formatting_equals_black(schema_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiler runs black only on the statements that need it; the result is black's."""
    from oschema_gen.emit import emit_domain, render
    from oschema_gen.loader import load_domain

    seen: list[str] = []
    selective = render._format_selectively

    def checked(source: str) -> str:
        fast = selective(source)
        assert fast == render._black(source)
        seen.append(source)
        return fast

    monkeypatch.setenv("OSCHEMA_GEN_CACHE_DIR", "")  # a cache hit would skip the comparison
    monkeypatch.setattr(render, "_format_selectively", checked)
    result = load_domain(schema_dir)
    assert result.domain is not None
    files = emit_domain(result.domain)
    assert len(seen) == sum(1 for f in files if f.path.endswith(".py")) >= 4
