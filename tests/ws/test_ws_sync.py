"""The blocking adapter over WebSocket (issue 13): ``amqpws://`` and ``amqpwss://`` to the
embedded broker and to rhea's WebSocket listener; the upgrade request as a server sees
it; a refused upgrade, a ping and a hostile frame from a server of the test's own;
reconnecting over WebSocket after the connection is cut."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message, Properties
from amqp10_proto.errors import ConnectionClosedError
from amqp10_ws import WebSocketError, WebSocketHandshakeError, WebSocketLayer
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.interop.peers import Peer, start

from .wspump import body_of, frame

FAST = amqp.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)
SERVICEBUS_PATH = "/$servicebus/websocket"


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, users={"guest": "guest"}, handshake_timeout=2.0) as running:
        yield running


def ws_url(running: RunningBroker, path: str = "/", *, host: str = "127.0.0.1",
           user: str = "guest:guest@") -> str:
    assert running.ws_port is not None
    scheme = "amqpwss" if running.broker.ssl_context else "amqpws"
    return f"{scheme}://{user}{host}:{running.ws_port}{path}"


def queue() -> str:
    return f"ws-sync-{uuid.uuid4().hex[:8]}"


def round_trip(conn: amqp.Connection, payloads: list[bytes], timeout: float = 30) -> list[bytes]:
    """Send ``payloads`` to a new queue (each accepted), receive and accept them back."""
    q = queue()
    with conn.open_session() as session:
        with session.open_sender(q) as sender:
            for payload in payloads:
                sender.send(Message(payload), timeout=timeout)
        got = []
        with session.open_receiver(q, credit=10) as receiver:
            for _ in payloads:
                msg = receiver.receive(timeout=timeout)
                got.append(body_of(msg.message))
                receiver.accept(msg)
    return got


# -- the embedded broker -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", SERVICEBUS_PATH])
def test_send_and_receive_over_amqpws_to_the_embedded_broker(broker: RunningBroker,
                                                             path: str) -> None:
    payloads = [f"over websocket {i}".encode() for i in range(5)]
    with amqp.open_connection(ws_url(broker, path)) as conn:
        assert round_trip(conn, payloads) == payloads
        layer = conn._ws
        assert layer is not None and layer.subprotocol == "amqp"
    # Closing sent the AMQP close, then our WebSocket close frame (RFC 6455 7.1.2).
    assert conn.closed and layer.state.value in ("closing", "closed")


def test_capabilities_reach_the_broker_and_its_offered_come_back(broker: RunningBroker) -> None:
    me = f"caps-{uuid.uuid4().hex[:8]}"
    with amqp.open_connection(ws_url(broker), offered_capabilities=["amqp10-test-offer"],
                              desired_capabilities=["ANONYMOUS-RELAY", "x-wanted"],
                              container_id=me) as conn:
        assert conn.remote_offered_capabilities == ["ANONYMOUS-RELAY"]
        seen = [c.core.remote_open for c in broker.broker.connections if c.core is not None]
        opens = [o for o in seen if o is not None and o.container_id == me]
        assert len(opens) == 1
        assert opens[0].desired_capabilities == ["ANONYMOUS-RELAY", "x-wanted"]
        assert opens[0].offered_capabilities == ["amqp10-test-offer"]
    for bad, error in [(["ok", 7], TypeError), ("ANONYMOUS-RELAY", TypeError),
                       (["caf\u00e9"], ValueError)]:
        with pytest.raises(error):
            amqp.open_connection(ws_url(broker), desired_capabilities=bad)  # type: ignore[arg-type]
        with pytest.raises(error):
            amqp.open_connection(ws_url(broker), offered_capabilities=bad)  # type: ignore[arg-type]


def test_a_ten_mib_message_both_ways_over_websocket(broker: RunningBroker) -> None:
    payload = os.urandom(10 * 1024 * 1024)  # many AMQP frames and many WebSocket frames
    with amqp.open_connection(ws_url(broker, SERVICEBUS_PATH), timeout=60) as conn:
        (back,) = round_trip(conn, [payload], timeout=60)
    assert back == payload


def test_amqpwss_verifies_the_brokers_certificate(tls_broker: RunningBroker, pki: Pki) -> None:
    url = ws_url(tls_broker, SERVICEBUS_PATH, host="localhost", user="")
    with amqp.open_connection(url, ssl_context=pki.client_context()) as conn:
        assert round_trip(conn, [b"over wss"]) == [b"over wss"]
        assert conn._is_ssl
    # The name checked is the broker's: a wrong one, or an untrusted CA, is refused.
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|not valid"):
        amqp.open_connection(url, ssl_context=pki.client_context(),
                             server_hostname="wrong.example", connect_timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        amqp.open_connection(url, connect_timeout=5)  # the system's CAs do not know ours


def test_amqpws_to_the_brokers_amqp_port_is_a_fast_typed_error(broker: RunningBroker) -> None:
    start_at = time.monotonic()
    with pytest.raises(WebSocketHandshakeError, match="handshake"):
        amqp.open_connection(f"amqpws://127.0.0.1:{broker.port}/", connect_timeout=10)
    assert time.monotonic() - start_at < 5  # the answer, not the timeout


# -- rhea's WebSocket listener (code we did not write) ---------------------------------------

@pytest.fixture(scope="module")
def rhea() -> Peer:
    peer = start("rhea-broker-ws")
    assert peer.ws_port is not None
    return peer


@pytest.mark.parametrize("path", ["/", SERVICEBUS_PATH])
def test_send_and_receive_over_rheas_websocket(rhea: Peer, path: str) -> None:
    payloads = [b"to rhea", os.urandom(300_000)]
    with amqp.open_connection(f"amqpws://guest:guest@127.0.0.1:{rhea.ws_port}{path}") as conn:
        assert round_trip(conn, payloads) == payloads
        assert conn._ws is not None and conn._ws.subprotocol == "amqp"


# -- a WebSocket server of the test's own ----------------------------------------------------

class RawServer:
    """Accepts one connection and hands its socket to ``serve`` (in a thread); keeps what
    ``serve`` returns (or raised) in ``result``."""

    def __init__(self, serve: Callable[[socket.socket], object]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.result: object = None
        self._serve = serve
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(10)
        try:
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(10)
                self.result = self._serve(sock)
        except Exception as exc:  # kept for the test to see
            self.result = exc
        finally:
            self.listener.close()

    def done(self) -> object:
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.result


def read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def upgraded(sock: socket.socket) -> tuple[WebSocketLayer, bytes]:
    """Answer the client's upgrade as a WebSocket server: the layer, and the AMQP bytes
    that came so far."""
    layer = WebSocketLayer("server")
    while not layer.open:
        layer.receive_data(sock.recv(4096))
        sock.sendall(layer.data_to_send())
    return layer, layer.received()


def test_the_upgrade_request_carries_the_path_host_and_subprotocols_and_a_404_is_typed() -> None:
    def refuse(sock: socket.socket) -> bytes:
        request = read_request(sock)
        sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return request

    server = RawServer(refuse)
    start_at = time.monotonic()
    with pytest.raises(WebSocketHandshakeError) as info:
        amqp.open_connection(f"amqpws://127.0.0.1:{server.port}{SERVICEBUS_PATH}",
                             connect_timeout=10)
    assert info.value.status == 404
    assert time.monotonic() - start_at < 5
    request = server.done()
    assert isinstance(request, bytes)
    head = request.decode("latin-1").lower()
    assert head.startswith(f"get {SERVICEBUS_PATH} http/1.1\r\n".lower())
    assert f"\r\nhost: 127.0.0.1:{server.port}\r\n" in head
    assert "\r\nsec-websocket-protocol: amqp, amqpwsb10\r\n" in head


def test_a_silent_server_times_the_upgrade_out() -> None:
    def silent(sock: socket.socket) -> bytes:
        request = read_request(sock)
        time.sleep(2)
        return request

    server = RawServer(silent)
    start_at = time.monotonic()
    with pytest.raises(TimeoutError, match="WebSocket upgrade"):
        amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", connect_timeout=0.5)
    assert time.monotonic() - start_at < 1.5
    server.done()


def test_the_servers_ping_is_answered() -> None:
    def ping(sock: socket.socket) -> tuple[int, bytes]:
        layer, amqp_in = upgraded(sock)
        layer.ping(b"are you there")
        sock.sendall(layer.data_to_send())
        end = time.monotonic() + 5
        while not layer.pongs and time.monotonic() < end:
            layer.receive_data(sock.recv(4096))
            amqp_in += layer.received()
        return layer.pongs, amqp_in

    server = RawServer(ping)
    with pytest.raises((ConnectionClosedError, TimeoutError)):
        amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None, reconnect=False,
                             connect_timeout=3)
    result = server.done()
    assert isinstance(result, tuple)
    pongs, amqp_in = result
    assert pongs == 1
    assert amqp_in.startswith(b"AMQP\x00\x01\x00\x00")  # the AMQP stream, in binary messages


def test_a_text_frame_from_the_server_fails_the_connection_typed() -> None:
    def hostile(sock: socket.socket) -> list[tuple[int, bytes]]:
        layer, amqp_in = upgraded(sock)
        while not amqp_in:  # the client's AMQP header: its connection is under way
            layer.receive_data(sock.recv(4096))
            amqp_in = layer.received()
        sock.sendall(frame(0x1, b"not amqp", mask=None))  # a text message (RFC 6455 5.6)
        sock.settimeout(5)
        got = b""
        while chunk := sock.recv(4096):
            got += chunk
        # The client's frames are masked (5.3); wspump.parse_frames reads a server's.
        return unmasked_frames(got)

    server = RawServer(hostile)
    start_at = time.monotonic()
    with pytest.raises(ConnectionClosedError) as info:
        amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None, reconnect=False,
                             connect_timeout=5)
    assert time.monotonic() - start_at < 4
    cause = info.value.__cause__
    while cause is not None and not isinstance(cause, WebSocketError):
        cause = cause.__cause__
    assert isinstance(cause, WebSocketError) and cause.code == 1003
    frames = server.done()
    assert isinstance(frames, list)
    assert (0x8, (1003).to_bytes(2, "big")) in [(op, body[:2]) for op, body in frames]


def unmasked_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole masked frame (as a client sends) in ``data``."""
    frames = []
    while len(data) >= 6:
        opcode, size = data[0] & 0x0F, data[1] & 0x7F
        at = 2
        if size == 126:
            size, at = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, at = int.from_bytes(data[2:10], "big"), 10
        mask, body = data[at:at + 4], data[at + 4:at + 4 + size]
        if len(body) < size:
            break
        frames.append((opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(body))))
        data = data[at + 4 + size:]
    return frames


