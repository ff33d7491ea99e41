"""The I/O-free half of an adapter's sessions and links: their state, checks and errors.

An adapter's Session, Sender and Receiver subclass these and add only the waiting,
in their own I/O model (blocking, asyncio, trio). What to wait for (the
predicates) and what a finished wait means (the result or the exception) is
decided here, once, for all three. The session's base is ``_clientsession``'s,
re-exported here with the links'.

What they expect of the adapter's objects: a connection with ``closed``,
``label``, ``remote_properties``, ``_check()`` (raise if it is over) and
``_after()`` (dispatch events, write what the core queued); a session with
``_conn`` and the attributes :class:`SessionState` sets.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Generic

from typing_extensions import TypeVar

from ._clientinfo import (
    HasTxnId,
    LinkInfo,
    SendOptions,
    describe_error,
    outcome_error,
    settle_timeout_text,
    txn_id_of,
)
from ._clientsession import SessionBase, _forget
from ._definitions import (
    Accepted,
    Error,
    Modified,
    ReceiverSettleMode,
    Rejected,
    Released,
    Source,
    Target,
    TransactionalState,
)
from ._delivery import Delivery, DeliveryState
from ._errors import LinkDetachedError, LocalProtocolError, SettlementLost
from ._events import DrainCompleted, LinkDetached, LinkFailed, MessageUndecodable
from ._link import Link as CoreLink
from ._link import Receiver as CoreReceiver
from ._link import Sender as CoreSender
from ._link import check_delivery_tag, check_message_format, txn_state
from ._linkresume import ReceiverResumption, SenderResumption, outcome_state
from ._state import LinkState
from ._types import Described

# (describe_error: also for _clienttxn and _recovery, which import it from here.)
__all__ = ["LinkBase", "ReceiverBase", "SenderBase", "SessionBase", "describe_error"]

log = logging.getLogger("amqp10")
_TERMINAL = (Accepted, Rejected, Released, Modified)
#: The outcome of a transactional send whose connection went before its outcome came.
_ROLLED_BACK = Rejected(error=Error(
    condition="amqp:transaction:rollback",
    description="the connection was lost before the transaction was discharged: it rolled "
                "back, and the message was not sent again"))


#: An adapter's session class, as its links give it back (``link.session``).
S = TypeVar("S", bound=SessionBase[Any], default=SessionBase[Any])


class LinkBase(LinkInfo, Generic[S]):
    """What an adapter's senders and receivers share: attach, detach, state and errors.

    ``S`` is the adapter's session class (``LinkBase[Session]``), so that
    ``link.session`` is typed for the application.
    """

    _core: Any
    _session: Any
    _conn: Any

    def __init__(self, session: S, core: CoreLink, *, attach_args: dict[str, Any] | None = None,
                 **_: Any) -> None:
        self._session = session
        self._conn = session._conn
        self._core = core
        self._detached_flag = False
        self._closed_locally = False
        #: What it was attached with (its name fixed), to attach it again (issue 9).
        self._attach_args = dict(attach_args or {}, name=core.name)
        #: The transport went; the link is attached again when the connection is back.
        self._lost = False
        session._links.append(self)
        #: Why the core detached the link for the peer's fault (LinkFailed), if it did.
        self._failure: Error | None = None
        #: The error the link detached with (the peer's, or its session's), if any.
        self.error: Error | None = None

    @property
    def session(self) -> S:
        """The session this link is on."""
        session: S = self._session
        return session

    @property
    def detached(self) -> bool:
        """True once the link is gone: detached by either side, or its session or connection."""
        return self._detached_flag

    def __repr__(self) -> str:
        state = "detached" if self._detached_flag else "attached"
        package = type(self).__module__.split(".")[0]
        return f"<{package}.{type(self).__name__} {self._core.name!r} {state}>"

    # -- what to wait for ---------------------------------------------------------------
    def _gone(self) -> bool:
        """The link can carry nothing more: detached, or its session or connection over.
        A link whose transport went while the connection reconnects is not gone."""
        return (self._detached_flag
                or (self._core.state is not LinkState.ATTACHED and not self._lost)
                or self._session._ended or self._session._failure is not None
                or self._conn.closed)

    def _check_sending(self) -> None:
        """Raise what :meth:`_check` raises, or LinkDetachedError if the link is gone (while
        the connection reconnects it is not: a message waits its turn). A link neither
        lost nor gone passes both (its connection is not closed, its session is up, it is
        attached): the usual case is told by one expression, with no call (once per
        message queued: issue 12 item 2)."""
        session = self._session
        if (self._detached_flag or self._lost or self._core.state is not LinkState.ATTACHED
                or session._ended or session._failure is not None or self._conn.closed):
            self._check()
            if self._gone():
                raise LinkDetachedError(f"link {self._core.name!r} is not attached")

    def _detach_done(self) -> bool:
        return self._detached_flag or self._session._ended or self._conn.closed

    def _attach_done(self, needs_remote: bool) -> bool:
        if self._detach_done() or self._failure is not None \
                or self._session._failure is not None:
            return True
        core = self._core
        if core.state is not LinkState.ATTACHED:
            return False
        # 2.6.3: a refusing peer attaches with a null terminus, then detaches at once.
        remote = core.remote_target if isinstance(core, CoreSender) else core.remote_source
        return not needs_remote or remote is not None

    def _attach_failed(self) -> Exception:
        """After an attach wait timed out: what to raise (the detach is queued as needed)."""
        self._check()
        if self._core.state is LinkState.ATTACHED:
            return LinkDetachedError(
                f"link {self._core.name!r}: the peer attached with a null terminus and did "
                "not detach in time (refused)")
        self._detach_nowait()
        return TimeoutError(f"link {self._core.name!r}: the peer did not answer the attach "
                            "in time")

    def _detach_nowait(self, error: Error | None = None, closed: bool = True) -> bool:
        """Queue our detach (2.6.6; ``closed=False``: the peer keeps the terminus, to be
        attached again by name); False if there is nothing to detach or wait for."""
        if self._detached_flag or self._session._ended or self._conn.closed \
                or self._closed_locally or self._failure is not None \
                or self._session._failure is not None:
            return False  # over, or our detach (end) is on its way already
        self._closed_locally = True
        if self._lost:  # the transport took it: nothing to say, and it is not attached again
            self._detached_flag = True
            return False
        try:
            self._core.detach(error, closed=closed)
        except LocalProtocolError:
            return False  # the session is ending: the link goes with it
        self._conn._after()
        return True

    def _detach_timeout(self, span: float) -> TimeoutError:
        return TimeoutError(f"link {self._core.name!r}: the peer did not answer the detach "
                            f"within {span} s")

    # -- events and checks ------------------------------------------------------------------
    def _detached(self, event: LinkDetached) -> None:
        if event.with_connection and self._conn._reconnecting and not self._closed_locally:
            self._lost = True  # attached again once the connection is back
            self._link_lost(event)
            return
        self._detached_flag = True
        _forget(self._session._links, self)
        # The peer's error; or ours, when the core detached the link for a fault of the
        # peer's and the peer's answering detach carried none (2.6.6).
        self.error = event.error if event.error is not None else self._core.local_error
        if event.error is not None and not event.local and not self._conn.closed:
            log.warning("%s: link %r detached by the peer: %s", self._conn.label,
                        self._core.name, describe_error(event.error))

    def _on_failed(self, event: LinkFailed) -> None:
        """The core detached the link for the peer's fault (2.6.6): its waiters fail now."""
        self._failure = self.error = event.error
        log.warning("%s: link %r detached: the peer broke a link rule: %s", self._conn.label,
                    self._core.name, describe_error(event.error))

    def _on_flow_event(self, event: Any) -> None:
        """Credit, drain and abort events for this link."""

    def _link_lost(self, event: LinkDetached) -> None:
        """The transport took the link (the connection reconnects): keep what the next
        attach needs."""

    def _replay_args(self) -> dict[str, Any]:
        """The options to attach it again with."""
        return self._attach_args

    def _recovered(self) -> None:
        """Attached again on the new transport (or refused there)."""
        self._lost = False

    def _never_back(self) -> None:
        """The transport went and the connection is not coming back (given up, or closed
        while reconnecting): report what will never be sent."""

    def _check(self) -> None:
        """Raise ConnectionClosedError, SessionEndedError or LinkDetachedError if the link is over."""
        self._session._check()
        name = self._core.name
        if self._detached_flag:
            if self.error is not None:
                raise LinkDetachedError(f"link {name!r} detached: {describe_error(self.error)}",
                                        self.error)
            raise LinkDetachedError(f"link {name!r} was closed" if self._closed_locally
                                    else f"link {name!r} was detached by the peer")
        core = self._core
        if core.state is not LinkState.ATTACHED and core.local_error is not None:
            # The core detached the link for the peer's fault; its answer is not here yet.
            raise LinkDetachedError(
                f"link {name!r} detached: {describe_error(core.local_error)}", core.local_error)


