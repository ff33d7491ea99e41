"""The value decoder on every constructor, on truncated and trailing input, and on hostile input.

Whatever the bytes, decoding raises only DecodeError, with the offset of the fault.
"""

from __future__ import annotations

import datetime as dt
import struct
import time
import tracemalloc
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import _codec
from amqp10_proto._codec import DEFAULT_MAX_DEPTH, decode, decode_one, encode, skip_value
from amqp10_proto._errors import DecodeError
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
    UByte,
    UInt,
    ULong,
    UShort,
)

from .strategies import amqp_values, assert_same

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Every constructor, in every form the decoder must accept (not only the smallest).
CONSTRUCTORS: list[tuple[str, Any]] = [
    ("40", None),
    ("41", True),
    ("42", False),
    ("56 01", True),
    ("56 00", False),
    ("50 ff", UByte(255)),
    ("60 ff fe", UShort(65534)),
    ("70 ff ff ff ff", UInt(2**32 - 1)),
    ("70 00 00 00 01", UInt(1)),
    ("52 07", UInt(7)),
    ("43", UInt(0)),
    ("80 ff ff ff ff ff ff ff ff", ULong(2**64 - 1)),
    ("80 00 00 00 00 00 00 00 00", ULong(0)),
    ("53 07", ULong(7)),
    ("44", ULong(0)),
    ("51 80", Byte(-128)),
    ("61 80 00", Short(-32768)),
    ("71 80 00 00 00", Int(-(2**31))),
    ("71 00 00 00 05", Int(5)),
    ("54 ff", Int(-1)),
    ("81 80 00 00 00 00 00 00 00", -(2**63)),
    ("81 00 00 00 00 00 00 00 05", 5),
    ("55 80", -128),
    ("72 3f c0 00 00", Float(1.5)),
    ("72 7f c0 00 00", Float("nan")),
    ("82 3f f8 00 00 00 00 00 00", 1.5),
    ("82 80 00 00 00 00 00 00 00", -0.0),
    ("74 01 02 03 04", Decimal32(h("01020304"))),
    ("84 01 02 03 04 05 06 07 08", Decimal64(h("0102030405060708"))),
    ("94" + "ab" * 16, Decimal128(b"\xab" * 16)),
    ("73 00 01 f6 00", Char("\U0001f600")),
    ("73 00 10 ff ff", Char("\U0010ffff")),
    ("83 00 00 00 00 00 00 03 e8", EPOCH + dt.timedelta(seconds=1)),
    ("83 ff ff ff ff ff ff ff ff", EPOCH - dt.timedelta(milliseconds=1)),
    ("98" + "00" * 15 + "2a", uuid.UUID(int=42)),
    ("a0 03 61 62 63", b"abc"),
    ("a0 00", b""),
    ("b0 00 00 00 03 61 62 63", b"abc"),
    ("a1 02 c3 a9", "\xe9"),
    ("a1 00", ""),
    ("b1 00 00 00 04 f0 9f 98 80", "\U0001f600"),
    ("a3 01 61", Symbol("a")),
    ("b3 00 00 00 02 61 62", Symbol("ab")),
    ("45", []),
    ("c0 01 00", []),
    ("c0 03 02 40 41", [None, True]),
    ("d0 00 00 00 04 00 00 00 00", []),
    ("d0 00 00 00 06 00 00 00 02 40 41", [None, True]),
    ("c1 01 00", {}),
    ("c1 05 02 a3 01 61 40", {Symbol("a"): None}),
    ("d1 00 00 00 08 00 00 00 02 a3 01 61 40", {Symbol("a"): None}),
    ("c1 05 04 45 40 45 41", Map([([], None), ([], True)])),
    ("e0 04 02 52 01 02", Array("uint", [UInt(1), UInt(2)])),
    ("e0 02 00 70", Array("uint", [])),
    ("f0 00 00 00 07 00 00 00 02 52 01 02", Array("uint", [UInt(1), UInt(2)])),
    ("e0 02 03 40", Array("null", [None] * 3)),
    ("e0 02 02 41", Array("boolean", [True, True])),
    ("e0 02 02 43", Array("uint", [UInt(0), UInt(0)])),
    ("e0 02 02 45", Array("list", [[], []])),
    ("e0 04 02 56 01 00", Array("boolean", [True, False])),
    ("e0 07 01 00 a3 01 78 52 05", Array("uint", [UInt(5)], Symbol("x"))),
    ("e0 06 01 00 53 09 52 05", Array("uint", [UInt(5)], ULong(9))),
    ("e0 06 02 a1 01 61 01 62", Array("string", ["a", "b"])),
    ("e0 06 01 d0 00 00 00 01", None),  # filled in below: an array of one list32
    ("00 53 05 40", Described(ULong(5), None)),
    ("00 44 40", Described(ULong(0), None)),
    ("00 80 00 00 00 00 00 00 00 05 40", Described(ULong(5), None)),
    ("00 a3 03 78 3a 79 55 01", Described(Symbol("x:y"), 1)),
    ("00 b3 00 00 00 01 78 00 53 05 45", Described(Symbol("x"), Described(ULong(5), []))),
]
# An array whose element constructor is list32 (d0): one element, 4-byte size
# and count fields. Written out separately so the sizes are easy to check.
CONSTRUCTORS[CONSTRUCTORS.index(("e0 06 01 d0 00 00 00 01", None))] = (
    "e0 0b 01 d0 00 00 00 05 00 00 00 01 40", Array("list", [[None]]))


