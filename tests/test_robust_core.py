"""Issue 10, the core's part: what hostile testing found, each as the protocol's story.

Setup stays linear however many sessions and links the peer opens; every detach,
end or close the core decides is reported at once; credit is a plain uint; one
undecodable delivery is refused alone; the decoder takes what other stacks write.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import pytest

from amqp10_proto import Message, Properties, ReceiverSettleMode, Rejected
from amqp10_proto._connection import Connection
from amqp10_proto._definitions import Role
from amqp10_proto._events import (
    ConnectionClosed,
    ConnectionFailed,
    CreditGranted,
    LinkAttached,
    LinkDetached,
    LinkFailed,
    MessageReceived,
    MessageUndecodable,
    RemoteAttach,
    RemoteBegin,
    SessionBegun,
    SessionEnded,
    SessionFailed,
)
from amqp10_proto._framing import AMQP_HEADER, encode_frame
from amqp10_proto._link import Receiver, Sender
from amqp10_proto._session import NumberPool
from amqp10_proto._state import LinkState
from amqp10_proto.errors import LocalProtocolError, RemoteProtocolError
from amqp10_proto.performatives import (
    Attach,
    Begin,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Open,
    Transfer,
)

from .test_engine_links import frames_of

Side = Literal["client", "server"]
ROLES: tuple[Side, ...] = ("client", "server")
#: A hang guard, not a speed test: the quadratic setup took about 70 s for 65,536 begins.
HANG_GUARD = 30.0


def events(conn: Connection) -> list[Any]:
    return list(iter(conn.next_event, None))


def opened(role: Side, peer_open: Open | None = None, **kw: Any) -> Connection:
    """A core of ``role`` that a hand-written peer has opened (no SASL)."""
    conn = Connection(role=role, container_id="us", **kw)
    conn.open()
    conn.receive_data(AMQP_HEADER + encode_frame(0, 0, peer_open or Open(container_id="peer")))
    assert conn.opened
    events(conn)
    conn.data_to_send()
    return conn


def peer_begin(channel: int, remote_channel: int | None = None, **kw: Any) -> bytes:
    return encode_frame(0, channel, Begin(remote_channel=remote_channel, next_outgoing_id=0,
                                          incoming_window=100, outgoing_window=100, **kw))


def peer_attach(handle: int, name: str, role: Role = Role.SENDER, channel: int = 0) -> bytes:
    return encode_frame(0, channel, Attach(name=name, handle=handle, role=role,
                                           initial_delivery_count=0))


# -- 3. setting up sessions and links is linear -------------------------------------------

def test_number_pool_gives_the_lowest_unused_number_within_the_limit() -> None:
    pool = NumberPool()
    assert [pool.take(3) for _ in range(5)] == [0, 1, 2, 3, None]
    pool.release(2)
    pool.release(0)
    assert pool.take(3) == 0
    assert pool.take(1) is None  # 2 is free, but past this limit
    assert pool.take(3) == 2
    pool.release(3)  # the last taken: the mark comes back
    assert pool.take(3) == 3 and pool.take(3) is None


@pytest.mark.parametrize("role", ROLES)
def test_65536_peer_begins_are_all_answered(role: Side) -> None:
    conn = opened(role)
    n = 1 << 16  # every channel a ushort can name (2.7.1: channel-max 65535)
    start = time.monotonic()
    conn.receive_data(b"".join(peer_begin(ch) for ch in range(n)))
    begun = [e for e in events(conn) if isinstance(e, RemoteBegin)]
    for ev in begun:
        ev.session.begin()
    out = conn.data_to_send()
    assert time.monotonic() - start < HANG_GUARD
    assert len(begun) == n
    assert sorted(ev.session.channel for ev in begun) == list(range(n))
    assert sorted(ev.session.remote_channel or 0 for ev in begun) == list(range(n))
    answers = [f for f in frames_of(out) if isinstance(f, Begin)]
    assert sorted(f.remote_channel or 0 for f in answers) == list(range(n))  # each one answered
    # Every channel is taken: our own begin has none left (2.7.1).
    with pytest.raises(LocalProtocolError, match="no free channel"):
        conn.begin_session()
    # One ends; its channel is the one the next session gets.
    victim = begun[12345].session
    victim.end()
    conn.receive_data(encode_frame(0, victim.remote_channel or 0, End()))
    assert any(isinstance(e, SessionEnded) for e in events(conn))
    assert conn.begin_session().channel == victim.channel


@pytest.mark.parametrize("role", ROLES)
def test_our_channel_max_is_enforced_exactly(role: Side) -> None:
    conn = opened(role, channel_max=7)
    conn.receive_data(b"".join(peer_begin(ch) for ch in range(8)))
    assert sum(isinstance(e, RemoteBegin) for e in events(conn)) == 8
    with pytest.raises(RemoteProtocolError, match="channel-max") as info:
        conn.receive_data(peer_begin(8))
    assert info.value.condition == "amqp:connection:framing-error"


@pytest.mark.parametrize("role", ROLES)
def test_the_peers_channel_max_is_enforced_exactly(role: Side) -> None:
    conn = opened(role, Open(container_id="peer", channel_max=2))
    assert [conn.begin_session().channel for _ in range(2)] == [0, 1]
    conn.receive_data(peer_begin(0))  # takes our channel 2, the last the peer allows
    assert [e.session.channel for e in events(conn) if isinstance(e, RemoteBegin)] == [2]
    with pytest.raises(LocalProtocolError, match="no free channel"):
        conn.begin_session()
    with pytest.raises(RemoteProtocolError, match="no channel") as info:
        conn.receive_data(peer_begin(1))
    assert info.value.condition == "amqp:resource-limit-exceeded"


def _mapped_session(role: Side, **begin_kw: Any) -> tuple[Connection, Any]:
    conn = opened(role)
    session = conn.begin_session()
    conn.receive_data(peer_begin(0, remote_channel=session.channel, **begin_kw))
    events(conn)
    conn.data_to_send()
    return conn, session


@pytest.mark.parametrize("role", ROLES)
def test_many_peer_attaches_are_all_answered(role: Side) -> None:
    conn, session = _mapped_session(role)
    n = 30_000
    start = time.monotonic()
    conn.receive_data(b"".join(peer_attach(h, f"link-{h}") for h in range(n)))
    attached = [e.link for e in events(conn) if isinstance(e, RemoteAttach)]
    for link in attached:
        link.attach()
    mine = [session.attach_receiver(f"q{i}", name=f"mine-{i}") for i in range(n)]
    conn.receive_data(b"".join(peer_attach(h, f"mine-{i}")
                               for i, h in enumerate(range(n, 2 * n))))
    answered = [e.link for e in events(conn) if isinstance(e, LinkAttached)]
    assert time.monotonic() - start < HANG_GUARD
    assert len(attached) == n and all(lk.attached for lk in attached)
    assert answered[n:] == mine and all(lk.attached for lk in mine)
    assert sorted(lk.handle for lk in attached + mine) == list(range(2 * n))
    # A name is taken once per direction (2.6.1), found without a scan.
    with pytest.raises(LocalProtocolError, match="already attached"):
        session.attach_receiver("q", name="mine-7")
    session.attach_sender("q", name="mine-7")  # the other direction is another link


@pytest.mark.parametrize("role", ROLES)
def test_handle_max_is_enforced_exactly(role: Side) -> None:
    conn, session = _mapped_session(role, handle_max=2)
    session.handle_max = 5
    first = session.attach_sender("q", name="a")
    session.attach_sender("q", name="b")
    conn.receive_data(peer_attach(0, "theirs"))  # our answer takes handle 2, the peer's last
    (ra,) = [e for e in events(conn) if isinstance(e, RemoteAttach)]
    assert ra.link.handle == 2
    with pytest.raises(LocalProtocolError, match="no free link handle"):
        session.attach_sender("q", name="c")
    with pytest.raises(RemoteProtocolError, match="no handle") as info:
        conn.receive_data(peer_attach(1, "more"))
    assert info.value.condition == "amqp:resource-limit-exceeded"
    assert first.handle == 0
    # Beyond our own handle-max the peer may not go either (2.7.2).
    conn2, _ = _mapped_session(role)
    conn2.sessions[0].handle_max = 3
    with pytest.raises(RemoteProtocolError, match="handle-max"):
        conn2.receive_data(peer_attach(4, "x"))


def test_a_freed_handle_is_used_again() -> None:
    conn, session = _mapped_session("client")
    links = [session.attach_sender("q", name=f"s{i}") for i in range(3)]
    conn.receive_data(b"".join(peer_attach(i, f"s{i}", Role.RECEIVER) for i in range(3)))
    links[1].detach()
    conn.receive_data(encode_frame(0, 0, Detach(handle=1, closed=True)))
    assert not links[1].attached and links[1] not in session.links
    assert session.attach_sender("q", name="s1").handle == 1
    assert session.attach_sender("q", name="s3").handle == 3


# -- 5. every detach, end or close the core decides is reported at once -------------------

def receiving(role: Side, *, credit: int = 10, **begin_kw: Any) -> tuple[Connection, Receiver]:
    """A core of ``role`` with a receiver attached to a hand-written peer's sender (handle 0)."""
    conn, session = _mapped_session(role, **begin_kw)
    receiver = session.attach_receiver("q", name="r", credit=credit)
    conn.receive_data(peer_attach(0, "r", Role.SENDER))
    assert receiver.attached
    events(conn)
    conn.data_to_send()
    return conn, receiver


