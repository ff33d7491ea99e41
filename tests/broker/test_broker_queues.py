"""The embedded broker's queue semantics, through real connections (blocking adapter).

Round robin, outcomes (reject drops; release and modify requeue in the original
order), undeliverable-here, drain, dynamic nodes, the anonymous relay, pre-settled
and rcv-settle-mode second consumers, and requeueing what a consumer held when its
link, session or connection ended.
"""

from __future__ import annotations

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker
from amqp10_proto import Accepted, Message, Properties, Source, Symbol, Target
from amqp10_proto.errors import LinkDetachedError, MessageRejected


def bodies(msgs: list[amqp.ReceivedMessage]) -> list[bytes]:
    return [m.body for m in msgs]


def fill(session: amqp.Session, address: str, n: int, prefix: str = "m") -> None:
    with session.open_sender(address) as sender:
        for i in range(n):
            assert isinstance(sender.send(Message(f"{prefix}{i}".encode())), Accepted)


def test_round_robin_across_consumers_with_credit(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        r1 = s.open_receiver(q, credit=10, name="r1")
        r2 = s.open_receiver(q, credit=10, name="r2")
        r3 = s.open_receiver(q, credit=0, name="r3")  # no credit: never chosen
        fill(s, q, 6)
        got1 = [r1.receive(timeout=5) for _ in range(3)]
        got2 = [r2.receive(timeout=5) for _ in range(3)]
        assert bodies(got1) == [b"m0", b"m2", b"m4"]
        assert bodies(got2) == [b"m1", b"m3", b"m5"]
        for m in got1 + got2:
            m.accept()
        with pytest.raises(TimeoutError):
            r3.receive(timeout=0.2)


def test_release_and_modify_requeue_in_the_original_order(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 5)
        r = s.open_receiver(q, credit=0)
        r.add_credit(5)
        m0, m1, m2, m3, m4 = [r.receive(timeout=5) for _ in range(5)]
        assert bodies([m0, m1, m2, m3, m4]) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
        # Given back out of order: they return to their places, oldest first.
        m3.release()
        m1.modify(delivery_failed=True, message_annotations={Symbol("x-opt-why"): "retry"})
        m2.modify(delivery_failed=False)
        m0.accept()
        m4.accept()
        # A new link, whose attach follows the dispositions on the wire (a flow on the old
        # one may overtake dispositions queued in the same write, and credit is honoured).
        r.close()
        r = s.open_receiver(q, credit=10)
        again = [r.receive(timeout=5) for _ in range(3)]
        assert bodies(again) == [b"m1", b"m2", b"m3"]
        # 3.4.5: delivery-failed counts an attempt; without it, or when released, not.
        assert again[0].header is not None and again[0].header.delivery_count == 1
        assert again[0].message_annotations == {Symbol("x-opt-why"): "retry"}
        assert again[1].header is None or again[1].header.delivery_count == 0
        assert again[2].header is None or again[2].header.delivery_count == 0
        again[0].modify(delivery_failed=True)
        twice = r.receive(timeout=5)
        assert twice.body == b"m1"
        assert twice.header is not None and twice.header.delivery_count == 2
        for m in [twice, again[1], again[2]]:
            m.accept()
        with pytest.raises(TimeoutError):
            r.receive(timeout=0.2)


def test_rejected_messages_are_dropped(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 2)
        r = s.open_receiver(q, credit=5)
        first = r.receive(timeout=5)
        first.reject()
        second = r.receive(timeout=5)
        second.accept()
        assert bodies([first, second]) == [b"m0", b"m1"]
        with pytest.raises(TimeoutError):
            r.receive(timeout=0.3)


def test_undeliverable_here_goes_to_another_link(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 1)
        r1 = s.open_receiver(q, credit=5, name="r1")
        m = r1.receive(timeout=5)
        m.modify(delivery_failed=False, undeliverable_here=True)
        with pytest.raises(TimeoutError):
            r1.receive(timeout=0.3)  # 3.4.5: not to this link again, though it has credit
        r2 = s.open_receiver(q, credit=5, name="r2")
        m2 = r2.receive(timeout=5)
        assert m2.body == b"m0"
        m2.accept()


def test_drain_gives_back_unused_credit(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 2)
        r = s.open_receiver(q, credit=0)
        r.drain(timeout=5)  # nothing asked: done at once
        r.add_credit(5)
        got = [r.receive(timeout=5) for _ in range(2)]
        r.drain(timeout=5)  # 2.6.7: nothing left, so the broker zeroes the credit
        assert r.credit == 0 and r._core.delivery_count == 5
        for m in got:
            m.accept()
        fill(s, q, 1, prefix="late")
        with pytest.raises(TimeoutError):
            r.receive(timeout=0.3)  # no credit after the drain
        r.add_credit(1)
        assert r.receive(timeout=5).body == b"late0"


def test_dynamic_receiver_node_lives_as_long_as_its_link(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        r = s.open_receiver(None, dynamic=True, credit=5)
        address = r.address
        assert isinstance(address, str) and address
        assert isinstance(r.remote_source, Source) and r.remote_source.dynamic
        other = s.open_receiver(None, dynamic=True, credit=5)
        assert other.address != address
        sender = s.open_sender(address)
        sender.send(Message(b"reply"))
        assert r.receive(timeout=5).body == b"reply"
        r.close()
        # The node is gone: links on it are detached, and it cannot be found again.
        with pytest.raises(LinkDetachedError) as info:
            sender.send(Message(b"too late"), timeout=5)
        assert info.value.condition == "amqp:resource-deleted"
        with pytest.raises(LinkDetachedError) as info:
            s.open_sender(address)
        assert info.value.condition == "amqp:not-found"


def test_dynamic_sender_gets_a_fresh_node(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        sender = s.open_sender(Target(dynamic=True))
        target = sender.remote_target
        assert isinstance(target, Target)
        address = target.address
        assert isinstance(address, str) and address
        sender.send(Message(b"into the dynamic node"))
        r = s.open_receiver(address, credit=5)
        assert r.receive(timeout=5).body == b"into the dynamic node"


def test_anonymous_relay_routes_by_to(broker: RunningBroker, q: str) -> None:
    assert "ANONYMOUS-RELAY" in _offered(broker)
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        relay = s.open_sender(None)
        for i, to in enumerate([q, q + "-b", q]):
            relay.send(Message(f"r{i}".encode(), properties=Properties(to=to)))
        with pytest.raises(MessageRejected) as info:
            relay.send(Message(b"nowhere"))
        assert info.value.condition == "amqp:not-found"
        assert "properties.to" in (info.value.description or "")
        a = s.open_receiver(q, credit=5)
        b = s.open_receiver(q + "-b", credit=5)
        assert bodies([a.receive(timeout=5), a.receive(timeout=5)]) == [b"r0", b"r2"]
        assert b.receive(timeout=5).body == b"r1"


def _offered(broker: RunningBroker) -> list[str]:
    with amqp.open_connection(broker.url, timeout=10) as conn:
        remote = conn._core.remote_open
        assert remote is not None
        return [str(c) for c in remote.offered_capabilities or []]


def test_presettled_consumer_and_settled_sender(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        with s.open_sender(q, settle_mode="settled") as sender:
            for i in range(3):
                assert sender.send(Message(f"s{i}".encode())) is None
        r = s.open_receiver(q, credit=5, settle_mode="settled")
        got = [r.receive(timeout=5) for _ in range(3)]
        assert bodies(got) == [b"s0", b"s1", b"s2"] and all(m.delivery.settled for m in got)
        r.close()
        # At most once: closing did not give them back.
        r2 = s.open_receiver(q, credit=5)
        with pytest.raises(TimeoutError):
            r2.receive(timeout=0.3)


def test_rcv_settle_mode_second_consumer(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 2)
        r = s.open_receiver(q, credit=5, rcv_settle_mode="second")
        assert r._core.rcv_settle_mode.name == "SECOND"  # the broker kept it (2.8.3)
        first, second = r.receive(timeout=5), r.receive(timeout=5)
        first.accept()  # waits until the broker settled after our outcome
        second.release()
        assert first.delivery.settled and first.delivery.remote_settled
        again = r.receive(timeout=5)
        assert again.body == b"m1"
        again.accept()
        with pytest.raises(TimeoutError):
            r.receive(timeout=0.3)


@pytest.mark.parametrize("how", ["link", "session", "connection"])
def test_unsettled_messages_requeue_in_order_when_the_consumer_ends(
        broker: RunningBroker, q: str, how: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q, 4)
    conn = amqp.open_connection(broker.url, timeout=10)
    s = conn.open_session()
    r = s.open_receiver(q, credit=10)
    got = [r.receive(timeout=5) for _ in range(4)]
    got[1].accept()
    if how == "link":
        r.close()
    elif how == "session":
        s.close()
    conn.close()
    with amqp.open_connection(broker.url, timeout=10) as conn2, conn2.open_session() as s2:
        r2 = s2.open_receiver(q, credit=10)
        back = [r2.receive(timeout=5) for _ in range(3)]
        assert bodies(back) == [b"m0", b"m2", b"m3"]
        for m in back:
            m.accept()
        with pytest.raises(TimeoutError):
            r2.receive(timeout=0.2)


def test_refused_links_say_why(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        with pytest.raises(LinkDetachedError) as info:
            s.open_receiver(None)  # no address and not dynamic
        assert info.value.condition == "amqp:invalid-field"
        with s.open_sender("still-fine") as sender:
            sender.send(Message(b"x"))
