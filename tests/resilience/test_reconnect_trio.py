"""The trio adapter survives lost transports (issue 9): cut, reset, blackhole, a broker
restart; what it resends, what it reports, when it gives up, and that reconnecting stays
inside the connection's nursery (a cancel scope still cancels a wait; leaving the block
ends every task).

The embedded broker sits behind tests/faultproxy.py, which breaks the TCP connection
the way a network or a dying node does; every count is made by the test. The stories
are those of test_reconnect_sync.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

import pytest
import trio

import amqp10_trio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError, SettlementLost

from ..faultproxy import FaultProxy
from .test_reconnect_sync import FAST, broker, numbered, proxy, queue

__all__ = ["broker", "proxy"]  # fixtures shared with the blocking adapter's stories

GUARD = 60  # a hang guard for each story, far above what any of them takes


async def wait_for(pred: Callable[[], object], timeout: float = 10.0) -> None:
    with trio.fail_after(timeout):
        while not pred():
            await trio.sleep(0.01)


def run(main: Callable[..., Awaitable[None]], *args: object) -> None:
    """``trio.run(main, *args)`` under a hang guard."""
    async def guarded() -> None:
        with trio.fail_after(GUARD):
            await main(*args)

    trio.run(guarded)


def adapter_tasks() -> list[str]:
    """The names of the live tasks that belong to amqp10_trio (none once a block is left)."""
    names: list[str] = []
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        if "amqp10" in task.name:
            names.append(task.name)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return names


@pytest.mark.parametrize("fault", ["cut", "reset", "cut_mid_frame"])
def test_a_broken_transport_mid_stream_loses_no_accepted_message(
        proxy: FaultProxy, fault: str) -> None:
    """Two faults while a sender and a receiver stream 300 messages: every message whose
    send returned Accepted arrives; duplicates only among those in doubt at a fault."""
    n = 300
    q = queue()
    accepted: list[int] = []

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=20)

            async def produce() -> None:
                for i in range(n):
                    await sender.send(numbered(i), timeout=30)
                    accepted.append(i)

            got: list[str] = []
            faults = {60: fault, 180: fault}
            lost_settlements = 0
            async with trio.open_nursery() as nursery:
                nursery.start_soon(produce)
                while len(set(got)) < n:
                    msg = await receiver.receive(timeout=30)
                    try:
                        await msg.accept()
                    except SettlementLost:
                        lost_settlements += 1  # the broker delivers it again
                    got.append(str(msg.properties.message_id))
                    if (what := faults.pop(len(got), None)) is not None:
                        getattr(proxy, what)()
            assert accepted == list(range(n))
            assert set(got) == {f"m{i}" for i in range(n)}
            assert conn.reconnects == 2 and conn.state == "open"
            duplicates = len(got) - len(set(got))
            # Each duplicate was in doubt at a fault: unsettled at the receiver, or resent.
            assert duplicates <= 2 * 20 + sender.resent + lost_settlements
            assert conn.resent == sender.resent

    run(main)
    assert proxy.stats().accepted == 3


def test_pipelined_sends_in_doubt_are_resent_and_their_outcomes_arrive(
        proxy: FaultProxy) -> None:
    """send_nowait keeps many transfers in flight: those without an outcome at a reset go
    again first, in order, and wait_settled on the application's delivery returns the
    resend's outcome; nothing accepted is lost."""
    n = 600
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=30) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=50)
            got: list[str] = []

            async def consume() -> None:
                while len(set(got)) < n:
                    msg = await receiver.receive(timeout=30)
                    with contextlib.suppress(SettlementLost):
                        await msg.accept()
                    got.append(str(msg.properties.message_id))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(consume)
                deliveries = []
                for i in range(n):
                    deliveries.append(await sender.send_nowait(numbered(i)))
                    if i == 150:
                        proxy.reset()  # the sends after it go on during the outage
                    elif i == 400:
                        await wait_for(lambda: conn.reconnects == 1)
                        proxy.reset()
                outcomes = [await sender.wait_settled(d) for d in deliveries]
            assert {type(o).__name__ for o in outcomes} == {"Accepted"}
            assert set(got) == {f"m{i}" for i in range(n)}
            assert conn.reconnects == 2 and sender.resent > 0
            assert len(got) - len(set(got)) <= sender.resent + 2 * 50

    run(main)


