"""The trio connection: one stream, three background tasks in a nursery the connection owns.

``Connection`` is an async context manager. Entering it connects (``_transport``: TCP or
a proxy's tunnel, TLS, WebSocket), opens a nursery and starts its ``_run`` task in it,
which runs three tasks per transport:

* the reader: ``await stream.receive_some()``, bytes into the core;
* the writer: it sends what the core queued (every core call is followed by
  ``data_to_send()`` into one buffer) when no one else could. Over a TCP socket, plain
  or TLS (``TlsStream.send_nowait``), what the core queued is written at once by the
  task that made it, with one non-blocking write, while the writer is idle
  (``_write_direct``): the reader after each read; the ticker; an application's task
  once between two steps of the connection's tasks (its next ones go to the writer,
  one write per burst). What the socket did not take is the writer's;
* the ticker: sleeps in a cancel scope whose deadline is the one ``tick()``
  returned (no polling: an idle connection wakes only for heartbeats).

Every call into the core is synchronous and followed at once by handling its
events and queueing its output, with no checkpoint in between, so a cancelled
caller never leaves the core half-used: bytes the core produced are always
written, by the writer task or, with no checkpoint, directly. Settlements are the
one exception: their dispositions stay in the core for a burst (``_after_soon``), to
be written in one ranged frame by the next flush, which a timer guarantees. Waiters
sleep on one ``trio.Event`` that is replaced each time events arrive (a broadcast).
The core holds all protocol state.

Reconnecting (issue 9) happens inside the same task: when a transport is lost and
the policy says to reconnect, its three tasks end and ``_run`` sleeps until the
next try, connects, installs the new stream and core, opens, and starts the three
tasks again; the handshake moves on from the pump (``_process``). Sessions and
links wait meanwhile; the application's cancel scopes still cancel their waits.

Where each part is: this module holds ``Connection``'s API, its waits and the pump
(``_after``, ``_process``); ``_lifecycle`` the transports' life (connecting, ``_run``
with the reader and the ticker, losing a transport, reconnecting); ``_output`` the
write path (the writer task, ``_write_direct``, the count of bytes sent). Both are
mixins of ``Connection``: one object, no call layer between them.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, cast

import trio

import amqp10_proto as proto
from amqp10_proto import Connection as CoreConnection
from amqp10_proto import DeliveryUpdated, Error, Event, ParsedURL
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    DEFAULT,
    ConnectionInfo,
    ProxyOption,
    Reconnect,
    Recovering,
    SaslOption,
    check_connect_timeouts,
    check_symbols,
    closed_error,
    connect_sasl,
    describe_error,
    dispatch_events,
    socket_peer,
    timeout_or,
    url_mechanisms,
    urls_sasl,
)
from amqp10_proto.trace import FrameTracer, trace_enabled

from ._lifecycle import Lifecycle
from ._link import Sender
from ._output import Output
from ._session import Opening, Session
from ._tls import TlsStream
from ._transport import check_transport, dialer

__all__ = ["DEFAULT", "Connection", "Reconnect", "connect", "describe_error", "open_connection"]

log = logging.getLogger("amqp10")

#: Settlements left in the core (coalescing) before they are written regardless ...
_BURST = 256
#: ... and how long at most (seconds) when no wait of ours comes first (see _after_soon).
_LINGER = 0.001
_SHUT_DOWN = "the connection was shut down"


class _Events:
    """The core's event queue as ``dispatch_events`` reads it, minus the senders'
    DeliveryUpdated events: each wakes the tasks waiting on that delivery in its
    sender's ``_waiters``, and no others (nothing else waits on a sender's delivery).
    A receiver's (rcv-settle-mode second) sets ``broadcast``: its settle waits on the
    connection's broadcast event."""

    __slots__ = ("broadcast", "core")

    def __init__(self, conn: Connection) -> None:
        self.core = conn._core
        self.broadcast = False

    def as_core(self) -> CoreConnection:
        """This object where ``dispatch_events`` takes a core: it calls only
        ``next_event``, ``close`` and ``transport_failed``, which this one has."""
        return cast(CoreConnection, self)

    def next_event(self) -> Event | None:
        next_event = self.core.next_event
        while type(event := next_event()) is DeliveryUpdated:
            delivery = event.delivery
            owner = delivery.link.context
            if type(owner) is Sender:
                waiters = owner._waiters
                if waiters._tasks:  # (mostly not: wait_all waits on its last handle)
                    waiters.wake(delivery)
            else:
                self.broadcast = True
        return event

    def close(self, error: Error | None = None) -> None:
        self.core.close(error)

    def transport_failed(self, reason: str) -> None:
        self.core.transport_failed(reason)


