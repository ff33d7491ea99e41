"""Transactional acquisition (4.4.3): a receiver's flow names a txn-id in its properties,
the resource's transfers then carry ``transactional-state(txn)``; at rollback what was
acquired goes back to its queue, at commit what was accepted in the transaction is gone.

The controller side is the core's (``TransactionController.acquire``, the exact flow on
the wire). The embedded broker reads the flow's properties from the core's
``Sender.remote_flow_properties`` (the last flow's, 2.7.4).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import (
    TXN_ID_FLOW_PROPERTY,
    Accepted,
    DecodeError,
    DeliveryUpdated,
    LinkDetached,
    LocalProtocolError,
    Message,
    MessageReceived,
    TransactionalState,
    TransactionDeclared,
    TransactionDischarged,
    TransactionFailed,
    acquisition_properties,
    attach_controller,
    codec,
    flow_txn_id,
)
from amqp10_proto._performatives import Flow

from .coreclient import HANG_GUARD, CoreClient


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


def test_the_flow_properties_helpers() -> None:
    # {sym8 "txn-id": vbin8 b"txn-1"}, the map of the flow's properties field.
    assert codec.encode(acquisition_properties(b"txn-1")) == (
        b"\xc1\x10\x02\xa3\x06txn-id\xa0\x05txn-1")
    assert flow_txn_id({TXN_ID_FLOW_PROPERTY: b"t"}) == b"t"
    assert flow_txn_id(None) is None and flow_txn_id({"other": 1}) is None
    with pytest.raises(DecodeError):
        flow_txn_id({TXN_ID_FLOW_PROPERTY: "txn-1"})  # a string, not a binary
    with pytest.raises(DecodeError):
        flow_txn_id({TXN_ID_FLOW_PROPERTY: bytes(33)})
    with pytest.raises(TypeError):
        acquisition_properties("t")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        acquisition_properties(b"")


class Client:
    """A controller, a producer and a consumer on one session against the broker."""

    def __init__(self, broker: RunningBroker, address: str) -> None:
        self.c = CoreClient(broker.port)
        session = self.c.core.begin_session()
        self.controller = attach_controller(session)
        self.sender = session.attach_sender(address)
        self.receiver = session.attach_receiver(address, credit=0)
        self.c.until(lambda _: self.sender.credit > 0 and self.controller.link.credit > 0
                     and self.receiver.attached)

    def until(self, found: Callable[[Any], bool]) -> Any:
        return self.c.until(found)

    def put(self, *bodies: str) -> None:
        sent = [self.sender.send(Message(body.encode())) for body in bodies]
        for d in sent:
            self.until(lambda e: isinstance(e, DeliveryUpdated) and e.delivery is d)  # noqa: B023

    def declare(self) -> Any:
        txn = self.controller.declare()
        self.until(lambda e: isinstance(e, TransactionDeclared) and e.transaction is txn)
        return txn

    def take(self, n: int) -> list[MessageReceived]:
        return [self.until(lambda e: isinstance(e, MessageReceived)) for _ in range(n)]

    def discharge(self, txn: Any, *, fail: bool) -> None:
        self.controller.discharge(txn, fail=fail)
        self.until(lambda e: isinstance(e, TransactionDischarged) and e.transaction is txn)


def acquiring(broker: RunningBroker, bodies: list[str],
              n: int) -> tuple[Client, str, Any, list[MessageReceived]]:
    """A queue of ``bodies``, a transaction, and the first ``n`` acquired in it."""
    address = f"acq-{uuid.uuid4().hex[:8]}"
    client = Client(broker, address)
    client.put(*bodies)
    txn = client.declare()
    client.controller.acquire(client.receiver, txn, n)
    got = client.take(n)
    # 4.4.3: each transfer of an acquisition carries transactional-state(txn-id).
    for m in got:
        assert m.delivery.remote_state == TransactionalState(txn_id=txn.txn_id)
    return client, address, txn, got


def queued(broker: RunningBroker, address: str, want: list[str]) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while True:
        queue = broker.broker.router.queues.get(address)
        have = [e.message.body.decode() for e in queue.peek(0, 100)] if queue else []
        if sorted(have) == sorted(want):
            return
        assert time.monotonic() < deadline, f"the broker holds {have}, not {want}"
        time.sleep(0.01)


def test_acquire_sends_one_flow_with_the_txn_id(broker: RunningBroker,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(broker, f"acq-{uuid.uuid4().hex[:8]}")
    txn = client.declare()
    receiver = client.receiver
    sent: list[Any] = []  # the frames the receiver's session queues
    monkeypatch.setattr(receiver.session, "_send", sent.append)
    client.controller.acquire(receiver, txn, 2)
    (flow,) = sent
    assert isinstance(flow, Flow)
    assert (flow.handle, flow.link_credit, flow.drain) == (receiver.handle, 2, True)
    assert flow.properties == {TXN_ID_FLOW_PROPERTY: txn.txn_id}
    # The checks that send nothing and change nothing.
    with pytest.raises(LocalProtocolError, match="still holds 2 credit"):
        client.controller.acquire(receiver, txn, 1)
    receiver.credit = 0
    with pytest.raises(ValueError):
        client.controller.acquire(receiver, txn, 0)
    with pytest.raises(TypeError):
        client.controller.acquire(client.sender, txn, 1)  # type: ignore[arg-type]
    other = client.controller.declare()  # declaring, not active yet
    with pytest.raises(LocalProtocolError, match="not an active"):
        client.controller.acquire(receiver, other, 1)
    assert sent == [flow] and receiver.credit == 0
    client.c.close()


def test_rollback_returns_what_was_acquired(broker: RunningBroker) -> None:
    client, address, txn, got = acquiring(broker, ["a", "b", "c"], 2)
    assert [m.message.body for m in got] == [b"a", b"b"]
    queued(broker, address, ["c"])
    client.receiver.settle(got[0].delivery, Accepted(), txn_id=txn.txn_id)
    client.c.flush()
    client.discharge(txn, fail=True)
    queued(broker, address, ["a", "b", "c"])  # both acquisitions undone, the accept too
    client.c.close()


def test_commit_consumes_what_was_accepted_in_it(broker: RunningBroker) -> None:
    client, address, txn, (a, b) = acquiring(broker, ["a", "b", "c"], 2)
    client.receiver.settle(a.delivery, Accepted(), txn_id=txn.txn_id)
    client.c.flush()
    client.discharge(txn, fail=False)
    queued(broker, address, ["c"])  # b is the consumer's still, a is gone
    client.receiver.settle(b.delivery, Accepted())  # settled outside, after the commit
    client.c.flush()
    queued(broker, address, ["c"])
    # The discharge cleared the link's txn-id: new credit acquires outside it.
    client.receiver.add_credit(1)
    (c,) = client.take(1)
    assert c.message.body == b"c" and c.delivery.remote_state is None
    client.c.close()


def test_an_outcome_outside_the_acquiring_transaction_rolls_it_back(
        broker: RunningBroker) -> None:
    client, address, _, (a,) = acquiring(broker, ["a"], 1)
    client.receiver.settle(a.delivery, Accepted())  # 4.4.3: must be in the transaction
    client.c.flush()
    failed = client.until(lambda e: isinstance(e, TransactionFailed))
    assert failed.error.condition == "amqp:transaction:rollback"
    assert "4.4.3" in failed.error.description
    client.c.flush()  # our detach answers the coordinator's: the control link is over
    queued(broker, address, ["a"])
    client.c.close()


@pytest.mark.parametrize(("properties", "condition"), [
    (acquisition_properties(b"no-such-txn"), "amqp:transaction:unknown-id"),
    ({TXN_ID_FLOW_PROPERTY: "txn-1"}, "amqp:invalid-field"),  # a string, not a binary
])
def test_a_flow_naming_no_declared_txn_detaches_the_link(
        broker: RunningBroker, properties: dict[str, Any], condition: str) -> None:
    client = Client(broker, f"acq-{uuid.uuid4().hex[:8]}")
    receiver = client.receiver
    receiver.credit = 1
    flow = receiver._flow_frame()
    flow.properties = properties
    receiver.session._send(flow)
    detached = client.until(lambda e: isinstance(e, LinkDetached) and e.link is receiver)
    assert detached.error.condition == condition
    client.c.close()
