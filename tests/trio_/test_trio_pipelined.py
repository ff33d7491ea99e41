"""10 000 pipelined messages through each real peer: none lost, none duplicated (issue 4)."""

from __future__ import annotations

import uuid

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message
from tests.interop.peers import Peer

from .conftest import start

N = 10_000
TASKS = 10


@pytest.mark.parametrize("name", ["qpid-broker", "rabbitmq", "proton-broker", "rhea-broker"])
def test_10000_pipelined_messages_no_loss_no_duplicate(name: str) -> None:
    peer: Peer = start(name)
    q = f"amqp10-trio-10k-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        with trio.fail_after(180):
            await transfer()

    async def transfer() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", timeout=60) as conn, \
                conn.open_session() as session:
            async with session.open_sender(q) as sender:

                async def work(t: int) -> None:
                    # The bulk path from many tasks at once: all sent, then all awaited.
                    deliveries = [await sender.send_nowait(Message(b"%d" % i))
                                  for i in range(t, N, TASKS)]
                    for d in deliveries:
                        assert isinstance(await sender.wait_settled(d), Accepted)

                async with trio.open_nursery() as nursery:
                    for t in range(TASKS):
                        nursery.start_soon(work, t)
            async with session.open_receiver(q, credit=500) as receiver:
                got: list[int] = []
                async for m in receiver:
                    got.append(int(m.body))
                    await m.accept()
                    assert receiver.buffered <= 500
                    if len(got) == N:
                        break
                assert len(got) == N and set(got) == set(range(N)), "lost or duplicated messages"
                assert await receiver.receive_batch(10, timeout=0.3) == []

    trio.run(main)
