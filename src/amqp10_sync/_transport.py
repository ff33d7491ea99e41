"""The blocking connection's byte path, and how a URL becomes a connected socket.

Reading and writing (:class:`SocketIO`, a part of the connection): a plain socket's
bytes go to the core as read, and the core's bytes to the socket as it takes them (the
unsent rest kept as views, never copied); a TLS socket is read record after record, up
to ``_READ_SIZE`` per wake (issue 12). An ``amqpws://`` or ``amqpwss://`` connection
passes both ways through a sans-IO WebSocket layer (amqp10_ws: the AMQP WebSocket
Binding over RFC 6455) in those same calls: a plain connection's path pays one test of
``_ws``, nothing more.

Dialing (:class:`Dialer`): TCP to the broker, or to an HTTP proxy and a CONNECT tunnel
through it (RFC 9110 9.3.6); then TLS, verifying the broker's name (never the proxy's),
as a :class:`TlsSocket` (an ``SSLObject`` over memory BIOs: one socket read per wake,
every record in it decrypted at once); then the WebSocket upgrade; all of it within the
connect timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import ParsedURL
from amqp10_proto._proxy import ProxyHandshake, ProxyURL, proxy_for, proxy_unreachable
from amqp10_proto.client import ProxyOption, receive_bytes
from amqp10_proto.errors import (
    ProxyError,
    RemoteProtocolError,
    WebSocketError,
    WebSocketHandshakeError,
)
from amqp10_proto.trace import FrameTracer

from ._waits import WRITTEN

if TYPE_CHECKING:
    from amqp10_ws import WebSocketLayer

__all__ = ["Dialer", "Link", "SocketIO", "TlsSocket", "prepare", "websocket_available"]

_READ_SIZE = 1 << 18
_SSL_CHUNK = 1 << 14  # one TLS record: a retried SSL write repeats the same bytes
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_HANDSHAKE_READ = 1 << 16


class SocketIO:
    """The connection's reads and writes (a part of :class:`Connection`; lock held in
    every method)."""

    _sock: Any  # socket.socket or ssl.SSLSocket (a test may put a stand-in)
    _core: CoreConnection
    _is_ssl: bool
    _ws: WebSocketLayer | None  # the WebSocket layer of an amqpws(s):// connection
    _early_bytes: bytes  # the peer's bytes that came with the dial's last answer
    _transport_cause: BaseException | None  # what broke the transport, when it was typed
    _tls_buffer: memoryview | None
    _read_buffer: memoryview | None  # a plain socket's reads land here first
    _sent_total: int
    _keyed: dict[Any, Any]
    _trace_in: FrameTracer | None
    _dead: bool
    label: str

    if TYPE_CHECKING:  # the connection's (and Waiting's): no stubs to shadow them here
        def _lost(self, reason: str) -> None: ...
        def _after(self) -> None: ...
        def _notify(self, key: Any) -> None: ...

    # -- writing ----------------------------------------------------------------------------
    def _send(self, buf: bytes | memoryview) -> int:
        """Write as much of ``buf`` as the socket takes now; the count written."""
        sock = self._sock
        total = 0
        size = len(buf)
        tls = self._is_ssl
        view = memoryview(buf) if tls else buf  # slices of a view copy nothing
        try:
            while total < size:
                if tls:
                    n = sock.send(view[total:total + _SSL_CHUNK])
                elif total:
                    if view is buf:
                        view = memoryview(buf)
                    n = sock.send(view[total:])
                else:
                    n = sock.send(buf)
                if n <= 0:
                    break
                total += n
        except _WOULD_BLOCK:
            pass
        except OSError as exc:
            self._lost(f"write failed: {self._tls_alert() or exc}")
        if total:
            self._sent_total += total
            if WRITTEN in self._keyed:
                self._notify(WRITTEN)  # pre-settled sends wait for their bytes to go
        return total

    def _wrap(self, data: bytes) -> bytes:
        """(WebSocket) the core's ``data`` in binary frames, with what the layer says itself
        (a pong: RFC 6455 5.5.3); once the core ended, our close frame follows its last
        bytes (7.1.2: the AMQP close goes first, then the WebSocket's)."""
        ws = self._ws
        assert ws is not None
        if ws.open:
            if data:
                ws.send(data)
            if self._core.ended:
                ws.close()
        return ws.data_to_send()

    def _tls_alert(self) -> str | None:
        """After a failed TLS write: the alert the peer sent before it hung up (e.g.
        "certificate required"), if it is there to read; it says more than the EOF."""
        if not self._is_ssl:
            return None
        try:
            self._sock.recv(_READ_SIZE)
        except _WOULD_BLOCK:
            return None
        except ssl.SSLError as exc:
            return str(exc)
        except OSError:
            return None
        return None

    # -- reading ----------------------------------------------------------------------------
    def _read(self) -> bool:
        """Read once (lock held) and hand the bytes to the core; True if more may be waiting.

        At most ``_READ_SIZE`` bytes per hold of the lock, whatever the inbound rate:
        between two reads the reader lets go of the lock, so the threads waiting on
        the connection and the I/O thread's deadlines (``tick``) get their turn even
        under a peer that never pauses (issue 10). Through TLS that is every record
        the layer has up to that size, not one record per wake (issue 12).
        """
        sock = self._sock
        core = self._core
        failed: OSError | None = None
        try:
            if self._is_ssl:
                data, eof, failed = self._read_tls(sock)
            else:
                # Into a buffer kept for every read, then the bytes copied out: a fresh
                # 256 KiB ``recv`` costs an mmap, an mremap and a munmap for the usual
                # 60-byte reply (issue 12 item 2: three of six syscalls a credit round).
                buffer = self._read_buffer
                if buffer is None:
                    buffer = self._read_buffer = memoryview(bytearray(_READ_SIZE))
                n = sock.recv_into(buffer, _READ_SIZE)
                data = bytes(buffer[:n])
                eof = not n
        except _WOULD_BLOCK:
            return False
        except OSError as exc:
            data, eof, failed = b"", False, exc
        more = len(data) == _READ_SIZE
        if self._ws is not None:
            data, eof = self._unwrap(data, eof)
            if self._dead:
                return False
        if data:
            receive_bytes(core, data, self.label, self._trace_in)
        if failed is not None:
            self._lost(f"read failed: {failed}")  # after what came before it
            return False
        if eof:
            receive_bytes(core, b"", self.label, self._trace_in)
        self._after()
        if eof or core.ended or self._dead:
            return False
        return more or bool(self._is_ssl and sock.pending())

    def _read_tls(self, sock: Any) -> tuple[bytes, bool, OSError | None]:
        """Every decrypted byte the TLS layer has now, up to ``_READ_SIZE`` (one ``recv``
        gives one record at most); whether the peer closed, or the error that ended the
        read after those bytes. Would-block if there was nothing."""
        if sock.__class__ is TlsSocket:
            return sock.read_all()
        buffer = self._tls_buffer
        if buffer is None:
            buffer = self._tls_buffer = memoryview(bytearray(_READ_SIZE))
        total = 0
        try:
            while total < _READ_SIZE:
                n = sock.recv_into(buffer[total:], _READ_SIZE - total)
                if not n:
                    return bytes(buffer[:total]), True, None
                total += n
        except _WOULD_BLOCK:
            if not total:
                raise
        except OSError as exc:
            if not total:
                raise
            return bytes(buffer[:total]), False, exc
        return bytes(buffer[:total]), False, None

    def _unwrap(self, data: bytes, eof: bool) -> tuple[bytes, bool]:
        """(WebSocket) the AMQP bytes that ``data`` from the socket carried, and whether the
        AMQP stream ended (the peer's close frame, or the socket closed). A peer breaking
        the WebSocket protocol loses the connection, our close frame (7.1.7) sent first
        as far as the socket takes it; the error is the ConnectionClosedError's cause."""
        ws = self._ws
        assert ws is not None
        try:
            if data:
                ws.receive_data(data)
            if eof:
                ws.receive_data(b"")
        except RemoteProtocolError as exc:  # WebSocketError, WebSocketHandshakeError
            with contextlib.suppress(OSError, ValueError):
                self._sock.send(ws.data_to_send())
            self._transport_cause = exc
            self._lost(f"WebSocket: {exc}")
            return b"", False
        return ws.received(), ws.eof

    def _take_early(self) -> None:
        """(Once the core is open) the peer's bytes that came with the dial's last answer
        (after the proxy's 200 or the WebSocket's 101) go to the core first."""
        early, self._early_bytes = self._early_bytes, b""
        if self._ws is not None:
            early += self._ws.received()
        if early:
            receive_bytes(self._core, early, self.label, self._trace_in)
            self._after()


# -- dialing --------------------------------------------------------------------------------

class Link(NamedTuple):
    """A dialed transport: the socket (non-blocking, TLS wrapped if asked), the WebSocket
    layer over it (``amqpws``/``amqpwss``), and bytes the peer sent early (for the core)."""

    sock: Any  # socket.socket, or a TlsSocket over one
    ws: WebSocketLayer | None = None
    early: bytes = b""


def websocket_available() -> None:
    """Raise the ImportError naming ``amqp10[ws]`` if the WebSocket layer cannot load."""
    import amqp10_ws  # noqa: F401


def prepare(sock: socket.socket) -> None:
    """A connected socket made ready for the pump: no Nagle delay, non-blocking."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)


class Dialer:
    """Connects to a URL as ``open_connection`` was told: directly or through an HTTP
    proxy (chosen anew at each dial: ``http_proxy=None`` reads ``os.environ`` each
    time), then TLS for ``amqps``/``amqpwss``, then the WebSocket upgrade."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, server_hostname: str | None,
                 http_proxy: ProxyOption) -> None:
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.http_proxy = http_proxy
        #: The proxy the last dial went through (None: it went directly).
        self.proxy: ProxyURL | None = None

    def check(self, urls: list[ParsedURL]) -> None:
        """Before anything connects: the proxy option (and environment) parse, and the
        WebSocket layer loads if a URL needs it (ImportError naming ``amqp10[ws]``)."""
        for parsed in urls:
            proxy_for(parsed, self.http_proxy, os.environ)
        if any(parsed.ws for parsed in urls):
            websocket_available()

    def __call__(self, parsed: ParsedURL, limit: float) -> Link:
        """Connect to ``parsed`` within ``limit`` seconds in all; OSError (TimeoutError,
        ProxyError, ssl.SSLError ...) or WebSocketHandshakeError if it fails."""
        end = time.monotonic() + limit
        proxy = self.proxy = proxy_for(parsed, self.http_proxy, os.environ)
        sock: Any = _tcp(parsed, proxy, limit)
        ws: WebSocketLayer | None = None
        try:
            early = b"" if proxy is None else _tunnel(sock, proxy, parsed, end)
            if parsed.tls:
                if early:  # a TLS client speaks first: nothing can precede its hello
                    assert proxy is not None
                    raise ProxyError(f"the HTTP proxy {proxy.where} sent bytes of its own "
                                     "after opening the tunnel", proxy=proxy.where)
                sock.settimeout(_left(end))
                context = self.ssl_context or ssl.create_default_context()
                sock = TlsSocket(sock, context, self.server_hostname or parsed.host)
                sock.handshake()
            if parsed.ws:
                ws = _upgrade(sock, parsed, early, end)
                early = b""
            prepare(sock)
        except BaseException:
            sock.close()
            raise
        return Link(sock, ws, early)


