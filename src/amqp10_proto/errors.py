"""The exceptions of amqp10, shared by the core and every adapter."""

from ._errors import (
    AMQPError,
    AuthenticationError,
    ConnectionClosed,
    DecodeError,
    DeliveryFailed,
    EncodeError,
    EncodeTypeError,
    LinkDetached,
    LocalProtocolError,
    MessageModified,
    MessageRejected,
    MessageReleased,
    ProtocolError,
    RemoteProtocolError,
    SessionEnded,
    SettlementLost,
)
from ._sasl import SaslError

__all__ = [
    "AMQPError",
    "AuthenticationError",
    "ConnectionClosed",
    "DecodeError",
    "DeliveryFailed",
    "EncodeError",
    "EncodeTypeError",
    "LinkDetached",
    "LocalProtocolError",
    "MessageModified",
    "MessageRejected",
    "MessageReleased",
    "ProtocolError",
    "RemoteProtocolError",
    "SaslError",
    "SessionEnded",
    "SettlementLost",
]
