"""A broker killed mid-transfer on asyncio (as tests/sync/test_sync_peer_killed.py): every
pending send fails with ConnectionClosedError in time, nothing hangs. The broker is our own
(tests/interop/ownpeers.py) on a port of this test's own: only that process is killed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from tests.interop.ownpeers import OwnPeer

from .helpers import no_other_tasks, run

PORT = 35811


@pytest.fixture
def doomed_broker() -> Iterator[OwnPeer]:
    with OwnPeer("proton-broker", PORT) as broker:
        yield broker


def test_pending_sends_fail_with_connection_closed_when_the_broker_dies(
        doomed_broker: OwnPeer) -> None:
    big = b"x" * (4 << 20)  # 4 MiB each: still in flight when the broker goes

    async def main() -> None:
        conn = await amqp.open_connection(doomed_broker.url, timeout=10, reconnect=False)
        sender = await (await conn.open_session()).open_sender("doomed")
        await sender.send(Message(b"warm-up"), timeout=10)
        sends = [asyncio.create_task(sender.send(Message(big), timeout=15)) for _ in range(6)]
        await asyncio.sleep(0.05)
        doomed_broker.kill()
        t0 = time.monotonic()
        done, pending = await asyncio.wait(sends, timeout=20)
        assert not pending, "a send hung after the broker died"
        assert time.monotonic() - t0 < 16
        outcomes = [t.exception() for t in sends]
        failures = [o for o in outcomes if o is not None]
        assert failures, "the broker died, yet every 4 MiB send was settled"
        assert all(isinstance(o, ConnectionClosedError) for o in failures), failures
        assert conn.closed
        # Nothing new is accepted after the loss, and closing is quick.
        with pytest.raises(ConnectionClosedError):
            await sender.send(Message(b"after"), timeout=5)
        t0 = time.monotonic()
        await conn.close(timeout=2)
        assert time.monotonic() - t0 < 3
        assert await no_other_tasks(), asyncio.all_tasks()

    run(main(), timeout=60)
