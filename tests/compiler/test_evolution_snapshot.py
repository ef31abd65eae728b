"""The evolution snapshot: canonical, shipped with the package, and read back defensively."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oschema_gen.evolution import Snapshot, SnapshotError, package_path, snapshot_of
from oschema_gen.evolution.git import GitError, read_old_schema
from oschema_gen.loader import load_domain
from tests.conftest import GENERATED, SCHEMAS


def ai_snapshot() -> Snapshot:
    result = load_domain(SCHEMAS / "ai")
    assert result.domain is not None
    return snapshot_of(result.domain, package_path("ai"))


def test_generated_package_ships_the_snapshot_of_its_schema() -> None:
    shipped = (GENERATED / "osis_ai" / "schema.ir.json").read_text()
    assert shipped == ai_snapshot().to_json()
    # Places are relative to the schema directory, wherever the compiler ran.
    assert '"at": "ai/20_memory.oschema:4:1"' in shipped


def test_round_trip() -> None:
    snapshot = ai_snapshot()
    assert Snapshot.from_json(snapshot.to_json()) == snapshot


def _doc() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(ai_snapshot().to_json())
    return loaded


def _struct_field(doc: dict[str, object]) -> dict[str, object]:
    structs = doc["structs"]
    assert isinstance(structs, list)
    field: dict[str, object] = structs[0]["fields"][1]
    return field


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: "[1, 2", "schema snapshot is not JSON"),
        (lambda d: "[]", "schema snapshot must be a JSON object"),
        (lambda d: json.dumps({**d, "format": 2}), "schema snapshot has format 2; this version reads format 1"),
        (lambda d: json.dumps({k: v for k, v in d.items() if k != "enums"}), "schema snapshot is malformed: KeyError"),
        (lambda d: json.dumps({**d, "domain": 7}), "domain must be a string, got 7"),
    ],
)
def test_unreadable_documents(spoil: object, message: str) -> None:
    assert callable(spoil)
    with pytest.raises(SnapshotError, match=message.replace("(", r"\(")):
        Snapshot.from_json(spoil(_doc()))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("at", "nowhere", "location must be 'path:line:column', got 'nowhere'"),
        ("at", 12, "location must be 'path:line:column', got 12"),
        ("type", "[str", "unreadable type '\\[str'"),
        ("optional", "yes", "optional must be true or false, got 'yes'"),
    ],
)
def test_unreadable_fields(key: str, value: object, message: str) -> None:
    doc = _doc()
    _struct_field(doc)[key] = value
    with pytest.raises(SnapshotError, match=message):
        Snapshot.from_json(json.dumps(doc))


def _audit(doc: dict[str, object]) -> dict[str, object]:
    structs = doc["structs"]
    assert isinstance(structs, list)
    audit: dict[str, object] = next(s for s in structs if s["name"] == "AgentAuditEntry")
    return audit


def test_indexes_are_the_declared_keys() -> None:
    audit = ai_snapshot().structs["AgentAuditEntry"]
    assert audit.indexes == (("tool_name", "created_at"), ("success",), ("user_sid", "created_at"), ("created_at",))


def test_a_snapshot_recorded_before_compound_indexes_reads_as_single_indexes() -> None:
    doc = _doc()
    structs = doc["structs"]
    assert isinstance(structs, list)
    for struct in structs:
        del struct["indexes"]
    old = Snapshot.from_json(json.dumps(doc)).structs["AgentAuditEntry"]
    assert old.indexes == (("tool_name",), ("success",), ("user_sid",), ("created_at",))


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ("tool_name", "indexes must be a list of index keys, got 'tool_name'"),
        ([[]], "an index key must be a non-empty list of field names, got \\[\\]"),
        ([["tool_name", 3]], "index key field must be a string, got 3"),
    ],
)
def test_unreadable_indexes(indexes: object, message: str) -> None:
    doc = _doc()
    _audit(doc)["indexes"] = indexes
    with pytest.raises(SnapshotError, match=message):
        Snapshot.from_json(json.dumps(doc))


def test_git_is_required_for_against(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError, match="git is not installed"):
        read_old_schema(SCHEMAS / "ai", "HEAD")


def test_against_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="does not exist"):
        read_old_schema(tmp_path / "nope", "HEAD")
