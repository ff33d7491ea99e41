"""The fault proxy (tests/faultproxy.py): each fault, seen from plain sockets, then from amqp10_sync.

The socket tests run it in front of a small echo server that records how each of its
connections ended (a FIN read, or a reset). The last two run it in front of the embedded
broker and show what the blocking adapter makes of a cut and of a silent link today,
before it learns to reconnect (issue 9).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from tests.faultproxy import FaultProxy

# A begin frame (2.3.1, 2.7.2): size 26, doff 2, type 0 (AMQP), channel 0; then begin with
# remote-channel null, next-outgoing-id 0, incoming and outgoing window 2048.
FRAME = bytes.fromhex("0000001a02000000" "005311c00d04" "40" "43" "7000000800" "7000000800")


class EchoServer:
    """Echoes what each connection sends (unless ``echo`` is off); records how each ended."""

    def __init__(self, *, echo: bool = True, read: bool = True) -> None:
        self.echo = echo
        self.read = read
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endings: list[str] = []  # "eof" or "reset", one per ended connection
        self.received: list[bytes] = []  # everything read, per connection
        self.conns: list[socket.socket] = []
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self.cond:
                self.conns.append(conn)
                self.received.append(b"")
                index = len(self.received) - 1
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        if not self.read:
            return  # a peer that never reads: the proxy must stop reading for it
        ending = "eof"
        try:
            while data := conn.recv(65536):
                with self.cond:
                    self.received[index] += data
                    self.cond.notify_all()
                if self.echo:
                    conn.sendall(data)
        except ConnectionResetError:
            ending = "reset"
        except OSError:
            ending = "closed"  # closed by close() below
        with self.cond:
            self.endings.append(ending)
            self.cond.notify_all()

    def wait_endings(self, n: int, timeout: float = 5.0) -> list[str]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.endings) >= n, timeout), self.endings
            return list(self.endings)

    def wait_received(self, index: int, size: int, timeout: float = 5.0) -> bytes:
        with self.cond:
            self.cond.wait_for(lambda: len(self.received) > index
                               and len(self.received[index]) >= size, timeout)
            return self.received[index] if len(self.received) > index else b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.listener.close()
        with self.cond:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy(echo.port) as p:
        yield p


def connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.settimeout(5)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def echoes(sock: socket.socket, data: bytes) -> None:
    """Send ``data`` through the proxy and check that the echo server's copy comes back."""
    sock.sendall(data)
    assert recv_exactly(sock, len(data)) == data


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the FIN (socket.timeout if none comes, ConnectionResetError on a RST)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_forwards_both_ways_and_counts_the_bytes(echo: EchoServer, proxy: FaultProxy) -> None:
    payload = bytes(range(256)) * 12288  # 3 MiB: more than a buffer's worth
    with connect(proxy) as sock:
        writer = threading.Thread(target=sock.sendall, args=(payload,))
        writer.start()
        assert recv_exactly(sock, len(payload)) == payload
        writer.join(5)
    # The proxy thread counts a chunk after its send returns: the bytes may reach us first.
    deadline = time.monotonic() + 5
    while (stats := proxy.stats()).to_client < len(payload) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (stats.accepted, stats.to_upstream, stats.to_client) == (1, len(payload), len(payload))
    assert stats.dropped == 0
    assert echo.wait_endings(1) == ["eof"]  # our close passed on as a FIN


def test_a_peer_that_does_not_read_stops_the_proxy_reading(echo: EchoServer) -> None:
    echo.read = False
    limit = 256 * 1024
    with FaultProxy(echo.port, max_buffer=limit) as proxy, connect(proxy) as sock:
        sock.setblocking(False)
        sent, chunk, idle_since = 0, b"x" * 65536, time.monotonic()
        while time.monotonic() - idle_since < 1.0 and sent < 64 << 20:
            try:
                sent += sock.send(chunk)
                idle_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        stats = proxy.stats()
        assert sent < 64 << 20, "64 MiB went into a peer that reads nothing"
        assert 0 < stats.buffered <= limit + 65536
        assert stats.to_upstream + stats.buffered <= sent


