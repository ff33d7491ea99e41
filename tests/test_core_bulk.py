"""A bulk sender's credit rounds against the Qpid C broker, the core alone (issue 12 item 2).

The Qpid C broker grants a sender 5 credits at a time. After each 5 transfers one
socket read brings a flow (the next 5 credits) and one ranged disposition settling
the 5 as accepted. The bytes below were traced from that broker (Debian 12's
``libqpid-proton11-dev-examples`` broker on tests/interop's fixed port). The core
settles such a range on a fast path (``Sender._settled_by_peer``); these tests hold
it to the general path, and ``bench/core.py --bulk`` (whose replies are checked
against the same bytes) is the reproduction that measures it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import Accepted, Message, Modified, Rejected, Released
from amqp10_proto._definitions import Role, TransactionalState
from amqp10_proto._events import (
    CreditGranted,
    DeliveryUpdated,
    MessageReceived,
    credit_granted,
    deliveries_updated,
    delivery_updated,
    message_received,
)
from amqp10_proto._framing import (
    FRAME_AMQP,
    FrameReader,
    encode_frame,
    frame_header,
    transfer_performative,
    usual_transfer_head,
)
from amqp10_proto._link import Sender
from amqp10_proto.errors import RemoteProtocolError
from amqp10_proto.performatives import Disposition, Flow, Transfer

from .corepair import linked_pair

BENCH = Path(__file__).resolve().parent.parent / "bench"

# One read each, as the Qpid C broker sent them to a sender of 1 024-byte messages:
# flow(next-incoming-id 5, incoming-window 2**31-1, next-outgoing-id 0, outgoing-window
# 2**31-1, handle 0, delivery-count 5, link-credit 5, available null, drain false) and
# disposition(receiver, first 0, last 4, settled, accepted) ...
QPID_ROUND_1 = bytes.fromhex(
    "0000002202000000005313c015095205707fffffff43707fffffff43520552054042"
    "0000001702000000005315c00a05414352044100532445")
# ... the next five ...
QPID_ROUND_2 = bytes.fromhex(
    "0000002202000000005313c01509520a707fffffff43707fffffff43520a52054042"
    "0000001802000000005315c00b0541520552094100532445")
# ... and the round that crosses 255: counts 260 as uints, the range 255 .. 259.
QPID_ROUND_52 = bytes.fromhex(
    "0000002802000000005313c01b097000000104707fffffff43707fffffff4370000001045205404200"
    "00001b02000000005315c00e054152ff70000001034100532445")


def bench_core() -> ModuleType:
    """bench/core.py, imported from its file (the benches are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_core", BENCH / "core.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("bench_core")
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_core"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return module


def test_the_bench_replies_are_the_brokers_bytes() -> None:
    reply = bench_core().qpid_reply
    assert reply(0, 5, 5) == QPID_ROUND_1
    assert reply(5, 5, 5) == QPID_ROUND_2
    assert reply(255, 5, 5) == QPID_ROUND_52


def summary(events: list[Any]) -> list[tuple[Any, ...]]:
    """Events as comparable tuples (the deliveries by id)."""
    out: list[tuple[Any, ...]] = []
    for ev in events:
        if type(ev) is DeliveryUpdated:
            out.append(("updated", ev.delivery.id, ev.state, ev.settled))
        elif type(ev) is CreditGranted:
            out.append(("credit", ev.credit, ev.drain))
        else:
            out.append((type(ev).__name__,))
    return out


def drain(conn: Any) -> list[Any]:
    events = []
    while (ev := conn.next_event()) is not None:
        events.append(ev)
    return events


def test_credit_rounds_as_the_qpid_broker_sends_them() -> None:
    p, sender, _ = linked_pair(credit=5)
    reply = bench_core().qpid_reply
    body = b"x" * 1024
    for r in range(60):
        first = r * 5
        sent = [sender.send(Message(body)) for _ in range(5)]
        assert sender.credit == 0
        assert p.client.data_to_send()  # the transfers; the broker is played by the bytes
        # The story of one round: the credit for the next five, then their outcomes.
        p.client.receive_data({0: QPID_ROUND_1, 1: QPID_ROUND_2, 51: QPID_ROUND_52}.get(
            r, reply(first, 5, 5)))
        assert summary(drain(p.client)) == [("credit", 5, False)] + [
            ("updated", first + i, Accepted(), True) for i in range(5)]
        assert [d.id for d in sent] == list(range(first, first + 5))
        assert all(d.settled and d.remote_settled and d.remote_state == Accepted()
                   for d in sent)
        assert not sender.unsettled
        assert sender.credit == 5
        # The broker settled them: nothing goes back, not even a disposition.
        assert p.client.data_to_send() == b""


def test_a_flow_with_bytes_after_it_is_still_a_framing_error() -> None:
    p, sender, _ = linked_pair(credit=5)
    flow = QPID_ROUND_1[:0x22]
    padded = (0x23).to_bytes(4, "big") + flow[4:] + b"\x40"
    with pytest.raises(RemoteProtocolError) as info:
        p.client.receive_data(padded)
    assert info.value.condition == "amqp:connection:framing-error"
    assert "payload after a flow" in str(info.value)


class GeneralSender(Sender):
    """A Sender subclass: the session's fast path takes ``Sender`` only, so this one's
    dispositions go the general way (``_after_disposition`` per delivery)."""


OUTCOMES = [Accepted(), Rejected(), Released(), Modified(delivery_failed=True),
            TransactionalState(txn_id=b"t1", outcome=Accepted()), None]


@settings(max_examples=150, deadline=None)
@given(start=st.sampled_from([0, 300, 2**32 - 6]), n=st.integers(1, 12),
       settle_first=st.sets(st.integers(0, 11), max_size=4),
       lo=st.integers(-3, 14), width=st.integers(0, 20), settled=st.booleans(),
       outcome=st.sampled_from(OUTCOMES), auto_settle=st.booleans())
def test_a_ranged_disposition_settles_as_the_general_path_does(
        start: int, n: int, settle_first: set[int], lo: int, width: int, settled: bool,
        outcome: Any, auto_settle: bool) -> None:
    results = []
    for cls in (Sender, GeneralSender):
        p, sender, _ = linked_pair(credit=20)
        sender.__class__ = cls
        sender.auto_settle = auto_settle
        sender.session._next_delivery_id = start
        sent = [sender.send(Message(b"m")) for _ in range(n)]
        for i in sorted(settle_first):
            if i < n:
                sender.settle(sent[i])
        p.client.data_to_send()
        drain(p.client)
        first = (start + lo) % 2**32
        last = (first + width) % 2**32
        # 2.7.6: the range is first .. last in serial order; only the unsettled count.
        expected = sorted((d.id for d in sent if d.id in sender.unsettled
                           and (d.id - first) % 2**32 <= width),
                          key=lambda did: (did - first) % 2**32)
        p.client.receive_data(encode_frame(FRAME_AMQP, 0, Disposition(
            role=Role.RECEIVER, first=first, last=last, settled=settled, state=outcome)))
        events = drain(p.client)
        assert [ev.delivery.id for ev in events] == expected
        results.append((
            summary(events),
            sorted(sender.unsettled),
            [(d.settled, d.remote_settled, d.remote_state) for d in sent],
            p.client.data_to_send()))
    assert results[0] == results[1]


@settings(max_examples=200)
@given(channel=st.integers(0, 0xFFFF), handle=st.integers(0, 255),
       did=st.integers(256, 2**32 - 1), tag=st.binary(min_size=4, max_size=4),
       settled=st.booleans(), size=st.integers(0, 2**20))
def test_the_usual_transfer_frame_is_a_header_and_the_performative(
        channel: int, handle: int, did: int, tag: bytes, settled: bool, size: int) -> None:
    perf = transfer_performative(handle, did, tag, 0, settled, False)
    usual = usual_transfer_head(channel, handle)
    assert usual is not None
    pack, prefix, base = usual
    assert pack(base + size, prefix, did, 0xA004, tag, 0x4341 if settled else 0x4342) == (
        frame_header(8 + len(perf) + size, FRAME_AMQP, channel) + perf)


def test_no_usual_transfer_head_past_handle_255() -> None:
    assert usual_transfer_head(0, 256) is None
    assert usual_transfer_head(0, -1) is None


def test_a_send_past_id_255_is_the_generic_frame() -> None:
    p, sender, _ = linked_pair(credit=5)
    sender.session._next_delivery_id = 1000
    sender._next_tag = 7
    sender.send(Message(b"hi"))
    wire = p.client.data_to_send()
    assert wire == encode_frame(FRAME_AMQP, 0, Transfer(
        handle=0, delivery_id=1000, delivery_tag=b"\x00\x00\x00\x07", message_format=0,
        settled=False), Message(b"hi").encode())
    # frame header (size 0x23, channel 0), transfer list8 of 5: uint0 handle, uint 1000,
    # vbin8 tag, uint0 format, settled false; then the data section "hi".
    assert wire.hex() == ("0000002302000000" "005314c00f05437000000" "3e8a00400000007" "4342"
                          "005375a0026869")


def test_a_ranges_events_are_the_dataclass() -> None:
    p, sender, _ = linked_pair(credit=5)
    d = sender.send(Message(b"m"))
    events = deliveries_updated([d, d], Accepted(), True)
    assert events == [DeliveryUpdated(delivery=d, state=Accepted(), settled=True)] * 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].settled = False  # type: ignore[misc]


