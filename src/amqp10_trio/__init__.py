"""amqp10_trio: the AMQP 1.0 client API on trio.

A thin adapter over the sans-IO core in ``amqp10_proto``: it holds no protocol
state. The connection is an async context manager that owns a nursery: entering
it connects and starts the connection's background tasks (a reader, a writer
and a ticker that sleeps until the core's next heartbeat deadline); leaving it
closes the connection and ends them. Enter and leave it in the same task::

    import amqp10_trio as amqp
    from amqp10_proto import Message

    async with amqp.open_connection("amqp://guest:guest@127.0.0.1:5672/") as conn:
        async with conn.open_session() as session:
            async with session.open_sender("orders") as sender:
                await sender.send(Message(b"hello"), timeout=10)
            async with session.open_receiver("orders", credit=100) as receiver:
                msg = await receiver.receive(timeout=5)     # or: async for msg in receiver
                await receiver.accept(msg)

Every call that waits takes a ``timeout`` (the connection's ``timeout=`` by
default) and also respects enclosing cancel scopes; cancelling never corrupts
the connection (a cancelled send either did not go out, or is tracked to its
settlement). Errors are those of ``amqp10_proto.errors`` (ConnectionClosedError,
SessionEndedError, LinkDetachedError, MessageRejected ...; of the transports ProxyError
and WebSocketHandshakeError) and the standard TimeoutError.
Set ``AMQP10_TRACE=1`` to log every frame (logger ``amqp10.trace``).
"""

try:
    import trio as _trio  # noqa: F401  (the adapter is nothing without it)
except ImportError as _exc:
    if (_exc.name or "").partition(".")[0] != "trio":
        raise
    raise ImportError("amqp10_trio needs trio, which is not installed: "
                      "pip install 'amqp10[trio]'", name="trio") from _exc

from amqp10_proto.client import Reconnect, ReconnectInfo

from ._connection import DEFAULT, Connection, connect, open_connection
from ._link import Queued, ReceivedMessage, Receiver, Sender
from ._requests import CbsClient, ManagementClient, Requester
from ._session import Opening, Session
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
