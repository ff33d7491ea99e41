"""Cross-checks of the codec against python-qpid-proton (proton-c's codec).

What we encode, proton decodes to the same AMQP types and values; what proton
encodes, we decode to the right Python types. Proton's values are read node by
node (``proton.Data``), with the exact proton class of every scalar checked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import proton
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proton import Data

from amqp10_proto._codec import decode, encode
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
    amqp_values,
    array_items,
    assert_same,
    descriptors,
    scalars_of,
)

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MS = dt.timedelta(milliseconds=1)

ELEMENT_CODES: dict[str, int] = {
    "null": Data.NULL, "boolean": Data.BOOL, "ubyte": Data.UBYTE, "ushort": Data.USHORT,
    "uint": Data.UINT, "ulong": Data.ULONG, "byte": Data.BYTE, "short": Data.SHORT,
    "int": Data.INT, "long": Data.LONG, "float": Data.FLOAT, "double": Data.DOUBLE,
    "decimal32": Data.DECIMAL32, "decimal64": Data.DECIMAL64, "decimal128": Data.DECIMAL128,
    "char": Data.CHAR, "timestamp": Data.TIMESTAMP, "uuid": Data.UUID, "binary": Data.BINARY,
    "string": Data.STRING, "symbol": Data.SYMBOL, "list": Data.LIST, "map": Data.MAP,
    "array": Data.ARRAY,
}
ELEMENT_NAMES = {code: name for name, code in ELEMENT_CODES.items()}
assert set(ELEMENT_CODES) == set(ELEMENT_TYPES)


# ---------------------------------------------------------------------------
# Our values into proton.Data, with the exact AMQP type of each
# ---------------------------------------------------------------------------


def _ms(value: dt.datetime | Timestamp) -> int:
    if isinstance(value, Timestamp):
        return int(value)
    return (value - EPOCH) // MS


_PUT_SCALAR: dict[type, Callable[[Data, Any], None]] = {
    type(None): lambda d, v: d.put_null(),
    bool: lambda d, v: d.put_bool(v),
    UByte: lambda d, v: d.put_ubyte(int(v)),
    UShort: lambda d, v: d.put_ushort(int(v)),
    UInt: lambda d, v: d.put_uint(int(v)),
    ULong: lambda d, v: d.put_ulong(int(v)),
    Byte: lambda d, v: d.put_byte(int(v)),
    Short: lambda d, v: d.put_short(int(v)),
    Int: lambda d, v: d.put_int(int(v)),
    int: lambda d, v: d.put_long(v),
    Float: lambda d, v: d.put_float(float(v)),
    float: lambda d, v: d.put_double(v),
    Decimal32: lambda d, v: d.put_decimal32(int.from_bytes(v.raw, "big")),
    Decimal64: lambda d, v: d.put_decimal64(int.from_bytes(v.raw, "big")),
    Decimal128: lambda d, v: d.put_decimal128(proton.decimal128(v.raw)),
    Char: lambda d, v: d.put_char(str(v)),
    dt.datetime: lambda d, v: d.put_timestamp(_ms(v)),
    Timestamp: lambda d, v: d.put_timestamp(_ms(v)),
    uuid.UUID: lambda d, v: d.put_uuid(v),
    bytes: lambda d, v: d.put_binary(v),
    str: lambda d, v: d.put_string(v),
    Symbol: lambda d, v: d.put_symbol(str(v)),
}


def put(d: Data, value: Any) -> None:
    """Append ``value`` to ``d`` as the AMQP type our codec gives it."""
    if isinstance(value, list):
        d.put_list()
        d.enter()
        for v in value:
            put(d, v)
        d.exit()
    elif isinstance(value, (dict, Map)):
        d.put_map()
        d.enter()
        for k, v in (value.items() if isinstance(value, dict) else value.pairs):
            put(d, k)
            put(d, v)
        d.exit()
    elif isinstance(value, Described):
        d.put_described()
        d.enter()
        put(d, value.descriptor)
        put(d, value.value)
        d.exit()
    elif isinstance(value, Array):
        d.put_array(value.descriptor is not None, ELEMENT_CODES[value.element_type])
        d.enter()
        if value.descriptor is not None:
            put(d, value.descriptor)
        for v in value.items:
            put(d, v)
        d.exit()
    else:
        _PUT_SCALAR[type(value)](d, value)


def proton_encode(value: Any) -> bytes:
    d = Data()
    put(d, value)
    return bytes(d.encode())


# ---------------------------------------------------------------------------
# proton.Data into our values, checking proton's exact classes
# ---------------------------------------------------------------------------


def _timestamp(ms: int) -> Any:
    if DATETIME_MIN_MS <= ms <= DATETIME_MAX_MS:
        return EPOCH + ms * MS
    return Timestamp(ms)


_FROM_PROTON: dict[type, Callable[[Any], Any]] = {
    type(None): lambda x: None,
    bool: bool,
    proton.ubyte: UByte,
    proton.ushort: UShort,
    proton.uint: UInt,
    proton.ulong: ULong,
    proton.byte: Byte,
    proton.short: Short,
    proton.int32: Int,
    int: int,  # long
    proton.float32: Float,
    float: float,
    proton.decimal32: lambda x: Decimal32(int(x).to_bytes(4, "big")),
    proton.decimal64: lambda x: Decimal64(int(x).to_bytes(8, "big")),
    proton.decimal128: lambda x: Decimal128(bytes(x)),
    proton.char: lambda x: Char(str(x)),
    proton.timestamp: lambda x: _timestamp(int(x)),
    uuid.UUID: lambda x: x,
    bytes: bytes,
    memoryview: bytes,  # proton hands some binaries (the empty one) back as a memoryview
    str: str,
    proton.symbol: lambda x: Symbol(str(x)),
}


def _map(pairs: list[tuple[Any, Any]]) -> Any:
    try:
        d = dict(pairs)
    except TypeError:
        return Map(pairs)
    return d if len(d) == len(pairs) else Map(pairs)


def get(d: Data) -> Any:
    """The value at ``d``'s current node, in our types."""
    t = d.type()
    if t == Data.LIST:
        d.enter()
        items = []
        while d.next() is not None:
            items.append(get(d))
        d.exit()
        return items
    if t == Data.MAP:
        d.enter()
        pairs = []
        while d.next() is not None:
            k = get(d)
            assert d.next() is not None, "map with an odd count"
            pairs.append((k, get(d)))
        d.exit()
        return _map(pairs)
    if t == Data.DESCRIBED:
        d.enter()
        d.next()
        descriptor = get(d)
        d.next()
        value = get(d)
        d.exit()
        return Described(descriptor, value)
    if t == Data.ARRAY:
        count, described, element_code = d.get_array()
        d.enter()
        descriptor = None
        if described:
            d.next()
            descriptor = get(d)
        items = []
        while d.next() is not None:
            items.append(get(d))
        d.exit()
        assert len(items) == count
        return Array(ELEMENT_NAMES[element_code], items, descriptor)  # type: ignore[arg-type]
    obj = d.get_object()
    convert = _FROM_PROTON.get(type(obj))
    assert convert is not None, f"proton gave {obj!r} of unexpected type {type(obj)}"
    return convert(obj)


