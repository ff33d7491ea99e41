"""The asyncio connection's life, one transport after another: opening, losing it, reconnecting.

The first transport is opened by ``_start`` (the entry points connect it). A lost one
(``_on_lost``, or given up on: ``_abort``) ends the core (``_lose``); when the policy
says to reconnect, the pump drops it (``_drop_transport``) and starts the reconnect
loop (``_reconnect``: one task, while it is needed), which waits for each try's time,
connects a fresh core and protocol (``_dial_attempt``, ``_install``), and waits until
the pump moved the new handshake on (``_handshake``) or the try is lost. ``close()``
stops that task (``_stop_task``) and releases the transport (``_release_transport``).
A part of :class:`~amqp10_asyncio._connection.Connection` (see its module for the
whole design).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import Recovering
from amqp10_proto.trace import FrameTracer

from ._protocol import _Protocol
from ._transport import Dialer

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Lifecycle"]

log = logging.getLogger("amqp10")


class Lifecycle(Recovering):
    """The connection's transports, lost and replaced (a part of
    :class:`~amqp10_asyncio._connection.Connection`), on the reconnect state that
    outlives them (``Recovering``)."""

    _core: CoreConnection
    _loop: asyncio.AbstractEventLoop
    _dialer: Dialer | None
    _connect_timeout: float
    _protocol: _Protocol
    _transport: asyncio.Transport | None
    _paused: bool
    _dead: bool
    _transport_error: str | None
    _transport_cause: BaseException | None
    _seen_end: CoreConnection | None
    _task: asyncio.Task[None] | None
    _stalled: set[Any]
    _backlog: deque[memoryview]
    _trace_in: FrameTracer | None
    _trace_out: FrameTracer | None
    label: str

    if TYPE_CHECKING:  # the connection's (and TransportIO's): no stubs to shadow them here
        @property
        def remote_container_id(self) -> str | None: ...
        def _after(self) -> None: ...
        def _process(self) -> bool: ...
        def _notify(self) -> None: ...
        def _flush(self) -> None: ...
        def _tick(self) -> None: ...
        def _cancel_timer(self) -> None: ...
        async def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool: ...
        def _closed_error(self) -> amqp_errors.ConnectionClosedError: ...

    # -- opening ----------------------------------------------------------------------------
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
                self._arm_recovery()
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

    def _install(self, core: CoreConnection, label: str) -> _Protocol:
        """Make ``core`` and a fresh protocol (not yet connected) the connection's own."""
        self._cancel_timer()
        self._core = core
        self._seen_end = None
        self._backlog.clear()  # (bytes for the old transport: the new one starts afresh)
        self._stalled.clear()
        self._protocol = protocol = _Protocol(cast("Connection", self))  # (self is one)
        self._transport = None
        self._dead = False
        self._paused = False
        self._transport_error = self._transport_cause = None
        self.label = label
        if self._trace_in is not None:  # a new byte stream: its frames start afresh
            self._trace_in = FrameTracer(label, "<-")
            self._trace_out = FrameTracer(label, "->")
        return protocol

    # -- losing a transport ----------------------------------------------------------------
    def _on_lost(self, exc: Exception | None) -> None:
        if not self._dead:
            if isinstance(exc, amqp_errors.WebSocketError):  # (WebSocketStream's layer.error)
                self._transport_cause = exc
            reason = f"connection lost: {exc}" if exc else "the peer closed the connection"
            self._lose(reason, quiet=False)
        self._cancel_timer()
        self._paused = False
        self._notify()

    def _abort(self, reason: str) -> None:
        """Give up on the peer: end the core with ``reason`` and drop the transport."""
        if not self._dead:
            self._lose(reason, quiet=True)
            self._notify()
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    def _lose(self, reason: str, *, quiet: bool) -> None:
        """The transport is gone or given up on: end the core (its waiters fail, or, when
        the connection reconnects, wait for the next transport)."""
        self._dead = True
        self._backlog.clear()
        if not self._core.ended:
            self._transport_error = reason
            if not quiet and (self._schedule is None or self._closed_by_user):
                log.warning("%s: %s", self.label, reason)
            self._core.transport_failed(reason)
        self._process()

    def _drop_transport(self) -> None:
        """The core ended and the connection reconnects: the transport is done with."""
        self._dead = True
        self._paused = False
        self._backlog.clear()
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    async def _release_transport(self, grace: float) -> None:
        """Close the transport (abort it after ``grace`` s) and wait until it is gone."""
        transport = self._transport
        lost = self._protocol.lost
        if transport is None or lost.done():
            return
        if not transport.is_closing():
            transport.close()
        if not await self._wait_until(lost.done, self._loop.time() + grace):
            transport.abort()
            await self._wait_until(lost.done, self._loop.time() + 1.0)

    # -- reconnecting -----------------------------------------------------------------------
    async def _reconnect(self) -> None:
        """The reconnect loop (one task per connection, while it is needed): wait for each
        try's time, connect, open, and wait until the pump says the try got the connection
        back (``_recovered``) or lost its transport; ends when the connection is back,
        given up, or closed."""
        loop = self._loop
        try:
            while self._reconnecting:
                attempt = self._next_attempt(loop.time())
                if attempt is None:  # given up: every wait fails with the last cause
                    self._dead = True
                    self._notify()
                    return
                delay = attempt.at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not self._reconnecting:
                    return
                protocol = await self._dial_attempt(attempt)
                if protocol is None:
                    continue
                end = loop.time() + self._connect_timeout

                def over(protocol: _Protocol = protocol) -> bool:
                    """This try's end: the connection is back, or the try is lost."""
                    return not self._reconnecting or self._dead or self._protocol is not protocol

                if not await self._wait_until(over, end):
                    self._abort(f"no answer within {self._connect_timeout} s while reconnecting")
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    async def _dial_attempt(self, attempt: Any) -> _Protocol | None:
        """Connect to the attempt's URL with a fresh core and protocol, installed as the
        connection's, and open it; None if the connect failed (the schedule is told)."""
        dialer = self._dialer
        assert dialer is not None
        url = attempt.url
        protocol = self._install(dialer.core(url), f"{url.host}:{url.port}")
        try:
            await dialer.connect(url, protocol, self._connect_timeout)
        except (OSError, amqp_errors.RemoteProtocolError) as exc:
            # Refused, unreachable, timed out, TLS, the proxy or the WebSocket upgrade
            # refused. asyncio says "Connect call failed": the errno's own words say why.
            why = f"{os.strerror(exc.errno)}: {exc}" if isinstance(exc, ConnectionError) \
                and exc.errno else str(exc)
            log.info("%s: reconnect attempt %d to %s:%d failed: %s", self.label,
                     attempt.number, url.host, url.port, why)
            self._dead = True
            self._attempt_failed(f"connecting to {url.host}:{url.port}: {why}")
            return None
        except BaseException:
            self._dead = True
            raise
        self._core.open()
        self._after()
        self._tick()
        return protocol

    def _handshake(self) -> None:
        """(Reconnecting, on the new transport) once the peer's open is here, begin the
        sessions and attach the links again; once all answered, the connection is back."""
        if self._core.opened and not self._replaying:
            self._replay()
            self._flush()
        if self._replaying and self._replay_done():
            self._recovered(self._loop.time())
            self._flush()

    async def _stop_task(self) -> None:
        """Cancel the reconnect loop, if it runs, and wait until it has ended."""
        task = self._task
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait([task])  # (a cancel of our caller still reaches it)
