"""Part 4 in the core, told as the protocol's story: a client core controls transactions,
a server core coordinates them, back to back (tests/corepair.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from amqp10_proto import (
    Accepted,
    Coordinator,
    CoordinatorLink,
    Declare,
    Declared,
    DeclareReceived,
    Discharge,
    DischargeReceived,
    Error,
    LinkDetached,
    LinkFailed,
    LocalProtocolError,
    Message,
    MessageReceived,
    Rejected,
    Released,
    RemoteAttach,
    RemoteBegin,
    SenderSettleMode,
    Transaction,
    TransactionAbandoned,
    TransactionalState,
    TransactionCoordinator,
    TransactionDeclared,
    TransactionDischarged,
    TransactionFailed,
    TransactionStatus,
    TxnCapability,
    attach_controller,
)
from amqp10_proto._decoder import decode_one
from amqp10_proto._events import DeliveryUpdated
from tests.corepair import CorePair

ROLLBACK = "amqp:transaction:rollback"
UNKNOWN = "amqp:transaction:unknown-id"


class Story:
    """A client with a controller and a sender to q1; a server coordinating, receiving q1."""

    def __init__(self, *, max_frame_size: int = 65536) -> None:
        p = self.p = CorePair(server={"max_frame_size": max_frame_size},
                              client={"max_frame_size": max_frame_size})
        p.open()
        self.session = p.client.begin_session()
        p.pump()
        (rb,) = p.events("server", RemoteBegin)
        rb.session.begin()
        self.server_session = rb.session
        self.coordinator = TransactionCoordinator()
        self.controller = attach_controller(self.session)
        self.sender = self.session.attach_sender("q1")
        p.pump()
        for ra in p.events("server", RemoteAttach):
            if isinstance(ra.link, CoordinatorLink):
                self.coordinator.accept(ra.link)
                self.control = ra.link
            else:
                ra.link.attach()
                ra.link.add_credit(10)
                self.receiver = ra.link
        p.pump()
        p.events("client")

    def server(self, kind: type | None = None) -> list[Any]:
        return self.p.events("server", kind)

    def client(self, kind: type | None = None) -> list[Any]:
        return self.p.events("client", kind)

    def declare(self) -> Any:
        txn = self.controller.declare()
        self.p.pump()
        (req,) = self.server(DeclareReceived)
        self.coordinator.declared(req)
        self.p.pump()
        (ev,) = self.client(TransactionDeclared)
        assert ev.transaction is txn
        return txn


def status(txn: Transaction) -> TransactionStatus:
    """Read afresh (mypy would keep an earlier narrowing of the attribute)."""
    return txn.status


def test_controller_attaches_to_a_coordinator_asking_local_transactions() -> None:
    s = Story()
    target = s.control.remote_target
    assert isinstance(target, Coordinator)
    assert target.capabilities == [TxnCapability.LOCAL_TRANSACTIONS]
    # The coordinator answers with what it supports (4.5.7).
    assert TxnCapability.LOCAL_TRANSACTIONS in (s.controller.capabilities or [])
    assert isinstance(s.controller.link.remote_target, Coordinator)


def test_declare_then_commit_a_transactional_send() -> None:
    s = Story()
    txn = s.controller.declare()
    assert txn.status is TransactionStatus.DECLARING
    s.p.pump()
    # 4.3: the declare is an unsettled message whose body is an amqp-value declare.
    (req,) = s.server(DeclareReceived)
    assert req.global_id is None and not req.delivery.remote_settled
    txn_id = s.coordinator.declared(req)
    s.p.pump()
    (declared,) = s.client(TransactionDeclared)
    assert declared.transaction is txn and txn.txn_id == txn_id and txn.active
    assert s.coordinator.transactions == [txn_id]

    d = s.sender.send(Message(b"in the txn"), txn_id=txn_id)
    s.p.pump()
    (got,) = s.server(MessageReceived)
    # 4.4.1: the transfer carries transactional-state(txn-id).
    assert got.delivery.remote_state == TransactionalState(txn_id=txn_id)
    assert s.coordinator.txn_id_of(got.delivery.remote_state) == txn_id
    s.receiver.settle(got.delivery, TransactionalState(txn_id=txn_id, outcome=Accepted()))
    s.p.pump()
    (upd,) = [e for e in s.client(DeliveryUpdated) if e.delivery is d]
    assert upd.state == TransactionalState(txn_id=txn_id, outcome=Accepted())

    s.controller.discharge(txn)
    assert status(txn) is TransactionStatus.DISCHARGING
    s.p.pump()
    (dis,) = s.server(DischargeReceived)
    assert (dis.txn_id, dis.fail) == (txn_id, False)
    s.coordinator.discharged(dis)
    s.p.pump()
    (done,) = s.client(TransactionDischarged)
    assert done.transaction is txn and not done.fail
    assert status(txn) is TransactionStatus.COMMITTED and s.coordinator.transactions == []
    # Both control deliveries are settled on both sides: nothing is left to track.
    assert not s.controller.link.unsettled and not s.control.unsettled


def test_a_transactional_outcome_unsettled_is_settled_by_the_sender() -> None:
    """4.5.8: transactional-state carrying an outcome is terminal for the sender: with
    auto-settle (the default) it settles, as for a plain outcome, and forgets it."""
    s = Story()
    txn = s.controller.declare()
    s.p.pump()
    (req,) = s.server(DeclareReceived)
    txn_id = s.coordinator.declared(req)
    s.p.pump()
    assert txn.active
    d = s.sender.send(Message(b"in the txn"), txn_id=txn_id)
    s.p.pump()
    (got,) = s.server(MessageReceived)
    # The resource states the outcome without settling (as a receiver in mode second).
    s.receiver.update(got.delivery, TransactionalState(txn_id=txn_id, outcome=Accepted()))
    s.p.pump()
    assert d.settled and d.id not in s.sender.unsettled
    assert got.delivery.remote_settled  # our settlement reached the resource


def test_rollback_is_a_discharge_with_fail() -> None:
    s = Story()
    txn = s.declare()
    s.controller.discharge(txn, fail=True)
    s.p.pump()
    (dis,) = s.server(DischargeReceived)
    assert dis.fail is True
    s.coordinator.discharged(dis)
    s.p.pump()
    (done,) = s.client(TransactionDischarged)
    assert done.fail and txn.status is TransactionStatus.ROLLED_BACK


def test_transactional_settlement_carries_the_outcome_in_the_state() -> None:
    s = Story()
    # A message the server sends the client, settled by the client in a transaction.
    out = s.server_session.attach_sender("back", name="back")
    s.p.pump()
    (ra,) = s.client(RemoteAttach)
    ra.link.attach()
    ra.link.add_credit(1)
    s.p.pump()
    txn = s.declare()
    out.send(Message(b"m"))
    s.p.pump()
    (m,) = s.client(MessageReceived)
    m.link.settle(m.delivery, Released(), txn_id=txn.txn_id)
    s.p.pump()
    (upd,) = s.server(DeliveryUpdated)
    assert upd.state == TransactionalState(txn_id=txn.txn_id, outcome=Released())
    assert upd.settled


def test_settle_with_txn_checks_its_arguments() -> None:
    s = Story()
    s.sender.send(Message(b"x"))
    s.p.pump()
    (got,) = s.server(MessageReceived)
    with pytest.raises(TypeError, match="txn_id must be bytes"):
        s.receiver.settle(got.delivery, Accepted(), txn_id="t1")
    with pytest.raises(TypeError, match="needs its outcome"):
        s.receiver.settle(got.delivery, None, txn_id=b"t1")
    with pytest.raises(TypeError, match="txn_id must be bytes"):
        s.sender.send(Message(b"y"), txn_id=7)  # type: ignore[arg-type]
    # Nothing went out, nothing changed.
    assert not got.delivery.settled and s.sender.delivery_count == 1


def test_a_split_transactional_transfer_carries_the_state_on_every_frame() -> None:
    s = Story(max_frame_size=512)
    txn = s.declare()
    s.sender.send(Message(b"x" * 2000), txn_id=txn.txn_id)
    s.p.wire["client"].clear()
    s.p.pump()
    (got,) = s.server(MessageReceived)
    assert got.message.body == b"x" * 2000
    wire = b"".join(s.p.wire["client"])
    frames = []
    while wire:
        size = int.from_bytes(wire[:4], "big")
        frames.append(wire[8:size])
        wire = wire[size:]
    transfers = [decode_one(f, 0)[0] for f in frames if f[:3] == b"\x00\x53\x14"]
    assert len(transfers) >= 4
    # 4.4.1: all frames of a split delivery are associated with the same transaction.
    assert all(t.state == TransactionalState(txn_id=txn.txn_id) for t in transfers)


def test_declare_refused_is_transaction_failed_with_the_coordinators_error() -> None:
    s = Story()
    txn = s.controller.declare()
    s.p.pump()
    (req,) = s.server(DeclareReceived)
    s.coordinator.refuse(req, Error(condition="amqp:resource-limit-exceeded", description="busy"))
    s.p.pump()
    (failed,) = s.client(TransactionFailed)
    assert failed.transaction is txn and failed.error.condition == "amqp:resource-limit-exceeded"
    assert txn.status is TransactionStatus.FAILED and txn.error == failed.error


@pytest.mark.parametrize("condition", [ROLLBACK, "amqp:transaction:timeout"])
def test_commit_refused_is_transaction_failed(condition: str) -> None:
    s = Story()
    txn = s.declare()
    s.controller.discharge(txn)
    s.p.pump()
    (dis,) = s.server(DischargeReceived)
    s.coordinator.refuse(dis, Error(condition=condition, description="no"))
    s.p.pump()
    (failed,) = s.client(TransactionFailed)
    assert failed.error.condition == condition and txn.status is TransactionStatus.FAILED
    # The refused discharge ended the transaction at the coordinator too.
    assert s.coordinator.transactions == []


def test_discharge_of_an_unknown_txn_id_is_rejected_by_the_core() -> None:
    s = Story()
    # A controller that discharges an id the coordinator never declared (raw, as a peer might).
    d = s.controller.link.send(Message(Discharge(txn_id=b"nope")), settled=False)
    s.p.pump()
    assert s.server(DischargeReceived) == []  # answered without the application
    (upd,) = [e for e in s.client(DeliveryUpdated) if e.delivery is d]
    assert isinstance(upd.state, Rejected) and upd.state.error is not None
    assert upd.state.error.condition == UNKNOWN and "nope" in str(upd.state.error.description)


def test_a_second_discharge_while_the_first_is_answered_is_unknown_id() -> None:
    s = Story()
    txn = s.declare()
    s.controller.discharge(txn)
    d2 = s.controller.link.send(Message(Discharge(txn_id=txn.txn_id)), settled=False)
    s.p.pump()
    (dis,) = s.server(DischargeReceived)
    (upd,) = [e for e in s.client(DeliveryUpdated) if e.delivery is d2]
    assert upd.state.error.condition == UNKNOWN and "being discharged" in upd.state.error.description
    s.coordinator.discharged(dis)
    s.p.pump()
    assert s.client(TransactionDischarged)


def test_controller_misuse_is_a_local_protocol_error() -> None:
    s = Story()
    txn = s.controller.declare()
    with pytest.raises(LocalProtocolError, match="declaring, not active"):
        s.controller.discharge(txn)
    with pytest.raises(TypeError):
        s.controller.discharge(txn, fail="yes")  # type: ignore[arg-type]
    s.p.pump()
    s.coordinator.declared(s.server(DeclareReceived)[0])
    s.p.pump()
    other = attach_controller(s.session, name="other")
    with pytest.raises(LocalProtocolError, match="another controller"):
        other.discharge(txn)
    # No credit yet on the new control link: send refuses, nothing changes.
    with pytest.raises(LocalProtocolError):
        other.declare()
    assert other.transactions == []


def test_answering_twice_is_a_local_protocol_error() -> None:
    s = Story()
    s.controller.declare()
    s.p.pump()
    (req,) = s.server(DeclareReceived)
    s.coordinator.declared(req)
    with pytest.raises(LocalProtocolError, match="answered already"):
        s.coordinator.declared(req)
    with pytest.raises(TypeError):
        s.coordinator.refuse(req, "no")  # type: ignore[arg-type]


def test_a_presettled_control_message_detaches_the_control_link() -> None:
    s = Story()
    s.controller.link.snd_settle_mode = SenderSettleMode.MIXED  # a controller gone wrong
    s.controller.link.send(Message(Declare()), settled=True)
    s.p.pump()
    assert s.server(DeclareReceived) == []
    (failed,) = s.server(LinkFailed)
    assert failed.link is s.control and "must not be sent settled" in failed.error.description
    (det,) = [e for e in s.client(LinkDetached) if e.link is s.controller.link]
    assert det.error.condition == "amqp:illegal-state"


def test_a_control_message_that_is_not_declare_or_discharge_is_rejected() -> None:
    s = Story()
    d = s.controller.link.send(Message("hello"), settled=False)
    s.p.pump()
    (upd,) = [e for e in s.client(DeliveryUpdated) if e.delivery is d]
    assert upd.state.error.condition == "amqp:invalid-field"


def test_a_declare_with_a_global_id_is_not_implemented() -> None:
    s = Story()
    txn = s.controller.declare(global_id=b"xa-1")
    s.p.pump()
    assert s.server(DeclareReceived) == []
    (failed,) = s.client(TransactionFailed)
    assert failed.transaction is txn and failed.error.condition == "amqp:not-implemented"


def test_control_link_detached_mid_transaction_rolls_back_both_sides() -> None:
    s = Story()
    t1 = s.declare()
    t2 = s.declare()
    s.controller.discharge(t2)  # in flight when the link goes
    s.p.pump()
    s.server(DischargeReceived)
    s.controller.link.detach()
    s.p.pump()
    failed = s.client(TransactionFailed)
    assert {f.transaction for f in failed} == {t1, t2}
    assert all(f.error.condition == ROLLBACK for f in failed)
    abandoned = s.server(TransactionAbandoned)
    assert {a.txn_id for a in abandoned} == {t1.txn_id, t2.txn_id}
    assert all(a.error.condition == ROLLBACK for a in abandoned)
    assert s.coordinator.transactions == []


def test_connection_lost_abandons_every_transaction() -> None:
    s = Story()
    t1 = s.declare()
    s.p.server.receive_data(b"")  # the client's socket went
    (ab,) = s.server(TransactionAbandoned)
    assert ab.txn_id == t1.txn_id and ab.error.condition == ROLLBACK
    s.p.client.receive_data(b"")
    (failed,) = s.client(TransactionFailed)
    assert failed.transaction is t1 and t1.status is TransactionStatus.FAILED


def _frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        size = int.from_bytes(data[:4], "big")
        out.append(data[:size])
        data = data[size:]
    return out


def test_discharge_with_a_partial_delivery_in_the_txn_ends_the_control_link() -> None:
    s = Story(max_frame_size=512)
    txn = s.declare()
    s.sender.send(Message(b"x" * 3000), txn_id=txn.txn_id)
    transfers = _frames(s.p.client.data_to_send())
    assert len(transfers) > 3
    s.controller.discharge(txn)
    discharge = s.p.client.data_to_send()
    # On the wire: the first two frames of the delivery, then the discharge (4.4.1).
    s.p.server.receive_data(b"".join(transfers[:2]) + discharge)
    s.p.pump()
    assert s.server(DischargeReceived) == []
    (abandoned,) = s.server(TransactionAbandoned)
    assert abandoned.txn_id == txn.txn_id and abandoned.error.condition == ROLLBACK
    assert "partial" in abandoned.error.description
    (failed,) = s.client(TransactionFailed)
    assert failed.transaction is txn and failed.error.condition == ROLLBACK
    (det,) = [e for e in s.client(LinkDetached) if e.link is s.controller.link]
    assert det.error.condition == ROLLBACK


def test_a_settlement_in_the_transaction_goes_out_before_its_discharge() -> None:
    s = Story()
    txn = s.declare()
    receiver = s.session.attach_receiver("q2", credit=1)
    s.p.pump()
    (ra,) = s.server(RemoteAttach)
    ra.link.attach()
    s.p.pump()
    ra.link.send(Message(b"consumed in the txn"))
    s.p.pump()
    (got,) = s.client(MessageReceived)
    # In one batch of calls: a transactional accept, then the rollback (4.4.2).
    receiver.settle(got.delivery, Accepted(), txn_id=txn.txn_id)
    s.controller.discharge(txn, fail=True)
    kinds = [f[8:11] for f in _frames(s.p.client.data_to_send())]
    # The performatives' descriptors: disposition 0x15 before transfer 0x14 (the discharge).
    assert kinds == [b"\x00\x53\x15", b"\x00\x53\x14"]


def test_declared_twice_with_one_id_is_a_coordinator_violation() -> None:
    s = Story()
    s.declare()
    s.controller.declare()
    s.p.pump()
    (req,) = s.server(DeclareReceived)
    # A broken coordinator: the same txn-id again (forced past our own check).
    s.coordinator._take(req)
    s.coordinator._answer(req, Declared(txn_id=s.coordinator.transactions[0]))
    s.p.pump()
    failed = s.client(TransactionFailed)
    assert {f.error.condition for f in failed} == {"amqp:illegal-state", ROLLBACK}
    (det,) = [e for e in s.server(LinkDetached) if e.link is s.control]
    assert det.error.condition == "amqp:illegal-state"


def test_events_are_frozen_keyword_only_and_slotted() -> None:
    import amqp10_proto

    for name in ("TransactionDeclared", "TransactionDischarged", "TransactionFailed",
                 "DeclareReceived", "DischargeReceived", "TransactionAbandoned"):
        cls = getattr(amqp10_proto, name)
        assert issubclass(cls, amqp10_proto.Event) and name in amqp10_proto.__all__
        assert cls.__dataclass_params__.frozen and "__slots__" in cls.__dict__
        assert all(f.kw_only for f in dataclasses.fields(cls))
