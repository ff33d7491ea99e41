"""The trio connection: one stream, three background tasks in a nursery the connection owns.

``Connection`` is an async context manager. Entering it connects (TCP, then TLS
for ``amqps``), opens a nursery and starts three tasks in it:

* the reader: ``await stream.receive_some()``, bytes into the core;
* the writer: the only task that writes to the stream; it sends what the core
  queued (every core call is followed by ``data_to_send()`` into one buffer);
* the ticker: sleeps in a cancel scope whose deadline is the one ``tick()``
  returned (no polling: an idle connection wakes only for heartbeats).

Every call into the core is synchronous and followed at once by handling its
events and queueing its output, with no checkpoint in between, so a cancelled
caller never leaves the core half-used: bytes the core produced are always
written by the writer task. Waiters sleep on one ``trio.Event`` that is
replaced each time events arrive (a broadcast). The core holds all protocol state.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any

import trio

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    DEFAULT,
    ConnectionInfo,
    Recovering,
    SaslOption,
    closed_error,
    connect_sasl,
    describe_error,
    dispatch_events,
    receive_bytes,
    socket_peer,
    url_sasl,
)
from amqp10_proto.trace import FrameTracer, trace_enabled

from ._session import Opening, Session

__all__ = ["DEFAULT", "Connection", "connect", "describe_error", "open_connection"]

log = logging.getLogger("amqp10")

_READ_SIZE = 1 << 18
_SHUT_DOWN = "the connection was shut down"
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def _reason(exc: BaseException) -> str:
    """What broke the stream: trio wraps the OSError or the TLS alert (e.g. the server's
    "certificate required") in BrokenResourceError; name the wrapped one."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, trio.BrokenResourceError) and cause is not None:
        exc = cause
    return f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)





