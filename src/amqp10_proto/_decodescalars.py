"""Decoding of the AMQP 1.0 scalar types (types.xml, 1.6.1-1.6.21).

Null, booleans, fixed-width numbers, decimals, char, timestamp, uuid, binary,
strings and symbols: each decoder reads one value after its constructor byte,
bounds-checked against the bytes present. ``_decoder`` puts them in its dispatch
table beside the compound types and reads the most common ones inline.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from typing import Any

from . import _wire
from ._errors import DecodeError
from ._types import (
    Byte,
    Char,
    Decimal32,
    Decimal64,
    Decimal128,
    Int,
    Symbol,
    Timestamp,
    UByte,
    UInt,
    ULong,
)

_EPOCH = _wire.EPOCH
_unpack_H = _wire.S_H.unpack_from
_unpack_I = _wire.S_I.unpack_from
_unpack_Q = _wire.S_Q.unpack_from
_unpack_h = _wire.S_h.unpack_from
_unpack_i = _wire.S_i.unpack_from
_unpack_q = _wire.S_q.unpack_from
_unpack_f = _wire.S_f.unpack_from
_unpack_d = _wire.S_d.unpack_from
_unpack_II = _wire.S_II.unpack_from

_timedelta = _dt.timedelta
_datetime = _dt.datetime
_UUID = uuid.UUID

# A decoder reads the value whose constructor byte sits just before ``pos`` and
# returns (value, position after it). ``depth`` is the nesting still allowed.
Decoder = Callable[[bytes, int, int], tuple[Any, int]]


def _truncated(pos: int, what: str) -> DecodeError:
    return DecodeError(f"input ends inside {what}", pos)


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


# Up to 2100 (the usual timestamps: creation and expiry times, enqueued times) a timestamp
# is read as a base datetime per window of 1 024 ms (ms >> 10), kept for the windows met
# last (immutable values, a bounded number), plus the offset into it (ms & 1023): integer
# arithmetic, so exact, and about half the cost of datetime.fromtimestamp.
_FAST_MS_MAX = 4102444800000
_MS_BASES: dict[int, _dt.datetime] = {}
_MS_BASES_MAX = 1024
_MS_OFFSETS = [_timedelta(0, 0, 0, i) for i in range(1024)]


def _ms_base(window: int) -> _dt.datetime:
    """The datetime at ``window << 10`` ms (a window of the fast range), kept for the next."""
    if len(_MS_BASES) >= _MS_BASES_MAX:
        _MS_BASES.clear()
    base = _MS_BASES[window] = _EPOCH + _timedelta(0, 0, 0, window << 10)
    return base


def ms_to_datetime(ms: int) -> Any:
    """An aware UTC datetime for ``ms``, or a Timestamp where datetime cannot hold it."""
    if 0 <= ms < _FAST_MS_MAX:
        return (_MS_BASES.get(ms >> 10) or _ms_base(ms >> 10)) + _MS_OFFSETS[ms & 1023]
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
