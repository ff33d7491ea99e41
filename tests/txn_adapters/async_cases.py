"""The transaction stories of the two async adapters (asyncio, trio), written once: each
is an async function of the adapter's module (``amqp``) and the embedded broker;
test_txn_async runs every one on both loops. The blocking adapter's are in
test_txn_sync, told the same way."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from amqp10_cli import RunningBroker
from amqp10_proto import Message
from amqp10_proto.errors import TransactionError, TransactionRolledBack

from ..faultproxy import FaultProxy
from ..resilience.loops import in_thread, is_trio, until
from .common import bodies, open_transactions

__all__ = ["CASES", "Case"]

Case = Callable[[Any, RunningBroker, str], Coroutine[Any, Any, None]]
CASES: list[Case] = []


def case(fn: Case) -> Case:
    CASES.append(fn)
    return fn


@contextlib.asynccontextmanager
async def opened(amqp: Any, url: str, q: str,
                 **options: Any) -> AsyncIterator[tuple[Any, Any, Any]]:
    """A connection to ``url``, a session on it, and a sender to ``q``."""
    async with amqp.open_connection(url, timeout=10, **options) as conn:
        session = await conn.open_session()
        yield conn, session, await session.open_sender(q)


@case
async def committed_sends_arrive_once_and_only_at_the_commit(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        async with session.transaction() as txn:
            for i in range(3):
                await sender.send(Message(b"%d" % i), txn=txn)
            assert bodies(broker, q) == []  # 4.4.1: held until the discharge
        assert txn.status == "committed"
        assert bodies(broker, q) == [b"0", b"1", b"2"]
        receiver = await session.open_receiver(q)
        assert [(await receiver.receive(timeout=5)).body for _ in range(3)] == [b"0", b"1", b"2"]
        with pytest.raises(TimeoutError):
            await receiver.receive(timeout=0.3)


@case
async def an_exception_rolls_back_and_goes_on(amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        with pytest.raises(LookupError, match="the application's"):
            async with session.transaction() as txn:
                await sender.send(Message(b"never"), txn=txn)
                raise LookupError("the application's")
        assert txn.status == "rolled back"
        with pytest.raises(TransactionError, match="rolled back"):
            _ = txn.txn_id
        await sender.send(Message(b"plain"))
        assert bodies(broker, q) == [b"plain"]
        assert open_transactions(broker) == 0


@case
async def a_message_consumed_in_a_rolled_back_transaction_comes_back(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with amqp.open_connection(broker.url, timeout=10) as conn:
        session = await conn.open_session()
        await (await session.open_sender(q)).send(Message(b"m"))
        receiver = await session.open_receiver(q, credit=1)
        msg = await receiver.receive(timeout=5)
        async with session.transaction() as txn:
            await msg.accept(txn=txn)  # 4.4.2: applied only at the commit
            await txn.rollback()
        assert txn.status == "rolled back"
        again = await receiver.receive(timeout=5)
        assert again.body == b"m"
        async with session.transaction() as txn:
            await receiver.accept(again, txn=txn)
        assert txn.status == "committed"
        with pytest.raises(TimeoutError):
            await receiver.receive(timeout=0.3)
        assert bodies(broker, q) == []


@case
async def explicit_commit_leaves_nothing_for_the_exit(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        txn = session.transaction()
        assert txn.status == "new"
        with pytest.raises(TransactionError, match="not declared yet"):
            await sender.send(Message(b"no"), txn=txn)
        with pytest.raises(KeyError):
            async with txn:
                await sender.send(Message(b"kept"), txn=txn)
                await txn.commit()
                raise KeyError("after the commit: nothing to roll back")
        assert txn.status == "committed"
        assert bodies(broker, q) == [b"kept"]
        with pytest.raises(TransactionError, match="committed already"):
            await txn.commit()
        with pytest.raises(TransactionError, match="committed"):
            await sender.send(Message(b"no"), txn=txn)
        with pytest.raises(TransactionError, match="entered already"):
            await txn.__aenter__()


@case
async def one_controller_per_session_serves_many_transactions(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        async with session.transaction() as first:
            controller = session._txn_controller
            async with session.transaction() as second:
                assert session._txn_controller is controller
                assert first.txn_id != second.txn_id
                await sender.send(Message(b"first"), txn=first)
                await sender.send(Message(b"second"), txn=second)
                await second.rollback()
        async with session.transaction():
            assert session._txn_controller is controller
        assert bodies(broker, q) == [b"first"]


@case
async def the_session_ending_mid_transaction_rolls_it_back(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        with pytest.raises(TransactionRolledBack, match="control link ended"):
            async with session.transaction() as txn:
                await sender.send(Message(b"gone"), txn=txn)
                await session.close()
                with pytest.raises(TransactionError):
                    _ = txn.txn_id
        await until(amqp, lambda: open_transactions(broker) == 0)
        assert bodies(broker, q) == []


@case
async def a_cancelled_block_is_rolled_back(amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        holder: list[Any] = []

        async def body() -> None:
            async with session.transaction() as txn:
                holder.append(txn)
                await sender.send(Message(b"cancelled"), txn=txn)
                await until(amqp, lambda: False, timeout=60)  # cancelled in here

        if is_trio(amqp):
            import trio

            with trio.move_on_after(0.5):
                await body()
        else:
            import asyncio

            task = asyncio.ensure_future(body())
            await until(amqp, lambda: bool(holder))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        txn = holder[0]
        await until(amqp, lambda: txn.status == "rolled back")
        assert open_transactions(broker) == 0
        assert bodies(broker, q) == []


@case
async def a_declare_its_caller_gave_up_on_is_rolled_back(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    proxy = await in_thread(amqp, lambda: FaultProxy(broker.port))
    try:
        async with amqp.open_connection(proxy.url, timeout=10) as conn:
            session = await conn.open_session()
            async with session.transaction():
                pass  # the controller is attached with credit: the next declare goes at once
            await in_thread(amqp, lambda: proxy.delay(0.5))
            txn = session.transaction(timeout=0.1)
            with pytest.raises(TimeoutError, match="declare"):
                async with txn:
                    raise AssertionError("not reached")
            # The coordinator's answer came later: rolled back, not left open.
            await until(amqp, lambda: txn.status == "rolled back")
            await until(amqp, lambda: open_transactions(broker) == 0)
    finally:
        await in_thread(amqp, proxy.close)


@case
async def a_dropped_connection_rolls_the_transaction_back_at_the_broker(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with opened(amqp, broker.url, q) as (_, _, sender):
        await sender.send(Message(b"consumed"))
    proxy = await in_thread(amqp, lambda: FaultProxy(broker.port))
    try:
        async with opened(amqp, proxy.url, q, reconnect=False) as (conn, session, sender):
            receiver = await session.open_receiver(q, credit=1)
            msg = await receiver.receive(timeout=5)
            with pytest.raises(TransactionRolledBack):
                async with session.transaction() as txn:
                    await sender.send(Message(b"never"), txn=txn)
                    await msg.accept(txn=txn)
                    await in_thread(amqp, proxy.cut)
                    await until(amqp, lambda: txn.status == "failed")
            await until(amqp, lambda: bodies(broker, q) == [b"consumed"])
    finally:
        await in_thread(amqp, proxy.close)


async def a_commit_refused(amqp: Any, broker: RunningBroker, q: str, sends: int,
                           refusal: type[TransactionRolledBack], condition: str) -> None:
    """A commit of ``sends`` messages that ``broker`` refuses with ``condition``: the
    exit raises ``refusal``, and nothing of the transaction reached the queue."""
    async with opened(amqp, broker.url, q) as (conn, session, sender):
        with pytest.raises(refusal) as caught:
            async with session.transaction() as txn:
                for i in range(sends):
                    await sender.send(Message(b"%d" % i), txn=txn)
        assert caught.value.condition == condition
        assert txn.status == "failed"
        assert bodies(broker, q) == []


@case
async def a_dynamic_sender(amqp: Any, broker: RunningBroker, q: str) -> None:
    async with amqp.open_connection(broker.url, timeout=10) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(None, dynamic=True)  # 3.5.4: the broker names the node
        address = sender.address
        assert isinstance(address, str) and address
        assert sender.remote_target.dynamic
        receiver = await session.open_receiver(address)
        await sender.send(Message(b"to the new node"))
        assert (await receiver.receive(timeout=5)).body == b"to the new node"
        with pytest.raises(ValueError, match="dynamic"):
            await session.open_sender("named", dynamic=True)


@case
async def a_message_settles_once_in_a_transaction_or_not(
        amqp: Any, broker: RunningBroker, q: str) -> None:
    async with amqp.open_connection(broker.url, timeout=10) as conn:
        session = await conn.open_session()
        await (await session.open_sender(q)).send_many([b"in", b"out"])
        receiver = await session.open_receiver(q, credit=2)
        inside, outside = [await receiver.receive(timeout=5) for _ in range(2)]
        async with session.transaction() as txn:
            await inside.accept(txn=txn)
            with pytest.raises(ValueError, match="settles once"):
                await inside.reject()  # 4.4.2: accepted in the transaction already
            await inside.accept(txn=txn)  # the same outcome again: nothing changes
            await outside.accept()
            with pytest.raises(ValueError, match="settles once"):
                await outside.modify(txn=txn)  # accepted already: not modified in it too
            with pytest.raises(ValueError, match="settles once"):
                await receiver.release(outside, txn=txn)
        assert txn.status == "committed"
        assert bodies(broker, q) == []
        with pytest.raises(TimeoutError):
            await receiver.receive(timeout=0.3)  # neither came back
