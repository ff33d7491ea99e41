"""Issue 13 in the shared I/O-free layer: after a reconnect, a CBS client's links attach
first, the others wait until its tokens are put again, then attach (or fail, typed).

Two cores back to back (tests/corepair.py); a fake adapter connection moves the
reconnect on as each adapter does (replay once the peer's open is here, recovered once
every link answered); a fake CBS client is the real ``CbsCalls`` with its worker
driven by the test, on a fake clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_cli._broker_nodes import covers
from amqp10_proto import Error, ErrorCondition, RemoteAttach, RemoteBegin
from amqp10_proto._cbs import Reauthorization
from amqp10_proto._clientstate import ReceiverBase, SenderBase, SessionBase
from amqp10_proto._connection import Connection as Core
from amqp10_proto._requester import CbsCalls
from amqp10_proto.errors import LinkDetachedError

from ..test_recovery_plan import FakeConnection as PlainConnection
from ..test_recovery_plan import Pair

AUDIENCE = "sb://ns/orders"


class FakeConnection(PlainConnection):
    """test_recovery_plan's fake adapter connection, whose ``_after`` also moves the
    handshake on while reconnecting (replay, then recovered), as the adapters' do."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.now = 0.0

    def _after(self) -> None:
        super()._after()
        core = self._core
        if self._reconnecting and core.opened and not core.ended:
            if not self._replaying:
                self._replay()
            if self._replay_done():
                self._recovered(self.now)


class FakeCbs(CbsCalls):
    """The CBS client's gate, its worker left to the test (``started`` counts starts)."""

    def __init__(self, session: SessionBase[Any], sender: SenderBase, receiver: ReceiverBase,
                 timeout: float = 10.0) -> None:
        self.session = session
        self._sender, self._receiver = sender, receiver
        self.timeout = timeout
        self._closed = False
        self.started = 0
        self._cbs_init()

    def _reauth_start(self) -> None:
        self.started += 1

    def accepted(self, audience: str, now: float, expires_at: float) -> None:
        """What authorize() does once the token was accepted."""
        self.providers[audience] = lambda a: None  # type: ignore[assignment,return-value]
        self.refresh.put(audience, now, expires_at)
        self._gate_register()


def state(conn: FakeConnection) -> str:
    """The connection's state (a plain str: it changes under the test's feet)."""
    return conn.state


class Story:
    """A connection with one session: the CBS client's receiver and sender on ``$cbs``,
    and an application's sender to ``q`` and receiver from ``r``."""

    def __init__(self) -> None:
        self.pair = Pair()
        self.pair.open()
        self.conn = conn = FakeConnection(self.pair.client)
        core_session = self.pair.client.begin_session()
        self.session = session = SessionBase(conn, core_session, {})
        core_session.context = session
        conn._sessions.append(session)
        cbs_receiver = self.receiver("$cbs", target="$cbs.reply-1")
        cbs_sender = self.sender("$cbs")
        self.app_sender = self.sender("q")
        self.app_receiver = self.receiver("r")
        self.serve()
        self.cbs = FakeCbs(session, cbs_sender, cbs_receiver)

    def sender(self, address: str) -> SenderBase:
        args: dict[str, Any] = {"target": address}
        core = self.session._core.attach_sender(**args)
        link = SenderBase(self.session, core, attach_args=args)
        core.context = link
        return link

    def receiver(self, address: str, **extra: Any) -> ReceiverBase:
        args: dict[str, Any] = {"source": address, "credit": 10, **extra}
        core = self.session._core.attach_receiver(**args)
        link = ReceiverBase(self.session, core, credit=10, attach_args=args)
        core.context = link
        return link

    def serve(self) -> list[str]:
        """The server answers every begin and attach; the addresses attached, in order."""
        addresses = []
        for _ in range(3):
            self.pair.pump()
            for rb in self.pair.events("server", RemoteBegin):
                rb.session.begin()
            for ra in self.pair.events("server", RemoteAttach):
                link = ra.link
                terminus = link.remote_target if link.role.name == "RECEIVER" \
                    else link.remote_source
                addresses.append(terminus.address)
                link.attach()
        self.pair.pump()
        self.conn._after()
        return addresses

    def drop(self) -> None:
        """The transport goes; a new one is open (the peer's open is here)."""
        self.pair.client.transport_failed("cut")
        self.conn._after()
        assert state(self.conn) == "reconnecting"
        self.pair = Pair()
        self.pair.open()
        self.conn._core = self.pair.client
        self.conn._after()