class Connection(Recovering, ConnectionInfo):
    """An AMQP 1.0 connection on trio; made by :func:`open_connection` or :func:`connect`.

    Use it as an async context manager: ``async with open_connection(url) as conn``.
    Entering connects and opens; the connection runs its background tasks (reader,
    writer, ticker) in a nursery it opens itself and owns, so it must be entered and
    exited in the same task, like any nursery. The tasks are shielded from the
    cancel scopes around the block: cancelling the application's code never stops
    the pump in the middle of a frame. Leaving the block closes the connection
    (waiting at most ``timeout`` for the peer, shielded from cancellation for that
    long) and ends the tasks. Every method is safe to call from many tasks at once.
    """

    _core: CoreConnection

    def __init__(self, core: CoreConnection, *, stream: trio.abc.Stream | None = None,
                 connect_to: Callable[[], Any] | None = None, connect_timeout: float,
                 timeout: float, label: str) -> None:
        self._core = core
        self._init_recovery(None, ())
        self._stream = stream
        self._connect_to = connect_to
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self.label = label
        self._changed = trio.Event()
        self._write_wanted = trio.Event()
        self._out = bytearray()
        self._queued_total = 0  # bytes handed to us by the core, ever
        self._sent_total = 0  # bytes the stream took, ever
        self._write_waiters = 0  # tasks waiting for bytes to be written (see _wait_written)
        self._dead = False  # the stream is gone (or given up on)
        self._transport_error: str | None = None
        self._closed_by_user = False
        self._entered = False
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._tick_scope = trio.CancelScope()
        # The background tasks run shielded: an enclosing cancel scope cancels the
        # application's code, never the pump; only our own close or a lost stream stops it.
        self._tasks_scope = trio.CancelScope(shield=True)
        self._run_done = trio.Event()
        tracing = trace_enabled()
        self._trace_in = FrameTracer(label, "<-") if tracing else None
        self._trace_out = FrameTracer(label, "->") if tracing else None

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the stream lost."""
        return self._core.ended or self._dead

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self._entered else "not entered"
        return f"<amqp10_trio.Connection {self.label} {state}>"

    async def wait_closed(self) -> None:
        """Return once the connection is over (closed by either side or lost); see ``error``."""
        await self._wait_until(lambda: self.closed, None)

    # -- entering and leaving ---------------------------------------------------------------
    async def __aenter__(self) -> Connection:
        if self._entered:
            raise RuntimeError("a Connection can be entered only once")
        self._entered = True
        if self._stream is None:
            assert self._connect_to is not None
            with trio.fail_after(self._connect_timeout):
                self._stream = await self._connect_to()
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        self._nursery.start_soon(self._run, name=f"amqp10-trio {self.label}")
        try:
            await self._start()
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
            await self._run_done.wait()
        manager, self._nursery_manager = self._nursery_manager, None
        if manager is not None:
            # Its one task has ended and never raises, so this does not wait; the
            # body's exception, if any, goes on past us unwrapped (no ExceptionGroup).
            await manager.__aexit__(None, None, None)

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = 5000, outgoing_window: int = (1 << 31) - 1,
                     handle_max: int = 0xFFFFFFFF, properties: dict[str, Any] | None = None,
                     offered_capabilities: list[str] | None = None,
                     desired_capabilities: list[str] | None = None,
                     timeout: float | None = None) -> Opening[Session]:
        """Begin a session and wait until the peer answers (within ``timeout``).

        ``async with conn.open_session() as session`` (ends it on exit), or
        ``session = await conn.open_session()``.
        """
        async def begin() -> Session:
            end = self._deadline(timeout)
            await trio.lowlevel.checkpoint()
            self._check()
            core = self._core.begin_session(
                incoming_window=incoming_window, outgoing_window=outgoing_window,
                handle_max=handle_max, properties=properties,
                offered_capabilities=offered_capabilities,
                desired_capabilities=desired_capabilities)
            session = Session(self, core)
            core.context = session
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

        Every pending operation fails with ConnectionClosed; the background tasks end.
        """
        end = self._deadline(timeout)
        self._closed_by_user = True
        if not self.closed:
            self._core.close()
            self._after()
        if not await self._wait_until(lambda: self.closed, end):
            log.warning("%s: the peer did not answer our close within %s s; dropping the "
                        "stream", self.label, self._span(timeout))
            self._lost("the peer did not answer our close in time")
        # Let the writer put our last frames (the close) on the wire, briefly.
        with trio.move_on_at(min(end, trio.current_time() + 1.0)):
            await self._wait_written(lambda: self._sent_total >= self._queued_total or self._dead,
                                   None)
        await self._stop()

    async def _stop(self) -> None:
        """End the background tasks and close the stream (idempotent, never waits long)."""
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
        return self._timeout if timeout is None else timeout

    def _deadline(self, timeout: float | None) -> float:
        return trio.current_time() + self._span(timeout)

    def _fire(self) -> None:
        """Wake every waiter (they re-check their condition)."""
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool:
        """Wait until ``pred()``; False if ``end`` (trio time) passed first.

        Respects enclosing cancel scopes (raises Cancelled).
        """
        if pred():
            return True
        with trio.move_on_at(math.inf if end is None else end):
            while True:
                await self._changed.wait()
                if pred():
                    return True
        return bool(pred())

    async def _wait_written(self, pred: Callable[[], object], end: float | None) -> bool:
        """``_wait_until`` for a condition that also changes as the writer writes."""
        self._write_waiters += 1
        try:
            return await self._wait_until(pred, end)
        finally:
            self._write_waiters -= 1

    def _closed_error(self) -> amqp_errors.ConnectionClosed:
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error, shut_down=_SHUT_DOWN)

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call: dispatch its events, queue what it wants written."""
        self._process()
        self._flush()

    def _process(self) -> None:
        if dispatch_events(self._core, self.label):
            self._fire()

    def _flush(self) -> None:
        data = self._core.data_to_send()
        if data:
            if self._trace_out is not None:
                self._trace_out.feed(data)
            self._queued_total += len(data)
            if self._dead:
                return
            self._out += data
            self._write_wanted.set()

    @property
    def _unwritten(self) -> int:
        return self._queued_total - self._sent_total

    def _lost(self, reason: str) -> None:
        """The stream is gone or given up on: end the core, fail every wait."""
        if not self._dead:
            self._dead = True
            self._transport_error = reason
            if not self._core.ended:
                log.warning("%s: connection lost: %s", self.label, reason)
                self._core.transport_failed(reason)
            self._out.clear()
            self._process()
            self._fire()
            self._tasks_scope.cancel()

    def _retick_by(self, deadline: float | None) -> None:
        if deadline is not None and deadline < self._tick_scope.deadline:
            self._tick_scope.deadline = deadline

    async def _reader(self) -> None:
        stream = self._stream
        core = self._core
        assert stream is not None
        try:
            while not self._dead:
                received = await stream.receive_some(_READ_SIZE)
                data = received if type(received) is bytes else bytes(received)
                receive_bytes(core, data, self.label, self._trace_in)
                self._retick_by(core.tick(trio.current_time()))
                self._after()
                if not data:
                    self._lost("the peer closed the stream")
                    return
        except _TRANSPORT_ERRORS as exc:
            self._lost(f"read failed: {_reason(exc)}")
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the reader task failed", self.label)
            self._lost(f"the reader task failed: {exc!r}")

    async def _writer(self) -> None:
        stream = self._stream
        assert stream is not None
        try:
            while not self._dead:
                if not self._out:
                    self._write_wanted = trio.Event()
                    await self._write_wanted.wait()
                    continue
                data, self._out = self._out, bytearray()
                await stream.send_all(data)
                self._sent_total += len(data)
                if self._write_waiters:
                    self._fire()  # only those waiting on the write care; the rest sleep on
        except _TRANSPORT_ERRORS as exc:
            self._lost(f"write failed: {_reason(exc)}")
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the writer task failed", self.label)
            self._lost(f"the writer task failed: {exc!r}")

    async def _ticker(self) -> None:
        core = self._core
        try:
            while not self._dead:
                deadline = core.tick(trio.current_time())
                self._after()
                self._tick_scope = trio.CancelScope(
                    deadline=math.inf if deadline is None else deadline)
                with self._tick_scope:
                    await trio.sleep_forever()
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the ticker task failed", self.label)
            self._lost(f"the ticker task failed: {exc!r}")

    async def _run(self) -> None:
        try:
            with self._tasks_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer)
                    nursery.start_soon(self._reader)
                    nursery.start_soon(self._ticker)
        finally:
            self._run_done.set()

    async def _start(self) -> None:
        """Queue the headers and open, start the tasks, wait for the peer's open."""
        assert self._nursery is not None
        end = trio.current_time() + self._connect_timeout
        self._core.open()
        self._after()
        ok = await self._wait_until(lambda: self._core.opened or self.closed, end)
        if self._core.opened:
            log.info("%s: connected (peer %s)", self.label, self.remote_container_id)
            return
        if not ok:
            self._lost("the open handshake timed out")
            raise TimeoutError(f"{self.label}: the AMQP open handshake did not complete "
                               f"within {self._connect_timeout} s")
        raise self._closed_error()


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
) -> Connection:
    """A connection to ``amqp://[user:password@]host[:port]`` (or ``amqps://``).

    Use it with ``async with``: entering connects (``trio.open_tcp_stream``, then
    ``trio.SSLStream`` for amqps), opens the connection's own nursery and waits for
    the peer's open. Credentials in the URL (percent-decoded) mean SASL PLAIN;
    otherwise ANONYMOUS, unless ``sasl=`` chooses (``None``: no SASL layer).
    ``amqps`` verifies the certificate and host name (``ssl.create_default_context()``
    unless ``ssl_context``). ``timeout`` is the default of every later call that
    waits. Entering raises OSError, TimeoutError, or AuthenticationError.
    """
    parsed, sasl = url_sasl(url, sasl, ssl_context=ssl_context,
                            allow_plain_without_tls=allow_plain_without_tls)

    async def connect_to() -> trio.abc.Stream:
        tcp = await trio.open_tcp_stream(parsed.host, parsed.port)
        if not parsed.tls:
            return tcp
        context = ssl_context or ssl.create_default_context()
        tls = trio.SSLStream(tcp, context, server_hostname=server_hostname or parsed.host)
        try:
            await tls.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(tcp)
            raise
        return tls

    core = CoreConnection(container_id=container_id, hostname=hostname or parsed.host,
                          sasl=sasl, max_frame_size=max_frame_size, channel_max=channel_max,
                          idle_timeout=idle_timeout, properties=properties)
    return Connection(core, connect_to=connect_to, connect_timeout=connect_timeout,
                      timeout=timeout, label=f"{parsed.host}:{parsed.port}")


