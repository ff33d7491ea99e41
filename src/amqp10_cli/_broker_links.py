"""The embedded broker's links: answering attaches, and moving messages to and from queues.

A peer's receiving link is, here, an :class:`Outgoing` link (our ``Sender``) that
consumes from one queue; a peer's sending link is an :class:`Incoming` link (our
``Receiver``) that publishes to one queue, or, with no target address, routes each
message by its ``to`` (the anonymous relay). :func:`answer_attach` decides which,
makes dynamic nodes, and refuses what this broker cannot do, with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Protocol

from amqp10_proto import (
    Accepted,
    AMQPError,
    Coordinator,
    Delivery,
    DeliveryUpdated,
    Error,
    ErrorCondition,
    Header,
    Link,
    LinkDetached,
    LinkState,
    Message,
    Modified,
    Receiver,
    Rejected,
    Released,
    ResumeAction,
    Sender,
    SenderSettleMode,
    Source,
    Symbol,
    Target,
    TerminusDurability,
    TerminusExpiryPolicy,
    TransactionalState,
    UInt,
    flow_txn_id,
)
from amqp10_proto._events import LinkResumed
from amqp10_proto.errors import DecodeError, LocalProtocolError

from ._queues import Entry, Queue, Router
from ._selector import Selector, SelectorError, find_selector

if TYPE_CHECKING:
    from ._broker_txn import BrokerTransactions

__all__ = ["LINK_STATE_EXPIRY", "PUBLISH_CREDIT", "Host", "Incoming", "LinkStore", "Outgoing",
           "answer_attach"]

log = logging.getLogger("amqp10.broker")

#: Credit each publishing link gets, topped up when half is used (2.6.7).
PUBLISH_CREDIT = 500
#: The outcomes a consumer may give (3.5.3: a source's outcomes).
OUTCOMES: list[str] = [Symbol("amqp:accepted:list"), Symbol("amqp:rejected:list"),
            Symbol("amqp:released:list"), Symbol("amqp:modified:list")]
_TERMINAL = (Accepted, Rejected, Released, Modified)


#: Seconds the broker keeps a durable link's unsettled state once its connection is lost.
LINK_STATE_EXPIRY = 300.0


def _durable(terminus: Any) -> bool:
    """3.5.3: the peer asks that the link's unsettled state outlive the link (2.6.13)."""
    return (getattr(terminus, "durable", None) == TerminusDurability.UNSETTLED_STATE
            and getattr(terminus, "expiry_policy", None) == TerminusExpiryPolicy.NEVER)


class Kept:
    """A durable link's unsettled deliveries, kept after its connection was lost.

    ``entries``: delivery-tag -> (the queued message we sent, or None for one we
    received; our state for the unsettled map).
    """

    __slots__ = ("entries", "expires", "queue")

    def __init__(self, entries: dict[bytes, tuple[Entry | None, Any]], queue: Queue | None,
                 expires: float) -> None:
        self.entries = entries
        self.queue = queue
        self.expires = expires

    def give_back(self) -> None:
        """Messages we sent and nobody settled return to their queue (as when a link goes)."""
        back = [e for e, _ in self.entries.values() if e is not None]
        self.entries = {}
        if back and self.queue is not None and not self.queue.deleted:
            self.queue.requeue(back)