def _ids(case: tuple[str, Any]) -> str:
    return case[0][:20]


def test_every_constructor_is_covered() -> None:
    valid = {c for c in range(256) if _codec._DECODERS[c] is not _codec._d_invalid}
    covered = {h(data)[0] for data, _ in CONSTRUCTORS}
    assert valid == covered
    # The element constructors used inside arrays, too.
    in_arrays = {h(data)[3] for data, _ in CONSTRUCTORS if data.startswith("e0")}
    assert {0x40, 0x41, 0x43, 0x45, 0x52, 0x56, 0x70, 0xA1, 0xD0} <= in_arrays


def test_the_table_avoids_registered_descriptors() -> None:
    for _, value in CONSTRUCTORS:
        if isinstance(value, Described):
            assert value.descriptor not in _codec._DESCRIBED


@pytest.mark.parametrize("case", CONSTRUCTORS, ids=_ids)
def test_decode_whole(case: tuple[str, Any]) -> None:
    data, expected = h(case[0]), case[1]
    assert_same(expected, decode(data))
    assert_same(expected, decode(bytearray(data)))
    assert_same(expected, decode(memoryview(data)))
    assert skip_value(data, 0) == len(data)


@pytest.mark.parametrize("case", CONSTRUCTORS, ids=_ids)
def test_decode_every_truncation(case: tuple[str, Any]) -> None:
    data = h(case[0])
    for n in range(len(data)):
        with pytest.raises(DecodeError) as info:
            decode(data[:n])
        assert info.value.offset is not None
        assert 0 <= info.value.offset <= n
        with pytest.raises(DecodeError):
            decode_one(data[:n], 0)
        with pytest.raises(DecodeError):
            skip_value(data[:n], 0)
        # As the last item of a list whose size ends with it, and more bytes
        # after the list for a careless decoder to read.
        with pytest.raises(DecodeError):
            decode_one(b"\xc0" + bytes([n + 1, 1]) + data[:n] + b"\x45" * 300)


@pytest.mark.parametrize("case", CONSTRUCTORS, ids=_ids)
def test_decode_trailing_bytes(case: tuple[str, Any]) -> None:
    data, expected = h(case[0]), case[1]
    for tail in (b"\x40", b"\x00", b"\xff" * 9, data):
        with pytest.raises(DecodeError) as info:
            decode(data + tail)
        assert info.value.offset == len(data)
        assert "trailing" in str(info.value)
        value, end = decode_one(data + tail)
        assert_same(expected, value)
        assert end == len(data)
        assert skip_value(data + tail, 0) == len(data)
    # And starting anywhere in a buffer.
    value, end = decode_one(b"\xff\xfe" + data + b"\x40", 2)
    assert_same(expected, value)
    assert end == 2 + len(data)


