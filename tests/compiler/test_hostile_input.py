"""Hostile and odd input: the compiler answers with diagnostics and an exit code, never a traceback.

Every case runs `oschema-gen lint` in-process through `oschema_gen.cli.main`, from a
temporary working directory, and checks the exit code (0 valid, 2 errors), the shape of
every diagnostic headline and that nothing escaped as an exception.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from oschema_gen.cli import main
from oschema_gen.source import MAX_SOURCE_BYTES

# `path:line:col: severity[OS###]: message`; directory-level problems have no position.
_HEADLINE = re.compile(r"^(?:(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): )?(?P<sev>error|warning)\[(?P<code>OS\d{3})\]: (?P<msg>\S.*)$")
_SUMMARY = re.compile(r"^\d+ error\(s\), \d+ warning\(s\)$")

# A small valid root object, so a domain that should compile has something to generate.
VALID = """\
# A stored thing.
# [rootobject]
Thing = {
    name: str       @index
}
"""


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err
        self.headlines = [m for m in map(_HEADLINE.match, err.splitlines()) if m]

    @property
    def codes(self) -> list[str]:
        return [m.group("code") for m in self.headlines]


def lint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str | bytes] | None = None,
    args: list[str] | None = None,
) -> Run:
    """Write `files` under tmp_path/shop (or nothing), lint, and check the invariants of any run."""
    schema = tmp_path / "shop"
    if files is not None:
        schema.mkdir(exist_ok=True)
        for name, content in files.items():
            path = schema / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["lint", *(args or ["shop"])])
    out, err = capsys.readouterr()
    run = Run(code, out, err)
    assert "Traceback" not in err + out
    assert code in (0, 2)
    if err:
        lines = err.splitlines()
        assert _SUMMARY.match(lines[-1]), err
        assert run.headlines, err
        for m in run.headlines:
            if m.group("path"):
                assert not Path(m.group("path")).is_absolute(), m.group(0)
                assert int(m.group("line")) >= 1 and int(m.group("col")) >= 1, m.group(0)
        # One summary per domain with diagnostics; together they count every headline.
        errors = sum(1 for m in run.headlines if m.group("sev") == "error")
        summaries = [line for line in lines if _SUMMARY.match(line)]
        assert sum(int(line.split()[0]) for line in summaries) == errors
        assert code == (2 if errors else 0)
    else:
        assert code == 0
    return run


Fixtures = tuple[Path, pytest.MonkeyPatch, pytest.CaptureFixture[str]]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Fixtures:
    return tmp_path, monkeypatch, capsys


# -- files that hold nothing -------------------------------------------------------------


def test_empty_file_alone_is_an_empty_domain(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": ""})
    assert run.code == 2 and run.codes == ["OS006"]
    assert "declares no types" in run.err


def test_empty_file_next_to_a_valid_one_is_fine(env: Fixtures) -> None:
    run = lint(*env, {"00_empty.oschema": "", "10_thing.oschema": VALID})
    assert run.code == 0 and run.err == ""


def test_only_comments(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "# nothing here yet\n#\n# [rootobject]\n"})
    assert run.code == 2 and run.codes == ["OS006"]


def test_only_whitespace(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": " \n\t\n\r\n\f\n"})
    assert run.code == 2 and run.codes == ["OS006"]


# -- bytes that are not schema text ------------------------------------------------------


def test_binary_junk_with_nul_bytes(env: Fixtures) -> None:
    junk = bytes(range(256)) * 64
    run = lint(*env, {"10_thing.oschema": junk})
    assert run.code == 2 and run.codes == ["OS003"]
    assert "NUL" in run.err


def test_binary_junk_without_nul_bytes(env: Fixtures) -> None:
    junk = bytes(range(1, 256)) * 64
    run = lint(*env, {"10_thing.oschema": junk})
    assert run.code == 2 and run.codes == ["OS003"]


def test_latin1_text_is_refused_with_its_position(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = {\n    # d\xe9j\xe0 vu\n    name: str\n}\n".encode("latin-1")})
    assert run.code == 2 and run.codes == ["OS003"]
    assert "shop/10_thing.oschema:2:8: error[OS003]: invalid UTF-8 (byte 0xe9)" in run.err


def test_utf16_text_is_refused(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": VALID.encode("utf-16")})
    assert run.code == 2 and run.codes == ["OS003"]
    assert "UTF-16" in run.err


def test_unreadable_file_does_not_cascade_into_unknown_types(env: Fixtures) -> None:
    files: dict[str, str | bytes] = {
        "00_enums.oschema": b"Colour = enum {\n    r\xe9d\n}\n",
        "10_thing.oschema": VALID.replace("name: str", "colour: Colour"),
    }
    run = lint(*env, files)
    assert run.code == 2 and run.codes == ["OS003"]


def test_utf8_bom_is_accepted(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": b"\xef\xbb\xbf" + VALID.encode()})
    assert run.code == 0 and run.err == ""


def test_utf8_bom_does_not_shift_columns(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": b"\xef\xbb\xbfThing = {\n    name: strr\n}\n"})
    assert run.codes == ["OS101"]
    assert "shop/10_thing.oschema:2:11: error[OS101]" in run.err


def test_a_second_bom_in_the_middle_is_a_syntax_error(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = {\n    \ufeffname: str\n}\n"})
    assert run.code == 2 and run.codes == ["OS001"]


# -- size and depth ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_lists(env: Fixtures, depth: int) -> None:
    text = "Thing = {\n    x: " + "[" * depth + "str" + "]" * depth + "\n}\n"
    started = time.perf_counter()
    run = lint(*env, {"10_thing.oschema": text})
    assert run.code == 2 and run.codes == ["OS005"]
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_maps(env: Fixtures, depth: int) -> None:
    text = "Thing = {\n    x: " + "{str: " * depth + "str" + "}" * depth + "\n}\n"
    run = lint(*env, {"10_thing.oschema": text})
    assert run.code == 2 and run.codes == ["OS005"]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_and_never_closed(env: Fixtures, depth: int) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = {\n    x: " + "[" * depth})
    assert run.code == 2 and run.codes == ["OS002"]


def test_sixteen_levels_are_allowed(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": VALID.replace("}", "    grid: " + "[" * 16 + "u8" + "]" * 16 + "\n}")})
    assert run.code == 0, run.err


def test_50_mb_file_is_refused_quickly(env: Fixtures) -> None:
    tmp_path = env[0]
    schema = tmp_path / "shop"
    schema.mkdir()
    (schema / "00_thing.oschema").write_text(VALID)
    size = 50 * 1024 * 1024
    with (schema / "10_dump.oschema").open("wb") as out:
        out.write(b"Thing = {\n" * (size // 10))
    started = time.perf_counter()
    run = lint(*env)
    elapsed = time.perf_counter() - started
    assert run.code == 2 and run.codes == ["OS004"]
    assert f"shop/10_dump.oschema:1:1: error[OS004]: file is {size} bytes; schema files are limited to {MAX_SOURCE_BYTES} bytes" in run.err
    assert elapsed < 5


def test_a_file_at_the_size_limit_is_read(env: Fixtures) -> None:
    body = VALID.encode()
    padding = MAX_SOURCE_BYTES - len(body)
    filler = (b"#" * 99 + b"\n") * (padding // 100) + b"#" * (padding % 100)
    run = lint(*env, {"10_thing.oschema": body + filler})
    assert run.code == 0, run.err


def test_one_enormous_line_of_junk_gives_a_short_message(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = { x: str " + "y" * 1_000_000 + " ?? }\n"})
    assert run.code == 2 and run.codes == ["OS001"]
    assert len(run.err) < 2000


def test_ten_thousand_types_compile(env: Fixtures) -> None:
    parts = [VALID]
    for i in range(10_000):
        parts.append(f"T{i} = {{\n    next?: T{(i + 1) % 10_000}\n}}\n")
    run = lint(*env, {"10_many.oschema": "\n".join(parts)})
    assert run.code == 0, run.err[:2000]


def test_ten_thousand_errors_are_all_reported(env: Fixtures) -> None:
    text = "Thing = {\n" + "".join(f"    f{i}: nope\n" for i in range(10_000)) + "}\n"
    run = lint(*env, {"10_thing.oschema": text})
    assert run.code == 2 and len(run.codes) == 10_000 and set(run.codes) == {"OS101"}


# -- line endings, whitespace, characters ------------------------------------------------


def test_crlf_line_endings(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": VALID.replace("\n", "\r\n")})
    assert run.code == 0 and run.err == ""


def test_crlf_positions_and_frames(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = {\r\n    name: strr  # a doc\r\n}\r\n"})
    assert run.codes == ["OS101"]
    assert "shop/10_thing.oschema:2:11: error[OS101]" in run.err
    assert "\r" not in run.err


def test_classic_mac_line_endings_do_not_crash(env: Fixtures) -> None:
    lint(*env, {"10_thing.oschema": VALID.replace("\n", "\r")})


def test_unicode_line_separators_keep_frames_on_the_right_line(env: Fixtures) -> None:
    text = "# A doc\u2028with a separator\x85and more\nThing = {\n    name: strr\n}\n"
    run = lint(*env, {"10_thing.oschema": text})
    assert run.codes == ["OS101"]
    assert "shop/10_thing.oschema:3:11:" in run.err
    assert "3 |     name: strr" in run.err


def test_tabs(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": VALID.replace("    ", "\t").replace(" @", "\t@")})
    assert run.code == 0 and run.err == ""


def test_tab_indented_error_keeps_the_caret_under_the_token(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "Thing = {\n\tname:\tstrr\n}\n"})
    assert run.codes == ["OS101"]
    frame = run.err.splitlines()
    assert "2 | \tname:\tstrr" in frame
    assert "  | \t     \t^^^^" in frame


@pytest.mark.parametrize(
    "text",
    [
        "Café = {\n    name: str\n}\n",
        "Thing = {\n    名前: str\n}\n",
        "Thing = {\n    name: Strïng\n}\n",
        "Colour = enum { rouge vert bleu\u00e9 }\n",
        "Thing = {\n    name: str 🙂\n}\n",
    ],
)
def test_unicode_identifiers_are_syntax_errors(env: Fixtures, text: str) -> None:
    run = lint(*env, {"10_thing.oschema": text})
    assert run.code == 2 and run.codes == ["OS001"]
    assert "unexpected character" in run.err


def test_unicode_in_comments_and_docs_is_fine(env: Fixtures) -> None:
    run = lint(*env, {"10_thing.oschema": "# Ein Ding — 東京 🙂\n" + VALID})
    assert run.code == 0 and run.err == ""


@pytest.mark.parametrize(
    "text",
    [
        "}",
        "{",
        "=",
        "@",
        "Thing",
        "Thing =",
        "Thing = enum",
        "service",
        "service S { ping(",
        'Thing = { x: str @a("unterminated }',
        "Thing = { x: str @a(((( }",
        "\x0b\x0c\x1c\x1d\x1e",
        "\u2028\u2029",
    ],
)
def test_fragments_never_crash(env: Fixtures, text: str) -> None:
    run = lint(*env, {"10_thing.oschema": text})
    assert run.code == 2


# -- directories -------------------------------------------------------------------------


def test_missing_directory(env: Fixtures) -> None:
    run = lint(*env, args=["no_such_domain"])
    assert run.code == 2 and run.codes == ["OS006"]
    assert "error[OS006]: schema directory 'no_such_domain' does not exist" in run.err


def test_directory_without_schema_files(env: Fixtures) -> None:
    run = lint(*env, {"README.md": "notes", "thing.oschema.bak": VALID})
    assert run.code == 2 and run.codes == ["OS006"]
    assert "holds no .oschema files" in run.err


def test_a_file_given_as_the_directory(env: Fixtures) -> None:
    tmp_path = env[0]
    (tmp_path / "thing.oschema").write_text(VALID)
    run = lint(*env, args=["thing.oschema"])
    assert run.code == 2 and run.codes == ["OS006"]
    assert "is not a directory" in run.err


def test_subdirectories_and_odd_entries_are_ignored(env: Fixtures) -> None:
    tmp_path = env[0]
    (tmp_path / "shop" / "old.oschema").mkdir(parents=True)
    (tmp_path / "shop" / "link.oschema").symlink_to(tmp_path / "nowhere")
    run = lint(*env, {"10_thing.oschema": VALID})
    assert run.code == 0 and run.err == ""


def test_one_bad_domain_does_not_hide_another(env: Fixtures) -> None:
    tmp_path = env[0]
    other = tmp_path / "other"
    other.mkdir()
    (other / "10_x.oschema").write_text("X = {\n    y: nope\n}\n")
    run = lint(*env, {"10_thing.oschema": "Thing = {\n    name: strr\n}\n"}, args=["shop", "other", "missing"])
    assert run.code == 2 and run.codes == ["OS101", "OS101", "OS006"]
