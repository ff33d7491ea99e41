"""Trace every frame of a short exchange: logging set up, then ``AMQP10_TRACE=1``.

Run: python docs/examples/tracing.py [URL] [ADDRESS]
The documentation's tests run it against a real broker and read the trace.
"""

from __future__ import annotations

import logging
import os
import sys

import amqp10_sync as amqp
from amqp10_proto import Message


def run(url: str, address: str) -> None:
    """Send one message and receive it, with every frame logged."""
    # The adapters read the variable when a connection is made.
    os.environ["AMQP10_TRACE"] = "1"
    with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as session:
        with session.open_sender(address) as sender:
            sender.send(Message(b"traced"))
        with session.open_receiver(address, credit=1) as receiver:
            receiver.receive(timeout=10).accept()


if __name__ == "__main__":
    # Application logs at INFO, the frame trace (logger "amqp10.trace") at DEBUG.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("amqp10.trace").setLevel(logging.DEBUG)
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://127.0.0.1:5672/"
    run(url, sys.argv[2] if len(sys.argv) > 2 else "traced")
