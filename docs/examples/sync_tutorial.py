"""The blocking tutorial's program: send three orders, receive them back, handle errors.

Run: python docs/examples/sync_tutorial.py [URL] [ADDRESS]
(URL defaults to amqp://127.0.0.1:5672/, e.g. the ``amqp10 broker`` command's.)
The documentation's tests run it against a real broker.
"""

from __future__ import annotations

import sys
import time

import amqp10_sync as amqp
from amqp10_proto import Message, Properties
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    LinkDetachedError,
    MessageRejected,
    SessionEndedError,
)


def send_orders(session: amqp.Session, address: str, count: int) -> None:
    """Send ``count`` messages; each ``send`` returns once the broker accepted it."""
    with session.open_sender(address) as sender:
        for i in range(count):
            msg = Message(f"order {i}".encode(),
                          properties=Properties(message_id=f"order-{i}", subject="order"),
                          application_properties={"priority": "high" if i == 0 else "normal"})
            try:
                outcome = sender.send(msg, timeout=10)
            except MessageRejected as exc:
                print(f"the broker rejected order {i}: {exc.condition} {exc.description}")
                continue
            print(f"sent order {i}: {outcome}")


def receive_orders(session: amqp.Session, address: str, count: int) -> list[str]:
    """Receive up to ``count`` messages, accepting each one; stop after 2 s of silence."""
    bodies: list[str] = []
    with session.open_receiver(address, credit=10) as receiver:
        while len(bodies) < count:
            try:
                msg = receiver.receive(timeout=2)
            except TimeoutError:
                break  # nothing more arrived in time
            props = msg.properties  # None when the message has no properties section
            message_id = str(props.message_id) if props else None
            print(f"received {msg.body!r} id={message_id} {msg.application_properties}")
            msg.accept()  # settles it: the broker forgets the message
            bodies.append(msg.body.decode())
    return bodies


def run(url: str, address: str) -> list[str]:
    """Connect, send three orders to ``address`` and receive them; the bodies received."""
    with amqp.open_connection(url, timeout=10) as conn:
        print(f"connected to {conn.remote_container_id}")
        with conn.open_session() as session:
            send_orders(session, address, 3)
            return receive_orders(session, address, 3)


def show_errors(url: str, bad_url: str, address: str) -> list[str]:
    """What the expected failures look like; the exception type names, in order."""
    seen = []
    try:
        amqp.open_connection(bad_url, connect_timeout=5)
    except AuthenticationError as exc:  # a ConnectionClosedError; not a protocol error
        print(f"wrong password: {exc} (condition {exc.condition})")
        seen.append(type(exc).__name__)
    except OSError as exc:  # refused, unreachable, TLS verification failed
        print(f"cannot connect: {exc}")
        seen.append("OSError")
    with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as session:
        receiver = session.open_receiver(address, credit=1)
        t0 = time.monotonic()
        try:
            receiver.receive(timeout=0.5)
        except TimeoutError:
            print(f"no message within {time.monotonic() - t0:.1f} s; the receiver is still usable")
            seen.append("TimeoutError")
        receiver.close()
        try:
            receiver.receive(timeout=1)
        except LinkDetachedError as exc:
            print(f"after close: {exc}")
            seen.append(type(exc).__name__)
        except (SessionEndedError, ConnectionClosedError) as exc:
            print(f"the session or connection is over: {exc}")
            seen.append(type(exc).__name__)
    return seen


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    address = sys.argv[2] if len(sys.argv) > 2 else "tutorial"
    print(run(url, address))
    print(show_errors(url, url.replace("://", "://guest:wrong@", 1), address + "-errors"))
