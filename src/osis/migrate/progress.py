"""A progress line per table on stderr: rows done of the total, rate and time left.

On a terminal the line redraws in place, at most ten times a second; elsewhere (a log
file, CI, a pipe) it is plain text: a line every five seconds and one at the end, so
logs stay readable and small.
"""

from __future__ import annotations

import sys
import time
from typing import Final, TextIO

_BAR: Final = 24
_TTY_EVERY: Final = 0.1  # seconds between redraws on a terminal
_PLAIN_EVERY: Final = 5.0  # seconds between lines elsewhere


class Progress:
    """``with Progress("migrate audit_log", total) as bar: bar.advance(n)``."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._shown = 0.0
        self._width = 0  # of the line drawn last, to blank its tail on a terminal

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        # On a terminal the first line shows at once; elsewhere after the first interval.
        self._shown = 0.0 if self.tty else self.started
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        # Always a last line, so an error message printed next starts on a fresh one.
        self._show(final=True, suffix="" if exc is None else "  (interrupted)")

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self._shown >= (_TTY_EVERY if self.tty else _PLAIN_EVERY):
            self._shown = now
            self._show(final=False)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        left = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0.0
        filled = round(_BAR * min(share, 1.0))
        bar = "#" * filled + "." * (_BAR - filled)
        return (
            f"{self.label} [{bar}] {self.done:,}/{self.total:,} {share:4.0%}"
            f" {_rate(rate)} rows/s  elapsed {_clock(elapsed)}  ETA {_clock(left)}"
        )

    def _show(self, *, final: bool, suffix: str = "") -> None:
        text = self.line() + suffix
        if self.tty:
            pad = " " * max(self._width - len(text), 0)
            self._width = len(text)
            self.stream.write(f"\r{text}{pad}" + ("\n" if final else ""))
            self.stream.flush()
        else:
            self._write(text)

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _rate(rate: float) -> str:
    return f"{rate / 1000:.1f}k" if rate >= 1000 else f"{rate:.0f}"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


__all__ = ["Progress"]
