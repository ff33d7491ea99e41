"""Resuming deliveries (2.6.13): what each side does with each unsettled delivery-tag.

When a link is attached again by the same name with an ``unsettled`` map on
either attach (2.7.3; "resuming, as opposed to reattaching"), both ends see both
maps: the sender's (delivery-tag -> the sender's state) and the receiver's
(delivery-tag -> the receiver's state). :func:`resolve` turns the two maps into
one :class:`Resolution` per tag, the same on both sides, so the sender knows what
to send and the receiver what to expect. Pure: no link, no frame, no clock.

The cases are those of 2.6.13's worked example (delivery-tags 1 to 14), with a
null state read as ``received`` at section 0, offset 0:

=====================  ======================  ==========================================
sender's state         receiver's state        resolution (sender's action)
=====================  ======================  ==========================================
null or received       absent                  RESEND: a new delivery (tags 1, 5)
null                   null or received        RESUME: resume=true, same tag (2, 4)
received (a)           received (b), a <= b    RESUME (6)
received (a)           received/null, a > b    ABORT: the views disagree (7, 9)
null or received       terminal                SETTLE with the receiver's outcome (3, 8)
terminal               absent                  FORGET: settled, nothing sent (10)
terminal               null or received        ABORT: cannot be resumed (11, 14)
terminal X             terminal X              SETTLE with X (12)
terminal X             terminal Y              RESTATE X; the receiver echoes it (13)
absent                 anything                FORGET: the receiver takes it as settled
=====================  ======================  ==========================================

An ``incomplete-unsettled`` map (2.7.3) proves nothing by absence: a tag absent
from an incomplete map is WAIT (undecided; kept for a later attach), and a sender
that got an incomplete map sends no new delivery meanwhile.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._definitions import Accepted, Modified, Received, Rejected, Released
from ._delivery import DeliveryState

if TYPE_CHECKING:
    from ._delivery import Delivery

__all__ = ["Resolution", "ResumeAction", "resolve", "unsettled_map"]

_TERMINAL = (Accepted, Rejected, Released, Modified)
_ABSENT: Any = object()  # a tag not in a map (null is a value: "no state yet")


class ResumeAction(enum.Enum):
    """What 2.6.13 asks of the sender for one delivery-tag (and so what the receiver expects)."""

    #: Send the message again as a new delivery (resume=false): the receiver has no
    #: record of it. It needs credit like any send; it may duplicate if the receiver
    #: settled it first (rcv-settle-mode first) and forgot it.
    RESEND = "resend"
    #: A transfer with resume=true and the same tag, carrying the message.
    RESUME = "resume"
    #: A transfer with resume=true, no payload, settled, carrying ``outcome``.
    SETTLE = "settle"
    #: A transfer with resume=true, no payload, unsettled, carrying the sender's
    #: ``outcome``; the receiver echoes it and settles (tag 13: the sender's view wins).
    RESTATE = "restate"
    #: A transfer with resume=true, aborted=true, settled: the delivery is discarded.
    ABORT = "abort"
    #: Nothing goes on the wire: one side has no record, the other takes it as settled.
    FORGET = "forget"
    #: The peer's map was incomplete and lacks this tag: decide on a later attach.
    WAIT = "wait"


#: The actions that send a transfer with resume=true (the receiver waits for one).
RESUMED = frozenset((ResumeAction.RESUME, ResumeAction.SETTLE, ResumeAction.RESTATE,
                     ResumeAction.ABORT))


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """The 2.6.13 decision for one delivery-tag.

    ``sender_state``/``receiver_state`` are the two maps' values (None also when
    absent; ``in_sender``/``in_receiver`` tell). ``outcome`` is the state the
    delivery ends with where the resolution decides it (SETTLE: the receiver's
    outcome, or the common one; RESTATE: the sender's; FORGET: the known side's
    state), else None.
    """

    tag: bytes
    action: ResumeAction
    sender_state: DeliveryState | None = None
    receiver_state: DeliveryState | None = None
    in_sender: bool = False
    in_receiver: bool = False
    outcome: DeliveryState | None = None


def _progress(state: DeliveryState | None) -> tuple[int, int] | None:
    """(section-number, section-offset) of a null or received state; None otherwise."""
    if state is None:
        return (0, 0)
    if isinstance(state, Received):
        return (int(state.section_number or 0), int(state.section_offset or 0))
    return None


def _one(tag: bytes, s: DeliveryState | None, r: DeliveryState | None, sender_incomplete: bool,
         receiver_incomplete: bool) -> Resolution:
    """``s``/``r``: the tag's state in each map, or _ABSENT."""
    in_s, in_r = s is not _ABSENT, r is not _ABSENT

    def res(action: ResumeAction, outcome: DeliveryState | None = None) -> Resolution:
        return Resolution(tag=tag, action=action, sender_state=s if in_s else None,
                          receiver_state=r if in_r else None, in_sender=in_s,
                          in_receiver=in_r, outcome=outcome)

    A = ResumeAction
    if not in_s:
        # Only the receiver has it: the sender ignores it, the receiver takes it as
        # settled; unless the sender's map was incomplete.
        if sender_incomplete:
            return res(A.WAIT)
        return res(A.FORGET, r)
    s_terminal = isinstance(s, _TERMINAL)
    if not in_r:
        if receiver_incomplete:
            return res(A.WAIT)
        if s_terminal:
            return res(A.FORGET, s)  # tag 10
        return res(A.RESEND)  # tags 1, 5
    r_terminal = isinstance(r, _TERMINAL)
    if r_terminal and not s_terminal:
        if _progress(s) is None:
            return res(A.ABORT)  # a state 2.6.13 does not cover
        return res(A.SETTLE, r)  # tags 3, 8
    if s_terminal and r_terminal:
        if s == r:
            return res(A.SETTLE, s)  # tag 12
        return res(A.RESTATE, s)  # tag 13
    if s_terminal:
        return res(A.ABORT)  # tags 11, 14
    sp, rp = _progress(s), _progress(r)
    if sp is None or rp is None or sp > rp:
        return res(A.ABORT)  # tags 7, 9 (or an unknown state)
    return res(A.RESUME)  # tags 2, 4, 6