def test_the_hot_paths_events_are_the_dataclasses() -> None:
    """Built through a mutable twin and given the event's class: the same frozen object,
    equal, of the very class (adapters test ``type(ev) is``), hashed and shown alike."""
    p, sender, receiver = linked_pair(credit=5)
    d = sender.send(Message(b"m"))
    msg = Message(b"m")
    for got, want in ((credit_granted(sender, 5, True),
                       CreditGranted(link=sender, credit=5, drain=True)),
                      (delivery_updated(d, None, False),
                       DeliveryUpdated(delivery=d, state=None, settled=False)),
                      (message_received(receiver, d, msg),
                       MessageReceived(link=receiver, delivery=d, message=msg))):
        assert type(got) is type(want)
        assert got == want and repr(got) == repr(want)
        if type(want) is not MessageReceived:  # a Message is not hashable
            assert hash(got) == hash(want)
        for field in dataclasses.fields(want):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(got, field.name, None)
        for ev in (got, want):  # a name that is no field: whatever the dataclass does
            with pytest.raises(Exception) as caught:
                ev.other = 1  # type: ignore[union-attr]
            assert type(caught.value) is TypeError


def test_the_bulk_bench_runs() -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "core.py"), "--bulk", "--count", "600"],
                          capture_output=True, text=True, timeout=300, cwd=BENCH.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "settled on both sides 600; 120 rounds" in proc.stdout
    assert "cpu per round" in proc.stdout
    assert "python-qpid-proton" in proc.stdout  # the anchor's rows (or that it is missing)


