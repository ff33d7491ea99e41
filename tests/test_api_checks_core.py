"""The core refuses a caller's mistakes at the call, before a frame goes out (issue 11).

Each story checks that the call raised a TypeError or ValueError saying what to pass,
and that the core queued nothing (``data_to_send()`` is empty): the peer never sees
the mistake. Bytes given to ``send`` are a data body; an encoded message goes as
``EncodedMessage``.
"""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_proto import (
    AmqpValue,
    Coordinator,
    EncodedMessage,
    Error,
    Message,
    MessageReceived,
    RemoteAttach,
    Source,
    Target,
)

from .corepair import linked_pair


def _loose(cls: Any, **fields: Any) -> Any:
    """``cls(**fields)`` with fields of the wrong type, as a careless caller builds it."""
    return cls(**fields)


def _one_message(p: Any) -> Any:
    p.pump()
    (event,) = p.events("server", MessageReceived)
    return event


@pytest.mark.parametrize("body", [b"hello", bytearray(b"hello"), memoryview(b"hello")])
def test_bytes_given_to_send_are_a_data_body(body: Any) -> None:
    p, sender, _ = linked_pair()
    sender.send(body)
    event = _one_message(p)
    assert event.message.body_type == "data" and event.message.body == b"hello"
    # The wire carries the data section (0x75) with the five bytes: 00 53 75 a0 05 hello.
    assert b"\x00\x53\x75\xa0\x05hello" in b"".join(p.wire["client"])


def test_an_encoded_message_goes_as_given() -> None:
    p, sender, _ = linked_pair()
    encoded = Message(AmqpValue("hi")).encode()
    assert encoded == b"\x00\x53\x77\xa1\x02hi"  # amqp-value "hi"
    sender.send(EncodedMessage(encoded))
    event = _one_message(p)
    assert event.message.body == "hi" and event.message.body_type == "value"


@pytest.mark.parametrize("wrong", ["text", 42, None, [b"a"], {"body": b"x"}])
def test_send_refuses_anything_but_a_message_and_sends_nothing(wrong: Any) -> None:
    p, sender, _ = linked_pair()
    credit = sender.credit
    with pytest.raises(TypeError, match="send\\(\\) takes a Message, bytes"):
        sender.send(wrong)
    assert p.client.data_to_send() == b""
    assert sender.credit == credit and sender.delivery_count == 0


def test_send_of_text_says_how_to_send_text() -> None:
    _, sender, _ = linked_pair()
    with pytest.raises(TypeError, match=r"Message\(text\) \(an amqp-value body\)"):
        sender.send("hello")


def test_encoded_message_takes_bytes_only() -> None:
    with pytest.raises(TypeError, match="encoded bytes"):
        EncodedMessage("text")  # type: ignore[arg-type]
    assert EncodedMessage(bytearray(b"ab")) == EncodedMessage(b"ab")


def _received(p: Any, sender: Any) -> tuple[Any, Any]:
    sender.send(Message(b"m"))
    event = _one_message(p)
    return event.link, event.delivery


@pytest.mark.parametrize("call, kind, text", [
    (lambda r, d: r.reject(d, "nope"), TypeError, "must be an amqp10_proto.Error"),
    (lambda r, d: r.reject(d, _loose(Error, condition=None)), ValueError, "condition must be a symbol"),
    (lambda r, d: r.reject(d, _loose(Error, condition="x:y", description=5)), TypeError, "description"),
    (lambda r, d: r.modify(d, delivery_failed="yes"), TypeError, "delivery_failed must be a bool"),
    (lambda r, d: r.modify(d, message_annotations={1.5: 1}), TypeError, "keys must be symbols"),
    (lambda r, d: r.modify(d, message_annotations=[1]), TypeError, "must be a dict"),
    (lambda r, d: r.settle(d, "accepted"), TypeError, "a delivery state must be"),
    (lambda r, d: r.update(d, 3), TypeError, "a delivery state must be"),
])
def test_settling_with_a_wrong_argument_sends_nothing(call: Any, kind: type, text: str) -> None:
    p, sender, _ = linked_pair()
    receiver, delivery = _received(p, sender)
    with pytest.raises(kind, match=text):
        call(receiver, delivery)
    assert p.server.data_to_send() == b""
    assert not delivery.settled and delivery.state is None
    receiver.accept(delivery)  # the delivery can still be settled properly
    p.pump()
    assert delivery.settled


@pytest.mark.parametrize("n, kind", [(-1, ValueError), (1.5, TypeError), ("3", TypeError),
                                     (True, TypeError), (1 << 32, ValueError)])
def test_credit_must_be_a_uint(n: Any, kind: type) -> None:
    p, _, receiver = linked_pair()
    with pytest.raises(kind, match="credit"):
        receiver.add_credit(n)
    with pytest.raises(kind, match="credit"):
        receiver.set_credit(n)
    assert p.server.data_to_send() == b""


def _session(p: Any) -> Any:
    return next(iter(p.client._sessions.values()))


@pytest.mark.parametrize("kwargs, kind, text", [
    ({"target": 5}, TypeError, "target must be an address"),
    ({"target": "q", "offered_capabilities": ["ok", 1]}, TypeError, "symbols"),
    ({"target": "q", "desired_capabilities": "one"}, TypeError, "list of str"),
    ({"target": "q", "properties": {1: "x"}}, TypeError, "properties keys"),
    ({"target": "q", "properties": {"k": object()}}, ValueError, "properties"),
    ({"target": "q", "name": 7}, TypeError, "name must be a str"),
    ({"target": "q", "max_message_size": -1}, ValueError, "max_message_size"),
    ({"target": _loose(Target, address="q", capabilities=[b"x"])}, TypeError, "target.capabilities"),
    ({"target": Target(address="q", expiry_policy="soon")}, ValueError, "expiry_policy"),
])
def test_attach_sender_refuses_bad_options_before_a_frame(kwargs: dict[str, Any], kind: type,
                                                          text: str) -> None:
    p, _, _ = linked_pair()
    session = _session(p)
    links = dict(session._links) if hasattr(session, "_links") else None
    with pytest.raises(kind, match=text):
        session.attach_sender(**kwargs)
    assert p.client.data_to_send() == b""
    if links is not None:
        assert session._links == links


@pytest.mark.parametrize("kwargs, kind, text", [
    ({"credit": -1}, ValueError, "credit"),
    ({"credit": 2.5}, TypeError, "credit"),
    ({"source": _loose(Source, address="q", filter=[1])}, TypeError, "filters must be a dict"),
    ({"source": Source(address="q", filter={1: "x"})}, TypeError, "filter names"),
    ({"target": Coordinator()}, ValueError, "Coordinator"),
])
def test_attach_receiver_refuses_bad_options_before_a_frame(kwargs: dict[str, Any], kind: type,
                                                            text: str) -> None:
    p, _, _ = linked_pair()
    kwargs.setdefault("source", "q")
    with pytest.raises(kind, match=text):
        _session(p).attach_receiver(**kwargs)
    assert p.client.data_to_send() == b""


def test_a_transaction_controller_may_target_a_coordinator() -> None:
    # 4.2: the core serves whoever builds a controller; only the adapters' ordinary
    # senders refuse a Coordinator.
    p, _, _ = linked_pair()
    _session(p).attach_sender(Coordinator(capabilities=["amqp:local-transactions"]))
    p.pump()
    (attach,) = p.events("server", RemoteAttach)
    assert isinstance(attach.link.remote_attach.target, Coordinator)