def test_cut_sends_a_fin_both_ways_and_new_connections_still_pass(
        echo: EchoServer, proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        echoes(sock, b"ping")
        proxy.cut()
        assert read_to_end(sock) == b""  # a FIN, not a RST
    assert echo.wait_endings(1) == ["eof"]
    assert proxy.stats().active == 0
    with connect(proxy) as sock:
        echoes(sock, b"again")
    assert proxy.stats().accepted == 2


def test_reset_sends_a_rst_both_ways(echo: EchoServer, proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        echoes(sock, b"ping")
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            read_to_end(sock)
    assert echo.wait_endings(1) == ["reset"]


def test_blackhole_passes_nothing_and_closes_nothing(echo: EchoServer, proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        echoes(sock, b"ping")
        proxy.blackhole()
        sock.sendall(b"lost")
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(1)  # neither data nor a FIN nor a RST
        assert echo.wait_received(0, 8, timeout=0.5) == b"ping"
        assert echo.endings == []
        stats = proxy.stats()
        assert (stats.active, stats.dropped, stats.to_upstream) == (1, 4, 4)
        with connect(proxy) as fresh:  # a new connection is forwarded as usual
            echoes(fresh, b"new")


def test_cut_mid_frame_passes_the_first_bytes_of_a_frame_then_cuts(
        echo: EchoServer, proxy: FaultProxy) -> None:
    assert len(FRAME) == 26
    with connect(proxy) as sock:
        echoes(sock, b"AMQP\x00\x01\x00\x00")
        proxy.cut_mid_frame()
        sock.sendall(FRAME)
        assert read_to_end(sock) == b"\x00\x00\x00\x1a\x02"  # then the FIN
    assert echo.wait_endings(1) == ["eof"]


def test_delay_holds_each_chunk_each_way(echo: EchoServer, proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        echoes(sock, b"warm")
        proxy.delay(0.3)
        t0 = time.monotonic()
        echoes(sock, b"slow")
        assert time.monotonic() - t0 >= 0.6  # 0.3 s there and 0.3 s back
        proxy.delay(0)
        echoes(sock, b"fast")


def test_half_close_ends_server_to_client_only(echo: EchoServer, proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        echoes(sock, b"ping")
        proxy.half_close()
        assert read_to_end(sock) == b""  # the FIN, at once
        sock.sendall(b"still flows")
        assert echo.wait_received(0, 15) == b"pingstill flows"
        assert echo.endings == []
        deadline = time.monotonic() + 5
        while proxy.stats().dropped < 11 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.stats().dropped == 11  # the echo of "still flows", discarded
        sock.shutdown(socket.SHUT_WR)
    assert echo.wait_endings(1) == ["eof"]


def test_refuse_new_then_heal(echo: EchoServer, proxy: FaultProxy) -> None:
    port = proxy.port
    with connect(proxy) as old:
        proxy.refuse_new(True)
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        echoes(old, b"open")  # connections already made are not touched
        proxy.refuse_new(False)
        with connect(proxy) as sock:
            echoes(sock, b"back")
        proxy.refuse_new()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        proxy.heal()
        with connect(proxy) as sock:
            echoes(sock, b"healed")
    assert proxy.port == port
    assert proxy.stats().accepted == 3


def test_an_upstream_that_refuses_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        dead_port = s.getsockname()[1]  # closed: nothing listens there any more
    with FaultProxy(dead_port) as proxy:
        # The reset may come before the client's connect() has seen its handshake end
        # (a connect with a timeout polls, then reads SO_ERROR): then connect() raises it.
        with pytest.raises(ConnectionResetError), connect(proxy) as sock:
            read_to_end(sock)
        assert proxy.stats().upstream_failures == 1


def test_close_ends_the_thread_and_every_connection(echo: EchoServer) -> None:
    proxy = FaultProxy(echo.port)
    sock = connect(proxy)
    echoes(sock, b"ping")
    proxy.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy-")]
    with contextlib.suppress(ConnectionResetError):
        assert read_to_end(sock) == b""
    sock.close()
    with pytest.raises(RuntimeError, match="closed"):
        proxy.cut()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)


# -- in front of the embedded broker, with the blocking adapter --------------------------------

@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


def test_sync_a_cut_fails_a_pending_receive_with_connection_closed(broker: RunningBroker) -> None:
    with FaultProxy(broker.port) as proxy:
        conn = amqp10_sync.open_connection(proxy.url, timeout=10, reconnect=False)
        try:
            receiver = conn.open_session().open_receiver("faultproxy-cut", credit=10)
            cutter = threading.Timer(0.3, proxy.cut)
            cutter.start()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError):
                receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 15  # a hang guard, not a timing
            cutter.join()
            assert conn.closed
        finally:
            conn.close(timeout=2)


def test_sync_a_blackhole_is_found_by_the_idle_timeout(broker: RunningBroker) -> None:
    with FaultProxy(broker.port) as proxy:
        conn = amqp10_sync.open_connection(proxy.url, timeout=10, idle_timeout=1,
                                           reconnect=False)
        try:
            session = conn.open_session()
            sender = session.open_sender("faultproxy-blackhole")
            sender.send(Message(b"before"), timeout=10)
            receiver = session.open_receiver("faultproxy-blackhole", credit=10)
            receiver.accept(receiver.receive(timeout=10))
            proxy.blackhole()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError):
                receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 10  # "within a few seconds"; a hang guard
            assert conn.closed
            assert proxy.stats().active == 1  # the proxy closed nothing: the client gave up
        finally:
            conn.close(timeout=2)