@settings(max_examples=100)
@given(amqp_values(max_leaves=12))
def test_encoded_values_fail_cleanly_when_truncated(value: Any) -> None:
    data = encode(value)
    step = max(1, len(data) // 300)  # every prefix of small encodings, a sample of big ones
    for n in [*range(0, len(data), step), len(data) - 1]:
        with pytest.raises(DecodeError):
            decode(data[:n])
        with pytest.raises(DecodeError):
            skip_value(data[:n], 0)
    value2, end = decode_one(data + data)
    assert_same(value, value2)
    assert end == len(data)
    with pytest.raises(DecodeError) as info:
        decode(data + b"\x40")
    assert info.value.offset == len(data)


# ---------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------

INVALID_CONSTRUCTORS = [c for c in range(256) if _codec._DECODERS[c] is _codec._d_invalid]


def test_invalid_constructors_include_the_reserved_ones() -> None:
    assert {0x01, 0x0F, 0x30, 0x46, 0x57, 0x62, 0x75, 0x85, 0x99, 0xA2, 0xFF} <= set(
        INVALID_CONSTRUCTORS)
    assert len(INVALID_CONSTRUCTORS) == 256 - 40


@pytest.mark.parametrize("ctor", INVALID_CONSTRUCTORS, ids=lambda c: f"0x{c:02x}")
def test_unknown_constructor(ctor: int) -> None:
    cases = [
        (bytes([ctor]), 0),
        (bytes([ctor, 0, 0, 0, 0]), 0),
        (bytes([0xC0, 0x02, 0x01, ctor]), 3),  # inside a list8
        (bytes([0xC0, 0x03, 0x02, 0x40, ctor]), 4),
        (bytes([0x00, 0x53, 0x05, ctor]), 3),  # as a described value
        (bytes([0x00, ctor]), 1),  # as a descriptor
        (bytes([0xE0, 0x02, 0x01, ctor]), 3),  # as an array's element constructor
        (bytes([0xC1, 0x03, 0x02, 0x40, ctor]), 4),  # as a map value
    ]
    for data, offset in cases:
        with pytest.raises(DecodeError) as info:
            decode(data)
        assert info.value.offset == offset, data.hex()
        assert f"0x{ctor:02x}" in str(info.value)
    with pytest.raises(DecodeError) as info:
        skip_value(bytes([ctor]), 0)
    assert info.value.offset == 0


def _fast(fn: Any, *args: Any) -> DecodeError:
    """Run ``fn(*args)``, expecting a DecodeError quickly and without a big allocation."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(DecodeError) as info:
            fn(*args)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 1_000_000
    return info.value


HUGE = 0xFFFFFFFF

OVERSIZED: list[tuple[str, bytes, int]] = [
    # name, data, expected offset
    ("list32 count 2**32-1 in 10 bytes", b"\xd0" + struct.pack(">II", 5, HUGE) + b"\x40", 1),
    ("list32 size 2**32-1", b"\xd0" + struct.pack(">II", HUGE, 1) + b"\x40", 1),
    ("map32 count 2**32-1", b"\xd1" + struct.pack(">II", 5, HUGE - 1) + b"\x40", 1),
    ("map32 size 2**32-1", b"\xd1" + struct.pack(">II", HUGE, 2) + b"\x40\x40", 1),
    ("array32 of uint, count 2**32-1", b"\xf0" + struct.pack(">II", 6, HUGE) + b"\x52\x01", 1),
    ("array32 of null, count 2**32-1", b"\xf0" + struct.pack(">II", 5, HUGE) + b"\x40", 1),
    ("array32 of true, count 2**32-1", b"\xf0" + struct.pack(">II", 5, HUGE) + b"\x41", 1),
    ("array32 of list0, count 2**32-1", b"\xf0" + struct.pack(">II", 5, HUGE) + b"\x45", 1),
    ("array32 of uint0, described", b"\xf0" + struct.pack(">II", 8, HUGE) + b"\x00\x53\x01\x43",
     1),
    ("array32 size 2**32-1", b"\xf0" + struct.pack(">II", HUGE, 1) + b"\x40", 1),
    ("vbin32 2**32-1 bytes", b"\xb0" + struct.pack(">I", HUGE) + b"abc", 1),
    ("str32 2**32-1 bytes", b"\xb1" + struct.pack(">I", HUGE) + b"abc", 1),
    ("sym32 2**32-1 bytes", b"\xb3" + struct.pack(">I", HUGE) + b"abc", 1),
    ("list8 count > size", b"\xc0\x02\xff\x40", 1),
    ("list8 size > input", b"\xc0\xff\x01\x40", 1),
    ("array8 count > size", b"\xe0\x03\xff\x52\x01", 1),
    ("vbin8 past the end", b"\xa0\xff\x00", 1),
    ("list32 inside a list8", b"\xc0\x0b\x01\xd0" + struct.pack(">II", 5, HUGE) + b"\x40", 4),
]


@pytest.mark.parametrize(("name", "data", "offset"), OVERSIZED, ids=[c[0] for c in OVERSIZED])
def test_oversized_counts_and_sizes_fail_fast(name: str, data: bytes, offset: int) -> None:
    exc = _fast(decode, data)
    assert exc.offset == offset


def test_many_zero_width_arrays_share_one_budget() -> None:
    # n arrays of n nulls each would be quadratic; the budget keeps it linear.
    n = 2000
    array = b"\xf0" + struct.pack(">II", 5, n) + b"\x40"
    body = array * n
    data = b"\xd0" + struct.pack(">II", len(body) + 4, n) + body
    exc = _fast(decode, data)
    assert exc.offset is not None
    assert "zero-width" in str(exc)
    # Arrays of nulls within the budget decode, and decoding again resets it.
    ok = encode([Array("null", [None] * 1000)] * 4)
    for _ in range(3):
        assert len(decode(ok)) == 4


def test_zero_width_budget_allows_a_few_thousand_beyond_the_input() -> None:
    assert decode(encode(Array("null", [None] * 4096))) == Array("null", [None] * 4096)
    assert len(decode(b"\xf0" + struct.pack(">II", 5, 4096 + 10) + b"\x40")) == 4106
    with pytest.raises(DecodeError):
        decode(b"\xf0" + struct.pack(">II", 5, 4096 + 11) + b"\x40")


def test_list_elements_overrunning_the_declared_size() -> None:
    # list8 declaring size 2 (count + 1 byte) holding a 2-byte smalluint.
    with pytest.raises(DecodeError) as info:
        decode(h("c0 02 01 52 07 40"))
    assert info.value.offset is not None
    # And a list whose items end before its size does.
    with pytest.raises(DecodeError) as info:
        decode(h("c0 03 01 40 40"))
    assert info.value.offset == 4
    with pytest.raises(DecodeError):
        decode(h("e0 04 01 52 07 07"))  # array8 with a byte to spare
    with pytest.raises(DecodeError):
        decode(h("e0 03 02 52 07 07"))  # array8 overrun by its second element


def test_sizes_smaller_than_their_count_field() -> None:
    for data in ("c0 00 00", "d0 00 00 00 03 00 00 00 00", "e0 00 00 40",
                 "f0 00 00 00 03 00 00 00 00 40", "c1 00 00", "d1 00 00 00 00 00 00 00 00"):
        with pytest.raises(DecodeError) as info:
            decode(h(data))
        assert info.value.offset == 1


def test_array_without_an_element_constructor() -> None:
    with pytest.raises(DecodeError) as info:
        decode(h("e0 01 00"))
    assert info.value.offset == 3
    with pytest.raises(DecodeError):
        decode(h("e0 04 00 00 53 05"))  # described, but no constructor after the descriptor


def test_array_descriptors_of_reserved_types_decode_and_re_encode() -> None:
    # Issue 10: 1.2 reserves descriptors other than ulong and symbol, but stacks write
    # them; an array of such described values decodes and is written back as it came.
    for data in ("e0 07 02 00 54 0c 50 01 02",  # int 12 (smallint)
                 "e0 08 02 00 a1 01 78 50 01 02",  # the string "x"
                 "e0 06 02 00 40 50 01 02"):  # null
        value = decode(h(data))
        assert isinstance(value, Array) and value.items == [1, 2]
        assert encode(value) == h(data)
    assert decode(h("e0 07 02 00 54 0c 50 01 02")).descriptor == Int(12)
    with pytest.raises(DecodeError):
        decode(h("e0 04 01 00 00 53"))  # a described descriptor


@pytest.mark.parametrize("data", ["00 54 0c a1 01 78",  # int 12, as proton writes it
                                  "00 71 00 00 00 0c 40", "00 a1 01 78 40", "00 55 ff 40",
                                  "00 81 ff ff ff ff ff ff ff ff 40", "00 40 40", "00 45 40",
                                  "00 41 45"])
def test_described_values_with_reserved_descriptor_types_decode(data: str) -> None:
    value = decode(h(data))
    assert isinstance(value, Described)
    assert encode(value) == h(data)  # byte for byte, not as a ulong or a symbol
    assert decode(encode(value)) == value


def test_reserved_descriptors_never_select_a_known_type() -> None:
    # int 0x10 is not the ulong 0x10 of open: a generic value, not a performative.
    value = decode(h("00 54 10 45"))
    assert type(value) is Described and value.descriptor == Int(16) and value.value == []


def test_a_descriptor_cannot_itself_be_described() -> None:
    with pytest.raises(DecodeError) as info:
        decode(h("00 00 53 01 40 40"))
    assert info.value.offset == 1
    assert "cannot itself be described" in str(info.value)


# Depth


def _nested_lists(n: int) -> bytes:
    return encode(_nest(n))


def _nest(n: int) -> Any:
    value: Any = None
    for _ in range(n):
        value = [value]
    return value


@pytest.mark.parametrize("max_depth", [0, 1, 2, 5, 64, 200])
def test_max_depth_is_exact(max_depth: int) -> None:
    # n nested lists (the innermost holding a null) need a depth of n.
    assert decode(_nested_lists(max_depth), max_depth=max_depth) == _nest(max_depth)
    data = _nested_lists(max_depth + 1)
    with pytest.raises(DecodeError) as info:
        decode(data, max_depth=max_depth)
    assert "nested too deeply" in str(info.value)
    # The offset is that of the first list that is one too deep.
    offset = 0
    for _ in range(max_depth):
        offset += 9 if data[offset] == 0xD0 else 3
    assert info.value.offset == offset


@pytest.mark.parametrize("wrap", [
    lambda v: [v],
    lambda v: {Symbol("k"): v},
    lambda v: Described(ULong(5), v),
    lambda v: Array("list", [v]) if isinstance(v, list) else Array("map", [v]),
    lambda v: Map([([1], v)]),
], ids=["list", "map", "described", "array", "map-fallback"])
def test_every_compound_spends_one_level(wrap: Any) -> None:
    for times in (1, 2, 3, 10):
        value: Any = [None]
        for _ in range(times):
            value = wrap(value)
            if isinstance(value, (Described, Array)):
                value = [value]  # keeps the next wrap well-formed; one more level
        data = encode(value)
        levels = _levels(value)
        assert_same(value, decode(data, max_depth=levels))
        with pytest.raises(DecodeError):
            decode(data, max_depth=levels - 1)


def _levels(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_levels(v) for v in value), default=0)
    if isinstance(value, dict):
        value = Map(value.items())
    if isinstance(value, Map):
        return 1 + max((max(_levels(k), _levels(v)) for k, v in value.pairs), default=0)
    if isinstance(value, Array):
        return 1 + max((_levels(v) for v in value.items), default=0)
    if isinstance(value, Described):
        return 1 + _levels(value.value)
    return 0


def test_default_depth_cap_on_100000_nested_list8_headers() -> None:
    data = b"\xc0\x03\x01" * 100_000 + b"\x40"
    exc = _fast(decode, data)
    assert "nested too deeply" in str(exc)
    assert exc.offset == 3 * DEFAULT_MAX_DEPTH


def test_deep_nesting_of_every_kind_hits_the_cap() -> None:
    for head, unit in ((b"", b"\xc0\x03\x01"), (b"", b"\xc1\x03\x02\x40"),
                       (b"", b"\x00\x53\x05"), (b"\xe0", b"\x03\x01\xe0"),
                       (b"", b"\x00\x53\x05\xc0\x03\x01")):
        data = head + unit * 100_000 + b"\x40"
        exc = _fast(decode, data)
        assert "nested too deeply" in str(exc)


def test_a_properly_sized_100000_deep_list32_nest() -> None:
    # Sizes that are all consistent, so only the depth is at fault.
    inner = b"\x40"
    depth = 100_000
    sizes = []
    length = len(inner)
    for _ in range(depth):
        sizes.append(length + 4)
        length += 9
    parts = [b"\xd0" + struct.pack(">II", s, 1) for s in reversed(sizes)]
    data = b"".join(parts) + inner
    exc = _fast(decode, data)
    assert exc.offset == 9 * DEFAULT_MAX_DEPTH
    # With the cap lifted above what the Python stack can take: still a DecodeError.
    with pytest.raises(DecodeError) as info:
        decode(data, max_depth=10**9)
    assert "too deeply" in str(info.value)


def test_skip_value_depth() -> None:
    data = b"\x00" * 100_000 + b"\x53\x05\x40"
    with pytest.raises(DecodeError):
        skip_value(data, 0)


# Bad content


CONTENT_ERRORS: list[tuple[str, str, int, str]] = [
    # name, data, offset, text in the message
    ("bad boolean", "56 02", 1, "boolean"),
    ("bad boolean ff", "56 ff", 1, "boolean"),
    ("bad boolean in array", "e0 04 02 56 01 02", 5, "boolean"),
    ("invalid UTF-8 str8", "a1 03 61 62 ff", 4, "UTF-8"),
    ("invalid UTF-8 str32", "b1 00 00 00 02 c3 28", 5, "UTF-8"),
    ("overlong UTF-8", "a1 02 c0 80", 2, "UTF-8"),
    ("UTF-8 surrogate", "a1 03 ed a0 80", 2, "UTF-8"),
    ("truncated UTF-8 sequence", "a1 02 61 e2", 3, "UTF-8"),
    ("invalid UTF-8 in a list", "c0 05 01 a1 02 61 ff", 6, "UTF-8"),
    ("invalid UTF-8 in an array", "e0 06 02 a1 01 61 01 ff", 7, "UTF-8"),
    ("non-ASCII sym8", "a3 02 61 80", 3, "ASCII"),
    ("non-ASCII sym32", "b3 00 00 00 01 ff", 5, "ASCII"),
    ("non-ASCII symbol descriptor", "00 a3 01 e9 40", 3, "ASCII"),
    ("char surrogate", "73 00 00 d8 00", 1, "char"),
    ("char above 0x10ffff", "73 00 11 00 00", 1, "char"),
    ("char 0xffffffff", "73 ff ff ff ff", 1, "char"),
    ("char in array", "e0 0a 02 73 00 00 00 61 00 00 df ff", 8, "char"),
    ("map8 odd count", "c1 02 01 40", 1, "odd"),
    ("map32 odd count", "d1 00 00 00 07 00 00 00 03 40 40 40", 1, "odd"),
    ("map odd count in an array", "e0 05 01 c1 02 01 40", 4, "odd"),
]


@pytest.mark.parametrize(("name", "data", "offset", "text"), CONTENT_ERRORS,
                         ids=[c[0] for c in CONTENT_ERRORS])
def test_bad_content(name: str, data: str, offset: int, text: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(h(data))
    assert info.value.offset == offset
    assert text in str(info.value)
    assert f"offset {info.value.offset}" in str(info.value)
    assert info.value.condition == "amqp:decode-error"


def test_unhashable_and_colliding_keys_fall_back_to_map() -> None:
    # A list as a key.
    assert_same(Map([([UInt(1)], "v")]), decode(h("c1 09 02 c0 03 01 52 01 a1 01 76")))
    # A map as a key, and an array as a key.
    assert_same(Map([({}, None)]), decode(h("c1 05 02 c1 01 00 40")))
    assert_same(Map([(Array("uint", []), None)]), decode(h("c1 06 02 e0 02 00 52 40")))
    # Symbol "a" and string "a": distinct AMQP keys, equal Python keys.
    assert_same(Map([(Symbol("a"), 1), ("a", 2)]), decode(h("c1 0b 04 a3 01 61 55 01 a1 01 61 55 02")))
    # A repeated key keeps both entries.
    assert_same(Map([(UInt(1), 1), (UInt(1), 2)]), decode(h("c1 09 04 52 01 55 01 52 01 55 02")))
    # A described key with a list value is unhashable too.
    assert_same(Map([(Described(ULong(9), []), None)]), decode(h("c1 06 02 00 53 09 45 40")))
    # Hashable, distinct keys: a dict.
    assert_same({Symbol("a"): 1, "b": 2}, decode(h("c1 0b 04 a3 01 61 55 01 a1 01 62 55 02")))


def test_decode_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        decode("40")  # type: ignore[arg-type]


def test_decode_one_past_the_end() -> None:
    with pytest.raises(DecodeError) as info:
        decode_one(b"\x40", 1)
    assert info.value.offset == 1
    with pytest.raises(DecodeError):
        decode(b"")


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError as exc:
        assert exc.offset is not None
        assert 0 <= exc.offset <= len(data)
    try:
        end = skip_value(data, 0)
    except DecodeError:
        pass
    else:
        assert 0 < end <= len(data)
