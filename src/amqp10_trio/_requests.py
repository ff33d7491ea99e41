"""Request/response, management and CBS clients on trio (the shared async code in
``amqp10_proto._asyncrequests``, on trio's clock and events)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from amqp10_proto._asyncrequests import AsyncCbsBase, AsyncManagementBase, AsyncRequesterBase

__all__ = ["CbsClient", "ManagementClient", "Requester"]


class _Trio:
    """trio's clock and events, for the shared async requester."""

    def _now(self) -> float:
        return trio.current_time()

    def _wall(self) -> float:
        return time.time()

    def _new_event(self) -> Any:
        return trio.Event()

    async def _wait_event(self, event: Any, timeout: float) -> None:
        with trio.move_on_after(timeout):
            await event.wait()

    def _spawn(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        # A system task: the connection's I/O, which asks for it, has no nursery to give;
        # ``fn`` catches its own errors (a system task's would end the run).
        scope = trio.CancelScope()

        async def run() -> None:
            with scope:
                await fn()

        trio.lowlevel.spawn_system_task(run, name=f"amqp10 CBS {id(self):x}")
        return scope.cancel


class Requester(_Trio, AsyncRequesterBase):
    """Requests and replies over a sender to ``address`` and a receiver for the replies::

        async with Requester(session, "service", dynamic_reply=True) as requester:
            reply = await requester.request(Message("ping"), timeout=10)

    Replies come back on the node itself (default: ``$cbs``, ``$management`` style),
    on a dynamic node (``dynamic_reply=True``) or on a fixed queue (``reply_address=``).
    """


class ManagementClient(_Trio, AsyncManagementBase):
    """``await client.call("READ", type="queue", name="q")``: an AMQP Management request."""


class CbsClient(_Trio, AsyncCbsBase):
    """``await cbs.put_token(audience, token, ...)`` / ``await cbs.authorize(audience, provider)``;
    ``nursery.start_soon(cbs.run_refresh)`` keeps the tokens fresh."""
