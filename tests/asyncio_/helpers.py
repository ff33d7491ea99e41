"""Running the asyncio tests without a plugin: each test drives its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    """Run ``coro`` on a fresh event loop, failing it after ``timeout`` seconds."""

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        watchdog = asyncio.get_running_loop().call_later(timeout, task.cancel)
        try:
            return await coro  # in this task: no other task runs unless the test makes one
        finally:
            watchdog.cancel()

    return asyncio.run(main())


async def no_other_tasks() -> bool:
    """True when the current task is the loop's only one (nothing left behind)."""
    for _ in range(50):
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if not others:
            return True
        await asyncio.sleep(0.02)
    return False
