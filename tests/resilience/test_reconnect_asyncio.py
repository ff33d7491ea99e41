"""The asyncio adapter survives lost transports (issue 9): the stories of
tests.resilience.async_cases (cut, reset, blackhole, a broker restart, ...), each on a
fresh event loop and leaving no task behind, and those that are asyncio's own: giving
up, closing while reconnecting, a given socket, TLS, manual credit, cancelling a send.

The embedded broker sits behind tests/faultproxy.py, which breaks the TCP connection
the way a network or a dying node does; every count is made by the test.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import amqp10_asyncio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from tests.asyncio_.helpers import no_other_tasks, run
from tests.asyncio_.test_asyncio_tls import cert

from ..faultproxy import FaultProxy
from .async_cases import CASES, Case
from .test_reconnect_sync import FAST, broker, proxy, queue

__all__ = ["broker", "cert", "proxy"]  # fixtures shared with other modules' stories


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_asyncio_survives(story: Case, proxy: FaultProxy, broker: RunningBroker) -> None:
    async def main() -> None:
        await story(amqp, proxy, broker)
        assert await no_other_tasks()  # nothing left running after the story

    run(main(), timeout=90)


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
