"""ActiveMQ Artemis: anycast and multicast addresses, and fully qualified queue names.

Artemis is not among the peers the documentation's tests start; they run these
functions against a local broker that ignores the capabilities, so what is checked
is that the code runs and attaches the links it should.
"""

from __future__ import annotations

import amqp10_sync as amqp
from amqp10_proto import Message


def send_to_queue(conn: amqp.Connection, address: str, body: bytes) -> None:
    """Anycast: the ``queue`` capability on the target (point to point)."""
    with conn.open_session() as session, \
            session.open_sender(address, capabilities=["queue"]) as sender:
        sender.send(Message(body), timeout=10)


def subscribe(conn: amqp.Connection, address: str, count: int) -> list[bytes]:
    """Multicast: the ``topic`` capability on the source; each subscriber gets every message."""
    with conn.open_session() as session, \
            session.open_receiver(address, capabilities=["topic"], credit=count) as receiver:
        got = receiver.receive_batch(count, timeout=5)
        for msg in got:
            msg.accept()
        return [m.body for m in got]


def durable_subscription(conn: amqp.Connection, address: str, name: str) -> amqp.Receiver:
    """A subscription that outlives the link: a fixed link name, a durable source that
    never expires, and a container id of your choosing on the connection."""
    session = conn.open_session()
    return session.open_receiver(address, name=name, capabilities=["topic"],
                                 durable="unsettled-state", expiry_policy="never")


def fqqn(address: str, queue: str) -> str:
    """A fully qualified queue name: one queue of a (multicast) address."""
    return f"{address}::{queue}"
