"""AMQP 1.0 restricted and composite types other than frame bodies.

Generated from the AMQP 1.0 spec XML by ``tools/gen_definitions.py``; do not edit
(a test checks that it is current).
"""

# fmt: off
# ruff: noqa: E501
from __future__ import annotations

import enum
import struct
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from ._decoder import register_described
from ._encoder import (
    _e_any, _e_binary, _e_bool, _e_string, _e_symbol, _e_timestamp, _e_ubyte,
    _e_uint, _e_ulong, _e_ushort, register_encoder,
)
from ._composite import (
    _NONES, _NULL, _c_bool, _c_bool_enum, _c_bytes, _c_enum, _c_int, _c_map, _c_none, _c_str, _c_symbol,
    _c_timestamp, _Composite, _composite, _e_annotations, _e_multiple,
    _e_symbol_map, _locate, _multiple, _new, _not_list,
)
from ._errors import AMQPError
from ._types import Byte, Described, Int, Short, Symbol, Timestamp, UByte, UInt, ULong, UShort

__all__ = [
    'Accepted',
    'Coordinator',
    'Declare',
    'Declared',
    'DeleteOnClose',
    'DeleteOnNoLinks',
    'DeleteOnNoLinksOrMessages',
    'DeleteOnNoMessages',
    'Discharge',
    'DistributionMode',
    'Error',
    'ErrorCondition',
    'Header',
    'Modified',
    'Properties',
    'Received',
    'ReceiverSettleMode',
    'Rejected',
    'Released',
    'Role',
    'SaslCode',
    'SenderSettleMode',
    'Source',
    'Target',
    'TerminusDurability',
    'TerminusExpiryPolicy',
    'TransactionalState',
    'TxnCapability',
    '_ADDRESS_TYPES',
    '_DELIVERY_STATE_TYPES',
    '_MESSAGE_ID_TYPES',
    '_OUTCOME_TYPES',
    '_SOURCE_TYPES',
    '_TARGET_TYPES',
    '_TXN_ID_TYPES',
]


class Role(enum.IntEnum):
    """AMQP ``role`` (restricted boolean)."""

    SENDER = 0
    RECEIVER = 1


class SenderSettleMode(enum.IntEnum):
    """AMQP ``sender-settle-mode`` (restricted ubyte)."""

    UNSETTLED = 0
    SETTLED = 1
    MIXED = 2


class ReceiverSettleMode(enum.IntEnum):
    """AMQP ``receiver-settle-mode`` (restricted ubyte)."""

    FIRST = 0
    SECOND = 1


class TerminusDurability(enum.IntEnum):
    """AMQP ``terminus-durability`` (restricted uint)."""

    NONE = 0
    CONFIGURATION = 1
    UNSETTLED_STATE = 2


class SaslCode(enum.IntEnum):
    """AMQP ``sasl-code`` (restricted ubyte)."""

    OK = 0
    AUTH = 1
    SYS = 2
    SYS_PERM = 3
    SYS_TEMP = 4


class ErrorCondition:
    """Standard AMQP error conditions (2.8.15 - 2.8.18, 4.5.8)."""

    INTERNAL_ERROR = Symbol('amqp:internal-error')
    NOT_FOUND = Symbol('amqp:not-found')
    UNAUTHORIZED_ACCESS = Symbol('amqp:unauthorized-access')
    DECODE_ERROR = Symbol('amqp:decode-error')
    RESOURCE_LIMIT_EXCEEDED = Symbol('amqp:resource-limit-exceeded')
    NOT_ALLOWED = Symbol('amqp:not-allowed')
    INVALID_FIELD = Symbol('amqp:invalid-field')
    NOT_IMPLEMENTED = Symbol('amqp:not-implemented')
    RESOURCE_LOCKED = Symbol('amqp:resource-locked')
    PRECONDITION_FAILED = Symbol('amqp:precondition-failed')
    RESOURCE_DELETED = Symbol('amqp:resource-deleted')
    ILLEGAL_STATE = Symbol('amqp:illegal-state')
    FRAME_SIZE_TOO_SMALL = Symbol('amqp:frame-size-too-small')
    CONNECTION_FORCED = Symbol('amqp:connection:forced')
    CONNECTION_FRAMING_ERROR = Symbol('amqp:connection:framing-error')
    CONNECTION_REDIRECT = Symbol('amqp:connection:redirect')
    SESSION_WINDOW_VIOLATION = Symbol('amqp:session:window-violation')
    SESSION_ERRANT_LINK = Symbol('amqp:session:errant-link')
    SESSION_HANDLE_IN_USE = Symbol('amqp:session:handle-in-use')
    SESSION_UNATTACHED_HANDLE = Symbol('amqp:session:unattached-handle')
    LINK_DETACH_FORCED = Symbol('amqp:link:detach-forced')
    LINK_TRANSFER_LIMIT_EXCEEDED = Symbol('amqp:link:transfer-limit-exceeded')
    LINK_MESSAGE_SIZE_EXCEEDED = Symbol('amqp:link:message-size-exceeded')
    LINK_REDIRECT = Symbol('amqp:link:redirect')
    LINK_STOLEN = Symbol('amqp:link:stolen')
    TRANSACTION_UNKNOWN_ID = Symbol('amqp:transaction:unknown-id')
    TRANSACTION_ROLLBACK = Symbol('amqp:transaction:rollback')
    TRANSACTION_TIMEOUT = Symbol('amqp:transaction:timeout')


