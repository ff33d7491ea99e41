"""The trio adapter's transactions: ``async with session.transaction() as txn:`` (part 4).

The calls are ``amqp10_proto.client.AsyncClientTransaction``'s, written once for
both async adapters; trio adds its checkpoint (a cancelled caller gets out first).
"""

from __future__ import annotations

import trio

from amqp10_proto.client import AsyncClientTransaction

__all__ = ["Transaction"]


class Transaction(AsyncClientTransaction):
    __doc__ = AsyncClientTransaction.__doc__

    async def _checkpoint(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
