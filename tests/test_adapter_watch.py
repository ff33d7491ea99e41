"""Learning that the peer detached a link or closed the connection, and why, without
calling send or receive: ``wait_detached`` / ``wait_closed`` and ``error``, per adapter.

The embedded broker detaches every other link on a dynamic node when the node's
own link goes (amqp:resource-deleted), and closes every client with
amqp:connection:forced when it stops.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import start_broker
from amqp10_proto import EncodedMessage
from amqp10_proto.errors import LinkDetachedError


def test_sync_wait_detached_and_wait_closed_tell_why() -> None:
    with start_broker() as broker:
        conn = amqp10_sync.open_connection(broker.url, timeout=5, reconnect=False)
        session = conn.open_session()
        node = session.open_receiver(None, dynamic=True)
        watcher = session.open_sender(node.address)
        assert watcher.wait_detached(timeout=0.1) is False  # nothing happened yet
        node.close()
        assert watcher.wait_detached(timeout=5) is True
        assert watcher.error is not None and watcher.error.condition == "amqp:resource-deleted"
        assert conn.wait_closed(timeout=0.1) is False
        threading.Timer(0.2, broker.stop).start()
        t0 = time.monotonic()
        assert conn.wait_closed(timeout=10) is True
        assert time.monotonic() - t0 < 5
        assert conn.error is not None and conn.error.condition == "amqp:connection:forced"
        conn.close()


def test_asyncio_wait_detached_and_wait_closed_tell_why() -> None:
    async def main() -> None:
        with start_broker() as broker:
            async with amqp10_asyncio.open_connection(broker.url, timeout=5,
                                                      reconnect=False) as conn:
                session = await conn.open_session()
                node = await session.open_receiver(None, dynamic=True)
                watcher = await session.open_sender(node.address)
                await node.close()
                await asyncio.wait_for(watcher.wait_detached(), 5)
                assert watcher.error is not None
                assert watcher.error.condition == "amqp:resource-deleted"
                stopping = asyncio.get_running_loop().run_in_executor(None, broker.stop)
                await asyncio.wait_for(conn.wait_closed(), 10)
                await stopping
                assert conn.error is not None
                assert conn.error.condition == "amqp:connection:forced"

    asyncio.run(main())


def test_trio_wait_detached_and_wait_closed_tell_why() -> None:
    async def main() -> None:
        with start_broker() as broker:
            async with amqp10_trio.open_connection(broker.url, timeout=5,
                                                   reconnect=False) as conn:
                session = await conn.open_session()
                node = await session.open_receiver(None, dynamic=True)
                watcher = await session.open_sender(node.address)
                await node.close()
                with trio.fail_after(5):
                    await watcher.wait_detached()
                assert watcher.error is not None
                assert watcher.error.condition == "amqp:resource-deleted"
                async def stop() -> None:
                    await trio.to_thread.run_sync(broker.stop)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(stop)
                    with trio.fail_after(10):
                        await conn.wait_closed()
                assert conn.error is not None
                assert conn.error.condition == "amqp:connection:forced"

    trio.run(main)


def test_a_link_we_detach_for_the_peers_fault_keeps_our_error() -> None:
    # rhea sends a message over the receiver's max-message-size anyway; the core detaches
    # with amqp:link:message-size-exceeded (2.7.5), and the peer's plain answering
    # detach must not wipe that reason.
    from tests.interop import peers

    peer = peers.start("rhea-broker")
    url = f"amqp://127.0.0.1:{peer.port}"
    address = f"watch-{time.monotonic_ns()}"
    with amqp10_sync.open_connection(url, timeout=10) as conn:
        session = conn.open_session()
        receiver = session.open_receiver(address, max_message_size=1000)
        with session.open_sender(address) as sender:
            # A 5000-byte binary amqp-value, encoded already.
            sender.send(EncodedMessage(b"\x00Sw\xb0\x00\x00\x13\x88" + b"x" * 5000))
        assert receiver.wait_detached(timeout=10)
        assert receiver.error is not None
        assert receiver.error.condition == "amqp:link:message-size-exceeded"
        with pytest.raises(LinkDetachedError, match="message-size-exceeded"):
            receiver.receive(timeout=1)
