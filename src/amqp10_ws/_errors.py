"""The errors of the WebSocket layer: a peer that breaks RFC 6455 or the AMQP WebSocket
Binding (a refused or malformed handshake, a text message, an oversized frame, a
connection cut inside a frame). Misuse by the caller is the core's LocalProtocolError."""

from __future__ import annotations

from amqp10_proto.errors import RemoteProtocolError

__all__ = ["WebSocketError", "WebSocketHandshakeError"]


class WebSocketError(RemoteProtocolError):
    """The WebSocket peer broke the protocol; the layer has queued the answer (a close
    frame with ``code``, or an HTTP error) in ``data_to_send()``: send it, then close
    the socket. ``code`` is the RFC 6455 close code sent or implied (7.4.1), else None.

    Its ``condition`` is ``amqp:connection:framing-error``: the AMQP byte stream lost
    its carrier mid-way, so no AMQP close can follow.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message, condition="amqp:connection:framing-error")
        self.code = code


class WebSocketHandshakeError(WebSocketError):
    """The opening handshake failed (RFC 6455 4): ``status`` is the HTTP status the
    server answered (client role) or that we answered (server role), when there was one.

    For example the server refused the upgrade (400, 403, 426 ...), answered without
    the subprotocol ``amqp``, or the peer closed the connection mid-handshake.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
