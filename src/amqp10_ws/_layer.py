"""The sans-IO WebSocket layer of the OASIS AMQP WebSocket Binding 1.0, over wsproto.

The AMQP byte stream (its SASL layer included) travels in binary WebSocket messages,
split anywhere, after an HTTP/1.1 upgrade whose subprotocol is ``amqp`` (the binding's
registered name; Azure and its SDKs use the 2014 draft's ``AMQPWSB10``). Like the AMQP
core, the layer does no I/O: bytes read from the socket go into :meth:`receive_data`,
the AMQP bytes they carried come out of :meth:`received`; AMQP bytes to send go into
:meth:`send`, and :meth:`data_to_send` says what to write. A pump::

    ws = WebSocketLayer("client", host="example.com", path="/$servicebus/websocket")
    core.open()
    ws.send(core.data_to_send())        # held until the server accepts the upgrade
    sock.sendall(ws.data_to_send())     # the upgrade request
    while not ws.closed:
        ws.receive_data(sock.recv(65536))   # b"" when the peer closed the socket
        core.receive_data(ws.received()) if ... ; ws.eof -> core.receive_data(b"")
        ws.send(core.data_to_send()); sock.sendall(ws.data_to_send())

Hostile input fails typed (:class:`WebSocketError`), never hangs or grows memory: the
handshake is bounded by h11 (16 KiB of headers), data frames are passed on as their
bytes arrive (a fragmented message is never reassembled), a frame longer than
``max_frame_size`` is closed with 1009, a text message with 1003, a malformed frame
with the code RFC 6455 names; a socket closed inside a frame is an error, not a short
read. Pings are answered (only the latest, if several wait: 5.5.3).
"""

from __future__ import annotations

import enum
import os
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError as WsLocalProtocolError
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from amqp10_proto.errors import LocalProtocolError

from ._errors import WebSocketError, WebSocketHandshakeError

if TYPE_CHECKING:
    from amqp10_proto import ParsedURL

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "DEFAULT_SEND_FRAME_SIZE", "SUBPROTOCOLS", "WebSocketLayer",
           "WsState", "client_for_url"]

#: The subprotocols offered (client) or accepted (server), preferred first: the binding's
#: registered ``amqp``, then the draft's ``AMQPWSB10`` that Azure's endpoints and SDKs use.
SUBPROTOCOLS: tuple[str, ...] = ("amqp", "AMQPWSB10")
#: The largest WebSocket frame payload taken (bytes); a longer one is closed with 1009.
#: Frames are passed on as they arrive, so this bounds no buffer: it refuses a peer
#: that announces an absurd frame rather than sending ordinary ones.
DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
#: AMQP bytes are sent in binary frames of at most this many bytes (one message each).
DEFAULT_SEND_FRAME_SIZE = 1024 * 1024

# RFC 6455 7.4.1 close codes used here.
NORMAL_CLOSURE = 1000
PROTOCOL_ERROR = 1002
UNSUPPORTED_DATA = 1003
ABNORMAL_CLOSURE = 1006
MESSAGE_TOO_BIG = 1009
MAX_CONTROL_PAYLOAD = 125  # 5.5
_BINARY_FIN = 0x82  # 5.2: FIN, no RSV bits, opcode 0x2 (binary frame)
_MASKED = 0x80
_KEYS = 4096  # masking keys drawn from os.urandom at once (1 024 frames' worth)
_XOR: dict[int, bytes] = {}  # byte value -> the 256-byte table XORing a byte with it


def _xor_table(key_byte: int) -> bytes:
    """The ``bytes.translate`` table that XORs every byte with ``key_byte`` (built once)."""
    table = _XOR.get(key_byte)
    if table is None:
        table = _XOR[key_byte] = bytes(b ^ key_byte for b in range(256))
    return table


