"""The `.oschema` compiler."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path | None:
    """Where the compiler keeps derived data of one `kind` between runs, or None for nowhere.

    Only pure functions of their inputs are kept (black's output, the compiled grammar and
    templates), each keyed or checked by a hash of what it derives from, so a cache never
    changes what is generated; it only makes unchanged work free. `OSCHEMA_GEN_CACHE_DIR`
    moves the cache (empty: no cache); the default is `$XDG_CACHE_HOME/oschema-gen`.
    """
    configured = os.environ.get("OSCHEMA_GEN_CACHE_DIR")
    if configured is not None:
        base = Path(configured) if configured else None
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oschema-gen"
    if base is None:
        return None
    directory = base / kind
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory
