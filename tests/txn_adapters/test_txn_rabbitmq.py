"""RabbitMQ 3.10 does not coordinate transactions (it refuses the control link): each
adapter's ``session.transaction()`` says so on entering, with TransactionsNotSupported
naming the peer. RabbitMQ ends the session with the refusal (its link errors end the
session); the connection goes on."""

from __future__ import annotations

import asyncio

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_proto import Message
from amqp10_proto.errors import TransactionError, TransactionsNotSupported

from ..interop.peers import PEERS, Peer, answers_amqp, start

GUARD = 30.0


@pytest.fixture(scope="module")
def rabbitmq() -> Peer:
    # One already answering on its port (another test session's) is used as it is.
    return PEERS["rabbitmq"] if answers_amqp(PEERS["rabbitmq"].port) else start("rabbitmq")


def url(peer: Peer) -> str:
    assert peer.plain is not None
    user, password = peer.plain
    return f"amqp://{user}:{password}@127.0.0.1:{peer.port}"


def check(refusal: TransactionsNotSupported) -> None:
    assert isinstance(refusal, TransactionError)
    assert refusal.condition == "amqp:not-implemented"
    text = str(refusal)
    assert "RabbitMQ" in text and "does not support transactions" in text
    assert "ransactions not supported" in text  # RabbitMQ's own words, in its detach


def test_sync(rabbitmq: Peer) -> None:
    with amqp10_sync.open_connection(url(rabbitmq), timeout=GUARD) as conn:
        session = conn.open_session()
        txn = session.transaction()
        with pytest.raises(TransactionsNotSupported) as caught, txn:
            raise AssertionError("not reached")
        check(caught.value)
        with pytest.raises(TransactionError):
            _ = txn.txn_id
        assert session.ended  # RabbitMQ 3.10 ends the session as it refuses
        conn.open_session().open_sender("/exchange/amq.topic").send(Message(b"after the refusal"))


@pytest.mark.parametrize("name", ["asyncio", "trio"])
def test_async(rabbitmq: Peer, name: str) -> None:
    amqp = amqp10_trio if name == "trio" else amqp10_asyncio

    async def main() -> None:
        async with amqp.open_connection(url(rabbitmq), timeout=GUARD) as conn:
            session = await conn.open_session()
            with pytest.raises(TransactionsNotSupported) as caught:
                async with session.transaction():
                    raise AssertionError("not reached")
            check(caught.value)
            assert session.ended  # RabbitMQ 3.10 ends the session as it refuses
            sender = await (await conn.open_session()).open_sender("/exchange/amq.topic")
            await sender.send(Message(b"after the refusal"))

    if name == "trio":
        trio.run(main)
    else:
        asyncio.run(asyncio.wait_for(main(), GUARD * 2))
