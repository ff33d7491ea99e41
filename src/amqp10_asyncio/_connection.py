"""The asyncio connection: one transport, one protocol object, no task of its own.

Bytes arrive in ``data_received`` (a callback of the event loop, not a task)
and go straight into the core; whoever calls the core then writes
``data_to_send()`` to the transport and hands the events to the objects that
wait on them. ``tick()`` runs from a ``loop.call_at`` timer set to the
deadline the core returned, so an idle connection only wakes for heartbeats.
Callers wait on futures that the pump resolves when something changed; the
core holds all the protocol state.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    DEFAULT,
    ConnectionInfo,
    Recovering,
    SaslOption,
    closed_error,
    connect_sasl,
    dispatch_events,
    receive_bytes,
    socket_peer,
    url_sasl,
)
from amqp10_proto.trace import FrameTracer, trace_enabled

from ._common import Opening
from ._session import Session

__all__ = ["DEFAULT", "Connection", "connect", "open_connection"]

log = logging.getLogger("amqp10")




_BURST = 32  # transfers or settlements queued before a write goes out regardless


class _Protocol(asyncio.Protocol):
    """The event loop's callbacks, forwarded to the connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._conn._transport = transport

    def data_received(self, data: bytes) -> None:
        self._conn._on_data(data)

    def eof_received(self) -> bool:
        self._conn._on_data(b"")
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn._on_lost(exc)

    def pause_writing(self) -> None:
        self._conn._paused = True

    def resume_writing(self) -> None:
        self._conn._paused = False
        self._conn._notify()


class Connection(Recovering, ConnectionInfo):
    """An open AMQP 1.0 connection on the running event loop. Made by :func:`open_connection`.

    Use it (and its sessions and links) from tasks of the loop it was opened on.
    """

    _core: CoreConnection

    def __init__(self, core: CoreConnection, *, timeout: float, label: str) -> None:
        self._core = core
        self._timeout = timeout
        self.label = label
        self._init_recovery(None, ())
        self._loop = asyncio.get_running_loop()
        self._protocol = _Protocol(self)
        self._transport: asyncio.Transport | None = None
        self._paused = False  # the transport's buffer is above its high-water mark
        self._dead = False  # the transport is gone (or given up on)
        self._transport_error: str | None = None
        self._closed_by_user = False
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._unflushed = 0  # transfers or settlements queued in the core since the last write
        tracing = trace_enabled()
        self._trace_in = FrameTracer(label, "<-") if tracing else None
        self._trace_out = FrameTracer(label, "->") if tracing else None

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the transport lost."""
        return self._core.ended or self._dead

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<amqp10_asyncio.Connection {self.label} {state}>"

    async def wait_closed(self) -> None:
        """Return once the connection is over (closed by either side or lost); see ``error``."""
        await self._wait_until(lambda: self.closed, None)

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = 5000, outgoing_window: int = (1 << 31) - 1,
                     handle_max: int = 0xFFFFFFFF, properties: dict[str, Any] | None = None,
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
        self._check()
        core = self._core.begin_session(**options)
        session = Session(self, core)
        core.context = session
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

        Every pending operation fails with ConnectionClosed; nothing is left running.
        """
        end = self._deadline(timeout)
        self._closed_by_user = True
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
        return self._timeout if timeout is None else timeout

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

    def _notify(self) -> None:
        """Wake every waiter to check its condition again."""
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _closed_error(self) -> amqp_errors.ConnectionClosed:
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error)

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call: dispatch events, write what is queued, wake waiters."""
        self._unflushed = 0
        self._process()
        self._flush()
        self._process()
        self._notify()

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

    def _process(self) -> None:
        dispatch_events(self._core, self.label)

    def _flush(self) -> None:
        core = self._core
        data = core.data_to_send()
        transport = self._transport
        if data:
            if self._trace_out is not None:
                self._trace_out.feed(data)
            if not self._dead and transport is not None:
                transport.write(data)
        if core.ended and transport is not None and not transport.is_closing():
            transport.close()  # after our last frames (a close) are written

    def _on_data(self, data: bytes) -> None:
        if self._dead:
            return
        receive_bytes(self._core, data, self.label, self._trace_in)
        self._tick()
        self._after()

    def _tick(self) -> None:
        """Call the core's ``tick`` now and set the timer to the deadline it returns."""
        loop = self._loop
        deadline = self._core.tick(loop.time())
        timer = self._timer
        if deadline is None:
            if timer is not None:
                timer.cancel()
                self._timer = None
        elif timer is None or deadline < self._timer_at:
            # A later deadline needs no new timer: the old one fires, ticks, and re-arms.
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        if self._dead:
            return
        self._tick()
        self._after()

    def _on_lost(self, exc: Exception | None) -> None:
        if not self._dead:
            self._dead = True
            if not self._core.ended:
                reason = f"connection lost: {exc}" if exc else "the peer closed the connection"
                self._transport_error = reason
                log.warning("%s: %s", self.label, reason)
                self._core.transport_failed(reason)
            self._process()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._paused = False
        if not self._lost.done():
            self._lost.set_result(None)
        self._notify()

    def _abort(self, reason: str) -> None:
        """Give up on the peer: end the core with ``reason`` and drop the transport."""
        if not self._dead:
            self._dead = True
            self._transport_error = reason
            self._core.transport_failed(reason)
            self._process()
            self._notify()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()

    async def _release_transport(self, grace: float) -> None:
        """Close the transport (abort it after ``grace`` s) and wait until it is gone."""
        transport = self._transport
        if transport is None or self._lost.done():
            return
        if not transport.is_closing():
            transport.close()
        lost = self._lost
        if not await self._wait_until(lost.done, self._loop.time() + grace):
            transport.abort()
            await self._wait_until(lost.done, self._loop.time() + 1.0)

    async def _start(self, connect_timeout: float) -> None:
        """Queue the headers and open, and wait for the peer's open."""
        try:
            self._core.open()
            self._after()
            self._tick()
            end = self._loop.time() + connect_timeout
            ok = await self._wait_until(lambda: self._core.opened or self.closed, end)
            if self._core.opened:
                log.info("%s: connected (peer %s)", self.label, self.remote_container_id)
                return
            if not ok:
                self._abort("the open handshake timed out")
            error = self._closed_error()
            await self._release_transport(1.0)
        except BaseException:
            self._abort("cancelled while opening")
            raise
        if not ok:
            raise TimeoutError(f"{self.label}: the AMQP open handshake did not complete "
                               f"within {connect_timeout} s")
        raise error


