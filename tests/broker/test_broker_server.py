"""The embedded broker as a server: SASL, TLS, limits, heartbeats, back pressure, shutdown.

Driven through the blocking adapter and, where a client must misbehave on
purpose (never read, never send, ignore a limit), through the bare protocol core
over a socket (``tests.interop.wire.Wire``).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import amqp10_sync as amqp
from amqp10_cli import Broker, RunningBroker, start_broker
from amqp10_cli._broker_links import Outgoing
from amqp10_proto import (
    Accepted,
    Connection,
    ConnectionClosed,
    LinkDetached,
    Message,
    MessageReceived,
    ReceiverSettleMode,
    SaslAnonymous,
    SenderSettleMode,
)
from amqp10_proto import errors as amqp_errors
from tests.interop.wire import Wire


def wire(port: int, rcvbuf: int | None = None, **options: object) -> Wire:
    """A bare core on a socket, opened; ``rcvbuf`` shrinks the socket's receive buffer."""
    options.setdefault("sasl", SaslAnonymous())
    w = Wire.__new__(Wire)  # Wire's pump, on a socket made here
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(0.05)
    w.sock = sock
    w.conn = Connection(**options)  # type: ignore[arg-type]
    w.events = []
    w.conn.open()
    w.run_until(lambda: w.conn.opened or w.conn.ended)
    return w


# -- SASL ------------------------------------------------------------------------------------------

def test_plain_accepts_known_users_and_refuses_others(broker: RunningBroker) -> None:
    port = broker.port
    with amqp.open_connection(f"amqp://guest:guest@127.0.0.1:{port}", timeout=10) as conn:
        conn.open_session().close()
    for creds in ("guest:wrong", "nobody:guest"):
        with pytest.raises(amqp_errors.AuthenticationError) as info:
            amqp.open_connection(f"amqp://{creds}@127.0.0.1:{port}", timeout=10)
        assert info.value.condition == "amqp:unauthorized-access"


def test_users_without_allow_anonymous_turn_anonymous_off() -> None:
    with start_broker(users={"u": "p"}) as running:
        assert running.broker.mechanisms == ["PLAIN"]
        with pytest.raises(amqp_errors.AuthenticationError):
            amqp.open_connection(running.url, timeout=10)  # ANONYMOUS
        with pytest.raises((amqp_errors.ConnectionClosedError, amqp_errors.ProtocolError)):
            amqp.open_connection(running.url, timeout=10, sasl=None)  # no SASL layer at all
        with amqp.open_connection(f"amqp://u:p@127.0.0.1:{running.port}", timeout=10) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            assert isinstance(sender.send(Message(b"x")), Accepted)


def test_a_client_without_sasl_is_anonymous(broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10, sasl=None) as conn, \
            conn.open_session() as s:
        with s.open_sender(q) as sender:
            sender.send(Message(b"no sasl"))
        assert s.open_receiver(q, credit=1).receive(timeout=5).body == b"no sasl"


def test_nobody_could_log_in_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="nobody could log in"):
        Broker(allow_anonymous=False)


# -- TLS -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A certificate authority made here, and a server certificate for localhost it signed."""
    d = tmp_path_factory.mktemp("ca")
    files = {k: d / f"{k}.pem" for k in ("ca_key", "ca", "key", "csr", "cert")}
    ext = d / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                   "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(files["ca_key"]),
            "-out", str(files["ca"]), "-days", "1", "-subj", "/CN=amqp10 test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(files["key"]),
            "-out", str(files["csr"]), "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", str(files["csr"]), "-CA", str(files["ca"]), "-CAkey",
            str(files["ca_key"]), "-CAcreateserial", "-out", str(files["cert"]), "-days", "1",
            "-extfile", str(ext))
    return files


@pytest.fixture(scope="module")
def tls_broker(ca: dict[str, Path]) -> Iterator[RunningBroker]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(ca["cert"]), str(ca["key"]))
    with start_broker(ssl_context=ctx, users={"guest": "guest"}) as running:
        yield running


