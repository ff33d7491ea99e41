"""send_nowait, wait_all and send_many on asyncio (issue 12), against a scripted peer.

send_nowait hands a message over without waiting for credit (it waits only while
``queue_size`` messages wait already); queued messages go out in order as credit comes
(2.6.7); wait_all gives every outcome in order, not raised; a link that ends fails the
wait. Many concurrent sends wake only for their own outcome.
"""

from __future__ import annotations

import asyncio

import pytest

import amqp10_asyncio as amqp
from amqp10_asyncio._sender import Sender
from amqp10_proto import Accepted, Message, Rejected, Released
from amqp10_proto.errors import LinkDetachedError, MessageRejected

from .corepeer import CorePeer
from .helpers import run


def reject_bad(body: bytes) -> str | None:
    return "reject" if body.startswith(b"bad") else "release" if body == b"back" else "accept"


def test_wait_all_gives_each_outcome_in_order_not_raised() -> None:
    async def main() -> None:
        async with CorePeer(outcome=reject_bad) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            bodies = [b"m0", b"m1", b"bad2", b"m3", b"back", b"m5"]
            handles = [await sender.send_nowait(Message(b)) for b in bodies]
            outcomes = await sender.wait_all(handles, timeout=10)
            assert [type(o) for o in outcomes] == [Accepted, Accepted, Rejected, Accepted,
                                                   Released, Accepted]
            rejected = outcomes[2]
            assert isinstance(rejected, Rejected) and rejected.error is not None
            assert rejected.error.description == "no b'bad2'"
            assert peer.received == bodies
            # The same handle, one at a time: the rejection is raised there.
            with pytest.raises(MessageRejected):
                await sender.wait_settled(handles[2], timeout=10)

    run(main())


def test_send_many_returns_the_outcomes_in_order() -> None:
    async def main() -> None:
        async with CorePeer(credit=3, outcome=reject_bad) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            bodies = [b"a%d" % i for i in range(20)] + [b"bad"] + [b"z%d" % i for i in range(20)]
            task = asyncio.ensure_future(sender.send_many([Message(b) for b in bodies],
                                                          timeout=10))
            for _ in range(20):  # the peer grants 3 at a time
                await asyncio.sleep(0.01)
                peer.grant(3)
            outcomes = await task
            assert [isinstance(o, Rejected) for o in outcomes] == [b == b"bad" for b in bodies]
            assert all(isinstance(o, (Accepted, Rejected)) for o in outcomes)
            assert peer.received == bodies  # in order, each once

    run(main())


def test_send_nowait_does_not_wait_for_credit_and_queued_ones_go_in_order() -> None:
    async def main() -> None:
        async with CorePeer(credit=0) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            # No credit: each is queued at once (a wait for credit would time out here).
            handles = [await sender.send_nowait(Message(b"q%d" % i), timeout=0.05)
                       for i in range(3)]
            assert all(isinstance(h, amqp.Queued) and h.delivery is None for h in handles)
            assert sender.queued == 3
            await asyncio.sleep(0.05)
            assert peer.received == []
            peer.grant(2)
            assert await sender.wait_all(handles[:2], timeout=10) == [Accepted(), Accepted()]
            assert peer.received == [b"q0", b"q1"] and sender.queued == 1
            peer.grant(1)
            assert isinstance(await sender.wait_settled(handles[2], timeout=10), Accepted)
            assert peer.received == [b"q0", b"q1", b"q2"]

    run(main())


def test_send_nowait_waits_only_when_the_queue_is_full() -> None:
    async def main() -> None:
        async with CorePeer(credit=0) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, \
                session.open_sender("q", queue_size=2) as sender:
            first = [await sender.send_nowait(Message(b"%d" % i), timeout=0.05) for i in (0, 1)]
            with pytest.raises(TimeoutError, match="no credit"):
                await sender.send_nowait(Message(b"2"), timeout=0.2)
            assert sender.queued == 2  # the third was not taken
            later = asyncio.ensure_future(sender.send_nowait(Message(b"3"), timeout=10))
            await asyncio.sleep(0.05)
            assert not later.done()
            peer.grant(10)  # the queue empties: the waiting call gets its room
            handles = [*first, await later]
            assert await sender.wait_all(handles, timeout=10) == [Accepted()] * 3
            assert peer.received == [b"0", b"1", b"3"]

    run(main())


