"""The trio connection's transports: the dial, and AMQP over WebSocket as a trio stream.

:func:`dialer` makes what ``open_connection`` calls for each connect (the first and every
reconnect): TCP to the broker, or to an HTTP proxy that opens a CONNECT tunnel to it
(``amqp10_proto._proxy``, chosen again at each dial from ``http_proxy=`` or the
environment); then TLS for ``amqps``/``amqpwss``, inside the tunnel, so that it verifies
the broker; then, for ``amqpws``/``amqpwss``, the WebSocket upgrade. Each layer is a
``trio.abc.Stream`` over the one below, so the connection's pump is the same for all,
and a plain ``amqp://`` without a proxy is the bare TCP stream, as before.

:class:`WebSocketStream` pumps the sans-IO ``amqp10_ws.WebSocketLayer`` (imported only
when a WebSocket URL is used: it needs the extra ``amqp10[ws]``). The connection's reader
and writer use it at once: the writer's frames and the reader's answers (a pong, the
answer to the peer's close) go out under one lock, in the layer's order; the reader
never waits for that lock (the writer, holding it, sends what the reader queued).
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from amqp10_proto import ParsedURL
from amqp10_proto._proxy import ProxyHandshake, ProxyURL, proxy_for, proxy_unreachable
from amqp10_proto.client import ProxyOption
from amqp10_proto.errors import ProxyError, RemoteProtocolError, WebSocketError

from ._tls import CHUNK, SharedSendStream, TlsStream

if TYPE_CHECKING:
    from amqp10_ws import WebSocketLayer

__all__ = ["DIAL_ERRORS", "WebSocketStream", "check_transport", "dialer", "reason",
           "websocket_cause"]

#: What a failed dial raises: refused, unreachable, TLS or the proxy refused, timed out,
#: or the WebSocket upgrade refused (amqp10_ws's errors are RemoteProtocolErrors).
DIAL_ERRORS = (OSError, trio.BrokenResourceError, trio.TooSlowError, RemoteProtocolError)
#: How long closing a WebSocket may wait to put its close frame on the wire.
CLOSE_GRACE = 0.5


def reason(exc: BaseException) -> str:
    """What broke the stream: trio wraps the OSError or the TLS alert (e.g. the server's
    "certificate required") in BrokenResourceError, and a failed ``open_tcp_stream``
    holds each address's error in a group; name the (first) wrapped one."""
    cause = exc.__cause__ or exc.__context__
    inner = getattr(cause, "exceptions", None)  # an exception group (no builtin on 3.10)
    if inner:
        exc = inner[0]
    elif isinstance(exc, trio.BrokenResourceError) and cause is not None:
        exc = cause
    return f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)


def websocket_cause(exc: BaseException) -> WebSocketError | None:
    """The WebSocketError behind a broken stream (:class:`WebSocketStream` raises
    BrokenResourceError from it), to be the connection error's ``__cause__``."""
    cause = exc.__cause__
    return cause if isinstance(cause, WebSocketError) else None


def check_transport(urls: list[ParsedURL], http_proxy: ProxyOption) -> None:
    """Before anything connects: amqp10_ws is imported if a WebSocket URL is used (its
    ImportError names ``amqp10[ws]``), and an explicit ``http_proxy`` is checked
    (ValueError, TypeError)."""
    if any(url.ws for url in urls):
        import amqp10_ws  # noqa: F401
    if http_proxy is not None:
        for url in urls:
            proxy_for(url, http_proxy)


def dialer(*, ssl_context: ssl.SSLContext | None, server_hostname: str | None,
           http_proxy: ProxyOption) -> Callable[[ParsedURL], Awaitable[trio.abc.Stream]]:
    """``open_connection``'s dial: a connected stream to a URL, its layers stacked (see
    the module). The caller's deadline bounds all of it; a failure closes what it opened."""

    async def dial(parsed: ParsedURL) -> trio.abc.Stream:
        proxy = _proxy(parsed, http_proxy)
        if proxy is None:
            stream: trio.abc.Stream = await trio.open_tcp_stream(parsed.host, parsed.port)
        else:
            stream = await _tunnel(proxy, parsed)
        try:
            if parsed.tls:
                tls = TlsStream(stream, ssl_context or ssl.create_default_context(),
                                server_hostname=server_hostname or parsed.host)
                await tls.do_handshake()
                stream = tls
            if parsed.ws:
                from amqp10_ws import client_for_url

                ws = WebSocketStream(stream, client_for_url(parsed))
                await ws.handshake()
                stream = ws
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        return stream

    return dial


def _proxy(parsed: ParsedURL, http_proxy: ProxyOption) -> ProxyURL | None:
    """The proxy for this dial: ``http_proxy=``, or the environment as it is now."""
    if http_proxy is not None:
        return proxy_for(parsed, http_proxy)
    try:
        return proxy_for(parsed, None, os.environ)
    except ValueError as exc:  # a malformed HTTPS_PROXY/HTTP_PROXY: say so, as a dial failure
        raise ProxyError(f"the proxy in the environment is unusable: {exc}",
                         proxy="(environment)") from None


