"""The exceptions of amqp10, shared by the core and every adapter."""

from ._errors import (
    AMQPError,
    DecodeError,
    EncodeError,
    EncodeTypeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._sasl import SaslError

__all__ = [
    "AMQPError",
    "DecodeError",
    "EncodeError",
    "EncodeTypeError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "SaslError",
]
