"""Tasks parked on a key (a delivery, a queued message), each woken alone, each with
its own deadline.

A sender's tasks wait for different things (this delivery's outcome, that
message's transfer); an event concerns one key, so it wakes that key's tasks and
no others: O(1) per event however many tasks wait (issue 12). The tasks park
with ``trio.lowlevel.wait_task_rescheduled``; what a wait keeps alive is the task,
trio's park and one :class:`Parked`. With ten thousand sends in flight every
object a wait keeps alive is one more for the garbage collector to walk (it
survives into the old generations, whose full collections walk all of them).

Deadlines: a wait's deadline is a float on its ``Parked``, not a trio cancel scope
each (a scope is five objects alive per wait, in trio's deadline heap, and about
4 us to enter and leave). The waits' deadlines are kept in park order, where they
nearly always grow (the same timeout, a later start); one that does not goes to a
heap. One timer task per :class:`Waits` (a trio system task, started on the first
deadline; it ends when it finds none pending, or at :meth:`Waits.wake_all`, which a
sender's link, session or connection ending calls) sleeps until the earliest one and
wakes what it reached with ``True``: ``await wait_task_rescheduled(waits.park(key, end))`` is True when the
deadline passed first. Finished waits are dropped from the front as new ones come,
and the whole is compacted when they are over half of it: bounded, O(1) per wait.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable
from typing import Any

import outcome
import trio
from trio.lowlevel import Abort, RaiseCancelT, Task

__all__ = ["Parked", "Waits"]

#: Finished waits kept among the deadlines before they are compacted away (beyond
#: as many as are pending).
_SLACK = 64


class Waits:
    """Parked tasks by key: :meth:`park` parks the calling task until :meth:`wake`
    (that key), :meth:`wake_all` or its deadline; cancellation unparks it. A woken task
    re-checks its own condition and parks again if it still holds."""

    __slots__ = ("_early", "_pending", "_seq", "_tasks", "_timed", "_timer")

    def __init__(self) -> None:
        self._tasks: dict[Hashable, Parked | list[Parked]] = {}
        #: Waits with a deadline, in park order, their deadlines not decreasing.
        self._timed: deque[Parked] = deque()
        #: Those whose deadline is earlier than the last one's in ``_timed``: (end, seq, wait).
        self._early: list[tuple[float, int, Parked]] = []
        self._seq = 0
        #: Waits with a deadline still parked (finished ones stay among the deadlines
        #: until they reach the front, or are compacted away: at most twice as many).
        self._pending = 0
        #: The timer task's cancel scope (its deadline: the earliest pending), if it runs.
        self._timer: trio.CancelScope | None = None

    def __len__(self) -> int:
        return len(self._tasks)

    def park(self, key: Hashable, end: float = math.inf, record: object = None) -> Parked:
        """Park the calling task on ``key`` until ``end`` (trio time); await
        ``wait_task_rescheduled`` of what this returns at once (``timed_out = await
        trio.lowlevel.wait_task_rescheduled(waits.park(key, end))``: written out by the
        caller, it is one coroutine less per wait). That returns True if ``end`` came
        first, None if woken.

        ``record``: a :class:`Parked` this wait may use as its own if no task is parked
        with it now (a sender's queued message, when the wait is about it: its transfer,
        then its outcome); so may a key that is a Parked never used. Else (or if it is
        among the deadlines with another one) the wait gets a record of its own."""
        task = trio.lowlevel.current_task()
        if record is None and isinstance(key, Parked) and key.waits is None:
            record = key
        if isinstance(record, Parked) and record.task is None \
                and (record.waits is self or record.waits is None) \
                and (not record.listed or record.end == end):
            wait = record  # (see Parked)
            wait.waits = self
            wait.key = None if key is wait else key
            wait.task = task
            wait.end = end
        else:
            wait = Parked(self, key, task, end)
        tasks = self._tasks
        parked = tasks.get(key)
        if parked is None:
            tasks[key] = wait
        elif isinstance(parked, list):
            parked.append(wait)
        else:
            tasks[key] = [parked, wait]
        if end != math.inf:
            self._add_deadline(wait)
        return wait

    def wake(self, key: Hashable) -> None:
        """Wake the tasks parked on ``key``, if any."""
        parked = self._tasks.pop(key, None)
        if parked is None:
            return
        if isinstance(parked, list):
            for wait in parked:
                self._release(wait)
        else:
            self._release(parked)

    def wake_all(self) -> None:
        """Wake every parked task (the state they all depend on changed: the link, its
        session or connection). The timer ends too (nothing is pending), so that no task
        of ours outlives a closed connection."""
        tasks = self._tasks
        waits = list(tasks.values())
        tasks.clear()
        for parked in waits:
            if isinstance(parked, list):
                for wait in parked:
                    self._release(wait)
            else:
                self._release(parked)
        if self._timer is not None:
            self._timer.cancel()  # (a wait parked meanwhile is timed by the next scope)

    def _release(self, wait: Parked, value: outcome.Value[Any] | None = None) -> None:
        """``wait`` is over (no longer in ``_tasks``): reschedule its task."""
        task = wait.task
        if task is None:
            return
        wait.task = None
        if wait.end != math.inf:
            self._pending -= 1
        if value is None:
            trio.lowlevel.reschedule(task)
        else:
            trio.lowlevel.reschedule(task, value)  # (the timer's: True)

    def _forget(self, wait: Parked) -> None:
        """Take ``wait`` out of ``_tasks`` (cancelled or timed out)."""
        tasks = self._tasks
        key = wait if wait.key is None else wait.key
        parked = tasks.get(key)
        if parked is wait:
            del tasks[key]
        elif isinstance(parked, list) and wait in parked:
            parked.remove(wait)
            if not parked:
                del tasks[key]

    # -- deadlines --------------------------------------------------------------------
    def _add_deadline(self, wait: Parked) -> None:
        self._pending += 1
        end = wait.end
        if not wait.listed:  # (else it is there already, where this deadline goes)
            timed = self._timed
            while timed and timed[0].task is None:
                timed.popleft().listed = False  # finished: they mostly end in park order
            if not timed or timed[-1].end <= end:
                timed.append(wait)
            else:
                self._seq += 1
                heapq.heappush(self._early, (end, self._seq, wait))
            wait.listed = True
            if len(timed) + len(self._early) > 2 * self._pending + _SLACK:
                self._compact()
        timer = self._timer
        if timer is None:
            self._timer = timer = trio.CancelScope(deadline=end)
            trio.lowlevel.spawn_system_task(self._run_timer, timer, name="amqp10 wait timer")
        elif end < timer.deadline:
            timer.deadline = end

    def _compact(self) -> None:
        """Drop the finished waits from the deadlines (over half of them)."""
        timed = self._timed
        live = []
        for wait in timed:
            if wait.task is None:
                wait.listed = False
            else:
                live.append(wait)
        timed.clear()
        timed.extend(live)
        early = []
        for entry in self._early:
            if entry[2].task is None:
                entry[2].listed = False
            else:
                early.append(entry)
        heapq.heapify(early)
        self._early = early

    def _next_deadline(self) -> float:
        """The earliest deadline of a pending wait (inf: none)."""
        timed = self._timed
        while timed and timed[0].task is None:
            timed.popleft().listed = False
        early = self._early
        while early and early[0][2].task is None:
            heapq.heappop(early)[2].listed = False
        first = timed[0].end if timed else math.inf
        return min(first, early[0][0]) if early else first

    def _expire(self, now: float) -> None:
        """Wake (with True) every pending wait whose deadline is ``now`` or earlier."""
        timed = self._timed
        early = self._early
        while True:
            if timed and (timed[0].task is None or timed[0].end <= now):
                wait = timed.popleft()
            elif early and (early[0][2].task is None or early[0][0] <= now):
                wait = heapq.heappop(early)[2]
            else:
                return
            wait.listed = False
            if wait.task is not None:
                self._forget(wait)
                self._release(wait, outcome.Value(True))  # (each used once)

    async def _run_timer(self, scope: trio.CancelScope) -> None:
        """Sleep until the earliest deadline, wake what it reached; end when none is
        pending (the next deadline starts another)."""
        try:
            while True:
                with scope:
                    await trio.sleep_forever()
                self._expire(trio.current_time())
                end = self._next_deadline()
                if end == math.inf:
                    return
                self._timer = scope = trio.CancelScope(deadline=end)
        finally:
            self._timer = None


class Parked:
    """One parked task: its key, its deadline, and the abort function trio calls if the
    task is cancelled (it is parked no more); one small object, where a closure is a
    function, its cells and their tuple. ``task`` is None once the wait is over;
    ``listed``: it is among the deadlines (finished ones are dropped lazily).

    A key may be a Parked itself (a sender's queued message): the first task to park
    on it uses it as its record (``key`` None: itself, no reference cycle), and a
    send's own task uses it again for the outcome (``Waits.park``'s ``record``): one
    object less alive per waiting send, and no second place among the deadlines."""

    __slots__ = ("end", "key", "listed", "task", "waits")

    def __init__(self, waits: Waits | None, key: Hashable, task: Task | None,
                 end: float) -> None:
        self.waits = waits
        self.key = key
        self.task = task
        self.end = end
        self.listed = False

    def __call__(self, _: RaiseCancelT) -> Abort:
        waits = self.waits
        if self.task is not None and waits is not None:
            self.task = None
            waits._forget(self)
            if self.end != math.inf:
                waits._pending -= 1
        return Abort.SUCCEEDED