def test_calls_made_during_the_outage_wait_and_then_proceed(proxy: FaultProxy) -> None:
    q = queue()
    seen: list[tuple[str, amqp.ReconnectInfo]] = []
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.1,
                            on_disconnect=lambda i: seen.append(("down", i)),
                            on_reconnect=lambda i: seen.append(("up", i)))

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=10)
            proxy.refuse_new(True)
            proxy.cut()
            await wait_for(lambda: conn.state == "reconnecting")
            result: list[object] = []
            sessions: list[object] = []

            async def send() -> None:
                result.append(await sender.send(Message(b"during"), timeout=20))

            async def begin() -> None:
                sessions.append(await conn.open_session(timeout=20))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send)
                nursery.start_soon(begin)
                await trio.sleep(0.5)
                assert conn.state == "reconnecting" and not result and not sessions
                assert not conn.closed
                proxy.refuse_new(False)
            assert result and type(result[0]).__name__ == "Accepted"
            assert sessions and not sessions[0].ended  # type: ignore[attr-defined]
            assert (await receiver.receive(timeout=10)).body == b"during"
            assert str(conn.state) == "open" and conn.reconnects == 1
            assert conn.url == proxy.url

    run(main)
    assert [kind for kind, _ in seen] == ["down", "up"]
    down, up = seen[0][1], seen[1][1]
    assert down.url == proxy.url and down.cause is not None
    assert up.attempts >= 2 and up.downtime >= 0.5  # refused at least once


def test_a_wait_during_the_outage_is_cancelled_at_once_by_its_scope(proxy: FaultProxy) -> None:
    """Reconnecting runs in the connection's own (shielded) nursery: the caller's cancel
    scope still cancels its wait at once, and the connection comes back all the same."""
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(q, credit=10)
            proxy.refuse_new(True)
            proxy.cut()
            await wait_for(lambda: conn.state == "reconnecting")
            with trio.CancelScope() as scope:
                scope.deadline = trio.current_time() + 0.2
                t0 = trio.current_time()
                await receiver.receive(timeout=20)
            assert scope.cancelled_caught
            assert trio.current_time() - t0 < 1.0
            assert conn.state == "reconnecting"
            proxy.refuse_new(False)
            await wait_for(lambda: conn.reconnects == 1)
            sender = await session.open_sender(q)
            await sender.send(Message(b"after"))
            assert (await receiver.receive(timeout=10)).body == b"after"

    run(main)


def test_a_blackholed_transport_is_found_by_the_idle_timeout_and_replaced() -> None:
    """Nothing closes: we find the silence (2.4.5) and reconnect. The broker finds it too
    (its own idle timeout) and gives back what it had sent the dead consumer."""
    q = queue()

    async def main(proxy: FaultProxy) -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, idle_timeout=0.5,
                                        timeout=20) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=10)
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

    with start_broker(allow_anonymous=True, idle_timeout=1) as broker, \
            FaultProxy(broker.port) as proxy:
        run(main, proxy)


def test_an_unsettled_message_from_the_lost_link_cannot_be_settled_and_comes_back(
        proxy: FaultProxy) -> None:
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            await (await session.open_sender(q)).send(Message(b"once"))
            receiver = await session.open_receiver(q, credit=10)
            first = await receiver.receive(timeout=10)
            proxy.cut()
            await wait_for(lambda: conn.reconnects == 1)
            with pytest.raises(SettlementLost, match="deliver it again"):
                await first.accept()
            again = await receiver.receive(timeout=10)
            assert again.body == b"once"
            await again.accept()

    run(main)


def test_a_dynamic_receiver_gets_a_new_node_whose_address_it_shows(proxy: FaultProxy) -> None:
    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver(None, dynamic=True)
            before = receiver.address
            assert before
            proxy.cut()
            await wait_for(lambda: conn.reconnects == 1)
            after = receiver.address
            assert after and after != before
            await (await session.open_sender(after)).send(Message(b"to the new node"))
            assert (await receiver.receive(timeout=10)).body == b"to the new node"

    run(main)


