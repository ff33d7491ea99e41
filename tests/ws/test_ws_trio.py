"""The trio adapter over WebSocket (issue 13): ``open_connection("amqpws://...")`` and
``amqpwss://`` to the embedded broker's WebSocket listener and to rhea's (a server we did
not write), the request the upgrade sends (path, Host, subprotocols) and the close that
ends it, read back from the exact bytes on the wire; a 10 MiB message both ways; refusals
and hostile frames typed and fast; pings answered; reconnecting after a cut; the
connection's capabilities; and the ImportError naming ``amqp10[ws]`` without wsproto."""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trio
import trio.testing

import amqp10_trio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from amqp10_ws import WebSocketError, WebSocketHandshakeError, WebSocketLayer
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.interop.peers import Peer, start
from tests.resilience.test_reconnect_sync import FAST

GUARD = 60  # a hang guard for each story, far above what any takes
CLOSE = b"\x00\x53\x18"  # the close performative's descriptor (2.7.9: 0x00000000:0x00000018)


def run(main: Callable[..., Awaitable[object]], *args: object) -> None:
    """``trio.run(main, *args)`` under a hang guard."""
    async def guarded() -> None:
        with trio.fail_after(GUARD):
            await main(*args)

    trio.run(guarded)


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, allow_anonymous=True) as running:
        yield running


def ws_port(running: RunningBroker | Peer) -> int:
    assert running.ws_port is not None
    return running.ws_port


def queue() -> str:
    return f"ws-trio-{os.urandom(4).hex()}"


async def round_trip(url: str | list[str], bodies: list[bytes], **options: Any) -> list[bytes]:
    """Send ``bodies`` to a fresh queue over ``url`` and receive them back."""
    q = queue()
    async with amqp.open_connection(url, **options) as conn, conn.open_session() as s, \
            s.open_sender(q) as sender, s.open_receiver(q, credit=10) as receiver:
        for body in bodies:
            await sender.send(Message(body), timeout=30)
        return [bytes((await receiver.receive(timeout=30)).body) for _ in bodies]


async def serve(nursery: trio.Nursery,
                handler: Callable[[trio.SocketStream], Awaitable[None]]) -> int:
    """Serve ``handler`` on a free loopback port, in ``nursery``; the port."""
    (listener,) = await nursery.start(functools.partial(trio.serve_tcp, handler, 0,
                                                        host="127.0.0.1"))
    port: int = listener.socket.getsockname()[1]
    return port


