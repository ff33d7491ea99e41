"""rcv-settle-mode second (2.8.3) on trio: the checks of tests/sync/test_sync_settle_second.py."""

from __future__ import annotations

import time
import uuid

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message, ReceiverSettleMode, Released
from amqp10_proto.errors import ConnectionClosedError, SessionEndedError
from tests.serverpeer import ServerPeer

from .conftest import start


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
        return first.delivery.id, second.delivery.id

    with server:
        first_id, second_id = trio.run(main)
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
            # The link and connection stay usable after the timeout (and a cancel scope).
            assert not receiver.detached and not conn.closed
            with trio.move_on_after(0.1) as scope:
                await msg.accept(timeout=30)
            assert scope.cancelled_caught
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.1)
            assert not conn.closed
            # A wait for settlement ends with ConnectionClosedError when the peer dies.
            errors: list[BaseException] = []

            async def wait() -> None:
                try:
                    await msg.accept(timeout=30)
                except Exception as exc:
                    errors.append(exc)

            with trio.fail_after(5):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(wait)
                    await trio.sleep(0.2)
                    await trio.to_thread.run_sync(server.kill)
            assert len(errors) == 1 and isinstance(errors[0], ConnectionClosedError), errors

    with server:
        trio.run(main)
    # Each accept said "accepted, not settled" (2.8.3); nothing was settled.
    assert {(type(st), settled) for _, st, settled in server.dispositions} == \
        {(Accepted, False)}
    assert server.settled_at == {}


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker"])
def test_a_peer_that_answers_first_makes_accept_return_at_once(name: str) -> None:
    # Both brokers answer an attach asking for mode second with mode first (2.8.3).
    peer = start(name)
    q = f"amqp10-trio-second-{uuid.uuid4().hex[:8]}"

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

    trio.run(main)


def test_rabbitmq_refuses_mode_second_with_a_clear_error() -> None:
    # RabbitMQ 3.10 ends the session with amqp:not-implemented (its quirk 4).
    peer = start("rabbitmq")

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn:
            session = await conn.open_session()
            with pytest.raises(SessionEndedError) as info:
                await session.open_receiver(f"amqp10-trio-second-{uuid.uuid4().hex[:8]}",
                                            rcv_settle_mode="second")
            assert info.value.condition == "amqp:not-implemented"
            assert not conn.closed

    trio.run(main)
