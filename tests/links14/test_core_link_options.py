"""Issue 14, the core's half of the link options: a transfer's message-format and
delivery-tag (2.7.5, 2.8.7), a sender's ``available`` (2.6.7), dynamic senders (3.5.4),
and the transaction id an adapter reads off a transaction object (4.4)."""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_proto import MessageReceived, RemoteAttach, RemoteBegin, Target
from amqp10_proto.client import txn_id_of
from amqp10_proto.errors import LocalProtocolError, TransactionError
from amqp10_proto.performatives import Flow, Transfer

from ..corepair import CorePair, linked_pair
from ..test_engine_links import wire_frames


def test_a_transfer_carries_the_message_format_and_the_callers_tag() -> None:
    p, sender, _ = linked_pair()
    sender.send(b"x", tag=b"mine", message_format=0x80013700)
    p.pump()
    (transfer,) = [f for f in wire_frames(p, "client") if isinstance(f, Transfer)]
    assert (transfer.delivery_tag, transfer.message_format) == (b"mine", 0x80013700)
    (ev,) = p.events("server", MessageReceived)
    assert (ev.delivery.tag, ev.delivery.message_format) == (b"mine", 0x80013700)


@pytest.mark.parametrize(("fmt", "exc"), [(-1, ValueError), (1 << 32, ValueError),
                                          ("0", TypeError), (1.0, TypeError),
                                          (True, TypeError)])
def test_a_bad_message_format_is_refused_before_anything_is_sent(fmt: Any,
                                                                  exc: type) -> None:
    p, sender, _ = linked_pair()
    p.wire["client"].clear()
    with pytest.raises(exc, match="message_format"):
        sender.send(b"x", message_format=fmt)
    assert sender.credit == 10 and not sender.unsettled and p.pump() == 0


def test_the_largest_message_format_goes() -> None:
    p, sender, _ = linked_pair()
    sender.send(b"x", message_format=(1 << 32) - 1)
    p.pump()
    (ev,) = p.events("server", MessageReceived)
    assert ev.delivery.message_format == 0xFFFFFFFF


def test_a_tag_is_unique_among_the_unsettled_and_32_bytes_at_most() -> None:
    p, sender, _ = linked_pair()
    sender.send(b"a", tag=b"t" * 32)
    with pytest.raises(LocalProtocolError, match="in use"):
        sender.send(b"b", tag=b"t" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        sender.send(b"b", tag=b"t" * 33)
    with pytest.raises(TypeError, match="delivery_tag"):
        sender.send(b"b", tag="text")
    assert len(sender.unsettled) == 1 and sender.credit == 9


def test_a_counter_tag_skips_one_the_caller_holds() -> None:
    # The link numbers its tags 0, 1, 2 ... as 4 bytes; a caller's tag that is the next
    # number must not be given out twice while unsettled (2.8.7).
    p, sender, _ = linked_pair()
    sender.send(b"a", tag=b"\x00\x00\x00\x00")
    d = sender.send(b"b")
    assert d.tag != b"\x00\x00\x00\x00"
    assert len({x.tag for x in sender.unsettled.values()}) == 2


def test_a_settled_tag_may_be_used_again() -> None:
    p, sender, receiver = linked_pair()
    sender.send(b"a", tag=b"again")
    p.pump()
    (ev,) = p.events("server", MessageReceived)
    receiver.accept(ev.delivery)
    p.pump()
    assert not sender.unsettled
    sender.send(b"b", tag=b"again")


def test_available_rides_on_the_echo_answer_with_the_exact_bytes() -> None:
    p, sender, receiver = linked_pair(credit=0)
    p.wire["client"].clear()
    sender.available = 3  # the adapter's queue holds three messages
    p.pump()
    assert not p.wire["client"]  # setting it sends no flow of its own
    receiver.request_flow()  # 2.6.7: echo asks the sender for its flow state
    p.pump()
    p.wire["client"][:] = [b for b in p.wire["client"] if b]
    # The sender's answer: size 0x1f, doff 2, type 0, channel 0; flow (0x13) list8 of 8:
    # next-incoming-id 0, incoming-window 5000, next-outgoing-id 0, outgoing-window
    # 2**31-1, handle 0, delivery-count 0, link-credit 0, available 3 (smalluint 52 03).
    assert b"".join(p.wire["client"]) == bytes.fromhex(
        "0000001f02000000" "005313c0120843700000138843707fffffff" "434343" "5203")
    p.wire["client"].clear()
    sender.available = 0  # the queue emptied: the next answer says so (uint0)
    receiver.request_flow()
    p.pump()
    assert b"".join(p.wire["client"]).endswith(b"\x43\x43\x43\x43")


def test_a_sender_that_never_counted_leaves_available_out() -> None:
    p, sender, receiver = linked_pair(credit=0)
    receiver.request_flow()
    p.pump()
    (flow,) = [f for f in wire_frames(p, "client") if isinstance(f, Flow)]
    assert flow.available is None and flow.handle == 0


@pytest.mark.parametrize("bad", [-1, 1 << 32, "3", 2.0])
def test_available_is_a_uint_or_none(bad: Any) -> None:
    _, sender, _ = linked_pair()
    with pytest.raises((TypeError, ValueError), match="available"):
        sender.available = bad
    assert sender.available is None


def test_a_dynamic_sender_asks_the_peer_to_name_its_target() -> None:
    p = CorePair()
    p.open()
    session = p.client.begin_session()
    p.pump()
    (rb,) = p.events("server", RemoteBegin)
    rb.session.begin()
    sender = session.attach_sender(None, dynamic=True)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    asked = ra.link.remote_target
    assert isinstance(asked, Target) and asked.dynamic is True and asked.address is None
    ra.link.attach(target=Target(address="tmp-42", dynamic=True))
    p.pump()
    target = sender.remote_target
    assert isinstance(target, Target) and target.address == "tmp-42"
    with pytest.raises(ValueError, match="dynamic"):
        session.attach_sender("q", dynamic=True)


class _Txn:
    def __init__(self, txn_id: Any = b"\x01\x02", error: bool = False) -> None:
        self._id, self._error = txn_id, error

    @property
    def txn_id(self) -> Any:
        if self._error:
            raise TransactionError("the transaction was committed already")
        return self._id


def test_txn_id_of_reads_the_transaction_objects_id() -> None:
    assert txn_id_of(None) is None
    assert txn_id_of(_Txn(b"abc")) == b"abc"
    with pytest.raises(TransactionError, match="committed"):
        txn_id_of(_Txn(error=True))
    with pytest.raises(TypeError, match="bytes"):
        txn_id_of(_Txn("abc"))
    with pytest.raises(TypeError, match=r"session\.transaction"):
        txn_id_of(object())  # type: ignore[arg-type]
