"""Two protocol cores wired back to back, for tests that read as the protocol's story.

``CorePair`` pumps the bytes each side queues into the other, in chunks of any
size, with a fake clock; ``events(side)`` drains one side's events.
"""

from __future__ import annotations

import random
from typing import Any

from amqp10_proto._connection import Connection
from amqp10_proto._events import Event


class CorePair:
    """A client and a server core and the wire between them."""

    def __init__(self, *, client: dict[str, Any] | None = None, server: dict[str, Any] | None = None,
                 chunk: int | None = None, seed: int = 0) -> None:
        self.client = Connection(role="client", container_id="client", **(client or {}))
        self.server = Connection(role="server", container_id="server", **(server or {}))
        self.chunk = chunk
        self.rng = random.Random(seed)
        self.now = 0.0
        self.log: dict[str, list[Event]] = {"client": [], "server": []}
        self.wire: dict[str, list[bytes]] = {"client": [], "server": []}

    def side(self, name: str) -> Connection:
        return self.client if name == "client" else self.server

    def _deliver(self, data: bytes, to: Connection) -> None:
        if self.chunk is None:
            to.receive_data(data)
            return
        pos = 0
        while pos < len(data):
            n = self.chunk if self.chunk > 0 else self.rng.randint(1, 64)
            to.receive_data(data[pos:pos + n])
            pos += n

    def pump(self, rounds: int = 50) -> int:
        """Move bytes both ways until neither side has any to send; return the bytes moved."""
        moved = 0
        for _ in range(rounds):
            a = self.client.data_to_send()
            b = self.server.data_to_send()
            if not a and not b:
                break
            if a:
                self.wire["client"].append(a)
                self._deliver(a, self.server)
            if b:
                self.wire["server"].append(b)
                self._deliver(b, self.client)
            moved += len(a) + len(b)
        self._collect()
        return moved

    def _collect(self) -> None:
        for name in ("client", "server"):
            conn = self.side(name)
            while (ev := conn.next_event()) is not None:
                self.log[name].append(ev)

    def events(self, name: str, kind: type | None = None) -> list[Any]:
        """Take (and forget) the events one side has emitted so far, optionally of one kind."""
        self._collect()
        got = self.log[name]
        self.log[name] = [] if kind is None else [e for e in got if not isinstance(e, kind)]
        return got if kind is None else [e for e in got if isinstance(e, kind)]

    def tick(self, dt: float) -> None:
        self.now += dt
        self.client.tick(self.now)
        self.server.tick(self.now)

    def open(self) -> None:
        self.client.open()
        self.server.open()
        self.pump()


def linked_pair(*, chunk: int | None = None, credit: int = 10, sender_kw: dict[str, Any] | None = None,
                receiver_kw: dict[str, Any] | None = None, **pair_kw: Any) -> tuple[CorePair, Any, Any]:
    """An open pair with one session and a client sender attached to a server receiver."""
    from amqp10_proto._events import RemoteAttach, RemoteBegin

    p = CorePair(chunk=chunk, **pair_kw)
    p.open()
    session = p.client.begin_session()
    p.pump()
    (rb,) = p.events("server", RemoteBegin)
    rb.session.begin()
    p.pump()
    sender = session.attach_sender("q1", **(sender_kw or {}))
    p.pump()
    (ra,) = p.events("server", RemoteAttach)
    receiver = ra.link
    for k, v in (receiver_kw or {}).items():
        setattr(receiver, k, v)
    receiver.attach()
    if credit:
        receiver.add_credit(credit)
    p.pump()
    p.events("client")
    p.events("server")
    return p, sender, receiver
