"""Local transactions (part 4): the controller's half and the coordinator's, I/O-free.

A *controller* (:func:`attach_controller`) is a sender whose target is a
:class:`Coordinator` (4.2): it declares transactions and discharges them
(commit, or rollback with ``fail=True``), and the outcomes come back as events
(:class:`TransactionDeclared`, :class:`TransactionDischarged`,
:class:`TransactionFailed`) on the connection's queue, so an adapter only waits
for them. Work joins a transaction through the links' own calls:
``sender.send(msg, txn_id=...)`` (4.4.1, transactional posting) and
``receiver.settle(delivery, Accepted(), txn_id=...)`` (4.4.2, transactional
retirement).

The *coordinator* (:class:`TransactionCoordinator`, the resource's side) answers
a peer's control link (``accept``); declares and discharges arrive as
:class:`DeclareReceived` / :class:`DischargeReceived` events that the
application answers (``declared``, ``discharged``, ``refuse``). The core answers
what needs no application on its own: a discharge of an unknown txn-id
(``amqp:transaction:unknown-id``), a pre-settled control message (4.2: detach),
a body that is neither declare nor discharge, and a discharge while a
transactional delivery is still partial (4.4.1: the control link ends with
``amqp:transaction:rollback``). When a control link ends, the transactions
declared on it are over: :class:`TransactionAbandoned` tells the resource to roll
each back (and the controller reports :class:`TransactionFailed` for each).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._checks import check_credit, check_link_options
from ._definitions import (
    Accepted,
    Coordinator,
    Declare,
    Declared,
    Discharge,
    Error,
    ErrorCondition,
    Modified,
    ReceiverSettleMode,
    Rejected,
    Released,
    SenderSettleMode,
    Source,
    TransactionalState,
    TxnCapability,
)
from ._delivery import Delivery, DeliveryState
from ._errors import DecodeError, LocalProtocolError
from ._events import Event, MessageReceived
from ._link import Receiver, Sender
from ._message import Message
from ._state import LinkState
from ._types import Symbol

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "CoordinatorLink",
    "ControllerLink",
    "DeclareReceived",
    "DischargeReceived",
    "Transaction",
    "TransactionAbandoned",
    "TransactionController",
    "TransactionCoordinator",
    "TransactionDeclared",
    "TransactionDischarged",
    "TransactionFailed",
    "TransactionStatus",
    "TXN_ID_FLOW_PROPERTY",
    "acquisition_properties",
    "attach_controller",
    "flow_txn_id",
]

_OUTCOMES = (Accepted, Rejected, Released, Modified)
#: The outcomes a controller's source names (3.5.3): 4.3 says a coordinator rejects
#: with a transaction-error when the source supports rejected.
_CONTROL_OUTCOMES: list[str] = [Symbol("amqp:accepted:list"), Symbol("amqp:rejected:list")]
#: Control messages a coordinator takes before the application answers (its credit).
DEFAULT_CONTROL_CREDIT = 100
#: 4.4.3: the key, in a flow's properties, of the transaction acquisitions join.
TXN_ID_FLOW_PROPERTY = Symbol("txn-id")
#: 4.5.1: a transaction-id is at most 32 octets of binary.
_MAX_TXN_ID = 32


def acquisition_properties(txn_id: bytes) -> dict[str, bytes]:
    """The flow properties that make a sender's acquisitions join ``txn_id`` (4.4.3)."""
    if not isinstance(txn_id, bytes):
        raise TypeError(f"txn_id must be bytes (4.5.1: binary), not {type(txn_id).__name__}")
    if not 0 < len(txn_id) <= _MAX_TXN_ID:
        raise ValueError(f"a txn-id is 1 to {_MAX_TXN_ID} octets (4.5.1), not {len(txn_id)}")
    return {TXN_ID_FLOW_PROPERTY: txn_id}


