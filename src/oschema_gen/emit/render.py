"""Templates and formatting shared by the emitters.

Jinja is configured the strict way (undefined names are errors, block tags leave no
blank lines) so that a template mistake fails loudly instead of emitting odd code.
Black is pinned to one exact version in pyproject.toml and called in-process: output
must be byte-identical across runs and machines.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

LINE_LENGTH = 100


def templates_dir() -> Path:
    """Inside a wheel the templates sit in the package; in a checkout, at the repository root."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # `py` spells a value as a Python literal; formatting only, never a decision.
    env.filters["py"] = repr
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def format_python(source: str) -> str:
    import black  # imported here: only rendering needs it, and it costs ~100 ms to import

    mode = black.Mode(line_length=LINE_LENGTH, target_versions={black.TargetVersion.PY311})
    return black.format_str(source, mode=mode)
