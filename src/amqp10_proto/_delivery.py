"""A delivery: one message's passage over a link, from first transfer to settlement.

The core keeps a delivery while either side may still change it (2.6.12) and
forgets it once both have settled, or reports it when its link ends first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from ._definitions import (
    Accepted,
    Declared,
    Modified,
    Received,
    Rejected,
    Released,
    TransactionalState,
)
from ._types import Described

if TYPE_CHECKING:
    from ._link import Link

__all__ = ["Delivery", "DeliveryState"]

#: A delivery's state as either side sets it (the delivery-state archetype, 3.4 and
#: 4.5.8): an outcome, received (3.4.1), declared or transactional-state (4.5), or a
#: described value of a type this implementation does not know (an extension outcome).
DeliveryState: TypeAlias = (Received | Accepted | Rejected | Released | Modified | Declared
                            | TransactionalState | Described)


class Delivery:
    """A message in flight on ``link``: its id and tag, and each side's state.

    ``state``/``settled`` are ours, ``remote_state``/``remote_settled`` the
    peer's (from its dispositions). ``tag`` is the delivery-tag (2.8.7),
    unique among the link's unsettled deliveries.
    """

    __slots__ = (
        "aborted",
        "context",
        "id",
        "link",
        "message_format",
        "remote_settled",
        "remote_state",
        "settled",
        "state",
        "tag",
    )

    def __init__(self, link: Link, delivery_id: int, tag: bytes, message_format: int = 0,
                 settled: bool = False) -> None:
        self.link = link
        self.id = delivery_id
        self.tag = tag
        self.message_format = message_format
        self.settled = settled
        self.remote_settled = False
        self.state: DeliveryState | None = None
        self.remote_state: DeliveryState | None = None
        self.aborted = False
        #: Free for the application or adapter (e.g. the future waiting on it).
        self.context: Any = None

    @property
    def done(self) -> bool:
        """Both sides settled: nothing can change any more."""
        return self.settled and self.remote_settled

    def __repr__(self) -> str:
        flags = []
        if self.settled:
            flags.append("settled")
        if self.remote_settled:
            flags.append("remote_settled")
        if self.aborted:
            flags.append("aborted")
        state = f", remote_state={self.remote_state!r}" if self.remote_state is not None else ""
        return (f"Delivery(id={self.id}, tag={self.tag!r}, link={self.link.name!r}"
                f"{', ' if flags else ''}{', '.join(flags)}{state})")
