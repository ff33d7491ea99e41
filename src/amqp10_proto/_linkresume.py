"""Link recovery (2.6.13) for the adapters' senders and receivers: the I/O-free half.

A link whose terminus asks that its unsettled state outlive it (3.5.3: durable
``unsettled-state`` with expiry-policy ``never``), and whose peer answered with the
same durability, is *resumed* after a lost transport instead of merely attached
again: the new attach carries the link's ``unsettled`` map, the core resolves each
delivery-tag against the peer's map (``_resume.resolve``), and what is resolved
decides what happens to each message in doubt:

- a sender resumes (resume=true, same tag), settles with the outcome the receiver
  had already given, or sends again only what the receiver never got, so nothing
  it was told is accepted is sent twice;
- a receiver keeps the messages it held unsettled: settling one after the drop
  gives its outcome to the resumed delivery (or to the new attach's map while the
  connection is away) instead of raising ``SettlementLost``.

Any other link falls back to plain re-attach: in-doubt sends go again as new
deliveries (at-least-once) and held messages can no longer be settled. With
rcv-settle-mode ``second`` on both links (each side keeps a delivery until the
other has settled it, 2.8.3), no message is lost or duplicated across a drop.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from ._definitions import (
    Accepted,
    Modified,
    Rejected,
    Released,
    TerminusDurability,
    TerminusExpiryPolicy,
)
from ._delivery import Delivery
from ._errors import LocalProtocolError
from ._events import DeliveryResumed, LinkDetached, LinkResumed
from ._link import Sender as CoreSender
from ._resume import RESUMED, ResumeAction, unsettled_map

__all__ = ["ReceiverResumption", "SenderResumption", "durable_state", "outcome_state"]

log = logging.getLogger("amqp10")
_A = ResumeAction


def durable_state(terminus: Any) -> bool:
    """3.5.3: the terminus asks that its unsettled state outlive the link (2.6.13)."""
    return (getattr(terminus, "durable", None) == TerminusDurability.UNSETTLED_STATE
            and getattr(terminus, "expiry_policy", None) == TerminusExpiryPolicy.NEVER)


def outcome_state(how: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The delivery state (3.4) that the receiver's ``how`` (accept, reject, release,
    modify) gives, for a delivery whose link is being resumed."""
    if how == "accept":
        return Accepted()
    if how == "reject":
        return Rejected(error=args[0] if args else kwargs.get("error"))
    if how == "release":
        return Released()
    return Modified(**kwargs)


class _Resumable:
    """What both roles share: whether the link is resumed, and the map for its attach."""

    _core: Any
    _attach_args: dict[str, Any]
    _resume_map: dict[bytes, Any] | None = None

    def _resumable(self) -> bool:
        """We asked for a durable terminus and the peer answered with one (3.5.3)."""
        core = self._core
        if isinstance(core, CoreSender):
            mine, theirs = self._attach_args.get("target"), core.remote_target
        else:
            mine, theirs = self._attach_args.get("source"), core.remote_source
        return durable_state(mine) and (
            getattr(theirs, "durable", None) == TerminusDurability.UNSETTLED_STATE)

    def _resume_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """``args`` with the unsettled map that makes the next attach a resume (2.6.13)."""
        if self._resume_map is None:
            return args
        return dict(args, unsettled=self._resume_map)

    def _on_replayed(self) -> None:
        """The link was attached again on a new transport (its attach is queued)."""

    def _on_link_resumed(self, event: LinkResumed) -> None:
        """Both unsettled maps are known (2.6.13)."""

    def _on_delivery_resumed(self, event: DeliveryResumed) -> None:
        """A receiver got a resumed transfer."""


