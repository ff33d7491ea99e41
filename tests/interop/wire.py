"""A minimal blocking pump for the protocol core over a real socket (test helper).

Not the sync adapter: just enough loop to drive ``Connection`` against a real
peer with a deadline on every wait.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import Connection, Event


class Wire:
    """One core on one TCP socket; ``run_until(cond)`` pumps until ``cond()`` or a timeout."""

    def __init__(self, port: int, **options: Any) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(0.2)
        self.conn = Connection(**options)
        self.events: list[Event] = []
        self.conn.open()

    def run_until(self, cond: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        conn = self.conn
        while True:
            data = conn.data_to_send()
            if data:
                self.sock.sendall(data)
            while (event := conn.next_event()) is not None:
                self.events.append(event)
            if cond():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s; last events: "
                                   f"{self.events[-5:]}")
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                chunk = None
            if chunk is not None:
                conn.receive_data(chunk)
            conn.tick(time.monotonic())

    def take(self, kind: type) -> list[Any]:
        got = [e for e in self.events if isinstance(e, kind)]
        self.events = [e for e in self.events if not isinstance(e, kind)]
        return got

    def close(self) -> None:
        try:
            if not self.conn.ended:
                self.conn.close()
                self.run_until(lambda: self.conn.ended, timeout=5)
        finally:
            self.sock.close()
