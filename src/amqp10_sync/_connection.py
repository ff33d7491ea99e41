"""The blocking connection: one socket, one I/O thread, one lock around the core.

The I/O thread waits in ``select`` on the socket and a wake-up socket pair,
with the core's ``tick()`` deadline as the timeout, so an idle connection only
wakes for heartbeats. Every call into the core, from the I/O thread or an
application thread, happens under the connection's lock; whoever made the call
then writes ``data_to_send()`` (non-blocking; what the socket cannot take yet
is left for the I/O thread) and hands the events to the objects waiting on
them. Threads wait on one ``threading.Condition``; the core holds all the
protocol state.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    DEFAULT,
    ConnectionInfo,
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

from ._link import HIGH_WATER
from ._session import Session

__all__ = ["DEFAULT", "Connection", "connect", "describe_error", "open_connection"]

log = logging.getLogger("amqp10")

_BURST = 64  # settlements left for the I/O thread before one is written at once
_READ_SIZE = 1 << 18
_SSL_CHUNK = 1 << 14  # one TLS record: a retried SSL write repeats the same bytes
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)





class Connection(ConnectionInfo):
    """An open AMQP 1.0 connection; thread-safe. Made by :func:`open_connection`."""

    _core: CoreConnection

    def __init__(self, sock: socket.socket, core: CoreConnection, *, timeout: float,
                 label: str) -> None:
        self._sock = sock
        self._core = core
        self._timeout = timeout
        self.label = label
        lock = threading.RLock()
        self._cond = threading.Condition(lock)
        # Senders waiting for room in their queue wait here, apart: the events that wake
        # everyone else (every disposition, every flow) do not wake them (see Sender._pump).
        self._room = threading.Condition(lock)
        self._out = bytearray()
        self._queued_total = 0  # bytes handed to us by the core, ever
        self._sent_total = 0  # bytes the socket took, ever
        self._unmarked: list[Any] = []  # pre-settled deliveries not yet given a write mark
        self._stalled: set[Any] = set()
        self._unflushed = 0  # settlements queued in the core since the last write  # senders with queued messages held by the write buffer
        self._dead = False  # the socket is gone (or given up on)
        self._transport_error: str | None = None
        self._stop = False
        self._closed_by_user = False
        self._is_ssl = isinstance(sock, ssl.SSLSocket)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        tracing = trace_enabled()
        self._trace_in = FrameTracer(label, "<-") if tracing else None
        self._trace_out = FrameTracer(label, "->") if tracing else None
        self._thread = threading.Thread(target=self._run, name=f"amqp10-io {label}", daemon=True)

    # -- what the application can read -------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the connection is over: closed by either side, or the socket lost."""
        return self._core.ended or self._dead

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
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._wait_until(lambda: self.closed, end)
            return self.closed

    # -- sessions and closing ---------------------------------------------------------------
    def open_session(self, *, incoming_window: int = 5000, outgoing_window: int = (1 << 31) - 1,
                     handle_max: int = 0xFFFFFFFF, properties: dict[str, Any] | None = None,
                     offered_capabilities: list[str] | None = None,
                     desired_capabilities: list[str] | None = None,
                     timeout: float | None = None) -> Session:
        """Begin a session and wait until the peer answers (within ``timeout``)."""
        end = self._deadline(timeout)
        with self._cond:
            self._check()
            core = self._core.begin_session(
                incoming_window=incoming_window, outgoing_window=outgoing_window,
                handle_max=handle_max, properties=properties,
                offered_capabilities=offered_capabilities,
                desired_capabilities=desired_capabilities)
            session = Session(self, core)
            core.context = session
            self._after()
            ok = self._wait_until(session._begin_done, end)
            session._check()
            if not ok:
                raise TimeoutError(f"the peer did not answer the begin within {self._span(timeout)} s")
            return session

    def close(self, timeout: float | None = None) -> None:
        """Close the connection; give up on the peer (drop the socket) after ``timeout``.

        Every pending operation fails with ConnectionClosed; the I/O thread ends.
        """
        end = self._deadline(timeout)
        with self._cond:
            self._closed_by_user = True
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
        return self._timeout if timeout is None else timeout

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + self._span(timeout)

    def _wait_until(self, pred: Callable[[], object], end: float | None) -> bool:
        """Wait (holding the lock) until ``pred()``; False if ``end`` passed first."""
        cond = self._cond
        while not pred():
            if end is None:
                cond.wait()
                continue
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            cond.wait(remaining)
        return True

    def _closed_error(self) -> amqp_errors.ConnectionClosed:
        return closed_error(self._core, closed_by_user=self._closed_by_user,
                            transport_error=self._transport_error)

    def _check(self) -> None:
        if self.closed:
            raise self._closed_error()

    # -- the pump -------------------------------------------------------------------------
    def _after(self) -> None:
        """After any core call (lock held): dispatch events, write what is queued."""
        self._unflushed = 0
        self._process()
        self._flush()
        if self._stalled and len(self._out) < HIGH_WATER:
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
        if dispatch_events(self._core, self.label):
            self._cond.notify_all()

    def _flush(self) -> None:
        data = self._core.data_to_send()
        if data:
            if self._trace_out is not None:
                self._trace_out.feed(data)
            self._queued_total += len(data)
            if self._unmarked:
                for delivery in self._unmarked:
                    delivery.context = self._queued_total
                self._unmarked.clear()
            if self._dead:
                return
            if not self._out:
                n = self._send(data)
                if n < len(data) and not self._dead:
                    self._out += memoryview(data)[n:]
                    self._wake()
                return
            self._out += data
        if self._out and not self._dead:
            del self._out[:self._send(self._out)]

    def _send(self, buf: bytes | bytearray) -> int:
        """Write as much of ``buf`` as the socket takes now; the count written."""
        sock = self._sock
        total = 0
        size = len(buf)
        try:
            while total < size:
                if self._is_ssl:
                    n = sock.send(buf[total:total + _SSL_CHUNK])
                else:
                    n = sock.send(buf[total:] if total else buf)
                if n <= 0:
                    break
                total += n
        except _WOULD_BLOCK:
            pass
        except OSError as exc:
            self._lost(f"write failed: {self._tls_alert() or exc}")
        self._sent_total += total
        return total

    def _tls_alert(self) -> str | None:
        """After a failed TLS write: the alert the peer sent before it hung up (e.g.
        "certificate required"), if it is there to read; it says more than the EOF."""
        if not self._is_ssl:
            return None
        try:
            self._sock.recv(_READ_SIZE)
        except _WOULD_BLOCK:
            return None
        except ssl.SSLError as exc:
            return str(exc)
        except OSError:
            return None
        return None

    def _read(self) -> bool:
        """Read once (lock held) and hand the bytes to the core; True if more may be waiting.

        One ``recv`` of at most ``_READ_SIZE`` bytes per hold of the lock, whatever the
        inbound rate: between two reads the I/O thread lets go of the lock, so the
        threads waiting on the connection and its own deadlines (``tick``) get their
        turn even under a peer that never pauses (issue 10).
        """
        sock = self._sock
        core = self._core
        try:
            data = sock.recv(_READ_SIZE)
        except _WOULD_BLOCK:
            return False
        except OSError as exc:
            self._lost(f"read failed: {exc}")
            return False
        receive_bytes(core, data, self.label, self._trace_in)
        self._after()
        if not data or core.ended or self._dead:
            return False
        return len(data) == _READ_SIZE or bool(self._is_ssl and sock.pending())  # type: ignore[attr-defined]

    def _lost(self, reason: str) -> None:
        """The socket is gone or given up on (lock held): end the core, fail every wait."""
        if not self._dead:
            self._dead = True
            self._transport_error = reason
            if not self._core.ended:
                log.warning("%s: connection lost: %s", self.label, reason)
                self._core.receive_data(b"")
            self._out.clear()
            self._process()
            self._room.notify_all()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending) or closed
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        sock = self._sock
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        writing = False
        more = False  # the last read filled its buffer: read again without waiting
        ended_at: float | None = None
        try:
            while True:
                with self._cond:
                    if self._stop or self._dead:
                        break
                    now = time.monotonic()
                    if self._core.ended:
                        if not self._out:
                            break  # our last frames (a close) are written
                        ended_at = ended_at or now
                        if now - ended_at > 2.0:
                            break
                    deadline = self._core.tick(now)
                    self._after()
                    want_write = bool(self._out)
                if want_write != writing:
                    sel.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0))
                    writing = want_write
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                if ended_at is not None:
                    wait = 0.5 if wait is None else min(wait, 0.5)
                ready = sel.select(0.0 if more else wait)
                readable = more
                more = False
                with self._cond:
                    for key, mask in ready:
                        if key.fileobj is self._wake_r:
                            with contextlib.suppress(OSError):
                                self._wake_r.recv(4096)
                            continue
                        readable |= bool(mask & selectors.EVENT_READ)
                        if mask & selectors.EVENT_WRITE and not self._dead:
                            self._flush()
                            self._cond.notify_all()  # pre-settled sends wait to be written
                    if readable and not self._dead:
                        more = self._read()
        except Exception:
            log.exception("%s: the I/O thread failed", self.label)
        finally:
            sel.close()
            with self._cond:
                if not self._dead:
                    self._lost("the connection's I/O thread stopped")
                self._dead = True
                for s in (sock, self._wake_r, self._wake_w):
                    with contextlib.suppress(OSError):
                        s.close()
                self._cond.notify_all()
                self._room.notify_all()
            log.debug("%s: I/O thread ended", self.label)

    def _start(self, connect_timeout: float) -> None:
        """Queue the headers and open, start the I/O thread, wait for the peer's open."""
        end = time.monotonic() + connect_timeout
        with self._cond:
            self._core.open()
            self._after()
        self._thread.start()
        with self._cond:
            ok = self._wait_until(lambda: self._core.opened or self.closed, end)
            if self._core.opened:
                log.info("%s: connected (peer %s)", self.label, self.remote_container_id)
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
    """Connect to ``amqp://[user:password@]host[:port]`` (or ``amqps://``) and open.

    Credentials in the URL (percent-decoded) mean SASL PLAIN; otherwise SASL
    ANONYMOUS, unless ``sasl=`` chooses (``None``: no SASL layer). ``amqps``
    uses TLS with verification (``ssl.create_default_context()`` unless
    ``ssl_context``). ``timeout`` is the default of every later blocking call.
    Raises OSError (refused, unreachable), TimeoutError, or AuthenticationError.
    """
    parsed, sasl = url_sasl(url, sasl, ssl_context=ssl_context,
                            allow_plain_without_tls=allow_plain_without_tls)
    sock = socket.create_connection((parsed.host, parsed.port), timeout=connect_timeout)
    try:
        if parsed.tls:
            context = ssl_context or ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=server_hostname or parsed.host)
    except BaseException:
        sock.close()
        raise
    return _open(sock, f"{parsed.host}:{parsed.port}", sasl=sasl, hostname=hostname or parsed.host,
                 connect_timeout=connect_timeout, timeout=timeout, idle_timeout=idle_timeout,
                 container_id=container_id, max_frame_size=max_frame_size,
                 channel_max=channel_max, properties=properties)


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
) -> Connection:
    """Open an AMQP connection over an already-connected socket (plain or ``ssl.SSLSocket``).

    ``ssl_context`` wraps a plain socket in TLS first. The connection owns the
    socket from here on and closes it. ``sasl`` defaults to ANONYMOUS.
    """
    host, label = socket_peer(sock) or ("unknown", "socket")
    if ssl_context is not None and not isinstance(sock, ssl.SSLSocket):
        sock.settimeout(connect_timeout)
        sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname or hostname or host)
    sasl = connect_sasl(sasl, tls=isinstance(sock, ssl.SSLSocket), host=host,
                        allow_plain_without_tls=allow_plain_without_tls)
    return _open(sock, label, sasl=sasl, hostname=hostname, connect_timeout=connect_timeout,
                 timeout=timeout, idle_timeout=idle_timeout, container_id=container_id,
                 max_frame_size=max_frame_size, channel_max=channel_max, properties=properties)


def _open(sock: socket.socket, label: str, *, sasl: Any, hostname: str | None,
          connect_timeout: float, timeout: float, idle_timeout: float | None,
          container_id: str | None, max_frame_size: int, channel_max: int,
          properties: dict[str, Any] | None) -> Connection:
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        core = CoreConnection(container_id=container_id, hostname=hostname, sasl=sasl,
                              max_frame_size=max_frame_size, channel_max=channel_max,
                              idle_timeout=idle_timeout, properties=properties)
        conn = Connection(sock, core, timeout=timeout, label=label)
    except BaseException:
        sock.close()
        raise
    conn._start(connect_timeout)
    return conn
