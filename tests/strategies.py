"""Hypothesis strategies for AMQP 1.0 values, and a type-exact comparison.

Every value these strategies draw round-trips through the codec to an equal
value of exactly the same Python types: ``decode(encode(v))`` is ``v``. So they
avoid inputs that the codec normalises on purpose (tuples, bytearrays, naive or
sub-millisecond datetimes, Timestamps a datetime can hold, plain-str
descriptors, Maps whose keys Python can hash).

Use ``amqp_values(max_leaves=...)`` for any value, ``amqp_scalars()`` for
primitives only, ``amqp_arrays()`` for arrays and ``assert_same`` to compare.
The builders are cached: the same arguments give the same strategy object,
which hypothesis then validates only once.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import struct
import uuid
from typing import Any

from hypothesis import strategies as st

from amqp10_proto import _codec
from amqp10_proto._types import (
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
    "DATETIME_MAX_MS",
    "DATETIME_MIN_MS",
    "ELEMENT_TYPES",
    "INT_RANGES",
    "amqp_arrays",
    "amqp_keys",
    "amqp_maps",
    "amqp_scalars",
    "amqp_values",
    "array_items",
    "assert_same",
    "descriptors",
    "same_value",
    "scalars_of",
]

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

#: Milliseconds since the epoch of datetime.min and datetime.max (in UTC).
DATETIME_MIN_MS = -62135596800000
DATETIME_MAX_MS = 253402300799999

#: (Python type, min, max) of each AMQP integer type.
INT_RANGES: dict[str, tuple[type[int], int, int]] = {
    "ubyte": (UByte, 0, 2**8 - 1),
    "ushort": (UShort, 0, 2**16 - 1),
    "uint": (UInt, 0, 2**32 - 1),
    "ulong": (ULong, 0, 2**64 - 1),
    "byte": (Byte, -(2**7), 2**7 - 1),
    "short": (Short, -(2**15), 2**15 - 1),
    "int": (Int, -(2**31), 2**31 - 1),
    "long": (int, -(2**63), 2**63 - 1),
}

#: Every AMQP type an array can hold.
ELEMENT_TYPES: tuple[ElementType, ...] = (
    "null", "boolean", "ubyte", "ushort", "uint", "ulong", "byte", "short", "int",
    "long", "float", "double", "decimal32", "decimal64", "decimal128", "char",
    "timestamp", "uuid", "binary", "string", "symbol", "list", "map", "array",
)

_TIMEZONES = st.sampled_from([
    UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(dt.timedelta(hours=-11)),
    dt.timezone(dt.timedelta(hours=14)),
])


@functools.cache
def _ints(name: str) -> st.SearchStrategy[int]:
    cls, lo, hi = INT_RANGES[name]
    # The ends of the range and of the one-byte encodings (smalluint, smallint ...).
    edges = {lo, lo + 1, hi - 1, hi, 0, 1, -1, 127, 128, 255, 256, -128, -129}
    base = st.one_of(st.sampled_from(sorted(e for e in edges if lo <= e <= hi)),
                     st.integers(lo, hi))
    return base if cls is int else base.map(cls)


@functools.cache
def _datetimes() -> st.SearchStrategy[dt.datetime]:
    # Millisecond precision (what a timestamp carries), aware, and a day away
    # from the ends of datetime's range so every offset stays representable.
    return st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
        timezones=_TIMEZONES,
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@functools.cache
def _timestamps() -> st.SearchStrategy[Any]:
    """Aware datetimes, and Timestamps only beyond datetime's range (which stay Timestamps)."""
    edges = st.sampled_from([DATETIME_MIN_MS, DATETIME_MAX_MS, 0, -1]).map(
        lambda ms: EPOCH + dt.timedelta(milliseconds=ms))
    beyond = st.one_of(
        st.integers(-(2**63), DATETIME_MIN_MS - 1), st.integers(DATETIME_MAX_MS + 1, 2**63 - 1),
        st.sampled_from([-(2**63), 2**63 - 1, DATETIME_MIN_MS - 1, DATETIME_MAX_MS + 1]),
    ).map(Timestamp)
    return st.one_of(_datetimes(), edges, beyond)


_UNICODE = st.characters(codec="utf-8")  # every code point but the surrogates
_ASCII = st.characters(codec="ascii")