def test_wait_all_timeout_withdraws_what_waits_for_credit() -> None:
    async def main() -> None:
        async with CorePeer(credit=1, outcome=lambda body: None) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            handles = [await sender.send_nowait(Message(b"t%d" % i)) for i in range(3)]
            with pytest.raises(TimeoutError):
                await sender.wait_all(handles, timeout=0.3)
            assert sender.queued == 0  # the two waiting for credit were withdrawn
            peer.grant(5)
            await asyncio.sleep(0.1)
            assert peer.received == [b"t0"]  # the one that went out is not sent again

    run(main())


def test_a_link_detached_mid_batch_fails_the_wait() -> None:
    async def main() -> None:
        async with CorePeer(credit=2, outcome=lambda body: None) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session:
            sender = await session.open_sender("q")
            handles = [await sender.send_nowait(Message(b"d%d" % i)) for i in range(5)]
            waiting = asyncio.ensure_future(sender.wait_all(handles, timeout=10))
            await asyncio.sleep(0.1)
            assert peer.received == [b"d0", b"d1"] and not waiting.done()
            peer.detach("going away")
            with pytest.raises(LinkDetachedError, match="going away"):
                await waiting
            assert sender.queued == 0

    run(main())


def test_a_cancelled_send_waiting_for_credit_never_goes_out() -> None:
    async def main() -> None:
        async with CorePeer(credit=0) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            task = asyncio.ensure_future(sender.send(Message(b"cancelled"), timeout=10))
            await asyncio.sleep(0.05)
            assert sender.queued == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert sender.queued == 0
            peer.grant(5)
            assert isinstance(await sender.send(Message(b"kept"), timeout=10), Accepted)
            assert peer.received == [b"kept"]

    run(main())


def test_concurrent_sends_wake_for_their_own_outcome_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """2 000 concurrent send(): the work of looking at outcomes is O(sends), not O(sends
    x events) as when every event woke every waiter."""
    looks = 0
    finished = Sender._finished

    def counting(self: Sender, handle: object) -> bool:
        nonlocal looks
        looks += 1
        return finished(self, handle)  # type: ignore[arg-type]

    monkeypatch.setattr(Sender, "_finished", counting)
    n = 2000

    async def main() -> None:
        async with CorePeer(credit=50) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:

            async def one(i: int) -> None:
                assert isinstance(await sender.send(Message(b"%d" % i), timeout=60), Accepted)

            tasks = asyncio.gather(*(one(i) for i in range(n)))
            while len(peer.received) < n:  # credit 50 at a time: many rounds of events
                await asyncio.sleep(0.005)
                peer.grant(50)
            await tasks
            assert sorted(peer.received, key=int) == [b"%d" % i for i in range(n)]

    run(main())
    assert looks <= 3 * n, looks  # each send looks before it sleeps and once woken


def test_a_large_message_is_written_in_chunks_intact() -> None:
    body = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit: many chunks

    async def main() -> None:
        async with CorePeer() as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            assert isinstance(await sender.send(Message(body), timeout=30), Accepted)
            assert peer.received == [body]

    run(main())


def test_sends_queue_while_the_transport_is_full_and_go_on_when_it_drains() -> None:
    """A peer that stops reading: the transport pauses us, new sends wait in the queue
    (no unbounded buffer), and all go out in order once the peer reads again."""
    body = b"p" * 8192

    async def main() -> None:
        async with CorePeer(credit=5000) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, \
                session.open_sender("q", queue_size=100) as sender:
            await sender.send(Message(b"first"), timeout=10)
            peer.reading.clear()
            handles = []
            most_queued = 0
            for i in range(3000):  # 24 MB: far beyond the socket buffers
                try:
                    handles.append(await sender.send_nowait(Message(b"%d:" % i + body),
                                                            timeout=0.5))
                except TimeoutError:  # the queue is full and nothing moves: as it should
                    break
                most_queued = max(most_queued, sender.queued)
            assert most_queued == 100 and len(handles) < 3000
            peer.reading.set()
            outcomes = await sender.wait_all(handles, timeout=30)
            assert outcomes == [Accepted()] * len(handles)
            assert [b.split(b":")[0] for b in peer.received[1:]] == \
                [b"%d" % i for i in range(len(handles))]

    run(main())