class SenderResumption(_Resumable):
    """A sender's in-doubt messages across a resumed link (2.6.13)."""

    _resend: deque[tuple[Delivery, Any]]
    _forward: dict[Delivery, Delivery]
    _resent: int
    _conn: Any
    #: The delivery-tag counter carried to the next incarnation: tags stay unique
    #: among the link's unsettled deliveries (2.6.12), old ones included.
    _tags_from = 0

    def _track(self, delivery: Delivery, message: Any) -> None:
        raise NotImplementedError

    def _resume_prepare(self) -> None:
        """The transport took the link: the map of what is in doubt, if it is resumed."""
        if not self._resumable():
            self._resume_map = None
            return
        self._tags_from = max(self._tags_from, self._core._next_tag)
        self._resume_map = unsettled_map((d for d, _ in self._resend), sender=True)

    def _on_replayed(self) -> None:
        if self._resume_map is not None:
            self._core._next_tag = self._tags_from

    def _on_link_resumed(self, event: LinkResumed) -> None:
        self._resume_map = None
        if self._resend:
            self._pump_resends()

    def _pump_resends(self) -> bool:
        """Send what was in doubt, in order, as 2.6.13 resolved it (or, on a link that was
        not resumed, as new deliveries while there is credit); True once none is left.

        RESEND and new deliveries need credit; resumed transfers (RESUME, SETTLE,
        RESTATE, ABORT) only the session window (2.6.7). A SETTLE or FORGET ends the
        application's wait with the outcome the receiver had already given. An aborted
        delivery is sent again as a new one: the receiver discarded it.
        """
        resend = self._resend
        core = self._core
        pending = core.pending_resume
        while resend:
            old, message = resend[0]
            res = pending.get(old.tag) if pending else None
            if res is None:
                if not core.sendable:
                    return False
                # At-least-once: a new delivery, in the old one's message-format (2.7.5:
                # a batch stays a batch).
                new = core.send(message, settled=False, message_format=old.message_format)
            else:
                action = res.action
                if not (core.sendable if action is _A.RESEND else core.can_resume):
                    return False
                try:
                    new = core.resume(old.tag, message, message_format=old.message_format)
                except LocalProtocolError:
                    return False
                if action is _A.ABORT:
                    continue  # now unknown to the peer: the next turn sends it anew
                if action is _A.SETTLE or action is _A.FORGET:
                    resend.popleft()
                    old.remote_state, old.remote_settled = res.outcome, True
                    continue
            assert new is not None
            resend.popleft()
            self._forward[old] = new
            self._track(new, message)
            self._resent += 1
            self._conn._resent_total += 1
        return True


class ReceiverResumption(_Resumable):
    """A receiver's unsettled messages across a resumed link (2.6.13).

    The application holds each message's first ``Delivery``; after a resume the
    same delivery-tag arrives as a new ``Delivery`` (``DeliveryResumed``), and
    settling the message acts on that one (``_moved``). Between the drop and the
    resumed transfer the message is *held*: its outcome is recorded and carried in
    the next attach's map.
    """

    _buffer: deque[Any]
    _conn: Any
    #: delivery-tag -> the application's delivery, awaiting its resumed transfer.
    _held: dict[bytes, Delivery]
    #: The application's delivery -> the resumed one that stands for it now.
    _moved: dict[Delivery, Delivery]

    def _resume_prepare(self, event: LinkDetached) -> bool:
        """The transport took the link: True if it is resumed (its messages are held)."""
        if not self._resumable():
            self._resume_map = None
            return False
        held = self._held
        for d in event.unsettled:
            if d.settled or d.aborted:
                continue
            mine = d.context if isinstance(d.context, Delivery) else d
            if mine is not d:
                self._moved.pop(mine, None)
                if d.state is not None:
                    mine.state = d.state
            held[d.tag] = mine
        self._resume_map = {tag: d.state for tag, d in held.items()}
        return True

    def _resume_args(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._resume_map is not None:
            # The outcomes given while the connection was away go in the map (2.6.13).
            self._resume_map = {tag: d.state for tag, d in self._held.items()}
        return super()._resume_args(args)

    def _is_held(self, delivery: Delivery) -> bool:
        return bool(self._held) and self._held.get(delivery.tag) is delivery

    def _settling(self, delivery: Delivery) -> Delivery:
        """The delivery that settling the application's ``delivery`` acts on now."""
        if self._moved:
            return self._moved.get(delivery, delivery)
        return delivery

    def _settled_through(self, mine: Delivery, current: Delivery) -> None:
        """``current`` (resumed for ``mine``) is settled: so is the application's."""
        if current is not mine and current.settled:
            mine.state, mine.settled = current.state, True
            mine.remote_settled = current.remote_settled
            self._moved.pop(mine, None)

    def _on_link_resumed(self, event: LinkResumed) -> None:
        self._resume_map = None
        for tag, mine in list(self._held.items()):
            res = event.resolution.get(tag)
            if res is None or res.action in RESUMED or res.action is _A.WAIT:
                continue  # a resumed transfer follows, or a later attach decides
            # FORGET: the sender keeps no record of it (it settled it, or its link
            # state expired): our outcome, if we gave one, is the last word.
            del self._held[tag]
            if mine.state is not None:
                mine.settled = True
            else:
                self._drop_stale(mine)

    def _on_delivery_resumed(self, event: DeliveryResumed) -> None:
        new = event.delivery
        mine = self._held.pop(new.tag, None)
        if mine is None:
            return
        if new.aborted:
            mine.aborted = True  # discarded by the sender: it delivers the message anew
            self._drop_stale(mine)
        elif new.settled:
            mine.state, mine.remote_state = new.state, new.remote_state
            mine.settled = mine.remote_settled = True
        else:
            new.context = mine
            self._moved[mine] = new
            self._settled_through(mine, new)  # our outcome from the map, settled at once

    def _drop_stale(self, mine: Delivery) -> None:
        """A held message that can no longer be settled: if not handed out yet, it goes."""
        for msg in self._buffer:
            if msg.delivery is mine:
                self._buffer.remove(msg)
                log.info("%s: link %r: a held message can no longer be settled and was "
                         "dropped; the broker delivers it again", self._conn.label,
                         self._core.name)
                break