def _stretched(unit: Any, n: int) -> Any:
    return (unit * (n // len(unit) + 1))[:n]


@functools.cache
def _sized_text(elements: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Short text, plus some around the 255/256 byte boundary of the 8-bit forms.

    The long ones repeat a short drawn unit: drawing 300 characters one by one
    would make every test that uses these strategies slow.
    """
    long = st.builds(_stretched, st.text(elements, min_size=1, max_size=8), st.integers(240, 300))
    return st.one_of(st.text(elements, max_size=20), long)


@functools.cache
def _sized_binary() -> st.SearchStrategy[bytes]:
    long = st.builds(_stretched, st.binary(min_size=1, max_size=8), st.integers(240, 300))
    return st.one_of(st.binary(max_size=20), long)


@functools.cache
def _floats32() -> st.SearchStrategy[Float]:
    return st.floats(width=32).map(Float)


_DECIMALS: dict[str, tuple[type[Any], int]] = {
    "decimal32": (Decimal32, 4), "decimal64": (Decimal64, 8), "decimal128": (Decimal128, 16),
}


@functools.cache
def scalars_of(name: str) -> st.SearchStrategy[Any]:
    """Values of one AMQP primitive type (not list, map or array) as decode returns them."""
    if name == "null":
        return st.none()
    if name == "boolean":
        return st.booleans()
    if name in INT_RANGES:
        return _ints(name)
    if name == "float":
        return _floats32()
    if name == "double":
        return st.floats()
    if name in _DECIMALS:
        cls, size = _DECIMALS[name]
        return st.binary(min_size=size, max_size=size).map(cls)
    if name == "char":
        return _UNICODE.map(Char)
    if name == "timestamp":
        return _timestamps()
    if name == "uuid":
        return st.one_of(st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]),
                         st.uuids())
    if name == "binary":
        return _sized_binary()
    if name == "string":
        return _sized_text(_UNICODE)
    if name == "symbol":
        return _sized_text(_ASCII).map(Symbol)
    raise ValueError(f"{name} is not a primitive type")


_SCALAR_TYPES = [t for t in ELEMENT_TYPES if t not in ("list", "map", "array")]


@functools.cache
def amqp_scalars() -> st.SearchStrategy[Any]:
    """Any AMQP primitive value (no list, map, array or described)."""
    return st.one_of([scalars_of(t) for t in _SCALAR_TYPES])


def _not_registered(descriptor: Any) -> bool:
    # Registered descriptors decode to composite types, not Described; this is
    # checked when drawing, so it follows registrations made after import.
    return descriptor not in _codec._DESCRIBED


@functools.cache
def descriptors() -> st.SearchStrategy[Any]:
    """ulong and symbol descriptors that no composite type has claimed."""
    return st.one_of(
        _ints("ulong"),
        st.text(_ASCII, max_size=40).map(Symbol),
        st.sampled_from([ULong(2**32 + 1), Symbol("example:thing:list"), ULong(0x4D2_0000_0001)]),
    ).filter(_not_registered)


@functools.cache
def amqp_keys() -> st.SearchStrategy[Any]:
    """Map keys that decode to hashable values: scalars and described scalars."""
    return st.one_of(
        amqp_scalars(),
        st.builds(Described, descriptors(), amqp_scalars()),
    )


def _colliding_keys(kind: int, n: int, s: str) -> tuple[Any, Any]:
    c = s[:1] or "x"
    return [
        (Symbol(s), s), (s, Symbol(s)), (Char(c), Symbol(c)), (UInt(n), ULong(n)),
        (n, UByte(n)), (Short(n), Int(n)), (bool(n & 1), n & 1), (float(n), n),
    ][kind]


@functools.cache
def _collision_pair(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[Any, Any]]]:
    """Two keys distinct in AMQP but equal in Python, so the map can't be a dict."""
    return st.builds(
        lambda keys, v, w: [(keys[0], v), (keys[1], w)],
        st.builds(_colliding_keys, st.integers(0, 7), st.integers(0, 255),
                  st.text(_ASCII, max_size=5)),
        values, values,
    )


@functools.cache
def _unhashable(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, min_size=0, max_size=3),
        st.dictionaries(amqp_keys(), children, max_size=2),
        st.builds(Array, st.just("uint"), st.lists(_ints("uint").map(UInt), max_size=3)),
    )


@functools.cache
def amqp_maps(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """dicts with hashable keys, and Maps that can't be dicts (unhashable or colliding keys)."""
    pair = st.tuples(amqp_keys(), children)
    forced = st.one_of(
        st.tuples(_unhashable(children), children).map(lambda p: [p]),
        _collision_pair(children),
    )
    maps = st.builds(
        lambda before, middle, after: Map(before + middle + after),
        st.lists(pair, max_size=3), forced, st.lists(pair, max_size=3),
    )
    return st.one_of(st.dictionaries(amqp_keys(), children, max_size=6), maps)


@functools.cache
def array_items(element_type: str, children: st.SearchStrategy[Any] | None = None,
                min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[list[Any]]:
    """A list of items for ``Array(element_type, items)``."""
    inner = children if children is not None else amqp_scalars()
    if element_type == "list":
        one: st.SearchStrategy[Any] = st.lists(inner, max_size=4)
    elif element_type == "map":
        one = amqp_maps(inner)
        max_size = min(max_size, 4)  # maps are costly to draw; a few show the shape
    elif element_type == "array":
        one = _flat_arrays()
    else:
        one = scalars_of(element_type)
    return st.lists(one, min_size=min_size, max_size=max_size)


@functools.cache
def _flat_arrays() -> st.SearchStrategy[Array]:
    """Arrays of primitives, optionally described (the elements of arrays of arrays)."""
    return st.sampled_from(_SCALAR_TYPES).flatmap(
        lambda t: st.builds(Array, st.just(t), array_items(t, max_size=5),
                            st.one_of(st.none(), descriptors())))


@functools.cache
def amqp_arrays(children: st.SearchStrategy[Any] | None = None,
                max_size: int = 8) -> st.SearchStrategy[Array]:
    """Arrays of every element type, some described, including arrays of arrays."""
    return st.sampled_from(ELEMENT_TYPES).flatmap(
        lambda t: st.builds(Array, st.just(t), array_items(t, children, max_size=max_size),
                            st.one_of(st.none(), descriptors())))


@functools.cache
def amqp_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Any AMQP value: primitives, lists, maps, arrays and described values, nested."""
    return st.recursive(
        st.one_of(amqp_scalars(), amqp_arrays(max_size=4)),
        lambda children: st.one_of(
            st.lists(children, max_size=6),
            amqp_maps(children),
            amqp_arrays(children, max_size=4),
            st.builds(Described, descriptors(), children),
        ),
        max_leaves=max_leaves,
    )


# ---------------------------------------------------------------------------
# Type-exact comparison
# ---------------------------------------------------------------------------


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack(">d", a) == struct.pack(">d", b)  # tells 0.0 from -0.0


def _mismatch(expected: Any, actual: Any, path: str) -> str | None:
    """Where and how ``actual`` differs from ``expected``, or None if the same."""
    if type(expected) is not type(actual):
        return (f"at {path or 'top'}: type {type(actual).__name__} != "
                f"{type(expected).__name__} ({actual!r:.80} vs {expected!r:.80})")
    if isinstance(expected, float):
        return None if _same_float(expected, actual) else f"at {path}: {actual!r} != {expected!r}"
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"at {path}: length {len(actual)} != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            m = _mismatch(e, a, f"{path}[{i}]")
            if m:
                return m
        return None
    if isinstance(expected, (dict, Map)):
        ep = list(expected.items()) if isinstance(expected, dict) else expected.pairs
        ap = list(actual.items()) if isinstance(actual, dict) else actual.pairs
        if len(ep) != len(ap):
            return f"at {path}: {len(ap)} entries != {len(ep)}"
        for i, ((ek, ev), (ak, av)) in enumerate(zip(ep, ap, strict=True)):
            m = _mismatch(ek, ak, f"{path}<key {i}>") or _mismatch(ev, av, f"{path}[{ek!r:.30}]")
            if m:
                return m
        return None
    if isinstance(expected, Array):
        if expected.element_type != actual.element_type:
            return f"at {path}: array of {actual.element_type} != {expected.element_type}"
        return (_mismatch(expected.descriptor, actual.descriptor, f"{path}.descriptor")
                or _mismatch(expected.items, actual.items, path))
    if isinstance(expected, Described):
        return (_mismatch(expected.descriptor, actual.descriptor, f"{path}.descriptor")
                or _mismatch(expected.value, actual.value, f"{path}.value"))
    if isinstance(expected, dt.datetime):
        if actual.tzinfo is None or expected != actual:
            return f"at {path}: {actual!r} != {expected!r}"
        return None
    if expected != actual:
        return f"at {path or 'top'}: {actual!r:.80} != {expected!r:.80}"
    return None


def same_value(expected: Any, actual: Any) -> bool:
    """Equal, with the same Python types all the way down (NaN equals NaN, -0.0 is not 0.0)."""
    return _mismatch(expected, actual, "") is None


def assert_same(expected: Any, actual: Any) -> None:
    """Assert :func:`same_value`, saying where the two differ."""
    m = _mismatch(expected, actual, "")
    assert m is None, m

