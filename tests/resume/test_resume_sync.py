"""The blocking adapter resumes durable links after a lost transport (2.6.13, issue 9).

A sender and a receiver whose termini are durable (unsettled-state, expiry never) and
whose links settle in rcv-settle-mode second are resumed, not merely attached again:
what the receiver held unsettled is settled through the new link, and what the sender
had in doubt is settled with the outcome the broker had given, or sent again only if the
broker never got it. The embedded broker keeps the links' state; the fault proxy breaks
the TCP connection; every message is counted. Each story fails with plain re-attach
(SettlementLost on a held message, or the broker seeing a message twice).
"""

from __future__ import annotations

import threading
import time

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker
from amqp10_proto import Accepted, Message

from ..faultproxy import FaultProxy
from ..resilience.test_reconnect_sync import numbered, queue
from .conftest import DURABLE

FAST = amqp.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)


def back_again(conn: amqp.Connection, reconnects: int) -> None:
    end = time.monotonic() + 10  # a hang guard
    while conn.reconnects < reconnects or conn.state != "open":
        assert time.monotonic() < end, f"not reconnected: {conn.state}, {conn.reconnects}"
        time.sleep(0.005)


def drain(receiver: amqp.Receiver) -> list[bytes]:
    """Everything the queue still has for ``receiver``, accepted."""
    got: list[bytes] = []
    while True:
        try:
            msg = receiver.receive(timeout=0.5)
        except TimeoutError:
            return got
        got.append(msg.body)
        msg.accept()


def test_messages_held_at_the_drop_are_settled_through_the_resumed_link(
        proxy: FaultProxy) -> None:
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        session = conn.open_session()
        sender = session.open_sender(q, **DURABLE)
        receiver = session.open_receiver(q, credit=10, **DURABLE)
        for i in range(10):
            sender.send(numbered(i))
        handed_out = [receiver.receive(timeout=5) for _ in range(6)]
        deadline = time.monotonic() + 5
        while receiver.buffered < 4:  # the rest arrived, not handed out yet
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proxy.cut()
        back_again(conn, 1)
        # The four not handed out are still there, and all ten settle (no SettlementLost).
        rest = [receiver.receive(timeout=5) for _ in range(4)]
        for msg in handed_out + rest:
            msg.accept(timeout=5)
        assert [m.body for m in handed_out + rest] == [b"m%d" % i for i in range(10)]
        sender.send(Message(b"marker"))
        # Nothing comes back: the broker saw every outcome once.
        assert drain(receiver) == [b"marker"]


def test_outcomes_lost_on_the_way_back_are_settled_not_resent(proxy: FaultProxy,
                                                              broker: RunningBroker) -> None:
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        sender = conn.open_session().open_sender(q, **DURABLE)
        sender.send(Message(b"before"))
        proxy.drop_to_client()  # our transfers arrive; the broker's outcomes do not
        handles = [sender.send_nowait(numbered(i)) for i in range(10)]
        time.sleep(0.3)
        proxy.cut()
        outcomes = [sender.wait_settled(h, timeout=10) for h in handles]
        assert all(isinstance(o, Accepted) for o in outcomes)
        back_again(conn, 1)  # (the outcomes come with the link's resumption, just before)
        assert sender.resent == 0
    with amqp.open_connection(broker.url, timeout=10) as direct:
        got = drain(direct.open_session().open_receiver(q, credit=50))
    assert got == [b"before"] + [b"m%d" % i for i in range(10)]


def test_messages_settled_during_the_outage_are_settled_once_it_is_over(
        proxy: FaultProxy) -> None:
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        session = conn.open_session()
        sender = session.open_sender(q, **DURABLE)
        receiver = session.open_receiver(q, credit=5, **DURABLE)
        for i in range(5):
            sender.send(numbered(i))
        held = [receiver.receive(timeout=5) for _ in range(5)]
        proxy.refuse_new(True)
        proxy.cut()
        deadline = time.monotonic() + 5
        while conn.state != "reconnecting":
            assert time.monotonic() < deadline
            time.sleep(0.005)
        errors: list[BaseException] = []

        def settle(msg: amqp.ReceivedMessage, how: str) -> None:
            try:
                getattr(msg, how)(timeout=10)
            except BaseException as exc:
                errors.append(exc)

        hows = ["accept", "accept", "release", "accept", "reject"]
        threads = [threading.Thread(target=settle, args=(m, how)) for m, how in zip(held, hows)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        # rcv-settle-mode second: each waits for the broker's settlement, after the outage.
        assert all(t.is_alive() for t in threads) and conn.state == "reconnecting"
        proxy.refuse_new(False)
        for t in threads:
            t.join(10)
        assert not errors and not any(t.is_alive() for t in threads)
        sender.send(Message(b"marker"))
        # The released one comes again (its outcome said so); the rest were settled once.
        assert drain(receiver) == [b"m2", b"marker"]


@pytest.mark.parametrize("faults", [("cut", "reset", "cut_mid_frame")], ids=["cut-reset-mid"])
def test_streaming_through_faults_neither_loses_nor_duplicates(
        proxy: FaultProxy, faults: tuple[str, ...]) -> None:
    """Deliveries in flight both ways at each fault: afterwards every message was
    received exactly once and every send returned Accepted."""
    n = 300
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30) as conn:
        session = conn.open_session()
        sender = session.open_sender(q, **DURABLE)
        receiver = session.open_receiver(q, credit=20, **DURABLE)
        outcomes: list[object] = []

        def produce() -> None:
            handles = [sender.send_nowait(numbered(i), timeout=30) for i in range(n)]
            outcomes.extend(sender.wait_settled(h, timeout=30) for h in handles)

        producer = threading.Thread(target=produce)
        producer.start()
        at = {n * (k + 1) // (len(faults) + 1): f for k, f in enumerate(faults)}
        got: list[bytes] = []
        while len(got) < n:
            msg = receiver.receive(timeout=30)
            msg.accept(timeout=30)
            got.append(msg.body)
            if (fault := at.pop(len(got), None)) is not None:
                getattr(proxy, fault)()  # (cut_mid_frame waits for the next chunk to us)
        producer.join(30)
        assert not producer.is_alive()
        assert len(outcomes) == n and all(isinstance(o, Accepted) for o in outcomes)
        assert sorted(got) == sorted(b"m%d" % i for i in range(n))  # none lost, none twice
        assert conn.reconnects == len(faults)
        assert drain(receiver) == []


def test_a_blackholed_link_is_resumed_while_the_broker_still_holds_it(
        proxy: FaultProxy) -> None:
    """No FIN: our idle timeout (2.4.5) finds the silence long before the broker would,
    so the broker still holds the old attachment when we attach again; it hands its
    unsettled state over (link stealing) and the held messages settle once."""
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10, idle_timeout=0.5) as conn:
        session = conn.open_session()
        sender = session.open_sender(q, **DURABLE)
        receiver = session.open_receiver(q, credit=10, **DURABLE)
        for i in range(10):
            sender.send(numbered(i))
        held = [receiver.receive(timeout=5) for _ in range(10)]
        proxy.blackhole()
        back_again(conn, 1)
        for msg in held:
            msg.accept(timeout=5)
        sender.send(Message(b"marker"))
        assert drain(receiver) == [b"marker"]
