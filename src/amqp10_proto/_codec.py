"""Encoding and decoding of single AMQP 1.0 values (types.xml, section 1.6).

The encoder dispatches on the exact Python type of a value and always picks the
smallest encoding the spec allows (uint0, smalluint, list0, str8 ...). The
decoder dispatches on the constructor byte through a 256-entry table; every
read is bounds-checked against the bytes present before anything is built, and
nesting is limited, so malformed input only ever raises :class:`DecodeError`.

Composite types (performatives, message sections ...) plug in from above with
:func:`register_described`, so this module knows nothing about them.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid
from _thread import _local  # threading.local, without importing threading
from collections.abc import Callable
from typing import Any

from ._errors import DecodeError, EncodeError, EncodeTypeError
from ._types import (
    Array,
    Byte,
    Char,
    Decimal32,
    Decimal64,
    Decimal128,
    Described,
    ElementType,
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

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "decode",
    "decode_one",
    "encode",
    "register_described",
    "register_encoder",
    "skip_value",
]

#: How deeply lists, maps, arrays and described values may nest in decoded input.
DEFAULT_MAX_DEPTH = 64

_S_B = struct.Struct(">B")
_S_H = struct.Struct(">H")
_S_I = struct.Struct(">I")
_S_Q = struct.Struct(">Q")
_S_b = struct.Struct(">b")
_S_h = struct.Struct(">h")
_S_i = struct.Struct(">i")
_S_q = struct.Struct(">q")
_S_f = struct.Struct(">f")
_S_d = struct.Struct(">d")
_S_II = struct.Struct(">II")
_S_BB = struct.Struct(">BB")
_pack_H = _S_H.pack
_pack_I = _S_I.pack
_pack_Q = _S_Q.pack
_pack_h = _S_h.pack
_pack_i = _S_i.pack
_pack_q = _S_q.pack
_pack_f = _S_f.pack
_pack_d = _S_d.pack
_pack_II = _S_II.pack
_unpack_H = _S_H.unpack_from
_unpack_I = _S_I.unpack_from
_unpack_Q = _S_Q.unpack_from
_unpack_h = _S_h.unpack_from
_unpack_i = _S_i.unpack_from
_unpack_q = _S_q.unpack_from
_unpack_f = _S_f.unpack_from
_unpack_d = _S_d.unpack_from
_unpack_II = _S_II.unpack_from

_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_MS = _dt.timedelta(milliseconds=1)
_timedelta = _dt.timedelta
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
        desc = _e_descriptor(value.descriptor)
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
    if value.descriptor is not None:
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


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

# A decoder reads the value whose constructor byte sits just before ``pos`` and
# returns (value, position after it). ``depth`` is the nesting still allowed.
Decoder = Callable[[bytes, int, int], tuple[Any, int]]


def _truncated(pos: int, what: str) -> DecodeError:
    return DecodeError(f"input ends inside {what}", pos)


def _d_invalid(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    raise DecodeError(f"unknown constructor 0x{buf[pos - 1]:02x}", pos - 1)


def _d_null(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return None, pos


def _d_true(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return True, pos


def _d_false(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return False, pos


def _d_boolean(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if pos >= len(buf):
        raise _truncated(pos, "boolean")
    b = buf[pos]
    if b > 1:
        raise DecodeError(f"boolean byte must be 0 or 1, not {b}", pos)
    return b == 1, pos + 1


_UBYTES = [UByte(i) for i in range(256)]
_SMALL_UINTS = [UInt(i) for i in range(256)]
_SMALL_ULONGS = [ULong(i) for i in range(256)]
_BYTES = [Byte(i - 256 if i > 127 else i) for i in range(256)]
_SMALL_INTS = [Int(i - 256 if i > 127 else i) for i in range(256)]
_SMALL_LONGS = [i - 256 if i > 127 else i for i in range(256)]


def _table_decoder(table: list[Any], what: str) -> Decoder:
    def decode_small(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise _truncated(pos, what)
        return table[buf[pos]], pos + 1

    return decode_small


def _const_decoder(value: Any) -> Decoder:
    def decode_const(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
        return value, pos

    return decode_const


def _fixed_decoder(unpack: Callable[[bytes, int], tuple[Any, ...]], width: int,
                   cls: Callable[[Any], Any] | None, what: str) -> Decoder:
    if cls is None:
        def decode_fixed_plain(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
            end = pos + width
            if end > len(buf):
                raise _truncated(pos, what)
            return unpack(buf, pos)[0], end

        return decode_fixed_plain

    def decode_fixed(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
        end = pos + width
        if end > len(buf):
            raise _truncated(pos, what)
        return cls(unpack(buf, pos)[0]), end

    return decode_fixed


def _d_decimal(cls: type[Decimal32 | Decimal64 | Decimal128], width: int) -> Decoder:
    def decode_decimal(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
        end = pos + width
        if end > len(buf):
            raise _truncated(pos, cls.__name__)
        return cls(buf[pos:end]), end

    return decode_decimal


def _d_char(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    end = pos + 4
    if end > len(buf):
        raise _truncated(pos, "char")
    cp = _unpack_I(buf, pos)[0]
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        raise DecodeError(f"char 0x{cp:x} is not a Unicode scalar value", pos)
    return Char(chr(cp)), end


_fromtimestamp = _datetime.fromtimestamp
# Up to 2100, ms / 1000 as a float is within 0.12 µs of the true instant, so
# fromtimestamp's rounding to whole microseconds lands exactly on the ms.
_FAST_MS_MAX = 4102444800000


def ms_to_datetime(ms: int) -> Any:
    """An aware UTC datetime for ``ms``, or a Timestamp where datetime cannot hold it."""
    if 0 <= ms < _FAST_MS_MAX:
        return _fromtimestamp(ms / 1000, _UTC)
    try:
        return _EPOCH + _timedelta(0, 0, 0, ms)
    except OverflowError:
        return Timestamp(ms)


def _d_timestamp(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    end = pos + 8
    if end > len(buf):
        raise _truncated(pos, "timestamp")
    return ms_to_datetime(_unpack_q(buf, pos)[0]), end


def _d_uuid(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    end = pos + 16
    if end > len(buf):
        raise _truncated(pos, "uuid")
    return _UUID(bytes=buf[pos:end]), end


def _d_vbin8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    try:
        start = pos + 1
        end = start + buf[pos]
    except IndexError:
        raise _truncated(pos, "binary") from None
    if end > len(buf):
        raise _truncated(pos, "binary")
    return buf[start:end], end


def _d_vbin32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    start = pos + 4
    if start > len(buf):
        raise _truncated(pos, "binary")
    end = start + _unpack_I(buf, pos)[0]
    if end > len(buf):
        raise _truncated(pos, "binary")
    return buf[start:end], end


def _utf8(buf: bytes, start: int, end: int) -> str:
    try:
        return buf[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in string: {exc.reason}", start + exc.start) from None


def _d_str8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    try:
        start = pos + 1
        end = start + buf[pos]
    except IndexError:
        raise _truncated(pos, "string") from None
    if end > len(buf):
        raise _truncated(pos, "string")
    try:
        return buf[start:end].decode(), end
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in string: {exc.reason}", start + exc.start) from None


def _d_str32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    start = pos + 4
    if start > len(buf):
        raise _truncated(pos, "string")
    end = start + _unpack_I(buf, pos)[0]
    if end > len(buf):
        raise _truncated(pos, "string")
    return _utf8(buf, start, end), end


# Symbols repeat (annotation keys, capabilities, content types): keep the short
# ones, up to a fixed number, so decoding them allocates nothing.
_SYMBOLS: dict[bytes, Symbol] = {}
_SYMBOL_CACHE_MAX = 4096


def _symbol(buf: bytes, start: int, end: int) -> Symbol:
    raw = buf[start:end]
    sym = _SYMBOLS.get(raw)
    if sym is not None:
        return sym
    try:
        sym = Symbol(raw.decode("ascii"))
    except UnicodeDecodeError as exc:
        raise DecodeError("symbol is not ASCII", start + exc.start) from None
    if len(raw) <= 64 and len(_SYMBOLS) < _SYMBOL_CACHE_MAX:
        _SYMBOLS[raw] = sym
    return sym


def _d_sym8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    try:
        start = pos + 1
        end = start + buf[pos]
    except IndexError:
        raise _truncated(pos, "symbol") from None
    if end > len(buf):
        raise _truncated(pos, "symbol")
    return _symbol(buf, start, end), end


def _d_sym32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    start = pos + 4
    if start > len(buf):
        raise _truncated(pos, "symbol")
    end = start + _unpack_I(buf, pos)[0]
    if end > len(buf):
        raise _truncated(pos, "symbol")
    return _symbol(buf, start, end), end


def _compound_header(buf: bytes, pos: int, wide: bool, what: str) -> tuple[int, int, int]:
    """Read size and count; return (count, start of items, end); checks both fit."""
    n = len(buf)
    if wide:
        if pos + 8 > n:
            raise _truncated(pos, what)
        size, count = _unpack_II(buf, pos)
        start = pos + 8
        end = pos + 4 + size
        if size < 4:
            raise DecodeError(f"{what} size {size} is smaller than its count field", pos)
    else:
        if pos + 2 > n:
            raise _truncated(pos, what)
        size = buf[pos]
        count = buf[pos + 1]
        start = pos + 2
        end = pos + 1 + size
        if size < 1:
            raise DecodeError(f"{what} size {size} is smaller than its count field", pos)
    if end > n:
        raise DecodeError(f"{what} declares {size} bytes but only {n - pos} remain", pos)
    # Every element takes at least one byte (its constructor).
    if count > end - start:
        raise DecodeError(f"{what} declares {count} elements in {end - start} bytes", pos)
    return count, start, end


def _too_deep(pos: int) -> DecodeError:
    return DecodeError("values nested too deeply", pos)


def _decode_items(buf: bytes, pos: int, end: int, count: int, depth: int,
                  what: str) -> list[Any]:
    """Decode ``count`` values filling ``buf[pos:end]``, each with ``depth`` left.

    The caller (list or map) has checked and spent its own level of depth.
    """
    items: list[Any] = []
    append = items.append
    table = _DECODERS
    small_ulongs = _SMALL_ULONGS
    small_uints = _SMALL_UINTS
    try:
        for _ in range(count):
            if pos >= end:
                raise DecodeError(f"{what} elements overrun its declared size", pos)
            # The most common constructors inline, to save a call each.
            c = buf[pos]
            if c == 0xA1:  # str8-utf8
                start = pos + 2
                pos = start + buf[pos + 1]
                if pos > end:
                    raise _truncated(start - 1, "string")
                try:
                    append(buf[start:pos].decode())
                except UnicodeDecodeError as exc:
                    raise DecodeError(f"invalid UTF-8 in string: {exc.reason}",
                                      start + exc.start) from None
            elif c == 0x40:
                append(None)
                pos += 1
            elif c == 0x53:  # smallulong
                append(small_ulongs[buf[pos + 1]])
                pos += 2
            elif c == 0x52:  # smalluint
                append(small_uints[buf[pos + 1]])
                pos += 2
            elif c == 0x41:
                append(True)
                pos += 1
            elif c == 0x42:
                append(False)
                pos += 1
            else:
                value, pos = table[c](buf, pos + 1, depth)
                append(value)
    except IndexError:
        raise _truncated(pos, what) from None
    if pos != end:
        raise DecodeError(f"{what} elements do not fill its declared size", pos)
    return items


def _d_list0(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return [], pos


def _d_list8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth <= 0:
        raise _too_deep(pos - 1)
    count, start, end = _compound_header(buf, pos, False, "list8")
    return _decode_items(buf, start, end, count, depth - 1, "list8"), end


def _d_list32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth <= 0:
        raise _too_deep(pos - 1)
    count, start, end = _compound_header(buf, pos, True, "list32")
    return _decode_items(buf, start, end, count, depth - 1, "list32"), end


def _make_map(items: list[Any]) -> Any:
    keys = items[0::2]
    values = items[1::2]
    try:
        d = dict(zip(keys, values, strict=True))
    except TypeError:  # an unhashable key: keep the pairs as they came
        return Map(zip(keys, values, strict=True))
    if len(d) != len(keys):
        # Keys distinct in AMQP but equal in Python (Symbol('a') and 'a', 1 and
        # UInt(1)): keep every pair rather than drop one.
        return Map(zip(keys, values, strict=True))
    return d


def _d_map8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth <= 0:
        raise _too_deep(pos - 1)
    count, start, end = _compound_header(buf, pos, False, "map8")
    if count & 1:  # 1.6.23: keys and values alternate
        raise DecodeError(f"map8 has an odd number of elements ({count})", pos)
    return _make_map(_decode_items(buf, start, end, count, depth - 1, "map8")), end


def _d_map32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth <= 0:
        raise _too_deep(pos - 1)
    count, start, end = _compound_header(buf, pos, True, "map32")
    if count & 1:
        raise DecodeError(f"map32 has an odd number of elements ({count})", pos)
    return _make_map(_decode_items(buf, start, end, count, depth - 1, "map32")), end


_ELEMENT_TYPES: dict[int, ElementType] = {
    0x40: "null", 0x56: "boolean", 0x41: "boolean", 0x42: "boolean",
    0x50: "ubyte", 0x60: "ushort", 0x70: "uint", 0x52: "uint", 0x43: "uint",
    0x80: "ulong", 0x53: "ulong", 0x44: "ulong", 0x51: "byte", 0x61: "short",
    0x71: "int", 0x54: "int", 0x81: "long", 0x55: "long", 0x72: "float",
    0x82: "double", 0x74: "decimal32", 0x84: "decimal64", 0x94: "decimal128",
    0x73: "char", 0x83: "timestamp", 0x98: "uuid", 0xA0: "binary", 0xB0: "binary",
    0xA1: "string", 0xB1: "string", 0xA3: "symbol", 0xB3: "symbol",
    0x45: "list", 0xC0: "list", 0xD0: "list", 0xC1: "map", 0xD1: "map",
    0xE0: "array", 0xF0: "array",
}

_ZERO_WIDTH = frozenset((0x40, 0x41, 0x42, 0x43, 0x44, 0x45))

# Zero-width elements (null, true, uint0, list0 ...) take no bytes, so an array
# of them may claim any count. Capping each array by the input size is not
# enough (n arrays of n nulls is quadratic), so all the arrays decoded from one
# buffer share a budget: one such element per input byte plus a fixed slack.
# decode_one resets it; it is per thread, and keyed by the buffer for callers
# of the internals.
_zero_width = _local()
_ZERO_WIDTH_SLACK = 4096


def _spend_zero_width(buf: bytes, count: int, pos: int) -> None:
    state = _zero_width
    key = id(buf)
    if getattr(state, "key", None) != key:
        state.key = key
        state.left = len(buf) + _ZERO_WIDTH_SLACK
    left: int = state.left - count
    if left < 0:
        raise DecodeError(f"array declares {count} zero-width elements, more than the"
                          " input can carry", pos)
    state.left = left


def _decode_array(buf: bytes, pos: int, depth: int, wide: bool) -> tuple[Any, int]:
    what = "array32" if wide else "array8"
    n = len(buf)
    if wide:
        if pos + 8 > n:
            raise _truncated(pos, what)
        size, count = _unpack_II(buf, pos)
        p = pos + 8
        end = pos + 4 + size
        if size < 4:
            raise DecodeError(f"{what} size {size} is smaller than its count field", pos)
    else:
        if pos + 2 > n:
            raise _truncated(pos, what)
        size, count = buf[pos], buf[pos + 1]
        p = pos + 2
        end = pos + 1 + size
        if size < 1:
            raise DecodeError(f"{what} size {size} is smaller than its count field", pos)
    if end > n:
        raise DecodeError(f"{what} declares {size} bytes but only {n - pos} remain", pos)
    if depth <= 0:
        raise _too_deep(pos - 1)
    if p >= end:
        raise DecodeError(f"{what} has no element constructor", p)
    descriptor = None
    if buf[p] == 0x00:  # 1.6.24: an array of described values
        descriptor, p = _decode_at(buf, p + 1, depth - 1, end)
        if type(descriptor) not in (ULong, Symbol):
            raise DecodeError("array element descriptor must be a ulong or a symbol", p)
        if p >= end:
            raise DecodeError(f"{what} has no element constructor", p)
    ctor = buf[p]
    p += 1
    element_type = _ELEMENT_TYPES.get(ctor)
    if element_type is None:
        raise DecodeError(f"invalid array element constructor 0x{ctor:02x}", p - 1)
    # Bound the allocation by the bytes present before building anything.
    if ctor in _ZERO_WIDTH:
        _spend_zero_width(buf, count, pos)
    elif count > end - p:
        raise DecodeError(f"{what} declares {count} elements in {end - p} bytes", pos)
    decoder = _DECODERS[ctor]
    items: list[Any] = []
    append = items.append
    d = depth - 1
    for _ in range(count):
        value, p = decoder(buf, p, d)
        append(value)
        if p > end:
            raise DecodeError(f"{what} elements overrun its declared size", p)
    if p != end:
        raise DecodeError(f"{what} elements do not fill its declared size", p)
    return Array(element_type, items, descriptor), end


def _d_array8(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return _decode_array(buf, pos, depth, False)


def _d_array32(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    return _decode_array(buf, pos, depth, True)


# Described values: descriptor -> function(value) -> object. Keys are the ulong
# code (as int) and the symbolic name, so either form of descriptor decodes.
DescribedFactory = Callable[[Any], Any]
_DESCRIBED: dict[Any, DescribedFactory] = {}


def register_described(code: int, name: str, factory: DescribedFactory) -> None:
    """Decode values described by ``code`` or ``name`` through ``factory(value)``.

    ``factory`` receives the decoded underlying value and returns the Python
    object; it may raise :class:`DecodeError` when the value does not fit.
    """
    _DESCRIBED[code] = factory
    _DESCRIBED[name] = factory


def _d_described(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    if depth <= 0:
        raise _too_deep(pos - 1)
    n = len(buf)
    if pos + 1 < n and buf[pos] == 0x53:  # smallulong: the common case
        descriptor: Any = _SMALL_ULONGS[buf[pos + 1]]
        pos += 2
    else:
        if pos >= n:
            raise _truncated(pos, "descriptor")
        if buf[pos] == 0x00:
            raise DecodeError("a descriptor cannot itself be described", pos)
        descriptor, pos = _DECODERS[buf[pos]](buf, pos + 1, depth - 1)
        if type(descriptor) is not ULong and type(descriptor) is not Symbol:
            raise DecodeError("descriptor must be a ulong or a symbol", pos)
    if pos >= n:
        raise _truncated(pos, "described value")
    start = pos
    value, pos = _DECODERS[buf[pos]](buf, pos + 1, depth - 1)
    factory = _DESCRIBED.get(descriptor)
    if factory is None:
        return Described(descriptor, value), pos
    try:
        return factory(value), pos
    except DecodeError as exc:
        if exc.offset is None:
            raise DecodeError(str(exc), start) from None
        raise


_DECODERS: list[Decoder] = [_d_invalid] * 256
_DECODERS[0x00] = _d_described
_DECODERS[0x40] = _d_null
_DECODERS[0x41] = _d_true
_DECODERS[0x42] = _d_false
_DECODERS[0x56] = _d_boolean
_DECODERS[0x50] = _table_decoder(_UBYTES, "ubyte")
_DECODERS[0x60] = _fixed_decoder(_unpack_H, 2, UShort, "ushort")
_DECODERS[0x70] = _fixed_decoder(_unpack_I, 4, UInt, "uint")
_DECODERS[0x52] = _table_decoder(_SMALL_UINTS, "smalluint")
_DECODERS[0x43] = _const_decoder(_SMALL_UINTS[0])
_DECODERS[0x80] = _fixed_decoder(_unpack_Q, 8, ULong, "ulong")
_DECODERS[0x53] = _table_decoder(_SMALL_ULONGS, "smallulong")
_DECODERS[0x44] = _const_decoder(_SMALL_ULONGS[0])
_DECODERS[0x51] = _table_decoder(_BYTES, "byte")
_DECODERS[0x61] = _fixed_decoder(_unpack_h, 2, Short, "short")
_DECODERS[0x71] = _fixed_decoder(_unpack_i, 4, Int, "int")
_DECODERS[0x54] = _table_decoder(_SMALL_INTS, "smallint")
_DECODERS[0x81] = _fixed_decoder(_unpack_q, 8, None, "long")
_DECODERS[0x55] = _table_decoder(_SMALL_LONGS, "smalllong")
_DECODERS[0x72] = _fixed_decoder(_unpack_f, 4, Float, "float")
_DECODERS[0x82] = _fixed_decoder(_unpack_d, 8, None, "double")
_DECODERS[0x74] = _d_decimal(Decimal32, 4)
_DECODERS[0x84] = _d_decimal(Decimal64, 8)
_DECODERS[0x94] = _d_decimal(Decimal128, 16)
_DECODERS[0x73] = _d_char
_DECODERS[0x83] = _d_timestamp
_DECODERS[0x98] = _d_uuid
_DECODERS[0xA0] = _d_vbin8
_DECODERS[0xB0] = _d_vbin32
_DECODERS[0xA1] = _d_str8
_DECODERS[0xB1] = _d_str32
_DECODERS[0xA3] = _d_sym8
_DECODERS[0xB3] = _d_sym32
_DECODERS[0x45] = _d_list0
_DECODERS[0xC0] = _d_list8
_DECODERS[0xD0] = _d_list32
_DECODERS[0xC1] = _d_map8
_DECODERS[0xD1] = _d_map32
_DECODERS[0xE0] = _d_array8
_DECODERS[0xF0] = _d_array32


def _decode_at(buf: bytes, pos: int, depth: int, limit: int) -> tuple[Any, int]:
    if pos >= limit:
        raise _truncated(pos, "value")
    value, end = _DECODERS[buf[pos]](buf, pos + 1, depth)
    if end > limit:
        raise DecodeError("value overruns its enclosing size", pos)
    return value, end


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, got {type(data).__name__}")


def decode_one(
    data: bytes, pos: int = 0, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Any, int]:
    """Decode the value starting at ``pos``; return it and the offset after it."""
    buf = _as_bytes(data)
    _zero_width.key = None
    try:
        return _decode_at(buf, pos, max_depth, len(buf))
    except RecursionError:  # only when max_depth is set above the stack
        raise DecodeError("values nested too deeply for the Python stack", pos) from None


def decode(data: bytes | bytearray | memoryview, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode exactly one AMQP value from ``data``; trailing bytes are an error."""
    buf = _as_bytes(data)
    value, end = decode_one(buf, 0, max_depth=max_depth)
    if end != len(buf):
        raise DecodeError(f"{len(buf) - end} trailing bytes after the value", end)
    return value


