"""The asyncio adapter survives lost transports (issue 9): cut, reset, blackhole, a
broker restart; what it resends, what it reports, when it gives up, and that it
leaves no task behind.

The stories of test_reconnect_sync.py, told on an event loop. The embedded broker
sits behind tests/faultproxy.py, which breaks the TCP connection the way a network
or a dying node does; every count is made by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import amqp10_asyncio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Error, Message, Symbol
from amqp10_proto.errors import ConnectionClosedError, SettlementLost
from amqp10_proto.performatives import Close
from tests.asyncio_.helpers import no_other_tasks, run
from tests.asyncio_.test_asyncio_tls import cert
from tests.hostile.servers import Closed, HostileServer, RawPeer, frame

from ..faultproxy import FaultProxy
from .test_reconnect_sync import FAST, broker, numbered, proxy, queue

__all__ = ["broker", "cert", "proxy"]  # fixtures shared with other modules' stories


async def wait_for(pred: Callable[[], object], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


async def sender_and_receiver(conn: amqp.Connection, q: str,
                              credit: int) -> tuple[amqp.Sender, amqp.Receiver]:
    """A session on ``conn`` with a sender to ``q`` and a receiver from it."""
    session = await conn.open_session()
    return await session.open_sender(q), await session.open_receiver(q, credit=credit)


async def go_down(proxy: FaultProxy, conn: amqp.Connection) -> None:
    """The broker goes away and stays away (new connections refused) until
    ``proxy.refuse_new(False)``; returns once the connection is reconnecting."""
    proxy.refuse_new(True)
    proxy.cut()
    await wait_for(lambda: conn.state == "reconnecting")


async def in_thread(fn: Callable[[], object]) -> object:
    """Run a blocking call (a broker's start or stop) off the loop, which must keep
    serving the connection meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(None, fn)


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
            sender, receiver = await sender_and_receiver(conn, q, 20)

            async def produce() -> None:
                for i in range(n):
                    await sender.send(numbered(i), timeout=30)
                    accepted.append(i)

            producer = asyncio.create_task(produce())
            got: list[str] = []
            faults = {60: fault, 180: fault}
            lost_settlements = 0
            while len(set(got)) < n:
                msg = await receiver.receive(timeout=30)
                try:
                    await msg.accept()
                except SettlementLost:
                    lost_settlements += 1  # the broker delivers it again
                got.append(str(msg.properties.message_id))
                if (what := faults.pop(len(got), None)) is not None:
                    getattr(proxy, what)()
            await asyncio.wait_for(producer, 30)
            assert accepted == list(range(n))
            assert set(got) == {f"m{i}" for i in range(n)}
            assert conn.reconnects == 2 and conn.state == "open"
            duplicates = len(got) - len(set(got))
            # Each duplicate was in doubt at a fault: unsettled at the receiver, or resent.
            assert duplicates <= 2 * 20 + sender.resent + lost_settlements
            assert conn.resent == sender.resent
        assert await no_other_tasks()

    run(main(), timeout=90)
    assert proxy.stats().accepted == 3


def test_calls_made_during_the_outage_wait_and_then_proceed(proxy: FaultProxy) -> None:
    q = queue()
    seen: list[tuple[str, amqp.ReconnectInfo]] = []
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.1,
                            on_disconnect=lambda i: seen.append(("down", i)),
                            on_reconnect=lambda i: seen.append(("up", i)))

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=policy, timeout=20) as conn:
            sender, receiver = await sender_and_receiver(conn, q, 10)
            await go_down(proxy, conn)
            send = asyncio.create_task(sender.send(Message(b"during"), timeout=20))
            opening = asyncio.ensure_future(conn.open_session(timeout=20))
            await asyncio.sleep(0.5)
            assert conn.state == "reconnecting" and not send.done() and not opening.done()
            assert not conn.closed
            proxy.refuse_new(False)
            assert type(await asyncio.wait_for(send, 20)).__name__ == "Accepted"
            assert (await receiver.receive(timeout=10)).body == b"during"
            later = await asyncio.wait_for(opening, 20)  # begun on the new transport
            assert not later.ended
            assert str(conn.state) == "open" and conn.reconnects == 1
            assert [kind for kind, _ in seen] == ["down", "up"]
            down, up = seen[0][1], seen[1][1]
            assert down.url == proxy.url and down.cause is not None
            assert up.attempts >= 2 and up.downtime >= 0.5  # refused at least once
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_a_blackholed_transport_is_found_by_the_idle_timeout_and_replaced() -> None:
    """Nothing closes: we find the silence (2.4.5) and reconnect. The broker finds it too
    (its own idle timeout) and gives back what it had sent the dead consumer."""
    q = queue()

    async def main(proxy: FaultProxy) -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, idle_timeout=0.5,
                                        timeout=20) as conn:
            sender, receiver = await sender_and_receiver(conn, q, 10)
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
        assert await no_other_tasks()

    with start_broker(allow_anonymous=True, idle_timeout=1) as broker, \
            FaultProxy(broker.port) as proxy:
        run(main(proxy), timeout=60)


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

    run(main(), timeout=60)


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

    run(main(), timeout=60)