async def _tunnel(proxy: ProxyURL, parsed: ParsedURL) -> trio.abc.Stream:
    """TCP to ``proxy``, and its CONNECT tunnel to the broker (RFC 9110 9.3.6)."""
    try:
        tcp = await trio.open_tcp_stream(proxy.host, proxy.port)
    except OSError as exc:
        # Not a ConnectionRefusedError: that would be reported as the broker's refusal.
        raise proxy_unreachable(proxy, reason(exc)) from exc
    try:
        handshake = ProxyHandshake(proxy, parsed.host, parsed.port)
        await tcp.send_all(handshake.data_to_send())
        while not handshake.done:  # the answer is bounded (MAX_PROXY_RESPONSE)
            handshake.receive_data(await tcp.receive_some(4096))
    except BaseException:
        await trio.aclose_forcefully(tcp)
        raise
    return _Prefixed(tcp, handshake.trailing) if handshake.trailing else tcp


class _Prefixed(trio.abc.Stream):
    """A stream whose first bytes were read already (past the proxy's answer)."""

    def __init__(self, transport: trio.abc.Stream, prefix: bytes) -> None:
        self.transport_stream = transport
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if not self._prefix:
            return await self.transport_stream.receive_some(max_bytes)
        await trio.lowlevel.checkpoint()
        size = len(self._prefix) if max_bytes is None else max_bytes
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.transport_stream.aclose()


class WebSocketStream(SharedSendStream):
    """AMQP bytes in WebSocket binary messages over ``transport`` (TCP or TLS), through
    ``layer``. :meth:`handshake` does the upgrade (the dial calls it). A peer that breaks
    the WebSocket protocol is ``trio.BrokenResourceError`` from the ``WebSocketError``
    (our close frame with its code sent first); :meth:`aclose` sends a close frame (1000)."""

    def __init__(self, transport: trio.abc.Stream, layer: WebSocketLayer) -> None:
        super().__init__(transport)
        self.layer = layer
        self._rest = b""  # received AMQP bytes beyond a caller's max_bytes
        self._broken = False  # a write was cut short: no frame can follow it
        self._closed = False

    async def handshake(self) -> None:
        """Send the upgrade request and read until the server accepted it; raises
        ``WebSocketHandshakeError`` (with the HTTP status) when it refused."""
        layer = self.layer
        await self._send_pending(wait=True)
        while not layer.open:
            layer.receive_data(await self.transport_stream.receive_some(CHUNK))
            await self._send_pending(wait=True)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The AMQP bytes the next frames carried; ``b""`` once the peer closed."""
        layer = self.layer
        while True:
            data = self._rest or layer.received()
            if data:
                if max_bytes is not None and len(data) > max_bytes:
                    data, self._rest = data[:max_bytes], data[max_bytes:]
                else:
                    self._rest = b""
                return data
            if layer.eof:
                if layer.close_code in (None, 1000, 1005, 1006):  # normal, none given, no frame
                    return b""
                why = f" ({layer.close_reason})" if layer.close_reason else ""
                raise trio.BrokenResourceError(
                    f"the peer closed the WebSocket with code {layer.close_code}{why}")
            if layer.closed:
                raise trio.BrokenResourceError(f"the WebSocket is closed ({layer.error})")
            chunk = await self.transport_stream.receive_some(CHUNK)
            try:
                layer.receive_data(chunk)
            except RemoteProtocolError as exc:  # the layer's WebSocketError
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._send_pending(wait=False)  # our close frame saying why
                raise trio.BrokenResourceError(str(exc)) from exc
            await self._send_pending(wait=False)  # a pong, or the answer to a close

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` in binary frames, a frame's worth at a time (bounded copies)."""
        layer = self.layer
        if self._closed:
            raise trio.ClosedResourceError("the WebSocket stream is closed")
        size = layer.send_frame_size
        with memoryview(data) as view:
            for start in range(0, len(view), size):
                if not layer.open:
                    raise trio.BrokenResourceError(f"the WebSocket is {layer.state.value}")
                layer.send(view[start:start + size])
                await self._send_pending(wait=True)
        if not len(data):
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """A close frame (1000) if the WebSocket is open, briefly (even when cancelled,
        as ``trio.aclose_forcefully`` does), then close the transport."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        try:
            if self.layer.open and not self._broken:
                self.layer.close()
                with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_GRACE), \
                        contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._send_pending(wait=False)
        finally:
            await self.transport_stream.aclose()

    async def _send_pending(self, *, wait: bool) -> None:
        """Write what the layer queued, in its order, until it has nothing more (so what
        another task queued meanwhile goes out too). Without ``wait``, if another task
        is writing, leave it to that one."""
        if not await self._acquire(wait=wait):
            return
        try:
            while data := self.layer.data_to_send():
                try:
                    await self.transport_stream.send_all(data)
                except BaseException:
                    self._broken = True
                    raise
        finally:
            self._send_lock.release()
