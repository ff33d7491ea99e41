"""Helpers shared by the generated composite types in ``_definitions``.

They encode a described list with its trailing nulls omitted (1.4: "trailing
null fields may be omitted"), and validate decoded field values against the
types the spec declares, so that a peer's malformed performative becomes a
:class:`DecodeError` rather than a wrong type deep inside the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from ._encoder import _e_any, _e_symbol, _e_ulong, _wrap_list, encode_map_with
from ._errors import DecodeError, EncodeError, EncodeTypeError
from ._types import Array, Map, Symbol, Timestamp, ULong

_E = TypeVar("_E", bound=enum.IntEnum)
_T = TypeVar("_T")


def _new(cls: type[_T]) -> _T:
    """An instance without running ``__init__``: the decoder sets every slot."""
    return cls.__new__(cls)


# The encoding of null. Generated encoders put this very object in place of a
# null field, so trailing nulls are found by identity.
_NULL = b"\x40"


def _composite(prefix: bytes, fields: list[bytes]) -> bytes:
    """Encode the fields as a described list without its trailing nulls (1.4)."""
    n = len(fields)
    while n and fields[n - 1] is _NULL:
        n -= 1
    if n == 0:
        return prefix + b"\x45"
    body = b"".join(fields[:n] if n < len(fields) else fields)
    size = len(body) + 1
    if size < 256 and n < 256:
        return prefix + bytes((0xC0, size, n)) + body
    return prefix + _wrap_list(body, n)


class _Composite:
    """Base of the generated composite types: field-wise equality and a short repr."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    _DEFAULTS: ClassVar[tuple[Any, ...]] = ()
    _FIELD_ENCODERS: ClassVar[tuple[Callable[[Any], bytes], ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [
            f"{name}={value!r}"
            for name, value, default in zip(self._FIELDS, self._values(), self._DEFAULTS)
            if value is not None and value != default
        ]
        return f"{type(self).__name__}({', '.join(parts)})"


def _locate(exc: Exception, obj: _Composite, owner: str) -> EncodeError:
    """Turn an encoding failure into an error naming the field (error path only)."""
    for name, encoder in zip(obj._FIELDS, obj._FIELD_ENCODERS):
        value = getattr(obj, name)
        if value is None:
            continue
        where = f"{owner}.{name.replace('_', '-')}"
        try:
            encoder(value)
        except EncodeError as inner:
            text = str(inner).split(" at ", 1)[0] if inner.path else str(inner)
            return type(inner)(text, where + inner.path)
        except Exception:
            return EncodeTypeError(f"{value!r} ({type(value).__name__}) is not valid", where)
    if isinstance(exc, EncodeError):
        return exc
    return EncodeTypeError(f"cannot encode {owner}: {exc}")


def _e_multiple(value: Any, element_encoder: Callable[[Any], bytes]) -> bytes:
    """1.4 multiple="true": one value alone, several as an array of that type."""
    if isinstance(value, (list, tuple)):
        if element_encoder is _e_symbol:
            return _e_any(Array("symbol", [Symbol(v) for v in value]))
        if len(value) == 1:
            return element_encoder(value[0])
        return _e_any(Array(_ELEMENT_OF[element_encoder], list(value)))
    if isinstance(value, Array):
        return _e_any(value)
    return element_encoder(value)


_ELEMENT_OF: dict[Callable[[Any], bytes], Any] = {_e_symbol: "symbol", _e_ulong: "ulong"}


def _e_symbol_key(key: Any) -> bytes:
    if type(key) is str or type(key) is Symbol:
        return cached_key(_SYMBOL_KEYS, key, _e_symbol)
    if isinstance(key, str):
        return _e_symbol(key)
    # Not a symbol, as some peers send (an int, a null ...): what the decoder takes
    # goes back out as it came, in its own type, so a forwarded map cannot fail.
    return _e_any(key)


def _e_symbol_map(value: Any) -> bytes:
    """A map whose keys the spec types as symbols (fields, filter-set): str keys become symbols."""
    pairs = value.pairs if isinstance(value, Map) else value.items()
    return encode_map_with(pairs, _e_symbol_key)


# Map keys repeat from message to message: keep the encodings of short string
# keys (bounded; once full, new keys are encoded each time).
_KEY_CACHE_MAX = 2048
_SYMBOL_KEYS: dict[str, bytes] = {}


def cached_key(cache: dict[str, bytes], key: str, encoder: Callable[[str], bytes]) -> bytes:
    """The encoding of a str key, from ``cache`` when it was seen before."""
    enc = cache.get(key)
    if enc is None:
        enc = encoder(key)
        if len(cache) < _KEY_CACHE_MAX and len(key) <= 64:
            cache[key] = enc
    return enc


def _e_annotation_key(key: Any) -> bytes:
    # 3.2.10: annotation keys are symbols or ulongs; a str is a symbol, a plain int a ulong.
    if type(key) is str or type(key) is Symbol:
        return cached_key(_SYMBOL_KEYS, key, _e_symbol)
    if isinstance(key, str):
        return _e_symbol(key)
    if type(key) is ULong or (type(key) is int and key >= 0):
        return _e_ulong(key)
    # Other keys (an Int, a negative long, a null ...) are what some peers send and
    # the decoder takes: they go back out in their own type, so re-encoding never fails.
    return _e_any(key)


def _e_annotations(value: Any) -> bytes:
    pairs = value.pairs if isinstance(value, Map) else value.items()
    return encode_map_with(pairs, _e_annotation_key)


def _bad(value: Any, where: str) -> DecodeError:
    return DecodeError(f"{where} cannot be {type(value).__name__} {value!r:.60}")


def _not_list(value: Any, owner: str) -> DecodeError:
    return DecodeError(f"{owner} must be a described list, not {type(value).__name__}")


# Pads a short field list: trailing fields left out are null (1.4).
_NONES: list[None] = [None] * 32


# The _c_* functions run only when a decoded field is not already of the
# expected Python type: null (apply the default, or fail if mandatory), a
# compatible type to convert, or a wrong type (DecodeError naming the field).

def _missing(where: str, default: Any, mandatory: bool) -> Any:
    if mandatory:
        raise DecodeError(f"{where} is mandatory")
    return default


def _c_none(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    if value is None:
        return _missing(where, default, mandatory)
    raise _bad(value, where)


def _c_bool(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    return _c_none(value, where, default, mandatory)


def _c_int(cls: type[int], value: Any, where: str, default: Any = None,
           mandatory: bool = False) -> Any:
    """Accept any AMQP integer where the spec says e.g. uint, if it is in range."""
    if value is None:
        return _missing(where, default, mandatory)
    if isinstance(value, int) and not isinstance(value, bool):
        lo: int = getattr(cls, "_min", 0)
        hi: int = getattr(cls, "_max", 0)
        if lo <= value <= hi:
            return cls(value)
    raise _bad(value, where)


def _c_str(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    if value is None:
        return _missing(where, default, mandatory)
    if isinstance(value, str):
        return str(value)
    raise _bad(value, where)


def _c_symbol(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    if value is None:
        return _missing(where, default, mandatory)
    # A string where a symbol belongs is read as one, if it could be one (ASCII).
    if isinstance(value, str) and value.isascii():
        return Symbol(value)
    raise _bad(value, where)


def _c_bytes(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    return _c_none(value, where, default, mandatory)


def _c_map(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    if type(value) is Map:
        return value
    return _c_none(value, where, default, mandatory)


def _c_timestamp(value: Any, where: str, default: Any = None, mandatory: bool = False) -> Any:
    if type(value) is Timestamp:
        return value
    return _c_none(value, where, default, mandatory)


_ENUM_VALUES: dict[type[enum.IntEnum], dict[Any, Any]] = {}


def _c_enum(cls: type[_E], value: Any, where: str, default: Any = None,
            mandatory: bool = False) -> Any:
    if value is None:
        return _missing(where, default, mandatory)
    members = _ENUM_VALUES.get(cls)
    if members is None:
        members = _ENUM_VALUES[cls] = {int(m): m for m in cls}
    if type(value) is bool or (isinstance(value, int)):
        member = members.get(int(value))
        if member is not None:
            return member
    raise _bad(value, where)


def _c_bool_enum(cls: type[_E], value: Any, where: str, default: Any = None,
                 mandatory: bool = False) -> Any:
    """An enum restricted from boolean (role): only true and false are valid."""
    if type(value) is bool:
        return _c_enum(cls, value, where)
    return _c_none(value, where, default, mandatory)


def _multiple(value: Any, where: str, mandatory: bool = False,
              check: Callable[[Any], Any] | None = None) -> Any:
    """A multiple="true" field (1.4) decodes to a list, whether one value or an array came."""
    if value is None:
        return _missing(where, None, mandatory)
    if type(value) is Array:
        if value.descriptor is not None:
            raise _bad(value, where)
        items = list(value.items)
    elif type(value) is list:  # not legal per 1.4, but harmless to read
        items = value
    else:
        items = [value]
    if check is not None:
        items = [check(v) for v in items]
    return items
