"""A received message as one JSON object: every section, every AMQP value made JSON-able.

JSON has no bytes, UUIDs, timestamps or described values, so those become
one-key objects whose key says the type (``{"$binary": "<base64>"}``,
``{"$uuid": ...}``, ``{"$timestamp": "<ISO 8601>"}``, ``{"$described": [d, v]}``,
``{"$decimal64": "<hex>"}``, ``{"$double": "nan"}``); a map whose keys are not all
strings is ``{"$map": [[key, value], ...]}``. AMQP's integer and string kinds
(uint, symbol, char ...) become plain numbers and strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from typing import Any

from amqp10_proto import (
    Array,
    Decimal32,
    Decimal64,
    Decimal128,
    Described,
    Map,
    Message,
)

__all__ = ["body_text", "message_json", "to_json"]

_DECIMALS = {Decimal32: "$decimal32", Decimal64: "$decimal64", Decimal128: "$decimal128"}


def _binary(data: bytes) -> dict[str, str]:
    return {"$binary": base64.b64encode(data).decode("ascii")}


def _timestamp(value: dt.datetime) -> dict[str, str]:
    text = value.isoformat(timespec="milliseconds")
    return {"$timestamp": text.replace("+00:00", "Z")}


def to_json(value: Any) -> Any:
    """``value`` (any decoded AMQP value) as something ``json.dumps`` takes, losing no data."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # ubyte ... ulong, timestamp in ms: the number
    if isinstance(value, str):
        return str(value)  # symbol, char: the text
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"$double": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, bytes | bytearray | memoryview):
        return _binary(bytes(value))
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dict):
        if all(type(k) is str or isinstance(k, str) for k in value):
            return {str(k): to_json(v) for k, v in value.items()}
        return {"$map": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, Map):
        return {"$map": [[to_json(k), to_json(v)] for k, v in value.pairs]}
    if isinstance(value, list | tuple | Array):
        return [to_json(v) for v in value]
    if isinstance(value, Described):
        return {"$described": [to_json(value.descriptor), to_json(value.value)]}
    tag = _DECIMALS.get(type(value))
    if tag is not None:
        return {tag: value.raw.hex()}
    fields = getattr(type(value), "_FIELDS", None)
    if fields is not None:  # a composite type of the spec, decoded as such (1.4)
        return {"$described": [getattr(type(value), "SYMBOL", type(value).__name__),
                               {f: to_json(getattr(value, f)) for f in fields}]}
    return {"$repr": repr(value)}


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
    return to_json(message.body)


def message_json(message: Message) -> dict[str, Any]:
    """Every section the message has (absent ones left out), in wire order (3.2).

    ``body_type`` says how to read ``body``: ``data`` (UTF-8 text, or
    ``{"$binary": ...}`` when it is not; a list for several data sections),
    ``value`` (the amqp-value) or ``sequence`` (the amqp-sequence list, or a list of them).
    """
    out: dict[str, Any] = {}
    header = message.header
    if header is not None:
        out["header"] = {f: to_json(getattr(header, f)) for f in header._FIELDS}
    for name in ("delivery_annotations", "message_annotations"):
        section = getattr(message, name)
        if section is not None:
            out[name] = to_json(section)
    properties = message.properties
    if properties is not None:
        out["properties"] = {f: to_json(v) for f in properties._FIELDS
                             if (v := getattr(properties, f)) is not None}
    if message.application_properties is not None:
        out["application_properties"] = to_json(message.application_properties)
    out["body_type"] = message.body_type
    out["body"] = _body_json(message)
    if message.footer is not None:
        out["footer"] = to_json(message.footer)
    return out


def body_text(message: Message) -> bytes:
    """The body for plain output: data bytes as they are, a string value as UTF-8, else JSON."""
    kind = message.body_type
    if kind == "data":
        return b"".join(_data_sections(message))
    body = message.body
    if kind == "value" and isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(to_json(body), ensure_ascii=False).encode("utf-8")