class TerminusExpiryPolicy:
    """AMQP ``terminus-expiry-policy`` (3.5.6)."""

    LINK_DETACH = Symbol('link-detach')
    SESSION_END = Symbol('session-end')
    CONNECTION_CLOSE = Symbol('connection-close')
    NEVER = Symbol('never')


class DistributionMode:
    """AMQP ``std-dist-mode`` (3.5.7)."""

    MOVE = Symbol('move')
    COPY = Symbol('copy')


class TxnCapability:
    """AMQP ``txn-capability`` (4.5.7)."""

    LOCAL_TRANSACTIONS = Symbol('amqp:local-transactions')
    DISTRIBUTED_TRANSACTIONS = Symbol('amqp:distributed-transactions')
    PROMOTABLE_TRANSACTIONS = Symbol('amqp:promotable-transactions')
    MULTI_TXNS_PER_SSN = Symbol('amqp:multi-txns-per-ssn')
    MULTI_SSNS_PER_TXN = Symbol('amqp:multi-ssns-per-txn')


class Error(_Composite):
    """AMQP ``error`` (amqp:error:list, 0x0000001d)."""

    __slots__ = ('condition', 'description', 'info', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x1d
    SYMBOL: ClassVar[str] = 'amqp:error:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, )

    condition: str
    description: str | None
    info: dict[Any, Any] | None

    def __init__(
        self,
        *,
        condition: str,
        description: str | None = None,
        info: dict[Any, Any] | None = None,
    ) -> None:
        self.condition = condition
        self.description = description
        self.info = info


def _enc_error(v: Error) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x1d', [
            _NULL if (x := v.condition) is None else _e_symbol(x),
            _NULL if (x := v.description) is None else _e_string(x),
            _NULL if (x := v.info) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "error") from None


def _dec_error(items: Any) -> Error:
    if type(items) is not list:
        raise _not_list(items, "error")
    v = _new(Error)
    x: Any
    if len(items) < 3:
        items = items + _NONES[:3 - len(items)]
    v.condition = x if type(x := items[0]) is Symbol else _c_symbol(x, "error.condition", mandatory=True)
    v.description = x if (x := items[1]) is None or type(x) is str else _c_str(x, "error.description")
    v.info = x if (x := items[2]) is None or type(x) is dict else _c_map(x, "error.info")
    return v


register_encoder(Error, _enc_error)
register_described(0x1d, 'amqp:error:list', _dec_error)


class Header(_Composite):
    """AMQP ``header`` (amqp:header:list, 0x00000070)."""

    __slots__ = ('durable', 'priority', 'ttl', 'first_acquirer', 'delivery_count', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x70
    SYMBOL: ClassVar[str] = 'amqp:header:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (False, UByte(4), None, False, UInt(0), )

    durable: bool
    priority: int
    ttl: int | None
    first_acquirer: bool
    delivery_count: int

    def __init__(
        self,
        *,
        durable: bool = False,
        priority: int = UByte(4),
        ttl: int | None = None,
        first_acquirer: bool = False,
        delivery_count: int = UInt(0),
    ) -> None:
        self.durable = durable
        self.priority = priority
        self.ttl = ttl
        self.first_acquirer = first_acquirer
        self.delivery_count = delivery_count


def _enc_header(v: Header) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x70', [
            _NULL if (x := v.durable) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.priority) is None or x == UByte(4) else _e_ubyte(x),
            _NULL if (x := v.ttl) is None else _e_uint(x),
            _NULL if (x := v.first_acquirer) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.delivery_count) is None or x == UInt(0) else _e_uint(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "header") from None


def _dec_header(items: Any) -> Header:
    if type(items) is not list:
        raise _not_list(items, "header")
    v = _new(Header)
    x: Any
    if len(items) < 5:
        items = items + _NONES[:5 - len(items)]
    v.durable = x if type(x := items[0]) is bool else (False if x is None else _c_bool(x, "header.durable", False))
    v.priority = x if type(x := items[1]) is UByte else (UByte(4) if x is None else _c_int(UByte, x, "header.priority", UByte(4)))
    v.ttl = x if (x := items[2]) is None or type(x) is UInt else _c_int(UInt, x, "header.ttl")
    v.first_acquirer = x if type(x := items[3]) is bool else (False if x is None else _c_bool(x, "header.first-acquirer", False))
    v.delivery_count = x if type(x := items[4]) is UInt else (UInt(0) if x is None else _c_int(UInt, x, "header.delivery-count", UInt(0)))
    return v


