"""Issue 12 on trio: send_nowait without credit, wait_all and send_many, and waits woken
one by one (ten thousand concurrent sends cost what ten do per message).

Against the in-process fake peer of tests/sync, which settles each message by its body
(b"reject", b"release", b"modify", b"hold": never; else accepted) and grants the credit
the test says. No timing is asserted: the last test counts task wake-ups instead.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
import trio
import trio.testing

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message, Modified, Rejected, Released
from amqp10_proto.errors import ConnectionClosedError, LinkDetachedError
from tests.sync.fakepeer import FakePeer


@pytest.fixture
def fake() -> Iterator[FakePeer]:
    peer = FakePeer(credit=100_000)  # (granted once, on attach)
    yield peer
    peer.close()


@pytest.fixture
def no_credit() -> Iterator[FakePeer]:
    peer = FakePeer(credit=0)
    yield peer
    peer.close()


async def until(pred: Any) -> None:
    with trio.fail_after(10):
        while not pred():
            await trio.sleep(0.01)


def test_send_many_gives_each_outcome_in_order_without_raising(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            bodies = [b"a", b"reject", b"b", b"release", b"modify", b"c"]
            outcomes = await sender.send_many([Message(b) for b in bodies], timeout=10)
            assert [type(o) for o in outcomes] == [Accepted, Rejected, Accepted, Released,
                                                   Modified, Accepted]
            rejected = outcomes[1]
            assert isinstance(rejected, Rejected) and rejected.error is not None
            assert rejected.error.condition == "amqp:precondition-failed"
            # wait_all over send_nowait handles: the same, one call.
            handles = [await sender.send_nowait(Message(b"x%d" % i)) for i in range(300)]
            states = await sender.wait_all(handles, timeout=10)
            assert len(states) == 300 and all(isinstance(o, Accepted) for o in states)

    trio.run(main)
    assert fake.received[:6] == [b"a", b"reject", b"b", b"release", b"modify", b"c"]
    assert fake.received[6:] == [b"x%d" % i for i in range(300)]


def test_send_nowait_takes_messages_without_credit_and_sends_them_in_order(
        no_credit: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q", queue_size=3) as sender:
            with trio.fail_after(5):  # no credit: none of these waits
                handles = [await sender.send_nowait(Message(b"m%d" % i)) for i in range(3)]
            assert all(isinstance(h, amqp.Queued) for h in handles)
            assert sender.queued == 3
            # The queue is full: the next one waits for room, here past its timeout.
            with pytest.raises(TimeoutError, match="no credit"):
                await sender.send_nowait(Message(b"too many"), timeout=0.2)
            assert sender.queued == 3
            no_credit.grants = 2  # the peer grants credit for two, then for the rest
            await until(lambda: sender.queued == 1)
            no_credit.grants = 5
            assert [type(o) for o in await sender.wait_all(handles, timeout=10)] == [Accepted] * 3

    trio.run(main)
    assert no_credit.received == [b"m0", b"m1", b"m2"]


def test_wait_all_times_out_and_withdraws_what_still_waits_for_credit(
        no_credit: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            no_credit.grants = 2
            await until(lambda: sender.credit == 2)
            handles = [await sender.send_nowait(Message(b)) for b in (b"ok", b"hold", b"late")]
            assert isinstance(handles[2], amqp.Queued)  # no credit left for it
            with pytest.raises(TimeoutError):
                await sender.wait_all(handles, timeout=0.5)  # "hold" is never settled
            assert sender.queued == 0  # "late" was withdrawn: it is never sent
            no_credit.grants = 5
            assert isinstance(await sender.send(Message(b"after"), timeout=10), Accepted)

    trio.run(main)
    assert no_credit.received == [b"ok", b"hold", b"after"]


def test_a_link_closed_mid_batch_fails_the_wait_and_sends_nothing_more(
        no_credit: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s:
            sender = await s.open_sender("q")
            handles = [await sender.send_nowait(Message(b"m%d" % i)) for i in range(5)]
            failure: list[BaseException] = []

            async def wait() -> None:
                try:
                    await sender.wait_all(handles, timeout=10)
                except LinkDetachedError as exc:
                    failure.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(wait)
                await trio.sleep(0.1)
                await sender.close()
            assert len(failure) == 1
            with pytest.raises(LinkDetachedError):
                await sender.send_nowait(Message(b"after close"))

    trio.run(main)
    assert no_credit.received == []


def test_a_lost_connection_fails_wait_all_with_connection_closed(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            handles = [await sender.send_nowait(Message(b"hold")) for _ in range(3)]
            await until(lambda: len(fake.received) == 3)
            fake.kill()
            with pytest.raises(ConnectionClosedError):
                await sender.wait_all(handles, timeout=10)

    trio.run(main)


def test_a_send_cancelled_while_it_waits_for_credit_is_never_sent(no_credit: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            with trio.move_on_after(0.2) as scope:
                await sender.send(Message(b"cancelled"), timeout=10)
            assert scope.cancelled_caught and sender.queued == 0
            with pytest.raises(TimeoutError, match="no credit"):
                await sender.send(Message(b"timed out"), timeout=0.2)
            assert sender.queued == 0
            no_credit.grants = 10
            assert isinstance(await sender.send(Message(b"sent"), timeout=10), Accepted)

    trio.run(main)
    assert no_credit.received == [b"sent"]


class _Steps(trio.abc.Instrument):
    """Counts the steps of every task: a wake that finds nothing to do is a step too."""

    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


@pytest.mark.parametrize("callers", [10, 1000])
def test_each_send_wakes_its_own_task_only(no_credit: FakePeer, callers: int) -> None:
    """2000 sends by 10 or by 1000 tasks, the peer granting credit 50 at a time (so most
    wait for credit, then for their outcome): the task steps per message stay bounded (a
    broadcast to every waiter per event took about ``callers`` steps per message)."""
    count = 2000
    steps = _Steps()

    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:

            async def caller() -> None:
                for _ in range(count // callers):
                    assert isinstance(await sender.send(Message(b"x"), timeout=30), Accepted)

            async def grant() -> None:
                while True:
                    if sender.credit == 0 and not no_credit.grants:
                        no_credit.grants = 50
                    await trio.sleep(0.005)

            trio.lowlevel.add_instrument(steps)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(grant)
                async with trio.open_nursery() as callers_nursery:
                    for _ in range(callers):
                        callers_nursery.start_soon(caller)
                nursery.cancel_scope.cancel()
            trio.lowlevel.remove_instrument(steps)
            no_credit.grants = 0  # (none left for the fake to grant once the link is gone)

    trio.run(main)
    assert len(no_credit.received) == count
    # One step to start each task, then a few per message (its send, its outcome, the
    # reader and writer's share); with a wake-everyone broadcast it was thousands.
    assert steps.steps < callers + 6 * count, steps.steps


def test_a_waiting_send_keeps_few_objects_alive(no_credit: FakePeer) -> None:
    """1 000 tasks each in ``send()``, waiting for credit: the objects the garbage
    collector tracks, against 1 000 tasks parked in ``trio.sleep_forever()`` with the
    same messages. With ten thousand sends in flight, every object a wait keeps alive
    is walked by each full collection (issue 12: at 10 000 they cost more than the
    sends' own work). A send's own are its coroutine and its queued message (which is
    also its park record: no cancel scope, deadline heap entry or closure per wait),
    as many as sleep_forever's coroutine and abort function; trio's park is the same.
    A cancel scope per wait (and a coroutine more) made it 8 more per send."""
    tasks = 1000

    async def tracked(park: Any) -> int:
        """Objects tracked while ``tasks`` tasks are parked in ``park(message)``."""
        messages = [Message(b"x") for _ in range(tasks)]
        async with trio.open_nursery() as nursery:
            for message in messages:
                nursery.start_soon(park, message)
            await trio.testing.wait_all_tasks_blocked()
            gc.collect()
            count = len(gc.get_objects())
            nursery.cancel_scope.cancel()
        return count

    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:

            async def sleep(message: Message) -> None:
                await trio.sleep_forever()

            async def send(message: Message) -> None:
                await sender.send(message, timeout=600)

            await tracked(sleep)  # (warm: whatever a first run allocates once)
            await tracked(send)
            baseline = await tracked(sleep)
            sending = await tracked(send)
            per_send = (sending - baseline) / tasks
            assert sender.queued == 0  # (cancelled: all withdrawn, none sent)
            assert per_send < 3, per_send  # (0 now; 8 with a cancel scope per wait)

    trio.run(main)
    assert no_credit.received == []


def test_sends_with_different_timeouts_each_keep_their_own(no_credit: FakePeer) -> None:
    """Deadlines out of park order (a later send with a shorter timeout) each time out
    (TimeoutError, the message withdrawn, never sent), and the send with a long one is
    still waiting, then sent when credit comes; a send cancelled from outside is too."""
    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            results: dict[str, object] = {}

            async def send(body: bytes, timeout: float) -> None:
                try:
                    results[body.decode()] = await sender.send(Message(body), timeout=timeout)
                except TimeoutError as exc:
                    results[body.decode()] = exc

            cancelled = trio.CancelScope()

            async def send_cancelled() -> None:
                with cancelled:
                    await sender.send(Message(b"cancelled"), timeout=60)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send, b"long", 60.0)
                nursery.start_soon(send_cancelled)
                for body, timeout in ((b"t3", 0.3), (b"t1", 0.1), (b"t2", 0.2)):
                    nursery.start_soon(send, body, timeout)
                await until(lambda: len(results) == 3)
                assert all(isinstance(results[k], TimeoutError) for k in ("t1", "t2", "t3"))
                assert sender.queued == 2  # long and cancelled: the others withdrawn
                cancelled.cancel()
                await until(lambda: sender.queued == 1)
                no_credit.grants = 5
            assert cancelled.cancelled_caught and isinstance(results["long"], Accepted)

    trio.run(main)
    assert no_credit.received == [b"long"]


def test_a_message_withdrawn_at_its_timeout_is_not_kept(no_credit: FakePeer) -> None:
    """A queued message whose wait timed out is withdrawn, and the handle lets go of it
    at once, though the wait's record may stay listed until its old deadline (a large
    message is not held for the rest of a long timeout)."""

    async def main() -> None:
        async with amqp.open_connection(no_credit.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            handle = await sender.send_nowait(Message(b"big" * 1000))
            assert isinstance(handle, amqp.Queued) and handle.message is not None
            with pytest.raises(TimeoutError):
                await sender.wait_settled(handle, timeout=0.05)
            assert sender.queued == 0
            assert handle.message is None

    trio.run(main)
    assert no_credit.received == []