class LinkStore:
    """Unsettled state of durable links across connections (2.6.13), keyed by
    (the peer's container-id, link name, our role).

    Kept only for links whose terminus is durable=unsettled-state with
    expiry-policy never, and bounded: per link, what it held unsettled when its
    connection was lost (at most its credit window, for a consumer), for
    ``expiry`` seconds; then messages a consumer held go back to their queue.
    """

    def __init__(self, expiry: float = LINK_STATE_EXPIRY) -> None:
        self.expiry = expiry
        self._kept: dict[tuple[str, str, str], Kept] = {}
        #: The durable links attached now, by the same key: a second attach steals one.
        self._live: dict[tuple[str, str, str], Outgoing | Incoming] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def put(self, key: tuple[str, str, str], kept: Kept, now: float) -> None:
        self.purge(now)
        old = self._kept.pop(key, None)
        if old is not None:
            old.give_back()
        self._kept[key] = kept

    def take(self, key: tuple[str, str, str], now: float) -> Kept | None:
        self.purge(now)
        return self._kept.pop(key, None)

    def attached(self, key: tuple[str, str, str], link: Outgoing | Incoming) -> None:
        """``link`` is attached now as ``key`` (durable)."""
        link.store_key = key
        self._live[key] = link

    def gone(self, link: Outgoing | Incoming) -> None:
        """``link`` detached (or was stolen)."""
        key = link.store_key
        if key is not None and self._live.get(key) is link:
            del self._live[key]

    def steal(self, key: tuple[str, str, str]) -> None:
        """The peer attaches ``key`` again while we still hold it attached on another
        connection (its loss not seen yet, e.g. no FIN: 2.4.5 has not expired): the old
        attachment's unsettled state is kept for the new one, and it is detached with
        amqp:link:stolen, as Qpid and ActiveMQ Artemis do."""
        old = self._live.pop(key, None)
        if old is not None:
            old.steal()

    def purge(self, now: float) -> None:
        for key in [k for k, v in self._kept.items() if v.expires <= now]:
            self._kept.pop(key).give_back()


class Host(Protocol):
    """What a link needs from the connection it lives on."""

    router: Router
    max_message_size: int | None
    link_store: LinkStore

    @property
    def peer_id(self) -> str: ...  # the peer's container-id (2.7.1)

    def now(self) -> float: ...

    @property
    def paused(self) -> bool: ...  # the transport's write buffer is full

    def wake(self) -> None: ...  # frames were queued on the core: write them soon

    def sent(self, size: int) -> None: ...  # a message of ``size`` bytes was queued on the core

    def forget_link(self, link: Outgoing | Incoming) -> None: ...


def _error(condition: str, description: str) -> Error:
    return Error(condition=Symbol(condition), description=description)


