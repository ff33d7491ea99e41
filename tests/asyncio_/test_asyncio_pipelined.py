"""10 000 pipelined messages through each real peer: none lost, none duplicated (issue 4)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import Accepted, Message
from tests.interop.peers import Peer

from .conftest import start
from .helpers import no_other_tasks, run

N = 10_000
TASKS = 10


@pytest.mark.parametrize("name", ["qpid-broker", "rabbitmq", "proton-broker", "rhea-broker"])
def test_10000_pipelined_messages_no_loss_no_duplicate(name: str) -> None:
    peer: Peer = start(name)
    q = f"amqp10-asyncio-10k-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", timeout=60) as conn, \
                conn.open_session() as session:
            sender = await session.open_sender(q)

            async def work(t: int) -> None:
                # The bulk path from many tasks at once: all sent, then all awaited.
                deliveries = [await sender.send_nowait(Message(b"%d" % i))
                              for i in range(t, N, TASKS)]
                for d in deliveries:
                    assert isinstance(await sender.wait_settled(d), Accepted)

            await asyncio.gather(*(work(t) for t in range(TASKS)))
            receiver = await session.open_receiver(q, credit=500)
            got: list[int] = []
            while len(got) < N:
                batch = await receiver.receive_batch(500, timeout=15)
                assert batch, f"only {len(got)} of {N} received"
                assert receiver.buffered <= 500
                for m in batch:
                    got.append(int(m.body))
                    await m.accept()
            assert len(got) == N and set(got) == set(range(N)), "lost or duplicated messages"
            assert await receiver.receive_batch(10, timeout=0.3) == []
        assert await no_other_tasks()

    run(main())
