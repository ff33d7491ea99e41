"""The trio adapter survives lost transports (issue 9): the stories of
tests.resilience.async_cases (cut, reset, blackhole, a broker restart, ...), each in its
own trio.run with no task of the adapter left after it, and those that are trio's own:
pipelined sends, a cancel scope during the outage, giving up, leaving the block. That
reconnecting stays inside the connection's nursery is what the last ones show.

The embedded broker sits behind tests/faultproxy.py, which breaks the TCP connection
the way a network or a dying node does; every count is made by the test.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

import pytest
import trio

import amqp10_trio as amqp
from amqp10_cli import RunningBroker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError, SettlementLost

from ..faultproxy import FaultProxy
from .async_cases import CASES, Case
from .test_reconnect_sync import FAST, broker, numbered, proxy, queue

__all__ = ["broker", "proxy"]  # fixtures shared with the blocking adapter's stories

GUARD = 60  # a hang guard for each story, far above what any of them takes


async def wait_for(pred: Callable[[], object], timeout: float = 10.0) -> None:
    with trio.fail_after(timeout):
        while not pred():
            await trio.sleep(0.01)


def run(main: Callable[..., Awaitable[None]], *args: object) -> None:
    """``trio.run(main, *args)`` under a hang guard."""
    async def guarded() -> None:
        with trio.fail_after(GUARD):
            await main(*args)

    trio.run(guarded)


def adapter_tasks() -> list[str]:
    """The names of the live tasks that belong to amqp10_trio (none once a block is left)."""
    names: list[str] = []
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        if "amqp10" in task.name:
            names.append(task.name)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return names


def test_pipelined_sends_in_doubt_are_resent_and_their_outcomes_arrive(
        proxy: FaultProxy) -> None:
    """send_nowait keeps many transfers in flight: those without an outcome at a reset go
    again first, in order, and wait_settled on the application's delivery returns the
    resend's outcome; nothing accepted is lost."""
    n = 600
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=50)
            got: list[str] = []

            async def consume() -> None:
                while len(set(got)) < n:
                    msg = await receiver.receive(timeout=30)
                    with contextlib.suppress(SettlementLost):
                        await msg.accept()
                    assert msg.properties is not None
                    got.append(str(msg.properties.message_id))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(consume)
                deliveries = []
                for i in range(n):
                    deliveries.append(await sender.send_nowait(numbered(i)))
                    if i == 150:
                        proxy.reset()  # the sends after it go on during the outage
                    elif i == 400:
                        await wait_for(lambda: conn.reconnects == 1)
                        proxy.reset()
                outcomes = [await sender.wait_settled(d) for d in deliveries]
            assert {type(o).__name__ for o in outcomes} == {"Accepted"}
            assert set(got) == {f"m{i}" for i in range(n)}
            assert conn.reconnects == 2 and sender.resent > 0
            assert len(got) - len(set(got)) <= sender.resent + 2 * 50

    run(main)


def test_a_wait_during_the_outage_is_cancelled_at_once_by_its_scope(proxy: FaultProxy) -> None:
    """Reconnecting runs in the connection's own (shielded) nursery: the caller's cancel
    scope still cancels its wait at once, and the connection comes back all the same."""
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(q, credit=10)
            proxy.refuse_new(True)
            proxy.cut()
            await wait_for(lambda: conn.state == "reconnecting")
            with trio.CancelScope() as scope:
                scope.deadline = trio.current_time() + 0.2
                t0 = trio.current_time()
                await receiver.receive(timeout=20)
            assert scope.cancelled_caught
            assert trio.current_time() - t0 < 1.0
            assert conn.state == "reconnecting"
            proxy.refuse_new(False)
            await wait_for(lambda: conn.reconnects == 1)
            sender = await session.open_sender(q)
            await sender.send(Message(b"after"))
            assert (await receiver.receive(timeout=10)).body == b"after"

    run(main)


def test_the_policy_gives_up_and_every_wait_fails_with_the_last_cause(
        proxy: FaultProxy) -> None:
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=3)

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
            receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
            proxy.refuse_new(True)
            proxy.cut()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError,
                               match=r"not recovered after 3 attempt\(s\)") as info:
                await receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 10  # a hang guard: 3 quick tries
            assert "refused" in str(info.value).lower()
            assert conn.state == "closed" and conn.closed
            with pytest.raises(ConnectionClosedError, match="not recovered"):
                await conn.open_session()
            await conn.wait_closed()
        assert adapter_tasks() == []

    run(main)


def test_leaving_the_block_while_reconnecting_ends_it_at_once(proxy: FaultProxy) -> None:
    async def main() -> None:
        conn = amqp.open_connection(proxy.url, timeout=20,
                                    reconnect=amqp.Reconnect(initial_delay=5, max_delay=5))
        async with conn:
            receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
            proxy.refuse_new(True)
            proxy.cut()
            await wait_for(lambda: conn.state == "reconnecting")
            await trio.sleep(0.1)  # into the 5 s pause before the second try
            assert adapter_tasks()  # the connection's task, sleeping until its next try
            t0 = trio.current_time()
        assert trio.current_time() - t0 < 1
        assert conn.state == "closed"
        assert adapter_tasks() == []
        with pytest.raises(ConnectionClosedError):
            await receiver.receive(timeout=1)

    run(main)


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_trio_survives(story: Case, proxy: FaultProxy, broker: RunningBroker) -> None:
    async def main() -> None:
        await story(amqp, proxy, broker)
        assert adapter_tasks() == []  # the connection's nursery ended with its block

    run(main)
