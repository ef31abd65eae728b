"""Compiling schema directories in memory for tests (no files written)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from oschema_gen.emit import GeneratedFile, emit_domain
from oschema_gen.loader import load_domain


@lru_cache(maxsize=None)
def emitted(directory: Path) -> tuple[GeneratedFile, ...]:
    result = load_domain(directory)
    assert result.domain is not None, result.bag.render(result.sources)
    return tuple(emit_domain(result.domain))
