"""TLS for the trio connection: ``ssl.SSLObject`` over memory BIOs, in large chunks.

``trio.SSLStream`` hands out one TLS record (at most 16 KiB) per ``receive_some``,
each behind a checkpoint, so a busy receiver paid a trip through the scheduler,
the core and its waiters per record (issue 12: TLS receive cost 3.8x plain).
This stream reads what the socket has (up to 256 KiB) and decrypts every whole
record in it in one call, so the pump sees TLS as it sees plain TCP. Writes are
encrypted in 256 KiB slices of a memoryview (no copy of the caller's buffer, and
the ciphertext held at once stays bounded, however large the message).

The connection's reader and writer use it at once, as they use a socket stream:
one task receives, one sends; a read that makes TLS output (a TLS 1.3 key update's
answer) sends it under the same lock as the writer, in order. Over a TCP socket, the
connection also writes with :meth:`TlsStream.send_nowait` (encrypt, one non-blocking
write, no checkpoint) when no send is in progress, as it writes to a plain socket: a
bulk sender's credit round is then one task step, not three. Failures are
``trio.BrokenResourceError`` from the ``ssl.SSLError``, as ``trio.SSLStream`` raises.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from typing import cast

import trio

__all__ = ["SharedSendStream", "TlsStream"]

#: Bytes read from the socket at once, and plaintext encrypted at once.
CHUNK = 1 << 18


class SharedSendStream(trio.abc.Stream):
    """A stream layered over ``transport_stream`` that its reader writes to as well (a TLS
    answer, a WebSocket pong): one lock keeps those writes whole and in order."""

    def __init__(self, transport: trio.abc.Stream) -> None:
        self.transport_stream = transport
        self._send_lock = trio.StrictFIFOLock()

    async def wait_send_all_might_not_block(self) -> None:
        async with self._send_lock:
            await self.transport_stream.wait_send_all_might_not_block()

    async def _acquire(self, *, wait: bool = True) -> bool:
        """Take the send lock, without a trip through the scheduler when it is free;
        without ``wait``, False when another task holds it."""
        lock = self._send_lock
        try:
            lock.acquire_nowait()
        except trio.WouldBlock:
            if not wait:
                return False
            await lock.acquire()
        return True


class TlsStream(SharedSendStream):
    """A client TLS stream over ``transport`` (a trio stream). :meth:`do_handshake` does
    the handshake (``open_connection`` calls it within its connect timeout); otherwise
    the first ``send_all`` or ``receive_some`` does it, once, as ``trio.SSLStream`` does."""

    def __init__(self, transport: trio.abc.Stream, context: ssl.SSLContext,
                 server_hostname: str | None) -> None:
        super().__init__(transport)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=False,
                                     server_hostname=server_hostname)
        self._handshake_lock = trio.Lock()
        self._handshaken = False
        self._closed = False
        # Plaintext is decrypted into this buffer, record after record, then copied out once.
        self._plain = memoryview(bytearray(CHUNK))
        #: Records send_nowait encrypted that the socket did not take: they go out first,
        #: with the next send (under the lock), before any later record.
        self._held: memoryview | None = None

    async def do_handshake(self) -> None:
        """The TLS handshake, certificate and host name checks included (the context's);
        done once (a second call returns at once)."""
        async with self._handshake_lock:
            if not self._handshaken:
                await self._handshake()

    async def _handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._send_pending()
                await self._fill()
            except (ssl.SSLError, ssl.CertificateError) as exc:
                await self._send_pending_quietly()  # the alert saying why, if any
                raise trio.BrokenResourceError from exc
        await self._send_pending()
        self._handshaken = True

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Every whole record the socket brought, decrypted (at most ``max_bytes``);
        ``b""`` once the peer closed TLS (close_notify)."""
        if not self._handshaken:
            await self.do_handshake()
        limit = CHUNK if max_bytes is None else min(max_bytes, CHUNK)
        tls = self._tls
        plain = self._plain
        incoming = self._incoming
        while True:
            size = 0
            eof = False
            try:
                # TLS is asked only when it has something (ciphertext in, plaintext kept,
                # or the end): a read that finds nothing raises, one exception per call.
                while size < limit and (incoming.pending or tls.pending() or incoming.eof):
                    # A record, if one is whole; with a buffer, read() gives the count
                    # (typeshed says bytes).
                    n = cast(int, tls.read(limit - size, plain[size:]))
                    if not n:
                        eof = True
                        break
                    size += n
            except ssl.SSLWantReadError:
                pass  # (a record not whole yet)
            except ssl.SSLZeroReturnError:
                eof = True
            except ssl.SSLError as exc:
                raise trio.BrokenResourceError from exc
            if self._outgoing.pending:
                await self._send_pending()  # what the read made TLS say (a key update)
            if size:
                return bytes(plain[:size])
            if eof:
                return b""
            await self._fill()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send ``data``, a slice at a time (no copy of it is made)."""
        if self._closed:
            raise trio.ClosedResourceError("the TLS stream is closed")
        if not self._handshaken:
            await self.do_handshake()
        with memoryview(data) as view:
            for start in range(0, len(view), CHUNK):
                try:
                    self._tls.write(view[start:start + CHUNK])
                except ssl.SSLError as exc:
                    raise trio.BrokenResourceError from exc
                await self._send_pending()
        if not len(data):
            if self._held is not None:
                await self._send_pending()  # what send_nowait left: an empty send sends it
            else:
                await trio.lowlevel.checkpoint()

    def send_nowait(self, data: bytes | memoryview) -> bool | None:
        """Encrypt ``data`` and write its records with one non-blocking write to the TCP
        socket below, with no checkpoint: the connection's own write when no send is in
        progress (see ``Connection._write_direct``).

        None when it cannot, nothing taken: the transport is not a TCP socket (or is
        closed), the handshake is not done, this stream is closed, a send holds the lock,
        records are held from before, ``data`` is over CHUNK, or TLS refuses (its next
        ``send_all`` raises why). True: the socket took every record. False: ``data`` is
        taken, and what the socket did not take is held, to go out first with the next
        ``send_all`` (an empty one sends it alone); the socket's error, if any, is that
        send's to raise."""
        transport = self.transport_stream
        if type(transport) is not trio.SocketStream or not self._handshaken or self._closed \
                or self._held is not None or len(data) > CHUNK or self._send_lock.locked():
            return None
        fd = transport.socket.fileno()  # -1 once closed: never another socket's number
        if fd < 0:
            return None
        try:
            self._tls.write(data)
        except ssl.SSLError:
            return None  # (a TLS object in error refuses every write: send_all raises it)
        records = self._outgoing.read()  # (with what a read queued before, in order)
        try:
            sent = os.write(fd, records)
        except OSError:  # full (BlockingIOError), or broken: the next send finds out which
            sent = 0
        if sent == len(records):
            return True
        self._held = memoryview(records)[sent:]
        return False

    def holding(self) -> bool:
        """Whether records that :meth:`send_nowait` could not write are still to go out
        (held, or being sent by a send in progress): until then they are not written."""
        return self._held is not None or self._send_lock.locked()

    async def aclose(self) -> None:
        """Say close_notify if we can, then close the socket."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        try:
            with contextlib.suppress(ssl.SSLError):  # (it waits for the peer's close_notify)
                self._tls.unwrap()
            await self._send_pending_quietly()
        finally:
            await self.transport_stream.aclose()

    async def _fill(self) -> None:
        data = await self.transport_stream.receive_some(CHUNK)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def _send_pending(self) -> None:
        """Send what TLS has queued, in the order it queued it (one sender at a time;
        the lock is taken without a trip through the scheduler when it is free)."""
        await self._acquire()
        try:
            held, self._held = self._held, None
            if held is not None:
                await self.transport_stream.send_all(held)  # (send_nowait's, before all later)
            data = self._outgoing.read()
            if data:
                await self.transport_stream.send_all(data)
        finally:
            self._send_lock.release()

    async def _send_pending_quietly(self) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await self._send_pending()