def connect(
    stream: trio.abc.Stream,
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
    label: str = "stream",
) -> Connection:
    """A connection over an already-connected trio stream (a SocketStream, an SSLStream ...).

    Use it with ``async with`` like :func:`open_connection`. ``ssl_context`` wraps the
    stream in ``trio.SSLStream`` first (``server_hostname`` or ``hostname`` is checked).
    The connection owns the stream from here on and closes it. ``sasl`` defaults
    to ANONYMOUS; PLAIN needs TLS unless ``allow_plain_without_tls``.
    """
    host = hostname or server_hostname or "unknown"
    peer = socket_peer(stream.socket) if isinstance(stream, trio.SocketStream) else None
    if peer is not None:
        host, label = hostname or peer[0], peer[1]
    if ssl_context is not None and not isinstance(stream, trio.SSLStream):
        stream = trio.SSLStream(stream, ssl_context, server_hostname=server_hostname or host)
    sasl = connect_sasl(sasl, tls=isinstance(stream, trio.SSLStream), host=host,
                        allow_plain_without_tls=allow_plain_without_tls)
    core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                          max_frame_size=max_frame_size, channel_max=channel_max,
                          idle_timeout=idle_timeout, properties=properties)
    return Connection(core, stream=stream, connect_timeout=connect_timeout, timeout=timeout,
                      label=label)
