"""Request/response over a dynamic reply queue (asyncio): a responder and a requester.

Run: python docs/examples/request_response.py [URL] [ADDRESS]
The broker must support dynamic nodes and, for the responder as written, the
anonymous relay. The documentation's tests run it against a real broker.
"""

from __future__ import annotations

import asyncio
import sys

import amqp10_asyncio as amqp
from amqp10_proto import Message, Properties


async def responder(url: str, address: str, ready: asyncio.Event, count: int) -> None:
    """Answer ``count`` requests from ``address``: the reply goes to each ``reply_to``."""
    async with (
        amqp.open_connection(url, timeout=10) as conn,
        conn.open_session() as session,
        session.open_receiver(address, credit=10) as requests,
        session.open_sender(None) as replies,  # the anonymous relay: routed by ``to``
    ):
        ready.set()
        for _ in range(count):
            request = await requests.receive(timeout=10)
            props = request.properties
            assert props is not None and props.reply_to is not None  # a request says where
            reply = Message(request.body.upper(),
                            properties=Properties(to=props.reply_to,
                                                  correlation_id=props.message_id))
            await replies.send(reply, timeout=10)
            await request.accept()


async def requester(url: str, address: str, texts: list[str]) -> list[str]:
    """Send each text as a request to ``address`` and wait for its answer."""
    answers = []
    async with (
        amqp.open_connection(url, timeout=10) as conn,
        conn.open_session() as session,
        # A dynamic receiver: the broker creates a temporary queue and names it.
        session.open_receiver(None, dynamic=True, credit=10) as inbox,
        session.open_sender(address) as requests,
    ):
        print(f"replies come to {inbox.address!r}")
        for i, text in enumerate(texts):
            request = Message(text.encode(), properties=Properties(
                message_id=f"request-{i}", reply_to=inbox.address))
            await requests.send(request, timeout=10)
            answer = await inbox.receive(timeout=10)
            await answer.accept()
            assert answer.properties is not None
            assert answer.properties.correlation_id == f"request-{i}"
            answers.append(answer.body.decode())
    return answers


async def run(url: str, address: str) -> list[str]:
    texts = ["hello", "request", "response"]
    ready = asyncio.Event()
    serving = asyncio.create_task(responder(url, address, ready, len(texts)))
    await asyncio.wait_for(ready.wait(), 10)
    answers = await requester(url, address, texts)
    await serving
    return answers


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    print(asyncio.run(run(url, sys.argv[2] if len(sys.argv) > 2 else "requests")))
