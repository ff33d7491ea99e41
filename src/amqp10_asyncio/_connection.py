"""The asyncio connection: one transport at a time, one protocol object for each.

Bytes arrive in ``data_received`` (a callback of the event loop, not a task)
and go straight into the core; whoever calls the core then writes
``data_to_send()`` to the transport and hands the events to the objects that
wait on them. ``tick()`` runs from a ``loop.call_at`` timer set to the
deadline the core returned, so an idle connection only wakes for heartbeats.
Callers wait on futures that the pump resolves when something changed; the
core holds all the protocol state.

No task runs while the connection is up. When a transport is lost and the policy
says to reconnect (issue 9), one task waits for each try's time, connects, and
installs the new transport and core; the pump moves the new handshake on (sessions
and links attached again once the peer's open is here), and ``close()`` cancels and
awaits that task, so nothing is left running. How a URL is reached (TLS, an HTTP
proxy, WebSocket) is ``_transport``'s.

Where each part is: this module holds ``Connection``'s API, its waits and the pump
(``_after``, ``_process``); ``_protocol`` the transport's protocol and the I/O on it
(bytes in, the writes and their backlog of chunks, the timer); ``_lifecycle`` the
transports' life (opening, losing one, the reconnect loop). Both are mixins of
``Connection``: one object, no call layer between them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, cast

import amqp10_proto as proto
from amqp10_proto import Connection as CoreConnection
from amqp10_proto import ParsedURL
from amqp10_proto import errors as amqp_errors
from amqp10_proto._proxy import proxy_for
from amqp10_proto.client import (
    DEFAULT,
    ConnectionInfo,
    EarlyWrites,
    FirstConnect,
    ProxyOption,
    Reconnect,
    Recovering,
    SaslOption,
    check_connect_timeouts,
    check_symbols,
    closed_error,
    connect_failure,
    connect_sasl,
    dispatch_events,
    socket_peer,
    thread_switches,
    timeout_or,
    urls_sasl,
)
from amqp10_proto.trace import FrameTracer, trace_enabled

from ._common import Opening
from ._lifecycle import Lifecycle
from ._protocol import TransportIO, _Protocol
from ._session import Session
from ._transport import Dialer, require_websocket, timed
from ._wake import EventFilter, Sleepers

__all__ = ["DEFAULT", "Connection", "Reconnect", "connect", "open_connection"]

log = logging.getLogger("amqp10")

_BURST = 32  # transfers or settlements queued before a write goes out regardless


class Connection(Lifecycle, TransportIO, Recovering, ConnectionInfo):
    """An open AMQP 1.0 connection on the running event loop. Made by :func:`open_connection`.

    Use it (and its sessions and links) from tasks of the loop it was opened on.
    With ``reconnect`` on (the default of :func:`open_connection`), a lost transport
    is replaced: ``state`` is "reconnecting" meanwhile, calls wait (within their own
    timeouts), and sessions and links carry on once it is back.
    """

    _core: CoreConnection

    def __init__(self, core: CoreConnection, *, timeout: float, label: str,
                 dialer: Dialer | None = None, policy: Reconnect | None = None,
                 urls: Sequence[ParsedURL] = (), current: int = 0,
                 connect_timeout: float = proto.DEFAULT_CONNECT_TIMEOUT,
                 connected: ParsedURL | None = None) -> None:
        self._core = core
        self._timeout = timeout
        self.label = label
        self._dialer = dialer
        self._connect_timeout = connect_timeout
        self._init_recovery(policy if dialer is not None else None, urls, current, connected)
        self._loop = asyncio.get_running_loop()
        self._protocol = _Protocol(self)
        self._transport: asyncio.Transport | None = None
        self._paused = False  # the transport's buffer is above its high-water mark
        self._dead = False  # the transport is gone (or given up on)
        self._transport_error: str | None = None
        self._transport_cause: BaseException | None = None  # what broke it, when typed
        self._closed_by_user = False
        self._seen_end: CoreConnection | None = None  # the last core whose end was decided
        self._task: asyncio.Task[None] | None = None  # the reconnect loop, while it runs
        self._waiters: list[asyncio.Future[None]] = []  # general waits (_wait_until)
        #: The futures of targeted waits (_park): woken one by one by their own event,
        #: all at once by a rare one (_rouse).
        self._sleepers = Sleepers(self._loop)
        self._events = EventFilter(core)
        self._events_as_core = cast(CoreConnection, self._events)  # (what dispatch_events reads)
        self._stalled: set[Any] = set()  # senders with credit and a queue, paused by the transport
        self._backlog: deque[memoryview] = deque()  # bytes of a large write not handed over yet
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._unflushed = 0  # transfers or settlements queued in the core since the last write
        #: Whether a credit round's first transfer is written at once (issue 12), on a
        #: plain TCP transport (``_plain``: connection_made says) only.
        self._early_writes = EarlyWrites(thread_switches, time.monotonic, time.process_time)
        self._plain = False
        tracing = trace_enabled()
        self._trace_in = FrameTracer(label, "<-") if tracing else None
        self._trace_out = FrameTracer(label, "->") if tracing else None

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the transport lost
        (and, with reconnect on, not coming back)."""
        return (self._core.ended or self._dead) and not self._reconnecting

    def __repr__(self) -> str:
        return f"<amqp10_asyncio.Connection {self.label} {self.state}>"

    async def wait_closed(self) -> None:
        """Return once the connection is over (closed by either side or lost); see ``error``."""
        await self._wait_until(lambda: self.closed, None)

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = proto.DEFAULT_INCOMING_WINDOW,
                     outgoing_window: int = proto.DEFAULT_OUTGOING_WINDOW,
                     handle_max: int = proto.DEFAULT_HANDLE_MAX, properties: dict[str, Any] | None = None,
                     offered_capabilities: list[str] | None = None,
                     desired_capabilities: list[str] | None = None,
                     timeout: float | None = None) -> Opening[Session]:
        """Begin a session and wait until the peer answers (within ``timeout``).

        ``session = await conn.open_session()`` or ``async with conn.open_session() as session``.
        """
        return Opening(self._open_session(
            incoming_window=incoming_window, outgoing_window=outgoing_window,
            handle_max=handle_max, properties=properties,
            offered_capabilities=offered_capabilities,
            desired_capabilities=desired_capabilities, timeout=timeout))

    async def _open_session(self, *, timeout: float | None, **options: Any) -> Session:
        end = self._deadline(timeout)
        await self._wait_connected(end, timeout)
        core = self._core.begin_session(**options)
        session = Session(self, core, options)
        core.context = session
        self._sessions.append(session)
        self._after()
        try:
            ok = await self._wait_until(session._begin_done, end)
            session._check()
            if not ok:
                raise TimeoutError(
                    f"the peer did not answer the begin within {self._span(timeout)} s")
        except BaseException:  # cancelled or timed out: do not leave a half-begun session
            session._end_nowait()
            raise
        return session

    async def close(self, timeout: float | None = None) -> None:
        """Close the connection; give up on the peer (drop the transport) after ``timeout``.

        Every pending operation fails with ConnectionClosedError; nothing is left running
        (a reconnect in progress is stopped, its task cancelled and awaited).
        """
        end = self._deadline(timeout)
        self._closed_by_user = True
        if self._reconnecting:
            self._stop_recovery()  # between transports: nothing to say to anyone
            self._abort("closed while reconnecting")
            self._notify()
        await self._stop_task()
        if not self.closed:
            self._core.close()
            self._after()
        if not await self._wait_until(lambda: self.closed, end):
            log.warning("%s: the peer did not answer our close within %s s; dropping the "
                        "connection", self.label, self._span(timeout))
            self._abort("the peer did not answer our close in time")
        await self._release_transport(max(0.2, end - self._loop.time()))

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("%s: error closing after an exception", self.label, exc_info=True)

    # -- for sessions and links: waiting and checking ----------------------------------------
    def _span(self, timeout: float | None) -> float:
        return timeout_or(self._timeout, timeout)  # TypeError / ValueError if not >= 0

    def _deadline(self, timeout: float | None) -> float:
        return self._loop.time() + self._span(timeout)

    async def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool:
        """Wait until ``pred()``; False if the loop time ``end`` passed first."""
        if pred():
            return True
        loop = self._loop
        fut: asyncio.Future[None] | None = None
        expired = False

        def on_timeout() -> None:
            nonlocal expired
            expired = True
            if fut is not None and not fut.done():
                fut.set_result(None)

        handle = None if end is None else loop.call_at(end, on_timeout)
        try:
            while not pred():
                if expired:
                    return False
                fut = loop.create_future()
                self._waiters.append(fut)
                await fut
            return True
        finally:
            if handle is not None:
                handle.cancel()

    async def _wait_connected(self, end: float, timeout: float | None) -> None:
        """Wait while the connection reconnects (until loop time ``end``), then raise if
        it is over."""
        if self._reconnecting and not await self._wait_until(
                lambda: not self._reconnecting, end):
            raise TimeoutError(f"{self.label}: still reconnecting after {self._span(timeout)} s")
        self._check()

    async def _park(self, future: asyncio.Future[bool], end: float) -> bool:
        """Wait for ``future``, which its own event resolves (True), or a rare one
        (:meth:`_rouse`, True: look again); False once the loop time ``end`` passed.
        (The hot waits do this inline: ``_sleepers.add`` then ``await future``.)"""
        self._sleepers.add(future, end)
        return await future

    def _rouse(self) -> None:
        """Something rare changed (a link, a session, the transport): every targeted
        waiter looks at its condition again."""
        self._sleepers.wake_all()

    def _wake_general(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _notify(self) -> None:
        """Wake every waiter to check its condition again."""
        self._events.stirred = False
        self._wake_general()
        self._rouse()

    def _closed_error(self) -> amqp_errors.ConnectionClosedError:
        if self._given_up is not None:
            return self._given_up
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error,
                            cause=self._transport_cause)  # e.g. the WebSocketError

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call: dispatch events, write what is queued, wake waiters (the
        targeted ones were woken by their own events; all of them only after a rare one)."""
        self._unflushed = 0
        if self._process():
            self._flush()
            self._process()
        # (Else the second round would find nothing: no handler ran but the filter's,
        # which drained the core's events, and a write queues none.)
        self._flush()  # (what a sender's pump sent while the second round was handled)
        if self._waiters:
            self._wake_general()
        if self._events.stirred:
            self._events.stirred = False
            self._rouse()

    def _after_soon(self) -> None:
        """After a send or a settlement: write once this loop iteration's are queued (one
        syscall for a burst of transfers or dispositions, not one each), or at once when
        the burst grows long."""
        n = self._unflushed
        self._unflushed = n + 1
        if n == 0:
            self._loop.call_soon(self._after)
        elif n >= _BURST:
            self._after()

    def _process(self) -> bool:
        """Hand the core's events out; True if anything beyond the event filter's own
        answers (an outcome, credit) ran, which may have queued more for a second round."""
        core = self._core
        more = False
        if core.ended and self._seen_end is not core:
            more = True
            # The core is over: a lost transport is replaced (issue 9) if the policy says
            # so; decided before its events are handed out, so that its sessions and
            # links wait for the new transport instead of failing.
            self._seen_end = core
            if self._transport_down(self._loop.time(), core.error, core.error_is_local):
                self._drop_transport()
                if self._task is None:
                    self._task = self._loop.create_task(self._reconnect())
            elif self._given_up is not None:
                self._dead = True
        self._events.core = core
        # (The filter answers the delivery updates and credit itself; for the rest it
        # is the core.)
        if dispatch_events(self._events_as_core, self.label, reconnecting=self._reconnecting):
            more = True
        if self._reconnecting and not self._dead:
            self._handshake()
            more = True
        return more


# -- entry points ---------------------------------------------------------------------------

def open_connection(
    url: str | Sequence[str],
    *,
    sasl: SaslOption = DEFAULT,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    hostname: str | None = None,
    connect_timeout: float = proto.DEFAULT_CONNECT_TIMEOUT,
    timeout: float = proto.DEFAULT_TIMEOUT,
    idle_timeout: float | None = proto.DEFAULT_IDLE_TIMEOUT,
    container_id: str | None = None,
    max_frame_size: int = proto.DEFAULT_MAX_FRAME_SIZE,
    channel_max: int = proto.DEFAULT_CHANNEL_MAX,
    properties: dict[str, Any] | None = None,
    allow_plain_without_tls: bool = False,
    reconnect: bool | Reconnect = True,
    http_proxy: ProxyOption = None,
    offered_capabilities: list[str] | None = None,
    desired_capabilities: list[str] | None = None,
) -> Opening[Connection]:
    """Connect to ``amqp://[user:password@]host[:port]`` (or ``amqps://``, or over WebSocket
    ``amqpws://``, ``amqpwss://host[:port]/path``) and open.

    ``conn = await open_connection(url)`` or ``async with open_connection(url) as conn``.
    ``url`` may be a list of URLs (a failover list): the first connect tries them in
    order within ``connect_timeout`` in all and raises if none answers; later
    reconnects go round the list. Credentials in the URL (percent-decoded) mean
    SASL PLAIN; otherwise SASL ANONYMOUS, unless ``sasl=`` chooses (``None``: no
    SASL layer). ``amqps`` uses TLS with verification (``ssl.create_default_context()``
    unless ``ssl_context``). ``timeout`` is the default of every later waiting call.
    ``reconnect``: True (the default policy), False, or a :class:`Reconnect`: a lost
    transport is replaced and sessions and links attached again (see the how-to
    "Surviving broker failures" for what is resent). Raises OSError (refused,
    unreachable), TimeoutError, or AuthenticationError.
    ``idle_timeout``: seconds without a frame from the peer before we close (2.4.5: it
    is told to send at least that often); 0 or None turns it off. A path in the URL
    names a virtual host (``amqp://host/vhost``: the open's hostname ``vhost:vhost``,
    as RabbitMQ reads it; ``hostname=`` overrides); a query or fragment is a ValueError.
    A WebSocket URL's path is the upgrade's request target (any, e.g.
    ``/$servicebus/websocket``); it needs ``pip install 'amqp10[ws]'``, and a refused
    upgrade raises WebSocketHandshakeError. ``http_proxy``: a URL
    ``http://[user:password@]host[:port]`` to tunnel through with HTTP CONNECT, False for
    none, None (the default) for the environment's ``HTTPS_PROXY`` (TLS URLs) or
    ``HTTP_PROXY`` (``amqpws://``) and ``NO_PROXY``, read at each dial; a refused CONNECT
    raises ProxyError (ProxyAuthenticationError for credentials), with its status.
    ``offered_capabilities``/``desired_capabilities``: the open's (2.7.1), lists of str.
    """
    parsed_urls = urls_sasl(url, sasl, ssl_context=ssl_context,
                            allow_plain_without_tls=allow_plain_without_tls, websocket=True)
    require_websocket(parsed_urls)
    proxy_for(parsed_urls[0], http_proxy)  # a malformed proxy URL is a ValueError now
    policy = Reconnect.resolve(reconnect)
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    dialer = Dialer(sasl=sasl, ssl_context=ssl_context, server_hostname=server_hostname,
                    hostname=hostname, container_id=container_id, http_proxy=http_proxy,
                    options=_core_options(idle_timeout, max_frame_size, channel_max, properties,
                                          offered_capabilities, desired_capabilities))

    async def opening() -> Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + connect_timeout
        tries = FirstConnect(parsed_urls)
        for index, parsed in tries:
            left = deadline - loop.time()
            if left <= 0 and tries.error is not None:
                break
            left = max(left, 0.001)
            conn = Connection(dialer.core(parsed), timeout=timeout,
                              label=f"{parsed.host}:{parsed.port}", dialer=dialer,
                              policy=policy, urls=parsed_urls, current=index,
                              connect_timeout=connect_timeout, connected=parsed)
            try:
                await dialer.connect(parsed, conn._protocol, left)
                await conn._start(left)
                return conn
            except amqp_errors.AuthenticationError:
                raise  # a refused login is refused everywhere: no other URL is tried
            except (OSError, amqp_errors.ConnectionClosedError,
                    amqp_errors.RemoteProtocolError) as exc:  # TimeoutError, WebSocket too
                # Said with host:port and, for a TLS mismatch, what to change; 2.8.15: a
                # redirect is often the answer.
                tries.failed(connect_failure(exc, parsed, conn._core), index, parsed)
        assert tries.error is not None
        raise tries.error

    return Opening(opening())


def connect(
    sock: socket.socket,
    *,
    sasl: SaslOption = DEFAULT,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    hostname: str | None = None,
    connect_timeout: float = proto.DEFAULT_CONNECT_TIMEOUT,
    timeout: float = proto.DEFAULT_TIMEOUT,
    idle_timeout: float | None = proto.DEFAULT_IDLE_TIMEOUT,
    container_id: str | None = None,
    max_frame_size: int = proto.DEFAULT_MAX_FRAME_SIZE,
    channel_max: int = proto.DEFAULT_CHANNEL_MAX,
    properties: dict[str, Any] | None = None,
    allow_plain_without_tls: bool = False,
    offered_capabilities: list[str] | None = None,
    desired_capabilities: list[str] | None = None,
) -> Opening[Connection]:
    """Open an AMQP connection over an already-connected (plain) socket.

    ``ssl_context`` runs TLS over it first (``server_hostname`` or ``hostname``
    or the peer's address is checked). The connection owns the socket from here
    on and closes it. ``sasl`` defaults to ANONYMOUS. A connection made from a
    given socket does not reconnect (it would not know where to). ``idle_timeout`` 0 or None: none.
    """
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    options = _core_options(idle_timeout, max_frame_size, channel_max, properties,
                            offered_capabilities, desired_capabilities)
    host, label = socket_peer(sock) or ("unknown", "socket")
    sasl = connect_sasl(sasl, tls=ssl_context is not None, host=host,
                        allow_plain_without_tls=allow_plain_without_tls)

    async def opening() -> Connection:
        core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                              **options)
        conn = Connection(core, timeout=timeout, label=label)
        loop = asyncio.get_running_loop()
        try:
            sock.setblocking(False)
            await timed(loop.create_connection(
                lambda: conn._protocol, sock=sock, ssl=ssl_context,
                server_hostname=(server_hostname or hostname or host) if ssl_context else None,
                ssl_handshake_timeout=connect_timeout if ssl_context else None),
                connect_timeout, f"connecting over {label}")
        except BaseException:
            sock.close()
            raise
        await conn._start(connect_timeout)
        return conn

    return Opening(opening())


def _core_options(idle_timeout: float | None, max_frame_size: int, channel_max: int,
                  properties: dict[str, Any] | None, offered_capabilities: list[str] | None,
                  desired_capabilities: list[str] | None) -> dict[str, Any]:
    """The core connection's options, the capabilities checked (TypeError: not str)."""
    check_symbols(offered_capabilities, "offered_capabilities")
    check_symbols(desired_capabilities, "desired_capabilities")
    return {"idle_timeout": idle_timeout, "max_frame_size": max_frame_size,
            "channel_max": channel_max, "properties": properties,
            "offered_capabilities": offered_capabilities,
            "desired_capabilities": desired_capabilities}
