"""The asyncio adapter's transactions: ``async with session.transaction() as txn:`` (part 4).

The calls are ``amqp10_proto.client.AsyncClientTransaction``'s, written once for
both async adapters; this is the asyncio class.
"""

from __future__ import annotations

from amqp10_proto.client import AsyncClientTransaction

__all__ = ["Transaction"]


class Transaction(AsyncClientTransaction):
    __doc__ = AsyncClientTransaction.__doc__
