"""amqp10_sync without a broker: URLs, refusals, dead and hung peers, outcomes, threads."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import amqp10_sync as amqp
from amqp10_proto import (
    Accepted,
    Message,
    Modified,
    Rejected,
    Released,
    SaslPlain,
    SaslServer,
    parse_url,
)
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    LinkDetachedError,
    MessageModified,
    MessageRejected,
    MessageReleased,
)

from .fakepeer import FakePeer


def io_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("amqp10-io")]


def wait_no_io_threads(timeout: float = 5) -> bool:
    end = time.monotonic() + timeout
    while io_threads() and time.monotonic() < end:
        time.sleep(0.02)
    return not io_threads()


@pytest.fixture
def fake() -> Iterator[FakePeer]:
    peer = FakePeer()
    yield peer
    peer.close()


def test_parse_url() -> None:
    u = parse_url("amqps://us%40er:p%3Aw%2Fd@broker.example:1234/vhost")
    assert (u.scheme, u.host, u.port, u.username, u.password, u.tls) == \
        ("amqps", "broker.example", 1234, "us@er", "p:w/d", True)
    assert "p:w/d" not in repr(u)
    assert parse_url("amqp://h").port == 5672 and parse_url("amqps://h").port == 5671
    assert parse_url("amqp://h").username is None
    with pytest.raises(ValueError, match="scheme"):
        parse_url("http://h")


def test_plain_without_tls_to_a_remote_host_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="allow_plain_without_tls"):
        amqp.open_connection("amqp://user:pw@192.0.2.1/")
    with pytest.raises(ValueError, match="allow_plain_without_tls"):
        amqp.open_connection("amqp://192.0.2.1/", sasl=SaslPlain("u", "p"))


def test_connection_refused_raises_oserror() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionRefusedError):
        amqp.open_connection(f"amqp://127.0.0.1:{port}")


def test_open_handshake_timeout_with_a_silent_peer() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            amqp.open_connection(f"amqp://127.0.0.1:{listener.getsockname()[1]}",
                                 connect_timeout=0.5)
        assert time.monotonic() - t0 < 3
        assert wait_no_io_threads()
    finally:
        listener.close()


def test_sender_outcomes_raise(fake: FakePeer) -> None:
    with amqp.open_connection(fake.url, sasl=None) as conn, conn.open_session() as s:
        sender = s.open_sender("q")
        sender.send(Message(b"ok"))
        with pytest.raises(MessageRejected) as rej:
            sender.send(Message(b"reject"))
        assert rej.value.condition == "amqp:precondition-failed"
        assert rej.value.description == "no thanks"
        assert isinstance(rej.value.state, Rejected)
        with pytest.raises(MessageReleased) as rel:
            sender.send(Message(b"release"))
        assert isinstance(rel.value.state, Released)
        with pytest.raises(MessageModified) as mod:
            sender.send(Message(b"modify"))
        assert isinstance(mod.value.state, Modified) and mod.value.state.undeliverable_here
        # A timeout waiting for the outcome leaves the connection usable.
        with pytest.raises(TimeoutError):
            sender.send(Message(b"hold"), timeout=0.2)
        sender.send(Message(b"ok again"))
        # The bulk path: send many, then collect their outcomes.
        deliveries = [sender.send_nowait(Message(f"m{i}".encode())) for i in range(50)]
        assert all(sender.wait_settled(d) is not None for d in deliveries)
    assert fake.received[-1] == b"m49"
    assert wait_no_io_threads()


def test_close_with_a_hung_peer_completes_within_its_timeout(fake: FakePeer) -> None:
    conn = amqp.open_connection(fake.url, sasl=None)
    session = conn.open_session()
    receiver = session.open_receiver("q", credit=5)
    sender = session.open_sender("q2")
    fake.silent = True
    errors: list[BaseException] = []

    def wait_for_message() -> None:
        try:
            receiver.receive(timeout=30)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait_for_message)
    waiter.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    conn.close(timeout=0.5)
    assert time.monotonic() - t0 < 1.5
    waiter.join(2)
    assert not waiter.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionClosedError)
    assert conn.closed
    assert not conn.io_thread.is_alive()
    assert wait_no_io_threads()
    with pytest.raises(ConnectionClosedError):
        sender.send(Message(b"after close"))


def test_lost_connection_fails_every_pending_wait(fake: FakePeer) -> None:
    conn = amqp.open_connection(fake.url, sasl=None, reconnect=False)
    session = conn.open_session()
    receiver = session.open_receiver("q", credit=5)
    sender = session.open_sender("q2")
    errors: list[BaseException] = []

    def run(fn: object) -> threading.Thread:
        def target() -> None:
            try:
                fn()  # type: ignore[operator]
            except BaseException as exc:
                errors.append(exc)
        t = threading.Thread(target=target)
        t.start()
        return t

    threads = [run(lambda: receiver.receive(timeout=30)),
               run(lambda: sender.send(Message(b"hold"), timeout=30))]
    time.sleep(0.2)
    fake.kill()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert len(errors) == 2 and all(isinstance(e, ConnectionClosedError) for e in errors)
    assert conn.closed and conn.error is not None
    assert conn.error.condition == "amqp:connection:forced"
    assert session.ended and receiver.detached
    conn.close(timeout=1)
    assert wait_no_io_threads()


def test_heartbeats_keep_an_idle_connection_open_and_cost_no_cpu() -> None:
    # The server's idle timeout is 0.4 s: we must send a frame at least every 0.2 s.
    fake = FakePeer(idle_timeout=0.4)
    try:
        with amqp.open_connection(fake.url, sasl=None, idle_timeout=None) as conn:
            cpu0 = time.process_time()
            time.sleep(1.5)
            cpu = time.process_time() - cpu0
            assert not conn.closed, conn.error
            # Our side wakes only for heartbeats (the fake peer polls, at 50 ms).
            assert cpu < 0.3, cpu
    finally:
        fake.close()


def test_frame_trace_hides_sasl_secrets(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    fake = FakePeer(sasl=SaslServer(plain=lambda u, pw: pw == "s3cret-pw"))
    try:
        with caplog.at_level(logging.DEBUG, logger="amqp10.trace"), \
                amqp.open_connection(f"amqp://user:s3cret-pw@127.0.0.1:{fake.port}") as conn:
            conn.open_session().close()
    finally:
        fake.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "amqp10.trace"]
    text = "\n".join(lines)
    assert "s3cret" not in text
    for what in ("SaslInit", "Open(", "Begin(", "End(", "Close("):
        assert what in text, what
    assert any("->" in line for line in lines) and any("<-" in line for line in lines)
    assert os.environ["AMQP10_TRACE"] == "1"


def test_bad_password_raises_authentication_error() -> None:
    fake = FakePeer(sasl=SaslServer(plain=lambda u, pw: False))
    try:
        with pytest.raises(AuthenticationError):
            amqp.open_connection(f"amqp://user:nope@127.0.0.1:{fake.port}")
    finally:
        fake.close()
    assert wait_no_io_threads()


def test_connect_takes_a_connected_socket(fake: FakePeer) -> None:
    sock = socket.create_connection(("127.0.0.1", fake.port))
    with amqp.connect(sock, sasl=None) as conn, conn.open_session() as s, \
            s.open_sender("q") as sender:
        sender.send(Message(b"over my socket"))
    assert fake.received == [b"over my socket"]


def test_sends_without_credit_wait_in_order_in_the_queue_and_time_out_unsent() -> None:
    fake = FakePeer(credit=0)
    try:
        with amqp.open_connection(fake.url, sasl=None, timeout=5) as conn:
            sender = conn.open_session().open_sender("q", queue_size=3)
            # No credit: send_nowait returns at once with a handle; nothing is written.
            handles = [sender.send_nowait(Message(f"q{i}".encode())) for i in range(3)]
            assert all(isinstance(h, amqp.Queued) and h.delivery is None for h in handles)
            assert sender.queued == 3
            # The queue is full: the next send_nowait waits for room, up to its timeout.
            t0 = time.monotonic()
            with pytest.raises(TimeoutError, match="no credit"):
                sender.send_nowait(Message(b"too many"), timeout=0.2)
            assert 0.15 < time.monotonic() - t0 < 2
            # A queue that holds nothing is refused before anything is sent.
            with pytest.raises(ValueError, match="queue_size must be at least 1"):
                conn.open_session().open_sender("q", queue_size=0)
            # A timeout while queued withdraws the message: it is never sent.
            with pytest.raises(TimeoutError, match="no credit"):
                sender.wait_settled(handles[2], timeout=0.1)
            assert sender.queued == 2
            # Credit arrives: the I/O thread sends what waits, in call order.
            fake.grants = 5
            assert [sender.wait_settled(h) for h in handles[:2]] == [Accepted(), Accepted()]
            sender.send(Message(b"after"))
            assert sender.queued == 0
    finally:
        fake.close()
    assert fake.received == [b"q0", b"q1", b"after"]
    assert wait_no_io_threads()


def test_every_sender_waiting_for_room_goes_once_room_is_made() -> None:
    fake = FakePeer(credit=0)
    try:
        with amqp.open_connection(fake.url, sasl=None, timeout=5) as conn:
            sender = conn.open_session().open_sender("q", queue_size=10)
            first = [sender.send_nowait(Message(b"a%d" % i)) for i in range(10)]
            handed: list[Any] = []

            def hand(i: int) -> None:
                handed.append(sender.send_nowait(Message(b"b%d" % i), timeout=5))

            threads = [threading.Thread(target=hand, args=(i,)) for i in range(5)]
            for thread in threads:
                thread.start()
            end = time.monotonic() + 5
            while sender._room_waiters < 5 and time.monotonic() < end:
                time.sleep(0.01)
            assert sender._room_waiters == 5 and sender.queued == 10  # all five wait
            # Six go out: four left, half the queue or less, so room is made known, and
            # there is room for all five (not only until the queue is at half again).
            t0 = time.monotonic()
            fake.grants = 6
            for thread in threads:
                thread.join(5)
            assert len(handed) == 5 and time.monotonic() - t0 < 2
            assert sender.queued == 9
            fake.grants = 100
            outcomes = sender.wait_all(first + handed, timeout=5)
    finally:
        fake.close()
    assert outcomes == [Accepted()] * 15
    assert fake.received[:10] == [b"a%d" % i for i in range(10)]
    assert sorted(fake.received[10:]) == [b"b%d" % i for i in range(5)]


def test_queued_sends_fail_with_link_detached_when_the_link_closes(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakePeer(credit=0)
    try:
        with amqp.open_connection(fake.url, sasl=None, timeout=5) as conn:
            sender = conn.open_session().open_sender("q")
            handle = sender.send_nowait(Message(b"never"))
            with caplog.at_level(logging.WARNING, logger="amqp10"):
                sender.close()
            assert "1 message(s) still waiting for credit; they were not sent" in caplog.text
            with pytest.raises(LinkDetachedError, match="was closed"):
                sender.wait_settled(handle)
    finally:
        fake.close()
    assert fake.received == []
