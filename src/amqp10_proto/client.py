"""I/O-free helpers the adapters share (trio, asyncio, sync), so each stays a thin pump.

They turn the core's results into what a client API hands out: a peer's outcome
into the matching exception, an AMQP error into one line of text, and a received
message together with its delivery.
"""

from __future__ import annotations

from typing import Any

from ._definitions import Accepted, Error, Modified, Rejected, Released
from ._delivery import Delivery
from ._errors import DeliveryFailed, MessageModified, MessageRejected, MessageReleased
from ._message import Message
from ._performatives import Attach, Open

__all__ = [
    "ConnectionInfo",
    "LinkInfo",
    "ReceivedSections",
    "describe_error",
    "outcome_error",
    "settle_timeout_text",
]


def describe_error(error: Any) -> str:
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


class ReceivedSections:
    """A received message with its delivery; the message's sections read directly.

    Each adapter's ``ReceivedMessage`` adds ``accept()``, ``reject()`` ... in its own
    style (blocking or async) on top of this.
    """

    __slots__ = ("delivery", "message", "receiver")

    def __init__(self, message: Message, delivery: Delivery, receiver: Any) -> None:
        self.message = message
        self.delivery = delivery
        self.receiver = receiver

    @property
    def body(self) -> Any:
        return self.message.body

    @property
    def header(self) -> Any:
        return self.message.header

    @property
    def properties(self) -> Any:
        return self.message.properties

    @property
    def application_properties(self) -> dict[str, Any] | None:
        return self.message.application_properties

    @property
    def message_annotations(self) -> dict[Any, Any] | None:
        return self.message.message_annotations

    @property
    def delivery_annotations(self) -> dict[Any, Any] | None:
        return self.message.delivery_annotations

    @property
    def footer(self) -> dict[Any, Any] | None:
        return self.message.footer

    @property
    def settled(self) -> bool:
        """True once settled (pre-settled by the sender, or by our accept/reject ...)."""
        return self.delivery.settled

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, delivery_id={self.delivery.id})"


class ConnectionInfo:
    """What the peer's open said, read from an adapter connection's core (``_core``)."""

    _core: Any

    @property
    def error(self) -> Error | None:
        """The peer's close error (or why we closed), once the connection ended."""
        value: Error | None = self._core.error
        return value

    @property
    def remote_open(self) -> Open | None:
        """The peer's open frame: its container id, properties, limits and capabilities."""
        value: Open | None = self._core.remote_open
        return value

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        o = self.remote_open
        return None if o is None else o.properties

    @property
    def remote_container_id(self) -> str | None:
        o = self.remote_open
        return None if o is None else o.container_id

    @property
    def remote_offered_capabilities(self) -> list[str] | None:
        o = self.remote_open
        return None if o is None else o.offered_capabilities

    @property
    def remote_idle_timeout(self) -> float | None:
        value: float | None = self._core.remote_idle_timeout
        return value

    @property
    def remote_max_frame_size(self) -> int:
        value: int = self._core.remote_max_frame_size
        return value


class LinkInfo:
    """What the peer's attach said, read from an adapter link's core (``_core``)."""

    _core: Any

    @property
    def name(self) -> str:
        value: str = self._core.name
        return value

    @property
    def remote_source(self) -> Any:
        return self._core.remote_source

    @property
    def remote_target(self) -> Any:
        return self._core.remote_target

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        value: dict[Any, Any] | None = self._core.remote_properties
        return value

    @property
    def remote_max_message_size(self) -> int | None:
        value: int | None = self._core.remote_max_message_size
        return value

    @property
    def remote_offered_capabilities(self) -> list[str] | None:
        a: Attach | None = self._core.remote_attach
        return None if a is None else a.offered_capabilities
