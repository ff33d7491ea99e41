"""The blocking adapter survives lost transports (issue 9): cut, reset, blackhole, a
broker restart; what it resends, what it reports, and when it gives up.

The embedded broker sits behind tests/faultproxy.py, which breaks the TCP connection
the way a network or a dying node does; every count is made by the test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message, Properties
from amqp10_proto.errors import ConnectionClosedError, SettlementLost

from ..faultproxy import FaultProxy

FAST = amqp.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


@pytest.fixture
def proxy(broker: RunningBroker) -> Iterator[FaultProxy]:
    with FaultProxy(broker.port) as p:
        yield p


def queue() -> str:
    return f"resilience-{uuid.uuid4().hex[:8]}"


def numbered(i: int) -> Message:
    return Message(b"m%d" % i, properties=Properties(message_id=f"m{i}"))


#: The faults a stream rides out twice. "delay" (2 s of latency) is found only by our
#: idle timeout (2.4.5: twice the 0.5 s of idle_timeout(fault) without a frame).
MID_STREAM_FAULTS = ["cut", "reset", "cut_mid_frame", "half_close", "delay"]


def idle_timeout(fault: str) -> float:
    """The idle timeout a stream through ``fault`` is opened with."""
    return 0.5 if fault == "delay" else 60.0


def apply_fault(proxy: FaultProxy, fault: str) -> None:
    """Break ``proxy``'s open connections by one of MID_STREAM_FAULTS."""
    if fault == "delay":
        proxy.delay(2.0)
    else:
        getattr(proxy, fault)()


def wait_for(pred: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


@pytest.mark.parametrize("fault", MID_STREAM_FAULTS)
def test_a_broken_transport_mid_stream_loses_no_accepted_message(
        proxy: FaultProxy, fault: str) -> None:
    """Two faults while a sender and a receiver stream 300 messages: every message whose
    send returned Accepted arrives; duplicates only among those in doubt at a fault."""
    n = 300
    q = queue()
    accepted: list[int] = []
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30,
                              idle_timeout=idle_timeout(fault)) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        receiver = session.open_receiver(q, credit=20)

        def produce() -> None:
            for i in range(n):
                sender.send(numbered(i), timeout=30)
                accepted.append(i)

        producer = threading.Thread(target=produce)
        producer.start()
        got: list[str] = []
        faults = {60: fault, 180: fault}
        lost_settlements = 0
        while len(set(got)) < n:
            msg = receiver.receive(timeout=30)
            try:
                msg.accept()
            except SettlementLost:
                lost_settlements += 1  # the broker delivers it again
            assert msg.properties is not None
            got.append(str(msg.properties.message_id))
            if (what := faults.pop(len(got), None)) is not None:
                apply_fault(proxy, what)
        producer.join(30)
        assert not producer.is_alive()
        assert accepted == list(range(n))
        assert set(got) == {f"m{i}" for i in range(n)}
        assert conn.reconnects == 2 and conn.state == "open"
        duplicates = len(got) - len(set(got))
        # Each duplicate was in doubt at a fault: unsettled at the receiver, or resent.
        assert duplicates <= 2 * 20 + sender.resent + lost_settlements
    assert proxy.stats().accepted == 3


def test_calls_made_during_the_outage_wait_and_then_proceed(proxy: FaultProxy) -> None:
    q = queue()
    seen: list[tuple[str, amqp.ReconnectInfo]] = []
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.1,
                            on_disconnect=lambda i: seen.append(("down", i)),
                            on_reconnect=lambda i: seen.append(("up", i)))
    with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        receiver = session.open_receiver(q, credit=10)
        proxy.refuse_new(True)
        proxy.cut()
        wait_for(lambda: conn.state == "reconnecting")
        result: list[object] = []
        send = threading.Thread(target=lambda: result.append(
            sender.send(Message(b"during"), timeout=20)))
        send.start()
        time.sleep(0.5)
        assert conn.state == "reconnecting" and not result and not conn.closed
        proxy.refuse_new(False)
        send.join(20)
        assert result and type(result[0]).__name__ == "Accepted"
        assert receiver.receive(timeout=10).body == b"during"
        assert str(conn.state) == "open" and conn.reconnects == 1
        assert [kind for kind, _ in seen] == ["down", "up"]
        down, up = seen[0][1], seen[1][1]
        assert down.url == proxy.url and down.cause is not None
        assert up.attempts >= 2 and up.downtime >= 0.5  # refused at least once


