"""The trio tutorial's program: send from a nursery, receive, cancel, handle errors.

Run: python docs/examples/trio_tutorial.py [URL] [ADDRESS]
(URL defaults to amqp://127.0.0.1:5672/, e.g. the ``amqp10 broker`` command's.)
The documentation's tests run it against a real broker.
"""

from __future__ import annotations

import sys

import trio

import amqp10_trio as amqp
from amqp10_proto import Message, Properties
from amqp10_proto.errors import AuthenticationError, LinkDetachedError, MessageRejected


async def send_orders(session: amqp.Session, address: str, count: int) -> None:
    """Send ``count`` messages from tasks of one nursery: the sends are pipelined."""
    async with session.open_sender(address) as sender:

        async def send_one(i: int) -> None:
            msg = Message(f"order {i}".encode(), properties=Properties(message_id=f"order-{i}"))
            try:
                await sender.send(msg, timeout=10)
            except MessageRejected as exc:
                print(f"the broker rejected order {i}: {exc.condition}")

        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(send_one, i)
        print(f"sent {count} orders")


async def receive_orders(session: amqp.Session, address: str, count: int) -> list[str]:
    """Receive ``count`` messages with ``async for``, accepting each one."""
    bodies: list[str] = []
    async with session.open_receiver(address, credit=10) as receiver:
        async for msg in receiver:
            await msg.accept()
            bodies.append(msg.body.decode())
            if len(bodies) == count:
                break
    return sorted(bodies)


async def cancel_a_receive(session: amqp.Session, address: str) -> str:
    """A cancel scope around a waiting ``receive``: the link stays usable after it."""
    async with session.open_receiver(address, credit=5) as receiver:
        with trio.move_on_after(0.2) as scope:
            await receiver.receive(timeout=60)
        print(f"cancelled: {scope.cancelled_caught}; no message was taken")
        async with session.open_sender(address) as sender:
            await sender.send(Message(b"after the cancel"), timeout=10)
        msg = await receiver.receive(timeout=10)
        await msg.accept()
        body: str = msg.body.decode()
        return body


async def run(url: str, address: str) -> list[str]:
    """Connect, send three orders and receive them; show a cancellation; the bodies."""
    async with (
        amqp.open_connection(url, timeout=10) as conn,
        conn.open_session() as session,
    ):
        await send_orders(session, address, 3)
        bodies = await receive_orders(session, address, 3)
        bodies.append(await cancel_a_receive(session, address + "-cancel"))
    return bodies


async def show_errors(bad_url: str, url: str, address: str) -> list[str]:
    """A failed login, a receive timeout, a closed link: the exception names seen."""
    seen = []
    try:
        async with amqp.open_connection(bad_url, connect_timeout=5):
            pass
    except AuthenticationError as exc:
        print(f"wrong password: {exc.condition}")
        seen.append(type(exc).__name__)
    async with amqp.open_connection(url, timeout=10) as conn:
        session = await conn.open_session()  # a plain await works too
        receiver = await session.open_receiver(address, credit=1)
        try:
            await receiver.receive(timeout=0.3)
        except TimeoutError:
            seen.append("TimeoutError")
        await receiver.close()
        try:
            await receiver.receive(timeout=1)
        except LinkDetachedError as exc:
            print(f"after close: {exc}")
            seen.append(type(exc).__name__)
    return seen


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    address = sys.argv[2] if len(sys.argv) > 2 else "tutorial"
    print(trio.run(run, url, address))
    print(trio.run(show_errors, url.replace("://", "://guest:wrong@", 1), url, address + "-errors"))
