"""The blocking connection: one socket, one I/O thread, one lock around the core.

The I/O thread waits in ``select`` on the socket and a wake-up socket pair,
with the core's ``tick()`` deadline as the timeout, so an idle connection only
wakes for heartbeats. Every call into the core, from the I/O thread or an
application thread, happens under the connection's lock; whoever made the call
then writes ``data_to_send()`` (non-blocking; what the socket cannot take yet
is left for the I/O thread, as views of the core's bytes, never copied) and hands
the events to the objects waiting on them. Each waiting thread waits for its own
condition, and a caller that is the only waiter reads the socket itself (see
``_waits``). The core holds all the protocol state.
"""

from __future__ import annotations

import contextlib
import logging
import select
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import amqp10_proto as proto
from amqp10_proto import Connection as CoreConnection
from amqp10_proto import ParsedURL
from amqp10_proto import errors as amqp_errors
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
    describe_error,
    dispatch_events,
    socket_peer,
    thread_switches,
    timeout_or,
    url_mechanisms,
    urls_sasl,
)
from amqp10_proto.trace import FrameTracer, trace_enabled

from ._link import HIGH_WATER
from ._session import Session
from ._transport import Dialer, Link, SocketIO, TlsSocket, prepare
from ._waits import GRACE, EventTap, Waiting

if TYPE_CHECKING:
    from amqp10_ws import WebSocketLayer

__all__ = ["DEFAULT", "Connection", "Reconnect", "connect", "describe_error", "open_connection"]

log = logging.getLogger("amqp10")

_BURST = 64  # settlements left for the I/O thread before one is written at once


