"""AMQP over WebSocket (OASIS AMQP WebSocket Binding 1.0): a sans-IO layer over wsproto.

:class:`WebSocketLayer` turns socket bytes into the AMQP bytes they carry and back, in
the client or server role, with the upgrade handshake (subprotocol ``amqp``, or the
draft's ``AMQPWSB10``), ping/pong and close. It knows nothing of AMQP, and the AMQP
core nothing of it: an adapter stacks it between the socket and the core. It needs the
optional dependency wsproto: ``pip install 'amqp10[ws]'``.
"""

try:
    import wsproto as _wsproto  # noqa: F401  (checked here, to say what to install)
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("AMQP over WebSocket (amqp10_ws, amqpws:// and amqpwss:// URLs) needs "
                      "the optional dependency wsproto: pip install 'amqp10[ws]'") from _exc

from ._errors import WebSocketError, WebSocketHandshakeError
from ._layer import (
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_SEND_FRAME_SIZE,
    SUBPROTOCOLS,
    WebSocketLayer,
    WsState,
    client_for_url,
)

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_SEND_FRAME_SIZE",
    "SUBPROTOCOLS",
    "WebSocketError",
    "WebSocketHandshakeError",
    "WebSocketLayer",
    "WsState",
    "client_for_url",
]
