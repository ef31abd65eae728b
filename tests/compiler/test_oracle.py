"""Oracle: our models against models another generator builds from our emitted JSON Schema.

`schema.json` is emitted from the IR, independently of the models template. We feed it
to datamodel-codegen, import both model sets, and throw the same hypothesis-generated
inputs at both: valid instances drawn from the `$defs`, and mutated ones (wrong types,
out-of-range integers, unknown enum values, missing required keys, unknown keys). Both
must accept and reject the same inputs and dump the same JSON. A disagreement is a bug
in the models template, the JSON Schema emitter or `osis.scalars`.

datamodel-codegen flags, chosen to map our types faithfully:

* `--input-file-type jsonschema --output-model-type pydantic_v2.BaseModel`: same engine
  as ours, so only the generated declarations are compared, not two validators.
* `--strict-nullable`: a field with a non-null default (`sid = ""`, lists `[]`, maps
  `{}`) is not nullable; only our `T?` fields (`anyOf [T, null]`) accept null. Without it
  every defaulted field would accept null.
* `--output-datetime-class AwareDatetime`: `format: date-time` is RFC 3339, which
  always has an offset.
* `--allow-population-by-field-name`: ours accept Python names as well as wire names.
* `--field-constraints`, `--use-standard-collections`, `--use-union-operator`,
  `--target-python-version 3.11` (StrEnum), `--formatters builtin`,
  `--disable-timestamp`: cosmetic or speed only; no effect on behaviour.

Documented differences, kept out of the generated inputs rather than normalised away
(no dump normalisation turned out to be needed):

* otime inputs are canonical `YYYY-MM-DDTHH:MM:SSZ` strings. `osis.scalars.OTime` also
  reads `YYYY-MM-DD HH:MM:SS` (as UTC) and epoch numbers (always seconds) and truncates
  to seconds; pydantic's `AwareDatetime` refuses the first, reads large numbers as
  milliseconds and keeps fractions. JSON Schema cannot state those extensions.
* No NaN or infinity: JSON cannot carry them (inputs are sent as JSON text, written with
  `allow_nan=False`); ours refuse them in Python too, which JSON Schema cannot state.
* Unknown keys start with `x-`, never a Python identifier: ours and theirs pick
  different Python names for some fields (`model_config_note_` vs `model_config_note`),
  and by-name population is only specified for wire names.
* Text excludes lone surrogates, which are not valid in JSON text.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from oschema_gen.cli import main
from tests.conftest import FIXTURES, GENERATED

EXAMPLES = int(os.environ.get("OSCHEMA_ORACLE_EXAMPLES", "150"))

DATAMODEL_CODEGEN_FLAGS = (
    "--input-file-type", "jsonschema",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--strict-nullable",
    "--output-datetime-class", "AwareDatetime",
    "--allow-population-by-field-name",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--target-python-version", "3.11",
    "--formatters", "builtin",
    "--disable-timestamp",
)  # fmt: skip


@dataclass
class Pair:
    domain: str
    defs: dict[str, Any]
    ours: ModuleType
    theirs: ModuleType

    def models(self, name: str) -> tuple[type[BaseModel], type[BaseModel]]:
        return getattr(self.ours, name), getattr(self.theirs, name)


def _import_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves forward references through sys.modules
    spec.loader.exec_module(module)
    return module


def _datamodel_codegen(schema: Path, out: Path) -> None:
    exe = Path(sys.executable).with_name("datamodel-codegen")
    cmd = [str(exe), "--input", str(schema), "--output", str(out), *DATAMODEL_CODEGEN_FLAGS]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session", params=["kitchen", "ai"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp(f"oracle_{request.param}")
    tag = uuid.uuid4().hex[:8]
    added: list[str] = []
    if request.param == "kitchen":
        domain = f"kitchen_oracle_{tag}"
        shutil.copytree(FIXTURES / "kitchen", tmp / domain)
        assert main(["generate", str(tmp / domain), "--out", str(tmp / "out")]) == 0
        sys.path.insert(0, str(tmp / "out"))
        try:
            ours = importlib.import_module(f"osis_{domain}")
        finally:
            sys.path.remove(str(tmp / "out"))
        added.append(ours.__name__)
    else:
        sys.path.insert(0, str(GENERATED))
        try:
            ours = importlib.import_module("osis_ai")
        finally:
            sys.path.remove(str(GENERATED))
    schema = Path(ours.__file__ or "").parent / "schema.json"
    _datamodel_codegen(schema, tmp / "theirs.py")
    theirs = _import_path(tmp / "theirs.py", f"oracle_theirs_{request.param}_{tag}")
    added.append(theirs.__name__)
    defs = json.loads(schema.read_text(encoding="utf-8"))["$defs"]
    yield Pair(request.param, defs, ours, theirs)
    for name in [m for m in sys.modules if any(m == a or m.startswith(a + ".") for a in added)]:
        del sys.modules[name]


# -- strategies from the JSON Schema `$defs` --------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
CANONICAL_OTIME = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"
)


class FromSchema:
    """Valid and mutated wire values for the `$defs` of one emitted schema."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self._refs: dict[str, st.SearchStrategy[Any]] = {}

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    # valid values
    def valid(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in self._refs:
                self._refs[name] = st.deferred(lambda: self.valid(self.defs[name]))
            return self._refs[name]
        if "anyOf" in schema:
            inner = next(s for s in schema["anyOf"] if s.get("type") != "null")
            return st.none() | self.valid(inner)
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema["type"]
        if kind == "object" and "properties" in schema:
            required = set(schema.get("required", ()))
            props = schema["properties"]
            return st.fixed_dictionaries(
                {k: self.valid(v) for k, v in props.items() if k in required},
                optional={k: self.valid(v) for k, v in props.items() if k not in required},
            )
        if kind == "object":
            return st.dictionaries(TEXT, self.valid(schema["additionalProperties"]), max_size=3)
        if kind == "array":
            return st.lists(self.valid(schema["items"]), max_size=3)
        if kind == "string":
            return CANONICAL_OTIME if schema.get("format") == "date-time" else TEXT
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            return st.integers(schema.get("minimum"), schema.get("maximum"))
        if kind == "number":
            lo, hi = schema.get("minimum"), schema.get("maximum")
            return st.floats(lo, hi, allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)
        raise AssertionError(f"unexpected schema {schema}")

    # wrong values for a position
    def wrong(self, schema: dict[str, Any]) -> list[Any]:
        nullable = "anyOf" in schema
        if nullable:
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        schema = self.resolve(schema)
        kind = schema["type"]
        pool: list[Any] = [[], {}, True, "x"]
        if not nullable:
            pool.append(None)
        if "enum" in schema:
            pool += ["", "not_a_value", schema["enum"][0].upper(), schema["enum"][0] + " ", 1]
        elif kind == "string" and schema.get("format") == "date-time":
            # Not numbers, nor naive text: see the module doc.
            pool += ["", "yesterday", "2024-13-01T00:00:00Z", "2024-01-02T24:00:00Z", "2024-02-30T00:00:00Z"]
        elif kind == "string":
            pool += [0, 1.5, -(2**70)]
        elif kind == "integer":
            lo, hi = schema.get("minimum"), schema.get("maximum")
            pool += [1.5, "12", "twelve", 2**200]
            if lo is not None:
                pool += [lo - 1, lo - 2**70]
            if hi is not None:
                pool += [hi + 1, hi + 2**70]
        elif kind == "number":
            pool += ["1.5", "one", 1e308]
            if "maximum" in schema:
                pool += [schema["maximum"] * 1.0001, -schema["maximum"] * 1.5]
        elif kind == "boolean":
            pool += [2, 0.5, "yes", "true", 1, 0]
        elif kind in ("array", "object"):
            pool += [1, 0.0, "[]"]
            if kind == "object" and "properties" not in schema:
                pool += [[["k", "v"]]]
        return pool

    @st.composite
    def mutated(draw: st.DrawFn, self: FromSchema, schema: dict[str, Any], value: Any) -> Any:  # noqa: N805
        target = self.resolve(schema)
        if "anyOf" in target:
            if value is not None and draw(st.booleans()):
                inner = next(s for s in target["anyOf"] if s.get("type") != "null")
                return draw(self.mutated(inner, value))
            return draw(st.sampled_from(self.wrong(schema)))
        options = ["replace"]
        is_struct = target.get("type") == "object" and "properties" in target
        if is_struct and isinstance(value, dict):
            options.append("extra")
            if set(target.get("required", ())) & set(value):
                options.append("drop")
        if isinstance(value, (list, dict)) and value:
            options += ["descend", "descend"]
        action = draw(st.sampled_from(options))
        if action == "replace":
            return draw(st.sampled_from(self.wrong(schema)))
        if action == "extra":
            return {**value, "x-" + draw(TEXT): draw(st.sampled_from([None, 1, "v", [], {}]))}
        if action == "drop":
            key = draw(st.sampled_from(sorted(set(target["required"]) & set(value))))
            return {k: v for k, v in value.items() if k != key}
        if isinstance(value, list):
            i = draw(st.integers(0, len(value) - 1))
            return [*value[:i], draw(self.mutated(target["items"], value[i])), *value[i + 1 :]]
        key = draw(st.sampled_from(sorted(value)))
        sub = target["properties"][key] if is_struct else target["additionalProperties"]
        if is_struct and key not in target["properties"]:
            return value
        return {**value, key: draw(self.mutated(sub, value[key]))}


def _outcome(model: type[BaseModel], value: Any) -> tuple[str, Any]:
    text = json.dumps(value, allow_nan=False)
    try:
        from_json = model.model_validate_json(text)
    except ValidationError as err:
        try:
            model.model_validate(value)
        except ValidationError:
            return "rejected", sorted({str(e["loc"][0]) if e["loc"] else "" for e in err.errors()})
        raise AssertionError("accepted as Python but rejected as JSON") from err
    from_python = model.model_validate(value)
    dumped = from_json.model_dump(mode="json", by_alias=True)
    assert from_python.model_dump(mode="json", by_alias=True) == dumped
    assert json.loads(from_json.model_dump_json(by_alias=True)) == dumped
    return "accepted", dumped


def _compare(pair: Pair, name: str, value: Any) -> str:
    ours, theirs = pair.models(name)
    mine, other = _outcome(ours, value), _outcome(theirs, value)
    assert mine == other, f"{pair.domain}.{name}: ours {mine} vs datamodel-codegen {other} for {value!r}"
    return mine[0]


def _structs(pair: Pair) -> list[str]:
    return [n for n, d in pair.defs.items() if d.get("type") == "object" and "properties" in d]


ORACLE_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@ORACLE_SETTINGS
@given(data=st.data())
def test_valid_instances_agree(pair: Pair, data: st.DataObject) -> None:
    gen = FromSchema(pair.defs)
    name = data.draw(st.sampled_from(_structs(pair)), label="type")
    value = data.draw(gen.valid({"$ref": f"#/$defs/{name}"}), label="value")
    assert _compare(pair, name, value) == "accepted"


@ORACLE_SETTINGS
@given(data=st.data())
def test_mutated_instances_agree(pair: Pair, data: st.DataObject) -> None:
    gen = FromSchema(pair.defs)
    name = data.draw(st.sampled_from(_structs(pair)), label="type")
    ref = {"$ref": f"#/$defs/{name}"}
    value = data.draw(gen.valid(ref), label="valid")
    bad = data.draw(gen.mutated(ref, value), label="mutated")
    event(_compare(pair, name, bad))


# -- targeted cases, so every mutation kind is certainly exercised ----------------------


def _valid_min(pair: Pair, name: str) -> dict[str, Any]:
    """A small valid instance built by hand from the schema (required members only)."""

    def one(schema: dict[str, Any]) -> Any:
        schema = FromSchema(pair.defs).resolve(schema)
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("type") == "object" and "properties" in schema:
            return {k: one(schema["properties"][k]) for k in schema.get("required", ())}
        return {"string": "2024-01-02T03:04:05Z" if schema.get("format") else "s", "integer": 0, "number": 0.5,
                "boolean": False, "array": [], "object": {}}[schema["type"]]  # fmt: skip

    result: dict[str, Any] = one(pair.defs[name])
    return result


def test_every_wrong_value_of_every_field_agrees(pair: Pair) -> None:
    gen = FromSchema(pair.defs)
    outcomes: dict[str, int] = {"accepted": 0, "rejected": 0}
    for name in _structs(pair):
        base = _valid_min(pair, name)
        assert _compare(pair, name, base) == "accepted"
        required = pair.defs[name].get("required", [])
        for field in required:
            outcomes[_compare(pair, name, {k: v for k, v in base.items() if k != field})] += 1
        outcomes[_compare(pair, name, {**base, "x-unknown": 1})] += 1
        for field, prop in pair.defs[name]["properties"].items():
            for bad in gen.wrong(prop):
                outcomes[_compare(pair, name, {**base, field: bad})] += 1
    # Most wrong values are refused; a few are lax-mode conversions both sides make ("12").
    assert outcomes["rejected"] > 5 * outcomes["accepted"] > 0


def test_schema_covers_the_same_types(pair: Pair) -> None:
    for name in pair.defs:
        assert hasattr(pair.ours, name) and hasattr(pair.theirs, name), name
    for name in _structs(pair):
        ours, theirs = pair.models(name)
        wire = {f.serialization_alias or f.validation_alias or n for n, f in ours.model_fields.items()}
        assert wire == {f.alias or n for n, f in theirs.model_fields.items()} == set(pair.defs[name]["properties"])
