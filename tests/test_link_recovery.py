"""Link recovery (2.6.13, Resuming Deliveries): two cores re-attach a link with their maps.

Each case of 2.6.13's worked example (delivery-tags 1 to 14, and a tag only the
receiver holds) is played in both directions: the client's sender resuming to the
server's receiver, and the server's sender resuming to the client's receiver. After
the resolution every delivery ends settled once on each side, the message is never
received twice, and nothing is left pending.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amqp10_proto import (
    Accepted,
    DeliveryResumed,
    DeliveryState,
    DeliveryUpdated,
    LinkDetached,
    LinkFailed,
    LinkResumed,
    LocalProtocolError,
    Message,
    MessageReceived,
    Received,
    ReceiverSettleMode,
    Rejected,
    Released,
    RemoteAttach,
    RemoteBegin,
    ResumeAction,
    resolve,
    unsettled_map,
)
from amqp10_proto import _linkbase as core_link
from amqp10_proto._link import Receiver, Sender

from .corepair import CorePair

A = ResumeAction
ABSENT: Any = object()
TAG = b"\x00\x00\x00\x07"


def _rcv(n: int) -> Received:
    return Received(section_number=n, section_offset=0)


# (2.6.13 example tag, sender's state, receiver's state, the resolution)
CASES = [
    ("1", None, ABSENT, A.RESEND),
    ("2", None, _rcv(1), A.RESUME),
    ("3", None, Accepted(), A.SETTLE),
    ("4", None, None, A.RESUME),
    ("5", _rcv(1), ABSENT, A.RESEND),
    ("6", _rcv(1), _rcv(2), A.RESUME),
    ("7", _rcv(2), _rcv(1), A.ABORT),
    ("8", _rcv(1), Rejected(), A.SETTLE),
    ("9", _rcv(1), None, A.ABORT),
    ("10", Accepted(), ABSENT, A.FORGET),
    ("11", Accepted(), _rcv(1), A.ABORT),
    ("12", Released(), Released(), A.SETTLE),
    ("13", Accepted(), Released(), A.RESTATE),
    ("14", Accepted(), None, A.ABORT),
    ("receiver only", ABSENT, Accepted(), A.FORGET),
]


def _map(state: Any) -> dict[bytes, Any]:
    return {} if state is ABSENT else {TAG: state}


def _open_session(p: CorePair) -> Any:
    p.open()
    session = p.client.begin_session()
    p.pump()
    (rb,) = p.events("server", RemoteBegin)
    rb.session.begin()
    p.pump()
    return session


def _reattach(p: CorePair, *, client_sends: bool, s_map: dict[bytes, Any] | None,
              r_map: dict[bytes, Any] | None, credit: int = 5,
              mode: ReceiverSettleMode = ReceiverSettleMode.FIRST) -> tuple[Sender, Receiver]:
    """Attach link "L" from the client with its map; the server answers with its own."""
    session = _open_session(p)
    if client_sends:
        sender = session.attach_sender("q", name="L", unsettled=s_map, rcv_settle_mode=mode)
    else:
        receiver = session.attach_receiver("q", name="L", unsettled=r_map, credit=credit,
                                           rcv_settle_mode=mode)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    ra.link.attach(unsettled=r_map if client_sends else s_map)
    if client_sends:
        receiver = ra.link
        receiver.add_credit(credit)
    else:
        sender = ra.link
    p.pump()
    return sender, receiver


def _side(p: CorePair, link: Any) -> str:
    return "client" if link.session.connection is p.client else "server"


@pytest.mark.parametrize("client_sends", [True, False], ids=["client-sender", "server-sender"])
@pytest.mark.parametrize(("example", "s_state", "r_state", "action"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_case_of_2_6_13(example: str, s_state: Any, r_state: Any, action: ResumeAction,
                             client_sends: bool) -> None:
    p = CorePair()
    s_map, r_map = _map(s_state), _map(r_state)
    sender, receiver = _reattach(p, client_sends=client_sends, s_map=s_map, r_map=r_map)
    s_side, r_side = _side(p, sender), _side(p, receiver)
    # The maps went on the wire as given, and each side resolved the tag alike.
    assert sender.remote_attach is not None and receiver.remote_attach is not None
    assert receiver.remote_attach.unsettled == s_map
    assert sender.remote_attach.unsettled == r_map
    (s_res,) = p.events(s_side, LinkResumed)
    (r_res,) = p.events(r_side, LinkResumed)
    assert s_res.resolution[TAG].action is action
    assert r_res.resolution[TAG].action is action
    assert s_res.remote_unsettled == r_map and r_res.remote_unsettled == s_map

    message = Message(b"payload of tag " + example.encode())
    if s_state is ABSENT:
        assert TAG not in sender.pending_resume
        with pytest.raises(LocalProtocolError):
            sender.resume(TAG, message)
        delivery = None
    else:
        delivery = sender.resume(TAG, message)
    p.pump()
    received = p.events(r_side, MessageReceived)
    resumed = p.events(r_side, DeliveryResumed)
    if action is A.RESEND:
        assert delivery is not None and not delivery.settled
        assert [m.delivery.tag for m in received] == [TAG] and not resumed
        assert received[0].message.body == message.body
        receiver.accept(received[0].delivery)
    elif action is A.FORGET:
        assert delivery is None and not received and not resumed
    else:
        assert delivery is not None and not received
        (ev,) = resumed
        assert ev.delivery.tag == TAG and ev.action is action
        rd = ev.delivery
        if action is A.RESUME:
            assert not rd.settled
            receiver.accept(rd)  # the application settles the message it held
        elif action is A.SETTLE:
            outcome = r_state if isinstance(r_state, (Accepted, Rejected, Released)) else s_state
            assert rd.settled and rd.state == outcome and delivery.state == outcome
        elif action is A.RESTATE:
            assert rd.settled and rd.state == s_state  # the sender's view is definitive
        else:
            assert rd.aborted and rd.settled and delivery.aborted
    p.pump()
    p.events(s_side, DeliveryUpdated)
    # Settled exactly once on each side, nothing pending, nothing left unsettled.
    if delivery is not None:
        assert delivery.settled and delivery.remote_settled
    assert not sender.unsettled and not receiver.unsettled
    assert not sender.pending_resume and not receiver.pending_resume
    if action is A.RESUME or action is A.RESEND:
        assert delivery is not None and delivery.remote_state == Accepted()


def test_the_attach_carries_the_map_in_its_exact_encoding() -> None:
    p = CorePair()
    session = _open_session(p)
    p.wire["client"].clear()
    session.attach_sender("q", name="L", unsettled={b"\x00\x00\x00\x01": None},
                          incomplete_unsettled=True)
    p.pump()
    sent = b"".join(p.wire["client"])
    # unsettled: map8, 8 bytes, 2 items: vbin8 of 4 bytes -> null; incomplete-unsettled: true
    assert b"\xc1\x08\x02\xa0\x04\x00\x00\x00\x01\x40\x41" in sent


def test_a_plain_reattach_sends_no_map_and_resolves_nothing() -> None:
    p = CorePair()
    sender, receiver = _reattach(p, client_sends=True, s_map=None, r_map=None)
    assert receiver.remote_attach is not None and receiver.remote_attach.unsettled is None
    assert not p.events("client", LinkResumed) and not p.events("server", LinkResumed)


def test_an_incomplete_map_holds_new_deliveries_and_absent_tags_wait() -> None:
    p = CorePair()
    session = _open_session(p)
    receiver = session.attach_receiver("q", name="L", credit=5, unsettled={b"a": None},
                                       incomplete_unsettled=True)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    sender = ra.link
    sender.attach(unsettled={b"a": None, b"b": None})
    p.pump()
    assert sender.resolution[b"b"].action is A.WAIT
    with pytest.raises(LocalProtocolError, match="incomplete"):
        sender.send(Message(b"new"))  # 2.7.3: no new delivery on this attach
    assert b"b" not in sender.pending_resume  # kept by the application for a later attach
    with pytest.raises(LocalProtocolError, match="awaits"):
        sender.resume(b"b", Message(b"b"))
    sender.resume(b"a", Message(b"a"))
    p.pump()
    (ev,) = p.events("client", DeliveryResumed)
    assert ev.delivery.tag == b"a" and receiver.attached


def test_a_receiver_that_sent_an_incomplete_map_detaches_on_a_new_delivery() -> None:
    p = CorePair()
    session = _open_session(p)
    receiver = session.attach_receiver("q", name="L", credit=5, unsettled={},
                                       incomplete_unsettled=True)
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    sender = ra.link
    sender.attach()  # a peer that ignores the rule
    sender._no_new = False
    p.pump()
    sender.send(Message(b"new"))
    p.pump()
    (det,) = [e for e in p.events("server", LinkDetached)]
    assert det.error is not None and det.error.condition == "amqp:illegal-state"
    assert not receiver.attached


def test_a_resumed_transfer_for_an_unknown_tag_is_ignored() -> None:
    # 2.7.5: the receiver MUST ignore resumed deliveries not in its unsettled map.
    p = CorePair()
    sender, receiver = _reattach(p, client_sends=True, s_map={b"x": None}, r_map={b"x": None})
    sender.pending_resume[b"y"] = sender.pending_resume[b"x"].__class__(
        tag=b"y", action=A.RESUME, in_sender=True, in_receiver=True)
    sender.resume(b"y", Message(b"not known there"))
    p.pump()
    assert not p.events("server", DeliveryResumed) and not p.events("server", MessageReceived)
    assert receiver.attached and b"x" in receiver.pending_resume


def test_bad_maps_are_refused() -> None:
    p = CorePair()
    session = _open_session(p)
    with pytest.raises(LocalProtocolError, match="delivery-tag"):
        session.attach_sender("q", name="L", unsettled={b"x" * 33: None})
    with pytest.raises(LocalProtocolError, match="delivery-tag"):
        session.attach_sender("q", name="L", unsettled={"text": None})
    with pytest.raises(LocalProtocolError, match="not a delivery state"):
        session.attach_sender("q", name="L", unsettled={b"x": "accepted"})


def test_a_peer_map_whose_values_are_not_delivery_states_fails_the_link(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 2.7.3: the unsettled map's values are delivery states (or null); another value
    # from the peer detaches the link with amqp:invalid-field before anything resumes.
    p = CorePair()
    session = _open_session(p)
    receiver = session.attach_receiver("q", name="L", credit=5, unsettled={b"a": None})
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    # The server plays a peer that does not check its own map.
    monkeypatch.setattr(core_link, "_check_map", lambda m: None if m is None else dict(m))
    ra.link.attach(unsettled={b"a": "accepted"})
    p.pump()
    (failed,) = p.events("client", LinkFailed)
    assert failed.error.condition == "amqp:invalid-field"
    assert "values must be delivery states" in (failed.error.description or "")
    assert not p.events("client", LinkResumed) and not receiver.attached


def test_resumed_transfers_use_no_credit_and_a_large_one_is_split() -> None:
    p = CorePair(client={"max_frame_size": 512}, server={"max_frame_size": 512})
    sender, receiver = _reattach(p, client_sends=True, s_map={b"big": None},
                                 r_map={b"big": None}, credit=0)
    assert sender.credit == 0
    d = sender.resume(b"big", Message(b"z" * 3000))
    assert d is not None
    p.pump()
    (ev,) = p.events("server", DeliveryResumed)
    assert ev.delivery.id == d.id and not p.events("server", MessageReceived)
    assert receiver.delivery_count == sender.delivery_count
    receiver.accept(ev.delivery)
    p.pump()
    assert d.settled and d.remote_state == Accepted()


def test_resolve_is_the_same_from_both_sides_and_lists_every_tag() -> None:
    s_map: dict[bytes, DeliveryState | None] = {b"1": None, b"10": Accepted()}
    r_map: dict[bytes, DeliveryState | None] = {b"3": Accepted(), b"1": _rcv(0)}
    table = resolve(s_map, r_map)
    assert list(table) == [b"1", b"10", b"3"]
    assert [r.action for r in table.values()] == [A.RESUME, A.FORGET, A.FORGET]
    assert table[b"10"].outcome == Accepted() and table[b"3"].outcome == Accepted()


# -- property: random traffic, a drop at a random point, then resume --------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.sampled_from(["send", "accept", "pump"]), min_size=1, max_size=30),
       cut=st.integers(min_value=0, max_value=4000), client_sends=st.booleans())
def test_random_traffic_dropped_and_resumed_is_exactly_once(ops: list[str], cut: int,
                                                             client_sends: bool) -> None:
    second = ReceiverSettleMode.SECOND  # the receiver keeps what it decided until the sender settles
    p = CorePair()
    sender, receiver = _reattach(p, client_sends=client_sends, s_map=None, r_map=None,
                                 credit=100, mode=second)
    s_side, r_side = _side(p, sender), _side(p, receiver)
    messages: dict[bytes, bytes] = {}
    got: dict[bytes, int] = {}
    waiting: list[Any] = []
    n = 0

    def collect() -> None:
        for ev in p.events(r_side):
            if isinstance(ev, MessageReceived):
                got[ev.delivery.tag] = got.get(ev.delivery.tag, 0) + 1
                waiting.append(ev.delivery)
        p.events(s_side)

    for op in ops:
        if op == "send" and sender.sendable:
            body = b"m%d" % n
            n += 1
            d = sender.send(Message(body))
            messages[d.tag] = body
        elif op == "accept" and waiting:
            receiver.accept(waiting.pop(0))
        else:
            p.pump(rounds=1)
        collect()
    # The drop: part of what is in flight arrives (up to ``cut`` bytes one way), then both
    # transports end.
    out_s = p.side(s_side).data_to_send()
    out_r = p.side(r_side).data_to_send()
    if out_s[:cut]:
        p.side(r_side).receive_data(out_s[:cut])
    if out_r[:cut]:
        p.side(s_side).receive_data(out_r[:cut])
    collect()
    p.client.receive_data(b"")
    p.server.receive_data(b"")
    dets = {e.link: e for e in p.events(s_side) + p.events(r_side) if isinstance(e, LinkDetached)}
    s_map = unsettled_map(dets[sender].unsettled, sender=True)
    r_map = unsettled_map(dets[receiver].unsettled, sender=False)

    # A new transport: the same link name, each side's map.
    p2 = CorePair()
    sender2, receiver2 = _reattach(p2, client_sends=client_sends, s_map=s_map, r_map=r_map,
                                   credit=100, mode=second)
    p = p2
    waiting.clear()
    for tag in list(sender2.pending_resume):
        sender2.resume(tag, Message(messages[tag]))
    for _ in range(5):
        p.pump()
        for ev in p.events(r_side):
            if isinstance(ev, MessageReceived):
                got[ev.delivery.tag] = got.get(ev.delivery.tag, 0) + 1
                receiver2.accept(ev.delivery)
            elif isinstance(ev, DeliveryResumed) and not ev.delivery.settled:
                receiver2.accept(ev.delivery)
        p.events(s_side)
    # No loss, no duplicate; nothing unsettled or pending on either side.
    assert got == dict.fromkeys(messages, 1)
    assert not sender2.unsettled and not receiver2.unsettled
    assert not sender2.pending_resume and not receiver2.pending_resume