def flow_txn_id(properties: Any) -> bytes | None:
    """The txn-id a flow's ``properties`` name for acquisitions (4.4.3), None if none.

    Raises :class:`DecodeError` when the entry is there but is not a binary of at most
    32 octets: the resource cannot tell which transaction was meant.
    """
    if not isinstance(properties, dict):
        return None
    txn_id = properties.get(TXN_ID_FLOW_PROPERTY)
    if txn_id is None:
        return None
    if not isinstance(txn_id, bytes) or not 0 < len(txn_id) <= _MAX_TXN_ID:
        raise DecodeError(f"the flow's txn-id is {txn_id!r:.60}, not a binary of 1 to "
                          f"{_MAX_TXN_ID} octets (4.4.3, 4.5.1)")
    return txn_id


# -- events ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionDeclared(Event):
    """The coordinator declared ``transaction`` (4.3): its ``txn_id`` is set, work may join."""

    transaction: Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionDischarged(Event):
    """The coordinator accepted the discharge (4.3): committed, or rolled back if ``fail``."""

    transaction: Transaction
    fail: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionFailed(Event):
    """``transaction`` did not happen, or is over without our discharge: its declare or
    discharge was refused (``error`` is the coordinator's, e.g.
    ``amqp:transaction:rollback``, ``amqp:transaction:timeout``,
    ``amqp:transaction:unknown-id``), or the control link ended under it."""

    transaction: Transaction
    error: Error


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclareReceived(Event):
    """A controller asks to declare a transaction (4.3). Answer with
    ``coordinator.declared(event)`` or ``coordinator.refuse(event, error)``."""

    coordinator: TransactionCoordinator
    link: CoordinatorLink
    delivery: Delivery
    global_id: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DischargeReceived(Event):
    """A controller discharges ``txn_id`` (4.3): apply its work (or discard it if ``fail``),
    then ``coordinator.discharged(event)``; ``coordinator.refuse(event, error)`` if a
    commit could not be done (the transaction is rolled back: ``amqp:transaction:rollback``
    or ``amqp:transaction:timeout``)."""

    coordinator: TransactionCoordinator
    link: CoordinatorLink
    delivery: Delivery
    txn_id: bytes
    fail: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionAbandoned(Event):
    """``txn_id`` ended without a discharge (its control link detached, its connection
    ended, or the core failed it, 4.4.1): the resource rolls its work back. ``error``
    says why."""

    coordinator: TransactionCoordinator
    txn_id: bytes
    error: Error


# -- the controller ---------------------------------------------------------------------
class TransactionStatus(enum.Enum):
    """Where a :class:`Transaction` is, as the controller sees it."""

    DECLARING = "declaring"
    ACTIVE = "active"
    DISCHARGING = "discharging"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled back"
    FAILED = "failed"


_OVER = (TransactionStatus.COMMITTED, TransactionStatus.ROLLED_BACK, TransactionStatus.FAILED)


class Transaction:
    """One transaction a controller declared: ``txn_id`` once declared, its ``status``,
    and the ``error`` that ended it, if one did."""

    __slots__ = ("_delivery", "context", "controller", "error", "fail", "status", "txn_id")

    def __init__(self, controller: TransactionController) -> None:
        self.controller = controller
        self.txn_id: bytes | None = None
        self.status = TransactionStatus.DECLARING
        self.error: Error | None = None
        #: The discharge asked for a rollback.
        self.fail = False
        #: Free for the application or adapter (e.g. the future waiting on it).
        self.context: Any = None
        self._delivery: Delivery | None = None

    @property
    def active(self) -> bool:
        """Declared and not discharged: work may join it."""
        return self.status is TransactionStatus.ACTIVE

    def __repr__(self) -> str:
        return f"Transaction(txn_id={self.txn_id!r}, status={self.status.value})"


class ControllerLink(Sender):
    """A controller's sending link to a coordinator (4.2); made by :func:`attach_controller`."""

    controller: TransactionController | None = None

    def _after_disposition(self, delivery: Delivery) -> None:
        super()._after_disposition(delivery)
        if self.controller is not None:
            self.controller._on_outcome(delivery)

    def _finish(self, error: Error | None, closed: bool, local: bool,
                with_connection: bool = False) -> None:
        if self.controller is not None:
            self.controller._link_ended(error or self.local_error)
        super()._finish(error, closed, local, with_connection)


