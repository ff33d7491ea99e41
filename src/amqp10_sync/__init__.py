"""amqp10_sync: the AMQP 1.0 client API on blocking sockets (thread-safe).

A thin adapter over the sans-IO core in ``amqp10_proto``: it holds no protocol
state. One I/O thread per connection moves bytes and calls ``tick()`` at the
core's deadline; every blocking call takes a timeout (the connection's
``timeout=`` by default)::

    import amqp10_sync as amqp
    from amqp10_proto import Message

    with amqp.open_connection("amqp://guest:guest@127.0.0.1:5672/") as conn:
        with conn.open_session() as session:
            with session.open_sender("orders") as sender:
                sender.send(Message(b"hello"), timeout=10)
            with session.open_receiver("orders", credit=100) as receiver:
                msg = receiver.receive(timeout=5)
                receiver.accept(msg)

Errors are those of ``amqp10_proto.errors`` (ConnectionClosedError, SessionEndedError,
LinkDetachedError, MessageRejected ...; of the transports ProxyError and
WebSocketHandshakeError) and the standard TimeoutError. Set
``AMQP10_TRACE=1`` to log every frame (logger ``amqp10.trace``).
"""

from amqp10_proto.client import Reconnect, ReconnectInfo

from ._connection import DEFAULT, Connection, connect, open_connection
from ._link import Queued, ReceivedMessage, Receiver, Sender
from ._requests import CbsClient, ManagementClient, Requester
from ._session import Session
from ._txn import Transaction

__all__ = [
    "DEFAULT",
    "CbsClient",
    "Connection",
    "ManagementClient",
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