# ---------------------------------------------------------------------------
# Skipping (for lazy message decoding)
# ---------------------------------------------------------------------------

_FIXED_WIDTH: dict[int, int] = {
    0x40: 0, 0x41: 0, 0x42: 0, 0x43: 0, 0x44: 0, 0x45: 0,
    0x50: 1, 0x51: 1, 0x52: 1, 0x53: 1, 0x54: 1, 0x55: 1, 0x56: 1,
    0x60: 2, 0x61: 2,
    0x70: 4, 0x71: 4, 0x72: 4, 0x73: 4, 0x74: 4,
    0x80: 8, 0x81: 8, 0x82: 8, 0x83: 8, 0x84: 8,
    0x94: 16, 0x98: 16,
}
_WIDTH1 = frozenset((0xA0, 0xA1, 0xA3, 0xC0, 0xC1, 0xE0))
_WIDTH4 = frozenset((0xB0, 0xB1, 0xB3, 0xD0, 0xD1, 0xF0))


def skip_value(buf: bytes, pos: int, depth: int = DEFAULT_MAX_DEPTH) -> int:
    """Return the offset just after the value at ``pos`` without decoding it.

    Only sizes are read (and checked against the input); the content is left
    for a later :func:`decode_one`.
    """
    n = len(buf)
    if pos >= n:
        raise _truncated(pos, "value")
    ctor = buf[pos]
    if ctor == 0x00:
        if depth <= 0:
            raise DecodeError("values nested too deeply", pos)
        return skip_value(buf, skip_value(buf, pos + 1, depth - 1), depth - 1)
    width = _FIXED_WIDTH.get(ctor)
    if width is not None:
        end = pos + 1 + width
    elif ctor in _WIDTH1:
        if pos + 2 > n:
            raise _truncated(pos, "value")
        end = pos + 2 + buf[pos + 1]
    elif ctor in _WIDTH4:
        if pos + 5 > n:
            raise _truncated(pos, "value")
        end = pos + 5 + _unpack_I(buf, pos + 1)[0]
    else:
        raise DecodeError(f"unknown constructor 0x{ctor:02x}", pos)
    if end > n:
        raise _truncated(pos, "value")
    return end
