"""The reconnect stories (issue 9) the two async adapters share, written once.

amqp10_asyncio and amqp10_trio share one API, so each story is an async function of the
adapter's module (``amqp``), a fault proxy in front of the embedded broker, and that
broker; test_reconnect_asyncio and test_reconnect_trio run every one on their own event
loop (and check that nothing of the adapter is left running), next to the stories only
one of them has (cancellation, tasks). test_reconnect_sync tells them in the blocking API.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Error, Message, Symbol
from amqp10_proto.errors import SettlementLost
from amqp10_proto.performatives import Close, Open
from tests.hostile.servers import Closed, HostileServer, RawPeer, frame

from ..faultproxy import FaultProxy
from .loops import in_thread, sleep, together, until
from .test_reconnect_sync import (
    FAST,
    MID_STREAM_FAULTS,
    apply_fault,
    idle_timeout,
    numbered,
    queue,
)

__all__ = ["CASES", "Case"]

Case = Callable[[Any, FaultProxy, RunningBroker], Awaitable[None]]
CASES: list[Case] = []


def case(fn: Case) -> Case:
    CASES.append(fn)
    return fn


async def _sender_and_receiver(conn: Any, q: str, credit: int) -> tuple[Any, Any]:
    """A session on ``conn`` with a sender to ``q`` and a receiver from it."""
    session = await conn.open_session()
    return await session.open_sender(q), await session.open_receiver(q, credit=credit)


def _mid_stream(fault: str) -> Case:
    async def story(amqp: Any, proxy: FaultProxy, *_: Any) -> None:
        """Two faults while a sender and a receiver stream 300 messages: every message
        whose send returned Accepted arrives; duplicates only among those in doubt."""
        n = 300
        q = queue()
        accepted: list[int] = []
        got: list[str] = []
        lost_settlements = 0
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30,
                                        idle_timeout=idle_timeout(fault)) as conn:
            sender, receiver = await _sender_and_receiver(conn, q, 20)

            async def produce() -> None:
                for i in range(n):
                    await sender.send(numbered(i), timeout=30)
                    accepted.append(i)

            async def consume() -> None:
                nonlocal lost_settlements
                faults = {60: fault, 180: fault}
                while len(set(got)) < n:
                    msg = await receiver.receive(timeout=30)
                    try:
                        await msg.accept()
                    except SettlementLost:
                        lost_settlements += 1  # the broker delivers it again
                    got.append(str(msg.properties.message_id))
                    if (what := faults.pop(len(got), None)) is not None:
                        apply_fault(proxy, what)

            await together(amqp, produce, consume)
            assert accepted == list(range(n))
            assert set(got) == {f"m{i}" for i in range(n)}
            assert conn.reconnects == 2 and conn.state == "open"
            duplicates = len(got) - len(set(got))
            # Each duplicate was in doubt at a fault: unsettled at the receiver, or resent.
            assert duplicates <= 2 * 20 + sender.resent + lost_settlements
            assert conn.resent == sender.resent
        assert proxy.stats().accepted == 3

    story.__name__ = f"a_stream_through_{fault}_loses_no_accepted_message"
    return story


for _fault in MID_STREAM_FAULTS:
    case(_mid_stream(_fault))


@case
async def calls_made_during_the_outage_wait_and_then_proceed(
        amqp: Any, proxy: FaultProxy, *_: Any) -> None:
    q = queue()
    seen: list[tuple[str, Any]] = []
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.1,
                            on_disconnect=lambda i: seen.append(("down", i)),
                            on_reconnect=lambda i: seen.append(("up", i)))
    async with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
        sender, receiver = await _sender_and_receiver(conn, q, 10)
        proxy.refuse_new(True)
        proxy.cut()
        await until(amqp, lambda: conn.state == "reconnecting")
        done: dict[str, Any] = {}

        async def send() -> None:
            done["send"] = await sender.send(Message(b"during"), timeout=20)

        async def begin() -> None:
            done["session"] = await conn.open_session(timeout=20)

        async def heal() -> None:
            await sleep(amqp, 0.5)
            assert conn.state == "reconnecting" and not done and not conn.closed
            proxy.refuse_new(False)

        await together(amqp, send, begin, heal)
        assert type(done["send"]).__name__ == "Accepted"
        assert not done["session"].ended  # begun on the new transport
        assert (await receiver.receive(timeout=10)).body == b"during"
        assert str(conn.state) == "open" and conn.reconnects == 1
        assert conn.url == proxy.url
    assert [kind for kind, _ in seen] == ["down", "up"]
    down, up = seen[0][1], seen[1][1]
    assert down.url == proxy.url and down.cause is not None
    assert up.attempts >= 2 and up.downtime >= 0.5  # refused at least once


@case
async def a_blackholed_transport_is_found_by_the_idle_timeout_and_replaced(
        amqp: Any, *_: Any) -> None:
    """Nothing closes: we find the silence (2.4.5) and reconnect. The broker finds it too
    (its own idle timeout) and gives back what it had sent the dead consumer."""
    q = queue()
    broker = await in_thread(amqp, lambda: start_broker(allow_anonymous=True, idle_timeout=1))
    try:
        with FaultProxy(broker.port) as proxy:
            async with amqp.open_connection(proxy.url, reconnect=FAST, idle_timeout=0.5,
                                            timeout=20) as conn:
                sender, receiver = await _sender_and_receiver(conn, q, 10)
                await sender.send(Message(b"before"))
                await (await receiver.receive(timeout=10)).accept()
                proxy.blackhole()
                t0 = time.monotonic()
                await sender.send(Message(b"after"), timeout=20)  # waits out the silence
                assert time.monotonic() - t0 >= 0.5
                assert conn.reconnects == 1
                # Our accept of "before" went into the hole: the broker gives it back too.
                bodies = [(await receiver.receive(timeout=10)).body]
                while bodies[-1] != b"after":
                    bodies.append((await receiver.receive(timeout=10)).body)
                assert bodies in ([b"after"], [b"before", b"after"])
    finally:
        await in_thread(amqp, broker.stop)


@case
async def an_unsettled_message_from_the_lost_link_cannot_be_settled_and_comes_back(
        amqp: Any, proxy: FaultProxy, *_: Any) -> None:
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
        session = await conn.open_session()
        await (await session.open_sender(q)).send(Message(b"once"))
        receiver = await session.open_receiver(q, credit=10)
        first = await receiver.receive(timeout=10)
        proxy.cut()
        await until(amqp, lambda: conn.reconnects == 1)
        with pytest.raises(SettlementLost, match="deliver it again"):
            await first.accept()
        again = await receiver.receive(timeout=10)
        assert again.body == b"once"
        await again.accept()


@case
async def a_dynamic_receiver_gets_a_new_node_whose_address_it_shows(
        amqp: Any, proxy: FaultProxy, *_: Any) -> None:
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
        session = await conn.open_session()
        receiver = await session.open_receiver(None, dynamic=True)
        before = receiver.address
        assert before
        proxy.cut()
        await until(amqp, lambda: conn.reconnects == 1)
        after = receiver.address
        assert after and after != before
        await (await session.open_sender(after)).send(Message(b"to the new node"))
        assert (await receiver.receive(timeout=10)).body == b"to the new node"


@case
async def a_broker_restart_on_the_same_port_brings_the_links_back(
        amqp: Any, *_: Any) -> None:
    q = queue()
    first = await in_thread(amqp, lambda: start_broker(allow_anonymous=True))
    second: RunningBroker | None = None
    try:
        async with amqp.open_connection(first.url, reconnect=FAST, timeout=20) as conn:
            sender, receiver = await _sender_and_receiver(conn, q, 10)
            await sender.send(Message(b"one"))
            await (await receiver.receive(timeout=10)).accept()
            await in_thread(amqp, first.stop)
            await until(amqp, lambda: conn.state == "reconnecting")
            second = await in_thread(
                amqp, lambda: start_broker(port=first.port, allow_anonymous=True))
            await sender.send(Message(b"two"), timeout=20)
            assert (await receiver.receive(timeout=10)).body == b"two"
            assert conn.reconnects == 1
    finally:
        await in_thread(amqp, first.stop)
        if second is not None:
            await in_thread(amqp, second.stop)


@case
async def a_failover_list_is_tried_in_order_at_first(
        amqp: Any, _: FaultProxy, broker: RunningBroker) -> None:
    with FaultProxy(broker.port) as dead, FaultProxy(broker.port) as live:
        dead.refuse_new(True)
        async with amqp.open_connection([dead.url, live.url], timeout=10) as conn:
            assert conn.url == live.url
            await (await (await conn.open_session()).open_sender(queue())).send(Message(b"x"))
        with pytest.raises(OSError):
            async with amqp.open_connection([dead.url, dead.url], connect_timeout=2):
                pass


@case
async def links_and_sessions_closed_for_ever_are_not_kept_to_replay(
        amqp: Any, proxy: FaultProxy, *_: Any) -> None:
    """What a reconnect attaches again is what is open: an application that opens and
    closes a sender per message keeps no closed one (memory stays bounded)."""
    q = queue()
    async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
        session = await conn.open_session()
        for i in range(200):
            async with session.open_sender(q) as sender:
                await sender.send(numbered(i))
        for _n in range(50):
            async with conn.open_session():
                pass
        receiver = await session.open_receiver(q, credit=10)
        assert session._links == [receiver] and conn._sessions == [session]
        proxy.cut()
        await until(amqp, lambda: conn.reconnects == 1)
        assert session._links == [receiver] and conn._sessions == [session]
        got = [(await receiver.receive(timeout=10)) for _ in range(200)]
        assert {m.body for m in got} == {b"m%d" % i for i in range(200)}


@case
async def a_try_whose_peer_never_answers_the_open_fails_after_connect_timeout(
        amqp: Any, proxy: FaultProxy, *_: Any) -> None:
    """The failover list's second URL accepts TCP and says nothing: that try ends after
    connect_timeout and the next goes round to the first URL, which is back."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent_url = f"amqp://127.0.0.1:{silent.getsockname()[1]}"
        async with amqp.open_connection([proxy.url, silent_url], reconnect=FAST,
                                        connect_timeout=0.5, timeout=20) as conn:
            sender = await (await conn.open_session()).open_sender(queue())
            proxy.cut()
            await until(amqp, lambda: conn.url == silent_url)
            t0 = time.monotonic()
            await sender.send(Message(b"after"), timeout=20)
            assert time.monotonic() - t0 >= 0.4  # the silent try's connect_timeout
            assert conn.reconnects == 1 and conn.url == proxy.url
        silent.settimeout(1)
        accepted, _ = silent.accept()  # the try reached it (and was given up on)
        accepted.close()


