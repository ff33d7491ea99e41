"""What the core and the adapters accept from their callers, checked before anything is sent.

A mistaken argument (text where a message belongs, a reject reason that is not an
:class:`Error`, a negative timeout, a capability that is not a symbol) is a
``TypeError`` or ``ValueError`` raised by the call that got it, naming the argument
and what it takes: never a frame the peer refuses later, nor an encoding failure
deep inside ``data_to_send``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Protocol

from ._definitions import (
    Accepted,
    Coordinator,
    Declared,
    Error,
    Modified,
    Received,
    Rejected,
    Released,
    Source,
    Target,
    TerminusExpiryPolicy,
    TransactionalState,
)
from ._delivery import Delivery
from ._encoder import encode
from ._errors import EncodeError
from ._message import Message
from ._types import Described

__all__ = [
    "EncodedMessage",
    "check_annotations",
    "check_connect_timeouts",
    "check_credit",
    "check_delivery_state",
    "check_error",
    "check_idle_timeout",
    "check_link_options",
    "check_modify",
    "check_settle",
    "check_settle_once",
    "check_symbols",
    "check_timeout",
    "message_parts",
    "sendable",
    "timeout_or",
]

_UINT: Final = 1 << 32
_BYTES: Final = (bytes, bytearray, memoryview)
#: 3.4, 4.5.5: what a disposition's or a transfer's state may be.
_STATES: Final = (Accepted, Rejected, Released, Modified, Received, Declared,
                  TransactionalState, Described)
_EXPIRY: Final = frozenset((TerminusExpiryPolicy.LINK_DETACH, TerminusExpiryPolicy.SESSION_END,
                            TerminusExpiryPolicy.CONNECTION_CLOSE, TerminusExpiryPolicy.NEVER))


class EncodedMessage:
    """A message already encoded as its sections (3.2), sent as given: the one path for
    bytes that are a whole message (``Message.encode()``, or what another link received).

    Plain ``bytes`` given to ``send`` are a data body, as ``Message(data)`` is.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, _BYTES):
            raise TypeError(f"EncodedMessage takes the encoded bytes, not {type(data).__name__}")
        self.data: bytes = bytes(data)

    def __eq__(self, other: object) -> bool:
        return type(other) is EncodedMessage and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"EncodedMessage(<{len(self.data)} bytes>)"


def _not_a_message(message: object) -> TypeError:
    hint = ("; for text pass Message(text) (an amqp-value body) or Message(text.encode()) "
            "(a data body)") if isinstance(message, str) else ""
    return TypeError(f"send() takes a Message, bytes (a data body) or an EncodedMessage "
                     f"(a message encoded already), not {type(message).__name__}{hint}")


def sendable(message: object) -> Message | EncodedMessage:
    """What ``send(message)`` sends: a Message, bytes-like as a data body (as
    ``Message(data)``), or an EncodedMessage as given; TypeError for anything else."""
    if isinstance(message, (Message, EncodedMessage)):
        return message
    if isinstance(message, _BYTES):
        return Message(bytes(message))
    raise _not_a_message(message)


def message_parts(message: object) -> list[bytes]:
    """The encoded message as byte strings to be joined (see :func:`sendable`)."""
    m = sendable(message)
    return [m.data] if isinstance(m, EncodedMessage) else m.encode_parts()


# -- numbers --------------------------------------------------------------------------------

def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None, not {type(value).__name__}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{what} must not be negative, not {value!r}")
    return value


def check_timeout(timeout: object, what: str = "timeout") -> float | None:
    """A timeout in seconds: None (the default) or a number >= 0 (inf waits for ever)."""
    return None if timeout is None else _number(timeout, what)


def timeout_or(default: float, timeout: object) -> float:
    """A call's wait in seconds: ``timeout``, or ``default`` for None (TypeError /
    ValueError for anything but a number >= 0)."""
    if timeout is None:
        return default
    if (type(timeout) is float or type(timeout) is int) and timeout >= 0:
        return timeout
    return _number(timeout, "timeout")


def check_idle_timeout(idle_timeout: object) -> float | None:
    """``idle_timeout`` in seconds; 0 means off, as None does (and as Go's 0 does)."""
    if idle_timeout is None:
        return None
    value = _number(idle_timeout, "idle_timeout")
    if value == 0:
        return None
    if math.isinf(value) or value * 1000 >= _UINT:
        raise ValueError(f"idle_timeout must be below {_UINT // 1000} s (2.7.1: a uint of "
                         f"milliseconds), or 0 or None for none; not {idle_timeout!r}")
    return value


