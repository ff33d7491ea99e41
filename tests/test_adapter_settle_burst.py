"""Settlements in a burst go out together, and by themselves: after the last accept the
application makes no further call, and the peer still learns of every outcome.

The check: the connection is then dropped without a close. Had a disposition not
been written, the embedded broker would requeue that message for the next consumer.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

import amqp10_asyncio
import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message

COUNT = 150  # more than one burst (sync writes at once after 64)


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


def nothing_left(broker: RunningBroker, q: str) -> bool:
    with amqp10_sync.open_connection(broker.url, timeout=5) as conn:
        receiver = conn.open_session().open_receiver(q, credit=10)
        try:
            receiver.receive(timeout=0.5)
        except TimeoutError:
            return True
        return False


def test_sync_accepts_reach_the_peer_without_another_call(broker: RunningBroker) -> None:
    q = f"burst-{uuid.uuid4().hex[:8]}"
    conn = amqp10_sync.open_connection(broker.url, timeout=5)
    session = conn.open_session()
    with session.open_sender(q) as sender:
        for h in [sender.send_nowait(Message(b"m%d" % i)) for i in range(COUNT)]:
            sender.wait_settled(h)
    receiver = session.open_receiver(q, credit=COUNT)
    for _ in range(COUNT):
        receiver.receive(timeout=5).accept()
    time.sleep(0.3)  # no call: the I/O thread writes what the accepts left
    conn._sock.shutdown(socket.SHUT_RDWR)  # the connection is lost: no detach, no close
    conn.close(timeout=1)
    assert nothing_left(broker, q)


def test_asyncio_accepts_reach_the_peer_without_another_call(broker: RunningBroker) -> None:
    q = f"burst-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        conn = await amqp10_asyncio.open_connection(broker.url, timeout=5)
        session = await conn.open_session()
        sender = await session.open_sender(q)
        for h in [await sender.send_nowait(Message(b"m%d" % i)) for i in range(COUNT)]:
            await sender.wait_settled(h)
        receiver = await session.open_receiver(q, credit=COUNT)
        for _ in range(COUNT):
            await (await receiver.receive(timeout=5)).accept()
        await asyncio.sleep(0.3)  # no call on the connection: the loop writes them
        assert conn._transport is not None
        conn._transport.abort()  # the connection is lost: no detach, no close
        await conn.close(timeout=1)

    asyncio.run(main())
    assert nothing_left(broker, q)