class SenderBase(SenderResumption, LinkBase[S]):
    """A sender's outcomes: when a delivery is finished and what that means (3.4).

    Across a reconnect (issue 9) it sends again, first and in their order, the
    messages sent unsettled whose outcome had not arrived (at-least-once): it keeps
    each such message until its outcome comes, and the application's delivery then
    stands for the resent one (``_resolve``). A durable link is resumed instead
    (2.6.13, ``_linkresume``): only what the receiver never got is sent again.
    """

    #: Calls of this sender waiting for credit now (the adapter counts them).
    _waiting = 0

    def __init__(self, session: S, core: CoreSender, **extra: Any) -> None:
        super().__init__(session, core, **extra)
        #: Unsettled sends, in send order, with their message, until their outcome.
        self._payloads: dict[Delivery, Any] = {}
        self._sweep_at = 64
        #: In doubt after a lost transport: sent again before anything new.
        self._resend: deque[tuple[Delivery, Any]] = deque()
        #: A delivery resent after a reconnect -> the delivery that replaced it.
        self._forward: dict[Delivery, Delivery] = {}
        self._resent = 0

    @property
    def resent(self) -> int:
        """Messages sent again after a reconnect because their outcome had not arrived."""
        return self._resent

    @property
    def address(self) -> str | None:
        """The target address the peer attached: the node it agreed to, or the one it
        made for a dynamic sender (3.5.4); None before its attach or for none."""
        target = self.remote_target
        address: str | None = target.address if isinstance(target, Target) else None
        return address

    def _send_options(self, message_format: int, delivery_tag: bytes | None,
                      txn: HasTxnId | None, queued: Any = ()) -> SendOptions | None:
        """A send's options checked before anything is sent or queued: TypeError /
        ValueError for a format that is not a uint (2.7.5) or a tag that is not binary of
        at most 32 bytes, or in use by an unsettled delivery or a message ``queued``
        for credit (2.8.7); TransactionError for a transaction not usable now."""
        if message_format == 0 and delivery_tag is None and txn is None \
                and type(message_format) is int:
            return None  # the plain send: nothing to check
        check_message_format(message_format)
        tag = check_delivery_tag(delivery_tag)
        if tag is not None:
            taken = any(d.tag == tag for d in self._core.unsettled.values()) or any(
                h.opts is not None and h.opts[1] == tag for h in queued)
            if taken:
                raise ValueError(f"delivery_tag {tag!r} is in use by an unsettled message on "
                                 f"link {self._core.name!r} (2.8.7: unique among them)")
        return (message_format, tag, txn_id_of(txn))

    def _core_send(self, message: Any, settled: bool | None,
                   opts: SendOptions | None) -> Delivery:
        """Hand one message to the core with its options (credit available)."""
        if opts is None:
            return self._core.send(message, settled=settled)  # type: ignore[no-any-return]
        return self._core.send(  # type: ignore[no-any-return]
            message, settled=settled, message_format=opts[0], tag=opts[1], txn_id=opts[2])

    def _count_available(self, queued: int) -> None:
        """2.6.7: the flows this sender sends anyway say how many messages wait for credit
        (``available``); a plain attribute set, no flow of its own."""
        core = self._core
        if queued or core.available is not None:
            core.available = queued

    def _track(self, delivery: Delivery, message: Any) -> None:
        """Keep an unsettled send's message until its outcome, to send it again if the
        transport goes first (the adapter calls this after each ``core.send``)."""
        if delivery.settled:
            return  # pre-settled: at most once, never resent
        payloads = self._payloads
        payloads[delivery] = message
        if len(payloads) >= self._sweep_at:
            for d in [d for d in payloads if d.remote_settled or d.settled
                      or isinstance(d.remote_state, _TERMINAL)]:
                del payloads[d]
            self._sweep_at = max(64, 2 * len(payloads))
            if self._forward:
                self._sweep_forwards()

    def _sweep_forwards(self) -> None:
        """Forget resends whose outcome came: the application's delivery takes it over, so
        a later wait on it still answers (bounded memory however many reconnects)."""
        forward = self._forward
        for old in list(forward):
            new = self._resolve(old)
            if new.remote_settled or isinstance(new.remote_state, _TERMINAL):
                old.remote_state, old.remote_settled = new.remote_state, new.remote_settled
                del forward[old]

    def _link_lost(self, event: LinkDetached) -> None:
        for delivery, message in self._payloads.items():
            if not (delivery.remote_settled or delivery.settled
                    or isinstance(delivery.remote_state, _TERMINAL)):
                if isinstance(delivery.state, TransactionalState):
                    # 4.4.1: posted in a transaction that the lost connection took with
                    # it (rolled back): never resent, outside it or in it.
                    delivery.remote_state, delivery.remote_settled = _ROLLED_BACK, True
                    continue
                self._resend.append((delivery, message))
        self._payloads.clear()
        self._sweep_at = 64
        self._resume_prepare()

    def _replay_args(self) -> dict[str, Any]:
        return self._resume_args(self._attach_args)

    def _resolve(self, delivery: Delivery) -> Delivery:
        """The delivery that stands for ``delivery`` now (itself, or its resend)."""
        forward = self._forward
        while delivery in forward:
            delivery = forward[delivery]
        return delivery

    def _recovered(self) -> None:
        super()._recovered()
        self._pump_resends()

    def _never_back(self) -> None:
        if self._resend:
            # Their waiters raise ConnectionClosedError; say so for the sends nobody waits on.
            log.warning("%s: link %r: %d message(s) whose outcome was in doubt were not "
                        "sent again: the connection did not come back", self._conn.label,
                        self._core.name, len(self._resend))
            self._resend.clear()

    def _on_flow_event(self, event: Any) -> None:
        core = self._core
        if self._resend:
            self._pump_resends()
        if getattr(event, "drain", False) and self._waiting == 0 and core.drain_requested \
                and not self._resend:
            core.drained()  # a drain, and no send waiting: give the credit back (2.6.7)

    @property
    def credit(self) -> int:
        """Messages the peer lets us send now (its link-credit, 2.6.7)."""
        value: int = self._core.credit
        return value

    def _outcome_ready(self, delivery: Delivery) -> bool:
        if self._forward:
            delivery = self._resolve(delivery)
        return (delivery.remote_settled or isinstance(delivery.remote_state, _TERMINAL)
                or (self._core.state is LinkState.CLOSED and not self._lost)
                or self._conn.closed)

    def _outcome(self, delivery: Delivery, ok: bool, span: float) -> DeliveryState:
        """After waiting for ``delivery``: its outcome, or the exception for it (3.4)."""
        if self._forward:
            delivery = self._resolve(delivery)
        if delivery.remote_settled or isinstance(delivery.remote_state, _TERMINAL):
            failure = outcome_error(delivery)
            if failure is not None:
                raise failure
            return delivery.remote_state or Accepted()
        self._check()
        if not ok:
            raise TimeoutError(f"link {self._core.name!r}: the peer did not settle the message "
                               f"within {span} s")
        raise LinkDetachedError(f"link {self._core.name!r} ended before the peer settled")