def transfer(payload: bytes, delivery_id: int = 0, **kw: Any) -> bytes:
    kw.setdefault("delivery_tag", b"t%d" % delivery_id)
    return encode_frame(0, 0, Transfer(handle=0, delivery_id=delivery_id, **kw), payload)


def data_message(size: int) -> bytes:
    return Message(b"x" * size).encode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_a_message_over_max_message_size_fails_the_link_at_once(role: Side, split: bool) -> None:
    conn, receiver = receiving(role)
    receiver.max_message_size = 1024
    payload = data_message(2048)
    if split:
        conn.receive_data(transfer(payload[:1000], more=True)
                          + encode_frame(0, 0, Transfer(handle=0, more=True), payload[1000:]))
    else:
        conn.receive_data(transfer(payload))
    got = events(conn)
    assert [type(e) for e in got] == [LinkFailed]
    (failed,) = got
    assert failed.link is receiver and failed.error.condition == "amqp:link:message-size-exceeded"
    assert receiver.state is LinkState.DETACH_SENT and receiver.local_error is failed.error
    (detach,) = [f for f in frames_of(conn.data_to_send()) if isinstance(f, Detach)]
    assert detach.error == failed.error and detach.closed
    if split:
        # What arrived of the refused delivery is dropped at once, and so is what follows
        # while the peer has not answered (an endless message holds no memory).
        conn.receive_data(encode_frame(0, 0, Transfer(handle=0, more=True), b"y" * 4096))
        assert receiver._current is not None and not receiver._partial
    # The peer answers: then, and only then, the link is detached.
    conn.receive_data(encode_frame(0, 0, Detach(handle=0, closed=True)))
    (det,) = events(conn)
    assert isinstance(det, LinkDetached) and det.link is receiver and det.local


