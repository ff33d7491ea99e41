"""A tiny in-process AMQP server on the core (role="server"), for the sync adapter's tests.

It answers begins and attaches, grants credit, and settles each message with an
outcome chosen by its body: b"reject", b"release", b"modify", else accepted.
``silent`` makes it stop answering (a hung peer); ``kill()`` drops the socket.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

from amqp10_proto import (
    Connection,
    Error,
    LinkAttached,
    MessageReceived,
    Modified,
    Rejected,
    Released,
    RemoteAttach,
    RemoteBegin,
)


class FakePeer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, credit: int = 100,
                 **server_options: Any) -> None:
        self.ssl_context = ssl_context
        self.credit = credit  # granted to each sender on attach
        self.grants = 0  # more credit to grant (from the test thread), taken by the loop
        self.links: list[Any] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.options = server_options
        self.silent = False
        self.stop = False
        self.sock: socket.socket | None = None
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.stop = True
        if self.sock is not None:
            self.sock.close()

    def close(self) -> None:
        self.stop = True
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        self.listener.settimeout(5)
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        if self.ssl_context is not None:
            sock.settimeout(5)
            try:
                sock = self.ssl_context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                sock.close()
                return
        self.sock = sock
        sock.settimeout(0.05)
        core = Connection(role="server", **self.options)
        core.open()
        try:
            while not self.stop:
                if self.silent:
                    time.sleep(0.05)
                    continue
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    data = None
                if data is not None:
                    core.receive_data(data)
                    if not data:
                        return
                if self.grants:
                    grant, self.grants = self.grants, 0
                    for link in self.links:
                        link.add_credit(grant)
                core.tick(time.monotonic())
                while (ev := core.next_event()) is not None:
                    self._on(ev)
                out = core.data_to_send()
                if out:
                    sock.sendall(out)
                if core.ended:
                    return
        except OSError:
            return
        finally:
            sock.close()

    def _on(self, ev: Any) -> None:
        if isinstance(ev, RemoteBegin):
            ev.session.begin()
        elif isinstance(ev, RemoteAttach):
            ev.link.attach()
        elif isinstance(ev, LinkAttached) and hasattr(ev.link, "add_credit"):
            self.links.append(ev.link)
            if self.credit:
                ev.link.add_credit(self.credit)
        elif isinstance(ev, MessageReceived):
            body = ev.message.body
            self.received.append(body)
            if body == b"reject":
                ev.link.settle(ev.delivery, Rejected(error=Error(condition="amqp:precondition-failed",
                                                                 description="no thanks")))
            elif body == b"release":
                ev.link.settle(ev.delivery, Released())
            elif body == b"modify":
                ev.link.settle(ev.delivery, Modified(delivery_failed=True, undeliverable_here=True))
            elif body == b"hold":
                pass  # never settled
            elif body == b"silence":
                self.silent = True
            else:
                ev.link.accept(ev.delivery)