class Outgoing:
    """A consumer: our sending link from a queue to the peer's receiver.

    Honours the peer's credit, the session window and the transport's back
    pressure, checked before each message (a consumer that grants much credit and
    never reads holds about one message in the broker, not its credit's worth);
    sends pre-settled when the peer attached with snd-settle-mode settled (at
    most once), unsettled otherwise, and acts on the peer's outcome.
    """

    def __init__(self, host: Host, link: Sender, queue: Queue, *, owns_node: bool,
                 transactions: BrokerTransactions | None = None) -> None:
        self.host = host
        #: The connection's transactions (None: a host without them, e.g. in tests).
        self.transactions = transactions
        self.link = link
        self.queue = queue
        self.owns_node = owns_node
        self.key = id(self)
        self.presettled = link.snd_settle_mode is SenderSettleMode.SETTLED
        #: The consumer's selector filter (3.5.1): it gets only the messages it matches.
        self.selector: Selector | None = None
        #: Keep unsettled state across connections (2.6.13).
        self.durable = False
        #: What the link's earlier incarnation held, until LinkResumed says what to do.
        self.kept: Kept | None = None
        #: Set when durable: (peer container-id, name, role), see LinkStore.
        self.store_key: tuple[str, str, str] | None = None
        #: The transaction this consumer's sends join (4.4.3), as its last flow said.
        self.acquiring: bytes | None = None
        link.context = self

    def __repr__(self) -> str:
        return f"<Outgoing {self.link.name!r} from {self.queue.address!r}>"

    # -- the queue's side (Consumer) ------------------------------------------------
    def ready(self) -> bool:
        return self.link.sendable and not self.host.paused

    def give(self, entry: Entry) -> bool:
        link = self.link
        limit = link.remote_max_message_size
        if limit and entry.size > limit:
            # The peer could never take this message: a clear error, not a queue stuck for ever.
            link.detach(_error(ErrorCondition.LINK_MESSAGE_SIZE_EXCEEDED,
                               f"the next message on {self.queue.address!r} is {entry.size} bytes, "
                               f"beyond this link's max-message-size {int(limit)}"))
            self.host.wake()
            return False
        try:
            delivery = link.send(entry.message, message_format=entry.message_format,
                                 txn_id=self.acquiring)
        except AMQPError as exc:
            # Never let one consumer's trouble reach the publisher's connection, which
            # is the one dispatching: this link ends, the message stays queued.
            log.warning("%r could not send: %s", self, exc)
            link.detach(_error(ErrorCondition.INTERNAL_ERROR, f"could not send: {exc}"))
            self.host.wake()
            return False
        # Written out as the bytes pile up, so a full transport pauses us (ready() turns
        # False) before the next message, rather than after the whole burst.
        self.host.sent(entry.size)
        if self.acquiring is not None and self.transactions is not None:
            self.transactions.acquired(self, delivery, entry)  # its fate is the discharge's
        elif delivery.settled:
            self._consumed()  # pre-settled: at most once, it is gone
        else:
            delivery.context = entry
        return True

    def settle_drain(self, queue: Queue) -> None:
        # 2.6.7: a drain is satisfied once the credit is used, or there is nothing to send;
        # drained() advances delivery-count over what is left and echoes drain.
        link = self.link
        if link.drain_requested and link.attached and (
                link.credit == 0 or not queue.has_for(self)):
            link.drained()
            self.host.wake()

    def node_deleted(self, queue: Queue) -> None:
        if self.link.state in (LinkState.ATTACHED, LinkState.ATTACH_SENT):
            self.link.detach(_error(ErrorCondition.RESOURCE_DELETED,
                                    f"node {queue.address!r} was deleted with the link that "
                                    "created it"))
            self.host.wake()

    # -- the peer's side ------------------------------------------------------------
    def on_credit(self) -> None:
        if self._acquisition():
            self.queue.dispatch()

    def _acquisition(self) -> bool:
        """4.4.3: a flow whose properties name a txn-id makes what this link sends join
        that transaction (properties without one clear it; a flow without properties
        leaves it be). False when the link ended over it."""
        properties = self.link.remote_flow_properties  # the last flow's (2.7.4)
        if properties is None:
            return True
        try:
            txn_id = flow_txn_id(properties)
        except DecodeError as exc:
            self.link.detach(_error(ErrorCondition.INVALID_FIELD, str(exc)))
            self.host.wake()
            return False
        if self.transactions is None:
            if txn_id is not None:
                self.link.detach(_error(ErrorCondition.NOT_IMPLEMENTED,
                                        "this link does not do transactional acquisition"))
                self.host.wake()
                return False
            return True
        self.transactions.acquisition(self, txn_id)
        return self.link.state is LinkState.ATTACHED

    def on_update(self, event: DeliveryUpdated) -> None:
        """The peer's disposition: act on the first terminal outcome (3.4); one in a
        transaction (4.4.2) waits for its discharge."""
        if type(event.state) is TransactionalState:
            if self.transactions is not None:
                self.transactions.retire(self, event)
            else:
                _no_transactions(self.link)
            return
        if self.transactions is not None and self.transactions.outside(self, event):
            return  # acquired in a transaction: its discharge decides (4.4.3)
        delivery = event.delivery
        entry = delivery.context
        if not isinstance(entry, Entry):
            return
        state = event.state
        if not isinstance(state, _TERMINAL):
            if not event.settled:
                return  # a non-terminal state (e.g. received): the outcome is still to come
            state = self._default_outcome()
        delivery.context = None
        self.apply(entry, state)

    def _default_outcome(self) -> Any:
        # 3.5.3: settled without an outcome: the source's default-outcome, ours accepted.
        source = self.link.source
        default = getattr(source, "default_outcome", None)
        return default if isinstance(default, _TERMINAL) else Accepted()

    def apply(self, entry: Entry, state: Any) -> None:
        """Do what the outcome ``state`` (3.4) says with the message ``entry``."""
        queue = self.queue
        if isinstance(state, Accepted):
            self._consumed()
        elif isinstance(state, Rejected):
            log.info("message rejected by %s on %r (dropped: no dead-letter queue): %s",
                     self.link.name, queue.address, state.error)
            self._consumed()
        elif isinstance(state, Released):
            queue.requeue([entry])  # 3.4.4: back to its place, not counted as a failure
        else:
            assert isinstance(state, Modified)
            self._modify(entry, state)
            queue.requeue([entry])

    def _modify(self, entry: Entry, state: Modified) -> None:
        message = entry.message
        if state.delivery_failed:
            # 3.4.5: delivery-failed counts an unsuccessful attempt in the header.
            header = message.header or Header()
            header.delivery_count = UInt((header.delivery_count or 0) + 1)
            message.header = header
            entry.changed()
        if state.message_annotations:
            # 3.4.5: merged into the message's annotations, replacing equal keys.
            merged = dict(message.message_annotations or {})
            merged.update(state.message_annotations)
            message.message_annotations = merged
            entry.changed()
        if state.undeliverable_here:
            # 3.4.5: never to this link again (another consumer gets it, or it waits).
            if entry.excluded is None:
                entry.excluded = set()
            entry.excluded.add(self.key)

    def _consumed(self) -> None:
        self.host.router.forget_if_idle(self.queue)

    def on_resumed(self, event: LinkResumed) -> None:
        """2.6.13: act on each kept delivery as resolved; what is not resumed is requeued."""
        kept, self.kept = self.kept, None
        if kept is None:
            return
        A = ResumeAction
        back: list[Entry] = []
        for tag, (entry, _) in kept.entries.items():
            res = event.resolution.get(tag)
            assert entry is not None
            action = A.RESEND if res is None else res.action
            try:
                if action in (A.RESUME, A.RESTATE):
                    d = self.link.resume(tag, entry.message, message_format=entry.message_format)
                    assert d is not None
                    d.context = entry
                elif action is A.SETTLE or (action is A.FORGET and isinstance(res.outcome, _TERMINAL)):  # type: ignore[union-attr]
                    self.link.resume(tag)
                    self.apply(entry, res.outcome)  # type: ignore[union-attr]
                else:  # resend, abort, wait: the message goes round again (at least once)
                    if action is A.ABORT:
                        self.link.resume(tag)
                    back.append(entry)
            except AMQPError as exc:
                log.warning("%r could not resume %r: %s", self, tag, exc)
                back.append(entry)
        if back and not self.queue.deleted:
            self.queue.requeue(back)
        self.host.wake()

    def steal(self) -> None:
        """Attached again elsewhere (LinkStore.steal): what it held unsettled is kept for
        the new attachment, and this one is detached."""
        queue = self.queue
        queue.remove_consumer(self)
        keep: dict[bytes, tuple[Entry | None, Any]] = {}
        for delivery in list(self.link.unsettled.values()):
            entry = delivery.context
            if isinstance(entry, Entry):
                delivery.context = None  # now the kept state's, not ours to requeue
                keep[delivery.tag] = (entry, delivery.remote_state)
        if self.kept is not None:
            self.kept.give_back()
            self.kept = None
        host = self.host
        assert self.store_key is not None
        host.link_store.put(self.store_key, Kept(keep, queue, host.now() + host.link_store.expiry),
                            host.now())
        _detach_stolen(self)

    def on_detached(self, event: LinkDetached) -> None:
        """The link ended: what it held unsettled goes back to the queue, in order;
        a durable link's connection was lost: kept for its re-attach (2.6.13)."""
        queue = self.queue
        queue.remove_consumer(self)
        self.host.link_store.gone(self)
        back: list[Entry] = []
        keep: dict[bytes, tuple[Entry | None, Any]] = {}
        for delivery in event.unsettled:
            entry = delivery.context
            if isinstance(entry, Entry):
                delivery.context = None
                back.append(entry)
                keep[delivery.tag] = (entry, delivery.remote_state)
        if self.kept is not None:
            self.kept.give_back()
        if self.durable and event.with_connection and not self.owns_node and keep:
            host = self.host
            host.link_store.put((host.peer_id, self.link.name, "sender"),
                                Kept(keep, queue, host.now() + host.link_store.expiry), host.now())
            back = []
        self.host.forget_link(self)
        if self.owns_node:
            if back:
                log.debug("dynamic node %r deleted with %d unsettled message(s)",
                          queue.address, len(back))
            self.host.router.delete(queue)
            return
        if back and not queue.deleted:
            queue.requeue(back)
        self.host.router.forget_if_idle(queue)