def proton_decode(data: bytes) -> Any:
    d = Data()
    assert d.decode(data) == len(data)
    d.rewind()
    assert d.next() is not None
    value = get(d)
    assert d.next() is None
    return value


def proton_object(data: bytes) -> Any:
    """proton's own Python object for ``data`` (``Data.get_object``)."""
    d = Data()
    assert d.decode(data) == len(data)
    d.rewind()
    d.next()
    obj = d.get_object()
    if isinstance(obj, memoryview):
        # proton's binaries are views of its own buffer, freed with the Data.
        return bytes(obj)
    return obj


# ---------------------------------------------------------------------------
# Both ways, for any value
# ---------------------------------------------------------------------------


def _nests_described(value: Any) -> bool:
    """Whether a described value directly holds another described value."""
    if isinstance(value, Described):
        return isinstance(value.value, Described) or _nests_described(value.value)
    if isinstance(value, dict):
        value = Map(value.items())
    if isinstance(value, Map):
        return any(_nests_described(k) or _nests_described(v) for k, v in value.pairs)
    if isinstance(value, (list, Array)):
        return any(_nests_described(v) for v in value)
    return False


def test_proton_loses_the_sibling_after_a_described_described() -> None:
    # A proton-c decoder bug (python-qpid-proton 0.40.0): in a list, the item
    # after a described value whose value is itself described is dropped from
    # the list's count (proton re-encodes list32 size 13 with count 1). So the
    # proton cross-checks leave that shape out; our own round trip covers it.
    # If this starts failing, proton is fixed: drop _nests_described.
    value = [Described(ULong(5), Described(ULong(6), None)), 1]
    assert_same(value, decode(encode(value)))
    d = Data()
    d.decode(encode(value))
    assert bytes(d.encode()).hex() == "d00000000d00000001005305005306405501"


def both_ways(value: Any) -> None:
    ours = encode(value)
    assert_same(value, proton_decode(ours))
    theirs = proton_encode(value)
    assert_same(value, decode(theirs))
    # And the two encodings agree in content (not necessarily in bytes).
    assert_same(decode(ours), proton_decode(theirs))


