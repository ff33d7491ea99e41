"""Decoding of single AMQP 1.0 values (types.xml, section 1.6).

The decoder dispatches on the constructor byte through a 256-entry table; every
read is bounds-checked against the bytes present before anything is built, and
nesting is limited, so malformed input only ever raises :class:`DecodeError`.
Composite types plug in from above with :func:`register_described`.

The scalar types' decoders live in ``_decodescalars``; this module has the
compound ones (lists, maps, arrays, described values), the dispatch table,
the entry points and the skipping of values for lazy message decoding.
"""

from __future__ import annotations

from _thread import _local  # threading.local, without importing threading
from collections.abc import Callable
from struct import error as _struct_error
from typing import Any

from . import _decodescalars
from ._decodescalars import (
    _BYTES,
    _FAST_MS_MAX,
    _MS_BASES_MAX,
    _MS_OFFSETS,
    _SMALL_INTS,
    _SMALL_LONGS,
    _SMALL_UINTS,
    _SMALL_ULONGS,
    _UBYTES,
    Decoder,
    _const_decoder,
    _d_boolean,
    _d_char,
    _d_decimal,
    _d_false,
    _d_null,
    _d_str8,
    _d_str32,
    _d_sym8,
    _d_sym32,
    _d_timestamp,
    _d_true,
    _d_uuid,
    _d_vbin8,
    _d_vbin32,
    _fixed_decoder,
    _ms_base,
    _symbol,
    _table_decoder,
    _truncated,
    _unpack_d,
    _unpack_f,
    _unpack_H,
    _unpack_h,
    _unpack_I,
    _unpack_i,
    _unpack_II,
    _unpack_Q,
    _unpack_q,
    ms_to_datetime,
)
from ._errors import DecodeError
from ._types import (
    Array,
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
    UInt,
    ULong,
    UShort,
)

# The scalar decoders live in _decodescalars: the names of theirs that other modules
# and tests import from here are re-exported, beside this module's public names.
__all__ = [
    "ANY_KEYS", "DEFAULT_MAX_DEPTH", "LIST", "SECTION_MAP_DEPTH", "STR_KEYS", "Decoder",
    "DescribedFactory", "decode", "decode_one", "ms_to_datetime", "register_described",
    "section_items", "section_map", "section_value", "skip_value",
    "_FAST_MS_MAX", "_MS_BASES", "_MS_BASES_MAX", "_MS_OFFSETS", "_SMALL_UINTS", "_SYMBOLS",
    "_UBYTES", "_ms_base", "_symbol", "_unpack_q",
]

# The caches _decode_items reads inline, bound here by assignment: CPython 3.11 compiles a
# method call on an imported name (``_SYMBOLS.get(...)``) as an attribute load, which
# builds a bound method on every call, where a module's own global gets LOAD_METHOD.
_SYMBOLS = _decodescalars._SYMBOLS
_MS_BASES = _decodescalars._MS_BASES

