"""A scripted AMQP 1.0 peer on the core's accepting role, in the test's own event loop.

It takes the client's sender links and gives the test the hand of a broker: how much
credit to grant and when (``credit``, :meth:`CorePeer.grant`), which outcome each
message gets (``outcome``: a function of the body, returning "accept", "reject",
"release" or None to hold it unanswered), and when to detach (:meth:`detach`).
What it received is in ``received`` (bodies, in arrival order). Clearing ``reading``
makes it stop reading the socket (a slow consumer: the client's writes back up).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from amqp10_proto import (
    Connection,
    Error,
    LinkAttached,
    MessageReceived,
    Receiver,
    RemoteAttach,
    RemoteBegin,
)

__all__ = ["CorePeer"]


def accept_all(body: bytes) -> str | None:
    return "accept"


class CorePeer:
    """Serve one client connection (``url``) with the policy given; see the module docstring."""

    def __init__(self, *, credit: int = 100,
                 outcome: Callable[[bytes], str | None] = accept_all) -> None:
        self.credit = credit
        self.outcome = outcome
        self.received: list[bytes] = []
        self.held: list[Any] = []  # deliveries left unanswered
        self.links: list[Receiver] = []
        self.core: Connection | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self.port = 0
        self.reading = asyncio.Event()
        self.reading.set()

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CorePeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        if self._writer is not None:
            self._writer.close()

    def grant(self, n: int) -> None:
        """Give every sender link of the client ``n`` more credit (2.6.7)."""
        for link in self.links:
            link.add_credit(n)
        self._step()

    def detach(self, description: str = "detached by the test") -> None:
        """Detach every link with an error, as a broker that drops a link does (2.6.6)."""
        for link in self.links:
            link.detach(Error(condition="amqp:internal-error", description=description))
        self._step()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        core = self.core = Connection(role="server", sasl=None)
        core.open()
        self._step()
        while True:
            await self.reading.wait()
            data = await reader.read(1 << 20)
            core.receive_data(data)
            self._step()
            if not data or core.ended:
                writer.close()
                return

    def _step(self) -> None:
        core = self.core
        assert core is not None
        while (ev := core.next_event()) is not None:
            if isinstance(ev, RemoteBegin):
                ev.session.begin()
            elif isinstance(ev, RemoteAttach):
                ev.link.attach()
            elif isinstance(ev, LinkAttached) and isinstance(ev.link, Receiver):
                self.links.append(ev.link)
                if self.credit:
                    ev.link.add_credit(self.credit)
            elif isinstance(ev, MessageReceived):
                body = ev.message.body
                self.received.append(body)
                how = self.outcome(body)
                if how is None:
                    self.held.append(ev.delivery)
                elif how == "reject":
                    ev.link.reject(ev.delivery, Error(condition="amqp:precondition-failed",
                                                      description=f"no {body!r}"))
                else:
                    getattr(ev.link, how)(ev.delivery)
        out = core.data_to_send()
        if out and self._writer is not None:
            self._writer.write(out)
