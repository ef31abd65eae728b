"""An outage of the database server, as the engine's requests find out about it.

A server engine (PostgreSQL) learns that its server went away when a request's connection
breaks. From then on, until a request gets through again, the engine is *in an outage*:
requests wait only briefly for a connection and fail with one message that says what is
unreachable, since when and why; the start and the end of the outage are logged once each
(not once per failed request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("osis.store")


class Outage:
    """Outage state of one database server; thread-safe."""

    def __init__(self, system: str, target: str, on_start: Callable[[], None]) -> None:
        self.system = system  # "PostgreSQL"
        self.target = target  # the store URL without its password
        self._on_start = on_start
        self._lock = threading.Lock()
        self._since: float | None = None
        self._cause = ""

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def lost(self, cause: str) -> str:
        """Record that a request could not reach the server; returns the error message."""
        with self._lock:
            starting = self._since is None
            if starting:
                self._since = time.monotonic()
            self._cause = cause
            message = self._message()
        if starting:
            log.warning(f"{self.system} store unreachable", extra={"store": self.target, "cause": cause})
            self._on_start()
        return message

    def _message(self) -> str:
        seconds = time.monotonic() - self._since if self._since is not None else 0.0
        return f"{self.system} at {self.target} is unreachable (for {seconds:.0f} s): {self._cause}"

    def reached(self) -> None:
        """Record that a request got through; ends the outage if there was one."""
        if self._since is None:
            return
        with self._lock:
            if self._since is None:
                return
            lasted = time.monotonic() - self._since
            self._since = None
        log.info(f"{self.system} store reachable again",
                 extra={"store": self.target, "outage_seconds": round(lasted, 1)})
