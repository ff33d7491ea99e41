"""Large messages (blocking adapter): split into frames, size limits, and their errors.

Run: python docs/examples/large_messages.py [URL] [ADDRESS]
The documentation's tests run it against a real broker.
"""

from __future__ import annotations

import sys

import amqp10_sync as amqp
from amqp10_proto import Message
from amqp10_proto.errors import LinkDetachedError


def run(url: str, address: str, size: int = 8 << 20) -> int:
    """Send one message of ``size`` bytes and receive it back; its size on arrival."""
    body = bytes(range(256)) * (size // 256)
    with amqp.open_connection(url, timeout=60, max_frame_size=64 * 1024) as conn, \
            conn.open_session() as session:
        print(f"frames to the peer are at most {conn.remote_max_frame_size} bytes")
        with session.open_sender(address) as sender:
            print(f"the peer's max-message-size: {sender.remote_max_message_size}")
            sender.send(Message(body))  # the core splits it into transfer frames
        # credit=1: never more than one such message buffered here at a time.
        with session.open_receiver(address, credit=1, max_message_size=16 << 20) as receiver:
            msg = receiver.receive(timeout=60)
            msg.accept()
            return len(msg.body)


def over_the_limit(url: str, address: str) -> str:
    """A message above the receiver's max-message-size: the core detaches the link."""
    with amqp.open_connection(url, timeout=30) as conn, conn.open_session() as session:
        with session.open_sender(address) as sender:
            sender.send(Message(bytes(2 << 20)))
        try:
            # A broker that honours the receiver's limit detaches the link itself, maybe
            # as soon as it attaches; with one that sends the message anyway, the core
            # detaches it with amqp:link:message-size-exceeded. Either way: LinkDetachedError.
            with session.open_receiver(address, credit=1, max_message_size=1 << 20) as receiver:
                receiver.receive(timeout=30)
        except LinkDetachedError as exc:
            print(f"refused: {exc}")
            return type(exc).__name__
        return "no error"


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    address = sys.argv[2] if len(sys.argv) > 2 else "large"
    print(run(url, address))
    print(over_the_limit(url, address + "-limit"))
