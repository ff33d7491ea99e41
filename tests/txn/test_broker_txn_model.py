"""A hypothesis state machine: random sequences of plain and transactional sends and
settlements, committed or rolled back, by a client core over a socket against the
embedded broker; after every step the broker's queue is what a model says it is."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import (
    Accepted,
    DeliveryUpdated,
    Message,
    MessageReceived,
    Released,
    TransactionalState,
    TransactionDeclared,
    TransactionDischarged,
    attach_controller,
)

from .coreclient import HANG_GUARD, CoreClient


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


class TxnModel(RuleBasedStateMachine):
    broker: RunningBroker

    def __init__(self) -> None:
        super().__init__()
        self.address = f"model-{uuid.uuid4().hex[:10]}"
        self.c = CoreClient(self.broker.port)
        session = self.c.core.begin_session()
        self.controller = attach_controller(session)
        self.sender = session.attach_sender(self.address)
        self.receiver = session.attach_receiver(self.address)
        self.c.until(lambda _: self.sender.credit > 0 and self.controller.link.credit > 0
                     and self.receiver.attached)
        self.next = 0
        self.queue: list[int] = []  # what the broker's queue holds, as a multiset
        self.held: dict[int, Any] = {}  # received, not settled
        self.txn: Any = None
        self.posted: list[int] = []
        self.retired: dict[int, Any] = {}

    def teardown(self) -> None:
        self.c.close()

    def _settled(self, delivery: Any) -> Any:
        return self.c.until(lambda e: isinstance(e, DeliveryUpdated) and e.delivery is delivery)

    @rule()
    def send_plain(self) -> None:
        self.next += 1
        d = self.sender.send(Message(str(self.next)))
        assert isinstance(self._settled(d).state, Accepted)
        self.queue.append(self.next)

    @precondition(lambda self: self.txn is not None)
    @rule()
    def send_in_txn(self) -> None:
        self.next += 1
        d = self.sender.send(Message(str(self.next)), txn_id=self.txn.txn_id)
        state = self._settled(d).state
        assert state == TransactionalState(txn_id=self.txn.txn_id, outcome=Accepted())
        self.sender.settle(d)
        self.posted.append(self.next)

    @precondition(lambda self: self.queue)
    @rule()
    def receive(self) -> None:
        self.receiver.add_credit(1)
        ev = self.c.until(lambda e: isinstance(e, MessageReceived))
        body = int(ev.message.body)
        self.queue.remove(body)
        self.held[body] = ev.delivery

    @precondition(lambda self: self.held)
    @rule(data=st.data(), accept=st.booleans())
    def settle_plain(self, data: st.DataObject, accept: bool) -> None:
        body = data.draw(st.sampled_from(sorted(self.held)))
        self.receiver.settle(self.held.pop(body), Accepted() if accept else Released())
        self.c.flush()
        if not accept:
            self.queue.append(body)

    @precondition(lambda self: self.held and self.txn is not None)
    @rule(data=st.data(), accept=st.booleans())
    def settle_in_txn(self, data: st.DataObject, accept: bool) -> None:
        body = data.draw(st.sampled_from(sorted(self.held)))
        outcome = Accepted() if accept else Released()
        self.receiver.settle(self.held.pop(body), outcome, txn_id=self.txn.txn_id)
        self.c.flush()
        self.retired[body] = outcome

    @precondition(lambda self: self.txn is None)
    @rule()
    def declare(self) -> None:
        txn = self.controller.declare()
        self.c.until(lambda e: isinstance(e, TransactionDeclared) and e.transaction is txn)
        self.txn = txn

    @precondition(lambda self: self.txn is not None)
    @rule(commit=st.booleans())
    def discharge(self, commit: bool) -> None:
        txn, self.txn = self.txn, None
        self.controller.discharge(txn, fail=not commit)
        ev = self.c.until(lambda e: isinstance(e, TransactionDischarged) and e.transaction is txn)
        assert ev.fail is (not commit)
        if commit:
            self.queue += self.posted
            self.queue += [b for b, o in self.retired.items() if isinstance(o, Released)]
        else:
            self.queue += list(self.retired)  # consumed in it: available again
        self.posted, self.retired = [], {}

    @invariant()
    def the_broker_queue_is_the_model(self) -> None:
        want = sorted(self.queue)
        deadline = time.monotonic() + HANG_GUARD
        while True:
            queue = self.broker.broker.router.queues.get(self.address)
            have = sorted(int(e.message.body) for e in queue.peek(0, 10_000)) if queue else []
            if have == want:
                return
            assert time.monotonic() < deadline, f"broker has {have}, the model {want}"
            time.sleep(0.01)


def test_random_transactional_work_matches_the_model(broker: RunningBroker) -> None:
    TxnModel.broker = broker
    run_state_machine_as_test(TxnModel, settings=settings(max_examples=25, stateful_step_count=20,
                                                          deadline=None))