class ReceiverBase(ReceiverResumption, LinkBase[S]):
    """A receiver's buffer and credit window, drains and settlements (2.6.7, 3.4)."""

    def __init__(self, session: S, core: CoreReceiver, *, credit: int = 100,
                 **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._window = credit
        self._buffer: deque[Any] = deque()
        self._drains = 0
        self._undecodable_count = 0
        self._lost_credit = 0  # manual credit outstanding when the transport went
        self._held: dict[bytes, Delivery] = {}  # 2.6.13, see ReceiverResumption
        self._moved: dict[Delivery, Delivery] = {}
        # RabbitMQ 3.10 takes a flow's link-credit as counted from its own current
        # delivery-count, not ours (2.6.7): a top-up that crosses transfers in flight
        # lets it overrun the credit. With it, top up only once the credit is used up.
        props = self._conn.remote_properties or {}
        self._refill_only_when_empty = props.get("product") == "RabbitMQ"

    @property
    def address(self) -> str | None:
        """The source address the peer attached (a dynamic node's assigned name)."""
        source: Source | Described | None = self.remote_source
        address: str | None = source.address if isinstance(source, Source) else None
        return address

    @property
    def filters(self) -> dict[Any, Any] | None:
        """The filter set of the source the peer attached (3.5.3): the filters it applied,
        which may be fewer than those asked for (go-amqp's LinkSourceFilterValue)."""
        source: Source | Described | None = self.remote_source
        value: dict[Any, Any] | None = source.filter if isinstance(source, Source) else None
        return value

    @property
    def credit(self) -> int:
        """Credit the peer still holds from us: messages it may send before more is granted."""
        value: int = self._core.credit
        return value

    @property
    def buffered(self) -> int:
        """Messages received and not yet handed out."""
        return len(self._buffer)

    @property
    def undecodable(self) -> int:
        """Deliveries that arrived on this link but could not be decoded as a message.

        Each was rejected with amqp:decode-error (unless the sender pre-settled it),
        logged as a WARNING, and never handed out; the link goes on and the credit
        it used is granted again.
        """
        return self._undecodable_count

    def _batch_size(self, n: int) -> int:
        """How many a batch call waits for: never more than the credit window brings."""
        return min(n, self._window) if self._window > 0 else n

    def _no_message(self, ok: bool, span: float) -> Exception:
        """After a receive wait that brought nothing: what to raise."""
        self._check()
        if not ok:
            source = self.address or getattr(self._core.source, "address", None)
            return TimeoutError(f"no message from {source!r} (link {self._core.name!r}) "
                                f"within {span} s")
        return LinkDetachedError(f"link {self._core.name!r} is detaching")

    def _iteration_over(self) -> bool:
        """Iteration ends quietly when we closed the link, its session or connection."""
        return (self._closed_locally or self._session._ended_locally
                or self._conn._closed_by_user)

    def _take(self, n: int) -> list[Any]:
        buffer = self._buffer
        got = [buffer.popleft() for _ in range(min(n, len(buffer)))]
        self._refill(flush=True)
        return got

    def _refill(self, flush: bool = False) -> None:
        """Top the credit back up to the window once half of it is used."""
        core = self._core
        window = self._window
        if window <= 0 or core.state is not LinkState.ATTACHED:
            return
        if self._refill_only_when_empty and core.credit:
            return
        held = len(self._buffer)
        if core.credit + held <= window // 2:
            core.set_credit(window - held)
            if flush:
                self._conn._after()

    def _add_credit(self, n: int) -> None:
        self._check()
        if self._lost:  # granted on the new link when the connection is back
            if n < 0:
                raise ValueError(f"credit to add must not be negative, not {n!r}")
            self._lost_credit += n
            return
        self._core.add_credit(n)
        self._conn._after()

    def _drain_start(self) -> int:
        self._check()
        before = self._drains
        if self._lost:  # no link to drain: the credit is given up, and that is the drain
            self._lost_credit = 0
            self._drains += 1
            return before
        self._core.drain()
        self._conn._after()
        return before

    def _drain_result(self, before: int, ok: bool) -> None:
        if self._drains == before:
            self._check()
            if not ok:
                raise TimeoutError(f"drain on {self._core.name!r} did not complete in time "
                                   "(RabbitMQ 3.10 never completes a drain)")

    def _settle_start(self, delivery: Delivery, how: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> bool | None:
        """Give ``delivery`` its outcome: True if the sender's settlement must be awaited
        (rcv-settle-mode second, 2.8.3), False if it is settled now, None if there was
        nothing to say. The adapter writes (or schedules) the frames. A ``txn_id`` among
        ``kwargs`` (the call's ``txn_id_of(txn)``) gives the outcome in that transaction
        (4.4.2)."""
        txn_id = kwargs.pop("txn_id", None)
        if delivery.settled:
            return None  # pre-settled by the sender (or settled already)
        if self._is_held(delivery):
            # 2.6.13: the link is being resumed; the outcome goes in the next attach's map
            # (or to the resumed delivery once it comes).
            self._check()
            state = outcome_state(how, args, kwargs)
            delivery.state = state if txn_id is None else txn_state(txn_id, state, settling=True)
            return self._core.rcv_settle_mode is ReceiverSettleMode.SECOND
        mine, delivery = delivery, self._settling(delivery)
        self._check_stale(delivery)
        if delivery.link is not self._core:
            raise ValueError("that message came from another receiver")
        self._check()
        if txn_id is None:
            getattr(self._core, how)(delivery, *args, **kwargs)
        else:  # 4.4.2: a transactional retirement
            core = self._core
            assert isinstance(core, CoreReceiver)
            core.settle(delivery, outcome_state(how, args, kwargs), txn_id=txn_id)
        if delivery is not mine:
            self._settled_through(mine, delivery)
        return not delivery.settled

    def _settle_done(self, delivery: Delivery) -> bool:
        if self._is_held(delivery):
            return delivery.settled or self._gone()
        current = self._settling(delivery)
        return (current.settled or self._gone() or current.link is not self._core
                or (self._lost and current.link.state is not LinkState.ATTACHED))

    def _settle_result(self, delivery: Delivery, ok: bool, span: float) -> None:
        mine, delivery = delivery, self._settling(delivery)
        if delivery.settled:
            self._settled_through(mine, delivery)
            return
        if not self._is_held(mine):
            self._check_stale(delivery)
        self._check()
        if not ok:
            raise TimeoutError(settle_timeout_text(self._core.name, span))
        raise LinkDetachedError(f"link {self._core.name!r} ended before the peer settled")

    def _check_stale(self, delivery: Delivery) -> None:
        """Raise SettlementLost for a message of this receiver from a lost transport
        (unless the link is resumed: then it is held, or moved to the resumed delivery)."""
        link = delivery.link
        # (While reconnecting, a link attached again carries its new deliveries already.)
        if link.context is self and (link is not self._core or (
                self._lost and link.state is not LinkState.ATTACHED)):
            raise SettlementLost(
                f"link {self._core.name!r}: the connection this message came on was lost; "
                "it cannot be settled, and the broker will deliver it again")

    def _link_lost(self, event: LinkDetached) -> None:
        self._lost_credit = event.credit
        self._drains += 1  # a drain in progress ends with the credit it drains
        if self._resume_prepare(event):
            return  # resumed: the messages it holds are settled through the new link
        # Unsettled messages not handed out yet cannot be settled any more: the broker
        # delivers them again. Pre-settled ones are the application's: kept.
        buffer = self._buffer
        kept = [m for m in buffer if m.delivery.settled]
        if len(kept) < len(buffer):
            log.info("%s: link %r: %d received message(s) not yet handed out were dropped "
                     "with the transport; the broker delivers them again", self._conn.label,
                     self._core.name, len(buffer) - len(kept))
            buffer.clear()
            buffer.extend(kept)

    def _replay_args(self) -> dict[str, Any]:
        window = self._window
        credit = max(0, window - len(self._buffer)) if window > 0 else self._lost_credit
        return dict(self._resume_args(self._attach_args), credit=credit)

    def _deliver(self, event: Any) -> None:
        self._buffer.append(self._message_class(event.message, event.delivery, self))

    def _undecodable(self, event: MessageUndecodable) -> None:
        """A delivery the core could not decode (and rejected): count it, say so, and give
        its credit back, as a consumed message's would be (2.6.7)."""
        self._undecodable_count += 1
        log.warning("%s: link %r: delivery %d could not be decoded and was %s: %s",
                    self._conn.label, self._core.name, event.delivery.id,
                    "dropped (pre-settled)" if event.delivery.remote_settled else "rejected",
                    describe_error(event.error))
        self._refill()

    _message_class: Any = None  # the adapter's ReceivedMessage

    def _on_flow_event(self, event: Any) -> None:
        if type(event) is DrainCompleted:
            self._drains += 1
        else:  # an aborted transfer used a credit
            self._refill()
