"""Coverage-guided fuzz target (atheris) for AMQP 1.0 value decoding.

The property (``check``): whatever the bytes, ``decode``, ``decode_one`` and
``skip_value`` raise nothing but ``DecodeError`` (with an offset inside the
input), agree with one another, and a value that decodes re-encodes to a
canonical form that decodes and re-encodes to the same bytes, composite types
(performatives, sections ...) included; ``AMQP10_FUZZ_COMPOSITE_ROUND_TRIP=0``
limits the round trip to the codec's own types. The same bytes read as a whole
message (``Message.decode``) raise nothing but ``DecodeError``, and a message
that decodes re-encodes to bytes that decode to the same encoding again.

    python fuzz/fuzz_codec.py fuzz/corpus/codec -max_total_time=600
    python fuzz/fuzz_codec.py --make-corpus fuzz/corpus/codec

See fuzz/README.md. ``tests/test_fuzz_smoke.py`` runs the same ``check`` on a
few thousand fixed inputs inside pytest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import amqp10_proto  # noqa: F401  (registers the composite types: their decoders are fuzzed too)
from amqp10_proto._codec import _DESCRIBED, decode, decode_one, encode, skip_value
from amqp10_proto._errors import DecodeError, EncodeError
from amqp10_proto._message import Message
from amqp10_proto._types import (
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

__all__ = ["check", "seed_values", "seeds"]

#: Extra depth caps tried on every input, besides the default.
DEPTHS = (0, 1, 3)

#: Also round-trip decoded composite types (stricter than "only DecodeError").
COMPOSITE_ROUND_TRIP = os.environ.get("AMQP10_FUZZ_COMPOSITE_ROUND_TRIP", "1") == "1"

_CODEC_TYPES = frozenset({
    type(None), bool, int, float, str, bytes, dt.datetime, uuid.UUID, UByte, UShort, UInt, ULong,
    Byte, Short, Int, Float, Decimal32, Decimal64, Decimal128, Char, Symbol, Timestamp,
})


def _plain(value: Any) -> bool:
    """Whether ``value`` is made of the codec's own types only (no composite types)."""
    t = type(value)
    if t in _CODEC_TYPES:
        return True
    if t is list:
        return all(_plain(v) for v in value)
    if t is dict:
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if t is Map:
        return all(_plain(k) and _plain(v) for k, v in value.pairs)
    if t is Array:
        return _plain(value.descriptor) and all(_plain(v) for v in value.items)
    if t is Described:
        return _plain(value.descriptor) and _plain(value.value)
    return False


def _offset_ok(exc: DecodeError, data: bytes) -> None:
    assert exc.offset is not None, f"DecodeError without an offset: {exc}"
    assert 0 <= exc.offset <= len(data), f"offset {exc.offset} outside {len(data)} bytes: {exc}"


def check(data: bytes) -> None:
    """The fuzz property; raises AssertionError (or whatever escaped) on a bug."""
    n = len(data)
    try:
        value = decode(data)
        decoded = True
    except DecodeError as exc:
        _offset_ok(exc, data)
        decoded = False

    # decode_one agrees with decode: decode succeeds exactly when decode_one
    # reads one value that ends at the end of the input.
    try:
        _, end = decode_one(data)
    except DecodeError as exc:
        _offset_ok(exc, data)
        assert not decoded, "decode succeeded where decode_one failed"
    else:
        assert 0 < end <= n
        assert decoded == (end == n), f"decode {'succeeded' if decoded else 'failed'}, end {end}/{n}"
        # skip_value only reads sizes, and must land where decoding did.
        assert skip_value(data, 0) == end
    try:
        skipped = skip_value(data, 0)
    except DecodeError as exc:
        _offset_ok(exc, data)
    else:
        assert 0 < skipped <= n

    for depth in DEPTHS:
        try:
            decode(data, max_depth=depth)
        except DecodeError as exc:
            _offset_ok(exc, data)

    if decoded and (COMPOSITE_ROUND_TRIP or _plain(value)):
        _check_round_trip(value)
    _check_message(data)


def _check_message(data: bytes) -> None:
    """A message decodes or raises DecodeError; what decodes re-encodes, stably (issue 10)."""
    for lazy in (True, False):
        try:
            msg = Message.decode(data, lazy=lazy)
        except DecodeError:
            continue
        try:
            canonical = msg.encode()
        except EncodeError as exc:
            raise AssertionError(f"decoded message {data.hex()} cannot be encoded: {exc}") from None
        if lazy:
            continue  # unread sections go back as they came: checked when decoded eagerly
        again = Message.decode(canonical, lazy=False)
        assert again.body_type == msg.body_type, f"{msg.body_type} became {again.body_type}"
        assert again.encode() == canonical, f"encoding of message {data.hex()} is not stable"


