"""What an adapter shows of the peer's answers, I/O-free: an AMQP error as one line, a
refused outcome as its exception (3.4), a link's attach (2.7.3), and the txn-id a
transactional send or settlement names (4.5.1).

Shared by ``_clientstate`` (the adapters' sessions and links), ``_clienttxn`` and the
adapters themselves, through ``amqp10_proto.client``.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._definitions import (
    Accepted,
    Coordinator,
    Error,
    Modified,
    Rejected,
    Released,
    Source,
    Target,
)
from ._delivery import Delivery
from ._errors import (
    DeliveryFailed,
    MessageModified,
    MessageRejected,
    MessageReleased,
)
from ._performatives import Attach
from ._types import Described

__all__ = [
    "HasTxnId",
    "LinkInfo",
    "SendOptions",
    "describe_error",
    "outcome_error",
    "settle_timeout_text",
    "txn_id_of",
]


def describe_error(error: Error | None) -> str:
    """``condition: description`` of an AMQP error (2.8.14), the condition alone, or ''."""
    if error is None:
        return ""
    condition = getattr(error, "condition", None)
    description = getattr(error, "description", None)
    return f"{condition}: {description}" if description else str(condition)


def outcome_error(delivery: Delivery) -> DeliveryFailed | None:
    """The exception for a delivery the peer did not accept (3.4), or None if it did."""
    state = delivery.remote_state
    if state is None or isinstance(state, Accepted):
        return None
    if isinstance(state, Rejected):
        reason = describe_error(state.error) if state.error else "no reason given"
        return MessageRejected(f"the peer rejected the message: {reason}", state.error, state)
    if isinstance(state, Released):
        return MessageReleased("the peer released the message", None, state)
    if isinstance(state, Modified):
        return MessageModified(
            f"the peer modified the message (delivery_failed={state.delivery_failed}, "
            f"undeliverable_here={state.undeliverable_here})", None, state)
    return None


def settle_timeout_text(link_name: str, span: float) -> str:
    """The TimeoutError text when the sender never settles after our outcome (2.8.3)."""
    return (f"link {link_name!r}: the peer did not settle the delivery within {span} s "
            "after our outcome (rcv-settle-mode second)")


class HasTxnId(Protocol):
    """A transaction as a transactional send or settlement reads it (an adapter's
    ``session.transaction()``): its id, or TransactionError when it cannot be used."""

    @property
    def txn_id(self) -> bytes: ...


def txn_id_of(txn: HasTxnId | None) -> bytes | None:
    """The txn-id (4.5.1) to post a send or settlement in: None outside a transaction;
    ``txn.txn_id`` otherwise, which raises TransactionError for a transaction not usable
    now (not declared yet, discharged, on another connection), before anything is sent."""
    if txn is None:
        return None
    try:
        txn_id = txn.txn_id
    except AttributeError:
        raise TypeError(f"txn must be a transaction from session.transaction() or None, "
                        f"not {type(txn).__name__}") from None
    if type(txn_id) is not bytes:
        raise TypeError(f"the transaction's txn_id must be bytes (4.5.1: binary), not "
                        f"{type(txn_id).__name__}")
    return txn_id


#: What a send carries beyond the message, once checked: (message-format, delivery-tag,
#: txn-id); None for the plain send (format 0, the link's own tag, no transaction).
SendOptions = tuple[int, bytes | None, bytes | None]


class LinkInfo:
    """What the peer's attach said, read from an adapter link's core (``_core``)."""

    _core: Any

    @property
    def name(self) -> str:
        """The link name (2.6.1), unique between the two containers."""
        value: str = self._core.name
        return value

    # These two stay Any while code reads ``.address`` off them unchecked (the tests);
    # their precise types are Source | Described | None and Target | Coordinator |
    # Described | None (2.7.3: null when the peer refuses, Described for an extension).
    @property
    def remote_source(self) -> Source | Described | None:
        """The source the peer attached (3.5.3): for a receiver, the node it reads from."""
        a: Attach | None = self._core.remote_attach
        source: Source | Described | None = None if a is None else a.source
        return source

    @property
    def remote_target(self) -> Target | Coordinator | Described | None:
        """The target the peer attached (3.5.4): for a sender, the node it writes to."""
        a: Attach | None = self._core.remote_attach
        target: Target | Coordinator | Described | None = None if a is None else a.target
        return target

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        """The link properties of the peer's attach."""
        value: dict[Any, Any] | None = self._core.remote_properties
        return value

    @property
    def remote_max_message_size(self) -> int | None:
        """The largest message the peer takes on this link (None: no limit); larger sends fail."""
        value: int | None = self._core.remote_max_message_size
        return value

    @property
    def remote_offered_capabilities(self) -> list[str] | None:
        """Capabilities the peer offers on this link."""
        a: Attach | None = self._core.remote_attach
        return None if a is None else a.offered_capabilities