def test_the_policy_gives_up_and_every_wait_fails_with_the_last_cause(
        proxy: FaultProxy) -> None:
    policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=3)

    async def main() -> None:
        conn = await amqp.open_connection(proxy.url, reconnect=policy, timeout=20)
        try:
            receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
            closing = asyncio.ensure_future(conn.wait_closed())
            proxy.refuse_new(True)
            proxy.cut()
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosedError,
                               match=r"not recovered after 3 attempt\(s\)") as info:
                await receiver.receive(timeout=20)
            assert time.monotonic() - t0 < 10  # a hang guard: 3 quick tries
            await asyncio.wait_for(closing, 1)  # waited through the tries, not past them
            assert "refused" in str(info.value).lower()
            assert conn.state == "closed" and conn.closed
            assert receiver.detached and receiver.session.ended  # over for good
            assert await no_other_tasks()  # the reconnect task ended with the episode
            with pytest.raises(ConnectionClosedError, match="not recovered"):
                await conn.open_session()
        finally:
            await conn.close(timeout=2)
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_a_broker_restart_on_the_same_port_brings_the_links_back() -> None:
    q = queue()

    async def main() -> None:
        first = start_broker(allow_anonymous=True)
        port = first.port
        conn = await amqp.open_connection(first.url, reconnect=FAST, timeout=20)
        try:
            sender, receiver = await sender_and_receiver(conn, q, 10)
            await sender.send(Message(b"one"))
            await (await receiver.receive(timeout=10)).accept()
            await in_thread(first.stop)
            await wait_for(lambda: conn.state == "reconnecting")
            second = await in_thread(lambda: start_broker(port=port, allow_anonymous=True))
            assert isinstance(second, RunningBroker)
            try:
                await sender.send(Message(b"two"), timeout=20)
                assert (await receiver.receive(timeout=10)).body == b"two"
                assert conn.reconnects == 1
            finally:
                await conn.close(timeout=2)
                await in_thread(second.stop)
        finally:
            await conn.close(timeout=2)
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_closing_while_reconnecting_ends_it_at_once(proxy: FaultProxy) -> None:
    async def main() -> None:
        conn = await amqp.open_connection(
            proxy.url, reconnect=amqp.Reconnect(initial_delay=5, max_delay=5), timeout=20)
        receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
        waiting = asyncio.create_task(receiver.receive(timeout=20))
        await go_down(proxy, conn)
        await asyncio.sleep(0.2)  # the first try was refused: the loop sleeps 5 s now
        assert conn._task is not None and not conn._task.done()
        t0 = time.monotonic()
        await conn.close(timeout=5)
        assert time.monotonic() - t0 < 2
        assert conn.state == "closed" and conn._task is None
        assert receiver.detached and receiver.session.ended
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(waiting, 2)
        with pytest.raises(ConnectionClosedError):
            await receiver.receive(timeout=1)
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_a_failover_list_is_tried_in_order_at_first(broker: RunningBroker) -> None:
    async def main(dead: FaultProxy, live: FaultProxy) -> None:
        dead.refuse_new(True)
        async with amqp.open_connection([dead.url, live.url], timeout=10) as conn:
            assert conn.url == live.url
            await (await (await conn.open_session()).open_sender(queue())).send(Message(b"x"))
        with pytest.raises(OSError):
            await amqp.open_connection([dead.url, dead.url], connect_timeout=2)
        assert await no_other_tasks()

    with FaultProxy(broker.port) as dead, FaultProxy(broker.port) as live:
        run(main(dead, live), timeout=60)


def test_a_connection_over_a_given_socket_does_not_reconnect(proxy: FaultProxy) -> None:
    async def main() -> None:
        sock = socket.create_connection(("127.0.0.1", proxy.port))
        conn = await amqp.connect(sock, timeout=10)
        receiver = await (await conn.open_session()).open_receiver(queue(), credit=5)
        proxy.cut()
        with pytest.raises(ConnectionClosedError):
            await receiver.receive(timeout=10)
        assert conn.state == "closed" and conn.reconnects == 0 and conn.url is None
        await conn.close(timeout=1)
        assert await no_other_tasks()

    run(main(), timeout=30)


