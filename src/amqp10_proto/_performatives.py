"""AMQP 1.0 frame bodies: the performatives (2.7) and SASL frames (5.3.3).

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
from ._types import Described, Symbol, Timestamp, UByte, UInt, ULong, UShort

from ._definitions import (
    Accepted,
    Coordinator,
    Declare,
    Declared,
    DeleteOnClose,
    DeleteOnNoLinks,
    DeleteOnNoLinksOrMessages,
    DeleteOnNoMessages,
    Discharge,
    Error,
    Header,
    Modified,
    Properties,
    Received,
    ReceiverSettleMode,
    Rejected,
    Released,
    Role,
    SaslCode,
    SenderSettleMode,
    Source,
    Target,
    TerminusDurability,
    TransactionalState,
    _DELIVERY_STATE_TYPES,
    _OUTCOME_TYPES,
    _SOURCE_TYPES,
    _TARGET_TYPES,
)

__all__ = [
    'Attach',
    'Begin',
    'Close',
    'Detach',
    'Disposition',
    'End',
    'Flow',
    'Open',
    'SaslChallenge',
    'SaslInit',
    'SaslMechanisms',
    'SaslOutcome',
    'SaslResponse',
    'Transfer',
]


class Open(_Composite):
    """AMQP ``open`` (amqp:open:list, 0x00000010)."""

    __slots__ = ('container_id', 'hostname', 'max_frame_size', 'channel_max', 'idle_time_out', 'outgoing_locales', 'incoming_locales', 'offered_capabilities', 'desired_capabilities', 'properties', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x10
    SYMBOL: ClassVar[str] = 'amqp:open:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, UInt(4294967295), UShort(65535), None, None, None, None, None, None, )

    container_id: str
    hostname: str | None
    max_frame_size: int
    channel_max: int
    idle_time_out: int | None
    outgoing_locales: list[str] | None
    incoming_locales: list[str] | None
    offered_capabilities: list[str] | None
    desired_capabilities: list[str] | None
    properties: dict[Any, Any] | None

    def __init__(
        self,
        *,
        container_id: str,
        hostname: str | None = None,
        max_frame_size: int = UInt(4294967295),
        channel_max: int = UShort(65535),
        idle_time_out: int | None = None,
        outgoing_locales: list[str] | None = None,
        incoming_locales: list[str] | None = None,
        offered_capabilities: list[str] | None = None,
        desired_capabilities: list[str] | None = None,
        properties: dict[Any, Any] | None = None,
    ) -> None:
        self.container_id = container_id
        self.hostname = hostname
        self.max_frame_size = max_frame_size
        self.channel_max = channel_max
        self.idle_time_out = idle_time_out
        self.outgoing_locales = outgoing_locales
        self.incoming_locales = incoming_locales
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        self.properties = properties


def _enc_open(v: Open) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x10', [
            _NULL if (x := v.container_id) is None else _e_string(x),
            _NULL if (x := v.hostname) is None else _e_string(x),
            _NULL if (x := v.max_frame_size) is None or x == UInt(4294967295) else _e_uint(x),
            _NULL if (x := v.channel_max) is None or x == UShort(65535) else _e_ushort(x),
            _NULL if (x := v.idle_time_out) is None else _e_uint(x),
            _NULL if (x := v.outgoing_locales) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.incoming_locales) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.offered_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.desired_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.properties) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "open") from None


def _dec_open(items: Any) -> Open:
    if type(items) is not list:
        raise _not_list(items, "open")
    v = _new(Open)
    x: Any
    if len(items) < 10:
        items = items + _NONES[:10 - len(items)]
    v.container_id = x if type(x := items[0]) is str else _c_str(x, "open.container-id", mandatory=True)
    v.hostname = x if (x := items[1]) is None or type(x) is str else _c_str(x, "open.hostname")
    v.max_frame_size = x if type(x := items[2]) is UInt else (UInt(4294967295) if x is None else _c_int(UInt, x, "open.max-frame-size", UInt(4294967295)))
    v.channel_max = x if type(x := items[3]) is UShort else (UShort(65535) if x is None else _c_int(UShort, x, "open.channel-max", UShort(65535)))
    v.idle_time_out = x if (x := items[4]) is None or type(x) is UInt else _c_int(UInt, x, "open.idle-time-out")
    v.outgoing_locales = _multiple(items[5], "open.outgoing-locales", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "open.outgoing-locales"))
    v.incoming_locales = _multiple(items[6], "open.incoming-locales", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "open.incoming-locales"))
    v.offered_capabilities = _multiple(items[7], "open.offered-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "open.offered-capabilities"))
    v.desired_capabilities = _multiple(items[8], "open.desired-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "open.desired-capabilities"))
    v.properties = x if (x := items[9]) is None or type(x) is dict else _c_map(x, "open.properties")
    return v


register_encoder(Open, _enc_open)
register_described(0x10, 'amqp:open:list', _dec_open)


class Begin(_Composite):
    """AMQP ``begin`` (amqp:begin:list, 0x00000011)."""

    __slots__ = ('remote_channel', 'next_outgoing_id', 'incoming_window', 'outgoing_window', 'handle_max', 'offered_capabilities', 'desired_capabilities', 'properties', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x11
    SYMBOL: ClassVar[str] = 'amqp:begin:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, None, UInt(4294967295), None, None, None, )

    remote_channel: int | None
    next_outgoing_id: int
    incoming_window: int
    outgoing_window: int
    handle_max: int
    offered_capabilities: list[str] | None
    desired_capabilities: list[str] | None
    properties: dict[Any, Any] | None

    def __init__(
        self,
        *,
        remote_channel: int | None = None,
        next_outgoing_id: int,
        incoming_window: int,
        outgoing_window: int,
        handle_max: int = UInt(4294967295),
        offered_capabilities: list[str] | None = None,
        desired_capabilities: list[str] | None = None,
        properties: dict[Any, Any] | None = None,
    ) -> None:
        self.remote_channel = remote_channel
        self.next_outgoing_id = next_outgoing_id
        self.incoming_window = incoming_window
        self.outgoing_window = outgoing_window
        self.handle_max = handle_max
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        self.properties = properties


def _enc_begin(v: Begin) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x11', [
            _NULL if (x := v.remote_channel) is None else _e_ushort(x),
            _NULL if (x := v.next_outgoing_id) is None else _e_uint(x),
            _NULL if (x := v.incoming_window) is None else _e_uint(x),
            _NULL if (x := v.outgoing_window) is None else _e_uint(x),
            _NULL if (x := v.handle_max) is None or x == UInt(4294967295) else _e_uint(x),
            _NULL if (x := v.offered_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.desired_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.properties) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "begin") from None


def _dec_begin(items: Any) -> Begin:
    if type(items) is not list:
        raise _not_list(items, "begin")
    v = _new(Begin)
    x: Any
    if len(items) < 8:
        items = items + _NONES[:8 - len(items)]
    v.remote_channel = x if (x := items[0]) is None or type(x) is UShort else _c_int(UShort, x, "begin.remote-channel")
    v.next_outgoing_id = x if type(x := items[1]) is UInt else _c_int(UInt, x, "begin.next-outgoing-id", mandatory=True)
    v.incoming_window = x if type(x := items[2]) is UInt else _c_int(UInt, x, "begin.incoming-window", mandatory=True)
    v.outgoing_window = x if type(x := items[3]) is UInt else _c_int(UInt, x, "begin.outgoing-window", mandatory=True)
    v.handle_max = x if type(x := items[4]) is UInt else (UInt(4294967295) if x is None else _c_int(UInt, x, "begin.handle-max", UInt(4294967295)))
    v.offered_capabilities = _multiple(items[5], "begin.offered-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "begin.offered-capabilities"))
    v.desired_capabilities = _multiple(items[6], "begin.desired-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "begin.desired-capabilities"))
    v.properties = x if (x := items[7]) is None or type(x) is dict else _c_map(x, "begin.properties")
    return v


register_encoder(Begin, _enc_begin)
register_described(0x11, 'amqp:begin:list', _dec_begin)


class Attach(_Composite):
    """AMQP ``attach`` (amqp:attach:list, 0x00000012)."""

    __slots__ = ('name', 'handle', 'role', 'snd_settle_mode', 'rcv_settle_mode', 'source', 'target', 'unsettled', 'incomplete_unsettled', 'initial_delivery_count', 'max_message_size', 'offered_capabilities', 'desired_capabilities', 'properties', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x12
    SYMBOL: ClassVar[str] = 'amqp:attach:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, SenderSettleMode.MIXED, ReceiverSettleMode.FIRST, None, None, None, False, None, None, None, None, None, )

    name: str
    handle: int
    role: Role
    snd_settle_mode: SenderSettleMode
    rcv_settle_mode: ReceiverSettleMode
    source: Source | Described | None
    target: Target | Coordinator | Described | None
    unsettled: dict[Any, Any] | None
    incomplete_unsettled: bool
    initial_delivery_count: int | None
    max_message_size: int | None
    offered_capabilities: list[str] | None
    desired_capabilities: list[str] | None
    properties: dict[Any, Any] | None

    def __init__(
        self,
        *,
        name: str,
        handle: int,
        role: Role,
        snd_settle_mode: SenderSettleMode = SenderSettleMode.MIXED,
        rcv_settle_mode: ReceiverSettleMode = ReceiverSettleMode.FIRST,
        source: Source | Described | None = None,
        target: Target | Coordinator | Described | None = None,
        unsettled: dict[Any, Any] | None = None,
        incomplete_unsettled: bool = False,
        initial_delivery_count: int | None = None,
        max_message_size: int | None = None,
        offered_capabilities: list[str] | None = None,
        desired_capabilities: list[str] | None = None,
        properties: dict[Any, Any] | None = None,
    ) -> None:
        self.name = name
        self.handle = handle
        self.role = role
        self.snd_settle_mode = snd_settle_mode
        self.rcv_settle_mode = rcv_settle_mode
        self.source = source
        self.target = target
        self.unsettled = unsettled
        self.incomplete_unsettled = incomplete_unsettled
        self.initial_delivery_count = initial_delivery_count
        self.max_message_size = max_message_size
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        self.properties = properties


def _enc_attach(v: Attach) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x12', [
            _NULL if (x := v.name) is None else _e_string(x),
            _NULL if (x := v.handle) is None else _e_uint(x),
            _NULL if (x := v.role) is None else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.snd_settle_mode) is None or x == SenderSettleMode.MIXED else _e_ubyte(x),
            _NULL if (x := v.rcv_settle_mode) is None or x == ReceiverSettleMode.FIRST else _e_ubyte(x),
            _NULL if (x := v.source) is None else _e_any(x),
            _NULL if (x := v.target) is None else _e_any(x),
            _NULL if (x := v.unsettled) is None else _e_any(x),
            _NULL if (x := v.incomplete_unsettled) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.initial_delivery_count) is None else _e_uint(x),
            _NULL if (x := v.max_message_size) is None else _e_ulong(x),
            _NULL if (x := v.offered_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.desired_capabilities) is None else _e_multiple(x, _e_symbol),
            _NULL if (x := v.properties) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "attach") from None


def _dec_attach(items: Any) -> Attach:
    if type(items) is not list:
        raise _not_list(items, "attach")
    v = _new(Attach)
    x: Any
    if len(items) < 14:
        items = items + _NONES[:14 - len(items)]
    v.name = x if type(x := items[0]) is str else _c_str(x, "attach.name", mandatory=True)
    v.handle = x if type(x := items[1]) is UInt else _c_int(UInt, x, "attach.handle", mandatory=True)
    v.role = x if type(x := items[2]) is Role else _c_bool_enum(Role, x, "attach.role", mandatory=True)
    v.snd_settle_mode = x if type(x := items[3]) is SenderSettleMode else (SenderSettleMode.MIXED if x is None else _c_enum(SenderSettleMode, x, "attach.snd-settle-mode", SenderSettleMode.MIXED))
    v.rcv_settle_mode = x if type(x := items[4]) is ReceiverSettleMode else (ReceiverSettleMode.FIRST if x is None else _c_enum(ReceiverSettleMode, x, "attach.rcv-settle-mode", ReceiverSettleMode.FIRST))
    v.source = x if (x := items[5]) is None or type(x) in _SOURCE_TYPES else _c_none(x, "attach.source")
    v.target = x if (x := items[6]) is None or type(x) in _TARGET_TYPES else _c_none(x, "attach.target")
    v.unsettled = x if (x := items[7]) is None or type(x) is dict else _c_map(x, "attach.unsettled")
    v.incomplete_unsettled = x if type(x := items[8]) is bool else (False if x is None else _c_bool(x, "attach.incomplete-unsettled", False))
    v.initial_delivery_count = x if (x := items[9]) is None or type(x) is UInt else _c_int(UInt, x, "attach.initial-delivery-count")
    v.max_message_size = x if (x := items[10]) is None or type(x) is ULong else _c_int(ULong, x, "attach.max-message-size")
    v.offered_capabilities = _multiple(items[11], "attach.offered-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "attach.offered-capabilities"))
    v.desired_capabilities = _multiple(items[12], "attach.desired-capabilities", check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "attach.desired-capabilities"))
    v.properties = x if (x := items[13]) is None or type(x) is dict else _c_map(x, "attach.properties")
    return v


register_encoder(Attach, _enc_attach)
register_described(0x12, 'amqp:attach:list', _dec_attach)


class Flow(_Composite):
    """AMQP ``flow`` (amqp:flow:list, 0x00000013)."""

    __slots__ = ('next_incoming_id', 'incoming_window', 'next_outgoing_id', 'outgoing_window', 'handle', 'delivery_count', 'link_credit', 'available', 'drain', 'echo', 'properties', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x13
    SYMBOL: ClassVar[str] = 'amqp:flow:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, None, None, None, None, None, False, False, None, )

    next_incoming_id: int | None
    incoming_window: int
    next_outgoing_id: int
    outgoing_window: int
    handle: int | None
    delivery_count: int | None
    link_credit: int | None
    available: int | None
    drain: bool
    echo: bool
    properties: dict[Any, Any] | None

    def __init__(
        self,
        *,
        next_incoming_id: int | None = None,
        incoming_window: int,
        next_outgoing_id: int,
        outgoing_window: int,
        handle: int | None = None,
        delivery_count: int | None = None,
        link_credit: int | None = None,
        available: int | None = None,
        drain: bool = False,
        echo: bool = False,
        properties: dict[Any, Any] | None = None,
    ) -> None:
        self.next_incoming_id = next_incoming_id
        self.incoming_window = incoming_window
        self.next_outgoing_id = next_outgoing_id
        self.outgoing_window = outgoing_window
        self.handle = handle
        self.delivery_count = delivery_count
        self.link_credit = link_credit
        self.available = available
        self.drain = drain
        self.echo = echo
        self.properties = properties


def _enc_flow(v: Flow) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x13', [
            _NULL if (x := v.next_incoming_id) is None else _e_uint(x),
            _NULL if (x := v.incoming_window) is None else _e_uint(x),
            _NULL if (x := v.next_outgoing_id) is None else _e_uint(x),
            _NULL if (x := v.outgoing_window) is None else _e_uint(x),
            _NULL if (x := v.handle) is None else _e_uint(x),
            _NULL if (x := v.delivery_count) is None else _e_uint(x),
            _NULL if (x := v.link_credit) is None else _e_uint(x),
            _NULL if (x := v.available) is None else _e_uint(x),
            _NULL if (x := v.drain) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.echo) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.properties) is None else _e_symbol_map(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "flow") from None


def _dec_flow(items: Any) -> Flow:
    if type(items) is not list:
        raise _not_list(items, "flow")
    v = _new(Flow)
    x: Any
    if len(items) < 11:
        items = items + _NONES[:11 - len(items)]
    v.next_incoming_id = x if (x := items[0]) is None or type(x) is UInt else _c_int(UInt, x, "flow.next-incoming-id")
    v.incoming_window = x if type(x := items[1]) is UInt else _c_int(UInt, x, "flow.incoming-window", mandatory=True)
    v.next_outgoing_id = x if type(x := items[2]) is UInt else _c_int(UInt, x, "flow.next-outgoing-id", mandatory=True)
    v.outgoing_window = x if type(x := items[3]) is UInt else _c_int(UInt, x, "flow.outgoing-window", mandatory=True)
    v.handle = x if (x := items[4]) is None or type(x) is UInt else _c_int(UInt, x, "flow.handle")
    v.delivery_count = x if (x := items[5]) is None or type(x) is UInt else _c_int(UInt, x, "flow.delivery-count")
    v.link_credit = x if (x := items[6]) is None or type(x) is UInt else _c_int(UInt, x, "flow.link-credit")
    v.available = x if (x := items[7]) is None or type(x) is UInt else _c_int(UInt, x, "flow.available")
    v.drain = x if type(x := items[8]) is bool else (False if x is None else _c_bool(x, "flow.drain", False))
    v.echo = x if type(x := items[9]) is bool else (False if x is None else _c_bool(x, "flow.echo", False))
    v.properties = x if (x := items[10]) is None or type(x) is dict else _c_map(x, "flow.properties")
    return v


register_encoder(Flow, _enc_flow)
register_described(0x13, 'amqp:flow:list', _dec_flow)


class Transfer(_Composite):
    """AMQP ``transfer`` (amqp:transfer:list, 0x00000014)."""

    __slots__ = ('handle', 'delivery_id', 'delivery_tag', 'message_format', 'settled', 'more', 'rcv_settle_mode', 'state', 'resume', 'aborted', 'batchable', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x14
    SYMBOL: ClassVar[str] = 'amqp:transfer:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, None, None, False, None, None, False, False, False, )

    handle: int
    delivery_id: int | None
    delivery_tag: bytes | None
    message_format: int | None
    settled: bool | None
    more: bool
    rcv_settle_mode: ReceiverSettleMode | None
    state: Received | Accepted | Rejected | Released | Modified | Declared | TransactionalState | Described | None
    resume: bool
    aborted: bool
    batchable: bool

    def __init__(
        self,
        *,
        handle: int,
        delivery_id: int | None = None,
        delivery_tag: bytes | None = None,
        message_format: int | None = None,
        settled: bool | None = None,
        more: bool = False,
        rcv_settle_mode: ReceiverSettleMode | None = None,
        state: Received | Accepted | Rejected | Released | Modified | Declared | TransactionalState | Described | None = None,
        resume: bool = False,
        aborted: bool = False,
        batchable: bool = False,
    ) -> None:
        self.handle = handle
        self.delivery_id = delivery_id
        self.delivery_tag = delivery_tag
        self.message_format = message_format
        self.settled = settled
        self.more = more
        self.rcv_settle_mode = rcv_settle_mode
        self.state = state
        self.resume = resume
        self.aborted = aborted
        self.batchable = batchable


def _enc_transfer(v: Transfer) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x14', [
            _NULL if (x := v.handle) is None else _e_uint(x),
            _NULL if (x := v.delivery_id) is None else _e_uint(x),
            _NULL if (x := v.delivery_tag) is None else _e_binary(x),
            _NULL if (x := v.message_format) is None else _e_uint(x),
            _NULL if (x := v.settled) is None else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.more) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.rcv_settle_mode) is None else _e_ubyte(x),
            _NULL if (x := v.state) is None else _e_any(x),
            _NULL if (x := v.resume) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.aborted) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.batchable) is None or x is False else (b'\x41' if x else b'\x42'),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "transfer") from None


def _dec_transfer(items: Any) -> Transfer:
    if type(items) is not list:
        raise _not_list(items, "transfer")
    v = _new(Transfer)
    x: Any
    if len(items) < 11:
        items = items + _NONES[:11 - len(items)]
    v.handle = x if type(x := items[0]) is UInt else _c_int(UInt, x, "transfer.handle", mandatory=True)
    v.delivery_id = x if (x := items[1]) is None or type(x) is UInt else _c_int(UInt, x, "transfer.delivery-id")
    v.delivery_tag = x if (x := items[2]) is None or type(x) is bytes else _c_bytes(x, "transfer.delivery-tag")
    v.message_format = x if (x := items[3]) is None or type(x) is UInt else _c_int(UInt, x, "transfer.message-format")
    v.settled = x if (x := items[4]) is None or type(x) is bool else _c_bool(x, "transfer.settled")
    v.more = x if type(x := items[5]) is bool else (False if x is None else _c_bool(x, "transfer.more", False))
    v.rcv_settle_mode = x if (x := items[6]) is None or type(x) is ReceiverSettleMode else _c_enum(ReceiverSettleMode, x, "transfer.rcv-settle-mode")
    v.state = x if (x := items[7]) is None or type(x) in _DELIVERY_STATE_TYPES else _c_none(x, "transfer.state")
    v.resume = x if type(x := items[8]) is bool else (False if x is None else _c_bool(x, "transfer.resume", False))
    v.aborted = x if type(x := items[9]) is bool else (False if x is None else _c_bool(x, "transfer.aborted", False))
    v.batchable = x if type(x := items[10]) is bool else (False if x is None else _c_bool(x, "transfer.batchable", False))
    return v


register_encoder(Transfer, _enc_transfer)
register_described(0x14, 'amqp:transfer:list', _dec_transfer)


class Disposition(_Composite):
    """AMQP ``disposition`` (amqp:disposition:list, 0x00000015)."""

    __slots__ = ('role', 'first', 'last', 'settled', 'state', 'batchable', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x15
    SYMBOL: ClassVar[str] = 'amqp:disposition:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, False, None, False, )

    role: Role
    first: int
    last: int | None
    settled: bool
    state: Received | Accepted | Rejected | Released | Modified | Declared | TransactionalState | Described | None
    batchable: bool

    def __init__(
        self,
        *,
        role: Role,
        first: int,
        last: int | None = None,
        settled: bool = False,
        state: Received | Accepted | Rejected | Released | Modified | Declared | TransactionalState | Described | None = None,
        batchable: bool = False,
    ) -> None:
        self.role = role
        self.first = first
        self.last = last
        self.settled = settled
        self.state = state
        self.batchable = batchable


def _enc_disposition(v: Disposition) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x15', [
            _NULL if (x := v.role) is None else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.first) is None else _e_uint(x),
            _NULL if (x := v.last) is None else _e_uint(x),
            _NULL if (x := v.settled) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.state) is None else _e_any(x),
            _NULL if (x := v.batchable) is None or x is False else (b'\x41' if x else b'\x42'),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "disposition") from None


def _dec_disposition(items: Any) -> Disposition:
    if type(items) is not list:
        raise _not_list(items, "disposition")
    v = _new(Disposition)
    x: Any
    if len(items) < 6:
        items = items + _NONES[:6 - len(items)]
    v.role = x if type(x := items[0]) is Role else _c_bool_enum(Role, x, "disposition.role", mandatory=True)
    v.first = x if type(x := items[1]) is UInt else _c_int(UInt, x, "disposition.first", mandatory=True)
    v.last = x if (x := items[2]) is None or type(x) is UInt else _c_int(UInt, x, "disposition.last")
    v.settled = x if type(x := items[3]) is bool else (False if x is None else _c_bool(x, "disposition.settled", False))
    v.state = x if (x := items[4]) is None or type(x) in _DELIVERY_STATE_TYPES else _c_none(x, "disposition.state")
    v.batchable = x if type(x := items[5]) is bool else (False if x is None else _c_bool(x, "disposition.batchable", False))
    return v


register_encoder(Disposition, _enc_disposition)
register_described(0x15, 'amqp:disposition:list', _dec_disposition)


class Detach(_Composite):
    """AMQP ``detach`` (amqp:detach:list, 0x00000016)."""

    __slots__ = ('handle', 'closed', 'error', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x16
    SYMBOL: ClassVar[str] = 'amqp:detach:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, False, None, )

    handle: int
    closed: bool
    error: Error | None

    def __init__(
        self,
        *,
        handle: int,
        closed: bool = False,
        error: Error | None = None,
    ) -> None:
        self.handle = handle
        self.closed = closed
        self.error = error


def _enc_detach(v: Detach) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x16', [
            _NULL if (x := v.handle) is None else _e_uint(x),
            _NULL if (x := v.closed) is None or x is False else (b'\x41' if x else b'\x42'),
            _NULL if (x := v.error) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "detach") from None


def _dec_detach(items: Any) -> Detach:
    if type(items) is not list:
        raise _not_list(items, "detach")
    v = _new(Detach)
    x: Any
    if len(items) < 3:
        items = items + _NONES[:3 - len(items)]
    v.handle = x if type(x := items[0]) is UInt else _c_int(UInt, x, "detach.handle", mandatory=True)
    v.closed = x if type(x := items[1]) is bool else (False if x is None else _c_bool(x, "detach.closed", False))
    v.error = x if (x := items[2]) is None or type(x) is Error else _c_none(x, "detach.error")
    return v


register_encoder(Detach, _enc_detach)
register_described(0x16, 'amqp:detach:list', _dec_detach)


class End(_Composite):
    """AMQP ``end`` (amqp:end:list, 0x00000017)."""

    __slots__ = ('error', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x17
    SYMBOL: ClassVar[str] = 'amqp:end:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    error: Error | None

    def __init__(
        self,
        *,
        error: Error | None = None,
    ) -> None:
        self.error = error


def _enc_end(v: End) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x17', [
            _NULL if (x := v.error) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "end") from None


def _dec_end(items: Any) -> End:
    if type(items) is not list:
        raise _not_list(items, "end")
    v = _new(End)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.error = x if (x := items[0]) is None or type(x) is Error else _c_none(x, "end.error")
    return v


register_encoder(End, _enc_end)
register_described(0x17, 'amqp:end:list', _dec_end)


class Close(_Composite):
    """AMQP ``close`` (amqp:close:list, 0x00000018)."""

    __slots__ = ('error', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x18
    SYMBOL: ClassVar[str] = 'amqp:close:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    error: Error | None

    def __init__(
        self,
        *,
        error: Error | None = None,
    ) -> None:
        self.error = error


def _enc_close(v: Close) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x18', [
            _NULL if (x := v.error) is None else _e_any(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "close") from None


def _dec_close(items: Any) -> Close:
    if type(items) is not list:
        raise _not_list(items, "close")
    v = _new(Close)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.error = x if (x := items[0]) is None or type(x) is Error else _c_none(x, "close.error")
    return v


register_encoder(Close, _enc_close)
register_described(0x18, 'amqp:close:list', _dec_close)


class SaslMechanisms(_Composite):
    """AMQP ``sasl-mechanisms`` (amqp:sasl-mechanisms:list, 0x00000040)."""

    __slots__ = ('sasl_server_mechanisms', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x40
    SYMBOL: ClassVar[str] = 'amqp:sasl-mechanisms:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    sasl_server_mechanisms: list[str]

    def __init__(
        self,
        *,
        sasl_server_mechanisms: list[str],
    ) -> None:
        self.sasl_server_mechanisms = sasl_server_mechanisms


def _enc_sasl_mechanisms(v: SaslMechanisms) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x40', [
            _NULL if (x := v.sasl_server_mechanisms) is None else _e_multiple(x, _e_symbol),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "sasl-mechanisms") from None


def _dec_sasl_mechanisms(items: Any) -> SaslMechanisms:
    if type(items) is not list:
        raise _not_list(items, "sasl-mechanisms")
    v = _new(SaslMechanisms)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.sasl_server_mechanisms = _multiple(items[0], "sasl-mechanisms.sasl-server-mechanisms", mandatory=True, check=lambda x0: x0 if type(x0) is Symbol else _c_symbol(x0, "sasl-mechanisms.sasl-server-mechanisms"))
    return v


register_encoder(SaslMechanisms, _enc_sasl_mechanisms)
register_described(0x40, 'amqp:sasl-mechanisms:list', _dec_sasl_mechanisms)


class SaslInit(_Composite):
    """AMQP ``sasl-init`` (amqp:sasl-init:list, 0x00000041)."""

    __slots__ = ('mechanism', 'initial_response', 'hostname', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x41
    SYMBOL: ClassVar[str] = 'amqp:sasl-init:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, None, )

    mechanism: str
    initial_response: bytes | None
    hostname: str | None

    def __init__(
        self,
        *,
        mechanism: str,
        initial_response: bytes | None = None,
        hostname: str | None = None,
    ) -> None:
        self.mechanism = mechanism
        self.initial_response = initial_response
        self.hostname = hostname


def _enc_sasl_init(v: SaslInit) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x41', [
            _NULL if (x := v.mechanism) is None else _e_symbol(x),
            _NULL if (x := v.initial_response) is None else _e_binary(x),
            _NULL if (x := v.hostname) is None else _e_string(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "sasl-init") from None


def _dec_sasl_init(items: Any) -> SaslInit:
    if type(items) is not list:
        raise _not_list(items, "sasl-init")
    v = _new(SaslInit)
    x: Any
    if len(items) < 3:
        items = items + _NONES[:3 - len(items)]
    v.mechanism = x if type(x := items[0]) is Symbol else _c_symbol(x, "sasl-init.mechanism", mandatory=True)
    v.initial_response = x if (x := items[1]) is None or type(x) is bytes else _c_bytes(x, "sasl-init.initial-response")
    v.hostname = x if (x := items[2]) is None or type(x) is str else _c_str(x, "sasl-init.hostname")
    return v


register_encoder(SaslInit, _enc_sasl_init)
register_described(0x41, 'amqp:sasl-init:list', _dec_sasl_init)


class SaslChallenge(_Composite):
    """AMQP ``sasl-challenge`` (amqp:sasl-challenge:list, 0x00000042)."""

    __slots__ = ('challenge', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x42
    SYMBOL: ClassVar[str] = 'amqp:sasl-challenge:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    challenge: bytes

    def __init__(
        self,
        *,
        challenge: bytes,
    ) -> None:
        self.challenge = challenge


def _enc_sasl_challenge(v: SaslChallenge) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x42', [
            _NULL if (x := v.challenge) is None else _e_binary(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "sasl-challenge") from None


def _dec_sasl_challenge(items: Any) -> SaslChallenge:
    if type(items) is not list:
        raise _not_list(items, "sasl-challenge")
    v = _new(SaslChallenge)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.challenge = x if type(x := items[0]) is bytes else _c_bytes(x, "sasl-challenge.challenge", mandatory=True)
    return v


register_encoder(SaslChallenge, _enc_sasl_challenge)
register_described(0x42, 'amqp:sasl-challenge:list', _dec_sasl_challenge)


class SaslResponse(_Composite):
    """AMQP ``sasl-response`` (amqp:sasl-response:list, 0x00000043)."""

    __slots__ = ('response', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x43
    SYMBOL: ClassVar[str] = 'amqp:sasl-response:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, )

    response: bytes

    def __init__(
        self,
        *,
        response: bytes,
    ) -> None:
        self.response = response


def _enc_sasl_response(v: SaslResponse) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x43', [
            _NULL if (x := v.response) is None else _e_binary(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "sasl-response") from None


def _dec_sasl_response(items: Any) -> SaslResponse:
    if type(items) is not list:
        raise _not_list(items, "sasl-response")
    v = _new(SaslResponse)
    x: Any
    if len(items) < 1:
        items = items + _NONES[:1 - len(items)]
    v.response = x if type(x := items[0]) is bytes else _c_bytes(x, "sasl-response.response", mandatory=True)
    return v


register_encoder(SaslResponse, _enc_sasl_response)
register_described(0x43, 'amqp:sasl-response:list', _dec_sasl_response)


class SaslOutcome(_Composite):
    """AMQP ``sasl-outcome`` (amqp:sasl-outcome:list, 0x00000044)."""

    __slots__ = ('code', 'additional_data', )
    _FIELDS: ClassVar[tuple[str, ...]] = __slots__
    DESCRIPTOR: ClassVar[int] = 0x44
    SYMBOL: ClassVar[str] = 'amqp:sasl-outcome:list'
    _DEFAULTS: ClassVar[tuple[Any, ...]] = (None, None, )

    code: SaslCode
    additional_data: bytes | None

    def __init__(
        self,
        *,
        code: SaslCode,
        additional_data: bytes | None = None,
    ) -> None:
        self.code = code
        self.additional_data = additional_data


def _enc_sasl_outcome(v: SaslOutcome) -> bytes:
    x: Any
    try:
        return _composite(b'\x00\x53\x44', [
            _NULL if (x := v.code) is None else _e_ubyte(x),
            _NULL if (x := v.additional_data) is None else _e_binary(x),
        ])
    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise _locate(exc, v, "sasl-outcome") from None


def _dec_sasl_outcome(items: Any) -> SaslOutcome:
    if type(items) is not list:
        raise _not_list(items, "sasl-outcome")
    v = _new(SaslOutcome)
    x: Any
    if len(items) < 2:
        items = items + _NONES[:2 - len(items)]
    v.code = x if type(x := items[0]) is SaslCode else _c_enum(SaslCode, x, "sasl-outcome.code", mandatory=True)
    v.additional_data = x if (x := items[1]) is None or type(x) is bytes else _c_bytes(x, "sasl-outcome.additional-data")
    return v


register_encoder(SaslOutcome, _enc_sasl_outcome)
register_described(0x44, 'amqp:sasl-outcome:list', _dec_sasl_outcome)


Open._FIELD_ENCODERS = (_e_string, _e_string, _e_uint, _e_ushort, _e_uint, lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), _e_symbol_map, )
Begin._FIELD_ENCODERS = (_e_ushort, _e_uint, _e_uint, _e_uint, _e_uint, lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), _e_symbol_map, )
Attach._FIELD_ENCODERS = (_e_string, _e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_ubyte, _e_ubyte, _e_any, _e_any, _e_any, lambda x: (b'\x41' if x else b'\x42'), _e_uint, _e_ulong, lambda x: _e_multiple(x, _e_symbol), lambda x: _e_multiple(x, _e_symbol), _e_symbol_map, )
Flow._FIELD_ENCODERS = (_e_uint, _e_uint, _e_uint, _e_uint, _e_uint, _e_uint, _e_uint, _e_uint, lambda x: (b'\x41' if x else b'\x42'), lambda x: (b'\x41' if x else b'\x42'), _e_symbol_map, )
Transfer._FIELD_ENCODERS = (_e_uint, _e_uint, _e_binary, _e_uint, lambda x: (b'\x41' if x else b'\x42'), lambda x: (b'\x41' if x else b'\x42'), _e_ubyte, _e_any, lambda x: (b'\x41' if x else b'\x42'), lambda x: (b'\x41' if x else b'\x42'), lambda x: (b'\x41' if x else b'\x42'), )
Disposition._FIELD_ENCODERS = (lambda x: (b'\x41' if x else b'\x42'), _e_uint, _e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_any, lambda x: (b'\x41' if x else b'\x42'), )
Detach._FIELD_ENCODERS = (_e_uint, lambda x: (b'\x41' if x else b'\x42'), _e_any, )
End._FIELD_ENCODERS = (_e_any, )
Close._FIELD_ENCODERS = (_e_any, )
SaslMechanisms._FIELD_ENCODERS = (lambda x: _e_multiple(x, _e_symbol), )
SaslInit._FIELD_ENCODERS = (_e_symbol, _e_binary, _e_string, )
SaslChallenge._FIELD_ENCODERS = (_e_binary, )
SaslResponse._FIELD_ENCODERS = (_e_binary, )
SaslOutcome._FIELD_ENCODERS = (_e_ubyte, _e_binary, )