class Relay:
    """A TCP relay in the test's trio run that records what the client sent."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sent = bytearray()
        self.done = trio.Event()  # the client's side ended

    async def start(self, nursery: trio.Nursery) -> int:
        return await serve(nursery, self._handle)

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client, await trio.open_tcp_stream("127.0.0.1", self.upstream) as up, \
                trio.open_nursery() as nursery:
            async def down() -> None:
                while data := await up.receive_some(1 << 16):
                    await client.send_all(data)

            nursery.start_soon(down)
            try:
                while data := await client.receive_some(1 << 16):
                    self.sent += data
                    await up.send_all(data)
            finally:
                self.done.set()
                nursery.cancel_scope.cancel()


def amqp_frames(data: bytes) -> list[bytes]:
    """The AMQP frames (2.3.1) of a byte stream, its protocol headers skipped."""
    frames, at = [], 0
    while at < len(data):
        if data[at:at + 4] == b"AMQP":
            at += 8
            continue
        size = int.from_bytes(data[at:at + 4], "big")
        frames.append(data[at:at + size])
        at += size
    return frames


@pytest.mark.parametrize("path", ["/", "/$servicebus/websocket"])
def test_send_and_receive_over_amqpws_and_the_bytes_on_the_wire(
        broker: RunningBroker, path: str) -> None:
    """The upgrade asks for the URL's path with Host host:port and offers amqp, then
    AMQPWSB10; closing sends the AMQP close, then a WebSocket close frame (1000)."""
    relay = Relay(ws_port(broker))
    got: list[bytes] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await relay.start(nursery)
            got.extend(await round_trip(f"amqpws://127.0.0.1:{port}{path}",
                                        [b"one", b"two" * 1000]))
            await relay.done.wait()
            nursery.cancel_scope.cancel()

    run(main)
    assert got == [b"one", b"two" * 1000]
    head, _, _ = bytes(relay.sent).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == f"GET {path} HTTP/1.1".encode()
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])}
    assert headers[b"host"] == f"127.0.0.1:{relay_port(lines)}".encode()
    assert headers[b"sec-websocket-protocol"] == b"amqp, AMQPWSB10"
    server = WebSocketLayer("server")  # reads our frames back as the server did
    server.receive_data(bytes(relay.sent))
    assert server.path == path and server.subprotocol == "amqp"
    assert server.close_code == 1000  # our close frame came last
    frames = amqp_frames(server.received())
    last = frames[-1]
    assert last[4 * last[4]:].startswith(CLOSE)  # the AMQP close, just before it


def relay_port(lines: list[bytes]) -> int:
    """The port the Host header names (the relay's, which the test chose at random)."""
    host = next(x for x in lines if x.lower().startswith(b"host:"))
    return int(host.rsplit(b":", 1)[1])


@pytest.mark.parametrize("path", ["/", "/$servicebus/websocket"])
def test_send_and_receive_over_rheas_websocket(path: str) -> None:
    rhea = start("rhea-broker-ws")
    got: list[bytes] = []

    async def main() -> None:
        got.extend(await round_trip(f"amqpws://guest:guest@127.0.0.1:{ws_port(rhea)}{path}",
                                    [b"to rhea", os.urandom(200_000)]))

    run(main)
    assert got[0] == b"to rhea" and len(got[1]) == 200_000


def test_ten_mib_both_ways_over_websocket(broker: RunningBroker) -> None:
    big = os.urandom(10 * 1024 * 1024)
    q = queue()

    async def main() -> None:
        url = broker.ws_url
        async with amqp.open_connection(url) as conn, conn.open_session() as s, \
                s.open_sender(q) as sender:
            await sender.send(Message(big), timeout=60)
        async with amqp.open_connection(url) as conn, conn.open_session() as s, \
                s.open_receiver(q, credit=1) as receiver:
            msg = await receiver.receive(timeout=60)
            assert bytes(msg.body) == big
            await receiver.accept(msg)

    run(main)


def test_amqpwss_verifies_the_broker_and_refuses_a_wrong_name(pki: Pki) -> None:
    with start_broker(ws_port=0, allow_anonymous=True,
                      ssl_context=pki.server_context(require_client_cert=False)) as tls:
        url = tls.ws_url
        assert url.startswith("amqpwss://")
        got: list[bytes] = []

        async def ok() -> None:
            got.extend(await round_trip(url, [b"secret"], ssl_context=pki.client_context()))

        run(ok)
        assert got == [b"secret"]

        async def refused(options: dict[str, Any]) -> None:
            async with amqp.open_connection(url, reconnect=False, **options):
                raise AssertionError("connected to a broker whose name does not match")

        options: dict[str, Any]
        for options in ({"ssl_context": pki.client_context(), "server_hostname": "other.example"},
                        {}):  # the default context does not trust the test's CA
            with pytest.raises(trio.BrokenResourceError) as info:
                run(refused, options)
            assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


async def _answer_404(stream: trio.SocketStream) -> None:
    async with stream:
        await stream.receive_some(1 << 16)
        await stream.send_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n")


def test_a_refused_upgrade_is_typed_and_fast(broker: RunningBroker) -> None:
    """An HTTP server answering 404, and the broker's plain AMQP port: the upgrade fails
    as WebSocketHandshakeError at once (not at the 30 s connect timeout)."""
    async def connect(url: str) -> None:
        with trio.fail_after(5):
            async with amqp.open_connection(url, connect_timeout=30):
                raise AssertionError("connected")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, _answer_404)
            with pytest.raises(WebSocketHandshakeError) as info:
                await connect(f"amqpws://127.0.0.1:{port}/$servicebus/websocket")
            assert info.value.status == 404
            with pytest.raises(WebSocketHandshakeError, match="WebSocket handshake"):
                await connect(f"amqpws://127.0.0.1:{broker.port}/")
            nursery.cancel_scope.cancel()

    run(main)


