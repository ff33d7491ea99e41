"""When a sender writes the first transfer of a credit round at once (issue 12, item 2).

A bulk sender spends its peer's credit in rounds: a flow grants N, the adapter
encodes N transfers and writes them. Written together, the peer sits idle while we
encode, and we sit idle while it takes them in: the round's time is the sum of the two.
Writing the round's first transfer as soon as it is encoded lets the peer start on it
while we encode the rest, and its next flow comes back sooner: against the Qpid C broker
(5 credits a round) on two CPUs, 15-30 % more messages a second.

It is not free: one more write per round, and the peer's answer comes in two reads. It
pays only where we would otherwise wait, so it is off when:

- the process is busy: over the last :data:`WINDOW` rounds it used the CPU for at least
  :data:`BUSY` of the time (many senders each waiting for its own outcome, say), where
  the extra write and read would slow every message. It is taken to be busy until two
  windows in a row had time to spare: an early write cuts the peer's answer in two, and
  so its next grant, which then keeps coming in two parts after early writes stop (each
  part's transfers go out as they are allowed), so one lull must not start them;
- the peer runs on our CPU: the write wakes it, it takes the CPU from us at once (the
  scheduler's wake-up preemption), answers one message, and then has to be woken again
  for the rest (25 % fewer messages a second). That shows in the thread's count of
  involuntary context switches across the write (Linux's ``getrusage(RUSAGE_THREAD)``):
  two rounds in a row that lost the CPU in the write turn early writes off for the next
  :data:`PAUSE` rounds, then they are tried again; a lone switch (another process's
  turn) does not;
- and the adapters ask only on a plain TCP connection: over TLS each write is a record of
  its own, whose cost is more than the overlap gains.

No clock or counter is read here: the adapter passes the functions that read them.
Where the switch counter is not there (not Linux), the peer is taken to be elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["AHEAD", "BUSY", "PAUSE", "WINDOW", "EarlyWrites", "thread_switches"]

#: Rounds written together after the peer was seen taking our CPU, before looking again.
PAUSE = 256

#: The first transfer goes early only when at least this many follow it in the round
#: (credit and messages for them): a shorter round's encoding is too short to overlap
#: with anything, and its extra write and the peer's extra answer only cost CPU.
AHEAD = 3

#: Rounds between two looks at how busy the process is.
WINDOW = 16

#: The share of the time the process used the CPU over a window above which it is busy.
BUSY = 0.85


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

    ``early.round_begun(following, credit, flush)`` when a round's first transfer is
    encoded: ``flush()`` writes it now, if at least :data:`AHEAD` more follow and rounds
    are not written together for now (``write(flush)``: the same without the first test). ``wall()`` and ``cpu()`` read the
    time and the process's CPU time in seconds (``time.monotonic``,
    ``time.process_time``); ``switches()`` the calling thread's involuntary context
    switches (:data:`~amqp10_proto.client.thread_switches`; None: not known).
    """

    __slots__ = ("_at_cpu", "_at_wall", "_busy", "_calm", "_cpu", "_pause", "_rounds",
                 "_strike", "_switches", "_wall")

    def __init__(self, switches: Callable[[], int] | None, wall: Callable[[], float],
                 cpu: Callable[[], float]) -> None:
        self._switches = switches
        self._wall = wall
        self._cpu = cpu
        self._pause = 0  # rounds left to write together (the peer was on our CPU)
        self._strike = False  # the last early write lost the CPU
        self._rounds = 0  # rounds since the last look at the CPU time
        # Busy (see the module's text): so taken until two windows had time to spare.
        self._busy = True
        self._calm = False  # the last window had time to spare
        # The first window starts at the first round (not at the connection's opening,
        # whose waits for the peer would make any process look idle).
        self._at_wall = self._at_cpu = -1.0

    def round_begun(self, following: int, credit: int, flush: Callable[[], object]) -> None:
        """A credit round's first transfer is encoded, with ``following`` more messages
        queued behind it and ``credit`` for that many more: ``flush()`` it now if the
        round is long enough to overlap with (:data:`AHEAD`) and :meth:`write` says so."""
        if following >= AHEAD and credit >= AHEAD:
            self.write(flush)

    def write(self, flush: Callable[[], object]) -> bool:
        """Call ``flush`` (write what the core queued) unless rounds are written together
        now; True if it did."""
        self._rounds = rounds = self._rounds + 1
        if self._at_wall < 0:
            self._at_wall = self._wall()
            self._at_cpu = self._cpu()
        elif rounds >= WINDOW:
            self._rounds = 0
            wall = self._wall()
            cpu = self._cpu()
            if cpu - self._at_cpu >= BUSY * (wall - self._at_wall):
                self._busy = True
                self._calm = False
            elif self._calm:
                self._busy = False  # two windows in a row with time to spare
            else:
                self._calm = True  # (one could be a lull: the next one decides)
            self._at_wall = wall
            self._at_cpu = cpu
        if self._busy:
            return False
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
        """Whether rounds are written in one piece now (busy, or the peer on our CPU)."""
        return self._busy or self._pause > 0
