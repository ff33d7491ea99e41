"""Reconnecting against real peers (issue 9), blocking adapter: Qpid Proton's C broker
behind the fault proxy, a restart of that broker on its port, and RabbitMQ refusing a
link (which must not make anyone reconnect).

The Qpid C broker accepts and settles each message as it arrives and delivers to
consumers pre-settled, so the counting is done on the sending side: every message
whose send returned Accepted must be in the queue afterwards (read back over a
connection without faults); duplicates may only come from sends in doubt at a fault.
reconnect_cases tells these stories (and more) for the two async adapters.
"""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

import amqp10_sync as amqp
from amqp10_cli import start_broker
from amqp10_proto import Message, Properties
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    LinkDetachedError,
    SessionEndedError,
)

from ..faultproxy import FaultProxy
from .peers import PEERS_DIR, start, start_own
from .reconnect_cases import FAULTS, QPID_OWN_PORT, check_counts, fast

FAST = fast(amqp)


def drain(url: str, address: str, expect: int, timeout: float = 20) -> list[str]:
    """Every message of ``address``, read over a fresh connection, until ``expect`` distinct
    ones came and the queue stays quiet for 0.5 s."""
    got: list[str] = []
    end = time.monotonic() + timeout
    with amqp.open_connection(url, reconnect=False, timeout=10) as conn, \
            conn.open_session() as session, \
            session.open_receiver(address, credit=50) as receiver:
        while time.monotonic() < end:
            try:
                msg = receiver.receive(timeout=0.5 if len(set(got)) >= expect else 5.0)
            except TimeoutError:
                if len(set(got)) >= expect:
                    break
                continue
            assert msg.properties is not None
            got.append(str(msg.properties.message_id))
            msg.accept()
    return got


@pytest.mark.parametrize("fault", FAULTS)
def test_a_sender_through_faults_loses_nothing_the_qpid_broker_accepted(fault: str) -> None:
    peer = start("qpid-broker")
    address = f"reconnect-{fault}-{uuid.uuid4().hex[:8]}"
    n = 300
    # "delay" (three seconds of latency) and "blackhole" (silence, no FIN): our idle
    # timeout (2.4.5: twice 0.5 s without a frame) gives up on the connection.
    with FaultProxy(peer.port) as proxy, \
            amqp.open_connection(proxy.url, reconnect=FAST, idle_timeout=0.5,
                                 timeout=30) as conn, conn.open_session() as session:
        sender = session.open_sender(address)
        accepted = []
        for i in range(n):
            if i in (60, 180):
                if fault == "delay":
                    proxy.delay(3.0)
                else:
                    getattr(proxy, fault)()
            sender.send(Message(b"x", properties=Properties(message_id=f"m{i}")))
            accepted.append(f"m{i}")
        assert conn.reconnects == 2, conn.reconnects
        resent = sender.resent
    check_counts(drain(f"amqp://127.0.0.1:{peer.port}", address, n), set(accepted), resent)


def test_a_qpid_broker_restarted_on_its_port_gets_the_sender_back() -> None:
    peer = start_own("qpid-broker", QPID_OWN_PORT)
    address = f"restart-{uuid.uuid4().hex[:8]}"
    script = PEERS_DIR / "stop-qpid-broker"
    with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", reconnect=FAST,
                              timeout=30) as conn, conn.open_session() as session:
        sender = session.open_sender(address)
        sender.send(Message(b"before"))
        subprocess.run(["bash", str(script), str(peer.port)], check=True, timeout=60,
                       capture_output=True)
        deadline = time.monotonic() + 10
        while conn.state != "reconnecting":
            assert time.monotonic() < deadline, "the stop was not noticed"
            time.sleep(0.02)
        subprocess.run(["bash", str(PEERS_DIR / "start-qpid-broker"), str(peer.port)],
                       check=True, timeout=120, capture_output=True)
        sender.send(Message(b"after"), timeout=30)
        assert conn.reconnects == 1
    # The restarted broker's queues are new: only "after" is there.
    with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", reconnect=False,
                              timeout=10) as conn, conn.open_session() as session, \
            session.open_receiver(address) as receiver:
        assert receiver.receive(timeout=10).body == b"after"


def test_a_link_the_broker_refuses_is_not_a_reason_to_reconnect() -> None:
    peer = start("rabbitmq")
    with FaultProxy(peer.port) as proxy, \
            amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        session = conn.open_session()
        with pytest.raises((SessionEndedError, LinkDetachedError)) as info:
            session.open_receiver(f"/amq/queue/missing-{uuid.uuid4().hex[:8]}")
        assert info.value.condition == "amqp:not-found"
        time.sleep(0.3)
        assert conn.state == "open" and conn.reconnects == 0
        # The connection is fine: another session works.
        q = f"after-refusal-{uuid.uuid4().hex[:8]}"
        other = conn.open_session()
        other.open_sender(q).send(Message(b"still here"))
        assert other.open_receiver(q).receive(timeout=10).body == b"still here"
        assert proxy.stats().accepted == 1


def test_a_refused_password_fails_at_once() -> None:
    """5.3.3.6: a refused SASL outcome is final: one try, no reconnect loop."""
    peer = start("rhea-broker")
    with FaultProxy(peer.port) as proxy:
        t0 = time.monotonic()
        with pytest.raises(AuthenticationError):
            amqp.open_connection(f"amqp://guest:wrong@127.0.0.1:{proxy.port}", reconnect=FAST,
                                 timeout=10)
        assert time.monotonic() - t0 < 5  # a hang guard; the policy would try for 30 s
        time.sleep(0.3)
        assert proxy.stats().accepted == 1


def test_a_password_refused_on_reconnecting_ends_it_at_once() -> None:
    """The rhea broker goes away; the broker now behind its address (the embedded one)
    refuses the password: reconnecting gives up on that first refusal, and waits fail."""
    peer = start("rhea-broker")
    with start_broker(users={"guest": "changed"}) as other, FaultProxy(peer.port) as proxy:
        with amqp.open_connection(f"amqp://guest:guest@127.0.0.1:{proxy.port}",
                                  reconnect=FAST, timeout=10) as conn:
            receiver = conn.open_session().open_receiver(f"auth-{uuid.uuid4().hex[:8]}")
            proxy.upstream = ("127.0.0.1", other.port)  # read at each accept
            proxy.cut()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError, match="authentication failed"):
                receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 5  # a hang guard; the policy allows 30 s
            assert conn.state == "closed" and conn.reconnects == 0
        time.sleep(0.3)
        assert proxy.stats().accepted == 2  # the first connection and one try
