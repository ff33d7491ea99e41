"""The asyncio adapter over WebSocket (amqpws://, amqpwss://): to the embedded broker's
WebSocket listener and to rhea's (a server we did not write), any request path, TLS with
verification, a 10 MiB message both ways, a refused upgrade and hostile frames typed and
fast, pings answered, the WebSocket closed after the AMQP close, reconnect after a cut,
a missing wsproto named; and the open's offered/desired capabilities."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

import amqp10_asyncio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from amqp10_ws import WebSocketHandshakeError, WebSocketLayer
from tests.asyncio_.helpers import no_other_tasks, run
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.interop.peers import Peer, start
from tests.resilience.async_cases import CASES as RESILIENCE
from tests.resilience.async_cases import Case
from tests.resume.async_cases import CASES as RESUME

from .wspump import frame

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 4.2.2


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0) as running:
        yield running


def ws_url(running: RunningBroker, path: str = "/", host: str = "127.0.0.1") -> str:
    scheme = "amqpwss" if running.broker.ssl_context else "amqpws"
    return f"{scheme}://{host}:{running.ws_port}{path}"


def qname() -> str:
    return f"ws-asyncio-{os.urandom(4).hex()}"


def layer_of(conn: amqp.Connection) -> WebSocketLayer:
    """The WebSocket layer under a connection (its transport's extra info)."""
    assert conn._transport is not None
    layer = conn._transport.get_extra_info("websocket")
    assert isinstance(layer, WebSocketLayer)
    return layer


async def round_trip(conn: amqp.Connection, bodies: list[bytes], timeout: float = 10) -> list[bytes]:
    """Send ``bodies`` to a fresh queue and receive them back, on ``conn``."""
    queue = qname()
    async with conn.open_session() as session:
        async with session.open_sender(queue) as sender:
            for body in bodies:
                await sender.send(Message(body), timeout=timeout)
        async with session.open_receiver(queue, credit=10) as receiver:
            got = []
            for _ in bodies:
                msg = await receiver.receive(timeout=timeout)
                await receiver.accept(msg)
                got.append(data_of(msg))
    return got


async def eventually(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


def data_of(msg: amqp.ReceivedMessage) -> bytes:
    data = msg.body
    assert isinstance(data, (bytes, list))
    return b"".join(data) if isinstance(data, list) else data


# -- the embedded broker and rhea ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/$servicebus/websocket"])
def test_send_and_receive_over_amqpws_to_the_embedded_broker(broker: RunningBroker,
                                                              path: str) -> None:
    async def main() -> None:
        async with amqp.open_connection(ws_url(broker, path), sasl=None) as conn:
            layer = layer_of(conn)
            assert layer.subprotocol == "amqp" and layer.path == path
            bodies = [f"ws {i}".encode() for i in range(5)]
            assert await round_trip(conn, bodies) == bodies
        # Closing sent the AMQP close, then our WebSocket close, which the broker answered.
        assert conn.error is None and layer.closed and layer.close_code == 1000
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_what_goes_over_websocket_is_the_same_queue_as_over_tcp(broker: RunningBroker) -> None:
    queue = qname()

    async def main() -> None:
        async with amqp.open_connection(ws_url(broker), sasl=None) as conn, \
                conn.open_session() as session, session.open_sender(queue) as sender:
            await sender.send(Message(b"via ws"))
        async with amqp.open_connection(broker.url, sasl=None) as conn, \
                conn.open_session() as session, \
                session.open_receiver(queue, credit=1) as receiver:
            assert conn._transport is not None
            assert conn._transport.get_extra_info("websocket") is None  # plain: no layer
            assert data_of(await receiver.receive(timeout=10)) == b"via ws"

    run(main(), timeout=60)


@pytest.fixture(scope="module")
def rhea() -> Peer:
    peer = start("rhea-broker-ws")
    assert peer.ws_port is not None
    return peer


def test_send_and_receive_over_rheas_websocket_listener(rhea: Peer) -> None:
    async def main() -> None:
        url = f"amqpws://guest:guest@127.0.0.1:{rhea.ws_port}/$servicebus/websocket"
        async with amqp.open_connection(url, allow_plain_without_tls=True) as conn:
            assert layer_of(conn).subprotocol == "amqp"  # rhea takes only the binding's name
            bodies = [f"to rhea {i}".encode() for i in range(5)] + [os.urandom(300_000)]
            assert await round_trip(conn, bodies, timeout=30) == bodies
        assert conn.error is None

    run(main(), timeout=60)


def test_a_ten_mib_message_both_ways_over_websocket(broker: RunningBroker) -> None:
    payload = os.urandom(10 * 1024 * 1024)

    async def main() -> None:
        async with amqp.open_connection(ws_url(broker), sasl=None, timeout=60) as conn:
            (back,) = await round_trip(conn, [payload], timeout=60)
        assert back == payload

    run(main(), timeout=120)


# -- amqpwss:// ------------------------------------------------------------------------------

def test_amqpwss_verifies_the_brokers_certificate(tls_broker: RunningBroker, pki: Pki) -> None:
    async def main() -> None:
        url = ws_url(tls_broker, "/$servicebus/websocket", host="localhost")
        async with amqp.open_connection(url, sasl=None, ssl_context=pki.client_context()) as conn:
            assert conn._transport is not None
            assert conn._transport.get_extra_info("ssl_object") is not None
            assert await round_trip(conn, [b"over wss"]) == [b"over wss"]
        with pytest.raises(ssl.SSLCertVerificationError):  # the default context: no such CA
            await amqp.open_connection(url, sasl=None, reconnect=False)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"wrong\.example"):
            await amqp.open_connection(url, sasl=None, ssl_context=pki.client_context(),
                                       server_hostname="wrong.example")
        assert await no_other_tasks()

    run(main(), timeout=60)


# -- refusals and hostile peers: typed and fast -----------------------------------------------

class FakeWsServer:
    """A loopback port serving ``count`` connections in turn, for a script:
    ``answer(request)`` gives the bytes sent back to the upgrade request (None: close at
    once); ``then`` more bytes, each piece once the client sent something more (its AMQP
    header, an answer), a ``b""`` piece closing the socket at once. The first request is ``request``; what the client sent after the
    last one is in ``received`` once it closed or 5 s passed; ``served`` counts them."""

    def __init__(self, answer: Callable[[bytes], bytes | None],
                 then: Sequence[bytes] = (), count: int = 1) -> None:
        self._answer = answer
        self._then = then
        self.request = b""
        self.received = b""
        self.served = 0
        self.done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, args=(count,), daemon=True).start()

    def _serve(self, count: int) -> None:
        try:
            for _ in range(count):
                conn, _ = self._server.accept()
                with conn:
                    conn.settimeout(5)
                    self._one(conn)
                self.served += 1
        finally:
            self._server.close()
            self.done.set()

    def _one(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        request, _, self.received = data.partition(b"\r\n\r\n")
        self.request = self.request or request
        answer = self._answer(request)
        if answer is None:
            return
        conn.sendall(answer)
        then, seen = list(self._then), 0
        end = time.monotonic() + 5
        while time.monotonic() < end:
            if then and len(self.received) > seen:
                seen = len(self.received)
                conn.sendall(then.pop(0))
                if then and not then[0]:  # b"" next: close the socket right after
                    return
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk


def accept_upgrade(request: bytes) -> bytes:
    """A 101 answer with the right Sec-WebSocket-Accept, choosing the subprotocol amqp."""
    key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: amqp\r\n\r\n")


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, unmasked payload) of each whole masked frame a client sent."""
    frames = []
    while len(data) >= 6:
        opcode, size, at = data[0] & 0x0F, data[1] & 0x7F, 2
        if size == 126:
            size, at = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, at = int.from_bytes(data[2:10], "big"), 10
        mask, payload = data[at:at + 4], data[at + 4:at + 4 + size]
        if len(payload) < size:
            break
        frames.append((opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))))
        data = data[at + 4 + size:]
    return frames


def test_a_404_refusal_is_typed_with_its_status_and_the_request_was_right() -> None:
    server = FakeWsServer(lambda _: b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(WebSocketHandshakeError) as info:
            await amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/$servicebus/websocket",
                                       sasl=None, connect_timeout=10)
        assert info.value.status == 404 and time.monotonic() - t0 < 5  # not the timeout
        assert await no_other_tasks()

    run(main(), timeout=30)
    lines = server.request.split(b"\r\n")
    assert lines[0] == b"GET /$servicebus/websocket HTTP/1.1"
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines[1:])}
    assert headers[b"host"] == f"127.0.0.1:{server.port}".encode()
    assert headers[b"sec-websocket-protocol"] == b"amqp, AMQPWSB10"


def test_the_brokers_amqp_port_is_no_websocket_server(broker: RunningBroker) -> None:
    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(WebSocketHandshakeError, match="handshake"):
            await amqp.open_connection(f"amqpws://127.0.0.1:{broker.port}/", sasl=None,
                                       connect_timeout=10)
        assert time.monotonic() - t0 < 5

    run(main(), timeout=30)


def test_a_text_frame_fails_the_connection_with_1003_and_the_cause() -> None:
    text_frame = frame(0x1, b"not amqp", mask=None)
    server = FakeWsServer(accept_upgrade, then=[text_frame])

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError, match="text message") as info:
            await amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None,
                                       connect_timeout=10, reconnect=False)
        assert time.monotonic() - t0 < 5
        assert not isinstance(info.value, WebSocketHandshakeError)

    run(main(), timeout=30)
    assert server.done.wait(10)
    frames = client_frames(server.received)
    # Our header and open in a binary message, then our close frame answering the text.
    assert frames[0][0] == 0x2 and frames[0][1].startswith(b"AMQP\x00\x01\x00\x00\x00\x00")
    assert frames[-1][0] == 0x8 and int.from_bytes(frames[-1][1][:2], "big") == 1003


def test_a_ping_is_answered_and_a_close_mid_open_is_typed() -> None:
    # The peer pings when our AMQP header came, then closes the WebSocket once answered.
    server = FakeWsServer(accept_upgrade, then=[
        frame(0x9, b"are you there", mask=None),
        frame(0x8, (1001).to_bytes(2, "big") + b"going away", mask=None)])

    async def main() -> None:
        with pytest.raises(ConnectionClosedError):
            await amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None,
                                       connect_timeout=10, reconnect=False)

    run(main(), timeout=30)
    assert server.done.wait(10)
    frames = client_frames(server.received)
    assert (0xA, b"are you there") in frames  # the pong, with the ping's payload
    assert frames[-1] == (0x8, (1001).to_bytes(2, "big") + b"going away")  # close answered


def test_a_socket_closed_inside_a_frame_fails_the_connection_with_that_cause() -> None:
    half = frame(0x2, b"AMQP\x00\x01\x00\x00", mask=None)[:5]  # a frame cut short
    server = FakeWsServer(accept_upgrade, then=[half, b""])

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError, match="inside a WebSocket frame"):
            await amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None,
                                       connect_timeout=10, reconnect=False)
        assert time.monotonic() - t0 < 5
        assert await no_other_tasks()

    run(main(), timeout=30)


def test_the_connect_timeout_covers_an_upgrade_never_answered() -> None:
    server = FakeWsServer(lambda _: b"")  # reads the request, says nothing

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match=r"connecting to 127\.0\.0\.1:\d+: no answer within 0\.\d+ s"):
            await amqp.open_connection(f"amqpws://127.0.0.1:{server.port}/", sasl=None,
                                       connect_timeout=0.5)
        assert time.monotonic() - t0 < 3
        assert await no_other_tasks()

    run(main(), timeout=30)


def test_without_wsproto_the_error_names_the_extra(broker: RunningBroker) -> None:
    script = (
        "import sys, asyncio\n"
        "sys.modules['wsproto'] = None\n"  # as if it were not installed
        "import amqp10_asyncio as amqp\n"
        "async def main():\n"
        f"    async with amqp.open_connection({broker.url!r}, sasl=None): pass\n"
        "    assert 'amqp10_ws' not in sys.modules, 'a plain URL imported amqp10_ws'\n"
        "    try:\n"
        f"        amqp.open_connection({ws_url(broker)!r}, sasl=None)\n"
        "    except ImportError as exc:\n"
        "        print('ImportError:', exc)\n"
        "asyncio.run(main())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert "ImportError:" in out.stdout and "pip install 'amqp10[ws]'" in out.stdout


# -- reconnect over WebSocket ----------------------------------------------------------------

def test_reconnect_over_websocket_after_the_connection_is_cut(broker: RunningBroker) -> None:
    queue = qname()
    assert broker.ws_port is not None
    with FaultProxy(broker.ws_port) as proxy:
        async def main() -> None:
            policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.2)
            async with amqp.open_connection(f"amqpws://127.0.0.1:{proxy.port}/ws", sasl=None,
                                            reconnect=policy, timeout=20) as conn:
                session = await conn.open_session()
                sender = await session.open_sender(queue)
                await sender.send(Message(b"before"))
                first = layer_of(conn)
                proxy.drop_to_client()  # the broker's bytes stop: then the cut
                proxy.cut()
                await sender.send(Message(b"after"), timeout=20)  # waits for the new transport
                assert layer_of(conn) is not first and layer_of(conn).open  # a fresh layer
                receiver = await session.open_receiver(queue, credit=5)
                got = [data_of(await receiver.receive(timeout=10)) for _ in range(2)]
                assert got == [b"before", b"after"]
            assert proxy.stats().accepted >= 2
            assert await no_other_tasks()

        run(main(), timeout=90)


def test_a_refused_upgrade_is_one_failed_try_first_and_when_reconnecting(
        broker: RunningBroker) -> None:
    refusing = FakeWsServer(lambda _: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                            count=2)
    assert broker.ws_port is not None
    with FaultProxy(broker.ws_port) as proxy:
        async def main() -> None:
            urls = [f"amqpws://127.0.0.1:{refusing.port}/", f"amqpws://127.0.0.1:{proxy.port}/"]
            policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.2)
            async with amqp.open_connection(urls, sasl=None, reconnect=policy,
                                            timeout=20) as conn:
                await eventually(lambda: refusing.served == 1)  # refused: the next URL took it
                sender = await (await conn.open_session()).open_sender(qname())
                proxy.cut()  # reconnecting goes round the list: the refusal, then the broker
                await sender.send(Message(b"back"), timeout=20)
                assert layer_of(conn).open
            await eventually(lambda: refusing.served == 2)
            assert proxy.stats().accepted >= 2
            assert await no_other_tasks()

        run(main(), timeout=90)


# -- capabilities of the open (2.7.1) ---------------------------------------------------------

def _client_open_capabilities(running: RunningBroker, container_id: str) -> tuple[object, object]:
    for server_conn in list(running.broker.connections):
        remote = getattr(server_conn.core, "remote_open", None)
        if remote is not None and remote.container_id == container_id:
            return remote.offered_capabilities, remote.desired_capabilities
    raise AssertionError(f"the broker has no connection from {container_id}")


def test_offered_and_desired_capabilities_reach_the_broker_and_its_come_back(
        broker: RunningBroker) -> None:
    async def main() -> None:
        async with amqp.open_connection(
                ws_url(broker), sasl=None, container_id="caps-ws",
                offered_capabilities=["ours-1", "ours-2"],
                desired_capabilities=["ANONYMOUS-RELAY"]) as conn:
            assert conn.remote_offered_capabilities == ["ANONYMOUS-RELAY"]
            assert _client_open_capabilities(broker, "caps-ws") == (
                ["ours-1", "ours-2"], ["ANONYMOUS-RELAY"])
        sock = socket.create_connection(("127.0.0.1", broker.port))
        async with amqp.connect(sock, container_id="caps-sock",
                                desired_capabilities=["x-wanted"]) as conn:
            assert conn.remote_offered_capabilities == ["ANONYMOUS-RELAY"]
            assert _client_open_capabilities(broker, "caps-sock") == (None, ["x-wanted"])

    run(main(), timeout=60)


@pytest.mark.parametrize("bad", [["ok", 3], "ANONYMOUS-RELAY", [b"bytes"]])
def test_capabilities_must_be_lists_of_str(bad: object) -> None:
    with pytest.raises(TypeError, match="offered_capabilities"):
        amqp.open_connection("amqp://127.0.0.1:1", offered_capabilities=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="desired_capabilities"), socket.socket() as sock:
        amqp.connect(sock, desired_capabilities=bad)  # type: ignore[arg-type]



# -- the reconnect and link-recovery stories, over WebSocket ----------------------------------

class WsFaultProxy(FaultProxy):
    """tests/faultproxy.py in front of the broker's WebSocket port (it sits at TCP level):
    the stories connect to ``amqpws://`` through it."""

    @property
    def url(self) -> str:
        return f"amqpws://127.0.0.1:{self.port}/"  # (as conn.url shows it: with the path)


@pytest.fixture
def ws_proxy(broker: RunningBroker) -> Iterator[FaultProxy]:
    assert broker.ws_port is not None
    with WsFaultProxy(broker.ws_port) as proxy:
        yield proxy


@pytest.mark.parametrize("story", RESILIENCE + RESUME, ids=lambda story: story.__name__)
def test_the_reconnect_stories_over_websocket(story: Case, ws_proxy: FaultProxy,
                                              broker: RunningBroker) -> None:
    async def main() -> None:
        await story(amqp, ws_proxy, broker)
        assert await no_other_tasks()

    run(main(), timeout=90)
