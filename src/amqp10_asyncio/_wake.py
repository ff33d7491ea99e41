"""Waking exactly the callers whose condition changed (issue 12), O(1) work per event.

Every wait of a sender is a future. A delivery's outcome resolves the waits on that
delivery only (a :class:`Waiter` kept in ``delivery.context``); credit and room in a
link's queue are the sender's own business (``_sender``). Anything else the core
reports (a link detached, a session ended, the transport lost) is rare, and wakes
every waiting future to look at its condition again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from heapq import heapify, heappop, heappush
from typing import Any, TypeAlias

from amqp10_proto import (
    Accepted,
    Connection,
    CreditGranted,
    Delivery,
    DeliveryUpdated,
    Error,
    MessageReceived,
    Modified,
    Rejected,
    Released,
)

__all__ = ["PRESETTLED", "TERMINAL", "EventFilter", "Sleepers", "Waiter", "add_waiter", "release"]

#: 3.4: the terminal outcomes; a delivery with one of these (or settled by the peer) is done.
TERMINAL = (Accepted, Rejected, Released, Modified)

#: ``delivery.context`` of a pre-settled send: done once handed to the transport.
PRESETTLED = True


class Waiter(asyncio.Future[bool]):
    """One wait for the outcomes of ``left`` deliveries: resolved (True) when the last
    one arrives, or by a rare event (True: look again), or at the timeout (False).
    A future itself: one object per wait rather than two."""

    __slots__ = ("left",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.left = 0

    def hit(self) -> None:
        """One of its deliveries is done."""
        self.left -= 1
        if self.left <= 0 and not self.done():
            self.set_result(True)


class Sleepers:
    """The futures of a connection's targeted waits with their deadlines.

    A wait costs an entry here instead of a loop timer of its own: with ten thousand
    sends waiting, a ``TimerHandle`` each was three more objects alive per wait for the
    garbage collector, in a heap of objects compared in Python (issue 12). Waits with
    the same timeout come in deadline order, so they queue in a line (O(1) each); one
    whose deadline is earlier than the line's last goes to a heap. One loop timer
    stands for the earliest deadline; a deadline resolves its future with False. A wait
    that ended otherwise (its outcome, a cancel) leaves its entry behind: it is dropped
    when it comes to the front, or when the entries reach twice the waits alive.
    """

    __slots__ = ("_compact_at", "_heap", "_line", "_loop", "_resolution", "_seq", "_timer",
                 "_timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._line: deque[tuple[float, asyncio.Future[bool]]] = deque()  # deadline order
        self._heap: list[tuple[float, int, asyncio.Future[bool]]] = []  # the others
        self._seq = 0  # (ties: two heap entries never compare their futures)
        self._compact_at = 64
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        # What asyncio's own timers allow: one due within the clock's resolution runs.
        self._resolution = time.get_clock_info("monotonic").resolution

    def __len__(self) -> int:
        """The entries kept (waits alive, and ended ones not dropped yet)."""
        return len(self._line) + len(self._heap)

    def add(self, future: asyncio.Future[bool], end: float) -> None:
        """Resolve ``future`` with False at the loop time ``end``, if nothing did first."""
        line = self._line
        while line and line[0][1].done():  # outcomes mostly come in send order
            line.popleft()
        heap = self._heap
        while heap and heap[0][2].done():
            heappop(heap)
        if len(line) + len(heap) >= self._compact_at:
            line = self._line = deque(e for e in line if not e[1].done())
            heap = self._heap = [e for e in heap if not e[2].done()]
            heapify(heap)
            self._compact_at = 2 * (len(line) + len(heap)) + 64
        if not line or end >= line[-1][0]:
            line.append((end, future))
        else:
            self._seq = seq = self._seq + 1
            heappush(heap, (end, seq, future))
        if end < self._timer_at:
            self._arm(end)

    def wake_all(self) -> None:
        """Resolve every waiting future with True (something rare changed: look again)."""
        futures = [f for _, f in self._line] + [e[2] for e in self._heap]
        self._line = deque()
        self._heap = []
        self._compact_at = 64
        self._arm(math.inf)
        for future in futures:
            if not future.done():
                future.set_result(True)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = when
        if when != math.inf:
            self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        due = self._loop.time() + self._resolution
        expired: list[tuple[float, asyncio.Future[bool]]] = []
        line = self._line
        while line and (line[0][0] < due or line[0][1].done()):
            expired.append(line.popleft())
        heap = self._heap
        while heap and (heap[0][0] < due or heap[0][2].done()):
            end, _, future = heappop(heap)
            expired.append((end, future))
        expired.sort(key=_deadline)  # (resolved in deadline order)
        for _, future in expired:
            if not future.done():
                future.set_result(False)
        first = min(line[0][0] if line else math.inf, heap[0][0] if heap else math.inf)
        if first != math.inf:
            self._arm(first)


def _deadline(entry: tuple[float, asyncio.Future[bool]]) -> float:
    return entry[0]


#: What a delivery (or a queued message) keeps of the waits on it.
Waiters: TypeAlias = Waiter | list[Waiter]


def add_waiter(current: Any, waiter: Waiter) -> Waiters:
    """``current`` (a delivery's or queued message's waiters, or None) with ``waiter``
    added; waits that are over are dropped on the way."""
    if current is None or (type(current) is Waiter and current.done()):
        return waiter
    if type(current) is Waiter:
        return [current, waiter]
    kept: list[Waiter] = [w for w in current if not w.done()]
    kept.append(waiter)
    return kept


def release(waiters: Any) -> None:
    """Tell ``waiters`` (a Waiter or a list of them) that their delivery is done."""
    if type(waiters) is Waiter:
        waiters.hit()
    elif type(waiters) is list:
        for w in waiters:
            w.hit()


class EventFilter:
    """The core as ``dispatch_events`` reads it, with the delivery updates and the credit
    taken out and answered here: one per delivery a disposition names, and a flow's
    credit per round of a bulk sender (the hot path of a sender; issue 12 item 2).

    ``stirred`` is set when an event other than a message, credit or an outcome went by:
    then every waiting future is woken to look again.
    """

    __slots__ = ("core", "stirred")

    def __init__(self, core: Connection) -> None:
        self.core = core
        self.stirred = False

    def next_event(self) -> Any:
        next_event = self.core.next_event
        event: Any = next_event()
        while event is not None:
            t = type(event)
            if t is DeliveryUpdated:
                # Wake the waits on the delivery if it is done now (3.4). (A receiver's
                # delivery may carry the delivery it was resumed for: not ours.)
                delivery: Delivery = event.delivery
                waits = delivery.context
                tw = type(waits)
                if (tw is Waiter or tw is list) and (
                        delivery.remote_settled or isinstance(delivery.remote_state, TERMINAL)):
                    delivery.context = None
                    release(waits)
            elif t is CreditGranted:
                # 2.6.7: credit came; the link's handler sends what waits for it (the
                # route dispatch_events would take, without its call layers).
                link = event.link.context
                if link is not None:
                    try:
                        link._on_flow_event(event)
                    except Exception as exc:
                        # Up through next_event to dispatch_events, which answers it as
                        # any handler's failure, naming this event.
                        exc.amqp10_event = event  # type: ignore[attr-defined]
                        raise
            else:
                if t is not MessageReceived:
                    self.stirred = True
                return event
            event = next_event()
        return None

    # What dispatch_events calls when a handler failed (it closes the connection).
    def close(self, error: Error | None = None) -> None:
        self.core.close(error)

    def transport_failed(self, reason: str) -> None:
        self.core.transport_failed(reason)
