"""RabbitMQ 3.x with its AMQP 1.0 plugin: the address forms, and a link error.

Run: python docs/examples/rabbitmq_addresses.py [URL] [NAME]
(URL defaults to amqp://guest:guest@127.0.0.1:5672/.)
The documentation's tests run it against RabbitMQ 3.10 with the rabbitmq_amqp1_0 plugin.
"""

from __future__ import annotations

import sys

import amqp10_sync as amqp
from amqp10_proto import Message
from amqp10_proto.errors import LinkDetachedError, SessionEndedError


def queue_round_trip(conn: amqp.Connection, name: str) -> bytes:
    """``/queue/NAME``: a queue, declared when the link attaches."""
    with conn.open_session() as session:
        with session.open_sender(f"/queue/{name}") as sender:
            sender.send(Message(b"to a queue"), timeout=10)
        with session.open_receiver(f"/queue/{name}", credit=10) as receiver:
            msg = receiver.receive(timeout=10)
            msg.accept()
            body: bytes = msg.body
            return body


def topic_round_trip(conn: amqp.Connection, key: str) -> bytes:
    """``/topic/KEY`` to receive (a temporary queue bound to amq.topic), and
    ``/exchange/amq.topic/KEY`` to publish to the exchange with that routing key."""
    with (
        conn.open_session() as session,
        session.open_receiver(f"/topic/{key}", credit=10) as subscriber,
    ):
        with session.open_sender(f"/exchange/amq.topic/{key}") as publisher:
            publisher.send(Message(b"to a topic"), timeout=10)
        msg = subscriber.receive(timeout=10)
        msg.accept()
        body: bytes = msg.body
        return body


def missing_queue(conn: amqp.Connection, name: str) -> str | None:
    """``/amq/queue/NAME`` must exist: RabbitMQ 3.x ends the *session* with not-found."""
    session = conn.open_session()
    try:
        session.open_receiver(f"/amq/queue/{name}")
    except (SessionEndedError, LinkDetachedError) as exc:  # SessionEndedError with RabbitMQ 3.x
        print(f"{type(exc).__name__}: {exc}; session.ended={session.ended}")
        return exc.condition
    finally:
        session.close()
    return None


def run(url: str, name: str) -> tuple[bytes, bytes, str | None]:
    with amqp.open_connection(url, timeout=10) as conn:
        print(f"connected to {conn.remote_properties}")
        return (queue_round_trip(conn, name), topic_round_trip(conn, f"{name}.created"),
                missing_queue(conn, f"{name}-missing"))


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/"
    print(run(url, sys.argv[2] if len(sys.argv) > 2 else "orders"))
