"""Events: what the protocol core tells the application happened.

Each event is a frozen, slotted, keyword-only dataclass named for what
happened. They carry the endpoint objects (``Session``, ``Sender``,
``Receiver``, ``Delivery``) the application already holds, and the peer's
error where there was one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._definitions import Error
    from ._delivery import Delivery, DeliveryState
    from ._link import Link, Receiver, Sender
    from ._message import Message
    from ._performatives import Open
    from ._resume import Resolution, ResumeAction
    from ._session import Session

__all__ = [
    "Authenticated",
    "ConnectionClosed",
    "ConnectionFailed",
    "ConnectionOpened",
    "CreditGranted",
    "DeliveryResumed",
    "DeliveryUpdated",
    "DrainCompleted",
    "Event",
    "LinkAttached",
    "LinkDetached",
    "LinkFailed",
    "LinkResumed",
    "MessageReceived",
    "MessageUndecodable",
    "RemoteAttach",
    "RemoteBegin",
    "SessionBegun",
    "SessionEnded",
    "SessionFailed",
    "TransferAborted",
]

class Event:
    """Base class of every event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticated(Event):
    """SASL succeeded: ``mechanism`` was used; ``identity`` is the server's view of who."""

    mechanism: str
    identity: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionOpened(Event):
    """Both open frames were exchanged; ``remote`` is the peer's open (2.7.1)."""

    remote: Open


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The connection ended. ``error`` is the peer's (or ours, if ``local``), if any.

    Every session and link ended before this event, each with its own event,
    so no unsettled delivery is left unreported.
    """

    error: Error | None
    local: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteBegin(Event):
    """The peer began a session (2.5.2); answer with ``session.begin()`` or ``session.end()``."""

    session: Session


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionBegun(Event):
    """Both begin frames were exchanged for ``session``."""

    session: Session


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded(Event):
    """``session`` ended: by the peer's end (``error`` is theirs), ours, or the connection's.

    ``with_connection``: no end was exchanged; the connection ended (closed or its
    transport lost) and took the session with it. A reconnecting client begins it again.
    """

    session: Session
    error: Error | None
    local: bool = False
    with_connection: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteAttach(Event):
    """The peer attached a link we did not (2.6.3); answer with ``link.attach()`` or ``link.refuse()``."""

    link: Link


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkAttached(Event):
    """Both attach frames were exchanged; ``link.remote_source`` etc. hold what the peer agreed.

    A peer that refuses an attach answers with a null terminus and then detaches
    (2.6.3); that shows as :class:`LinkDetached` right after this event.
    """

    link: Link


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkResumed(Event):
    """Both attaches were exchanged and at least one carried an ``unsettled`` map (2.6.13).

    Follows :class:`LinkAttached`. ``local_unsettled``/``remote_unsettled`` are the
    two maps (delivery-tag -> state; None for a null map) and ``*_incomplete`` their
    incomplete-unsettled flags. ``resolution`` says, per tag, what 2.6.13 asks
    (see ``amqp10_proto._resume``). A sender acts on it with
    ``sender.resume(tag, message)``; a receiver's core applies it to the resumed
    transfers itself and reports each as :class:`DeliveryResumed`. The tags still
    to act on are in ``link.pending_resume``.
    """

    link: Link
    local_unsettled: dict[Any, Any] | None
    remote_unsettled: dict[Any, Any] | None
    local_incomplete: bool
    remote_incomplete: bool
    resolution: dict[bytes, Resolution]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryResumed(Event):
    """A receiver got a resumed transfer (resume=true, 2.6.13) for a delivery of the
    link's earlier incarnation: ``delivery`` is it on this link (same tag).

    Never a second :class:`MessageReceived`: the message arrived before. ``action``
    is the resolution applied. If ``delivery.settled`` it is over (its final state
    in ``delivery.state``; ``delivery.aborted`` if the sender aborted it); otherwise
    settle it with ``receiver.settle(delivery, outcome)`` as usual.
    """

    link: Receiver
    delivery: Delivery
    action: ResumeAction


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDetached(Event):
    """``link`` detached (``closed`` if it was closed for good, 2.6.6).

    ``unsettled`` lists the deliveries that were not settled by both sides:
    they are reported here and forgotten by the core. ``with_connection``: no detach
    was exchanged; the connection ended (closed or its transport lost) and took the link
    with it. A reconnecting client attaches it again.
    """

    link: Link
    error: Error | None
    closed: bool
    local: bool = False
    unsettled: tuple[Delivery, ...] = ()
    with_connection: bool = False
    #: The link-credit outstanding when it ended (a reconnecting receiver grants it again).
    credit: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditGranted(Event):
    """A sender got credit: ``credit`` is what it may send now; ``drain`` asks to use it or lose it.

    With ``drain`` set, send what is available and then call ``sender.drained()``.
    """

    link: Sender
    credit: int
    drain: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainCompleted(Event):
    """A receiver's drain finished (2.6.7): the sender used or gave back all the credit."""

    link: Receiver


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(Event):
    """A whole message arrived on ``link`` as ``delivery`` (settle it unless it came settled)."""

    link: Receiver
    delivery: Delivery
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferAborted(Event):
    """The sender aborted a delivery part way (2.6.14): its partial payload was discarded."""

    link: Receiver
    delivery: Delivery


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryUpdated(Event):
    """The peer set the state of ``delivery`` or settled it (a disposition, 2.7.6)."""

    delivery: Delivery
    state: DeliveryState | None
    settled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkFailed(Event):
    """The core detached ``link`` itself because the peer broke a link rule (2.6.6), e.g.
    amqp:link:message-size-exceeded; ``error`` is what our detach carried. The link is
    detaching; LinkDetached follows when the peer answers (or the connection ends)."""

    link: Link
    error: Error


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFailed(Event):
    """The core ended ``session`` itself for the peer's fault (e.g.
    amqp:session:window-violation); SessionEnded follows when the peer answers."""

    session: Session
    error: Error


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionFailed(Event):
    """The core closed the connection for the peer's fault (the close with ``error`` is
    queued); ConnectionClosed follows when the peer answers or the transport ends."""

    error: Error


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageUndecodable(Event):
    """A delivery on ``link`` whose message could not be decoded (issue 10 item 7). The core
    settled it as rejected with ``error`` (amqp:decode-error) unless the sender had
    pre-settled it; either way the link goes on and its credit was used."""

    link: Receiver
    delivery: Delivery
    error: Error


