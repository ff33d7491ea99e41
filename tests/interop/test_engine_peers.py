"""The protocol core against real AMQP 1.0 peers whose engines we did not write.

Qpid Proton's C broker, RabbitMQ 3.10 (AMQP 1.0 plugin), a broker on
python-qpid-proton and one on rhea (JavaScript), each over a plain loopback
socket with a minimal blocking pump. What is checked: SASL, open, sessions,
links, multi-frame messages larger than the peer's max-frame-size, every
section round-tripped through the broker, settlement, drain where the peer
supports it, and a clean close.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from amqp10_proto import (
    Accepted,
    ConnectionClosed,
    DrainCompleted,
    Header,
    Message,
    MessageReceived,
    Properties,
    SaslAnonymous,
    SaslPlain,
    SenderSettleMode,
    Source,
    Symbol,
    UInt,
    ULong,
)

from .peers import Peer, start
from .wire import Wire

T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)


def connect(peer: Peer, **options: object) -> Wire:
    options.setdefault("sasl", SaslAnonymous())
    w = Wire(peer.port, container_id=f"amqp10-interop-{uuid.uuid4()}", hostname="localhost",
             idle_timeout=30.0, **options)
    w.run_until(lambda: w.conn.opened or w.conn.ended)
    assert w.conn.opened, w.events
    return w


def rich_message(i: int, body: bytes) -> Message:
    return Message(
        body,
        header=Header(durable=False, priority=5),
        message_annotations={"x-opt-seq": ULong(i), "x-opt-tag": "t"},
        properties=Properties(message_id=f"id-{i}", correlation_id=uuid.UUID(int=i),
                              subject="s", content_type="application/octet-stream",
                              creation_time=T0, group_id="g", group_sequence=i),
        application_properties={"i": i, "f": 0.25, "b": True, "u": UInt(7), "s": "text",
                                "sym": Symbol("x"), "when": T0},
    )


def test_send_and_receive_through_the_peer(peer: Peer) -> None:
    w = connect(peer)
    try:
        session = w.conn.begin_session()
        address = f"amqp10-interop-{uuid.uuid4().hex[:8]}"
        sender = session.attach_sender(address, snd_settle_mode=SenderSettleMode.UNSETTLED)
        receiver = session.attach_receiver(address, credit=50, name=f"{address}-r")
        w.run_until(lambda: sender.attached and receiver.attached and sender.credit > 0)
        big = bytes(range(256)) * 1200  # 300 KiB: many frames at every peer's max-frame-size
        bodies = [big if i == 3 else f"message {i}".encode() for i in range(12)]
        sent = []
        for i, body in enumerate(bodies):
            w.run_until(lambda: sender.sendable)
            sent.append(sender.send(rich_message(i, body)))
        w.run_until(lambda: all(d.remote_settled or d.remote_state is not None for d in sent))
        assert all(isinstance(d.remote_state, Accepted) for d in sent)
        w.run_until(lambda: len([e for e in w.events if isinstance(e, MessageReceived)]) >= 12)
        got = w.take(MessageReceived)
        assert [e.message.body for e in got] == bodies
        for i, e in enumerate(got):
            m = e.message
            assert m.properties.message_id == f"id-{i}"
            assert m.properties.correlation_id == uuid.UUID(int=i)
            assert m.properties.creation_time == T0 and m.properties.group_sequence == i
            assert m.application_properties == {"i": i, "f": 0.25, "b": True, "u": 7,
                                                "s": "text", "sym": "x", "when": T0}
            assert type(m.application_properties["u"]) is UInt
            assert type(m.application_properties["sym"]) is Symbol
            assert m.message_annotations[Symbol("x-opt-seq")] == i
            if not e.delivery.remote_settled:
                receiver.accept(e.delivery)
        w.run_until(lambda: not receiver.unsettled)
        if peer.drain:
            receiver.drain()
            w.run_until(lambda: bool(w.take(DrainCompleted)))
            assert receiver.credit == 0
    finally:
        w.close()
    closed = [e for e in w.events if isinstance(e, ConnectionClosed)]
    assert closed and closed[-1].error is None


@pytest.mark.parametrize("name", ["rabbitmq", "rhea-broker", "amqp10-broker"])
def test_sasl_plain_success_and_failure(name: str) -> None:
    peer = start(name)
    assert peer.plain is not None
    w = connect(peer, sasl=SaslPlain(*peer.plain))
    w.close()
    bad = Wire(peer.port, sasl=SaslPlain(peer.plain[0], "wrong-password"))
    bad.run_until(lambda: bad.conn.ended)
    (closed,) = bad.take(ConnectionClosed)
    assert closed.error is not None and closed.error.condition == "amqp:unauthorized-access"
    bad.sock.close()


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker", "amqp10-broker"])
def test_dynamic_receiver(name: str) -> None:
    peer = start(name)
    w = connect(peer)
    try:
        session = w.conn.begin_session()
        receiver = session.attach_receiver(None, dynamic=True, credit=1)
        w.run_until(lambda: receiver.attached)
        source = receiver.remote_source
        assert isinstance(source, Source)
        address = source.address
        assert isinstance(address, str) and address
        sender = session.attach_sender(address)
        w.run_until(lambda: sender.sendable)
        sender.send(Message(b"to the dynamic node"))
        w.run_until(lambda: bool([e for e in w.events if isinstance(e, MessageReceived)]))
        (mr,) = w.take(MessageReceived)
        assert mr.message.body == b"to the dynamic node"
    finally:
        w.close()


def test_the_selectors_example_runs_against_a_real_broker() -> None:
    import runpy

    peer = start("proton-broker")
    example = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" /
                                 "selectors_client.py"))
    bodies = example["run"]("127.0.0.1", peer.port, f"selectors-{uuid.uuid4().hex[:6]}", 25,
                            timeout=20.0)
    assert bodies == [f"message {i}".encode() for i in range(25)]