def test_a_failover_list_moves_past_a_refused_upgrade(broker: RunningBroker) -> None:
    got: list[bytes] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, _answer_404)
            got.extend(await round_trip([f"amqpws://127.0.0.1:{port}/", broker.ws_url],
                                        [b"second"]))
            nursery.cancel_scope.cancel()

    run(main)
    assert got == [b"second"]


GONE = (trio.ClosedResourceError, trio.BrokenResourceError)


class WsFront:
    """A WebSocket front in the test's trio run: it ends the client's WebSocket (amqp10_ws's
    server layer), passes the AMQP bytes to the broker's TCP port and back, and can put
    frames of its own (raw bytes) on the client's wire."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.layers: list[WebSocketLayer] = []
        self._clients: list[trio.SocketStream] = []
        self._lock = trio.Lock()
        self.ended = trio.Event()

    async def start(self, nursery: trio.Nursery) -> int:
        return await serve(nursery, self._handle)

    async def inject(self, raw: bytes) -> None:
        async with self._lock:
            await self._clients[-1].send_all(raw)

    async def _write(self, client: trio.SocketStream, layer: WebSocketLayer) -> None:
        async with self._lock:
            if data := layer.data_to_send():
                with contextlib.suppress(*GONE):  # the test cut the client off
                    await client.send_all(data)

    async def _handle(self, client: trio.SocketStream) -> None:
        layer = WebSocketLayer("server")
        self.layers.append(layer)
        self._clients.append(client)
        async with client, await trio.open_tcp_stream("127.0.0.1", self.upstream) as up, \
                trio.open_nursery() as nursery:
            async def down() -> None:
                while data := await up.receive_some(1 << 16):
                    if layer.open:
                        layer.send(data)
                        await self._write(client, layer)

            nursery.start_soon(down)
            try:
                while not layer.closed:
                    try:
                        layer.receive_data(await client.receive_some(1 << 16))
                    except (WebSocketError, *GONE):
                        break
                    finally:
                        await self._write(client, layer)
                    if amqp_bytes := layer.received():
                        await up.send_all(amqp_bytes)
            finally:
                self.ended.set()
                nursery.cancel_scope.cancel()


def test_pings_from_the_peer_are_answered_and_the_connection_carries_on(
        broker: RunningBroker) -> None:
    front = WsFront(broker.port)
    got: list[bytes] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await front.start(nursery)
            q = queue()
            async with amqp.open_connection(f"amqpws://127.0.0.1:{port}/") as conn, \
                    conn.open_session() as s, s.open_sender(q) as sender, \
                    s.open_receiver(q, credit=5) as receiver:
                await sender.send(Message(b"before"))
                await front.inject(b"\x89\x05hello")  # a ping (RFC 6455 5.5.2), unmasked
                with trio.fail_after(5):
                    while front.layers[0].pongs == 0:
                        await trio.sleep(0.01)
                await sender.send(Message(b"after"))
                got.extend([bytes((await receiver.receive(timeout=10)).body) for _ in "ab"])
            nursery.cancel_scope.cancel()

    run(main)
    assert front.layers[0].pongs == 1
    assert got == [b"before", b"after"]


@pytest.mark.parametrize(("raw", "cut", "code", "text"), [
    # AMQP travels in binary messages; then a frame of 16 bytes announced, 4 sent, cut.
    (b"\x81\x02hi", False, 1003, "WebSocketError: a text message"),
    (b"\x82\x10half", True, 1006, "WebSocketError: the connection closed inside a WebSocket"),
    (b"\x88\x0c\x03\xf3overloaded", False, 1011, "WebSocket with code 1011 .overloaded"),
])
def test_a_hostile_frame_ends_the_connection_typed(broker: RunningBroker, raw: bytes, cut: bool,
                                                   code: int, text: str) -> None:
    """A text frame is answered with our close frame 1003; a frame cut by the socket
    closing is an error; a close frame with an error code is answered (its code echoed,
    5.5.1): the calls fail with ConnectionClosedError saying which."""
    front = WsFront(broker.port)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await front.start(nursery)
            async with amqp.open_connection(f"amqpws://127.0.0.1:{port}/",
                                            reconnect=False) as conn:
                session = await conn.open_session()
                await front.inject(raw)
                if cut:
                    await front._clients[-1].aclose()
                with pytest.raises(ConnectionClosedError, match=text):
                    with trio.fail_after(5):
                        await conn.wait_closed()
                        await session.open_sender("q")
            with trio.fail_after(5):
                await front.ended.wait()
            nursery.cancel_scope.cancel()

    run(main)
    if not cut:
        assert front.layers[0].close_code == code  # our close frame told it why
    else:
        assert front.layers[0].close_code is None or front.layers[0].close_code == code


def test_reconnect_over_websocket_after_a_cut(broker: RunningBroker) -> None:
    """The fault proxy sits at TCP level between us and the WebSocket listener: after a
    cut, and after answers stop coming back then a cut, each dial upgrades afresh and
    what was sent arrives (what was in doubt at least once)."""
    q = queue()
    with FaultProxy(ws_port(broker)) as proxy:
        async def main() -> list[bytes]:
            async with amqp.open_connection(f"amqpws://127.0.0.1:{proxy.port}/ws",
                                            reconnect=FAST, timeout=30) as conn:
                session = await conn.open_session()
                sender = await session.open_sender(q)
                await sender.send(Message(b"m0"))
                proxy.cut()
                await sender.send(Message(b"m1"))  # waits for the new transport
                proxy.drop_to_client()
                in_doubt = await sender.send_nowait(Message(b"m2"))
                await trio.sleep(0.2)
                proxy.cut()
                await sender.wait_settled(in_doubt, timeout=30)
                assert conn.reconnects == 2
                receiver = await session.open_receiver(q, credit=10)
                bodies = []
                with trio.move_on_after(1):
                    while True:
                        msg = await receiver.receive(timeout=30)
                        bodies.append(bytes(msg.body))
                        await receiver.accept(msg)
                return bodies

        bodies: list[bytes] = []

        async def outer() -> None:
            bodies.extend(await main())

        run(outer)
        assert proxy.stats().accepted == 3
    assert sorted(set(bodies)) == [b"m0", b"m1", b"m2"]


def test_capabilities_reach_the_broker_and_its_offer_comes_back(broker: RunningBroker) -> None:
    seen: list[object] = []
    me = f"trio-caps-{os.urandom(4).hex()}"

    async def main() -> None:
        async with amqp.open_connection(broker.ws_url, container_id=me,
                                        offered_capabilities=["amqp10-test"],
                                        desired_capabilities=["ANONYMOUS-RELAY"]) as conn:
            assert conn.remote_offered_capabilities == ["ANONYMOUS-RELAY"]
            opens = [c.core.remote_open for c in list(broker.broker.connections)
                     if c.core is not None and c.core.remote_open is not None]
            seen.extend((o.offered_capabilities, o.desired_capabilities) for o in opens
                        if o.container_id == me)

    run(main)
    assert seen == [(["amqp10-test"], ["ANONYMOUS-RELAY"])]
    for bad in (["ok", 1], "ANONYMOUS-RELAY"):
        with pytest.raises(TypeError, match="desired_capabilities"):
            amqp.open_connection(broker.ws_url, desired_capabilities=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="offered_capabilities"):
            amqp.connect(trio.testing.memory_stream_pair()[0],
                         offered_capabilities=bad)  # type: ignore[arg-type]


def test_without_wsproto_a_ws_url_names_the_extra_and_amqp_urls_do_not_need_it() -> None:
    code = ("import sys; sys.modules['wsproto'] = None\n"
            "import amqp10_trio\n"
            "amqp10_trio.open_connection('amqp://127.0.0.1:1/')\n"
            "print('amqp10_ws' in sys.modules)\n"
            "try:\n"
            "    amqp10_trio.open_connection('amqpwss://127.0.0.1:1/$servicebus/websocket')\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out[0] == "False"
    assert "pip install 'amqp10[ws]'" in out[1]