def test_the_cbs_links_attach_first_and_the_others_once_the_tokens_are_put_again() -> None:
    story = Story()
    conn, cbs = story.conn, story.cbs
    cbs.accepted(AUDIENCE, now=1000.0, expires_at=4600.0)
    story.drop()
    # Only the CBS client's links attach on the new transport.
    assert story.serve() == ["$cbs", "$cbs"]
    assert state(conn) == "reconnecting"
    assert cbs.started == 1  # the worker was started, once
    assert not story.app_sender._gone() and not story.app_receiver._gone()  # they wait
    # The worker's round: every token again, then the gate opens.
    conn.now = 5.0
    plan = cbs._reauth_take(conn.now)
    assert plan is not None and plan.audiences == [AUDIENCE]
    assert plan.next(5.0) == (AUDIENCE, 10.0)
    assert cbs._reauth_take(5.0) is None  # taken once
    plan.accepted(AUDIENCE)
    assert plan.next(6.0) is None and plan.done and plan.error is None
    cbs._reauth_settle(plan)
    assert story.serve() == ["q", "r"]  # the held links, in the order they were opened
    assert state(conn) == "open" and conn.reconnects == 1
    assert story.app_sender._core.state.name == "ATTACHED"
    assert story.app_receiver._core.state.name == "ATTACHED"


def test_a_round_past_its_deadline_fails_the_held_links_typed() -> None:
    story = Story()
    conn, cbs = story.conn, story.cbs
    cbs.accepted(AUDIENCE, now=1000.0, expires_at=4600.0)
    story.drop()
    assert story.serve() == ["$cbs", "$cbs"]
    plan = cbs._reauth_take(100.0)
    assert plan is not None and plan.next(100.0) == (AUDIENCE, 10.0)
    assert plan.next(109.5) == (AUDIENCE, 0.5)
    assert plan.next(110.0) is None  # the put did not come back in time
    assert plan.error is not None
    assert plan.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS
    cbs._reauth_settle(plan)
    assert story.serve() == []  # never attached: Azure would refuse them
    assert state(conn) == "open"  # the connection is back, with the CBS client's links
    for link in (story.app_sender, story.app_receiver):
        assert link.detached and link._gone()
        with pytest.raises(LinkDetachedError, match="took more than 10 s") as info:
            link._check()
        assert isinstance(info.value.error, Error)
        assert info.value.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS
    assert story.app_sender not in story.session._links
    assert story.cbs._sender._core.state.name == "ATTACHED"


def test_an_answer_to_an_earlier_reconnect_is_ignored() -> None:
    story = Story()
    conn, cbs = story.conn, story.cbs
    cbs.accepted(AUDIENCE, now=0.0, expires_at=3600.0)
    story.drop()
    story.serve()
    first = cbs._reauth_take(1.0)
    assert first is not None and first.episode == 1
    story.drop()  # lost again while the worker puts the tokens
    assert story.serve() == ["$cbs", "$cbs"]
    assert cbs.started == 1  # the running worker takes the next round: no second one
    first.accepted(AUDIENCE)
    cbs._reauth_settle(first)
    assert story.serve() == []  # a late answer: the links stay held
    assert state(conn) == "reconnecting"
    second = cbs._reauth_take(2.0)
    assert second is not None and second.episode == 2
    second.accepted(AUDIENCE)
    cbs._reauth_settle(second)
    assert story.serve() == ["q", "r"]
    assert state(conn) == "open"


def test_a_cbs_client_closed_while_links_wait_lets_them_attach() -> None:
    story = Story()
    cbs = story.cbs
    cbs.accepted(AUDIENCE, now=0.0, expires_at=3600.0)
    story.drop()
    story.serve()
    cbs._closed = True
    cbs._gate_unregister()
    assert story.serve() == ["q", "r"]
    assert state(story.conn) == "open"
    assert cbs._reauth_take(1.0) is None  # closed: the worker ends
    story.drop()  # and the next reconnect no longer waits for it
    assert story.serve() == ["$cbs", "$cbs", "q", "r"]


def test_without_an_accepted_token_nothing_waits() -> None:
    story = Story()
    story.cbs._gate_register()  # registered, but no token was ever accepted
    story.drop()
    assert story.serve() == ["$cbs", "$cbs", "q", "r"]
    assert state(story.conn) == "open" and story.cbs.started == 0


def test_a_round_puts_every_audience_in_turn_within_one_deadline() -> None:
    plan = Reauthorization(3, ["a", "b", "c"], now=50.0, timeout=30.0)
    assert plan.next(50.0) == ("a", 30.0)
    plan.accepted("a")
    assert plan.next(60.0) == ("b", 20.0)
    plan.accepted("b")
    assert plan.next(75.0) == ("c", 5.0)
    plan.failed("c", RuntimeError("no identity"))
    assert plan.done and plan.next(76.0) is None
    assert plan.error is not None and "'c'" in str(plan.error.description)
    assert "no identity" in str(plan.error.description)


def test_which_addresses_a_token_covers() -> None:
    assert covers("sb://ns.servicebus.windows.net/orders", "orders")
    assert covers("sb://ns.servicebus.windows.net/orders", "orders/subscriptions/s1")
    assert covers("sb://ns.servicebus.windows.net/", "anything")
    assert covers("orders", "orders")
    assert not covers("sb://ns.servicebus.windows.net/orders", "orders2")
    assert not covers("sb://ns.servicebus.windows.net/orders", "invoices")