@settings(max_examples=300)
@given(amqp_values(max_leaves=25).filter(lambda v: not _nests_described(v)))
def test_any_value_both_ways(value: Any) -> None:
    both_ways(value)


@pytest.mark.parametrize("name", [t for t in ELEMENT_TYPES if t not in ("list", "map", "array")])
@given(data=st.data())
def test_each_primitive_both_ways(name: str, data: st.DataObject) -> None:
    value = data.draw(scalars_of(name))
    both_ways(value)
    both_ways([value, Described(data.draw(descriptors()), value)])


@pytest.mark.parametrize("element_type", ELEMENT_TYPES)
@given(data=st.data())
def test_arrays_of_each_type_both_ways(element_type: str, data: st.DataObject) -> None:
    items = data.draw(array_items(element_type, max_size=6))
    descriptor = data.draw(st.one_of(st.none(), descriptors()))
    both_ways(Array(element_type, items, descriptor))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [
    [None] * 300,
    {UInt(i): str(i) for i in range(300)},
    "x" * 300, b"\x00" * 300, Symbol("s" * 300),
    Array("uint", [UInt(i) for i in range(300)]),
    Array("null", [None] * 300),
    Array("symbol", [Symbol("a" * 300)]),
    Array("list", [[UInt(1)] * 300, []]),
    Array("map", [{Symbol("k"): "x" * 300}]),
    Array("array", [Array("ubyte", [UByte(1)] * 300)]),
    Array("array", [Array("array", [Array("list", [[1, "two"]])])]),
    Map([([1], 2), (Symbol("a"), 1), ("a", 2)]),
    Described(ULong(2**64 - 1), Array("long", [-(2**63), 2**63 - 1])),
], ids=lambda v: repr(v)[:30])
def test_large_and_nested_values_both_ways(value: Any) -> None:
    both_ways(value)


# ---------------------------------------------------------------------------
# proton's own classes, explicitly
# ---------------------------------------------------------------------------

UNDESCRIBED = proton.UNDESCRIBED

OUR_VALUE_TO_PROTON: list[tuple[Any, Any]] = [
    (None, None),
    (True, True),
    (UByte(255), proton.ubyte(255)),
    (UShort(65535), proton.ushort(65535)),
    (UInt(0), proton.uint(0)),
    (UInt(7), proton.uint(7)),
    (UInt(2**32 - 1), proton.uint(2**32 - 1)),
    (ULong(0), proton.ulong(0)),
    (ULong(2**64 - 1), proton.ulong(2**64 - 1)),
    (Byte(-128), proton.byte(-128)),
    (Short(-32768), proton.short(-32768)),
    (Int(-1), proton.int32(-1)),
    (Int(2**31 - 1), proton.int32(2**31 - 1)),
    (-(2**63), -(2**63)),
    (Float(1.5), proton.float32(1.5)),
    (1.5, 1.5),
    (Decimal32(b"\x01\x02\x03\x04"), proton.decimal32(0x01020304)),
    (Decimal64(b"\x01" * 8), proton.decimal64(0x0101010101010101)),
    (Decimal128(bytes(range(16))), proton.decimal128(bytes(range(16)))),
    (Char("\U0001f600"), proton.char("\U0001f600")),
    (EPOCH + 1500 * MS, proton.timestamp(1500)),
    (Timestamp(2**63 - 1), proton.timestamp(2**63 - 1)),
    (uuid.UUID(int=7), uuid.UUID(int=7)),
    (b"\x00\xff", b"\x00\xff"),
    ("\xe9t\xe9", "\xe9t\xe9"),
    (Symbol("amqp:x"), proton.symbol("amqp:x")),
    ([UInt(1), "a"], [proton.uint(1), "a"]),
    ({Symbol("k"): ULong(1)}, {proton.symbol("k"): proton.ulong(1)}),
    (Described(ULong(5), None), proton.Described(proton.ulong(5), None)),
    (Described(Symbol("x:y"), [1]), proton.Described(proton.symbol("x:y"), [1])),
    (Array("uint", [UInt(1), UInt(300)]),
     proton.Array(UNDESCRIBED, Data.UINT, proton.uint(1), proton.uint(300))),
    (Array("symbol", [Symbol("a")], Symbol("d")),
     proton.Array(proton.symbol("d"), Data.SYMBOL, proton.symbol("a"))),
    (Array("boolean", [True, False]), proton.Array(UNDESCRIBED, Data.BOOL, True, False)),
    (Array("null", [None, None]), proton.Array(UNDESCRIBED, Data.NULL, None, None)),
    (Array("long", []), proton.Array(UNDESCRIBED, Data.LONG)),
]