# The events raised once per message or per credit round are built as an instance of a
# mutable twin (the same slots, in the same order, on the same base), filled by plain
# slot stores and then given the event's class: the same frozen object the dataclass
# constructor makes, at a quarter of its cost (the generated __init__ goes through
# object.__setattr__ for every field) and half that of setting each slot through its
# descriptor's __set__ (a C call each).


def _twin(event: type[Event]) -> type[Event]:
    """A mutable class with ``event``'s slots, in its order, on its base: an instance of it
    may be given ``event``'s class once filled (``__class__`` assignment wants the same
    layout)."""
    slots = event.__slots__
    return type(f"_{event.__name__}", event.__bases__, {"__slots__": slots})


_MessageReceived, _DeliveryUpdated, _CreditGranted = (
    _twin(MessageReceived), _twin(DeliveryUpdated), _twin(CreditGranted))


def message_received(link: Receiver, delivery: Delivery, message: Message) -> MessageReceived:
    """``MessageReceived(link=..., delivery=..., message=...)``, for the hot path."""
    ev: Any = _MessageReceived()
    ev.link, ev.delivery, ev.message = link, delivery, message
    ev.__class__ = MessageReceived
    return ev  # type: ignore[no-any-return]


def delivery_updated(delivery: Delivery, state: DeliveryState | None, settled: bool) -> DeliveryUpdated:
    """``DeliveryUpdated(delivery=..., state=..., settled=...)``, for the hot path."""
    ev: Any = _DeliveryUpdated()
    ev.delivery, ev.state, ev.settled = delivery, state, settled
    ev.__class__ = DeliveryUpdated
    return ev  # type: ignore[no-any-return]


def deliveries_updated(deliveries: list[Delivery], state: DeliveryState | None,
                       settled: bool) -> list[DeliveryUpdated]:
    """One ``DeliveryUpdated`` per delivery, all with the same state and settlement: the
    events of one ranged disposition (2.7.6), in the order of ``deliveries``."""
    out = []
    new, cls = _DeliveryUpdated, DeliveryUpdated
    for d in deliveries:
        ev: Any = new()
        ev.delivery, ev.state, ev.settled = d, state, settled
        ev.__class__ = cls
        out.append(ev)
    return out


def credit_granted(link: Sender, credit: int, drain: bool) -> CreditGranted:
    """``CreditGranted(link=..., credit=..., drain=...)``, for the hot path (a flow)."""
    ev: Any = _CreditGranted()
    ev.link, ev.credit, ev.drain = link, credit, drain
    ev.__class__ = CreditGranted
    return ev  # type: ignore[no-any-return]
