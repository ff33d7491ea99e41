"""Issue 14 on the three adapters, against the embedded broker: a send's message-format,
delivery-tag and transaction, batches in Azure's format, a sender's address (dynamic
too), detach without closing, a receiver's applied filters, and transactional sends and
settlements. The async scenarios are written once and run on asyncio and on trio."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import (
    BATCH_MESSAGE_FORMAT,
    Accepted,
    LinkState,
    Message,
    Target,
    decode_batch,
    selector_filter,
)
from amqp10_proto._txn import TransactionStatus, attach_controller
from amqp10_proto.client import sender_attach_args
from amqp10_proto.errors import LinkDetachedError, TransactionError

GUARD = 10.0  # a hang guard, not a timing assertion


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


def _q() -> str:
    return f"l14-{uuid.uuid4().hex[:8]}"


class FakeTxn:
    """A transaction object as the adapters read it (``txn_id``, or TransactionError)."""

    def __init__(self, txn_id: bytes | None = None) -> None:
        self._id = txn_id

    @property
    def txn_id(self) -> bytes:
        if self._id is None:
            raise TransactionError("the transaction was rolled back already")
        return self._id


Scenario = Callable[[Any, str], Coroutine[Any, Any, None]]


def run_async(scenario: Scenario, broker: RunningBroker) -> None:
    """The scenario on asyncio, then on trio (their APIs are the same)."""
    asyncio.run(scenario(amqp10_asyncio, broker.url))
    trio.run(scenario, amqp10_trio, broker.url)


# -- message-format and delivery-tag --------------------------------------------------------

def test_sync_format_and_tag_reach_the_peer(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        handle = sender.send_nowait(Message(b"x"), message_format=0x1234, delivery_tag=b"T1")
        assert not isinstance(handle, amqp10_sync.Queued)
        assert (handle.tag, handle.message_format) == (b"T1", 0x1234)
        assert sender.wait_settled(handle, timeout=GUARD) == Accepted()
        assert sender.send(b"y", message_format=0x1234, delivery_tag=b"T1") == Accepted()
        receiver = session.open_receiver(q)
        got = [receiver.receive(timeout=GUARD) for _ in range(2)]
        assert [m.delivery.message_format for m in got] == [0x1234, 0x1234]
        assert [m.body for m in got] == [b"x", b"y"]


async def _format_and_tag(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q)
        handle = await sender.send_nowait(Message(b"x"), message_format=0x1234,
                                          delivery_tag=b"T1")
        assert (handle.tag, handle.message_format) == (b"T1", 0x1234)
        assert await sender.wait_settled(handle, timeout=GUARD) == Accepted()
        assert await sender.send(b"y", message_format=7, delivery_tag=b"T1") == Accepted()
        receiver = await session.open_receiver(q)
        got = [await receiver.receive(timeout=GUARD) for _ in range(2)]
        assert [m.delivery.message_format for m in got] == [0x1234, 7]


def test_async_format_and_tag_reach_the_peer(broker: RunningBroker) -> None:
    run_async(_format_and_tag, broker)


BAD_OPTIONS: list[tuple[dict[str, Any], type, str]] = [
    ({"message_format": -1}, ValueError, "message_format"),
    ({"message_format": 1 << 32}, ValueError, "message_format"),
    ({"message_format": "0"}, TypeError, "message_format"),
    ({"delivery_tag": b"t" * 33}, ValueError, "32 bytes"),
    ({"delivery_tag": "t"}, TypeError, "delivery_tag"),
    ({"txn": FakeTxn()}, TransactionError, "rolled back"),
    ({"txn": object()}, TypeError, "transaction"),
]


def test_sync_bad_options_are_refused_before_anything_is_sent(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        for options, exc, text in BAD_OPTIONS:
            for call in (sender.send, sender.send_nowait):
                with pytest.raises(exc, match=text):
                    call(b"x", **options)
        with conn._cond:  # no outcome can come in between: the first stays unsettled
            sender.send_nowait(b"a", delivery_tag=b"dup")
            with pytest.raises(ValueError, match="in use"):
                sender.send_nowait(b"b", delivery_tag=b"dup")
        receiver = session.open_receiver(q)
        assert receiver.receive(timeout=GUARD).body == b"a"
        with pytest.raises(TimeoutError):
            receiver.receive(timeout=0.3)  # nothing else was sent


async def _bad_options(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q)
        for options, exc, text in BAD_OPTIONS:
            for call in (sender.send, sender.send_nowait):
                with pytest.raises(exc, match=text):
                    await call(b"x", **options)
        # No checkpoint between the two: the first is still unsettled.
        await sender.send_nowait(b"a", delivery_tag=b"dup")
        with pytest.raises(ValueError, match="in use"):
            await sender.send_nowait(b"b", delivery_tag=b"dup")
        receiver = await session.open_receiver(q)
        assert (await receiver.receive(timeout=GUARD)).body == b"a"
        with pytest.raises(TimeoutError):
            await receiver.receive(timeout=0.3)


def test_async_bad_options_are_refused_before_anything_is_sent(broker: RunningBroker) -> None:
    run_async(_bad_options, broker)


def test_sync_a_tag_waiting_for_credit_is_taken_too(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        sender = conn.open_session().open_sender(q)
        with conn._cond:
            core = sender._core
            credit, core.credit = core.credit, 0  # as if the peer had granted none yet
            queued = sender.send_nowait(b"a", delivery_tag=b"q1")
            assert isinstance(queued, amqp10_sync.Queued) and sender.queued == 1
            assert core.available == 1  # 2.6.7: the next flow says one waits
            with pytest.raises(ValueError, match="in use"):
                sender.send_nowait(b"b", delivery_tag=b"q1")
            core.credit = credit
            sender._pump()
            conn._after()
        assert sender.wait_settled(queued, timeout=GUARD) == Accepted()
        assert core.available == 0 and queued.delivery is not None
        assert queued.delivery.tag == b"q1"


# -- batches -------------------------------------------------------------------------------

def test_sync_a_batch_arrives_as_one_message_in_azures_format(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        assert sender.send_batch([Message(b"1"), b"2", Message("3")], timeout=GUARD) == Accepted()
        receiver = session.open_receiver(q)
        msg = receiver.receive(timeout=GUARD)
        assert msg.delivery.message_format == BATCH_MESSAGE_FORMAT
        assert [m.body for m in decode_batch(msg.message)] == [b"1", b"2", "3"]
        with pytest.raises(TimeoutError):
            receiver.receive(timeout=0.3)  # one delivery, not three


async def _batch(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q)
        assert await sender.send_batch([b"1", b"2"], timeout=GUARD) == Accepted()
        receiver = await session.open_receiver(q)
        msg = await receiver.receive(timeout=GUARD)
        assert msg.delivery.message_format == BATCH_MESSAGE_FORMAT
        assert [m.body for m in decode_batch(msg.message)] == [b"1", b"2"]


def test_async_a_batch_arrives_as_one_message_in_azures_format(broker: RunningBroker) -> None:
    run_async(_batch, broker)


# -- addresses and filters -------------------------------------------------------------------

def test_sync_sender_address_and_dynamic_sender(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        assert session.open_sender(q).address == q
        dynamic = session.open_sender(Target(dynamic=True))
        assert dynamic.address and dynamic.address != q  # the name the broker made
        dynamic.send(b"to the new node", timeout=GUARD)
        receiver = session.open_receiver(dynamic.address)
        assert receiver.receive(timeout=GUARD).body == b"to the new node"


def test_sender_attach_args_dynamic() -> None:
    args = sender_attach_args(None, settle_mode="unsettled", durable=None, expiry_policy=None,
                              capabilities=None, dynamic=True)
    assert args["target"].dynamic is True and args["target"].address is None
    with pytest.raises(ValueError, match="dynamic"):
        sender_attach_args("q", settle_mode="unsettled", durable=None, expiry_policy=None,
                           capabilities=None, dynamic=True)
    with pytest.raises(TypeError, match="dynamic"):
        sender_attach_args(None, settle_mode="unsettled", durable=None, expiry_policy=None,
                           capabilities=None, dynamic="yes")  # type: ignore[arg-type]


async def _address_and_filters(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q)
        assert sender.address == q
        dynamic = await session.open_sender(Target(dynamic=True))
        assert dynamic.address and dynamic.address != q
        receiver = await session.open_receiver(q, filters=selector_filter("color = 'red'"))
        assert receiver.filters == selector_filter("color = 'red'")
        plain = await session.open_receiver(q)
        assert plain.filters is None


def test_async_sender_address_and_receiver_filters(broker: RunningBroker) -> None:
    run_async(_address_and_filters, broker)


def test_sync_receiver_filters_are_what_the_peer_applied(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        wanted = selector_filter("color = 'red'")
        receiver = session.open_receiver(q, filters=wanted)
        assert receiver.filters == wanted  # the embedded broker applies selectors
        assert session.open_receiver(q).filters is None


# -- detach without closing ---------------------------------------------------------------------

def test_sync_detach_leaves_the_subscription_to_resume(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        receiver = session.open_receiver(q, name="sub-1", durable=True)
        core = receiver._core
        closed: list[bool] = []
        real = core.detach

        def spy(error: Any = None, *, closed_: bool = True, **kw: Any) -> None:
            closed.append(kw.get("closed", closed_))
            real(error, closed=kw.get("closed", closed_))

        core.detach = spy  # type: ignore[method-assign]
        receiver.detach(timeout=GUARD)
        assert closed == [False]  # 2.6.6: detach, not close; the broker keeps the terminus
        assert receiver.detached and core.remote_error is None
        assert core.state is LinkState.CLOSED
        with pytest.raises(LinkDetachedError):
            receiver.receive(timeout=0.1)
        session.open_sender(q).send(b"while away", timeout=GUARD)
        again = session.open_receiver(q, name="sub-1", durable=True)
        assert again.receive(timeout=GUARD).body == b"while away"
        receiver.detach(timeout=GUARD)  # over already: nothing to do


async def _detach(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q, name="snd-1")
        await sender.detach(timeout=GUARD)
        assert sender.detached
        with pytest.raises(LinkDetachedError):
            await sender.send(b"x", timeout=1)
        again = await session.open_sender(q, name="snd-1")
        assert await again.send(b"y", timeout=GUARD) == Accepted()


def test_async_detach(broker: RunningBroker) -> None:
    run_async(_detach, broker)


# -- transactions (a controller of the core's on the adapter's own session) ---------------

def _declare_sync(conn: Any, session: Any, controller: Any = None) -> tuple[Any, Any]:
    with conn._cond:
        if controller is None:
            controller = attach_controller(session._core)
            conn._after()
        link = controller.link
        assert conn._wait_until(lambda: link.attached and link.credit > 0,
                                conn._deadline(GUARD))
        txn = controller.declare()
        conn._after()
        assert conn._wait_until(lambda: txn.status is not TransactionStatus.DECLARING,
                                conn._deadline(GUARD))
    assert txn.status is TransactionStatus.ACTIVE
    return controller, txn


def _discharge_sync(conn: Any, controller: Any, txn: Any, fail: bool) -> None:
    with conn._cond:
        controller.discharge(txn, fail=fail)
        conn._after()
        assert conn._wait_until(lambda: txn.status is not TransactionStatus.DISCHARGING,
                                conn._deadline(GUARD))
    assert txn.status is (TransactionStatus.ROLLED_BACK if fail else TransactionStatus.COMMITTED)


def _left(session: Any, q: str) -> list[Any]:
    receiver = session.open_receiver(q, credit=10)
    got = receiver.receive_batch(10, timeout=0.5)
    for m in got:
        m.accept()
    receiver.close()
    return [m.body for m in got]


def test_sync_transactional_sends_go_at_commit_only(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        controller, txn = _declare_sync(conn, session)
        outcome = sender.send(b"in txn", txn=txn, timeout=GUARD)
        assert outcome is not None  # the coordinator's transactional-state (4.5.5)
        assert sender.send_many([b"m1", b"m2"], txn=txn, timeout=GUARD) is not None
        _discharge_sync(conn, controller, txn, fail=True)  # rolled back: none of them
        assert _left(session, q) == []
        _, txn2 = _declare_sync(conn, session, controller)
        sender.send(b"kept", txn=txn2, timeout=GUARD)
        _discharge_sync(conn, controller, txn2, fail=False)
        assert _left(session, q) == [b"kept"]


def test_sync_transactional_accept_is_undone_by_rollback(broker: RunningBroker) -> None:
    q = _q()
    with amqp10_sync.open_connection(broker.url, timeout=GUARD) as conn:
        session = conn.open_session()
        session.open_sender(q).send_many([b"a", b"b"], timeout=GUARD)
        receiver = session.open_receiver(q, credit=2)
        controller, txn = _declare_sync(conn, session)
        first = receiver.receive(timeout=GUARD)
        first.accept(txn=txn)  # 4.4.2: retired in the transaction
        receiver.release(receiver.receive(timeout=GUARD), txn=txn)
        assert first.delivery.state is not None
        assert type(first.delivery.state).__name__ == "TransactionalState"
        _discharge_sync(conn, controller, txn, fail=True)
        receiver.close()  # what it held unsettled goes back to the queue
        receiver = session.open_receiver(q, credit=2)
        _, txn2 = _declare_sync(conn, session, controller)
        again = [receiver.receive(timeout=GUARD) for _ in range(2)]
        assert sorted(m.body for m in again) == [b"a", b"b"]  # the rollback undid the accept
        again[0].accept(txn=txn2)
        again[1].accept()  # outside the transaction
        with pytest.raises(ValueError, match="settles once"):
            again[1].modify(txn=txn2)  # accepted already: not modified too
        _discharge_sync(conn, controller, txn2, fail=False)
        receiver.close()
        assert _left(session, q) == []


async def _txn_settle(amqp: Any, url: str) -> None:
    q = _q()
    async with amqp.open_connection(url, timeout=GUARD) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(q)
        await sender.send_many([b"a", b"b"], timeout=GUARD)
        receiver = await session.open_receiver(q, credit=2)
        controller = attach_controller(session._core)
        conn._after()
        link = controller.link
        assert await conn._wait_until(lambda: link.attached and link.credit > 0,
                                      conn._deadline(GUARD))
        txn = controller.declare()
        conn._after()
        assert await conn._wait_until(lambda: txn.status is TransactionStatus.ACTIVE,
                                      conn._deadline(GUARD))
        msg = await receiver.receive(timeout=GUARD)
        await msg.accept(txn=txn)
        await receiver.modify(await receiver.receive(timeout=GUARD), txn=txn)
        assert await sender.send(b"c", txn=txn, timeout=GUARD) is not None
        with pytest.raises(TransactionError):
            await msg.reject(txn=FakeTxn())
        controller.discharge(txn, fail=False)
        conn._after()
        assert await conn._wait_until(lambda: txn.status is TransactionStatus.COMMITTED,
                                      conn._deadline(GUARD))
        await receiver.close()
        left = await session.open_receiver(q, credit=5)
        got = await left.receive_batch(5, timeout=0.5)
        # a accepted, b modified (back on the queue), c posted: at commit, all three
        assert sorted(m.body for m in got) == [b"b", b"c"]


def test_async_transactional_settlements_and_sends(broker: RunningBroker) -> None:
    run_async(_txn_settle, broker)
