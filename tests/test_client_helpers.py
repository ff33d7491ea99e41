"""The I/O-free helpers every adapter shares (amqp10_proto.client)."""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_proto import Accepted, Error, Message, Modified, Received, Rejected, Released
from amqp10_proto.client import ReceivedSections, describe_error, outcome_error
from amqp10_proto.errors import MessageModified, MessageRejected, MessageReleased

from .corepair import linked_pair


def delivery_with(state: Any) -> Any:
    p, sender, _ = linked_pair()
    d = sender.send(Message(b"m"))
    d.remote_state = state
    return d


def test_describe_error() -> None:
    assert describe_error(None) == ""
    assert describe_error(Error(condition="amqp:not-found")) == "amqp:not-found"
    assert describe_error(Error(condition="amqp:not-found", description="no q")) == (
        "amqp:not-found: no q")


@pytest.mark.parametrize(("state", "kind"), [
    (None, None), (Accepted(), None), (Received(section_number=0, section_offset=0), None),
    (Rejected(error=Error(condition="amqp:invalid-field", description="bad")), MessageRejected),
    (Rejected(), MessageRejected), (Released(), MessageReleased),
    (Modified(delivery_failed=True), MessageModified),
])
def test_outcome_error_maps_each_outcome(state: Any, kind: Any) -> None:
    exc = outcome_error(delivery_with(state))
    if kind is None:
        assert exc is None
        return
    assert exc is not None and type(exc) is kind and exc.state is state
    if isinstance(state, Rejected) and state.error is not None:
        assert exc.condition == "amqp:invalid-field" and "bad" in str(exc)


def test_received_sections_read_the_message() -> None:
    p, sender, receiver = linked_pair()
    d = sender.send(Message(b"body", application_properties={"k": 1}))
    msg = ReceivedSections(Message(b"body", application_properties={"k": 1}), d, receiver)
    assert msg.body == b"body" and msg.application_properties == {"k": 1}
    assert msg.header is None and msg.properties is None and not msg.settled
    assert repr(msg).startswith("ReceivedSections(Message(b'body'")