# -- entry points ---------------------------------------------------------------------------

def open_connection(
    url: str,
    *,
    sasl: SaslOption = DEFAULT,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    hostname: str | None = None,
    connect_timeout: float = 10.0,
    timeout: float = 30.0,
    idle_timeout: float | None = 60.0,
    container_id: str | None = None,
    max_frame_size: int = 65536,
    channel_max: int = 65535,
    properties: dict[str, Any] | None = None,
    allow_plain_without_tls: bool = False,
) -> Opening[Connection]:
    """Connect to ``amqp://[user:password@]host[:port]`` (or ``amqps://``) and open.

    ``conn = await open_connection(url)`` or ``async with open_connection(url) as conn``.
    Credentials in the URL (percent-decoded) mean SASL PLAIN; otherwise SASL
    ANONYMOUS, unless ``sasl=`` chooses (``None``: no SASL layer). ``amqps``
    uses TLS with verification (``ssl.create_default_context()`` unless
    ``ssl_context``). ``timeout`` is the default of every later waiting call.
    Raises OSError (refused, unreachable), TimeoutError, or AuthenticationError.
    """
    parsed, sasl = url_sasl(url, sasl, ssl_context=ssl_context,
                            allow_plain_without_tls=allow_plain_without_tls)
    context = (ssl_context or ssl.create_default_context()) if parsed.tls else None

    async def opening() -> Connection:
        conn = _new(f"{parsed.host}:{parsed.port}", sasl=sasl,
                    hostname=hostname or parsed.host, timeout=timeout,
                    idle_timeout=idle_timeout, container_id=container_id,
                    max_frame_size=max_frame_size, channel_max=channel_max,
                    properties=properties)
        loop = asyncio.get_running_loop()
        await _timed(loop.create_connection(
            lambda: conn._protocol, parsed.host, parsed.port, ssl=context,
            server_hostname=(server_hostname or parsed.host) if context else None,
            ssl_handshake_timeout=connect_timeout if context else None),
            connect_timeout, f"connecting to {conn.label}")
        await conn._start(connect_timeout)
        return conn

    return Opening(opening())


def connect(
    sock: socket.socket,
    *,
    sasl: SaslOption = DEFAULT,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    hostname: str | None = None,
    connect_timeout: float = 10.0,
    timeout: float = 30.0,
    idle_timeout: float | None = 60.0,
    container_id: str | None = None,
    max_frame_size: int = 65536,
    channel_max: int = 65535,
    properties: dict[str, Any] | None = None,
    allow_plain_without_tls: bool = False,
) -> Opening[Connection]:
    """Open an AMQP connection over an already-connected (plain) socket.

    ``ssl_context`` runs TLS over it first (``server_hostname`` or ``hostname``
    or the peer's address is checked). The connection owns the socket from here
    on and closes it. ``sasl`` defaults to ANONYMOUS.
    """
    host, label = socket_peer(sock) or ("unknown", "socket")
    sasl = connect_sasl(sasl, tls=ssl_context is not None, host=host,
                        allow_plain_without_tls=allow_plain_without_tls)

    async def opening() -> Connection:
        conn = _new(label, sasl=sasl, hostname=hostname, timeout=timeout,
                    idle_timeout=idle_timeout, container_id=container_id,
                    max_frame_size=max_frame_size, channel_max=channel_max,
                    properties=properties)
        loop = asyncio.get_running_loop()
        try:
            sock.setblocking(False)
            await _timed(loop.create_connection(
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


async def _timed(coro: Any, timeout: float, what: str) -> Any:
    try:
        return await asyncio.wait_for(coro, timeout)
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        raise TimeoutError(f"{what}: no answer within {timeout} s") from None


def _new(label: str, *, sasl: Any, hostname: str | None, timeout: float,
         idle_timeout: float | None, container_id: str | None, max_frame_size: int,
         channel_max: int, properties: dict[str, Any] | None) -> Connection:
    core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                          max_frame_size=max_frame_size, channel_max=channel_max,
                          idle_timeout=idle_timeout, properties=properties)
    return Connection(core, timeout=timeout, label=label)

