"""Manual credit and drain (2.6.7) on trio: the checks of tests/sync/test_sync_credit.py."""

from __future__ import annotations

import time
import uuid

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message
from amqp10_proto.errors import SessionEndedError
from tests.interop.peers import RABBITMQ_OWN_PORT, start_own

from .conftest import start


def bodies(msgs: list[amqp.ReceivedMessage]) -> list[bytes]:
    return [m.body for m in msgs]


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker"])
def test_manual_credit_gives_exactly_what_was_granted_and_drain_zeroes_it(name: str) -> None:
    peer = start(name)
    q = f"amqp10-trio-credit-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn, \
                conn.open_session() as session:
            sender = await session.open_sender(q)
            for i in range(10):
                await sender.send(Message(b"m%d" % i))
            receiver = await session.open_receiver(q, credit=0)
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.3)  # no credit: nothing comes
            assert receiver.credit == 0 and receiver.buffered == 0

            receiver.add_credit(3)
            got = [await receiver.receive(timeout=10) for _ in range(3)]
            assert bodies(got) == [b"m0", b"m1", b"m2"]
            assert await receiver.receive_batch(10, timeout=0.3) == []  # exactly three
            assert receiver.credit == 0
            for m in got:
                await m.accept()

            receiver.add_credit(4)
            got = await receiver.receive_batch(4, timeout=10)
            while len(got) < 4:
                got += await receiver.receive_batch(4 - len(got), timeout=10)
            assert bodies(got) == [b"m3", b"m4", b"m5", b"m6"]
            for m in got:
                await m.accept()

            # Drain with more credit than messages: the peer sends the three it has and
            # gives the rest back (2.6.7); nothing else arrives afterwards.
            receiver.add_credit(5)
            await receiver.drain(timeout=10)
            assert receiver.credit == 0
            got = await receiver.receive_batch(10, timeout=0.3)
            assert bodies(got) == [b"m7", b"m8", b"m9"]
            for m in got:
                await m.accept()

            # Drain when the peer has nothing: it returns at once, credit zero.
            receiver.add_credit(5)
            t0 = time.monotonic()
            await receiver.drain(timeout=10)
            assert time.monotonic() - t0 < 2
            assert receiver.credit == 0 and receiver.buffered == 0

            # The peer agrees the credit is gone: a new message waits for new credit.
            await sender.send(Message(b"late"))
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.3)
            receiver.add_credit(1)
            late = await receiver.receive(timeout=10)
            assert late.body == b"late"
            await late.accept()
            await receiver.close()

    trio.run(main)


def test_a_drain_rabbitmq_cannot_do_ends_in_a_clear_error_within_its_timeout() -> None:
    # RabbitMQ 3.10 does not do drain (its quirk 7): on an empty classic queue its
    # channel crashes and it ends the session with amqp:internal-error. The drain
    # must end with that error, not hang.
    peer = start_own("rabbitmq", RABBITMQ_OWN_PORT)  # the crash stays off the shared node
    q = f"amqp10-trio-credit-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(q, credit=0)
            receiver.add_credit(2)
            t0 = time.monotonic()
            with pytest.raises(SessionEndedError) as info:
                await receiver.drain(timeout=5)
            assert time.monotonic() - t0 < 6
            assert info.value.condition == "amqp:internal-error"
            assert session.ended and receiver.detached and not conn.closed
            async with conn.open_session() as s2:
                async with s2.open_sender(q) as sender:
                    await sender.send(Message(b"after the drain"))
                async with s2.open_receiver(q, credit=1) as again:
                    msg = await again.receive(timeout=10)
                    assert msg.body == b"after the drain"
                    await msg.accept()

    trio.run(main)
