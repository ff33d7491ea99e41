"""The trio connection's life, one transport after another: connecting, its tasks, losing it.

Entering connects (``_connect_first``: the URLs in order) or takes the given stream,
and starts ``_run``, which runs each transport's three tasks in a nursery of its own:
the reader (``_reader``), the writer (``_output``'s ``_writer``) and the ticker
(``_ticker``, asleep until the core's next deadline). A lost transport (``_lost``)
ends them; with reconnect on, ``_run`` then waits for the next try, connects and
installs the new stream and core (``_reconnect``), and the pump moves the new
handshake on (``_handshake``). A part of :class:`~amqp10_trio._connection.Connection`
(see its module for the whole design).
"""

from __future__ import annotations

import errno
import logging
import math
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import ParsedURL
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    FirstConnect,
    Recovering,
    connect_failure,
    dispatch_events,
    receive_bytes,
)
from amqp10_proto.trace import FrameTracer

from ._output import DIRECT, TRANSPORT_ERRORS
from ._transport import DIAL_ERRORS, reason, websocket_cause

__all__ = ["Lifecycle"]

log = logging.getLogger("amqp10")

_READ_SIZE = 1 << 18
_CONNECT_ERRORS = DIAL_ERRORS  # refused, unreachable, TLS/proxy/upgrade refused, timed out


