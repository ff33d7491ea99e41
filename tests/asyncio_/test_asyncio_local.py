"""amqp10_asyncio without a broker: refusals, dead and hung peers, outcomes, cancellation."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import Message, Modified, Rejected, Released, SaslPlain, SaslServer
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    MessageModified,
    MessageRejected,
    MessageReleased,
)
from tests.sync.fakepeer import FakePeer

from .helpers import no_other_tasks, run


@pytest.fixture
def fake() -> Iterator[FakePeer]:
    peer = FakePeer()
    yield peer
    peer.close()


def test_plain_without_tls_to_a_remote_host_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="allow_plain_without_tls"):
        amqp.open_connection("amqp://user:pw@192.0.2.1/")
    with pytest.raises(ValueError, match="allow_plain_without_tls"):
        amqp.open_connection("amqp://192.0.2.1/", sasl=SaslPlain("u", "p"))


def test_connection_refused_raises_oserror() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError):
            await amqp.open_connection(f"amqp://127.0.0.1:{port}")
        assert await no_other_tasks()

    run(main())


def test_open_handshake_timeout_with_a_silent_peer() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            await amqp.open_connection(f"amqp://127.0.0.1:{listener.getsockname()[1]}",
                                       connect_timeout=0.5)
        assert time.monotonic() - t0 < 3
        assert await no_other_tasks()

    try:
        run(main())
    finally:
        listener.close()


def test_sender_outcomes_raise_and_the_bulk_path(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            await sender.send(Message(b"ok"))
            with pytest.raises(MessageRejected) as rej:
                await sender.send(Message(b"reject"))
            assert rej.value.condition == "amqp:precondition-failed"
            assert rej.value.description == "no thanks"
            assert isinstance(rej.value.state, Rejected)
            with pytest.raises(MessageReleased) as rel:
                await sender.send(Message(b"release"))
            assert isinstance(rel.value.state, Released)
            with pytest.raises(MessageModified) as mod:
                await sender.send(Message(b"modify"))
            assert isinstance(mod.value.state, Modified) and mod.value.state.undeliverable_here
            # A timeout waiting for the outcome leaves the connection usable.
            with pytest.raises(TimeoutError):
                await sender.send(Message(b"hold"), timeout=0.2)
            await sender.send(Message(b"ok again"))
            # The bulk path: send many, then collect their outcomes.
            deliveries = [await sender.send_nowait(Message(f"m{i}".encode()))
                          for i in range(50)]
            for d in deliveries:
                assert await sender.wait_settled(d) is not None
        assert conn.closed and conn.error is None
        assert await no_other_tasks()

    run(main())
    assert fake.received[-1] == b"m49"


def test_cancelling_a_send_leaves_the_connection_usable(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            # Cancelled while waiting for the outcome: it went out once, and stays tracked.
            task = asyncio.create_task(sender.send(Message(b"hold"), timeout=30))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # Many sends cancelled at random points: each either went out or did not.
            # (The fake peer grants 100 credits once: "hold" took one.)
            tasks = [asyncio.create_task(sender.send(Message(f"c{i}".encode()), timeout=10))
                     for i in range(90)]
            await asyncio.sleep(0)
            for t in tasks[::3]:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(not isinstance(r, BaseException) or isinstance(r, asyncio.CancelledError)
                       for r in results), results
            assert await sender.send(Message(b"after")) is not None
            assert not conn.closed
        assert await no_other_tasks()

    run(main())
    sent = [b for b in fake.received if b.startswith(b"c")]
    assert len(sent) == len(set(sent))  # none went out twice
    assert fake.received.count(b"hold") == 1 and fake.received[-1] == b"after"


def test_cancelling_a_send_waiting_for_credit_sends_nothing(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn, \
                conn.open_session() as s:
            sender = await s.open_sender("q")
            # Use up the fake peer's 100 credits with messages it never settles.
            for _ in range(100):
                await sender.send_nowait(Message(b"hold"))
            assert sender.credit == 0
            task = asyncio.create_task(sender.send(Message(b"never"), timeout=30))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(TimeoutError):
                await sender.send(Message(b"never either"), timeout=0.1)
            assert not conn.closed
            await conn.close(timeout=2)

    run(main())
    assert b"never" not in fake.received and b"never either" not in fake.received


def test_close_with_a_hung_peer_completes_within_its_timeout(fake: FakePeer) -> None:
    async def main() -> None:
        conn = await amqp.open_connection(fake.url, sasl=None)
        session = await conn.open_session()
        receiver = await session.open_receiver("q", credit=5)
        sender = await session.open_sender("q2")
        fake.silent = True
        waiter = asyncio.create_task(receiver.receive(timeout=30))
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        await conn.close(timeout=0.5)
        assert time.monotonic() - t0 < 1.5
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(waiter, 2)
        assert conn.closed
        with pytest.raises(ConnectionClosedError):
            await sender.send(Message(b"after close"))
        assert await no_other_tasks()
        assert conn._timer is None and conn._protocol.lost.done()

    run(main())


def test_lost_connection_fails_every_pending_wait(fake: FakePeer) -> None:
    async def main() -> None:
        conn = await amqp.open_connection(fake.url, sasl=None, reconnect=False)
        session = await conn.open_session()
        receiver = await session.open_receiver("q", credit=5)
        sender = await session.open_sender("q2")
        tasks = [asyncio.create_task(receiver.receive(timeout=30)),
                 asyncio.create_task(sender.send(Message(b"hold"), timeout=30))]
        await asyncio.sleep(0.2)
        fake.kill()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        assert all(isinstance(r, ConnectionClosedError) for r in results), results
        assert conn.closed and conn.error is not None
        assert conn.error.condition == "amqp:connection:forced"
        assert session.ended and receiver.detached
        await conn.close(timeout=1)
        assert await no_other_tasks()

    run(main())


def test_heartbeats_keep_an_idle_connection_open_and_cost_no_cpu() -> None:
    # The server's idle timeout is 0.4 s: we must send a frame at least every 0.2 s.
    fake = FakePeer(idle_timeout=0.4)

    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, idle_timeout=None) as conn:
            cpu0 = time.process_time()
            await asyncio.sleep(1.5)
            cpu = time.process_time() - cpu0
            assert not conn.closed, conn.error
            assert cpu < 0.3, cpu

    try:
        run(main())
    finally:
        fake.close()


def test_our_idle_timeout_closes_a_silent_connection(fake: FakePeer) -> None:
    async def main() -> None:
        conn = await amqp.open_connection(fake.url, sasl=None, idle_timeout=0.3,
                                          reconnect=False)
        fake.silent = True
        await asyncio.sleep(1.0)
        assert conn.closed
        assert conn.error is not None and conn.error.condition == "amqp:resource-limit-exceeded"
        await conn.close(timeout=0.5)
        assert await no_other_tasks()

    run(main())


def test_frame_trace_hides_sasl_secrets(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    fake = FakePeer(sasl=SaslServer(plain=lambda u, pw: pw == "s3cret-pw"))

    async def main() -> None:
        async with amqp.open_connection(f"amqp://user:s3cret-pw@127.0.0.1:{fake.port}") as conn:
            await (await conn.open_session()).close()

    try:
        with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
            run(main())
    finally:
        fake.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "amqp10.trace"]
    text = "\n".join(lines)
    assert "s3cret" not in text
    for what in ("SaslInit", "Open(", "Begin(", "End(", "Close("):
        assert what in text, what


def test_bad_password_raises_authentication_error() -> None:
    fake = FakePeer(sasl=SaslServer(plain=lambda u, pw: False))

    async def main() -> None:
        with pytest.raises(AuthenticationError):
            await amqp.open_connection(f"amqp://user:nope@127.0.0.1:{fake.port}")
        assert await no_other_tasks()

    try:
        run(main())
    finally:
        fake.close()


def test_connect_takes_a_connected_socket(fake: FakePeer) -> None:
    async def main() -> None:
        sock = socket.create_connection(("127.0.0.1", fake.port))
        async with amqp.connect(sock, sasl=None) as conn, conn.open_session() as s, \
                s.open_sender("q") as sender:
            await sender.send(Message(b"over my socket"))
        assert sock.fileno() == -1  # the connection closed the socket it owned

    run(main())
    assert fake.received == [b"over my socket"]


def test_session_and_link_close_with_a_hung_peer_raise_within_their_timeout(
        fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn:
            session = await conn.open_session()
            sender = await session.open_sender("q")
            await sender.send(Message(b"ok"))
            fake.silent = True
            await asyncio.sleep(0.1)  # the fake peer notices between two reads
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                await sender.close(timeout=0.3)
            with pytest.raises(TimeoutError):
                await session.close(timeout=0.3)
            assert time.monotonic() - t0 < 1.5
            t0 = time.monotonic()
            await conn.close(timeout=0.3)
            assert time.monotonic() - t0 < 1.5
        assert await no_other_tasks()

    run(main())


def test_async_for_ends_when_the_receiver_is_closed(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn, \
                conn.open_session() as s:
            receiver = await s.open_receiver("q", credit=5)

            async def consume() -> list[object]:
                return [msg async for msg in receiver]

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.1)
            await receiver.close(timeout=2)
            assert await asyncio.wait_for(task, 2) == []
            assert receiver.detached

    run(main())

