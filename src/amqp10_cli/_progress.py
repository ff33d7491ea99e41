"""Progress and rate of a long send or receive, on one self-rewriting line of stderr.

It draws only when its stream is a terminal (``isatty``), at most every
``interval`` seconds, so piping the command or its errors elsewhere stays quiet
and a fast loop pays one clock read per message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "format_rate"]

_CLEAR_LINE = "\r\x1b[K"


def format_rate(count: int, seconds: float) -> str:
    """``12,345 msg/s`` (or ``- msg/s`` before any time has passed)."""
    if seconds <= 0:
        return "- msg/s"
    rate = count / seconds
    return f"{rate:,.0f} msg/s" if rate >= 10 else f"{rate:.1f} msg/s"


class Progress:
    """A progress line: ``sent 1,200/5,000 (24%) 8,431 msg/s``, redrawn in place.

    ``update(done)`` is cheap; ``idle()`` redraws while nothing happens (so the
    line shows the wait); ``close()`` wipes the line so a summary can follow.
    """

    def __init__(self, verb: str, total: int | None, stream: TextIO, *,
                 interval: float = 0.1, enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.verb = verb
        self.total = total
        self.stream = stream
        self.interval = interval
        self.clock = clock
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            enabled = bool(isatty()) if isatty is not None else False
        self.enabled = enabled
        self.started = clock()
        self.done = 0
        self._next_draw = self.started + interval
        self._drawn = False

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def update(self, done: int) -> None:
        """Record ``done`` messages so far; redraw if the interval has passed."""
        self.done = done
        if self.enabled:
            now = self.clock()
            if now >= self._next_draw:
                self._draw(now)

    def idle(self) -> None:
        """Nothing new, but time passes: redraw if due (shows the rate falling)."""
        self.update(self.done)

    def _draw(self, now: float) -> None:
        self._next_draw = now + self.interval
        done, total = self.done, self.total
        text = f"{self.verb} {done:,}"
        if total:
            text += f"/{total:,} ({100 * done // total}%)"
        text += f"  {format_rate(done, now - self.started)}"
        try:
            self.stream.write(_CLEAR_LINE + text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop drawing
            self.enabled = False
            return
        self._drawn = True

    def close(self) -> None:
        """Wipe the progress line (if one was drawn); later output starts clean."""
        if self._drawn:
            self._drawn = False
            try:
                self.stream.write(_CLEAR_LINE)
                self.stream.flush()
            except (OSError, ValueError):
                pass
