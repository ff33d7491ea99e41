"""The exception hierarchy shared by the core and every adapter.

Everything the package raises on purpose derives from :class:`AMQPError`, so a
caller can catch one base class. Out of its public calls the core raises
:class:`LocalProtocolError` (a call the protocol state does not allow now),
:class:`RemoteProtocolError` and :class:`DecodeError` (a kind of remote protocol error);
an argument of the wrong type or value (a settle outcome that is not one, a negative
credit, an unknown settle mode) is refused first with the built-in ``TypeError`` or
``ValueError``, before any state changes or any frame is queued.

The transports' errors are here too, so that a caller catches them without the optional
wsproto installed: :class:`WebSocketError` (a :class:`RemoteProtocolError`) and
:class:`ProxyError` (a :class:`ConnectionError`, as a refused TCP connect is).
"""

from __future__ import annotations

__all__ = [
    "AMQPError",
    "AuthenticationError",
    "ConnectionClosedError",
    "DecodeError",
    "DeliveryFailed",
    "EncodeError",
    "EncodeTypeError",
    "LinkDetachedError",
    "LocalProtocolError",
    "MessageModified",
    "MessageRejected",
    "MessageReleased",
    "ProtocolError",
    "ProxyAuthenticationError",
    "ProxyError",
    "RemoteProtocolError",
    "SessionEndedError",
    "SettlementLost",
    "TransactionError",
    "TransactionRolledBack",
    "TransactionTimeout",
    "TransactionsNotSupported",
    "WebSocketError",
    "WebSocketHandshakeError",
]


class AMQPError(Exception):
    """Base class of every exception this package raises on purpose."""


class ProtocolError(AMQPError):
    """Base class of the two protocol errors: ours, or the peer's."""


class LocalProtocolError(ProtocolError):
    """The caller asked for something the protocol (or the core's state) forbids.

    The core raises it before changing any state, so the call may be corrected
    and retried.
    """


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol.

    ``condition`` is the AMQP error condition (for example
    ``amqp:decode-error``) the core sends, or has sent, to the peer.
    """

    def __init__(self, message: str, *, condition: str = "amqp:internal-error") -> None:
        super().__init__(message)
        self.condition = condition


class DecodeError(RemoteProtocolError):
    """Bytes that are not a valid AMQP 1.0 encoding.

    ``offset`` is the byte offset into the input at which the fault was found.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        text = message if offset is None else f"{message} (at byte offset {offset})"
        super().__init__(text, condition="amqp:decode-error")
        self.offset = offset


class EncodeError(AMQPError, ValueError):
    """A value that cannot be represented in AMQP 1.0 (or not as the type asked for).

    It is a :class:`ValueError` too; ``path`` says where inside the encoded
    structure the value sits, for example ``[2]['key']``.
    """

    def __init__(self, message: str, path: str = "") -> None:
        text = f"{message} at {path}" if path else message
        super().__init__(text)
        self.path = path


class EncodeTypeError(EncodeError, TypeError):
    """A Python value of a type that has no AMQP 1.0 encoding (or not the one asked for)."""


# -- what the adapters raise to applications (shared by trio, asyncio and sync) ----------

class _PeerError(AMQPError):
    """An endpoint or delivery failed; ``error`` is the AMQP error (2.8.14) when there was one."""

    def __init__(self, message: str, error: object = None) -> None:
        super().__init__(message)
        #: The peer's (or our) ``amqp10_proto.Error``: condition, description, info.
        self.error = error

    @property
    def condition(self) -> str | None:
        return getattr(self.error, "condition", None)

    @property
    def description(self) -> str | None:
        return getattr(self.error, "description", None)


class ConnectionClosedError(_PeerError):
    """The connection is closed (by us, by the peer, or because the socket went)."""


class AuthenticationError(ConnectionClosedError):
    """SASL authentication failed (amqp:unauthorized-access); not a protocol error."""


class SessionEndedError(_PeerError):
    """The session ended (the peer's end, ours, or its connection's)."""


class LinkDetachedError(_PeerError):
    """The link detached; with RabbitMQ 3.10 link errors arrive as the session's end."""


class DeliveryFailed(_PeerError):
    """The peer settled a message with an outcome other than accepted."""

    def __init__(self, message: str, error: object = None, state: object = None) -> None:
        super().__init__(message, error)
        #: The outcome (Rejected, Released, Modified ...) the peer gave.
        self.state = state


class MessageRejected(DeliveryFailed):
    """The peer rejected the message (3.4.2), usually with an error saying why."""


class MessageReleased(DeliveryFailed):
    """The peer released the message (3.4.4): not processed; it may be sent again."""


class MessageModified(DeliveryFailed):
    """The peer gave the modified outcome (3.4.5): see ``state.delivery_failed`` etc."""


class SettlementLost(LinkDetachedError):
    """A received message can no longer be settled: the connection it came on was lost.

    The broker still holds the message as unsettled on the old link and delivers it
    again (to this receiver after the reconnect, or to another consumer). Process
    messages idempotently: an at-least-once consumer sees such a message twice.
    """


# -- transactions (part 4) ----------------------------------------------------------------

class TransactionError(_PeerError):
    """A transaction cannot be used, or did not end as asked (part 4).

    Raised by ``txn.txn_id`` (and so by a transactional send or settlement) when the
    transaction is not declared yet, is discharged already, or its control link,
    session or connection is gone; ``error`` is the AMQP error when there was one.
    """


class TransactionRolledBack(TransactionError):
    """The commit did not happen: the peer rolled the transaction back
    (``amqp:transaction:rollback``, 4.5.9), or it was over before the commit (its control
    link detached, its session or connection ended: the coordinator rolls back, 4.2)."""


class TransactionTimeout(TransactionRolledBack):
    """The peer rolled the transaction back because it lasted too long
    (``amqp:transaction:timeout``, 4.5.9)."""


class TransactionsNotSupported(TransactionError):
    """The peer does not coordinate transactions: it refused the control link (4.2),
    as RabbitMQ 3.10 does (``amqp:not-implemented``)."""


# -- transports: WebSocket (amqp10_ws) and HTTP CONNECT proxies (_proxy) -------------------

class WebSocketError(RemoteProtocolError):
    """The WebSocket peer broke the protocol (RFC 6455, the AMQP WebSocket Binding): a
    text message, an oversized frame, a connection cut inside a frame. The layer has
    queued the answer (a close frame with ``code``, or an HTTP error) in its
    ``data_to_send()``: send it, then close the socket. ``code`` is the RFC 6455 close
    code sent or implied (7.4.1), else None.

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


class ProxyError(ConnectionError):
    """The HTTP proxy did not open the tunnel (RFC 9110 9.3.6), or could not be reached:
    ``status`` is the HTTP status it answered (None when it answered no valid HTTP,
    closed first, or was never reached); ``proxy`` is its ``host:port``."""

    def __init__(self, message: str, *, proxy: str, status: int | None = None) -> None:
        super().__init__(message)
        self.proxy = proxy
        self.status = status


class ProxyAuthenticationError(ProxyError):
    """The proxy asked for credentials (407; 401 from some, tinyproxy among them), or
    refused the ones given."""
