"""A small blocking pump for tests: a plain socket, amqp10_ws's client layer and an
amqp10_proto client core, stacked as an adapter will stack them (socket -> WebSocket ->
AMQP); with ``ws=False`` the core sits on the socket itself (the TCP port). It is no
adapter: one thread, every wait bounded by ``timeout``."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import (
    Accepted,
    Connection,
    ConnectionOpened,
    CreditGranted,
    DeliveryUpdated,
    Event,
    Message,
    MessageReceived,
    SaslCredentials,
    Session,
    SessionBegun,
)
from amqp10_ws import SUBPROTOCOLS, WebSocketLayer, WsState

AMQP_HEADER = b"AMQP\x03\x01\x00\x00"
MASK = b"\x11\x22\x33\x44"


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = MASK) -> bytes:
    """One RFC 6455 5.2 frame, masked (as a client sends) unless ``mask`` is None."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask is not None else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def upgrade(protocols: str | None = "amqp", key: bytes = b"dGhlIHNhbXBsZSBub25jZQ==",
            path: str = "/$servicebus/websocket") -> bytes:
    """A client's upgrade request (RFC 6455 4.1), offering ``protocols`` (None: none)."""
    lines = [f"GET {path} HTTP/1.1", "Host: broker.example:8080", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key.decode()}",
             "Sec-WebSocket-Version: 13"]
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def body_of(message: Message) -> bytes:
    """A message's data, whether the core gave one data section or a list of them."""
    data = message.body
    return b"".join(data) if isinstance(data, list) else data


def parse_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole unmasked frame (as a server sends) in ``data``."""
    frames = []
    while len(data) >= 2:
        n, at = data[1] & 0x7F, 2
        if n == 126:
            n, at = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, at = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < at + n:
            break
        frames.append((data[0] & 0x0F, data[at:at + n]))
        data = data[at + n:]
    return frames


class WsPump:
    """One AMQP connection over WebSocket to ``127.0.0.1:port`` (``path`` the request target)."""

    def __init__(self, port: int, *, path: str = "/", sasl: SaslCredentials | None = None,
                 subprotocols: tuple[str, ...] = SUBPROTOCOLS, timeout: float = 10.0,
                 max_frame_size: int = 65536, host: str = "127.0.0.1", ws: bool = True,
                 **core: Any) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.ws = WebSocketLayer("client", host=f"{host}:{port}", path=path,
                                 subprotocols=subprotocols) if ws else None
        self.core = Connection(role="client", sasl=sasl, hostname=host,
                               max_frame_size=max_frame_size, **core)
        self.events: list[Event] = []
        self.core.open()
        self.flush()

    def flush(self) -> None:
        """The core's bytes into the layer, the layer's onto the socket."""
        out = self.core.data_to_send()
        if self.ws is not None:
            if out and self.ws.state in (WsState.CONNECTING, WsState.OPEN):
                self.ws.send(out)
            out = self.ws.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self) -> bool:
        """Read once (blocking up to the timeout) and feed it through; False at EOF."""
        data = amqp = self.sock.recv(1 << 20)
        if self.ws is not None:
            self.ws.receive_data(data)
            amqp = self.ws.received()
        if amqp:
            self.core.receive_data(amqp)
        if (not data if self.ws is None else self.ws.eof) and not self.core.ended:
            self.core.receive_data(b"")
        while (event := self.core.next_event()) is not None:
            self.events.append(event)
        self.flush()
        return bool(data)

    def wait_for(self, kind: type[Any], where: Callable[[Any], bool] = lambda e: True,
                 ) -> Any:
        """Pump until an event of ``kind`` (matching ``where``) came; take and return it."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self.events):
                if isinstance(event, kind) and where(event):
                    del self.events[i]
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {kind.__name__} within {self.timeout} s; "
                                   f"events: {self.events[-5:]}")
            if not self.pump():
                raise ConnectionError(f"the peer closed before a {kind.__name__}; "
                                      f"events: {self.events[-5:]}")

    # -- the protocol's story in a few calls ---------------------------------------------------------
    def begin(self) -> Session:
        """Wait for the open, begin a session and wait until it is begun."""
        self.wait_for(ConnectionOpened)
        session = self.core.begin_session()
        self.flush()
        self.wait_for(SessionBegun, lambda e: e.session is session)
        return session

    def send(self, session: Session, address: str, *messages: Message) -> list[Any]:
        """Attach a sender to ``address``, send ``messages`` and return their outcomes."""
        sender = session.attach_sender(address)
        self.flush()
        self.wait_for(CreditGranted, lambda e: e.link is sender)
        deliveries = [sender.send(m) for m in messages]
        self.flush()
        outcomes = []
        for delivery in deliveries:
            def mine(e: Any, d: Any = delivery) -> bool:
                return e.delivery is d
            outcomes.append(self.wait_for(DeliveryUpdated, mine).state)
        sender.detach(closed=True)
        self.flush()
        return outcomes

    def receive(self, session: Session, address: str, count: int) -> list[Message]:
        """Attach a receiver with ``count`` credit and accept ``count`` messages."""
        receiver = session.attach_receiver(address, credit=count)
        self.flush()
        got = []
        for _ in range(count):
            event = self.wait_for(MessageReceived, lambda e: e.link is receiver)
            receiver.settle(event.delivery, Accepted())
            self.flush()
            got.append(event.message)
        receiver.detach(closed=True)
        self.flush()
        return got

    def close(self) -> None:
        """Close AMQP, then the WebSocket, then the socket (each bounded by the timeout)."""
        try:
            if not self.core.ended:
                self.core.close()
                self.flush()
                deadline = time.monotonic() + self.timeout
                while not self.core.ended and time.monotonic() < deadline and self.pump():
                    pass
            if self.ws is not None and self.ws.open:
                self.ws.close()
                self.flush()
        except OSError:
            pass  # the peer is gone already: nothing more to say
        finally:
            self.sock.close()

    def __enter__(self) -> WsPump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
