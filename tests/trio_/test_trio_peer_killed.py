"""A broker killed mid-transfer on trio (as tests/sync/test_sync_peer_killed.py): every
pending send fails with ConnectionClosedError in time, nothing hangs. The broker is our own
(tests/interop/ownpeers.py) on a port of this test's own: only that process is killed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from tests.interop.ownpeers import OwnPeer

PORT = 35812


@pytest.fixture
def doomed_broker() -> Iterator[OwnPeer]:
    with OwnPeer("proton-broker", PORT) as broker:
        yield broker


def test_pending_sends_fail_with_connection_closed_when_the_broker_dies(
        doomed_broker: OwnPeer) -> None:
    big = b"x" * (4 << 20)  # 4 MiB each: still in flight when the broker goes
    outcomes: list[BaseException | None] = []

    async def main() -> None:
        with trio.fail_after(60):  # a hang fails the test instead of blocking the suite
            await transfer()

    async def transfer() -> None:
        async with amqp.open_connection(doomed_broker.url, timeout=10,
                                        reconnect=False) as conn:
            sender = await (await conn.open_session()).open_sender("doomed")
            await sender.send(Message(b"warm-up"), timeout=10)

            async def send_one() -> None:
                try:
                    await sender.send(Message(big), timeout=15)
                    result: BaseException | None = None
                except Exception as exc:  # recorded and checked below
                    result = exc
                outcomes.append(result)

            async with trio.open_nursery() as nursery:
                for _ in range(6):
                    nursery.start_soon(send_one)
                await trio.sleep(0.05)
                doomed_broker.kill()
                t0 = time.monotonic()
            # The nursery exits only once every send has returned or raised.
            assert time.monotonic() - t0 < 16, "the sends took too long to fail"
            assert len(outcomes) == 6
            assert conn.closed
            with pytest.raises(ConnectionClosedError):
                await sender.send(Message(b"after"), timeout=5)
            t0 = time.monotonic()
        # Leaving the connection's block (its nursery and tasks) is quick after the loss.
        assert time.monotonic() - t0 < 3

    trio.run(main)
    failures = [o for o in outcomes if o is not None]
    assert failures, "the broker died, yet every 4 MiB send was settled"
    assert all(isinstance(o, ConnectionClosedError) for o in failures), failures