class TransactionController:
    """The controller's half of part 4 over one control link (``link``).

    ``declare()`` and ``discharge()`` send the control messages; each answer is an event.
    Both raise :class:`LocalProtocolError` (nothing sent) when the link cannot send now
    (not attached yet, refused, no credit: wait for ``CreditGranted``) or the
    transaction is not in a state to do it.
    """

    def __init__(self, link: ControllerLink) -> None:
        self.link = link
        link.controller = self
        #: Transactions not over yet, by their control delivery while it is in flight.
        self._in_flight: dict[Delivery, Transaction] = {}
        self._active: dict[bytes, Transaction] = {}

    @property
    def transactions(self) -> list[Transaction]:
        """The transactions not over yet (declaring, active or discharging)."""
        return [*self._in_flight.values(),
                *(t for t in self._active.values() if t.status is TransactionStatus.ACTIVE)]

    @property
    def capabilities(self) -> list[str] | None:
        """The txn-capabilities the coordinator's attach offered (4.5.7), once attached."""
        target = self.link.remote_target
        return target.capabilities if isinstance(target, Coordinator) else None

    def declare(self, global_id: Any = None) -> Transaction:
        """Ask for a new transaction (4.3); :class:`TransactionDeclared` gives its id."""
        self._check_link()
        txn = Transaction(self)
        txn._delivery = self._send(Declare(global_id=global_id))
        self._in_flight[txn._delivery] = txn
        return txn

    def discharge(self, transaction: Transaction, *, fail: bool = False) -> None:
        """End ``transaction``: commit it, or roll it back if ``fail`` (4.3)."""
        if not isinstance(fail, bool):
            raise TypeError(f"fail must be a bool, not {type(fail).__name__}")
        if transaction.controller is not self:
            raise LocalProtocolError("that transaction was declared on another controller")
        if transaction.status is not TransactionStatus.ACTIVE:
            raise LocalProtocolError(f"transaction {transaction.txn_id!r} is "
                                     f"{transaction.status.value}, not active")
        self._check_link()
        assert transaction.txn_id is not None
        # 4.4.2: the settlements given in the transaction go before its discharge. Queued
        # dispositions are coalesced when the bytes are taken, after any transfer queued
        # meanwhile; without this a rollback could pass an accept on the wire, which the
        # coordinator then refuses as naming an unknown txn-id.
        connection = self.link.session.connection
        disposing, connection._disposing = connection._disposing, []
        for session in disposing:
            session._flush_dispositions()
        delivery = self._send(Discharge(txn_id=transaction.txn_id, fail=fail))
        transaction._delivery = delivery
        transaction.status = TransactionStatus.DISCHARGING
        transaction.fail = fail
        self._in_flight[delivery] = transaction

    def acquire(self, receiver: Receiver, transaction: Transaction, credit: int) -> None:
        """Transactional acquisition (4.4.3): grant ``credit`` on ``receiver`` in one flow
        whose properties carry the transaction's txn-id, so what the sender acquires for it
        joins ``transaction`` (its transfers carry ``transactional-state``). The flow also
        asks to drain, so no credit outlives the transaction (4.4.3: the controller SHOULD
        leave none at discharge); ``DrainCompleted`` says when it is used or given back.
        Settle what arrives in the same transaction (``txn_id=``); at rollback the
        acquisitions are undone. The receiver must hold no credit (it would be spent outside
        the transaction): LocalProtocolError otherwise, and nothing is sent.
        """
        if not isinstance(receiver, Receiver):
            raise TypeError(f"receiver must be a Receiver, not {type(receiver).__name__}")
        if transaction.controller is not self or not transaction.active:
            raise LocalProtocolError(f"transaction {transaction.txn_id!r} is not an active "
                                     "transaction of this controller")
        check_credit(credit, "credit")
        if credit == 0:
            raise ValueError("credit must be at least 1 to acquire anything")
        if receiver.state is not LinkState.ATTACHED:
            raise LocalProtocolError(f"link {receiver.name!r} is {receiver.state.value}, "
                                     "not attached")
        if receiver.credit:
            raise LocalProtocolError(f"link {receiver.name!r} still holds {receiver.credit} "
                                     "credit: drain it first (4.4.3)")
        assert transaction.txn_id is not None
        # From zero credit there is nothing in flight to account for (set_credit's case).
        receiver.credit = credit
        receiver.draining = True
        frame = receiver._flow_frame(drain=True)
        frame.properties = acquisition_properties(transaction.txn_id)
        receiver.session._send(frame)

    def _check_link(self) -> None:
        link = self.link
        if link.state is LinkState.ATTACHED and not isinstance(link.remote_target, Coordinator):
            raise LocalProtocolError("the peer refused the coordinator link: it does not "
                                     "coordinate transactions (4.2)")

    def _send(self, body: Declare | Discharge) -> Delivery:
        # 4.2/4.3: a control message is never sent settled; its outcome is the answer.
        return self.link.send(Message(body), settled=False)

    def _on_outcome(self, delivery: Delivery) -> None:
        txn = self._in_flight.get(delivery)
        state = delivery.remote_state
        if txn is None or not (delivery.remote_settled or isinstance(state, (*_OUTCOMES, Declared))):
            return  # not ours, or not decided yet (e.g. received)
        del self._in_flight[delivery]
        if not delivery.settled:
            # Declared is an outcome (4.5.3) the link's auto-settle does not know.
            delivery.settled = True
            self.link.unsettled.pop(delivery.id, None)
            if not delivery.remote_settled and self.link.state is LinkState.ATTACHED:
                self.link.session._queue_disposition(self.link.role, delivery.id, True, None)
        emit = self.link.session._emit
        if txn.status is TransactionStatus.DECLARING:
            if isinstance(state, Declared) and state.txn_id not in self._active:
                txn.txn_id = state.txn_id
                txn.status = TransactionStatus.ACTIVE
                self._active[state.txn_id] = txn
                emit(TransactionDeclared(transaction=txn))
            elif isinstance(state, Declared):
                self._violation(f"the coordinator declared txn-id {state.txn_id!r} twice", txn)
            else:
                self._failed(txn, _refusal(state, "declare", "declared"))
            return
        assert txn.txn_id is not None
        self._active.pop(txn.txn_id, None)
        if isinstance(state, Accepted):
            txn.status = TransactionStatus.ROLLED_BACK if txn.fail else TransactionStatus.COMMITTED
            emit(TransactionDischarged(transaction=txn, fail=txn.fail))
        elif isinstance(state, Rejected):
            self._failed(txn, _refusal(state, "discharge", "accepted"))
        else:
            # 4.3: a coordinator accepts or rejects a discharge; anything else leaves the
            # transaction in doubt, so the control link ends (and with it its transactions).
            self._violation(f"the coordinator answered a discharge with {state!r:.60}, not "
                            "accepted or rejected (4.3)", txn)

    def _violation(self, description: str, txn: Transaction) -> None:
        error = Error(condition=ErrorCondition.ILLEGAL_STATE, description=description)
        self._failed(txn, error)
        if self.link.state in (LinkState.ATTACHED, LinkState.ATTACH_SENT, LinkState.ATTACH_RCVD):
            self.link.detach(error)

    def _failed(self, txn: Transaction, error: Error) -> None:
        txn.status = TransactionStatus.FAILED
        txn.error = error
        self.link.session._emit(TransactionFailed(transaction=txn, error=error))

    def _link_ended(self, error: Error | None) -> None:
        """The control link is gone: every transaction not over is (4.2: the coordinator
        rolls back what was declared on it)."""
        pending = [*self._in_flight.values(), *self._active.values()]
        self._in_flight.clear()
        self._active.clear()
        why = _rolled_back(error)
        for txn in pending:
            if txn.status not in _OVER:
                self._failed(txn, why)


