"""A daemon thread doing an engine's upkeep off the write path (search indexing, statistics).

Both engines index search text in the background. What they share lives here: the thread's
lifecycle (start once, wake early, stop and join) and what a failed round does. A full disk
is expected to last until someone frees space, so it is logged once and retried slowly; an
unreachable database is the engine's outage (which logs its own start and end), so the worker
says once that it waits and retries every second; any other failure is logged with its
traceback and retried after a second; a failure while the engine is closing is the engine
refusing work on purpose and ends the thread quietly.
"""

from __future__ import annotations

import logging
import threading

from .errors import StoreClosed, StoreFull, StoreUnavailable

log = logging.getLogger("osis.store")

TICK = 0.2  # how often the worker looks for work when nobody wakes it
FULL_RETRY = 5.0  # seconds between rounds while the disk is full
ERROR_RETRY = 1.0  # seconds between rounds after an unexpected failure


class BackgroundWorker:
    """Runs :meth:`round` every `TICK` seconds, or sooner when woken, until stopped."""

    #: The thread's name, as `ps` and tracebacks show it.
    thread_name = "osis-store-worker"
    #: What the worker does, for its log lines ("search indexing").
    task = "background work"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> None:
        """One round of work; subclasses say what."""
        raise NotImplementedError

    def start_thread(self) -> None:
        """Start the thread unless it runs already."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask the thread to stop and wait until it has."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        self._stop.wait(seconds)

    def _run(self) -> None:
        disk_full = unreachable = False
        while not self._stop.is_set():
            self._wake.wait(TICK)
            self._wake.clear()
            try:
                self.round()
                disk_full = unreachable = False
            except StoreFull as exc:  # expected until space is freed: one line, not a traceback a second
                if not disk_full:
                    log.warning("%s paused until there is disk space: %s", self.task, exc)
                disk_full = True
                self.pause(FULL_RETRY)
            except StoreUnavailable as exc:  # an outage: one line, not a traceback a second
                if self._stop.is_set():
                    return
                if not unreachable:
                    log.warning("%s waits for the store: %s", self.task, exc)
                unreachable = True
                self.pause(ERROR_RETRY)
            except Exception as exc:  # keep serving: the engine stays correct without this work
                if self._stop.is_set() or isinstance(exc, StoreClosed):
                    return  # the engine is closing and refused the work on purpose
                log.exception("%s failed; will retry", self.task)
                self.pause(ERROR_RETRY)
