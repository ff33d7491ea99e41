"""Manual credit and drain (blocking adapter): take exactly as many messages as you ask for.

Run: python docs/examples/manual_credit.py [URL] [ADDRESS]
The documentation's tests run it against a real broker that honours drain.
"""

from __future__ import annotations

import sys

import amqp10_sync as amqp
from amqp10_proto import Message


def run(url: str, address: str) -> tuple[list[bytes], list[bytes], int]:
    """Fill a queue with five jobs, take two, then drain the rest: (first, rest, credit)."""
    with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as session:
        with session.open_sender(address) as sender:
            for i in range(5):
                sender.send(Message(f"job {i}".encode()))

        # credit=0: the receiver grants nothing until we say so.
        with session.open_receiver(address, credit=0) as receiver:
            receiver.add_credit(2)  # the broker may send two messages now
            first = receiver.receive_batch(2, timeout=5)
            for msg in first:
                msg.accept()
            try:
                receiver.receive(timeout=0.3)
            except TimeoutError:
                print(f"no third message: credit is {receiver.credit}")

            # Drain: "send what you have against this credit now, give back the rest".
            receiver.add_credit(10)
            receiver.drain(timeout=5)  # returns once the broker used or returned it all
            print(f"after the drain: credit {receiver.credit}, {receiver.buffered} buffered")
            rest = receiver.receive_batch(10, timeout=0.1)
            for msg in rest:
                msg.accept()
            return [m.body for m in first], [m.body for m in rest], receiver.credit


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    print(run(url, sys.argv[2] if len(sys.argv) > 2 else "jobs"))
