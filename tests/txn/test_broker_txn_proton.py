"""python-qpid-proton's transactional API (the tx_send / tx_recv way: declare_transaction,
transaction.send, transaction.accept, commit, abort) against the embedded broker: code we
did not write drives our coordinator, and the queues say what happened."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from proton import Message as PMessage
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container

from amqp10_cli import RunningBroker, start_broker

HANG_GUARD = 30.0


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


@pytest.fixture
def q() -> str:
    return f"txn-{uuid.uuid4().hex[:10]}"


def run(handler: Any) -> None:
    """Run a proton container to its end in a thread, within the hang guard."""
    container = Container(handler)
    errors: list[BaseException] = []

    def main() -> None:
        try:
            container.run()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=main, daemon=True)
    t.start()
    t.join(HANG_GUARD)
    if t.is_alive():
        container.stop()
        raise AssertionError(f"proton did not finish within {HANG_GUARD} s: {handler.log}")
    assert not errors, errors


def queued(broker: RunningBroker, address: str) -> list[Any]:
    """The bodies waiting in ``address`` (read once the broker has settled down)."""
    time.sleep(0.2)
    queue = broker.broker.router.queues.get(address)
    return [] if queue is None else [e.message.body for e in queue.peek(0, 1000)]


class _Script(MessagingHandler, TransactionHandler):  # type: ignore[misc]
    """What both scripts share: end a transaction as planned, log it, go on."""

    conn: Any
    commit: bool
    close_open: bool
    log: list[str]

    def _next(self) -> None:
        raise NotImplementedError

    def _end(self, txn: Any, last: bool) -> None:
        if self.close_open and last:
            self.log.append("dropped")
            self.conn.close()  # with the transaction still open
        elif self.commit:
            txn.commit()
        else:
            txn.abort()

    def on_transaction_committed(self, event: Any) -> None:
        self.log.append("committed")
        self._next()

    def on_transaction_aborted(self, event: Any) -> None:
        self.log.append("aborted")
        self._next()


class TxSend(_Script):
    """tx_send's shape: batches of messages, each in a transaction committed or aborted."""

    def __init__(self, url: str, address: str, batches: list[tuple[list[int], bool]],
                 close_open: bool = False) -> None:
        super().__init__()
        self.url, self.address = url, address
        self.batches = [(list(ids), commit) for ids, commit in batches]
        self.close_open = close_open  # drop the connection with the last one undischarged
        self.txn: Any = None
        self.todo: list[int] = []
        self.log: list[str] = []

    def on_start(self, event: Any) -> None:
        self.conn = event.container.connect(self.url)
        self.sender = event.container.create_sender(self.conn, self.address)
        self.container = event.container
        self._next()

    def _next(self) -> None:
        if not self.batches:
            self.conn.close()
            return
        self.todo, self.commit = self.batches.pop(0)
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event: Any) -> None:
        self.txn = event.transaction
        self.log.append("declared")
        self._send()

    def on_sendable(self, event: Any) -> None:
        self._send()

    def _send(self) -> None:
        while self.txn is not None and self.sender.credit and self.todo:
            n = self.todo.pop(0)
            self.txn.send(self.sender, PMessage(id=n, body=n))
        if self.txn is not None and not self.todo:
            txn, self.txn = self.txn, None
            self._end(txn, not self.batches)

    def on_transaction_declare_failed(self, event: Any) -> None:
        self.log.append("declare failed")
        self.conn.close()

    def on_transaction_commit_failed(self, event: Any) -> None:
        self.log.append("commit failed")
        self._next()


class TxRecv(_Script):
    """tx_recv's shape: take n messages, accept each in a transaction, commit or abort."""

    def __init__(self, url: str, address: str, plan: list[tuple[int, bool]],
                 close_open: bool = False) -> None:
        super().__init__(prefetch=0, auto_accept=False)
        self.url, self.address, self.plan = url, address, list(plan)
        self.close_open = close_open
        self.got: list[list[Any]] = []
        self.txn: Any = None
        self.log: list[str] = []

    def on_start(self, event: Any) -> None:
        self.container = event.container
        self.conn = event.container.connect(self.url)
        self.receiver = event.container.create_receiver(self.conn, self.address)
        self._next()

    def _next(self) -> None:
        if not self.plan:
            self.conn.close()
            return
        self.n, self.commit = self.plan.pop(0)
        self.got.append([])
        self.container.declare_transaction(self.conn, handler=self)

    def on_transaction_declared(self, event: Any) -> None:
        self.txn = event.transaction
        self.receiver.flow(self.n)

    def on_message(self, event: Any) -> None:
        self.got[-1].append(event.message.body)
        self.txn.accept(event.delivery)
        if len(self.got[-1]) == self.n:
            txn, self.txn = self.txn, None
            self._end(txn, not self.plan)


def test_committed_sends_arrive_once_and_aborted_ones_never(broker: RunningBroker,
                                                             q: str) -> None:
    h = TxSend(broker.url, q, [([1, 2, 3], True), ([4, 5], False), ([6, 7], True)])
    run(h)
    assert h.log == ["declared", "committed", "declared", "aborted", "declared", "committed"]
    assert queued(broker, q) == [1, 2, 3, 6, 7]


def test_sends_of_a_transaction_open_when_the_connection_drops_never_arrive(
        broker: RunningBroker, q: str) -> None:
    h = TxSend(broker.url, q, [([1], True), ([2, 3], True)], close_open=True)
    run(h)
    assert h.log[-1] == "dropped"
    assert queued(broker, q) == [1]
    assert all(len(c.transactions) == 0 for c in list(broker.broker.connections))


def _fill(broker: RunningBroker, q: str, bodies: list[int]) -> None:
    h = TxSend(broker.url, q, [(bodies, True)])
    run(h)
    assert queued(broker, q) == bodies


def test_consumed_and_aborted_come_back_consumed_and_committed_are_gone(
        broker: RunningBroker, q: str) -> None:
    _fill(broker, q, [10, 11, 12, 13])
    h = TxRecv(broker.url, q, [(2, False), (3, True)])
    run(h)
    assert h.log == ["aborted", "committed"]
    # The aborted two came back, first in the order; the commit took three of the four.
    assert h.got == [[10, 11], [10, 11, 12]]
    assert queued(broker, q) == [13]


def test_consumed_in_a_transaction_open_when_the_connection_drops_come_back(
        broker: RunningBroker, q: str) -> None:
    _fill(broker, q, [20, 21, 22])
    h = TxRecv(broker.url, q, [(1, True), (2, True)], close_open=True)
    run(h)
    assert h.got == [[20], [21, 22]] and h.log == ["committed", "dropped"]
    assert queued(broker, q) == [21, 22]