class Connection(SocketIO, Waiting, Recovering, ConnectionInfo):
    """An open AMQP 1.0 connection; thread-safe. Made by :func:`open_connection`.

    With ``reconnect`` on (the default of :func:`open_connection`), a lost transport
    is replaced by the I/O thread: ``state`` is "reconnecting" meanwhile, calls wait
    (within their own timeouts), and sessions and links carry on once it is back.
    """

    _core: CoreConnection

    def __init__(self, sock: socket.socket, core: CoreConnection, *, timeout: float,
                 label: str, dial: Callable[[ParsedURL], tuple[Link, CoreConnection]]
                 | None = None, policy: Reconnect | None = None,
                 urls: Sequence[ParsedURL] = (), current: int = 0,
                 connect_timeout: float = proto.DEFAULT_CONNECT_TIMEOUT,
                 connected: ParsedURL | None = None, ws: WebSocketLayer | None = None, early: bytes = b"") -> None:
        self._sock = sock
        self._ws = ws  # amqpws(s)://: the WebSocket layer between the socket and the core
        self._early_bytes = early
        self._transport_cause: BaseException | None = None
        self._core = core
        self._timeout = timeout
        self.label = label
        self._dial = dial  # a new transport and core for a URL (reconnecting)
        self._connect_timeout = connect_timeout
        self._seen_end: CoreConnection | None = None  # the last core whose end was handled
        self._attempt_end = 0.0  # when the reconnect handshake in progress times out
        self._init_recovery(policy if dial is not None else None, urls, current, connected)
        lock = threading.RLock()
        self._init_waiting(lock)  # the general condition, keyed waits, driving (_waits)
        self._tap: EventTap | None = None
        # Bytes the socket did not take yet: the core's bytes, or views of their unsent
        # remainder (never copied: a 500 MiB message is written from the core's buffer).
        self._out: deque[bytes | memoryview] = deque()
        self._out_bytes = 0
        self._queued_total = 0  # bytes handed to us by the core, ever
        self._sent_total = 0  # bytes the socket took, ever
        self._unmarked: list[Any] = []  # pre-settled deliveries not yet given a write mark
        self._stalled: set[Any] = set()  # senders with queued messages held by the write buffer
        self._unflushed = 0  # settlements queued in the core since the last write
        self._tls_buffer: memoryview | None = None  # reused for each TLS read
        self._read_buffer: memoryview | None = None  # reused for each plain read
        self._dead = False  # the socket is gone (or given up on)
        self._transport_error: str | None = None
        self._stop = False
        self._closed_by_user = False
        self._is_ssl = isinstance(sock, (ssl.SSLSocket, TlsSocket))
        #: Whether a credit round's first transfer is written at once (issue 12), on a
        #: plain TCP socket only (the pump looks: each TLS record or WebSocket frame costs
        #: more than it gains).
        self._early_writes = EarlyWrites(thread_switches, time.monotonic, time.process_time)
        self._wake_r, self._wake_w = socket.socketpair()  # wakes the I/O thread
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        tracing = trace_enabled()
        self._trace_in = FrameTracer(label, "<-") if tracing else None
        self._trace_out = FrameTracer(label, "->") if tracing else None
        self._thread = threading.Thread(target=self._run, name=f"amqp10-io {label}", daemon=True)

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the socket lost
        (and, with reconnect on, not coming back)."""
        return (self._core.ended or self._dead) and not self._reconnecting

    @property
    def io_thread(self) -> threading.Thread:
        """The connection's I/O thread (it ends once the connection is closed)."""
        return self._thread

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<amqp10_sync.Connection {self.label} {state}>"

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the connection is over (closed by either side, or lost); see ``error``.

        Waits at most ``timeout`` seconds (None: until it happens); True if it is over.
        """
        end = None if timeout is None else time.monotonic() + timeout_or(0.0, timeout)
        with self._cond:
            self._wait_until(lambda: self.closed, end)
            return self.closed

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = proto.DEFAULT_INCOMING_WINDOW,
                     outgoing_window: int = proto.DEFAULT_OUTGOING_WINDOW,
                     handle_max: int = proto.DEFAULT_HANDLE_MAX, properties: dict[str, Any] | None = None,
                     offered_capabilities: list[str] | None = None,
                     desired_capabilities: list[str] | None = None,
                     timeout: float | None = None) -> Session:
        """Begin a session and wait until the peer answers (within ``timeout``)."""
        end = self._deadline(timeout)
        args: dict[str, Any] = {"incoming_window": incoming_window, "outgoing_window": outgoing_window,
                "handle_max": handle_max, "properties": properties,
                "offered_capabilities": offered_capabilities,
                "desired_capabilities": desired_capabilities}
        with self._cond:
            self._wait_connected(end, timeout)
            core = self._core.begin_session(**args)
            session = Session(self, core, args)
            core.context = session
            self._sessions.append(session)
            self._after()
            ok = self._wait_until(session._begin_done, end)
            session._check()
            if not ok:
                raise TimeoutError(f"the peer did not answer the begin within {self._span(timeout)} s")
            return session

    def close(self, timeout: float | None = None) -> None:
        """Close the connection; give up on the peer (drop the socket) after ``timeout``.

        Every pending operation fails with ConnectionClosedError; the I/O thread ends.
        """
        end = self._deadline(timeout)
        with self._cond:
            self._closed_by_user = True
            if self._reconnecting:
                self._stop_recovery()  # between transports: nothing to say to anyone
                self._dead = True
                self._notify_everyone()
            if not self.closed:
                self._core.close()
                self._after()
            if not self._wait_until(lambda: self.closed, end):
                log.warning("%s: the peer did not answer our close within %s s; dropping the "
                            "socket", self.label, self._span(timeout))
                self._lost("the peer did not answer our close in time")
            self._stop = True
        self._wake()
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(max(0.5, end - time.monotonic()))
            if self._thread.is_alive():
                log.warning("%s: the I/O thread did not end", self.label)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("%s: error closing after an exception", self.label, exc_info=True)

    # -- for sessions and links: waiting and checking ----------------------------------------
    def _span(self, timeout: float | None) -> float:
        return timeout_or(self._timeout, timeout)  # TypeError / ValueError if not >= 0

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:  # the usual call: no call to check it (a send's, per message)
            return time.monotonic() + self._timeout
        return time.monotonic() + self._span(timeout)

    def _closed_error(self) -> amqp_errors.ConnectionClosedError:
        if self._given_up is not None:
            return self._given_up
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error,
                            cause=self._transport_cause)  # e.g. the WebSocketError

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    def _wait_connected(self, end: float, timeout: float | None) -> None:
        """(Lock held) wait while the connection reconnects, then raise if it is over."""
        if self._reconnecting and not self._wait_until(
                lambda: not self._reconnecting, end):
            raise TimeoutError(f"{self.label}: still reconnecting after {self._span(timeout)} s")
        self._check()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call (lock held): dispatch events, write what is queued."""
        self._unflushed = 0
        self._process()
        self._flush()
        if self._stalled and self._out_bytes < HIGH_WATER:
            stalled, self._stalled = self._stalled, set()
            for sender in stalled:
                sender._pump()
            self._flush()
            self._process()

    def _after_soon(self) -> None:
        """After a settlement (lock held): leave its disposition for the I/O thread to write
        together with those that follow (one write for a burst, not one each), waking it
        once; write at once when the burst grows long."""
        n = self._unflushed
        self._unflushed = n + 1
        if n == 0:
            self._wake()
        elif n >= _BURST:
            self._after()

    def _written(self, delivery: Any) -> bool:
        """True once the socket took every byte up to a pre-settled ``delivery``'s transfer."""
        mark: int = delivery.context
        return mark >= 0 and self._sent_total >= mark

    def _process(self) -> None:
        core = self._core
        if core.ended and self._seen_end is not core:
            # The core is over: a lost transport is replaced (issue 9) if the policy says
            # so; decided before its events are handed out, so that its sessions and
            # links wait for the new transport instead of failing.
            self._seen_end = core
            if self._transport_down(time.monotonic(), core.error, core.error_is_local):
                self._dead = True
                self._drop_out()
                self._sent_total = self._queued_total  # pre-settled in flight: may be lost
                self._wake()
            elif self._given_up is not None:
                self._dead = True
            self._notify_everyone()
        tap = self._tap
        if tap is None or tap._core is not core:
            tap = self._tap = EventTap(core, self)
        tap.general = False
        if dispatch_events(tap, self.label,  # type: ignore[arg-type]  # the core, tapped
                           reconnecting=self._reconnecting) and tap.general:
            self._notify_everyone()

    def _flush(self) -> None:
        data = self._core.data_to_send()
        if data and self._trace_out is not None:
            self._trace_out.feed(data)
        if self._ws is not None:
            data = self._wrap(data)  # counted as framed: the socket's bytes mark the writes
        if data:
            self._queued_total += len(data)
            if self._unmarked:
                for delivery in self._unmarked:
                    delivery.context = self._queued_total
                self._unmarked.clear()
            if self._dead:
                return
            self._out.append(data)
            self._out_bytes += len(data)
        if self._out_bytes and not self._dead:
            self._write_out()

    def _write_out(self) -> None:
        """Write what is queued while the socket takes it (lock held); the unsent rest
        stays as a view of the same bytes, for the I/O thread to write when it can."""
        out = self._out
        while out:
            head = out[0]
            n = self._send(head)
            size = len(head)
            self._out_bytes -= n
            if n == size:
                out.popleft()
                continue
            if self._dead:
                return
            if n:
                out[0] = memoryview(head)[n:]  # a view: the remainder is never copied
            self._wake()  # the I/O thread writes the rest when the socket has room
            return

    def _drop_out(self) -> None:
        self._out.clear()
        self._out_bytes = 0

    def _lost(self, reason: str) -> None:
        """The socket is gone or given up on (lock held): end the core; fail every wait,
        or (reconnecting) have them wait for the next transport."""
        if not self._dead:
            self._dead = True
            self._transport_error = reason
            if not self._core.ended:
                if self._schedule is None or self._closed_by_user:
                    log.warning("%s: connection lost: %s", self.label, reason)
                self._core.transport_failed(reason)
            self._drop_out()
            self._process()
            self._notify_everyone()  # (the core may have ended before: nobody was told)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        try:
            while True:
                self._serve()
                if not self._reconnect():
                    break
        except Exception:
            log.exception("%s: the I/O thread failed", self.label)
        finally:
            with self._cond:
                if self._reconnecting:
                    self._stop_recovery()
                if not self._dead:
                    self._lost("the connection's I/O thread stopped")
                self._dead = True
                for s in (self._sock, self._wake_r, self._wake_w, self._poke_r, self._poke_w):
                    with contextlib.suppress(OSError):
                        s.close()
                self._notify_everyone()
            log.debug("%s: I/O thread ended", self.label)

    def _serve(self) -> None:
        """Pump one transport until it is over (closed, lost, or given up on).

        One hold of the lock per turn: what ``select`` found (a read, a write), then
        the core's deadlines; the threads its events concern are woken once the lock
        is let go (``_deferred``), so that they do not wake only to wait for it.
        """
        sock = self._sock
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ)
        watching = 0  # the socket's events the selector watches
        more = False  # the last read filled its buffer: read again without waiting
        ended_at: float | None = None
        ready: list[tuple[selectors.SelectorKey, int]] = []
        due: float | None = None  # the core's last deadline: tick() again once it is here
        try:
            while True:
                readable = more
                with self._lock:  # (the condition's lock, without its Python-level enter and exit)
                    self._deferred = []
                    woken = False
                    for key, mask in ready:
                        if key.fileobj is self._wake_r:
                            woken = True
                            with contextlib.suppress(OSError):
                                self._wake_r.recv(4096)
                            continue
                        readable |= bool(mask & selectors.EVENT_READ)
                        if mask & selectors.EVENT_WRITE and not self._dead:
                            self._flush()
                            woken = True  # room again: stalled senders pump below
                    more = False
                    if readable and not self._dead and not self._driver:
                        more = self._read()
                    if self._stop or self._dead:
                        break
                    now = time.monotonic()
                    if self._reconnecting:
                        self._handshake(now)
                        if self._dead:
                            break
                    if self._core.ended:
                        if not self._out:
                            break  # our last frames (a close) are written
                        ended_at = ended_at or now
                        if now - ended_at > 2.0:
                            break
                    # 2.4.5's timers: tick() at its deadline, not every turn (a bulk send
                    # turns once per credit round); a read or write meanwhile only moves
                    # its timers later, which the tick at the deadline finds out.
                    if due is None or now >= due or self._reconnecting:
                        due = deadline = self._core.tick(now)
                        self._after()
                    else:
                        deadline = due
                        if woken or self._unflushed:
                            self._after()  # e.g. settlements left for us (_after_soon)
                    if self._reconnecting:
                        deadline = self._attempt_end if deadline is None else min(
                            deadline, self._attempt_end)
                    # A caller reads for itself (or did a moment ago, and none waits): leave
                    # the socket's reading to callers, and look again after the grace.
                    parked = self._parked = bool(self._driver) or (
                        now - self._drove_at < GRACE and not self._waiting
                        and not self._reconnecting)
                    if parked:
                        more = False
                        back = (self._drive_until if self._driver else self._drove_at) + GRACE
                        deadline = back if deadline is None else min(deadline, back)
                    events = (0 if parked else selectors.EVENT_READ) | (
                        selectors.EVENT_WRITE if self._out else 0)
                self._wake_deferred()
                if events != watching:
                    if not watching:
                        sel.register(sock, events)
                    elif not events:
                        sel.unregister(sock)
                    else:
                        sel.modify(sock, events)
                    watching = events
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                if ended_at is not None:
                    wait = 0.5 if wait is None else min(wait, 0.5)
                ready = sel.select(0.0 if more else wait)
        finally:
            self._wake_deferred()
            sel.close()

    def _handshake(self, now: float) -> None:
        """(Lock held, reconnecting) move the new transport's handshake on: once the peer's
        open is here, begin the sessions and attach the links again; once all answered,
        the connection is back. Past ``connect_timeout`` the try has failed."""
        core = self._core
        if core.opened and not self._replaying:
            self._replay()
            self._after()
        if self._replaying and self._replay_done():
            self._recovered(now)
            self._after()
            self._notify_everyone()
        elif now >= self._attempt_end and not self._dead:
            self._lost(f"no answer within {self._connect_timeout} s while reconnecting")

    def _reconnect(self) -> bool:
        """(I/O thread, between two transports) wait for the next try, connect, and install
        the new socket and core; False once the connection is closed or given up."""
        old = self._sock
        while True:
            with self._cond:
                if self._stop or not self._reconnecting:
                    return False
                attempt = self._next_attempt(time.monotonic())
                if attempt is None:  # given up: every wait fails with the last cause
                    self._notify_everyone()
                    return False
            if not self._pause_until(attempt.at):
                continue  # woken: closed, most likely (checked above)
            assert self._dial is not None
            try:
                link, core = self._dial(attempt.url)
            except (OSError, ValueError, amqp_errors.RemoteProtocolError) as exc:
                # refused, unreachable, timed out, TLS or WebSocket or the proxy refused
                log.info("%s: reconnect attempt %d to %s:%d failed: %s", self.label,
                         attempt.number, attempt.url.host, attempt.url.port, exc)
                with self._cond:
                    self._attempt_failed(f"connecting to {attempt.url.host}:"
                                         f"{attempt.url.port}: {exc}")
                continue
            with self._cond:
                if self._stop or not self._reconnecting:
                    link.sock.close()
                    return False
                with contextlib.suppress(OSError):
                    old.close()
                self._sock, self._ws, self._early_bytes = link
                self._is_ssl = isinstance(link.sock, (ssl.SSLSocket, TlsSocket))
                self._core = core
                self._dead = False
                self._transport_error = self._transport_cause = None
                self._drop_out()
                self._attempt_end = time.monotonic() + self._connect_timeout
                self.label = f"{attempt.url.host}:{attempt.url.port}"
                if self._trace_in is not None:  # a new stream: frames start afresh
                    self._trace_in = FrameTracer(self.label, "<-")
                    self._trace_out = FrameTracer(self.label, "->")
                core.open()
                self._after()
                self._take_early()
                return True

    def _pause_until(self, at: float) -> bool:
        """Sleep until ``at`` (monotonic), or until woken (a close); True if it was ``at``."""
        while (left := at - time.monotonic()) > 0:
            ready, _, _ = select.select([self._wake_r], [], [], left)
            if ready:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
                if self._stop or not self._reconnecting:
                    return False
        return True

    def _start(self, connect_timeout: float) -> None:
        """Queue the headers and open, start the I/O thread, wait for the peer's open."""
        end = time.monotonic() + connect_timeout
        with self._cond:
            self._core.open()
            self._after()
            self._take_early()
        self._thread.start()
        with self._cond:
            ok = self._wait_until(lambda: self._core.opened or self.closed, end)
            if self._core.opened:
                log.info("%s: connected (peer %s)", self.label, self.remote_container_id)
                self._arm_recovery()
                return
        if not ok:
            with self._cond:
                self._lost("the open handshake timed out")
                self._stop = True
        error = self._closed_error()
        self._stop = True
        self._wake()
        self._thread.join(2.0)
        if not ok:
            raise TimeoutError(f"{self.label}: the AMQP open handshake did not complete "
                               f"within {connect_timeout} s")
        raise error


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
) -> Connection:
    """Connect to ``amqp://[user:password@]host[:port]`` (or ``amqps://``, ``amqpws://``,
    ``amqpwss://``) and open.

    ``url`` may be a list of URLs (a failover list): the first connect tries them in
    order within ``connect_timeout`` in all and raises if none answers; later
    reconnects go round the list. Credentials in the URL (percent-decoded) mean
    SASL PLAIN; otherwise SASL ANONYMOUS, unless ``sasl=`` chooses (``None``: no
    SASL layer). ``amqps`` uses TLS with verification (``ssl.create_default_context()``
    unless ``ssl_context``). ``timeout`` is the default of every later blocking call.
    ``reconnect``: True (the default policy), False, or a :class:`Reconnect`: a lost
    transport is replaced and sessions and links attached again (see the how-to
    "Surviving broker failures" for what is resent). Raises OSError (refused,
    unreachable), TimeoutError, or AuthenticationError.
    ``idle_timeout``: seconds without a frame from the peer before we close (2.4.5: it
    is told to send at least that often); 0 or None turns it off. A path in the URL
    names a virtual host (``amqp://host/vhost``: the open's hostname ``vhost:vhost``,
    as RabbitMQ reads it; ``hostname=`` overrides); a query or fragment is a ValueError.

    ``amqpws://`` and ``amqpwss://`` carry AMQP over a WebSocket (the AMQP WebSocket
    Binding; the URL's path is the request target, e.g. ``/$servicebus/websocket``);
    they need ``pip install 'amqp10[ws]'`` (ImportError otherwise); a refused upgrade
    raises WebSocketHandshakeError. ``http_proxy``: None (the default) takes the proxy
    from the environment at each dial (``HTTPS_PROXY`` for TLS URLs, ``HTTP_PROXY`` for
    ``amqpws``, ``NO_PROXY``), False none, or ``http://[user:password@]host:port``, for
    every scheme: TLS, WebSocket and AMQP go through its CONNECT tunnel; a refusal raises
    ProxyError (ProxyAuthenticationError for credentials), with the proxy's status.
    ``offered_capabilities`` and ``desired_capabilities``: the open's (2.7.1), symbols.
    """
    parsed_urls = urls_sasl(url, sasl, ssl_context=ssl_context,
                            allow_plain_without_tls=allow_plain_without_tls, websocket=True)
    policy = Reconnect.resolve(reconnect)
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    options = _core_options(idle_timeout=idle_timeout, max_frame_size=max_frame_size,
                            channel_max=channel_max, properties=properties,
                            offered_capabilities=offered_capabilities,
                            desired_capabilities=desired_capabilities)
    ids: dict[str, str | None] = {"container_id": container_id}
    dialer = Dialer(ssl_context=ssl_context, server_hostname=server_hostname,
                    http_proxy=http_proxy)
    dialer.check(parsed_urls)

    def dial(parsed: ParsedURL, limit: float = connect_timeout) -> tuple[Link, CoreConnection]:
        link = dialer(parsed, limit)
        try:
            core = CoreConnection(container_id=ids["container_id"],
                                  hostname=hostname or parsed.open_hostname,
                                  sasl=url_mechanisms(parsed, sasl), **options)
        except BaseException:
            link.sock.close()
            raise
        ids["container_id"] = core.container_id  # one container across transports (2.4.1)
        return link, core

    deadline = time.monotonic() + connect_timeout
    tries = FirstConnect(parsed_urls)
    for index, parsed in tries:
        left = deadline - time.monotonic()
        if left <= 0 and tries.error is not None:
            break
        core = None
        try:
            link, core = dial(parsed, max(left, 0.001))
            conn = Connection(link.sock, core, timeout=timeout,
                              label=f"{parsed.host}:{parsed.port}", dial=dial, policy=policy,
                              urls=parsed_urls, current=index, connect_timeout=connect_timeout,
                              connected=parsed, ws=link.ws, early=link.early)
            conn._start(max(left, 0.001))
            return conn
        except amqp_errors.AuthenticationError:
            raise  # a refused login is refused everywhere: no other URL is tried
        except (OSError, amqp_errors.ConnectionClosedError,  # TimeoutError is an OSError
                amqp_errors.RemoteProtocolError) as exc:  # a refused WebSocket upgrade
            # Said with host:port and, for a TLS mismatch, what to change; 2.8.15: a
            # redirect is often the answer.
            tries.failed(connect_failure(exc, parsed, core), index, parsed)
    assert tries.error is not None
    raise tries.error


