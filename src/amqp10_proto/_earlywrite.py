"""When a sender writes the first transfer of a credit round at once (issue 12, item 2).

A bulk sender spends its peer's credit in rounds: a flow grants N, the adapter
encodes N transfers and writes them. Written together, the peer sits idle while we
encode, and we sit idle while it takes them in: the round's time is the sum of the two.
Writing the round's first transfer as soon as it is encoded lets the peer start on it
while we encode the rest, and its next flow comes back sooner: against the Qpid C broker
(5 credits a round) on two CPUs, 15-20 % more messages a second.

It costs when the peer runs on our CPU: the write wakes it, it takes the CPU from us
at once (the scheduler's wake-up preemption), answers one message, and then has to be
woken again for the rest; one round costs two wake-ups on one CPU instead of one (25 %
fewer messages a second). Which of the two it is shows in the thread's count of
involuntary context switches across the write (Linux's ``getrusage(RUSAGE_THREAD)``):
two rounds in a row that lost the CPU in the write turn early writes off for the next
:data:`PAUSE` rounds, then they are tried again. A lone switch (another process's
turn) does not.

It reads a counter of this thread's scheduling, no clock and no I/O. Where the
counter is not there (not Linux), every round writes early: the peer is then almost
always on another CPU or another machine, where writing early pays.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["AHEAD", "PAUSE", "EarlyWrites", "thread_switches"]

#: Rounds written together after the peer was seen taking our CPU, before looking again.
PAUSE = 256

#: The first transfer goes early only when at least this many follow it in the round
#: (credit and messages for them): a shorter round's encoding is too short to overlap
#: with anything, and its extra write and the peer's extra answer only cost CPU.
AHEAD = 3


def _switch_counter() -> Callable[[], int] | None:
    try:
        import resource
    except ImportError:  # (not a Unix)
        return None
    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:  # (a Unix other than Linux)
        return None
    getrusage = resource.getrusage

    def switches() -> int:
        return getrusage(who).ru_nivcsw

    try:
        switches()
    except OSError:
        return None
    return switches


#: The calling thread's count of involuntary context switches, or None where the
#: system does not keep it.
thread_switches = _switch_counter()


class EarlyWrites:
    """One connection's choice, round by round, of writing a round's first transfer early.

    ``early.write(flush)`` when a round's first transfer is encoded: ``flush()`` writes it
    now, unless rounds are written together for now. ``switches`` counts the calling
    thread's involuntary context switches (:data:`~amqp10_proto.client.thread_switches`); without it every
    round writes early.
    """

    __slots__ = ("_pause", "_strike", "_switches")

    def __init__(self, switches: Callable[[], int] | None) -> None:
        self._switches = switches
        self._pause = 0  # rounds left to write together
        self._strike = False  # the last early write lost the CPU

    def write(self, flush: Callable[[], object]) -> bool:
        """Call ``flush`` (write what the core queued) unless rounds are written together
        now; True if it did. Two early writes in a row that lost the CPU pause them."""
        if self._pause:
            self._pause -= 1
            return False
        switches = self._switches
        if switches is None:
            flush()
            return True
        before = switches()
        flush()
        if switches() != before:
            if self._strike:
                self._pause = PAUSE
                self._strike = False
            else:
                self._strike = True
        else:
            self._strike = False
        return True

    @property
    def paused(self) -> bool:
        """Whether rounds are written together now (the peer was seen on our CPU)."""
        return self._pause > 0
