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

import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import start_broker


def test_sync_wait_detached_and_wait_closed_tell_why() -> None:
    with start_broker() as broker:
        conn = amqp10_sync.open_connection(broker.url, timeout=5)
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
            async with amqp10_asyncio.open_connection(broker.url, timeout=5) as conn:
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
            async with amqp10_trio.open_connection(broker.url, timeout=5) as conn:
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
