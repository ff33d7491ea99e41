"""Issue 12 items 3 and 5 on trio: what the core queues is written by the task that made
it, over TLS as over plain TCP, so that neither a TLS credit round nor a round trip
wakes the writer task.

* A bulk send over TLS: the reader, having fed the peer's flow to the core, encrypts and
  writes the next transfers itself (``TlsStream.send_nowait``), one task step per credit
  round as over plain TCP (before: 1.6 more steps of the writer's per round).
* A request (``send()`` waiting for its outcome): the caller's task writes its transfer
  before it waits, so a round trip takes the caller's step and the reader's, not the
  writer's two besides (4 steps per send before, 2 now).
* A burst of ``send_nowait`` calls still makes one write for the burst, not one each.
* TLS records the socket did not take are held and go out first, before any later ones.

No timing is asserted: the tests count task steps and writes, and check what arrived.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any, cast

import pytest
import trio
import trio.testing

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message, MessageReceived
from amqp10_trio._tls import TlsStream
from tests.certs import Pki, make_pki
from tests.sync.fakepeer import FakePeer
from tests.trio_.test_trio_perf_recv import _Steps  # task steps, the writer's apart

ROUND = 5  # the Qpid C broker's credit round: 5 more for each 5 received


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class _RoundsPeer(FakePeer):
    """The fake peer granting credit as the Qpid C broker does: ROUND at attach, then
    ROUND more with each ROUND messages it settles (a flow and dispositions, one write)."""

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(ssl_context, credit=ROUND)

    def _on(self, ev: Any) -> None:
        super()._on(ev)
        if isinstance(ev, MessageReceived) and len(self.received) % ROUND == 0:
            ev.link.add_credit(ROUND)


def _url_and_context(peer: FakePeer, pki: Pki, tls: bool) -> tuple[str, ssl.SSLContext | None]:
    if tls:
        return f"amqps://127.0.0.1:{peer.port}", pki.client_context()
    return peer.url, None


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_bulk_send_over_tls_takes_one_task_step_per_credit_round(pki: Pki, tls: bool) -> None:
    """COUNT messages by send_many in rounds of 5: the reader writes each round's transfers
    itself, plain or TLS; the writer is hardly woken. Before, TLS took 2.6 steps per round
    (the writer's 1.6: its wake, its send's yield), 0.52 per message."""
    count = 1000
    peer = _RoundsPeer(pki.server_context(require_client_cert=False) if tls else None)
    url, ctx = _url_and_context(peer, pki, tls)
    bodies = [b"m%04d" % i + b"x" * 1024 for i in range(count)]
    steps = _Steps()

    async def main() -> None:
        async with amqp.open_connection(url, ssl_context=ctx, sasl=None, reconnect=False,
                                        timeout=10) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            trio.lowlevel.add_instrument(steps)
            outcomes = await sender.send_many([Message(b) for b in bodies], timeout=30)
            trio.lowlevel.remove_instrument(steps)
            assert outcomes == [Accepted()] * count

    try:
        trio.run(main)
    finally:
        peer.close()
    assert peer.received == bodies  # all of them, once, in order
    rounds = count // ROUND
    assert steps.writer < rounds // 10, (steps.steps, steps.writer)
    assert steps.steps < 1.5 * rounds, (steps.steps, steps.writer)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_a_request_is_written_by_its_caller_not_the_writer(pki: Pki, tls: bool) -> None:
    """Sends one at a time, each waiting for its outcome (the round trip of issue 12
    item 5): the caller's task writes its transfer, so each takes about two task steps
    (the reader's, with the outcome, and the caller's, woken by it) and the writer none.
    Before: four (the writer's wake and its send's yield besides)."""
    count = 300
    peer = FakePeer(pki.server_context(require_client_cert=False) if tls else None,
                    credit=count + 1)
    url, ctx = _url_and_context(peer, pki, tls)
    steps = _Steps()

    async def main() -> None:
        async with amqp.open_connection(url, ssl_context=ctx, sasl=None, reconnect=False,
                                        timeout=10) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            await sender.send(Message(b"first"))
            trio.lowlevel.add_instrument(steps)
            for i in range(count):
                assert await sender.send(Message(b"r%d" % i)) == Accepted()
            trio.lowlevel.remove_instrument(steps)

    try:
        trio.run(main)
    finally:
        peer.close()
    assert peer.received == [b"first"] + [b"r%d" % i for i in range(count)]
    assert steps.writer < count // 10, (steps.steps, steps.writer)
    assert steps.steps < 3 * count, (steps.steps, steps.writer)


def test_a_burst_of_send_nowait_is_one_write_of_its_own_not_one_each(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """200 send_nowait calls with credit for all, in one step of the caller's: its task
    writes once (the first message) and leaves the rest of the burst to the writer's
    one send; no write per message."""
    count = 200
    peer = FakePeer(credit=1000)
    writes: list[int] = []
    real_write = os.write

    fds: list[int] = []  # the connection's socket

    def counting_write(fd: int, data: Any) -> int:
        if fd in fds:
            writes.append(len(data))
        return real_write(fd, data)

    async def main() -> None:
        async with amqp.open_connection(peer.url, sasl=None, reconnect=False,
                                        timeout=10) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            await sender.send(Message(b"first"))
            assert isinstance(conn._stream, trio.SocketStream)
            fds.append(conn._stream.socket.fileno())
            monkeypatch.setattr(os, "write", counting_write)
            handles = [await sender.send_nowait(Message(b"b%d" % i)) for i in range(count)]
            direct = len(writes)
            outcomes = await sender.wait_all(handles, timeout=10)
            monkeypatch.undo()
            assert outcomes == [Accepted()] * count
            assert direct == 1, writes  # the burst's first, by the caller; the rest queued

    try:
        trio.run(main)
    finally:
        peer.close()
    assert peer.received == [b"first"] + [b"b%d" % i for i in range(count)]


async def tls_pair(pki: Pki, buffers: int | None = None
                   ) -> tuple[TlsStream, trio.SSLStream[trio.SocketStream]]:
    """Our TlsStream and trio's server side over a socket pair, handshaken; ``buffers``
    makes the client's send buffer and the server's receive buffer that small."""
    near, far = trio.socket.socketpair()
    if buffers is not None:
        near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffers)
        far.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffers)
    client = TlsStream(trio.SocketStream(near), pki.client_context(), "localhost")
    server = trio.SSLStream(trio.SocketStream(far), pki.server_context(
        require_client_cert=False), server_side=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.do_handshake)
        nursery.start_soon(server.do_handshake)
    return client, server


def test_tls_records_the_socket_did_not_take_go_out_first(pki: Pki) -> None:
    """TlsStream.send_nowait into a socket that takes only part of the records: the rest
    is held (a second send_nowait cannot pass it: None), an empty send_all sends it, and a
    later send_all's records follow it; the peer reads every byte, in order."""
    first = bytes(range(256)) * 1000  # 250 KiB: more than the small buffers below hold
    second = b"after" * 1000
    got = bytearray()

    async def main() -> None:
        client, server = await tls_pair(pki, buffers=16384)
        assert client.send_nowait(first) is False  # the socket took part of it
        assert client.holding()  # (its bytes are not written yet: the connection waits)
        assert client.send_nowait(b"later") is None  # never before what is held

        async def read_all() -> None:
            while len(got) < len(first) + len(second):
                got.extend(await server.receive_some(65536))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_all)
                await client.send_all(b"")  # the held records
                await client.send_all(second)
        assert not client.holding()
        assert client.send_nowait(b"") is True  # nothing held any more
        await client.aclose()

    trio.run(main)
    assert bytes(got) == first + second