def resolve(sender_map: Mapping[bytes, DeliveryState | None] | None,
            receiver_map: Mapping[bytes, DeliveryState | None] | None,
            *, sender_incomplete: bool = False,
            receiver_incomplete: bool = False) -> dict[bytes, Resolution]:
    """Each tag of either map and what 2.6.13 makes of it; the same on both sides.

    A null map is empty. Tags come in the sender's map order, then the receiver's.
    The maps' values are delivery states (2.7.3; the link checks a peer's first).
    """
    s_map = sender_map or {}
    r_map = receiver_map or {}
    out: dict[bytes, Resolution] = {}
    for tag in list(s_map) + [t for t in r_map if t not in s_map]:
        out[tag] = _one(tag, s_map.get(tag, _ABSENT), r_map.get(tag, _ABSENT),
                        sender_incomplete, receiver_incomplete)
    return out


def unsettled_map(deliveries: Iterable[Delivery], *,
                  sender: bool) -> dict[bytes, DeliveryState | None]:
    """The ``unsettled`` map (2.7.3) for the next attach, from a detached link's deliveries.

    ``deliveries`` is ``LinkDetached.unsettled``. A sender's state is its own,
    else the last the receiver told it (received, or an outcome it has not settled);
    a receiver's is its own. Pre-settled and aborted deliveries are left out.
    """
    out: dict[bytes, DeliveryState | None] = {}
    for d in deliveries:
        if d.aborted or d.settled:
            continue
        state = d.state
        if sender and state is None:
            state = d.remote_state
        out[d.tag] = state
    return out