class WsState(enum.Enum):
    """Where the WebSocket stands: upgrading, carrying AMQP, closing (we sent our close
    frame and wait for the peer's), or closed (nothing more goes either way)."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


def _token(name: str) -> bool:
    """An HTTP token (RFC 7230 3.2.6), as a subprotocol name must be (RFC 6455 4.1)."""
    return bool(name) and all((c.isascii() and c.isalnum()) or c in "!#$%&'*+-.^_`|~"
                              for c in name)


class WebSocketLayer:
    """One WebSocket connection carrying an AMQP byte stream, as ``role`` (see the module).

    Client: ``host`` is the Host header (``host[:port]``, see ``ParsedURL.ws_host``),
    ``path`` the request target (any, e.g. ``/$servicebus/websocket``); the upgrade
    request is queued at once. ``subprotocols`` are offered in order, and the answer
    must pick one of them. Server: the upgrade is answered with the first of
    ``subprotocols`` that the client offered, or refused with 400 when it offered none.
    ``headers`` are extra ``(name, value)`` headers for the request (client) or the 101
    answer (server). ``max_frame_size`` caps an incoming frame's payload;
    ``send_frame_size`` splits outgoing AMQP bytes.
    """

    def __init__(self, role: Literal["client", "server"], *, host: str | None = None,
                 path: str = "/", subprotocols: Sequence[str] = SUBPROTOCOLS,
                 max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
                 send_frame_size: int = DEFAULT_SEND_FRAME_SIZE,
                 headers: Sequence[tuple[str, str]] = ()) -> None:
        if role not in ("client", "server"):
            raise ValueError(f"role is 'client' or 'server', not {role!r}")
        subprotocols = [subprotocols] if isinstance(subprotocols, str) else list(subprotocols)
        if not subprotocols or not all(isinstance(p, str) and _token(p) for p in subprotocols):
            raise ValueError(f"subprotocols must be HTTP tokens (e.g. 'amqp'), not "
                             f"{subprotocols!r}")
        for name, value in (("max_frame_size", max_frame_size),
                            ("send_frame_size", send_frame_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        extra = [(str(k).encode("ascii"), str(v).encode("latin-1")) for k, v in headers]
        self.role = role
        self.subprotocols: tuple[str, ...] = tuple(subprotocols)
        self.max_frame_size = max_frame_size
        self.send_frame_size = send_frame_size
        #: The subprotocol agreed on (None until the handshake is done).
        self.subprotocol: str | None = None
        #: The request target: ours (client), or the one the client asked for (server).
        self.path = path
        #: The Host header: ours (client), or the client's (server, once it asked).
        self.host = host
        #: The close code the peer sent (1005: none in its close frame; 1006: the socket
        #: closed without a close frame), or that we sent on an error; None while open.
        self.close_code: int | None = None
        self.close_reason: str | None = None
        #: Why the WebSocket failed (the error :meth:`receive_data` raised), else None.
        self.error: WebSocketError | None = None
        #: Pong frames received (answers to :meth:`ping`).
        self.pongs = 0
        self._extra = extra
        self._state = WsState.CONNECTING
        self._eof = False
        self._ws = WSConnection(ConnectionType.CLIENT if role == "client"
                                else ConnectionType.SERVER)
        self._out = bytearray()  # every byte to write, in order (frames built in place)
        self._keys = b""  # os.urandom bytes for masking keys, used from _key_at on
        self._key_at = 0
        self._in: list[bytes] = []
        self._held: list[bytes] = []  # AMQP bytes sent before the upgrade completed
        self._frame_bytes = 0  # bytes so far of the incoming frame not yet finished
        self._pong: bytes | None = None  # the latest ping's payload, to answer
        self._take_trailing = False  # server: read what followed the upgrade request
        self._first = True  # nothing received yet
        # Where wsproto stands in the incoming frames it was given (RFC 6455 5.2), so that
        # frames between its messages can bypass it (see _route).
        self._ws_head = b""  # the start of a frame header wsproto has not all of
        self._ws_owes = 0  # bytes of the frame wsproto started that it still needs
        self._ws_fragmented = False  # a FIN=0 data message is open in wsproto
        if role == "client":
            if not host or not isinstance(host, str):
                raise ValueError("a client needs host=: the Host header of the upgrade")
            if not path.startswith("/") or not all("!" <= c <= "~" for c in path):
                raise ValueError(f"path {path!r}: a request target is printable ASCII "
                                 "starting with '/' (percent-encode the rest)")
            self._out += self._ws.send(Request(host=host, target=path,
                                               subprotocols=list(self.subprotocols),
                                               extra_headers=extra))

    def __repr__(self) -> str:
        return (f"<WebSocketLayer {self.role} {self._state.value}"
                f"{'' if self.subprotocol is None else ' ' + self.subprotocol}>")

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> WsState:
        return self._state

    @property
    def open(self) -> bool:
        """The handshake is done and AMQP bytes may be sent."""
        return self._state is WsState.OPEN

    @property
    def closed(self) -> bool:
        """Nothing more goes either way: write :meth:`data_to_send`, then close the socket."""
        return self._state is WsState.CLOSED

    @property
    def eof(self) -> bool:
        """The peer's AMQP stream has ended (its close frame, or the socket closed): after
        the bytes :meth:`received` gives, tell the AMQP core (``receive_data(b"")``)."""
        return self._eof and not self._in

    # -- input ---------------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed it.

        Raises :class:`WebSocketHandshakeError` or :class:`WebSocketError` when the peer
        breaks the protocol, after queuing our answer in :meth:`data_to_send`. Bytes that
        arrive once the WebSocket is closed are ignored (nothing can follow a close).
        """
        if self._state is WsState.CLOSED:
            return
        if not data:
            self._socket_closed()
            return
        if self.role == "server" and self._first and bytes(data[:4]) == b"AMQP":
            self._state = WsState.CLOSED  # nothing to answer: an AMQP peer reads no HTTP
            self._raise(WebSocketHandshakeError("an AMQP protocol header where a WebSocket "
                                                "upgrade was expected: this port speaks "
                                                "AMQP over WebSocket (amqpws://)"))
        self._first = False
        if self._state is WsState.OPEN:
            self._route(bytes(data))
            return
        try:
            self._ws.receive_data(bytes(data))
        except WsRemoteProtocolError as exc:
            self._handshake_failed(exc)
        self._process()

    def _route(self, data: bytes, *, feed: bool = True) -> None:
        """OPEN: pass each complete, final, unmasked (client) or masked (server) binary frame
        of at most ``max_frame_size`` bytes in minimal encoding straight on, while wsproto is
        between messages; give wsproto every other byte, in order, from a frame's start, and
        track the frames it was given. ``feed=False`` only tracks bytes wsproto already has."""
        n = len(data)
        pos = 0
        start = 0  # the first byte not yet given to wsproto (or passed on)
        want_mask = _MASKED if self.role == "server" else 0  # 5.1: clients mask, servers not
        while pos < n:
            if self._ws_owes:  # inside a frame wsproto started
                take = min(self._ws_owes, n - pos)
                self._ws_owes -= take
                pos += take
                continue
            head = self._ws_head + data[pos:pos + 14]  # 5.2: a header is 2 to 14 bytes
            had = len(self._ws_head)
            if len(head) < 2:
                size = 0
            else:
                b1 = head[1]
                length = b1 & 0x7F
                size = (2 + (2 if length == 126 else 8 if length == 127 else 0)
                        + (4 if b1 & _MASKED else 0))
            if size == 0 or len(head) < size:  # the header is not all here: wsproto's
                self._ws_head = head
                pos = n
                break
            self._ws_head = b""
            b0 = head[0]
            if length == 126:
                length, = struct.unpack_from("!H", head, 2)
                minimal = length >= 126
            elif length == 127:
                length, = struct.unpack_from("!Q", head, 2)
                minimal = 65536 <= length < 1 << 63
            else:
                minimal = True
            end = pos - had + size + length  # where the frame ends in data
            if (feed and not self._ws_fragmented and not had and b0 == _BINARY_FIN
                    and b1 & _MASKED == want_mask and minimal and length <= self.max_frame_size
                    and end <= n and self._state is WsState.OPEN):
                if start < pos:  # wsproto's bytes first, and its events
                    self._feed(data[start:pos])
                    if self._state is not WsState.OPEN:
                        return
                payload = data[pos + size:end]
                if want_mask and payload:  # 5.3: unmask with the frame's key
                    key = head[size - 4:size] * (length // 4 + 1)
                    payload = (int.from_bytes(payload, "little")
                               ^ int.from_bytes(key[:length], "little")
                               ).to_bytes(length, "little")
                if payload:
                    self._in.append(payload)
                pos = start = end
                continue
            opcode = b0 & 0x0F  # 5.4: a data frame with FIN=0 opens a fragmented message
            if opcode in (1, 2) and not b0 & 0x80:
                self._ws_fragmented = True
            elif opcode == 0 and b0 & 0x80:
                self._ws_fragmented = False
            self._ws_owes = max(end - pos - (size - had), 0)
            pos = min(pos + size - had, n)
        if feed and start < n:
            self._feed(data[start:])

    def _feed(self, data: bytes) -> None:
        """Give wsproto bytes of frames it parses, and take its events."""
        self._ws.receive_data(data)
        self._process()

    def received(self) -> bytes:
        """The AMQP bytes received since the last call (``b""`` if none)."""
        if not self._in:
            return b""
        data = self._in[0] if len(self._in) == 1 else b"".join(self._in)
        self._in.clear()
        return data

    def _process(self) -> None:
        while True:
            try:
                for event in self._ws.events():
                    self._on(event)
            except WsRemoteProtocolError as exc:
                self._handshake_failed(exc)
            if not self._take_trailing:
                return
            self._take_trailing = False
            trailing = self._trailing()
            if not trailing or self._state is not WsState.OPEN:
                return
            self._route(trailing)
            return

    def _on(self, event: object) -> None:
        if isinstance(event, BytesMessage):
            self._frame_bytes += len(event.data)
            if self._frame_bytes > self.max_frame_size:
                self._fail(MESSAGE_TOO_BIG, f"a WebSocket frame longer than "
                                            f"max_frame_size={self.max_frame_size} bytes")
            if event.data:
                self._in.append(bytes(event.data))
            if event.frame_finished:
                self._frame_bytes = 0
        elif isinstance(event, Ping):
            self._pong = bytes(event.payload)  # 5.5.3: the latest one is enough
        elif isinstance(event, Pong):
            self.pongs += 1
        elif isinstance(event, CloseConnection):
            self._close_received(event)
        elif isinstance(event, TextMessage):
            self._fail(UNSUPPORTED_DATA, "a text message: AMQP travels in binary messages "
                                         "(AMQP WebSocket Binding)")
        elif isinstance(event, Request):
            self._answer_upgrade(event)
        elif isinstance(event, AcceptConnection):
            self._upgraded(event)
        elif isinstance(event, RejectConnection):
            self._state = WsState.CLOSED
            self._raise(WebSocketHandshakeError(
                f"the server refused the WebSocket upgrade with HTTP {event.status_code}",
                status=event.status_code))
        elif isinstance(event, RejectData):
            pass  # the refusal's body, after the error was raised: not read

    def _trailing(self) -> bytes:
        """Bytes a client sent right after its upgrade request, before our 101: h11 holds
        them (wsproto's server connection starts empty); they are WebSocket frames."""
        h11_conn = getattr(self._ws.handshake, "_h11_connection", None)
        trailing = getattr(h11_conn, "trailing_data", None)
        return bytes(trailing[0]) if trailing else b""

    # -- the handshake ---------------------------------------------------------------------------
    def _answer_upgrade(self, request: Request) -> None:
        """Server: accept with the first of our subprotocols the client offered (the binding
        requires one), else refuse with 400 saying what to offer."""
        self.path = request.target
        self.host = request.host
        chosen = next((p for p in self.subprotocols if p in request.subprotocols), None)
        if chosen is None:
            offered = ", ".join(request.subprotocols) or "none"
            why = (f"the upgrade must offer the WebSocket subprotocol "
                   f"{' or '.join(map(repr, self.subprotocols))} (AMQP WebSocket Binding); "
                   f"it offered {offered}")
            self._refuse(400, why)
        self._out += self._ws.send(AcceptConnection(subprotocol=chosen,
                                                    extra_headers=self._extra))
        self._take_trailing = True
        self._opened(chosen)

    def _upgraded(self, event: AcceptConnection) -> None:
        """Client: the server switched protocols; it must have picked one of ours (wsproto
        already refuses a name we did not offer)."""
        if event.subprotocol is None:
            self._state = WsState.OPEN
            self._fail(PROTOCOL_ERROR, "the server accepted the WebSocket upgrade without "
                                       f"the subprotocol {self.subprotocols[0]!r} "
                                       "(AMQP WebSocket Binding)", handshake=True)
        self._opened(event.subprotocol)
        self._route(self._trailing(), feed=False)  # the frames after the 101: wsproto's

    def _opened(self, subprotocol: str | None) -> None:
        self.subprotocol = subprotocol
        self._state = WsState.OPEN
        held, self._held = self._held, []
        for data in held:
            self.send(data)

    def _handshake_failed(self, exc: WsRemoteProtocolError) -> None:
        """A malformed upgrade (request or answer): refused as wsproto suggests (server)."""
        why = f"bad WebSocket handshake: {exc}"
        hint = exc.event_hint
        if self.role == "server" and isinstance(hint, RejectConnection):
            self._refuse(hint.status_code, why, list(hint.headers))
        self._state = WsState.CLOSED
        self._raise(WebSocketHandshakeError(why))

    def _refuse(self, status: int, why: str, headers: list[tuple[bytes, bytes]] | None = None,
                ) -> None:
        """Server: answer the upgrade with HTTP ``status`` and ``why`` as a text body, then
        raise. When h11 cannot answer (the request was not HTTP) nothing is sent."""
        body = f"{why}\n".encode()
        try:
            self._out += self._ws.send(RejectConnection(
                status_code=status, has_body=True,
                headers=[*(headers or []), (b"content-type", b"text/plain; charset=utf-8"),
                         (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]))
            self._out += self._ws.send(RejectData(data=body, body_finished=True))
        except (WsLocalProtocolError, WsRemoteProtocolError, ValueError):
            status = 0  # nothing answered: just close
        self._state = WsState.CLOSED
        self._raise(WebSocketHandshakeError(why, status=status or None))

    # -- closing ---------------------------------------------------------------------------------
    def _close_received(self, event: CloseConnection) -> None:
        ws_state = self._ws.state
        if ws_state is ConnectionState.REMOTE_CLOSING:  # the peer closes: answer (5.5.1)
            self._out += self._ws.send(event.response())
        elif ws_state is not ConnectionState.CLOSED:
            # wsproto reports a frame it cannot parse as a close it wants us to send.
            self._fail(event.code, f"bad WebSocket frame: {event.reason}")
        self.close_code, self.close_reason = event.code, event.reason
        self._state = WsState.CLOSED
        self._eof = True

    def _socket_closed(self) -> None:
        self._eof = True
        if self._state is WsState.CONNECTING:
            self._state = WsState.CLOSED
            self._raise(WebSocketHandshakeError("the peer closed the connection during the "
                                                "WebSocket handshake"))
        self._state = WsState.CLOSED
        if self._frame_bytes:
            self.close_code = ABNORMAL_CLOSURE
            self._raise(WebSocketError(f"the connection closed inside a WebSocket frame "
                                       f"({self._frame_bytes} bytes of it received)",
                                       code=ABNORMAL_CLOSURE))
        self.close_code = ABNORMAL_CLOSURE  # 7.1.5: closed without a close frame

    def _fail(self, code: int, why: str, *, handshake: bool = False) -> None:
        """Fail the WebSocket (7.1.7): our close frame with ``code``, then the error."""
        if self._ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._out += self._ws.send(CloseConnection(code=code, reason=why[:100]))
        self.close_code, self.close_reason = code, why
        self._state = WsState.CLOSED
        self._raise(WebSocketHandshakeError(why) if handshake else WebSocketError(why, code=code))

    def _raise(self, error: WebSocketError) -> None:
        self._in.clear()  # the AMQP core gets a failed transport, not a half stream
        self._held.clear()
        self._pong = None
        self.error = error
        raise error

    # -- output ----------------------------------------------------------------------------------
    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Queue AMQP bytes: in binary frames of at most ``send_frame_size`` bytes, or, before
        the upgrade completes, held until it does. LocalProtocolError once closing."""
        if not data:
            return
        if self._state is WsState.CONNECTING:
            self._held.append(bytes(data))
            return
        if self._state is not WsState.OPEN:
            raise LocalProtocolError(f"the WebSocket is {self._state.value}: no more AMQP "
                                     "bytes can be sent")
        size = self.send_frame_size
        if len(data) <= size:
            self._frame(data)
            return
        with memoryview(data) as view:
            for at in range(0, len(view), size):
                self._frame(view[at:at + size])

    def _frame(self, payload: bytes | bytearray | memoryview) -> None:
        """Append one binary frame carrying ``payload`` to the output, built in place: the
        payload is copied once, and a client masks it there (wsproto's ``send`` copies it
        about six times). Data frames leave wsproto's state as it is (an unfragmented
        message has none), so its control frames (ping, pong, close) interleave alike."""
        out = self._out
        n = len(payload)
        mask = _MASKED if self.role == "client" else 0  # 5.1: a client masks every frame
        if n < 126:  # 5.2: payload length in 7 bits, or 16, or 64 (the fewest that hold it)
            out += struct.pack("!BB", _BINARY_FIN, mask | n)
        elif n < 65536:
            out += struct.pack("!BBH", _BINARY_FIN, mask | 126, n)
        else:
            out += struct.pack("!BBQ", _BINARY_FIN, mask | 127, n)
        if not mask:
            out += payload
            return
        # 5.3: a fresh, unpredictable 32-bit key per frame (from the OS's CSPRNG, drawn in
        # batches); payload byte i is XORed with key byte i % 4.
        at = self._key_at
        if at == len(self._keys):
            self._keys, at = os.urandom(_KEYS), 0
        key = self._keys[at:at + 4]
        self._key_at = at + 4
        out += key
        start = len(out)
        out += payload
        for i in range(min(n, 4)):
            part = slice(start + i, None, 4)
            out[part] = out[part].translate(_xor_table(key[i]))

    def ping(self, payload: bytes = b"") -> None:
        """Queue a ping (5.5.2); :attr:`pongs` counts the answers."""
        if len(payload) > MAX_CONTROL_PAYLOAD:
            raise ValueError(f"a ping carries at most {MAX_CONTROL_PAYLOAD} bytes")
        if self._state is not WsState.OPEN:
            raise LocalProtocolError(f"the WebSocket is {self._state.value}: cannot ping")
        self._out += self._ws.send(Ping(payload=bytes(payload)))

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (7.1.2): our close frame, then the peer's answer.

        Before the upgrade completed, or once closing, there is nothing to say: the
        WebSocket is just marked closed (close the socket).
        """
        if self._state is WsState.OPEN:
            self._out += self._ws.send(CloseConnection(code=code, reason=reason or None))
            self._state = WsState.CLOSING
            self._held.clear()
        elif self._state is WsState.CONNECTING:
            self._state = WsState.CLOSED

    def data_to_send(self) -> bytes:
        """The bytes to write to the socket now (``b""`` if none)."""
        if self._pong is not None:
            if self._ws.state is ConnectionState.OPEN:
                self._out += self._ws.send(Pong(payload=self._pong))
            self._pong = None
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data


def client_for_url(url: ParsedURL, *, subprotocols: Sequence[str] = SUBPROTOCOLS,
                   max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
                   send_frame_size: int = DEFAULT_SEND_FRAME_SIZE,
                   headers: Sequence[tuple[str, str]] = ()) -> WebSocketLayer:
    """The client layer for an ``amqpws://`` or ``amqpwss://`` URL: its Host header and
    request path (``/`` when it has none); the options as for :class:`WebSocketLayer`."""
    if not url.ws:
        raise ValueError(f"{url!r} is not a WebSocket URL (amqpws:// or amqpwss://)")
    return WebSocketLayer("client", host=url.ws_host, path=url.path or "/",
                          subprotocols=subprotocols, max_frame_size=max_frame_size,
                          send_frame_size=send_frame_size, headers=headers)
