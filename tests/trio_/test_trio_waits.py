"""amqp10_trio's Waits: tasks parked by key, each with its own deadline (no cancel scope
per wait), on trio's virtual clock (``MockClock(autojump_threshold=0)``: time jumps to
the next deadline as soon as every task sleeps; nothing here depends on real time).

A wait ends in exactly one way: woken (``wake``/``wake_all``: None), its deadline
reached (True, at that deadline, in deadline order whatever the park order), or
cancelled (Cancelled, its record gone). The deadlines' bookkeeping stays bounded
however the waits end, and the timer task ends once nothing is pending.
"""

from __future__ import annotations

import math
import random

import pytest
import trio
import trio.testing

from amqp10_trio._waits import Parked, Waits


def run(main: object) -> None:
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))  # type: ignore[arg-type]


def deadlines_kept(waits: Waits) -> int:
    return len(waits._timed) + len(waits._early)


async def park(waits: Waits, key: object, end: float = math.inf) -> bool | None:
    result: bool | None = await trio.lowlevel.wait_task_rescheduled(waits.park(key, end))
    return result


def test_each_wait_times_out_at_its_own_deadline_in_deadline_order() -> None:
    """300 waits parked in a shuffled order with deadlines out of order (some equal, some
    infinite): each one whose deadline comes is woken with True at exactly that time;
    the others are still parked until woken by their key."""
    rng = random.Random(12)
    ends = [float(rng.randrange(1, 60)) for _ in range(250)] + [math.inf] * 50
    rng.shuffle(ends)
    woken: list[tuple[float, float, bool | None]] = []

    async def main() -> None:
        waits = Waits()

        async def waiter(i: int) -> None:
            start = trio.current_time()
            result = await park(waits, i, start + ends[i])
            woken.append((trio.current_time() - start, ends[i], result))

        async with trio.open_nursery() as nursery:
            for i in range(len(ends)):
                nursery.start_soon(waiter, i)
            await trio.sleep(100)  # every finite deadline has passed
            assert len(waits) == 50 and waits._pending == 0
            assert deadlines_kept(waits) == 0  # nothing pending: nothing held
            for i, end in enumerate(ends):
                if end == math.inf:
                    waits.wake(i)

    run(main)
    timed = [(at, end) for at, end, result in woken if result]
    assert len(timed) == 250 and all(at == end for at, end in timed)
    assert [end for _, end in timed] == sorted(end for end in ends if end != math.inf)
    assert [result for _, end, result in woken if end == math.inf] == [None] * 50


def test_woken_before_the_deadline_is_none_and_never_times_out_later() -> None:
    async def main() -> None:
        waits = Waits()
        results: list[bool | None] = []

        async def waiter(key: str, end: float) -> None:
            results.append(await park(waits, key, end))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, "a", 10.0)
            nursery.start_soon(waiter, "a", 5.0)  # two on one key: one wake for both
            nursery.start_soon(waiter, "b", 20.0)
            await trio.sleep(1)
            waits.wake("a")
            await trio.sleep(1)
            assert results == [None, None] and waits._pending == 1
            await trio.sleep(30)
        assert results == [None, None, True]
        assert trio.current_time() == 32  # (b's deadline woke it at 20)

    run(main)


def test_a_cancelled_wait_is_gone_and_the_others_keep_their_deadlines() -> None:
    async def main() -> None:
        waits = Waits()
        results: dict[int, object] = {}

        async def waiter(i: int, end: float) -> None:
            try:
                results[i] = await park(waits, i, end)
            except trio.Cancelled:
                results[i] = "cancelled"
                raise

        async with trio.open_nursery() as nursery:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as inner:
                    inner.start_soon(waiter, 0, 3.0)
                    inner.start_soon(waiter, 1, math.inf)
                    await trio.sleep(1)
                    scope.cancel()
            assert results == {0: "cancelled", 1: "cancelled"}
            assert len(waits) == 0 and waits._pending == 0
            nursery.start_soon(waiter, 2, 5.0)
            await trio.sleep(10)
        assert results[2] is True

    run(main)


