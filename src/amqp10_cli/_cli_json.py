"""A message as one JSON object and back: every section, every AMQP type kept.

``receive --json`` prints :func:`message_json`; ``send --json`` reads it back with
:func:`message_from_json`, so ``amqp10 receive A q --json | amqp10 send B q --json``
moves messages between brokers unchanged. JSON's own values stand for AMQP's
defaults: null, boolean, a whole number is a ``long``, a number with a point a
``double``, a string a ``string``, an array a ``list``, an object a ``map`` with
string keys. Every other type is a one-key object whose key names it
(types.xml 1.6): ``{"$uint": 7}``, ``{"$symbol": "s"}``, ``{"$char": "c"}``,
``{"$float": 0.5}``, ``{"$binary": "<base64>"}``, ``{"$uuid": ...}``,
``{"$timestamp": "<ISO 8601>"}`` (or milliseconds, beyond a datetime's years),
``{"$decimal64": "<hex>"}``, ``{"$double": "nan"}``,
``{"$array": [element_type, [items], descriptor?]}``, ``{"$described": [descriptor,
value]}`` (a string descriptor is a symbol, a number a ulong) and ``{"$map": [[key,
value], ...]}`` for a map whose keys are not all strings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable
from typing import Any, get_args

from amqp10_proto import (
    AmqpSequence,
    AmqpValue,
    Array,
    Byte,
    Char,
    Data,
    Decimal32,
    Decimal64,
    Decimal128,
    Described,
    EncodeError,
    Float,
    Header,
    Int,
    Map,
    Message,
    Properties,
    Short,
    Symbol,
    Timestamp,
    UByte,
    UInt,
    ULong,
    UShort,
)
from amqp10_proto._types import ElementType

__all__ = ["JsonFormError", "body_text", "from_json", "message_from_json", "message_json",
           "parse_message", "to_json"]

#: The integer types JSON cannot tell from a long, with their ranges (types.xml 1.6).
_INTS: dict[str, tuple[type[int], int, int]] = {
    "ubyte": (UByte, 0, 2**8 - 1), "ushort": (UShort, 0, 2**16 - 1),
    "uint": (UInt, 0, 2**32 - 1), "ulong": (ULong, 0, 2**64 - 1),
    "byte": (Byte, -(2**7), 2**7 - 1), "short": (Short, -(2**15), 2**15 - 1),
    "int": (Int, -(2**31), 2**31 - 1),
}
_INT_TAGS = {cls: f"${name}" for name, (cls, _, _) in _INTS.items()}
_LONG = (-(2**63), 2**63 - 1)
_DECIMALS: dict[type[Any], str] = {Decimal32: "$decimal32", Decimal64: "$decimal64",
                                   Decimal128: "$decimal128"}
_ELEMENT_TYPES: frozenset[str] = frozenset(get_args(ElementType))
#: Array element types whose items are written untagged: the type says what they are.
_PLAIN_ITEMS: dict[str, Callable[[Any], Any]] = {
    **{name: cls for name, (cls, _, _) in _INTS.items()}, "symbol": Symbol, "char": Char,
}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# -- AMQP value -> JSON --------------------------------------------------------------

def _binary(data: bytes) -> dict[str, str]:
    return {"$binary": base64.b64encode(data).decode("ascii")}


def _timestamp(value: dt.datetime) -> dict[str, str]:
    text = value.isoformat(timespec="milliseconds")
    return {"$timestamp": text.replace("+00:00", "Z")}


def _number(value: float) -> Any:
    return float(value) if math.isfinite(value) else (
        "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))


def _descriptor_json(descriptor: Any) -> Any:
    """A symbol descriptor as a string and a ulong as a number (1.2); others tagged."""
    if type(descriptor) is Symbol:
        return str(descriptor)
    if type(descriptor) is ULong:
        return int(descriptor)
    return to_json(descriptor)


def _plain_keys(value: dict[Any, Any], key_type: type) -> bool:
    """Whether the map can be a JSON object: every key of ``key_type``, none like a tag."""
    return all(type(k) is key_type for k in value) and not (
        len(value) == 1 and next(iter(value)).startswith("$"))


def _map_json(value: Any, key_type: type = str) -> Any:
    if isinstance(value, dict) and _plain_keys(value, key_type):
        return {str(k): to_json(v) for k, v in value.items()}
    pairs = value.pairs if isinstance(value, Map) else value.items()
    return {"$map": [[to_json(k), to_json(v)] for k, v in pairs]}


def to_json(value: Any) -> Any:
    """``value`` (any decoded AMQP value) as something ``json.dumps`` takes, type and all."""
    if value is None or type(value) is bool or type(value) is str:
        return value
    if type(value) is int:
        return value  # long
    if type(value) is float:
        return value if math.isfinite(value) else {"$double": _number(value)}
    tag = _INT_TAGS.get(type(value))
    if tag is not None:
        return {tag: int(value)}
    if isinstance(value, Timestamp):  # beyond what a datetime holds: milliseconds
        return {"$timestamp": int(value)}
    if isinstance(value, Float):
        return {"$float": _number(value)}
    if isinstance(value, Symbol):
        return {"$symbol": str(value)}
    if isinstance(value, Char):
        return {"$char": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return _binary(bytes(value))
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dict | Map):
        return _map_json(value)
    if isinstance(value, Array):
        plain = value.element_type in _PLAIN_ITEMS
        items = [(int(v) if isinstance(v, int) else str(v)) if plain else to_json(v)
                 for v in value.items]
        array: list[Any] = [value.element_type, items]
        if value.descriptor is not None:
            array.append(_descriptor_json(value.descriptor))
        return {"$array": array}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Described):
        return {"$described": [_descriptor_json(value.descriptor), to_json(value.value)]}
    tag = _DECIMALS.get(type(value))
    if tag is not None:
        return {tag: value.raw.hex()}
    fields = getattr(type(value), "_FIELDS", None)
    if fields is not None:  # a composite of the spec (1.4): a described list by its symbol
        return {"$described": [type(value).SYMBOL,
                               [to_json(getattr(value, f)) for f in fields]]}
    return {"$repr": repr(value)}


# -- JSON -> AMQP value --------------------------------------------------------------

class JsonFormError(ValueError):
    """JSON that is not a message or value in the form :func:`message_json` writes."""


def _fail(where: str, text: str) -> JsonFormError:
    return JsonFormError(f"{where}: {text}" if where else text)


def _whole(value: Any, where: str, low: int, high: int, name: str) -> int:
    if type(value) is not int:
        raise _fail(where, f"a {name} is a whole number, not {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise _fail(where, f"{value} is out of the range of a {name} ({low} to {high})")
    return value


def _text(value: Any, where: str, what: str) -> str:
    if type(value) is not str:
        raise _fail(where, f"{what} is a string, not {json.dumps(value)[:40]}")
    return value


def _float_value(value: Any, where: str) -> float:
    if type(value) in (int, float):
        return float(value)
    if type(value) is str and value in _NON_FINITE:
        return _NON_FINITE[value]
    raise _fail(where, f"not a number (or \"nan\", \"inf\", \"-inf\"): {json.dumps(value)[:40]}")


def _parse_timestamp(value: Any, where: str) -> Any:
    if type(value) is int:
        return Timestamp(_whole(value, where, *_LONG, "timestamp"))
    text = _text(value, where, "a timestamp")
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _fail(where, f"not an ISO 8601 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise _fail(where, f"a timestamp needs a time zone (Z or +01:00): {text!r}")
    return parsed


def _parse_descriptor(value: Any, where: str) -> Any:
    if type(value) is str:
        return Symbol(value)
    if type(value) is int:
        return ULong(_whole(value, where, 0, 2**64 - 1, "ulong descriptor"))
    return from_json(value, where)


def _parse_pairs(value: Any, where: str) -> list[tuple[Any, Any]]:
    if type(value) is not list or not all(type(p) is list and len(p) == 2 for p in value):
        raise _fail(where, "$map holds a list of [key, value] pairs")
    return [(from_json(k, f"{where} key {i}"), from_json(v, f"{where}[{i}]"))
            for i, (k, v) in enumerate(value)]


def _as_map(pairs: list[tuple[Any, Any]]) -> Any:
    """A dict, or a Map when keys are unhashable or equal in Python (as the decoder does)."""
    try:
        d = dict(pairs)
    except TypeError:
        return Map(pairs)
    return d if len(d) == len(pairs) else Map(pairs)


def _parse_array(value: Any, where: str) -> Array:
    if type(value) is not list or len(value) not in (2, 3) or type(value[1]) is not list:
        raise _fail(where, "$array is [element_type, [items]] or [element_type, [items], "
                           "descriptor]")
    kind = value[0]
    if kind not in _ELEMENT_TYPES:
        raise _fail(where, f"unknown array element type {json.dumps(kind)[:40]}")
    make = _PLAIN_ITEMS.get(kind)
    items: list[Any] = []
    for i, item in enumerate(value[1]):
        at = f"{where}[{i}]"
        if make is None:
            items.append(from_json(item, at))
        elif kind in _INTS:
            cls, low, high = _INTS[kind]
            items.append(cls(_whole(item, at, low, high, kind)))
        else:
            items.append(make(_text(item, at, f"a {kind}")))
    descriptor = _parse_descriptor(value[2], f"{where} descriptor") if len(value) == 3 else None
    return Array(kind, items, descriptor)  # kind: checked above


def _parse_tagged(tag: str, value: Any, where: str) -> Any:
    if tag in _INT_TAGS.values():
        cls, low, high = _INTS[tag[1:]]
        return cls(_whole(value, where, low, high, tag[1:]))
    if tag == "$symbol":
        return Symbol(_text(value, where, "a symbol"))
    if tag == "$char":
        text = _text(value, where, "a char")
        if len(text) != 1:
            raise _fail(where, f"a char is one character, not {text!r:.40}")
        return Char(text)
    if tag == "$float":
        return Float(_float_value(value, where))
    if tag == "$double":
        return _float_value(value, where)
    if tag == "$binary":
        try:
            return base64.b64decode(_text(value, where, "$binary"), validate=True)
        except binascii.Error:
            raise _fail(where, "$binary is not base64") from None
    if tag == "$uuid":
        try:
            return uuid.UUID(_text(value, where, "a uuid"))
        except ValueError:
            raise _fail(where, f"not a uuid: {value!r:.50}") from None
    if tag == "$timestamp":
        return _parse_timestamp(value, where)
    if tag == "$map":
        return _as_map(_parse_pairs(value, where))
    if tag == "$array":
        return _parse_array(value, where)
    if tag == "$described":
        if type(value) is not list or len(value) != 2:
            raise _fail(where, "$described is [descriptor, value]")
        return Described(_parse_descriptor(value[0], f"{where} descriptor"),
                         from_json(value[1], f"{where} value"))
    for cls, name in _DECIMALS.items():
        if tag == name:
            try:
                return cls(bytes.fromhex(_text(value, where, tag)))
            except ValueError as exc:
                raise _fail(where, f"{tag}: {exc}") from None
    raise _fail(where, f"unknown type tag {tag!r:.40}")


def from_json(value: Any, where: str = "") -> Any:
    """The AMQP value that :func:`to_json` made ``value`` from; JsonFormError if malformed.

    ``where`` names the place in the message for the error text.
    """
    if value is None or type(value) in (bool, str, float):
        return value
    if type(value) is int:
        return _whole(value, where, *_LONG, "long")
    if type(value) is list:
        return [from_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value) is dict:
        if len(value) == 1:
            tag = next(iter(value))
            if tag.startswith("$"):
                return _parse_tagged(tag, value[tag], where)
        return {k: from_json(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    raise _fail(where, f"not a JSON value: {value!r:.40}")


# -- messages ------------------------------------------------------------------------

#: Message sections whose keys are symbols (3.2.2, 3.2.3, 3.2.10): written as plain keys.
_ANNOTATIONS = ("delivery_annotations", "message_annotations", "footer")
#: Properties fields of one fixed type (3.2.4): written plainly, typed again by the encoder.
_POLYMORPHIC = frozenset({"message_id", "to", "reply_to", "correlation_id"})
_BODY_TYPES = ("data", "value", "sequence", "none")
_KEYS = ("header", "delivery_annotations", "message_annotations", "properties",
         "application_properties", "body_type", "body", "footer")


def _fixed_field(value: Any) -> Any:
    """A field whose type the spec fixes: the bare number or string."""
    if isinstance(value, int) and not isinstance(value, bool | Timestamp):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return to_json(value)


def _data_json(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(data)


def _data_sections(message: Message) -> list[bytes]:
    """The payloads of a data body (3.2.6), one per section."""
    return [bytes(s) for s in message.sections if isinstance(s, bytes)]


def _body_json(message: Message) -> Any:
    if message.body_type == "data":
        sections = [_data_json(s) for s in _data_sections(message)]
        return sections[0] if len(sections) == 1 else sections
    if message.body_type == "sequence":
        return [to_json(list(s)) for s in message.sections
                if isinstance(s, AmqpSequence)]
    return to_json(message.body)


def message_json(message: Message) -> dict[str, Any]:
    """Every section the message has (absent ones left out), in wire order (3.2).

    ``body_type`` says how to read ``body``: ``data`` (UTF-8 text, or
    ``{"$binary": ...}`` when it is not; a list of those for several data
    sections), ``value`` (the amqp-value), ``sequence`` (a list of the
    amqp-sequence sections, each a list) or ``none`` (no body section, no ``body``).
    """
    out: dict[str, Any] = {}
    header = message.header
    if header is not None:
        out["header"] = {f: _fixed_field(getattr(header, f)) for f in header._FIELDS}
    for name in ("delivery_annotations", "message_annotations"):
        section = getattr(message, name)
        if section is not None:
            out[name] = _map_json(section, Symbol)
    properties = message.properties
    if properties is not None:
        out["properties"] = {f: to_json(v) if f in _POLYMORPHIC else _fixed_field(v)
                             for f in properties._FIELDS
                             if (v := getattr(properties, f)) is not None}
    if message.application_properties is not None:
        out["application_properties"] = _map_json(message.application_properties)
    out["body_type"] = message.body_type
    if message.body_type != "none":
        out["body"] = _body_json(message)
    if message.footer is not None:
        out["footer"] = _map_json(message.footer, Symbol)
    return out


def _fields(obj: Any, where: str, cls: type) -> dict[str, Any]:
    if type(obj) is not dict:
        raise _fail(where, "is an object of its fields")
    known = cls._FIELDS  # type: ignore[attr-defined]
    unknown = [k for k in obj if k not in known]
    if unknown:
        raise _fail(where, f"unknown field {unknown[0]!r:.40} (fields: {', '.join(known)})")
    return {k: from_json(v, f"{where}.{k}") for k, v in obj.items()}


def _section_map(obj: Any, name: str) -> Any:
    if type(obj) is not dict:
        raise _fail(name, "is an object (or {\"$map\": [[key, value], ...]})")
    value = from_json(obj, name)
    if not isinstance(value, dict | Map):
        raise _fail(name, "is a map")
    if name in _ANNOTATIONS and isinstance(value, dict) and not (len(obj) == 1 and "$map" in obj):
        # plain keys of annotations are symbols (3.2.10)
        value = {Symbol(k): v for k, v in value.items()}
    return value


def _data_payload(value: Any, where: str) -> bytes:
    if type(value) is str:
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(where, "a data section's text is not valid Unicode") from None
    payload = from_json(value, where)
    if not isinstance(payload, bytes):
        raise _fail(where, "a data section is a string (UTF-8) or {\"$binary\": ...}")
    return payload


def _body(obj: dict[str, Any]) -> Any:
    kind = obj.get("body_type", "data" if type(obj.get("body")) is str else None)
    if kind not in _BODY_TYPES:
        raise _fail("body_type", f"is one of {', '.join(_BODY_TYPES)}, not "
                                 f"{json.dumps(kind)[:40]}")
    if kind == "none":
        if "body" in obj:
            raise _fail("body", "a message of body_type none has no body")
        return None
    if "body" not in obj:
        raise _fail("body", f"missing (body_type {kind})")
    body = obj["body"]
    if kind == "value":
        return AmqpValue(from_json(body, "body"))
    if kind == "data":
        if type(body) is list:
            if not body:
                raise _fail("body", "a list of data sections holds at least one")
            return [Data(_data_payload(s, f"body[{i}]")) for i, s in enumerate(body)]
        return _data_payload(body, "body")
    if type(body) is not list or not body or not all(type(s) is list for s in body):
        raise _fail("body", "a sequence body is a list of amqp-sequence sections, each a list")
    return [AmqpSequence(from_json(s, f"body[{i}]")) for i, s in enumerate(body)]


def _without_body(message: Message) -> Message:
    """The message with no body section at all (3.2 wants one, but some peers send none)."""
    parts = message.encode_parts()
    encoded = b"".join(p for p in parts if p != b"\x00\x53\x77\x40")  # amqp-value null
    return Message.decode(encoded, lazy=False)


def message_from_json(obj: Any) -> Message:
    """The message :func:`message_json` printed as ``obj``; JsonFormError if malformed."""
    if type(obj) is not dict:
        raise _fail("", "a message is a JSON object (as receive --json prints)")
    unknown = [k for k in obj if k not in _KEYS]
    if unknown:
        raise _fail("", f"unknown key {unknown[0]!r:.40} (keys: {', '.join(_KEYS)})")
    body = _body(obj)
    message = Message(
        body,
        header=Header(**_fields(obj["header"], "header", Header)) if "header" in obj else None,
        delivery_annotations=_section_map(obj["delivery_annotations"], "delivery_annotations")
        if "delivery_annotations" in obj else None,
        message_annotations=_section_map(obj["message_annotations"], "message_annotations")
        if "message_annotations" in obj else None,
        properties=Properties(**_fields(obj["properties"], "properties", Properties))
        if "properties" in obj else None,
        application_properties=_section_map(obj["application_properties"],
                                            "application_properties")
        if "application_properties" in obj else None,
        footer=_section_map(obj["footer"], "footer") if "footer" in obj else None)
    if body is None:
        return _without_body(message)
    return message


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's keys; one given twice is an error (json.loads would keep the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonFormError(f"the key {key!r:.40} appears twice in one object")
        out[key] = value
    return out


def parse_message(text: str | bytes) -> Message:
    """One line of ``receive --json`` output as a message; JsonFormError if it is not one."""
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise JsonFormError(f"not JSON: {exc}") from None
    except RecursionError:
        raise JsonFormError("nested too deeply") from None
    try:
        message = message_from_json(obj)
        message.encode()  # a value the encoder refuses (a lone surrogate ...): say so now
    except RecursionError:
        raise JsonFormError("nested too deeply") from None
    except EncodeError as exc:
        raise JsonFormError(str(exc)) from None
    return message


# -- plain output --------------------------------------------------------------------

def _printable(text: str) -> bool:
    """No control characters but tab: nothing a terminal would act on (C0, DEL, C1)."""
    return all(c == "\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) for c in text)


def body_text(message: Message, *, terminal: bool = False) -> bytes:
    """The body for plain output: data bytes as they are, a string value as UTF-8, else JSON.

    For a ``terminal``, a data body that is not printable UTF-8 text is written as
    its JSON form (``{"$binary": ...}``, or an escaped string), never raw.
    """
    kind = message.body_type
    if kind == "data":
        data = b"".join(_data_sections(message))
        if not terminal:
            return data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return json.dumps(_binary(data)).encode("ascii")
        return data if _printable(text) else json.dumps(text).encode("ascii")
    body = message.body
    if kind == "value" and isinstance(body, str):  # a string, symbol or char: its text
        if terminal and not _printable(body):
            return json.dumps(str(body)).encode("ascii")
        return body.encode("utf-8")
    text = json.dumps(to_json(body), ensure_ascii=False)
    if terminal and not _printable(text):
        text = json.dumps(to_json(body))  # DEL and C1 controls as \u escapes
    return text.encode("utf-8")