def test_a_range_the_size_of_the_unsettled_with_a_hole_settles_only_the_range() -> None:
    # Deliveries 0..5 sent, 2 settled by the peer alone: 0, 1, 3, 4, 5 unsettled (five).
    # A settled range 0..4 is five ids and starts at the first unsettled, yet 5 is not in
    # it: the whole-map shortcut must see that the last one is not the range's last.
    p, sender, _ = linked_pair(credit=10)
    sent = [sender.send(Message(b"m")) for _ in range(6)]
    p.client.data_to_send()
    for first, last in ((2, 2), (0, 4)):
        p.client.receive_data(encode_frame(FRAME_AMQP, 0, Disposition(
            role=Role.RECEIVER, first=first, last=last, settled=True, state=Accepted())))
    assert [ev.delivery.id for ev in drain(p.client)] == [2, 0, 1, 3, 4]
    assert list(sender.unsettled) == [5]
    assert [d.settled for d in sent] == [True] * 5 + [False]


@pytest.mark.parametrize("start", [0, 2**32 - 3])
def test_the_session_restates_its_flow_when_less_than_half_its_window_is_left(
        start: int) -> None:
    # 2.5.6: with an outgoing window of 10 given, our flow goes out with the transfer that
    # leaves fewer than 5 (the 6th), then again 6 transfers later; transfer-ids wrap.
    p, sender, _ = linked_pair(credit=20)
    session = sender.session
    session.outgoing_window = 10
    session.next_outgoing_id = start
    session._send(session._flow_frame())
    p.client.data_to_send()
    flows = []
    for i in range(1, 14):
        sender.send(Message(b"m"))
        reader = FrameReader(2**20)
        reader.expect_header()
        reader.feed(b"AMQP\x00\x01\x00\x00" + p.client.data_to_send())
        frames = [f[2] for f in reader.frames()][1:]
        if any(type(f) is Flow for f in frames):
            flows.append(i)
            (flow,) = [f for f in frames if type(f) is Flow]
            assert flow.outgoing_window == 10
            assert flow.next_outgoing_id == (start + i) % 2**32
    assert flows == [6, 12]


def test_sendable_asks_the_link_and_the_session() -> None:
    # Credit and an attached link are not enough: the session must be mapped, its peer's
    # incoming window open (2.5.6) and nothing held back; and no new delivery refused.
    p, sender, _ = linked_pair(credit=5)
    session = sender.session
    assert sender.sendable
    session.remote_incoming_window = 0
    assert not sender.sendable
    session.remote_incoming_window = 10
    session._blocked.append((sender, None, None, b""))
    assert not sender.sendable
    session._blocked.clear()
    sender._no_new = True
    assert not sender.sendable
    sender._no_new = False
    assert sender.sendable
    session.end()
    assert not sender.sendable
