"""A client core pumped over a blocking socket: for tests against a live peer before the
adapters speak transactions."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import Connection, SaslAnonymous, SaslCredentials

HANG_GUARD = 10.0


class CoreClient:
    """A client core pumped over a blocking socket until a condition holds."""

    def __init__(self, port: int, sasl: SaslCredentials | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
        self.core = Connection(role="client", sasl=sasl or SaslAnonymous(),
                               hostname="127.0.0.1")
        self.core.open()
        self.events: list[Any] = []

    def until(self, found: Callable[[Any], bool]) -> Any:
        """Pump until an event ``found`` accepts arrives; returns it (and forgets it)."""
        deadline = time.monotonic() + HANG_GUARD
        while True:
            for i, ev in enumerate(self.events):
                if found(ev):
                    del self.events[i]
                    return ev
            out = self.core.data_to_send()
            if out:
                self.sock.sendall(out)
            left = deadline - time.monotonic()
            assert left > 0, f"no such event within {HANG_GUARD} s: {self.events[-5:]}"
            self.sock.settimeout(min(left, 0.05))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                data = None
            if data is not None:
                self.core.receive_data(data)
            while (ev := self.core.next_event()) is not None:
                self.events.append(ev)

    def flush(self) -> None:
        out = self.core.data_to_send()
        if out:
            self.sock.sendall(out)

    def close(self) -> None:
        self.sock.close()
