"""The receiving end of a link (2.6): credit it grants (2.6.7), transfers it reassembles
into messages, and the outcomes and settlement it gives them (2.6.12)."""

from __future__ import annotations

from typing import Any

from ._checks import (
    check_credit,
    check_delivery_state,
    check_error,
    check_modify,
)
from ._definitions import (
    Accepted,
    Error,
    Modified,
    ReceiverSettleMode,
    Rejected,
    Released,
    Role,
    SenderSettleMode,
    TransactionalState,
)
from ._delivery import Delivery, DeliveryState
from ._errors import DecodeError, LocalProtocolError
from ._events import (
    DeliveryResumed,
    DrainCompleted,
    MessageReceived,
    MessageUndecodable,
    TransferAborted,
    message_received,
)
from ._linkbase import (
    _ATTACHED,
    _TERMINAL,
    _UINT,
    Link,
    _LinkError,
    serial_diff,
    txn_state,
)
from ._message import Message, data_only_message
from ._performatives import Flow, Transfer
from ._resume import Resolution
from ._state import LinkState

__all__ = ["Receiver"]

_RECEIVER = Role.RECEIVER
_ACCEPTED = Accepted()  # it has no fields: one instance serves every accept


class Receiver(Link):
    """The receiving end of a link: grant credit, get messages, settle them."""

    role = Role.RECEIVER

    def __init__(self, *args: Any, credit: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credit = credit
        self.draining = False
        self._in_flight_excess = 0  # deliveries allowed beyond credit after a cut
        #: The resolution of the resumed delivery now arriving in several transfers,
        #: or None while one is ignored (2.7.5: not in our unsettled map).
        self._resuming: Resolution | None = None
        self._resumed_current = False

    def _after_attach(self) -> None:
        if self.credit > 0 and self.state is _ATTACHED:
            self.session._send(self._flow_frame())

    @property
    def sender_settle_mode(self) -> SenderSettleMode:
        a = self.remote_attach
        return SenderSettleMode.MIXED if a is None else a.snd_settle_mode

    def add_credit(self, n: int) -> None:
        """Let the sender send ``n`` more messages (TypeError / ValueError for a bad ``n``)."""
        check_credit(n, "credit to add")
        self.set_credit(self.credit + n)

    def set_credit(self, credit: int) -> None:
        """Set the link-credit (2.6.7); a flow goes out if the link is attached."""
        if type(credit) is not int or not 0 <= credit < _UINT:
            check_credit(credit)  # raises: 2.6.7, link-credit is a uint
        if self.state in (LinkState.DETACH_SENT, LinkState.CLOSED, LinkState.DETACH_RCVD):
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}")
        if credit < self.credit:
            # 2.6.7: transfers sent under the old credit may still arrive; take
            # them normally rather than detach with transfer-limit-exceeded.
            self._in_flight_excess += self.credit - credit
        elif self.credit > 0:
            # Some senders (RabbitMQ 3.10) count a top-up from their own
            # delivery-count, not ours, and so overrun it by the transfers in
            # flight, at most the credit still outstanding: take those too.
            self._in_flight_excess = max(self._in_flight_excess, self.credit)
        self.credit = credit
        if self.state is _ATTACHED:
            self.session._send(self._flow_frame(drain=self.draining))

    def drain(self) -> None:
        """Ask the sender to use all the credit now or give it back (2.6.7)."""
        if self.state is not _ATTACHED:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not attached")
        if self.credit == 0:
            self.session._emit(DrainCompleted(link=self))
            return
        self.draining = True
        self.session._send(self._flow_frame(drain=True))

    def _on_flow(self, flow: Flow) -> None:
        self.remote_flow_properties = flow.properties
        # 2.6.7: the sender's delivery-count is authoritative; our credit is
        # what is left of the limit we set.
        if flow.delivery_count is not None:
            # The sender's count ran ahead of ours by what it used or gave back (a
            # drain); serial arithmetic on the counts only, the credit is a plain uint.
            advanced = serial_diff(flow.delivery_count, self.delivery_count)
            self.delivery_count = flow.delivery_count
            self.credit = min(max(0, self.credit - advanced), _UINT - 1)
        if self.draining and self.credit == 0:
            self.draining = False
            self.session._emit(DrainCompleted(link=self))
        if flow.echo:
            self.session._send(self._flow_frame(drain=self.draining))

    def _on_transfer(self, transfer: Transfer, payload: bytes, delivery_id: int) -> None:
        current = self._current
        if current is None and not transfer.more and not transfer.aborted:
            self._whole(transfer, payload, delivery_id)
            return
        if (current is None and (transfer.resume or self.local_incomplete)) or self._resumed_current:
            self._on_resumed(transfer, delivery_id)
            return
        if current is None:
            # 2.6.7: a new delivery needs credit.
            self._use_credit()
            self.delivery_count = (self.delivery_count + 1) % _UINT
            tag = transfer.delivery_tag
            if tag is None:
                raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
            current = Delivery(self, delivery_id, tag, transfer.message_format or 0,
                               settled=bool(transfer.settled))
            current.remote_settled = bool(transfer.settled)
            if transfer.state is not None:
                current.remote_state = transfer.state
            self._current = current
        elif transfer.settled:
            current.remote_settled = True
            current.settled = True
        if transfer.aborted:
            # 2.6.14: an aborted delivery is discarded, settled on both sides.
            self._current = None
            current.aborted = True
            current.settled = current.remote_settled = True
            self._partial = None
            self.session._emit(TransferAborted(link=self, delivery=current))
            return
        data = self._partial
        if payload:
            size = len(payload) if data is None else len(data) + len(payload)
            limit = self.max_message_size
            if limit and size > limit:
                # Refused before the bytes are kept: an endless delivery never grows past it.
                self._partial = None
                raise _LinkError("amqp:link:message-size-exceeded",
                                 f"message larger than max-message-size {limit}")
            # Grown in place (realloc, amortised): the message is held once, not as
            # chunks plus their join, so decoding it peaks at twice its size.
            if data is None:
                self._partial = data = bytearray(payload)
            else:
                data += payload
        if transfer.more:
            return
        self._current = None
        self._partial = None
        try:
            message = Message.decode(b"" if data is None else data)
        except DecodeError as exc:
            self._undecodable(current, exc)
            return
        if not current.remote_settled:
            self.unsettled[current.id] = current
        self.session._emit(MessageReceived(link=self, delivery=current, message=message))

    def _on_resumed(self, transfer: Transfer, delivery_id: int) -> None:
        """A transfer with resume=true (2.6.13, 2.7.5): a delivery of the link's earlier
        incarnation. Its payload is dropped (we had the message); it uses no credit."""
        current = self._current
        if current is None:
            if not transfer.resume:
                # 2.7.3: we sent an incomplete unsettled map; only resumed deliveries may come.
                raise _LinkError("amqp:illegal-state",
                                 "a new delivery on a link whose unsettled map was incomplete")
            tag = transfer.delivery_tag
            if tag is None:
                raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
            # 2.7.5: a resumed delivery not in our unsettled map is ignored.
            res = self.pending_resume.pop(tag, None)
            current = Delivery(self, delivery_id, tag, transfer.message_format or 0)
            if res is not None:
                current.state = res.receiver_state
            self._resuming = res
            if transfer.more and not transfer.aborted:
                self._current = current
                self._resumed_current = True
                return
        elif transfer.more and not transfer.aborted:
            return  # the rest of a resumed delivery's payload: we have it already
        self._current = None
        self._resumed_current = False
        res, self._resuming = self._resuming, None
        if res is None:
            return
        if transfer.aborted:
            # 2.6.14: discarded, settled on both sides.
            current.aborted = current.settled = current.remote_settled = True
        elif transfer.settled:
            current.remote_settled = current.settled = True
            if transfer.state is not None:
                current.remote_state = current.state = transfer.state
        else:
            if transfer.state is not None:
                current.remote_state = transfer.state
            self.unsettled[current.id] = current
            # Tag 13: the sender's restated outcome is echoed; else an outcome we gave
            # before goes out again on this link (2.6.13).
            outcome = transfer.state if isinstance(transfer.state, _TERMINAL) else current.state
            if isinstance(outcome, _TERMINAL):
                current.state = None
                self.settle(current, outcome)
        self.session._emit(DeliveryResumed(link=self, delivery=current, action=res.action))

    def _undecodable(self, delivery: Delivery, exc: DecodeError) -> None:
        """One delivery's message does not decode: refuse it alone, the link goes on.

        Rejected with amqp:decode-error and settled (3.4.2), unless the sender
        settled it already; its credit stays used. Detaching the link instead
        would fail every other delivery, and a pre-settled one would be lost unseen.
        """
        error = Error(condition="amqp:decode-error", description=f"undecodable message: {exc}")
        if not delivery.remote_settled:
            self.unsettled[delivery.id] = delivery
            self.settle(delivery, Rejected(error=error))
        self.session._emit(MessageUndecodable(link=self, delivery=delivery, error=error))

    def _use_credit(self) -> None:
        """Take one credit for a new delivery, or one of the in-flight excess after a cut."""
        if self.credit > 0:
            self.credit -= 1
        elif self._in_flight_excess > 0:
            self._in_flight_excess -= 1
        else:
            raise _LinkError("amqp:link:transfer-limit-exceeded", "transfer without credit (2.6.7)")

    def _whole(self, transfer: Transfer, payload: bytes, delivery_id: int) -> None:
        """A delivery in a single transfer: the common case, kept short."""
        if transfer.resume or self.local_incomplete:
            self._on_resumed(transfer, delivery_id)
            return
        if self.credit <= 0:
            self._use_credit()
            self.credit += 1  # undone by the common path below
        tag = transfer.delivery_tag
        if tag is None:
            raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
        limit = self.max_message_size
        if limit and len(payload) > limit:
            raise _LinkError("amqp:link:message-size-exceeded",
                             f"message larger than max-message-size {limit}")
        self.credit -= 1
        self.delivery_count = (self.delivery_count + 1) & 0xFFFFFFFF
        settled = transfer.settled is True
        delivery = Delivery(self, delivery_id, tag, transfer.message_format or 0, settled)
        if settled:
            delivery.remote_settled = True
        if transfer.state is not None:
            delivery.remote_state = transfer.state
        message = data_only_message(payload)
        if message is None:
            try:
                message = Message.decode(payload)
            except DecodeError as exc:
                self._undecodable(delivery, exc)
                return
        if not settled:
            self.unsettled[delivery_id] = delivery
        self.session.connection._events.append(message_received(self, delivery, message))

    def settle(self, delivery: Delivery, state: DeliveryState | None = None, *,
               txn_id: bytes | None = None) -> None:
        """Give ``delivery`` an outcome and settle it (2.6.12).

        In rcv-settle-mode second the outcome goes out unsettled and the core
        settles once the sender has (2.8.3); otherwise it is settled at once.
        ``state`` is checked first (TypeError / ValueError): an outcome of 3.4, or None.
        With ``txn_id`` the outcome is given in that transaction (4.4.2: a
        transactional-state carrying it), applied by the peer when it commits.
        A settled delivery is left as it is.
        """
        if state is not _ACCEPTED and state is not None:
            check_delivery_state(state)
        if txn_id is not None:
            state = txn_state(txn_id, state, settling=True)
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if delivery.settled:
            return
        second = self.rcv_settle_mode is ReceiverSettleMode.SECOND and not delivery.remote_settled
        prior = delivery.state
        if second and state is not None and prior is not None and state != prior and (
                isinstance(prior, TransactionalState)
                or (isinstance(state, TransactionalState) and isinstance(prior, _TERMINAL))):
            # 4.4.2: an outcome given in a transaction is the transaction's to apply (at its
            # discharge); restated outside it, or in another, the two would contradict.
            raise LocalProtocolError(
                f"delivery {delivery.id} has its outcome already ({prior!r}, waiting "
                "for the sender to settle: mode second); a different one, in or out of a "
                "transaction, cannot be given")
        if state is not None:
            delivery.state = state
        if second:
            if self.state is _ATTACHED:
                self.session._queue_disposition(_RECEIVER, delivery.id, False, delivery.state)
            return
        delivery.settled = True
        self.unsettled.pop(delivery.id, None)
        if not delivery.remote_settled and self.state is _ATTACHED:
            session = self.session
            pending = session._dispositions
            if not pending:  # inline _queue_disposition: this is the hot path
                session.connection._disposing.append(session)
            pending.append((_RECEIVER, delivery.id, True, delivery.state))

    def update(self, delivery: Delivery, state: DeliveryState) -> None:
        """Tell the sender a non-terminal state without settling (e.g. Received, 3.4.1)."""
        check_delivery_state(state)
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if delivery.settled:
            raise LocalProtocolError("that delivery is settled already")
        delivery.state = state
        if not delivery.remote_settled and self.state is _ATTACHED:
            self.session._queue_disposition(_RECEIVER, delivery.id, False, state)

    def accept(self, delivery: Delivery) -> None:
        self.settle(delivery, _ACCEPTED)

    def reject(self, delivery: Delivery, error: Error | None = None) -> None:
        """Settle as rejected (3.4.3); ``error`` (an :class:`Error` or None) tells the sender why."""
        check_error(error)
        self.settle(delivery, Rejected(error=error))

    def release(self, delivery: Delivery) -> None:
        self.settle(delivery, Released())

    def modify(self, delivery: Delivery, *, delivery_failed: bool = True,
               undeliverable_here: bool = False,
               message_annotations: dict[Any, Any] | None = None) -> None:
        """Settle as modified (3.4.5): the sender may deliver it again, annotated so."""
        check_modify(delivery_failed, undeliverable_here, message_annotations)
        self.settle(delivery, Modified(delivery_failed=delivery_failed,
                                       undeliverable_here=undeliverable_here,
                                       message_annotations=message_annotations))

    def _after_disposition(self, delivery: Delivery) -> None:
        if delivery.remote_settled and delivery.state is not None and not delivery.settled:
            # Mode second: the sender settled after our outcome; now we settle.
            delivery.settled = True
        if delivery.done:
            self.unsettled.pop(delivery.id, None)

    def _abandon(self, error: Error | None, local: bool, with_connection: bool = False) -> None:
        self._current = None
        self._partial = None
        self._resumed_current = False
        self._resuming = None
        super()._abandon(error, local, with_connection)