#: How deeply lists, maps, arrays and described values may nest in decoded input.
DEFAULT_MAX_DEPTH = 64


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _d_invalid(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    raise DecodeError(f"unknown constructor 0x{buf[pos - 1]:02x}", pos - 1)


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


# The indices 0 .. k - 1 as a kept tuple, for each small k: iterating one costs much
# less than making and iterating a range (CPython 3.11 does not specialise range loops).
_PLACES_MAX = 64
_PLACES = [tuple(range(k)) for k in range(_PLACES_MAX)]

# _decode_items' modes: a list's items, or a message section's own map read straight into a
# dict (any keys, or only str8 / sym8 keys: application properties' and annotations' usual
# form). The keyed modes are entry points (section_map): see _decode_items on the budget.
LIST, ANY_KEYS, STR_KEYS = 0, 1, 2
# Constructors whose value may hold an array (lists, maps, arrays, described values).
_NESTING = frozenset((0x00, 0xC0, 0xC1, 0xD0, 0xD1, 0xE0, 0xF0))


def _decode_items(buf: bytes, pos: int, end: int, count: int, depth: int,
                  what: str, keys: int = LIST) -> Any:
    """Decode ``count`` values filling ``buf[pos:end]``, each with ``depth`` left.

    With ``keys`` LIST the values come back as a list. Otherwise ``buf`` is a whole
    message section and ``pos`` its code (:func:`section_map`, whose checks are made
    here: ``end`` and ``count`` come from the section), and its map8's keys and values
    alternating are read into a dict, or None for any other form, or where a dict
    cannot hold them (an unhashable key, keys equal in Python but not in AMQP) or,
    for STR_KEYS, a key that is not a str8 or sym8: the caller takes the general path.
    The caller (list or map) has checked and spent its own level of depth, and
    that ``count`` fits the bytes (one at least each), which bounds the loop. An
    item running past ``end`` is caught once, after the loop: the reads past it
    stay inside ``buf`` (or raise IndexError / struct.error), and positions only grow.

    A keyed mode reads a section's own map, an entry point: the zero-width budget of
    its arrays is reset, as decode_one resets it, but only once a value that may hold
    an array comes (and once): before that nothing can consult it, and most sections
    hold none (a thread-local store saved per section).
    """
    # (Globals as they are: a local alias costs more per call than it saves per value.)
    # Lists fill their slots by index, maps by key: one store serves both.
    if keys:
        # A section's own map8 (section_map's checks, done here to save it a call per
        # section): ``pos`` is the section's code; ``00 53 code c1 size count``, the size
        # the rest of ``buf`` exactly, an even count (1.6.23) of one byte at least each.
        end = len(buf)
        if not (end > 5 and buf[:4] == _MAP8_HEADS[pos] and buf[4] + 5 == end
                and (count := buf[5]) <= end - 6 and not count & 1):
            return None
        pos = 6
        out: Any = {}
    else:
        out = [None] * count
    k: Any  # a list's index, or a map's key
    value: Any
    start = pos
    fresh = keys  # the budget still to reset (keyed modes)
    try:
        todo = count >> 1 if keys else count  # values, or a map's pairs
        for k in _PLACES[todo] if todo < _PLACES_MAX else range(todo):
            if keys:  # a map's key: a str8 or a cached sym8 inline
                c = buf[pos]
                if c == 0xA3:
                    start = pos + 2
                    pos = start + buf[pos + 1]
                    k = _SYMBOLS.get(buf[start:pos]) or _symbol(buf, start, pos)
                elif c == 0xA1:
                    start = pos + 2
                    pos = start + buf[pos + 1]
                    k = buf[start:pos].decode()
                elif keys == STR_KEYS:
                    return None
                else:
                    if fresh and c in _NESTING:
                        _zero_width.key = None
                        fresh = 0
                    k, pos = _DECODERS[c](buf, pos + 1, depth)
            # The most common constructors inline, to save a call each: those of
            # performatives, properties, annotation and application-property maps.
            c = buf[pos]
            if c == 0xA1:  # str8-utf8
                start = pos + 2
                pos = start + buf[pos + 1]
                value = buf[start:pos].decode()
            elif c == 0x40:
                value = None
                pos += 1
            elif c == 0xA3:  # sym8: annotation keys, content types (cached)
                start = pos + 2
                pos = start + buf[pos + 1]
                value = _SYMBOLS.get(buf[start:pos]) or _symbol(buf, start, pos)
            elif c == 0x53:  # smallulong
                value = _SMALL_ULONGS[buf[pos + 1]]
                pos += 2
            elif c == 0x52:  # smalluint
                value = _SMALL_UINTS[buf[pos + 1]]
                pos += 2
            elif c == 0x41:
                value = True
                pos += 1
            elif c == 0x42:
                value = False
                pos += 1
            elif c == 0x55:  # smalllong
                value = _SMALL_LONGS[buf[pos + 1]]
                pos += 2
            elif c == 0x81:  # long
                value = _unpack_q(buf, pos + 1)[0]
                pos += 9
            elif c == 0x82:  # double
                value = _unpack_d(buf, pos + 1)[0]
                pos += 9
            elif c == 0x83:  # timestamp (ms_to_datetime's fast case inline)
                ms = _unpack_q(buf, pos + 1)[0]
                value = ((_MS_BASES.get(ms >> 10) or _ms_base(ms >> 10)) + _MS_OFFSETS[ms & 1023]
                         if 0 <= ms < _FAST_MS_MAX else ms_to_datetime(ms))
                pos += 9
            else:
                if fresh and c in _NESTING:
                    _zero_width.key = None
                    fresh = 0
                value, pos = _DECODERS[c](buf, pos + 1, depth)
            out[k] = value
    except (IndexError, _struct_error):
        raise _truncated(min(pos, len(buf)), what) from None
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 in string: {exc.reason}", start + exc.start) from None
    except TypeError:  # an unhashable key (a list, a map)
        return None
    if pos != end:
        if pos > end:
            raise DecodeError(f"{what} elements overrun its declared size", end)
        raise DecodeError(f"{what} elements do not fill its declared size", pos)
    if keys and len(out) != count >> 1:
        # Keys distinct in AMQP but equal in Python (Symbol('a') and 'a', 1 and UInt(1)).
        return None
    return out


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
    """A dict of the alternating keys and values (an even count), or a Map if it cannot be one."""
    pairs = iter(items)
    try:
        d = dict(zip(pairs, pairs))
    except TypeError:  # an unhashable key: keep the pairs as they came
        return Map(zip(items[0::2], items[1::2], strict=True))
    if len(d) * 2 != len(items):
        # Keys distinct in AMQP but equal in Python (Symbol('a') and 'a', 1 and
        # UInt(1)): keep every pair rather than drop one.
        return Map(zip(items[0::2], items[1::2], strict=True))
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
    descriptor = raw_descriptor = None
    if buf[p] == 0x00:  # 1.6.24: an array of described values
        dstart = p + 1
        descriptor, p = _decode_at(buf, dstart, depth - 1, end)
        if type(descriptor) is not ULong and type(descriptor) is not Symbol:
            # 1.2: a reserved descriptor type, as some stacks write: kept to write back.
            raw_descriptor = (descriptor, bytes(buf[dstart:p]))
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
    array = Array(element_type, items, descriptor)
    array._raw_descriptor = raw_descriptor
    return array, end


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
        dstart = pos
        descriptor, pos = _DECODERS[buf[pos]](buf, pos + 1, depth - 1)
        if type(descriptor) is not ULong and type(descriptor) is not Symbol:
            # 1.2: descriptors are symbols or ulongs, the rest reserved; some stacks write
            # others (an int 12). Taken as a generic value, written back byte for byte.
            if pos >= n:
                raise _truncated(pos, "described value")
            value, end = _DECODERS[buf[pos]](buf, pos + 1, depth - 1)
            described = Described(descriptor, value)
            object.__setattr__(described, "_raw_descriptor", bytes(buf[dstart:pos]))
            return described, end
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


def section_value(raw: bytes, code: int) -> Any:
    """The value of the message section ``raw`` (``00 53 code`` and one value), decoded.

    A lazily read section's bytes: the same checks as :func:`decode_one` (sizes
    against the bytes present, nesting depth), without its layers of calls.
    """
    n = len(raw)
    if n < 4 or raw[0] or raw[1] != 0x53 or raw[2] != code:
        raise DecodeError(f"not a section described by 0x{code:x}", 0)
    _zero_width.key = None
    value, end = _DECODERS[raw[3]](raw, 4, DEFAULT_MAX_DEPTH)
    if end != n:
        raise DecodeError("a section's value does not fill it", 3)
    return value


def section_items(raw: bytes, code: int, ctor: int) -> list[Any] | None:
    """The items of a message section's list8 (``ctor`` 0xC0) or map8 (0xC1), read in one
    step (a map's keys and values alternating), or None for any other form or a bad
    size or count: :func:`section_value` then decodes it, or says what is wrong.
    """
    n = len(raw)
    if (n > 5 and raw[3] == ctor and raw[2] == code and raw[1] == 0x53 and not raw[0]
            and raw[4] + 5 == n):
        count = raw[5]
        if count <= n - 6 and not (count & 1 and ctor == 0xC1):
            _zero_width.key = None
            # The list or map spends one level of depth, as _d_list8 / _d_map8 do.
            items: list[Any] = _decode_items(raw, 6, n, count, DEFAULT_MAX_DEPTH - 1,
                                             "map8" if ctor == 0xC1 else "list8")
            return items
    return None


# A section's first four bytes when it is a map8, by its code: 00 53 code c1.
_MAP8_HEADS = [bytes((0x00, 0x53, code, 0xC1)) for code in range(256)]


def section_map(raw: bytes, code: int, keys: int = ANY_KEYS) -> Any:
    """A message section's map8 (annotations, application-properties, footer) read in one
    step into a dict, or None for any other form, a bad size or count, or keys a dict
    cannot hold (or, with STR_KEYS, keys not str8 or sym8): :func:`section_value` then
    decodes it the general way (a :class:`Map` for such keys) or says what is wrong.
    Only the section's own map reads straight into a dict, so falling back costs one
    second decode at most (nested maps go the general way, never twice).
    """
    return _decode_items(raw, code, 0, 0, SECTION_MAP_DEPTH, "map8", keys)


#: The depth left to a section's own map8's values (the map spends one level, as _d_map8).
SECTION_MAP_DEPTH = DEFAULT_MAX_DEPTH - 1


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