register_encoder(Header, _enc_header)
register_described(0x70, 'amqp:header:list', _dec_header)


class Properties(_Composite):
    """AMQP ``properties`` (amqp:properties:list, 0x00000073)."""

    __slots__ = ('message_id', 'user_id', 'to', 'subject', 'reply_to', 'correlation_id', 'content_type', 'content_encoding', 'absolute_expiry_time', 'creation_time', 'group_id', 'group_sequence', 'reply_to_group_id', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x73
    SYMBOL: ClassVar[str] = 'amqp:properties:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, None, None, None, None, None, None, None, None, None, None, )

    message_id: int | UUID | bytes | str | None
    user_id: bytes | None
    to: str | None
    subject: str | None
    reply_to: str | None
    correlation_id: int | UUID | bytes | str | None
    content_type: str | None
    content_encoding: str | None
    absolute_expiry_time: datetime | Timestamp | None
    creation_time: datetime | Timestamp | None
    group_id: str | None
    group_sequence: int | None
    reply_to_group_id: str | None

    def __init__(
        self,
        *,
        message_id: int | UUID | bytes | str | None = None,
        user_id: bytes | None = None,
        to: str | None = None,
        subject: str | None = None,
        reply_to: str | None = None,
        correlation_id: int | UUID | bytes | str | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        absolute_expiry_time: datetime | Timestamp | None = None,
        creation_time: datetime | Timestamp | None = None,
        group_id: str | None = None,
        group_sequence: int | None = None,
        reply_to_group_id: str | None = None,
    ) -> None:
        self.message_id = message_id
        self.user_id = user_id
        self.to = to
        self.subject = subject
        self.reply_to = reply_to
        self.correlation_id = correlation_id
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.absolute_expiry_time = absolute_expiry_time
        self.creation_time = creation_time
        self.group_id = group_id
        self.group_sequence = group_sequence
        self.reply_to_group_id = reply_to_group_id


def _enc_properties(v: Properties) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x73', [
            _NULL if (x := v.message_id) is None else _e_any(x),
            _NULL if (x := v.user_id) is None else _e_binary(x),
            _NULL if (x := v.to) is None else _e_any(x),
            _NULL if (x := v.subject) is None else _e_string(x),
            _NULL if (x := v.reply_to) is None else _e_any(x),
            _NULL if (x := v.correlation_id) is None else _e_any(x),
            _NULL if (x := v.content_type) is None else _e_symbol(x),
            _NULL if (x := v.content_encoding) is None else _e_symbol(x),
            _NULL if (x := v.absolute_expiry_time) is None else _e_timestamp(x),
            _NULL if (x := v.creation_time) is None else _e_timestamp(x),
            _NULL if (x := v.group_id) is None else _e_string(x),
            _NULL if (x := v.group_sequence) is None else _e_uint(x),
            _NULL if (x := v.reply_to_group_id) is None else _e_string(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "properties") from None


def _dec_properties(items: Any) -> Properties:
    if type(items) is not list:
        raise _not_list(items, "properties")
    v = _new(Properties)
    x: Any
    if len(items) < 13:
        items = items + _NONES[:13 - len(items)]
    v.message_id = x if (x := items[0]) is None or type(x) in _MESSAGE_ID_TYPES else _c_none(x, "properties.message-id")
    v.user_id = x if (x := items[1]) is None or type(x) is bytes else _c_bytes(x, "properties.user-id")
    v.to = x if (x := items[2]) is None or type(x) in _ADDRESS_TYPES else _c_none(x, "properties.to")
    v.subject = x if (x := items[3]) is None or type(x) is str else _c_str(x, "properties.subject")
    v.reply_to = x if (x := items[4]) is None or type(x) in _ADDRESS_TYPES else _c_none(x, "properties.reply-to")
    v.correlation_id = x if (x := items[5]) is None or type(x) in _MESSAGE_ID_TYPES else _c_none(x, "properties.correlation-id")
    v.content_type = x if (x := items[6]) is None or type(x) is Symbol else _c_symbol(x, "properties.content-type")
    v.content_encoding = x if (x := items[7]) is None or type(x) is Symbol else _c_symbol(x, "properties.content-encoding")
    v.absolute_expiry_time = x if (x := items[8]) is None or type(x) is datetime else _c_timestamp(x, "properties.absolute-expiry-time")
    v.creation_time = x if (x := items[9]) is None or type(x) is datetime else _c_timestamp(x, "properties.creation-time")
    v.group_id = x if (x := items[10]) is None or type(x) is str else _c_str(x, "properties.group-id")
    v.group_sequence = x if (x := items[11]) is None or type(x) is UInt else _c_int(UInt, x, "properties.group-sequence")
    v.reply_to_group_id = x if (x := items[12]) is None or type(x) is str else _c_str(x, "properties.reply-to-group-id")
    return v


register_encoder(Properties, _enc_properties)
register_described(0x73, 'amqp:properties:list', _dec_properties)


class Received(_Composite):
    """AMQP ``received`` (amqp:received:list, 0x00000023)."""

    __slots__ = ('section_number', 'section_offset', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x23
    SYMBOL: ClassVar[str] = 'amqp:received:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, )

    section_number: int
    section_offset: int

    def __init__(
        self,
        *,
        section_number: int,
        section_offset: int,
    ) -> None:
        self.section_number = section_number
        self.section_offset = section_offset


def _enc_received(v: Received) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x23', [
            _NULL if (x := v.section_number) is None else _e_uint(x),
            _NULL if (x := v.section_offset) is None else _e_ulong(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "received") from None


def _dec_received(items: Any) -> Received:
    if type(items) is not list:
        raise _not_list(items, "received")
    v = _new(Received)
    x: Any
    if len(items) < 2:
        items = items + _NONES[:2 - len(items)]
    v.section_number = x if type(x := items[0]) is UInt else _c_int(UInt, x, "received.section-number", mandatory=True)
    v.section_offset = x if type(x := items[1]) is ULong else _c_int(ULong, x, "received.section-offset", mandatory=True)
    return v


register_encoder(Received, _enc_received)
register_described(0x23, 'amqp:received:list', _dec_received)


class Accepted(_Composite):
    """AMQP ``accepted`` (amqp:accepted:list, 0x00000024)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x24
    SYMBOL: ClassVar[str] = 'amqp:accepted:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_accepted(v: Accepted) -> bytes:
    return b'\x00\x53\x24' + b'\x45'


def _dec_accepted(items: Any) -> Accepted:
    if type(items) is not list:
        raise _not_list(items, "accepted")
    v = _new(Accepted)
    return v


register_encoder(Accepted, _enc_accepted)
register_described(0x24, 'amqp:accepted:list', _dec_accepted)


class Rejected(_Composite):
    """AMQP ``rejected`` (amqp:rejected:list, 0x00000025)."""

    __slots__ = ('error', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x25
    SYMBOL: ClassVar[str] = 'amqp:rejected:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    error: Error | None

    def __init__(
        self,
        *,
        error: Error | None = None,
    ) -> None:
        self.error = error


def _enc_rejected(v: Rejected) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x25', [
            _NULL if (x := v.error) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "rejected") from None


def _dec_rejected(items: Any) -> Rejected:
    if type(items) is not list:
        raise _not_list(items, "rejected")
    v = _new(Rejected)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.error = x if (x := items[0]) is None or type(x) is Error else _c_none(x, "rejected.error")
    return v


register_encoder(Rejected, _enc_rejected)
register_described(0x25, 'amqp:rejected:list', _dec_rejected)


class Released(_Composite):
    """AMQP ``released`` (amqp:released:list, 0x00000026)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x26
    SYMBOL: ClassVar[str] = 'amqp:released:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_released(v: Released) -> bytes:
    return b'\x00\x53\x26' + b'\x45'


def _dec_released(items: Any) -> Released:
    if type(items) is not list:
        raise _not_list(items, "released")
    v = _new(Released)
    return v


register_encoder(Released, _enc_released)
register_described(0x26, 'amqp:released:list', _dec_released)


class Modified(_Composite):
    """AMQP ``modified`` (amqp:modified:list, 0x00000027)."""

    __slots__ = ('delivery_failed', 'undeliverable_here', 'message_annotations', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x27
    SYMBOL: ClassVar[str] = 'amqp:modified:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, )

    delivery_failed: bool | None
    undeliverable_here: bool | None
    message_annotations: dict[Any, Any] | None

    def __init__(
        self,
        *,
        delivery_failed: bool | None = None,
        undeliverable_here: bool | None = None,
        message_annotations: dict[Any, Any] | None = None,
    ) -> None:
        self.delivery_failed = delivery_failed
        self.undeliverable_here = undeliverable_here
        self.message_annotations = message_annotations


def _enc_modified(v: Modified) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x27', [
            _NULL if (x := v.delivery_failed) is None else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.undeliverable_here) is None else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.message_annotations) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "modified") from None


