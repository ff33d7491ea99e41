"""Issue 12 item 2 on trio: a bulk send's credit rounds cost one task step each.

The Qpid C broker grants a sender 5 credits at a time and answers each 5 transfers with
one read's worth (a flow and a ranged disposition), so ``send_many`` is a ping-pong of
rounds. The reader, having fed that read to the core (which sends the next 5 from the
queue), writes the answer itself when the stream is a plain socket and the writer is idle:
no wake of the writer, no pass of the run loop for its send's yield and its wait again.
No timing is asserted: the tests count task steps, and check what the broker got.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import trio

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message, Rejected
from tests.sync.fakepeer import FakePeer
from tests.trio_.conftest import start
from tests.trio_.test_trio_perf_recv import _Steps  # task steps, the writer's apart

COUNT = 2000  # 400 credit rounds of 5


async def _drain(session: amqp.Session, address: str, count: int) -> list[bytes]:
    bodies = []
    async with await session.open_receiver(address, credit=500) as receiver:
        for _ in range(count):
            msg = await receiver.receive(timeout=10)
            bodies.append(msg.body)
            await receiver.accept(msg)
    return bodies


def test_a_bulk_send_takes_one_task_step_per_credit_round() -> None:
    """COUNT messages by send_many: about one step per round of 5 (the reader's, per read
    of the broker's answer), the writer hardly woken. The old pump took 2.6 steps per
    round (the reader's, the writer's wake and its send's yield), 0.52 per message; the
    writer's 1.6 per round."""
    peer = start("qpid-broker")
    address = f"bulk-{uuid.uuid4().hex[:8]}"
    steps = _Steps()
    bodies = [b"m%05d" % i + b"x" * 1024 for i in range(COUNT)]
    seen: dict[str, object] = {}

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", timeout=10) as conn, \
                conn.open_session() as session:
            sender = await session.open_sender(address)
            await sender.send(Message(b"first"))  # the link is up and has had its credit
            trio.lowlevel.add_instrument(steps)
            outcomes = await sender.send_many([Message(b) for b in bodies], timeout=30)
            trio.lowlevel.remove_instrument(steps)
            seen["outcomes"] = outcomes
            await sender.close()
            seen["got"] = await _drain(session, address, COUNT + 1)

    with _socket_reads() as socket_reads:
        trio.run(main)
    outcomes = seen["outcomes"]
    assert isinstance(outcomes, list) and len(outcomes) == COUNT
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert seen["got"] == [b"first", *bodies]  # all of them, once, in order
    # A round is one read of the broker's answer, or two when the round's first transfer
    # went out early (EarlyWrites: the broker answers it apart); one task step per read.
    # (The drain's reads are counted too: COUNT + 1 messages with credit 500.)
    assert socket_reads[0] <= 2 * COUNT // 5 + COUNT // 20, socket_reads
    assert steps.steps <= socket_reads[0], (steps.steps, socket_reads)
    assert steps.writer < COUNT // 50, steps.writer


@contextlib.contextmanager
def _socket_reads() -> Iterator[list[int]]:
    """Count the reads that returned bytes (the reader's ``os.read`` of the socket)."""
    real = os.read
    got = [0]

    def counted(fd: int, n: int) -> bytes:
        data = real(fd, n)
        got[0] += bool(data)
        return data

    os.read = counted
    try:
        yield got
    finally:
        os.read = real


def test_a_send_nowait_round_costs_no_stream_call_no_event_and_no_state_checks() -> None:
    """COUNT messages by send_nowait + wait_all, in credit rounds of 5: what each round
    costs besides the core, counted. The reader reads the plain socket itself (no
    ``SocketStream.receive_some``: it was one call per round, 400 here, through two
    context managers and trio's try-then-wait helper); the broadcast event is not
    replaced when no task waits on it (a trio.Event per round before); a queued
    send_nowait asks the link's state in one expression, not through ``_check`` and
    ``_gone`` (two calls per message before: 2 x COUNT). Still one task step per round."""
    peer = start("qpid-broker")
    address = f"bulk-{uuid.uuid4().hex[:8]}"
    steps = _Steps()
    bodies = [b"w%05d" % i + b"x" * 256 for i in range(COUNT)]
    reads = [0]
    checks = [0]
    real_receive = trio.SocketStream.receive_some

    async def counted_receive(self: trio.SocketStream, max_bytes: int | None = None) -> bytes:
        reads[0] += 1
        return await real_receive(self, max_bytes)

    async def main() -> None:
        async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", timeout=10) as conn, \
                conn.open_session() as session:
            sender = await session.open_sender(address)
            await sender.send(Message(b"first"))
            for name in ("_check", "_gone"):
                real = getattr(sender, name)

                def counted(real: Callable[[], object] = real) -> object:
                    checks[0] += 1
                    return real()

                setattr(sender, name, counted)
            event = conn._changed
            trio.lowlevel.add_instrument(steps)
            handles = [await sender.send_nowait(Message(b), timeout=30) for b in bodies]
            outcomes = await sender.wait_all(handles, timeout=30)
            trio.lowlevel.remove_instrument(steps)
            assert outcomes == [Accepted()] * COUNT
            assert conn._changed is event  # no task waited on it: never replaced
            await sender.close()

    trio.SocketStream.receive_some = counted_receive  # type: ignore[method-assign]
    try:
        with _socket_reads() as socket_reads:
            trio.run(main)
    finally:
        trio.SocketStream.receive_some = real_receive  # type: ignore[method-assign]
    assert reads[0] < COUNT // 50, reads
    assert checks[0] < COUNT // 20, checks
    # A round is one read of the broker's answer, or two when the round's first transfer
    # went out early (EarlyWrites: the broker answers it apart); one task step per read.
    assert socket_reads[0] <= 2 * COUNT // 5 + 20, socket_reads
    assert steps.steps <= socket_reads[0] + COUNT // 50, (steps.steps, socket_reads)


def test_a_round_the_socket_takes_in_part_arrives_whole_and_in_order() -> None:
    """A peer that grants credit for 20 messages of 256 KiB at once (the fake peer of
    tests/sync, reading 64 KiB at a time): the reader's own write of what that credit
    lets out (4 MiB, the write buffer's high-water mark) is cut short by the socket, the
    writer sends the rest from where the socket stopped, and every message arrives
    whole, in order."""
    bodies = [bytes([i]) * (256 << 10) for i in range(20)]
    fake = FakePeer(credit=0)
    steps = _Steps()

    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            handles = [await sender.send_nowait(Message(b)) for b in bodies]
            assert sender.queued == len(bodies)
            trio.lowlevel.add_instrument(steps)
            fake.grants = len(bodies)
            outcomes = await sender.wait_all(handles, timeout=30)
            trio.lowlevel.remove_instrument(steps)
            assert outcomes == [Accepted()] * len(bodies)

    try:
        trio.run(main)
    finally:
        fake.close()
    assert fake.received == bodies
    assert steps.writer > 0  # the socket took part of it: the writer sent the rest


def test_send_many_keeps_call_order_across_credit_a_full_queue_and_waits() -> None:
    """send_many's one-loop hand-over (issue 12): the first messages go out at once on
    the credit there is, the next join the queue, the one that finds it full (queue_size
    7) waits for room like send_nowait, and credit granted bit by bit meanwhile lets
    them all out; from a generator of Message and bytes, in call order, each outcome
    in its place."""
    fake = FakePeer(credit=3)
    bodies = [b"n%03d" % i if i % 9 else b"reject" for i in range(1, 61)]

    def messages() -> Iterator[Message | bytes]:
        for i, body in enumerate(bodies):
            yield body if i % 2 else Message(body)

    async def grant() -> None:
        while len(fake.received) < len(bodies):
            fake.grants = 4
            await trio.sleep(0.005)

    async def main() -> None:
        async with amqp.open_connection(fake.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as session, \
                session.open_sender("q", queue_size=7) as sender, \
                trio.open_nursery() as nursery:
            nursery.start_soon(grant)
            outcomes = await sender.send_many(messages(), timeout=30)
            assert [type(o) for o in outcomes] == [
                Rejected if b == b"reject" else Accepted for b in bodies]
            assert sender.queued == 0

    try:
        trio.run(main)
    finally:
        fake.close()
    assert fake.received == bodies
