"""How the asyncio adapter reaches a URL: the transport under a connection's protocol.

A plain ``amqp://`` or ``amqps://`` URL with no proxy is what it always was, one
``loop.create_connection`` with the connection's protocol on the socket (the hot path:
no layer, no copy). Otherwise the dial builds the stack step by step within the
connect timeout: TCP to the HTTP proxy and its CONNECT tunnel (amqp10_proto._proxy),
TLS inside it (``loop.start_tls``, verifying the broker's name, never the proxy's), and
for ``amqpws://``/``amqpwss://`` the WebSocket upgrade (amqp10_ws, imported only then).
While a step talks to the proxy or the WebSocket server, a :class:`_Reader` is the
transport's protocol; at the end the connection's protocol takes the transport over
(``set_protocol``), behind a :class:`WebSocketStream` when AMQP rides in WebSocket
messages. Each dial builds afresh, so a reconnect goes through the same steps.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import ParsedURL
from amqp10_proto._proxy import ProxyHandshake, ProxyURL, proxy_for, proxy_unreachable
from amqp10_proto.client import ProxyOption, SaslOption, url_mechanisms
from amqp10_proto.errors import ProxyError, RemoteProtocolError

if TYPE_CHECKING:
    from amqp10_ws import WebSocketLayer

__all__ = ["Dialer", "WebSocketStream", "require_websocket", "timed"]

#: Seconds a closing WebSocket waits for the peer's close frame (RFC 6455 7.1.2) or for
#: its last bytes to drain before the socket is dropped.
CLOSE_GRACE = 5.0


def require_websocket(urls: Sequence[ParsedURL]) -> None:
    """Import amqp10_ws if any URL needs it: its ImportError says to install ``amqp10[ws]``
    at once, not at the first dial (and plain URLs never import it)."""
    if any(url.ws for url in urls):
        import amqp10_ws  # noqa: F401


async def timed(coro: Awaitable[Any], timeout: float, what: str) -> Any:
    """``await coro`` within ``timeout`` seconds, else the builtin TimeoutError saying what."""
    try:
        return await asyncio.wait_for(coro, timeout)
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        raise TimeoutError(f"{what}: no answer within {timeout} s") from None


class Dialer:
    """How to reach a URL of ``open_connection``'s list: a fresh core for it (one
    container-id across transports, 2.4.1) and a transport to it (TLS per URL, the
    proxy that ``http_proxy`` or the environment names at each dial)."""

    def __init__(self, *, sasl: SaslOption, ssl_context: ssl.SSLContext | None,
                 server_hostname: str | None, hostname: str | None,
                 container_id: str | None, http_proxy: ProxyOption,
                 options: dict[str, Any]) -> None:
        self._sasl = sasl
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._hostname = hostname
        self._container_id = container_id
        self._http_proxy = http_proxy
        self._options = options

    def core(self, url: ParsedURL) -> CoreConnection:
        core = CoreConnection(container_id=self._container_id,
                              hostname=self._hostname or url.open_hostname,
                              sasl=url_mechanisms(url, self._sasl), **self._options)
        self._container_id = core.container_id
        return core

    async def connect(self, url: ParsedURL, protocol: asyncio.Protocol, limit: float) -> None:
        """Open a transport to ``url`` for ``protocol`` within ``limit`` seconds (all of it:
        the proxy, TLS, the WebSocket upgrade). Raises OSError (ProxyError among them),
        TimeoutError, or WebSocketError when the upgrade is refused."""
        context = (self._ssl_context or ssl.create_default_context()) if url.tls else None
        server_hostname = (self._server_hostname or url.host) if context else None
        proxy = proxy_for(url, self._http_proxy, os.environ)  # the environment of now
        loop = asyncio.get_running_loop()
        if proxy is None and not url.ws:  # the hot path: the protocol right on the socket
            await timed(loop.create_connection(
                lambda: protocol, url.host, url.port, ssl=context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=limit if context else None),
                limit, f"connecting to {url.host}:{url.port}")
            return
        via = "" if proxy is None else f" through the HTTP proxy {proxy.where}"
        await timed(self._stack(url, protocol, proxy, context, server_hostname, limit),
                    limit, f"connecting to {url.where}{via}")

    async def _stack(self, url: ParsedURL, protocol: asyncio.Protocol, proxy: ProxyURL | None,
                     context: ssl.SSLContext | None, server_hostname: str | None,
                     limit: float) -> None:
        """The dial of a URL that needs more than a socket: each step in turn, the
        transport dropped if one fails (or the timeout cancels it)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        reader = _Reader(loop)
        if proxy is None:
            transport: asyncio.Transport = (await loop.create_connection(
                lambda: reader, url.host, url.port, ssl=context, server_hostname=server_hostname,
                ssl_handshake_timeout=limit if context else None))[0]
        else:
            transport = await self._tunnel(reader, proxy, url)
        raw = transport
        try:
            if proxy is not None and context is not None:
                if reader.pending:  # a TLS server never speaks first
                    raise ProxyError(f"the HTTP proxy {proxy.where} sent bytes of its own "
                                     "after opening the tunnel", proxy=proxy.where)
                tls = await loop.start_tls(
                    raw, reader, context, server_hostname=server_hostname,
                    ssl_handshake_timeout=max(end - loop.time(), 0.001))
                if tls is None:  # (typeshed's Optional: closed under us)
                    raise ConnectionResetError(f"{url.where}: the tunnel closed during TLS")
                transport = tls
            if url.ws:
                await _upgrade(transport, reader, protocol, url)
            else:
                _hand_over(transport, reader, protocol)
        except BaseException:
            transport.abort()
            raw.abort()
            raise

    async def _tunnel(self, reader: _Reader, proxy: ProxyURL, url: ParsedURL) -> asyncio.Transport:
        """TCP to the proxy and its CONNECT to ``url``: the open tunnel (the proxy's
        refusal is ProxyError, typed with its status)."""
        loop = asyncio.get_running_loop()
        try:
            transport = (await loop.create_connection(lambda: reader, proxy.host, proxy.port))[0]
        except OSError as exc:  # said of the proxy: a ConnectionRefusedError is the broker's
            # (asyncio's text is "Connect call failed": the errno's own words say why.)
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise proxy_unreachable(proxy, why) from exc
        try:
            handshake = ProxyHandshake(proxy, url.host, url.port)
            transport.write(handshake.data_to_send())
            while not handshake.done:
                handshake.receive_data(await reader.read())
        except BaseException:
            transport.abort()
            raise
        reader.unread(handshake.trailing)
        return transport