def _dec_modified(items: Any) -> Modified:
    if type(items) is not list:
        raise _not_list(items, "modified")
    v = _new(Modified)
    x: Any
    if len(items) < 3:
        items = items + _NONES[:3 - len(items)]
    v.delivery_failed = x if (x := items[0]) is None or type(x) is bool else _c_bool(x, "modified.delivery-failed")
    v.undeliverable_here = x if (x := items[1]) is None or type(x) is bool else _c_bool(x, "modified.undeliverable-here")
    v.message_annotations = x if (x := items[2]) is None or type(x) is dict else _c_map(x, "modified.message-annotations")
    return v


register_encoder(Modified, _enc_modified)
register_described(0x27, 'amqp:modified:list', _dec_modified)


class Source(_Composite):
    """AMQP ``source`` (amqp:source:list, 0x00000028)."""

    __slots__ = ('address', 'durable', 'expiry_policy', 'timeout', 'dynamic', 'dynamic_node_properties', 'distribution_mode', 'filter', 'default_outcome', 'outcomes', 'capabilities', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x28
    SYMBOL: ClassVar[str] = 'amqp:source:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, TerminusDurability.NONE, Symbol('session-end'), UInt(0), False, None, None, None, None, None, None, )

    address: str | None
    durable: TerminusDurability
    expiry_policy: str
    timeout: int
    dynamic: bool
    dynamic_node_properties: dict[Any, Any] | None
    distribution_mode: str | None
    filter: dict[Any, Any] | None
    default_outcome: Accepted | Rejected | Released | Modified | Declared | Described | None
    outcomes: list[str] | None
    capabilities: list[str] | None

    def __init__(
        self,
        *,
        address: str | None = None,
        durable: TerminusDurability = TerminusDurability.NONE,
        expiry_policy: str = Symbol('session-end'),
        timeout: int = UInt(0),
        dynamic: bool = False,
        dynamic_node_properties: dict[Any, Any] | None = None,
        distribution_mode: str | None = None,
        filter: dict[Any, Any] | None = None,
        default_outcome: Accepted | Rejected | Released | Modified | Declared | Described | None = None,
        outcomes: list[str] | None = None,
        capabilities: list[str] | None = None,
    ) -> None:
        self.address = address
        self.durable = durable
        self.expiry_policy = expiry_policy
        self.timeout = timeout
        self.dynamic = dynamic
        self.dynamic_node_properties = dynamic_node_properties
        self.distribution_mode = distribution_mode
        self.filter = filter
        self.default_outcome = default_outcome
        self.outcomes = outcomes
        self.capabilities = capabilities


def _enc_source(v: Source) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x28', [
            _NULL if (x := v.address) is None else _e_any(x),
            _NULL if (x := v.durable) is None or x == TerminusDurability.NONE else _e_uint(x),
            _NULL if (x := v.expiry_policy) is None or x == Symbol('session-end') else _e_symbol(x),
            _NULL if (x := v.timeout) is None or x == UInt(0) else _e_uint(x),
            _NULL if (x := v.dynamic) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.dynamic_node_properties) is None else _e_symbol_map(x),
            _NULL if (x := v.distribution_mode) is None else _e_symbol(x),
            _NULL if (x := v.filter) is None else _e_symbol_map(x),
            _NULL if (x := v.default_outcome) is None else _e_any(x),
            _NULL if (x := v.outcomes) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.capabilities) is None else _e_multiple(x, _e_symbol),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "source") from None