@pytest.mark.parametrize("role", ROLES)
def test_a_transfer_without_credit_fails_the_link_at_once(role: Side) -> None:
    conn, receiver = receiving(role, credit=0)
    conn.receive_data(transfer(data_message(1)))
    (failed,) = events(conn)
    assert isinstance(failed, LinkFailed)
    assert failed.error.condition == "amqp:link:transfer-limit-exceeded"


@pytest.mark.parametrize("role", ROLES)
def test_a_window_violation_fails_the_session_at_once(role: Side) -> None:
    conn, receiver = receiving(role, credit=10)
    session = receiver.session
    conn.receive_data(transfer(data_message(1), 0))
    assert isinstance(events(conn)[0], MessageReceived)
    session._incoming_left = 0  # as if the window we gave were used up
    conn.receive_data(transfer(data_message(1), 1))
    (failed,) = events(conn)
    assert isinstance(failed, SessionFailed) and failed.session is session
    assert failed.error.condition == "amqp:session:window-violation"
    (end,) = [f for f in frames_of(conn.data_to_send()) if isinstance(f, End)]
    assert end.error == failed.error
    # Frames the peer sent before it saw our end are ignored (2.5.5), then its end ends it.
    conn.receive_data(transfer(data_message(1), 2) + encode_frame(0, 0, End()))
    got = events(conn)
    assert [type(e) for e in got] == [LinkDetached, SessionEnded]
    assert not conn.ended


