"""The embedded broker's local transactions (part 4), one :class:`BrokerTransactions` per
connection.

The core's :class:`TransactionCoordinator` answers the control links and says when a
transaction is declared, discharged or abandoned; here is what the work means:

- a transactional send (4.4.1) is answered ``transactional-state(txn, accepted)`` at
  once and held; it is queued only at commit, and dropped at rollback;
- a transactional outcome (4.4.2: accept, reject, release, modify) takes the message
  from its consumer into the transaction; it is applied at commit (and the delivery
  settled). At rollback a message the consumer had settled goes back to its queue, and
  one it still holds unsettled is its own again, to settle anew;
- a commit that cannot be done whole (a queue full or deleted, or the transaction
  over its limit) rolls everything back: the discharge is rejected with
  ``amqp:transaction:rollback``; one older than :data:`TRANSACTION_TIMEOUT` with
  ``amqp:transaction:timeout``;
- a transactional acquisition (4.4.3: a consumer's flow names a txn-id in its
  properties) sends that link's messages as ``transactional-state(txn)`` until the
  discharge; at commit an acquired message is the consumer's (gone if it accepted it
  in the transaction), at rollback it goes back to its queue (the delivery released);
- a control link or connection that ends with a transaction open rolls it back;
- work naming a txn-id this connection did not declare detaches its link with
  ``amqp:transaction:unknown-id``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

from amqp10_proto import (
    Accepted,
    DeclareReceived,
    Delivery,
    DeliveryUpdated,
    DischargeReceived,
    Error,
    ErrorCondition,
    LinkState,
    Message,
    Modified,
    Receiver,
    Rejected,
    Released,
    TransactionAbandoned,
    TransactionalState,
    TransactionCoordinator,
)

if TYPE_CHECKING:
    from ._broker_links import Incoming, Outgoing
    from ._queues import Entry, Queue, Router


class TxnHost(Protocol):
    """What the transactions need from their connection."""

    router: Router

    def now(self) -> float: ...

    def wake(self) -> None: ...

__all__ = ["MAX_TRANSACTIONS", "MAX_TXN_WORK", "TRANSACTION_TIMEOUT", "BrokerTransactions"]

log = logging.getLogger("amqp10.broker")

#: Transactions one connection may have open at once; a declare past it is refused.
MAX_TRANSACTIONS = 100
#: Sends and outcomes one transaction may hold; past it the transaction can only roll back.
MAX_TXN_WORK = 10_000
#: Seconds from declare to discharge; a commit later than that is refused (and rolled back).
TRANSACTION_TIMEOUT = 600.0

_OUTCOMES = (Accepted, Rejected, Released, Modified)


def _error(condition: str, description: str) -> Error:
    return Error(condition=condition, description=description)


class _Work:
    """What one transaction holds until it is discharged.

    While it holds messages for a queue it counts among the queue's publishers (a
    ``Node``), so the router never forgets that queue under it.
    """

    __slots__ = ("acquired", "acquiring", "doomed", "posted", "queues", "retired", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        #: Sends to queue at commit: (queue, message, message-format).
        self.posted: list[tuple[Queue, Message, int]] = []
        self.queues: set[Queue] = set()
        #: Outcomes to apply at commit, by delivery: (consumer, message, outcome).
        self.retired: dict[Delivery, tuple[Outgoing, Entry, Any]] = {}
        #: Set when the transaction can only roll back (it went over its limit).
        self.doomed: Error | None = None
        #: Messages sent in it (4.4.3), by delivery: (consumer, message).
        self.acquired: dict[Delivery, tuple[Outgoing, Entry]] = {}
        #: Consumers whose acquisitions join it now.
        self.acquiring: set[Outgoing] = set()

    @property
    def size(self) -> int:
        return len(self.posted) + len(self.retired) + len(self.acquired)

    def hold(self, queue: Queue) -> None:
        if queue not in self.queues:
            self.queues.add(queue)
            queue.publishers.add(self)

    def node_deleted(self, queue: Queue) -> None:
        """(Node) A dynamic node went: a commit sending to it fails; its messages are gone."""

    def release(self, router: Router) -> None:
        """Nothing is held any more: the queues may be forgotten when idle; no consumer
        acquires in it any more (4.4.3: a discharge clears the links' txn-id)."""
        for outgoing in self.acquiring:
            outgoing.acquiring = None
        self.acquiring.clear()
        for queue in self.queues:
            queue.publishers.discard(self)
            router.forget_if_idle(queue)
        self.queues.clear()


class BrokerTransactions:
    """One connection's transactions: the core's coordinator and the work each holds."""

    def __init__(self, host: TxnHost) -> None:
        self.host = host
        self.coordinator = TransactionCoordinator()
        self._work: dict[bytes, _Work] = {}
        #: Deliveries an open transaction holds an outcome for -> its txn-id (4.4.2).
        self._held: dict[Delivery, bytes] = {}
        #: Deliveries sent in an open transaction -> its txn-id (4.4.3).
        self._acquisitions: dict[Delivery, bytes] = {}

    def __len__(self) -> int:
        return len(self._work)

    # -- control ------------------------------------------------------------------------
    def attach(self, link: Receiver) -> None:
        """A control link (4.2): the coordinator answers it."""
        self.coordinator.accept(link)

    def handle(self, event: Any) -> bool:
        """A coordinator event answered; False for any other event."""
        if isinstance(event, DeclareReceived):
            self._declare(event)
        elif isinstance(event, DischargeReceived):
            self._discharge(event)
        elif isinstance(event, TransactionAbandoned):
            work = self._work.pop(event.txn_id, None)
            if work is not None:
                log.info("transaction %r rolled back: %s", event.txn_id, event.error.description)
                self._rollback(work)
        else:
            return False
        self.host.wake()
        return True

    def _declare(self, event: DeclareReceived) -> None:
        if len(self._work) >= MAX_TRANSACTIONS:
            self.coordinator.refuse(event, _error(
                ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                f"this connection has its limit of {MAX_TRANSACTIONS} open transactions"))
            return
        txn_id = self.coordinator.declared(event)
        self._work[txn_id] = _Work(self.host.now())

    def _discharge(self, event: DischargeReceived) -> None:
        work = self._work.pop(event.txn_id)
        if event.fail:
            self._rollback(work)
            self.coordinator.discharged(event)
            return
        why = work.doomed
        if why is None and self.host.now() - work.started > TRANSACTION_TIMEOUT:
            why = _error(ErrorCondition.TRANSACTION_TIMEOUT,
                         f"the transaction was open longer than {TRANSACTION_TIMEOUT:g} s")
        if why is None:
            why = self._commit(work)
        if why is None:
            self.coordinator.discharged(event)
        else:
            self._rollback(work)
            self.coordinator.refuse(event, why)

    # -- work ---------------------------------------------------------------------------
    def _known(self, link: Any, txn_id: bytes) -> _Work | None:
        work = self._work.get(txn_id)
        if work is None and link.state in (LinkState.ATTACHED, LinkState.ATTACH_SENT):
            link.detach(_error(ErrorCondition.TRANSACTION_UNKNOWN_ID,
                               f"txn-id {txn_id!r} is not a transaction declared on this "
                               "connection, or it is over"))
        return work

    def post(self, incoming: Incoming, delivery: Delivery, message: Message,
             state: TransactionalState) -> None:
        """A transactional send (4.4.1): held for the commit."""
        link = incoming.link
        txn_id = state.txn_id
        work = self._known(link, txn_id)
        if work is None:
            return
        queue, error = incoming.destination(message)
        if error is None and work.size >= MAX_TXN_WORK:
            error = work.doomed = _error(ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                                         f"a transaction holds at most {MAX_TXN_WORK} sends and "
                                         "outcomes; this one can only roll back now")
        if error is None:
            assert queue is not None
            work.posted.append((queue, message, delivery.message_format))
            work.hold(queue)
            outcome: Any = Accepted()
        else:
            outcome = Rejected(error=error)
        if not delivery.remote_settled:
            link.settle(delivery, TransactionalState(txn_id=txn_id, outcome=outcome))

    def retire(self, outgoing: Outgoing, event: DeliveryUpdated) -> None:
        """A transactional outcome (4.4.2): the message is the transaction's until discharge."""
        state = event.state
        assert isinstance(state, TransactionalState)
        delivery = event.delivery
        work = self._known(outgoing.link, state.txn_id)
        if work is None or not isinstance(state.outcome, _OUTCOMES):
            return  # (no outcome yet: nothing to hold)
        owner = self._held.get(delivery)
        if owner is not None and owner != state.txn_id:
            # 4.4.2: one delivery, two open transactions: the first one's control link ends.
            self.coordinator.abort(owner, _error(
                ErrorCondition.TRANSACTION_ROLLBACK,
                f"a delivery with an outcome in txn-id {owner!r} was given another in "
                f"{state.txn_id!r} (4.4.2)"))
            return
        if owner is None:
            entry = delivery.context
            acquired_in = self._acquired_in(delivery)
            if acquired_in is not None:
                if acquired_in != state.txn_id:
                    self._mixed(acquired_in, state.txn_id)
                    return
                entry = work.acquired[delivery][1]
            if entry is None or work.size >= MAX_TXN_WORK:
                if entry is not None:
                    work.doomed = _error(ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                                         f"a transaction holds at most {MAX_TXN_WORK} sends "
                                         "and outcomes; this one can only roll back now")
                return
            delivery.context = None  # the transaction's now, not the link's to give back
            self._held[delivery] = state.txn_id
            work.hold(outgoing.queue)
        else:
            entry = work.retired[delivery][1]
        work.retired[delivery] = (outgoing, entry, state.outcome)

    def acquisition(self, outgoing: Outgoing, txn_id: bytes | None) -> None:
        """A consumer's flow named ``txn_id`` for its acquisitions (4.4.3), or cleared it."""
        if outgoing.acquiring == txn_id:
            return
        if outgoing.acquiring is not None:
            held = self._work.get(outgoing.acquiring)
            if held is not None:
                held.acquiring.discard(outgoing)
            outgoing.acquiring = None
        if txn_id is None:
            return
        work = self._known(outgoing.link, txn_id)
        if work is not None:
            work.acquiring.add(outgoing)
            outgoing.acquiring = txn_id

    def acquired(self, outgoing: Outgoing, delivery: Delivery, entry: Entry) -> None:
        """``entry`` went out in the transaction ``outgoing`` acquires in: it is the
        transaction's until the discharge."""
        txn_id = outgoing.acquiring
        work = None if txn_id is None else self._work.get(txn_id)
        assert txn_id is not None and work is not None  # cleared at every discharge
        work.acquired[delivery] = (outgoing, entry)
        work.hold(outgoing.queue)
        self._acquisitions[delivery] = txn_id
        if work.size > MAX_TXN_WORK and work.doomed is None:
            work.doomed = _error(ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                                 f"a transaction holds at most {MAX_TXN_WORK} sends, outcomes "
                                 "and acquisitions; this one can only roll back now")

    def outside(self, outgoing: Outgoing, event: DeliveryUpdated) -> bool:
        """A plain outcome for a message acquired in a transaction not yet discharged:
        4.4.3 says it must join that transaction, so the transaction fails (True); False
        when the delivery is no transaction's."""
        txn_id = self._acquired_in(event.delivery)
        if txn_id is None or not isinstance(event.state, _OUTCOMES):
            return txn_id is not None
        self._mixed(txn_id, None)
        return True

    def _acquired_in(self, delivery: Delivery) -> bytes | None:
        return self._acquisitions.get(delivery)

    def _mixed(self, acquired_in: bytes, other: bytes | None) -> None:
        where = "outside any transaction" if other is None else f"in txn-id {other!r}"
        self.coordinator.abort(acquired_in, _error(
            ErrorCondition.TRANSACTION_ROLLBACK,
            f"a message acquired in txn-id {acquired_in!r} was given an outcome {where} "
            "(4.4.3: it must be the same transaction)"))

    # -- discharge ----------------------------------------------------------------------
    def _commit(self, work: _Work) -> Error | None:
        """Queue the sends and apply the outcomes, all or (with the error why) none."""
        wanted: Counter[Queue] = Counter(queue for queue, _, _ in work.posted)
        for queue, n in wanted.items():
            if queue.deleted:
                return _error(ErrorCondition.TRANSACTION_ROLLBACK,
                              f"node {queue.address!r} was deleted before the commit")
            if queue.max_depth is not None and len(queue) + n > queue.max_depth:
                return _error(ErrorCondition.TRANSACTION_ROLLBACK,
                              f"queue {queue.address!r} cannot take the transaction's {n} "
                              f"message(s): it holds {len(queue)} of its {queue.max_depth}")
        for queue, message, message_format in work.posted:
            queue.put(message, message_format)
        for delivery, (outgoing, entry, outcome) in work.retired.items():
            del self._held[delivery]
            outgoing.apply(entry, outcome)
            link = outgoing.link
            if link.state is LinkState.ATTACHED and not delivery.settled:
                link.settle(delivery, outcome)
        for delivery, (outgoing, entry) in work.acquired.items():
            del self._acquisitions[delivery]
            if delivery in work.retired:
                continue
            # 4.4.3: the acquisition stands; with no outcome in the transaction the message
            # is the consumer's to settle, or its queue's if the consumer is gone.
            if delivery.settled:
                outgoing.apply(entry, Accepted())  # sent settled: consumed
            elif outgoing.link.state is LinkState.ATTACHED:
                delivery.context = entry
            elif not outgoing.queue.deleted:
                outgoing.queue.requeue([entry])
        work.release(self.host.router)
        return None

    def _rollback(self, work: _Work) -> None:
        """Drop the sends; messages consumed or acquired in it are available again."""
        for delivery, (outgoing, entry) in work.acquired.items():
            # 4.4.3: the acquisition (and any outcome in it) is undone.
            del self._acquisitions[delivery]
            self._held.pop(delivery, None)
            work.retired.pop(delivery, None)
            link = outgoing.link
            if link.state is LinkState.ATTACHED and not delivery.settled:
                link.settle(delivery, Released())
            if not outgoing.queue.deleted:
                outgoing.queue.requeue([entry])
        work.acquired.clear()
        for delivery, (outgoing, entry, _) in work.retired.items():
            del self._held[delivery]
            link = outgoing.link
            if (link.state is LinkState.ATTACHED and not delivery.settled
                    and not delivery.remote_settled):
                delivery.context = entry  # the consumer holds it again, to settle anew
                continue
            if link.state is LinkState.ATTACHED and not delivery.settled:
                link.settle(delivery, Released())
            if not outgoing.queue.deleted:
                outgoing.queue.requeue([entry])
        work.posted.clear()
        work.retired.clear()
        work.release(self.host.router)

    def connection_lost(self) -> None:
        """Every open transaction is rolled back (its control link ended with the
        connection; in case the core's events did not say so already)."""
        for work in self._work.values():
            self._rollback(work)
        self._work.clear()