def test_a_blackholed_transport_is_found_by_the_idle_timeout_and_replaced() -> None:
    """Nothing closes: we find the silence (2.4.5) and reconnect. The broker finds it too
    (its own idle timeout) and gives back what it had sent the dead consumer."""
    q = queue()
    with start_broker(allow_anonymous=True, idle_timeout=1) as broker, \
            FaultProxy(broker.port) as proxy, \
            amqp.open_connection(proxy.url, reconnect=FAST, idle_timeout=0.5,
                                 timeout=20) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        receiver = session.open_receiver(q, credit=10)
        sender.send(Message(b"before"))
        receiver.receive(timeout=10).accept()
        proxy.blackhole()
        t0 = time.monotonic()
        sender.send(Message(b"after"), timeout=20)  # waits out the silence, then resends
        assert time.monotonic() - t0 >= 0.5
        assert conn.reconnects == 1
        # Our accept of "before" went into the hole: the broker gives it back too.
        bodies = [receiver.receive(timeout=10).body]
        while bodies[-1] != b"after":
            bodies.append(receiver.receive(timeout=10).body)
        assert bodies in ([b"after"], [b"before", b"after"])


def test_an_unsettled_message_from_the_lost_link_cannot_be_settled_and_comes_back(
        proxy: FaultProxy) -> None:
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
        session = conn.open_session()
        session.open_sender(q).send(Message(b"once"))
        receiver = session.open_receiver(q, credit=10)
        first = receiver.receive(timeout=10)
        proxy.cut()
        wait_for(lambda: conn.reconnects == 1)
        with pytest.raises(SettlementLost, match="deliver it again"):
            first.accept()
        again = receiver.receive(timeout=10)
        assert again.body == b"once"
        again.accept()


def test_a_dynamic_receiver_gets_a_new_node_whose_address_it_shows(proxy: FaultProxy) -> None:
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
        session = conn.open_session()
        receiver = session.open_receiver(None, dynamic=True)
        before = receiver.address
        assert before
        proxy.cut()
        wait_for(lambda: conn.reconnects == 1)
        after = receiver.address
        assert after and after != before
        session.open_sender(after).send(Message(b"to the new node"))
        assert receiver.receive(timeout=10).body == b"to the new node"


def test_the_policy_gives_up_and_every_wait_fails_with_the_last_cause(
        proxy: FaultProxy) -> None:
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=3)
    conn = amqp.open_connection(proxy.url, reconnect=policy, timeout=20)
    try:
        receiver = conn.open_session().open_receiver(queue(), credit=5)
        proxy.refuse_new(True)
        proxy.cut()
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError, match=r"not recovered after 3 attempt\(s\)") as info:
            receiver.receive(timeout=20)
        assert time.monotonic() - t0 < 10  # a hang guard: 3 quick tries
        assert "refused" in str(info.value).lower()
        assert conn.state == "closed" and conn.closed
        conn.io_thread.join(5)
        assert not conn.io_thread.is_alive()
    finally:
        conn.close(timeout=2)


def test_a_broker_restart_on_the_same_port_brings_the_links_back() -> None:
    q = queue()
    with start_broker(allow_anonymous=True) as first:
        port = first.port
        conn = amqp.open_connection(first.url, reconnect=FAST, timeout=20)
        session = conn.open_session()
        sender = session.open_sender(q)
        receiver = session.open_receiver(q, credit=10)
        sender.send(Message(b"one"))
        receiver.receive(timeout=10).accept()
    try:
        wait_for(lambda: conn.state == "reconnecting")
        with start_broker(port=port, allow_anonymous=True):
            sender.send(Message(b"two"), timeout=20)
            assert receiver.receive(timeout=10).body == b"two"
            assert conn.reconnects == 1
    finally:
        conn.close(timeout=2)


def test_closing_while_reconnecting_ends_it_at_once(proxy: FaultProxy) -> None:
    conn = amqp.open_connection(proxy.url, reconnect=amqp.Reconnect(initial_delay=5,
                                                                    max_delay=5), timeout=20)
    receiver = conn.open_session().open_receiver(queue(), credit=5)
    proxy.refuse_new(True)
    proxy.cut()
    wait_for(lambda: conn.state == "reconnecting")
    t0 = time.monotonic()
    conn.close(timeout=5)
    assert time.monotonic() - t0 < 2
    assert conn.state == "closed"
    conn.io_thread.join(5)
    assert not conn.io_thread.is_alive()
    with pytest.raises(ConnectionClosedError):
        receiver.receive(timeout=1)