@pytest.mark.parametrize("role", ROLES)
def test_a_protocol_error_fails_the_connection_at_once(role: Side) -> None:
    conn, receiver = receiving(role)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(encode_frame(0, 0, Transfer(handle=9, delivery_id=0,
                                                      delivery_tag=b"t")))
    got = events(conn)
    assert [type(e) for e in got] == [ConnectionFailed, LinkDetached, SessionEnded,
                                      ConnectionClosed]
    assert got[0].error.condition == "amqp:session:unattached-handle"
    (close,) = [f for f in frames_of(conn.data_to_send()) if isinstance(f, Close)]
    assert close.error == got[0].error


@pytest.mark.parametrize("role", ROLES)
def test_an_idle_peer_fails_the_connection_at_once(role: Side) -> None:
    conn = opened(role, idle_timeout=1.0)
    conn.tick(0.0)
    assert conn.tick(1.5) is not None
    conn.tick(2.5)
    got = events(conn)
    assert [type(e) for e in got] == [ConnectionFailed, ConnectionClosed]
    assert got[0].error.condition == "amqp:resource-limit-exceeded"


# -- 6. link credit is a plain uint; serial arithmetic is for the counts ------------------

#: A receiver's flow granting link-credit 0xffffffff at delivery-count 0 (handle 0).
FLOW_CREDIT_MAX = bytes.fromhex(
    "00 00 00 1b 02 00 00 00 00 53 13 c0 0e 07 43 52 64 43 52 64 43 43 70 ff ff ff ff")


def sending(role: Side) -> tuple[Connection, Sender]:
    """A core of ``role`` with a sender attached to a hand-written peer's receiver (handle 0)."""
    conn, session = _mapped_session(role)
    sender = session.attach_sender("q", name="s")
    conn.receive_data(peer_attach(0, "s", Role.RECEIVER))
    assert sender.attached
    events(conn)
    conn.data_to_send()
    return conn, sender


def link_flow(delivery_count: int, link_credit: int, **kw: Any) -> bytes:
    return encode_frame(0, 0, Flow(next_incoming_id=0, incoming_window=100, next_outgoing_id=0,
                                   outgoing_window=100, handle=0, delivery_count=delivery_count,
                                   link_credit=link_credit, **kw))


@pytest.mark.parametrize("role", ROLES)
def test_link_credit_of_0xffffffff_is_that_much_credit(role: Side) -> None:
    conn, sender = sending(role)
    assert link_flow(0, 0xFFFFFFFF) == FLOW_CREDIT_MAX
    conn.receive_data(FLOW_CREDIT_MAX)
    (granted,) = events(conn)
    assert isinstance(granted, CreditGranted) and granted.credit == 0xFFFFFFFF
    assert sender.credit == 0xFFFFFFFF and sender.sendable
    sender.send(Message(b"x"))
    assert sender.credit == 0xFFFFFFFE


