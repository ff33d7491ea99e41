"""Issue 12/13 on trio: a receive loop costs one task step per message, and its
settlements go out in bursts (one ranged disposition, one write), yet every one of them
reaches the peer with no further call from the application.

Against the embedded broker (in process, on asyncio in its own thread). No timing is
asserted: the tests count task steps and stream writes, and ask the broker what is left.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import trio

import amqp10_sync
import amqp10_trio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message

COUNT = 2000  # two refills of the default window: more than one burst of settlements


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


def fill(broker: RunningBroker, count: int) -> str:
    q = f"recv-{uuid.uuid4().hex[:8]}"
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn:
        sender = conn.open_session().open_sender(q)
        sender.send_many([Message(b"m%d" % i) for i in range(count)], timeout=30)
    return q


class _Steps(trio.abc.Instrument):
    """Counts the steps of every task, and the writer task's apart."""

    def __init__(self) -> None:
        self.steps = 0
        self.writer = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1
        if task.name.endswith("_writer"):
            self.writer += 1


class _CountingStream(trio.abc.Stream):
    """The connection's stream with its writes counted."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.writes = 0

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _connect(broker: RunningBroker) -> tuple[amqp.Connection, _CountingStream]:
    stream = _CountingStream(await trio.open_tcp_stream(broker.host, broker.port))
    return amqp.connect(stream, timeout=10), stream


def test_a_receive_loop_takes_one_step_per_message_and_writes_in_bursts(
        broker: RunningBroker) -> None:
    """COUNT messages received and accepted: about one task step each (the one schedule
    point of ``accept``), the writer woken per burst, not per message, and the stream
    written a few times per credit window, not once per disposition."""
    q = fill(broker, COUNT)
    steps = _Steps()
    seen: dict[str, Any] = {}

    async def main() -> None:
        conn, stream = await _connect(broker)
        async with conn, conn.open_session() as session:
            receiver = await session.open_receiver(q, credit=500)
            first = await receiver.receive(timeout=10)  # the link is up, messages flowing
            await receiver.accept(first)
            writes = stream.writes
            trio.lowlevel.add_instrument(steps)
            for _ in range(COUNT - 1):
                await receiver.accept(await receiver.receive(timeout=10))
            trio.lowlevel.remove_instrument(steps)
            seen["writes"] = stream.writes - writes
            seen["bodies"] = len(receiver._buffer)
            await receiver.close()

    trio.run(main)
    assert seen["bodies"] == 0
    # One step per message for the loop's task, the reader's per read and the writer's
    # per burst. Settling with a write each took three steps per message (the loop's,
    # the writer's, and the writer's wait again), and one write per disposition.
    assert steps.steps < 1.25 * COUNT, (steps.steps, steps.writer)
    assert steps.writer < COUNT // 10, steps.writer
    assert seen["writes"] < COUNT // 10, seen["writes"]


@pytest.mark.parametrize("count", [1, 150])
@pytest.mark.parametrize("how", ["sleep", "another wait"])
def test_settlements_reach_the_peer_without_another_call(broker: RunningBroker, how: str,
                                                         count: int) -> None:
    """Accepts left in the core for their burst still go out when the application makes
    no further call of ours (it sleeps, or waits on something else): the connection is
    then dropped without a close, and the broker, had a disposition stayed with us,
    would have kept that message for the next consumer. One accept alone, too."""
    q = fill(broker, count + 1)

    async def main() -> None:
        conn, stream = await _connect(broker)
        async with conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(q, credit=count)
            for _ in range(count):
                await receiver.accept(await receiver.receive(timeout=10))
            if how == "sleep":
                await trio.sleep(0.3)
            else:
                other = trio.Event()  # a wait that is not ours, ended by a plain timer
                with trio.move_on_after(0.3):
                    await other.wait()
            await stream.inner.aclose()  # the connection is lost: no detach, no close

    trio.run(main)
    with amqp10_sync.open_connection(broker.url, timeout=5) as conn:
        receiver = conn.open_session().open_receiver(q, credit=10)
        left = receiver.receive(timeout=5).body
    assert left == b"m%d" % count  # the accepted ones are never delivered again
