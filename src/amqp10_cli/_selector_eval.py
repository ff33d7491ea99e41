"""Selector evaluation: what a selector reads from a message, and what its operators mean.

The parser (:mod:`._selector_parse`) compiles a selector into closures over these
functions; a :class:`_Lookup` is the one message they read.

Identifiers name application properties (3.2.5), case-sensitively, except these,
which read the header (3.2.1, absent: its defaults) and properties (3.2.4):
``amqp.<field>`` (``-`` written ``_``; plus the computed ``amqp.delivery_mode``
'PERSISTENT'/'NON_PERSISTENT' and ``amqp.redelivered``) and the JMS header aliases
(``JMSMessageID`` message-id, ``JMSCorrelationID``, ``JMSType`` subject,
``JMSPriority``, ``JMSDeliveryMode``, ``JMSRedelivered``, ``JMSDestination`` to,
``JMSReplyTo``, ``JMSTimestamp`` creation-time, ``JMSExpiration``
absolute-expiry-time), as the Qpid brokers map them (Red Hat MRG 3 Messaging
Programming Reference, 20.11.2 "Selector filter" and table 20.3; qpid-cpp
``src/qpid/broker/Selector.cpp``); the JMS mapping's ``JMSXUserID``, ``JMSXGroupID``,
``JMSXGroupSeq``, ``JMSXDeliveryCount`` (delivery-count + 1); Artemis's core filter
names ``AMQPriority``, ``AMQTimestamp``, ``AMQExpiration`` (0: never),
``AMQDurable`` ('DURABLE'/'NON_DURABLE'), ``AMQUserID`` (message-id) and
``AMQGroupID`` (ActiveMQ Artemis manual, "Filter Expressions"; its
``SelectorTranslator`` rewrites ``JMSPriority`` to ``AMQPriority`` and so on); and
``amqp.annotation.<key>``, a message annotation (3.2.3) as Azure Event Hubs writes it
(``amqp.annotation.x-opt-offset``, the key may hold ``-``).

Values are booleans, numbers (a Java ``long`` or ``double``) and strings; timestamps
read as epoch milliseconds, a user-id as UTF-8 text, a UUID id as its text; any
other value (binary, list, map, decimal) reads as NULL. Semantics are JMS 3.8.1.1:
three-valued logic (NULL makes a comparison, arithmetic, LIKE or IN *unknown*, and
only *true* selects); unlike types compare false; numbers compare across exact and
approximate; strings order by code point, as in the ActiveMQ parser Artemis uses;
integer arithmetic wraps as a ``long``; x / 0 is unknown.
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
import uuid
from collections.abc import Callable
from typing import Any

from amqp10_proto import Map, Message
from amqp10_proto.errors import DecodeError

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


# -- values ------------------------------------------------------------------------

#: What an expression evaluates to: NULL/unknown (None), a boolean, a number, a string.
Value = Any
_Env = Any  # the _Lookup of one evaluation
_Fn = Callable[[_Env], Value]


def _wrap(n: int) -> int:
    """A Java ``long`` result: two's complement wrap-around to 64 bits."""
    if _I64_MIN <= n <= _I64_MAX:
        return n
    return ((n - _I64_MIN) & 0xFFFFFFFFFFFFFFFF) + _I64_MIN


def _simple(v: Any) -> Value:
    """An AMQP value as a selector sees it (bool, int, float, str), or None."""
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        n = int(v)
        # qpid-cpp reads a ulong above a long's range as a double.
        return n if _I64_MIN <= n <= _I64_MAX else float(n)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            return None
        return (v - _EPOCH) // _dt.timedelta(milliseconds=1)
    return None


def _kind(v: Value) -> str:
    if v is True or v is False:
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    return "str"


def _id_text(v: Any) -> Value:
    """A message-id or correlation-id (3.2.11-3.2.15): string, ulong, or UUID as text."""
    if isinstance(v, uuid.UUID):
        return str(v)
    return _simple(v)