@pytest.mark.parametrize("credit", [1 << 31, (1 << 31) + 1, 0xFFFFFFFF])
def test_credit_of_2_31_or_more_with_deliveries_in_flight(credit: int) -> None:
    conn, sender = sending("client")
    conn.receive_data(link_flow(0, 3))
    for _ in range(3):
        sender.send(Message(b"x"))
    # The receiver had counted one of our three when it granted more: two are in flight.
    conn.receive_data(link_flow(1, credit))
    assert sender.credit == credit - 2


def test_credit_across_the_delivery_count_wrap() -> None:
    conn, sender = sending("server")
    start = 0xFFFFFFFE
    sender.delivery_count = start  # as if we had sent 2**32 - 2 deliveries before
    conn.receive_data(link_flow(start, 5))
    assert sender.credit == 5
    for _ in range(3):
        sender.send(Message(b"x"))
    assert sender.delivery_count == 1  # wrapped (2.6.7: a sequence-no)
    conn.receive_data(link_flow(0xFFFFFFFF, 10))  # the receiver counted one of them
    assert sender.credit == 8
    conn.receive_data(link_flow(1, 1 << 31))  # and then all three
    assert sender.credit == 1 << 31
    conn.receive_data(link_flow(0xFFFFFFFF, 0xFFFFFFFF))  # a late flow: two still in flight
    assert sender.credit == 0xFFFFFFFD


@pytest.mark.parametrize("role", ROLES)
def test_a_receivers_large_credit_survives_the_senders_flow(role: Side) -> None:
    conn, receiver = receiving(role, credit=0)
    receiver.delivery_count = 0xFFFFFFFF
    receiver.set_credit(0xFFFFFFFF)
    # The sender used one credit without a transfer (as a drain would): its count moved on.
    conn.receive_data(link_flow(0, 0xFFFFFFFE))
    assert receiver.delivery_count == 0 and receiver.credit == 0xFFFFFFFE
    receiver.set_credit(1 << 31)
    conn.receive_data(link_flow(1, (1 << 31) - 1))
    assert receiver.credit == (1 << 31) - 1


# -- 7. one undecodable delivery is refused alone; a message without a body is a message --

#: python-qpid-proton's Message(body=None, durable=True, id="m1"): header, properties, no body.
PROTON_NO_BODY = bytes.fromhex("005370c0020141" "005373c00501a1026d31")
#: An amqp-value section whose value has an unknown constructor (0xff).
UNDECODABLE = bytes.fromhex("005377ff")


@pytest.mark.parametrize("role", ROLES)
def test_a_message_without_a_body_section_is_received(role: Side) -> None:
    conn, receiver = receiving(role)
    conn.receive_data(transfer(PROTON_NO_BODY, settled=True))
    (mr,) = events(conn)
    assert isinstance(mr, MessageReceived) and mr.link is receiver
    assert mr.message.body is None and mr.message.body_type == "none"
    assert mr.message.properties == Properties(message_id="m1")
    assert mr.message.encode() == PROTON_NO_BODY
    assert receiver.attached


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_an_undecodable_delivery_is_rejected_alone(role: Side, split: bool) -> None:
    conn, receiver = receiving(role, credit=10)
    if split:
        conn.receive_data(transfer(UNDECODABLE[:2], more=True)
                          + encode_frame(0, 0, Transfer(handle=0), UNDECODABLE[2:]))
    else:
        conn.receive_data(transfer(UNDECODABLE))
    (bad,) = events(conn)
    assert isinstance(bad, MessageUndecodable) and bad.link is receiver
    assert bad.error.condition == "amqp:decode-error" and "0xff" in (bad.error.description or "")
    assert bad.delivery.id == 0 and bad.delivery.tag == b"t0" and bad.delivery.settled
    assert receiver.attached and receiver.credit == 9 and not receiver.unsettled
    (disp,) = [f for f in frames_of(conn.data_to_send()) if isinstance(f, Disposition)]
    assert (disp.role, disp.first, disp.settled) == (Role.RECEIVER, 0, True)
    assert disp.state == Rejected(error=bad.error)
    # The link goes on: the next delivery arrives as usual.
    conn.receive_data(transfer(data_message(3), 1))
    (mr,) = events(conn)
    assert isinstance(mr, MessageReceived) and mr.message.body == b"xxx"


