"""python-qpid-proton as the other client: what it sends we receive exactly, and back,
through each adapter.

Both go through the rhea broker (which forwards messages byte for byte), so what
arrives was encoded by the other library: proton's encoder read by our decoder,
and ours read by proton's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import proton
import pytest
import trio
from proton.utils import BlockingConnection

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_proto import Header, Message, Properties, Symbol, UInt, ULong

from .peers import start

ADAPTERS = ["sync", "asyncio", "trio"]


def receive_with(adapter: str, url: str, address: str, n: int) -> list[Any]:
    """``n`` messages from ``address`` through one adapter, each accepted."""
    if adapter == "sync":
        with amqp10_sync.open_connection(url, timeout=10) as conn:
            receiver = conn.open_session().open_receiver(address, credit=10)
            got = [receiver.receive(timeout=10) for _ in range(n)]
            for m in got:
                m.accept()
            return got

    async def body(amqp: Any) -> list[Any]:
        async with amqp.open_connection(url, timeout=10) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(address, credit=10)
            got = [await receiver.receive(timeout=10) for _ in range(n)]
            for m in got:
                await m.accept()
            return got

    if adapter == "asyncio":
        return asyncio.run(body(amqp10_asyncio))
    result: list[Any] = trio.run(body, amqp10_trio)
    return result


def send_with(adapter: str, url: str, address: str, messages: list[Message]) -> None:
    """Send ``messages`` to ``address`` through one adapter, each accepted."""
    if adapter == "sync":
        with amqp10_sync.open_connection(url, timeout=10) as conn:
            sender = conn.open_session().open_sender(address)
            for m in messages:
                sender.send(m, timeout=10)
        return

    async def body(amqp: Any) -> None:
        async with amqp.open_connection(url, timeout=10) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(address)
            for m in messages:
                await sender.send(m, timeout=10)

    if adapter == "asyncio":
        asyncio.run(body(amqp10_asyncio))
    else:
        trio.run(body, amqp10_trio)

T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 250000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_what_proton_sends_we_receive_exactly(adapter: str) -> None:
    peer = start("rhea-broker")
    address = f"from-proton-{uuid.uuid4().hex[:8]}"
    pconn = BlockingConnection(f"amqp://127.0.0.1:{peer.port}", timeout=10)
    try:
        psender = pconn.create_sender(address)
        pm = proton.Message(
            body="hello from proton", id=proton.ulong(42), correlation_id=b"corr",
            subject="greeting", content_type="text/plain", durable=True, priority=7,
            ttl=30.5, properties={"n": proton.int32(-3), "s": proton.symbol("sym"),
                                  "u": proton.uint(9), "f": 0.5, "when": proton.timestamp(1000)},
            annotations={proton.symbol("x-opt-a"): proton.ubyte(1)},
        )
        psender.send(pm)
        psender.send(proton.Message(body=b"raw bytes"))
    finally:
        pconn.close()
    first, second = receive_with(adapter, f"amqp://127.0.0.1:{peer.port}", address, 2)
    assert first.body == "hello from proton" and first.message.body_type == "value"
    assert first.properties.message_id == 42 and type(first.properties.message_id) is ULong
    assert first.properties.correlation_id == b"corr"
    assert first.properties.subject == "greeting"
    assert first.properties.content_type == "text/plain"
    assert first.header is not None and first.header.durable and first.header.priority == 7
    assert first.header.ttl == 30500
    ap = first.application_properties
    assert ap is not None
    assert ap["n"] == -3 and type(ap["s"]) is Symbol and type(ap["u"]) is UInt
    assert ap["f"] == 0.5 and ap["when"] == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc)
    assert first.message_annotations == {Symbol("x-opt-a"): 1}
    # proton sends a bytes body as an amqp-value of binary unless told inferred=True
    assert second.body == b"raw bytes" and second.message.body_type == "value"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_what_we_send_proton_receives_exactly(adapter: str) -> None:
    peer = start("rhea-broker")
    address = f"to-proton-{uuid.uuid4().hex[:8]}"
    send_with(adapter, f"amqp://127.0.0.1:{peer.port}", address, [
        Message(b"\x00\x01 bytes", header=Header(durable=True, priority=2, ttl=5000),
                properties=Properties(message_id=uuid.UUID(int=7), subject="s", to=address,
                                      reply_to="replies", creation_time=T0, group_id="g"),
                application_properties={"i": 5, "b": False, "s": "text", "u": UInt(3)},
                message_annotations={"x-opt-k": "v"}),
        Message({"a": [1, 2, 3]}),
    ])
    pconn = BlockingConnection(f"amqp://127.0.0.1:{peer.port}", timeout=10)
    try:
        preceiver = pconn.create_receiver(address)
        first = preceiver.receive(timeout=10)
        preceiver.accept()
        second = preceiver.receive(timeout=10)
        preceiver.accept()
    finally:
        pconn.close()
    assert bytes(first.body) == b"\x00\x01 bytes"
    assert first.durable and first.priority == 2 and first.ttl == 5.0
    assert first.id == uuid.UUID(int=7) and first.subject == "s" and first.reply_to == "replies"
    assert first.creation_time == T0.timestamp() and first.group_id == "g"
    assert first.properties == {"i": 5, "b": False, "s": "text", "u": 3}
    assert isinstance(first.properties["u"], proton.uint)
    assert first.annotations[proton.symbol("x-opt-k")] == "v"
    assert second.body == {"a": [1, 2, 3]}