class Incoming:
    """A publisher: our receiving link from the peer's sender into a queue (or the relay).

    Grants credit in windows of :data:`PUBLISH_CREDIT`, queues each message, and
    settles it accepted once queued (or rejected when the relay has nowhere to put
    it, or the queue is full: ``amqp:resource-limit-exceeded``).
    """

    def __init__(self, host: Host, link: Receiver, queue: Queue | None, *,
                 owns_node: bool, transactions: BrokerTransactions | None = None) -> None:
        self.host = host
        self.transactions = transactions
        self.link = link
        self.queue = queue
        self.owns_node = owns_node
        self.durable = False
        self.store_key: tuple[str, str, str] | None = None
        #: Attached again elsewhere: its unsettled state went to the new attachment.
        self.stolen = False
        link.context = self
        if queue is not None:
            queue.publishers.add(self)

    def __repr__(self) -> str:
        where = "the anonymous relay" if self.queue is None else repr(self.queue.address)
        return f"<Incoming {self.link.name!r} to {where}>"

    def destination(self, message: Message) -> tuple[Queue | None, Error | None]:
        """The queue ``message`` goes to, or why it cannot go anywhere."""
        queue = self.queue
        if queue is None:
            return self._route(message)
        if queue.deleted:
            return None, _error(ErrorCondition.RESOURCE_DELETED,
                                f"node {queue.address!r} was deleted")
        return queue, None

    def on_message(self, delivery: Delivery, message: Message) -> None:
        state = delivery.remote_state
        if type(state) is TransactionalState:
            # 4.4.1: queued at the commit, not now.
            if self.transactions is not None:
                self.transactions.post(self, delivery, message, state)
            else:
                _no_transactions(self.link)
            self._refill()
            return
        queue, error = self.destination(message)
        link = self.link
        if queue is not None and not queue.put(message, delivery.message_format):
            error = _error(ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                           f"queue {queue.address!r} is full: it holds its limit of "
                           f"{queue.max_depth} message(s)")
            queue = None
        if queue is not None:
            if not delivery.remote_settled:
                link.accept(delivery)
        else:
            assert error is not None
            if delivery.remote_settled:
                log.info("pre-settled message dropped: %s", error.description)
            else:
                link.reject(delivery, error)
        self._refill()

    def _refill(self) -> None:
        # 2.6.7: keep the publisher supplied with credit.
        link = self.link
        if link.attached and link.credit <= PUBLISH_CREDIT // 2:
            link.set_credit(PUBLISH_CREDIT)
        self.host.wake()

    def _route(self, message: Message) -> tuple[Queue | None, Error | None]:
        """The anonymous relay: the queue named by the message's ``to``."""
        try:
            props = message.properties
        except DecodeError as exc:
            return None, _error(ErrorCondition.DECODE_ERROR,
                                f"the message's properties do not decode: {exc}")
        to = None if props is None else props.to
        if not isinstance(to, str) or not to:
            return None, _error(ErrorCondition.NOT_FOUND,
                                "the anonymous relay routes by the message's properties.to, "
                                "and this message has none")
        queue = self.host.router.resolve(to)
        if queue is None:
            return None, _error(ErrorCondition.NOT_FOUND,
                                f"no node {to!r}: that dynamic node no longer exists")
        return queue, None

    def node_deleted(self, queue: Queue) -> None:
        if self.link.state in (LinkState.ATTACHED, LinkState.ATTACH_SENT):
            self.link.detach(_error(ErrorCondition.RESOURCE_DELETED,
                                    f"node {queue.address!r} was deleted with the link that "
                                    "created it"))
            self.host.wake()

    def steal(self) -> None:
        """Attached again elsewhere (LinkStore.steal): the outcomes it gave and the peer
        never settled are kept for the new attachment, and this one is detached."""
        self.stolen = True
        host = self.host
        assert self.store_key is not None
        host.link_store.put(self.store_key, Kept(_given(self.link.unsettled.values()), None,
                                                 host.now() + host.link_store.expiry), host.now())
        _detach_stolen(self)

    def on_detached(self, event: LinkDetached) -> None:
        queue = self.queue
        self.host.forget_link(self)
        self.host.link_store.gone(self)
        # 2.6.13: outcomes we gave that the peer never settled (rcv-settle-mode second); the
        # messages are queued already, so a resumed delivery is settled, not queued twice.
        keep = {} if self.stolen else _given(event.unsettled)
        if self.durable and event.with_connection and not self.owns_node and keep:
            host = self.host
            host.link_store.put((host.peer_id, self.link.name, "receiver"),
                                Kept(keep, None, host.now() + host.link_store.expiry), host.now())
        if queue is None:
            return
        queue.publishers.discard(self)
        if self.owns_node:
            self.host.router.delete(queue)
        else:
            self.host.router.forget_if_idle(queue)