def test_amqps_with_a_certificate_from_a_test_ca(tls_broker: RunningBroker,
                                                 ca: dict[str, Path], q: str) -> None:
    assert tls_broker.url.startswith("amqps://127.0.0.1:")
    client = ssl.create_default_context(cafile=str(ca["ca"]))
    big = bytes(range(256)) * 4096  # 1 MiB: many TLS records each way
    url = f"amqps://guest:guest@localhost:{tls_broker.port}"
    with amqp.open_connection(url, ssl_context=client, timeout=20) as conn, \
            conn.open_session() as s:
        with s.open_sender(q) as sender:
            sender.send(Message(big))
        msg = s.open_receiver(q, credit=1).receive(timeout=10)
        assert msg.body == big
        msg.accept()


def test_amqps_refuses_an_unknown_ca(tls_broker: RunningBroker) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        amqp.open_connection(f"amqps://guest:guest@localhost:{tls_broker.port}", timeout=10)


# -- limits ------------------------------------------------------------------------------------------

def test_max_message_size_is_advertised_and_enforced(q: str) -> None:
    with start_broker(max_message_size=1000) as running:
        with amqp.open_connection(running.url, timeout=10) as conn, conn.open_session() as s:
            sender = s.open_sender(q)
            assert sender._core.remote_max_message_size == 1000
            assert isinstance(sender.send(Message(b"x" * 900)), Accepted)
            with pytest.raises(Exception, match="max-message-size"):
                sender.send(Message(b"x" * 2000), timeout=5)
        # A client that ignores the limit loses its link, with the reason.
        w = wire(running.port)
        try:
            session = w.conn.begin_session()
            snd = session.attach_sender(q)
            w.run_until(lambda: snd.sendable)
            assert snd.remote_attach is not None
            snd.remote_attach.max_message_size = None  # pretend we never saw it
            snd.send(Message(b"y" * 5000))
            w.run_until(lambda: bool(w.take(LinkDetached)), timeout=5)
            assert snd.remote_error is not None
            assert snd.remote_error.condition == "amqp:link:message-size-exceeded"
        finally:
            w.close()