def _left(end: float) -> float:
    """The time left until ``end``, never 0 (a socket timeout of 0 means non-blocking)."""
    return max(end - time.monotonic(), 0.001)


def _tcp(parsed: ParsedURL, proxy: ProxyURL | None, limit: float) -> socket.socket:
    if proxy is None:
        return socket.create_connection((parsed.host, parsed.port), timeout=limit)
    try:
        return socket.create_connection((proxy.host, proxy.port), timeout=limit)
    except TimeoutError as exc:
        if exc.errno is not None:  # the system's ETIMEDOUT: unreachable
            raise proxy_unreachable(proxy, exc.strerror or str(exc)) from exc
        raise TimeoutError(f"cannot reach the HTTP proxy {proxy.where} within the connect "
                           "timeout") from exc
    except OSError as exc:  # said of the proxy: a ConnectionRefusedError is the broker's
        raise proxy_unreachable(proxy, exc.strerror or str(exc)) from exc


def _tunnel(sock: socket.socket, proxy: ProxyURL, parsed: ParsedURL, end: float) -> bytes:
    """Open the CONNECT tunnel to the broker; the bytes that followed the proxy's answer."""
    handshake = ProxyHandshake(proxy, parsed.host, parsed.port)
    try:
        sock.settimeout(_left(end))
        sock.sendall(handshake.data_to_send())
        while not handshake.done:
            sock.settimeout(_left(end))
            handshake.receive_data(sock.recv(4096))
    except TimeoutError:
        raise TimeoutError(f"the HTTP proxy {proxy.where} did not answer CONNECT "
                           f"{handshake.target} within the connect timeout") from None
    return handshake.trailing


