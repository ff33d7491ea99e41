"""EarlyWrites: a credit round's first transfer is written at once unless the peer is
seen taking our CPU at that write, or the process is busy (issue 12, item 2). The switch
counter and the clocks are faked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from amqp10_proto._earlywrite import BUSY, PAUSE, WINDOW
from amqp10_proto.client import EarlyWrites, thread_switches


class Clocks:
    """The time and the process's CPU time, moved by the test (seconds)."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def pair(self) -> tuple[Callable[[], float], Callable[[], float]]:
        return (lambda: self.wall), (lambda: self.cpu)


def idle() -> tuple[Callable[[], float], Callable[[], float]]:
    """Clocks of a process that never uses the CPU (time moves, CPU time does not)."""
    wall = iter(range(10**9))
    return (lambda: float(next(wall))), (lambda: 0.0)


def warm(early: EarlyWrites) -> EarlyWrites:
    """Past the first two windows (2 * WINDOW - 1 rounds in one piece: busy until two
    windows had time to spare), on clocks where the process used no CPU: the next round
    may write early."""
    assert not any(early.write(lambda: None) for _ in range(2 * WINDOW - 1))
    assert early.paused
    return early


class Counter:
    """A thread's involuntary context switches, moved by the test: ``lose`` makes the
    next write look as if it lost the CPU."""

    def __init__(self) -> None:
        self.n = 0
        self.lose = False
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        if self.lose and self.reads % 2 == 0:  # (read after the write: one more switch)
            self.n += 1
        return self.n


def rounds(early: EarlyWrites, counter: Counter, losing: list[bool]) -> list[bool]:
    """Whether each round wrote early; ``losing[i]``: round i's write loses the CPU."""
    wrote = []
    flushed: list[int] = []
    for lose in losing:
        counter.lose = lose
        n = len(flushed)
        went = early.write(lambda: flushed.append(1))
        assert went == (len(flushed) == n + 1)  # flushed exactly when it says it wrote
        wrote.append(went)
    return wrote


def test_rounds_write_early_while_the_writes_keep_the_cpu() -> None:
    counter = Counter()
    early = warm(EarlyWrites(counter, *idle()))
    assert rounds(early, counter, [False] * 1000) == [True] * 1000
    assert not early.paused


def test_a_lone_lost_cpu_is_another_process_turn_not_a_reason_to_stop() -> None:
    counter = Counter()
    early = warm(EarlyWrites(counter, *idle()))
    losing = [i % 10 == 0 for i in range(1000)]  # one round in ten, never two in a row
    assert rounds(early, counter, losing) == [True] * 1000


def test_two_lost_in_a_row_write_rounds_together_for_a_pause_then_look_again() -> None:
    counter = Counter()
    early = warm(EarlyWrites(counter, *idle()))
    wrote = rounds(early, counter, [True, True] + [True] * PAUSE + [False] * 3)
    assert wrote[:2] == [True, True]  # the two that saw the peer take the CPU
    assert wrote[2:2 + PAUSE] == [False] * PAUSE  # together, no counter read
    assert early.paused is False
    assert wrote[2 + PAUSE:] == [True] * 3  # tried again: the CPU is ours now
    assert counter.reads == 2 * 5


def test_a_peer_always_on_our_cpu_costs_two_early_writes_per_pause() -> None:
    counter = Counter()
    early = warm(EarlyWrites(counter, *idle()))
    wrote = rounds(early, counter, [True] * (10 * (PAUSE + 2)))
    assert sum(wrote) == 2 * 10


def test_without_a_counter_every_round_writes_early() -> None:
    early = warm(EarlyWrites(None, *idle()))
    flushed: list[int] = []
    assert all(early.write(lambda: flushed.append(1)) for _ in range(100))
    assert len(flushed) == 100 and not early.paused


def test_a_busy_process_writes_its_rounds_in_one_piece_until_it_has_cpu_to_spare() -> None:
    clocks = Clocks()
    early = EarlyWrites(None, *clocks.pair())
    flushed: list[int] = []

    def window(cpu_share: float) -> list[bool]:
        """WINDOW rounds of 1 ms each, the process on the CPU for ``cpu_share`` of it."""
        wrote = []
        for _ in range(WINDOW):
            clocks.wall += 0.001
            clocks.cpu += 0.001 * cpu_share
            wrote.append(early.write(lambda: flushed.append(1)))
        return wrote

    # Busy until two windows in a row had time to spare (an early write's cut of the
    # peer's answers outlasts it, so a lull must not start them): early from the second
    # one's last round on.
    assert window(0.6) == [False] * WINDOW
    assert window(0.6) == [False] * (WINDOW - 1) + [True]
    assert window(0.6) == [True] * WINDOW
    # Looked at after each WINDOW rounds: a window with the CPU busy turns it off (from
    # its last round on), two with time to spare back on.
    assert window(BUSY + 0.05) == [True] * (WINDOW - 1) + [False]
    assert early.paused
    assert window(1.0) == [False] * WINDOW
    assert window(BUSY - 0.1) == [False] * WINDOW  # a lull
    assert window(1.0) == [False] * WINDOW  # busy again: the lull counted for nothing
    assert window(BUSY - 0.1) == [False] * WINDOW
    assert window(BUSY - 0.1) == [False] * (WINDOW - 1) + [True]
    assert not early.paused
    assert len(flushed) == 1 + WINDOW + (WINDOW - 1) + 1


def test_the_system_counter_counts_this_thread_losing_its_cpu() -> None:
    """A busy thread that shares its CPU with a busy process loses the CPU at the end of
    its time slices (involuntary switches); a thread that sleeps gives it up (voluntary:
    not counted)."""
    assert thread_switches is not None  # Linux keeps the count: CI and the benches run there
    code = (
        "import os, subprocess, sys, threading, time\n"
        "from amqp10_proto.client import thread_switches as sw\n"
        "cpu = min(os.sched_getaffinity(0)); os.sched_setaffinity(0, {cpu})\n"
        "rival = subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
        "try:\n"
        "    time.sleep(0.2)\n"
        "    a = sw(); end = time.monotonic() + 0.5\n"
        "    while time.monotonic() < end: pass\n"
        "    busy = sw() - a\n"
        "finally:\n"
        "    rival.kill(); rival.wait()\n"
        "slept = []\n"
        "def sleeper():\n"
        "    a = sw(); time.sleep(0.05); slept.append(sw() - a)\n"
        "t = threading.Thread(target=sleeper); t.start(); t.join()\n"
        "print(busy, slept[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    busy, slept = map(int, out.stdout.split())
    # Time slices of a few ms over half a second; the sleeper (sharing the pinned CPU
    # with the main thread, it may lose it once or twice at its start) hardly ever.
    assert busy >= 10, out.stdout
    assert slept <= busy // 5, out.stdout


def test_a_round_too_short_to_overlap_is_written_in_one_piece_and_not_counted() -> None:
    from amqp10_proto._earlywrite import AHEAD

    early = warm(EarlyWrites(None, *idle()))
    flushed: list[int] = []
    # Fewer than AHEAD messages behind the first, or credit for fewer: nothing written
    # early, and no round counted (the busy windows count long rounds only).
    for following, credit in ((AHEAD - 1, 100), (100, AHEAD - 1), (0, 0)):
        early.round_begun(following, credit, lambda: flushed.append(1))
    assert flushed == [] and early._rounds == 2 * WINDOW - 1 - WINDOW
    early.round_begun(AHEAD, AHEAD, lambda: flushed.append(1))
    assert flushed == [1]  # the window's round: past the two windows, written early
