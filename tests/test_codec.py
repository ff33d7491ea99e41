"""The value codec: round trips, smallest encodings and encoding errors."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto._codec import decode, decode_one, encode, skip_value
from amqp10_proto._errors import EncodeError, EncodeTypeError
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

from .strategies import (
    DATETIME_MAX_MS,
    DATETIME_MIN_MS,
    ELEMENT_TYPES,
    INT_RANGES,
    amqp_maps,
    amqp_values,
    array_items,
    assert_same,
    descriptors,
    same_value,
    scalars_of,
)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
NAN = float("nan")


def round_trip(value: Any) -> Any:
    """Check the round trip of ``value`` and return its encoding."""
    data = encode(value)
    assert_same(value, decode(data))
    # The encoding is canonical: re-encoding what was decoded gives the same bytes.
    assert encode(decode(data)) == data
    assert skip_value(data, 0) == len(data)
    return data


def _utc_everywhere(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return value.tzinfo is UTC
    if isinstance(value, (list, Array)):
        return all(_utc_everywhere(v) for v in value)
    if isinstance(value, dict):
        value = Map(value.items())
    if isinstance(value, Map):
        return all(_utc_everywhere(k) and _utc_everywhere(v) for k, v in value.pairs)
    if isinstance(value, Described):
        return _utc_everywhere(value.value)
    return True


# ---------------------------------------------------------------------------
# The comparison helper itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    (UInt(1), ULong(1)),
    (1, UInt(1)),
    (True, 1),
    ("a", Symbol("a")),
    (Char("a"), "a"),
    (Float(1.0), 1.0),
    (0.0, -0.0),
    (NAN, 1.0),
    ([1], [1, 2]),
    ([1], [UInt(1)]),
    ({"a": 1}, {Symbol("a"): 1}),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    (Map([("a", 1)]), {"a": 1}),
    (Array("uint", [UInt(1)]), Array("ulong", [ULong(1)])),
    (Array("uint", [UInt(1)]), Array("uint", [UInt(1)], Symbol("d"))),
    (Described(ULong(1), 1), Described(ULong(1), UInt(1))),
    (Described(ULong(1), 1), Described(Symbol("x"), 1)),
    (dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2020, 1, 1)),
    (b"x", bytearray(b"x")),
])
def test_same_value_tells_apart(a: Any, b: Any) -> None:
    assert not same_value(a, b)
    assert not same_value(b, a)


def test_same_value_accepts_equal_nan_and_other_timezones() -> None:
    assert same_value([NAN, {NAN: Float(NAN)}], [NAN, {NAN: Float(NAN)}])
    east = dt.timezone(dt.timedelta(hours=5))
    assert same_value(dt.datetime(2020, 1, 1, 5, tzinfo=east), dt.datetime(2020, 1, 1, tzinfo=UTC))


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@settings(max_examples=300)
@given(amqp_values(max_leaves=25))
def test_round_trip_any_value(value: Any) -> None:
    data = round_trip(value)
    assert _utc_everywhere(decode(data))


@pytest.mark.parametrize("name", [t for t in ELEMENT_TYPES if t not in ("list", "map", "array")])
@given(data=st.data())
def test_round_trip_each_primitive(name: str, data: st.DataObject) -> None:
    value = data.draw(scalars_of(name))
    round_trip(value)
    round_trip([value, value])
    round_trip(Described(data.draw(descriptors()), value))


@pytest.mark.parametrize("element_type", ELEMENT_TYPES)
@given(data=st.data())
def test_round_trip_arrays_of_each_type(element_type: str, data: st.DataObject) -> None:
    items = data.draw(array_items(element_type, max_size=10))
    descriptor = data.draw(st.one_of(st.none(), descriptors()))
    array = Array(element_type, items, descriptor)  # type: ignore[arg-type]
    decoded = decode(round_trip(array))
    assert decoded.element_type == element_type
    assert_same(descriptor, decoded.descriptor)
    round_trip([array, {Symbol("k"): array}])


@pytest.mark.parametrize("name", sorted(INT_RANGES))
def test_round_trip_integer_limits(name: str) -> None:
    cls, lo, hi = INT_RANGES[name]
    for v in (lo, hi, lo + 1, hi - 1, 0):
        round_trip(cls(v))
        round_trip(Array(name, [cls(v)]))  # type: ignore[arg-type]
    round_trip(Array(name, [cls(lo), cls(hi)]))  # type: ignore[arg-type]


EDGE_VALUES: list[Any] = [
    None, True, False,
    "", "x" * 300, "é" * 150, "\U0001f600" * 70, "\x00", "\uffff\U0010ffff", "a\u0301\u200d",
    b"", b"\x00" * 300, bytes(range(256)),
    Symbol(""), Symbol("s" * 300), Symbol("amqp:not-found"),
    Char("\x00"), Char("\U0010ffff"), Char("\ud7ff"), Char("\ue000"),
    0.0, -0.0, float("inf"), float("-inf"), NAN, 5e-324, 1.7976931348623157e308,
    Float(0.0), Float(-0.0), Float(float("inf")), Float(NAN), Float(3.4028234663852886e38),
    Float(1.401298464324817e-45),
    Decimal32(b"\x00" * 4), Decimal64(b"\xff" * 8), Decimal128(bytes(range(16))),
    uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("12345678-1234-5678-1234-567812345678"),
    EPOCH, EPOCH + dt.timedelta(milliseconds=DATETIME_MIN_MS),
    EPOCH + dt.timedelta(milliseconds=DATETIME_MAX_MS),
    EPOCH - dt.timedelta(milliseconds=1),
    Timestamp(DATETIME_MIN_MS - 1), Timestamp(DATETIME_MAX_MS + 1),
    Timestamp(-(2**63)), Timestamp(2**63 - 1),
    [], [[]], [[], [[]]], {}, {None: None}, Map([(None, 1), (None, 2)]),
    [None] * 254, [None] * 255, [UInt(i) for i in range(300)],
    {UInt(i): str(i) for i in range(300)},
    {Symbol("k"): "x" * 249}, {Symbol("k"): "x" * 250},
    Map([(None, None)] * 127), Map([(None, None)] * 128),
    Map([([1], 2), ({"a": 1}, [3])]), Map([(Symbol("a"), 1), ("a", 2)]),
    Map([(UInt(1), 1), (ULong(1), 2), (1, 3), (True, 4), (1.0, 5)]),
    {float("nan"): 1, float("nan"): 2},  # two distinct keys to Python too
    Array("null", [None] * 300), Array("boolean", [True, False] * 200),
    Array("ubyte", [UByte(0)] * 254), Array("ubyte", [UByte(0)] * 255),
    Array("symbol", [Symbol("a" * 300), Symbol("")]),
    Array("string", ["x" * 255]), Array("string", ["x" * 256]),
    Array("binary", [b"", b"\x00" * 256]),
    Array("list", [[], [None], [UInt(i) for i in range(300)]]),
    Array("list", [[]] * 300),
    Array("map", [{}, {Symbol("a"): 1}, Map([([1], 2)])]),
    Array("map", [{UInt(i): None for i in range(200)}]),
    Array("map", [{}] * 256),
    Array("array", [Array("uint", []), Array("symbol", [Symbol("x")], Symbol("d")),
                    Array("array", [Array("list", [[1, "two"]])])]),
    Array("array", [Array("null", [None] * 300)]),
    Array("list", [[1]], descriptor=ULong(2**64 - 1)),
    Array("map", [{}], descriptor=Symbol("example:map")),
    Array("array", [Array("int", [Int(-1)])], descriptor=ULong(0x4D2_0000_0001)),
    Array("uint", [], descriptor=Symbol("")),
    Described(Symbol("example:x"), Described(ULong(2**40), Described(Symbol(""), None))),
    Described(ULong(2**64 - 1), Array("long", [-(2**63), 2**63 - 1])),
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=lambda v: repr(v)[:40])
def test_round_trip_edge_values(value: Any) -> None:
    round_trip(value)
    round_trip([value])


# Hypothesis would draw hundreds of values for each of these; a few drawn values
# cycled through a long collection exercise the 32-bit forms just as well.


def _stretch(values: list[Any], n: int) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


@settings(max_examples=30)
@given(st.lists(amqp_values(max_leaves=3), min_size=1, max_size=5), st.integers(256, 300))
def test_round_trip_list32(values: list[Any], n: int) -> None:
    data = round_trip(_stretch(values, n))
    assert data[0] == 0xD0


@settings(max_examples=30)
@given(st.lists(amqp_values(max_leaves=3), min_size=1, max_size=5), st.integers(128, 300))
def test_round_trip_map32(values: list[Any], n: int) -> None:
    value = {UInt(i): v for i, v in enumerate(_stretch(values, n))}
    data = round_trip(value)
    assert data[0] == 0xD1
    assert int.from_bytes(data[5:9], "big") == 2 * n


@settings(max_examples=50)
@given(st.sampled_from(ELEMENT_TYPES).flatmap(
    lambda t: st.tuples(st.just(t), array_items(t, min_size=1, max_size=4),
                        st.one_of(st.none(), descriptors()))),
    st.integers(256, 270))
def test_round_trip_array32(case: tuple[str, list[Any], Any], n: int) -> None:
    element_type, items, descriptor = case
    array = Array(element_type, _stretch(items, n), descriptor)  # type: ignore[arg-type]
    data = round_trip(array)
    assert data[0] == 0xF0
    assert int.from_bytes(data[5:9], "big") == n


@settings(max_examples=50)
@given(amqp_maps(amqp_values(max_leaves=4)))
def test_round_trip_maps_and_map_fallback(value: Any) -> None:
    round_trip(value)


@pytest.mark.parametrize("depth", [1, 2, 10, 63])
def test_round_trip_deep_nesting(depth: int) -> None:
    # Each list, map, array and described value is one level; the default cap is 64.
    value: Any = [None]
    for i in range(depth):
        if i % 4 == 0:
            value = Described(ULong(7), value)
        elif i % 4 == 1:
            value = {Symbol(str(i)): value}
        elif i % 4 == 2:
            value = [value]
        else:
            value = Array("list", [value])  # value is a list here
    round_trip(value)


# ---------------------------------------------------------------------------
# What the encoder accepts beyond the exact types, and what comes back
# ---------------------------------------------------------------------------


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


@pytest.mark.parametrize(("given_value", "decoded"), [
    ((1, "a"), [1, "a"]),
    (bytearray(b"ab"), b"ab"),
    (memoryview(b"abc"), b"abc"),
    (memoryview(b"abcdef")[::2], b"ace"),
    (Colour.RED, 1),
    (Name("n"), "n"),
    (True, True),
    (Timestamp(0), EPOCH),
    (Timestamp(-1), EPOCH - dt.timedelta(milliseconds=1)),
    (dt.datetime(2020, 1, 1, 12, 0, 0, 999999, tzinfo=UTC),
     dt.datetime(2020, 1, 1, 12, 0, 0, 999000, tzinfo=UTC)),
    (dt.datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
     dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    (dt.datetime(2020, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5))),
     dt.datetime(2020, 1, 1, tzinfo=UTC)),
    (Described("example:plain-str", 1), Described(Symbol("example:plain-str"), 1)),
    (Described(7, 1), Described(ULong(7), 1)),
    (Array("uint", [1, 2]), Array("uint", [UInt(1), UInt(2)])),
    (Array("double", [1]), Array("double", [1.0])),
    (Array("string", [Symbol("s")]), Array("string", ["s"])),
    (Array("binary", [bytearray(b"x"), memoryview(b"y")]), Array("binary", [b"x", b"y"])),
    (Array("timestamp", [0, Timestamp(1)]),
     Array("timestamp", [EPOCH, EPOCH + dt.timedelta(milliseconds=1)])),
    (Array("list", [(1,)]), Array("list", [[1]])),
    (Map([(UInt(1), 2)]), {UInt(1): 2}),
    ({(1, 2): "t"}, Map([([1, 2], "t")])),
], ids=repr)
def test_encoder_normalises(given_value: Any, decoded: Any) -> None:
    data = encode(given_value)
    assert_same(decoded, decode(data))
    assert encode(decoded) == data


def test_decoded_datetimes_are_utc() -> None:
    east = dt.timezone(dt.timedelta(hours=3))
    value = decode(encode(dt.datetime(2000, 6, 1, 3, tzinfo=east)))
    assert value.tzinfo is UTC
    assert value == dt.datetime(2000, 6, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Smallest encodings, byte for byte
# ---------------------------------------------------------------------------

SMALLEST: list[tuple[Any, str]] = [
    (None, "40"),
    (True, "41"),
    (False, "42"),
    (UByte(0), "5000"),
    (UByte(255), "50ff"),
    (UShort(0), "600000"),
    (UShort(65535), "60ffff"),
    (UInt(0), "43"),
    (UInt(1), "5201"),
    (UInt(255), "52ff"),
    (UInt(256), "7000000100"),
    (UInt(2**32 - 1), "70ffffffff"),
    (ULong(0), "44"),
    (ULong(1), "5301"),
    (ULong(255), "53ff"),
    (ULong(256), "800000000000000100"),
    (ULong(2**64 - 1), "80ffffffffffffffff"),
    (Byte(-1), "51ff"),
    (Byte(-128), "5180"),
    (Short(-2), "61fffe"),
    (Int(0), "5400"),
    (Int(-1), "54ff"),
    (Int(127), "547f"),
    (Int(-128), "5480"),
    (Int(128), "7100000080"),
    (Int(-129), "71ffffff7f"),
    (Int(2**31 - 1), "717fffffff"),
    (0, "5500"),
    (-1, "55ff"),
    (127, "557f"),
    (-128, "5580"),
    (128, "810000000000000080"),
    (-129, "81ffffffffffffff7f"),
    (2**63 - 1, "817fffffffffffffff"),
    (-(2**63), "818000000000000000"),
    (Float(1.5), "723fc00000"),
    (1.5, "823ff8000000000000"),
    (Decimal32(b"\x01\x02\x03\x04"), "7401020304"),
    (Decimal64(bytes(range(8))), "840001020304050607"),
    (Decimal128(bytes(range(16))), "94000102030405060708090a0b0c0d0e0f"),
    (Char("a"), "7300000061"),
    (Char("\U0001f600"), "730001f600"),
    (EPOCH, "830000000000000000"),
    (EPOCH + dt.timedelta(seconds=1), "8300000000000003e8"),
    (EPOCH - dt.timedelta(milliseconds=1), "83ffffffffffffffff"),
    (Timestamp(-(2**63)), "838000000000000000"),
    (uuid.UUID(int=1), "98" + "00" * 15 + "01"),
    (b"", "a000"),
    (b"ab", "a0026162"),
    (b"x" * 255, "a0ff" + "78" * 255),
    (b"x" * 256, "b000000100" + "78" * 256),
    ("", "a100"),
    ("é", "a102c3a9"),
    ("x" * 255, "a1ff" + "78" * 255),
    ("x" * 256, "b100000100" + "78" * 256),
    ("é" * 127 + "x", "a1ff" + "c3a9" * 127 + "78"),  # 128 characters, 255 bytes
    ("é" * 128, "b100000100" + "c3a9" * 128),  # 128 characters, 256 bytes
    (Symbol(""), "a300"),
    (Symbol("a"), "a30161"),
    (Symbol("s" * 255), "a3ff" + "73" * 255),
    (Symbol("s" * 256), "b300000100" + "73" * 256),
    ([], "45"),
    ([None], "c0020140"),
    ([[]], "c0020145"),
    ([None] * 254, "c0fffe" + "40" * 254),
    ([None] * 255, "d000000103000000ff" + "40" * 255),
    ({}, "c10100"),
    ({None: None}, "c103024040"),
    ({Symbol("k"): "x" * 249}, "c1ff02a3016ba1f9" + "78" * 249),
    ({Symbol("k"): "x" * 250}, "d10000010300000002a3016ba1fa" + "78" * 250),
    (Map([(None, None)] * 127), "c1fffe" + "40" * 254),
    (Map([(None, None)] * 128), "d10000010400000100" + "40" * 256),
    (Array("uint", []), "e0020052"),
    (Array("uint", [UInt(0), UInt(1), UInt(255)]), "e00503520001ff"),
    (Array("uint", [UInt(256)]), "e006017000000100"),
    (Array("ulong", [ULong(1)]), "e003015301"),
    (Array("ulong", [ULong(256)]), "e00a01800000000000000100"),
    (Array("int", [Int(-1), Int(127)]), "e0040254ff7f"),
    (Array("int", [Int(128)]), "e006017100000080"),
    (Array("long", [-128]), "e003015580"),
    (Array("long", [128]), "e00a01810000000000000080"),
    (Array("boolean", [True, False]), "e00402560100"),
    (Array("null", [None] * 3), "e0020340"),
    (Array("null", [None] * 255), "e002ff40"),
    (Array("null", [None] * 256), "f0000000050000010040"),
    (Array("ubyte", [UByte(0)] * 253), "e0fffd50" + "00" * 253),
    (Array("ubyte", [UByte(0)] * 254), "f000000103000000fe50" + "00" * 254),
    (Array("symbol", [Symbol("a")]), "e00401a30161"),
    (Array("symbol", [Symbol("a")], Symbol("x")), "e0080100a30178a30161"),
    (Array("string", ["x" * 256]), "f00000010900000001b100000100" + "78" * 256),
    (Array("list", [[], [None]]), "e00702c00100020140"),
    (Array("list", [[UInt(1)] * 300]), "f00000026500000001d00000025c0000012c" + "5201" * 300),
    (Array("map", [{}]), "e00401c10100"),
    (Array("array", [Array("uint", [UInt(1)])]), "e00601e003015201"),
    (Described(ULong(5), None), "00530540"),
    (Described(ULong(256), None), "0080000000000000010040"),
    (Described(Symbol("x:y"), 1), "00a303783a795501"),
]


@pytest.mark.parametrize(("value", "expected"), SMALLEST, ids=lambda v: repr(v)[:40])
def test_smallest_encoding(value: Any, expected: str) -> None:
    assert encode(value).hex() == expected
    assert_same(value, decode(bytes.fromhex(expected)))


def test_smallest_encoding_inside_compounds() -> None:
    # A list holds its items in their own smallest forms.
    assert encode([UInt(0), ULong(1), 0, Int(-1), True]).hex() == "c00905" "43" "5301" "5500" "54ff" "41"


@given(st.integers(-(2**63), 2**63 - 1))
def test_long_picks_smalllong_exactly_when_it_fits(n: int) -> None:
    data = encode(n)
    assert data[0] == (0x55 if -128 <= n <= 127 else 0x81)
    assert len(data) == (2 if -128 <= n <= 127 else 9)


@given(st.integers(0, 2**32 - 1))
def test_uint_picks_the_smallest(n: int) -> None:
    data = encode(UInt(n))
    assert data[0] == (0x43 if n == 0 else 0x52 if n < 256 else 0x70)


@given(st.integers(0, 2**64 - 1))
def test_ulong_picks_the_smallest(n: int) -> None:
    data = encode(ULong(n))
    assert data[0] == (0x44 if n == 0 else 0x53 if n < 256 else 0x80)


@given(st.lists(st.none(), max_size=300))
def test_list_picks_the_smallest(items: list[None]) -> None:
    data = encode(items)
    if not items:
        assert data == b"\x45"
    elif len(items) < 255:
        assert data[:3] == bytes([0xC0, len(items) + 1, len(items)])
    else:
        assert data[:9] == b"\xd0" + (len(items) + 4).to_bytes(4, "big") + len(items).to_bytes(
            4, "big")


# ---------------------------------------------------------------------------
# Encoding errors
# ---------------------------------------------------------------------------


class Unencodable:
    def __repr__(self) -> str:
        return "<Unencodable at the door>"


def _self_referencing() -> list[Any]:
    a: list[Any] = []
    a.append(a)
    return a


def _deep(n: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(n):
        value = [value]
    return value


ERRORS: list[tuple[Any, type[Exception], str, str]] = [
    # value, exception, path, text the message must contain
    (UInt(-1), EncodeError, "", "-1"),
    (UInt(2**32), EncodeError, "", str(2**32)),
    (UByte(256), EncodeError, "", "256"),
    (UByte(-1), EncodeError, "", "ubyte"),
    (UShort(65536), EncodeError, "", "65536"),
    (ULong(2**64), EncodeError, "", str(2**64)),
    (ULong(-1), EncodeError, "", "ulong"),
    (Byte(128), EncodeError, "", "128"),
    (Byte(-129), EncodeError, "", "-129"),
    (Short(2**15), EncodeError, "", str(2**15)),
    (Int(2**31), EncodeError, "", str(2**31)),
    (Int(-(2**31) - 1), EncodeError, "", str(-(2**31) - 1)),
    (2**63, EncodeError, "", str(2**63)),
    (-(2**63) - 1, EncodeError, "", str(-(2**63) - 1)),
    (Float(1e300), EncodeError, "", "1e+300"),
    (Timestamp(2**63), EncodeError, "", str(2**63)),
    (dt.datetime(2020, 1, 2, 3, 4), EncodeError, "", "datetime.datetime(2020, 1, 2, 3, 4)"),
    (Symbol("caf\xe9"), EncodeError, "", "caf\xe9"),
    ("lone \ud800", EncodeError, "", repr("lone \ud800")),
    (Char("ab"), EncodeError, "", "'ab'"),
    (Char(""), EncodeError, "", "''"),
    (Char("\udfff"), EncodeError, "", "\\udfff"),
    (object(), EncodeTypeError, "", "object"),
    (set(), EncodeTypeError, "", "set()"),
    (frozenset({1}), EncodeTypeError, "", "frozenset({1})"),
    (1j, EncodeTypeError, "", "1j"),
    (decimal.Decimal("1.5"), EncodeTypeError, "", "Decimal('1.5')"),
    (dt.date(2020, 1, 1), EncodeTypeError, "", "datetime.date(2020, 1, 1)"),
    (Unencodable(), EncodeTypeError, "", "<Unencodable at the door>"),
    ([1, {"k": UInt(-1)}], EncodeError, "[1]['k']", "-1"),
    ([1, [2, [3, object()]]], EncodeTypeError, "[1][1][1]", "object"),
    ([[Unencodable()]], EncodeTypeError, "[0][0]", "<Unencodable at the door>"),
    ([[Symbol("x at y \xe9")]], EncodeError, "[0][0]", "x at y \xe9"),
    ((0, (1, set())), EncodeTypeError, "[1][1]", "set()"),
    ({UInt(-1): 1}, EncodeError, "[key UInt(-1)]", "-1"),
    ({"a": {"b": [None, 2**64]}}, EncodeError, "['a']['b'][1]", str(2**64)),
    (Map([([object()], 1)]), EncodeTypeError, "[key [<object", "object"),
    (Map([(1, 2), (2, set())]), EncodeTypeError, "[2]", "set()"),
    (Described(1.5, None), EncodeTypeError, ".descriptor", "1.5"),
    (Described(True, None), EncodeTypeError, ".descriptor", "True"),
    (Described(-1, None), EncodeError, ".descriptor", "-1"),
    (Described(Symbol("\xe9"), None), EncodeError, ".descriptor", "\xe9"),
    (Described(ULong(1), [None, set()]), EncodeTypeError, ".value[1]", "set()"),
    ([Described(ULong(1), {"k": UByte(300)})], EncodeError, "[0].value['k']", "300"),
    (Array("uint", [1, -1]), EncodeError, "[1]", "-1"),
    (Array("uint", [1, "x"]), EncodeTypeError, "[1]", "'x'"),
    (Array("uint", [True]), EncodeTypeError, "[0]", "True"),
    (Array("ubyte", [256]), EncodeError, "[0]", "256"),
    (Array("long", [2**63]), EncodeError, "[0]", str(2**63)),
    (Array("null", [None, 0]), EncodeTypeError, "[1]", "0"),
    (Array("boolean", [1]), EncodeTypeError, "[0]", "1"),
    (Array("float", [1.0, 1e300]), EncodeError, "[1]", "1e+300"),
    (Array("float", ["1.0"]), EncodeTypeError, "[0]", "'1.0'"),
    (Array("double", [None]), EncodeTypeError, "[0]", "None"),
    (Array("double", [10**400]), EncodeError, "[0]", "out of range"),
    (Array("decimal32", [Decimal64(bytes(8))]), EncodeTypeError, "[0]", "Decimal64"),
    (Array("char", [5]), EncodeTypeError, "[0]", "5"),
    (Array("char", ["ab"]), EncodeError, "[0]", "'ab'"),
    (Array("timestamp", [dt.datetime(2020, 1, 1)]), EncodeError, "[0]", "naive"),
    (Array("timestamp", ["now"]), EncodeTypeError, "[0]", "'now'"),
    (Array("uuid", ["x"]), EncodeTypeError, "[0]", "'x'"),
    (Array("binary", [3]), EncodeTypeError, "[0]", "3"),
    (Array("binary", [b"", "x"]), EncodeTypeError, "[1]", "'x'"),
    (Array("string", [b"x"]), EncodeTypeError, "[0]", "b'x'"),
    (Array("string", ["\ud800"]), EncodeError, "[0]", "\\ud800"),
    (Array("symbol", ["ok", "\xe9"]), EncodeError, "[1]", "\xe9"),
    (Array("list", [[], 1]), EncodeTypeError, "[1]", "1"),
    (Array("list", [[1, set()]]), EncodeTypeError, "[0][1]", "set()"),
    (Array("map", [[]]), EncodeTypeError, "[0]", "[]"),
    (Array("map", [{"k": UInt(-1)}]), EncodeError, "[0]['k']", "-1"),
    (Array("array", [[1]]), EncodeTypeError, "[0]", "[1]"),
    (Array("array", [Array("uint", [-5])]), EncodeError, "[0][0]", "-5"),
    (Array("uint", [], descriptor=1.5), EncodeTypeError, ".descriptor", "1.5"),
    (Array("described", []), EncodeError, "", "'described'"),  # type: ignore[arg-type]
    ([0, Array("uint", [0, 2**32])], EncodeError, "[1][1]", str(2**32)),
    (_self_referencing(), EncodeError, "", "nested too deeply"),
    (_deep(100_000), EncodeError, "", "nested too deeply"),
]


@pytest.mark.parametrize(("value", "exc_type", "path", "text"), ERRORS,
                         ids=[f"{i}-{type(e[0]).__name__}" for i, e in enumerate(ERRORS)])
def test_encode_errors(value: Any, exc_type: type[Exception], path: str, text: str) -> None:
    with pytest.raises(exc_type) as info:
        encode(value)
    exc = info.value
    assert type(exc) is exc_type
    assert isinstance(exc, ValueError)
    if exc_type is EncodeTypeError:
        assert isinstance(exc, TypeError)
    assert isinstance(exc, EncodeError)
    if path.endswith("<object"):  # the repr of an object holds its address
        assert exc.path.startswith(path)
    else:
        assert exc.path == path
    message = str(exc)
    assert text in message
    if path:
        assert message.endswith(f" at {exc.path}")
        assert message.count(" at " + exc.path) == 1


def test_encode_error_at_the_top_has_no_path_suffix() -> None:
    with pytest.raises(EncodeError) as info:
        encode(UInt(-1))
    assert info.value.path == ""
    assert str(info.value) == "-1 is out of range for AMQP uint"


def test_encode_error_is_not_the_only_failure_mode_hidden() -> None:
    # An error deep inside keeps its own message exactly, whatever the depth.
    with pytest.raises(EncodeError) as shallow:
        encode(Symbol("x at y \xe9"))
    with pytest.raises(EncodeError) as deep:
        encode({"a": [[Described(Symbol("d"), Symbol("x at y \xe9"))]]})
    assert deep.value.path == "['a'][0][0].value"
    assert str(deep.value) == f"{shallow.value} at {deep.value.path}"


@given(amqp_values(max_leaves=8), st.sampled_from([object(), set(), UInt(-1), 2**64]))
def test_bad_value_anywhere_is_found(value: Any, bad: Any) -> None:
    for wrapped, path in ((
        [value, bad], "[1]"), ({Symbol("k"): bad}, "[Symbol('k')]"),
            (Described(ULong(9), [bad]), ".value[0]")):
        with pytest.raises(EncodeError) as info:
            encode(wrapped)
        assert info.value.path == path


def test_decode_one_returns_end_offset() -> None:
    data = encode([1, "two"])
    value, end = decode_one(b"\x40" + data + b"\x41", 1)
    assert value == [1, "two"]
    assert end == 1 + len(data)