class Lifecycle(Recovering):
    """The connection's transports and their tasks (a part of
    :class:`~amqp10_trio._connection.Connection`), on the reconnect state that outlives
    them (``Recovering``)."""

    _core: CoreConnection
    _stream: trio.abc.Stream | None
    _dial: Callable[[ParsedURL], Awaitable[trio.abc.Stream]] | None
    _make_core: Callable[[ParsedURL], CoreConnection] | None
    _urls: list[ParsedURL]
    _connect_timeout: float
    _dead: bool
    _drops: int
    _transport_error: str | None
    _transport_cause: BaseException | None
    _attempt_end: float
    _nursery: trio.Nursery | None
    _tick_scope: trio.CancelScope
    _tasks_scope: trio.CancelScope
    _pump_scope: trio.CancelScope
    _run_started: bool
    _run_done: trio.Event
    _trace_in: FrameTracer | None
    label: str
    _out: list[bytes | memoryview]  # (Output's)
    _owed: int
    _deferred: int
    _queued_total: int
    _sent_total: int
    _direct_spent: bool

    if TYPE_CHECKING:  # the connection's (and Output's): no stubs to shadow them here
        @property
        def remote_container_id(self) -> str | None: ...
        def _new_tracers(self) -> None: ...
        def _after(self) -> None: ...
        def _process(self) -> None: ...
        def _fire(self) -> None: ...
        def _take(self) -> bool: ...
        def _write_direct(self, stream: trio.abc.Stream | None) -> None: ...
        def _wake_sent(self) -> None: ...
        async def _writer(self) -> None: ...
        async def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool: ...
        def _closed_error(self) -> amqp_errors.ConnectionClosedError: ...

    # -- connecting -------------------------------------------------------------------------
    async def _connect_first(self) -> None:
        """Try the URLs in order within ``connect_timeout`` in all: connect and open;
        the last failure is raised if none answers. A refused login is not retried; a
        redirect (2.8.15) is followed, at most five hops."""
        assert self._dial is not None and self._make_core is not None
        deadline = trio.current_time() + self._connect_timeout
        tries = FirstConnect(self._urls)
        for index, url in tries:
            if trio.current_time() >= deadline and tries.error is not None:
                break
            try:
                with trio.fail_at(deadline):
                    stream = await self._dial(url)
                self._install(stream, self._make_core(url), url)
                if self._schedule is not None:
                    self._schedule.current = index
                    self._schedule.arrived(url)  # a redirect may have taken us elsewhere
                await self._begin(deadline)
                return
            except amqp_errors.AuthenticationError:
                raise  # a refused login is refused everywhere: no other URL is tried
            except (*_CONNECT_ERRORS, amqp_errors.ConnectionClosedError) as exc:
                # Said with host:port and, for a TLS mismatch, what to change; 2.8.15: a
                # redirect is often the answer.
                tries.failed(connect_failure(exc, url, self._core), index, url)
                await self._abandon_try()
        assert tries.error is not None
        raise tries.error

    async def _begin(self, deadline: float) -> None:
        """Start ``_run`` on the installed stream and wait for the peer's open."""
        assert self._nursery is not None
        self._run_started = True
        self._nursery.start_soon(self._run, name=f"amqp10-trio {self.label}")
        await self._start(deadline)

    async def _abandon_try(self) -> None:
        """After a first-connect try failed: end its tasks and stream, ready for the next."""
        with trio.CancelScope(shield=True):
            self._dead = True
            self._tasks_scope.cancel()
            if self._run_started:
                await self._run_done.wait()
            stream, self._stream = self._stream, None
            if stream is not None:
                await trio.aclose_forcefully(stream)
        self._tasks_scope = trio.CancelScope(shield=True)
        self._run_done = trio.Event()
        self._run_started = False

    def _install(self, stream: trio.abc.Stream, core: CoreConnection, url: ParsedURL) -> None:
        """Take ``stream`` and ``core`` (a fresh one) as the connection's transport."""
        self._stream = stream
        self._core = core
        self._dead = False
        self._transport_error = self._transport_cause = None
        self._out.clear()
        self._owed = 0
        self._deferred = 0  # (what the old core held is gone with it)
        self._sent_total = self._queued_total
        self.label = f"{url.host}:{url.port}"
        self._new_tracers()

    async def _start(self, end: float) -> None:
        """Queue the headers and open (the tasks are started), wait for the peer's open."""
        self._core.open()
        self._after()
        ok = await self._wait_until(lambda: self._core.opened or self.closed, end)
        if self._core.opened:
            log.info("%s: connected (peer %s)", self.label, self.remote_container_id)
            self._arm_recovery()
            return
        if not ok:
            self._lost("the open handshake timed out")
            raise TimeoutError(f"{self.label}: the AMQP open handshake did not complete "
                               f"within {self._connect_timeout} s")
        raise self._closed_error()

    # -- each transport's tasks, then the next -----------------------------------------------
    async def _run(self) -> None:
        """Pump each transport in turn: its three tasks, then (reconnecting) the next."""
        try:
            with self._tasks_scope:
                while True:
                    async with trio.open_nursery() as nursery:
                        self._pump_scope = nursery.cancel_scope
                        if self._dead:  # lost before the tasks started
                            nursery.cancel_scope.cancel()
                        nursery.start_soon(self._writer)
                        nursery.start_soon(self._reader)
                        nursery.start_soon(self._ticker)
                    if not await self._reconnect():
                        break
        finally:
            if self._reconnecting:
                self._stop_recovery()
            self._dead = True
            self._fire()
            self._run_done.set()

    async def _reader(self) -> None:
        stream = self._stream
        assert stream is not None
        try:
            if DIRECT and type(stream) is trio.SocketStream:
                await self._read_socket(stream.socket)
                return
            while not self._dead:
                received = await stream.receive_some(_READ_SIZE)
                if not self._received(received if type(received) is bytes else bytes(received)):
                    return
        except TRANSPORT_ERRORS as exc:
            self._lost(f"read failed: {reason(exc)}", websocket_cause(exc))
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the reader task failed", self.label)
            self._lost(f"the reader task failed: {exc!r}")

    async def _read_socket(self, sock: trio.socket.SocketType) -> None:
        """The reader over a plain TCP socket: ``SocketStream.receive_some``'s work without
        its layers (two context managers, its socket method's wrapper, the helper's
        try-then-wait), which were a fifth of the trio adapter's own CPU per credit round
        of a bulk send: a non-blocking read of the descriptor; if it has nothing, wait
        until it is readable (one task step); if it had, one schedule point (a checkpoint,
        as trio's read makes), so that a stream that never runs dry still lets the other
        tasks run. Errors as trio raises them: ClosedResourceError once the socket is
        closed (``notify_closing`` wakes the wait), OSError else (its reason is the same)."""
        wait_readable = trio.lowlevel.wait_readable
        checkpoint = trio.lowlevel.checkpoint
        read = os.read
        waited = False  # this read follows a wait: its schedule point is taken
        while not self._dead:
            fd = sock.fileno()
            if fd < 0:
                raise trio.ClosedResourceError("the socket was closed")
            try:
                data = read(fd, _READ_SIZE)
            except BlockingIOError:
                await wait_readable(fd)  # (a cancellation ends it: the reader ends)
                waited = True
                continue
            except OSError as exc:
                if exc.errno == errno.EBADF:
                    raise trio.ClosedResourceError("the socket was closed") from None
                raise
            if not waited:
                await checkpoint()
            waited = False
            if not self._received(data):
                return

    def _received(self, data: bytes) -> bool:
        """What the reader read: into the core, its events handled, its output written
        (directly when it can: _write_direct); False once the peer closed the stream."""
        self._direct_spent = False  # (a step of ours: see _send_out)
        core = self._core
        receive_bytes(core, data, self.label, self._trace_in)
        self._retick_by(core.tick(trio.current_time()))
        self._process()
        self._take()
        self._write_direct(self._stream)
        if not data:
            self._lost("the peer closed the stream")
            return False
        return True

    async def _ticker(self) -> None:
        core = self._core
        try:
            while not self._dead:
                now = trio.current_time()
                if self._reconnecting and now >= self._attempt_end:
                    self._lost(f"no answer within {self._connect_timeout} s while reconnecting")
                    return
                deadline = core.tick(now)
                self._after()
                if deadline is None:
                    deadline = math.inf
                if self._reconnecting:
                    deadline = min(deadline, self._attempt_end)
                self._tick_scope = trio.CancelScope(deadline=deadline)
                with self._tick_scope:
                    await trio.sleep_forever()
                self._direct_spent = False  # (a step of ours: see _send_out)
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the ticker task failed", self.label)
            self._lost(f"the ticker task failed: {exc!r}")

    def _retick_by(self, deadline: float | None) -> None:
        if deadline is not None and deadline < self._tick_scope.deadline:
            self._tick_scope.deadline = deadline

    # -- losing a transport, reconnecting ----------------------------------------------------
    def _lost(self, reason: str, cause: BaseException | None = None) -> None:
        """The stream is gone or given up on: end the core; fail every wait, or
        (reconnecting) have them wait for the next transport. ``cause``: the typed error
        that broke it (a WebSocketError), the ConnectionClosedError's ``__cause__``."""
        if not self._dead:
            self._dead = True
            self._transport_error = reason
            self._transport_cause = cause
            if not self._core.ended:
                if self._schedule is None or self._closed_by_user or not self._armed:
                    log.warning("%s: connection lost: %s", self.label, reason)
                self._core.transport_failed(reason)
            self._out.clear()
            self._owed = 0
            self._process()
            self._fire()
            self._pump_scope.cancel()

    def _drop_transport(self) -> None:
        """The transport is given up for a new one: its tasks end, its bytes are dropped."""
        self._dead = True
        self._out.clear()
        self._owed = 0
        self._sent_total = self._queued_total  # pre-settled in flight: may be lost
        self._wake_sent()
        self._drops += 1  # a write in flight on it no longer counts
        self._pump_scope.cancel()

    async def _reconnect(self) -> bool:
        """(Between two transports) wait for the next try, connect, and install the new
        stream and core; False once the connection is closed or given up."""
        old, self._stream = self._stream, None
        if old is not None:
            await trio.aclose_forcefully(old)
        while self._reconnecting and not self._closed_by_user:
            attempt = self._next_attempt(trio.current_time())
            if attempt is None:  # given up: every wait fails with the last cause
                self._fire()
                return False
            await trio.sleep_until(attempt.at)  # a close cancels it (_tasks_scope)
            url = attempt.url
            assert self._dial is not None and self._make_core is not None
            try:
                with trio.fail_after(self._connect_timeout):
                    stream = await self._dial(url)
            except _CONNECT_ERRORS as exc:
                why = "timed out" if isinstance(exc, trio.TooSlowError) else reason(exc)
                log.info("%s: reconnect attempt %d to %s:%d failed: %s", self.label,
                         attempt.number, url.host, url.port, why)
                self._attempt_failed(f"connecting to {url.host}:{url.port}: {why}")
                continue
            self._install(stream, self._make_core(url), url)
            self._attempt_end = trio.current_time() + self._connect_timeout
            self._core.open()
            self._after()
            return True
        return False

    def _handshake(self) -> None:
        """(Reconnecting, a new transport) once the peer's open is here, begin the
        sessions and attach the links again; once all answered, the connection is back."""
        core = self._core
        if core.opened and not self._replaying:
            self._replay()
            if dispatch_events(core, self.label, reconnecting=self._reconnecting):
                self._fire()
        if self._replaying and self._replay_done():
            self._recovered(trio.current_time())
            self._attempt_end = math.inf
            dispatch_events(core, self.label, reconnecting=self._reconnecting)
            self._fire()