class Connection(Lifecycle, Output, Recovering, ConnectionInfo):
    """An AMQP 1.0 connection on trio; made by :func:`open_connection` or :func:`connect`.

    Use it as an async context manager: ``async with open_connection(url) as conn``.
    Entering connects and opens; the connection runs its background tasks (reader,
    writer, ticker) in a nursery it opens itself and owns, so it must be entered and
    exited in the same task, like any nursery. The tasks are shielded from the
    cancel scopes around the block: cancelling the application's code never stops
    the pump in the middle of a frame. Leaving the block closes the connection
    (waiting at most ``timeout`` for the peer, shielded from cancellation for that
    long) and ends the tasks. Every method is safe to call from many tasks at once.

    With ``reconnect`` on (the default of :func:`open_connection`), a lost transport
    is replaced inside that nursery: ``state`` is "reconnecting" meanwhile, calls wait
    (within their own timeouts and cancel scopes), and sessions and links carry on
    once it is back.
    """

    _core: CoreConnection

    def __init__(self, core: CoreConnection, *, stream: trio.abc.Stream | None = None,
                 dial: Callable[[ParsedURL], Awaitable[trio.abc.Stream]] | None = None,
                 make_core: Callable[[ParsedURL], CoreConnection] | None = None,
                 policy: Reconnect | None = None, urls: Sequence[ParsedURL] = (),
                 connect_timeout: float, timeout: float, label: str) -> None:
        self._core = core
        self._stream = stream
        self._dial = dial  # a stream to a URL (open_connection); None for a given stream
        self._make_core = make_core  # a fresh core for a URL, one container-id for all
        self._urls = list(urls)
        self._init_recovery(policy if dial is not None else None, self._urls)
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self.label = label
        self._changed = trio.Event()
        self._broadcast_waiters = 0  # tasks in _wait_until's loop (on _changed)
        #: Settlements whose dispositions are left in the core for the writer to take:
        #: the next ones coalesce with them there (see _after_soon).
        self._deferred = 0
        self._init_output()
        self._events = _Events(self)
        self._events_core = self._events.as_core()  # (the same object, typed once)
        self._dead = False  # the stream is gone (or given up on)
        self._drops = 0  # transports given up for a new one (see _writer)
        self._transport_error: str | None = None
        self._transport_cause: BaseException | None = None  # what broke it, when typed
        self._closed_by_user = False
        self._entered = False
        self._seen_end: CoreConnection | None = None  # the last core whose end was handled
        self._attempt_end = math.inf  # when the reconnect handshake in progress times out
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._tick_scope = trio.CancelScope()
        # The background tasks run shielded: an enclosing cancel scope cancels the
        # application's code, never the pump; only our own close or a lost stream stops it.
        self._tasks_scope = trio.CancelScope(shield=True)
        self._pump_scope = trio.CancelScope()  # the current transport's three tasks
        self._run_started = False
        self._run_done = trio.Event()
        self._new_tracers()

    def _new_tracers(self) -> None:
        tracing = trace_enabled()
        self._trace_in = FrameTracer(self.label, "<-") if tracing else None
        self._trace_out = FrameTracer(self.label, "->") if tracing else None

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the stream lost
        (and, with reconnect on, not coming back)."""
        return (self._core.ended or self._dead) and not self._reconnecting

    def __repr__(self) -> str:
        state = self.state if self._entered else "not entered"
        return f"<amqp10_trio.Connection {self.label} {state}>"

    async def wait_closed(self) -> None:
        """Return once the connection is over (closed by either side or lost); see ``error``."""
        await self._wait_until(lambda: self.closed, None)

    # -- entering and leaving ---------------------------------------------------------------
    async def __aenter__(self) -> Connection:
        if self._entered:
            raise RuntimeError("a Connection can be entered only once")
        self._entered = True
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        try:
            if self._stream is not None:
                await self._begin(trio.current_time() + self._connect_timeout)
            else:
                await self._connect_first()
        except BaseException:
            await self._stop_and_exit_nursery()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            with trio.CancelScope(shield=True):
                try:
                    await self.close()
                except Exception:
                    if exc_type is None:
                        raise
                    log.debug("%s: error closing after an exception", self.label, exc_info=True)
        finally:
            await self._stop_and_exit_nursery()

    async def _stop_and_exit_nursery(self) -> None:
        with trio.CancelScope(shield=True):
            await self._stop()
            if self._run_started:
                await self._run_done.wait()
        manager, self._nursery_manager = self._nursery_manager, None
        if manager is not None:
            # Its one task has ended and never raises, so this does not wait; the
            # body's exception, if any, goes on past us unwrapped (no ExceptionGroup).
            await manager.__aexit__(None, None, None)

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = proto.DEFAULT_INCOMING_WINDOW,
                     outgoing_window: int = proto.DEFAULT_OUTGOING_WINDOW,
                     handle_max: int = proto.DEFAULT_HANDLE_MAX,
                     properties: dict[str, Any] | None = None,
                     offered_capabilities: list[str] | None = None,
                     desired_capabilities: list[str] | None = None,
                     timeout: float | None = None) -> Opening[Session]:
        """Begin a session and wait until the peer answers (within ``timeout``).

        ``async with conn.open_session() as session`` (ends it on exit), or
        ``session = await conn.open_session()``. While the connection reconnects it
        waits for it first (within the same ``timeout``).
        """
        args: dict[str, Any] = {
            "incoming_window": incoming_window, "outgoing_window": outgoing_window,
            "handle_max": handle_max, "properties": properties,
            "offered_capabilities": offered_capabilities,
            "desired_capabilities": desired_capabilities}

        async def begin() -> Session:
            end = self._deadline(timeout)
            await trio.lowlevel.checkpoint()
            await self._wait_connected(end, timeout)
            core = self._core.begin_session(**args)
            session = Session(self, core, args)
            core.context = session
            sessions = self._sessions
            sessions[:] = [s for s in sessions if not s._ended]
            sessions.append(session)
            self._after()
            try:
                ok = await self._wait_until(session._begin_done, end)
            except BaseException:  # cancelled: end the half-begun session, without waiting
                session._end_nowait()
                raise
            session._check()
            if not ok:
                session._end_nowait()
                raise TimeoutError(
                    f"the peer did not answer the begin within {self._span(timeout)} s")
            return session

        return Opening(begin)

    async def close(self, timeout: float | None = None) -> None:
        """Close the connection; give up on the peer (drop the stream) after ``timeout``.

        Every pending operation fails with ConnectionClosedError; the background tasks end.
        While reconnecting, it ends at once (there is no one to say goodbye to).
        """
        end = self._deadline(timeout)
        self._closed_by_user = True
        if self._reconnecting:
            self._stop_recovery()  # between transports: nothing to say to anyone
            self._dead = True
            self._fire()
        if not self.closed:
            self._core.close()
            self._after()
        if not await self._wait_until(lambda: self.closed, end):
            log.warning("%s: the peer did not answer our close within %s s; dropping the "
                        "stream", self.label, self._span(timeout))
            self._lost("the peer did not answer our close in time")
        # Let the writer put our last frames (the close) on the wire, briefly.
        with trio.move_on_at(min(end, trio.current_time() + 1.0)):
            await self._sent(self._queued_total)
        await self._stop()

    async def _stop(self) -> None:
        """End the background tasks and close the stream (idempotent, never waits long)."""
        if self._reconnecting:
            self._stop_recovery()
            self._dead = True
        if not self._dead:
            self._dead = True
            if self._transport_error is None:
                self._transport_error = "the connection was closed"
            if not self._core.ended:
                self._core.transport_failed(_SHUT_DOWN)
            self._process()
        self._tasks_scope.cancel()
        stream, self._stream = self._stream, None
        if stream is not None:
            await trio.aclose_forcefully(stream)
        self._fire()

    # -- for sessions and links: waiting and checking ----------------------------------------
    def _span(self, timeout: float | None) -> float:
        return timeout_or(self._timeout, timeout)  # TypeError / ValueError if not >= 0

    def _deadline(self, timeout: float | None) -> float:
        return trio.current_time() + self._span(timeout)

    def _notify(self) -> None:
        """Wake the waiters on the broadcast event (attach, begin, receive ...): events
        arrived. Senders' waits are woken one by one (see Sender._wait_one). With no
        task in ``_wait_until``'s loop, nothing waits on the event: it is kept (a bulk
        sender's credit round makes no event object)."""
        if self._broadcast_waiters:
            self._changed.set()
            self._changed = trio.Event()

    def _fire(self) -> None:
        """The connection changed state (lost, closed, back): wake every waiter, the
        broadcast's and each sender's, to look again."""
        self._notify()
        for session in self._sessions:
            for link in session._links:
                if isinstance(link, Sender):
                    link._wake_all()
        waiting, self._sent_waiters = self._sent_waiters, []
        for _, _, event in waiting:
            event.set()

    async def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool:
        """Wait until ``pred()``; False if ``end`` (trio time) passed first.

        Respects enclosing cancel scopes (raises Cancelled).
        """
        if pred():
            return True
        if self._deferred:
            self._after()  # about to sleep: the settlements left in the core go out now
            if pred():
                return True
        self._broadcast_waiters += 1
        try:
            with trio.move_on_at(math.inf if end is None else end):
                while True:
                    await self._changed.wait()
                    if pred():
                        return True
        finally:
            self._broadcast_waiters -= 1
        return bool(pred())

    async def _wait_connected(self, end: float, timeout: float | None) -> None:
        """Wait while the connection reconnects (TimeoutError past ``end``), then raise
        if it is over. No checkpoint after the last check: the caller's core call is safe."""
        if self._reconnecting and not await self._wait_until(
                lambda: not self._reconnecting, end):
            raise TimeoutError(f"{self.label}: still reconnecting after {self._span(timeout)} s")
        self._check()

    def _closed_error(self) -> amqp_errors.ConnectionClosedError:
        if self._given_up is not None:
            return self._given_up
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error, shut_down=_SHUT_DOWN,
                            cause=self._transport_cause)  # e.g. the WebSocketError

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call: dispatch its events, queue what it wants written."""
        self._process()
        self._flush()

    def _after_soon(self) -> None:
        """After a settlement that needs no wait: its disposition stays in the core, where
        the burst's next ones join it into one ranged frame (2.7.6: first..last) and one
        write. The burst is written when a task of ours is about to wait (a receive
        loop's buffer ran dry: _wait_until), when any other core call flushes, after
        _BURST settlements, or at the latest _LINGER seconds after its first (the
        ticker's deadline): a receive loop costs one scheduling step per message and no
        task switch of the writer's."""
        n = self._deferred + 1
        self._deferred = n
        if n == 1:
            self._retick_by(trio.current_time() + _LINGER)
        elif n >= _BURST:
            self._after()

    def _process(self) -> None:
        core = self._core
        if core.ended and self._seen_end is not core:
            # The core is over: a lost transport is replaced (issue 9) if the policy says
            # so; decided before its events are handed out, so that its sessions and
            # links wait for the new transport instead of failing.
            self._seen_end = core
            if self._transport_down(trio.current_time(), core.error, core.error_is_local):
                self._drop_transport()
            elif self._given_up is not None:
                self._dead = True
                self._pump_scope.cancel()
            self._fire()
        events = self._events
        events.core = core
        if dispatch_events(self._events_core, self.label, reconnecting=self._reconnecting) \
                or events.broadcast:
            events.broadcast = False
            self._notify()
        if self._reconnecting and not self._dead:
            self._handshake()


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
    offered_capabilities: list[str] | None = None,
    desired_capabilities: list[str] | None = None,
    allow_plain_without_tls: bool = False,
    reconnect: bool | Reconnect = True,
    http_proxy: ProxyOption = None,
) -> Connection:
    """A connection to ``amqp://[user:password@]host[:port]`` (``amqps://``, or over
    WebSocket ``amqpws://host[:port]/path``, ``amqpwss://``: needs ``amqp10[ws]``).

    Use it with ``async with``: entering connects (``trio.open_tcp_stream``, through an
    HTTP proxy's CONNECT tunnel if any, then TLS for amqps/amqpwss: ``ssl.SSLObject`` over
    memory BIOs, then the WebSocket upgrade for amqpws/amqpwss, all within
    ``connect_timeout``), opens the connection's own nursery and waits for the peer's
    open. ``http_proxy``: None reads ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` at each
    dial, False never, a URL ``http://[user:pw@]host:port`` always (a refusal raises
    ProxyError, ProxyAuthenticationError). ``url`` may be a list of URLs (a failover list): entering tries
    them in order within ``connect_timeout`` in all and raises the last failure if
    none answers; later reconnects go round the list. Credentials in the URL
    (percent-decoded) mean SASL PLAIN; otherwise ANONYMOUS, unless ``sasl=`` chooses
    (``None``: no SASL layer). ``amqps`` verifies the certificate and host name
    (``ssl.create_default_context()`` unless ``ssl_context``). ``timeout`` is the
    default of every later call that waits. ``reconnect``: True (the default
    policy), False, or a :class:`Reconnect`: a lost transport is replaced and
    sessions and links attached again (see the how-to "Surviving broker failures"
    for what is resent). Entering raises OSError (ProxyError among them), TimeoutError,
    AuthenticationError, or WebSocketHandshakeError (an upgrade refused). The open
    carries ``offered_capabilities``/``desired_capabilities`` (lists of str, 2.7.1).
    ``idle_timeout``: seconds without a frame from the peer before we close (2.4.5: it
    is told to send at least that often); 0 or None turns it off. A path in the URL
    names a virtual host (``amqp://host/vhost``: the open's hostname ``vhost:vhost``,
    as RabbitMQ reads it; ``hostname=`` overrides); a query or fragment is a ValueError.
    """
    parsed_urls = urls_sasl(url, sasl, ssl_context=ssl_context, websocket=True,
                            allow_plain_without_tls=allow_plain_without_tls)
    check_transport(parsed_urls, http_proxy)
    check_symbols(offered_capabilities, "offered_capabilities")
    check_symbols(desired_capabilities, "desired_capabilities")
    policy = Reconnect.resolve(reconnect)
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    ids: dict[str, str | None] = {"container_id": container_id}

    def make_core(parsed: ParsedURL) -> CoreConnection:
        core = CoreConnection(container_id=ids["container_id"],
                              hostname=hostname or parsed.open_hostname,
                              sasl=url_mechanisms(parsed, sasl), max_frame_size=max_frame_size,
                              channel_max=channel_max, idle_timeout=idle_timeout,
                              properties=properties, offered_capabilities=offered_capabilities,
                              desired_capabilities=desired_capabilities)
        ids["container_id"] = core.container_id  # one container across transports (2.4.1)
        return core

    first = parsed_urls[0]
    dial = dialer(ssl_context=ssl_context, server_hostname=server_hostname,
                  http_proxy=http_proxy)
    return Connection(make_core(first), dial=dial, make_core=make_core, policy=policy,
                      urls=parsed_urls, connect_timeout=connect_timeout, timeout=timeout,
                      label=f"{first.host}:{first.port}")


def connect(
    stream: trio.abc.Stream,
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
    offered_capabilities: list[str] | None = None,
    desired_capabilities: list[str] | None = None,
    allow_plain_without_tls: bool = False,
    label: str = "stream",
) -> Connection:
    """A connection over an already-connected trio stream (a SocketStream, an SSLStream ...).

    Use it with ``async with`` like :func:`open_connection`. ``ssl_context`` wraps the
    stream in TLS first, as ``open_connection`` does (``server_hostname`` or ``hostname``
    is checked; the handshake is the first write's). The connection owns the stream from here on and closes it. ``sasl`` defaults
    to ANONYMOUS; PLAIN needs TLS unless ``allow_plain_without_tls``. A connection
    over a given stream does not reconnect (it would not know where to). ``idle_timeout`` 0 or None: none.
    """
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    check_symbols(offered_capabilities, "offered_capabilities")
    check_symbols(desired_capabilities, "desired_capabilities")
    host = hostname or server_hostname or "unknown"
    peer = socket_peer(stream.socket) if isinstance(stream, trio.SocketStream) else None
    if peer is not None:
        host, label = hostname or peer[0], peer[1]
    if ssl_context is not None and not isinstance(stream, (trio.SSLStream, TlsStream)):
        stream = TlsStream(stream, ssl_context, server_hostname=server_hostname or host)
    sasl = connect_sasl(sasl, tls=isinstance(stream, (trio.SSLStream, TlsStream)), host=host,
                        allow_plain_without_tls=allow_plain_without_tls)
    core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                          max_frame_size=max_frame_size, channel_max=channel_max,
                          idle_timeout=idle_timeout, properties=properties,
                          offered_capabilities=offered_capabilities,
                          desired_capabilities=desired_capabilities)
    return Connection(core, stream=stream, connect_timeout=connect_timeout, timeout=timeout,
                      label=label)