class _Reader(asyncio.Protocol):
    """The transport's protocol while the dial talks to the proxy or the WebSocket server:
    it keeps what they sent for the dial's coroutine to read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._chunks: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self.eof = False  # the peer closed its side
        self.lost = False  # the transport is gone

    @property
    def pending(self) -> bool:
        return bool(self._chunks)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def unread(self, data: bytes) -> None:
        if data:
            self._chunks.insert(0, data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data

    async def read(self) -> bytes:
        """What came since the last read, waiting for something; ``b""`` once closed."""
        while not self._chunks and not (self.eof or self.lost):
            self._waiter = self._loop.create_future()
            await self._waiter
        return self.take()


def _hand_over(transport: asyncio.Transport, reader: _Reader, protocol: asyncio.Protocol) -> None:
    """The stack is up: ``protocol`` takes the transport, with what came in meanwhile."""
    if reader.lost:
        raise ConnectionResetError("the peer closed the connection as it was being set up")
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    data = reader.take()
    if data:
        protocol.data_received(data)
    if reader.eof:
        protocol.eof_received()


async def _upgrade(transport: asyncio.Transport, reader: _Reader, protocol: asyncio.Protocol,
                   url: ParsedURL) -> None:
    """The WebSocket upgrade (host, path and subprotocols as amqp10_ws's client layer asks),
    then ``protocol`` on a :class:`WebSocketStream`. A refusal is WebSocketHandshakeError."""
    from amqp10_ws import client_for_url  # only here: a plain URL never needs wsproto

    layer = client_for_url(url)
    transport.write(layer.data_to_send())
    try:
        while not layer.open:
            layer.receive_data(await reader.read())  # b"": the peer closed, an error
    finally:
        out = layer.data_to_send()  # (an answer to a bad frame, when it failed)
        if out and not transport.is_closing():
            transport.write(out)
    if reader.lost:
        raise ConnectionResetError(f"{url.where} closed the connection right after the "
                                   "WebSocket upgrade")
    stream = WebSocketStream(layer, transport, protocol)
    transport.set_protocol(stream)
    protocol.connection_made(stream)
    stream.pass_on()  # AMQP bytes that followed the 101 in the same read
    if reader.eof:
        stream.eof_received()


class WebSocketStream(asyncio.Transport, asyncio.Protocol):
    """The WebSocket layer between the socket's transport (TCP or TLS), whose protocol
    this is, and the connection's protocol, whose transport this is. AMQP bytes written
    go out in binary messages; bytes read are unwrapped and passed on (pings answered).
    A peer breaking the WebSocket protocol gets the layer's close frame, and the
    connection its WebSocketError as the cause of the lost transport. ``close()`` sends
    our close frame after the last AMQP bytes and closes once the peer answered."""

    def __init__(self, layer: WebSocketLayer, transport: asyncio.Transport,
                 protocol: asyncio.BaseProtocol) -> None:
        super().__init__()
        self._layer = layer
        self._raw = transport
        self._protocol = protocol
        self._closing = False
        self._eof_passed = False
        self._timer: asyncio.TimerHandle | None = None

    # -- the connection's side: a transport ------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        layer = self._layer
        if self._closing or not layer.open:
            return  # nothing can follow a close, as on a closing socket
        layer.send(data)
        self._raw.write(layer.data_to_send())

    def can_write_eof(self) -> bool:
        return False  # AMQP ends with its close, the WebSocket with its own

    def is_closing(self) -> bool:
        return self._closing or self._raw.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        layer = self._layer
        if layer.open:
            layer.close()  # RFC 6455 7.1.2: our close frame; we close when the peer answers
            self._raw.write(layer.data_to_send())
            self._arm_abort()
        else:
            self._close_raw()

    def abort(self) -> None:
        self._closing = True
        self._raw.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "websocket":
            return self._layer
        return self._raw.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def pause_reading(self) -> None:
        self._raw.pause_reading()

    def resume_reading(self) -> None:
        self._raw.resume_reading()

    def is_reading(self) -> bool:
        return self._raw.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._raw.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._raw.get_write_buffer_limits()

    # -- the socket's side: a protocol --------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if data:
            self._receive(data)

    def eof_received(self) -> bool:
        self._receive(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._protocol.connection_lost(self._layer.error or exc)

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()

    def _receive(self, data: bytes) -> None:
        layer = self._layer
        try:
            layer.receive_data(data)
        except RemoteProtocolError:  # WebSocketError: the layer queued its close frame
            self._send_out()
            self._close_raw()  # connection_lost passes layer.error on
            return
        self.pass_on()

    def pass_on(self) -> None:
        """Hand the AMQP bytes received to the connection's protocol, write what the layer
        has to say (pongs, the answer to the peer's close), end the stream at its end."""
        layer = self._layer
        received = layer.received()
        if received:
            protocol = self._protocol
            assert isinstance(protocol, asyncio.Protocol)
            protocol.data_received(received)
        self._send_out()  # pongs, the answer to the peer's close
        if layer.eof and not self._eof_passed:
            self._eof_passed = True  # the AMQP stream ended with the WebSocket
            protocol = self._protocol
            assert isinstance(protocol, asyncio.Protocol)
            protocol.eof_received()
            self._close_raw()

    def _send_out(self) -> None:
        out = self._layer.data_to_send()
        if out and not self._raw.is_closing():
            self._raw.write(out)

    def _close_raw(self) -> None:
        self._closing = True
        if not self._raw.is_closing():
            self._raw.close()
            self._arm_abort()

    def _arm_abort(self) -> None:
        """Every closing wait has an end: the socket is dropped after CLOSE_GRACE."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(CLOSE_GRACE, self._raw.abort)
