"""What the transaction stories of the three adapters share: the embedded broker, fresh
queue names, and the broker's own view of a queue (read, not consumed)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import amqp10_cli._broker_txn as broker_txn
from amqp10_cli import RunningBroker, start_broker

__all__ = ["broker", "bodies", "eventually", "full_broker", "q", "short_txn_timeout"]

HANG_GUARD = 10.0
#: The depth of full_broker's queues: a commit of more sends than that is rolled back.
DEPTH = 2


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


@pytest.fixture(scope="module")
def full_broker() -> Iterator[RunningBroker]:
    """A broker whose queues hold two messages at most."""
    with start_broker(allow_anonymous=True, max_queue_depth=DEPTH) as running:
        yield running


@pytest.fixture
def q() -> str:
    return f"txn-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def short_txn_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker refuses a commit of any transaction as too old (transaction:timeout)."""
    monkeypatch.setattr(broker_txn, "TRANSACTION_TIMEOUT", 0.0)


def bodies(broker: RunningBroker, address: str) -> list[Any]:
    """The bodies waiting in ``address`` now, as the broker holds them (none consumed)."""
    queue = broker.broker.router.queues.get(address)
    return [] if queue is None else [e.message.body for e in queue.peek(0, 1000)]


def eventually(pred: Callable[[], object], what: str) -> None:
    """Poll ``pred`` (the broker runs in its own thread) within the hang guard."""
    end = time.monotonic() + HANG_GUARD
    while not pred():
        assert time.monotonic() < end, f"not within {HANG_GUARD} s: {what}"
        time.sleep(0.01)


def open_transactions(broker: RunningBroker) -> int:
    """Transactions open at the broker, over all its connections."""
    return sum(len(c.transactions) for c in list(broker.broker.connections))
