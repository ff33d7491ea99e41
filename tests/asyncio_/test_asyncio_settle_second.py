"""rcv-settle-mode second (2.8.3) on asyncio: the checks of tests/sync/test_sync_settle_second.py."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import Accepted, Message, ReceiverSettleMode, Released
from amqp10_proto.errors import ConnectionClosedError, SessionEndedError
from tests.serverpeer import ServerPeer

from .conftest import start
from .helpers import no_other_tasks, run


def test_accept_and_release_wait_until_the_sender_settles() -> None:
    server = ServerPeer(messages=2, settle_second=0.5)

    async def main() -> tuple[int, int]:
        async with amqp.open_connection(server.url, sasl=None) as conn, \
                conn.open_session() as s:
            receiver = await s.open_receiver("q", credit=10, rcv_settle_mode="second")
            assert receiver._core.rcv_settle_mode is ReceiverSettleMode.SECOND
            first = await receiver.receive(timeout=10)
            second = await receiver.receive(timeout=10)
            for msg, settle in ((first, first.accept), (second, second.release)):
                t0 = time.monotonic()
                await settle(timeout=10)
                returned = time.monotonic()
                assert returned - t0 >= 0.4, "returned before the sender settled"
                assert msg.settled
                assert server.settled_at[msg.delivery.id] <= returned
            assert not conn.closed
        assert await no_other_tasks()
        return first.delivery.id, second.delivery.id

    with server:
        first_id, second_id = run(main())
    states = {d: (type(state), settled) for d, state, settled in server.dispositions}
    # Our outcomes went out unsettled: the sender settles first in mode second.
    assert states == {first_id: (Accepted, False), second_id: (Released, False)}


def test_accept_times_out_when_the_sender_never_settles() -> None:
    server = ServerPeer(messages=1, settle_second=None)

    async def main() -> None:
        async with amqp.open_connection(server.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s:
            receiver = await s.open_receiver("q", credit=10, rcv_settle_mode="second")
            msg = await receiver.receive(timeout=10)
            t0 = time.monotonic()
            with pytest.raises(TimeoutError, match="settle"):
                await msg.accept(timeout=0.5)
            assert 0.45 <= time.monotonic() - t0 < 3
            assert not msg.settled
            # The link and connection stay usable after the timeout (and after a cancel).
            assert not receiver.detached and not conn.closed
            task = asyncio.create_task(msg.accept(timeout=30))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.1)
            assert not conn.closed
            # A wait for settlement ends with ConnectionClosedError when the peer dies.
            waiter = asyncio.create_task(msg.accept(timeout=30))
            await asyncio.sleep(0.2)
            await asyncio.get_running_loop().run_in_executor(None, server.kill)
            with pytest.raises(ConnectionClosedError):
                await asyncio.wait_for(waiter, 5)
        assert await no_other_tasks()

    with server:
        run(main())
    # Each accept said "accepted, not settled" (2.8.3); nothing was settled.
    assert {(type(st), settled) for _, st, settled in server.dispositions} == \
        {(Accepted, False)}
    assert server.settled_at == {}


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker"])
def test_a_peer_that_answers_first_makes_accept_return_at_once(name: str) -> None:
    # Both brokers answer an attach asking for mode second with mode first (2.8.3).
    peer = start(name)
    q = f"amqp10-asyncio-second-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn, \
                conn.open_session() as session:
            async with session.open_sender(q) as sender:
                await sender.send(Message(b"one"))
            receiver = await session.open_receiver(q, credit=5, rcv_settle_mode="second")
            assert receiver._core.rcv_settle_mode is ReceiverSettleMode.FIRST
            msg = await receiver.receive(timeout=10)
            t0 = time.monotonic()
            await msg.accept(timeout=10)
            assert time.monotonic() - t0 < 1 and msg.settled
            await receiver.close()

    run(main())


def test_rabbitmq_refuses_mode_second_with_a_clear_error() -> None:
    # RabbitMQ 3.10 ends the session with amqp:not-implemented (its quirk 4).
    peer = start("rabbitmq")

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn:
            session = await conn.open_session()
            with pytest.raises(SessionEndedError) as info:
                await session.open_receiver(f"amqp10-asyncio-second-{uuid.uuid4().hex[:8]}",
                                            rcv_settle_mode="second")
            assert info.value.condition == "amqp:not-implemented"
            assert not conn.closed

    run(main())
