"""Python types for the AMQP 1.0 primitives that have no exact built-in match.

AMQP distinguishes, for example, ``uint`` from ``long`` and ``symbol`` from
``string``; these thin subclasses of ``int``, ``float`` and ``str`` carry that
distinction through a round trip (types.xml, section 1.6). They add no state and
check no ranges when built (the encoder checks), so decoding stays cheap.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator
from typing import Any, Literal

__all__ = [
    "Array",
    "Byte",
    "Char",
    "Decimal32",
    "Decimal64",
    "Decimal128",
    "Described",
    "Float",
    "Int",
    "Map",
    "Short",
    "Symbol",
    "Timestamp",
    "UByte",
    "UInt",
    "ULong",
    "UShort",
    "ElementType",
]


class _AmqpInt(int):
    __slots__ = ()
    _min = 0
    _max = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class UByte(_AmqpInt):
    """AMQP ``ubyte``: 0 to 255."""

    __slots__ = ()
    _min, _max = 0, 0xFF


class UShort(_AmqpInt):
    """AMQP ``ushort``: 0 to 65535."""

    __slots__ = ()
    _min, _max = 0, 0xFFFF


class UInt(_AmqpInt):
    """AMQP ``uint``: 0 to 2**32 - 1."""

    __slots__ = ()
    _min, _max = 0, 0xFFFFFFFF


class ULong(_AmqpInt):
    """AMQP ``ulong``: 0 to 2**64 - 1."""

    __slots__ = ()
    _min, _max = 0, 0xFFFFFFFFFFFFFFFF


class Byte(_AmqpInt):
    """AMQP ``byte``: -128 to 127."""

    __slots__ = ()
    _min, _max = -0x80, 0x7F


class Short(_AmqpInt):
    """AMQP ``short``: -32768 to 32767."""

    __slots__ = ()
    _min, _max = -0x8000, 0x7FFF


class Int(_AmqpInt):
    """AMQP ``int``: -2**31 to 2**31 - 1."""

    __slots__ = ()
    _min, _max = -0x80000000, 0x7FFFFFFF


class Timestamp(_AmqpInt):
    """AMQP ``timestamp`` as milliseconds since the Unix epoch.

    Decoding returns an aware UTC ``datetime`` when the value fits one, and this
    type otherwise (datetime covers years 1 to 9999 only).
    """

    __slots__ = ()
    _min, _max = -0x8000000000000000, 0x7FFFFFFFFFFFFFFF

    def to_datetime(self) -> _dt.datetime:
        """The instant as an aware UTC datetime (ValueError if out of its range)."""
        return _EPOCH + _dt.timedelta(milliseconds=int(self))


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Float(float):
    """AMQP ``float`` (IEEE 754 binary32); a plain ``float`` is a ``double``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Float({float(self)!r})"


class Symbol(str):
    """AMQP ``symbol``: an ASCII name such as ``amqp:not-found``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str(self)!r})"


class Char(str):
    """AMQP ``char``: one Unicode code point (UTF-32 on the wire)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Char({str(self)!r})"


class _Decimal:
    """Raw IEEE 754 decimal bits; AMQP only carries them, it does no arithmetic."""

    __slots__ = ("raw",)
    _size = 0
    raw: bytes

    def __init__(self, raw: bytes) -> None:
        raw = bytes(raw)
        if len(raw) != self._size:
            raise ValueError(f"{type(self).__name__} needs {self._size} bytes, got {len(raw)}")
        object.__setattr__(self, "raw", raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Decimal) and type(other) is type(self) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"


class Decimal32(_Decimal):
    """AMQP ``decimal32``: 4 bytes of IEEE 754 decimal32, big-endian."""

    __slots__ = ()
    _size = 4


class Decimal64(_Decimal):
    """AMQP ``decimal64``: 8 bytes of IEEE 754 decimal64, big-endian."""

    __slots__ = ()
    _size = 8


class Decimal128(_Decimal):
    """AMQP ``decimal128``: 16 bytes of IEEE 754 decimal128, big-endian."""

    __slots__ = ()
    _size = 16


class Described:
    """A described value (types.xml 1.2): a descriptor (ulong or symbol) and a value.

    Values whose descriptor names a type this package knows (performatives,
    message sections, delivery states ...) decode to that type instead. A
    descriptor of another type (an ``int 12``, as some stacks write) decodes
    too and is written back with the very bytes it came with.
    """

    __slots__ = ("_raw_descriptor", "descriptor", "value")
    descriptor: Any
    value: Any
    #: The encoded descriptor as it arrived, when it was neither ulong nor symbol.
    _raw_descriptor: bytes | None

    def __init__(self, descriptor: Any, value: Any) -> None:
        object.__setattr__(self, "descriptor", descriptor)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_raw_descriptor", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Described is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Described:
            return NotImplemented
        return bool(self.descriptor == other.descriptor and self.value == other.value)

    def __hash__(self) -> int:
        return hash((self.descriptor, self.value))

    def __repr__(self) -> str:
        return f"Described({self.descriptor!r}, {self.value!r})"


ElementType = Literal[
    "null", "boolean", "ubyte", "ushort", "uint", "ulong", "byte", "short", "int",
    "long", "float", "double", "decimal32", "decimal64", "decimal128", "char",
    "timestamp", "uuid", "binary", "string", "symbol", "list", "map", "array",
]


class Array:
    """An AMQP ``array``: a sequence of values of one AMQP type.

    ``element_type`` names that type (``"symbol"``, ``"uint"``, ``"list"``,
    ``"array"`` ...). With a ``descriptor``, the array holds described values
    that all share it: ``items`` are then the underlying values, each of
    ``element_type``. A descriptor neither ulong nor symbol (some stacks write
    others) decodes too and is written back as it came while it is unchanged.
    """

    __slots__ = ("_raw_descriptor", "descriptor", "element_type", "items")
    element_type: ElementType
    items: list[Any]
    descriptor: Any
    #: (descriptor, its encoding as it arrived), when it was neither ulong nor symbol.
    _raw_descriptor: tuple[Any, bytes] | None

    def __init__(
        self, element_type: ElementType, items: Iterable[Any] = (), descriptor: Any = None
    ) -> None:
        self.element_type = element_type
        self.items = list(items)
        self.descriptor = descriptor
        self._raw_descriptor = None

    def __eq__(self, other: object) -> bool:
        if type(other) is not Array:
            return NotImplemented
        return (
            self.element_type == other.element_type
            and self.descriptor == other.descriptor
            and self.items == other.items
        )

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def __repr__(self) -> str:
        d = "" if self.descriptor is None else f", descriptor={self.descriptor!r}"
        return f"Array({self.element_type!r}, {self.items!r}{d})"


class Map:
    """An AMQP ``map`` whose keys Python cannot hash (lists, maps, arrays as keys).

    ``decode`` returns a ``dict`` whenever every key is hashable and this
    ordered list of ``(key, value)`` pairs otherwise; ``encode`` accepts both.
    """

    __slots__ = ("pairs",)
    pairs: list[tuple[Any, Any]]

    def __init__(self, pairs: Iterable[tuple[Any, Any]] = ()) -> None:
        self.pairs = list(pairs)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Map:
            return NotImplemented
        return self.pairs == other.pairs

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"Map({self.pairs!r})"