def check_connect_timeouts(connect_timeout: object, timeout: object,
                           idle_timeout: object) -> tuple[float, float, float | None]:
    """An adapter's connection timeouts: ``connect_timeout`` and ``timeout`` (the default
    of later calls) numbers >= 0, ``idle_timeout`` in seconds (0 or None: off)."""
    for what, value in (("connect_timeout", connect_timeout), ("timeout", timeout)):
        if value is None:
            raise TypeError(f"{what} must be a number of seconds, not None")
    return (_number(connect_timeout, "connect_timeout"), _number(timeout, "timeout"),
            check_idle_timeout(idle_timeout))


def check_credit(credit: object, what: str = "credit") -> int:
    """Link-credit (2.6.7): an int from 0 to 2**32 - 1."""
    if isinstance(credit, bool) or not isinstance(credit, int):
        raise TypeError(f"{what} must be an int, not {type(credit).__name__}")
    if not 0 <= credit < _UINT:
        raise ValueError(f"{what} must be from 0 to {_UINT - 1} (2.6.7: a uint), not {credit}")
    return credit


# -- settlement -------------------------------------------------------------------------------

def check_error(error: object, what: str = "error") -> None:
    """An AMQP error (2.8.14) or None: ``reject(msg, Error(condition="app:bad", ...))``."""
    if error is None:
        return
    if not isinstance(error, Error):
        raise TypeError(f"{what} must be an amqp10_proto.Error (e.g. Error(condition="
                        f"'amqp:invalid-field', description='...')) or None, "
                        f"not {type(error).__name__} {error!r:.60}")
    if not isinstance(error.condition, str) or not error.condition:
        raise ValueError(f"{what}.condition must be a symbol such as 'amqp:invalid-field', "
                         f"not {error.condition!r}")
    if error.description is not None and not isinstance(error.description, str):
        raise TypeError(f"{what}.description must be a str or None, "
                        f"not {type(error.description).__name__}")
    if error.info is not None and not isinstance(error.info, Mapping):
        raise TypeError(f"{what}.info must be a dict or None, not {type(error.info).__name__}")


def check_annotations(value: object, what: str) -> None:
    """Annotations (3.2.10): None or a dict whose keys are symbols (str) or ulongs (int)."""
    _check_map(value, what, ulong_keys=True)