def _given(deliveries: Any) -> dict[bytes, tuple[Entry | None, Any]]:
    """A receiving link's unsettled deliveries that have our outcome, for Kept."""
    return {d.tag: (None, d.state) for d in deliveries if d.state is not None}


def _detach_stolen(link: Outgoing | Incoming) -> None:
    # If its session or connection is ending already, the link goes with it.
    with contextlib.suppress(LocalProtocolError):
        link.link.detach(_error(ErrorCondition.LINK_STOLEN, "the link was attached again on "
                                                            "another connection"))
    link.host.wake()


def _no_transactions(link: Link) -> None:
    if link.state is LinkState.ATTACHED:
        link.detach(_error(ErrorCondition.TRANSACTION_UNKNOWN_ID,
                           "no transaction is declared here (4.4)"))


def answer_attach(host: Host, link: Link,
                  transactions: BrokerTransactions | None = None) -> Outgoing | Incoming | None:
    """Answer a peer's attach (2.6.3): attach and make the broker's link, or refuse.

    Returns None when refused (the peer gets an attach with a null terminus and a
    detach with the reason), and for a control link (4.2), which ``transactions``
    answers (refused ``amqp:not-implemented`` without them).
    """
    router = host.router
    if isinstance(link, Sender):
        source = link.remote_source
        if not isinstance(source, Source):
            link.refuse(_error(ErrorCondition.INVALID_FIELD, "a receiving link needs a source"))
            return None
        try:
            found = find_selector(source.filter)
        except SelectorError as exc:
            # 3.5.1: a filter we cannot honour is refused, never silently dropped.
            link.refuse(_error(ErrorCondition.INVALID_FIELD, f"selector filter: {exc}"))
            return None
        owns = bool(source.dynamic)
        if owns:
            queue: Queue | None = router.create_dynamic()
        elif not source.address or not isinstance(source.address, str):
            link.refuse(_error(ErrorCondition.INVALID_FIELD,
                               "a receiving link needs a source address (or dynamic=true)"))
            return None
        else:
            queue = router.resolve(source.address)
        if queue is None:
            link.refuse(_error(ErrorCondition.NOT_FOUND, f"no node {source.address!r}: "
                               "that dynamic node no longer exists"))
            return None
        durable = _durable(source) and not owns
        kept, unsettled = _kept_for(host, link, "sender", durable)
        # What we do, not what was asked: of the filters only a selector is applied, and
        # only it is in our source (3.5.1: the filters the sender applies), in memory
        # (unsettled state kept a while if asked), every outcome understood.
        link.attach(unsettled=unsettled, source=Source(
            address=queue.address,
            durable=TerminusDurability.UNSETTLED_STATE if durable else TerminusDurability.NONE,
            expiry_policy=source.expiry_policy, timeout=source.timeout, dynamic=owns,
            dynamic_node_properties=source.dynamic_node_properties if owns else None,
            default_outcome=source.default_outcome, outcomes=OUTCOMES,
            capabilities=source.capabilities,
            filter=None if found is None else {found.key: found.value}))
        out = Outgoing(host, link, queue, owns_node=owns, transactions=transactions)
        out.durable, out.kept = durable, kept
        out.selector = None if found is None else found.selector
        if durable:
            host.link_store.attached((host.peer_id, link.name, "sender"), out)
        queue.add_consumer(out)
        return out
    assert isinstance(link, Receiver)
    target = link.remote_target
    if isinstance(target, Coordinator):
        # 4.2: a transaction controller's control link; the connection's transactions answer.
        if transactions is None:
            link.refuse(_error(ErrorCondition.NOT_IMPLEMENTED,
                               "transactions are not supported here"))
        else:
            transactions.attach(link)
        return None
    owns = isinstance(target, Target) and bool(target.dynamic)
    address = target.address if isinstance(target, Target) else None
    if owns:
        queue = router.create_dynamic()
    elif address is None or address == "":
        queue = None  # the anonymous relay: each message goes by its 'to'
    elif not isinstance(address, str):
        link.refuse(_error(ErrorCondition.INVALID_FIELD,
                           f"the target address must be a string, not {address!r}"))
        return None
    else:
        queue = router.resolve(address)
        if queue is None:
            link.refuse(_error(ErrorCondition.NOT_FOUND, f"no node {address!r}: "
                               "that dynamic node no longer exists"))
            return None
    # Never a null target in our answer: that would read as a refusal (2.6.3).
    asked = target if isinstance(target, Target) else Target()
    durable = _durable(asked) and not owns
    _, unsettled = _kept_for(host, link, "receiver", durable)
    reply = Target(address=None if queue is None else queue.address,
                   durable=TerminusDurability.UNSETTLED_STATE if durable else TerminusDurability.NONE,
                   expiry_policy=asked.expiry_policy,
                   timeout=asked.timeout, dynamic=owns,
                   dynamic_node_properties=asked.dynamic_node_properties if owns else None,
                   capabilities=asked.capabilities)
    link.set_credit(PUBLISH_CREDIT)  # sent in a flow once our attach is out
    link.attach(target=reply, max_message_size=host.max_message_size, unsettled=unsettled)
    made = Incoming(host, link, queue, owns_node=owns, transactions=transactions)
    made.durable = durable
    if durable:
        host.link_store.attached((host.peer_id, link.name, "receiver"), made)
    return made


def _kept_for(host: Host, link: Link, role: str,
              durable: bool) -> tuple[Kept | None, dict[bytes, Any] | None]:
    """A durable link attached again: what we kept, and the unsettled map to answer with.

    We resume (answer with a map, 2.6.13) only when the peer resumes too; a plain
    re-attach gives kept messages back to their queue.
    """
    if not durable:
        return None, None
    key = (host.peer_id, link.name, role)
    host.link_store.steal(key)
    kept = host.link_store.take(key, host.now())
    remote = link.remote_attach
    if remote is None or remote.unsettled is None:
        if kept is not None:
            kept.give_back()
        return None, None
    if kept is None:
        return None, {}
    return kept, {tag: state for tag, (_, state) in kept.entries.items()}
