"""A fault-injecting TCP proxy on loopback, for testing how clients survive broken connections.

It knows nothing of AMQP (except where :meth:`FaultProxy.cut_mid_frame` cuts) and works
with every adapter: point the client at ``127.0.0.1:proxy.port`` instead of the broker::

    with FaultProxy(broker_port) as proxy:
        conn = amqp10_sync.open_connection(f"amqp://127.0.0.1:{proxy.port}")
        ...
        proxy.cut()               # the broker "goes away": both sides get a FIN
        proxy.refuse_new(True)    # and stays away: new connections are refused
        ...
        proxy.heal()              # it is back

One thread runs a ``selectors`` loop over every socket; the fault methods run inside that
loop (through a command queue) and return once applied. Faults act on the connections open
at that moment; later connections are forwarded normally unless new ones are refused. Each
direction buffers at most ``max_buffer`` bytes (plus one read): reading from a side stops
while the other side's buffer is full, so a slow reader slows the writer as TCP would.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FaultProxy", "ProxyStats"]

_READ_SIZE = 65536
_LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyStats:
    """A snapshot of a proxy's counters (bytes counted as written to the other side)."""

    accepted: int  # connections accepted from clients
    active: int  # connections open now (forwarded or held by a fault)
    to_upstream: int  # bytes forwarded client -> server
    to_client: int  # bytes forwarded server -> client
    dropped: int  # bytes read and discarded (blackhole, half-close, faults)
    buffered: int  # bytes held now, read from one side and not yet written to the other
    upstream_failures: int  # accepted clients whose upstream connect failed (then reset)


class _Command:
    """A fault method's work, queued for the proxy's thread; ``done`` is set once it ran."""

    __slots__ = ("done", "error", "fn")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.fn()
        except Exception as exc:  # handed to the caller, which raises it
            self.error = exc
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class _Pipe:
    """One direction of a proxied connection: bytes read from ``src``, waiting for ``dst``."""

    __slots__ = ("blocked", "chunks", "cut_after", "delay", "drop", "dst", "eof", "shut",
                 "size", "src", "to_client")

    def __init__(self, src: socket.socket, dst: socket.socket, *, to_client: bool) -> None:
        self.src = src
        self.dst = dst
        self.to_client = to_client
        self.chunks: collections.deque[tuple[float, memoryview]] = collections.deque()
        self.size = 0  # bytes buffered
        self.eof = False  # src ended (FIN read, or an error while dropping)
        self.shut = False  # dst's write side shut down (FIN sent on)
        self.blocked = False  # dst's send buffer was full at the last write
        self.drop = False  # discard what is read (blackhole, half-close)
        self.delay = 0.0  # added to every chunk read from now on
        self.cut_after: int | None = None  # cut_mid_frame armed: bytes of the next chunk to pass

    @property
    def finished(self) -> bool:
        """Nothing more will pass this way."""
        return self.eof and not self.chunks and (self.shut or self.drop)


class _Link:
    """A proxied connection: the accepted client socket and our socket to the upstream."""

    __slots__ = ("client", "connecting", "down", "masks", "up", "upstream")

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.connecting = True
        self.up = _Pipe(client, upstream, to_client=False)
        self.down = _Pipe(upstream, client, to_client=True)
        self.masks: dict[socket.socket, int] = {}  # what each socket is registered for now


