"""The embedded broker against clients that abuse it: storms, endless messages, stuck consumers.

Each test is a reproduction of a finding of issue 10 (robustness) and the limit
that now stops it: one client's burst of frames must not starve the others, a
message that never ends must be refused at the message-size limit, a consumer
that grants much credit and never reads must not pull the queue into the
broker's write buffers, and every limit the docs state is enforced with the
AMQP error they name. Misbehaving clients write raw frames on a socket (the
exact bytes are built from the spec's performatives here); well-behaved ones
use the blocking adapter.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable

import pytest

import amqp10_sync as amqp
from amqp10_cli import Broker, RunningBroker, start_broker
from amqp10_cli._broker import DEFAULT_MAX_MESSAGE_SIZE
from amqp10_cli._broker_conn import FEED_SIZE, ServerConnection
from amqp10_cli._broker_links import Outgoing
from amqp10_proto import (
    Accepted,
    ConnectionClosed,
    LinkDetached,
    LocalProtocolError,
    Message,
    Role,
    Source,
    Target,
    UInt,
)
from amqp10_proto import errors as amqp_errors
from amqp10_proto.codec import encode
from amqp10_proto.performatives import Attach, Begin, Flow, Open, Transfer
from tests.broker.test_broker_server import wire

#: 2.2: the protocol header of AMQP without a SASL layer (the broker admits ANONYMOUS).
AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
MiB = 1024 * 1024


def frame(performative: object, channel: int = 0, payload: bytes = b"") -> bytes:
    """2.3.1: an AMQP frame: size, doff 2, type 0, channel, then the performative and payload."""
    body = encode(performative) + payload
    return struct.pack(">IBBH", 8 + len(body), 2, 0, channel) + body


def begin(channel: int) -> bytes:
    return frame(Begin(next_outgoing_id=UInt(0), incoming_window=UInt(100),
                       outgoing_window=UInt(100)), channel)


def attach(handle: int, address: str, channel: int = 0) -> bytes:
    return frame(Attach(name=f"storm-{channel}-{handle}", handle=UInt(handle), role=Role.SENDER,
                        target=Target(address=address)), channel)


def opening(container: str = "storm") -> bytes:
    return AMQP_HEADER + frame(Open(container_id=container))


class Drain:
    """Reads (and counts) whatever the broker writes to a raw socket, in a thread."""

    def __init__(self, sock: socket.socket, keep: bool = False) -> None:
        self.sock = sock
        self.received = 0
        self.data = bytearray() if keep else None
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while chunk := self.sock.recv(1 << 16):
                self.received += len(chunk)
                if self.data is not None:
                    self.data += chunk
        except OSError:
            pass
        self.closed.set()



def hang_up(sock: socket.socket) -> None:
    """Close a socket a Drain thread reads (shutdown first: close alone would wait for it)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    """Poll ``cond`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def server_side(running: RunningBroker, cond: Callable[[ServerConnection], bool]
                ) -> ServerConnection:
    (conn,) = [c for c in list(running.broker.connections) if cond(c)]
    return conn


def round_trip(url: str, q: str) -> float:
    """Seconds for a well-behaved client to open, send one message and get it back."""
    t0 = time.monotonic()
    with amqp.open_connection(url, timeout=20) as conn, conn.open_session() as s:
        with s.open_sender(q) as sender:
            assert isinstance(sender.send(Message(b"ping"), timeout=20), Accepted)
        msg = s.open_receiver(q, credit=1).receive(timeout=20)
        assert msg.body == b"ping"
        msg.accept()
    return time.monotonic() - t0


# -- fairness: one client's burst of frames ------------------------------------------------------

@pytest.mark.parametrize(("kind", "n"), [("begins", 65536), ("attaches", 16000)])
def test_a_storm_of_frames_does_not_starve_another_client(
        kind: str, n: int, q: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Which connection's core got how many bytes, in the order the loop fed them.
    fed: list[tuple[ServerConnection, int]] = []
    give = ServerConnection._give

    def recording(self: ServerConnection, data: bytes) -> None:
        fed.append((self, len(data)))
        give(self, data)

    monkeypatch.setattr(ServerConnection, "_give", recording)
    # Limits raised so that the storm is one the broker must serve, not refuse.
    with start_broker(max_sessions=65536, max_links=65536) as running:
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        drain = Drain(sock)
        if kind == "begins":
            storm = opening() + b"".join(begin(ch) for ch in range(n))
            answered = 8 + n * 30  # our header, open, and a begin per channel at least
        else:
            storm = opening() + begin(0) + b"".join(attach(h, f"{q}-{h % 50}")
                                                    for h in range(n))
            answered = 8 + n * 60
        try:
            t0 = time.monotonic()
            sock.sendall(storm)  # one write: the broker reads it in 256 KiB chunks
            took = round_trip(running.url, q)
            storming = fed[0][0]
            assert wait_for(lambda: sum(size for conn, size in fed if conn is storming)
                            >= len(storm) and drain.received >= answered, timeout=60), \
                f"the storm got {drain.received} bytes of answers"
            print(f"storm of {n} {kind} ({len(storm)} bytes): answered in "
                  f"{time.monotonic() - t0:.2f} s; another client's round trip meanwhile "
                  f"{took:.3f} s")
        finally:
            hang_up(sock)
    slices = [size for conn, size in fed if conn is storming]
    assert sum(slices) == len(storm)
    # The bound on one connection's work per loop turn: a slice of what asyncio reads at
    # once (256 KiB), so that every other connection is served between two slices.
    assert max(slices) <= 64 * 1024
    assert FEED_SIZE <= 64 * 1024
    # The other client was served between the storm's slices, not after them all.
    first_other = next(i for i, (conn, _) in enumerate(fed) if conn is not storming)
    last_storm = max(i for i, (conn, _) in enumerate(fed) if conn is storming)
    assert first_other < last_storm
    # A hang guard, generous: before the fix a client's open waited 3.4 s at 8,000 begins,
    # over 60 s at 65,536.
    assert took < 5.0, f"a round trip took {took:.2f} s during a storm of {n} {kind}"


def test_a_storm_of_begins_past_the_session_limit_closes_only_that_connection(q: str) -> None:
    with start_broker() as running:  # the default: 256 sessions per connection
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        drain = Drain(sock, keep=True)
        try:
            sock.sendall(opening() + b"".join(begin(ch) for ch in range(8000)))
            assert round_trip(running.url, q) < 10
            assert drain.closed.wait(10), "the storming client was not closed"
            assert drain.data is not None
            # 2.7.1: channel-max 255 in our open; a begin on channel 256 is a framing error.
            assert b"amqp:connection:framing-error" in drain.data
            assert b"channel 256 exceeds our channel-max 255" in drain.data
        finally:
            hang_up(sock)


def test_a_client_that_sends_without_reading_is_no_longer_read(q: str) -> None:
    # Each flow with echo=true makes the broker answer with a flow (2.7.4): a client
    # that never reads those answers must stall, not grow the broker's write buffer.
    with start_broker() as running:
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        receiver_attach = frame(Attach(name="echo", handle=UInt(0), role=Role.RECEIVER,
                                       source=Source(address=q)), 0)
        echo = frame(Flow(next_incoming_id=UInt(0), incoming_window=UInt(100),
                          next_outgoing_id=UInt(0), outgoing_window=UInt(100), handle=UInt(0),
                          delivery_count=UInt(0), link_credit=UInt(0), echo=True), 0)
        flood = opening() + begin(0) + receiver_attach + echo * 200_000  # about 9 MB
        writer = threading.Thread(target=lambda: _send_quietly(sock, flood), daemon=True)
        writer.start()
        try:
            assert wait_for(lambda: any(c.paused for c in list(running.broker.connections)), 20)
            conn = server_side(running, lambda c: c.paused)
            transport = conn._transport
            assert transport is not None
            time.sleep(0.5)  # the flood goes on being written ...
            assert not conn._reading  # ... but no longer read
            buffered = transport.get_write_buffer_size()
            print(f"a client that does not read: {buffered} bytes buffered for it")
            assert buffered < 512 * 1024
            assert round_trip(running.url, q) < 10  # and everyone else is served
        finally:
            hang_up(sock)
            writer.join(10)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the test closed the socket under a blocked write
        sock.sendall(data)


# -- a message that never ends ----------------------------------------------------------------------

def push_endless(port: int, q: str, cap: int) -> tuple[socket.socket, bytearray, int]:
    """One delivery with more=true for ever, until the broker refuses it (or ``cap`` bytes).

    Returns the socket, what the broker wrote, and how many message bytes were sent.
    """
    w = wire(port)
    session = w.conn.begin_session()
    snd = session.attach_sender(q)
    w.run_until(lambda: snd.sendable)
    sock = w.sock
    sock.settimeout(10)
    drain = Drain(sock, keep=True)
    assert drain.data is not None
    chunk = b"\xab" * 65000  # a frame's worth under the 64 KiB max-frame-size
    sock.sendall(frame(Transfer(handle=UInt(snd.handle), delivery_id=UInt(0),
                                delivery_tag=b"endless", message_format=UInt(0), more=True),
                       session.channel, chunk))
    more = frame(Transfer(handle=UInt(snd.handle), more=True), session.channel, chunk)
    sent = len(chunk)
    while b"amqp:link:message-size-exceeded" not in drain.data:
        assert sent < cap, f"the broker took {sent} bytes of one message"
        sock.sendall(more)
        sent += len(chunk)
    return sock, drain.data, sent


def test_an_endless_message_is_refused_at_the_default_limit(q: str) -> None:
    assert 100 * MiB == DEFAULT_MAX_MESSAGE_SIZE
    tracemalloc.start()
    try:
        with start_broker() as running:
            with amqp.open_connection(running.url, timeout=10) as conn, conn.open_session() as s:
                assert s.open_sender(q)._core.remote_max_message_size == 100 * MiB  # 2.7.3
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            sock, said, sent = push_endless(running.port, q, cap=130 * MiB)
            _, peak = tracemalloc.get_traced_memory()
            assert b"message larger than max-message-size 104857600" in said
            hang_up(sock)  # the client goes: whatever the broker held for it goes too
            assert wait_for(lambda: not running.broker.connections, 5)
            now, _ = tracemalloc.get_traced_memory()
            print(f"endless message: {sent / MiB:.1f} MiB sent before the refusal; traced "
                  f"peak +{(peak - base) / MiB:.1f} MiB, once the client went "
                  f"+{(now - base) / MiB:.1f} MiB")
            assert sent >= 100 * MiB  # what came after the limit was on its way already
            assert peak - base < 112 * MiB  # the message so far, and little else
            assert now - base < 8 * MiB
    finally:
        tracemalloc.stop()


def test_an_endless_message_is_dropped_at_the_refusal(q: str) -> None:
    tracemalloc.start()
    try:
        with start_broker(max_message_size=8 * MiB) as running:
            base, _ = tracemalloc.get_traced_memory()
            sock, _, sent = push_endless(running.port, q, cap=40 * MiB)
            time.sleep(0.2)
            now, _ = tracemalloc.get_traced_memory()
            hang_up(sock)
            assert now - base < 2 * MiB, f"{(now - base) / MiB:.1f} MiB held after the refusal"
    finally:
        tracemalloc.stop()


def test_a_configured_limit_and_no_limit(q: str) -> None:
    with start_broker(max_message_size=1000) as running, \
            amqp.open_connection(running.url, timeout=10) as conn, conn.open_session() as s:
        assert s.open_sender(q)._core.remote_max_message_size == 1000
    with start_broker(max_message_size=None) as running, \
            amqp.open_connection(running.url, timeout=10) as conn, conn.open_session() as s:
        assert s.open_sender(q)._core.remote_max_message_size is None  # unbounded, on request


# -- a consumer that never reads --------------------------------------------------------------------

def test_a_stuck_consumer_holds_no_more_than_a_message(q: str) -> None:
    n, size = 100, MiB
    with start_broker() as running:
        with amqp.open_connection(running.url, timeout=30) as conn, \
                conn.open_session() as s, s.open_sender(q) as sender:
            for i in range(n):
                sender.send(Message(i.to_bytes(4, "big") * (size // 4)), timeout=30)
        queue = running.broker.router.queues[q]
        assert len(queue) == n
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            stuck = wire(running.port, rcvbuf=32 * 1024)
            receiver = stuck.conn.begin_session().attach_receiver(q, credit=1000)
            stuck.run_until(lambda: receiver.attached)
            # From here the stuck client reads nothing, with 1,000 credit granted.
            conn_of = server_side(running, lambda c: any(isinstance(x, Outgoing)
                                                         for x in c.links))
            assert wait_for(lambda: conn_of.paused, 10)
            time.sleep(0.5)
            _, peak = tracemalloc.get_traced_memory()
            growth = peak - base
            held = n - len(queue)
            print(f"stuck consumer: {held} message(s) of 1 MiB out of the queue, traced peak "
                  f"+{growth / MiB:.1f} MiB")
            assert growth < 16 * MiB, f"the broker grew {growth / MiB:.0f} MiB for a stuck consumer"
            assert len(queue) >= n - 8  # the rest wait in the queue, not in a write buffer
        finally:
            tracemalloc.stop()
        # Another consumer still gets messages: those the stuck one did not take, in order.
        with amqp.open_connection(running.url, timeout=30) as conn, conn.open_session() as s:
            receiver2 = s.open_receiver(q, credit=3)
            got = []
            for _ in range(3):
                msg = receiver2.receive(timeout=10)
                got.append(int.from_bytes(msg.body[:4], "big"))
                msg.accept()
            assert got == sorted(got) and got[0] >= held - 1 and len(set(got)) == 3
        stuck.sock.close()


# -- each documented limit ------------------------------------------------------------------------

def test_max_connections(q: str) -> None:
    with start_broker(max_connections=2) as running:
        a = amqp.open_connection(running.url, timeout=10)
        b = amqp.open_connection(running.url, timeout=10)
        with pytest.raises(amqp_errors.ConnectionClosedError) as info:
            amqp.open_connection(running.url, timeout=10).open_session()
        assert info.value.condition == "amqp:resource-limit-exceeded"
        assert "at most 2 connections" in (info.value.description or "")
        # Sockets beyond as many again as the limit are dropped unanswered.
        told = [socket.create_connection(("127.0.0.1", running.port), timeout=5)
                for _ in range(2)]
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as extra:
            try:
                answer = extra.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b""
        for sock in told:
            sock.close()
        a.close()
        time.sleep(0.2)
        with amqp.open_connection(running.url, timeout=10) as c, c.open_session() as s, \
                s.open_sender(q) as sender:  # a place is free again
            assert isinstance(sender.send(Message(b"in")), Accepted)
        b.close()


def test_max_sessions_is_our_channel_max(q: str) -> None:
    with start_broker(max_sessions=2) as running:
        w = wire(running.port)
        try:
            assert w.conn.remote_open is not None
            assert w.conn.remote_open.channel_max == 1
            sessions = [w.conn.begin_session(), w.conn.begin_session()]
            w.run_until(lambda: all(s.remote_begin is not None for s in sessions))
            with pytest.raises(LocalProtocolError):  # a client that heeds it stops here
                w.conn.begin_session()
            w.sock.sendall(begin(7))  # one that does not is closed (2.7.1)
            w.run_until(lambda: w.conn.ended, timeout=5)
            (closed,) = w.take(ConnectionClosed)
            assert closed.error.condition == "amqp:connection:framing-error"
        finally:
            w.sock.close()


def test_max_links_is_our_handle_max_and_counted(q: str) -> None:
    with start_broker(max_links=2) as running:
        w = wire(running.port)
        try:
            # Three attaches sent with the begin, before our begin (and its handle-max) came.
            session = w.conn.begin_session()
            links = [session.attach_sender(f"{q}-{i}") for i in range(3)]
            w.run_until(lambda: all(link.remote_attach is not None for link in links)
                        and bool(w.take(LinkDetached)), timeout=5)
            assert session.remote_begin is not None and session.remote_begin.handle_max == 1
            assert [link.attached for link in links] == [True, True, False]
            assert links[2].remote_error is not None
            assert links[2].remote_error.condition == "amqp:resource-limit-exceeded"
            assert "limit of 2 link(s)" in (links[2].remote_error.description or "")
            # A link that ends makes room for another.
            links[0].detach()
            w.run_until(lambda: not links[0].attached and bool(w.take(LinkDetached)))
            again = session.attach_sender(f"{q}-again")
            w.run_until(lambda: again.sendable, timeout=5)
        finally:
            w.close()


def test_max_queue_depth(q: str) -> None:
    with start_broker(max_queue_depth=3) as running, \
            amqp.open_connection(running.url, timeout=10) as conn, conn.open_session() as s:
        sender = s.open_sender(q)
        for i in range(3):
            assert isinstance(sender.send(Message(b"%d" % i)), Accepted)
        with pytest.raises(amqp_errors.MessageRejected) as info:
            sender.send(Message(b"one too many"))
        assert info.value.condition == "amqp:resource-limit-exceeded"
        assert f"queue {q!r} is full" in (info.value.description or "")
        msg = s.open_receiver(q, credit=1).receive(timeout=5)
        msg.accept()
        time.sleep(0.1)
        assert isinstance(sender.send(Message(b"room again")), Accepted)


@pytest.mark.parametrize(("name", "value"), [
    ("max_connections", 0), ("max_sessions", 0), ("max_sessions", 65537), ("max_links", -1),
    ("max_queue_depth", 0), ("max_message_size", 0), ("handshake_timeout", 0),
    ("handshake_timeout", None), ("max_links", True)])
def test_limits_that_make_no_sense_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        Broker(**{name: value})  # type: ignore[arg-type]