@pytest.mark.parametrize(("ours", "theirs"), OUR_VALUE_TO_PROTON, ids=lambda v: repr(v)[:30])
def test_proton_get_object_types(ours: Any, theirs: Any) -> None:
    got = proton_object(encode(ours))
    assert got == theirs
    assert type(got) is type(theirs)
    if isinstance(theirs, (list, dict)):
        for g, t in zip(got if isinstance(got, list) else [*got, *got.values()],
                        theirs if isinstance(theirs, list) else [*theirs, *theirs.values()],
                        strict=True):
            assert type(g) is type(t)
    if isinstance(theirs, proton.Described):
        assert type(got.descriptor) is type(theirs.descriptor)
    if isinstance(theirs, proton.Array):
        assert [type(e) for e in got.elements] == [type(e) for e in theirs.elements]
    # proton.Data.put_object of proton's value decodes back to ours.
    d = Data()
    d.put_object(theirs)
    assert_same(ours, decode(bytes(d.encode())))


PROTON_OBJECTS_TO_OURS: list[tuple[Any, Any]] = [
    (proton.symbol("s"), Symbol("s")),
    (proton.ulong(2**64 - 1), ULong(2**64 - 1)),
    (proton.uint(0), UInt(0)),
    (proton.ubyte(0), UByte(0)),
    (proton.ushort(1), UShort(1)),
    (proton.byte(1), Byte(1)),
    (proton.short(1), Short(1)),
    (proton.int32(1), Int(1)),
    (12345678901, 12345678901),
    (proton.float32(0.25), Float(0.25)),
    (proton.char("c"), Char("c")),
    (proton.timestamp(0), EPOCH),
    (proton.timestamp(-(2**63)), Timestamp(-(2**63))),
    (proton.decimal32(1), Decimal32(b"\x00\x00\x00\x01")),
    (proton.decimal64(2**64 - 1), Decimal64(b"\xff" * 8)),
    (proton.decimal128(b"\x01" * 16), Decimal128(b"\x01" * 16)),
    (memoryview(b"mv"), b"mv"),
    (bytearray(b"ba"), b"ba"),
    ((1, "t"), [1, "t"]),
    (proton.SymbolList(["a", "b"]), [Symbol("a"), Symbol("b")]),
    (proton.PropertyDict({"k": 1}), {Symbol("k"): 1}),
    (proton.AnnotationDict({"x-opt": proton.ulong(3)}), {Symbol("x-opt"): ULong(3)}),
    (proton.Described(proton.symbol("x:d"), proton.Described(proton.ulong(99), [])),
     Described(Symbol("x:d"), Described(ULong(99), []))),
    (proton.Array(UNDESCRIBED, Data.DOUBLE, 1.5, -0.0), Array("double", [1.5, -0.0])),
    (proton.Array(proton.ulong(77), Data.STRING, "a", ""),
     Array("string", ["a", ""], ULong(77))),
    (proton.Array(UNDESCRIBED, Data.TIMESTAMP, proton.timestamp(1)),
     Array("timestamp", [EPOCH + MS])),
    (proton.Array(UNDESCRIBED, Data.CHAR, proton.char("x")), Array("char", [Char("x")])),
    (proton.Array(UNDESCRIBED, Data.UUID, uuid.UUID(int=1)),
     Array("uuid", [uuid.UUID(int=1)])),
]


@pytest.mark.parametrize(("theirs", "ours"), PROTON_OBJECTS_TO_OURS, ids=lambda v: repr(v)[:30])
def test_decoding_proton_put_object(theirs: Any, ours: Any) -> None:
    d = Data()
    d.put_object(theirs)
    assert_same(ours, decode(bytes(d.encode())))


def test_proton_sees_our_smallest_encodings() -> None:
    # proton reads the zero- and one-byte forms it may not write itself.
    for ours, theirs in [
        (b"\x43", proton.uint(0)), (b"\x44", proton.ulong(0)), (b"\x52\x05", proton.uint(5)),
        (b"\x53\x05", proton.ulong(5)), (b"\x54\xff", proton.int32(-1)), (b"\x55\xff", -1),
        (b"\x45", []), (b"\xc0\x02\x01\x40", [None]), (b"\xc1\x01\x00", {}),
        (b"\xe0\x04\x02\x52\x01\x02", proton.Array(UNDESCRIBED, Data.UINT, proton.uint(1),
                                                    proton.uint(2))),
    ]:
        assert encode(decode(ours)) == ours
        got = proton_object(ours)
        assert got == theirs
        assert type(got) is type(theirs)
