"""The hostile-peer stories (issue 10) for the two async adapters, written once.

amqp10_asyncio and amqp10_trio share one API, so each story is an async function of
the adapter's module (``amqp``), the fixture that starts a hostile server, and
pytest's monkeypatch and caplog; test_hostile_asyncio and test_hostile_trio run
every one on their own event loop. test_hostile_sync tells the same stories in the
blocking API. Each wait is bounded: a story fails if a call waits out its timeout
where the hostile peer should have ended it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from amqp10_proto import Accepted, Message
from amqp10_proto.client import DEFAULT_MAX_MESSAGE_SIZE
from amqp10_proto.errors import ConnectionClosedError, LinkDetachedError, SessionEndedError
from amqp10_proto.performatives import Attach, Detach, Disposition, End, Flow

from .servers import (
    Serve,
    absurd_credit,
    attach_detach_one_read,
    attach_storm,
    close_error,
    encoded,
    endless_delivery,
    flood,
    one_message,
    refused,
    session_storm,
    silence,
)

__all__ = ["CASES", "Case"]

Case = Callable[[Any, Serve, pytest.MonkeyPatch, pytest.LogCaptureFixture], Awaitable[None]]
CASES: list[Case] = []


def case(fn: Case) -> Case:
    CASES.append(fn)
    return fn


async def _sleep(amqp: Any, seconds: float) -> None:
    """Sleep on the adapter's own event loop."""
    await (trio.sleep if amqp.__name__ == "amqp10_trio" else asyncio.sleep)(seconds)


