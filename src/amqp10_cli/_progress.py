"""Progress and rate of a long send or receive, on one self-rewriting line of stderr.

It draws only when its stream is a terminal (``isatty``), at most every
``interval`` seconds, so piping the command or its errors elsewhere stays quiet
and a fast loop pays one clock read per message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["MIN_RATE_COUNT", "Progress", "format_rate", "messages", "summary"]

_CLEAR_LINE = "\r\x1b[K"

#: Fewer messages make no rate worth showing: one or two measure a round trip, not a pace.
MIN_RATE_COUNT = 10


def format_rate(count: int, seconds: float) -> str | None:
    """``12,345 msg/s``, or None when a rate would mean nothing (too few messages, no time)."""
    if count < MIN_RATE_COUNT or seconds <= 0:
        return None
    rate = count / seconds
    return f"{rate:,.0f} msg/s" if rate >= 10 else f"{rate:.1f} msg/s"


def messages(count: int) -> str:
    """``1 message``, ``1,200 messages``."""
    return f"{count:,} message{'s' * (count != 1)}"


def summary(done: str, count: int, seconds: float) -> str:
    """``sent 12 messages to 'q' in 0.52 s (23 msg/s)``: ``done`` is ``sent ... to 'q'``
    with ``...`` for the count; the time only if a message moved, the rate if it means
    something."""
    text = done.replace("...", messages(count))
    if count:
        text += f" in {seconds:.2f} s"
        rate = format_rate(count, seconds)
        if rate is not None:
            text += f" ({rate})"
    return text


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
        rate = format_rate(done, now - self.started)
        if rate is not None:
            text += f"  {rate}"
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
