"""The embedded in-memory AMQP 1.0 broker: for a first run and for tests, not for production.

:class:`Broker` serves AMQP 1.0 on asyncio with the protocol core's accepting role.
What it does:

- A queue per address, created on first use (a sender's target or a receiver's
  source). Messages live in memory only: terminus durability is answered ``none``.
- Round robin to the receivers with credit on a queue; credit, delivery-count,
  drain and echo as 2.6.7 says. Receivers attached with snd-settle-mode
  ``settled`` get pre-settled deliveries (at most once); others get unsettled ones.
- Outcomes (3.4): ``accepted`` removes the message, ``rejected`` drops it (there is
  no dead-letter queue), ``released`` puts it back at its original place in the
  queue, ``modified`` too, counting a failed attempt in the header's delivery-count
  when ``delivery-failed``, merging its message-annotations, and never giving it to
  the same link again when ``undeliverable-here`` (it waits for another consumer).
  Settled with no outcome means the source's default-outcome, else accepted. What
  a receiver held unsettled when its link, session or connection ended goes back in
  order. rcv-settle-mode ``second`` is honoured both ways (the core settles after
  the peer, 2.6.12).
- Incoming messages are settled ``accepted`` once queued (pre-settled ones are
  taken as they are). A sender with no target address is the anonymous relay
  (``ANONYMOUS-RELAY`` is offered): each message goes to the queue its
  ``properties.to`` names, created on first use like any other; one without a ``to``,
  or to a dynamic node that is gone, is rejected with ``amqp:not-found``.
- Dynamic nodes (3.5.3): a link attached with ``dynamic=true`` gets a fresh queue
  whose address is returned in the attached terminus, deleted (with its messages)
  when that link detaches; other links on it are detached with
  ``amqp:resource-deleted``.
- SASL ANONYMOUS (and clients with no SASL layer) and PLAIN against ``users``;
  when users are given ANONYMOUS is off unless ``allow_anonymous=True``. TLS with an
  ``ssl.SSLContext``. Messages larger than max-frame-size are split and joined
  (2.7.5). Heartbeats and the idle timeout by the core's ``tick``. A client that
  stops reading stops receiving messages (and being read) once the transport's
  write buffer is full: what it did not take stays queued.
- Limits, each enforced with a clear error (see ``docs/howto/broker-limits.md``):
  connections, sessions per connection (channel-max), links per session
  (handle-max), messages per queue, message size (100 MiB by default), the
  handshake timeout, and the idle timeout. One client's burst of frames is
  handled a slice per loop turn, so it cannot keep the broker from the others.

- AMQP over WebSocket (``serve(ws_port=...)``, ``amqp10 broker --ws-port``): a second
  listener where each connection upgrades to a WebSocket (OASIS AMQP WebSocket Binding:
  subprotocol ``amqp``, or the draft's ``AMQPWSB10`` that the Azure SDKs offer; any
  request path) and then carries the same AMQP as the TCP port, with the same queues,
  SASL, TLS and limits, through :mod:`amqp10_ws`'s sans-IO layer (needs wsproto:
  ``amqp10[ws]``). A bad upgrade is answered with an HTTP error, a text message or an
  oversized frame with a close frame, each before the socket closes.

- Local transactions (part 4, ``amqp10_cli._broker_txn``): a coordinator per
  connection; transactional sends are queued only at commit, transactional outcomes
  applied only at commit (at rollback the messages are available again); a commit
  that cannot be done whole is refused ``amqp:transaction:rollback``; a control link
  or connection that ends with a transaction open rolls it back; work naming an
  unknown txn-id detaches its link with ``amqp:transaction:unknown-id``.

Not supported (refused or ignored, with a clear error where there is one):
distributed transactions (a declare with a global-id is refused
``amqp:not-implemented``), filters other than a selector (answered absent, 3.5.3), persistence, message TTL. Link recovery
(2.6.13) is kept for durable links, and selector filters are applied.
For production, use RabbitMQ, ActiveMQ Artemis, Qpid Dispatch Router or Azure
Service Bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amqp10_proto import Error, ErrorCondition, SaslServer
from amqp10_proto import __version__ as _version
from amqp10_proto.client import DEFAULT_MAX_MESSAGE_SIZE

from ._broker_conn import HANDSHAKE_TIMEOUT, ServerConnection
from ._broker_links import LINK_STATE_EXPIRY, LinkStore
from ._broker_nodes import BrokerNodes
from ._queues import Router

if TYPE_CHECKING:
    from amqp10_ws import WebSocketLayer

__all__ = ["DEFAULT_MAX_CONNECTIONS", "DEFAULT_MAX_LINKS", "DEFAULT_MAX_MESSAGE_SIZE",
           "DEFAULT_MAX_QUEUE_DEPTH", "DEFAULT_MAX_SESSIONS", "DEFAULT_WS_MAX_FRAME_SIZE",
           "Broker", "RunningBroker", "start_broker"]

log = logging.getLogger("amqp10.broker")

#: Seconds the clients get to answer our close when the broker stops.
CLOSE_GRACE = 2.0

#: The default limits (see :class:`Broker`); the message size, 100 MiB, is the clients'
#: (``amqp10_proto.client.DEFAULT_MAX_MESSAGE_SIZE``).
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_SESSIONS = 256
DEFAULT_MAX_LINKS = 256
DEFAULT_MAX_QUEUE_DEPTH = 100_000
#: The longest WebSocket frame payload taken on the WebSocket listener (amqp10_ws's default).
DEFAULT_WS_MAX_FRAME_SIZE = 64 * 1024 * 1024


def _positive(name: str, value: float | None, *, top: float | None = None,
              none: bool = True) -> None:
    """Refuse a limit that is not a positive number (or None, where that means no limit)."""
    if value is None and none:
        return
    if (value is None or isinstance(value, bool) or not isinstance(value, (int, float))
            or value <= 0 or (top is not None and value > top)):
        within = f" up to {top}" if top is not None else ""
        raise ValueError(f"{name} must be a positive number{within}"
                         f"{' or None' if none else ''}, not {value!r}")


class Broker:
    """An in-memory AMQP 1.0 broker (see the module docstring for what it does and not).

    ``users`` maps user names to passwords for SASL PLAIN; ``allow_anonymous``
    (default: only when no users are given) admits SASL ANONYMOUS and clients that
    skip SASL. ``ssl_context`` (a server context with its certificate) makes it
    serve amqps. ``idle_timeout`` (seconds) is advertised in our open and enforced.

    The limits (each enforced, with the AMQP error a client sees):

    - ``max_message_size`` (bytes, default 100 MiB; None: none) is advertised on
      publishing links; a bigger message detaches its link with
      ``amqp:link:message-size-exceeded`` as soon as its transfers pass it.
    - ``max_connections`` (default 1000; None: none): the next client is closed with
      ``amqp:resource-limit-exceeded`` right after its open.
    - ``max_sessions`` per connection (default 256, at most 65536) is our open's
      channel-max + 1; a begin beyond it closes the connection
      (``amqp:connection:framing-error``, 2.7.1).
    - ``max_links`` per session (default 256) is our begin's handle-max + 1: an
      attach on a higher handle closes the connection (``amqp:connection:framing-error``,
      2.7.2); one beyond the count (sent before our begin came) is refused with
      ``amqp:resource-limit-exceeded``.
    - ``max_queue_depth`` messages per queue (default 100,000; None: none): a
      message for a full queue is rejected with ``amqp:resource-limit-exceeded``.
    - ``handshake_timeout`` (seconds, default 30): a client that has not opened by
      then is dropped.
    - ``link_state_expiry`` (seconds, default 300): a link whose terminus asks for
      durable=unsettled-state and expiry-policy never keeps what it held unsettled
      when its connection is lost (at most its credit window of messages), keyed by
      (client container-id, link name, role), for this long; a re-attach with an
      unsettled map resumes it (2.6.13). Then a consumer's messages are requeued.

    - ``ws_max_frame_size`` (bytes, default 64 MiB): on the WebSocket listener, a longer
      WebSocket frame is closed with 1009 (message too big).

    ``sas_keys`` (shared access key name -> key) serves ``$cbs``: a put-token with a SAS
    token signed by one of them is answered 202, a bad or expired one 401, as Azure
    does. ``$management`` (and ``QUEUE/$management``) answers READ of a queue and
    ``com.microsoft:peek-message``.
    """

    def __init__(self, users: dict[str, str] | None = None,
                 allow_anonymous: bool | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 idle_timeout: float | None = None, container_id: str | None = None,
                 *, max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
                 max_frame_size: int = 65536,
                 max_connections: int | None = DEFAULT_MAX_CONNECTIONS,
                 max_sessions: int = DEFAULT_MAX_SESSIONS,
                 max_links: int = DEFAULT_MAX_LINKS,
                 max_queue_depth: int | None = DEFAULT_MAX_QUEUE_DEPTH,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 link_state_expiry: float = LINK_STATE_EXPIRY,
                 sas_keys: dict[str, str] | None = None,
                 ws_max_frame_size: int = DEFAULT_WS_MAX_FRAME_SIZE) -> None:
        self.users = dict(users) if users else None
        self.anonymous = (not self.users) if allow_anonymous is None else bool(allow_anonymous)
        if not self.anonymous and not self.users:
            raise ValueError("nobody could log in: give users, or allow anonymous access")
        _positive("idle_timeout", idle_timeout)
        _positive("max_message_size", max_message_size)
        _positive("max_connections", max_connections)
        _positive("max_sessions", max_sessions, top=0x10000, none=False)
        _positive("max_links", max_links, top=0x100000000, none=False)
        _positive("max_queue_depth", max_queue_depth)
        _positive("handshake_timeout", handshake_timeout, none=False)
        _positive("ws_max_frame_size", ws_max_frame_size, none=False)
        self.ssl_context = ssl_context
        self.idle_timeout = idle_timeout
        self.container_id = container_id or "amqp10-broker"
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self.max_connections = max_connections
        self.max_sessions = max_sessions
        self.max_links = max_links
        self.max_queue_depth = max_queue_depth
        self.handshake_timeout = handshake_timeout
        self.ws_max_frame_size = ws_max_frame_size
        #: Where the WebSocket listener is bound, ``(host, port)``, while it serves.
        self.ws_address: tuple[str, int] | None = None
        self.version = _version
        self.router = Router(max_depth=max_queue_depth)
        _positive("link_state_expiry", link_state_expiry, none=False)
        #: Durable links' unsettled state across connections (2.6.13).
        self.link_store = LinkStore(link_state_expiry)
        #: The $cbs node (served with sas_keys) and $management (queue info, peek).
        self.nodes = BrokerNodes(sas_keys)
        self.connections: set[ServerConnection] = set()
        self._serving = False

    def __repr__(self) -> str:
        return (f"<Broker {len(self.router.queues)} queue(s), "
                f"{len(self.connections)} connection(s)>")

    @property
    def mechanisms(self) -> list[str]:
        """The SASL mechanisms offered."""
        return ["PLAIN"] * bool(self.users) + ["ANONYMOUS"] * self.anonymous

    def sasl_server(self) -> SaslServer:
        """A SASL server for one connection (5.3): PLAIN against ``users``, and/or ANONYMOUS."""
        users = self.users
        plain = None
        if users:
            def plain(username: str, password: str) -> bool:
                known = users.get(username)
                # Compared in constant time, so timing tells nothing of the password.
                return known is not None and hmac.compare_digest(known.encode(),
                                                                 password.encode())
        return SaslServer(plain=plain, anonymous=self.anonymous)

    async def serve(self, host: str = "127.0.0.1", port: int = 5672, *,
                    ws_port: int | None = None,
                    ready: Callable[[str, int], None] | None = None) -> None:
        """Listen on ``host:port`` and serve until cancelled; then close every connection.

        ``ws_port`` (None: none) adds the WebSocket listener on ``host:ws_port``
        (``ws_address`` says where, once bound). ``ready(host, port)`` is called once
        listening (``port=0`` picks a free port; this tells which). On cancel, every
        client gets a close frame (``amqp:connection:forced``) and up to
        ``CLOSE_GRACE`` (2) s to answer it; the ports are free when this returns.
        """
        if self._serving:
            raise RuntimeError("this broker is already serving")
        if ws_port is not None:
            _ws_layer_class()  # ImportError naming amqp10[ws] before anything listens
        self._serving = True
        loop = asyncio.get_running_loop()
        servers: list[asyncio.Server] = []

        async def listen(factory: Callable[[], asyncio.Protocol], on: int) -> None:
            servers.append(await loop.create_server(
                factory, host, on, ssl=self.ssl_context, reuse_address=True,
                ssl_handshake_timeout=10.0 if self.ssl_context else None))

        try:
            await listen(lambda: ServerConnection(self), port)
            if ws_port is not None:
                await listen(lambda: WsServerConnection(self), ws_port)
        except BaseException:
            for server in servers:
                server.close()
            self._serving = False
            raise
        try:
            bound = servers[0].sockets[0].getsockname()
            scheme = "amqps" if self.ssl_context else "amqp"
            log.info("amqp10 broker listening on %s://%s:%d (SASL %s)", scheme, bound[0],
                     bound[1], " ".join(self.mechanisms))
            if ws_port is not None:
                ws_bound = servers[1].sockets[0].getsockname()
                self.ws_address = (str(ws_bound[0]), int(ws_bound[1]))
                log.info("amqp10 broker listening on %s://%s:%d/ (AMQP over WebSocket)",
                         "amqpwss" if self.ssl_context else "amqpws", *self.ws_address)
            if ready is not None:
                ready(str(bound[0]), int(bound[1]))
            await loop.create_future()  # until cancelled
        finally:
            for server in servers:
                server.close()
            await self._close_all()
            for server in servers:
                await server.wait_closed()
            self.ws_address = None
            self._serving = False

    async def _close_all(self) -> None:
        """Close every connection with a close frame; drop those that do not answer in time."""
        conns = list(self.connections)
        if not conns:
            return
        error = Error(condition=ErrorCondition.CONNECTION_FORCED,
                      description="the broker is shutting down")
        for conn in conns:
            conn.close(error)
        gone = [asyncio.shield(c.gone) for c in conns]
        _, pending = await asyncio.wait(gone, timeout=CLOSE_GRACE)
        for conn in conns:
            if not conn.gone.done():
                conn.abort()
        if pending:
            await asyncio.wait([asyncio.shield(c.gone) for c in conns], timeout=1.0)


def _ws_layer_class() -> type[WebSocketLayer]:
    """amqp10_ws's layer, imported only where WebSocket is served (wsproto is optional)."""
    from amqp10_ws import WebSocketLayer  # ImportError: pip install 'amqp10[ws]'

    return WebSocketLayer