def _dec_source(items: Any) -> Source:
    if type(items) is not list:
        raise _not_list(items, "source")
    v = _new(Source)
    x: Any
    if len(items) < 11:
        items = items + _NONES[:11 - len(items)]
    v.address = x if (x := items[0]) is None or type(x) in _ADDRESS_TYPES else _c_none(x, "source.address")
    v.durable = x if type(x := items[1]) is TerminusDurability else (TerminusDurability.NONE if x is None else _c_enum(TerminusDurability, x, "source.durable", TerminusDurability.NONE))
    v.expiry_policy = x if type(x := items[2]) is Symbol else (Symbol('session-end') if x is None else _c_symbol(x, "source.expiry-policy", Symbol('session-end')))
    v.timeout = x if type(x := items[3]) is UInt else (UInt(0) if x is None else _c_int(UInt, x, "source.timeout", UInt(0)))
    v.dynamic = x if type(x := items[4]) is bool else (False if x is None else _c_bool(x, "source.dynamic", False))
    v.dynamic_node_properties = x if (x := items[5]) is None or type(x) is dict else _c_map(x, "source.dynamic-node-properties")
    v.distribution_mode = x if (x := items[6]) is None or type(x) is Symbol else _c_symbol(x, "source.distribution-mode")
    v.filter = x if (x := items[7]) is None or type(x) is dict else _c_map(x, "source.filter")
    v.default_outcome = x if (x := items[8]) is None or type(x) in _OUTCOME_TYPES else _c_none(x, "source.default-outcome")
    v.outcomes = _multiple(items[9], "source.outcomes", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "source.outcomes"))
    v.capabilities = _multiple(items[10], "source.capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "source.capabilities"))
    return v


register_encoder(Source, _enc_source)
register_described(0x28, 'amqp:source:list', _dec_source)


class Target(_Composite):
    """AMQP ``target`` (amqp:target:list, 0x00000029)."""

    __slots__ = ('address', 'durable', 'expiry_policy', 'timeout', 'dynamic', 'dynamic_node_properties', 'capabilities', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x29
    SYMBOL: ClassVar[str] = 'amqp:target:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, TerminusDurability.NONE, Symbol('session-end'), UInt(0), False, None, None, )

    address: str | None
    durable: TerminusDurability
    expiry_policy: str
    timeout: int
    dynamic: bool
    dynamic_node_properties: dict[Any, Any] | None
    capabilities: list[str] | None

    def __init__(
        self,
        *,
        address: str | None = None,
        durable: TerminusDurability = TerminusDurability.NONE,
        expiry_policy: str = Symbol('session-end'),
        timeout: int = UInt(0),
        dynamic: bool = False,
        dynamic_node_properties: dict[Any, Any] | None = None,
        capabilities: list[str] | None = None,
    ) -> None:
        self.address = address
        self.durable = durable
        self.expiry_policy = expiry_policy
        self.timeout = timeout
        self.dynamic = dynamic
        self.dynamic_node_properties = dynamic_node_properties
        self.capabilities = capabilities


def _enc_target(v: Target) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x29', [
            _NULL if (x := v.address) is None else _e_any(x),
            _NULL if (x := v.durable) is None or x == TerminusDurability.NONE else _e_uint(x),
            _NULL if (x := v.expiry_policy) is None or x == Symbol('session-end') else _e_symbol(x),
            _NULL if (x := v.timeout) is None or x == UInt(0) else _e_uint(x),
            _NULL if (x := v.dynamic) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.dynamic_node_properties) is None else _e_symbol_map(x),
            _NULL if (x := v.capabilities) is None else _e_multiple(x, _e_symbol),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "target") from None