def test_send_nowait_leaves_what_it_cannot_write_to_the_writer(pki: Pki) -> None:
    """Not over a TCP socket (a memory stream, as under a proxy's tunnel or a caller's own
    stream), before the handshake, or over CHUNK at once: None, nothing taken."""

    async def main() -> None:
        near, _ = trio.testing.memory_stream_pair()
        assert TlsStream(near, pki.client_context(), "localhost").send_nowait(b"x") is None
        a, _b = trio.socket.socketpair()
        unshaken = TlsStream(trio.SocketStream(a), pki.client_context(), "localhost")
        assert unshaken.send_nowait(b"x") is None  # the handshake is the first send's
        assert unshaken.send_nowait(b"x" * (1 << 19)) is None

    trio.run(main)


def test_a_connection_whose_socket_takes_part_of_the_records_sends_them_all(
        pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over TLS with a small socket send buffer, each 200 KiB message's direct write is
    cut short: the stream holds the rest, the writer's (empty) send sends it, and only
    then are its bytes counted as written (a pre-settled send returns once they are).
    Every message arrives whole, in order."""
    bodies = [bytes([i]) * (200 << 10) for i in range(6)]
    peer = FakePeer(pki.server_context(require_client_cert=False))
    results: list[bool | None] = []
    real_send_nowait = TlsStream.send_nowait

    def counting(self: TlsStream, data: bytes | memoryview) -> bool | None:
        result = real_send_nowait(self, data)
        results.append(result)
        return result

    monkeypatch.setattr(TlsStream, "send_nowait", counting)

    async def main() -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", peer.port)
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        async with amqp.connect(stream, ssl_context=pki.client_context(),
                                server_hostname="localhost", sasl=None, timeout=10) as conn, \
                conn.open_session() as session, \
                session.open_sender("q", settle_mode="mixed") as sender:
            for i, body in enumerate(bodies):
                if i % 2:
                    assert await sender.send(Message(body), settled=True) is None
                    assert conn._sent_total == conn._queued_total  # all of it, held or not
                else:
                    assert await sender.send(Message(body)) == Accepted()
            assert conn._owed == 0

    try:
        trio.run(main)
    finally:
        peer.close()
    assert False in results  # the socket took part of some
    assert peer.received == bodies


class _CountingTls:
    """An SSLObject with its read calls counted (the rest passed through)."""

    def __init__(self, inner: ssl.SSLObject) -> None:
        self.inner = inner
        self.reads = 0

    def read(self, *args: Any) -> Any:
        self.reads += 1
        return self.inner.read(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_receive_asks_tls_only_when_it_has_something(pki: Pki) -> None:
    """Each receive of one record (a round trip's answer) reads TLS once: not first to
    learn that nothing came yet, nor after the record to learn that nothing follows
    (each of those an SSLWantReadError raised: 60k instructions per round trip)."""

    async def main() -> None:
        client, server = await tls_pair(pki)
        await server.send_all(b"warm")  # (TLS 1.3: the session tickets come before it)
        assert await client.receive_some() == b"warm"
        counting = _CountingTls(client._tls)
        client._tls = cast(ssl.SSLObject, counting)
        for i in range(10):
            await server.send_all(b"answer %d" % i)
            assert await client.receive_some() == b"answer %d" % i
        assert counting.reads == 10
        await server.aclose()
        assert await client.receive_some() == b""  # the end is still read as the end

    trio.run(main)