def test_amqps_reconnects_with_tls_on_each_new_transport(cert: tuple[Path, Path]) -> None:
    """The TLS handshake is made again, with the URL's host checked, on the new transport."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(cert[1]), str(cert[0]))
    q = queue()

    async def main(proxy: FaultProxy) -> None:
        ctx = ssl.create_default_context(cafile=str(cert[1]))
        async with amqp.open_connection(f"amqps://localhost:{proxy.port}", ssl_context=ctx,
                                        reconnect=FAST, timeout=20) as conn:
            sender, receiver = await sender_and_receiver(conn, q, 10)
            await sender.send(Message(b"before"))
            proxy.reset()
            await wait_for(lambda: conn.reconnects == 1)
            await sender.send(Message(b"after"))
            bodies = {(await receiver.receive(timeout=10)).body for _ in range(2)}
            assert bodies == {b"before", b"after"}
            assert conn.url == f"amqps://localhost:{proxy.port}"
        assert await no_other_tasks()

    with start_broker(allow_anonymous=True, ssl_context=server) as broker, \
            FaultProxy(broker.port) as proxy:
        run(main(proxy), timeout=60)
    assert proxy.stats().accepted == 2


def test_links_and_sessions_closed_for_ever_are_not_kept_to_replay(proxy: FaultProxy) -> None:
    """What a reconnect attaches again is what is open: an application that opens and
    closes a sender per message keeps no closed one (memory stays bounded)."""
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            session = await conn.open_session()
            for i in range(200):
                async with session.open_sender(q) as sender:
                    await sender.send(numbered(i))
            for _ in range(50):
                async with conn.open_session():
                    pass
            receiver = await session.open_receiver(q, credit=10)
            assert session._links == [receiver] and conn._sessions == [session]
            proxy.cut()
            await wait_for(lambda: conn.reconnects == 1)
            assert session._links == [receiver] and conn._sessions == [session]
            got = [(await receiver.receive(timeout=10)) for _ in range(200)]
            assert {m.body for m in got} == {b"m%d" % i for i in range(200)}

    run(main(), timeout=60)


def test_a_try_whose_peer_never_answers_the_open_fails_after_connect_timeout(
        proxy: FaultProxy) -> None:
    """The failover list's second URL accepts TCP and says nothing: that try ends after
    connect_timeout and the next goes round to the first URL, which is back."""
    silent = socket.create_server(("127.0.0.1", 0))
    silent_url = f"amqp://127.0.0.1:{silent.getsockname()[1]}"
    q = queue()

    async def main() -> None:
        async with amqp.open_connection([proxy.url, silent_url], reconnect=FAST,
                                        connect_timeout=0.5, timeout=20) as conn:
            sender = await (await conn.open_session()).open_sender(q)
            proxy.cut()
            await wait_for(lambda: conn.url == silent_url)
            t0 = time.monotonic()
            await sender.send(Message(b"after"), timeout=20)
            assert time.monotonic() - t0 >= 0.4  # the silent try's connect_timeout
            assert conn.reconnects == 1 and conn.url == proxy.url
        assert await no_other_tasks()

    try:
        run(main(), timeout=60)
        silent.settimeout(1)
        accepted, _ = silent.accept()  # the try reached it (and was given up on)
        accepted.close()
    finally:
        silent.close()


def test_manual_credit_and_drain_during_the_outage_wait_for_the_new_link(
        proxy: FaultProxy) -> None:
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            sender, receiver = await sender_and_receiver(conn, q, 0)
            for outage in range(2):
                await go_down(proxy, conn)
                call = asyncio.ensure_future(
                    receiver.add_credit(2) if outage == 0 else receiver.drain(timeout=20))
                await asyncio.sleep(0.2)
                assert not call.done()
                proxy.refuse_new(False)
                await asyncio.wait_for(call, 20)
            assert conn.reconnects == 2 and receiver.credit == 0  # granted, then drained
            await receiver.add_credit(2)
            for body in (b"a", b"b"):
                await sender.send(Message(body))
            assert [(await receiver.receive(timeout=10)).body for _ in range(2)] == [b"a", b"b"]

    run(main(), timeout=60)


@pytest.mark.parametrize("later", [False, True], ids=["answering-open", "later"])
def test_a_redirect_is_followed_to_the_host_and_port_it_names(
        broker: RunningBroker, later: bool) -> None:
    """2.8.15: the peer closes with amqp:connection:redirect, in answer to our open (the
    first connect follows it) or once a session is begun (a reconnect goes where its info
    says, and the session is begun again there)."""
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
        assert await no_other_tasks()

    try:
        run(main(), timeout=60)
    finally:
        server.close()


def test_a_send_cancelled_during_the_outage_is_never_sent(proxy: FaultProxy) -> None:
    """Cancelling never corrupts the connection: a send cancelled while it waited for the
    transport did not go out, and is not sent once the connection is back."""
    q = queue()

    async def main() -> None:
        async with amqp.open_connection(proxy.url, reconnect=FAST, timeout=20) as conn:
            sender, receiver = await sender_and_receiver(conn, q, 10)
            await go_down(proxy, conn)
            cancelled = asyncio.create_task(sender.send(Message(b"cancelled")))
            waiting = asyncio.create_task(sender.send(Message(b"kept")))
            await asyncio.sleep(0.1)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            proxy.refuse_new(False)
            await asyncio.wait_for(waiting, 20)
            await sender.send(Message(b"last"))
            bodies = [(await receiver.receive(timeout=10)).body for _ in range(2)]
            assert bodies == [b"kept", b"last"] and sender.resent == 0
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.3)

    run(main(), timeout=60)
