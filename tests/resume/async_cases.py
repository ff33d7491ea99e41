"""The link-recovery stories (2.6.13, issue 9) for the two async adapters, written once.

The same stories as test_resume_sync tells in the blocking API: durable links in
rcv-settle-mode second, resumed after the fault proxy breaks the TCP connection, every
message counted. Each story is an async function of the adapter's module (``amqp``),
the proxy and the broker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from amqp10_cli import RunningBroker
from amqp10_proto import Accepted, Message

from ..faultproxy import FaultProxy
from ..resilience.loops import sleep, together, until
from ..resilience.test_reconnect_sync import FAST, numbered, queue
from .conftest import DURABLE

__all__ = ["CASES", "Case"]

Case = Callable[[Any, FaultProxy, RunningBroker], Awaitable[None]]
CASES: list[Case] = []


def case(fn: Case) -> Case:
    CASES.append(fn)
    return fn


async def back_again(amqp: Any, conn: Any, reconnects: int) -> None:
    await until(amqp, lambda: conn.reconnects >= reconnects and conn.state == "open")


async def drain(receiver: Any) -> list[bytes]:
    """Everything the queue still has for ``receiver``, accepted."""
    got: list[bytes] = []
    while True:
        try:
            msg = await receiver.receive(timeout=0.5)
        except TimeoutError:
            return got
        got.append(msg.body)
        await msg.accept()


async def _linked(amqp: Any, conn: Any, q: str, credit: int) -> tuple[Any, Any]:
    session = await conn.open_session()
    sender = await session.open_sender(q, **DURABLE)
    receiver = await session.open_receiver(q, credit=credit, **DURABLE)
    return sender, receiver


@case
async def messages_held_at_the_drop_settle_through_the_resumed_link(
        amqp: Any, proxy: FaultProxy, _: RunningBroker) -> None:
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        sender, receiver = await _linked(amqp, conn, q, 10)
        for i in range(10):
            await sender.send(numbered(i))
        handed_out = [await receiver.receive(timeout=5) for _ in range(6)]
        await until(amqp, lambda: receiver.buffered >= 4)
        proxy.cut()
        await back_again(amqp, conn, 1)
        rest = [await receiver.receive(timeout=5) for _ in range(4)]
        for msg in handed_out + rest:
            await msg.accept(timeout=5)  # no SettlementLost: the link was resumed
        assert [m.body for m in handed_out + rest] == [b"m%d" % i for i in range(10)]
        await sender.send(Message(b"marker"))
        assert await drain(receiver) == [b"marker"]


@case
async def outcomes_lost_on_the_way_back_are_settled_not_resent(
        amqp: Any, proxy: FaultProxy, broker: RunningBroker) -> None:
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        sender = await (await conn.open_session()).open_sender(q, **DURABLE)
        await sender.send(Message(b"before"))
        proxy.drop_to_client()  # our transfers arrive; the broker's outcomes do not
        handles = [await sender.send_nowait(numbered(i)) for i in range(10)]
        await sleep(amqp, 0.3)
        proxy.cut()
        outcomes = [await sender.wait_settled(h, timeout=10) for h in handles]
        assert all(isinstance(o, Accepted) for o in outcomes)
        await back_again(amqp, conn, 1)
        assert sender.resent == 0
    async with amqp.open_connection(broker.url, timeout=10) as direct:
        got = await drain(await (await direct.open_session()).open_receiver(q, credit=50))
    assert got == [b"before"] + [b"m%d" % i for i in range(10)]


@case
async def messages_settled_during_the_outage_are_settled_once_it_is_over(
        amqp: Any, proxy: FaultProxy, _: RunningBroker) -> None:
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn:
        sender, receiver = await _linked(amqp, conn, q, 5)
        for i in range(5):
            await sender.send(numbered(i))
        held = [await receiver.receive(timeout=5) for _ in range(5)]
        proxy.refuse_new(True)
        proxy.cut()
        await until(amqp, lambda: conn.state == "reconnecting")
        done: list[str] = []
        hows = ["accept", "accept", "release", "accept", "reject"]

        def settling(msg: Any, how: str) -> Callable[[], Awaitable[None]]:
            async def settle() -> None:
                await getattr(msg, how)(timeout=10)
                done.append(how)
            return settle

        async def heal() -> None:
            await sleep(amqp, 0.3)
            # rcv-settle-mode second: each waits for the broker's settlement.
            assert not done and conn.state == "reconnecting"
            proxy.refuse_new(False)

        await together(amqp, heal, *(settling(m, h) for m, h in zip(held, hows)))
        assert sorted(done) == sorted(hows)
        await sender.send(Message(b"marker"))
        # The released one comes again (its outcome said so); the rest were settled once.
        assert await drain(receiver) == [b"m2", b"marker"]


@case
async def streaming_through_faults_neither_loses_nor_duplicates(
        amqp: Any, proxy: FaultProxy, _: RunningBroker) -> None:
    n, faults = 300, ("cut", "reset", "cut_mid_frame")
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30) as conn:
        sender, receiver = await _linked(amqp, conn, q, 20)
        outcomes: list[object] = []
        got: list[bytes] = []

        async def produce() -> None:
            handles = [await sender.send_nowait(numbered(i), timeout=30) for i in range(n)]
            outcomes.extend([await sender.wait_settled(h, timeout=30) for h in handles])

        async def consume() -> None:
            at = {n * (k + 1) // (len(faults) + 1): f for k, f in enumerate(faults)}
            while len(got) < n:
                msg = await receiver.receive(timeout=30)
                await msg.accept(timeout=30)
                got.append(msg.body)
                if (fault := at.pop(len(got), None)) is not None:
                    getattr(proxy, fault)()  # (cut_mid_frame waits for the next chunk to us)

        await together(amqp, produce, consume)
        assert len(outcomes) == n and all(isinstance(o, Accepted) for o in outcomes)
        assert sorted(got) == sorted(b"m%d" % i for i in range(n))  # none lost, none twice
        assert conn.reconnects == len(faults)
        assert await drain(receiver) == []


@case
async def a_blackholed_link_is_resumed_while_the_broker_still_holds_it(
        amqp: Any, proxy: FaultProxy, _: RunningBroker) -> None:
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=10,
                                    idle_timeout=0.5) as conn:
        sender, receiver = await _linked(amqp, conn, q, 10)
        for i in range(10):
            await sender.send(numbered(i))
        held = [await receiver.receive(timeout=5) for _ in range(10)]
        proxy.blackhole()
        await back_again(amqp, conn, 1)
        for msg in held:
            await msg.accept(timeout=5)
        await sender.send(Message(b"marker"))
        assert await drain(receiver) == [b"marker"]
