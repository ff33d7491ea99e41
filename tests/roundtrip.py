"""One message through a fresh queue and back, on an open connection of any adapter.

For tests that first do something else to a connection (hold it idle, say) and
then show it still works. The asyncio and trio adapters share one API shape, so
one coroutine serves both.
"""

from __future__ import annotations

import uuid
from typing import Any

from amqp10_proto import Message

__all__ = ["round_trip", "round_trip_sync"]

BODY = b"one message through and back"


def _queue() -> str:
    return f"amqp10-roundtrip-{uuid.uuid4().hex[:8]}"


def round_trip_sync(conn: Any) -> None:
    """Send one message to a new queue and receive it (amqp10_sync)."""
    q = _queue()
    with conn.open_session() as session:
        with session.open_sender(q) as sender:
            sender.send(Message(BODY))
        with session.open_receiver(q, credit=1) as receiver:
            msg = receiver.receive(timeout=10)
            assert msg.body == BODY
            msg.accept()


async def round_trip(conn: Any) -> None:
    """Send one message to a new queue and receive it (amqp10_asyncio or amqp10_trio)."""
    q = _queue()
    async with conn.open_session() as session:
        async with session.open_sender(q) as sender:
            await sender.send(Message(BODY))
        async with session.open_receiver(q, credit=1) as receiver:
            msg = await receiver.receive(timeout=10)
            assert msg.body == BODY
            await msg.accept()
