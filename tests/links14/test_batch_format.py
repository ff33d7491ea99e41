"""Azure's batch message (message-format 0x80013700): our envelope read by the Azure
SDK's own decoder, and the SDK's own batch read by ours."""

from __future__ import annotations

from typing import Any

import pytest
from azure.servicebus._pyamqp import utils
from azure.servicebus._pyamqp._decode import decode_payload as _decode_payload
from azure.servicebus._pyamqp._encode import encode_payload
from azure.servicebus._pyamqp.message import BatchMessage
from azure.servicebus._pyamqp.message import Message as AzMessage
from azure.servicebus._pyamqp.message import Properties as AzProperties
from azure.servicebus._transport._pyamqp_transport import PyamqpTransport

from amqp10_proto import (
    BATCH_MESSAGE_FORMAT,
    EncodedMessage,
    Message,
    Properties,
    decode_batch,
    encode_batch,
)


def decode_payload(data: Any) -> Any:
    """The Azure SDK's decoder (untyped for what we read off it)."""
    return _decode_payload(data)


def _ours() -> list[Any]:
    return [
        Message(b"one", properties=Properties(message_id="id-1", group_id="session-a"),
                application_properties={"k": "v"},
                message_annotations={"x-opt-partition-key": "pk"}),
        Message({"two": 2}),  # an amqp-value body
        b"three",  # a data body
        EncodedMessage(Message("four").encode()),  # encoded already
    ]


def _azure_batch() -> bytes:
    """The batch the Azure SDK itself builds (ServiceBusMessageBatch's steps)."""
    batch: Any = PyamqpTransport.build_batch_message([])
    add_batch: Any = utils.add_batch
    add_batch(batch, AzMessage(data=[b"one"], properties=AzProperties(
        message_id="id-1", group_id="session-a"), application_properties={"k": "v"},
        message_annotations={b"x-opt-partition-key": "pk"}))
    add_batch(batch, AzMessage(value={"two": 2}))
    PyamqpTransport.set_batch_envelope_properties(batch, "id-1", "session-a", "pk")
    return bytes(encode_payload(bytearray(), BatchMessage(*batch)))


def test_the_format_is_azures() -> None:
    assert BATCH_MESSAGE_FORMAT == BatchMessage._code == 0x80013700


def test_the_azure_sdk_decodes_our_batch_into_its_messages() -> None:
    envelope = decode_payload(memoryview(encode_batch(_ours()).data))
    # The envelope routes as the first message: its message-id, group-id, partition key.
    assert envelope.properties.message_id == b"id-1"
    assert envelope.properties.group_id == b"session-a"
    assert envelope.message_annotations == {b"x-opt-partition-key": b"pk"}
    inner = [decode_payload(memoryview(section)) for section in envelope.data]
    assert len(inner) == 4
    assert inner[0].data == [b"one"] and inner[0].application_properties == {b"k": b"v"}
    assert inner[0].properties.message_id == b"id-1"
    assert inner[1].value == {b"two": 2}
    assert inner[2].data == [b"three"]
    assert inner[3].value == b"four"


def test_our_envelope_says_what_the_sdks_own_envelope_says() -> None:
    ours = decode_payload(memoryview(encode_batch(_ours()[:2]).data))
    theirs = decode_payload(memoryview(_azure_batch()))
    assert ours.properties == theirs.properties
    assert ours.message_annotations == theirs.message_annotations
    assert [decode_payload(memoryview(d)) for d in ours.data] == \
        [decode_payload(memoryview(d)) for d in theirs.data]


def test_we_read_the_sdks_own_batch() -> None:
    first, second = decode_batch(_azure_batch())
    assert first.body == b"one" and first.application_properties == {"k": "v"}
    assert first.properties is not None and first.properties.group_id == "session-a"
    assert second.body == {"two": 2}


def test_an_envelope_without_routing_fields_carries_none() -> None:
    envelope = Message.decode(encode_batch([b"a", b"b"]).data)
    assert envelope.properties is None and envelope.message_annotations is None
    assert envelope.body == [Message(b"a").encode(), Message(b"b").encode()]


def test_a_batch_needs_messages() -> None:
    with pytest.raises(ValueError, match="at least one"):
        encode_batch([])
    with pytest.raises(TypeError):
        encode_batch([1])  # type: ignore[list-item]