class _WsTransport(asyncio.Transport):
    """What a :class:`ServerConnection` writes to on the WebSocket listener: its AMQP bytes
    go out in binary frames, and closing it closes the WebSocket (close frame) first."""

    def __init__(self, outer: WsServerConnection, real: asyncio.Transport) -> None:
        super().__init__()
        self._outer = outer
        self._real = real

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._outer.write_amqp(data)

    def is_closing(self) -> bool:
        return self._real.is_closing() or not self._outer.layer.open

    def close(self) -> None:
        self._outer.close_ws()

    def abort(self) -> None:
        self._real.abort()

    def pause_reading(self) -> None:
        self._real.pause_reading()

    def resume_reading(self) -> None:
        self._real.resume_reading()

    def is_reading(self) -> bool:
        return self._real.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._real.get_write_buffer_size()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._real.get_extra_info(name, default)


class WsServerConnection(asyncio.Protocol):
    """One connection on the WebSocket listener: the socket's bytes go through a server
    :class:`amqp10_ws.WebSocketLayer`, and the AMQP bytes it yields to an ordinary
    :class:`ServerConnection` (the same limits, SASL and queues as the TCP port), which
    writes through :class:`_WsTransport`. Flow control and timers are the inner one's."""

    def __init__(self, broker: Broker) -> None:
        self.layer = _ws_layer_class()("server", max_frame_size=broker.ws_max_frame_size)
        self.inner = ServerConnection(broker)
        self._real: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._real = transport
        self.inner.connection_made(_WsTransport(self, transport))
        self.inner.label = f"ws {self.inner.label}"

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool:
        self._feed(b"")
        # Kept open (plain TCP) for _feed to close after our last frames; asyncio's TLS
        # transport closes itself after the peer's close_notify, and warns if asked not to.
        return self._real is not None and self._real.get_extra_info("ssl_object") is None

    def _feed(self, data: bytes) -> None:
        from amqp10_ws import WebSocketError

        layer = self.layer
        try:
            layer.receive_data(data)
        except WebSocketError as exc:
            log.info("%s: %s", self.inner.label, exc)
        self._write()
        amqp = layer.received()
        if amqp:
            self.inner.data_received(amqp)
        if layer.error is not None:
            self._close_real()  # after the HTTP refusal or close frame just written
        elif layer.eof and not self.inner.eof_received():
            self.close_ws()  # the client's AMQP stream ended: after our last frames

    def write_amqp(self, data: bytes | bytearray | memoryview) -> None:
        """The inner connection's AMQP bytes, framed; dropped once the client's WebSocket
        closed (it reads nothing more)."""
        if self.layer.open:
            self.layer.send(data)
            self._write()

    def close_ws(self) -> None:
        """Our close frame (7.1.2), then the socket: as a server we close TCP first (7.1.1)."""
        self.layer.close()
        self._write()
        self._close_real()

    def _write(self) -> None:
        out = self.layer.data_to_send()
        if out and self._real is not None and not self._real.is_closing():
            self._real.write(out)

    def _close_real(self) -> None:
        if self._real is not None and not self._real.is_closing():
            self._real.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class RunningBroker:
    """A broker running on its own asyncio loop in a daemon thread (see :func:`start_broker`)."""

    def __init__(self, broker: Broker, host: str, port: int,
                 loop: asyncio.AbstractEventLoop, task: asyncio.Task[None],
                 thread: threading.Thread, ws_port: int | None = None) -> None:
        self.broker = broker
        self.host = host
        self.port = port
        #: The WebSocket listener's port (None without one).
        self.ws_port = ws_port
        self._loop = loop
        self._task = task
        self._thread = thread

    @property
    def url(self) -> str:
        """``amqp://HOST:PORT`` (``amqps://`` with TLS) to give a client."""
        scheme = "amqps" if self.broker.ssl_context else "amqp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``amqpws://HOST:PORT/`` (``amqpwss://`` with TLS) of the WebSocket listener."""
        if self.ws_port is None:
            raise ValueError("this broker has no WebSocket listener: start it with ws_port=")
        scheme = "amqpwss" if self.broker.ssl_context else "amqpws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.ws_port}/"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the port, and join the thread (TimeoutError if it hangs)."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between: it is ending
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the broker on port {self.port} did not stop within {timeout} s")

    def __enter__(self) -> RunningBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningBroker {self.url}{'' if self.running else ' stopped'}>"


def start_broker(host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0,
                 ws_port: int | None = None, **options: Any) -> RunningBroker:
    """Start a :class:`Broker` (``options`` are its arguments) in a daemon thread.

    Returns once it listens: ``with start_broker() as running: ... running.url``.
    ``ws_port`` (0: a free one) adds the WebSocket listener (``running.ws_url``).
    Raises what binding raised (e.g. OSError: address in use), or TimeoutError.
    """
    broker = Broker(**options)
    started = threading.Event()
    box: dict[str, Any] = {}

    def ready(h: str, p: int) -> None:
        box["address"] = (h, p)
        box["ws_port"] = None if broker.ws_address is None else broker.ws_address[1]
        started.set()

    async def main() -> None:
        box["loop"] = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        box["task"] = task
        await broker.serve(host, port, ws_port=ws_port, ready=ready)

    def run() -> None:
        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            box["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run, name=f"amqp10-broker-{port}", daemon=True)
    thread.start()
    if not started.wait(timeout):
        raise TimeoutError(f"the broker did not start listening within {timeout} s")
    if "error" in box:
        thread.join(timeout)
        raise box["error"]
    h, p = box["address"]
    return RunningBroker(broker, h, p, box["loop"], box["task"], thread, box["ws_port"])
