"""Waking exactly the callers whose condition changed (issue 12), O(1) work per event.

Every wait of a sender is a future. A delivery's outcome resolves the waits on that
delivery only (a :class:`Waiter` kept in ``delivery.context``); credit and room in a
link's queue are the sender's own business (``_sender``). Anything else the core
reports (a link detached, a session ended, the transport lost) is rare, and wakes
every waiting future to look at its condition again.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

from amqp10_proto import (
    Accepted,
    Connection,
    CreditGranted,
    Delivery,
    DeliveryUpdated,
    Error,
    MessageReceived,
    Modified,
    Rejected,
    Released,
)

__all__ = ["PRESETTLED", "TERMINAL", "EventFilter", "Waiter", "add_waiter", "release"]

#: 3.4: the terminal outcomes; a delivery with one of these (or settled by the peer) is done.
TERMINAL = (Accepted, Rejected, Released, Modified)

#: ``delivery.context`` of a pre-settled send: done once handed to the transport.
PRESETTLED = True


class Waiter:
    """One wait for the outcomes of ``left`` deliveries: resolved (True) when the last
    one arrives, or by a rare event (True: look again), or at the timeout (False)."""

    __slots__ = ("future", "left")

    def __init__(self, future: asyncio.Future[bool]) -> None:
        self.future = future
        self.left = 0

    def hit(self) -> None:
        """One of its deliveries is done."""
        self.left -= 1
        if self.left <= 0:
            future = self.future
            if not future.done():
                future.set_result(True)


#: What a delivery (or a queued message) keeps of the waits on it.
Waiters: TypeAlias = Waiter | list[Waiter]


def add_waiter(current: Any, waiter: Waiter) -> Waiters:
    """``current`` (a delivery's or queued message's waiters, or None) with ``waiter``
    added; waits that are over are dropped on the way."""
    if current is None or (type(current) is Waiter and current.future.done()):
        return waiter
    if type(current) is Waiter:
        return [current, waiter]
    kept: list[Waiter] = [w for w in current if not w.future.done()]
    kept.append(waiter)
    return kept


def release(waiters: Any) -> None:
    """Tell ``waiters`` (a Waiter or a list of them) that their delivery is done."""
    if type(waiters) is Waiter:
        waiters.hit()
    elif type(waiters) is list:
        for w in waiters:
            w.hit()


def outcome_arrived(delivery: Delivery) -> None:
    """A DeliveryUpdated: wake the waits on ``delivery`` if it is done now (3.4)."""
    ctx = delivery.context
    t = type(ctx)
    # (A receiver's delivery may carry the delivery it was resumed for: not ours.)
    if (t is Waiter or t is list) and (
            delivery.remote_settled or isinstance(delivery.remote_state, TERMINAL)):
        delivery.context = None
        release(ctx)


class EventFilter:
    """The core as ``dispatch_events`` reads it, with the delivery updates taken out and
    answered here (one per delivery a disposition names: the hot path of a sender).

    ``stirred`` is set when an event other than a message, credit or an outcome went by:
    then every waiting future is woken to look again.
    """

    __slots__ = ("core", "stirred")

    def __init__(self, core: Connection) -> None:
        self.core = core
        self.stirred = False

    def next_event(self) -> Any:
        next_event = self.core.next_event
        event: Any = next_event()
        while event is not None:
            t = type(event)
            if t is DeliveryUpdated:
                outcome_arrived(event.delivery)
                event = next_event()
                continue
            if t is not MessageReceived and t is not CreditGranted:
                self.stirred = True
            return event
        return None

    # What dispatch_events calls when a handler failed (it closes the connection).
    def close(self, error: Error | None = None) -> None:
        self.core.close(error)

    def transport_failed(self, reason: str) -> None:
        self.core.transport_failed(reason)
