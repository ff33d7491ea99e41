"""amqp10_asyncio: the AMQP 1.0 client API on asyncio.

A thin adapter over the sans-IO core in ``amqp10_proto``: it holds no protocol
state. Each connection is an ``asyncio.Protocol`` on a transport: bytes go into
the core as they arrive, ``tick()`` runs from a ``loop.call_at`` timer at the
core's deadline, and no task runs per connection (one runs while it reconnects). Every waiting call takes a
timeout (the connection's ``timeout=`` by default)::

    import amqp10_asyncio as amqp
    from amqp10_proto import Message

    async with amqp.open_connection("amqp://guest:guest@127.0.0.1:5672/") as conn:
        async with conn.open_session() as session:
            async with session.open_sender("orders") as sender:
                await sender.send(Message(b"hello"), timeout=10)
            async with session.open_receiver("orders", credit=100) as receiver:
                msg = await receiver.receive(timeout=5)   # or: async for msg in receiver
                await receiver.accept(msg)

``open_connection``, ``open_session``, ``open_sender`` and ``open_receiver``
also work with a plain ``await``. The bulk path: ``outcomes = await
sender.send_many(messages)``, or ``h = await sender.send_nowait(msg)`` for many
messages (it waits for no credit), then ``await sender.wait_all(handles)``. Cancelling a task never corrupts the
connection: a cancelled send either did not go out or is tracked by the core to
its settlement. Errors are those of ``amqp10_proto.errors`` (ConnectionClosedError,
SessionEndedError, LinkDetachedError, MessageRejected ...; of the transports ProxyError
and WebSocketHandshakeError) and the standard TimeoutError. A lost transport is
replaced (``reconnect=`` on ``open_connection``: True, False or a ``Reconnect(...)``
policy; a list of URLs fails over): sessions and links carry on. Set ``AMQP10_TRACE=1`` to log every frame (logger ``amqp10.trace``).
"""

from amqp10_proto.client import Reconnect, ReconnectInfo

from ._common import Opening
from ._connection import DEFAULT, Connection, connect, open_connection
from ._link import ReceivedMessage, Receiver
from ._requests import CbsClient, ManagementClient, Requester
from ._sender import Queued, Sender
from ._session import Session
from ._txn import Transaction

__all__ = [
    "DEFAULT",
    "CbsClient",
    "Connection",
    "ManagementClient",
    "Opening",
    "Queued",
    "ReceivedMessage",
    "Receiver",
    "Reconnect",
    "ReconnectInfo",
    "Requester",
    "Sender",
    "Session",
    "Transaction",
    "connect",
    "open_connection",
]