def _rolled_back(error: Error | None) -> Error:
    """Why the transactions of a control link that ended are over: the link's own
    transaction-rollback error, else one that says so and carries the link's error."""
    if error is not None and error.condition == ErrorCondition.TRANSACTION_ROLLBACK:
        return error
    return Error(condition=ErrorCondition.TRANSACTION_ROLLBACK,
                 description="the control link ended before the transaction was discharged"
                             + (f" ({error.condition}: {error.description})" if error else ""))


def _refusal(state: DeliveryState | None, what: str, wanted: str) -> Error:
    """The error a refused control message reports (4.3: a transaction-error when rejected)."""
    if isinstance(state, Rejected):
        return state.error or Error(condition=ErrorCondition.TRANSACTION_ROLLBACK,
                                    description=f"the coordinator rejected the {what} "
                                                "and gave no error")
    return Error(condition=ErrorCondition.ILLEGAL_STATE,
                 description=f"the coordinator answered the {what} with {state!r:.60}, "
                             f"not {wanted} (4.3)")


def attach_controller(session: Session, *, name: str | None = None,
                      capabilities: Iterable[str] = (TxnCapability.LOCAL_TRANSACTIONS,)
                      ) -> TransactionController:
    """Attach a control link to the peer's transaction coordinator (4.2) on ``session``.

    ``capabilities`` are the txn-capabilities asked for (4.5.7). A peer that does not
    coordinate transactions refuses the link (an attach with a null target, then a
    detach with its error: ``LinkDetached``); ``declare()`` then raises.
    """
    caps: list[str] = [Symbol(c) for c in capabilities]
    target = Coordinator(capabilities=caps)
    # The checks and naming of any sender (TypeError / ValueError before the link exists).
    source = Source(outcomes=_CONTROL_OUTCOMES)
    check_link_options(source=source, target=target, name=name, max_message_size=None,
                       properties=None, offered_capabilities=None, desired_capabilities=None,
                       coordinator=True)
    link = ControllerLink(session, session._link_name(name, "txn-ctrl"), session._new_handle(),
                          source=source, target=target,
                          snd_settle_mode=SenderSettleMode.UNSETTLED,
                          rcv_settle_mode=ReceiverSettleMode.FIRST, max_message_size=None, properties=None,
                          offered_capabilities=None, desired_capabilities=None)
    controller = TransactionController(link)
    session._add_link(link)
    return controller


