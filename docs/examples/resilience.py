"""Surviving broker failures (blocking adapter): a failover list, a reconnect policy that
says what happens, and an idempotent consumer.

Run: python docs/examples/resilience.py URL[,URL...] [ADDRESS]
The documentation's tests run it against the embedded broker behind a proxy that cuts
the connection while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Sequence

import amqp10_sync as amqp
from amqp10_proto import Message, Properties
from amqp10_proto.errors import SettlementLost

log = logging.getLogger("resilience-example")


def policy(events: list[str]) -> amqp.Reconnect:
    """Reconnect quickly, give up after a minute, and note each drop and return."""
    return amqp.Reconnect(
        initial_delay=0.1, max_delay=2.0, max_duration=60.0,
        on_disconnect=lambda info: events.append(f"lost {info.url}: {info.cause}"),
        on_reconnect=lambda info: events.append(
            f"back on {info.url} after {info.downtime:.2f} s, {info.attempts} attempt(s)"))


def produce(urls: Sequence[str], address: str, count: int,
            events: list[str]) -> int:
    """Send ``count`` messages, each with a message-id; a lost connection is replaced
    and a message whose outcome was in doubt is sent again (at-least-once)."""
    with amqp.open_connection(list(urls), reconnect=policy(events), timeout=60) as conn, \
            conn.open_session() as session, session.open_sender(address) as sender:
        for i in range(count):
            sender.send(Message(b"order %d" % i, properties=Properties(message_id=f"order-{i}")))
        resent: int = sender.resent
        return resent


def consume(urls: Sequence[str], address: str, count: int, events: list[str],
            during: Callable[[int], None] = lambda n: None) -> dict[str, int]:
    """Receive until ``count`` distinct messages were processed; a message delivered twice
    (its first accept lost with the connection) is recognised by its message-id."""
    processed: dict[str, int] = {}
    with amqp.open_connection(list(urls), reconnect=policy(events), timeout=60) as conn, \
            conn.open_session() as session, \
            session.open_receiver(address, credit=20) as receiver:
        while len(processed) < count:
            msg = receiver.receive(timeout=60)
            assert msg.properties is not None  # our sender gives each message an id
            key = str(msg.properties.message_id)
            processed[key] = processed.get(key, 0) + 1  # idempotent: count, do the work once
            # SettlementLost: the connection went first; the broker delivers it again.
            with contextlib.suppress(SettlementLost):
                msg.accept()
            during(len(processed))
    return processed


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    urls = (sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672").split(",")
    address = sys.argv[2] if len(sys.argv) > 2 else "orders"
    events: list[str] = []
    print(f"resent after reconnects: {produce(urls, address, 100, events)}")
    seen = consume(urls, address, 100, events)
    print(f"{len(seen)} distinct messages, {sum(seen.values()) - len(seen)} duplicate(s)")
    print("\n".join(events) or "no reconnect was needed")
