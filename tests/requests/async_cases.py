"""The request/response stories for asyncio and trio, written once: ``amqp`` is the
adapter's package, ``req`` its _requests module, ``gather`` runs coroutines at once and
``sleep`` is the loop's."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

from amqp10_proto import Message
from amqp10_proto._cbs import AccessToken, SasCredential
from amqp10_proto._requests import RequestNotFound, RequestUnauthorized
from amqp10_proto._sas import generate_sas_token
from amqp10_proto.errors import LinkDetachedError

AUD = "sb://localhost/orders"
Gather = Callable[..., Awaitable[None]]


async def many_in_flight(amqp: ModuleType, req: ModuleType, gather: Gather, url: str,
                         address: str) -> None:
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
            req.Requester(s, address, dynamic_reply=True, timeout=10) as requester:
        replies: dict[int, Any] = {}

        async def ask(i: int) -> None:
            replies[i] = (await requester.request(Message(i))).body

        await gather(*[ask(i) for i in range(24)])
        assert replies == {i: ["re", i] for i in range(24)}
        assert requester.in_flight == 0 and requester.strays == 0


async def timeout_and_echo(amqp: ModuleType, req: ModuleType, url: str) -> None:
    address = f"echo-{uuid.uuid4().hex[:8]}"
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
            req.Requester(s, address, reply_address=address) as requester:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="no reply"):
            await requester.request(Message(b"anyone?"), timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 5
        assert requester.strays == 1 and requester.in_flight == 0


async def put_token(amqp: ModuleType, req: ModuleType, url: str) -> None:
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
            req.CbsClient(s) as cbs:
        good = generate_sas_token(AUD, "policy", "secret", time.time() + 60)
        assert await cbs.put_token(AUD, good, expires_at=time.time() + 60) == 202
        bad = generate_sas_token(AUD, "policy", "wrong", time.time() + 60)
        with pytest.raises(RequestUnauthorized) as info:
            await cbs.put_token(AUD, bad)
        assert info.value.status_code == 401


async def refresh(amqp: ModuleType, req: ModuleType, url: str,
                  start_soon: Callable[[Callable[[], Awaitable[None]]], Any],
                  sleep: Callable[[float], Awaitable[None]]) -> None:
    calls: list[float] = []
    cred = SasCredential("policy", "secret", ttl=2)

    async def provider(audience: str) -> AccessToken:  # an async provider
        calls.append(time.time())
        return cred.token(audience, time.time())

    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
            req.CbsClient(s) as cbs:
        await cbs.authorize(AUD, provider)
        start_soon(cbs.run_refresh)
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            await sleep(0.05)
    assert len(calls) >= 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(0.5 < g < 2.5 for g in gaps), gaps


async def management(amqp: ModuleType, req: ModuleType, url: str) -> None:
    q = f"mq-{uuid.uuid4().hex[:8]}"
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
            s.open_sender(q) as sender:
        await sender.send(Message(b"one"))
        async with req.ManagementClient(s) as mgmt:
            reply = await mgmt.call("READ", type="queue", name=q)
            assert reply.body["message-count"] == 1
            with pytest.raises(RequestNotFound):
                await mgmt.call("READ", type="queue", name="no-such-queue")


async def close_ends_the_waits(amqp: ModuleType, req: ModuleType, gather: Gather, url: str,
                               sleep: Callable[[float], Awaitable[None]]) -> None:
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s:
        requester = req.Requester(s, f"nobody-{uuid.uuid4().hex[:8]}", dynamic_reply=True)
        await requester.open()
        errors: list[Exception] = []

        async def ask() -> None:
            try:
                await requester.request(Message(b"?"), timeout=30)
            except LinkDetachedError as exc:
                errors.append(exc)

        async def closer() -> None:
            await sleep(0.3)
            await requester.close()

        start = time.monotonic()
        await gather(ask(), ask(), ask(), closer())
        assert time.monotonic() - start < 5
        assert len(errors) == 3 and requester.in_flight == 0


async def session_opens_a_requester(amqp: ModuleType, url: str, address: str) -> None:
    """``await session.open_requester(address, ...)``: attached, asking at once."""
    async with amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s:
        requester = await s.open_requester(address, dynamic_reply=True, request_timeout=10)
        assert isinstance(requester, amqp.Requester) and requester.reply_to
        assert (await requester.request(Message("ping"))).body == ["re", "ping"]
        await requester.close()
