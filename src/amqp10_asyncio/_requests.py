"""Request/response, management and CBS clients on asyncio (the shared async code in
``amqp10_proto._asyncrequests``, on asyncio's clock and events)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from amqp10_proto._asyncrequests import AsyncCbsBase, AsyncManagementBase, AsyncRequesterBase

__all__ = ["CbsClient", "ManagementClient", "Requester"]


class _Asyncio:
    """asyncio's clock and events, for the shared async requester."""

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _wall(self) -> float:
        return time.time()

    def _new_event(self) -> Any:
        return asyncio.Event()

    async def _wait_event(self, event: Any, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def _spawn(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        async def run() -> None:
            await fn()

        task = asyncio.get_running_loop().create_task(run())

        def cancel() -> None:  # (which keeps the task referenced while it runs)
            task.cancel()

        return cancel


class Requester(_Asyncio, AsyncRequesterBase):
    """Requests and replies over a sender to ``address`` and a receiver for the replies::

        async with Requester(session, "service", dynamic_reply=True) as requester:
            reply = await requester.request(Message("ping"), timeout=10)

    Replies come back on the node itself (default: ``$cbs``, ``$management`` style),
    on a dynamic node (``dynamic_reply=True``) or on a fixed queue (``reply_address=``).
    """


class ManagementClient(_Asyncio, AsyncManagementBase):
    """``await client.call("READ", type="queue", name="q")``: an AMQP Management request."""


class CbsClient(_Asyncio, AsyncCbsBase):
    """``await cbs.put_token(audience, token, ...)`` / ``await cbs.authorize(audience, provider)``;
    ``asyncio.create_task(cbs.run_refresh())`` keeps the tokens fresh."""
