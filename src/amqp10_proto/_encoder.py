"""Encoding of single AMQP 1.0 values (types.xml, section 1.6).

The encoder dispatches on the exact Python type of a value and always picks the
smallest encoding the spec allows (uint0, smalluint, list0, str8 ...). It
rejects what AMQP cannot represent with an error naming the value and its place.
Composite types plug in from above with :func:`register_encoder`.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid
from collections.abc import Callable
from typing import Any

from . import _wire
from ._errors import EncodeError, EncodeTypeError
from ._types import (
    Array,
    Byte,
    Char,
    Decimal32,
    Decimal64,
    Decimal128,
    Described,
    Float,
    Int,
    Map,
    Short,
    Symbol,
    Timestamp,
    UByte,
    UInt,
    ULong,
    UShort,
)

_UTC = _wire.UTC
_EPOCH = _wire.EPOCH
_pack_H = _wire.S_H.pack
_pack_I = _wire.S_I.pack
_pack_Q = _wire.S_Q.pack
_pack_h = _wire.S_h.pack
_pack_i = _wire.S_i.pack
_pack_q = _wire.S_q.pack
_pack_f = _wire.S_f.pack
_pack_d = _wire.S_d.pack
_pack_II = _wire.S_II.pack
_unpack_II = _wire.S_II.unpack_from

_datetime = _dt.datetime
_UUID = uuid.UUID

# One-byte length prefixes, precomputed: bytes((n,)) costs a call per value.
_LEN8 = [bytes((i,)) for i in range(256)]
# Constructor and one-byte length together, so a short value costs one concatenation.
_VBIN8 = [b"\xa0" + n for n in _LEN8]
_STR8 = [b"\xa1" + n for n in _LEN8]
_SYM8 = [b"\xa3" + n for n in _LEN8]
_SMALLUINT = [b"\x52" + n for n in _LEN8]
_SMALLULONG = [b"\x53" + n for n in _LEN8]



# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------

Encoder = Callable[[Any], bytes]
_ENCODERS: dict[type, Encoder] = {}


def register_encoder(cls: type, encoder: Encoder) -> None:
    """Make ``encode`` handle instances of exactly ``cls`` with ``encoder``."""
    _ENCODERS[cls] = encoder


def encode(value: Any) -> bytes:
    """Encode one Python value as one AMQP value, in its smallest encoding.

    Raises :class:`EncodeTypeError` (a ``TypeError``) for a type with no AMQP
    mapping and :class:`EncodeError` (a ``ValueError``) for a value out of its
    type's range; both name the value and its place in the structure.
    """
    enc = _ENCODERS.get(type(value))
    if enc is None:
        enc = _encoder_for(value)
    try:
        return enc(value)
    except RecursionError:  # a self-referencing or absurdly deep structure
        raise EncodeError("value nested too deeply to encode") from None


def _encoder_for(value: Any) -> Encoder:
    """Find the encoder for a subclass of a supported type (e.g. an IntEnum)."""
    for cls in type(value).__mro__[1:]:
        enc = _ENCODERS.get(cls)
        if enc is not None:
            return enc
    if isinstance(value, (bytearray, memoryview)):
        return _e_binary
    raise EncodeTypeError(f"cannot encode {value!r} of type {type(value).__name__} as AMQP")


def _e_any(value: Any) -> bytes:
    enc = _ENCODERS.get(type(value))
    if enc is None:
        enc = _encoder_for(value)
    return enc(value)


def _range_error(value: Any, name: str) -> EncodeError:
    return EncodeError(f"{int(value)} is out of range for AMQP {name}")


def _e_null(value: None) -> bytes:
    return b"\x40"


def _e_bool(value: bool) -> bytes:
    return b"\x41" if value else b"\x42"


def _e_ubyte(value: int) -> bytes:
    if not 0 <= value <= 0xFF:
        raise _range_error(value, "ubyte")
    return b"\x50" + _LEN8[value]


def _e_ushort(value: int) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise _range_error(value, "ushort")
    return b"\x60" + _pack_H(value)


def _e_uint(value: int) -> bytes:
    # 1.6.4: uint0 for zero, smalluint below 256.
    if value == 0:
        return b"\x43"
    if 0 < value < 256:
        return _SMALLUINT[value]
    if not 0 <= value <= 0xFFFFFFFF:
        raise _range_error(value, "uint")
    return b"\x70" + _pack_I(value)


def _e_ulong(value: int) -> bytes:
    if value == 0:
        return b"\x44"
    if 0 < value < 256:
        return _SMALLULONG[value]
    if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
        raise _range_error(value, "ulong")
    return b"\x80" + _pack_Q(value)


def _e_byte(value: int) -> bytes:
    if not -0x80 <= value <= 0x7F:
        raise _range_error(value, "byte")
    return b"\x51" + _LEN8[value & 0xFF]


def _e_short(value: int) -> bytes:
    if not -0x8000 <= value <= 0x7FFF:
        raise _range_error(value, "short")
    return b"\x61" + _pack_h(value)


def _e_int(value: int) -> bytes:
    if -128 <= value <= 127:
        return b"\x54" + _LEN8[value & 0xFF]
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise _range_error(value, "int")
    return b"\x71" + _pack_i(value)


def _e_long(value: int) -> bytes:
    if -128 <= value <= 127:
        return b"\x55" + _LEN8[value & 0xFF]
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise _range_error(value, "long")
    return b"\x81" + _pack_q(value)


def _e_float(value: float) -> bytes:
    try:
        return b"\x72" + _pack_f(value)
    except OverflowError:
        raise EncodeError(f"{float(value)!r} is out of range for AMQP float") from None


def _e_double(value: float) -> bytes:
    return b"\x82" + _pack_d(value)


def _e_decimal32(value: Decimal32) -> bytes:
    return b"\x74" + value.raw


def _e_decimal64(value: Decimal64) -> bytes:
    return b"\x84" + value.raw


def _e_decimal128(value: Decimal128) -> bytes:
    return b"\x94" + value.raw


def _char_code(value: str) -> int:
    if len(value) != 1:
        raise EncodeError(f"AMQP char holds one code point, not {value!r}")
    cp = ord(value)
    if 0xD800 <= cp <= 0xDFFF:
        raise EncodeError(f"{value!r} is a surrogate, not a valid AMQP char")
    return cp


def _e_char(value: str) -> bytes:
    return b"\x73" + _pack_I(_char_code(value))


def timestamp_ms(value: Any) -> int:
    """Milliseconds since the epoch for an aware datetime or a Timestamp (floored)."""
    if isinstance(value, _datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise EncodeError(f"naive datetime {value!r} is ambiguous; give it a tzinfo")
        delta = value - _EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise EncodeTypeError(f"cannot encode {value!r} as AMQP timestamp")


def _e_timestamp(value: Any) -> bytes:
    if type(value) is _datetime and value.tzinfo is _UTC:  # the common case
        delta = value - _EPOCH
        ms = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    else:
        ms = timestamp_ms(value)
    if not -0x8000000000000000 <= ms <= 0x7FFFFFFFFFFFFFFF:
        raise _range_error(ms, "timestamp")
    return b"\x83" + _pack_q(ms)


def _e_uuid(value: uuid.UUID) -> bytes:
    return b"\x98" + value.bytes


def _e_binary(value: bytes | bytearray | memoryview) -> bytes:
    if type(value) is memoryview:  # any shape or stride: its bytes, in C order
        value = value.tobytes()
    n = len(value)
    if n < 256:
        return _VBIN8[n] + value
    if n > 0xFFFFFFFF:
        raise EncodeError("binary longer than 4 GiB")
    return b"\xb0" + _pack_I(n) + value


def _e_string(value: str) -> bytes:
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError(f"string {value!r} is not valid Unicode (lone surrogate)") from None
    n = len(raw)
    if n < 256:
        return _STR8[n] + raw
    return b"\xb1" + _pack_I(n) + raw


def _e_symbol(value: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise EncodeError(f"symbol {value!r} must be ASCII") from None
    n = len(raw)
    if n < 256:
        return _SYM8[n] + raw
    return b"\xb3" + _pack_I(n) + raw


def _wrap_list(body: bytes, count: int) -> bytes:
    """list8 when size and count fit a byte, list32 otherwise (1.6.22)."""
    size = len(body) + 1
    if size < 256 and count < 256:
        return b"\xc0" + _LEN8[size] + _LEN8[count] + body
    return b"\xd0" + _pack_II(size + 3, count) + body


def _e_list(value: list[Any] | tuple[Any, ...]) -> bytes:
    if not value:
        return b"\x45"
    try:
        body = b"".join([_e_any(v) for v in value])
    except EncodeError as exc:
        raise _at(exc, value, lambda i: f"[{i}]") from None
    return _wrap_list(body, len(value))


def _wrap_map(body: bytes, count: int) -> bytes:
    size = len(body) + 1
    if size < 256 and count < 256:
        return b"\xc1" + _LEN8[size] + _LEN8[count] + body
    return b"\xd1" + _pack_II(size + 3, count) + body


def encode_map_with(
    items: Any, key_encoder: Encoder, value_encoders: dict[type, Encoder] | None = None
) -> bytes:
    """Encode ``(key, value)`` pairs as an AMQP map (1.6.23).

    ``key_encoder`` encodes every key (the spec restricts keys in many maps);
    values go through ``value_encoders`` (by exact type; the full encoder
    table by default) and fall back to the subclass lookup of :func:`encode`.
    """
    table = _ENCODERS if value_encoders is None else value_encoders
    parts: list[bytes] = []
    append = parts.append
    try:
        for k, v in items:
            append(key_encoder(k))
            enc = table.get(type(v))
            if enc is None:
                enc = _encoder_for(v) if value_encoders is None else _strict_encoder_for(v, table)
            append(enc(v))
    except EncodeError as exc:
        raise _locate_pair(exc, items, key_encoder, table) from None
    return _wrap_map(b"".join(parts), len(parts))


def _strict_encoder_for(value: Any, table: dict[type, Encoder]) -> Encoder:
    for cls in type(value).__mro__[1:]:
        enc = table.get(cls)
        if enc is not None:
            return enc
    if _ENCODERS.get(type(value)) is not None or isinstance(value, (list, tuple, dict)):
        raise EncodeError(f"{value!r:.60} ({type(value).__name__}) is not allowed here")
    return _encoder_for(value)


def _locate_pair(exc: EncodeError, items: Any, key_encoder: Encoder,
                 table: dict[type, Encoder]) -> EncodeError:
    """Name the key whose key or value failed to encode (error path only)."""
    for k, v in items:
        try:
            key_encoder(k)
        except EncodeError:
            return _prefix(exc, f"[key {k!r}]")
        try:
            enc = table.get(type(v)) or _strict_encoder_for(v, table)
            enc(v)
        except EncodeError:
            return _prefix(exc, f"[{k!r}]")
    return exc


def _e_dict(value: dict[Any, Any]) -> bytes:
    return encode_map_with(value.items(), _e_any)


def _e_map(value: Map) -> bytes:
    return encode_map_with(value.pairs, _e_any)


def simple_encoders() -> dict[type, Encoder]:
    """The encoder table less list, map and array: for maps whose values must be simple."""
    return {t: e for t, e in _ENCODERS.items() if t not in (list, tuple, dict, Map, Array)}


def _e_described(value: Described) -> bytes:
    try:
        desc = value._raw_descriptor or _e_descriptor(value.descriptor)
    except EncodeError as exc:
        raise _prefix(exc, ".descriptor") from None
    try:
        return b"\x00" + desc + _e_any(value.value)
    except EncodeError as exc:
        raise _prefix(exc, ".value") from None


def _e_descriptor(descriptor: Any) -> bytes:
    # 1.5: a descriptor is a symbol or a ulong (a plain int is taken as a ulong).
    if isinstance(descriptor, str):
        return _e_symbol(descriptor)
    if isinstance(descriptor, int) and not isinstance(descriptor, bool):
        return _e_ulong(descriptor)
    raise EncodeTypeError(f"descriptor {descriptor!r} must be a symbol or a ulong")


def _prefix(exc: EncodeError, where: str) -> EncodeError:
    """The same error, placed ``where`` deeper in the structure."""
    text = str(exc)
    if exc.path and text.endswith(" at " + exc.path):
        # Strip the old place only: the message itself may contain " at ".
        text = text[: -len(exc.path) - 4]
    return type(exc)(text, where + exc.path)


def _at(exc: EncodeError, seq: Any, label: Callable[[int], str]) -> EncodeError:
    # Find which element failed, to name its place; only runs on the error path.
    for i, v in enumerate(seq):
        try:
            _e_any(v)
        except EncodeError:
            return _prefix(exc, label(i))
    return exc


# Arrays (1.6.24): one constructor for every element. Each element type has a
# checker that validates one item and returns what the payload is built from;
# the payload then uses the smallest constructor that fits every element.


def _item_int(name: str, lo: int, hi: int) -> Callable[[Any], Any]:
    def check(v: Any) -> int:
        if type(v) is bool or not isinstance(v, int):
            raise EncodeTypeError(f"{v!r} is not an AMQP {name}")
        if not lo <= v <= hi:
            raise _range_error(v, name)
        return int(v)

    return check


def _item_null(v: Any) -> None:
    if v is not None:
        raise EncodeTypeError(f"{v!r} is not null")


def _item_boolean(v: Any) -> int:
    if type(v) is not bool:
        raise EncodeTypeError(f"{v!r} is not a boolean")
    return 1 if v else 0


def _item_real(name: str) -> Callable[[Any], Any]:
    def check(v: Any) -> float:
        if type(v) is bool or not isinstance(v, (int, float)):
            raise EncodeTypeError(f"{v!r} is not an AMQP {name}")
        try:
            f = float(v)
            if name == "float":
                _pack_f(f)
        except OverflowError:
            raise EncodeError(f"{v!r} is out of range for AMQP {name}") from None
        return f

    return check


def _item_decimal(cls: type[Decimal32 | Decimal64 | Decimal128]) -> Callable[[Any], Any]:
    def check(v: Any) -> bytes:
        if not isinstance(v, cls):
            raise EncodeTypeError(f"{v!r} is not a {cls.__name__}")
        return v.raw

    return check


def _item_char(v: Any) -> int:
    if not isinstance(v, str):
        raise EncodeTypeError(f"{v!r} is not an AMQP char")
    return _char_code(v)


def _item_timestamp(v: Any) -> int:
    ms = timestamp_ms(v)
    if not -0x8000000000000000 <= ms <= 0x7FFFFFFFFFFFFFFF:
        raise _range_error(ms, "timestamp")
    return ms


def _item_uuid(v: Any) -> bytes:
    if not isinstance(v, _UUID):
        raise EncodeTypeError(f"{v!r} is not a UUID")
    return v.bytes


def _item_binary(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise EncodeTypeError(f"{v!r} is not binary")


def _item_string(v: Any) -> bytes:
    if not isinstance(v, str):
        raise EncodeTypeError(f"{v!r} is not a string")
    try:
        return v.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError(f"string {v!r} is not valid Unicode (lone surrogate)") from None


def _item_symbol(v: Any) -> bytes:
    if not isinstance(v, str):
        raise EncodeTypeError(f"{v!r} is not a symbol")
    try:
        return v.encode("ascii")
    except UnicodeEncodeError:
        raise EncodeError(f"symbol {v!r} must be ASCII") from None


_ARRAY_ITEM: dict[str, Callable[[Any], Any]] = {
    "null": _item_null,
    "boolean": _item_boolean,
    "ubyte": _item_int("ubyte", 0, 0xFF),
    "ushort": _item_int("ushort", 0, 0xFFFF),
    "uint": _item_int("uint", 0, 0xFFFFFFFF),
    "ulong": _item_int("ulong", 0, 0xFFFFFFFFFFFFFFFF),
    "byte": _item_int("byte", -0x80, 0x7F),
    "short": _item_int("short", -0x8000, 0x7FFF),
    "int": _item_int("int", -0x80000000, 0x7FFFFFFF),
    "long": _item_int("long", -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    "float": _item_real("float"),
    "double": _item_real("double"),
    "decimal32": _item_decimal(Decimal32),
    "decimal64": _item_decimal(Decimal64),
    "decimal128": _item_decimal(Decimal128),
    "char": _item_char,
    "timestamp": _item_timestamp,
    "uuid": _item_uuid,
    "binary": _item_binary,
    "string": _item_string,
    "symbol": _item_symbol,
    "list": lambda v: _encode_simple("list", v),
    "map": lambda v: _encode_simple("map", v),
    "array": lambda v: _encode_simple("array", v),
}

# element type: (constructor, struct code) for fixed-width payloads; the
# integer types with a one-byte form list (wide, small) and pick per array.
_ARRAY_FIXED: dict[str, tuple[bytes, str]] = {
    "ubyte": (b"\x50", "B"), "ushort": (b"\x60", "H"), "byte": (b"\x51", "b"),
    "short": (b"\x61", "h"), "float": (b"\x72", "f"), "double": (b"\x82", "d"),
    "char": (b"\x73", "I"), "timestamp": (b"\x83", "q"),
}
_ARRAY_SMALL_INT: dict[str, tuple[bytes, str, bytes, str, int, int]] = {
    # 1.6.4-1.6.9: smalluint, smallulong, smallint, smalllong when all fit a byte.
    "uint": (b"\x70", "I", b"\x52", "B", 0, 0xFF),
    "ulong": (b"\x80", "Q", b"\x53", "B", 0, 0xFF),
    "int": (b"\x71", "i", b"\x54", "b", -0x80, 0x7F),
    "long": (b"\x81", "q", b"\x55", "b", -0x80, 0x7F),
}
_ARRAY_JOINED: dict[str, bytes] = {
    "decimal32": b"\x74", "decimal64": b"\x84", "decimal128": b"\x94", "uuid": b"\x98",
}
_ARRAY_VARIABLE: dict[str, tuple[bytes, bytes]] = {
    "binary": (b"\xa0", b"\xb0"), "string": (b"\xa1", b"\xb1"), "symbol": (b"\xa3", b"\xb3"),
}


def _array_payload(element_type: str, items: list[Any]) -> tuple[bytes, bytes]:
    """(element constructor, concatenated element encodings sans constructor)."""
    check = _ARRAY_ITEM.get(element_type)
    if check is None:
        raise EncodeError(f"unknown AMQP array element type {element_type!r}")
    vals = []
    for i, v in enumerate(items):
        try:
            vals.append(check(v))
        except EncodeError as exc:
            raise _prefix(exc, f"[{i}]") from None
    n = len(vals)
    if element_type in _ARRAY_FIXED:
        ctor, code = _ARRAY_FIXED[element_type]
        return ctor, struct.pack(f">{n}{code}", *vals)
    if element_type in _ARRAY_SMALL_INT:
        wctor, wcode, sctor, scode, lo, hi = _ARRAY_SMALL_INT[element_type]
        if all(lo <= v <= hi for v in vals):
            return sctor, struct.pack(f">{n}{scode}", *vals)
        return wctor, struct.pack(f">{n}{wcode}", *vals)
    if element_type in _ARRAY_JOINED:
        return _ARRAY_JOINED[element_type], b"".join(vals)
    if element_type in _ARRAY_VARIABLE:
        small, wide = _ARRAY_VARIABLE[element_type]
        if all(len(r) < 256 for r in vals):
            return small, b"".join([_LEN8[len(r)] + r for r in vals])
        return wide, b"".join([_pack_I(len(r)) + r for r in vals])
    if element_type == "null":
        return b"\x40", b""
    if element_type == "boolean":
        return b"\x56", bytes(vals)
    # list, map, array: every element must use the same constructor, the 8-bit
    # form if every element fits it, else the 32-bit form.
    small_ctor = {"list": 0xC0, "map": 0xC1, "array": 0xE0}[element_type]
    payloads = [_compound_payload(e, small_ctor) for e in vals]
    if all(p[0] is not None for p in payloads):
        return bytes((small_ctor,)), b"".join([p[0] for p in payloads])  # type: ignore[misc]
    return bytes((small_ctor + 0x10,)), b"".join([p[1] for p in payloads])


def _encode_simple(element_type: str, value: Any) -> bytes:
    """Encode one array element as a stand-alone value of ``element_type``."""
    if element_type == "list":
        if not isinstance(value, (list, tuple)):
            raise EncodeTypeError(f"{value!r} is not a list")
        return _e_list(value)
    if element_type == "map":
        if isinstance(value, dict):
            return _e_dict(value)
        if isinstance(value, Map):
            return _e_map(value)
        raise EncodeTypeError(f"{value!r} is not a map")
    if not isinstance(value, Array):
        raise EncodeTypeError(f"{value!r} is not an Array")
    return _e_array(value)


def _compound_payload(enc: bytes, small_ctor: int) -> tuple[bytes | None, bytes]:
    """(8-bit form or None, 32-bit form) of an encoded list, map or array, sans constructor."""
    ctor = enc[0]
    if ctor == 0x45:  # list0 → size 1, count 0
        return b"\x01\x00", b"\x00\x00\x00\x04\x00\x00\x00\x00"
    if ctor == small_ctor:
        size, count = enc[1], enc[2]
        rest = enc[3:]
        return enc[1:], _pack_II(size + 3, count) + rest
    # 32-bit form
    size, count = _unpack_II(enc, 1)
    rest = enc[9:]
    if size - 3 < 256 and count < 256:
        return _LEN8[size - 3] + _LEN8[count] + rest, enc[1:]
    return None, enc[1:]


def _e_array(value: Array) -> bytes:
    ctor, payload = _array_payload(value.element_type, value.items)
    raw = value._raw_descriptor
    if raw is not None and raw[0] is value.descriptor:
        ctor = b"\x00" + raw[1] + ctor  # an unusual descriptor, as it came
    elif value.descriptor is not None:
        try:
            ctor = b"\x00" + _e_descriptor(value.descriptor) + ctor
        except EncodeError as exc:
            raise _prefix(exc, ".descriptor") from None
    count = len(value.items)
    size = len(payload) + len(ctor) + 1
    if size < 256 and count < 256:
        return b"\xe0" + _LEN8[size] + _LEN8[count] + ctor + payload
    return b"\xf0" + _pack_II(size + 3, count) + ctor + payload


_ENCODERS.update({
    type(None): _e_null,
    bool: _e_bool,
    UByte: _e_ubyte,
    UShort: _e_ushort,
    UInt: _e_uint,
    ULong: _e_ulong,
    Byte: _e_byte,
    Short: _e_short,
    Int: _e_int,
    int: _e_long,
    Float: _e_float,
    float: _e_double,
    Decimal32: _e_decimal32,
    Decimal64: _e_decimal64,
    Decimal128: _e_decimal128,
    Char: _e_char,
    Timestamp: _e_timestamp,
    _datetime: _e_timestamp,
    _UUID: _e_uuid,
    bytes: _e_binary,
    bytearray: _e_binary,
    memoryview: _e_binary,
    str: _e_string,
    Symbol: _e_symbol,
    list: _e_list,
    tuple: _e_list,
    dict: _e_dict,
    Map: _e_map,
    Array: _e_array,
    Described: _e_described,
})