# -- the coordinator (the resource's side) -----------------------------------------------
class CoordinatorLink(Receiver):
    """A peer's control link, our receiving end (the session makes one for an attach whose
    target is a :class:`Coordinator`). Until a :class:`TransactionCoordinator` accepts it,
    it is an ordinary receiver; after, its messages are declares and discharges."""

    coordinator: TransactionCoordinator | None = None

    def _whole(self, transfer: Any, payload: bytes, delivery_id: int) -> None:
        events = self.session.connection._events
        n = len(events)
        super()._whole(transfer, payload, delivery_id)
        self._requests(n)

    def _on_transfer(self, transfer: Any, payload: bytes, delivery_id: int) -> None:
        events = self.session.connection._events
        n = len(events)
        super()._on_transfer(transfer, payload, delivery_id)
        self._requests(n)

    def _requests(self, n: int) -> None:
        """Turn the messages that just arrived on this link into requests (or answer them)."""
        coordinator = self.coordinator
        if coordinator is None:
            return
        events = self.session.connection._events
        i = n
        while i < len(events):
            ev = events[i]
            if type(ev) is MessageReceived and ev.link is self:
                request = coordinator._request(self, ev.delivery, ev.message)
                if request is None:
                    del events[i]
                    continue
                events[i] = request
            i += 1

    def _finish(self, error: Error | None, closed: bool, local: bool,
                with_connection: bool = False) -> None:
        super()._finish(error, closed, local, with_connection)
        if self.coordinator is not None:
            self.coordinator._link_ended(self, error or self.local_error)