def _core_options(**options: Any) -> dict[str, Any]:
    """The core's connection options, the capabilities checked (TypeError, ValueError)."""
    for name in ("offered_capabilities", "desired_capabilities"):
        check_symbols(options[name], name)
    return options


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
) -> Connection:
    """Open an AMQP connection over an already-connected socket (plain or ``ssl.SSLSocket``).

    ``ssl_context`` wraps a plain socket in TLS first. The connection owns the
    socket from here on and closes it. ``sasl`` defaults to ANONYMOUS. A connection
    made from a given socket does not reconnect (it would not know where to). ``idle_timeout`` 0 or None: none.
    """
    connect_timeout, timeout, idle_timeout = check_connect_timeouts(
        connect_timeout, timeout, idle_timeout)
    options = _core_options(idle_timeout=idle_timeout, max_frame_size=max_frame_size,
                            channel_max=channel_max, properties=properties,
                            offered_capabilities=offered_capabilities,
                            desired_capabilities=desired_capabilities)
    host, label = socket_peer(sock) or ("unknown", "socket")
    if ssl_context is not None and not isinstance(sock, ssl.SSLSocket):
        sock.settimeout(connect_timeout)
        sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname or hostname or host)
    sasl = connect_sasl(sasl, tls=isinstance(sock, ssl.SSLSocket), host=host,
                        allow_plain_without_tls=allow_plain_without_tls)
    try:
        prepare(sock)
        core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                              **options)
        conn = Connection(sock, core, timeout=timeout, label=label)
    except BaseException:
        sock.close()
        raise
    conn._start(connect_timeout)
    return conn
