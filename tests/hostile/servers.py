"""Scripted hostile AMQP peers on raw sockets, shared by the three adapters' hostile tests.

Each ``HostileServer`` accepts one connection on a loopback port and runs a script
in a thread. A script plays the server by hand, frame by frame (no core: a core
would refuse to misbehave): the protocol header and an open, answers to the
client's begin and attach where the story needs them, then the hostile part. The
client connects with ``sasl=None``. What the client sent is recorded as
``(channel, performative)`` pairs in ``frames``; an exception in the script is
kept in ``failure`` and re-raised by ``close``.

The scripts (module functions, each returning a script) are the reproductions of
issue 10: a flood of empty frames, a delivery that never ends, session and attach
storms, an attach and detach in one read, a message over the receiver's limit, an
undecodable message, absurd credit, and silence.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from amqp10_proto import Accepted, Message, Role, Source, Target, codec
from amqp10_proto.performatives import (
    Attach,
    Begin,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Open,
    Transfer,
)
from tests.serverpeer import ServerPeer

__all__ = [
    "ATTACH_DETACH_ONE_READ",
    "EMPTY_FRAME",
    "HostileServer",
    "RawPeer",
    "Script",
    "Serve",
    "absurd_credit",
    "close_error",
    "encoded",
    "refused",
    "wait_for",
    "attach_detach_one_read",
    "attach_storm",
    "endless_delivery",
    "flood",
    "one_message",
    "session_storm",
    "silence",
]

AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
#: An empty frame (2.3.1): a heartbeat, 8 bytes.
EMPTY_FRAME = bytes.fromhex("0000000802000000")
#: Issue 10 item 4: after begin, the peer attaches a link (handle 5) and detaches it,
#: both in one write, so the client reads them in one go.
ATTACH_DETACH_ONE_READ = bytes.fromhex(
    "00000032020000000053 12c0250aa1087372762d6c696e6b52054240400053 28c00401a1017800"
    "5329c00401a10179404043 00000011020000000053 16c00402520541".replace(" ", ""))
Script = Callable[["RawPeer"], None]
#: The tests' fixture: start a HostileServer running a script (stopped after the test).
Serve = Callable[[Script], "HostileServer"]


def frame(channel: int, performative: Any, payload: bytes = b"") -> bytes:
    """One AMQP frame (2.3.2): size, doff 2, type 0, channel, body."""
    body = codec.encode(performative) + payload
    return struct.pack(">IBBH", 8 + len(body), 2, 0, channel) + body


class Closed(Exception):
    """The client closed the socket."""


class RawPeer:
    """The server's end of one connection, driven by hand (see the module docstring)."""

    def __init__(self, sock: socket.socket, server: HostileServer) -> None:
        self.sock = sock
        self.server = server
        self._buf = bytearray()
        self._header_seen = False
        #: The client's handle -> the link name (from its attaches, 2.6.2).
        self.client_links: dict[int, str] = {}
        #: Link name -> our handle, for the links we attached.
        self.our_handles: dict[str, int] = {}
        #: Names of the links we detached ourselves (the client's detach is its answer).
        self.detached: set[str] = set()
        #: The client's channel -> ours, for each session (2.5.1: each side numbers its own).
        self.sessions: dict[int, int] = {}
        self.channels_in_use: set[int] = set()

    @property
    def stopping(self) -> bool:
        return self.server._stop

    # -- reading ------------------------------------------------------------------------
    def _parse(self) -> list[tuple[int, Any]]:
        got: list[tuple[int, Any]] = []
        buf = self._buf
        if not self._header_seen:
            if len(buf) < 8:
                return got
            assert bytes(buf[:8]) == AMQP_HEADER, bytes(buf[:8])
            del buf[:8]
            self._header_seen = True
        while len(buf) >= 8:
            size, doff = struct.unpack_from(">IB", buf)
            if len(buf) < size:
                break
            channel = struct.unpack_from(">H", buf, 6)[0]
            body = bytes(buf[doff * 4:size])
            del buf[:size]
            if body:
                perf, _ = codec.decode_one(body, 0)
                got.append((channel, perf))
                if isinstance(perf, Attach):
                    self.client_links[perf.handle] = perf.name
                elif isinstance(perf, Begin) and perf.remote_channel is not None:
                    self.sessions[channel] = perf.remote_channel  # its answer to our begin
        self.server.frames.extend(got)
        return got

    def read_some(self, timeout: float) -> list[tuple[int, Any]]:
        """Frames that arrive within ``timeout`` (maybe none); Closed at EOF."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return []
        try:
            data = self.sock.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            raise Closed
        self._buf += data
        return self._parse()

    def expect(self, kind: type, timeout: float = 5.0) -> tuple[int, Any]:
        """Read until the client sends a ``kind`` performative; its (channel, frame)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.stopping:
            for channel, perf in self.read_some(0.05):
                if isinstance(perf, kind):
                    return channel, perf
        raise TimeoutError(f"no {kind.__name__} from the client")

    # -- writing ------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.server.sent += len(data)

    def handshake(self, *, open_: bool = True) -> None:
        """Read the client's header, answer with ours and (``open_``) an open."""
        while not self._header_seen:
            self.read_some(1.0)
            if self.stopping:
                raise Closed
        self.send(AMQP_HEADER + (frame(0, Open(container_id="hostile")) if open_ else b""))

    def begin(self) -> int:
        """Answer the client's begin; our channel for the session."""
        channel, _ = self.expect(Begin)
        return self.answer_begin(channel)

    def answer_begin(self, channel: int) -> int:
        """Answer the client's begin on its ``channel`` on our lowest free one; that one."""
        ours = min(set(range(len(self.channels_in_use) + 1)) - self.channels_in_use)
        self.channels_in_use.add(ours)
        self.sessions[channel] = ours
        self.send(frame(ours, Begin(remote_channel=channel, next_outgoing_id=0,
                                    incoming_window=1 << 20, outgoing_window=1 << 20)))
        return ours

    def ours(self, channel: int) -> int:
        """Our channel for the session on the client's ``channel``."""
        return self.sessions.get(channel, channel)

    def attach(self, *, then: bytes = b"") -> tuple[int, Attach]:
        """Answer the client's attach (same handle, the other role); ``then`` goes in the
        same write. The client's (channel, attach)."""
        channel, a = self.expect(Attach)
        self.send(self.answer_attach(channel, a) + then)
        return self.ours(channel), a

    def answer_attach(self, channel: int, a: Attach) -> bytes:
        """Our attach for the client's ``a`` on its ``channel``: the same name and handle,
        the other role."""
        self.our_handles[a.name] = a.handle
        role = Role.RECEIVER if a.role == Role.SENDER else Role.SENDER
        ours = Attach(name=a.name, handle=a.handle, role=role,
                      source=a.source or Source(address="q"), target=a.target or Target(),
                      initial_delivery_count=0)
        return frame(self.ours(channel), ours)

    def answer_detach(self, channel: int, d: Detach) -> None:
        """Answer the client's detach with ours, unless it answered one of ours."""
        name = self.client_links.get(d.handle, "")
        if name in self.detached:
            return
        self.send(frame(self.ours(channel),
                        Detach(handle=self.our_handles.get(name, d.handle), closed=True)))

    def stream(self, chunk: Callable[[], bytes], seconds: float,
               until: Callable[[Any], bool] = lambda perf: False) -> None:
        """Write ``chunk()`` after ``chunk()`` as fast as the client reads, for ``seconds``,
        reading what it sends; stop early at EOF or at a frame ``until`` accepts."""
        sock = self.sock
        sock.setblocking(False)
        pending = memoryview(b"")
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end and not self.stopping:
                readable, writable, _ = select.select([sock], [sock], [], 0.1)
                if readable:
                    try:
                        data = sock.recv(1 << 16)
                    except BlockingIOError:
                        data = None
                    except OSError:
                        data = b""
                    if data == b"":
                        return
                    if data:
                        self._buf += data
                        if any(until(perf) for _, perf in self._parse()):
                            return
                if writable:
                    if not pending:
                        pending = memoryview(chunk())
                    try:
                        n = sock.send(pending)
                    except BlockingIOError:
                        n = 0
                    except OSError:
                        return
                    self.server.sent += n
                    pending = pending[n:]
        finally:
            sock.setblocking(True)

    def answer_close(self, timeout: float = 10.0) -> None:
        """Wait for the client's close and answer it (or for its EOF)."""
        try:
            self.expect(Close, timeout)
            self.send(frame(0, Close()))
        except (Closed, TimeoutError, OSError):
            pass