class TransactionCoordinator:
    """The resource's transactions on one connection: which txn-ids are declared, on which
    control link, and the answers to the controllers' requests.

    One per connection: a txn-id it allocated means nothing on another connection.
    ``capabilities`` is what :meth:`accept` offers (4.5.7); only local transactions are
    coordinated here, so a declare with a global-id is refused ``amqp:not-implemented``.
    """

    def __init__(self, *, capabilities: Iterable[str] = (TxnCapability.LOCAL_TRANSACTIONS,
                                                         TxnCapability.MULTI_TXNS_PER_SSN,
                                                         TxnCapability.MULTI_SSNS_PER_TXN)
                 ) -> None:
        self.capabilities: list[str] = [Symbol(c) for c in capabilities]
        #: Declared and not discharged: txn-id -> the control link it was declared on.
        self._declared: dict[bytes, CoordinatorLink] = {}
        self._discharging: set[bytes] = set()
        self._answering: dict[Delivery, DeclareReceived | DischargeReceived] = {}
        self._next = 0

    def __contains__(self, txn_id: object) -> bool:
        return txn_id in self._declared

    @property
    def transactions(self) -> list[bytes]:
        """The txn-ids declared and not yet discharged or abandoned."""
        return list(self._declared)

    def accept(self, link: Receiver, *, credit: int = DEFAULT_CONTROL_CREDIT) -> None:
        """Answer a peer's control-link attach (``RemoteAttach`` whose link is a
        :class:`CoordinatorLink`): attach with our capabilities and give ``credit``
        (the control messages it may have outstanding before we answer)."""
        if not isinstance(link, CoordinatorLink):
            raise LocalProtocolError(f"link {link.name!r} is not a control link: its target "
                                     "is not a Coordinator (4.2)")
        link.coordinator = self
        link.set_credit(credit)
        link.attach(target=Coordinator(capabilities=self.capabilities))

    @staticmethod
    def txn_id_of(state: DeliveryState | None) -> bytes | None:
        """The txn-id a transfer's or disposition's state names (4.5.5), None if none."""
        return state.txn_id if isinstance(state, TransactionalState) else None

    def declared(self, request: DeclareReceived, txn_id: bytes | None = None) -> bytes:
        """Answer a declare: declared, with ``txn_id`` (ours allocated if None); returns it."""
        self._take(request)
        if txn_id is None:
            self._next += 1
            txn_id = b"txn-%d" % self._next
        if not isinstance(txn_id, bytes):
            raise TypeError(f"txn_id must be bytes (4.5.1: binary), not {type(txn_id).__name__}")
        if txn_id in self._declared:
            raise LocalProtocolError(f"txn-id {txn_id!r} is declared already")
        self._declared[txn_id] = request.link
        self._answer(request, Declared(txn_id=txn_id))
        return txn_id

    def discharged(self, request: DischargeReceived) -> None:
        """Answer a discharge: done (accepted, 4.3); the txn-id is free again."""
        self._take(request)
        self._forget(request.txn_id)
        self._answer(request, Accepted())

    def refuse(self, request: DeclareReceived | DischargeReceived, error: Error) -> None:
        """Refuse a declare or a discharge (rejected with ``error``, 4.3: a transaction-error
        such as ``amqp:transaction:rollback``). A refused discharge ends the transaction:
        its work is rolled back."""
        if not isinstance(error, Error):
            raise TypeError(f"error must be an Error, not {type(error).__name__}")
        self._take(request)
        if isinstance(request, DischargeReceived):
            self._forget(request.txn_id)
        self._answer(request, Rejected(error=error))

    def abort(self, txn_id: bytes, error: Error) -> None:
        """The resource fails ``txn_id`` (4.4.2: a delivery of two transactions, say): its
        control link is detached with ``error`` (``amqp:transaction:rollback``), so every
        transaction declared on it is abandoned (:class:`TransactionAbandoned` each)."""
        link = self._declared.get(txn_id)
        if link is None:
            raise LocalProtocolError(f"txn-id {txn_id!r} is not declared here")
        link._fail(error)

    # -- inside ---------------------------------------------------------------------
    def _take(self, request: DeclareReceived | DischargeReceived) -> None:
        if request.coordinator is not self or self._answering.pop(request.delivery, None) is None:
            raise LocalProtocolError("that request was answered already, or is not this "
                                     "coordinator's, or its control link ended")

    def _answer(self, request: DeclareReceived | DischargeReceived, state: DeliveryState) -> None:
        link = request.link
        if link.state is LinkState.ATTACHED:
            link.settle(request.delivery, state)
            link.add_credit(1)  # 2.6.7: one request answered, one more may come

    def _forget(self, txn_id: bytes) -> None:
        self._declared.pop(txn_id, None)
        self._discharging.discard(txn_id)

    def _request(self, link: CoordinatorLink, delivery: Delivery,
                 message: Message) -> DeclareReceived | DischargeReceived | None:
        """A control message: the request for the application, or None when answered here."""
        if delivery.remote_settled:
            # 4.2: the sender must learn the outcome; a settled control message never can.
            link._fail(Error(condition=ErrorCondition.ILLEGAL_STATE,
                             description="a declare or discharge must not be sent settled (4.3)"))
            return None
        try:
            body = message.body
        except DecodeError as exc:
            self._reject(link, delivery, ErrorCondition.DECODE_ERROR,
                         f"the control message does not decode: {exc}")
            return None
        if isinstance(body, Declare):
            if body.global_id is not None and \
                    TxnCapability.DISTRIBUTED_TRANSACTIONS not in self.capabilities:
                self._reject(link, delivery, ErrorCondition.NOT_IMPLEMENTED,
                             "only local transactions are coordinated here: a declare with a "
                             "global-id asks for a distributed one (4.5.7)")
                return None
            declare = DeclareReceived(coordinator=self, link=link, delivery=delivery,
                                      global_id=body.global_id)
            self._answering[delivery] = declare
            return declare
        if not isinstance(body, Discharge):
            self._reject(link, delivery, ErrorCondition.INVALID_FIELD,
                         "a coordinator takes a declare or a discharge as the message's "
                         f"amqp-value body (4.3), not {type(body).__name__}")
            return None
        txn_id = body.txn_id
        if txn_id not in self._declared or txn_id in self._discharging:
            how = "is being discharged already" if txn_id in self._discharging else "is unknown"
            self._reject(link, delivery, ErrorCondition.TRANSACTION_UNKNOWN_ID,
                         f"txn-id {txn_id!r} {how}")
            return None
        if self._partial(link, txn_id):
            # 4.4.1: discharging with a partial delivery posted ends the control link.
            owner = self._declared[txn_id]
            error = Error(condition=ErrorCondition.TRANSACTION_ROLLBACK,
                          description=f"txn-id {txn_id!r} was discharged while a delivery "
                                      "posted in it was still partial (4.4.1)")
            self._abandon(txn_id, error)
            if owner is not link:
                owner._fail(error)
            link._fail(error)
            return None
        self._discharging.add(txn_id)
        discharge = DischargeReceived(coordinator=self, link=link, delivery=delivery,
                                      txn_id=txn_id, fail=bool(body.fail))
        self._answering[delivery] = discharge
        return discharge

    @staticmethod
    def _partial(link: CoordinatorLink, txn_id: bytes) -> bool:
        """Whether a delivery posted in ``txn_id`` is part way in on this connection."""
        for session in link.session.connection.sessions:
            for other in session.links:
                current = getattr(other, "_current", None)
                if (isinstance(other, Receiver) and current is not None
                        and isinstance(current.remote_state, TransactionalState)
                        and current.remote_state.txn_id == txn_id):
                    return True
        return False

    def _reject(self, link: CoordinatorLink, delivery: Delivery, condition: str,
                description: str) -> None:
        link.settle(delivery, Rejected(error=Error(condition=condition, description=description)))
        if link.state is LinkState.ATTACHED:
            link.add_credit(1)

    def _abandon(self, txn_id: bytes, error: Error) -> None:
        link = self._declared.pop(txn_id, None)
        self._discharging.discard(txn_id)
        if link is not None:
            link.session._emit(TransactionAbandoned(coordinator=self, txn_id=txn_id, error=error))

    def _link_ended(self, link: CoordinatorLink, error: Error | None) -> None:
        """A control link is gone: what was declared on it is rolled back (4.2), and its
        unanswered requests are answered by no one."""
        for d in [d for d, r in self._answering.items() if r.link is link]:
            del self._answering[d]
        why = _rolled_back(error)
        for txn_id in [t for t, lk in self._declared.items() if lk is link]:
            self._abandon(txn_id, why)
