"""Tasks parked on a key (a delivery, a queued message), each woken alone.

A sender's tasks wait for different things (this delivery's outcome, that
message's transfer); an event concerns one key, so it wakes that key's tasks and
no others: O(1) per event however many tasks wait (issue 12). The tasks park
with ``trio.lowlevel.wait_task_rescheduled``, which holds nothing per wait but the
task itself: with ten thousand sends in flight, every object a wait keeps alive is
one more for the garbage collector to walk.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import trio
from trio.lowlevel import Abort, Task

__all__ = ["Waits"]


class Waits:
    """Parked tasks by key: :meth:`park` parks the calling task until :meth:`wake`
    (that key) or :meth:`wake_all`; cancellation unparks it. A woken task re-checks
    its own condition and parks again if it still holds."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: dict[Hashable, Task | list[Task]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def park(self, key: Hashable) -> _Unpark:
        """Park the calling task on ``key``; await ``wait_task_rescheduled`` of what this
        returns at once (``await trio.lowlevel.wait_task_rescheduled(waits.park(key))``:
        written out by the caller, it is one coroutine less per wait)."""
        task = trio.lowlevel.current_task()
        tasks = self._tasks
        parked = tasks.get(key)
        if parked is None:
            tasks[key] = task
        elif isinstance(parked, list):
            parked.append(task)
        else:
            tasks[key] = [parked, task]
        return _Unpark(self, key, task)

    def wake(self, key: Hashable) -> None:
        """Wake the tasks parked on ``key``, if any."""
        parked = self._tasks.pop(key, None)
        if parked is None:
            return
        if isinstance(parked, list):
            for task in parked:
                trio.lowlevel.reschedule(task)
        else:
            trio.lowlevel.reschedule(parked)

    def wake_all(self) -> None:
        """Wake every parked task (the state they all depend on changed)."""
        tasks = self._tasks
        for parked in tasks.values():
            if isinstance(parked, list):
                for task in parked:
                    trio.lowlevel.reschedule(task)
            else:
                trio.lowlevel.reschedule(parked)
        tasks.clear()

    def _forget(self, key: Hashable, task: Task) -> None:
        tasks = self._tasks
        parked = tasks.get(key)
        if parked is task:
            del tasks[key]
        elif isinstance(parked, list) and task in parked:
            parked.remove(task)
            if not parked:
                del tasks[key]


class _Unpark:
    """The abort function of a parked task (cancelled: it is parked no more); one small
    object, where a closure is a function, its cells and their tuple."""

    __slots__ = ("key", "task", "waits")

    def __init__(self, waits: Waits, key: Hashable, task: Task) -> None:
        self.waits = waits
        self.key = key
        self.task = task

    def __call__(self, _: Any) -> Abort:
        self.waits._forget(self.key, self.task)
        return Abort.SUCCEEDED
