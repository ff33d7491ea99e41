"""The three adapters behind one blocking call each, for the transport stories that must
read the same on all of them (tests/ws/test_ws_followups.py, tests/proxy/test_proxy_followups.py):
every wait is bounded by ``GUARD``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio

ADAPTERS = ["sync", "asyncio", "trio"]
GUARD = 30.0  # a hang guard for each story, far above what any takes


def open_fails(adapter: str, url: str, **options: Any) -> OSError:
    """``open_connection(url, **options)`` on ``adapter``, which must fail with an OSError
    (refused, unreachable, TLS, a proxy): that error."""
    with pytest.raises(OSError) as info:
        if adapter == "sync":
            amqp10_sync.open_connection(url, **options)
        elif adapter == "asyncio":
            async def main_asyncio() -> None:
                await asyncio.wait_for(amqp10_asyncio.open_connection(url, **options), GUARD)

            asyncio.run(main_asyncio())
        else:
            async def main_trio() -> None:
                with trio.fail_after(GUARD):
                    async with amqp10_trio.open_connection(url, **options):
                        pass

            trio.run(main_trio)
    return info.value


def with_connection(adapter: str, url: str, story: Callable[[Any], Any], **options: Any) -> Any:
    """Open a connection to ``url`` on ``adapter``, hand it to ``story`` (awaited on the
    async adapters) and close it; what ``story`` returned."""
    if adapter == "sync":
        with amqp10_sync.open_connection(url, **options) as conn:
            return story(conn)
    if adapter == "asyncio":
        async def main_asyncio() -> Any:
            async with amqp10_asyncio.open_connection(url, **options) as conn:
                return await asyncio.wait_for(story(conn), GUARD)

        return asyncio.run(main_asyncio())

    async def main_trio() -> Any:
        with trio.fail_after(GUARD):
            async with amqp10_trio.open_connection(url, **options) as conn:
                return await story(conn)

    return trio.run(main_trio)