def test_the_deadlines_stay_bounded_however_the_waits_end() -> None:
    """Waits woken out of their deadline order (the finished ones are not at the front):
    what is kept of the deadlines stays within twice the pending ones plus a slack."""
    rng = random.Random(7)

    async def main() -> None:
        waits = Waits()
        peak = 0

        async def waiter(i: int) -> None:
            await park(waits, i, trio.current_time() + 1000 + rng.random())

        async with trio.open_nursery() as nursery:
            live: list[int] = []
            for i in range(5000):
                nursery.start_soon(waiter, i)
                live.append(i)
                await trio.lowlevel.checkpoint()
                if len(live) > 100:
                    waits.wake(live.pop(rng.randrange(len(live))))  # any of them
                peak = max(peak, deadlines_kept(waits))
                # (+6: the wakes since the last park, which compacts)
                assert deadlines_kept(waits) <= 2 * waits._pending + 64 + 6
            for i in live:
                waits.wake(i)
        assert peak < 400
        assert waits._pending == 0 and deadlines_kept(waits) <= 64 + 6
        await trio.sleep(2000)  # the timer passes them all, finds nothing pending, ends
        assert deadlines_kept(waits) == 0 and waits._timer is None

    run(main)


def test_the_timer_task_ends_once_nothing_is_pending() -> None:
    async def main() -> None:
        waits = Waits()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(park, waits, "k", 5.0)
            await trio.sleep(1)
            assert waits._timer is not None
            waits.wake("k")
            await trio.sleep(10)  # its (stale) deadline passes: it finds nothing and ends
            assert waits._timer is None
            nursery.start_soon(park, waits, "k", 20.0)  # the next deadline starts another
            await trio.sleep(1)
            assert waits._timer is not None and waits._timer.deadline == 20.0
        assert waits._timer is None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(park, waits, "k", 500.0)
            await trio.testing.wait_all_tasks_blocked()
            assert waits._timer is not None
            waits.wake_all()  # (the link or connection ended): the timer ends with it
            await trio.testing.wait_all_tasks_blocked()
            assert waits._timer is None and trio.current_time() < 500

    run(main)


def test_a_record_key_is_its_first_waiters_record_only() -> None:
    """A Parked used as a key (a sender's queued message) is the record of the first task
    parked on it; a second task on it gets its own; both are woken by the one key."""
    async def main() -> None:
        waits = Waits()
        key = Parked(None, None, None, math.inf)
        results: list[bool | None] = []

        async def waiter(end: float) -> None:
            results.append(await park(waits, key, end))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, 50.0)
            await trio.sleep(1)
            assert key.waits is waits and key.task is not None
            nursery.start_soon(waiter, 2.0)
            await trio.sleep(5)  # the second's deadline: the first is still parked
            assert results == [True] and key.task is not None
            waits.wake(key)
        assert results == [True, None] and key.task is None and len(waits) == 0

    run(main)


def test_a_record_is_used_again_for_the_same_deadline_only() -> None:
    """A send's queued message is its record for its transfer, then for its outcome (the
    same deadline: it stays where it is among the deadlines, listed once); a record in
    use, or listed with another deadline, is not taken: the wait gets its own."""
    async def main() -> None:
        waits = Waits()
        record = Parked(None, None, None, math.inf)
        results: list[bool | None] = []

        async def waiter(key: object, end: float) -> None:
            results.append(await park_with(waits, key, end, record))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, "transfer", 30.0)
            await trio.testing.wait_all_tasks_blocked()
            assert waits._tasks["transfer"] is record
            waits.wake("transfer")
            nursery.start_soon(waiter, "outcome", 30.0)  # the same deadline: reused
            await trio.testing.wait_all_tasks_blocked()
            assert waits._tasks["outcome"] is record and deadlines_kept(waits) == 1
            nursery.start_soon(waiter, "other", 30.0)  # in use: a record of its own
            await trio.testing.wait_all_tasks_blocked()
            assert waits._tasks["other"] is not record and deadlines_kept(waits) == 2
            waits.wake("outcome")
            nursery.start_soon(waiter, "later", 40.0)  # listed for 30: not reused
            await trio.testing.wait_all_tasks_blocked()
            assert waits._tasks["later"] is not record
            await trio.sleep(50)
        assert results == [None, None, True, True]  # other at 30, later at 40

    run(main)


async def park_with(waits: Waits, key: object, end: float, record: Parked) -> bool | None:
    result: bool | None = await trio.lowlevel.wait_task_rescheduled(
        waits.park(key, end, record))
    return result


@pytest.mark.parametrize("end", [-1.0, 0.0])
def test_a_deadline_already_past_times_out_at_once(end: float) -> None:
    async def main() -> None:
        waits = Waits()
        with trio.fail_after(1):
            assert await park(waits, "k", end) is True
        assert trio.current_time() == 0

    run(main)