def test_a_failover_list_is_tried_in_order_at_first(broker: RunningBroker) -> None:
    with FaultProxy(broker.port) as dead, FaultProxy(broker.port) as live:
        dead.refuse_new(True)
        with amqp.open_connection([dead.url, live.url], timeout=10) as conn:
            assert conn.url == live.url
            conn.open_session().open_sender(queue()).send(Message(b"x"))
        with pytest.raises(OSError):
            amqp.open_connection([dead.url, dead.url], connect_timeout=2)


@pytest.mark.parametrize("later", [False, True], ids=["answering-open", "later"])
def test_a_redirect_is_followed_to_the_host_and_port_it_names(
        broker: RunningBroker, later: bool) -> None:
    """A peer that closes with amqp:connection:redirect (2.8.15) naming the broker, in
    answer to our open (the first connect follows it) or a while later (a reconnect)."""
    import socket

    from amqp10_proto import Connection as Core
    from amqp10_proto import ConnectionOpened, Error, Symbol

    listener = socket.create_server(("127.0.0.1", 0))
    redirect = Error(condition=Symbol("amqp:connection:redirect"), description="moved",
                     info={Symbol("network-host"): "127.0.0.1", Symbol("port"): broker.port})

    def redirecting_peer() -> None:
        sock, _ = listener.accept()
        core = Core(role="server", container_id="redirector")
        core.open()
        with sock:
            sock.settimeout(0.3 if later else 10)
            while not core.ended:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    core.close(redirect)  # a while after the open
                    data = b"x"
                else:
                    core.receive_data(data)
                while (event := core.next_event()) is not None:
                    if isinstance(event, ConnectionOpened) and not later:
                        core.close(redirect)
                sock.sendall(core.data_to_send())
                if not data:
                    break

    server = threading.Thread(target=redirecting_peer)
    server.start()
    try:
        with amqp.open_connection(f"amqp://127.0.0.1:{listener.getsockname()[1]}", sasl=None,
                                  reconnect=FAST, timeout=10) as conn:
            if later:
                wait_for(lambda: conn.reconnects == 1)
            assert conn.url == broker.url and conn.reconnects == int(later)
            q = queue()
            session = conn.open_session()
            session.open_sender(q).send(Message(b"at the new address"))
            assert session.open_receiver(q).receive(timeout=10).body == b"at the new address"
    finally:
        server.join(5)
        listener.close()


def test_manual_credit_and_drain_during_the_outage_carry_over(proxy: FaultProxy) -> None:
    q = queue()
    with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        session = conn.open_session()
        receiver = session.open_receiver(q, credit=0)
        receiver.add_credit(5)
        proxy.refuse_new(True)
        proxy.cut()
        wait_for(lambda: conn.state == "reconnecting")
        receiver.drain(timeout=1)  # no link to drain: the credit is given up at once
        receiver.add_credit(2)  # granted on the new link
        proxy.refuse_new(False)
        wait_for(lambda: conn.state == "open")
        assert receiver.credit == 2
        sender = session.open_sender(q)
        for body in (b"a", b"b", b"c"):
            sender.send(Message(body))
        assert [m.body for m in receiver.receive_batch(3, timeout=1)] == [b"a", b"b"]
        assert conn.resent == 0 and sender.resent == 0


def test_sends_in_doubt_when_the_policy_gives_up_are_reported_not_dropped_silently(
        proxy: FaultProxy, caplog: pytest.LogCaptureFixture) -> None:
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=2)
    conn = amqp.open_connection(proxy.url, reconnect=policy, idle_timeout=0.5, timeout=10)
    try:
        sender = conn.open_session().open_sender(queue())
        sender.send(Message(b"before"))
        proxy.refuse_new(True)
        proxy.blackhole()
        handle = sender.send_nowait(Message(b"into the hole"))  # its outcome never comes
        wait_for(lambda: conn.state == "closed")
        with pytest.raises(ConnectionClosedError, match="not recovered"):
            sender.wait_settled(handle, timeout=5)
        assert "1 message(s) whose outcome was in doubt were not sent again" in caplog.text
    finally:
        conn.close(timeout=2)
