"""The errors of the WebSocket layer: a peer that breaks RFC 6455 or the AMQP WebSocket
Binding (a refused or malformed handshake, a text message, an oversized frame, a
connection cut inside a frame). Misuse by the caller is the core's LocalProtocolError.

They are defined in ``amqp10_proto.errors``, so that a caller catches them without
wsproto installed; this package re-exports them."""

from __future__ import annotations

from amqp10_proto.errors import WebSocketError, WebSocketHandshakeError

__all__ = ["WebSocketError", "WebSocketHandshakeError"]
