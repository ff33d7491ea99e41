"""``async with session.transaction() as txn:`` on asyncio and trio against the embedded
broker: every story of async_cases on both event loops."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_trio
from amqp10_cli import RunningBroker
from amqp10_proto.errors import TransactionRolledBack, TransactionTimeout

from ..asyncio_.helpers import run as run_asyncio
from .async_cases import CASES, Case, a_commit_refused
from .common import DEPTH, broker, full_broker, q, short_txn_timeout

__all__ = ["broker", "full_broker", "q", "short_txn_timeout"]  # fixtures

GUARD = 60  # a hang guard for each story, far above what any of them takes
ADAPTERS = {"asyncio": amqp10_asyncio, "trio": amqp10_trio}


def run(name: str, story: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """``story(adapter, *args)`` on the adapter's own event loop, under the hang guard."""
    amqp = ADAPTERS[name]
    if name == "trio":
        async def guarded() -> None:
            with trio.fail_after(GUARD):
                await story(amqp, *args)

        trio.run(guarded)
    else:
        run_asyncio(story(amqp, *args), timeout=GUARD)


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_story(story: Case, adapter: str, broker: RunningBroker, q: str) -> None:
    run(adapter, story, broker, q)


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_a_commit_the_broker_cannot_do_is_rolled_back(
        adapter: str, full_broker: RunningBroker, q: str) -> None:
    # One message more than the queue holds: the whole commit is refused.
    run(adapter, a_commit_refused, full_broker, q, DEPTH + 1, TransactionRolledBack,
        "amqp:transaction:rollback")


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.usefixtures("short_txn_timeout")
def test_a_transaction_past_the_brokers_timeout(
        adapter: str, broker: RunningBroker, q: str) -> None:
    run(adapter, a_commit_refused, broker, q, 1, TransactionTimeout,
        "amqp:transaction:timeout")
