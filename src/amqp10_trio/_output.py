"""The trio connection's write path: the writer task, direct writes, the bytes sent.

What the core queued goes into ``_out`` (``_take``) and is written by the task that
made it, at once, with one non-blocking write (``_write_direct``: a TCP socket,
plain or TLS), or by the writer task (``_writer``). The bytes handed over and the
bytes the stream took are counted (``_queued_total``, ``_sent_total``), so that a
pre-settled send can wait until its bytes are written (``_sent``) and a sender
held back by HIGH_WATER is pumped after each write (``_stalled``). A part of
:class:`~amqp10_trio._connection.Connection` (see its module for the whole design).
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from typing import TYPE_CHECKING

import trio

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import Delivery
from amqp10_proto.client import EarlyWrites, thread_switches
from amqp10_proto.trace import FrameTracer

from ._link import Sender
from ._tls import TlsStream
from ._transport import reason, websocket_cause

__all__ = ["DIRECT", "TRANSPORT_ERRORS", "Output"]

log = logging.getLogger("amqp10")

#: The reader may write to a plain socket's descriptor itself (os.write: POSIX only).
DIRECT = os.name == "posix"
TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class Output:
    """The connection's writes and the count of bytes written (a part of
    :class:`~amqp10_trio._connection.Connection`)."""

    _core: CoreConnection
    _stream: trio.abc.Stream | None
    _dead: bool
    _drops: int
    _deferred: int
    _trace_out: FrameTracer | None
    label: str

    if TYPE_CHECKING:  # the connection's (and Lifecycle's): no stubs to shadow them here
        @property
        def closed(self) -> bool: ...
        def _after(self) -> None: ...
        def _process(self) -> None: ...
        def _lost(self, reason: str, cause: BaseException | None = None) -> None: ...

    def _init_output(self) -> None:
        """The write path's state (called by the connection's ``__init__``)."""
        self._write_wanted = trio.Event()
        #: What the core queued, not yet taken by the writer: its chunks as the core gave
        #: them (a large message's bytes go out as they are, never copied here).
        self._out: list[bytes | memoryview] = []
        self._writing = False  # the writer task is in a send
        #: An application's task wrote directly since a task of ours last ran: the next
        #: ones leave their bytes to the writer (see _send_out).
        self._direct_spent = False
        #: Bytes counted as written once the writer's next send is done: the ones whose
        #: TLS records the stream holds (TlsStream.send_nowait: the socket took part).
        self._owed = 0
        self._queued_total = 0  # bytes handed to us by the core, ever
        self._sent_total = 0  # bytes the stream took, ever
        #: Tasks waiting until the stream took a number of bytes: (that total, seq, event),
        #: a heap, so that each write wakes exactly those whose bytes it wrote.
        self._sent_waiters: list[tuple[int, int, trio.Event]] = []
        self._sent_seq = 0
        #: Pre-settled deliveries whose bytes are not yet handed to us (their mark: see _flush).
        self._unmarked: list[Delivery] = []
        #: Senders with queued messages held back by HIGH_WATER: pumped after each write.
        self._stalled: set[Sender] = set()
        #: Whether a credit round's first transfer is written at once (issue 12): on a plain
        #: socket only (the pump looks), as each TLS record or WebSocket frame costs more.
        self._early_writes = EarlyWrites(thread_switches, time.monotonic, time.process_time)

    def _take(self) -> bool:
        """Take what the core queued into ``_out`` for writing; True if there was any."""
        self._deferred = 0  # what the settlements left in the core is taken here
        data = self._core.data_to_send()
        if data:
            if self._trace_out is not None:
                self._trace_out.feed(data)
            self._queued_total += len(data)
            unmarked = self._unmarked
            if unmarked:
                total = self._queued_total  # written once the stream took this many bytes
                for delivery in unmarked:
                    delivery.context = total
                unmarked.clear()
            if self._dead:
                return False
            self._out.append(data)
            return True
        return False

    def _flush(self) -> None:
        if self._take():
            self._send_out()

    def _write_early(self) -> None:
        """A credit round's first transfer, written now by the task pumping the round (a
        direct write: never the writer's wake), leaving the direct write of the rest to it
        as before (``_direct_spent`` is not touched)."""
        if self._take():
            self._write_direct(self._stream)

    def _send_out(self) -> None:
        """Have what ``_out`` holds written: at once by this task (``_write_direct``) if
        no application's task did so since a task of ours last ran, else by the writer.
        A request's send is then on the wire before its caller waits for the answer, with
        no writer's step (its wake, its send's yield); a loop of ``send_nowait`` calls
        makes one write of its own and leaves the rest of its burst to the writer's one
        (not one write per message)."""
        if self._direct_spent:
            self._write_wanted.set()
        else:
            self._direct_spent = True
            self._write_direct(self._stream)

    def _write_direct(self, stream: trio.abc.Stream | None) -> None:
        """Write what is queued now, with no checkpoint, when the writer is idle and the
        stream is a TCP socket (one non-blocking write to its descriptor) or TLS over one
        (``TlsStream.send_nowait``: encrypted, one such write); else, or for what the
        socket did not take, wake the writer. A bulk sender's credit round (the peer's
        flow in, the transfers it allows out) then costs the reader one task step and one
        run-loop pass, not three (the writer's wake, its send's yield, its wait again)."""
        out = self._out
        if not out:
            return
        kind = type(stream)
        if not DIRECT or self._writing or self._dead \
                or (kind is not trio.SocketStream and kind is not TlsStream):
            self._write_wanted.set()
            return
        while out and not self._dead:
            data = out[0] if len(out) == 1 else b"".join(out)
            if isinstance(stream, TlsStream):  # (no cast(): a Python call per write)
                tls = stream
                if self._owed and not tls.holding():
                    # The records held from before went out with another send (a read's
                    # TLS answer sends them too): their bytes are written now.
                    owed, self._owed = self._owed, 0
                    self._wrote(owed)
                done = tls.send_nowait(data)
                if done is None:
                    break  # (cannot now: the writer sends it)
                if not done:  # the stream holds the records the socket did not take
                    self._out = [b""]  # an empty send: the writer's sends those alone
                    self._owed += len(data)
                    break
                sent = len(data)
            else:
                assert isinstance(stream, trio.SocketStream)
                fd = stream.socket.fileno()
                if fd < 0:
                    break  # closed: never another socket's number (the writer reports it)
                try:
                    sent = os.write(fd, data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    break  # the writer's send meets it too, and reports it (_lost)
            self._wrote(sent)
            if sent < len(data):
                self._out = [memoryview(data)[sent:]]  # the rest, by the writer, uncopied
                break
            out.clear()
            if self._stalled:
                self._pump_stalled()
                self._process()
                self._take()
        if self._out:
            self._write_wanted.set()

    async def _writer(self) -> None:
        stream = self._stream
        drops = self._drops
        assert stream is not None
        try:
            while not self._dead:
                if not self._out:
                    self._write_wanted = trio.Event()
                    await self._write_wanted.wait()
                    self._direct_spent = False  # (a step of ours: see _send_out)
                    continue
                out = self._out
                data = out[0] if len(out) == 1 else b"".join(out)
                self._out = out = []  # (the chunks are not kept while they are written)
                owed, self._owed = self._owed, 0  # (TLS records held: this send sends them)
                self._writing = True  # (nothing is written directly meanwhile)
                try:
                    await stream.send_all(data)
                finally:
                    self._writing = False
                if self._drops != drops:
                    return  # dropped meanwhile: the count was settled by the drop
                self._wrote(len(data) + owed)
                if self._stalled:
                    self._pump_stalled()
                    self._after()
        except TRANSPORT_ERRORS as exc:
            self._lost(f"write failed: {reason(exc)}", websocket_cause(exc))
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s: the writer task failed", self.label)
            self._lost(f"the writer task failed: {exc!r}")

    @property
    def _unwritten(self) -> int:
        return self._queued_total - self._sent_total

    def _wrote(self, n: int) -> None:
        """The stream took ``n`` more bytes: wake those whose bytes are all written now."""
        self._sent_total += n
        if self._sent_waiters:
            self._wake_sent()

    def _pump_stalled(self) -> None:
        """Room to write again: the senders paused by a full transport send what waits."""
        stalled, self._stalled = self._stalled, set()
        for sender in stalled:
            sender._pump()

    def _wake_sent(self) -> None:
        """The stream took more bytes: wake those whose bytes are all written now."""
        waiting = self._sent_waiters
        sent = self._sent_total
        while waiting and waiting[0][0] <= sent:
            heapq.heappop(waiting)[2].set()

    async def _sent(self, mark: int) -> None:
        """Wait until the stream took ``mark`` bytes in all, or the connection is over
        (no deadline: the caller's cancel scope has it)."""
        while self._sent_total < mark and not self._dead and not self.closed:
            event = trio.Event()
            self._sent_seq += 1
            heapq.heappush(self._sent_waiters, (mark, self._sent_seq, event))
            await event.wait()