def _user_id(v: Any) -> Value:
    if isinstance(v, (bytes, bytearray, memoryview)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


# Header fields with their defaults (3.2.1: an absent header is all defaults).
_HEADER_DEFAULTS: dict[str, Any] = {"durable": False, "priority": 4, "ttl": None,
                                    "first_acquirer": False, "delivery_count": 0}
_PROPERTY_FIELDS = ("message_id", "user_id", "to", "subject", "reply_to", "correlation_id",
                    "content_type", "content_encoding", "absolute_expiry_time", "creation_time",
                    "group_id", "group_sequence", "reply_to_group_id")


def _header_field(name: str) -> Callable[[Message], Value]:
    default = _HEADER_DEFAULTS[name]

    def get(message: Message) -> Value:
        header = message.header
        v = None if header is None else getattr(header, name, None)
        return _simple(default if v is None else v)
    return get


def _property_field(name: str) -> Callable[[Message], Value]:
    convert = {"message_id": _id_text, "correlation_id": _id_text,
               "user_id": _user_id}.get(name, _simple)

    def get(message: Message) -> Value:
        props = message.properties
        return None if props is None else convert(getattr(props, name, None))
    return get


def _count(v: Value) -> int:
    return v if isinstance(v, int) and v is not True and v is not False else 0


def _fields() -> dict[str, Callable[[Message], Value]]:
    """Every predefined identifier (see the module docstring for the sources)."""
    amqp: dict[str, Callable[[Message], Value]] = {}
    for name in _HEADER_DEFAULTS:
        amqp[name] = _header_field(name)
    for name in _PROPERTY_FIELDS:
        amqp[name] = _property_field(name)
    durable, count = amqp["durable"], amqp["delivery_count"]
    expiry = amqp["absolute_expiry_time"]
    amqp["delivery_mode"] = lambda m: "PERSISTENT" if durable(m) else "NON_PERSISTENT"
    amqp["redelivered"] = lambda m: _count(count(m)) > 0
    table = {f"amqp.{name}": get for name, get in amqp.items()}
    for jms, name in (("JMSMessageID", "message_id"), ("JMSCorrelationID", "correlation_id"),
                      ("JMSType", "subject"), ("JMSPriority", "priority"),
                      ("JMSDeliveryMode", "delivery_mode"), ("JMSRedelivered", "redelivered"),
                      ("JMSDestination", "to"), ("JMSReplyTo", "reply_to"),
                      ("JMSTimestamp", "creation_time"),
                      ("JMSExpiration", "absolute_expiry_time"), ("JMSXUserID", "user_id"),
                      ("JMSXGroupID", "group_id"), ("JMSXGroupSeq", "group_sequence"),
                      ("AMQPriority", "priority"), ("AMQTimestamp", "creation_time"),
                      ("AMQUserID", "message_id"), ("AMQGroupID", "group_id")):
        table[jms] = amqp[name]
    table["JMSXDeliveryCount"] = lambda m: _count(count(m)) + 1
    table["AMQDurable"] = lambda m: "DURABLE" if durable(m) else "NON_DURABLE"
    table["AMQExpiration"] = lambda m: 0 if (v := expiry(m)) is None else v
    return table


_FIELDS = _fields()
_ANNOTATION = "amqp.annotation."


class _Lookup:
    """One message as a selector reads it (the application properties looked up once)."""

    __slots__ = ("_ap", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self._ap: Any = _UNREAD

    def prop(self, name: str) -> Value:
        ap = self._ap
        if ap is _UNREAD:
            try:
                ap = self.message.application_properties
            except DecodeError:
                ap = None  # a malformed section matches nothing, never raises here
            self._ap = ap
        if ap is None:
            return None
        if isinstance(ap, dict):
            return _simple(ap.get(name))
        if isinstance(ap, Map):  # unhashable keys somewhere: look through the pairs
            for key, value in ap.pairs:
                if key == name:
                    return _simple(value)
        return None

    def field(self, get: Callable[[Message], Value]) -> Value:
        try:
            return get(self.message)
        except DecodeError:
            return None

    def annotation(self, key: str) -> Value:
        try:
            ma = self.message.message_annotations
        except DecodeError:
            return None
        return _simple(ma.get(key)) if isinstance(ma, dict) else None


_UNREAD = object()


# -- operators (three-valued) --------------------------------------------------------

_ORDER = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _compare(op: str, a: Value, b: Value) -> Value:
    """``a op b``: None if either is NULL, False for unlike types (JMS 3.8.1.1)."""
    if a is None or b is None:
        return None
    ka = _kind(a)
    if ka != _kind(b) or (ka == "bool" and op not in ("=", "<>")):
        return False  # and booleans are only equal or not
    if ka == "num" and (type(a) is float or type(b) is float):
        a, b = float(a), float(b)  # Java's numeric promotion
    return bool(_ORDER[op](a, b))


def _arith(op: str, a: Value, b: Value) -> Value:
    """``a op b`` on numbers with Java's promotion; None for NULL, non-numbers, x/0."""
    if a is None or b is None or _kind(a) != "num" or _kind(b) != "num":
        return None
    if type(a) is float or type(b) is float:
        a, b = float(a), float(b)
        if op == "/":
            return None if b == 0.0 else a / b
        return _ARITH[op](a, b)
    if op != "/":
        return _wrap(_ARITH[op](a, b))
    if b == 0:
        return None
    q = abs(a) // abs(b)  # Java truncates toward zero
    return _wrap(q if (a < 0) == (b < 0) else -q)


def _not(v: Value) -> Value:
    return (not v) if (v is True or v is False) else None


def _all_of(a: Value, b: Value) -> Value:
    if a is False or b is False:
        return False
    return True if (a is True and b is True) else None


def _kleene(fns: list[_Fn], decisive: bool) -> _Fn:
    """AND (``decisive`` False) or OR (True) over conditions, flat, in SQL's 3VL."""
    def combine(env: _Env) -> Value:
        result: Value = not decisive
        for fn in fns:
            v = fn(env)
            if v is decisive:
                return decisive
            if v is not (not decisive):
                result = None  # unknown, unless a later one decides
        return result
    return combine


def _like_matcher(pattern: str, escape: str | None) -> Callable[[str], bool]:
    """A matcher for a LIKE pattern: ``_`` one character, ``%`` any run (JMS 3.8.1.1).

    The pattern splits at each ``%`` into fixed-length pieces; the first must start
    the value, the last end it, and each between is found leftmost after the one
    before: right for fixed-length pieces, and no backtracking however many ``%``.
    """
    pieces: list[list[str]] = [[]]
    chars = iter(pattern)
    for c in chars:
        if escape is not None and c == escape:
            nxt = next(chars, None)
            if nxt is None:
                raise ValueError("the pattern ends with its escape character")
            pieces[-1].append(re.escape(nxt))
        elif c == "%":
            pieces.append([])
        elif c == "_":
            pieces[-1].append(".")
        else:
            pieces[-1].append(re.escape(c))
    compiled = [(re.compile("".join(p), re.DOTALL), len(p)) for p in pieces]
    if len(compiled) == 1:
        whole = compiled[0][0]
        return lambda s: whole.fullmatch(s) is not None
    (first, n_first), middle, (last, n_last) = compiled[0], compiled[1:-1], compiled[-1]

    def match(s: str) -> bool:
        end = len(s) - n_last
        if end < n_first or first.match(s, 0) is None:
            return False
        pos = n_first
        for piece, n in middle:
            found = piece.search(s, pos, end)
            if found is None:
                return False
            pos = found.start() + n
        return last.fullmatch(s, end) is not None
    return match
