"""The adapters refuse a caller's mistakes locally, the same on all three (issue 11).

Against the embedded broker: ``send(b"hello")`` is a data body and ``EncodedMessage``
the named path for an encoded message; a wrong send, settle or link option raises
TypeError / ValueError at the call, and the broker never hears of it (the message is
not queued, the delivery stays unsettled and can be settled properly after, the
connection stays open). A message settles once: the same outcome again is a no-op,
another outcome a ValueError. ``idle_timeout=0`` means off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import start_broker
from amqp10_proto import AmqpValue, Coordinator, EncodedMessage, Error, Message

#: Each mistake in opening a link, and what it raises (nothing is attached).
BAD_SENDERS: list[tuple[dict[str, Any], type, str]] = [
    ({"address": Coordinator()}, ValueError, "Coordinator target is for a transaction"),
    ({"address": "q", "settle_mode": "sometimes"}, ValueError, "settle_mode must be one of"),
    ({"address": "q", "rcv_settle_mode": "third"}, ValueError, "rcv_settle_mode"),
    ({"address": "q", "capabilities": ["queue", 1]}, TypeError, "capabilities must hold"),
    ({"address": "q", "desired_capabilities": "one"}, TypeError, "list of str"),
    ({"address": "q", "properties": {1: "x"}}, TypeError, "properties keys"),
    ({"address": "q", "expiry_policy": "soon"}, ValueError, "expiry_policy must be one of"),
    ({"address": "q", "durable": "very"}, ValueError, "durable must be"),
    ({"address": "q", "timeout": -1}, ValueError, "timeout must not be negative"),
    ({"address": 42}, TypeError, "address must be a str"),
]
BAD_RECEIVERS: list[tuple[dict[str, Any], type, str]] = [
    ({"address": "q", "credit": -1}, ValueError, "credit must be from 0"),
    ({"address": "q", "credit": "10"}, TypeError, "credit must be an int"),
    ({"address": "q", "filters": ["x"]}, TypeError, "filters must be a dict"),
    ({"address": "q", "filters": {"f": object()}}, ValueError, "filter"),
    ({"address": "q", "settle_mode": "nope"}, ValueError, "settle_mode"),
    ({"address": "q", "timeout": float("nan")}, ValueError, "timeout"),
]
_NONE: Any = None  # a condition the caller forgot

#: Each mistake in settling, as (how, args, kwargs, exception, text).
BAD_SETTLES: list[tuple[str, tuple[Any, ...], dict[str, Any], type, str]] = [
    ("reject", ("nope",), {}, TypeError, "must be an amqp10_proto.Error"),
    ("reject", (Error(condition=_NONE),), {}, ValueError, "condition must be a symbol"),
    ("modify", (), {"delivery_failed": "yes"}, TypeError, "delivery_failed must be a bool"),
    ("modify", (), {"message_annotations": ["x"]}, TypeError, "must be a dict"),
    ("accept", (), {"timeout": -0.5}, ValueError, "timeout must not be negative"),
    ("release", (), {"timeout": "1"}, TypeError, "timeout must be a number"),
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with start_broker() as broker:
        yield broker.url


def _connect_sync(url: str, **kw: Any) -> amqp10_sync.Connection:
    return amqp10_sync.open_connection(url, timeout=5, reconnect=False, **kw)


# -- sync ---------------------------------------------------------------------------------

def test_sync_send_of_bytes_is_a_data_body_and_encoded_goes_as_given(url: str) -> None:
    with _connect_sync(url) as conn, conn.open_session() as s:
        with s.open_sender("sync-bytes") as sender:
            sender.send(b"hello")
            sender.send_nowait(bytearray(b"again"))  # type: ignore[arg-type]
            sender.send(EncodedMessage(Message(AmqpValue("hi")).encode()))
            with pytest.raises(TypeError, match=r"not str; for text pass Message\(text\)"):
                sender.send("text")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="not int"):
                sender.send_nowait(5)  # type: ignore[arg-type]
        with s.open_receiver("sync-bytes") as receiver:
            got = [receiver.receive(timeout=5) for _ in range(3)]
            assert [(m.message.body_type, m.body) for m in got] == \
                [("data", b"hello"), ("data", b"again"), ("value", "hi")]
            for m in got:
                m.accept()
            with pytest.raises(TimeoutError):  # the refused sends never went out
                receiver.receive(timeout=0.2)


@pytest.mark.parametrize("opener, kwargs, kind, text",
                         [("open_sender", *case) for case in BAD_SENDERS]
                         + [("open_receiver", *case) for case in BAD_RECEIVERS])
def test_sync_open_link_refuses_bad_options(url: str, opener: str, kwargs: dict[str, Any],
                                            kind: type, text: str) -> None:
    with _connect_sync(url) as conn, conn.open_session() as s:
        args = dict(kwargs)
        with pytest.raises(kind, match=text):
            getattr(s, opener)(args.pop("address"), **args)
        with s.open_sender("still-fine") as sender:  # the session goes on
            sender.send(b"ok")
        assert not conn.closed


@pytest.mark.parametrize("how, args, kwargs, kind, text", BAD_SETTLES)
def test_sync_settle_refuses_bad_arguments(url: str, how: str, args: tuple[Any, ...],
                                           kwargs: dict[str, Any], kind: type, text: str) -> None:
    address = f"sync-settle-{how}-{len(text)}"
    with _connect_sync(url) as conn, conn.open_session() as s:
        with s.open_sender(address) as sender:
            sender.send(b"m")
        with s.open_receiver(address) as receiver:
            msg = receiver.receive(timeout=5)
            with pytest.raises(kind, match=text):
                getattr(msg, how)(*args, **kwargs)
            assert not msg.settled and not conn.closed
            msg.accept()  # nothing went out: it is settled now, properly
            assert msg.settled
            with pytest.raises(TypeError, match="takes a message its receiver returned"):
                receiver.accept(msg.message)


def test_sync_a_message_settles_once(url: str) -> None:
    with _connect_sync(url) as conn, conn.open_session() as s:
        with s.open_sender("sync-once") as sender:
            sender.send(b"m")
        with s.open_receiver("sync-once") as receiver:
            msg = receiver.receive(timeout=5)
            msg.accept()
            msg.accept()  # the same outcome again: nothing changes
            with pytest.raises(ValueError, match="settled as accepted already; it cannot be "
                                                 "rejected too"):
                msg.reject(Error(condition="app:late"))
            assert not conn.closed


def test_sync_negative_timeouts_are_refused(url: str) -> None:
    with _connect_sync(url) as conn, conn.open_session() as s, \
            s.open_receiver("sync-timeouts") as receiver:
        with pytest.raises(ValueError, match="timeout must not be negative"):
            receiver.receive(timeout=-1)
        with pytest.raises(TypeError, match="timeout must be a number"):
            receiver.receive_batch(3, timeout="soon")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="timeout"):
            receiver.wait_detached(timeout=-2)
        with pytest.raises(ValueError, match="credit"):
            receiver.add_credit(-1)
    with pytest.raises(ValueError, match="connect_timeout must not be negative"):
        _connect_sync(url, connect_timeout=-1)


def test_sync_idle_timeout_zero_means_off(url: str) -> None:
    with _connect_sync(url, idle_timeout=0) as conn:
        assert conn._core.idle_timeout is None
        with conn.open_session() as s, s.open_sender("idle-off") as sender:
            sender.send(b"x")
    with pytest.raises(ValueError, match="idle_timeout must not be negative"):
        _connect_sync(url, idle_timeout=-1)


# -- asyncio and trio: one story each, run on both ------------------------------------------

Opener = Callable[..., Any]


async def _async_story(open_connection: Opener, url: str, tag: str) -> None:
    async with open_connection(url, timeout=5, reconnect=False) as conn:
        s = await conn.open_session()
        address = f"{tag}-story"
        sender = await s.open_sender(address)
        await sender.send(b"hello")
        await sender.send(EncodedMessage(Message(AmqpValue("hi")).encode()))
        with pytest.raises(TypeError, match="send\\(\\) takes a Message, bytes"):
            await sender.send("text")
        with pytest.raises(ValueError, match="timeout must not be negative"):
            await sender.send(b"late", timeout=-1)
        for kwargs, kind, text in BAD_SENDERS:
            args = dict(kwargs)
            with pytest.raises(kind, match=text):
                await s.open_sender(args.pop("address"), **args)
        for kwargs, kind, text in BAD_RECEIVERS:
            args = dict(kwargs)
            with pytest.raises(kind, match=text):
                await s.open_receiver(args.pop("address"), **args)
        receiver = await s.open_receiver(address)
        first = await receiver.receive(timeout=5)
        second = await receiver.receive(timeout=5)
        assert (first.message.body_type, first.body) == ("data", b"hello")
        assert (second.message.body_type, second.body) == ("value", "hi")
        for how, args_, kwargs_, kind, text in BAD_SETTLES:
            with pytest.raises(kind, match=text):
                await getattr(first, how)(*args_, **kwargs_)
        assert not first.settled
        await first.accept()
        await first.accept()  # the same outcome again: nothing changes
        with pytest.raises(ValueError, match="settled as accepted already"):
            await first.release()
        await second.accept()
        with pytest.raises(TimeoutError):  # the refused sends never went out
            await receiver.receive(timeout=0.2)
        with pytest.raises(ValueError, match="timeout must not be negative"):
            await receiver.receive(timeout=-3)
        assert not conn.closed
    async with open_connection(url, timeout=5, reconnect=False, idle_timeout=0) as conn:
        assert conn._core.idle_timeout is None
        await (await conn.open_session()).close()


def test_asyncio_refuses_mistakes_locally(url: str) -> None:
    asyncio.run(_async_story(amqp10_asyncio.open_connection, url, "asyncio"))


def test_trio_refuses_mistakes_locally(url: str) -> None:
    trio.run(_async_story, amqp10_trio.open_connection, url, "trio")


@pytest.mark.parametrize("run", [
    lambda main: asyncio.run(main(amqp10_asyncio.open_connection)),
    lambda main: trio.run(main, amqp10_trio.open_connection),
], ids=["asyncio", "trio"])
def test_async_connection_options_are_checked(url: str,
                                              run: Callable[[Any], Awaitable[None]]) -> None:
    async def main(open_connection: Opener) -> None:
        for kwargs, text in (({"idle_timeout": -1}, "idle_timeout must not be negative"),
                             ({"connect_timeout": -1}, "connect_timeout"),
                             ({"timeout": float("nan")}, "timeout")):
            with pytest.raises(ValueError, match=text):
                async with open_connection(url, reconnect=False, **kwargs):
                    pass

    run(main)
