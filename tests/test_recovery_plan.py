"""The I/O-free recovery logic (issue 9) with two cores back to back and random drop points.

A fake adapter connection (no sockets, no threads) drives the shared client layer the
way each adapter does: when the core ends, ``_transport_down`` decides before the dead
core's events are handed out; a new core gets the sessions and links again
(``_replay``); once they are attached, ``_recovered`` resends what was in doubt.
The invariants after every drop: no message whose outcome arrived is sent again, no
pre-settled one is, every unsettled one without an outcome is sent again exactly once
and in send order, and the application's delivery answers with the resend's outcome.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import Message, MessageReceived, RemoteAttach, RemoteBegin, SenderSettleMode
from amqp10_proto._clientstate import ReceiverBase, SenderBase, SessionBase
from amqp10_proto._connection import Connection as Core
from amqp10_proto._link import Sender as CoreSender
from amqp10_proto._reconnect import Reconnect
from amqp10_proto._recovery import Recovering
from amqp10_proto._url import parse_url
from amqp10_proto.client import dispatch_events
from amqp10_proto.errors import ConnectionClosedError, SettlementLost

from .corepair import CorePair


class FakeConnection(Recovering):
    """What an adapter's connection does around the shared layer, minus the I/O."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.label = "fake"
        self._closed_by_user = False
        self._seen_end: Core | None = None
        self.remote_properties: dict[str, Any] | None = None
        self._init_recovery(Reconnect(), [parse_url("amqp://127.0.0.1:1")])
        self._arm_recovery()

    @property
    def closed(self) -> bool:
        return self._core.ended and not self._reconnecting

    def _check(self) -> None:
        if self.closed:
            raise ConnectionClosedError("closed")

    def _after(self) -> None:
        core = self._core
        if core.ended and self._seen_end is not core:
            self._seen_end = core
            self._transport_down(0.0, core.error, core.error_is_local)
        dispatch_events(core, self.label)


class Received:
    def __init__(self, message: Message, delivery: Any, receiver: Any) -> None:
        self.message, self.delivery, self.receiver = message, delivery, receiver


class Pair(CorePair):
    """Two cores back to back; the client's events are left for the client layer."""

    def _collect(self) -> None:
        while (ev := self.server.next_event()) is not None:
            self.log["server"].append(ev)


def serve(pair: CorePair, credit: int = 1000) -> list[Any]:
    """Let the server side answer every begin and attach, granting credit; its receivers."""
    receivers = []
    for _ in range(5):
        pair.pump()
        for rb in pair.events("server", RemoteBegin):
            rb.session.begin()
        for ra in pair.events("server", RemoteAttach):
            ra.link.attach()
            if ra.link.role.name == "RECEIVER":
                ra.link.add_credit(credit)
            receivers.append(ra.link)
    pair.pump()
    return receivers


def connect(conn: FakeConnection | None = None) -> tuple[CorePair, FakeConnection]:
    pair = Pair()
    pair.open()
    if conn is None:
        conn = FakeConnection(pair.client)
    else:
        conn._core = pair.client
        conn._replay()
    return pair, conn


@settings(max_examples=60, deadline=None)
@given(plan=st.lists(st.tuples(st.booleans(), st.sampled_from(["accept", "none", "unsent"])),
                     min_size=1, max_size=25),
       drops=st.integers(1, 3))
def test_what_is_resent_after_random_drops(plan: list[tuple[bool, str]], drops: int) -> None:
    """``plan``: per message, pre-settled or not, and what happens before the drop: the
    peer accepts it, gets it without answering, or never gets it (still unwritten)."""
    pair, conn = connect()
    core_session = pair.client.begin_session()
    session = SessionBase(conn, core_session, {})
    core_session.context = session
    conn._sessions.append(session)
    args: dict[str, Any] = {"target": "q", "snd_settle_mode": SenderSettleMode.MIXED}
    core_sender = core_session.attach_sender(**args)
    sender = SenderBase(session, core_sender, attach_args=args)
    core_sender.context = sender
    (server_link,) = serve(pair)

    deliveries = []
    for i, (presettled, fate) in enumerate(plan):
        message = Message(b"m%d" % i)
        d = sender._core.send(message, settled=presettled)
        sender._track(d, message)
        deliveries.append(d)
        if fate != "unsent":
            pair.pump()
            for ev in pair.events("server", MessageReceived):
                # Only this message's fate: an earlier "unsent" one went out with it.
                if fate == "accept" and ev.message.body == b"m%d" % i \
                        and not ev.delivery.settled:
                    server_link.accept(ev.delivery)
            pair.pump()
    in_doubt = [d for d, (pre, fate) in zip(deliveries, plan, strict=True)
                if not pre and fate != "accept"]

    for _ in range(drops):
        pair.client.transport_failed("cut")
        conn._after()
        assert conn.state == "reconnecting" and not sender._gone()
        pair, conn = connect(conn)
        (server_link,) = serve(pair)
        conn._after()
        assert conn._replay_done()
        conn._recovered(1.0)
        pair.pump()
        resent = [ev.message.body for ev in pair.events("server", MessageReceived)]
        # Exactly the unsettled messages without an outcome, once each, in send order.
        assert resent == [b"m%d" % deliveries.index(d) for d in in_doubt]
        # Drop again before any answer: the same ones are in doubt again.

    # Finally the peer accepts everything resent: every application delivery answers.
    for d in list(server_link.unsettled.values()):
        server_link.accept(d)
    pair.pump()
    conn._after()
    for d, (pre, _) in zip(deliveries, plan, strict=True):
        if not pre:
            assert sender._outcome_ready(d)
            assert type(sender._outcome(d, True, 1.0)).__name__ == "Accepted"
    assert sender.resent == len(in_doubt) * drops
    assert conn.reconnects == drops
    # Done resends are forgotten (bounded memory); the application's deliveries keep
    # answering with their outcome.
    sender._sweep_forwards()
    assert not sender._forward
    for d, (pre, _) in zip(deliveries, plan, strict=True):
        if not pre:
            assert type(sender._outcome(d, True, 1.0)).__name__ == "Accepted"


def test_a_received_unsettled_message_is_stale_after_a_drop_and_comes_back() -> None:
    pair, conn = connect()
    core_session = pair.client.begin_session()
    session = SessionBase(conn, core_session, {})
    core_session.context = session
    conn._sessions.append(session)
    args: dict[str, Any] = {"source": "q", "credit": 10}
    core_receiver = core_session.attach_receiver(**args)
    receiver = ReceiverBase(session, core_receiver, credit=10, attach_args=args)
    receiver._message_class = Received
    core_receiver.context = receiver
    serve(pair)
    (server_sender,) = [link for link in pair.server.sessions[0].links
                        if isinstance(link, CoreSender)]
    server_sender.send(Message(b"first"))
    server_sender.send(Message(b"second"))
    pair.pump()
    conn._after()
    handed_out = receiver._buffer.popleft()  # the application holds this one
    assert len(receiver._buffer) == 1
    pair.client.transport_failed("cut")
    conn._after()
    assert not receiver._buffer  # unsettled and not handed out: dropped (redelivered)
    try:
        receiver._settle_start(handed_out.delivery, "accept", (), {})
    except SettlementLost:
        pass
    else:
        raise AssertionError("settling a message of the lost transport did not raise")
    pair, conn = connect(conn)
    serve(pair)
    conn._after()
    conn._recovered(1.0)
    # The receiver is attached again with its whole window as credit.
    assert receiver._core.credit == 10 and receiver._core is not core_receiver
