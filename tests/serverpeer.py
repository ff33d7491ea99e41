"""An in-process AMQP 1.0 server on the core's accepting role, for the adapters' tests.

One connection, served by a thread on a loopback port of the system's choosing.
What it does is chosen per test:

- ``ssl_context``: TLS first (a context with ``CERT_REQUIRED`` asks for a client
  certificate); ``peer_cert`` is the certificate the client proved, if any.
- ``sasl``: a function of that certificate returning the core's ``SaslServer``
  (so an EXTERNAL check can see who the TLS layer proved), or None for no SASL.
- ``settle_second``: links that attach to receive from us get ``messages`` and,
  once the client gives each an outcome, we settle it after that many seconds
  (``None``: never, a peer that does not answer; mode second, 2.8.3).
- ``heartbeats``: False makes a peer that never sends one, whatever the client's
  idle-time-out asks (2.4.5); by default the core sends them.

``ExternalCheck`` and ``XOAuth2Check`` are such ``sasl`` functions; each records what
the client's sasl-init carried.

Everything that happened is recorded (``events``, ``dispositions``, ``received``);
an exception in the server thread is kept in ``failure`` and reported by ``close``.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import (
    Connection,
    CreditGranted,
    DeliveryUpdated,
    LinkAttached,
    Message,
    MessageReceived,
    ReceiverSettleMode,
    RemoteAttach,
    RemoteBegin,
    SaslServer,
    Sender,
)
from tests.certs import CLIENT_CN

__all__ = ["TOKEN", "USER", "ExternalCheck", "ServerPeer", "XOAuth2Check", "common_name"]

#: The XOAUTH2 user and bearer token XOAuth2Check admits.
USER, TOKEN = "alice@example.com", "ya29.test-token-0123456789"


def _linger(sock: socket.socket) -> None:
    """Close after a refused handshake as a careful server does: our TLS alert is out,
    so stop writing and read what the client still sends until it closes (at most 2 s),
    rather than reset the connection and maybe lose the alert on its way."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    finally:
        sock.close()


