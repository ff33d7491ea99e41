"""Batch messages in Azure's format: several messages sent as one delivery.

Azure Service Bus and Event Hubs take a transfer of message-format 0x80013700
(2.7.5: a vendor format, Microsoft's 0x00013700 prefix with the top bit) whose
payload is an ordinary AMQP message, the *envelope*, whose body is one data
section (3.2.6) per message, each holding that message fully encoded. The
broker unpacks it into separate messages. The envelope carries the first
message's message-id and group-id (Service Bus: its session id) and its
``x-opt-partition-key`` annotation, as the Azure SDK's own batches do, so that
the service routes the batch where the first message would go.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._checks import EncodedMessage, sendable
from ._definitions import Properties
from ._message import Data, Message
from ._types import Symbol

__all__ = ["BATCH_MESSAGE_FORMAT", "decode_batch", "encode_batch"]

#: The message-format (2.7.5) of Azure's batch message: the payload is an envelope
#: whose data sections each hold one encoded message.
BATCH_MESSAGE_FORMAT = 0x80013700

_PARTITION_KEY = Symbol("x-opt-partition-key")


def encode_batch(messages: Iterable[Message | bytes | EncodedMessage]) -> EncodedMessage:
    """The envelope of a batch (Azure's format): send it with
    ``message_format=BATCH_MESSAGE_FORMAT`` (the adapters' ``send_batch`` does both).

    Each item is what ``send`` takes (a Message; bytes as a data body; an
    EncodedMessage as given). TypeError for anything else, ValueError for no message.
    """
    encoded: list[Data] = []
    first: Message | None = None
    for item in messages:
        message = sendable(item)
        if isinstance(message, EncodedMessage):
            encoded.append(Data(message.data))
            if first is None:
                first = Message.decode(message.data)
        else:
            encoded.append(Data(message.encode()))
            if first is None:
                first = message
    if first is None:
        raise ValueError("a batch needs at least one message")
    envelope = Message(encoded)
    props = first.properties
    if props is not None and (props.message_id is not None or props.group_id is not None):
        envelope.properties = Properties(message_id=props.message_id, group_id=props.group_id)
    annotations = first.message_annotations
    if annotations and _PARTITION_KEY in annotations:
        envelope.message_annotations = {_PARTITION_KEY: annotations[_PARTITION_KEY]}
    return EncodedMessage(envelope.encode())


def decode_batch(payload: bytes | bytearray | memoryview | Message) -> list[Message]:
    """The messages of a batch envelope (what a broker receiving format 0x80013700
    unpacks): each data section decoded as a message. DecodeError if one is not."""
    envelope = payload if isinstance(payload, Message) else Message.decode(payload)
    if envelope.body_type != "data":
        return []
    body = envelope.body
    sections = [body] if isinstance(body, bytes) else list(body)
    return [Message.decode(bytes(section)) for section in sections]
