"""amqp10_sync against the real AMQP 1.0 peers (Qpid C broker, RabbitMQ 3.10, proton, rhea)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest

import amqp10_sync as amqp
from amqp10_proto import (
    Accepted,
    AmqpSequence,
    AmqpValue,
    Error,
    Header,
    Message,
    Properties,
    Source,
    Symbol,
    Target,
    UInt,
    ULong,
)
from amqp10_proto.errors import (
    AuthenticationError,
    LinkDetachedError,
    SessionEndedError,
)
from tests.interop.peers import Peer

from .conftest import start

T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)


def url(peer: Peer, creds: str = "") -> str:
    return f"amqp://{creds}127.0.0.1:{peer.port}/"


def address(tag: str) -> str:
    return f"amqp10-sync-{tag}-{uuid.uuid4().hex[:8]}"


def rich_message(i: int, body: object) -> Message:
    m = Message(
        header=Header(durable=False, priority=5),
        message_annotations={"x-opt-seq": ULong(i), "x-opt-tag": "t"},
        properties=Properties(message_id=f"id-{i}", correlation_id=uuid.UUID(int=i),
                              subject="s", content_type="application/octet-stream",
                              creation_time=T0, group_id="g", group_sequence=i),
        application_properties={"i": i, "f": 0.25, "b": True, "u": UInt(7), "s": "text",
                                "sym": Symbol("x"), "when": T0},
    )
    m.body = body
    return m


def no_io_threads() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name.startswith("amqp10-io")]:
            return True
        time.sleep(0.02)
    return False


def test_round_trip_every_section_and_body_kind(peer: Peer) -> None:
    q = address("rt")
    bodies: list[object] = [b"bytes body", AmqpValue({"k": [1, "two", Symbol("s")]}),
                            AmqpSequence([1, 2, 3]), bytes(range(256)) * 1200, b""]
    with amqp.open_connection(url(peer), timeout=20) as conn:
        assert conn.remote_container_id
        with conn.open_session() as session:
            with session.open_sender(q) as sender:
                target = sender.remote_target
                assert isinstance(target, Target) and target.address == q
                for i, body in enumerate(bodies):
                    assert isinstance(sender.send(rich_message(i, body)), Accepted)
            with session.open_receiver(q, credit=10) as receiver:
                source = receiver.remote_source
                assert isinstance(source, Source) and source.address == q
                for i, body in enumerate(bodies):
                    msg = receiver.receive(timeout=10)
                    expected = rich_message(i, body)
                    assert msg.body == expected.body
                    assert msg.message.body_type == expected.body_type
                    p = msg.properties
                    assert p is not None
                    assert p.message_id == f"id-{i}" and p.correlation_id == uuid.UUID(int=i)
                    assert p.creation_time == T0 and p.group_sequence == i and p.subject == "s"
                    ap, ma = msg.application_properties, msg.message_annotations
                    assert ap is not None and ma is not None
                    assert ap == expected.application_properties
                    assert type(ap["u"]) is UInt and type(ap["sym"]) is Symbol
                    assert ma[Symbol("x-opt-seq")] == i
                    assert type(ma[Symbol("x-opt-seq")]) is ULong
                    assert msg.header is not None and msg.header.priority == 5
                    msg.accept()
                assert receiver.receive_batch(5, timeout=0.3) == []
    assert conn.closed and conn.error is None
    assert no_io_threads()


def test_1000_pipelined_sends_from_4_threads(peer: Peer) -> None:
    q = address("many")
    failures: list[BaseException] = []
    with amqp.open_connection(url(peer), timeout=30) as conn, conn.open_session() as session:
        sender = session.open_sender(q)

        def work(t: int) -> None:
            try:
                for i in range(250):
                    sender.send(Message(f"{t}-{i}".encode()))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not failures
        receiver = session.open_receiver(q, credit=100)
        got: list[bytes] = []
        while len(got) < 1000:
            batch = receiver.receive_batch(100, timeout=10)
            assert batch, f"only {len(got)} received"
            for m in batch:
                got.append(m.body)
                m.accept()
        assert sorted(got) == sorted(f"{t}-{i}".encode() for t in range(4) for i in range(250))
        assert receiver.receive_batch(1, timeout=0.3) == []
        assert len(receiver._buffer) <= 100


def test_settled_mode_and_presettled_receiver(peer: Peer) -> None:
    q = address("settled")
    with amqp.open_connection(url(peer)) as conn, conn.open_session() as session:
        with session.open_sender(q, settle_mode="settled") as sender:
            for i in range(20):
                assert sender.send(Message(f"s{i}".encode())) is None
        with session.open_receiver(q, credit=5, settle_mode="settled") as receiver:
            got = [receiver.receive(timeout=10) for _ in range(20)]
            assert [m.body for m in got] == [f"s{i}".encode() for i in range(20)]
            assert all(m.settled for m in got)
            got[0].accept()  # a no-op on a pre-settled delivery


def test_reject_release_modify(peer: Peer) -> None:
    q = address("outcomes")
    with amqp.open_connection(url(peer)) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        for body in (b"reject me", b"release me", b"modify me"):
            sender.send(Message(body))
        receiver = session.open_receiver(q, credit=1)
        seen: dict[bytes, int] = {}
        # Credit is refilled as we take each message, so a requeued message may come
        # back after the next one: act on each by its body and count the deliveries.
        while seen.get(b"release me", 0) < 2 or seen.get(b"modify me", 0) < 2:
            m = receiver.receive(timeout=10)
            n = seen[m.body] = seen.get(m.body, 0) + 1
            if peer.presettles_deliveries:
                # The Qpid broker settles before we decide: our outcome changes nothing.
                assert m.settled
                m.release()
                if len(seen) == 3:
                    break
                continue
            if m.body == b"reject me":
                assert n == 1, "a rejected message came back"
                m.reject(Error(condition="amqp:internal-error", description="test"))
            elif n > 1:
                m.accept()
            elif m.body == b"release me":
                m.release()
            elif peer.modified:
                m.modify(delivery_failed=True)
            else:
                # RabbitMQ 3.10 lacks the modified outcome: it ends the session.
                m.modify()
                with pytest.raises(SessionEndedError) as info:
                    while True:
                        receiver.receive(timeout=10).accept()
                assert info.value.condition == "amqp:invalid-field"
                assert session.ended and receiver.detached and not conn.closed
                return
        assert seen[b"reject me"] == 1
        if not peer.presettles_deliveries:
            with pytest.raises(TimeoutError):
                receiver.receive(timeout=0.3)


def test_rabbitmq_refused_sender_raises_session_ended() -> None:
    # RabbitMQ 3.10 answers a sender to a missing exchange by ending the session.
    peer = start("rabbitmq")
    with amqp.open_connection(url(peer)) as conn:
        session = conn.open_session()
        with pytest.raises(SessionEndedError) as info:
            session.open_sender("/exchange/no-such-exchange/key")
        assert info.value.condition == "amqp:not-found"
        assert session.ended and session.error is not None


@pytest.mark.parametrize("name", ["rabbitmq", "rhea-broker", "amqp10-broker"])
def test_sasl_plain_success_and_failure(name: str) -> None:
    peer = start(name)
    assert peer.plain is not None
    user, password = peer.plain
    with amqp.open_connection(url(peer, f"{user}:{password}@")) as conn:
        conn.open_session().close()
    with pytest.raises(AuthenticationError) as info:
        amqp.open_connection(url(peer, f"{user}:wrong%40pw@"))
    assert info.value.condition == "amqp:unauthorized-access"
    assert no_io_threads()


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker", "amqp10-broker"])
def test_dynamic_receiver(name: str) -> None:
    peer = start(name)
    with amqp.open_connection(url(peer)) as conn, conn.open_session() as session:
        receiver = session.open_receiver(None, dynamic=True, credit=1)
        assert isinstance(receiver.address, str) and receiver.address
        with session.open_sender(receiver.address) as sender:
            sender.send(Message(b"to the dynamic node"))
        assert receiver.receive(timeout=10).body == b"to the dynamic node"
        receiver.close()
        assert receiver.detached


def test_receive_timeout_raises_timeout_error(peer: Peer) -> None:
    with amqp.open_connection(url(peer)) as conn, conn.open_session() as session:
        receiver = session.open_receiver(address("empty"), credit=3)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            receiver.receive(timeout=0.3)
        assert 0.25 <= time.monotonic() - t0 < 3
        # The receiver stays usable after a timeout.
        with pytest.raises(TimeoutError):
            receiver.receive(timeout=0.05)


def test_refused_link_raises_with_the_peer_error() -> None:
    # RabbitMQ 3.10 ends the session for a link error (quirk 1); others detach.
    peer = start("rabbitmq")
    with amqp.open_connection(url(peer)) as conn:
        session = conn.open_session()
        with pytest.raises((SessionEndedError, LinkDetachedError)) as info:
            session.open_receiver("/amq/queue/does-not-exist-" + uuid.uuid4().hex[:6])
        assert info.value.condition == "amqp:not-found"
        # A new session works.
        with conn.open_session() as s2, s2.open_sender(address("after")) as sender:
            sender.send(Message(b"x"))


def test_10_mib_message_both_ways(peer: Peer) -> None:
    q = address("big")
    big = bytes(range(256)) * 40960
    with amqp.open_connection(url(peer), timeout=60) as conn, conn.open_session() as session:
        with session.open_sender(q) as sender:
            sender.send(Message(big))
        with session.open_receiver(q, credit=2) as receiver:
            msg = receiver.receive(timeout=60)
            assert msg.body == big
            msg.accept()