@pytest.mark.parametrize("role", ROLES)
def test_a_presettled_undecodable_delivery_is_reported(role: Side) -> None:
    conn, receiver = receiving(role, credit=2)
    conn.receive_data(transfer(UNDECODABLE, settled=True))
    (bad,) = events(conn)
    assert isinstance(bad, MessageUndecodable) and bad.delivery.remote_settled
    assert bad.error.condition == "amqp:decode-error"
    assert receiver.attached and receiver.credit == 1
    assert not [f for f in frames_of(conn.data_to_send()) if isinstance(f, (Disposition, Detach))]


def test_an_undecodable_delivery_in_rcv_settle_mode_second() -> None:
    conn, session = _mapped_session("client")
    receiver = session.attach_receiver("q", name="r", credit=5,
                                       rcv_settle_mode=ReceiverSettleMode.SECOND)
    conn.receive_data(encode_frame(0, 0, Attach(name="r", handle=0, role=Role.SENDER,
                                                initial_delivery_count=0,
                                                rcv_settle_mode=ReceiverSettleMode.SECOND)))
    events(conn)
    conn.data_to_send()
    conn.receive_data(transfer(UNDECODABLE))
    (bad,) = events(conn)
    assert isinstance(bad, MessageUndecodable) and not bad.delivery.settled
    (disp,) = [f for f in frames_of(conn.data_to_send()) if isinstance(f, Disposition)]
    assert not disp.settled and disp.state == Rejected(error=bad.error)  # 2.8.3: the sender settles first
    conn.receive_data(encode_frame(0, 0, Disposition(role=Role.SENDER, first=0, settled=True)))
    events(conn)
    assert bad.delivery.settled and not receiver.unsettled


# -- 4. an attach and its detach in one read ----------------------------------------------

#: The peer attaches a sending link "srv-link" (handle 5) and detaches it, in one read.
ATTACH_THEN_DETACH = bytes.fromhex(
    "00 00 00 32 02 00 00 00 00 53 12 c0 25 0a a1 08 73 72 76 2d 6c 69 6e"
    "6b 52 05 42 40 40 00 53 28 c0 04 01 a1 01 78 00 53 29 c0 04 01 a1 01 79 40 40 43 00 00 00"
    "11 02 00 00 00 00 53 16 c0 04 02 52 05 41")


@pytest.mark.parametrize("role", ROLES)
def test_an_attach_detached_in_the_same_read_cannot_be_answered(role: Side) -> None:
    conn = opened(role)
    conn.receive_data(peer_begin(0))
    (rb,) = events(conn)
    rb.session.begin()
    assert isinstance(events(conn)[0], SessionBegun)
    conn.data_to_send()
    conn.receive_data(ATTACH_THEN_DETACH)
    got = events(conn)
    assert [type(e) for e in got] == [RemoteAttach, LinkDetached]
    link = got[0].link
    assert got[1].link is link and got[1].closed and link.name == "srv-link"
    # By the time the application sees RemoteAttach, the link is over: nothing to answer.
    assert link.state is LinkState.CLOSED
    with pytest.raises(LocalProtocolError, match="not awaiting an answer"):
        link.refuse()
    with pytest.raises(LocalProtocolError, match="not awaiting an answer"):
        link.attach()
    # The core answered for it (2.6.6): our attach, then our detach, on the link's handle.
    attach, detach = [f for f in frames_of(conn.data_to_send()) if isinstance(f, (Attach, Detach))]
    assert isinstance(attach, Attach) and isinstance(detach, Detach)
    assert attach.handle == detach.handle == link.handle and detach.closed
    assert link not in rb.session.links
