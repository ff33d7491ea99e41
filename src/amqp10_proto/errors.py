"""The exceptions of amqp10, shared by the core and every adapter."""

from ._errors import (
    AMQPError,
    AuthenticationError,
    ConnectionClosedError,
    DecodeError,
    DeliveryFailed,
    EncodeError,
    EncodeTypeError,
    LinkDetachedError,
    LocalProtocolError,
    MessageModified,
    MessageRejected,
    MessageReleased,
    ProtocolError,
    RemoteProtocolError,
    SessionEndedError,
    SettlementLost,
)
from ._requests import (
    RequestBadRequest,
    RequestFailed,
    RequestNotFound,
    RequestServerError,
    RequestUnauthorized,
)
from ._sas import SasTokenError
from ._sasl import SaslError

__all__ = [
    "RequestBadRequest",
    "RequestFailed",
    "RequestNotFound",
    "RequestServerError",
    "RequestUnauthorized",
    "SasTokenError",
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
    "RemoteProtocolError",
    "SaslError",
    "SessionEndedError",
    "SettlementLost",
]
