"""The exception hierarchy shared by the core and every adapter.

Everything the package raises on purpose derives from :class:`AMQPError`, so a
caller can catch one base class. The core itself only ever raises
:class:`LocalProtocolError`, :class:`RemoteProtocolError` and :class:`DecodeError`
(a kind of remote protocol error) out of its public calls.
"""

from __future__ import annotations

__all__ = [
    "AMQPError",
    "DecodeError",
    "EncodeError",
    "EncodeTypeError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
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
