"""One asyncio transport's protocol, and the I/O the connection does on it.

``_Protocol`` is the event loop's side: its callbacks go to the connection while it
is the current transport's (bytes in: ``_on_data``; room to write again:
``_resume``; lost: ``_lifecycle``'s ``_on_lost``). ``TransportIO`` is the
connection's side: bytes into the core, what the core queued out to the transport
(``_flush``; a large write handed over a chunk at a time, ``_write_backlog``), and
the core's timer (``_tick``). A part of :class:`~amqp10_asyncio._connection.Connection`
(see its module for the whole design).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from amqp10_proto import Connection as CoreConnection
from amqp10_proto.client import receive_bytes
from amqp10_proto.trace import FrameTracer

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["TransportIO"]

#: Bytes handed to the transport per write when the core gives more at once (a large
#: message): the transport copies what the socket does not take, so at most this much.
_CHUNK = 256 * 1024

#: The read buffer a transport fills (``get_buffer``): asyncio's own reads, as large.
_READ = 256 * 1024


class _Protocol(asyncio.BufferedProtocol, asyncio.Protocol):
    """One transport's event loop callbacks, forwarded to the connection while this is
    its current transport (a replaced one's late callbacks are only recorded).

    A buffered protocol to the transports that take one (the socket's, TLS): they read
    into one buffer kept here, not into a new 256 KiB ``bytes`` per read, which asyncio
    shrinks to the ~150 bytes of a credit round and which glibc, short of a free chunk
    that size, maps and unmaps each time (three system calls and a page fault a round;
    issue 12 item 2). A ``Protocol`` too: the WebSocket stream and a proxy's hand-over
    call ``data_received``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.transport: asyncio.Transport | None = None
        #: Done once the transport is gone (its ``connection_lost``).
        self.lost: asyncio.Future[None] = conn._loop.create_future()
        self._view: memoryview | None = None  # the read buffer, made at the first read

    def get_buffer(self, sizehint: int) -> memoryview:
        view = self._view
        if view is None:
            self._view = view = memoryview(bytearray(_READ))
        return view

    def buffer_updated(self, nbytes: int) -> None:
        if self._conn._protocol is self:
            # A copy: the core may keep what it is given, and the buffer is read into again.
            assert self._view is not None
            self._conn._on_data(bytes(self._view[:nbytes]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._conn._protocol is self:
            self._conn._transport = transport
            # Early writes (issue 12) on a plain TCP socket only: over TLS each write is a
            # record of its own, through WebSocket a frame (neither has a socket of its own).
            self._conn._plain = (transport.get_extra_info("socket") is not None
                                 and transport.get_extra_info("sslcontext") is None)

    def data_received(self, data: bytes) -> None:
        if self._conn._protocol is self:
            self._conn._on_data(data)

    def eof_received(self) -> bool:
        if self._conn._protocol is self:
            self._conn._on_data(b"")
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self._conn._protocol is self:
            self._conn._on_lost(exc)

    def pause_writing(self) -> None:
        if self._conn._protocol is self:
            self._conn._paused = True

    def resume_writing(self) -> None:
        if self._conn._protocol is self:
            self._conn._resume()


class TransportIO:
    """The connection's reads, writes and timer on its current transport (a part of
    :class:`~amqp10_asyncio._connection.Connection`)."""

    _core: CoreConnection
    _loop: asyncio.AbstractEventLoop
    _transport: asyncio.Transport | None
    _paused: bool
    _dead: bool
    _stalled: set[Any]
    _backlog: deque[memoryview]
    _timer: asyncio.TimerHandle | None
    _timer_at: float
    _trace_in: FrameTracer | None
    _trace_out: FrameTracer | None
    label: str

    if TYPE_CHECKING:  # the connection's: no stubs to shadow them here
        def _after(self) -> None: ...

    def _on_data(self, data: bytes) -> None:
        if self._dead:
            return
        receive_bytes(self._core, data, self.label, self._trace_in)
        self._tick()
        self._after()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return  # not connected yet: the core keeps what it queued
        core = self._core
        data = core.data_to_send()
        if data:
            if self._trace_out is not None:
                self._trace_out.feed(data)
            if not self._dead:
                if len(data) <= _CHUNK and not self._backlog:
                    transport.write(data)
                else:
                    # Issue 12: no copy of a large write; the transport gets a chunk at a
                    # time (a view), the next when it has written the last one.
                    self._backlog.append(memoryview(data))
                    self._write_backlog(transport)
        if core.ended and not transport.is_closing() and not self._backlog:
            transport.close()  # after our last frames (a close) are written

    def _write_backlog(self, transport: asyncio.Transport) -> None:
        backlog = self._backlog
        while backlog and not self._paused:
            view = backlog[0]
            if len(view) <= _CHUNK:
                backlog.popleft()
            else:
                backlog[0] = view[_CHUNK:]
                view = view[:_CHUNK]
            transport.write(view)  # (may pause us: pause_writing is called from here)
        if backlog:
            self._paused = True  # no new transfers until the backlog is handed over

    def _resume(self) -> None:
        """The transport's buffer went below its low-water mark: write on, and let the
        senders that waited for room send (their queues; no waiter is woken for it)."""
        self._paused = False
        transport = self._transport
        if self._backlog and transport is not None and not self._dead:
            self._write_backlog(transport)
            if self._paused:
                return
            if self._core.ended and not transport.is_closing():
                transport.close()
        stalled = self._stalled
        if stalled:
            self._stalled = set()
            for sender in stalled:
                sender._pump()
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

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
