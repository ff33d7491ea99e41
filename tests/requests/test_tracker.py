"""The correlation matcher: each reply goes to the one request it answers, under any
order of replies, duplicates, unknown ids and our own requests echoed back."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import Message, Properties
from amqp10_proto._requests import (
    RequestBadRequest,
    RequestFailed,
    RequestNotFound,
    RequestServerError,
    RequestTracker,
    RequestUnauthorized,
    management_request,
    raise_for_status,
    reply_status,
)
from amqp10_proto.codec import decode
from amqp10_proto.errors import LocalProtocolError


def reply_to(request: Message, body: object = None, **props: Any) -> Message:
    assert request.properties is not None
    return Message(body, properties=Properties(correlation_id=request.properties.message_id,
                                               **props))


def roundtrip(message: Message) -> Message:
    """As the peer gets it: encoded and decoded."""
    return Message.decode(b"".join(message.encode_parts()))


def test_a_request_gets_an_id_and_reply_to_and_the_caller_keeps_its_message() -> None:
    tracker = RequestTracker("replies")
    original = Message(b"ping", application_properties={"k": 1})
    request, pending = tracker.prepare(original, now=10.0, timeout=5.0)
    assert original.properties is None  # not changed under the caller
    assert request.properties is not None
    assert request.properties.reply_to == "replies"
    assert request.properties.message_id == pending.message_id
    assert (request.body, request.application_properties) == (b"ping", {"k": 1})
    assert pending.deadline == 15.0
    assert tracker.on_reply(roundtrip(reply_to(request, "pong"))) is pending
    assert pending.done and pending.reply is not None and pending.reply.body == "pong"
    assert len(tracker) == 0


def test_echo_of_our_own_request_is_not_its_reply() -> None:
    # A fixed reply address that is also the request's address: the request comes back.
    tracker = RequestTracker("service")
    request, pending = tracker.prepare(Message(b"x", properties=Properties(
        correlation_id="x-1", message_id="x-1")), now=0.0)
    assert tracker.on_reply(roundtrip(request)) is None
    assert (tracker.echoes, pending.done) == (1, False)
    assert tracker.on_reply(reply_to(request)) is pending


def test_ids_in_flight_and_the_bound_are_refused_without_recording() -> None:
    tracker = RequestTracker("r", max_in_flight=2)
    tracker.prepare(Message(b"", properties=Properties(message_id="same")), now=0.0)
    with pytest.raises(LocalProtocolError, match="in flight already"):
        tracker.prepare(Message(b"", properties=Properties(message_id="same")), now=0.0)
    tracker.prepare(Message(b""), now=0.0)
    with pytest.raises(LocalProtocolError, match="max_in_flight"):
        tracker.prepare(Message(b""), now=0.0)
    assert len(tracker) == 2
    with pytest.raises(LocalProtocolError, match="no reply address"):
        RequestTracker().prepare(Message(b""), now=0.0)


def test_deadlines_expire_and_late_replies_are_strays() -> None:
    tracker = RequestTracker("r")
    a, pa = tracker.prepare(Message(b"a"), now=0.0, timeout=1.0)
    b, pb = tracker.prepare(Message(b"b"), now=0.0, timeout=3.0)
    _, pc = tracker.prepare(Message(b"c"), now=0.0)  # no deadline
    assert tracker.next_deadline() == 1.0
    assert tracker.expire(0.999) == []
    assert tracker.expire(1.0) == [pa] and pa.expired and pa.done
    assert tracker.next_deadline() == 3.0
    assert tracker.on_reply(reply_to(a)) is None and tracker.strays == 1
    assert tracker.on_reply(reply_to(b)) is pb
    assert tracker.expire(100.0) == [] and tracker.next_deadline() is None
    assert tracker.abandon_all() == [pc] and len(tracker) == 0


def test_replies_without_properties_or_undecodable_are_strays() -> None:
    tracker = RequestTracker("r")
    tracker.prepare(Message(b""), now=0.0)
    # Properties whose list holds a str8 that claims 5 bytes and has none (decoded lazily).
    broken = Message.decode(b"\x00\x53\x73\xc0\x03\x01\xa1\x05" + b"\x00\x53\x77\x40")
    for reply in (Message(b"no properties"), Message(b"", properties=Properties()), broken):
        assert tracker.on_reply(reply) is None
    assert tracker.strays == 3 and len(tracker) == 1


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       dups=st.integers(0, 5), unknown=st.integers(0, 5), echoes=st.integers(0, 5))
def test_random_reply_order_duplicates_unknown_and_echoes(
        n: int, seed: int, dups: int, unknown: int, echoes: int) -> None:
    rng = random.Random(seed)
    tracker = RequestTracker("shared")
    # Some requests carry a correlation-id equal to their own message-id: their echo
    # looks like a reply by correlation-id alone.
    sent = [tracker.prepare(Message(i, properties=Properties(message_id=f"m{i}",
                                                             correlation_id=f"m{i}"))
                            if rng.random() < 0.5 else Message(i), now=0.0)
            for i in range(n)]
    wire: list[tuple[str, Message]] = [("reply", roundtrip(reply_to(req, ["re", req.body])))
                                       for req, _ in sent]
    wire += [("dup", roundtrip(reply_to(rng.choice(sent)[0], "dup"))) for _ in range(dups)]
    wire += [("unknown", Message(b"", properties=Properties(correlation_id=f"nobody-{i}")))
             for i in range(unknown)]
    wire += [("echo", roundtrip(rng.choice(sent)[0])) for _ in range(echoes)]
    rng.shuffle(wire)
    matched = {}
    for kind, message in wire:
        pending = tracker.on_reply(message)
        if pending is None:
            continue
        assert kind in ("reply", "dup")
        assert pending.message_id not in matched  # never answered twice
        matched[pending.message_id] = message
    # Every request got exactly one reply, and it is a reply to that request.
    for request, waiting in sent:
        got: Any = matched[waiting.message_id]
        sent_props: Any = request.properties
        assert got.properties.correlation_id == sent_props.message_id
        assert got.body in (["re", request.body], "dup")
        assert waiting.reply is got
    assert len(tracker) == 0
    assert tracker.echoes + tracker.strays == echoes + dups + unknown


# -- status codes ----------------------------------------------------------------------------

@pytest.mark.parametrize(("props", "error"), [
    ({"statusCode": 400, "statusDescription": "bad"}, RequestBadRequest),
    ({"status-code": 401, "status-description": "no"}, RequestUnauthorized),
    ({"status-code": 403}, RequestUnauthorized),
    ({"statusCode": 404}, RequestNotFound),
    ({"statusCode": 501}, RequestServerError),
    ({"statusCode": 302}, RequestFailed),
    ({"statusCode": "200"}, RequestFailed),  # not an int: no status at all
    ({}, RequestFailed),
])
def test_status_codes_become_typed_errors(props: dict[str, object],
                                          error: type[RequestFailed]) -> None:
    reply = Message(None, application_properties=props)
    with pytest.raises(error) as info:
        raise_for_status(reply, "READ")
    assert type(info.value) is error
    assert info.value.reply is reply
    assert info.value.status_code == (props.get("statusCode", props.get("status-code"))
                                      if error is not RequestFailed or props.get("statusCode") == 302
                                      else None)


def test_ok_status_and_both_spellings() -> None:
    assert raise_for_status(Message(None, application_properties={"statusCode": 200})) == 200
    reply = Message(None, application_properties={"status-code": 202, "status-description": "ok",
                                                  "error-condition": "x"})
    assert raise_for_status(reply) == 202
    assert reply_status(reply) == (202, "ok", "x")


def test_management_request_carries_the_drafts_properties() -> None:
    msg = roundtrip(management_request("READ", type="queue", name="q", locales="en-US",
                                       body={"k": 1}, application_properties={"x": True}))
    assert msg.application_properties == {"x": True, "operation": "READ", "type": "queue",
                                          "name": "q", "locales": "en-US"}
    assert msg.body_type == "value" and msg.body == {"k": 1}
    with pytest.raises(ValueError, match="operation and a type"):
        management_request("READ", type="")
    assert decode(b"\x40") is None  # (the codec's null, which a body of None encodes to)