def check_modify(delivery_failed: object, undeliverable_here: object,
                 message_annotations: object) -> None:
    """The modified outcome's fields (3.4.5)."""
    for name, flag in (("delivery_failed", delivery_failed),
                       ("undeliverable_here", undeliverable_here)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
    check_annotations(message_annotations, "message_annotations")


def check_delivery_state(state: object) -> None:
    """A delivery state to settle with (3.4): an outcome, Received, a transactional
    state, or None; the fields of a Rejected or Modified are checked too."""
    if state is None:
        return
    if not isinstance(state, _STATES):
        raise TypeError(f"a delivery state must be Accepted(), Rejected(...), Released(), "
                        f"Modified(...) or another of 3.4's states, not "
                        f"{type(state).__name__} {state!r:.60}")
    if isinstance(state, Rejected):
        check_error(state.error, "Rejected.error")
    elif isinstance(state, Modified):
        check_modify(bool(state.delivery_failed), bool(state.undeliverable_here),
                     state.message_annotations)


def check_settle(msg: object, how: str, args: tuple[object, ...], kwargs: dict[str, object],
                 timeout: object) -> Delivery:
    """The delivery of ``msg`` once a receiver's settle call's arguments are checked
    (TypeError / ValueError before anything is sent): ``reject``'s error an
    :class:`Error` or None, ``modify``'s flags bools and its annotations a dict,
    ``timeout`` None or a number >= 0. ``args``/``kwargs`` are the call's own, as the
    application gave them (``object``: their types are what is checked)."""
    delivery = getattr(msg, "delivery", None)
    if not isinstance(delivery, Delivery) or not hasattr(msg, "receiver"):
        raise TypeError(f"{how}() takes a message its receiver returned, "
                        f"not {type(msg).__name__}")
    check_timeout(timeout)
    if how == "reject":
        check_error(args[0] if args else None)
    elif how == "modify":
        check_modify(kwargs["delivery_failed"], kwargs["undeliverable_here"],
                     kwargs["message_annotations"])
    return delivery


class SettlingReceiver(Protocol):
    """A receiver as :func:`check_settle_once` reads it (``ReceiverBase`` is one)."""

    def _settling(self, delivery: Delivery) -> Delivery:
        """The delivery that settling the application's ``delivery`` acts on now."""
        ...


def check_settle_once(receiver: SettlingReceiver, delivery: Delivery, how: str,
                      args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    """A message settles once (3.4): ValueError if the application gave ``delivery``
    another outcome already, in a transaction (4.4.2) or not. The same outcome again
    changes nothing: a settled message stays so (in rcv-settle-mode second, 2.8.3, the
    call restates it and waits again for the sender); a message the sender settled
    needs none, so any call is a no-op."""
    current = receiver._settling(delivery)
    given = delivery.state if delivery.state is not None else current.state
    if isinstance(given, TransactionalState):
        given = given.outcome  # 4.5.5: settled in a transaction, with this outcome
    if not isinstance(given, (Accepted, Rejected, Released, Modified)):
        return
    from ._linkresume import outcome_state  # (it imports the links, which import this)

    if outcome_state(how, args, kwargs) != given:
        raise ValueError(f"this message was settled as {type(given).__name__.lower()} "
                         f"already; it cannot be {_DONE[how]} too (a message settles once)")


_DONE: Final = {"accept": "accepted", "reject": "rejected", "release": "released",
                "modify": "modified"}


# -- links --------------------------------------------------------------------------------------

def check_symbols(values: object, what: str) -> None:
    """Capabilities and the like: None or a list of symbols (str)."""
    if values is None:
        return
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{what} must be a list of str or None, not {type(values).__name__}")
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"{what} must hold symbols (str), not {type(v).__name__} {v!r:.40}")
        if not v.isascii():
            raise ValueError(f"{what} must hold ASCII symbols (1.6.21), not {v!r:.40}")


def _check_map(value: object, what: str, ulong_keys: bool = False) -> None:
    """None or a dict keyed by symbols (str), or by ulongs (int) too where allowed."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict or None, not {type(value).__name__}")
    for key in value:
        if isinstance(key, bool) or not isinstance(key, (str, int) if ulong_keys else str):
            kinds = "symbols (str) or ulongs (int)" if ulong_keys else "symbols (str)"
            raise TypeError(f"{what} keys must be {kinds}, not {type(key).__name__} "
                            f"{key!r:.40}")


def _check_terminus(terminus: Any, what: str) -> None:
    if terminus is None or isinstance(terminus, Described):
        return
    address = terminus.address
    if address is not None and not isinstance(address, str):
        raise TypeError(f"{what}.address must be a str or None, not {type(address).__name__}")
    check_symbols(terminus.capabilities, f"{what}.capabilities")
    policy = terminus.expiry_policy
    if policy is not None and policy not in _EXPIRY:
        raise ValueError(f"{what}.expiry_policy must be one of {sorted(_EXPIRY)}, not {policy!r}")
    if isinstance(terminus, Source):
        filters = terminus.filter
        if filters is not None:
            if not isinstance(filters, Mapping):
                raise TypeError(f"filters must be a dict or None, not {type(filters).__name__}")
            for key in filters:
                if not isinstance(key, str):
                    raise TypeError(f"filter names must be symbols (str), not "
                                    f"{type(key).__name__} {key!r:.40} (3.5.1: filter-set)")


def check_link_options(*, source: object, target: object, name: object,
                       max_message_size: object, properties: object,
                       offered_capabilities: object, desired_capabilities: object,
                       coordinator: bool = False) -> None:
    """An attach's fields from the caller (2.7.3), before the link is made. A Coordinator
    target is for a transaction controller (4.2) only, not an ordinary sender."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, not {type(name).__name__}")
    if not isinstance(source, (Source, Described)) and source is not None:
        raise TypeError(f"source must be an address (str), a Source or None, "
                        f"not {type(source).__name__}")
    if isinstance(target, Coordinator):
        if not coordinator:
            raise ValueError("a Coordinator target is for a transaction controller link "
                             "(4.2), not an ordinary sender: give an address or a Target")
        check_symbols(target.capabilities, "Coordinator.capabilities")
    elif not isinstance(target, (Target, Described)) and target is not None:
        raise TypeError(f"target must be an address (str), a Target or None, "
                        f"not {type(target).__name__}")
    else:
        _check_terminus(target, "target")
    _check_terminus(source, "source")
    if max_message_size is not None:
        if isinstance(max_message_size, bool) or not isinstance(max_message_size, int):
            raise TypeError(f"max_message_size must be an int or None, "
                            f"not {type(max_message_size).__name__}")
        if not 0 <= max_message_size < 1 << 64:
            raise ValueError(f"max_message_size must be from 0 (no limit) to 2**64 - 1, "
                             f"not {max_message_size}")
    _check_map(properties, "properties")
    check_symbols(offered_capabilities, "offered_capabilities")
    check_symbols(desired_capabilities, "desired_capabilities")
    for what, value in (("source", source), ("target", target), ("properties", properties)):
        if value is not None:
            try:
                encode(value)  # a filter or property value AMQP cannot carry, say
            except EncodeError as exc:
                raise EncodeError(f"{what}: {exc}") from None