def test_the_policy_gives_up_and_every_wait_fails_with_the_last_cause(
        proxy: FaultProxy) -> None:
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=3)

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
            receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
            proxy.refuse_new(True)
            proxy.cut()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError,
                               match=r"not recovered after 3 attempt\(s\)") as info:
                await receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 10  # a hang guard: 3 quick tries
            assert "refused" in str(info.value).lower()
            assert conn.state == "closed" and conn.closed
            with pytest.raises(ConnectionClosedError, match="not recovered"):
                await conn.open_session()
            await conn.wait_closed()
        assert adapter_tasks() == []

    run(main)


def test_a_broker_restart_on_the_same_port_brings_the_links_back() -> None:
    q = queue()

    async def main() -> None:
        first = await trio.to_thread.run_sync(lambda: start_broker(allow_anonymous=True))
        port = first.port
        async with amqp.open_connection(first.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=10)
            await sender.send(Message(b"one"))
            await (await receiver.receive(timeout=10)).accept()
            await trio.to_thread.run_sync(first.stop)
            await wait_for(lambda: conn.state == "reconnecting")
            second = await trio.to_thread.run_sync(
                lambda: start_broker(port=port, allow_anonymous=True))
            try:
                await sender.send(Message(b"two"), timeout=20)
                assert (await receiver.receive(timeout=10)).body == b"two"
                assert conn.reconnects == 1
            finally:
                await trio.to_thread.run_sync(second.stop)

    run(main)


def test_leaving_the_block_while_reconnecting_ends_it_at_once(proxy: FaultProxy) -> None:
    async def main() -> None:
        conn = amqp.open_connection(proxy.url, timeout=20,
                                    reconnect=amqp.Reconnect(initial_delay=5, max_delay=5))
        async with conn:
            receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
            proxy.refuse_new(True)
            proxy.cut()
            await wait_for(lambda: conn.state == "reconnecting")
            await trio.sleep(0.1)  # into the 5 s pause before the second try
            assert adapter_tasks()  # the connection's task, sleeping until its next try
            t0 = trio.current_time()
        assert trio.current_time() - t0 < 1
        assert conn.state == "closed"
        assert adapter_tasks() == []
        with pytest.raises(ConnectionClosedError):
            await receiver.receive(timeout=1)

    run(main)


def test_a_failover_list_is_tried_in_order_at_first(broker: RunningBroker) -> None:
    async def main(dead: FaultProxy, live: FaultProxy) -> None:
        async with amqp.open_connection([dead.url, live.url], timeout=10) as conn:
            assert conn.url == live.url
            await (await (await conn.open_session()).open_sender(queue())).send(Message(b"x"))
        with pytest.raises(OSError):
            async with amqp.open_connection([dead.url, dead.url], connect_timeout=2):
                pass

    with FaultProxy(broker.port) as dead, FaultProxy(broker.port) as live:
        dead.refuse_new(True)
        run(main, dead, live)


@pytest.mark.parametrize("later", [False, True], ids=["answering-open", "later"])
def test_a_redirect_is_followed_to_the_host_and_port_it_names(
        broker: RunningBroker, later: bool) -> None:
    """2.8.15: the peer closes with amqp:connection:redirect, in answer to our open (the
    first connect follows it) or once a session is begun (a reconnect goes there)."""
    from amqp10_proto import Error, Symbol
    from amqp10_proto.performatives import Close
    from tests.hostile.servers import Closed, HostileServer, RawPeer, frame

    def redirect(peer: RawPeer) -> None:
        peer.handshake()
        if later:
            peer.begin()
        info = {Symbol("network-host"): "127.0.0.1", Symbol("port"): broker.port}
        peer.send(frame(0, Close(error=Error(condition=Symbol("amqp:connection:redirect"),
                                             description="go there", info=info))))
        with contextlib.suppress(Closed):
            while not peer.stopping:
                peer.read_some(0.1)

    server = HostileServer(redirect)
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(server.url, sasl=None, reconnect=FAST,
                                        timeout=20) as conn:
            session = await conn.open_session()
            if later:
                await wait_for(lambda: conn.reconnects == 1)
            assert conn.url == broker.url and conn.reconnects == int(later)
            sender = await session.open_sender(q)
            receiver = await session.open_receiver(q, credit=1)
            await sender.send(Message(b"there"))
            assert (await receiver.receive(timeout=10)).body == b"there"
        assert adapter_tasks() == []

    try:
        run(main)
    finally:
        server.close()