class FaultProxy:
    """A TCP proxy from 127.0.0.1:``port`` to 127.0.0.1:``upstream_port`` that can break links.

    ``port=0`` picks a free port. ``max_buffer`` bounds the bytes held per direction of
    each connection. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, upstream_port: int, *, port: int = 0, max_buffer: int = 1 << 20,
                 upstream_host: str = "127.0.0.1") -> None:
        if max_buffer < 1:
            raise ValueError("max_buffer must be at least 1 byte")
        self.upstream = (upstream_host, upstream_port)
        self.max_buffer = max_buffer
        self._sel = selectors.DefaultSelector()
        self._links: list[_Link] = []
        self._commands: collections.deque[_Command] = collections.deque()
        self._stop = False
        self._failure: BaseException | None = None
        self._counts = {"accepted": 0, "to_upstream": 0, "to_client": 0, "dropped": 0,
                        "upstream_failures": 0}
        self._cond = threading.Condition()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._listener: socket.socket | None = None
        self.port = port
        self._listen()
        self._thread = threading.Thread(target=self._run, name=f"faultproxy-{self.port}",
                                        daemon=True)
        self._thread.start()

    # -- the public API (any thread) ---------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """``amqp://127.0.0.1:PORT``, to give an AMQP client."""
        return f"amqp://127.0.0.1:{self.port}"

    def stats(self) -> ProxyStats:
        with self._cond:
            links = list(self._links)
            return ProxyStats(active=len(links), buffered=sum(
                link.up.size + link.down.size for link in links), **self._counts)

    def wait_accepted(self, n: int, timeout: float = 10.0) -> None:
        """Block until ``n`` connections have been accepted in all (TimeoutError after ``timeout``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._counts["accepted"] >= n or self._stop,
                                       timeout):
                raise TimeoutError(f"{self._counts['accepted']} connection(s) accepted within "
                                   f"{timeout} s, not {n}")

    def cut(self) -> None:
        """Close both sides of every connection with a FIN, as a peer that exits cleanly would."""
        self._call(lambda: self._each(self._cut_link))

    def reset(self) -> None:
        """Close both sides of every connection with a RST (SO_LINGER 0), as a crashed host would."""
        self._call(lambda: self._each(self._reset_link))

    def blackhole(self) -> None:
        """Stop forwarding both ways, holding the sockets open: no FIN, no RST, no data.

        Only an idle timeout notices. What arrives is read and discarded; a side that
        closes its end is closed on our side too, and nothing is passed on.
        """
        def apply() -> None:
            for link in self._links:
                for pipe in (link.up, link.down):
                    pipe.drop = True
                    self._discard(pipe)
        self._call(apply)

    def drop_to_client(self) -> None:
        """Stop forwarding server->client only (no FIN): what the client sends still arrives.

        The client's sends reach the server, whose answers (outcomes) are lost on the
        way back: deliveries in doubt, until :meth:`cut` or an idle timeout ends it.
        """
        def apply() -> None:
            for link in self._links:
                link.down.drop = True
                self._discard(link.down)
        self._call(apply)

    def cut_mid_frame(self, keep: int = 5) -> None:
        """Pass only the first ``keep`` bytes of the next server->client chunk, then cut().

        A chunk of an AMQP connection starts at a frame boundary; the 8-byte frame
        header (2.3.1) is cut short for ``keep`` < 8. Always at least one byte of the
        chunk is held back, so the client sees a truncated frame.
        """
        if keep < 0:
            raise ValueError("keep must be >= 0")

        def apply() -> None:
            for link in self._links:
                link.down.cut_after = keep
        self._call(apply)

    def delay(self, seconds: float) -> None:
        """Hold every chunk read from now on for ``seconds`` before passing it on (both ways).

        ``delay(0)`` ends the added latency (chunks already held keep theirs).
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")

        def apply() -> None:
            for link in self._links:
                link.up.delay = link.down.delay = seconds
        self._call(apply)

    def half_close(self) -> None:
        """Shut down the client's read side: server->client ends with a FIN, client->server flows.

        What the server sends afterwards is discarded.
        """
        def apply() -> None:
            for link in self._links:
                pipe = link.down
                pipe.drop = True
                self._discard(pipe)
                if not pipe.shut:
                    pipe.shut = True
                    _shutdown_write(link.client)
        self._call(apply)

    def refuse_new(self, refuse: bool = True) -> None:
        """Refuse new connections (the port answers RST: ECONNREFUSED) or accept them again.

        While refusing, the listening socket is closed; it is bound again on the same
        port (SO_REUSEADDR) when accepting resumes. Open connections are not touched.
        """
        self._call(self._close_listener if refuse else self._listen)

    def heal(self) -> None:
        """Accept new connections again and end any added latency on the open ones."""
        def apply() -> None:
            self._listen()
            for link in self._links:
                link.up.delay = link.down.delay = 0.0
        self._call(apply)

    def close(self, timeout: float = 5.0) -> None:
        """Close every socket and end the thread (RuntimeError if it does not end in time)."""
        if self._thread.is_alive():
            self._stop = True
            self._wake()
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"fault proxy thread on port {self.port} did not end "
                                   f"within {timeout} s")
        self._wake_w.close()
        with self._cond:
            self._cond.notify_all()
        if self._failure is not None:
            raise RuntimeError(f"fault proxy on port {self.port} failed") from self._failure

    # -- running commands in the loop thread -------------------------------------------------

    def _call(self, fn: Callable[[], None], timeout: float = 5.0) -> None:
        """Run ``fn`` in the proxy's thread, wait for it and raise what it raised."""
        command = _Command(fn)
        if self._stop or not self._thread.is_alive():
            raise RuntimeError(f"fault proxy on port {self.port} is closed") from self._failure
        self._commands.append(command)
        self._wake()
        if not command.done.wait(timeout):
            raise TimeoutError(f"fault proxy on port {self.port} did not answer within "
                               f"{timeout} s")
        if command.error is not None:
            raise command.error

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake-up is already pending, or we are closing
            self._wake_w.send(b"\0")

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop:
                for key, mask in self._sel.select(self._next_timeout()):
                    if key.fileobj is self._wake_r:
                        self._drain_wakeups()
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._on_ready(key.data, key.fileobj, mask)  # type: ignore[arg-type]
                while self._commands:
                    self._commands.popleft().run()
                for link in list(self._links):
                    self._pump(link)
        except BaseException as exc:
            self._failure = exc
        finally:
            for link in list(self._links):
                self._forget(link)
                for sock in (link.client, link.upstream):
                    sock.close()
            self._close_listener()
            self._sel.close()
            self._wake_r.close()
            self._stop = True
            while self._commands:  # callers waiting on a command get "closed", not a hang
                self._commands.popleft().fail(RuntimeError("the fault proxy closed"))

    def _next_timeout(self) -> float | None:
        """Seconds until the first held (delayed) chunk is due, or None if none is held."""
        due = [p.chunks[0][0] for link in self._links for p in (link.up, link.down)
               if p.chunks and not p.blocked]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _listen(self) -> None:
        if self._listener is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(64)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._sel.register(sock, selectors.EVENT_READ, None)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        with self._cond:
            self._counts["accepted"] += 1
            self._cond.notify_all()
        err = upstream.connect_ex(self.upstream)
        if err not in (0, errno.EINPROGRESS):
            self._upstream_failed(client, upstream)
            return
        self._links.append(_Link(client, upstream))

    def _upstream_failed(self, client: socket.socket, upstream: socket.socket) -> None:
        """The upstream refused: the client, already accepted, gets a RST."""
        with self._cond:
            self._counts["upstream_failures"] += 1
        upstream.close()
        _close_rst(client)

    def _on_ready(self, link: _Link, sock: socket.socket, mask: int) -> None:
        if link not in self._links:
            return  # closed by an earlier event of this round
        if link.connecting and sock is link.upstream:
            if not mask & selectors.EVENT_WRITE:
                return
            if link.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._forget(link)
                self._upstream_failed(link.client, link.upstream)
                return
            link.connecting = False
            link.upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mask & selectors.EVENT_WRITE:
            for pipe in (link.up, link.down):
                if pipe.dst is sock:
                    pipe.blocked = False
        if mask & selectors.EVENT_READ:
            self._read(link, link.up if sock is link.client else link.down)

    def _read(self, link: _Link, pipe: _Pipe) -> None:
        try:
            data = pipe.src.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # ECONNRESET and kin: the side is gone
            if pipe.drop:
                pipe.eof = True
            else:
                self._reset_link(link)  # pass the reset on
            return
        if not data:
            pipe.eof = True
        elif pipe.drop:
            self._count("dropped", len(data))
        else:
            pipe.chunks.append((time.monotonic() + pipe.delay, memoryview(data)))
            pipe.size += len(data)

    def _pump(self, link: _Link) -> None:
        """Write what is due each way, pass on FINs, close a finished link, re-arm the selector."""
        if link not in self._links:
            return
        if not link.connecting:
            for pipe in (link.up, link.down):
                if not self._flush(link, pipe):
                    return  # the link was closed
        if link.up.finished and link.down.finished:
            self._forget(link)
            link.client.close()
            link.upstream.close()
            return
        self._arm(link)

    def _flush(self, link: _Link, pipe: _Pipe) -> bool:
        """Write the due chunks of ``pipe``; False if that closed the link."""
        now = time.monotonic()
        while pipe.chunks and not pipe.blocked and pipe.chunks[0][0] <= now:
            due, data = pipe.chunks[0]
            if pipe.cut_after is not None:
                keep = max(0, min(pipe.cut_after, len(data) - 1))
                with contextlib.suppress(OSError):  # best effort: the cut follows anyway
                    pipe.dst.send(data[:keep])
                self._count("to_client", keep)
                self._cut_link(link)
                return False
            try:
                n = pipe.dst.send(data)
            except BlockingIOError:
                pipe.blocked = True
                break
            except OSError:
                self._reset_link(link)
                return False
            self._count("to_client" if pipe.to_client else "to_upstream", n)
            pipe.size -= n
            if n < len(data):
                pipe.chunks[0] = (due, data[n:])
                pipe.blocked = True
            else:
                pipe.chunks.popleft()
        if pipe.eof and not pipe.chunks and not pipe.shut and not pipe.drop:
            pipe.shut = True
            _shutdown_write(pipe.dst)  # the source's FIN, passed on once its bytes are
        return True

    def _arm(self, link: _Link) -> None:
        """Register each socket for what it should wait for now."""
        for sock in (link.client, link.upstream):
            mask = 0
            if sock is link.upstream and link.connecting:
                mask = selectors.EVENT_WRITE
            else:
                src = link.up if sock is link.client else link.down
                dst = link.down if sock is link.client else link.up
                if not src.eof and (src.drop or src.size < self.max_buffer):
                    mask |= selectors.EVENT_READ
                if dst.blocked:
                    mask |= selectors.EVENT_WRITE
            old = link.masks.get(sock, 0)
            if mask == old:
                continue
            if not old:
                self._sel.register(sock, mask, link)
            elif not mask:
                self._sel.unregister(sock)
            else:
                self._sel.modify(sock, mask, link)
            link.masks[sock] = mask

    # -- ending links ------------------------------------------------------------------------

    def _each(self, action: Callable[[_Link], None]) -> None:
        for link in list(self._links):
            action(link)

    def _forget(self, link: _Link) -> None:
        """Stop watching ``link``'s sockets and drop its buffers (the caller closes them)."""
        if link in self._links:
            self._links.remove(link)
        for sock, mask in link.masks.items():
            if mask:
                self._sel.unregister(sock)
        link.masks.clear()
        for pipe in (link.up, link.down):
            self._discard(pipe)

    def _discard(self, pipe: _Pipe) -> None:
        self._count("dropped", pipe.size)
        pipe.chunks.clear()
        pipe.size = 0
        pipe.blocked = False

    def _cut_link(self, link: _Link) -> None:
        self._forget(link)
        for sock in (link.client, link.upstream):
            _close_fin(sock)

    def _reset_link(self, link: _Link) -> None:
        self._forget(link)
        for sock in (link.client, link.upstream):
            _close_rst(sock)

    def _count(self, name: str, n: int) -> None:
        if n:
            with self._cond:
                self._counts[name] += n


def _shutdown_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (any more): nothing to end
        sock.shutdown(socket.SHUT_WR)


def _close_fin(sock: socket.socket) -> None:
    """Close with a FIN: send it first, then read what is pending so close() sends no RST."""
    _shutdown_write(sock)
    try:
        while sock.recv(_READ_SIZE):
            pass
    except OSError:
        pass  # EAGAIN (drained) or the peer already reset
    sock.close()


def _close_rst(sock: socket.socket) -> None:
    """Close with a RST: SO_LINGER on with a zero timeout."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    sock.close()
