"""amqp10_trio without a broker (the in-process fake peer of tests/sync): outcomes,
cancellation, silent and dead peers, heartbeats, a caller's stream, nursery behaviour."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message, Modified, Rejected, Released, SaslPlain, SaslServer
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    MessageModified,
    MessageRejected,
    MessageReleased,
)
from tests.sync.fakepeer import FakePeer


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
        async with amqp.open_connection(f"amqp://127.0.0.1:{port}"):
            pass

    with pytest.raises(OSError):
        trio.run(main)


def test_open_handshake_timeout_with_a_silent_peer() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    async def main() -> None:
        t0 = trio.current_time()
        with pytest.raises(TimeoutError):
            async with amqp.open_connection(f"amqp://127.0.0.1:{listener.getsockname()[1]}",
                                            connect_timeout=0.5):
                pass
        assert trio.current_time() - t0 < 3

    try:
        trio.run(main)
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
            deliveries = [await sender.send_nowait(Message(f"m{i}".encode())) for i in range(50)]
            for d in deliveries:
                assert await sender.wait_settled(d) is not None

    trio.run(main)
    assert fake.received[-1] == b"m49"


def test_a_send_cancelled_after_it_went_out_is_still_tracked(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            with trio.move_on_after(0.2) as scope:
                await sender.send(Message(b"hold"), timeout=30)
            assert scope.cancelled_caught
            # The message went out: the core still tracks it, unsettled.
            [held] = sender._core.unsettled.values()
            assert not held.remote_settled
            with trio.move_on_after(0) as scope:
                await sender.send(Message(b"not sent"))
            assert scope.cancelled_caught
            await sender.send(Message(b"after"))
            assert list(sender._core.unsettled.values()) == [held]
        assert fake.received == [b"hold", b"after"]

    trio.run(main)


def test_close_with_a_silent_peer_completes_within_its_timeout(fake: FakePeer) -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver("q", credit=5)
            sender = await session.open_sender("q2")
            fake.silent = True

            async def wait_for_message() -> None:
                try:
                    await receiver.receive(timeout=30)
                except BaseException as exc:
                    errors.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(wait_for_message)
                await trio.sleep(0.1)
                t0 = time.monotonic()
                await conn.close(timeout=0.5)
                assert time.monotonic() - t0 < 1.5
            assert conn.closed
            with pytest.raises(ConnectionClosedError):
                await sender.send(Message(b"after close"))
            # Leaving the block after a close is quick too.
            t0 = time.monotonic()
        assert time.monotonic() - t0 < 0.5

    trio.run(main)
    assert len(errors) == 1 and isinstance(errors[0], ConnectionClosedError)


def test_leaving_the_block_with_a_silent_peer_is_bounded_by_the_timeout(fake: FakePeer) -> None:
    async def main() -> None:
        t0 = time.monotonic()
        async with amqp.open_connection(fake.url, sasl=None, timeout=0.5) as conn:
            await conn.open_session()
            fake.silent = True
        assert time.monotonic() - t0 < 2
        assert conn.closed

    trio.run(main)


def test_lost_connection_fails_every_pending_wait(fake: FakePeer) -> None:
    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, reconnect=False) as conn:
            session = await conn.open_session()
            receiver = await session.open_receiver("q", credit=5)
            sender = await session.open_sender("q2")
            errors: list[BaseException] = []

            async def run(fn: object) -> None:
                try:
                    await fn()  # type: ignore[operator]
                except BaseException as exc:
                    errors.append(exc)

            with trio.fail_after(5):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(run, lambda: receiver.receive(timeout=30))
                    nursery.start_soon(run, lambda: sender.send(Message(b"hold"), timeout=30))
                    await trio.sleep(0.2)
                    fake.kill()
            assert len(errors) == 2 and all(isinstance(e, ConnectionClosedError) for e in errors)
            assert conn.closed and conn.error is not None
            assert conn.error.condition == "amqp:connection:forced"
            assert session.ended and receiver.detached
            await conn.wait_closed()

    trio.run(main)


def test_body_exceptions_and_cancellation_pass_through_unwrapped(fake: FakePeer) -> None:
    async def main() -> None:
        with pytest.raises(KeyError):
            async with amqp.open_connection(fake.url, sasl=None) as conn, \
                    conn.open_session() as s, s.open_sender("q") as sender:
                await sender.send(Message(b"x"))
                raise KeyError("mine")
        assert conn.closed

    trio.run(main)

    async def cancelled() -> None:
        peer = FakePeer()
        try:
            with trio.move_on_after(0.3) as scope:
                async with amqp.open_connection(peer.url, sasl=None) as conn, \
                        conn.open_session() as s, s.open_receiver("q") as receiver:
                    await receiver.receive(timeout=30)
            assert scope.cancelled_caught
            assert conn.closed
        finally:
            peer.close()

    trio.run(cancelled)


def test_heartbeats_keep_an_idle_connection_open_and_cost_no_cpu() -> None:
    # The server's idle timeout is 0.4 s: we must send a frame at least every 0.2 s.
    fake = FakePeer(idle_timeout=0.4)

    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, idle_timeout=None) as conn:
            cpu0 = time.process_time()
            await trio.sleep(1.5)
            cpu = time.process_time() - cpu0
            assert not conn.closed, conn.error
            assert cpu < 0.3, cpu

    try:
        trio.run(main)
    finally:
        fake.close()


def test_bad_password_raises_authentication_error() -> None:
    fake = FakePeer(sasl=SaslServer(plain=lambda u, pw: False))

    async def main() -> None:
        async with amqp.open_connection(f"amqp://user:nope@127.0.0.1:{fake.port}"):
            pass

    try:
        with pytest.raises(AuthenticationError):
            trio.run(main)
    finally:
        fake.close()


def test_connect_takes_a_connected_stream(fake: FakePeer) -> None:
    async def main() -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", fake.port)
        async with amqp.connect(stream, sasl=None) as conn, conn.open_session() as s, \
                s.open_sender("q") as sender:
            assert "127.0.0.1" in conn.label
            await sender.send(Message(b"over my stream"))

    trio.run(main)
    assert fake.received == [b"over my stream"]