class ServerPeer:
    """Serve one AMQP connection in a thread; see the module docstring for the options."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None,
                 sasl: Callable[[dict[str, Any] | None], SaslServer | None] | None = None,
                 settle_second: float | None = 0.0, messages: int = 0,
                 heartbeats: bool = True,
                 **core_options: Any) -> None:
        self.ssl_context = ssl_context
        self._sasl = sasl
        self.settle_after = settle_second
        self.messages = messages
        self.heartbeats = heartbeats
        self.core_options = core_options
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.core: Connection | None = None
        self.sasl_server: SaslServer | None = None
        self.peer_cert: dict[str, Any] | None = None
        self.tls_error: BaseException | None = None
        self.failure: BaseException | None = None
        self.events: list[Any] = []
        self.received: list[Message] = []
        #: (delivery id, state, settled) of every disposition the client sent us.
        self.dispositions: list[tuple[int, Any, bool]] = []
        #: delivery id -> time we settled it (mode second).
        self.settled_at: dict[int, float] = {}
        self._sent = 0  # messages sent so far (of ``messages``)
        self._to_settle: list[tuple[float, Any, Any]] = []  # (when, link, delivery)
        self._stop = False
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="serverpeer", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """Drop the connection without a close frame (a peer that died)."""
        self._stop = True
        self._thread.join(5)

    def close(self) -> None:
        """Stop serving; re-raise whatever broke the server thread."""
        self._stop = True
        self.listener.close()
        self._thread.join(5)
        assert not self._thread.is_alive(), "the server thread did not end"
        if self.failure is not None:
            raise AssertionError("the test server failed") from self.failure

    def __enter__(self) -> ServerPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            self.listener.settimeout(10)
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.ssl_context is not None:
                sock.settimeout(10)
                sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                    do_handshake_on_connect=False)
                try:
                    sock.do_handshake()
                except (OSError, ssl.SSLError) as exc:
                    self.tls_error = exc
                    _linger(sock)
                    return
                self.peer_cert = sock.getpeercert() or None
            self._sock = sock
            try:
                self._pump(sock)
            finally:
                sock.close()
        except BaseException as exc:
            self.failure = exc

    def _pump(self, sock: socket.socket) -> None:
        self.sasl_server = self._sasl(self.peer_cert) if self._sasl is not None else None
        core = self.core = Connection(role="server", sasl=self.sasl_server, **self.core_options)
        core.open()
        sock.setblocking(False)
        deadline: float | None = None
        while not self._stop:
            now = time.monotonic()
            waits = [0.05] + [when - now for when, _, _ in self._to_settle]
            if deadline is not None:
                waits.append(deadline - now)
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if not pending:
                select.select([sock], [], [], max(0.0, min(waits)))
            try:
                data: bytes | None = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                data = None
            except OSError:
                data = b""
            if data is not None:
                core.receive_data(data)
            now = time.monotonic()
            self._settle_due(now)
            if self.heartbeats:
                deadline = core.tick(now)
            while (ev := core.next_event()) is not None:
                self.events.append(ev)
                self._on(ev)
            out = core.data_to_send()
            if out:
                sock.setblocking(True)
                sock.sendall(out)
                sock.setblocking(False)
            if data == b"" or core.ended:
                return

    def _settle_due(self, now: float) -> None:
        due = [item for item in self._to_settle if item[0] <= now]
        for item in due:
            self._to_settle.remove(item)
            _, link, delivery = item
            link.settle(delivery)
            self.settled_at[delivery.id] = now

    def _on(self, ev: Any) -> None:
        if isinstance(ev, RemoteBegin):
            ev.session.begin()
        elif isinstance(ev, RemoteAttach):
            link = ev.link
            if isinstance(link, Sender) and link.receiver_settle_mode is ReceiverSettleMode.SECOND:
                link.auto_settle = False  # we settle when the test says (2.8.3)
            link.attach()
        elif isinstance(ev, LinkAttached) and hasattr(ev.link, "add_credit"):
            ev.link.add_credit(100)
        elif isinstance(ev, CreditGranted):
            link = ev.link
            while link.sendable and self._sent < self.messages:
                link.send(Message(f"m{self._sent}".encode()))
                self._sent += 1
        elif isinstance(ev, MessageReceived):
            self.received.append(ev.message)
            ev.link.accept(ev.delivery)
        elif isinstance(ev, DeliveryUpdated):
            delivery = ev.delivery
            self.dispositions.append((delivery.id, ev.state, ev.settled))
            link = delivery.link
            if isinstance(link, Sender) and not link.auto_settle and not delivery.settled \
                    and ev.state is not None and self.settle_after is not None:
                self._to_settle.append((time.monotonic() + self.settle_after, link, delivery))


# -- SASL checks for ``sasl=`` -------------------------------------------------------

def common_name(cert: dict[str, Any] | None) -> str | None:
    """The CN of a certificate as ``SSLSocket.getpeercert()`` gives it."""
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class ExternalCheck:
    """Builds the server's SaslServer for a TLS peer: EXTERNAL as the certificate's CN."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []  # (authzid, CN the TLS layer proved)

    def __call__(self, cert: dict[str, Any] | None) -> SaslServer:
        cn = common_name(cert)

        def external(authzid: str) -> bool:
            self.asked.append((authzid, cn))
            return cn == CLIENT_CN and authzid in ("", cn)

        return SaslServer(external=external)


class XOAuth2Check:
    """Builds the server's SaslServer: XOAUTH2, admitting only USER with TOKEN."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, cert: dict[str, Any] | None) -> SaslServer:
        def xoauth2(user: str, token: str) -> bool:
            self.asked.append((user, token))
            return (user, token) == (USER, TOKEN)

        return SaslServer(xoauth2=xoauth2)
