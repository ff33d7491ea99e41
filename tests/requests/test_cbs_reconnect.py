"""Issue 13, end to end on each adapter: after a reconnect, the CBS client puts its
tokens again (fresh ones, from its provider) before the connection's other links attach.

The embedded broker refuses, as Azure does, the attach of a link whose address no token
put on the same connection covers (``BrokerNodes.require_tokens``), so a link attached
before its token came would be refused with amqp:unauthorized-access. The connection
goes through tests/faultproxy.py, which cuts it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Error, ErrorCondition, Message
from amqp10_proto._cbs import AccessToken, SasCredential
from amqp10_proto.errors import LinkDetachedError

from ..faultproxy import FaultProxy

KEYS = {"policy": "secret"}
FAST = amqp10_sync.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True, sas_keys=KEYS) as running:
        running.broker.nodes.require_tokens = True
        yield running


@pytest.fixture
def proxy(broker: RunningBroker) -> Iterator[FaultProxy]:
    with FaultProxy(broker.port) as p:
        yield p


class Provider:
    """Makes a fresh SAS token each call (and counts the calls); from call ``fail_from``
    on, it raises instead."""

    def __init__(self, fail_from: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_from = fail_from
        self.credential = SasCredential("policy", "secret", ttl=600)

    def __call__(self, audience: str) -> AccessToken:
        self.calls.append(audience)
        if self.fail_from is not None and len(self.calls) >= self.fail_from:
            raise RuntimeError("the identity service is down")
        return self.credential.token(audience, time.time())


def names() -> tuple[str, str]:
    q = f"cbs-again-{uuid.uuid4().hex[:8]}"
    return q, f"sb://localhost/{q}"


def test_the_broker_refuses_a_link_without_a_token(broker: RunningBroker) -> None:
    """The check the other tests rely on: no token, no link."""
    q, _ = names()
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
            conn.open_session() as s:
        with pytest.raises(LinkDetachedError) as info:
            s.open_sender(q)
        assert isinstance(info.value.error, Error)
        assert info.value.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS


# -- the blocking adapter -------------------------------------------------------------------
def test_sync_tokens_are_put_again_before_the_links_reattach(proxy: FaultProxy) -> None:
    q, audience = names()
    provider = Provider()
    with amqp10_sync.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn, \
            conn.open_session() as s, amqp10_sync.CbsClient(s, timeout=10) as cbs:
        cbs.start_refresh()
        cbs.authorize(audience, provider)
        sender = s.open_sender(q)
        receiver = s.open_receiver(q)
        sender.send(Message(b"before"))
        proxy.cut()
        sender.send(Message(b"after"), timeout=15)  # waits for the connection to be back
        assert conn.reconnects == 1
        assert [receiver.receive(timeout=10).message.body for _ in range(2)] == \
            [b"before", b"after"]
        assert provider.calls == [audience, audience]  # a fresh token for the new transport
        assert not sender.detached and not receiver.detached
        refresh = cbs._thread
        reauth = cbs._reauth_thread
    # One refresh loop all along; nothing left running after close.
    assert refresh is not None and not refresh.is_alive()
    assert reauth is not None and not reauth.is_alive()


def test_sync_a_token_not_put_again_fails_the_held_links(proxy: FaultProxy) -> None:
    q, audience = names()
    provider = Provider(fail_from=2)
    with amqp10_sync.open_connection(proxy.url, reconnect=FAST, timeout=10) as conn, \
            conn.open_session() as s, amqp10_sync.CbsClient(s, timeout=10) as cbs:
        cbs.authorize(audience, provider)
        receiver = s.open_receiver(q)
        proxy.cut()
        with pytest.raises(LinkDetachedError) as info:
            receiver.receive(timeout=15)
        assert isinstance(info.value.error, Error)
        assert info.value.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS
        assert "the identity service is down" in str(info.value)
        end = time.monotonic() + 10
        while conn.state != "open":
            assert time.monotonic() < end, "the connection did not come back"
            time.sleep(0.01)
        assert conn.reconnects == 1 and receiver.detached
        assert provider.calls == [audience, audience]
        # The CBS client's own links came back and still serve.
        good = SasCredential("policy", "secret").token(audience, time.time())
        assert cbs.put_token(audience, good.token, expires_at=good.expires_at) == 202


# -- asyncio and trio: the same stories ---------------------------------------------------
async def put_again(amqp: ModuleType, url: str, cut: Callable[[], None],
                    start: Callable[[Callable[[], Awaitable[None]]], Any]) -> None:
    q, audience = names()
    provider = Provider()
    async with amqp.open_connection(url, reconnect=FAST, timeout=10) as conn, \
            conn.open_session() as s, amqp.CbsClient(s, timeout=10) as cbs:
        start(cbs.run_refresh)
        await cbs.authorize(audience, provider)
        sender = await s.open_sender(q)
        receiver = await s.open_receiver(q)
        await sender.send(Message(b"before"))
        cut()
        await sender.send(Message(b"after"), timeout=15)
        assert conn.reconnects == 1
        assert [(await receiver.receive(timeout=10)).message.body for _ in range(2)] == \
            [b"before", b"after"]
        assert provider.calls == [audience, audience]
        assert not sender.detached and not receiver.detached
        assert cbs._reauth_cancel is None and not cbs._reauth_busy  # the round is over


async def fail_held(amqp: ModuleType, url: str, cut: Callable[[], None],
                    sleep: Callable[[float], Awaitable[None]]) -> None:
    q, audience = names()
    provider = Provider(fail_from=2)
    async with amqp.open_connection(url, reconnect=FAST, timeout=10) as conn, \
            conn.open_session() as s, amqp.CbsClient(s, timeout=10) as cbs:
        await cbs.authorize(audience, provider)
        receiver = await s.open_receiver(q)
        cut()
        with pytest.raises(LinkDetachedError) as info:
            await receiver.receive(timeout=15)
        assert isinstance(info.value.error, Error)
        assert info.value.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS
        end = time.monotonic() + 10
        while conn.state != "open":
            assert time.monotonic() < end, "the connection did not come back"
            await sleep(0.01)
        assert conn.reconnects == 1 and receiver.detached
        assert provider.calls == [audience, audience]
        good = SasCredential("policy", "secret").token(audience, time.time())
        assert await cbs.put_token(audience, good.token, expires_at=good.expires_at) == 202


def test_asyncio_tokens_are_put_again_before_the_links_reattach(proxy: FaultProxy) -> None:
    async def main() -> None:
        tasks: list[asyncio.Task[None]] = []

        def start(fn: Callable[[], Awaitable[None]]) -> None:
            async def run() -> None:
                await fn()
            tasks.append(asyncio.create_task(run()))

        await put_again(amqp10_asyncio, proxy.url, proxy.cut, start)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)  # run_refresh ends with the client

    asyncio.run(main())


def test_asyncio_a_token_not_put_again_fails_the_held_links(proxy: FaultProxy) -> None:
    asyncio.run(fail_held(amqp10_asyncio, proxy.url, proxy.cut, asyncio.sleep))


def test_trio_tokens_are_put_again_before_the_links_reattach(proxy: FaultProxy) -> None:
    async def main() -> None:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:  # run_refresh ends with the client
                await put_again(amqp10_trio, proxy.url, proxy.cut, nursery.start_soon)

    trio.run(main)


def test_trio_a_token_not_put_again_fails_the_held_links(proxy: FaultProxy) -> None:
    trio.run(fail_held, amqp10_trio, proxy.url, proxy.cut, trio.sleep)