def _check_round_trip(value: Any) -> None:
    try:
        canonical = encode(value)
    except EncodeError as exc:
        raise AssertionError(f"decoded {value!r:.200} but cannot encode it: {exc}") from None
    try:
        again = decode(canonical)
    except DecodeError as exc:
        # Zero-width array elements are budgeted by input size, and a canonical
        # encoding can be shorter than the input it came from.
        if "zero-width" in str(exc):
            return
        raise AssertionError(f"our encoding {canonical.hex()} of {value!r:.200} does not decode: "
                             f"{exc}") from None
    assert encode(again) == canonical, f"encoding of {value!r:.200} is not stable"


def TestOneInput(data: bytes) -> None:
    """atheris's entry point (the libFuzzer name)."""
    check(data)


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def seed_values() -> list[Any]:
    """Representative values: every type, every encoding form, and the registered composites."""
    values: list[Any] = [
        None, True, False, UByte(7), UShort(300), UInt(0), UInt(9), UInt(70000), ULong(0),
        ULong(9), ULong(2**40), Byte(-2), Short(-300), Int(-5), Int(2**20), 0, -5, 2**40,
        Float(1.5), 2.5, Decimal32(b"\x01\x02\x03\x04"), Decimal64(bytes(8)),
        Decimal128(bytes(range(16))), Char("x"), Char("\U0001f600"), _EPOCH,
        Timestamp(2**62), uuid.UUID(int=5), b"", b"bin", b"x" * 300, "", "str", "\xe9" * 200,
        Symbol("sym"), Symbol("s" * 300), [], [None, True, UInt(1)], [None] * 300,
        {}, {Symbol("k"): "v", UInt(1): [1, 2]}, {UInt(i): i for i in range(140)},
        Map([([1], 2)]), Map([(Symbol("a"), 1), ("a", 2)]),
        Array("uint", [UInt(1), UInt(2)]), Array("uint", [UInt(70000)]), Array("null", [None] * 3),
        Array("boolean", [True, False]), Array("symbol", [Symbol("a"), Symbol("b")]),
        Array("string", ["x" * 300]), Array("list", [[1], []]), Array("map", [{1: 2}]),
        Array("array", [Array("ubyte", [UByte(1)])]), Array("double", [1.0]),
        Array("char", [Char("c")]), Array("timestamp", [_EPOCH]), Array("uuid", [uuid.UUID(int=1)]),
        Array("decimal64", [Decimal64(bytes(8))]), Array("long", [2**40]),
        Array("symbol", [Symbol("x")], descriptor=Symbol("d")),
        Array("list", [[UInt(1)]], descriptor=ULong(0x70)),
        Described(ULong(5), None), Described(Symbol("x:y"), [1, "two"]),
        Described(ULong(2**40), Described(Symbol("z"), {})),
        [Described(ULong(1), [None] * 3), {Symbol("x-opt-a"): Described(Symbol("q"), b"")}],
    ]
    # Every registered composite (performatives, sections, outcomes ...) by
    # code, with a few plausible bodies for the fuzzer to start from.
    bodies: list[Any] = [
        [], [None], [Symbol("c"), "h", UInt(1), UShort(2), UInt(3)],
        [UInt(1), UInt(2), b"\x01", UInt(0), True, UByte(1)], [Symbol("amqp:x"), "d", {}],
        [True, UByte(4), UInt(1000), False, UInt(1)], {Symbol("k"): "v"}, b"data", "text",
        [[Symbol("a")], Array("symbol", [Symbol("b")])],
    ]
    codes = sorted(k for k in _DESCRIBED if isinstance(k, int))
    for code in codes:
        for body in bodies:
            values.append(Described(ULong(code), body))
    return values


def seeds() -> list[bytes]:
    """The encodings of :func:`seed_values`, and a few non-minimal hand-written ones."""
    out = [encode(v) for v in seed_values()]
    out += [bytes.fromhex(h) for h in (
        "5601", "7000000001", "8000000000000000ff", "b000000003616263", "b1000000016a",
        "b300000001616263", "d00000000600000002404140", "d10000000800000002a3016140",
        "f00000000700000002520102", "e0020340", "e0020243", "e0020245", "e00701" "00a301" "78"
        "5205", "00b3000000017800530545",
    )]
    return out


def make_corpus(directory: Path) -> int:
    """Write the seeds, one file each, named by content hash; return how many."""
    directory.mkdir(parents=True, exist_ok=True)
    for data in seeds():
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(seeds())


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[1] == "--make-corpus":
        print(f"wrote {make_corpus(Path(argv[2]))} seeds to {argv[2]}")
        return
    import atheris

    atheris.instrument_all()
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
