"""Sessions (2.5), links (2.6), flow control (2.6.7) and deliveries (2.6.12), told through two cores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amqp10_proto as amqp
from amqp10_proto import Accepted, Error, Message, Modified, Rejected, Released
from amqp10_proto._events import (
    ConnectionClosed,
    CreditGranted,
    DeliveryUpdated,
    DrainCompleted,
    LinkAttached,
    LinkDetached,
    MessageReceived,
    RemoteAttach,
    RemoteBegin,
    SessionBegun,
    SessionEnded,
    SessionFailed,
    TransferAborted,
)
from amqp10_proto._framing import encode_frame
from amqp10_proto._state import LinkState, SessionState
from amqp10_proto.errors import LocalProtocolError, RemoteProtocolError
from amqp10_proto.performatives import Transfer

from .corepair import CorePair, linked_pair


def frames_of(data: bytes) -> list[Any]:
    """The performatives in a stream of frames (for checking what went on the wire)."""
    from amqp10_proto._framing import FrameReader

    r = FrameReader(1 << 30)
    r.expect_header()
    r._expect_header = False
    r.feed(data)
    return [f[2] for f in r.frames() if f[0] != "header"]


def wire_frames(p: CorePair, side: str) -> list[Any]:
    data = b"".join(p.wire[side])
    p.wire[side].clear()
    return [f for f in frames_of(data.split(b"AMQP\x00\x01\x00\x00")[-1]) if f is not None]


# -- sessions ------------------------------------------------------------------------

def test_sessions_begin_and_end_both_ways() -> None:
    p = CorePair()
    p.open()
    s1 = p.client.begin_session(incoming_window=10)
    s2 = p.client.begin_session()
    assert (s1.channel, s2.channel) == (0, 1)
    p.pump()
    remote = [e.session for e in p.events("server", RemoteBegin)]
    assert [r.remote_channel for r in remote] == [0, 1]
    assert remote[0].remote_begin is not None and remote[0].remote_begin.incoming_window == 10
    for r in remote:
        r.begin()
    p.pump()
    assert [e.session for e in p.events("client", SessionBegun)] == [s1, s2]
    assert s1.state is SessionState.MAPPED
    remote[1].end(Error(condition="amqp:internal-error", description="bye"))
    p.pump()
    (ended,) = p.events("client", SessionEnded)
    assert ended.session is s2 and ended.error is not None and ended.error.description == "bye"
    assert p.client.sessions == [s1]
    # The freed channel is reused.
    assert p.client.begin_session().channel == 1


def test_channel_max_limits_sessions() -> None:
    p = CorePair(server={"channel_max": 0})
    p.open()
    p.client.begin_session()
    with pytest.raises(LocalProtocolError, match="no free channel"):
        p.client.begin_session()


def test_begin_on_a_channel_beyond_our_channel_max_is_a_framing_error() -> None:
    p = CorePair(server={"channel_max": 1})
    p.open()
    from amqp10_proto.performatives import Begin

    with pytest.raises(RemoteProtocolError, match="channel-max") as info:
        p.server.receive_data(encode_frame(0, 5, Begin(next_outgoing_id=0, incoming_window=1,
                                                       outgoing_window=1)))
    assert info.value.condition == "amqp:connection:framing-error"


def test_frames_on_an_unknown_channel_or_handle() -> None:
    p, sender, receiver = linked_pair()
    with pytest.raises(RemoteProtocolError, match="no session began"):
        p.server.receive_data(encode_frame(0, 9, Transfer(handle=0)))
    p2, sender2, receiver2 = linked_pair()
    with pytest.raises(RemoteProtocolError, match="not attached") as info:
        p2.server.receive_data(encode_frame(0, 0, Transfer(handle=7, delivery_id=0,
                                                           delivery_tag=b"t")))
    assert info.value.condition == "amqp:session:unattached-handle"


# -- links -----------------------------------------------------------------------------

def test_attach_exposes_what_the_peer_agreed() -> None:
    p = CorePair()
    p.open()
    s = p.client.begin_session()
    p.pump()
    p.events("server", RemoteBegin)[0].session.begin()
    p.pump()
    sender = s.attach_sender("orders", name="s1", max_message_size=5000,
                             properties={"x": 1}, snd_settle_mode=amqp.SenderSettleMode.UNSETTLED)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    link = ra.link
    assert link.name == "s1" and isinstance(link, amqp._link.Receiver)
    assert isinstance(link.remote_target, amqp.Target)
    assert link.remote_target.address == "orders"
    assert link.remote_attach is not None and link.remote_attach.properties == {"x": 1}
    link.attach(max_message_size=777, properties={"product": "srv"})
    p.pump()
    (la,) = p.events("client", LinkAttached)
    assert la.link is sender and sender.attached
    assert sender.remote_max_message_size == 777
    assert sender.remote_properties == {"product": "srv"}
    assert sender.remote_target.address == "orders"


def test_a_refused_attach_fails_that_link_alone() -> None:
    p = CorePair()
    p.open()
    s = p.client.begin_session()
    p.pump()
    p.events("server", RemoteBegin)[0].session.begin()
    p.pump()
    good = s.attach_sender("good")
    bad = s.attach_receiver("missing", credit=5)
    p.pump()
    for ra in p.events("server", RemoteAttach):
        if ra.link.name == bad.name:
            ra.link.refuse(Error(condition=amqp.ErrorCondition.NOT_FOUND, description="no such node"))
        else:
            ra.link.attach()
    p.pump()
    events = p.events("client")
    detached = [e for e in events if isinstance(e, LinkDetached)]
    assert len(detached) == 1 and detached[0].link is bad
    assert detached[0].error is not None and detached[0].error.condition == "amqp:not-found"
    assert bad.remote_source is None  # the refusal's null terminus
    assert good.attached and s.mapped


def test_detach_without_closing() -> None:
    p, sender, receiver = linked_pair()
    sender.detach(closed=False)
    p.pump()
    (ev,) = p.events("server", LinkDetached)
    assert ev.closed is False and ev.link is receiver
    (mine,) = p.events("client", LinkDetached)
    assert mine.closed is False and mine.local


def test_peer_initiated_links_in_the_other_direction() -> None:
    p = CorePair()
    p.open()
    s = p.client.begin_session()
    p.pump()
    srv_session = p.events("server", RemoteBegin)[0].session
    srv_session.begin()
    p.pump()
    out = srv_session.attach_sender("to-client")  # the server sends to the client
    p.pump()
    (ra,) = p.events("client", RemoteAttach)
    ra.link.attach()
    ra.link.add_credit(1)
    p.pump()
    out.send(Message(b"from the server"))
    p.pump()
    (mr,) = p.events("client", MessageReceived)
    assert mr.message.body == b"from the server" and mr.link is ra.link
    assert s.links == [ra.link]


def test_dynamic_receiver_gets_the_address_the_peer_chose() -> None:
    p = CorePair()
    p.open()
    s = p.client.begin_session()
    p.pump()
    p.events("server", RemoteBegin)[0].session.begin()
    p.pump()
    r = s.attach_receiver(None, dynamic=True, credit=1)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    assert ra.link.remote_source.dynamic is True and ra.link.remote_source.address is None
    ra.link.attach(source=amqp.Source(address="dynamic-1"))
    p.pump()
    assert isinstance(r.remote_source, amqp.Source) and r.remote_source.address == "dynamic-1"


def test_two_links_with_one_name_and_role_are_refused_locally() -> None:
    p, sender, receiver = linked_pair()
    with pytest.raises(LocalProtocolError, match="already attached"):
        sender.session.attach_sender("other", name=sender.name)


# -- credit and drain (2.6.7) -------------------------------------------------------------

def test_send_without_credit_is_refused_and_changes_nothing() -> None:
    p, sender, receiver = linked_pair(credit=1)
    sender.send(Message(b"1"))
    before = (sender.credit, sender.delivery_count, len(sender.unsettled))
    with pytest.raises(LocalProtocolError, match="no credit"):
        sender.send(Message(b"2"))
    assert (sender.credit, sender.delivery_count, len(sender.unsettled)) == before
    p.pump()
    assert [e.message.body for e in p.events("server", MessageReceived)] == [b"1"]
    receiver.add_credit(3)
    p.pump()
    (cg,) = p.events("client", CreditGranted)
    assert cg.credit == 3 and not cg.drain and sender.sendable


def test_credit_is_counted_from_delivery_count() -> None:
    p, sender, receiver = linked_pair(credit=5)
    for i in range(3):
        sender.send(Message(bytes([i])))
    # The receiver sets credit 5 before it sees the 3 in flight: 2.6.7 counts the
    # credit from its delivery-count (0), so the sender may send 5 - 3 more.
    receiver.set_credit(5)
    p.pump()
    assert sender.credit == 2 and receiver.credit == 2
    assert sender.delivery_count == receiver.delivery_count == 3


def test_drain_uses_up_or_gives_back_the_credit() -> None:
    p, sender, receiver = linked_pair(credit=10)
    receiver.drain()
    p.pump()
    (cg,) = p.events("client", CreditGranted)
    assert cg.drain and cg.credit == 10
    sender.send(Message(b"last one"))
    sender.drained()
    p.pump()
    assert sender.credit == 0
    events = p.events("server")
    assert any(isinstance(e, MessageReceived) for e in events)
    assert [type(e) for e in events if isinstance(e, DrainCompleted)] == [DrainCompleted]
    assert receiver.credit == 0 and not receiver.draining
    assert receiver.delivery_count == sender.delivery_count


def test_drain_with_no_credit_completes_at_once() -> None:
    p, sender, receiver = linked_pair(credit=0)
    receiver.drain()
    assert isinstance(p.server.next_event(), DrainCompleted)


def test_transfer_beyond_credit_detaches_the_link_with_transfer_limit_exceeded() -> None:
    p, sender, receiver = linked_pair(credit=1)
    sender.send(Message(b"ok"))
    sender.credit = 5  # a broken sender ignores its credit
    sender.send(Message(b"too many"))
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert det.error is not None and det.error.condition == "amqp:link:transfer-limit-exceeded"
    assert p.client.opened  # the link alone failed


# -- transfers, windows and sizes ---------------------------------------------------------

@pytest.mark.parametrize("chunk", [None, 0, 1])
def test_a_large_message_is_split_and_reassembled(chunk: int | None) -> None:
    p, sender, receiver = linked_pair(chunk=chunk, client={"max_frame_size": 512},
                                      server={"max_frame_size": 512})
    body = bytes(range(256)) * 40  # 10 KiB
    sender.send(Message(body, properties=amqp.Properties(message_id="big")))
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    assert mr.message.body == body and mr.message.properties.message_id == "big"
    transfers = [f for f in wire_frames(p, "client") if isinstance(f, Transfer)]
    assert len(transfers) > 20
    assert all(t.more for t in transfers[:-1]) and not transfers[-1].more
    assert transfers[0].delivery_tag is not None


def test_session_window_limits_transfers_and_reopens() -> None:
    p, sender, receiver = linked_pair(credit=100)
    session = sender.session
    srv = receiver.session
    assert session.remote_incoming_window == srv.incoming_window
    session.remote_incoming_window = 2  # as if the peer had advertised 2
    sender.send(Message(b"a"))
    sender.send(Message(b"b"))
    assert not sender.sendable
    with pytest.raises(LocalProtocolError, match="window"):
        sender.send(Message(b"c"))
    p.pump()
    assert len(p.events("server", MessageReceived)) == 2


def test_window_violation_is_a_session_error() -> None:
    p, sender, receiver = linked_pair(credit=100)
    receiver.session._incoming_left = 0  # as if the window we advertised were used up
    sender.send(Message(b"1"))
    p.pump()
    # 2.5.6: the session ends with window-violation at once; the connection goes on.
    (failed,) = p.events("server", SessionFailed)
    assert failed.session is receiver.session
    assert failed.error.condition == "amqp:session:window-violation"
    (ended,) = p.events("client", SessionEnded)
    assert ended.error is not None and ended.error.condition == "amqp:session:window-violation"
    assert p.events("server", SessionEnded) and not p.server.ended and not p.client.ended
    assert not p.events("server", MessageReceived)


def test_max_message_size_is_honoured_both_ways() -> None:
    p, sender, receiver = linked_pair(credit=5)
    receiver.max_message_size = 100
    sender.remote_attach.max_message_size = 100  # what the receiver's attach would say
    with pytest.raises(LocalProtocolError, match="max-message-size"):
        sender.send(Message(b"x" * 200))
    sender.remote_attach.max_message_size = None  # a sender that ignores it
    sender.send(Message(b"x" * 200))
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert det.error is not None and det.error.condition == "amqp:link:message-size-exceeded"


def test_an_aborted_transfer_is_discarded_and_reported() -> None:
    p, sender, receiver = linked_pair(credit=5)
    ch = sender.session.channel
    t1 = encode_frame(0, ch, Transfer(handle=sender.handle, delivery_id=0, delivery_tag=b"a",
                                      message_format=0, more=True), b"\x00\x53\x75\xa0\x05hel")
    t2 = encode_frame(0, ch, Transfer(handle=sender.handle, aborted=True))
    p.server.receive_data(t1 + t2)
    (ab,) = p.events("server", TransferAborted)
    assert ab.delivery.aborted and ab.delivery.settled
    assert not p.events("server", MessageReceived)
    assert receiver.credit == 4  # the aborted delivery used its credit
    sender.session._next_delivery_id = 1
    sender.session.next_outgoing_id += 2
    sender.delivery_count += 1
    sender.send(Message(b"after"))
    p.pump()
    assert [e.message.body for e in p.events("server", MessageReceived)] == [b"after"]


# -- settlement (2.6.12) --------------------------------------------------------------------

@pytest.mark.parametrize("outcome", [Accepted(), Rejected(error=Error(condition="amqp:invalid-field",
                                                                      description="bad")),
                                     Released(), Modified(delivery_failed=True,
                                                          undeliverable_here=True,
                                                          message_annotations={"x-opt-a": 1})])
def test_every_outcome_reaches_the_sender(outcome: Any) -> None:
    p, sender, receiver = linked_pair()
    d = sender.send(Message(b"m"))
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    receiver.settle(mr.delivery, outcome)
    p.pump()
    (du,) = p.events("client", DeliveryUpdated)
    assert du.delivery is d and du.state == outcome and du.settled
    assert d.done and not sender.unsettled and not receiver.unsettled


def test_presettled_sends_need_no_disposition() -> None:
    p, sender, receiver = linked_pair(sender_kw={"snd_settle_mode": amqp.SenderSettleMode.SETTLED})
    d = sender.send(Message(b"fire and forget"))
    assert d.settled and not sender.unsettled
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    assert mr.delivery.remote_settled and mr.delivery.settled
    receiver.accept(mr.delivery)  # a no-op: nothing to settle
    p.pump()
    assert not [f for f in wire_frames(p, "server") if type(f).__name__ == "Disposition"]


def test_mixed_mode_lets_each_send_choose() -> None:
    p, sender, receiver = linked_pair()
    a = sender.send(Message(b"a"), settled=True)
    b = sender.send(Message(b"b"), settled=False)
    assert a.settled and not b.settled and list(sender.unsettled) == [b.id]


def test_receiver_settle_mode_second() -> None:
    p, sender, receiver = linked_pair(
        sender_kw={"rcv_settle_mode": amqp.ReceiverSettleMode.SECOND},
        receiver_kw={"rcv_settle_mode": amqp.ReceiverSettleMode.SECOND})
    d = sender.send(Message(b"m"))
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    receiver.accept(mr.delivery)
    assert not mr.delivery.settled  # waits for the sender (2.8.3)
    p.pump()
    (du,) = p.events("client", DeliveryUpdated)
    assert du.state == Accepted() and not du.settled
    assert d.settled  # auto-settled on the terminal outcome, and the sender said so
    (su,) = p.events("server", DeliveryUpdated)
    assert su.settled and mr.delivery.settled and not receiver.unsettled and not sender.unsettled


def test_mode_second_an_outcome_in_a_transaction_is_not_restated_outside_it() -> None:
    """4.4.2 in rcv-settle-mode second: once the outcome went out in a transaction (and
    waits for the sender's settlement), a plain outcome, or one in another transaction,
    is a LocalProtocolError with the delivery's state unchanged; the same one again, or a
    settlement without a new state, is not. A plain outcome is not moved into a
    transaction either; a non-terminal state (received) before it is no outcome yet."""
    p, sender, receiver = linked_pair(
        sender_kw={"rcv_settle_mode": amqp.ReceiverSettleMode.SECOND},
        receiver_kw={"rcv_settle_mode": amqp.ReceiverSettleMode.SECOND})
    sender.send(Message(b"in txn"))
    sender.send(Message(b"plain"))
    p.pump()
    in_txn, plain = (mr.delivery for mr in p.events("server", MessageReceived))
    receiver.settle(in_txn, Accepted(), txn_id=b"t1")
    stated = in_txn.state
    assert stated == amqp.TransactionalState(txn_id=b"t1", outcome=Accepted())
    attempts: list[Callable[[], None]] = [
        lambda: receiver.accept(in_txn),
        lambda: receiver.settle(in_txn, Accepted(), txn_id=b"t2"),
        lambda: receiver.release(in_txn)]
    for again in attempts:
        with pytest.raises(LocalProtocolError, match="outcome already"):
            again()
        assert in_txn.state == stated and not in_txn.settled
    receiver.settle(in_txn, Accepted(), txn_id=b"t1")  # the same: allowed
    receiver.settle(in_txn)  # no new state: allowed
    receiver.update(plain, amqp.Received(section_number=0, section_offset=0))
    receiver.accept(plain)  # after a non-terminal state: the first outcome
    with pytest.raises(LocalProtocolError, match="outcome already"):
        receiver.settle(plain, Accepted(), txn_id=b"t1")
    assert plain.state == Accepted()


def test_dispositions_are_coalesced_into_ranges() -> None:
    p, sender, receiver = linked_pair(credit=20)
    for i in range(10):
        sender.send(Message(bytes([i])))
    p.pump()
    received = p.events("server", MessageReceived)
    for mr in received[:6]:
        receiver.accept(mr.delivery)
    receiver.release(received[6].delivery)
    for mr in received[7:]:
        receiver.accept(mr.delivery)
    wire_frames(p, "server")
    p.pump()
    disps = [f for f in wire_frames(p, "server") if type(f).__name__ == "Disposition"]
    assert [(d.first, d.last, type(d.state).__name__) for d in disps] == [
        (0, 5, "Accepted"), (6, None, "Released"), (7, 9, "Accepted")]
    assert len(p.events("client", DeliveryUpdated)) == 10


def test_an_outcome_reaches_the_peer_before_credit_granted_after_it() -> None:
    # Frames go out in the order of the calls: a release, then more credit, must not
    # let the flow overtake the (coalesced, still pending) disposition.
    p, sender, receiver = linked_pair(credit=1)
    sender.send(Message(b"m"))
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    receiver.release(mr.delivery)
    receiver.add_credit(1)
    wire_frames(p, "server")
    p.pump()
    kinds = [type(f).__name__ for f in wire_frames(p, "server")]
    assert kinds.index("Disposition") < kinds.index("Flow"), kinds


def test_a_huge_disposition_range_does_not_hang() -> None:
    p, sender, receiver = linked_pair(credit=3)
    for _ in range(3):
        sender.send(Message(b"m"))
    p.pump()
    from amqp10_proto.performatives import Disposition

    frame = encode_frame(0, receiver.session.channel,
                         Disposition(role=amqp.Role.RECEIVER, first=0, last=0xFFFFFFFF,
                                     settled=True, state=Accepted()))
    p.client.receive_data(frame)
    assert len(p.events("client", DeliveryUpdated)) == 3
    assert not sender.unsettled


# -- nothing unsettled is forgotten -------------------------------------------------------

def test_unsettled_deliveries_are_reported_when_the_link_detaches() -> None:
    p, sender, receiver = linked_pair()
    d1 = sender.send(Message(b"1"))
    d2 = sender.send(Message(b"2"))
    p.pump()
    receiver.detach(Error(condition="amqp:link:detach-forced", description="going"))
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert set(det.unsettled) == {d1, d2}
    assert det.error is not None and det.error.description == "going"
    (mine,) = p.events("server", LinkDetached)
    assert len(mine.unsettled) == 2 and mine.local


def test_unsettled_deliveries_are_reported_when_the_connection_drops() -> None:
    p, sender, receiver = linked_pair()
    d = sender.send(Message(b"1"))
    p.pump()
    p.client.receive_data(b"")
    events = p.events("client")
    (det,) = [e for e in events if isinstance(e, LinkDetached)]
    assert det.unsettled == (d,)
    assert det.error is not None and det.error.condition == "amqp:connection:forced"
    assert isinstance(events[-1], ConnectionClosed)


def test_session_end_detaches_its_links() -> None:
    p, sender, receiver = linked_pair()
    sender.send(Message(b"1"))
    p.pump()
    receiver.session.end()
    p.pump()
    kinds = [type(e) for e in p.events("client")]
    assert kinds == [LinkDetached, SessionEnded]
    assert sender.state is LinkState.CLOSED


def test_sender_aborts_a_delivery_the_window_held_back() -> None:
    p, sender, receiver = linked_pair(client={"max_frame_size": 512},
                                      server={"max_frame_size": 512})
    sender.session.remote_incoming_window = 1  # as if the peer's window had one slot left
    d = sender.send(Message(b"x" * 5000))
    p.pump()
    assert not p.events("server", MessageReceived)
    sender.abort(d)
    assert d.aborted and d.settled and not sender.unsettled
    receiver.add_credit(1)  # its flow tells the sender the real window again
    p.pump()
    (ab,) = p.events("server", TransferAborted)
    assert ab.delivery.id == d.id and not receiver.unsettled
    sender.send(Message(b"next"))
    p.pump()
    assert [e.message.body for e in p.events("server", MessageReceived)] == [b"next"]
    with pytest.raises(LocalProtocolError, match="sent whole"):
        sender.abort(sender.send(Message(b"small")))


@settings(max_examples=300, deadline=None)
@given(handle=st.integers(0, 2**32 - 1), did=st.integers(0, 2**32 - 1),
       tag=st.binary(max_size=32), fmt=st.integers(0, 2**32 - 1), settled=st.booleans(),
       more=st.booleans())
def test_the_direct_transfer_encoding_matches_the_generic_one(
        handle: int, did: int, tag: bytes, fmt: int, settled: bool, more: bool) -> None:
    from amqp10_proto._codec import encode
    from amqp10_proto._framing import _fast_transfer, transfer_performative

    fast = transfer_performative(handle, did, tag, fmt, settled, more)
    generic = Transfer(handle=handle, delivery_id=did, delivery_tag=tag, message_format=fmt,
                       settled=settled, more=more)
    assert fast == encode(generic)
    got = _fast_transfer(fast, 3, len(fast))
    if got is not None:  # the direct decoder takes the usual shapes, and agrees
        assert got[0] == generic and got[1] == len(fast)


def test_a_non_terminal_state_goes_out_unsettled() -> None:
    p, sender, receiver = linked_pair()
    d = sender.send(Message(b"big job"))
    p.pump()
    (mr,) = p.events("server", MessageReceived)
    receiver.update(mr.delivery, amqp.Received(section_number=0, section_offset=3))
    p.pump()
    (du,) = p.events("client", DeliveryUpdated)
    assert du.state == amqp.Received(section_number=0, section_offset=3) and not du.settled
    assert not d.settled and d.id in sender.unsettled  # not terminal: no auto-settle
    receiver.accept(mr.delivery)
    p.pump()
    assert d.done and not sender.unsettled


def test_a_receiver_asking_for_mode_second_follows_a_peer_that_answers_first() -> None:
    p = CorePair()
    p.open()
    s = p.client.begin_session()
    p.pump()
    p.events("server", RemoteBegin)[0].session.begin()
    p.pump()
    r = s.attach_receiver("q", credit=1, rcv_settle_mode=amqp.ReceiverSettleMode.SECOND)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    srv = ra.link
    srv.rcv_settle_mode = amqp.ReceiverSettleMode.FIRST  # the broker can only do first
    srv.attach()
    p.pump()
    assert r.rcv_settle_mode is amqp.ReceiverSettleMode.FIRST
    srv.send(Message(b"m"))
    p.pump()
    (mr,) = p.events("client", MessageReceived)
    r.accept(mr.delivery)
    assert mr.delivery.settled and not r.unsettled


def test_a_sender_that_counts_a_top_up_from_its_own_position_is_tolerated() -> None:
    # RabbitMQ 3.10: a credit top-up that crosses transfers in flight is counted from
    # the sender's delivery-count, so it overruns by the transfers that were in flight.
    p, sender, receiver = linked_pair(credit=4)
    for i in range(4):
        sender.send(Message(bytes([i])))  # in flight: the receiver has not seen them
    receiver.set_credit(4)  # a top-up while they fly
    sender.credit = 4  # what such a sender believes it has now
    for i in range(4, 8):
        sender.send(Message(bytes([i])))
    p.pump()
    assert [e.message.body[0] for e in p.events("server", MessageReceived)] == list(range(8))
    assert not p.events("client", LinkDetached) and receiver.credit == 0
    sender.credit = 1  # one more is too many: that one is refused
    sender.send(Message(b"x"))
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert det.error is not None and det.error.condition == "amqp:link:transfer-limit-exceeded"
    assert receiver.local_error is not None
    assert receiver.local_error.condition == "amqp:link:transfer-limit-exceeded"