def _upgrade(sock: Any, parsed: ParsedURL, early: bytes, end: float) -> WebSocketLayer:
    """The WebSocket upgrade (RFC 6455 4.1): Host ``parsed.ws_host``, the URL's path, the
    subprotocols ``amqp`` then ``AMQPWSB10``; WebSocketHandshakeError if refused."""
    from amqp10_ws import client_for_url

    ws = client_for_url(parsed)
    try:
        sock.settimeout(_left(end))
        sock.sendall(ws.data_to_send())
        if early:
            ws.receive_data(early)
        while not ws.open and not ws.closed:
            sock.settimeout(_left(end))
            ws.receive_data(sock.recv(_HANDSHAKE_READ))
    except TimeoutError:
        raise TimeoutError(f"{parsed.where}: the WebSocket upgrade did not complete within "
                           "the connect timeout") from None
    except WebSocketError:  # a bad frame right behind the 101: our close frame (7.1.7)
        with contextlib.suppress(OSError):
            sock.settimeout(0.1)
            sock.sendall(ws.data_to_send())
        raise
    if not ws.open:
        raise WebSocketHandshakeError(f"{parsed.where}: the WebSocket closed during the upgrade")
    return ws


class TlsSocket:
    """A TCP socket carrying TLS through an ``ssl.SSLObject`` between two ``MemoryBIO``\\ s,
    with an ``SSLSocket``'s interface as the connection uses it (issue 12 item 3).

    A read takes what the socket has in one ``recv`` (up to ``_READ_SIZE``) and decrypts
    every record in it at once, where an ``SSLSocket`` reads and decrypts record by
    record. ``send`` keeps an ``SSLSocket``'s contract: a chunk whose records the socket
    did not wholly take is would-block, and the caller retries with the same bytes; the
    records left wait here for that retry.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        self._sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_hostname=server_hostname)
        self._left: memoryview | None = None  # records of the last chunk not yet written
        self._left_for = 0  # that chunk's length
        self._full = False  # the last read filled its size: more may be waiting
        self._buffer = memoryview(bytearray(_READ_SIZE))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # fileno, close, settimeout, getpeername ...

    def fileno(self) -> int:
        return self._sock.fileno()

    # -- the connection's calls (the socket non-blocking) ----------------------------------------
    def send(self, chunk: bytes | memoryview) -> int:
        left = self._left
        if left is None:
            self._obj.write(chunk)
            left = memoryview(self._out.read())
            self._left_for = len(chunk)
        while left:
            try:
                n = self._sock.send(left)
            except BlockingIOError:
                self._left = left
                raise
            left = left[n:]
        self._left = None
        return self._left_for

    def pending(self) -> bool:
        return self._full

    def read_all(self) -> tuple[bytes, bool, OSError | None]:
        """Read the socket once and decrypt all it brought: the bytes, whether the peer
        closed, or the error that ended the stream after them. Would-block if nothing."""
        raw = self._sock.recv(_READ_SIZE)
        self._full = len(raw) == _READ_SIZE
        return self._decrypt(raw)

    def _decrypt(self, raw: bytes) -> tuple[bytes, bool, OSError | None]:
        if raw:
            self._in.write(raw)
        else:
            self._in.write_eof()
        buffer, total, parts = self._buffer, 0, []
        eof, failed = not raw, None
        read = self._obj.read
        try:
            while True:
                n = cast(int, read(_READ_SIZE - total, buffer[total:]))  # given a buffer
                if not n:  # the peer's close_notify
                    eof = True
                    break
                total += n
                if total == _READ_SIZE:
                    parts.append(bytes(buffer))
                    total = 0
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            eof = True  # close_notify, or the socket closed without it (as SSLSocket reads it)
        except ssl.SSLError as exc:
            failed = exc
        data = bytes(buffer[:total])
        if parts:
            data = b"".join([*parts, data])
        out = self._out.read()  # what reading produced (a key update's answer)
        if out and not failed:
            with contextlib.suppress(OSError):
                self._sock.send(out)
        return data, eof, failed

    # -- the dial's calls (the socket blocking, with a timeout) ----------------------------------
    def handshake(self) -> None:
        """The TLS handshake, verifying the peer (ssl.SSLCertVerificationError)."""
        while True:
            try:
                self._obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush_blocking()
                raw = self._sock.recv(_READ_SIZE)
                if not raw:
                    raise ssl.SSLEOFError(ssl.SSL_ERROR_EOF, "the peer closed the connection "
                                          "during the TLS handshake") from None
                self._in.write(raw)
            except ssl.SSLError:
                with contextlib.suppress(OSError):
                    self._flush_blocking()  # our alert
                raise
        self._flush_blocking()

    def _flush_blocking(self) -> None:
        out = self._out.read()
        if out:
            self._sock.sendall(out)

    def sendall(self, data: bytes) -> None:
        self._obj.write(data)
        self._flush_blocking()

    def recv(self, size: int) -> bytes:
        """Blocking (during the dial), or would-block (after ``_tls_alert``'s read)."""
        while True:
            data, eof, failed = self._decrypt(self._sock.recv(size))
            if failed is not None:
                raise failed
            if data or eof:
                return data
