"""Embed the amqp10 protocol core in your own event loop: a complete `selectors` client.

It connects to a broker, sends COUNT messages to ADDRESS and receives them back,
accepting each one, then closes. Every wait has a deadline. The core does no I/O
and reads no clock: this loop moves bytes, passes the time to ``tick()``, and
reacts to events.

Run: python examples/selectors_client.py [HOST] [PORT] [ADDRESS] [COUNT]
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

from amqp10_proto import (
    Connection,
    ConnectionClosed,
    ConnectionOpened,
    CreditGranted,
    DeliveryUpdated,
    LinkDetached,
    Message,
    MessageReceived,
    SaslAnonymous,
    SenderSettleMode,
)


def run(host: str = "127.0.0.1", port: int = 5672, address: str = "examples",
        count: int = 10, timeout: float = 30.0) -> list[bytes]:
    """Send ``count`` messages to ``address`` and get them back; return the bodies."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    conn = Connection(container_id="selectors-example", hostname=host, sasl=SaslAnonymous(),
                      idle_timeout=60.0)
    conn.open()
    sender = None
    sent = settled = 0
    received: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while not conn.ended:
            # 1. React to what happened (this queues frames in the core).
            while (event := conn.next_event()) is not None:
                if isinstance(event, ConnectionOpened):
                    session = conn.begin_session()
                    sender = session.attach_sender(
                        address, snd_settle_mode=SenderSettleMode.UNSETTLED)
                    session.attach_receiver(address, credit=count)
                elif isinstance(event, CreditGranted) and event.link is sender:
                    while sender.sendable and sent < count:
                        sender.send(Message(f"message {sent}".encode()))
                        sent += 1
                elif isinstance(event, DeliveryUpdated):
                    settled += 1
                elif isinstance(event, MessageReceived):
                    received.append(event.message.body)
                    event.link.accept(event.delivery)
                    if len(received) == count and settled == count:
                        conn.close()
                elif isinstance(event, LinkDetached) and event.error is not None:
                    raise RuntimeError(f"link {event.link.name} detached: {event.error}")
                elif isinstance(event, ConnectionClosed) and event.error is not None:
                    raise RuntimeError(f"connection closed: {event.error}")
            if len(received) == count and settled == count and not conn.ended:
                conn.close()
            # 2. Write what the core queued (a real program would also wait for
            #    EVENT_WRITE when the socket buffer is full).
            data = conn.data_to_send()
            if data:
                sock.setblocking(True)
                sock.sendall(data)
                sock.setblocking(False)
            if conn.ended:
                break
            # 3. Wait for bytes, or for the core's next deadline (heartbeats, idle).
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"gave up after {timeout} s ({len(received)} received)")
            wake = conn.tick(now)
            wait = deadline - now if wake is None else min(wake, deadline) - now
            if sel.select(max(0.0, wait)):
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                conn.receive_data(chunk)  # b"" when the broker closed the socket
        return received
    finally:
        sel.close()
        sock.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    bodies = run(args[0] if args else "127.0.0.1", int(args[1]) if len(args) > 1 else 5672,
                 args[2] if len(args) > 2 else "examples", int(args[3]) if len(args) > 3 else 10)
    print(f"sent and received {len(bodies)} messages: {bodies[0]!r} ... {bodies[-1]!r}")