class HostileServer(ServerPeer):
    """tests.serverpeer's one-connection server thread, running ``script`` on the socket."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.frames: list[tuple[int, Any]] = []
        self.sent = 0  # bytes written to the client
        super().__init__()

    def frames_of(self, kind: type) -> list[Any]:
        """The client's frames of one performative type, in order."""
        return [perf for _, perf in list(self.frames) if isinstance(perf, kind)]

    def _pump(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(Closed, ConnectionError):
            self.script(RawPeer(sock, self))


# -- the scripts ------------------------------------------------------------------------

def flood(seconds: float, *, open_: bool = True) -> Script:
    """Empty frames without pause for ``seconds`` (item 1), after our open (or instead)."""
    chunk = EMPTY_FRAME * 8192

    def script(peer: RawPeer) -> None:
        peer.handshake(open_=open_)
        peer.stream(lambda: chunk, seconds)
        peer.answer_close(2.0)

    return script


def endless_delivery(seconds: float, payload: int = 32768) -> Script:
    """One delivery with more=true for ever (item 2), until the client detaches."""
    def script(peer: RawPeer) -> None:
        peer.handshake()
        channel = peer.begin()
        _, a = peer.attach()
        peer.expect(Flow)
        first = [True]
        body = b"\0" * payload

        def chunk() -> bytes:
            if first[0]:
                first[0] = False
                t = Transfer(handle=a.handle, delivery_id=0, delivery_tag=b"t",
                             message_format=0, more=True)
            else:
                t = Transfer(handle=a.handle, more=True)
            return frame(channel, t, body)

        peer.stream(chunk, seconds, until=lambda perf: isinstance(perf, Detach))
        peer.answer_close()

    return script


def one_message(payload: bytes, *, then: bytes | None = None, with_attach: bool = False,
                copies: int = 1) -> Script:
    """A receiver's attach answered, then one delivery of raw ``payload`` bytes (items 5,
    7): with ``with_attach``, in the attach's own write; otherwise half a second after
    the credit came (the client waits for it by then). With ``then`` (a message's
    bytes), a second delivery once the client grants credit again. ``copies``: that many
    deliveries of ``payload`` in the one write."""
    def script(peer: RawPeer) -> None:
        peer.handshake()
        channel = peer.begin()

        def transfer(n: int, data: bytes) -> bytes:
            return frame(channel, Transfer(handle=0, delivery_id=n, delivery_tag=b"t%d" % n,
                                           message_format=0, settled=False), data)

        if with_attach:
            peer.attach(then=transfer(0, payload))
        else:
            peer.attach()
            peer.expect(Flow)
            time.sleep(0.5)
            peer.send(b"".join(transfer(n, payload) for n in range(copies)))
        if then is not None:
            peer.expect(Flow)  # the credit the first delivery used, granted again
            peer.send(transfer(1, then))
        _serve_politely(peer)

    return script


def attach_detach_one_read(peer: RawPeer) -> None:
    """Item 4: the exact bytes of the report after the begin; then answer politely."""
    peer.handshake()
    channel = peer.begin()
    assert channel == 0
    peer.our_handles["srv-link"] = 5
    peer.detached.add("srv-link")
    peer.send(ATTACH_DETACH_ONE_READ)
    _serve_politely(peer)


def session_storm(count: int) -> Script:
    """``count`` sessions begun by the peer at once; each refusal's end answered."""
    def script(peer: RawPeer) -> None:
        peer.handshake()
        peer.channels_in_use.update(range(count))
        peer.send(b"".join(frame(ch, Begin(next_outgoing_id=0, incoming_window=10,
                                           outgoing_window=10)) for ch in range(count)))
        _serve_politely(peer)

    return script


def attach_storm(count: int) -> Script:
    """``count`` links attached by the peer on the client's session at once."""
    def script(peer: RawPeer) -> None:
        peer.handshake()
        channel = peer.begin()
        peer.our_handles.update((f"storm-{h}", h) for h in range(100, 100 + count))
        peer.send(b"".join(
            frame(channel, Attach(name=f"storm-{h}", handle=h, role=Role.SENDER,
                                  source=Source(address="x"), target=Target(address="y"),
                                  initial_delivery_count=0))
            for h in range(100, 100 + count)))
        _serve_politely(peer)

    return script


def _serve_politely(peer: RawPeer) -> None:
    """Until the client closes: answer its ends, detaches, begins and close; accept
    each message it sends."""
    while not peer.stopping:
        for ch, perf in peer.read_some(0.05):
            if isinstance(perf, End):
                ours = peer.sessions.pop(ch, ch)
                peer.channels_in_use.discard(ours)
                peer.send(frame(ours, End()))
            elif isinstance(perf, Detach):
                peer.answer_detach(ch, perf)
            elif isinstance(perf, Attach) and perf.name not in peer.our_handles:
                credit = b""
                if perf.role == Role.SENDER:  # the client sends: let it
                    credit = frame(peer.ours(ch), Flow(next_incoming_id=0, incoming_window=1 << 20,
                                            next_outgoing_id=0, outgoing_window=1 << 20,
                                            handle=perf.handle, delivery_count=0,
                                            link_credit=100))
                peer.send(peer.answer_attach(ch, perf) + credit)
            elif isinstance(perf, Begin) and perf.remote_channel is None:
                peer.answer_begin(ch)
            elif isinstance(perf, Transfer) and perf.delivery_id is not None:
                outcome = Disposition(role=Role.RECEIVER, first=perf.delivery_id,
                                      settled=True, state=Accepted())
                peer.send(frame(peer.ours(ch), outcome))
            elif isinstance(perf, Close):
                peer.send(frame(0, Close()))
                return


def absurd_credit(peer: RawPeer) -> None:
    """The client's sender gets link-credit 0xffffffff; each message is accepted."""
    peer.handshake()
    channel = peer.begin()
    _, a = peer.attach()
    peer.send(frame(channel, Flow(next_incoming_id=0, incoming_window=1 << 20,
                                  next_outgoing_id=0, outgoing_window=1 << 20,
                                  handle=a.handle, delivery_count=0, link_credit=0xFFFFFFFF)))
    _serve_politely(peer)


def silence(*, open_: bool = True) -> Script:
    """The handshake (with or without our open), then nothing: read, never answer."""
    def script(peer: RawPeer) -> None:
        peer.handshake(open_=open_)
        while not peer.stopping:
            peer.read_some(0.05)

    return script


def encoded(body: bytes) -> bytes:
    """A message's bytes on the wire (one data section)."""
    return Message(body).encode()


def wait_for(pred: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``pred`` (from a test's thread) until true; AssertionError after ``timeout``."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)


def refused(server: HostileServer, kind: type) -> int:
    """How many of the client's ``kind`` frames (End or Detach) refused with not-allowed."""
    return sum(1 for perf in server.frames_of(kind)
               if perf.error is not None and perf.error.condition == "amqp:not-allowed")


def close_error(server: HostileServer) -> Any:
    """The error of the client's close frame (None: a clean close); AssertionError if none."""
    closes = server.frames_of(Close)
    assert closes, "the client sent no close"
    return closes[0].error
