"""A message's sections one at a time (messaging.xml 3.2.1 - 3.2.9), below the message.

A section's descriptor code and place in 3.2's order, its encoding, and on receipt its
descriptor found and, kept as its bytes, its value read when first asked for (see
``_message``, which puts the sections together into a whole message).
"""

from __future__ import annotations

import struct
from typing import Any

from ._composite import cached_key
from ._decoder import (
    _FAST_MS_MAX,
    _MS_BASES,
    _MS_OFFSETS,
    _PLACES,
    _SMALL_UINTS,
    _SYMBOLS,
    _UBYTES,
    SECTION_MAP_DEPTH,
    _ms_base,
    _symbol,
    _unpack_q,
    decode_one,
    ms_to_datetime,
    section_items,
    section_value,
    skip_value,
)
from ._definitions import Header, Properties
from ._encoder import _LEN8, _e_string, encode_map_with, simple_encoders
from ._errors import DecodeError, EncodeError, EncodeTypeError
from ._types import Map, Symbol, UByte, UInt, ULong

_pack_I = struct.Struct(">I").pack
_unpack_I = struct.Struct(">I").unpack_from

# Section descriptor codes (3.2.1 - 3.2.10).
_HEADER, _DELIVERY_ANN, _MESSAGE_ANN, _PROPERTIES, _APP_PROPS = 0x70, 0x71, 0x72, 0x73, 0x74
_DATA, _SEQUENCE, _VALUE, _FOOTER = 0x75, 0x76, 0x77, 0x78
_SECTION_NAMES = {
    "amqp:header:list": _HEADER,
    "amqp:delivery-annotations:map": _DELIVERY_ANN,
    "amqp:message-annotations:map": _MESSAGE_ANN,
    "amqp:properties:list": _PROPERTIES,
    "amqp:application-properties:map": _APP_PROPS,
    "amqp:data:binary": _DATA,
    "amqp:amqp-sequence:list": _SEQUENCE,
    "amqp:amqp-value:*": _VALUE,
    "amqp:footer:map": _FOOTER,
}
# Where each section may stand (3.2: "the bare message ... is annotated").
_ORDER = {_HEADER: 0, _DELIVERY_ANN: 1, _MESSAGE_ANN: 2, _PROPERTIES: 3, _APP_PROPS: 4,
          _DATA: 5, _SEQUENCE: 5, _VALUE: 5, _FOOTER: 6}
_BODY_NAMES = {_DATA: "data", _SEQUENCE: "amqp-sequence", _VALUE: "amqp-value"}


# -- encoding of sections -------------------------------------------------------

_STRING_KEYS: dict[str, bytes] = {}


def _e_app_key(key: Any) -> bytes:
    # 3.2.5: application-properties keys are strings.
    if type(key) is str:
        return cached_key(_STRING_KEYS, key, _e_string)
    if not isinstance(key, str):
        raise EncodeTypeError(f"application property key {key!r} must be a string")
    return _e_string(key)


def _map_pairs(value: Any) -> Any:
    if isinstance(value, Map):
        return value.pairs
    if isinstance(value, dict):
        return value.items()
    raise EncodeTypeError(f"{value!r:.60} is not a map")


# 3.2.5: values are restricted to simple types (no map, list or array).
_SIMPLE_ENCODERS: dict[type, Any] = {}


def _enc_app_props(value: Any) -> bytes:
    if not _SIMPLE_ENCODERS:
        _SIMPLE_ENCODERS.update(simple_encoders())
    return b"\x00\x53\x74" + encode_map_with(_map_pairs(value), _e_app_key, _SIMPLE_ENCODERS)


_DATA8 = [b"\x00\x53\x75\xa0" + bytes((n,)) for n in range(256)]


def _data_header(n: int) -> bytes:
    if n < 256:
        return b"\x00\x53\x75\xa0" + _LEN8[n]
    return b"\x00\x53\x75\xb0" + _pack_I(n)


def _raw(section: bytes, code: int) -> bytes:
    """An unread section's bytes, to write back as they came (checked: bytes set by hand)."""
    if len(section) < 4 or section[2] != code or section[1] != 0x53 or section[0]:
        raise EncodeTypeError(f"{section[:8]!r}... is not an encoded section 0x{code:x}")
    return section


def _in_section(exc: EncodeError, where: str) -> EncodeError:
    text = str(exc).split(" at ", 1)[0] if exc.path else str(exc)
    return type(exc)(text, where + exc.path)