def test_a_message_too_big_for_a_consumer_detaches_it_and_stays(broker: RunningBroker,
                                                                q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        with s.open_sender(q) as sender:
            sender.send(Message(b"z" * 1000))
        with pytest.raises(amqp_errors.LinkDetachedError) as info:  # as it attaches, or just after
            s.open_receiver(q, credit=5, max_message_size=100).receive(timeout=5)
        assert info.value.condition == "amqp:link:message-size-exceeded"
        assert "max-message-size 100" in (info.value.description or "")
        big = s.open_receiver(q, credit=5)
        assert big.receive(timeout=5).body == b"z" * 1000


def test_messages_are_split_to_the_clients_max_frame_size(broker: RunningBroker, q: str) -> None:
    body = bytes(range(256)) * 400  # 100 KiB: 200 frames of 512 bytes each way
    with amqp.open_connection(broker.url, timeout=10, max_frame_size=512) as conn, \
            conn.open_session() as s:
        with s.open_sender(q) as sender:
            sender.send(Message(body))
        msg = s.open_receiver(q, credit=1).receive(timeout=10)
        assert msg.body == body
        msg.accept()


def test_a_client_speaking_another_protocol_gets_our_header_and_is_closed(
        broker: RunningBroker) -> None:
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while chunk := sock.recv(100):
            reply += chunk
        assert reply[:4] == b"AMQP"  # 2.2: our header tells it what we speak; then EOF


# -- time: idle timeout, heartbeats, the handshake -----------------------------------------------

def test_idle_timeout_closes_a_silent_client() -> None:
    with start_broker(idle_timeout=0.4) as running:
        w = wire(running.port)
        try:
            assert w.conn.remote_idle_timeout == 0.4  # advertised in our open (2.4.5)
            w.conn.tick = lambda now: None  # type: ignore[method-assign]  # never a heartbeat
            t0 = time.monotonic()
            w.run_until(lambda: w.conn.ended, timeout=5)
            assert 0.35 <= time.monotonic() - t0 < 3
            (closed,) = w.take(ConnectionClosed)
            assert closed.error.condition == "amqp:resource-limit-exceeded"
        finally:
            w.sock.close()


def test_heartbeats_keep_a_strict_client_connected(broker: RunningBroker, q: str) -> None:
    # The client closes if nothing arrives for 0.4 s: the broker's empty frames prevent it.
    with amqp.open_connection(broker.url, timeout=10, idle_timeout=0.4) as conn:
        time.sleep(1.3)
        assert not conn.closed
        with conn.open_session() as s, s.open_sender(q) as sender:
            sender.send(Message(b"still here"))


def test_a_client_that_never_opens_is_dropped() -> None:
    with start_broker(handshake_timeout=0.3) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
        t0 = time.monotonic()
        assert sock.recv(100) == b""  # closed by the broker, nothing said
        assert 0.25 <= time.monotonic() - t0 < 3


# -- back pressure ----------------------------------------------------------------------------------

def test_a_client_that_stops_reading_stops_getting_messages(q: str) -> None:
    with start_broker() as running:
        slow = wire(running.port, rcvbuf=32 * 1024)
        try:
            session = slow.conn.begin_session()
            receiver = session.attach_receiver(q, credit=200)
            slow.run_until(lambda: receiver.attached)
            # The slow client now reads nothing while 60 x 256 KiB arrive for it.
            payload = bytes(range(256)) * 1024
            with amqp.open_connection(running.url, timeout=30) as conn, \
                    conn.open_session() as s, s.open_sender(q) as sender:
                for i in range(60):
                    sender.send(Message(payload + i.to_bytes(2, "big")))
            time.sleep(0.3)
            (server_side,) = [c for c in running.broker.connections
                              if any(isinstance(link, Outgoing) for link in c.links)]
            queue = running.broker.router.queues[q]
            assert server_side.paused
            assert server_side._transport is not None
            assert server_side._transport.get_write_buffer_size() < 2 * len(payload) + 65536
            assert len(queue) >= 20, "the broker kept writing to a client that does not read"
            # Reading again: everything arrives, in order.
            slow.run_until(lambda: len([e for e in slow.events
                                        if isinstance(e, MessageReceived)]) >= 60, timeout=30)
            got = [e.message.body for e in slow.take(MessageReceived)]
            assert [b[-2:] for b in got] == [i.to_bytes(2, "big") for i in range(60)]
        finally:
            slow.close()


# -- settle modes on publishing links -----------------------------------------------------------------

def test_publisher_in_rcv_settle_mode_second(broker: RunningBroker, q: str) -> None:
    w = wire(broker.port)
    try:
        session = w.conn.begin_session()
        snd = session.attach_sender(q, snd_settle_mode=SenderSettleMode.UNSETTLED,
                                    rcv_settle_mode=ReceiverSettleMode.SECOND, auto_settle=False)
        w.run_until(lambda: snd.sendable)
        assert snd.receiver_settle_mode is ReceiverSettleMode.SECOND
        d = snd.send(Message(b"second"))
        w.run_until(lambda: d.remote_state is not None)
        # 2.6.12: the broker's outcome comes unsettled; it settles after we do.
        assert isinstance(d.remote_state, Accepted) and not d.remote_settled
        snd.settle(d)
        rcv = session.attach_receiver(q, credit=1)
        w.run_until(lambda: bool([e for e in w.events if isinstance(e, MessageReceived)]))
        (mr,) = w.take(MessageReceived)
        assert mr.message.body == b"second"
        rcv.accept(mr.delivery)
    finally:
        w.close()


# -- shutdown --------------------------------------------------------------------------------------

def test_stop_closes_every_client_and_frees_the_port(q: str) -> None:
    running = start_broker()
    port = running.port
    conn = amqp.open_connection(running.url, timeout=10, reconnect=False)
    receiver = conn.open_session().open_receiver(q, credit=1)
    w = wire(port)
    t0 = time.monotonic()
    running.stop(timeout=5)
    assert time.monotonic() - t0 < 3 and not running.running
    with pytest.raises(amqp_errors.ConnectionClosedError) as info:
        receiver.receive(timeout=5)
    assert info.value.condition == "amqp:connection:forced"
    w.run_until(lambda: w.conn.ended, timeout=5)
    (closed,) = w.take(ConnectionClosed)
    assert closed.error.condition == "amqp:connection:forced"
    w.sock.close()
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with start_broker(port=port) as again:  # the port is free for a new broker
        assert again.port == port