async def _until(amqp: Any, pred: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``pred`` on the adapter's loop until true; AssertionError after ``timeout``."""
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"not within {timeout} s"
        await _sleep(amqp, 0.02)


@case
async def flood_after_open(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(flood(20))
    t0 = time.monotonic()
    async with amqp.open_connection(server.url, sasl=None, connect_timeout=3,
                                    timeout=2) as conn:
        assert time.monotonic() - t0 < 5
        with pytest.raises(TimeoutError):
            await conn.open_session()  # the 2 s timeout, not the flood's 20
    assert time.monotonic() - t0 < 12  # the close gave up after its 2 s too
    assert server.sent > 1 << 20


@case
async def flood_instead_of_open(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(flood(20, open_=False))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        async with amqp.open_connection(server.url, sasl=None, connect_timeout=3):
            pass
    assert time.monotonic() - t0 < 6
    assert server.sent > 1 << 20


@case
async def endless_delivery_cut_at_max_message_size(amqp: Any, serve: Serve, *_: Any) -> None:
    limit = 256 << 10
    server = serve(endless_delivery(30))
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        tracemalloc.start()
        try:
            t0 = time.monotonic()
            # The link may fail while open_receiver still waits (the peer starts the
            # endless delivery with its attach), or in the receive after it.
            with pytest.raises(LinkDetachedError) as info:
                receiver = await session.open_receiver("q", max_message_size=limit)
                await receiver.receive(timeout=20)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.monotonic() - t0 < 10
    assert info.value.condition == "amqp:link:message-size-exceeded"
    assert server.sent > limit
    assert peak < 4 * limit + (2 << 20)


@case
async def bounded_max_message_size_by_default(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(one_message(encoded(b"x")))
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        receiver = await session.open_receiver("q")
        await (await receiver.receive(timeout=10)).accept()
        await session.open_receiver("q2", max_message_size=None)
    limits = [a.max_message_size for a in server.frames_of(Attach)]
    assert limits[0] == DEFAULT_MAX_MESSAGE_SIZE == 100 << 20
    assert not limits[1]


@case
async def attach_and_detach_in_one_read(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(attach_detach_one_read)
    async with amqp.open_connection(server.url, sasl=None) as conn:
        await conn.open_session()
        await _until(amqp, lambda: server.frames_of(Detach))
        await _sleep(amqp, 0.2)
        assert not conn.closed
    assert close_error(server) is None


@case
async def exception_handling_an_event_is_an_internal_error(
        amqp: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: object, event: object) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(amqp.Receiver, "_deliver", broken)
    server = serve(one_message(encoded(b"x")))
    async with amqp.open_connection(server.url, sasl=None) as conn:
        session = await conn.open_session()
        receiver = await session.open_receiver("q")
        with pytest.raises(ConnectionClosedError):
            await receiver.receive(timeout=10)
    assert close_error(server).condition == "amqp:internal-error"
    assert "internal error handling MessageReceived" in caplog.text


@case
async def oversize_message_fails_receive_at_once(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(one_message(encoded(b"x" * 2048)))
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        receiver = await session.open_receiver("q", max_message_size=1024)
        t0 = time.monotonic()
        with pytest.raises(LinkDetachedError) as info:
            await receiver.receive(timeout=20)
        assert time.monotonic() - t0 < 10
        assert info.value.condition == "amqp:link:message-size-exceeded"


@case
async def oversize_message_ends_iteration(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(one_message(encoded(b"x" * 2048)))
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        receiver = await session.open_receiver("q", max_message_size=1024)
        with pytest.raises(LinkDetachedError):
            async for _ in receiver:
                pass


@case
async def oversize_message_with_the_attach_fails_the_open(amqp: Any, serve: Serve,
                                                          *_: Any) -> None:
    server = serve(one_message(encoded(b"x" * 2048), with_attach=True))
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        t0 = time.monotonic()
        with pytest.raises(LinkDetachedError):
            await session.open_receiver("q", max_message_size=1024, timeout=20)
        assert time.monotonic() - t0 < 10


@case
async def transfers_beyond_the_session_window(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(one_message(encoded(b"x"), copies=3))
    async with amqp.open_connection(server.url, sasl=None) as conn:
        session = await conn.open_session(incoming_window=0)
        receiver = await session.open_receiver("q")
        t0 = time.monotonic()
        with pytest.raises(SessionEndedError) as info:
            while True:
                await receiver.receive(timeout=20)
        assert time.monotonic() - t0 < 10
        assert info.value.condition == "amqp:session:window-violation"
        assert not conn.closed


@case
async def undecodable_message_counted_and_credit_granted_again(
        amqp: Any, serve: Serve, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    server = serve(one_message(b"\x00\x53\x75\xa0\xff", then=encoded(b"after")))
    caplog.set_level(logging.WARNING, "amqp10")
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        receiver = await session.open_receiver("q", credit=1)
        msg = await receiver.receive(timeout=10)
        assert msg.body == b"after"
        assert receiver.undecodable == 1
    rejected = [d for d in server.frames_of(Disposition) if d.first == 0]
    assert rejected[0].state.error.condition == "amqp:decode-error"
    assert len(server.frames_of(Flow)) >= 2
    assert "could not be decoded" in caplog.text


@case
async def session_storm_refused(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(session_storm(2000))
    async with amqp.open_connection(server.url, sasl=None, timeout=20) as conn:
        await conn.open_session()
        await _until(amqp, lambda: refused(server, End) == 2000, 20)
    assert close_error(server) is None


@case
async def attach_storm_refused(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(attach_storm(2000))
    async with amqp.open_connection(server.url, sasl=None, timeout=20) as conn, \
            conn.open_session() as session:
        await _until(amqp, lambda: refused(server, Detach) == 2000, 20)
        sender = await session.open_sender("q")
        await sender.send(Message(b"still here"))
    assert close_error(server) is None


@case
async def absurd_credit_taken_as_it_is(amqp: Any, serve: Serve, *_: Any) -> None:
    server = serve(absurd_credit)
    async with amqp.open_connection(server.url, sasl=None) as conn, \
            conn.open_session() as session:
        sender = await session.open_sender("q")
        await _until(amqp, lambda: sender.credit)
        for i in range(5):
            assert await sender.send(Message(b"%d" % i)) == Accepted()
        assert sender.credit == 0xFFFFFFFF - 5
    assert close_error(server) is None


@case
async def silent_peer_given_up_after_the_idle_timeout(amqp: Any, serve: Serve,
                                                      *_: Any) -> None:
    server = serve(silence())
    # reconnect=False: the story is how a connection is given up on (today's drop
    # semantics); a reconnecting one rightly tries the silent peer again.
    async with amqp.open_connection(server.url, sasl=None, idle_timeout=1, timeout=30,
                                    reconnect=False) as conn:
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError) as info:
            await conn.open_session()
        assert time.monotonic() - t0 < 10
        assert info.value.condition == "amqp:resource-limit-exceeded"


@case
async def peer_silent_after_its_header_times_the_open_out(amqp: Any, serve: Serve,
                                                          *_: Any) -> None:
    server = serve(silence(open_=False))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        async with amqp.open_connection(server.url, sasl=None, connect_timeout=2):
            pass
    assert time.monotonic() - t0 < 6