def _section(prefix: bytes, value: Any, where: str, encoder: Any) -> bytes:
    try:
        return prefix + encoder(value)  # type: ignore[no-any-return]
    except EncodeError as exc:
        raise _in_section(exc, where) from None
    except (TypeError, AttributeError):
        raise EncodeTypeError(f"{value!r:.60} is not a map", where) from None


# -- lazily decoded sections ----------------------------------------------------

class _Lazy:
    """A body section (amqp-value, amqp-sequence) kept as its encoded bytes until first read."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw  # the whole section: 00 53 code, then its value

    def value(self) -> Any:
        return section_value(self.raw, self.raw[2])


def _load_map(raw: bytes, code: int, what: str) -> Any:
    """An unread map section (annotations, footer) decoded the general way (after
    :func:`section_map`'s checks declined it, or read an empty one), or DecodeError."""
    value = section_value(raw, code)
    if type(value) is not dict and type(value) is not Map:
        raise DecodeError(f"{what} section must be a map, not {type(value).__name__}")
    return value


_DEPTH = SECTION_MAP_DEPTH
_HEADER_FIELDS = (bool, UByte, UInt, bool, UInt)  # 3.2.1, in order
_UINT0 = UInt(0)
_PRIORITY = UByte(4)  # 3.2.1: the default priority
_new_header = Header.__new__


def _read_header(raw: bytes) -> Header | None:
    """The header section in its usual form read directly, or None for the general path.

    The usual form: a list0, or a list8 of booleans (true, false), a ubyte and uints
    (uint, smalluint, uint0), any of them null (the default). It builds the Header the
    general decoder does; anything else (and anything invalid) returns None, for
    ``_dec_header`` to decode or reject. About a third of its cost, for every message.
    A sender's headers mostly repeat byte for byte, so the fields read from each form are
    kept (immutable values, a bounded number of forms) and a repeat is only built.
    """
    values = _HEADERS.get(raw)
    if values is None:
        values = _header_values(raw)
        if values is None:
            return None
        if len(_HEADERS) < _HEADER_CACHE_MAX:
            _HEADERS[raw] = values
    header = _new_header(Header)
    (header.durable, header.priority, header.ttl, header.first_acquirer,
     header.delivery_count) = values
    return header


# Header sections read, by their bytes (20 at most each): their fields' values.
_HEADERS: dict[bytes, tuple[Any, ...]] = {}
_HEADER_CACHE_MAX = 256


def _header_values(raw: bytes) -> tuple[Any, ...] | None:
    """The five fields of a header section in its usual form (see :func:`_read_header`)."""
    n = len(raw)
    if n < 4 or raw[2] != _HEADER or raw[1] != 0x53 or raw[0]:
        return None
    if raw[3] == 0xC0 and n > 5 and raw[4] + 5 == n and raw[5] <= 5:
        count = raw[5]
        p = 6
    elif raw[3] == 0x45 and n == 4:  # list0: every field its default
        count = 0
        p = 4
    else:
        return None
    values: list[Any] = [False, _PRIORITY, None, False, _UINT0]
    kinds = _HEADER_FIELDS
    try:
        for i in range(count):
            c = raw[p]
            kind = kinds[i]
            if c == 0x40:  # null: the default
                p += 1
                continue
            if kind is bool and (c == 0x41 or c == 0x42):
                values[i] = c == 0x41
                p += 1
            elif kind is UInt and c == 0x52:
                values[i] = _SMALL_UINTS[raw[p + 1]]
                p += 2
            elif kind is UInt and c == 0x43:
                values[i] = _UINT0
                p += 1
            elif kind is UInt and c == 0x70:
                values[i] = UInt(_unpack_I(raw, p + 1)[0])
                p += 5
            elif kind is UByte and c == 0x50:
                values[i] = _UBYTES[raw[p + 1]]
                p += 2
            else:
                return None
    except (IndexError, struct.error):
        return None
    if p != n:
        return None
    return tuple(values)



# 3.2.4's fields, by place, whose value a str8 / sym8 / timestamp gives as it stands
# (a flag per place: a tuple's item is read faster than a bit of an int).
_PROP_STR8 = tuple(bool(0b1010000111101 >> i & 1) for i in range(13))  # message-id, to ...
_PROP_SYM8 = tuple(bool(0b0000011110101 >> i & 1) for i in range(13))  # ids, to, content-*
_PROP_TIME = tuple(bool(0b0001100000000 >> i & 1) for i in range(13))  # expiry, creation
_new_properties = Properties.__new__


def _read_properties(raw: bytes) -> Properties | None:
    """The properties section in its usual form read straight into its fields, or None.

    The usual form: a list8 whose fields are null, or a str8, sym8 or timestamp where the
    field takes one as it stands (the strings, content-type, the times). It
    builds the Properties ``_dec_properties`` does; anything else, or anything invalid,
    returns None, for the general path to decode or reject.
    """
    n = len(raw)
    if not (n > 5 and raw[:4] == b"\x00\x53\x73\xc0" and raw[4] + 5 == n and raw[5] <= 13):
        return None
    # (A list display of 13 Nones is built from one constant: cheaper than [None] * 13.)
    values: list[Any] = [None, None, None, None, None, None, None, None, None, None, None,
                         None, None]
    p = 6
    try:
        for i in _PLACES[raw[5]]:
            c = raw[p]
            if c == 0x40:
                p += 1
            elif c == 0xA1 and _PROP_STR8[i]:
                start = p + 2
                p = start + raw[p + 1]
                values[i] = raw[start:p].decode()
            elif c == 0xA3 and _PROP_SYM8[i]:
                start = p + 2
                p = start + raw[p + 1]
                values[i] = _SYMBOLS.get(raw[start:p]) or _symbol(raw, start, p)
            elif c == 0x83 and _PROP_TIME[i]:
                ms = _unpack_q(raw, p + 1)[0]  # ms_to_datetime's usual case inline
                values[i] = ((_MS_BASES.get(ms >> 10) or _ms_base(ms >> 10))
                             + _MS_OFFSETS[ms & 1023] if 0 <= ms < _FAST_MS_MAX
                             else ms_to_datetime(ms))
                p += 9
            else:
                return None
    except (IndexError, UnicodeDecodeError, struct.error):
        return None
    if p != n:
        return None
    props = _new_properties(Properties)
    (props.message_id, props.user_id, props.to, props.subject, props.reply_to,
     props.correlation_id, props.content_type, props.content_encoding,
     props.absolute_expiry_time, props.creation_time, props.group_id, props.group_sequence,
     props.reply_to_group_id) = values
    return props


def _load_list(raw: bytes, code: int) -> Any:
    """An unread header or properties section's list (its type checked by the caller)."""
    items = section_items(raw, code, 0xC0)
    if items is not None:
        return items
    return section_value(raw, code)


# -- finding a section in a message --------------------------------------------

# Constructors whose size is the one byte after them (skipped without a call).
_SHORT_SIZED = frozenset((0xA0, 0xA1, 0xA3, 0xC0, 0xC1, 0xE0))
_PREFIXES = {code: bytes((0x00, 0x53, code)) for code in _ORDER}


_ORDER_OF: list[int | None] = [_ORDER.get(code) for code in range(256)]
# The place of the sections before the body (header .. application-properties), -1 else.
_HEAD_ORDER: list[int] = [o if (o := _ORDER.get(code, 5)) < 5 else -1 for code in range(256)]


def _descriptor(buf: Any, view: memoryview | None, pos: int) -> tuple[int, int]:
    """The code of a section whose descriptor is not the usual ``00 53 code``, and where
    its value starts; DecodeError for no descriptor or an unknown one."""
    if buf[pos] != 0x00:
        raise DecodeError("a message section must be a described value", pos)
    if view is None:
        descriptor, vpos = decode_one(buf, pos + 1)
    else:  # decode_one reads bytes: copy the descriptor alone
        vpos = skip_value(buf, pos + 1)
        descriptor = decode_one(view[pos + 1:vpos].tobytes())[0]
    if type(descriptor) is Symbol:
        code = _SECTION_NAMES.get(descriptor, -1)
    elif type(descriptor) is ULong:
        code = descriptor
    else:
        raise DecodeError("section descriptor must be a ulong or a symbol", pos + 1)
    if code not in _ORDER:
        raise DecodeError(f"unknown message section 0x{code:x}" if code >= 0 else
                          f"unknown message section {descriptor!r}", pos)
    return code, vpos


def _mixed_body(kind_code: int, code: int, pos: int) -> DecodeError:
    # 3.2: the body is data sections, amqp-sequence sections, or one amqp-value.
    return DecodeError(f"a body has both {_BODY_NAMES[kind_code]} and {_BODY_NAMES[code]}"
                       " sections (3.2: one kind of body)", pos)
