"""Progress on stderr: a bar on a terminal, plain lines otherwise.

``Progress`` knows how many steps the whole run has (scenario points times
modes); each step reports its stage and, during long stages, a fraction.
On a terminal one line is redrawn; in a log (CI, a pipe) a line is
printed per stage and per tenth of a stage, so the log stays short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

BAR_WIDTH = 24


class Progress:
    def __init__(self, steps: int, stream: TextIO | None = None) -> None:
        self.steps = max(1, steps)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.label = ""
        self._stage = ""
        self._fraction = 0.0
        self._last_tenth = -1
        self._started = time.monotonic()

    def __repr__(self) -> str:
        return f"<Progress {self.done}/{self.steps} {self.label} {self._stage}>"

    def begin(self, label: str) -> None:
        self.label = label
        self.stage("starting")

    def end(self, summary: str) -> None:
        self.done += 1
        self._stage, self._fraction = "", 0.0
        self._emit(f"done: {summary}", force=True)

    def stage(self, name: str) -> None:
        self._stage, self._fraction, self._last_tenth = name, 0.0, -1
        self._emit(name, force=True)

    def fraction(self, value: float) -> None:
        self._fraction = min(1.0, max(0.0, value))
        tenth = int(self._fraction * 10)
        if self.tty or tenth != self._last_tenth:
            self._last_tenth = tenth
            self._emit(f"{self._stage} {self._fraction:4.0%}", force=False)

    def note(self, text: str) -> None:
        self._emit(text, force=True)

    def _emit(self, text: str, force: bool) -> None:
        overall = (self.done + self._fraction) / self.steps
        filled = int(overall * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self._started
        line = f"[{bar}] {self.done}/{self.steps} {elapsed:5.0f}s {self.label}: {text}"
        if self.tty:
            self.stream.write(
                "\r\033[K" + line + ("\n" if force and text.startswith("done") else "")
            )
        elif force or not self.tty:
            self.stream.write(line + "\n")
        self.stream.flush()