def _dec_target(items: Any) -> Target:
    if type(items) is not list:
        raise _not_list(items, "target")
    v = _new(Target)
    x: Any
    if len(items) < 7:
        items = items + _NONES[:7 - len(items)]
    v.address = x if (x := items[0]) is None or type(x) in _ADDRESS_TYPES else _c_none(x, "target.address")
    v.durable = x if type(x := items[1]) is TerminusDurability else (TerminusDurability.NONE if x is None else _c_enum(TerminusDurability, x, "target.durable", TerminusDurability.NONE))
    v.expiry_policy = x if type(x := items[2]) is Symbol else (Symbol('session-end') if x is None else _c_symbol(x, "target.expiry-policy", Symbol('session-end')))
    v.timeout = x if type(x := items[3]) is UInt else (UInt(0) if x is None else _c_int(UInt, x, "target.timeout", UInt(0)))
    v.dynamic = x if type(x := items[4]) is bool else (False if x is None else _c_bool(x, "target.dynamic", False))
    v.dynamic_node_properties = x if (x := items[5]) is None or type(x) is dict else _c_map(x, "target.dynamic-node-properties")
    v.capabilities = _multiple(items[6], "target.capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "target.capabilities"))
    return v


register_encoder(Target, _enc_target)
register_described(0x29, 'amqp:target:list', _dec_target)


class DeleteOnClose(_Composite):
    """AMQP ``delete-on-close`` (amqp:delete-on-close:list, 0x0000002b)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x2b
    SYMBOL: ClassVar[str] = 'amqp:delete-on-close:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_delete_on_close(v: DeleteOnClose) -> bytes:
    return b'\x00\x53\x2b' + b'\x45'


def _dec_delete_on_close(items: Any) -> DeleteOnClose:
    if type(items) is not list:
        raise _not_list(items, "delete-on-close")
    v = _new(DeleteOnClose)
    return v


register_encoder(DeleteOnClose, _enc_delete_on_close)
register_described(0x2b, 'amqp:delete-on-close:list', _dec_delete_on_close)


class DeleteOnNoLinks(_Composite):
    """AMQP ``delete-on-no-links`` (amqp:delete-on-no-links:list, 0x0000002c)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x2c
    SYMBOL: ClassVar[str] = 'amqp:delete-on-no-links:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_delete_on_no_links(v: DeleteOnNoLinks) -> bytes:
    return b'\x00\x53\x2c' + b'\x45'


def _dec_delete_on_no_links(items: Any) -> DeleteOnNoLinks:
    if type(items) is not list:
        raise _not_list(items, "delete-on-no-links")
    v = _new(DeleteOnNoLinks)
    return v


register_encoder(DeleteOnNoLinks, _enc_delete_on_no_links)
register_described(0x2c, 'amqp:delete-on-no-links:list', _dec_delete_on_no_links)


class DeleteOnNoMessages(_Composite):
    """AMQP ``delete-on-no-messages`` (amqp:delete-on-no-messages:list, 0x0000002d)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x2d
    SYMBOL: ClassVar[str] = 'amqp:delete-on-no-messages:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_delete_on_no_messages(v: DeleteOnNoMessages) -> bytes:
    return b'\x00\x53\x2d' + b'\x45'


def _dec_delete_on_no_messages(items: Any) -> DeleteOnNoMessages:
    if type(items) is not list:
        raise _not_list(items, "delete-on-no-messages")
    v = _new(DeleteOnNoMessages)
    return v


register_encoder(DeleteOnNoMessages, _enc_delete_on_no_messages)
register_described(0x2d, 'amqp:delete-on-no-messages:list', _dec_delete_on_no_messages)


class DeleteOnNoLinksOrMessages(_Composite):
    """AMQP ``delete-on-no-links-or-messages`` (amqp:delete-on-no-links-or-messages:list, 0x0000002e)."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x2e
    SYMBOL: ClassVar[str] = 'amqp:delete-on-no-links-or-messages:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()


def _enc_delete_on_no_links_or_messages(v: DeleteOnNoLinksOrMessages) -> bytes:
    return b'\x00\x53\x2e' + b'\x45'


def _dec_delete_on_no_links_or_messages(items: Any) -> DeleteOnNoLinksOrMessages:
    if type(items) is not list:
        raise _not_list(items, "delete-on-no-links-or-messages")
    v = _new(DeleteOnNoLinksOrMessages)
    return v


register_encoder(DeleteOnNoLinksOrMessages, _enc_delete_on_no_links_or_messages)
register_described(0x2e, 'amqp:delete-on-no-links-or-messages:list', _dec_delete_on_no_links_or_messages)


class Coordinator(_Composite):
    """AMQP ``coordinator`` (amqp:coordinator:list, 0x00000030)."""

    __slots__ = ('capabilities', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x30
    SYMBOL: ClassVar[str] = 'amqp:coordinator:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    capabilities: list[str] | None

    def __init__(
        self,
        *,
        capabilities: list[str] | None = None,
    ) -> None:
        self.capabilities = capabilities


def _enc_coordinator(v: Coordinator) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x30', [
            _NULL if (x := v.capabilities) is None else _e_multiple(x, _e_symbol),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "coordinator") from None


def _dec_coordinator(items: Any) -> Coordinator:
    if type(items) is not list:
        raise _not_list(items, "coordinator")
    v = _new(Coordinator)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.capabilities = _multiple(items[0], "coordinator.capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "coordinator.capabilities"))
    return v


register_encoder(Coordinator, _enc_coordinator)
register_described(0x30, 'amqp:coordinator:list', _dec_coordinator)


class Declare(_Composite):
    """AMQP ``declare`` (amqp:declare:list, 0x00000031)."""

    __slots__ = ('global_id', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x31
    SYMBOL: ClassVar[str] = 'amqp:declare:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    global_id: Any

    def __init__(
        self,
        *,
        global_id: Any = None,
    ) -> None:
        self.global_id = global_id


def _enc_declare(v: Declare) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x31', [
            _NULL if (x := v.global_id) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "declare") from None


def _dec_declare(items: Any) -> Declare:
    if type(items) is not list:
        raise _not_list(items, "declare")
    v = _new(Declare)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.global_id = items[0]
    return v


register_encoder(Declare, _enc_declare)
register_described(0x31, 'amqp:declare:list', _dec_declare)


class Discharge(_Composite):
    """AMQP ``discharge`` (amqp:discharge:list, 0x00000032)."""

    __slots__ = ('txn_id', 'fail', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x32
    SYMBOL: ClassVar[str] = 'amqp:discharge:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, )

    txn_id: bytes
    fail: bool | None

    def __init__(
        self,
        *,
        txn_id: bytes,
        fail: bool | None = None,
    ) -> None:
        self.txn_id = txn_id
        self.fail = fail


def _enc_discharge(v: Discharge) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x32', [
            _NULL if (x := v.txn_id) is None else _e_any(x),
            _NULL if (x := v.fail) is None else (b'\x41' if x else b'\x42'),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "discharge") from None


def _dec_discharge(items: Any) -> Discharge:
    if type(items) is not list:
        raise _not_list(items, "discharge")
    v = _new(Discharge)
    x: Any
    if len(items) < 2:
        items = items + _NONES[:2 - len(items)]
    v.txn_id = x if type(x := items[0]) in _TXN_ID_TYPES else _c_none(x, "discharge.txn-id", mandatory=True)
    v.fail = x if (x := items[1]) is None or type(x) is bool else _c_bool(x, "discharge.fail")
    return v


register_encoder(Discharge, _enc_discharge)
register_described(0x32, 'amqp:discharge:list', _dec_discharge)


class Declared(_Composite):
    """AMQP ``declared`` (amqp:declared:list, 0x00000033)."""

    __slots__ = ('txn_id', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x33
    SYMBOL: ClassVar[str] = 'amqp:declared:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    txn_id: bytes

    def __init__(
        self,
        *,
        txn_id: bytes,
    ) -> None:
        self.txn_id = txn_id


def _enc_declared(v: Declared) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x33', [
            _NULL if (x := v.txn_id) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "declared") from None


def _dec_declared(items: Any) -> Declared:
    if type(items) is not list:
        raise _not_list(items, "declared")
    v = _new(Declared)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.txn_id = x if type(x := items[0]) in _TXN_ID_TYPES else _c_none(x, "declared.txn-id", mandatory=True)
    return v


register_encoder(Declared, _enc_declared)
register_described(0x33, 'amqp:declared:list', _dec_declared)


class TransactionalState(_Composite):
    """AMQP ``transactional-state`` (amqp:transactional-state:list, 0x00000034)."""

    __slots__ = ('txn_id', 'outcome', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x34
    SYMBOL: ClassVar[str] = 'amqp:transactional-state:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, )

    txn_id: bytes
    outcome: Accepted | Rejected | Released | Modified | Declared | Described | None

    def __init__(
        self,
        *,
        txn_id: bytes,
        outcome: Accepted | Rejected | Released | Modified | Declared | Described | None = None,
    ) -> None:
        self.txn_id = txn_id
        self.outcome = outcome


def _enc_transactional_state(v: TransactionalState) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x34', [
            _NULL if (x := v.txn_id) is None else _e_any(x),
            _NULL if (x := v.outcome) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "transactional-state") from None


def _dec_transactional_state(items: Any) -> TransactionalState:
    if type(items) is not list:
        raise _not_list(items, "transactional-state")
    v = _new(TransactionalState)
    x: Any
    if len(items) < 2:
        items = items + _NONES[:2 - len(items)]
    v.txn_id = x if type(x := items[0]) in _TXN_ID_TYPES else _c_none(x, "transactional-state.txn-id", mandatory=True)
    v.outcome = x if (x := items[1]) is None or type(x) in _OUTCOME_TYPES else _c_none(x, "transactional-state.outcome")
    return v


register_encoder(TransactionalState, _enc_transactional_state)
register_described(0x34, 'amqp:transactional-state:list', _dec_transactional_state)


_DELIVERY_STATE_TYPES = frozenset((Received, Accepted, Rejected, Released, Modified, Declared, TransactionalState, Described))
_OUTCOME_TYPES = frozenset((Accepted, Rejected, Released, Modified, Declared, Described))
_SOURCE_TYPES = frozenset((Source, Described))
_TARGET_TYPES = frozenset((Target, Coordinator, Described))
_ADDRESS_TYPES = frozenset((str, Symbol, ))
_MESSAGE_ID_TYPES = frozenset((int, Byte, Short, Int, UByte, UShort, UInt, ULong, UUID, bytes, str, Symbol, ))
_TXN_ID_TYPES = frozenset((bytes, ))

Error._FIELD_ENCODERS = (_e_symbol, _e_string, _e_symbol_map, )
Header._FIELD_ENCODERS = (lambda x: (b'\x41' if x else b'\x42'), _e_ubyte, _e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_uint, )
Properties._FIELD_ENCODERS = (_e_any, _e_binary, _e_any, _e_string, _e_any, _e_any, _e_symbol, _e_symbol, _e_timestamp, _e_timestamp, _e_string, _e_uint, _e_string, )
Received._FIELD_ENCODERS = (_e_uint, _e_ulong, )
Accepted._FIELD_ENCODERS = ()
Rejected._FIELD_ENCODERS = (_e_any, )
Released._FIELD_ENCODERS = ()
Modified._FIELD_ENCODERS = (lambda x: (b'\x41' if x else b'\x42'), lambda x: (b'\x41' if x else b'\x42'), _e_symbol_map, )
Source._FIELD_ENCODERS = (_e_any, _e_uint, _e_symbol, _e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_symbol_map, _e_symbol, _e_symbol_map, _e_any, lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), )
Target._FIELD_ENCODERS = (_e_any, _e_uint, _e_symbol, _e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_symbol_map, lambda x: _e_multiple(x, _e_symbol), )
DeleteOnClose._FIELD_ENCODERS = ()
DeleteOnNoLinks._FIELD_ENCODERS = ()
DeleteOnNoMessages._FIELD_ENCODERS = ()
DeleteOnNoLinksOrMessages._FIELD_ENCODERS = ()
Coordinator._FIELD_ENCODERS = (lambda x: _e_multiple(x, _e_symbol), )
Declare._FIELD_ENCODERS = (_e_any, )
Discharge._FIELD_ENCODERS = (_e_any, lambda x: (b'\x41' if x else b'\x42'), )
Declared._FIELD_ENCODERS = (_e_any, )
TransactionalState._FIELD_ENCODERS = (_e_any, _e_any, )
