"""The few calls whose spelling differs between asyncio and trio, for stories written
once for both async adapters (tests/resilience/async_cases, tests/interop/reconnect_cases).

Each takes the adapter's module (``amqp10_asyncio`` or ``amqp10_trio``) first and runs
on that adapter's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

__all__ = ["in_thread", "is_trio", "sleep", "together", "until"]

T = TypeVar("T")


def is_trio(amqp: Any) -> bool:
    return bool(amqp.__name__ == "amqp10_trio")


async def sleep(amqp: Any, seconds: float) -> None:
    await (trio.sleep if is_trio(amqp) else asyncio.sleep)(seconds)


async def until(amqp: Any, pred: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``pred`` on the adapter's loop until true; AssertionError after ``timeout``."""
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"not within {timeout} s"
        await sleep(amqp, 0.01)


async def in_thread(amqp: Any, fn: Callable[[], T]) -> T:
    """Run a blocking call (a broker's start or stop) in a thread, so the loop keeps
    serving the connection meanwhile."""
    if is_trio(amqp):
        return await trio.to_thread.run_sync(fn)
    return await asyncio.to_thread(fn)


async def together(amqp: Any, *fns: Callable[[], Awaitable[None]]) -> None:
    """Run ``fns`` concurrently on the adapter's loop; return once all are done (the
    first failure fails the call)."""
    if is_trio(amqp):
        async with trio.open_nursery() as nursery:
            for fn in fns:
                nursery.start_soon(fn)
    else:
        await asyncio.gather(*(fn() for fn in fns))