def test_without_wsproto_the_error_names_the_extra(tmp_path: Path) -> None:
    import subprocess
    import sys
    script = ("import sys; sys.modules['wsproto'] = None\n"
              "import amqp10_sync as amqp\n"
              "try:\n"
              "    amqp.open_connection('amqpws://127.0.0.1:9/', connect_timeout=1)\n"
              "except ImportError as exc:\n"
              "    print('IMPORT', exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert "IMPORT" in out.stdout and "amqp10[ws]" in out.stdout, out.stderr


# -- reconnecting over WebSocket ---------------------------------------------------------------

@pytest.mark.parametrize("fault", ["cut", "drop_to_client"])
def test_reconnect_over_websocket_after_the_connection_is_cut(broker: RunningBroker,
                                                               fault: str) -> None:
    assert broker.ws_port is not None
    q = queue()
    with FaultProxy(broker.ws_port) as proxy, \
            amqp.open_connection(f"amqpws://guest:guest@127.0.0.1:{proxy.port}{SERVICEBUS_PATH}",
                                 reconnect=FAST, timeout=20, idle_timeout=1.0) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        sender.send(Message(b"before", properties=Properties(message_id="before")))
        getattr(proxy, fault)()
        deadline = time.monotonic() + 15
        while conn.reconnects == 0:
            assert time.monotonic() < deadline, "no reconnect"
            time.sleep(0.02)
        sender.send(Message(b"after", properties=Properties(message_id="after")), timeout=20)
        assert conn.reconnects == 1 and proxy.stats().accepted == 2
        assert conn._ws is not None and conn._ws.open  # a fresh layer on the new socket
        with session.open_receiver(q) as receiver:
            got = [receiver.receive(timeout=10) for _ in range(2)]
            for msg in got:
                receiver.accept(msg)
    assert [body_of(m.message) for m in got] == [b"before", b"after"]
