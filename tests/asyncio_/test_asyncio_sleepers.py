"""The deadlines of asyncio's targeted waits (issue 12, item 1): one heap per connection.

A waiting send keeps no loop timer of its own: its future and deadline are an entry in
the connection's :class:`~amqp10_asyncio._wake.Sleepers`, and one loop timer stands for
the earliest. Each future still ends at its own deadline (False), wakes for a rare event
(True), and entries of waits that ended otherwise never pile up.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import amqp10_asyncio as amqp
from amqp10_asyncio._wake import Sleepers
from amqp10_proto import Message

from .corepeer import CorePeer
from .helpers import run


def test_each_future_ends_at_its_own_deadline_in_deadline_order() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sleepers = Sleepers(loop)
        now = loop.time()
        ended: list[tuple[str, bool]] = []
        futures: dict[str, asyncio.Future[bool]] = {}

        def record(name: str) -> Callable[[asyncio.Future[bool]], None]:
            return lambda f: ended.append((name, f.result()))

        # Added out of order: the earliest deadline is armed whenever it comes.
        for name, delay in (("c", 0.15), ("a", 0.05), ("d", 10.0), ("b", 0.10)):
            fut: asyncio.Future[bool] = loop.create_future()
            fut.add_done_callback(record(name))
            sleepers.add(fut, now + delay)
            futures[name] = fut
        await asyncio.wait_for(futures["c"], 5)
        assert loop.time() >= now + 0.15
        assert ended == [("a", False), ("b", False), ("c", False)]
        assert not futures["d"].done()
        sleepers.wake_all()  # a rare event: the one left looks again (True)
        await asyncio.sleep(0)
        assert ended[-1] == ("d", True)
        assert len(sleepers) == 0

    run(main())


def test_a_future_resolved_first_is_not_touched_by_its_deadline() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sleepers = Sleepers(loop)
        first: asyncio.Future[bool] = loop.create_future()
        cancelled: asyncio.Future[bool] = loop.create_future()
        sleepers.add(first, loop.time() + 0.02)
        sleepers.add(cancelled, loop.time() + 0.02)
        first.set_result(True)  # its outcome came
        cancelled.cancel()  # its task was cancelled
        await asyncio.sleep(0.05)
        assert first.result() is True
        assert cancelled.cancelled()

    run(main())


def test_ended_waits_do_not_pile_up_behind_a_long_one() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sleepers = Sleepers(loop)
        long_wait: asyncio.Future[bool] = loop.create_future()
        sleepers.add(long_wait, loop.time() + 600)
        most = 0
        for _ in range(20000):  # each ends at once, but deadlines 600 s away
            fut: asyncio.Future[bool] = loop.create_future()
            sleepers.add(fut, loop.time() + 600)
            fut.set_result(True)
            most = max(most, len(sleepers))
        assert most <= 2 * 2 + 64  # twice the waits alive, and a little
        assert not long_wait.done()
        sleepers.wake_all()
        assert long_wait.result() is True

    run(main())


def test_a_timed_out_send_still_raises_and_others_keep_waiting() -> None:
    async def main() -> None:
        # The peer holds every outcome: each send waits until its own timeout.
        async with CorePeer(outcome=lambda body: None) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            short = asyncio.ensure_future(sender.send(Message(b"short"), timeout=0.05))
            long = asyncio.ensure_future(sender.send(Message(b"long"), timeout=30))
            done, _ = await asyncio.wait([short], timeout=5)
            assert done and isinstance(short.exception(), TimeoutError)
            assert not long.done()
            long.cancel()
            await asyncio.gather(long, return_exceptions=True)

    run(main())


def test_a_waiting_send_keeps_few_objects_alive() -> None:
    """10 000 sends waiting each keep a handful of objects for the garbage collector to
    walk: the task and its coroutine, the message, the wait's future and its entry
    (issue 12: a timer and three coroutines each were 23 objects per waiting send)."""

    async def main() -> None:
        async with CorePeer(outcome=lambda body: None, credit=20) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            n = 2000
            gc.collect()
            before = len(gc.get_objects())
            tasks = [asyncio.ensure_future(sender.send(Message(b"x"), timeout=60))
                     for _ in range(n)]
            await asyncio.sleep(0.2)
            assert not any(t.done() for t in tasks)  # every one waits (outcomes held)
            per_send = (len(gc.get_objects()) - before) / n
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Measured 11.0 on CPython 3.11; the three-coroutine, timer-per-wait code 18.0.
            assert per_send < 14, per_send

    run(main())


def test_waits_due_together_end_in_deadline_order_line_and_heap_alike() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sleepers = Sleepers(loop)
        now = loop.time()
        ended: list[str] = []

        def record(name: str) -> Callable[[asyncio.Future[bool]], None]:
            return lambda f: ended.append(name)

        # "late" queues in the line; "early" (an earlier deadline than the line's last)
        # goes to the heap; both are past, so one expiry resolves both.
        for name, end in (("late", now - 0.01), ("early", now - 0.02), ("later", now + 0.001)):
            fut: asyncio.Future[bool] = loop.create_future()
            fut.add_done_callback(record(name))
            sleepers.add(fut, end)
        await asyncio.sleep(0.05)
        assert ended == ["early", "late", "later"]
        assert len(sleepers) == 0

    run(main())