def _redirect(later: bool) -> Case:
    async def story(amqp: Any, _: FaultProxy, broker: RunningBroker) -> None:
        """2.8.15: the peer closes with amqp:connection:redirect, in answer to our open
        (the first connect follows it) or once a session is begun (a reconnect goes where
        its info says, and the session is begun again there)."""
        def redirect(peer: RawPeer) -> None:
            # In answer to our open: the peer's open and close in one write, so that the
            # client reads them together (2.8.15: an open, then at once the redirect).
            peer.handshake(open_=later)
            opening = b"" if later else frame(0, Open(container_id="hostile"))
            if later:
                peer.begin()
            info = {Symbol("network-host"): "127.0.0.1", Symbol("port"): broker.port}
            peer.send(opening + frame(0, Close(error=Error(
                condition=Symbol("amqp:connection:redirect"), description="go there",
                info=info))))
            with contextlib.suppress(Closed):
                while not peer.stopping:
                    peer.read_some(0.1)

        server = HostileServer(redirect)
        q = queue()
        try:
            async with amqp.open_connection(server.url, sasl=None, reconnect=FAST,
                                            timeout=20) as conn:
                session = await conn.open_session()
                if later:
                    await until(amqp, lambda: conn.reconnects == 1)
                assert conn.url == broker.url and conn.reconnects == int(later)
                sender = await session.open_sender(q)
                receiver = await session.open_receiver(q, credit=1)
                await sender.send(Message(b"there"))
                assert (await receiver.receive(timeout=10)).body == b"there"
        finally:
            server.close()

    story.__name__ = f"a_redirect_{'once_begun' if later else 'answering_open'}_is_followed"
    return story


for _later in (False, True):
    case(_redirect(_later))
