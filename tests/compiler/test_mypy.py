"""Generated packages pass `mypy --strict`, and so does typical code that uses them.

mypy runs as a subprocess (`python -m mypy`) with a cache directory of this module's
own: the runs share what mypy learnt of pydantic, and parallel test runs share nothing. `osis.scalars` resolves from `src/` through MYPYPATH:
the editable install puts `src/` on sys.path, but mypy only reads installed packages
that carry a `py.typed` marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oschema_gen.cli import main
from tests.conftest import FIXTURES, GENERATED, ROOT

# What a caller writes: constructing with Python names, reading typed attributes. If the
# generated hints were wrong (Any leaking, aliases lost), strict mode would flag this.
USAGE = '''\
from __future__ import annotations

from datetime import datetime

from osis_kitchen import Colour, CountInput, Drawer, Gadget, GadgetFilter, Part, Size


def build(when: datetime) -> Gadget:
    part = Part(label="blade", spare=Part(label="spare"), by_size={"s": [Size.SMALL]})
    return Gadget(
        name="whisk", colour=Colour.BLUE, weight_grams=1, price=1.0, ratio=0.5, serial=1,
        delta=0, offset=0, small_count=0, big_count=0, plain_int=0, enabled=True,
        bought_at=when, owner_sid="u", class_="c", json_="{}", copy_=False, notes="",
        parts=[part], main_part=part,
    )


def read(g: Gadget) -> tuple[str, int, float, datetime, list[str], dict[str, str], str | None]:
    spare: Part | None = g.parts[0].spare
    assert spare is None or isinstance(spare.label, str)
    return g.class_, g.serial, g.price, g.bought_at, g.tags, g.labels, g.from_


def find(f: GadgetFilter) -> list[Colour] | None:
    return f.colour_in


counted: Colour = CountInput(colour=Colour.GREEN).colour
drawer: list[str] = Drawer(position=1).gadget_sids
'''


def _mypy(*targets: str, cwd: Path, cache: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), "--no-error-summary", *extra, *targets]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy_cache")


@pytest.fixture(scope="module")
def kitchen_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mypy")
    shutil.copytree(FIXTURES / "kitchen", root / "kitchen")
    out = root / "out"
    assert main(["generate", str(root / "kitchen"), "--out", str(out)]) == 0
    (out / "usage.py").write_text(USAGE, encoding="utf-8")
    return out


def test_committed_generated_output_passes_mypy_strict(cache: Path) -> None:
    result = _mypy(str(GENERATED), cwd=ROOT, cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_kitchen_package_and_its_use_pass_mypy_strict(kitchen_out: Path, cache: Path) -> None:
    result = _mypy("osis_kitchen", "usage.py", cwd=kitchen_out, cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr


def test_with_the_pydantic_plugin_too(kitchen_out: Path, tmp_path: Path) -> None:
    # The plugin checks constructor calls field by field; users who enable it must not
    # see errors from generated code either.
    config = tmp_path / "mypy.ini"
    config.write_text(
        textwrap.dedent(
            """\
            [mypy]
            plugins = pydantic.mypy
            [pydantic-mypy]
            init_typed = True
            init_forbid_extra = True
            warn_required_dynamic_aliases = True
            """
        ),
        encoding="utf-8",
    )
    result = _mypy("osis_kitchen", "usage.py", cwd=kitchen_out, cache=tmp_path / "cache", extra=("--config-file", str(config)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_catches_misuse(kitchen_out: Path, cache: Path) -> None:
    # Guard against a vacuous pass (e.g. everything typed as Any).
    (kitchen_out / "misuse.py").write_text(
        "from osis_kitchen import Gadget\n\n\ndef f(g: Gadget) -> int:\n    return g.name\n", encoding="utf-8"
    )
    try:
        result = _mypy("misuse.py", cwd=kitchen_out, cache=cache)
    finally:
        (kitchen_out / "misuse.py").unlink()
    assert result.returncode == 1
    assert 'Incompatible return value type (got "str", expected "int")' in result.stdout
