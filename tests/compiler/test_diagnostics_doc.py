"""The documentation stays true to the compiler.

- docs/diagnostics.md has one section and one table row per code in `CODES`, no more,
  with the same title and severity;
- the complete example of docs/oschema.md compiles and means what the text says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oschema_gen.cli import main
from oschema_gen.diagnostics import CODES
from oschema_gen.loader import load_domain
from tests.conftest import ROOT

DIAGNOSTICS_DOC = ROOT / "docs" / "diagnostics.md"
LANGUAGE_DOC = ROOT / "docs" / "oschema.md"

_SECTION = re.compile(r"^## (OS\d{3}): (.+)$", re.MULTILINE)
_ROW = re.compile(r"^\| \[(OS\d{3})\]\(#[a-z0-9-]+\) \| (error|warning) \| (.+?) \|$", re.MULTILINE)
_SEVERITY = re.compile(r"^\*\*Severity:\*\* (error|warning)$", re.MULTILINE)


def _sections(text: str) -> dict[str, tuple[str, str]]:
    """code -> (title, body) of every `## OS###: title` section."""
    matches = list(_SECTION.finditer(text))
    out: dict[str, tuple[str, str]] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        assert m.group(1) not in out, f"{m.group(1)} has two sections"
        out[m.group(1)] = (m.group(2), text[m.end() : end])
    return out


def test_diagnostics_doc_has_a_section_per_code() -> None:
    sections = _sections(DIAGNOSTICS_DOC.read_text(encoding="utf-8"))
    documented, known = set(sections), set(CODES)
    assert documented == known, (
        f"undocumented codes: {sorted(known - documented)}; documented but unknown: {sorted(documented - known)}"
    )
    assert list(sections) == sorted(sections), "sections are in code order"


@pytest.mark.parametrize("code", sorted(CODES))
def test_diagnostics_doc_section_matches_the_code(code: str) -> None:
    sections = _sections(DIAGNOSTICS_DOC.read_text(encoding="utf-8"))
    if code not in sections:
        pytest.fail(f"{code} has no section in {DIAGNOSTICS_DOC.name}")
    title, body = sections[code]
    assert title == CODES[code].title
    severities = _SEVERITY.findall(body)
    assert severities == [CODES[code].severity.value]
    for part in ("**Triggered by**", "**Message", "**Fix:**"):
        assert part in body, f"{code}: the section lacks {part}"


def test_diagnostics_doc_table_lists_every_code() -> None:
    rows = {m.group(1): (m.group(2), m.group(3)) for m in _ROW.finditer(DIAGNOSTICS_DOC.read_text(encoding="utf-8"))}
    assert rows == {code: (c.severity.value, c.title) for code, c in CODES.items()}


# -- the complete example of the language reference -------------------------------------

_EXAMPLE_FILE = re.compile(r"^#### `(\d\d_\w+\.oschema)`\n\n```oschema\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _example_files() -> dict[str, str]:
    text = LANGUAGE_DOC.read_text(encoding="utf-8")
    section = text[text.index("## A complete example") :]
    return {m.group(1): m.group(2) for m in _EXAMPLE_FILE.finditer(section)}


def _write_example(tmp_path: Path) -> Path:
    domain = tmp_path / "notes"
    domain.mkdir()
    for name, content in _example_files().items():
        (domain / name).write_text(content, encoding="utf-8")
    return domain


def test_language_reference_example_has_the_conventional_files() -> None:
    assert sorted(_example_files()) == ["00_enums.oschema", "10_notebook.oschema", "20_note.oschema", "90_rpc.oschema"]


def test_language_reference_example_lints_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "notes"]) == 0
    assert capsys.readouterr().err == ""


def test_language_reference_example_means_what_the_text_says(tmp_path: Path) -> None:
    result = load_domain(_write_example(tmp_path))
    domain = result.domain
    assert domain is not None, result.bag.render(result.sources)
    assert domain.package == "osis_notes"
    assert [e.name for e in domain.enums] == ["Priority", "NoteState"]
    assert [v.member for v in domain.enums[1].values] == ["DRAFT", "PUBLISHED", "ARCHIVED"]
    assert domain.enums[1].values[0].doc == ""  # values sharing a line take no doc
    assert domain.enums[0].values[2].doc == "Shown first, in red."
    assert [s.name for s in domain.root_objects] == ["Notebook", "Note"]
    notebook, note = domain.root_objects
    assert notebook.fields[0].name == "sid"  # added implicitly
    assert notebook.owner_field is not None and notebook.owner_field.name == "user_sid"
    from_ = next(f for f in note.fields if f.name == "from")
    assert from_.py_name == "from_" and from_.doc == "Who the note is from (`from_` in Python)."
    assert next(f for f in note.fields if f.name == "priority").optional
    assert next(f for f in note.fields if f.name == "due_at").optional
    note_filter = domain.struct("NoteFilter")
    members = [f.name for f in note_filter.fields]
    assert members[:2] == ["notebook_sid", "notebook_sid_in"]
    assert {"word_count_gt", "word_count_gte", "word_count_lt", "word_count_lte", "priority_in"} <= set(members)
    assert not any(m.startswith(("body", "due_at", "state_g", "state_l")) for m in members)
    assert [m.name for m in domain.methods] == ["count_by_state", "ping"]
    assert domain.methods[1].input is None
